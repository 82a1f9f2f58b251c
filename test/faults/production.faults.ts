import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, expect, it } from 'vitest';
import { signIn } from '../../bench/sign-in.ts';
import { createAccount, hashPassword } from '../../src/admin/accounts.ts';
import { connect } from '../../src/db/open.ts';
import { ROOT, ServerProcess, SLUG } from './harness.ts';

// The compiled build that `npm start` runs (dist/, made by the global setup):
// the files it finds by path (views, static files, the statements, the share
// cards), the exports' worker threads (the pool's task, from dist/), and the
// compiled command line, whose export runs in the same pool. Everything else
// in the fault tests runs it too; this file checks the parts they do not reach.

const dir = mkdtempSync(join(tmpdir(), 'soundings-production-'));
const databaseUrl = join(dir, 'soundings.sqlite');
const PASSWORD = 'production build passphrase';
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const compiledCli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['dist/src/cli.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    maxBuffer: 64 * 1024 * 1024,
  });

it('the compiled command line imports, and the compiled server serves the survey, the admin and both exports', async () => {
  const imported = await compiledCli('import', '--survey', SLUG, 'test/fixtures/csp-2019-published.csv');
  expect(imported.stdout).toMatch(/Imported 420 responses/);
  const db = await connect(databaseUrl);
  await createAccount(db, {
    email: 'analyst@example.org',
    role: 'analyst',
    passwordHash: await hashPassword(PASSWORD),
    now: new Date(),
  });
  await db.destroy();

  server = await ServerProcess.start(databaseUrl);
  const { url } = server;
  const started = server;
  // The analysis's response matrix is built in the background once it listens, not by an analyst's first page.
  await expect
    .poll(() => started.log, { timeout: 15_000 })
    .toMatch(/"survey":"csp-2019","responses":420,"ms":\d+,"msg":"response matrix built"/);

  // Views (found from dist/ through appRoot), static files and the share card.
  const home = await fetch(`${url}/`, { redirect: 'manual' });
  expect(home.status).toBe(302);
  const start = await fetch(new URL(home.headers.get('location') ?? '', url));
  expect(start.status).toBe(200);
  const html = await start.text();
  expect(html).toMatch(/community safety/i);
  const css = /href="(\/public\/build\/[^"]+\.css)"/.exec(html)?.[1];
  expect(css).toBeTruthy();
  expect((await fetch(`${url}${css}`)).status).toBe(200);
  const card = /<meta property="og:image" content="([^"]+)"/.exec(html)?.[1];
  expect(card).toBeTruthy();
  const image = await fetch(new URL(new URL(card ?? '').pathname, url));
  expect(image.status).toBe(200);
  expect(image.headers.get('content-type')).toBe('image/png');
  const privacy = await fetch(`${url}/privacy`);
  expect(privacy.status).toBe(200);

  const cookie = await signIn(url, 'analyst@example.org', PASSWORD);
  const report = await fetch(`${url}/admin/surveys/${SLUG}/report.json`, { headers: { cookie } });
  expect(report.status).toBe(200);
  type Report = { responses: number; questions: unknown };
  const fromServer = (await report.json()) as Report;
  const fromCli = JSON.parse((await compiledCli('report', '--survey', SLUG)).stdout) as Report;
  expect(fromServer.responses).toBe(420);
  expect(fromServer.questions).toEqual(fromCli.questions);

  // The downloads run in a worker thread, which must start from the compiled files.
  const csv = await fetch(`${url}/admin/surveys/${SLUG}/responses.csv`, { headers: { cookie } });
  expect(csv.status).toBe(200);
  const csvText = await csv.text();
  const rows = parse(csvText, { columns: true, bom: true }) as Record<string, string>[];
  expect(rows).toHaveLength(420);
  // The command line's export, in a worker thread of its own process: the same file, byte order mark first.
  const exported = (await compiledCli('export', '--survey', SLUG)).stdout;
  expect(exported.startsWith('\uFEFF')).toBe(true);
  expect(exported.slice(1)).toBe(csvText);
  const workbook = await fetch(`${url}/admin/surveys/${SLUG}/workbook.xlsx`, { headers: { cookie } });
  expect(workbook.status).toBe(200);
  const bytes = Buffer.from(await workbook.arrayBuffer());
  expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
  expect(bytes.length).toBeGreaterThan(10_000);

  expect(server.log).not.toMatch(/"level":5\d/);
});
