import type { Writable } from 'node:stream';
import { setTimeout } from 'node:timers/promises';
import ExcelJS from 'exceljs';
import type { Kysely } from 'kysely';
import { channelLabels } from '../analysis/crosstab.ts';
import { describeFilters, type Filters } from '../analysis/filters.ts';
import type { Report } from '../analysis/report.ts';
import { allTables } from '../analysis/sections.ts';
import type { Table } from '../analysis/tables.ts';
import { categoryLabels } from '../analysis/weighting.ts';
import type { Database } from '../db/schema.ts';
import { areaLabels, optionsOf, type Survey } from '../survey/definition.ts';
import { responseBatches, rowsOf } from './read.ts';
import { answerLabels, type ExportRow, givenAnswers, recordColumns } from './record.ts';
import { type MetWeighting, weightsById } from './weights.ts';

// The analysts' workbook (issue 15): a contents sheet, the responses (labels,
// UK dates, a 0/1 column per multi-choice option, the weight if asked), the
// codebook, the weighting's figures, and every table on a sheet of its own.

/** What separates a multi-choice question's id from an option's code in its 0/1 column's name. */
export const OPTION_SEPARATOR = '__';

/** The name of a multi-choice option's 0/1 column: `concern_1_top3__fly_tipping`. */
export const optionColumn = (question: string, code: string) => `${question}${OPTION_SEPARATOR}${code}`;

/** Excel's longest sheet name. */
export const SHEET_NAME_MAX = 31;
const NOT_IN_SHEET_NAMES = /[[\]:*?/\\]/g;

/** Text cut at a word to at most `max` characters, with an ellipsis when cut. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;.:'–-]+$/, '')}…`;
}

/**
 * Sheet names as Excel allows them: at most 31 characters, none of []:*?/\,
 * not starting or ending with an apostrophe, not "History" (Excel's own),
 * unique whatever the case; a name already taken gets " (2)", " (3)"…
 */
export function sheetNamer() {
  const used = new Set<string>();
  return (wanted: string): string => {
    let clean = wanted.replace(NOT_IN_SHEET_NAMES, ' ').replace(/\s+/g, ' ').trim();
    if (clean.toLowerCase() === 'history') clean = 'History table';
    const tidy = (name: string) => name.replace(/^[\s']+|[\s']+$/g, '') || 'Sheet';
    clean = tidy(shorten(tidy(clean), SHEET_NAME_MAX));
    let name = clean;
    for (let i = 2; used.has(name.toLowerCase()); i++) {
      const suffix = ` (${i})`;
      name = `${tidy(shorten(clean, SHEET_NAME_MAX - suffix.length))}${suffix}`;
    }
    used.add(name.toLowerCase());
    return name;
  };
}

/** A link to a sheet's first cell, as a hyperlink in the workbook. */
const sheetLink = (name: string) => `#'${name.replaceAll("'", "''")}'!A1`;

/** Excel's column letters: 1 -> A, 27 -> AA. */
export function columnLetter(n: number): string {
  let letters = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) letters = String.fromCharCode(65 + ((k - 1) % 26)) + letters;
  return letters;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Days from Excel's day 0 (30 December 1899) to 1 January 1970. */
const EXCEL_EPOCH_DAYS = 25_569;

/**
 * A stored instant (UTC, ISO 8601) as an Excel date serial of the wall-clock
 * time in London (GMT, or BST in summer), or null if it is not a date. The
 * clocks change on the hour (UTC), so the offset is looked up once per hour.
 */
export function londonSerials(): (iso: string) => number | null {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const offsets = new Map<number, number>();
  const offsetAt = (hour: number) => {
    let offset = offsets.get(hour);
    if (offset === undefined) {
      const at = hour * HOUR_MS;
      const part = (type: string) => Number(format.formatToParts(at).find((p) => p.type === type)?.value);
      offset = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute')) - at;
      offsets.set(hour, offset);
    }
    return offset;
  };
  return (iso) => {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return null;
    return (ms + offsetAt(Math.floor(ms / HOUR_MS))) / DAY_MS + EXCEL_EPOCH_DAYS;
  };
}

