// What the resident's issue (14) added beyond the journey itself: the start
// page that search engines may index, the warnings when PUBLIC_URL is unset
// (share page, printable questionnaire, the server's start-up log), and the
// paper form's return address and closing date.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { loadStatements } from '../../src/statements.ts';
import { AdminAgent, createAccount, cspSurvey, makeApp, Respondent, type TestApp } from '../helpers.ts';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ROBOTS = '<meta name="robots" content="noindex">';

describe('the start page', () => {
  it('says once, before the first question, that answers are saved as they go and how to come back', async () => {
    t = await makeApp();
    const start = (await t.app.inject({ url: '/s/csp-2019' })).body;
    expect(start).toContain('Your answers are saved as you go');
    expect(start).toContain('open this survey again on the same device within 90 days');
    const r = new Respondent(t.app);
    await r.start();
    expect((await r.get('area')).body).not.toContain('saved as you go');
  });

  it('promises no longer a return than drafts are kept', async () => {
    t = await makeApp({ config: { draftRetentionDays: 30 } });
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain('on the same device within 30 days');
  });
});

describe('search engines', () => {
  it('may index an open survey’s start page, and no other page', async () => {
    t = await makeApp();
    const start = await t.app.inject({ url: '/s/csp-2019' });
    expect(start.statusCode).toBe(200);
    expect(start.body).not.toContain('name="robots"');
    expect(start.body).toContain('<link rel="canonical" href="http://localhost:3000/s/csp-2019">');
    const r = new Respondent(t.app);
    await r.start();
    for (const url of ['/s/csp-2019/area', '/print/csp-2019', '/privacy', '/accessibility', '/cookies', '/s/nope'])
      expect((await t.app.inject({ url, headers: { cookie: r.cookie } })).body, url).toContain(ROBOTS);
    expect((await r.get('area')).body).toContain(ROBOTS);
  });

  it('keeps a survey that is not open out of search results', async () => {
    t = await makeApp({
      surveys: [cspSurvey({ opensAt: '2019-02-18T09:00:00Z', closesAt: '2019-03-03T17:00:00Z' })],
      now: () => new Date('2019-04-01T12:00:00Z'),
    });
    const closed = await t.app.inject({ url: '/s/csp-2019' });
    expect(closed.body).toContain('This survey closed on');
    expect(closed.body).toContain(ROBOTS);
  });

  it('keeps the start page out too with INDEX_START_PAGE=false', async () => {
    expect(loadConfig({}).indexStartPage).toBe(true);
    expect(loadConfig({ INDEX_START_PAGE: 'false' }).indexStartPage).toBe(false);
    expect(() => loadConfig({ INDEX_START_PAGE: 'perhaps' })).toThrow(/INDEX_START_PAGE/);
    t = await makeApp({ config: { indexStartPage: false } });
    expect((await t.app.inject({ url: '/s/csp-2019' })).body).toContain(ROBOTS);
  });
});

describe('when PUBLIC_URL is not set', () => {
  it('is known to the configuration, which alone reads the environment', () => {
    expect(loadConfig({ PORT: '4000' })).toMatchObject({ publicUrl: 'http://localhost:4000', publicUrlSet: false });
    expect(loadConfig({ PUBLIC_URL: 'https://surveys.example.gov.uk/' })).toMatchObject({
      publicUrl: 'https://surveys.example.gov.uk',
      publicUrlSet: true,
    });
  });

  it('warns on the share page and the printable questionnaire that links point at localhost', async () => {
    t = await makeApp({ config: { publicUrlSet: false } });
    await createAccount(t.db, 'analyst@council.gov.uk', 'analyst', 'a long enough passphrase');
    const analyst = await new AdminAgent(t.app).signIn('analyst@council.gov.uk', 'a long enough passphrase');
    const share = await analyst.get('/admin/surveys/csp-2019/share');
    expect(share.statusCode).toBe(200);
    expect(share.body).toContain('These links and QR codes point at localhost');
    expect(share.body).toContain('<code>PUBLIC_URL</code>');
    const print = await t.app.inject({ url: '/print/csp-2019' });
    expect(print.body).toContain('This server’s public address is not set');
    expect(print.body).toContain('<strong>http://localhost:3000/s/csp-2019</strong>');
  });

  it('says nothing of the kind once it is set', async () => {
    t = await makeApp();
    await createAccount(t.db, 'analyst@council.gov.uk', 'analyst', 'a long enough passphrase');
    const analyst = await new AdminAgent(t.app).signIn('analyst@council.gov.uk', 'a long enough passphrase');
    expect((await analyst.get('/admin/surveys/csp-2019/share')).body).not.toContain('point at localhost');
    expect((await t.app.inject({ url: '/print/csp-2019' })).body).not.toContain('public address is not set');
  });

  it('warns in the server’s start-up log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soundings-public-url-'));
    try {
      const output = await startServerUntilListening({
        DATABASE_URL: join(dir, 'soundings.sqlite'),
        PUBLIC_URL: undefined,
      });
      expect(output).toMatch(
        /"level":40,.*PUBLIC_URL is not set: share links, QR codes and the paper questionnaire point at http:\/\/localhost:/,
      );
      expect(output).toContain('*** WARNING: PUBLIC_URL is not set');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the printable questionnaire', () => {
  it('says where to return it and by when, before the first question', async () => {
    t = await makeApp({
      surveys: [cspSurvey({ opensAt: '2019-02-18T09:00:00Z', closesAt: '2019-03-03T17:00:00Z' })],
      now: () => new Date('2019-02-01T12:00:00Z'),
    });
    const html = (await t.app.inject({ url: '/print/csp-2019' })).body;
    const returning = html.indexOf('id="returning"');
    expect(returning).toBeGreaterThan(0);
    expect(returning).toBeLessThan(html.indexOf('app-paper__question'));
    const box = html.slice(returning, html.indexOf('</div>', returning));
    expect(box).toContain('Please return it by 3 March 2019 at 5pm.');
    for (const line of loadStatements().paper.returnTo) expect(box).toContain(line);
  });

  it('prints the ethnic backgrounds under their five headings', async () => {
    t = await makeApp();
    const html = (await t.app.inject({ url: '/print/csp-2019' })).body;
    const headings = [...html.matchAll(/<p class="app-paper__group-heading">([^<]+)<\/p>/g)].map((m) => m[1]);
    expect(headings).toEqual([
      'White',
      'Mixed or multiple ethnic groups',
      'Asian or Asian British',
      'Black or Black British',
      'Eastern European',
    ]);
  });
});

/** Starts src/server.ts as `npm run dev` would (no build needed), returns what it wrote until it listened, and stops it. */
async function startServerUntilListening(env: Record<string, string | undefined>): Promise<string> {
  const environment: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete environment[name];
    else environment[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: join(import.meta.dirname, '../..'),
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 45_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        // The survey's address is logged once the server listens; any warning follows it.
        if (output.includes('"msg":"survey ')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}):\n${output}`));
      });
    });
    // The log line and the console banner follow in the same tick: give the pipes a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return output;
  } finally {
    child.kill('SIGTERM');
  }
}
