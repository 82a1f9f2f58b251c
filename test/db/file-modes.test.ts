import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase } from '../../src/db/open.ts';

// The database holds the answers and the admin accounts' hashes: like the
// cookie secret beside it, none of its files may be read by other users.

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a new SQLite database', () => {
  it('is created readable and writable by its owner only, with its write-ahead log and shared memory', async () => {
    dir = mkdtempSync(join(tmpdir(), 'soundings-modes-'));
    const path = join(dir, 'data', 'soundings.sqlite');
    // The usual umask, which would leave new files readable by everyone.
    const umask = process.umask(0o022);
    try {
      const connection = await openSqliteDatabase(path);
      try {
        await connection.db.insertInto('shared_secrets').values({ name: 'probe', value: 'x' }).execute();
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          expect(existsSync(file), file).toBe(true);
          expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
        }
      } finally {
        await connection.db.destroy();
      }
    } finally {
      process.umask(umask);
    }
  });
});