/** How the responses sheet shows a date and time (London's wall clock), and a table's percentage (a fraction). */
export const DATE_TIME_FORMAT = 'yyyy-mm-dd hh:mm:ss';
export const PERCENT_FORMAT = '0.0%';

type CellKind = 'text' | 'number' | 'date';

/** The responses sheet's columns, worked out once per workbook. */
interface ResponsesLayout {
  headers: string[];
  kinds: CellKind[];
  /** A question's column (labels). */
  at: Map<string, number>;
  /** A multi-choice question's 0/1 columns, by code. */
  options: Map<string, Map<string, number>>;
  weight: number;
}

/** Every code a multi-choice question id offers on any of its pages, in codebook order. */
function multiChoiceCodes(survey: Survey): Map<string, string[]> {
  const codes = new Map<string, string[]>();
  for (const [id, questions] of survey.questionsById)
    if (questions[0]?.type === 'multiple')
      codes.set(id, [...new Set(questions.flatMap((q) => optionsOf(q).map((o) => o.code)))]);
  return codes;
}

function responsesLayout(survey: Survey, weighted: boolean): ResponsesLayout {
  const headers: string[] = [];
  const kinds: CellKind[] = [];
  const at = new Map<string, number>();
  const options = new Map<string, Map<string, number>>();
  const multi = multiChoiceCodes(survey);
  for (const id of recordColumns(survey)) {
    at.set(id, headers.length);
    headers.push(id);
    kinds.push(id === 'started_at' || id === 'submitted_at' ? 'date' : 'text');
    const codes = multi.get(id);
    if (!codes) continue;
    const columns = new Map<string, number>();
    for (const code of codes) {
      columns.set(code, headers.length);
      headers.push(optionColumn(id, code));
      kinds.push('number');
    }
    options.set(id, columns);
  }
  const weight = weighted ? headers.length : -1;
  if (weighted) {
    headers.push('weight');
    kinds.push('number');
  }
  return { headers, kinds, at, options, weight };
}

/** Characters XML cannot hold (dropped) and those it must escape. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 cannot hold these control characters, so they are dropped.
const NOT_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above.
const XML_SPECIAL = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
function xmlText(text: string): string {
  return XML_SPECIAL.test(text)
    ? text.replace(NOT_IN_XML, '').replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
    : text;
}

/**
 * A responses row as the sheet's XML, written here rather than through
 * exceljs's cell objects: a million rows of some fifty cells took exceljs
 * over a minute, this a third of that (bench/RESULTS.md). Text is an inline
 * string (never a formula), a number a value, a date a number in the
 * date-time style.
 */
function rowXml(
  row: number,
  cells: readonly (string | number | null)[],
  letters: readonly string[],
  dates: readonly boolean[],
  dateStyle: number,
): string {
  let xml = `<row r="${row}">`;
  for (let i = 0; i < cells.length; i++) {
    const value = cells[i];
    if (value === null || value === undefined || value === '') continue;
    const ref = `${letters[i]}${row}`;
    if (typeof value === 'number') {
      xml += dates[i] ? `<c r="${ref}" s="${dateStyle}"><v>${value}</v></c>` : `<c r="${ref}"><v>${value}</v></c>`;
    } else {
      const space = /^\s|\s$/.test(value) ? ' xml:space="preserve"' : '';
      xml += `<c r="${ref}" t="inlineStr"><is><t${space}>${xmlText(value)}</t></is></c>`;
    }
  }
  return `${xml}</row>`;
}

/** Rows added between turns of the event loop. */
const YIELD_EVERY = 100;

/**
 * Responses read at a time: few, as the work per row far outweighs the
 * reading, and the rows read stay in memory until they are written.
 */
const READ_BATCH = 200;

/** Bytes of a sheet's XML allowed to wait for the zip's compression, and how low they go before rows are added again. */
const ZIP_BACKLOG_HIGH = 8 * 1024 * 1024;
const ZIP_BACKLOG_LOW = 2 * 1024 * 1024;

