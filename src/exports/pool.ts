import { createRequire } from 'node:module';
import { PassThrough, Readable } from 'node:stream';
import { MessageChannel } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import type { Piscina } from 'piscina';
import type { Database } from '../db/schema.ts';
import type { DatabaseConfig } from '../db/url.ts';
import type { Survey } from '../survey/definition.ts';
import { type ExportJob, surveyDefinition, writeExport } from './job.ts';
import { receivedError } from './thread-errors.ts';
import type { ExportTask, FromWorker, ToWorker } from './worker.ts';

/** Exports made at once by this process; one more is refused (ExportsBusy) rather than slowing respondents. */
export const MAX_RUNNING_EXPORTS = 2;
/** Chunks (see CHUNK_BYTES) a worker may send ahead of what the download has taken. */
const WINDOW = 8;
/** How long a worker that has finished an export waits, its modules loaded, for the next. */
const IDLE_MS = 120_000;
/**
 * How much lower an export thread's scheduling priority is than the
 * respondents' (Linux nice, per thread): when both want the CPU, pages come first.
 */
export const EXPORT_NICENESS = 10;

/** Too many exports are being made just now: the analyst is asked to try again shortly. */
export class ExportsBusy extends Error {
  constructor() {
    super(`${MAX_RUNNING_EXPORTS} exports are being made already`);
    this.name = 'ExportsBusy';
  }
}

/**
 * The worker's module. Compiled (`npm start` runs dist/), the task's own
 * JavaScript; run as TypeScript (tsx, the tests), an entry that registers tsx first.
 */
const WORKER_FILE = import.meta.url.endsWith('.js')
  ? new URL('./worker.js', import.meta.url)
  : new URL('./worker-entry.mjs', import.meta.url);

let pool: Piscina | undefined;
/** Exports started and not yet finished (every chunk come, the thread free) or stopped. */
let running = 0;

/** Piscina (9 MB of resident memory) is loaded with the first export: respondents never need it. */
function exportPool(): Piscina {
  if (pool) return pool;
  const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as typeof import('piscina');
  pool = new Pool({
    filename: WORKER_FILE.href,
    minThreads: 0,
    maxThreads: MAX_RUNNING_EXPORTS,
    idleTimeout: IDLE_MS,
    niceIncrement: EXPORT_NICENESS,
    // Nothing from this thread's command line: the entry sets up TypeScript itself when it is needed.
    execArgv: [],
  });
  return pool;
}

/** Exports being made now. */
export function runningExports(): number {
  return running;
}

/** Export worker threads alive: making an export, or ready for the next. */
export function exportThreads(): number {
  return pool?.threads.length ?? 0;
}

/** Stops the export threads once their exports are finished (when the app closes). */
export async function closeExportPool(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

export interface ExportRequest {
  /** The app's connection: used only when the database cannot be opened a second time (`:memory:`). */
  db: Kysely<Database>;
  database: DatabaseConfig;
  survey: Survey;
  job: ExportJob;
}

/**
 * Starts an export in a worker thread with its own read-only connection, so
 * the request thread stays free for respondents, and resolves with a stream
 * of it once the first chunk has come: an error before then (the database
 * cannot be opened or read) rejects, with the error's name, message and code,
 * and nothing has been sent yet. Destroying the stream (the download was
 * abandoned) stops the worker; the worker never runs more than a few chunks
 * ahead of what the stream has passed on.
 */
export function startExport(request: ExportRequest): Promise<Readable> {
  const { database, survey, job } = request;
  if (database.engine === 'sqlite' && database.path === ':memory:') return inThisThread(request);
  if (running >= MAX_RUNNING_EXPORTS) return Promise.reject(new ExportsBusy());
  running++;
  let counted = true;
  const release = () => {
    if (counted) running--;
    counted = false;
  };
  const { port1: port, port2 } = new MessageChannel();
  const stop = new AbortController();
  const task = exportPool().run(
    { database, survey: surveyDefinition(survey), job, window: WINDOW, port: port2 } satisfies ExportTask,
    { transferList: [port2], signal: stop.signal },
  );
  /** The task has returned (its thread is free for the next) or failed. */
  let settled = false;
  /** The last message has come: `end`, or an error. */
  let last: 'end' | 'error' | undefined;
  let owed = 0;
  const take = (count: number) => port.postMessage({ type: 'taken', count } satisfies ToWorker);
  const stream = new Readable({
    read() {
      if (owed && !last) take(owed);
      owed = 0;
    },
    destroy(error, done) {
      port.close();
      release();
      // Abandoned part-way: its thread is stopped where it is.
      if (!settled) stop.abort();
      done(error);
    },
  });
  return new Promise<Readable>((resolve, reject) => {
    let started = false;
    const begin = () => {
      if (started) return;
      started = true;
      resolve(stream);
    };
    const fail = (error: Error) => {
      last = 'error';
      if (started) return void stream.destroy(error);
      port.close();
      release();
      if (!settled) stop.abort();
      reject(error);
    };
    // The stream ends once every chunk has come and the thread is free, so the next export can have it.
    const finish = () => {
      if (last !== 'end' || !settled || stream.destroyed) return;
      port.close();
      release();
      stream.push(null);
      begin();
    };
    port.on('message', (message: FromWorker) => {
      if (message.type === 'chunk') {
        const { bytes } = message;
        if (stream.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) take(1);
        else owed++;
        begin();
      } else if (message.type === 'end') {
        last = 'end';
        finish();
      } else fail(receivedError(message.error));
    });
    // The task's result and the port's messages come by different channels, in either order.
    task.then(
      () => {
        settled = true;
        finish();
      },
      (error: Error) => {
        settled = true;
        // Stopped by destroy(), or the thread failed (it could not load, or it exited).
        if (last === 'end') finish();
        else if (!last && !stream.destroyed) fail(error);
      },
    );
  });
}

/** The same export on the app's own connection (an in-memory database cannot be opened again). */
async function inThisThread({ db, survey, job }: ExportRequest): Promise<Readable> {
  const out = new PassThrough();
  writeExport(db, survey, job, out).catch((error: unknown) => out.destroy(error as Error));
  return out;
}
