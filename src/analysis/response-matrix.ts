import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { storedRoute } from '../responses/stored-journey.ts';
import { surveyVersion } from '../rollups/index.ts';
import { optionsOf, type Survey } from '../survey/definition.ts';
import { postcodeDistrict } from '../survey/formats.ts';
import { channelCodes, excludedOf, type Filters, flaggedOf } from './filters.ts';

// Every response of a survey as columns of small integers, for what the
// running counts cannot answer: a cross-tab of any question by any other, and
// the weighted figures. Built from the stored responses; kept, and rebuilt
// when the survey's changes counter moves, by matrix-cache.ts.

/** One question (or a derived variable) as a column: each response's code(s) as indices into `codes`. */
export interface MatrixColumn {
  id: string;
  kind: 'single' | 'multiple';
  /** Codes in codebook order (then in the order first seen, for postcode districts). */
  codes: string[];
  /** Single: index + 1 per response (0: not answered). Multiple: `words` 32-bit words per response, bit i for codes[i]. */
  values: Uint16Array | Uint32Array;
  words: number;
}

export interface ResponseMatrix {
  survey: string;
  version: number;
  builtAt: number;
  /** How long the build took (ms): staleness is allowed in proportion (see matrix-cache.ts). */
  buildMs: number;
  size: number;
  /** Each response's id (see responseIdAt): rows are in the order of their ids as the database sorts them. */
  ids: PackedIds;
  complete: Uint8Array;
  flagged: Uint8Array;
  excluded: Uint8Array;
  /** Days since 1970-01-01 (UTC) of started_at. */
  day: Int32Array;
  /** Index into `channels`. */
  channel: Uint8Array;
  channels: string[];
  columns: Map<string, MatrixColumn>;
  /** Per page, one bit per response: the page was submitted (the bases of About you, say). */
  pages: Map<string, Uint32Array>;
}

/**
 * Strings packed one after another as UTF-8, `ends[i]` the byte where the
 * i-th ends: a million ids take their bytes and 4 more each, not a string
 * object each.
 */
export interface PackedIds {
  bytes: Buffer;
  ends: Uint32Array;
}

/** The id of the response at a row of the matrix (what an export writes a weight beside). */
export function responseIdAt(matrix: Pick<ResponseMatrix, 'ids'>, row: number): string {
  const { bytes, ends } = matrix.ids;
  return bytes.toString('utf8', row === 0 ? 0 : (ends[row - 1] as number), ends[row] as number);
}

/** The channel a response came by, as a column like any question's. */
export const CHANNEL_COLUMN = 'channel';
/** Postcode questions are cross-tabulated by district, under this suffix. */
export const DISTRICT_SUFFIX = '_district';
/** A question asked at several ranks, taken together: any rank. */
export const ANY_RANK_SUFFIX = '_any_rank';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Responses read from the database at a time while building: few enough that no turn of the event loop is long. */
const BATCH = 500;

class ColumnBuilder {
  readonly index = new Map<string, number>();
  readonly codes: string[] = [];
  values: Uint16Array | Uint32Array;
  constructor(
    readonly id: string,
    readonly kind: 'single' | 'multiple',
    codes: string[],
    capacity: number,
    readonly words = kind === 'multiple' ? Math.max(1, Math.ceil(codes.length / 32)) : 1,
  ) {
    for (const code of codes) this.code(code);
    this.values = kind === 'single' ? new Uint16Array(capacity) : new Uint32Array(capacity * this.words);
  }

  code(code: string): number {
    let i = this.index.get(code);
    if (i === undefined) {
      i = this.codes.length;
      this.codes.push(code);
      this.index.set(code, i);
    }
    return i;
  }

  grow(capacity: number) {
    const bigger = new (this.values.constructor as Uint16ArrayConstructor | Uint32ArrayConstructor)(
      capacity * (this.kind === 'single' ? 1 : this.words),
    );
    bigger.set(this.values);
    this.values = bigger;
  }

  set(row: number, value: string | string[] | undefined) {
    if (value === undefined) return;
    if (this.kind === 'single') {
      if (typeof value === 'string') this.values[row] = this.code(value) + 1;
      return;
    }
    for (const code of Array.isArray(value) ? value : [value]) {
      const i = this.code(code);
      // A code first seen after the words were sized (never, for codebook questions) is left out.
      const at = row * this.words + (i >>> 5);
      if (i < this.words * 32) this.values[at] = (this.values[at] as number) | (1 << (i & 31));
    }
  }