/** The stream exceljs writes a sheet's XML into (internal to its streaming writer: the rows are written there). */
function sheetStream(sheet: ExcelJS.Worksheet): { write(xml: string): void } {
  const stream = (sheet as unknown as { stream?: { write?: unknown } }).stream;
  if (typeof stream?.write !== 'function') throw new Error("exceljs's worksheet writer has no stream to write rows to");
  return stream as { write(xml: string): void };
}

/**
 * Bytes of a sheet's XML waiting for the zip's compression: exceljs 4's
 * streaming writer pipes a sheet into the zip (archiver, on readable-stream)
 * without waiting (its StreamBuf, in batch mode), so they pile up there
 * unless we wait. 0 if that internal is not found: the export then runs
 * without the wait.
 */
function zipBacklog(sheet: ExcelJS.Worksheet): number {
  type Piped = { stream?: { pipes?: { _writableState?: { length?: number } }[] } };
  return (sheet as unknown as Piped).stream?.pipes?.[0]?._writableState?.length ?? 0;
}

/** Waits until the output takes more, or fails if it was closed (the download abandoned). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      if (out.destroyed) reject(new Error("the workbook's output was closed"));
      else resolve();
    };
    if (out.destroyed) return done();
    out.on('drain', done);
    out.on('close', done);
  });
}

const BOLD: Partial<ExcelJS.Font> = { bold: true };
const LINK: Partial<ExcelJS.Font> = { color: { argb: 'FF1D70B8' }, underline: true };

/** A sheet whose first `rows` rows stay in view, as every data sheet has. */
const frozen = (rows: number, columns = 0): Partial<ExcelJS.AddWorksheetOptions> => ({
  views: [{ state: 'frozen', xSplit: columns, ySplit: rows }],
});

/** An autofilter over a table from its header row to its last row. */
const filterRange = (headerRow: number, lastRow: number, columns: number) =>
  `A${headerRow}:${columnLetter(Math.max(1, columns))}${Math.max(headerRow, lastRow)}`;

export interface WorkbookOptions {
  /** The weighting asked for: a weight column on the responses, and a Weighting sheet. */
  weighting?: MetWeighting;
}

/**
 * The analyst's workbook, streamed as it is written: a contents sheet, the
 * responses with labels, the codebook, the weighting if asked for, and every
 * analysis table on its own sheet, ready to paste into a report. Cells are
 * written as values, never formulas.
 */
export async function writeWorkbook(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  report: Report,
  out: Writable,
  { weighting }: WorkbookOptions = {},
): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
  workbook.creator = 'Soundings';

  // Every sheet's name first: the contents sheet lists them all.
  const name = sheetNamer();
  const names = {
    contents: name('Contents'),
    responses: name('Responses'),
    codebook: name('Codebook'),
    weighting: weighting ? name('Weighting') : undefined,
  };
  const seen = new Set<string>();
  const tables = allTables(survey, report)
    .filter((table) => !seen.has(table.id) && seen.add(table.id))
    .map((table) => ({ table, name: name(table.sheet ?? table.title) }));

  writeContents(workbook, survey, filters, names, tables, weighting);
  await writeResponses(db, survey, filters, workbook, names.responses, out, weighting);
  writeCodebook(workbook, survey, names.codebook, weighting !== undefined);
  if (weighting && names.weighting) writeWeighting(workbook, survey, names.weighting, weighting);
  for (const { table, name } of tables) writeTable(workbook, name, table);
  await workbook.commit();
}

