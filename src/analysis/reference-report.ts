import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { crossTabName } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { postcodeDistrict } from '../survey/formats.ts';
import { type Filters, filteredResponseIds } from './filters.ts';
import { assembleReport, emptyParts, groupedQuestions, type Report } from './report.ts';

const n = (value: unknown) => Number(value ?? 0);

/**
 * The report counted straight from the stored answers with GROUP BYs: slow at
 * scale (seconds at 100,000 responses), but independent of the running
 * counts, so tests and `cli recount --check` use it to prove the counts right.
 */
export async function buildReportFromRows(db: Kysely<Database>, survey: Survey, filters: Filters): Promise<Report> {
  const ids = () => filteredResponseIds(db, survey, filters);
  const grouped = groupedQuestions(survey);
  const parts = emptyParts();
  const byStatus = await db
    .selectFrom('responses')
    .select(['status', 'channel', (eb) => eb.fn.countAll().as('n')])
    .where('id', 'in', ids())
    .groupBy(['status', 'channel'])
    .execute();
  parts.byStatusChannel = byStatus.map((r) => ({ status: r.status, channel: r.channel, n: n(r.n) }));

  const values = await db
    .selectFrom('response_values')
    .select(['question_id', 'value', (eb) => eb.fn.countAll().as('n')])
    .where('response_id', 'in', ids())
    .groupBy(['question_id', 'value'])
    .execute();
  parts.values = values.map((r) => ({ question: r.question_id, code: r.value, n: n(r.n) }));
  const answered = await db
    .selectFrom('response_values')
    .select(['question_id', (eb) => eb.fn.count('response_id').distinct().as('n')])
    .where('response_id', 'in', ids())
    .groupBy('question_id')
    .execute();
  parts.answered = answered.map((r) => ({ question: r.question_id, n: n(r.n) }));

  for (const groupBy of new Set(grouped.values())) {
    const members = [...grouped].filter(([, g]) => g === groupBy).map(([id]) => id);
    const joined = () =>
      db
        .selectFrom('response_values as v')
        .innerJoin('response_values as g', 'g.response_id', 'v.response_id')
        .where('g.question_id', '=', groupBy)
        .where('v.question_id', 'in', members)
        .where('v.response_id', 'in', ids());
    const groupValues = await joined()
      .select(['g.value as grp', 'v.question_id', 'v.value', (eb) => eb.fn.countAll().as('n')])
      .groupBy(['g.value', 'v.question_id', 'v.value'])
      .execute();
    const groupAnswered = await joined()
      .select(['g.value as grp', 'v.question_id', (eb) => eb.fn.count('v.response_id').distinct().as('n')])
      .groupBy(['g.value', 'v.question_id'])
      .execute();
    parts.groupValues.push(
      ...groupValues.map((r) => ({ question: r.question_id, group: r.grp, code: r.value, n: n(r.n) })),
    );
    parts.groupAnswered.push(...groupAnswered.map((r) => ({ question: r.question_id, group: r.grp, n: n(r.n) })));
  }

  const pages = await db
    .selectFrom('response_pages')
    .select(['page_id', (eb) => eb.fn.countAll().as('n')])
    .where('response_id', 'in', ids())
    .groupBy('page_id')
    .execute();
  parts.pages = pages.map((r) => ({ page: r.page_id, n: n(r.n) }));

  const analysis = survey.analysis;
  if (analysis?.ranks.length) {
    const rankValues = await db
      .selectFrom('response_values')
      .select(['value', (eb) => eb.fn.count('response_id').distinct().as('n')])
      .where('question_id', 'in', analysis.ranks)
      .where('response_id', 'in', ids())
      .groupBy('value')
      .execute();
    parts.rankValues = rankValues.map((r) => ({ code: r.value, n: n(r.n) }));
    const rankAnswered = await db
      .selectFrom('response_values')
      .select((eb) => eb.fn.count('response_id').distinct().as('n'))
      .where('question_id', 'in', analysis.ranks)
      .where('response_id', 'in', ids())
      .executeTakeFirst();
    parts.ranksAnswered = n(rankAnswered?.n);
  }
  if (analysis?.crosstabs) {
    const { question, by } = analysis.crosstabs;
    const rows = await db
      .selectFrom('response_values as a')
      .innerJoin('response_values as b', 'b.response_id', 'a.response_id')
      .select(['a.value as row', 'b.question_id as dimension', 'b.value as col', (eb) => eb.fn.countAll().as('n')])
      .where('a.question_id', '=', question)
      .where('b.question_id', 'in', by)
      .where('a.response_id', 'in', ids())
      .groupBy(['a.value', 'b.question_id', 'b.value'])
      .execute();
    const byCell = new Map<string, { table: string; row: string; col: string; n: number }>();
    for (const r of rows) {
      const table = crossTabName(survey, question, r.dimension);
      const col = table.endsWith('_district') && r.col !== 'prefer_not_to_say' ? postcodeDistrict(r.col) : r.col;
      const key = `${table}|${r.row}|${col}`;
      const cell = byCell.get(key) ?? { table, row: r.row, col, n: 0 };
      cell.n += n(r.n);
      byCell.set(key, cell);
    }
    parts.cross = [...byCell.values()];
  }
  return assembleReport(survey, filters, parts);
}
