import { isDeepStrictEqual } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { channelCodes, DEFAULT_FILTERS, type Filters } from './filters.ts';
import { buildReportFromRows } from './reference-report.ts';
import { buildReport, type Report } from './report.ts';

// Whether the running counts (counts.ts) still agree with the stored
// responses: `cli recount --check`, and `cli copy` before it writes anything.

/**
 * The views the reports are compared in: one for each table of counts a
 * report can read (see ROLLUPS, and countsQuery in report.ts), so that a
 * wrong count in any of them shows. Every response has a channel, so the
 * per-channel views cover every row of the tables that keep the channel.
 */
export function checkedViews(survey: Survey): { name: string; filters: Filters }[] {
  const everyDay = '0000-01-01';
  return [
    { name: '', filters: DEFAULT_FILTERS },
    { name: 'by day', filters: { status: 'all', from: everyDay } },
    ...channelCodes(survey).flatMap((channel) => [
      { name: `channel ${channel}`, filters: { status: 'all' as const, channel } },
      { name: `channel ${channel}, by day`, filters: { status: 'all' as const, channel, from: everyDay } },
    ]),
  ];
}

/** The report's tables: its counts, each question and cross-tab on its own (not the survey or the filters). */
function reportTables(report: Report): Map<string, unknown> {
  const tables = new Map<string, unknown>();
  const { survey: _survey, filters: _filters, ...rest } = report;
  for (const [key, value] of Object.entries(rest)) {
    if (['questions', 'crosstabs', 'victims', 'aboutYou'].includes(key) && typeof value === 'object' && value) {
      for (const [name, table] of Object.entries(value)) tables.set(`${key}.${name}`, table);
    } else tables.set(key, value);
  }
  return tables;
}

/**
 * The report's tables whose counts differ from those recounted from the rows,
 * each named once with the first view it differs in (`questions.concern_1`,
 * `pagesReached (by day)`); and how many responses there are. Run it in one
 * transaction, so that both sides see the same responses.
 */
export async function countsDisagreements(
  db: Kysely<Database>,
  survey: Survey,
): Promise<{ responses: number; differ: string[] }> {
  const differ: string[] = [];
  const named = new Set<string>();
  let responses = 0;
  for (const { name, filters } of checkedViews(survey)) {
    const kept = reportTables(await buildReport(db, survey, filters));
    const counted = reportTables(await buildReportFromRows(db, survey, filters));
    if (filters === DEFAULT_FILTERS) responses = Number(counted.get('responses') ?? 0);
    for (const table of new Set([...kept.keys(), ...counted.keys()])) {
      if (named.has(table) || isDeepStrictEqual(kept.get(table), counted.get(table))) continue;
      named.add(table);
      differ.push(name ? `${table} (${name})` : table);
    }
  }
  return { responses, differ };
}