function writeContents(
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  survey: Survey,
  filters: Filters,
  names: { contents: string; responses: string; codebook: string; weighting: string | undefined },
  tables: { table: Table; name: string }[],
  weighting: MetWeighting | undefined,
) {
  const sheet = workbook.addWorksheet(names.contents, frozen(6));
  sheet.columns = [{ width: 34 }, { width: 100 }];
  const title = sheet.addRow([survey.title]);
  title.font = { bold: true, size: 14 };
  title.commit();
  sheet.addRow(['Responses', describeFilters(filters, areaLabels(survey), channelLabels(survey))]).commit();
  sheet
    .addRow([
      'Weighting',
      weighting
        ? `Weighted on ${variableNames(survey, weighting).join(', ')}: each response's weight is in the responses' last column; the figures are on the ${names.weighting} sheet.`
        : 'Not weighted.',
    ])
    .commit();
  sheet
    .addRow([
      'Tables',
      'Counts as answered (not weighted); percentages are of each table’s base, shown as percentages.',
    ])
    .commit();
  sheet.addRow([]).commit();
  const header = sheet.addRow(['Sheet', 'What it holds']);
  header.font = BOLD;
  header.commit();
  const entries: [string, string][] = [
    [
      names.responses,
      'One row per response: answers as labels, dates and times in UK time, a 0/1 column per option of a multi-choice question' +
        (weighting ? ', and the weight' : ''),
    ],
    [names.codebook, 'Every column of the responses sheet: the questions, their codes and labels'],
    ...(weighting && names.weighting
      ? [
          [
            names.weighting,
            'The weighting: its settings, how it converged, design effect and effective sample size, per district, and the population figures’ caveats',
          ] as [string, string],
        ]
      : []),
    ...tables.map(({ table, name }): [string, string] => [name, `${table.title}. ${table.baseText}.`]),
  ];
  for (const [target, holds] of entries) {
    const row = sheet.addRow([{ text: target, hyperlink: sheetLink(target) }, holds]);
    row.getCell(1).font = LINK;
    row.commit();
  }
  sheet.commit();
}

/** The weighting's variables as the population figures name them. */
function variableNames(survey: Survey, weighting: MetWeighting): string[] {
  return weighting.settings.variables.map((v) => survey.population?.variables[v]?.label ?? v);
}

async function writeResponses(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  sheetName: string,
  out: Writable,
  weighting: MetWeighting | undefined,
) {
  const layout = responsesLayout(survey, weighting !== undefined);
  const width = layout.headers.length;
  const sheet = workbook.addWorksheet(sheetName, frozen(1, 1));
  sheet.columns = layout.headers.map((header, i) => ({
    header,
    width: layout.kinds[i] === 'date' ? 20 : Math.min(40, Math.max(10, header.length + 2)),
  }));
  sheet.getRow(1).font = BOLD;
  sheet.getRow(1).commit();

  const styles = (workbook as unknown as { styles: { addStyleModel(style: object, type: number): number } }).styles;
  const dateStyle = styles.addStyleModel({ numFmt: DATE_TIME_FORMAT }, ExcelJS.ValueType.Date);
  const dates = layout.kinds.map((k) => k === 'date');
  const letters = layout.headers.map((_, i) => columnLetter(i + 1));
  const stream = sheetStream(sheet);
  const channels = channelLabels(survey);
  const serial = londonSerials();
  const weights = weighting ? weightsById(weighting) : undefined;
  const cells = new Array<string | number | null>(width);

  const fill = (row: ExportRow) => {
    cells.fill(null);
    cells[0] = row.id;
    cells[1] = row.status;
    cells[2] = channels.get(row.channel) ?? row.channel;
    cells[3] = serial(row.started_at);
    cells[4] = row.submitted_at ? serial(row.submitted_at) : null;
    for (const answer of givenAnswers(survey, row)) {
      const at = layout.at.get(answer.question.id);
      if (at === undefined || at < 5) continue;
      cells[at] = answerLabels(answer);
      const columns = layout.options.get(answer.question.id);
      if (!columns) continue;
      const ticked = Array.isArray(answer.value) ? answer.value : [answer.value];
      // 0 for an option offered on the page and not ticked; options of other pages stay empty.
      for (const option of optionsOf(answer.question)) {
        const column = columns.get(option.code);
        if (column !== undefined) cells[column] = ticked.includes(option.code) ? 1 : 0;
      }
    }
    if (weights) cells[layout.weight] = weights.get(row.id) ?? null;
  };

  let count = 0;
  for await (const batch of responseBatches(db, survey, filters, { size: READ_BATCH })) {
    for (const row of rowsOf(batch)) {
      if (++count % YIELD_EVERY === 0) {
        // Reading rows never leaves the microtask queue: let the zip's compression (in libuv's pool) deliver,
        // and wait while the zip is behind (exceljs writes a sheet into it without waiting).
        await new Promise((resolve) => setImmediate(resolve));
        if (zipBacklog(sheet) > ZIP_BACKLOG_HIGH) {
          // Compression goes on in libuv's pool meanwhile; start again before it runs dry.
          while (zipBacklog(sheet) > ZIP_BACKLOG_LOW && !out.destroyed) await setTimeout(10);
        }
      }
      fill(row);
      stream.write(rowXml(count + 1, cells, letters, dates, dateStyle));
      // exceljs does not wait for its output: stop adding rows while the output is full.
      if (out.writableNeedDrain || out.destroyed) await drained(out);
    }
  }
  sheet.autoFilter = filterRange(1, count + 1, width);
  sheet.commit();
}

