import { PassThrough, Readable } from 'node:stream';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { DatabaseConfig } from '../db/url.ts';
import type { Survey } from '../survey/definition.ts';
import { type ExportJob, receivedError, surveyDefinition, writeExport } from './export-job.ts';
import type { FromWorker, ToWorker, WorkerJob } from './export-worker.ts';

/** Exports made at once by this process; one more is refused (ExportsBusy) rather than slowing respondents. */
export const MAX_RUNNING_EXPORTS = 2;
/** Chunks (about 64 KB each) a worker may send ahead of what the download has taken. */
const WINDOW = 8;
/** How long a worker that has finished an export waits, ready, for the next one. */
const IDLE_MS = 120_000;

/** Too many exports are being made just now: the analyst is asked to try again shortly. */
export class ExportsBusy extends Error {
  constructor() {
    super(`${MAX_RUNNING_EXPORTS} exports are being made already`);
    this.name = 'ExportsBusy';
  }
}

/**
 * The worker's first module. Compiled (`npm start` runs dist/), it is the
 * worker's own JavaScript; run as TypeScript (tsx, the tests), an entry that
 * registers tsx first.
 */
const WORKER_FILE = import.meta.url.endsWith('.js')
  ? new URL('./export-worker.js', import.meta.url)
  : new URL('./worker-entry.mjs', import.meta.url);

/** Workers making an export now. */
const busy = new Set<Worker>();
/** A worker that finished its export, kept with its modules loaded for the next (starting one takes a second). */
let idle: { worker: Worker; timer: NodeJS.Timeout } | undefined;

/** Exports being made now. */
export function runningExports(): number {
  return busy.size;
}

/** Export worker threads alive: making an export, or ready for the next. */
export function exportThreads(): number {
  return busy.size + (idle ? 1 : 0);
}

/** Stops the worker kept ready (when the app closes). */
export async function stopIdleExportWorker(): Promise<void> {
  const kept = idle;
  idle = undefined;
  if (kept) {
    clearTimeout(kept.timer);
    await kept.worker.terminate();
  }
}

function takeWorker(): Worker {
  if (idle) {
    const { worker, timer } = idle;
    idle = undefined;
    clearTimeout(timer);
    worker.ref();
    return worker;
  }
  const worker = new Worker(WORKER_FILE, {
    // Nothing from this thread's command line: the entry sets up TypeScript itself when it is needed.
    execArgv: [],
  });
  worker.once('exit', () => {
    busy.delete(worker);
    if (idle?.worker === worker) stopIdleExportWorker();
  });
  // A worker that fails outside any export (its modules would not load) is reported through the export's port closing.
  worker.on('error', () => {});
  return worker;
}

/** After an export: keep the worker ready for the next, unless one is kept already. */
function releaseWorker(worker: Worker) {
  busy.delete(worker);
  if (idle) {
    void worker.terminate();
    return;
  }
  worker.unref();
  idle = { worker, timer: setTimeout(() => void stopIdleExportWorker(), IDLE_MS).unref() };
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
  if (busy.size >= MAX_RUNNING_EXPORTS) return Promise.reject(new ExportsBusy());
  const worker = takeWorker();
  busy.add(worker);
  const { port1: port, port2 } = new MessageChannel();
  worker.postMessage(
    { database, survey: surveyDefinition(survey), job, window: WINDOW, port: port2 } satisfies WorkerJob,
    [port2],
  );
  let owed = 0;
  let finished = false;
  const onExit = (code: number) => {
    if (!finished && !stream.destroyed)
      fail(new Error(`the export stopped before it was finished (exit code ${code})`));
  };
  const take = (count: number) => port.postMessage({ type: 'taken', count } satisfies ToWorker);
  const stream = new Readable({
    read() {
      if (owed && !finished) take(owed);
      owed = 0;
    },
    destroy(error, done) {
      port.close();
      if (finished) return done(error);
      // Abandoned part-way: the worker stops where it is.
      busy.delete(worker);
      worker.terminate().then(
        () => done(error),
        () => done(error),
      );
    },
  });
  let fail: (error: Error) => void = () => {};
  worker.once('exit', onExit);
  return new Promise<Readable>((resolve, reject) => {
    let started = false;
    const begin = () => {
      if (started) return;
      started = true;
      resolve(stream);
    };
    fail = (error: Error) => {
      if (started) stream.destroy(error);
      else {
        finished = true;
        port.close();
        busy.delete(worker);
        void worker.terminate();
        reject(error);
      }
    };
    port.on('message', (message: FromWorker) => {
      if (message.type === 'chunk') {
        const bytes = message.bytes;
        if (stream.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) take(1);
        else owed++;
        begin();
      } else if (message.type === 'done') {
        finished = true;
        port.close();
        stream.push(null);
        worker.off('exit', onExit);
        releaseWorker(worker);
        begin();
      } else if (message.type === 'error') {
        fail(receivedError(message.error));
      }
    });
  });
}

/** The same export on the app's own connection (an in-memory database cannot be opened again). */
async function inThisThread({ db, survey, job }: ExportRequest): Promise<Readable> {
  const out = new PassThrough();
  writeExport(db, survey, job, out).catch((error: unknown) => out.destroy(error as Error));
  return out;
}
