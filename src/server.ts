import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { connect } from './db/connect.ts';
import { loadSurveys } from './survey/definitions/index.ts';

// Start-up only: configuration, database, app, listen; close gracefully on a signal.
const config = loadConfig();
const surveys = loadSurveys();
const db = await connect(config.databaseUrl);
// With no admin account yet, the one-time setup link is printed here as well as logged.
const app = await buildApp({ db, config, surveys, admin: { announce: (text) => console.warn(text) } });

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
  await app.listen({ port: config.port, host: config.host });
  for (const survey of surveys) app.log.info(`survey "${survey.title}" at ${config.publicUrl}/s/${survey.slug}`);
} catch (err) {
  app.log.error(err);
  process.exit(1);
}