const FLAG_NOTE = `1: ticked; 0: offered on the page the question was answered on and not ticked; empty: not offered there, or the question not answered. Named <question>${OPTION_SEPARATOR}<code>.`;

function writeCodebook(
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  survey: Survey,
  sheetName: string,
  weighted: boolean,
) {
  const sheet = workbook.addWorksheet(sheetName, frozen(1));
  sheet.columns = [
    { header: 'column', key: 'column', width: 34 },
    { header: 'question_id', key: 'question', width: 22 },
    { header: 'page', key: 'page', width: 28 },
    { header: 'question', key: 'label', width: 60 },
    { header: 'code', key: 'code', width: 26 },
    { header: 'label', key: 'option', width: 50 },
    { header: 'notes', key: 'notes', width: 80 },
  ];
  sheet.getRow(1).font = BOLD;
  let rows = 1;
  const add = (row: Record<string, string>) => {
    sheet.addRow(row).commit();
    rows++;
  };
  const head: [string, string][] = [
    ['response_id', 'The response’s id.'],
    ['status', 'complete (sent) or partial (started, not sent).'],
    ['channel', 'How the respondent came to the survey, by name.'],
    ['started_at', 'When the response was started: an Excel date and time in UK time (GMT, or BST in summer).'],
    ['submitted_at', 'When it was sent, likewise; empty for a partial response.'],
  ];
  for (const [column, notes] of head) add({ column, notes });
  const multi = multiChoiceCodes(survey);
  for (const page of survey.pages) {
    for (const question of page.questions) {
      const options = optionsOf(question);
      const base = { question: question.id, page: page.id, label: question.label };
      if (options.length === 0) {
        add({ ...base, column: question.id, code: '', option: `(${question.type})` });
        continue;
      }
      for (const o of options) add({ ...base, column: question.id, code: o.code, option: o.label });
      if (!multi.has(question.id)) continue;
      for (const o of options)
        add({ ...base, column: optionColumn(question.id, o.code), code: o.code, option: o.label, notes: FLAG_NOTE });
    }
  }
  if (weighted)
    add({
      column: 'weight',
      notes:
        'The response’s weight (see the Weighting sheet). Empty for a respondent left out of the weighting: no district the population figures cover, or no usable answer to a variable weighted on.',
    });
  sheet.autoFilter = filterRange(1, rows, 7);
  sheet.commit();
}

const ORIGINS: Record<MetWeighting['origin'], string> = {
  shipped: 'those that came with the survey',
  uploaded: 'uploaded by an admin',
  file: 'from a file',
  none: 'none',
};

