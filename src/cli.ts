import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { connect } from './db/connect.ts';
import { responseRecordCsv, type StatusFilter } from './exports/response-record.ts';
import type { Survey } from './survey/definition.ts';
import { loadSurveys } from './survey/definitions/index.ts';

// `npm run -s cli -- <command> [options]`: the same database as the server (DATABASE_URL).

const USAGE = `Usage: npm run -s cli -- <command> [options]

Commands:
  export --survey SLUG [--status complete|partial|all]
      The survey's responses as CSV (the response record) on standard output.
      --status defaults to all.
`;

class UsageError extends Error {}

function surveyNamed(slug: string | undefined): Survey {
  if (!slug) throw new UsageError('--survey is required');
  const survey = loadSurveys().find((s) => s.slug === slug);
  if (!survey)
    throw new UsageError(
      `no survey "${slug}" (known: ${loadSurveys()
        .map((s) => s.slug)
        .join(', ')})`,
    );
  return survey;
}

function statusOption(value: string | undefined): StatusFilter {
  const status = value ?? 'all';
  if (status !== 'complete' && status !== 'partial' && status !== 'all')
    throw new UsageError(`--status must be complete, partial or all, not "${status}"`);
  return status;
}

async function exportCommand(args: string[]) {
  const { values } = parseArgs({ args, options: { survey: { type: 'string' }, status: { type: 'string' } } });
  const survey = surveyNamed(values.survey);
  const status = statusOption(values.status);
  const db = await connect(loadConfig().databaseUrl);
  try {
    await pipeline(responseRecordCsv(db, survey, status), process.stdout);
  } finally {
    await db.destroy();
  }
}

const commands: Record<string, (args: string[]) => Promise<void>> = { export: exportCommand };

async function main(argv: string[]) {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  await command(args);
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (
    err instanceof UsageError ||
    (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    process.stderr.write(`soundings: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`soundings: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
