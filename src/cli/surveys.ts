import { readFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Actor } from '../responses/corrections.ts';
import { DefinitionError, type Survey } from '../survey/definition.ts';
import { copyAsWave, documentText, parseDocument } from '../survey/document.ts';
import { parseSurveyDate } from '../survey/schedule.ts';
import { type SaveResult, saveDefinition, versionsOf } from '../surveys/store.ts';
import { options, pickSurvey, storedSurveys, UsageError, withDb } from './common.ts';

/** The audit log's actor for what the command line stores: whoever runs it on the server. */
const CLI: Actor = { id: 'cli', email: 'command line' };

/** `survey list|export|import|copy`: survey definitions as JSON documents (see README, Running next year's survey). */
export async function surveyCommand(args: string[]) {
  const [action, ...rest] = args;
  if (action === 'list') return listCommand(rest);
  if (action === 'export') return exportDocument(rest);
  if (action === 'import') return importDocument(rest);
  if (action === 'copy') return copySurvey(rest);
  throw new UsageError('survey list, survey export --survey S, survey import FILE.json, or survey copy --from S ...');
}

async function listCommand(args: string[]) {
  options(args, {});
  await withDb(async (db) => {
    for (const survey of await storedSurveys(db)) {
      const [latest] = await versionsOf(db, survey.slug);
      process.stdout.write(
        `${survey.slug}\tversion ${survey.version}\t${survey.title}${latest ? `\t(stored ${latest.created_at} by ${latest.created_by})` : ''}\n`,
      );
    }
  });
}

async function exportDocument(args: string[]) {
  const { values } = options(args, { survey: { type: 'string' } });
  if (!values.survey) throw new UsageError('--survey is required');
  const slug = values.survey;
  const survey = await withDb(async (db) => pickSurvey(await storedSurveys(db), slug));
  process.stdout.write(documentText(survey));
}

async function importDocument(args: string[]) {
  const { values, positionals } = options(args, { note: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('give one JSON file of a survey definition');
  const file = positionals[0] as string;
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const survey = definitionOr(() => parseDocument(text), file);
  if (!survey) return;
  await store(
    (db) => saveDefinition(db, survey, { actor: CLI, now: new Date(), note: values.note ?? `Imported from ${file}` }),
    survey.slug,
  );
}

async function copySurvey(args: string[]) {
  const { values } = options(args, {
    from: { type: 'string' },
    id: { type: 'string' },
    title: { type: 'string' },
    opens: { type: 'string' },
    closes: { type: 'string' },
    wave: { type: 'string' },
  });
  const { from, id, title } = values;
  if (!from || !id || !title || !values.opens || !values.closes)
    throw new UsageError('survey copy needs --from, --id, --title, --opens and --closes');
  const opens = parseSurveyDate(values.opens, 'opens');
  const closes = parseSurveyDate(values.closes, 'closes');
  if (!opens || !closes) throw new UsageError('--opens and --closes take a date like 2020-02-17 (UK time)');
  await withDb(async (db) => {
    const source = pickSurvey(await storedSurveys(db), from);
    const wave = definitionOr(
      () =>
        copyAsWave(source, {
          slug: id,
          title,
          opensAt: opens.toISOString(),
          closesAt: closes.toISOString(),
          ...(values.wave ? { wave: values.wave } : {}),
        }),
      `the copy of ${from}`,
    );
    if (!wave) return;
    report(
      await saveDefinition(db, wave, {
        actor: CLI,
        now: new Date(),
        note: `Copied from ${from} version ${source.version}`,
        createOnly: true,
        createdAs: 'survey-copied',
      }),
      id,
    );
  });
}

/** The definition `make` gives, or undefined with every problem written out (exit code 1). */
function definitionOr(make: () => Survey, what: string): Survey | undefined {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err;
    process.stderr.write(`Nothing was stored: ${what} has ${err.problems.length} problem(s):\n`);
    for (const p of err.problems) process.stderr.write(`  - ${p}\n`);
    process.exitCode = 1;
    return undefined;
  }
}

async function store(save: (db: Kysely<Database>) => Promise<SaveResult>, slug: string) {
  report(await withDb(save), slug);
}

function report(result: SaveResult, slug: string) {
  if (!result.ok) {
    process.stderr.write(`Nothing was stored: ${result.problems[0]}\n`);
    for (const p of result.problems.slice(1)) process.stderr.write(`  - ${p}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(
    result.created
      ? `Created survey ${slug} (version 1).\n`
      : result.unchanged
        ? `Survey ${slug} is unchanged: it is already version ${result.version}.\n`
        : `Stored version ${result.version} of ${slug}; it is served from now on.\n`,
  );
}
