import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../src/db/open.ts';
import { BUSY_TIMEOUT_MS } from '../../src/db/sqlite/open.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import {
  type Answer,
  checkDatabase,
  inProcessServer,
  Journey,
  NotAcknowledged,
  ROOT,
  recordFault,
  SCRIPTS,
  SLUG,
  send,
  tally,
} from './harness.ts';

const survey = loadSurveys()[0]!;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'soundings-storage-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The "try again" page, as a respondent sees it after a failed save. */
function expectTryAgain(res: Answer | undefined) {
  expect(res?.status).toBe(503);
  expect(res?.headers['retry-after']).toBe('10');
  expect(res?.body).toContain('Sorry, we could not save that just now');
  expect(res?.body).toContain('Your earlier answers are safe. Please wait a minute, then go back and try again.');
  expect(res?.body).not.toMatch(/SQLITE|Error:|\.ts:\d+/);
}

/** Runs a journey, returning false (instead of throwing) when the server refused or failed to answer a step. */
async function attempt(j: Journey, options: Parameters<Journey['run']>[0] = {}): Promise<boolean> {
  try {
    await j.run(options);
    return true;
  } catch (err) {
    if (err instanceof NotAcknowledged) return false;
    throw err;
  }
}

describe('a full disk', () => {
  /**
   * A real full disk where we may mount one: a 16 MB tmpfs holding only the
   * database, filled to the last byte by another file, so SQLite's writes
   * fail with ENOSPC. Where mounting is not allowed (no CAP_SYS_ADMIN), SQLite
   * is told the file may not grow (PRAGMA max_page_count = its size now): the
   * same SQLITE_FULL, raised one layer up, from the same write paths. Either
   * way the test runs; it records which it used.
   */
  function fullDisk(dir: string, mount: boolean) {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    try {
      if (!mount) throw new Error('not mounting');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', disk], { stdio: 'pipe' });
      cleanups.push(() => {
        execFileSync('umount', ['-l', disk]);
      });
      const filler = join(disk, 'filler');
      return {
        disk,
        how: 'a real full disk: a 16 MB tmpfs filled to the last byte by another file (ENOSPC)',
        fill: () => {
          const fd = openSync(filler, 'w');
          const chunk = Buffer.alloc(64 * 1024, 1);
          try {
            for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
              for (;;) {
                try {
                  writeSync(fd, chunk, 0, size);
                } catch (err) {
                  if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
                  throw err;
                }
              }
            }
          } finally {
            closeSync(fd);
          }
        },
        free: () => rmSync(filler),
      };
    } catch {
      return {
        disk,
        how: mount
          ? 'mounting was not allowed, so SQLite was told the file may not grow (PRAGMA max_page_count = its size): SQLITE_FULL'
          : 'SQLite told the file may not grow (PRAGMA max_page_count = its size): SQLITE_FULL, as where a disk cannot be mounted',
        fill: undefined,
        free: undefined,
      };
    }
  }

  // The real disk where it can be mounted; and always the fallback too, so that it is known to work.
  it.each([
    ['a small tmpfs', true, 'disk-full'],
    ['an SQLite size limit', false, 'disk-full-limit'],
  ] as const)(
    'on %s: answers "try again" (503), keeps every draft whole, serves on, and takes the answers once there is room',
    async (_, mount, record) => {
      const dir = tempDir();
      const disk = fullDisk(dir, mount);
      const connection = await openSqliteDatabase(join(disk.disk, 'soundings.sqlite'));
      const { app, url, storageErrors } = await inProcessServer(connection);
      cleanups.push(() => app.close());
      const journeys: Journey[] = [];
      const newJourney = () => {
        const j = new Journey(SCRIPTS[journeys.length % SCRIPTS.length]!, () => url);
        journeys.push(j);
        return j;
      };

      const fill =
        disk.fill ??
        (() =>
          connection.sqlite.pragma(`max_page_count = ${connection.sqlite.pragma('page_count', { simple: true })}`));
      const free = disk.free ?? (() => connection.sqlite.pragma('max_page_count = 4294967294'));
      const cycles = 5;
      const problems: string[] = [];
      for (let cycle = 0; cycle < cycles; cycle++) {
        // While there is room: one respondent half-way, one with every page answered and about to send.
        const halfway = newJourney();
        expect(await attempt(halfway, { pages: 3 })).toBe(true);
        const ready = newJourney();
        expect(await attempt(ready, { pages: ready.script.steps.length })).toBe(true);

        fill();
        // Respondents carry on until the disk refuses a write (the log may still have room for a few).
        let refused: Journey | undefined;
        for (let i = 0; i < 500 && !refused; i++) {
          const j = newJourney();
          if (!(await attempt(j))) refused = j;
        }
        expect(refused, 'no write was refused').toBeDefined();
        expectTryAgain(refused?.lastRefusal);
        // The others try to go on, to save a page and to send: refused or taken, never half-saved.
        await attempt(halfway, { pages: 5 });
        await attempt(ready);
        // The server keeps serving: pages that only read still work.
        expect((await send(url, 'GET', `/s/${SLUG}`)).status).toBe(200);
        problems.push(...(await checkDatabase(connection.path, survey, journeys)).problems);

        // Room again: everyone finishes, on the same server, without a restart.
        free();
        for (const j of journeys) expect(await attempt(j), j.script.name).toBe(true);
        problems.push(...(await checkDatabase(connection.path, survey, journeys)).problems);
      }
      const refusedWrites = journeys.reduce((n, j) => n + j.refusals, 0);
      const after = await checkDatabase(connection.path, survey, journeys);
      expect(problems).toEqual([]);
      expect(after.problems).toEqual([]);
      expect(after.complete).toBe(journeys.length);

      recordFault(record, {
        fault: mount ? 'Disk full' : 'Database may not grow (disk full, simulated)',
        injected: disk.how,
        cycles,
        acknowledged: journeys.filter((j) => j.thanked).length,
        lost: problems.length + after.problems.length,
        notes: `${cycles} fill-and-free cycles; ${refusedWrites} saves (Start, a page, Send) refused with the 503 "try again" page (logged: ${tally(storageErrors)}); reads served throughout; after each freeing all respondents finished on the same server process (${journeys.length} responses sent in all); integrity_check ok`,
      });
    },
  );
});

