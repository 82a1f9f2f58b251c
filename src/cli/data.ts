import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { ownExportConnection, writeExport } from '../exports/job.ts';
import { areaCodes, type Survey } from '../survey/definition.ts';
import {
  filterOptions,
  filtersFrom,
  namedAmongStored,
  options,
  surveyNamed,
  UsageError,
  withConnection,
  withDb,
} from './common.ts';

/** The weighting options shared by export and report: --weight, --cap, --merge. */
const weightOptions = {
  weight: { type: 'string' },
  cap: { type: 'string' },
  merge: { type: 'string', multiple: true },
} as const;

/** The weighting asked for by --weight, --cap and --merge (every problem a usage error), or undefined. */
async function weightFrom(
  survey: Survey,
  values: { weight?: string; cap?: string; merge?: string[]; targets?: string },
  companions = '--cap and --merge',
) {
  if (!values.weight && (values.cap || values.merge || values.targets))
    throw new UsageError(`${companions} go with --weight`);
  const { parseWeightSettings } = await import('../analysis/weighting.ts');
  const weight = parseWeightSettings(survey, {
    ...(values.weight ? { weight: values.weight } : {}),
    ...(values.cap ? { cap: values.cap } : {}),
    ...(values.merge ? { merge: values.merge } : {}),
  });
  if (!weight.ok) throw new UsageError(weight.problems.map((p) => p.message).join('; '));
  return weight.settings;
}

/**
 * `export`: the response record as CSV on standard output, written as the
 * server's export worker writes it; `--labels` for labels instead of codes,
 * `--weight` (with `--cap`, `--merge`) for a weight column. A refused
 * weighting writes nothing and exits 1 with the reason.
 */
export async function exportCommand(args: string[]) {
  const { values } = options(args, {
    survey: { type: 'string' },
    ...filterOptions,
    labels: { type: 'boolean' },
    ...weightOptions,
  });
  const survey = await surveyNamed(values.survey);
  const filters = filtersFrom(survey, values);
  const weight = await weightFrom(survey, values);
  const job = {
    kind: 'csv',
    filters,
    ...(values.labels ? { labels: true } : {}),
    ...(weight ? { weight } : {}),
  } as const;
  // In this thread, not the server's pool: a worker would only add its own copy of the modules to the process.
  // A weighting is worked out before anything is written: refused, standard output stays empty.
  await withConnection((connection) =>
    writeExport(connection.db, survey, job, process.stdout, ownExportConnection(connection)),
  );
}

/**
 * `report`: the analysis as JSON on standard output, with a cross-tab, weighted estimates and a
 * comparison with an earlier wave (`--compare`) on request.
 */
export async function reportCommand(args: string[]) {
  const { values } = options(args, {
    survey: { type: 'string' },
    ...filterOptions,
    crosstab: { type: 'string' },
    ...weightOptions,
    targets: { type: 'string' },
    compare: { type: 'string' },
  });
  const { survey, surveys } = await namedAmongStored(values.survey);
  const filters = filtersFrom(survey, values);
  const { earlierWave } = await import('../analysis/waves.ts');
  const previous = values.compare ? earlierWave(surveys, survey, values.compare) : undefined;
  if (previous && !previous.ok) throw new UsageError(`--compare: ${previous.message}`);
  if (previous && values.targets)
    throw new UsageError('--targets weights this wave alone: it cannot go with --compare');
  const { reportJson, ReportRequestError } = await import('../analysis/report-json.ts');
  const pair = values.crosstab?.split(',');
  if (pair && pair.length !== 2) throw new UsageError('--crosstab takes two questions: ROW,COLUMN');
  const weight = await weightFrom(survey, values, '--cap, --merge and --targets');
  const targets = values.targets ? await targetsFile(survey, values.targets) : undefined;
  const json = await withDb((db) =>
    reportJson(db, survey, filters, {
      ...(pair ? { crosstab: pair as [string, string] } : {}),
      ...(weight ? { weight } : {}),
      ...(targets ? { targets } : {}),
      ...(previous?.ok ? { compare: previous.survey } : {}),
    }).catch((err: unknown) => {
      throw err instanceof ReportRequestError ? new UsageError(err.message) : err;
    }),
  );
  process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
}

/** A population targets file, checked against the survey: every problem is a usage error. */
async function targetsFile(survey: Survey, file: string) {
  const { mappingOf, parseTargets } = await import('../weighting/targets.ts');
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const parsed = parseTargets(text, { mapping: mappingOf(survey), districts: areaCodes(survey) });
  if (!parsed.ok) throw new UsageError(`${file} cannot be used:\n  ${parsed.problems.join('\n  ')}`);
  return parsed.targets;
}

/** `targets import --survey S FILE.csv`: a survey's population figures; `targets export --survey S`: them as CSV. */
export async function targetsCommand(args: string[]) {
  const [action, ...rest] = args;
  const { values, positionals } = options(rest, { survey: { type: 'string' } }, true);
  const survey = await surveyNamed(values.survey);
  const store = await import('../weighting/store.ts');
  if (action === 'import') {
    if (positionals.length !== 1) throw new UsageError('give one CSV file of population figures');
    const targets = await targetsFile(survey, positionals[0] as string);
    await withDb((db) => store.replaceTargets(db, survey, targets, new Date()));
    process.stdout.write(`Stored ${targets.length} population figures for ${survey.slug}.\n`);
    return;
  }
  if (action === 'export') {
    const { targetsCsv } = await import('../weighting/targets.ts');
    const { targets } = await withDb((db) => store.targetsOf(db, survey));
    process.stdout.write(targetsCsv(targets));
    return;
  }
  throw new UsageError('targets import --survey S FILE.csv, or targets export --survey S');
}

/** `import`: response records from a CSV file; any bad row refuses the whole file. */
export async function importCommand(args: string[]) {
  const { values, positionals } = options(args, { survey: { type: 'string' } }, true);
  const survey = await surveyNamed(values.survey);
  if (positionals.length !== 1) throw new UsageError('give one CSV file to import');
  const file = positionals[0] as string;
  // Read a byte first, so a missing or unreadable file is a usage error before the database is opened.
  await readable(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const { importResponses } = await import('../exports/import.ts');
  // Streamed, not read whole: memory stays flat however long the file.
  const result = await withDb((db) => importResponses(db, survey, () => createReadStream(file)));
  if (result.ok) {
    process.stdout.write(
      `Imported ${result.imported} responses into ${survey.slug}` +
        (result.alreadyPresent ? ` (${result.alreadyPresent} already present, left as they were)` : '') +
        '.\n',
    );
    return;
  }
  process.stderr.write(`Nothing was imported: ${result.problemCount} problem(s) in ${file}.\n`);
  for (const p of result.problems)
    process.stderr.write(`  row ${p.row}${p.column ? `, ${p.column}` : ''}: ${p.message}\n`);
  if (result.problemCount > result.problems.length)
    process.stderr.write(`  … and ${result.problemCount - result.problems.length} more\n`);
  process.exitCode = 1;
}

async function readable(file: string) {
  const handle = await open(file, 'r');
  try {
    await handle.read(Buffer.alloc(1), 0, 1, 0);
  } finally {
    await handle.close();
  }
}
