import { UsageError } from './cli/common.ts';

// `npm run -s cli -- <command> [options]`: the same database as the server (DATABASE_URL),
// created and migrated if it does not exist yet.

const FILTERS =
  '[--status all|complete|partial] [--area CODE] [--channel CODE] [--from DATE] [--to DATE] [--flagged include|exclude|only]';

const USAGE = `Usage: npm run -s cli -- <command> [options]

Commands:
  export --survey SLUG ${FILTERS} [--labels]
         [--weight age,sex,ethnic_group [--cap none|K] [--merge VARIABLE:CAT+CAT]...]
      The responses as CSV (the response record, UTF-8 with a BOM) on standard
      output: codes, or with --labels their labels; with --weight a last
      column, weight (empty for a respondent the weighting left out). A
      refused weighting writes nothing and exits 1 with the reason.
  report --survey SLUG ${FILTERS}
         [--crosstab ROW,COLUMN] [--weight age,sex,ethnic_group [--cap none|K]
         [--merge VARIABLE:CAT+CAT]... [--targets FILE.csv]] [--compare SLUG]
      The analysis as JSON on standard output; with a cross-tab of any two
      questions (its counts and chi-square test), and weighted estimates:
      raked to the survey's population figures (or those of FILE.csv). With
      --compare, each answer's change since an earlier wave of the series
      (shares among those who answered, z-test; weighted with --weight).
  targets import --survey SLUG FILE.csv
      Replaces the survey's population figures (district, variable, category,
      population, basis, source); every problem in the file is listed.
  targets export --survey SLUG
      The survey's population figures as CSV on standard output.
  import --survey SLUG FILE.csv
      Response records from a CSV file. Any bad row refuses the whole file;
      response_ids already present are left as they are.

  survey list
      Every survey the database holds, with the version served now.
  survey export --survey SLUG
      The survey's definition (its current version) as a JSON document on
      standard output.
  survey import FILE.json [--note TEXT]
      A survey definition: a new survey, or a new version of a stored one.
      Every problem in the file is listed and nothing is stored. Once a survey
      has responses (staff's tests aside), its codes and routing cannot change:
      every structural difference is listed and nothing is stored.
  survey copy --from SLUG --id NEW --title TITLE --opens DATE --closes DATE [--wave NAME]
      Next year's wave: a new survey with every page, question and option code
      of SLUG (so the waves can be compared), its new title and dates, and in
      SLUG's series the wave NAME (the year it opens when not given). DATE is
      YYYY-MM-DD (UK time: from the start of that day when opening, to its end
      when closing) or YYYY-MM-DDTHH:MM.

  admin create --email EMAIL --role admin|analyst
      Adds an account for /admin. An analyst sees and exports the results; an
      admin also manages accounts, imports and opens or closes surveys.
  admin reset-password --email EMAIL
      Sets a new password (and unlocks the account, signing it out everywhere).
      The password is read from the first line of standard input when that is
      not a terminal, otherwise asked for twice without being shown.

  backup FILE
      A consistent copy of the database (SQLite's online backup API), safe to
      take while the server is running. To restore, see the README.
  purge --survey SLUG --before DATE [--dry-run]
      Erases every response of the survey (complete or partial) started before
      DATE (YYYY-MM-DD, UTC), with its answers; --dry-run only counts them.
  recount --survey SLUG [--check]
      Rebuilds the survey's running counts (what the analysis reads) from its
      stored responses, in one transaction, and says whether they had drifted.
      --check only compares the report from the counts with one counted from
      the stored answers, names the tables that differ (exit code 1) and
      changes nothing.
  copy --from DATABASE_URL --to DATABASE_URL [--survey SLUG]...
      Moves surveys' data (every survey by default) to another database, on
      either engine: an SQLite file to PostgreSQL, say. The target must not
      hold those surveys' responses yet; nothing is written unless the report
      on the target comes out identical. Stop the server first.

Filters: --status defaults to all (complete and partial); dates are YYYY-MM-DD
(inclusive, the day the response was started); --flagged defaults to include
(responses flagged as possibly automated or repeated are counted).
`;

// Each command's module is loaded when it runs: an export of a million responses starts sooner, and its
// process stays smaller, without the modules of the others (Argon2, the analysis, the importer).
const commands: Record<string, (args: string[]) => Promise<void>> = {
  export: async (args) => (await import('./cli/data.ts')).exportCommand(args),
  report: async (args) => (await import('./cli/data.ts')).reportCommand(args),
  import: async (args) => (await import('./cli/data.ts')).importCommand(args),
  targets: async (args) => (await import('./cli/data.ts')).targetsCommand(args),
  survey: async (args) => (await import('./cli/surveys.ts')).surveyCommand(args),
  admin: async (args) => (await import('./cli/admin.ts')).adminCommand(args),
  backup: async (args) => (await import('./cli/maintenance.ts')).backupCommand(args),
  purge: async (args) => (await import('./cli/maintenance.ts')).purgeCommand(args),
  recount: async (args) => (await import('./cli/maintenance.ts')).recountCommand(args),
  copy: async (args) => (await import('./cli/maintenance.ts')).copyCommand(args),
};

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
  const parseError = err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS');
  if (err instanceof UsageError || parseError) {
    process.stderr.write(`soundings: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`soundings: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
