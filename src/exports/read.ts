import type { Kysely } from 'kysely';
import { type Filters, filteredResponseIds } from '../analysis/filters.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import type { ExportRow } from './record.ts';

/** Rows handed to an export at a time, and fetched at a time from PostgreSQL's cursor. */
export const EXPORT_BATCH = 2000;

/**
 * The survey's responses under the filters, oldest first, streamed from the
 * database in batches of `size` rows: memory stays flat however many there
 * are, and the filtering and sorting happen in the one query.
 */
export async function* responseBatches(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  size = EXPORT_BATCH,
): AsyncGenerator<ExportRow[]> {
  const query = filteredResponseIds(db, survey, filters)
    .clearSelect()
    .select([
      'responses.id',
      'responses.status',
      'responses.channel',
      'responses.started_at',
      'responses.submitted_at',
      'responses.answers',
    ])
    .orderBy('responses.started_at')
    .orderBy('responses.id');
  let batch: ExportRow[] = [];
  for await (const row of query.stream(size)) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
