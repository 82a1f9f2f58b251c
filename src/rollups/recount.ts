import type { Kysely } from 'kysely';
import { lockAgainstWriters } from '../db/dialect.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { CountSheet } from './count-sheet.ts';
import { dimsOf, metricsOf, valuesFromRows } from './metrics.ts';
import { type CountsTable, type DimName, ROLLUPS } from './tables.ts';

type CountRow = Partial<Record<DimName, string | number>> & { metric: string; n: number };

/**
 * Rebuilds a survey's running counts from its stored responses (values and
 * pages, read in batches so memory stays flat) and says whether the counts it
 * replaced differed (rows counting 0 are the same as no row).
 *
 * One transaction, holding off every writer of responses meanwhile (SQLite's
 * write lock; on PostgreSQL the table's lock, taken at once: see
 * lockAgainstWriters), so the responses read and the counts written agree
 * while respondents save.
 */
export async function recountSurvey(
  db: Kysely<Database>,
  survey: Survey,
  batch = 5000,
): Promise<{ responses: number; changed: boolean }> {
  return db.transaction().execute(async (trx) => {
    await lockAgainstWriters(trx, 'responses');
    const kept = new Map<string, number>();
    for (const { table, dims } of ROLLUPS) {
      const rows = (await (trx as Kysely<any>)
        .deleteFrom(table)
        .where('survey', '=', survey.slug)
        .returningAll()
        .execute()) as CountRow[];
      for (const row of rows) if (Number(row.n) !== 0) kept.set(countKey(table, dims, row), Number(row.n));
    }

    const sheet = new CountSheet();
    let responses = 0;
    let after = '';
    for (;;) {
      const rows = await trx
        .selectFrom('responses')
        .selectAll()
        .where('survey', '=', survey.slug)
        .where('id', '>', after)
        .orderBy('id')
        .limit(batch)
        .execute();
      if (!rows.length) break;
      after = rows[rows.length - 1]?.id as string;
      const ids = rows.map((r) => r.id);
      const valueRows = await trx
        .selectFrom('response_values')
        .select(['response_id', 'question_id', 'value'])
        .where('response_id', 'in', ids)
        .execute();
      const pageRows = await trx
        .selectFrom('response_pages')
        .select(['response_id', 'page_id'])
        .where('response_id', 'in', ids)
        .execute();
      const valuesBy = groupBy(valueRows, (v) => v.response_id);
      const pagesBy = groupBy(pageRows, (p) => p.response_id);
      for (const row of rows) {
        if (row.excluded) continue;
        const values = valuesFromRows(survey, valuesBy.get(row.id) ?? []);
        const pages = (pagesBy.get(row.id) ?? []).map((p) => p.page_id);
        sheet.add(dimsOf(survey, row, values), metricsOf(survey, row.channel, values, pages), 1);
      }
      responses += rows.length;
    }

    let changed = false;
    let recounted = 0;
    for (const { table, dims } of ROLLUPS) {
      for (const row of sheet.rowsOf(table)) {
        recounted++;
        if (kept.get(countKey(table, dims, row)) !== row.n) changed = true;
      }
    }
    if (recounted !== kept.size) changed = true;
    sheet.touch(survey.slug);
    await sheet.write(trx);
    return { responses, changed };
  });
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const list = out.get(key(row));
    if (list) list.push(row);
    else out.set(key(row), [row]);
  }
  return out;
}

/** A count row's table, dimensions and metric as one string, to compare counts kept with counts recounted. */
function countKey(table: CountsTable, dims: readonly DimName[], row: CountRow): string {
  return [table, ...dims.map((d) => String(row[d])), row.metric].join('\u0000');
}
