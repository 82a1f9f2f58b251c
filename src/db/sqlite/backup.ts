import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';

/** What a backup wrote. */
export interface BackupResult {
  file: string;
  bytes: number;
  responses: number;
}

/** Pages per backup step: all of them, so the copy is taken in one read transaction (2^31 - 1). */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies a live database with SQLite's online backup API. The copy is made
 * in one step, under one read transaction: it is the database as it was at
 * one instant, while the server goes on reading and writing (in WAL mode a
 * reader never blocks a writer). It goes to a temporary file beside the
 * target, is checked (integrity_check), switched to a self-contained file (no
 * -wal or -shm needed beside it), flushed to disk, and only then renamed into
 * place: a failed backup never leaves a half-copy under the name given.
 */
export async function backupDatabase(source: SQLite.Database, target: string): Promise<BackupResult> {
  const file = resolve(target);
  if (file === resolve(source.name)) throw new Error('the backup must not be the database itself');
  const dir = dirname(file);
  if (!existsSync(dir)) throw new Error(`there is no folder ${dir}`);
  const temporary = `${dir}/.${basename(file)}.partial-${process.pid}`;
  const removeTemporary = () => {
    for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${temporary}${suffix}`, { force: true });
  };
  removeTemporary();
  try {
    await source.backup(temporary, { progress: () => ALL_PAGES });
    const copy = new SQLite(temporary, { fileMustExist: true });
    let responses: number;
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`);
      copy.pragma('journal_mode = DELETE');
      responses = Number(copy.prepare('select count(*) from responses').pluck().get());
    } finally {
      copy.close();
    }
    fsyncFile(temporary);
    renameSync(temporary, file);
    fsyncFile(dir);
    return { file, bytes: statSync(file).size, responses };
  } catch (err) {
    removeTemporary();
    throw err;
  }
}

function fsyncFile(path: string) {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
