import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { importResponses } from '../../src/exports/import.ts';
import { recordColumns } from '../../src/exports/record.ts';
import { AdminAgent, createAccount, cspSurvey, csrfTokenIn, makeAdminApp, type TestApp } from '../helpers.ts';
import { snapshotAll } from './security-helpers.ts';

// The import is the one route that takes a large body. Nobody's upload is
// read until they are known to be an admin with the form's token, it is
// streamed to a file rather than held in memory, and whatever arrives, a
// malformed body or hostile field names among them, is answered with a page.

const PASSWORD = 'a long enough passphrase';
const IMPORT = '/admin/surveys/csp-2019/import';
const BOUNDARY = '----soundings-test';
const survey = cspSurvey();

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function withUsers(log?: string[]) {
  t = await makeAdminApp(log ? { config: { logLevel: 'info' }, logStream: { write: (line) => log.push(line) } } : {});
  await createAccount(t.db, 'admin@council.example', 'admin', PASSWORD);
  await createAccount(t.db, 'analyst@council.example', 'analyst', PASSWORD);
  const admin = await new AdminAgent(t.app).signIn('admin@council.example', PASSWORD);
  const analyst = await new AdminAgent(t.app).signIn('analyst@council.example', PASSWORD);
  return { admin, analyst, token: csrfTokenIn((await admin.get(IMPORT)).body) };
}

const part = (name: string, value: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const filePart = (csv: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="responses.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${BOUNDARY}--\r\n`;

/** A large upload made as it is read, counting how much of it the server read. */
function largeUpload(token: string, bytes: number) {
  let sent = 0;
  const head = Buffer.from(
    `${part('_csrf', token)}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`,
  );
  const chunk = Buffer.alloc(64 * 1024, 'a,b,c\n');
  let headSent = false;
  const stream = new Readable({
    read() {
      if (!headSent) {
        headSent = true;
        sent += head.length;
        this.push(head);
        return;
      }
      if (sent >= bytes) {
        this.push(`\r\n--${BOUNDARY}--\r\n`);
        this.push(null);
        return;
      }
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, read: () => sent };
}

const upload = (
  cookie: string,
  payload: string | Buffer | Readable,
  type = `multipart/form-data; boundary=${BOUNDARY}`,
) => t!.app.inject({ method: 'POST', url: IMPORT, headers: { 'content-type': type, cookie }, payload });

describe('the import upload', () => {
  it('is not read before the sender is known to be an admin with the form token', async () => {
    const { admin, analyst, token } = await withUsers();
    const before = await snapshotAll(t!.db);
    const size = 49 * 1024 * 1024;
    for (const [who, cookie, csrf, status, message] of [
      ['nobody', '', token, 403, 'You are not signed in'],
      ['an analyst', analyst.cookieHeader, token, 403, 'You do not have permission to do this'],
      [
        'an admin with a wrong token',
        admin.cookieHeader,
        `${token.slice(0, -4)}AAAA`,
        403,
        'This form could not be accepted',
      ],
    ] as const) {
      const big = largeUpload(csrf, size);
      const res = await upload(cookie, big.stream);
      expect(res.statusCode, who).toBe(status);
      expect(res.body, who).toContain(message);
      // At most what was in flight when the answer was decided: never the file.
      expect(big.read(), who).toBeLessThan(1024 * 1024);
    }
    expect(await snapshotAll(t!.db)).toEqual(before);
  });

  it('answers a malformed multipart body with 400 and a message, logged as a refusal, not an error', async () => {
    const log: string[] = [];
    const { admin } = await withUsers(log);
    const before = await snapshotAll(t!.db);
    for (const [type, body] of [
      ['multipart/form-data', 'garbage'],
      [`multipart/form-data; boundary=${BOUNDARY}`, 'garbage'],
      [
        `multipart/form-data; boundary=${BOUNDARY}`,
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\nabc`,
      ],
      ['multipart/form-data; boundary=', '--\r\n\r\n'],
    ] as const) {
      const res = await upload(admin.cookieHeader, body, type);
      expect(res.statusCode, `${type}: ${body}`).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toMatch(/did not arrive as a whole, well-formed form|not sent as this page sends it/);
    }
    const entries = log.map((line) => JSON.parse(line) as { level: number; msg?: string });
    expect(entries.filter((e) => e.level >= 50)).toEqual([]);
    expect(entries.filter((e) => e.msg === 'import upload refused').length).toBeGreaterThanOrEqual(3);
    expect(await snapshotAll(t!.db)).toEqual(before);
  });

  it('refuses NUL characters and prototype names in multipart field names and values, importing nothing', async () => {
    const { admin, token } = await withUsers();
    const header = recordColumns(survey).join(',');
    const before = await snapshotAll(t!.db);
    for (const [what, parts] of [
      ['__proto__ as a field', part('_csrf', token) + part('__proto__', 'x')],
      ['constructor as a field', part('_csrf', token) + part('constructor', 'x')],
      ['NUL in a field name', part('_csrf', token) + part('no\u0000te', 'x')],
      ['NUL in the token', part('_csrf', `${token}\u0000`)],
      [
        '__proto__ as the file',
        `${part('_csrf', token)}--${BOUNDARY}\r\nContent-Disposition: form-data; name="__proto__"; filename="f.csv"\r\n\r\n${header}\r\n`,
      ],
    ] as const) {
      const res = await upload(admin.cookieHeader, Buffer.from(parts + filePart(`${header}\n`)));
      expect(res.statusCode, what).toBe(400);
      expect(res.body, what).toContain('Nothing was imported');
    }
    expect(await snapshotAll(t!.db)).toEqual(before);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('the import header', () => {
  it('refuses a header of more than 1,000 columns before any row is read, with one clear problem', async () => {
    t = await makeAdminApp();
    const columns = Array.from({ length: 120_000 }, (_, i) => `c${i}`);
    // Rows that would each be a problem, were they read.
    const csv = `${columns.join(',')}\n${'x,x,x\n'.repeat(50)}`;
    const result = await importResponses(t.db, survey, csv);
    expect(result).toEqual({
      ok: false,
      problemCount: 1,
      problems: [
        {
          row: 1,
          column: '',
          message: `the header has 120,000 columns: a response record has ${recordColumns(survey).length}, and at most 1,000 are read`,
        },
      ],
    });
  });

  it('still names every missing, unknown and repeated column of a header under the cap', async () => {
    t = await makeAdminApp();
    const expected = recordColumns(survey);
    const header = [...expected.slice(1), 'surprise', expected[1] as string, ...Array(900).fill('same')];
    const result = await importResponses(t.db, survey, `${header.join(',')}\n`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { row: 1, column: expected[0], message: 'column is missing from the header' },
      { row: 1, column: 'surprise', message: 'is not a column of the response record' },
      { row: 1, column: 'same', message: 'is not a column of the response record' },
      { row: 1, column: expected[1], message: 'column appears twice' },
      { row: 1, column: 'same', message: 'column appears twice' },
    ]);
  });

  it('is refused over HTTP with the message beside the file field', async () => {
    const { admin, token } = await withUsers();
    const csv = `${Array.from({ length: 5_000 }, (_, i) => `c${i}`).join(',')}\n`;
    const res = await upload(admin.cookieHeader, Buffer.from(part('_csrf', token) + filePart(csv)));
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('the header has 5,000 columns');
  });
});
