// The response record written as bytes: the same CSV as recordCsv in csv.ts
// (csv-stringify), made without a string per cell. It is the one hand-tuned
// writer, kept because the export of a million responses misses its target
// without it (bench/RESULTS.md); test/http/export-csv.test.ts holds it to the
// same bytes as recordCsv.
import type { Survey } from '../survey/definition.ts';
import { BOM, CHUNK_BYTES, type RecordWriter } from './csv.ts';
import { PackedRows } from './read.ts';
import { type ExportRow, recordCells, recordColumns } from './record.ts';

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

/** First bytes that neutralise() prefixes with an apostrophe: = + - @ tab CR. */
const RUNS_AS_FORMULA = new Uint8Array(128);
for (const c of '=+-@\t\r') RUNS_AS_FORMULA[c.charCodeAt(0)] = 1;

/** Bytes that make a CSV field need quotes: " , LF CR. */
const NEEDS_QUOTES = new Uint8Array(128);
for (const c of '",\n\r') NEEDS_QUOTES[c.charCodeAt(0)] = 1;

/** A value of several codes, stored as "a","b": written joined with `;`. */
const SEVERAL = 1;
/** A value that holds a comma or a line break: written in quotes. */
const QUOTED = 2;
/** A value that holds a quote: written doubled, in quotes. */
const HAS_QUOTE = 4;

/** Columns before the answers: response_id, status, channel, started_at, submitted_at. */
const HEAD = 5;

const COMPLETE = Buffer.from('complete');

/** The record's columns, as UTF-8 to match the stored answers' keys without making strings of them. */
interface Layout {
  keys: readonly Uint8Array[];
  columns: ReadonlyMap<string, number>;
}
const layouts = new WeakMap<Survey, Layout>();
function layoutOf(survey: Survey): Layout {
  let layout = layouts.get(survey);
  if (!layout) {
    const ids = recordColumns(survey);
    layout = { keys: ids.map((id) => Buffer.from(id)), columns: new Map(ids.map((id, i) => [id, i])) };
    layouts.set(survey, layout);
  }
  return layout;
}

/** The length at `at`, 32 bits little-endian, of a packed field (see PackedRows). */
function lengthAt(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) +
    (bytes[at + 3] as number) * 0x1000000
  );
}

/**
 * Writes response records as CSV bytes into chunks of at most CHUNK_BYTES
 * (one record larger than that gets a chunk of its own).
 *
 * A complete response's stored answers (JSON of page -> question -> code or
 * codes, as JSON.stringify wrote it) are copied from their bytes into the
 * record: each value found by its question's id, a later page winning as in
 * recordCells, codes joined with `;`, neutralised and quoted as csv-stringify
 * with neutralise() does. Anything but that plain shape (whitespace, an
 * escape, a number) and a draft, whose route must be walked, are written
 * from recordCells instead.
 */
class CsvWriter {
  private readonly layout: Layout;
  /** A row given as an object, packed (see PackedRows). */
  private packed = Buffer.allocUnsafe(16 * 1024);
  /** Where each column's value lies in the answers being written, from its first byte to the byte after it. */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  /** SEVERAL, QUOTED, per column. */
  private readonly kinds: Uint8Array;
  /** Where each field of the packed row being written begins and ends. */
  private readonly fields = new Int32Array(12);
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private at = 0;
  /** Chunks filled and not yet taken. */
  private readonly full: Buffer[] = [];

  constructor(private readonly survey: Survey) {
    this.layout = layoutOf(survey);
    const width = this.layout.keys.length;
    this.starts = new Int32Array(width);
    this.ends = new Int32Array(width);
    this.kinds = new Uint8Array(width);
  }

  /** Bytes as they are (the byte order mark). */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.chunk.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** One line of cells given as strings (the header, a record from recordCells). */
  line(cells: readonly string[]): void {
    let most = 1;
    for (const cell of cells) most += cell.length * 3;
    if (most > this.packed.length) this.packed = Buffer.allocUnsafe(most);
    // Each byte at most twice (a quote doubled), with a comma, quotes and an apostrophe per cell; the line feed.
    this.room(most * 2 + cells.length * 4 + 1);
    const { packed, chunk: out } = this;
    let to = this.at;
    for (let i = 0; i < cells.length; i++) {
      if (i > 0) out[to++] = COMMA;
      const end = packed.write(cells[i] as string, 0);
      to = cell(packed, 0, end, kindOf(packed, 0, end), out, to);
    }
    out[to++] = LINE_FEED;
    this.at = to;
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

  /** The records of the responses packed in `bytes` (see PackedRows). */
  records(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) at = this.packedRecord(bytes, at);
  }

  /** The record of the response packed at `at` (the row itself, if it was given as one); returns where the next begins. */
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
      this.line(recordCells(this.survey, row));
      return next;
    }
    const width = this.layout.keys.length;
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

  /** The chunks filled so far (with the one being written too, at the end), none larger than CHUNK_BYTES. */
  *take(end = false): Generator<Buffer> {
    if (end) this.finish();
    for (const chunk of this.full.splice(0))
      for (let at = 0; at < chunk.length; at += CHUNK_BYTES) yield chunk.subarray(at, at + CHUNK_BYTES);
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
 * Copies a value's bytes to `out` at `to` as a CSV cell (SEVERAL codes
 * joined with `;`; an apostrophe before what would run as a formula; in
 * quotes if QUOTED, a quote doubled if HAS_QUOTE) and returns where it ended.
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

const BOM_BYTES = Buffer.from(BOM);

/** The response record written as bytes (see the top of this file and RecordWriter). */
export const byteRecordCsv: RecordWriter = async function* (survey, batches) {
  const writer = new CsvWriter(survey);
  writer.raw(BOM_BYTES);
  writer.line(recordColumns(survey));
  for await (const batch of batches) {
    if (batch instanceof PackedRows) writer.records(batch.bytes);
    else for (const row of batch) writer.record(row);
    yield* writer.take();
  }
  yield* writer.take(true);
};