  done(): MatrixColumn {
    return { id: this.id, kind: this.kind, codes: this.codes, values: this.values, words: this.words };
  }
}

/** The columns a survey's matrix has, with their codes: every question, a postcode by district, ranks together, channel. */
export function columnSpecs(survey: Survey): { id: string; kind: 'single' | 'multiple'; codes: string[] }[] {
  const specs: { id: string; kind: 'single' | 'multiple'; codes: string[] }[] = [];
  for (const [id, questions] of survey.questionsById) {
    const first = questions[0];
    if (!first) continue;
    if (first.type === 'text') {
      specs.push({
        id: `${id}${DISTRICT_SUFFIX}`,
        kind: 'single',
        codes: first.preferNotToSay ? [first.preferNotToSay.code] : [],
      });
      continue;
    }
    const codes = [...new Set(questions.flatMap((q) => optionsOf(q).map((o) => o.code)))];
    specs.push({ id, kind: first.type === 'multiple' ? 'multiple' : 'single', codes });
  }
  const ranks = survey.analysis?.ranks ?? [];
  if (ranks.length > 1) {
    const codes = [...new Set(ranks.flatMap((r) => survey.questionsById.get(r)?.flatMap(optionsOf) ?? []))].map(
      (o) => o.code,
    );
    specs.push({ id: `${ranks[0]}${ANY_RANK_SUFFIX}`, kind: 'multiple', codes: [...new Set(codes)] });
  }
  specs.push({ id: CHANNEL_COLUMN, kind: 'single', codes: channelCodes(survey) });
  return specs;
}

/** Reads every response of the survey into a matrix, a batch at a time, the event loop turning between batches. */
export async function buildMatrix(
  db: Kysely<Database>,
  survey: Survey,
  { batch = BATCH }: { batch?: number } = {},
): Promise<ResponseMatrix> {
  const started = performance.now();
  const version = await surveyVersion(db, survey.slug);
  let capacity = 1024;
  let size = 0;
  let complete = new Uint8Array(capacity);
  let flagged = new Uint8Array(capacity);
  let excluded = new Uint8Array(capacity);
  let day = new Int32Array(capacity);
  let idEnds = new Uint32Array(capacity);
  const idBytes: Buffer[] = [];
  let idLength = 0;
  const specs = columnSpecs(survey);
  const builders = new Map(specs.map((s) => [s.id, new ColumnBuilder(s.id, s.kind, s.codes, capacity)]));
  const pageBits = new Map<string, Uint32Array>(survey.pages.map((p) => [p.id, new Uint32Array(capacity >>> 5)]));
  const postcodes = [...survey.questionsById].filter(([, qs]) => qs[0]?.type === 'text').map(([id]) => id);
  const ranks = survey.analysis?.ranks ?? [];
  const anyRank = ranks.length > 1 ? builders.get(`${ranks[0]}${ANY_RANK_SUFFIX}`) : undefined;
  const channel = builders.get(CHANNEL_COLUMN) as ColumnBuilder;

  const grow = () => {
    capacity *= 2;
    const widen = <T extends Uint8Array | Int32Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(capacity);
      b.set(a);
      return b;
    };
    complete = widen(complete);
    flagged = widen(flagged);
    excluded = widen(excluded);
    day = widen(day);
    idEnds = widen(idEnds);
    for (const b of builders.values()) b.grow(capacity);
    for (const [page, bits] of pageBits) {
      const b = new Uint32Array(capacity >>> 5);
      b.set(bits);
      pageBits.set(page, b);
    }
  };

  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('responses')
      .select(['id', 'status', 'channel', 'started_at', 'flag', 'excluded', 'answers'])
      .where('survey', '=', survey.slug)
      .where('id', '>', after)
      .orderBy('id')
      .limit(batch)
      .execute();
    if (!rows.length) break;
    // SQLite answers synchronously: without this the whole build is one turn of the event loop, and every
    // respondent and analyst waits for it.
    await new Promise((resolve) => setImmediate(resolve));
    after = rows[rows.length - 1]?.id as string;
    idBytes.push(Buffer.from(rows.map((row) => row.id).join('')));
    for (const row of rows) {
      if (size === capacity) grow();
      const i = size++;
      idLength += Buffer.byteLength(row.id);
      idEnds[i] = idLength;
      complete[i] = row.status === 'complete' ? 1 : 0;
      flagged[i] = row.flag ? 1 : 0;
      excluded[i] = row.excluded ? 1 : 0;
      day[i] = Math.floor(Date.parse(row.started_at.slice(0, 10)) / DAY_MS);
      channel.set(i, row.channel);
      const route = storedRoute(survey, row);
      for (const [id, value] of Object.entries(route.values)) builders.get(id)?.set(i, value);
      for (const id of postcodes) {
        const value = route.values[id];
        if (typeof value !== 'string') continue;
        const question = survey.questionsById.get(id)?.[0];
        const declined = question?.type === 'text' && value === question.preferNotToSay?.code;
        const code = declined ? value : postcodeDistrict(value);
        builders.get(`${id}${DISTRICT_SUFFIX}`)?.set(i, code);
      }
      if (anyRank) for (const r of ranks) anyRank.set(i, route.values[r]);
      for (const page of route.pages) {
        const bits = pageBits.get(page);
        if (bits) bits[i >>> 5] = (bits[i >>> 5] as number) | (1 << (i & 31));
      }
    }
  }
  return {
    survey: survey.slug,
    version,
    builtAt: Date.now(),
    buildMs: performance.now() - started,
    size,
    ids: { bytes: Buffer.concat(idBytes), ends: idEnds.slice(0, size) },
    complete,
    flagged,
    excluded,
    day,
    channel: channelIndex(channel, size),
    channels: channel.codes,
    columns: new Map([...builders].map(([id, b]) => [id, b.done()])),
    pages: pageBits,
  };
}

