import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { CompiledQuery, DatabaseConnection, Kysely } from 'kysely';
import { type Filters, filteredResponseIds } from '../analysis/filters.ts';
import type { Database, ResponseRow } from '../db/schema.ts';
import { storedAnswers } from '../responses/stored-journey.ts';
import type { Survey } from '../survey/definition.ts';
import { routeAnswers, type Values } from '../survey/journey.ts';
import { receivedError, type SentError } from './thread-errors.ts';

/** The columns of the response record (csp-2019.md, "Response record"), in order. */
export function recordColumns(survey: Survey): string[] {
  return ['response_id', 'status', 'channel', 'started_at', 'submitted_at', ...survey.questionIds];
}

/** What an export reads of a response: the record's first columns and the stored answers. */
export type ExportRow = Pick<ResponseRow, 'id' | 'status' | 'channel' | 'started_at' | 'submitted_at' | 'answers'>;

/**
 * The values on a response's route. A complete response stores only its
 * route's answers, already tidied, so they are merged as they are; a draft
 * may also keep answers for later pages, so the journey picks its route.
 */
export function routeValues(survey: Survey, row: Pick<ResponseRow, 'status' | 'answers'>): Values {
  const answers = storedAnswers(row.answers);
  if (row.status !== 'complete') return routeAnswers(survey, answers).values;
  const values: Values = {};
  for (const page of Object.values(answers)) Object.assign(values, page);
  return values;
}

/** The record's first columns: what the response is, before its answers. */
export function recordHead(row: ExportRow): Record<string, string> {
  return {
    response_id: row.id,
    status: row.status,
    channel: row.channel,
    started_at: row.started_at,
    submitted_at: row.submitted_at ?? '',
  };
}

/** Rows handed to an export at a time, and fetched at a time from PostgreSQL's cursor. */
export const EXPORT_BATCH = 2000;

/** The query every export reads: the filters' responses, only the columns an export needs, oldest first. */
function exportQuery(db: Kysely<Database>, survey: Survey, filters: Filters) {
  return filteredResponseIds(db, survey, filters)
    .clearSelect()
    .select([
      'responses.id',
      'responses.status',
      'responses.channel',
      'responses.started_at',
      'responses.submitted_at',
      'responses.answers',
    ])
    .orderBy('responses.started_at')
    .orderBy('responses.id');
}

/**
 * One of the pool's connections, held until `release` (as Kysely's .stream()
 * holds one while it streams).
 */
async function heldConnection(db: Kysely<Database>): Promise<{ connection: DatabaseConnection; release: () => void }> {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const connection = await new Promise<DatabaseConnection>((resolve, reject) => {
    db.getExecutor()
      .provideConnection(async (held) => {
        resolve(held);
        await released;
      })
      .catch(reject);
  });
  return { connection, release };
}

/**
 * The survey's responses under the filters, oldest first, streamed from the
 * database in batches of about EXPORT_BATCH rows, so memory stays flat
 * however many there are, filtered and sorted in the one query.
 *
 * The rows come straight from the driver's connection, gathered into arrays:
 * Kysely's .stream() hands each row on through three async generators (the
 * driver's, the executor's, the query builder's), a quarter of the time of a
 * CSV export of a million rows. (That also leaves out Kysely plugins'
 * transformResult: the app installs none.)
 */