describe('a database locked by another process', () => {
  /** Another process holding SQLite's write lock (an open write transaction), until told to let go. */
  async function lockHolder(path: string): Promise<{ child: ChildProcess; release: () => Promise<void> }> {
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.env.LOCK_DB);
      db.exec('BEGIN IMMEDIATE');
      db.prepare('update survey_schedules set updated_at = updated_at').run();
      process.stdout.write('locked\\n');
      process.stdin.once('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });
    `;
    const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, LOCK_DB: path } });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
    });
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    return {
      child,
      release: async () => {
        child.stdin.write('release\n');
        await exited;
      },
    };
  }

  it('answers "try again" within a couple of seconds, keeps the draft, and saves once the lock goes', async () => {
    const dir = tempDir();
    const connection = await openSqliteDatabase(join(dir, 'soundings.sqlite'));
    const { app, url, storageErrors } = await inProcessServer(connection);
    cleanups.push(() => app.close());
    const halfway = new Journey(SCRIPTS[0]!, () => url);
    expect(await attempt(halfway, { pages: 3 })).toBe(true);

    const cycles = 3;
    let refusals = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const lock = await lockHolder(connection.path);
      const started = performance.now();
      expect(await attempt(halfway, { pages: 4 + cycle })).toBe(false);
      const waited = performance.now() - started;
      // It waited for the lock (busy_timeout), then gave up: no hanging.
      expect(waited).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS * 0.9);
      expect(waited).toBeLessThan(BUSY_TIMEOUT_MS + 3000);
      expectTryAgain(halfway.lastRefusal);
      refusals++;
      // Reading is not blocked by another process's write lock (WAL): the page and the start page still show.
      const page = await send(url, 'GET', `/s/${SLUG}/${SCRIPTS[0]!.steps[3 + cycle]!.page}`, {
        cookie: halfway.cookie,
      });
      expect(page.status).toBe(200);
      expect((await send(url, 'GET', `/s/${SLUG}`)).status).toBe(200);
      // Nobody can start either, and nothing is left half-done.
      const newcomer = new Journey(SCRIPTS[1]!, () => url);
      expect(await attempt(newcomer)).toBe(false);
      expect(newcomer.tokenHash).toBeUndefined();
      refusals++;
      await lock.release();
      expect((await checkDatabase(connection.path, survey, [halfway])).problems).toEqual([]);
      // The lock gone, the same page is taken.
      expect(await attempt(halfway, { pages: 4 + cycle })).toBe(true);
    }
    expect(await attempt(halfway)).toBe(true);
    const after = await checkDatabase(connection.path, survey, [halfway]);
    expect(after.problems).toEqual([]);
    expect(storageErrors.every((code) => code.startsWith('SQLITE_BUSY'))).toBe(true);

    recordFault('locked', {
      fault: 'Database locked by another process',
      injected: `${cycles} times, another OS process held SQLite's write lock (BEGIN IMMEDIATE and an UPDATE) while a respondent saved a page and another pressed Start`,
      cycles,
      acknowledged: 1,
      lost: after.problems.length,
      notes: `${refusals} saves refused with the 503 "try again" page after the ${BUSY_TIMEOUT_MS} ms busy timeout (logged: ${tally(storageErrors)}); pages kept being read; each page was taken once the lock went; integrity_check ok`,
    });
  });
});

