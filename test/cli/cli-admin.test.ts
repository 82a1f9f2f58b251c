import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminAgent, runCli as cli, makeAdminApp, type TestApp, testConfig } from '../helpers.ts';

const _root = join(import.meta.dirname, '../..');

let t: TestApp;
let databaseUrl: string;
beforeAll(async () => {
  t = await makeAdminApp();
  databaseUrl = t.databaseUrl;
});
afterAll(async () => {
  await t.close();
});

describe('cli admin', () => {
  it('creates an account from a password on standard input, and it can sign in', async () => {
    const res = await cli(
      ['admin', 'create', '--email', 'Lead@Council.gov.uk', '--role', 'admin'],
      databaseUrl,
      'a piped password with spaces\nsecond line ignored\n',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Created the admin account lead@council.gov.uk');
    expect(res.stdout).not.toContain('piped password');
    const row = await t.db
      .selectFrom('admin_accounts')
      .selectAll()
      .where('email', '=', 'lead@council.gov.uk')
      .executeTakeFirstOrThrow();
    expect(row.role).toBe('admin');
    // Production-strength Argon2id from the command line.
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const agent = await new AdminAgent(t.app).signIn('lead@council.gov.uk', 'a piped password with spaces');
    expect((await agent.get('/admin/accounts')).statusCode).toBe(200);
  });

  it('creates an analyst, who cannot manage accounts', async () => {
    const res = await cli(
      ['admin', 'create', '--email', 'analyst@council.gov.uk', '--role', 'analyst'],
      databaseUrl,
      'analyst password 123\r\n',
    );
    expect(res.code).toBe(0);
    const agent = await new AdminAgent(t.app).signIn('analyst@council.gov.uk', 'analyst password 123');
    expect((await agent.get('/admin/accounts')).statusCode).toBe(403);
  });

  it('resets a password: the old one stops working, the new one works, sessions end', async () => {
    const before = await new AdminAgent(t.app).signIn('lead@council.gov.uk', 'a piped password with spaces');
    const res = await cli(
      ['admin', 'reset-password', '--email', 'LEAD@council.gov.uk'],
      databaseUrl,
      'the brand new password\n',
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Changed the password of lead@council.gov.uk');
    expect((await before.get('/admin')).statusCode).toBe(303);
    expect((await new AdminAgent(t.app).login('lead@council.gov.uk', 'a piped password with spaces')).statusCode).toBe(
      422,
    );
    await new AdminAgent(t.app).signIn('lead@council.gov.uk', 'the brand new password');
  });

  it('lifts the sign-in lock of the account whose password it resets, as the server keeps it', async () => {
    for (let i = 0; i < 5; i++)
      expect((await new AdminAgent(t.app).login('Analyst@council.gov.uk', `wrong ${i}`)).statusCode).toBe(422);
    expect((await new AdminAgent(t.app).login('analyst@council.gov.uk', 'analyst password 123')).statusCode).toBe(429);
    const res = await cli(
      ['admin', 'reset-password', '--email', 'analyst@council.gov.uk'],
      databaseUrl,
      'the analyst password 2\n',
      // The server's cookie secret: the command line finds it as the server does.
      { COOKIE_SECRET: testConfig().cookieSecret as string },
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('it is unlocked');
    await new AdminAgent(t.app).signIn('analyst@council.gov.uk', 'the analyst password 2');
  });

  it('refuses a duplicate, an unknown account, a short or missing password with exit code 1', async () => {
    const before = await t.db.selectFrom('admin_accounts').selectAll().orderBy('email').execute();
    for (const [args, input, message] of [
      [
        ['admin', 'create', '--email', 'lead@council.gov.uk', '--role', 'analyst'],
        'another password 1\n',
        /already an account/,
      ],
      [['admin', 'reset-password', '--email', 'nobody@council.gov.uk'], 'another password 1\n', /no account for/],
      [['admin', 'create', '--email', 'new@council.gov.uk', '--role', 'analyst'], 'short\n', /12 characters or more/],
      [['admin', 'reset-password', '--email', 'lead@council.gov.uk'], '', /no password on standard input/],
    ] as const) {
      const res = await cli([...args], databaseUrl, input);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toContain('Usage:');
    }
    expect(await t.db.selectFrom('admin_accounts').selectAll().orderBy('email').execute()).toEqual(before);
  }, 60_000);

  it('explains a wrong call with the usage and exit code 2', async () => {
    for (const args of [
      ['admin', 'frobnicate'],
      ['admin', 'create', '--role', 'admin'],
      ['admin', 'create', '--email', 'x@council.gov.uk', '--role', 'boss'],
      ['admin', 'create', '--email', 'not-an-email', '--role', 'admin'],
      ['admin', 'reset-password', '--email', 'x@council.gov.uk', '--role', 'admin'],
    ]) {
      const res = await cli(args, databaseUrl, 'a long enough password\n');
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/soundings: .+\n\nUsage:/);
      expect(res.stderr).toContain('admin create --email EMAIL --role admin|analyst');
    }
  }, 60_000);
});
