// The task of an export worker thread (run by the pool, see pool.ts): it
// opens the database read-only on a connection of its own, writes the export
// and sends it over the task's port in chunks, never more than `window` ahead
// of what the download has taken.
import { Writable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { openDatabase } from '../db/open.ts';
import type { DatabaseConfig } from '../db/url.ts';
import { defineSurvey } from '../survey/definition.ts';
import { type ExportJob, ownExportConnection, writeExport } from './job.ts';
import { type SentError, sendableError } from './thread-errors.ts';

/** One export, as the pool hands it to a worker. */
export interface ExportTask {
  database: DatabaseConfig;
  /** The survey's definition (surveyDefinition), validated again here. */
  survey: unknown;
  job: ExportJob;
  /** Chunks sent and not yet taken by the download, at most. */
  window: number;
  /** Where the chunks go (transferred with the task). */
  port: MessagePort;
}

/** Messages on a task's port, to the thread that asked for the export; `end` or `error` is the last. */
export type FromWorker = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' } | { type: 'error'; error: SentError };

/** Messages from it: `taken` chunks were passed on to the download. */
export type ToWorker = { type: 'taken'; count: number };

export default async function runExport({ database, survey, job, window, port }: ExportTask): Promise<void> {
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
    // Transfer the memory rather than copy it; a chunk sharing its memory with others is copied out first.
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
    try {
      await writeExport(connection.db, defineSurvey(survey), job, out, ownExportConnection(connection));
    } finally {
      await connection.db.destroy();
    }
    port.postMessage({ type: 'end' } satisfies FromWorker);
  } catch (error) {
    // Sent rather than thrown: an error crossing threads as a task's failure loses its code.
    port.postMessage({ type: 'error', error: sendableError(error) } satisfies FromWorker);
  }
  // The other thread closes the port once it has the last message.
}