export async function* exportBatches(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  size = EXPORT_BATCH,
): AsyncGenerator<ExportRow[]> {
  const query = exportQuery(db, survey, filters).compile();
  const { connection, release } = await heldConnection(db);
  try {
    let batch: ExportRow[] = [];
    for await (const { rows } of connection.streamQuery<ExportRow>(query, size)) {
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
  } finally {
    release();
  }
}

/** Each question's column in a record (see recordColumns), and a blank record, worked out once per survey. */
interface Layout {
  /** The columns' ids, in order. */
  ids: readonly string[];
  /** The columns' ids as UTF-8, to match the stored answers' keys without making strings of them. */
  keys: readonly Uint8Array[];
  columns: ReadonlyMap<string, number>;
  blank: readonly string[];
}
const layouts = new WeakMap<Survey, Layout>();
function layoutOf(survey: Survey): Layout {
  let layout = layouts.get(survey);
  if (!layout) {
    const ids = recordColumns(survey);
    layout = {
      ids,
      keys: ids.map((id) => Buffer.from(id)),
      columns: new Map(ids.map((id, i) => [id, i])),
      blank: ids.map(() => ''),
    };
    layouts.set(survey, layout);
  }
  return layout;
}

/** Columns before the answers: response_id, status, channel, started_at, submitted_at. */
const HEAD = 5;

/**
 * One response as a record's cells, in recordColumns order: codes,
 * multi-choice joined with `;` in the order stored (codebook order), blanks
 * empty (routeValues; the CSV writer reads a complete response's stored
 * answers straight from their JSON text instead, to the same effect).
 */
export function recordCells(survey: Survey, row: ExportRow): string[] {
  const { columns, blank } = layoutOf(survey);
  const cells = blank.slice();
  cells[0] = row.id;
  cells[1] = row.status;
  cells[2] = row.channel;
  cells[3] = row.started_at;
  cells[4] = row.submitted_at ?? '';
  const values = routeValues(survey, row);
  for (const [id, value] of Object.entries(values)) {
    const at = columns.get(id);
    if (at !== undefined && at >= HEAD) cells[at] = Array.isArray(value) ? value.join(';') : value;
  }
  return cells;
}

/**
 * A cell as a spreadsheet may safely read it: text starting with = + - @, tab
 * or carriage return would be run as a formula by Excel, so it gets a leading
 * apostrophe (OWASP's advice for CSV injection).
 */
export function neutralise(cell: string): string {
  return RUNS_AS_FORMULA[cell.charCodeAt(0)] ? `'${cell}` : cell;
}

const QUOTE = 34;
const APOSTROPHE = 39;
const COLON = 58;
const SEMICOLON = 59;
const COMMA = 44;
const LINE_FEED = 10;
const CARRIAGE_RETURN = 13;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const BACKSLASH = 92;

/** First characters (as char codes, the same as their UTF-8 bytes) that neutralise prefixes: = + - @ tab CR. */
const RUNS_AS_FORMULA = new Uint8Array(128);
for (const c of '=+-@\t\r') RUNS_AS_FORMULA[c.charCodeAt(0)] = 1;

/** Characters (char codes, the same as their UTF-8 bytes) that make a CSV field need quotes: " , LF CR. */
const NEEDS_QUOTES = new Uint8Array(128);
for (const c of '",\n\r') NEEDS_QUOTES[c.charCodeAt(0)] = 1;

/** One CSV field, neutralised, quoted when it holds a comma, quote or line break (as csv-stringify does). */
export function csvCell(cell: string): string {
  const length = cell.length;
  if (length === 0) return cell;
  const safe = neutralise(cell);
  for (let i = 0; i < length; i++) {
    const c = cell.charCodeAt(i);
    if (c < 128 && NEEDS_QUOTES[c]) return `"${safe.replaceAll('"', '""')}"`;
  }
  return safe;
}

/** One CSV line, `\n`-terminated. */
export function csvLine(cells: readonly string[]): string {
  let line = csvCell(cells[0] ?? '');
  for (let i = 1; i < cells.length; i++) line += `,${csvCell(cells[i] as string)}`;
  return `${line}\n`;
}

/** The byte order mark that tells Excel a CSV file is UTF-8. */
export const BOM = '\uFEFF';

/** How many bytes of CSV are gathered into each chunk written: one write, not thousands. */
export const CHUNK_BYTES = 64 * 1024;

/** A value of several codes, stored as "a","b": written joined with `;`. */
const SEVERAL = 1;
/** A value that holds a comma or a line break: written in quotes. */
const QUOTED = 2;
/** A value that holds a quote: written doubled, in quotes. */
const HAS_QUOTE = 4;

/** The length at `at`, 32 bits little-endian, of a packed field (see CsvWriter). */
function lengthAt(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) +
    (bytes[at + 3] as number) * 0x1000000
  );
}

const COMPLETE = Buffer.from('complete');

/**
 * Writes response records as CSV bytes into chunks of about CHUNK_BYTES.
 *
 * It reads each response packed as bytes: for each of the six columns of
 * ExportRow in order (id, status, channel, started_at, submitted_at,
 * answers), the length of its UTF-8 bytes (32 bits, little-endian), then the
 * bytes; submitted_at is empty when there is none. sqlite-reader.mjs sends
 * rows packed so; a row read here is packed first (record()).
 *
 * A complete response's stored answers (JSON of page → question → code or
 * codes, as JSON.stringify wrote it) are copied from those bytes into the
 * record without making a string of each value: the same cells as
 * recordCells (each value found by its question's id, a later page winning as
 * Object.assign would, codes joined with `;`), neutralised and quoted as
 * csvCell does. It gives up on anything but that plain shape (whitespace, an
 * escape, a number), and on a draft, whose route must be walked: those
 * records are made by recordCells and csvLine.
 */
