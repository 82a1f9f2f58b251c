import { existsSync, readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { countsDisagreements } from '../analysis/check-counts.ts';
import { loadConfig } from '../config.ts';
import { connect, openSqliteDatabase } from '../db/open.ts';
import type { Database } from '../db/schema.ts';
import { secretFileBeside } from '../db/secrets.ts';
import { backupDatabase } from '../db/sqlite/backup.ts';
import { parseDatabaseUrl } from '../db/url.ts';
import { copySurveys } from '../maintenance/copy.ts';
import { countStartedBefore, eraseStartedBefore } from '../responses/retention.ts';
import { recountSurvey } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { options, pickSurvey, storedSurveys, surveyNamed, UsageError, withDb } from './common.ts';

/** `backup FILE`: a consistent copy of the database, safe to take while the server runs. */
export async function backupCommand(args: string[]) {
  const { positionals } = options(args, {}, true);
  if (positionals.length !== 1) throw new UsageError('give the file to write the backup to');
  const { database } = loadConfig();
  if (database.engine === 'postgres') {
    throw new Error(
      'back PostgreSQL up with pg_dump (or continuous archiving for point-in-time recovery): see "Running at scale" in the README',
    );
  }
  const { path } = database;
  if (path === ':memory:') throw new UsageError('DATABASE_URL is :memory:, there is nothing to back up');
  if (!existsSync(path)) throw new Error(`there is no database at ${path}`);
  // No migration: a backup copies the database exactly as the server has it.
  const { db, sqlite } = await openSqliteDatabase(path, { mustExist: true, migrate: false });
  try {
    const result = await backupDatabase(sqlite, positionals[0] as string);
    process.stdout.write(
      `Backed up ${path} to ${result.file} (${result.responses} responses, ${Math.ceil(result.bytes / 1024)} KB).\n`,
    );
  } finally {
    await db.destroy();
  }
}

const isoDate = z.iso.date();

/** `purge --survey S --before DATE [--dry-run]`: erases the survey's responses started before the day. */
export async function purgeCommand(args: string[]) {
  const { values } = options(args, {
    survey: { type: 'string' },
    before: { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  const survey = await surveyNamed(values.survey);
  const before = values.before;
  if (!before) throw new UsageError('--before is required (a date like 2019-06-01)');
  if (!isoDate.safeParse(before).success) throw new UsageError('--before must be a date like 2019-06-01');
  const what = `responses of ${survey.slug} started before ${before} (UTC)`;
  if (values['dry-run']) {
    const found = await withDb((db) => countStartedBefore(db, survey, before));
    process.stdout.write(
      `Would erase ${found.complete + found.partial} ${what}: ${found.complete} complete, ${found.partial} partial.\n`,
    );
    return;
  }
  const erased = await withDb((db) => eraseStartedBefore(db, survey, before));
  process.stdout.write(
    `Erased ${erased.complete + erased.partial} ${what}: ${erased.complete} complete, ${erased.partial} partial.\n`,
  );
}

/**
 * `copy --from URL --to URL [--survey S]...`: moves surveys' data between
 * databases, across engines (see copySurveys); every survey by default.
 */
export async function copyCommand(args: string[]) {
  const { values } = options(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    survey: { type: 'string', multiple: true },
  });
  if (!values.from || !values.to) throw new UsageError('give both --from and --to (a DATABASE_URL each)');
  if (values.from === values.to) throw new UsageError('--from and --to are the same database');
  const source = parseDatabaseUrl(values.from);
  if (source.engine === 'sqlite' && !existsSync(source.path)) throw new Error(`there is no database at ${source.path}`);
  // The SQLite file's cookie key goes along, so drafts in progress carry on after the move.
  const secrets = source.engine === 'sqlite' ? keptSecretBeside(source.path) : [];
  const from = await connect(source);
  try {
    // The surveys as the source database holds them: copied definitions and new versions included.
    const stored = await storedSurveys(from);
    const surveys = values.survey?.length ? values.survey.map((slug) => pickSurvey(stored, slug)) : [...stored];
    const to = await connect(parseDatabaseUrl(values.to));
    try {
      const summary = await copySurveys(from, to, surveys, {
        secrets,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      for (const s of summary.surveys)
        process.stdout.write(
          `Copied ${s.responses} responses of ${s.slug} (${s.complete} complete, ${s.partial} partial` +
            `${s.paperEntries ? `, ${s.paperEntries} keyed in from paper` : ''}); the report is identical.\n`,
        );
      process.stdout.write(`Copied ${summary.accounts} admin accounts (everyone signs in again).\n`);
    } finally {
      await to.destroy();
    }
  } finally {
    await from.destroy();
  }
}

function keptSecretBeside(path: string): { name: string; value: string }[] {
  const file = secretFileBeside(path);
  return existsSync(file) ? [{ name: 'cookie', value: readFileSync(file, 'utf8').trim() }] : [];
}

/**
 * `recount --survey S [--check]`: rebuilds the survey's running counts from
 * its stored responses (see recountSurvey), or, with --check, only compares
 * the report the counts give with the report counted from the stored rows
 * and says which tables differ (exit code 1), changing nothing.
 */
export async function recountCommand(args: string[]) {
  const { values } = options(args, { survey: { type: 'string' }, check: { type: 'boolean' } });
  const survey = await surveyNamed(values.survey);
  if (values.check) {
    const { responses, differ } = await withDb((db) => checkCounts(db, survey));
    if (!differ.length) {
      process.stdout.write(`The running counts of ${survey.slug} agree with its ${responses} stored responses.\n`);
      return;
    }
    process.stdout.write(
      `The running counts of ${survey.slug} differ from its ${responses} stored responses in: ${differ.join(', ')}.\n` +
        `Run \`recount --survey ${survey.slug}\` to rebuild them.\n`,
    );
    process.exitCode = 1;
    return;
  }
  const { responses, changed } = await withDb((db) => recountSurvey(db, survey));
  process.stdout.write(
    `Recounted ${responses} responses of ${survey.slug}: ` +
      (changed ? 'the counts had drifted and are now rebuilt.\n' : 'the counts were right, nothing changed.\n'),
  );
}

/** Compares the report from the counts with the report from the rows, in one consistent read. */
async function checkCounts(db: Kysely<Database>, survey: Survey): Promise<{ responses: number; differ: string[] }> {
  // One transaction, so that both reports see the same responses: on PostgreSQL a snapshot (repeatable read,
  // read only); on SQLite the write lock, which keeps writers waiting for as long as the check takes.
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((trx) => countsDisagreements(trx, survey));
}
