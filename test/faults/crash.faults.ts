import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import {
  checkDatabase,
  cutOff,
  Journey,
  NotAcknowledged,
  recordFault,
  SCRIPTS,
  ServerProcess,
  sleep,
} from './harness.ts';

/** Kill-and-restart cycles: at least 50 (FAULT_CYCLES may ask for more). */
const CYCLES = Math.max(50, Number(process.env.FAULT_CYCLES ?? 50));
/** Respondents answering at once. */
const WORKERS = 8;

const survey = loadSurveys()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'soundings-crash-'));
const path = join(dir, 'soundings.sqlite');
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

it(`keeps every acknowledged answer through ${CYCLES} SIGKILLs under concurrent submissions`, async () => {
  const journeys: Journey[] = [];
  const busy = new Set<Journey>();
  const problems: string[] = [];
  let base = '';
  server = await ServerProcess.start(path);
  base = server.url;

  /** Carries on a journey a crash interrupted, or starts a new one. */
  const pick = (): Journey => {
    const waiting = journeys.find((j) => !j.finished && !busy.has(j));
    if (waiting && Math.random() < 0.7) return waiting;
    const j = new Journey(SCRIPTS[journeys.length % SCRIPTS.length]!, () => base);
    journeys.push(j);
    return j;
  };

  for (let cycle = 1; cycle <= CYCLES && !problems.length; cycle++) {
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const j = pick();
        busy.add(j);
        try {
          await j.run({ doubleSubmit: Math.random() < 0.2 });
        } catch (err) {
          if (!(err instanceof NotAcknowledged)) problems.push(`cycle ${cycle}: ${String(err)}`);
          await sleep(10);
        } finally {
          busy.delete(j);
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);
    // Kill it at a random moment, with submissions in flight.
    await sleep(200 + Math.random() * 700);
    await server.kill();
    stop = true;
    await Promise.all(workers);

    server = await ServerProcess.start(path);
    base = server.url;
    const found = await checkDatabase(path, survey, journeys);
    problems.push(...found.problems.map((p) => `after kill ${cycle}: ${p}`));
  }

  // A clean stop at the end closes the database as an operator's restart would.
  expect(await server.stop()).toBe(0);
  server = undefined;
  const final = await checkDatabase(path, survey, journeys);
  problems.push(...final.problems.map((p) => `after the final stop: ${p}`));

  const thanked = journeys.filter((j) => j.thanked).length;
  const sent = journeys.filter((j) => j.submitted).length;
  const pages = journeys.reduce((n, j) => n + j.acknowledged, 0);
  recordFault('crash', {
    fault: 'Process crash (SIGKILL) under concurrent submissions',
    injected: `${CYCLES} SIGKILLs of a real server process (the compiled \`node dist/src/server.js\` that \`npm start\` runs) at a random moment 0.2–0.9 s into load from ${WORKERS} concurrent respondents (20% double-clicking Send); restart after each`,
    cycles: CYCLES,
    acknowledged: sent,
    lost: problems.length,
    notes: `${thanked} thank-you pages served, ${sent} sendings and ${pages} page answers acknowledged, ${cutOff.requests} requests cut off mid-flight; ${final.responses} responses stored (${final.complete} complete); integrity_check ok and counts equal to rows after every restart`,
  });
  expect(problems.slice(0, 20)).toEqual([]);
  // The load was real: plenty of responses were sent, and kills cut requests off mid-flight.
  expect(thanked).toBeGreaterThan(CYCLES);
  expect(cutOff.requests).toBeGreaterThan(0);
  // Every complete response was acknowledged, except sendings a kill cut off after their commit.
  const cutOffSendings = journeys.filter((j) => !j.submitted && j.acknowledged === j.script.steps.length).length;
  expect(final.complete).toBeGreaterThanOrEqual(sent);
  expect(final.complete).toBeLessThanOrEqual(sent + cutOffSendings);
});