class CsvWriter {
  private readonly layout: Layout;
  /** A row read here, packed. */
  private packed = Buffer.allocUnsafe(16 * 1024);
  /** Where each column's value lies in the answers being written, from its first byte to the byte after it. */
  private readonly starts: Int32Array;
  /** Where each field of the packed row being written begins and ends (see packedRecord). */
  private readonly fields = new Int32Array(12);
  private readonly ends: Int32Array;
  /** SEVERAL, QUOTED, per column. */
  private readonly kinds: Uint8Array;
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private at = 0;
  /** Chunks filled and not yet taken. */
  private readonly full: Buffer[] = [];

  constructor(private readonly survey: Survey) {
    this.layout = layoutOf(survey);
    const width = this.layout.ids.length;
    this.starts = new Int32Array(width);
    this.ends = new Int32Array(width);
    this.kinds = new Uint8Array(width);
  }

  /** Text as it is (the byte order mark, a header line, a record made by csvLine). */
  text(text: string): void {
    this.room(text.length * 3);
    this.at += this.chunk.write(text, this.at);
    if (this.at >= CHUNK_BYTES) this.finish();
  }

  /** One response's record. */
  record(row: ExportRow): void {
    const fields = [row.id, row.status, row.channel, row.started_at, row.submitted_at ?? '', row.answers];
    let most = 24;
    for (const field of fields) most += field.length * 3;
    if (most > this.packed.length) this.packed = Buffer.allocUnsafe(most);
    const packed = this.packed;
    let at = 0;
    for (const field of fields) {
      const length = packed.write(field, at + 4);
      packed.writeUInt32LE(length, at);
      at += 4 + length;
    }
    this.packedRecord(packed, 0, row);
  }

  /** The records of the responses packed in `batch` (see the class). */
  records(batch: Buffer): void {
    for (let at = 0; at < batch.length; ) at = this.packedRecord(batch, at);
  }

  /** The record of the response packed at `at` (the row itself, if it was read here); returns where the next begins. */
  private packedRecord(packed: Buffer, at: number, row?: ExportRow): number {
    // Where the six fields (id, status, channel, started_at, submitted_at, answers) begin and end.
    const f = this.fields;
    for (let field = 0, p = at; field < 6; field++) {
      f[2 * field] = p + 4;
      p = p + 4 + lengthAt(packed, p);
      f[2 * field + 1] = p;
    }
    const id = f[0] as number;
    const status = f[2] as number;
    const statusEnd = f[3] as number;
    const answers = f[10] as number;
    const next = f[11] as number;
    let complete = statusEnd - status === COMPLETE.length;
    for (let i = 0; complete && i < COMPLETE.length; i++) complete = packed[status + i] === COMPLETE[i];
    if (!complete || !this.find(packed, answers, next)) {
      const text = (field: number) => packed.toString('utf8', f[2 * field], f[2 * field + 1]);
      row ??= {
        id: text(0),
        status: text(1) as ExportRow['status'],
        channel: text(2),
        started_at: text(3),
        submitted_at: text(4),
        answers: text(5),
      };
      this.text(csvLine(recordCells(this.survey, row)));
      return next;
    }
    const width = this.layout.ids.length;
    // Each byte at most twice (a quote doubled), with a comma, quotes and an apostrophe per cell; the line feed.
    this.room((answers - id) * 2 + (next - answers) + width * 4 + 1);
    const out = this.chunk;
    let to = this.at;
    for (let field = 0; field < 5; field++) {
      if (field > 0) out[to++] = COMMA;
      const start = f[2 * field] as number;
      const end = f[2 * field + 1] as number;
      to = cell(packed, start, end, kindOf(packed, start, end), out, to);
    }
    const { starts, ends, kinds } = this;
    for (let column = HEAD; column < width; column++) {
      out[to++] = COMMA;
      const start = starts[column] as number;
      if (start >= 0) to = cell(packed, start, ends[column] as number, kinds[column] as number, out, to);
    }
    out[to++] = LINE_FEED;
    this.at = to;
    if (to >= CHUNK_BYTES) this.finish();
    return next;
  }

