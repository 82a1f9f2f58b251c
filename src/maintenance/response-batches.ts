import type { Kysely } from 'kysely';
import type { Database, ResponseRow } from '../db/schema.ts';

/**
 * A survey's responses in batches, in id order (each batch starts after the
 * last id of the one before), so memory stays flat however many there are.
 */
export async function* responseBatches(
  db: Kysely<Database>,
  survey: string,
  size: number,
): AsyncGenerator<ResponseRow[]> {
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('responses')
      .selectAll()
      .where('survey', '=', survey)
      .where('id', '>', after)
      .orderBy('id')
      .limit(size)
      .execute();
    if (!rows.length) return;
    after = (rows[rows.length - 1] as ResponseRow).id;
    yield rows;
  }
}
