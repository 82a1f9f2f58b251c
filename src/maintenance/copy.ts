import { isDeepStrictEqual } from 'node:util';
import type { Kysely, Transaction } from 'kysely';
import { checkedViews, countsDisagreements } from '../analysis/check-counts.ts';
import { buildReport } from '../analysis/report.ts';
import type { Database } from '../db/schema.ts';
import { ROLLUPS } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { responseBatches } from './response-batches.ts';

/** What a copy moved. */
export interface CopySummary {
  surveys: { slug: string; responses: number; complete: number; partial: number; paperEntries: number }[];
  /** Admin accounts added to the target (those whose email it had already are left alone). */
  accounts: number;
}

/** Responses per batch: their values and pages follow in the same batch. */
const BATCH = 1000;
/** Rows per INSERT: well under both engines' limits on bound parameters. */
const ROWS_PER_INSERT = 500;

/**
 * Copies surveys' data from one database to another, across engines (an
 * SQLite file to PostgreSQL, or back): every response as it is stored (drafts
 * included, so a respondent part-way carries on), its route values, pages and
 * paper entry, the survey's definition (every version), schedule and running counts; and the admin
 * accounts and shared secrets, so analysts sign in as before.
 *
 * The source is read in one transaction (a consistent snapshot on
 * PostgreSQL; on SQLite it holds the write lock while it reads); the target is
 * written in one transaction that also checks, before it commits, that every
 * survey's report on the target is identical to the source's, both from the
 * running counts and recounted from the rows. Any difference, or any failure,
 * and nothing is written.
 */
export async function copySurveys(
  from: Kysely<Database>,
  to: Kysely<Database>,
  surveys: Survey[],
  options: {
    progress?: (line: string) => void;
    /** Secrets to give the target unless it has them (the SQLite file's cookie key, kept beside it). */
    secrets?: { name: string; value: string }[];
  } = {},
): Promise<CopySummary> {
  const progress = options.progress ?? (() => {});
  for (const survey of surveys) {
    const present = await to
      .selectFrom('responses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('survey', '=', survey.slug)
      .executeTakeFirstOrThrow();
    if (Number(present.n) > 0)
      throw new Error(
        `the target already holds ${present.n} responses of ${survey.slug}: copy into a database without them`,
      );
  }
  return from
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute((source) =>
      to.transaction().execute(async (target) => {
        const summary: CopySummary = { surveys: [], accounts: 0 };
        for (const survey of surveys) summary.surveys.push(await copySurvey(source, target, survey, progress));
        summary.accounts = await copyAccounts(source, target);
        await copySecrets(source, target, options.secrets ?? []);
        for (const survey of surveys) await checkSameReport(source, target, survey);
        return summary;
      }),
    );
}

async function copySurvey(
  source: Transaction<Database>,
  target: Transaction<Database>,
  survey: Survey,
  progress: (line: string) => void,
): Promise<CopySummary['surveys'][number]> {
  const counted = { slug: survey.slug, responses: 0, complete: 0, partial: 0, paperEntries: 0 };
  for await (const responses of responseBatches(source, survey.slug, BATCH)) {
    const ids = responses.map((r) => r.id);
    const [values, pages, paper] = await Promise.all([
      source.selectFrom('response_values').selectAll().where('response_id', 'in', ids).execute(),
      source.selectFrom('response_pages').selectAll().where('response_id', 'in', ids).execute(),
      source.selectFrom('paper_entries').selectAll().where('response_id', 'in', ids).execute(),
    ]);
    await insertAll(target, 'responses', responses);
    await insertAll(target, 'response_values', values);
    await insertAll(target, 'response_pages', pages);
    await insertAll(target, 'paper_entries', paper);
    counted.responses += responses.length;
    counted.complete += responses.filter((r) => r.status === 'complete').length;
    counted.partial += responses.filter((r) => r.status === 'partial').length;
    counted.paperEntries += paper.length;
    if (counted.responses % (BATCH * 50) === 0) progress(`${survey.slug}: ${counted.responses} responses copied`);
  }
  // The definition's versions go along (the responses name the version they were answered under); a target that
  // holds the survey without responses (the shipped one, stored on its first start) takes the source's.
  const definition = await source.selectFrom('surveys').selectAll().where('slug', '=', survey.slug).execute();
  const versions = await source.selectFrom('survey_versions').selectAll().where('survey', '=', survey.slug).execute();
  await target.deleteFrom('survey_versions').where('survey', '=', survey.slug).execute();
  await target.deleteFrom('surveys').where('slug', '=', survey.slug).execute();
  await insertAll(target, 'surveys', definition);
  await insertAll(target, 'survey_versions', versions);
  const schedule = await source.selectFrom('survey_schedules').selectAll().where('survey', '=', survey.slug).execute();
  await target.deleteFrom('survey_schedules').where('survey', '=', survey.slug).execute();
  await insertAll(target, 'survey_schedules', schedule);
  const audit = await source.selectFrom('audit_log').selectAll().where('survey', '=', survey.slug).execute();
  await insertAll(target, 'audit_log', audit);
  for (const { table } of ROLLUPS) {
    // Counts left by an earlier, erased copy would add to these: the survey has no responses on the target.
    await target.deleteFrom(table).where('survey', '=', survey.slug).execute();
    const rows = await source.selectFrom(table).selectAll().where('survey', '=', survey.slug).execute();
    await insertAll(target, table, rows);
  }
  return counted;
}

/** Accounts the target does not have yet (by id or email); their sessions are not copied: everyone signs in again. */
async function copyAccounts(source: Transaction<Database>, target: Transaction<Database>): Promise<number> {
  const accounts = await source.selectFrom('admin_accounts').selectAll().orderBy('id').execute();
  const taken = await target.selectFrom('admin_accounts').select(['id', 'email']).execute();
  const ids = new Set(taken.map((a) => a.id));
  const emails = new Set(taken.map((a) => a.email));
  const fresh = accounts.filter((a) => !ids.has(a.id) && !emails.has(a.email));
  await insertAll(target, 'admin_accounts', fresh);
  return fresh.length;
}

/** The cookie key and any other shared secret, unless the target has its own already. */
async function copySecrets(
  source: Transaction<Database>,
  target: Transaction<Database>,
  extra: { name: string; value: string }[],
): Promise<void> {
  const secrets = [...(await source.selectFrom('shared_secrets').selectAll().execute()), ...extra];
  for (const secret of secrets)
    await target
      .insertInto('shared_secrets')
      .values(secret)
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
}

async function insertAll<T extends keyof Database>(target: Transaction<Database>, table: T, rows: unknown[]) {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT)
    await (target as unknown as Kysely<any>)
      .insertInto(table)
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .execute();
}

/**
 * Throws (so the target's transaction rolls back) unless the reports are the
 * same on both sides, in every view that reads a different table of counts,
 * and agree with the responses copied.
 */
async function checkSameReport(source: Transaction<Database>, target: Transaction<Database>, survey: Survey) {
  for (const { filters } of checkedViews(survey)) {
    const before = await buildReport(source, survey, filters);
    const after = await buildReport(target, survey, filters);
    if (!isDeepStrictEqual(before, after))
      throw new Error(`the copy's report of ${survey.slug} differs from the source's: nothing was copied`);
  }
  if ((await countsDisagreements(target, survey)).differ.length)
    throw new Error(
      `the running counts of ${survey.slug} disagree with its responses in the source: nothing was copied (recount the source first)`,
    );
}