  /**
   * Finds each column's value in the stored answers packed at [from, end),
   * or false if they are not the plain shape (see the class).
   */
  private find(json: Buffer, from: number, end: number): boolean {
    const { keys, columns } = this.layout;
    const { starts, ends, kinds } = this;
    const width = keys.length;
    starts.fill(-1);
    if (json[from] !== OPEN_BRACE) return false;
    let i = from + 1;
    if (json[i] === CLOSE_BRACE) return end === i + 1;
    // Answers are stored in route order, mostly the columns' order: the next columns are tried first.
    let guess = HEAD;
    for (;;) {
      // "page":{
      if (json[i] !== QUOTE) return false;
      let close = i + 1;
      for (let c = json[close]; close < end && c !== QUOTE; c = json[++close]) if (c === BACKSLASH) return false;
      if (close >= end || json[close + 1] !== COLON || json[close + 2] !== OPEN_BRACE) return false;
      i = close + 3;
      if (json[i] === CLOSE_BRACE) i++;
      else {
        for (;;) {
          // "question":"code" or "question":["code",…]
          if (json[i] !== QUOTE) return false;
          const name = i + 1;
          let column = -1;
          close = -1;
          for (let k = guess; k < width; k++) {
            const key = keys[k] as Uint8Array;
            const length = key.length;
            let same = 0;
            while (same < length && key[same] === json[name + same]) same++;
            if (same === length && json[name + length] === QUOTE) {
              column = k;
              close = name + length;
              break;
            }
          }
          if (close < 0 || close >= end) {
            close = name;
            for (let c = json[close]; close < end && c !== QUOTE; c = json[++close]) if (c === BACKSLASH) return false;
            if (close >= end) return false;
            column = columns.get(json.toString('utf8', name, close)) ?? -1;
          }
          if (json[close + 1] !== COLON) return false;
          i = close + 2;
          let start: number;
          let kind = 0;
          if (json[i] === QUOTE) {
            start = i + 1;
            for (close = start; close < end; close++) {
              const c = json[close];
              if (c === QUOTE) break;
              if (c === COMMA || c === LINE_FEED || c === CARRIAGE_RETURN) kind = QUOTED;
              else if (c === BACKSLASH) return false;
            }
            if (close >= end) return false;
            i = close + 1;
          } else if (json[i] === OPEN_BRACKET) {
            i++;
            start = i + 1;
            if (json[i] === CLOSE_BRACKET) {
              start = close = i;
              i++;
            } else {
              for (;;) {
                if (json[i] !== QUOTE) return false;
                for (close = i + 1; close < end; close++) {
                  const c = json[close];
                  if (c === QUOTE) break;
                  if (c === COMMA || c === LINE_FEED || c === CARRIAGE_RETURN) kind |= QUOTED;
                  else if (c === BACKSLASH) return false;
                }
                if (close >= end) return false;
                i = close + 1;
                const next = json[i++];
                if (next === CLOSE_BRACKET) break;
                if (next !== COMMA) return false;
                kind |= SEVERAL;
              }
            }
          } else return false;
          // Only the survey's questions are columns; the head's names are not questions.
          if (column >= HEAD) {
            starts[column] = start;
            ends[column] = close;
            kinds[column] = kind;
            guess = column + 1;
          }
          const next = json[i++];
          if (next === CLOSE_BRACE) break;
          if (next !== COMMA) return false;
        }
      }
      const next = json[i++];
      if (next === CLOSE_BRACE) return i === end;
      if (next !== COMMA) return false;
    }
  }

  /** Makes room for `bytes` more in the chunk, starting the next one if they would not fit. */
  private room(bytes: number): void {
    if (this.at + bytes <= this.chunk.length) return;
    this.finish();
    if (bytes > this.chunk.length) this.chunk = Buffer.allocUnsafe(bytes);
  }

  /** Puts the chunk written so far with the full ones, and starts the next. */
  private finish(): void {
    if (this.at === 0) return;
    this.full.push(this.chunk.subarray(0, this.at));
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.at = 0;
  }

  /** The chunks filled so far (with the one being written too, at the end). */
  take(end = false): Buffer[] {
    if (end) this.finish();
    return this.full.splice(0);
  }
}

/** What a field's bytes need to be a CSV cell: QUOTED, HAS_QUOTE (see cell()). */
function kindOf(bytes: Uint8Array, start: number, stop: number): number {
  let kind = 0;
  for (let i = start; i < stop; i++) {
    const c = bytes[i] as number;
    if (c < 128 && NEEDS_QUOTES[c]) kind |= c === QUOTE ? QUOTED | HAS_QUOTE : QUOTED;
  }
  return kind;
}

/**
 * Copies a value's bytes to `out` at `to` as csvCell writes it (SEVERAL
 * codes joined with `;`; an apostrophe before what would run as a formula;
 * in quotes if QUOTED, a quote doubled if HAS_QUOTE) and returns where it ended.
 */
