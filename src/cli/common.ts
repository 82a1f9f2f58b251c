import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

import type { Kysely } from 'kysely';
import { type Filters, parseFilters } from '../analysis/filters.ts';
import { loadConfig } from '../config.ts';
import { type Connection, openDatabase } from '../db/open.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { loadSurveys } from '../survey/definitions/index.ts';
import { SurveyRegistry } from '../surveys/registry.ts';
import { storeShipped } from '../surveys/store.ts';

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/**
 * The stored surveys at their current versions, as the server serves them (the
 * shipped ones stored first if the database is new).
 */
export async function storedSurveys(db: Kysely<Database>): Promise<readonly Survey[]> {
  await storeShipped(db, loadSurveys(), new Date());
  const registry = new SurveyRegistry(db);
  await registry.refresh();
  return registry.all();
}

/** The survey named by --survey, as the database holds it now. */
export async function surveyNamed(slug: string | undefined): Promise<Survey> {
  return (await namedAmongStored(slug)).survey;
}

/** The survey named by --survey, and every stored survey beside it (read once). */
export async function namedAmongStored(
  slug: string | undefined,
): Promise<{ survey: Survey; surveys: readonly Survey[] }> {
  if (!slug) throw new UsageError('--survey is required');
  const surveys = await withDb(storedSurveys);
  return { survey: pickSurvey(surveys, slug), surveys };
}

/** The survey of that slug among these, or a usage error naming the known ones. */
export function pickSurvey(surveys: readonly Survey[], slug: string): Survey {
  const survey = surveys.find((s) => s.slug === slug);
  if (!survey) throw new UsageError(`no survey "${slug}" (known: ${surveys.map((s) => s.slug).join(', ')})`);
  return survey;
}

/** The filter options shared by export and report: --status, --area, --channel, --from, --to, --flagged. */
export const filterOptions = {
  status: { type: 'string' },
  area: { type: 'string' },
  channel: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  flagged: { type: 'string' },
} as const;

export function filtersFrom(survey: Survey, values: Record<string, unknown>): Filters {
  const parsed = parseFilters(survey, values);
  if (!parsed.ok) throw new UsageError(parsed.problems.map((p) => p.message).join('; '));
  return parsed.filters;
}

/** Parses a command's options strictly (unknown options are usage errors). */
export function options<T extends ParseArgsOptionsConfig>(args: string[], spec: T, allowPositionals = false) {
  return parseArgs({ args, options: spec, allowPositionals, strict: true });
}

/** Runs work against the database named by DATABASE_URL, closing it afterwards. */
export function withDb<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  return withConnection(({ db }) => work(db));
}

/** withDb, for work that needs the connection itself (its engine, an SQLite file's path). */
export async function withConnection<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await openDatabase(loadConfig().database);
  try {
    return await work(connection);
  } finally {
    await connection.db.destroy();
  }
}
