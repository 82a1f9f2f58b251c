/**
 * When two requests touch the same rows at once. On SQLite they cannot: each
 * write transaction takes the database's write lock first (BEGIN IMMEDIATE,
 * see connect.ts), so they run one after the other. On PostgreSQL they can
 * run side by side, on several app instances; the code keeps them correct by
 * locking the row it is about to change before reading it (see drafts.ts),
 * and, where two may insert the same key or a serializable transaction loses
 * a conflict, by running the losing transaction again: the second time, it
 * sees what the winner committed.
 */

/** A transaction that lost a race and changed nothing: a serialization failure or a deadlock (PostgreSQL). */
export function lostRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/** An insert that met a row with the same primary key or unique value (either engine). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** SQLite's "busy": the write lock held too long by another process, or a snapshot another writer overtook. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs a transaction again when it lost a race (and, with `duplicates`, when
 * it met a key another transaction inserted meanwhile; with `busy`, when
 * SQLite found the database busy), up to `attempts` times, with a pause
 * between: short and random, or `pauseMs(attempt)`.
 */
export async function retryRaces<T>(
  work: () => Promise<T>,
  options: { duplicates?: boolean; busy?: boolean; attempts?: number; pauseMs?: (attempt: number) => number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const pauseMs = options.pauseMs ?? ((attempt: number) => Math.random() * 10 * attempt);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const retry =
        lostRace(err) ||
        (options.duplicates === true && isUniqueViolation(err)) ||
        (options.busy === true && isBusy(err));
      if (!retry || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, pauseMs(attempt)));
    }
  }
}
