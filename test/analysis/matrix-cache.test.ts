import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { matrixFor, warmMatrices } from '../../src/analysis/matrix-cache.ts';
import { cspSurvey, makeApp, makeFixtureApp, Respondent, type TestApp } from '../helpers.ts';

const survey = cspSurvey();
let t: TestApp;

beforeAll(async () => {
  t = await makeFixtureApp();
});
afterAll(() => t.close());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordingLog() {
  const info = vi.fn();
  const error = vi.fn();
  return { log: { info, error } as unknown as FastifyBaseLogger, info, error };
}

async function answerOnce() {
  const r = new Respondent(t.app);
  await r.start();
  await r.answer('area', { area: 'gravesham' });
}

describe('the response matrix kept between requests', () => {
  it('is built in the background at start, so the first analysis request finds it ready', async () => {
    const other = await makeFixtureApp();
    try {
      const { log, info, error } = recordingLog();
      await warmMatrices(other.db, [survey], log);
      expect(error).not.toHaveBeenCalled();
      expect(info).toHaveBeenCalledWith(
        expect.objectContaining({ survey: 'csp-2019', responses: 420 }),
        'response matrix built',
      );
      const warmed = await matrixFor(other.db, survey);
      expect(warmed.size).toBe(420);
      // The one the warm-up built, not a second build.
      expect(await matrixFor(other.db, survey)).toBe(warmed);
      expect(warmed.builtAt).toBeLessThanOrEqual(Date.now());
    } finally {
      await other.close();
    }
  });

  it('builds nothing once the server is closing, and says why when a build fails', async () => {
    const closing = new AbortController();
    closing.abort();
    const quiet = recordingLog();
    await warmMatrices(t.db, [survey], quiet.log, closing.signal);
    expect(quiet.info).not.toHaveBeenCalled();

    const gone = await makeApp();
    await gone.close();
    const failing = recordingLog();
    await warmMatrices(gone.db, [survey], failing.log);
    expect(failing.info).not.toHaveBeenCalled();
    expect(failing.error).toHaveBeenCalledWith(
      expect.objectContaining({ survey: 'csp-2019' }),
      expect.stringMatching(/building the response matrix failed/),
    );
  });

  it('is rebuilt once the responses change, and left as it is while they do not', async () => {
    const first = await matrixFor(t.db, survey);
    expect(await matrixFor(t.db, survey)).toBe(first);
    await answerOnce();
    // Built a moment ago: the stale one is still served for a while (ten build times), then rebuilt.
    await pause(Math.ceil(first.buildMs * 10) + 5);
    const second = await matrixFor(t.db, survey);
    expect(second).not.toBe(first);
    expect(second.size).toBe(first.size + 1);
    expect(second.version).toBeGreaterThan(first.version);
  });

  it('serves the matrix in hand while a slow rebuild runs behind it, then the rebuilt one', async () => {
    const first = await matrixFor(t.db, survey);
    await answerOnce();
    await pause(Math.ceil(first.buildMs * 10) + 5);
    // As if every build were too slow to wait for: the stale matrix comes back at once, the rebuild starts.
    const slow = { waitForRebuildMs: -1 };
    expect(await matrixFor(t.db, survey, slow)).toBe(first);
    expect(await matrixFor(t.db, survey, slow)).toBe(first);
    // A caller that waits for rebuilds gets the one in progress, with the new response.
    const rebuilt = await matrixFor(t.db, survey);
    expect(rebuilt).not.toBe(first);
    expect(rebuilt.size).toBe(first.size + 1);
    expect(await matrixFor(t.db, survey, slow)).toBe(rebuilt);
  });
});
