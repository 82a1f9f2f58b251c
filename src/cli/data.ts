import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ownExportConnection, responseRecordCsv } from '../exports/job.ts';
import { filterOptions, filtersFrom, options, surveyNamed, UsageError, withConnection, withDb } from './common.ts';

/** `export`: the response record as CSV on standard output, written as the server's export worker writes it. */
export async function exportCommand(args: string[]) {
  const { values } = options(args, { survey: { type: 'string' }, ...filterOptions });
  const survey = surveyNamed(values.survey);
  const filters = filtersFrom(survey, values);
  // In this thread, not the server's pool: a worker would only add its own copy of the modules to the process.
  await withConnection((connection) =>
    pipeline(responseRecordCsv(connection.db, survey, filters, ownExportConnection(connection)), process.stdout),
  );
}

/** `report`: the analysis as JSON on standard output. */
export async function reportCommand(args: string[]) {
  const { values } = options(args, { survey: { type: 'string' }, ...filterOptions });
  const survey = surveyNamed(values.survey);
  const filters = filtersFrom(survey, values);
  const { buildReport } = await import('../analysis/report.ts');
  const report = await withDb((db) => buildReport(db, survey, filters));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

/** `import`: response records from a CSV file; any bad row refuses the whole file. */
export async function importCommand(args: string[]) {
  const { values, positionals } = options(args, { survey: { type: 'string' } }, true);
  const survey = surveyNamed(values.survey);
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
