import { closeSync, fdatasync, openSync } from 'node:fs';

/**
 * Group commit for SQLite in WAL mode with synchronous=NORMAL: a commit is in
 * the write-ahead log (safe from a crash of the process) but not fsynced. This
 * fsyncs the log on libuv's thread pool, one fsync for every commit made
 * before it began, and holds back each writer until its commit is covered.
 * (SQLite's synchronous=FULL differs from NORMAL in WAL mode only by that
 * fsync; checkpoints fsync the log before copying it, so nothing is missed.)
 */
export class WalSync {
  /** Statements that may have written so far; `synced` of them are known to be on disk. */
  private writes = 0;
  private synced = 0;
  private running: Promise<void> | undefined;
  private runningUpTo = 0;
  private queued: Promise<void> | undefined;
  /** fsyncs done: for the tests. */
  fsyncs = 0;
  private fd: number | undefined;
  private closed = false;
  /**
   * The first fsync that failed. After it nothing is acknowledged until the
   * database is opened afresh: Linux may have dropped the failed pages and
   * cleared the error, so a later fsync that succeeds vouches for nothing.
   */
  private failed: Error | undefined;

  /**
   * @param walPath the log file, or undefined where there is nothing to fsync (in memory, read-only).
   * @param flush fs.fdatasync, or a stand-in for the tests.
   */
  constructor(
    private readonly walPath: string | undefined,
    private readonly flush: typeof fdatasync = fdatasync,
  ) {}

  /** Marks a statement that may write: the next durable() waits for an fsync after it. */
  written() {
    this.writes++;
  }

  /** How many writes have been marked so far (compare with a later count to tell whether anything was written). */
  get marked(): number {
    return this.writes;
  }

  /**
   * The fsync running now (settling when it ends, either way), if no other is
   * queued behind it: a write made now would wait for it and then one more.
   */
  get inFlight(): Promise<void> | undefined {
    if (!this.running || this.queued) return undefined;
    return this.running.catch(() => {});
  }

  /** Whether every marked write is known to be on disk. */
  get clean(): boolean {
    return this.synced >= this.writes || this.walPath === undefined;
  }

  /** Resolves once every write marked so far is on disk (rejects, with an SQLITE_IOERR code, if the fsync failed). */
  durable(upTo = this.writes): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.walPath === undefined || this.synced >= upTo) return Promise.resolve();
    if (this.running && this.runningUpTo >= upTo) return this.running;
    // The fsync running may have begun before these writes: queue one more, shared by all who wait now.
    this.queued ??= (this.running ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        if (this.failed) throw this.failed;
        return this.fsync();
      });
    return this.queued;
  }

  /** Closes the log file kept open for the fsyncs, once any fsync running now is done. */
  close() {
    this.closed = true;
    const closeFile = () => {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
    };
    if (this.running) void this.running.catch(() => {}).finally(closeFile);
    else closeFile();
  }

  /** fdatasync of the log, kept open while the database is (SQLite keeps the file, truncating it at most). */
  private async fdatasync(): Promise<void> {
    if (this.fd === undefined) {
      if (this.closed) return;
      try {
        this.fd = openSync(this.walPath as string, 'r');
      } catch (err) {
        // No log file: SQLite removes it only after checkpointing every commit into the (fsynced) database.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw storageError(err);
      }
    }
    const fd = this.fd;
    await new Promise<void>((resolve, reject) =>
      this.flush(fd, (err) => (err ? reject(storageError(err)) : resolve())),
    );
  }

  private fsync(): Promise<void> {
    const target = this.writes;
    const running = this.fdatasync().then(
      () => {
        this.fsyncs++;
        this.synced = Math.max(this.synced, target);
      },
      (err: Error) => {
        this.failed ??= Object.assign(
          new Error(`${err.message}; nothing written since can be acknowledged until the server is restarted`),
          { code: (err as Error & { code?: string }).code },
        );
        throw this.failed;
      },
    );
    this.running = running;
    this.runningUpTo = target;
    void running
      .finally(() => {
        if (this.running === running) this.running = undefined;
      })
      .catch(() => {});
    return running;
  }
}

/** An fsync failure, coded as SQLite codes a failed write, so the respondent gets the "try again" page. */
function storageError(err: unknown): Error {
  const error = new Error(`could not flush the write-ahead log: ${String(err)}`) as Error & { code: string };
  error.code = 'SQLITE_IOERR_FSYNC';
  return error;
}
