import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../src/db/open.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import { buildServer } from '../build.ts';
import { type Answer, checkDatabase, Journey, SCRIPTS, ServerProcess, send } from '../faults/harness.ts';
import { createAccount, csrfTokenIn, freshDatabase, TEST_ENGINE } from '../helpers.ts';

// Two app processes on one database, as behind a load balancer without sticky
// sessions: on PostgreSQL the scale-out path, on SQLite two processes sharing
// one file. Neither is given COOKIE_SECRET, so they must find the same key
// themselves (kept in the database on Postgres, beside the file on SQLite).

const survey = loadSurveys()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'soundings-instances-'));
let database: Awaited<ReturnType<typeof freshDatabase>>;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  buildServer();
  database = await freshDatabase(dir, 'instances');
  // The first creates and migrates the database; the second starts beside it.
  for (let i = 0; i < 2; i++) servers.push(await ServerProcess.start(database.url, { COOKIE_SECRET: undefined }));
}, 120_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

it(`finishes respondents whose pages go to one instance, then the other (${TEST_ENGINE}): each response complete and single`, async () => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  expect(a).not.toBe(b);
  // Every request alternates between the two, with several respondents at once (their
  // counts rows are updated side by side); the last also presses Send twice at once, the
  // two going to different instances: it is completed exactly once.
  const journeys = Array.from({ length: 4 }, () => SCRIPTS)
    .flat()
    .map((script) => {
      let turn = 0;
      return new Journey(script, () => (turn++ % 2 === 0 ? a : b));
    });
  await Promise.all(journeys.map((j, i) => j.run({ doubleSubmit: i === journeys.length - 1 })));
  for (const j of journeys) expect(j.thanked, j.script.name).toBe(true);

  const findings = await checkDatabase(database.url, survey, journeys);
  expect(findings.problems).toEqual([]);
  expect([findings.responses, findings.complete]).toEqual([journeys.length, journeys.length]);
}, 60_000);

it('keeps an analyst signed in whichever instance answers', async () => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  const db = await connect(database.url);
  try {
    await createAccount(db, 'analyst@council.gov.uk', 'analyst', 'a long enough passphrase');
  } finally {
    await db.destroy();
  }
  const cookies = new Map<string, string>();
  const keep = (res: Answer) => {
    const set = res.headers['set-cookie'];
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  };
  const cookie = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  // The sign-in form from one instance, sent to the other.
  const form = keep(await send(a, 'GET', '/admin/login'));
  const signedIn = keep(
    await send(b, 'POST', '/admin/login', {
      cookie: cookie(),
      form: { _csrf: csrfTokenIn(form.body), email: 'analyst@council.gov.uk', password: 'a long enough passphrase' },
    }),
  );
  expect(signedIn.status, signedIn.body.slice(0, 300)).toBe(303);
  // The session, kept in the database, is known to both.
  for (const base of [a, b]) {
    const page = await send(base, 'GET', '/admin', { cookie: cookie() });
    expect(page.status, base).toBe(200);
    expect(page.body).toContain('Sign out');
  }
}, 60_000);

it('will not start without its database, and says why in one line without the password', async () => {
  const started = ServerProcess.start('postgres://soundings:s3cret-pass@127.0.0.1:1/soundings', {
    COOKIE_SECRET: undefined,
  });
  const error = await started.then(
    () => new Error('the server started'),
    (err: Error) => err,
  );
  expect(error.message).toMatch(/the server exited \(1\) before listening/);
  expect(error.message).toMatch(
    /soundings: cannot open the database at postgres:\/\/soundings:\*\*\*@127\.0\.0\.1:1\/soundings: .*ECONNREFUSED/,
  );
  expect(error.message).not.toContain('s3cret-pass');
  expect(error.message).not.toMatch(/\bat .*\.(ts|js):\d+/);
}, 60_000);
