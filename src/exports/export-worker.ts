// A worker thread that makes exports (see in-worker.ts), one at a time: for
// each it opens the database read-only on its own connection, writes the
// export, and sends it back over the job's own port in chunks, never more
// than a few ahead of what the download has taken. Between exports it waits,
// its modules loaded, for the next.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Writable } from 'node:stream';
import { type MessagePort, parentPort } from 'node:worker_threads';
import { openDatabase } from '../db/open.ts';
import type { DatabaseConfig } from '../db/url.ts';
import { defineSurvey } from '../survey/definition.ts';
import { type ExportJob, ownExportConnection, sendableError, writeExport } from './export-job.ts';

/** One export, sent to the worker with the port its chunks go back on. */
export interface WorkerJob {
  database: DatabaseConfig;
  /** The survey's definition (surveyDefinition), validated again here. */
  survey: unknown;
  job: ExportJob;
  /** Chunks sent and not yet taken by the download, at most. */
  window: number;
  port: MessagePort;
}

/** Messages on a job's port, to the request's thread. */
export type FromWorker =
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'done' }
  | { type: 'error'; error: ReturnType<typeof sendableError> };

/** Messages from it: `taken` chunks were passed on to the download. */
export type ToWorker = { type: 'taken'; count: number };

/**
 * How much lower this thread's scheduling priority is than the respondents'
 * (Linux nice): when both want the CPU, respondents' pages come first.
 */
export const EXPORT_NICENESS = 10;

if (!parentPort) throw new Error('export-worker.ts runs as a worker thread');

// Linux schedules each thread on its own: this one gives way to the request thread.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, EXPORT_NICENESS);
} catch {
  // Not Linux, or not allowed: the export runs at the normal priority.
}

async function run({ database, survey, job, window, port }: WorkerJob) {
  let sent = 0;
  let taken = 0;
  let wake: (() => void) | undefined;
  port.on('message', (message: ToWorker) => {
    if (message.type !== 'taken') return;
    taken += message.count;
    wake?.();
    wake = undefined;
  });
  /** Sends one chunk, after waiting while `window` chunks are still on their way. */
  const send = async (chunk: Buffer) => {
    while (sent - taken >= window) await new Promise<void>((resolve) => (wake = resolve));
    // Transfer the memory rather than copy it; a chunk sharing Buffer's pool is copied out first.
    const own = chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length;
    const bytes = own ? new Uint8Array(chunk.buffer as ArrayBuffer) : new Uint8Array(chunk);
    sent++;
    port.postMessage({ type: 'chunk', bytes } satisfies FromWorker, [bytes.buffer]);
  };
  const out = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, done) {
      send(chunk).then(() => done(), done);
    },
  });
  try {
    const connection = await openDatabase(database, { readonly: true, migrate: false });
    const { db } = connection;
    try {
      await writeExport(db, defineSurvey(survey), job, out, ownExportConnection(connection));
    } finally {
      await db.destroy();
    }
    port.postMessage({ type: 'done' } satisfies FromWorker);
  } catch (error) {
    port.postMessage({ type: 'error', error: sendableError(error) } satisfies FromWorker);
  }
  // The request's thread closes the port once it has the last message.
}

parentPort.on('message', (job: WorkerJob) => {
  void run(job);
});