function cell(bytes: Uint8Array, start: number, stop: number, kind: number, out: Uint8Array, to: number): number {
  if (start >= stop) return to;
  if (kind & QUOTED) out[to++] = QUOTE;
  const first = bytes[start] as number;
  if (first < 128 && RUNS_AS_FORMULA[first]) out[to++] = APOSTROPHE;
  if (kind & (SEVERAL | HAS_QUOTE)) {
    for (let i = start; i < stop; i++) {
      const c = bytes[i] as number;
      if (c !== QUOTE) out[to++] = c;
      else if (kind & SEVERAL) {
        // "," between codes
        out[to++] = SEMICOLON;
        i += 2;
      } else {
        out[to++] = QUOTE;
        out[to++] = QUOTE;
      }
    }
  } else for (let i = start; i < stop; i++) out[to++] = bytes[i] as number;
  if (kind & QUOTED) out[to++] = QUOTE;
  return to;
}

/** Bytes of packed rows sent at a time by sqlite-reader.mjs, and how many may be on their way at once. */
const READ_BATCH_BYTES = 1024 * 1024;
const READ_WINDOW = 2;

/** The reader of an SQLite file, in a worker thread (plain JavaScript, no tsx needed). */
const READER_FILE = new URL('./sqlite-reader.mjs', import.meta.url);

/** Reader threads alive in this thread (see readInThread). */
let readers = 0;
export function readerThreads(): number {
  return readers;
}

/**
 * The rows of a compiled SELECT of ExportRow's columns, packed in batches
 * (see CsvWriter), read from an SQLite file by sqlite-reader.mjs in a worker
 * thread: SQLite's sort and its rows made into values run there, beside the
 * writing of the CSV here. Its page cache is `cacheKib` KiB.
 */
async function* readInThread(path: string, query: CompiledQuery, cacheKib: number): AsyncGenerator<Buffer> {
  const reader = new Worker(READER_FILE, {
    workerData: {
      path,
      sql: query.sql,
      parameters: query.parameters,
      cacheKib,
      batchBytes: READ_BATCH_BYTES,
      window: READ_WINDOW,
    },
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
        yield Buffer.from(batch.memory, 0, batch.length);
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

type ReaderMessage =
  | { type: 'batch'; memory: ArrayBuffer; length: number }
  | { type: 'done' }
  | { type: 'error'; error: SentError };

/**
 * SQLite's page cache, in KiB, for the connections that only make exports
 * (the export worker's, the command line's, and the CSV's reader thread):
 * 4 MB rather than 16. An export reads the responses once, in order, and
 * SQLite sorts them by start date in runs the size of the page cache; smaller
 * runs fit the processor's caches: 1M responses sorted with a little less CPU
 * (3.6 s of CPU instead of 3.9 s, measured) in a process 23 MB smaller.
 */
export const EXPORT_CACHE_KIB = 4000;

/** Where an export reads from, when it has a connection of its own. */
export interface ExportSource {
  /**
   * The SQLite file (not `:memory:`): the CSV's rows are then read on a
   * connection of their own in a worker thread (see readInThread).
   */
  sqlitePath?: string;
  /** SQLite's page cache, in KiB, for that connection: EXPORT_CACHE_KIB unless said. */
  cacheKib?: number;
}

/**
 * The survey's responses under the filters as CSV, UTF-8 with a byte order
 * mark, in chunks of about 64 KB, read from the database as they are written
 * so memory does not grow with the number of responses. The first chunk
 * comes once the first responses have been read. Given an SQLite file
 * (`source`, see ownExportConnection in export-job.ts), a reader thread
 * reads them meanwhile; otherwise this thread reads them, on `db`.
 */
export async function* responseRecordChunks(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  source: ExportSource = {},
): AsyncGenerator<Buffer> {
  const writer = new CsvWriter(survey);
  writer.text(BOM + csvLine(recordColumns(survey)));
  if (source.sqlitePath && source.sqlitePath !== ':memory:') {
    const query = exportQuery(db, survey, filters).compile();
    for await (const batch of readInThread(source.sqlitePath, query, source.cacheKib ?? EXPORT_CACHE_KIB)) {
      writer.records(batch);
      yield* writer.take();
    }
  } else {
    for await (const rows of exportBatches(db, survey, filters)) {
      for (const row of rows) writer.record(row);
      yield* writer.take();
    }
  }
  yield* writer.take(true);
}

/** responseRecordChunks as a stream (the command line's export, and tests). */
export function responseRecordCsv(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  source: ExportSource = {},
): Readable {
  return Readable.from(responseRecordChunks(db, survey, filters, source), { objectMode: false });
}

/** The bytes of records as CsvWriter writes them: for tests, beside csvLine(recordCells(…)). */
export function csvRecordBytes(survey: Survey, rows: readonly ExportRow[]): Buffer {
  const writer = new CsvWriter(survey);
  for (const row of rows) writer.record(row);
  return Buffer.concat(writer.take(true));
}