function writeWeighting(
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  survey: Survey,
  sheetName: string,
  weighting: MetWeighting,
) {
  const result = weighting.result as Extract<MetWeighting['result'], { ok: true }>;
  const places = areaLabels(survey);
  const districts = result.districts;
  const sheet = workbook.addWorksheet(sheetName, frozen(1, 1));
  sheet.columns = [{ width: 44 }, { width: 22 }, ...districts.map(() => ({ width: 18 }))];
  const header = sheet.addRow([
    'Figure',
    'All districts',
    ...districts.map((d) => places.get(d.district) ?? d.district),
  ]);
  header.font = BOLD;
  header.commit();
  let rows = 1;
  const add = (cells: (string | number | null)[], format?: string) => {
    const row = sheet.addRow(cells);
    if (format) for (let i = 2; i <= cells.length; i++) row.getCell(i).numFmt = format;
    row.commit();
    rows++;
  };
  const { settings, mapping } = weighting;
  add(['Weighted on', variableNames(survey, weighting).join(', ')]);
  add(['Cap on the weights', settings.cap === null ? 'none' : `${settings.cap} × the district’s mean weight`]);
  add([
    'Categories merged',
    settings.merges.length
      ? settings.merges
          .map((m) => {
            const labels = categoryLabels(survey, m.variable, mapping);
            const variable = survey.population?.variables[m.variable]?.label ?? m.variable;
            return `${variable}: ${m.categories.map((c) => labels.get(c) ?? c).join(' with ')}`;
          })
          .join('; ')
      : 'none',
  ]);
  add(['Population figures', ORIGINS[weighting.origin]]);
  add(['Method', 'Raking (iterative proportional fitting), each district to its own figures']);
  add(['Intervals on the weighted pages', weighting.method]);
  add(['Converged', 'yes', ...districts.map(() => 'yes')]);
  const figures: [string, (s: (typeof districts)[number] | typeof result.overall) => number, string?][] = [
    ['Iterations', (s) => s.iterations],
    ['Respondents weighted', (s) => s.respondents],
    ['Weight total', (s) => s.weightTotal, '0.00'],
    ['Design effect', (s) => s.designEffect, '0.00'],
    ['Effective sample size', (s) => s.effectiveSampleSize, '0.0'],
    ['Efficiency', (s) => s.efficiency, PERCENT_FORMAT],
    ['Largest weight', (s) => s.largestWeight, '0.00'],
    ['Weights held at the cap', (s) => s.capped],
  ];
  for (const [label, of, format] of figures) add([label, of(result.overall), ...districts.map(of)], format);
  add(['Respondents left out (no weight)', result.excluded.total]);
  if (result.excluded.noDistrict) add(['… with no district the figures cover', result.excluded.noDistrict]);
  for (const [variable, n] of Object.entries(result.excluded.missing))
    if (n)
      add([
        `… without a usable answer on ${survey.population?.variables[variable]?.label.toLowerCase() ?? variable}`,
        n,
      ]);
  sheet.autoFilter = filterRange(1, rows, 2 + districts.length);
  sheet.addRow([]).commit();
  const caveats = sheet.addRow(['The population figures’ caveats']);
  caveats.font = BOLD;
  caveats.commit();
  for (const caveat of weighting.caveats) sheet.addRow([caveat]).commit();
  sheet.commit();
}

/** A table: its title and base over the header row; counts as numbers, percentages as fractions shown as 0.0%. */
function writeTable(workbook: ExcelJS.stream.xlsx.WorkbookWriter, sheetName: string, table: Table) {
  const sheet = workbook.addWorksheet(sheetName, frozen(3));
  sheet.columns = table.columns.map((_, i) => ({ width: i === 0 ? 44 : 16 }));
  const title = sheet.addRow([table.title]);
  title.font = BOLD;
  title.commit();
  sheet.addRow([table.baseText]).commit();
  const header = sheet.addRow(table.columns.map((c) => c.heading));
  header.font = BOLD;
  header.commit();
  for (const row of table.rows) {
    const added = sheet.addRow(
      row.cells.map((cell, i) =>
        table.columns[i]?.kind === 'percent' && typeof cell === 'number' ? cell / 100 : cell,
      ),
    );
    table.columns.forEach((c, i) => {
      if (c.kind === 'percent') added.getCell(i + 1).numFmt = PERCENT_FORMAT;
    });
    if (row.total) added.font = BOLD;
    added.commit();
  }
  sheet.autoFilter = filterRange(3, 3 + table.rows.length, table.columns.length);
  sheet.commit();
}
