import { warmMatrices } from './analysis/matrix-cache.ts';
import { buildApp } from './app.ts';
import { DEFAULT_DRAFT_RETENTION_DAYS, loadConfig } from './config.ts';
import { connect } from './db/open.ts';
import { describeDatabase } from './db/url.ts';
import { draftCutoff, eraseStaleDrafts } from './responses/retention.ts';
import { loadSurveys } from './survey/definitions/index.ts';

// Start-up only: configuration, database, app, listen; erase stale drafts now
// and every hour; build the analysis's response matrices; close gracefully on a signal.
const config = loadConfig();
// The shipped definitions: each stored on first start; the database's versions are served from then on.
const shipped = loadSurveys();
const db = await connect(config.database, { requestLimits: true }).catch((err: unknown) => {
  // One clear line, never the password in the URL: the operator fixes DATABASE_URL or starts the database.
  const reason = err instanceof AggregateError ? err.errors.map(String).join('; ') : String(err);
  console.error(`soundings: cannot open the database at ${describeDatabase(config.database)}: ${reason}`);
  process.exit(1);
});
// With no admin account yet, the one-time setup link is printed here as well as logged.
const app = await buildApp({
  db,
  config,
  surveys: shipped,
  admin: { announce: (text) => console.warn(text) },
  // Shed load with a fast "try again" page rather than let every request queue.
  overload: {},
});

const DRAFT_PURGE_INTERVAL_MS = 60 * 60 * 1000;
const retentionDays =
  config.draftRetentionDays === undefined ? DEFAULT_DRAFT_RETENTION_DAYS : config.draftRetentionDays;

/** Erases drafts untouched for DRAFT_RETENTION_DAYS; a failure (disk full, say) is logged and tried again next time. */
async function eraseStaleDraftsNow() {
  if (retentionDays === null) return;
  for (const survey of app.surveys.all()) {
    try {
      const erased = await eraseStaleDrafts(db, survey, draftCutoff(new Date(), retentionDays));
      if (erased) app.log.info({ survey: survey.slug, erased, retentionDays }, 'stale drafts erased');
    } catch (err) {
      app.log.error({ err, survey: survey.slug }, 'erasing stale drafts failed');
    }
  }
}
const draftPurge = setInterval(eraseStaleDraftsNow, DRAFT_PURGE_INTERVAL_MS);
draftPurge.unref();
app.addHook('onClose', async () => clearInterval(draftPurge));
const closed = new AbortController();
// preClose: before the database closes under a build in progress.
app.addHook('preClose', async () => closed.abort());

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'closing');
    await app.close();
    process.exit(0);
  });
}

try {
  // Fastify logs "Server listening at <address>" (the real port when PORT=0).
  await app.listen({ port: config.port, host: config.host });
  for (const survey of app.surveys.all())
    app.log.info(`survey "${survey.title}" at ${config.publicUrl}/s/${survey.slug}`);
  if (!config.publicUrlSet) {
    // Share links, QR codes and the paper form would all send residents to localhost: say so where it is seen.
    const warning = `PUBLIC_URL is not set: share links, QR codes and the paper questionnaire point at ${config.publicUrl}, which works only on this machine. Set PUBLIC_URL to the address residents use.`;
    app.log.warn(warning);
    console.warn(`\n*** WARNING: ${warning} ***\n`);
  }
} catch (err) {
  app.log.error(err);
  process.exit(1);
}
await eraseStaleDraftsNow();
// In the background, so that the first cross-tab or weighted page after a start does not wait for it.
void warmMatrices(db, app.surveys.all(), app.log, closed.signal);