describe('a read-only database file', () => {
  it('shows the pages, answers "try again" to every save, and keeps the draft for when it is writable again', async () => {
    const dir = tempDir();
    const path = join(dir, 'soundings.sqlite');
    const writable = await openSqliteDatabase(path);
    const first = await inProcessServer(writable);
    cleanups.push(() => first.app.close());
    const base = { url: first.url };
    const halfway = new Journey(SCRIPTS[2]!, () => base.url);
    expect(await attempt(halfway, { pages: 3 })).toBe(true);

    // The same file, as a server that may not write it sees it: SQLite opens it read-only.
    const readonly = await openSqliteDatabase(path, { readonly: true });
    const second = await inProcessServer(readonly);
    cleanups.push(() => second.app.close());
    base.url = second.url;
    expect(await attempt(halfway, { pages: 4 })).toBe(false);
    expectTryAgain(halfway.lastRefusal);
    const newcomer = new Journey(SCRIPTS[1]!, () => base.url);
    expect(await attempt(newcomer)).toBe(false);
    expect((await send(base.url, 'GET', `/s/${SLUG}`)).status).toBe(200);
    expect((await checkDatabase(path, survey, [halfway])).problems).toEqual([]);

    // Writable again: the respondent carries on from the page that was refused.
    base.url = first.url;
    expect(await attempt(halfway)).toBe(true);
    expect(await attempt(newcomer)).toBe(true);
    const after = await checkDatabase(path, survey, [halfway, newcomer]);
    expect(after.problems).toEqual([]);
    expect(second.storageErrors.every((code) => code.startsWith('SQLITE_READONLY'))).toBe(true);

    recordFault('read-only', {
      fault: 'Read-only database file',
      injected:
        'the server given the file through a read-only SQLite connection (SQLITE_OPEN_READONLY, which is how SQLite opens a file it may not write; as root, file modes cannot make it read-only)',
      cycles: halfway.refusals + newcomer.refusals,
      acknowledged: 2,
      lost: after.problems.length,
      notes: `every save refused with the 503 "try again" page (logged: ${tally(second.storageErrors)}); pages still shown; both respondents finished once the file was writable; integrity_check ok`,
    });
  });
});