function channelIndex(column: ColumnBuilder, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (column.values[i] as number) - 1;
  return out;
}

/** Whether response `i` answered a column (any code). */
export function answered(column: MatrixColumn, i: number): boolean {
  if (column.kind === 'single') return column.values[i] !== 0;
  for (let w = 0; w < column.words; w++) if (column.values[i * column.words + w] !== 0) return true;
  return false;
}

/** The code indices response `i` gave in a column, written into `out` (returns how many). */
export function codesAt(column: MatrixColumn, i: number, out: Uint16Array): number {
  if (column.kind === 'single') {
    const v = column.values[i] as number;
    if (v === 0) return 0;
    out[0] = v - 1;
    return 1;
  }
  let n = 0;
  for (let w = 0; w < column.words; w++) {
    let bits = column.values[i * column.words + w] as number;
    while (bits !== 0) {
      const low = bits & -bits;
      out[n++] = w * 32 + (31 - Math.clz32(low));
      bits ^= low;
    }
  }
  return n;
}

/** The responses that pass the filters, as their indices in the matrix. */
export function selectRows(matrix: ResponseMatrix, survey: Survey, filters: Filters): Uint32Array {
  const area = survey.analysis?.area ? matrix.columns.get(survey.analysis.area) : undefined;
  const areaCode = filters.area && area ? area.codes.indexOf(filters.area) + 1 : -1;
  const channel = filters.channel ? matrix.channels.indexOf(filters.channel) : -1;
  const from = filters.from ? Math.floor(Date.parse(filters.from) / DAY_MS) : -Infinity;
  const to = filters.to ? Math.floor(Date.parse(filters.to) / DAY_MS) : Infinity;
  const flagged = flaggedOf(filters);
  const excluded = excludedOf(filters);
  const out = new Uint32Array(matrix.size);
  let n = 0;
  for (let i = 0; i < matrix.size; i++) {
    if (filters.status === 'complete' && !matrix.complete[i]) continue;
    if (filters.status === 'partial' && matrix.complete[i]) continue;
    if (flagged === 'exclude' && matrix.flagged[i]) continue;
    if (flagged === 'only' && !matrix.flagged[i]) continue;
    if (excluded === 'exclude' && matrix.excluded[i]) continue;
    if (excluded === 'only' && !matrix.excluded[i]) continue;
    if (filters.channel && matrix.channel[i] !== channel) continue;
    if (filters.area && area?.values[i] !== areaCode) continue;
    const d = matrix.day[i] as number;
    if (d < from || d > to) continue;
    out[n++] = i;
  }
  return out.subarray(0, n);
}
