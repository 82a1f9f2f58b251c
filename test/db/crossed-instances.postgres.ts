import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely, Transaction } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { countsDisagreements } from '../../src/analysis/check-counts.ts';
import { connect } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import { newDraftToken } from '../../src/responses/anonymity.ts';
import { runSave, savesDone as saveBatchesDone, startDraft } from '../../src/responses/save-draft.ts';
import { recountSurvey } from '../../src/rollups/index.ts';
import { cspSurvey, freshDatabase } from '../helpers.ts';

// PostgreSQL only (vitest.config.ts includes *.postgres.ts files when
// TEST_DATABASE_URL is set): transactions that take rows the others then want,
// real deadlocks or the makings of one, which SQLite's one writer at a time
// cannot have.

const survey = cspSurvey();
const NOW = new Date('2026-12-01T10:00:00Z');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A promise and the function that keeps it. */
function latch() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/**
 * A new database with two drafts started on it, its first connection (an app
 * instance, with its own save batches), and how to open another.
 */
async function twoDrafts(name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'soundings-crossed-'));
  const database = await freshDatabase(dir, name);
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }), database.drop);
  const another = async () => {
    const db = await connect(database.url);
    cleanups.push(() => db.destroy());
    return db;
  };
  const db = await another();
  const draft = () => startDraft(db, survey, { channel: 'web', tokenHash: newDraftToken().hash, now: NOW });
  return { db, another, x: await draft(), y: await draft() };
}

/** Changes a response's updated_at, which no count depends on: it takes the row's lock. */
const touch = (trx: Transaction<Database>, id: string, at: string) =>
  trx.updateTable('responses').set({ updated_at: at }).where('id', '=', id).execute();

it("settles two instances' transactions that each wait for a draft the other holds: every save stored once", async () => {
  const { db: one, another, x, y } = await twoDrafts('crossed');
  const two = await another();
  const oneHasX = latch();
  const twoHasY = latch();
  const before = (db: Kysely<Database>) => saveBatchesDone(db).transactions;
  const [oneBefore, twoBefore] = [before(one), before(two)];
  // Each instance's first save takes one draft; each second save, once the other instance holds its draft, wants it.
  const results = await Promise.allSettled([
    runSave(one, async (trx) => {
      await touch(trx, x, '2026-12-01T10:01');
      oneHasX.open();
    }),
    runSave(one, async (trx) => {
      await twoHasY.opened;
      await touch(trx, y, '2026-12-01T10:02');
    }),
    runSave(two, async (trx) => {
      await touch(trx, y, '2026-12-01T10:03');
      twoHasY.open();
    }),
    runSave(two, async (trx) => {
      await oneHasX.opened;
      await touch(trx, x, '2026-12-01T10:04');
    }),
  ]);
  expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
    'fulfilled',
    'fulfilled',
    'fulfilled',
    'fulfilled',
  ]);
  // PostgreSQL broke the deadlock by failing one second save; it was put back and ran in a transaction of its own.
  expect(before(one) - oneBefore + (before(two) - twoBefore)).toBe(3);
  const rows = await one.selectFrom('responses').select(['id', 'updated_at']).execute();
  const at = Object.fromEntries(rows.map((r) => [r.id, r.updated_at]));
  // Either way each draft ends as the second save that wanted it left it: the loser ran again last, and the
  // winner's second save waited for the loser's transaction to let its draft go.
  expect(at[x]).toBe('2026-12-01T10:04');
  expect(at[y]).toBe('2026-12-01T10:02');
  expect((await countsDisagreements(one, survey)).differ).toEqual([]);
});

it('lets a recount wait for a transaction of saves that holds one draft and wants another, instead of deadlocking', async () => {
  const { db, x, y } = await twoDrafts('recount_crossed');
  const hasY = latch();
  const goOn = latch();
  const saves = [
    runSave(db, async (trx) => {
      await touch(trx, y, '2026-12-01T10:01');
      hasY.open();
    }),
    runSave(db, async (trx) => {
      await goOn.opened;
      await touch(trx, x, '2026-12-01T10:02');
    }),
  ];
  await hasY.opened;
  // The recount starts while the transaction holds y; locking the responses row by row, it took x and waited for y.
  let recounted = false;
  const recount = recountSurvey(db, survey).then((result) => {
    recounted = true;
    return result;
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(recounted).toBe(false);
  goOn.open();
  const results = await Promise.allSettled([...saves, recount]);
  expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
    'fulfilled',
    'fulfilled',
    'fulfilled',
  ]);
  expect((results[2] as PromiseFulfilledResult<{ responses: number }>).value.responses).toBe(2);
  expect((await countsDisagreements(db, survey)).differ).toEqual([]);
});
