import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import {
  AdminAgent,
  createAccount,
  csrfTokenIn,
  FORM,
  form,
  makeAdminApp,
  type makeApp,
  type TestApp,
} from '../helpers.ts';

// Behind a reverse proxy the client's address comes from X-Forwarded-For,
// which the client can write too: only the entries our own proxies appended
// may be believed. nginx's $proxy_add_x_forwarded_for keeps whatever the
// client sent and appends the address it saw, so the left-most entry is the
// client's to choose.

const PASSWORD = 'a long enough passphrase';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The app as TRUST_PROXY configures it, with a route that says which address it took for the client. */
async function behind(trustProxy: string, options: Parameters<typeof makeApp>[0] = {}) {
  t = await makeAdminApp({ ...options, config: { trustProxy: loadConfig({ TRUST_PROXY: trustProxy }).trustProxy } });
  t.app.get('/client-address', async (request) => request.ip);
  return t;
}

const addressSeen = async (remoteAddress: string, forwardedFor?: string) =>
  (
    await t!.app.inject({
      url: '/client-address',
      remoteAddress,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    })
  ).body;

/** Presses Start through the proxy, with what the client wrote in X-Forwarded-For ahead of the proxy's own entry. */
async function startThroughProxy(app: TestApp['app'], forwardedFor: string) {
  const page = await app.inject({ url: '/s/csp-2019', remoteAddress: '127.0.0.1' });
  const cookie = String(page.headers['set-cookie']).split(';')[0] as string;
  return app.inject({
    method: 'POST',
    url: '/s/csp-2019/start',
    remoteAddress: '127.0.0.1',
    headers: { ...FORM, cookie, 'x-forwarded-for': forwardedFor },
    payload: form({ _csrf: csrfTokenIn(page.body) }),
  });
}

describe('TRUST_PROXY', () => {
  it('with a hop count, takes the address the last proxy saw, whatever the client wrote before it', async () => {
    await behind('1');
    expect(await addressSeen('127.0.0.1', '198.51.100.4, 203.0.113.50')).toBe('203.0.113.50');
    expect(await addressSeen('127.0.0.1', '203.0.113.50')).toBe('203.0.113.50');
    expect(await addressSeen('127.0.0.1')).toBe('127.0.0.1');
    await t!.close();
    // Two proxies (a load balancer, then nginx): the second entry from the right.
    await behind('2');
    expect(await addressSeen('127.0.0.1', '198.51.100.4, 203.0.113.50, 10.0.0.7')).toBe('203.0.113.50');
  });

  it('with a list of proxy addresses, believes only what those proxies wrote', async () => {
    await behind('10.0.0.0/8, 192.168.1.5');
    expect(await addressSeen('10.1.2.3', '198.51.100.4, 203.0.113.50')).toBe('203.0.113.50');
    // Through two of our proxies: both their entries are skipped.
    expect(await addressSeen('192.168.1.5', '198.51.100.4, 203.0.113.50, 10.9.9.9')).toBe('203.0.113.50');
    // A client reaching the app directly cannot pose as anyone.
    expect(await addressSeen('198.51.100.77', '203.0.113.50')).toBe('198.51.100.77');
  });

  it('without it, never reads X-Forwarded-For', async () => {
    await behind('0');
    expect(await addressSeen('198.51.100.77', '203.0.113.50')).toBe('198.51.100.77');
  });

  it('keeps the burst limit on one client who rotates X-Forwarded-For', async () => {
    await behind('1', { respondent: { burst: { flagAfter: 3, refuseAfter: 5, windowMs: 10 * 60_000 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await startThroughProxy(t!.app, `198.51.${i}.${i + 1}, 203.0.113.50`)).statusCode);
    expect(statuses).toEqual([303, 303, 303, 303, 303, 429, 429, 429]);
    const flags = await t!.db.selectFrom('responses').select('flag').execute();
    expect(flags.map((r) => r.flag).sort()).toEqual(['burst', 'burst', null, null, null]);
  });

  it('keeps the sign-in limit on one client who rotates X-Forwarded-For', async () => {
    await behind('1');
    await createAccount(t!.db, 'admin@council.example', 'admin', PASSWORD);
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const agent = new AdminAgent(t!.app, { 'x-forwarded-for': `198.51.${i}.9, 203.0.113.50` });
      statuses.push((await agent.login(`guess-${i}@council.example`, 'not the password')).statusCode);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(422));
    expect(statuses.slice(20)).toEqual([429, 429]);
  });
});
