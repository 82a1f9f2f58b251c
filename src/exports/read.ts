import { Worker } from 'node:worker_threads';
import { type Kysely, sql } from 'kysely';
import { type Filters, filteredResponseIds } from '../analysis/filters.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import type { ExportRow } from './record.ts';
import { receivedError, type SentError } from './thread-errors.ts';

/** Rows handed to an export at a time, and fetched at a time from PostgreSQL's cursor. */
export const EXPORT_BATCH = 2000;

/**
 * Rows as the SQLite reader thread packs them (sqlite-reader.mjs): for each
 * row, each of ExportRow's six columns in order (id, status, channel,
 * started_at, submitted_at, answers) as the length of its UTF-8 bytes (32
 * bits, little-endian) and then the bytes; a null is empty. Sent as memory,
 * not copied, and written as CSV from the bytes (see csv-bytes.ts).
 */
export class PackedRows {
  constructor(readonly bytes: Buffer) {}

  /** The rows as objects, one at a time. */
  *rows(): Generator<ExportRow> {
    const bytes = this.bytes;
    let at = 0;
    const field = (): string => {
      const length = bytes.readUInt32LE(at);
      at += 4 + length;
      return bytes.toString('utf8', at - length, at);
    };
    while (at < bytes.length) {
      const id = field();
      const status = field() as ExportRow['status'];
      const channel = field();
      const started_at = field();
      const submitted_at = field() || null;
      yield { id, status, channel, started_at, submitted_at, answers: field() };
    }
  }
}

/** A batch of an export's rows: objects, or packed by the SQLite reader thread. */
export type RowBatch = readonly ExportRow[] | PackedRows;

/** The rows of a batch, as objects. */
export function rowsOf(batch: RowBatch): Iterable<ExportRow> {
  return batch instanceof PackedRows ? batch.rows() : batch;
}

/** The query every export reads: the filters' responses, only the columns an export needs, oldest first. */
export function exportQuery(db: Kysely<Database>, survey: Survey, filters: Filters) {
  return (
    filteredResponseIds(db, survey, filters)
      .clearSelect()
      .select([
        'responses.id',
        'responses.status',
        'responses.channel',
        'responses.started_at',
        'responses.submitted_at',
        'responses.answers',
      ])
      // Sorted, not walked in the order of the index on (survey, started_at): that visits rows wherever they lie,
      // and for a whole survey costs more than one sort (bench/RESULTS.md); an expression has no index.
      .orderBy(sql`${sql.ref('responses.started_at')} || ''`)
      .orderBy('responses.id')
  );
}

export interface ReadOptions {
  /** Rows in a batch read here (a batch from the reader thread is about READ_BATCH_BYTES). */
  size?: number;
  /**
   * The SQLite file the export has a connection of its own to: the rows are
   * then read by a thread of their own (sqlite-reader.mjs), with a page cache
   * of `cacheKib` KiB, while this thread writes them.
   */
  sqlite?: { file: string; cacheKib: number };
}

/**
 * The survey's responses under the filters, oldest first, streamed from the
 * database in batches: memory stays flat however many there are, and the
 * filtering and sorting happen in the one query.
 */
export async function* responseBatches(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  { size = EXPORT_BATCH, sqlite }: ReadOptions = {},
): AsyncGenerator<RowBatch> {
  const query = exportQuery(db, survey, filters).compile();
  if (sqlite && sqlite.file !== ':memory:') {
    yield* readInThread(sqlite.file, query.sql, query.parameters, sqlite.cacheKib);
    return;
  }
  // The executor's stream, not the query builder's: that one hands on each row through one more async generator.
  let batch: ExportRow[] = [];
  for await (const { rows } of db.getExecutor().stream<ExportRow>(query, size)) {
    // PostgreSQL's cursor gives whole batches; SQLite's driver one row at a time.
    if (batch.length === 0 && rows.length >= size) {
      yield rows;
      continue;
    }
    for (const row of rows) batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Bytes of packed rows the reader thread sends at a time, and how many batches may be on their way at once. */
const READ_BATCH_BYTES = 1024 * 1024;
const READ_WINDOW = 2;

/** The reader thread: plain JavaScript, so it starts without tsx. */
const READER_FILE = new URL('./sqlite-reader.mjs', import.meta.url);

/** Reader threads alive in this thread (see readInThread). */
let readers = 0;
export function readerThreads(): number {
  return readers;
}

type ReaderMessage =
  | { type: 'batch'; memory: ArrayBuffer; length: number }
  | { type: 'done' }
  | { type: 'error'; error: SentError };

/**
 * The rows of a compiled query, read from an SQLite file by a thread of
 * their own and packed (see PackedRows): SQLite's sort and its rows made
 * into values run there, beside the writing here. Stopping early (return or
 * an error) stops the thread.
 */
async function* readInThread(
  file: string,
  sql: string,
  parameters: readonly unknown[],
  cacheKib: number,
): AsyncGenerator<PackedRows> {
  const reader = new Worker(READER_FILE, {
    workerData: { path: file, sql, parameters, cacheKib, batchBytes: READ_BATCH_BYTES, window: READ_WINDOW },
    execArgv: [],
  });
  readers++;
  const arrived: { memory: ArrayBuffer; length: number }[] = [];
  let finished = false;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const woken = () => {
    wake?.();
    wake = undefined;
  };
  reader.on('message', (message: ReaderMessage) => {
    if (message.type === 'batch') arrived.push(message);
    else if (message.type === 'done') finished = true;
    else failed = receivedError(message.error);
    woken();
  });
  reader.on('error', (error) => {
    failed ??= error;
    woken();
  });
  reader.on('exit', (code) => {
    readers--;
    if (!finished) failed ??= new Error(`the export's reader stopped before it was finished (exit code ${code})`);
    woken();
  });
  try {
    for (;;) {
      const batch = arrived.shift();
      if (batch) {
        yield new PackedRows(Buffer.from(batch.memory, 0, batch.length));
        // Written: its memory goes back to the reader for the next batch.
        reader.postMessage(batch.memory, [batch.memory]);
      } else if (failed) throw failed;
      else if (finished) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await reader.terminate();
  }
}
