import type { Writable } from 'node:stream';
import { setTimeout } from 'node:timers/promises';
import ExcelJS from 'exceljs';
import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import type { Report } from '../analysis/report.ts';
import { allTables } from '../analysis/sections.ts';
import type { Database } from '../db/schema.ts';
import { optionsOf, type Survey } from '../survey/definition.ts';
import { responseBatches, rowsOf } from './read.ts';
import { labelledRecord, recordColumns } from './record.ts';

/** Excel's rules for sheet names: at most 31 characters, none of []:*?/\, unique. */
function sheetNamer() {
  const used = new Set<string>();
  return (wanted: string) => {
    const clean = wanted.replace(/[[\]:*?/\\]/g, ' ').slice(0, 31);
    let name = clean;
    for (let i = 2; used.has(name.toLowerCase()); i++) name = `${clean.slice(0, 31 - String(i).length - 1)}~${i}`;
    used.add(name.toLowerCase());
    return name;
  };
}

/** Rows added between turns of the event loop. */
const YIELD_EVERY = 100;

/**
 * Responses read at a time: few, as exceljs's work per row far outweighs the
 * reading, and the rows read stay in memory until they are written.
 */
const READ_BATCH = 200;

/** Bytes of a sheet's XML allowed to wait for the zip's compression, and how low they go before rows are added again. */
const ZIP_BACKLOG_HIGH = 8 * 1024 * 1024;
const ZIP_BACKLOG_LOW = 2 * 1024 * 1024;

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

/** The style of every response cell: none. */
const PLAIN: Partial<ExcelJS.Style> = {};

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

/**
 * The analyst's workbook, streamed as it is written: the responses with
 * labels, the codebook, and every analysis table on its own sheet, ready to
 * paste into a report. Cells are written as values, never formulas.
 */
export async function writeWorkbook(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  report: Report,
  out: Writable,
): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
  workbook.creator = 'Soundings';
  const name = sheetNamer();

  // Responses: one row per response, answers as their labels.
  const responses = workbook.addWorksheet(name('Responses'));
  const columns = recordColumns(survey);
  responses.columns = columns.map((id) => ({ header: id, key: id, width: id.length > 12 ? 28 : 16 }));
  responses.getRow(1).font = { bold: true };
  let count = 0;
  for await (const batch of responseBatches(db, survey, filters, { size: READ_BATCH })) {
    for (const row of rowsOf(batch)) {
      if (++count % YIELD_EVERY === 0) {
        // Reading rows never leaves the microtask queue: let the zip's compression (in libuv's pool) deliver,
        // and wait while the zip is behind (exceljs writes a sheet into it without waiting).
        await new Promise((resolve) => setImmediate(resolve));
        if (zipBacklog(responses) > ZIP_BACKLOG_HIGH) {
          // Compression goes on in libuv's pool meanwhile; start again before it runs dry.
          while (zipBacklog(responses) > ZIP_BACKLOG_LOW && !out.destroyed) await setTimeout(10);
        }
      }
      const added = responses.addRow(labelledRecord(survey, row));
      // Every answer cell is plain text: one style object for them all lets exceljs look its id up once, not per cell.
      added.eachCell((cell) => {
        cell.style = PLAIN;
      });
      added.commit();
      // exceljs does not wait for its output: stop adding rows while the output is full.
      if (out.writableNeedDrain || out.destroyed) await drained(out);
    }
  }
  responses.commit();

  // The codebook: every question, code and label, per page where labels differ.
  const codebook = workbook.addWorksheet(name('Codebook'));
  codebook.columns = [
    { header: 'question_id', key: 'question', width: 22 },
    { header: 'page', key: 'page', width: 28 },
    { header: 'question', key: 'label', width: 60 },
    { header: 'code', key: 'code', width: 26 },
    { header: 'label', key: 'option', width: 50 },
  ];
  codebook.getRow(1).font = { bold: true };
  for (const page of survey.pages) {
    for (const question of page.questions) {
      const options = optionsOf(question);
      const base = { question: question.id, page: page.id, label: question.label };
      if (options.length === 0) codebook.addRow({ ...base, code: '', option: `(${question.type})` }).commit();
      for (const o of options) codebook.addRow({ ...base, code: o.code, option: o.label }).commit();
    }
  }
  codebook.commit();

  for (const table of allTables(survey, report)) {
    const sheet = workbook.addWorksheet(name(table.id));
    sheet.addRow([table.title]).commit();
    sheet.addRow([table.baseText]).commit();
    const header = sheet.addRow(table.columns.map((c) => c.heading));
    header.font = { bold: true };
    header.commit();
    for (const row of table.rows) {
      const added = sheet.addRow(
        row.cells.map((cell, i) =>
          table.columns[i]?.kind === 'percent' && typeof cell === 'number' ? cell / 100 : cell,
        ),
      );
      table.columns.forEach((c, i) => {
        if (c.kind === 'percent') added.getCell(i + 1).numFmt = '0.0%';
      });
      added.commit();
    }
    sheet.columns.forEach((column, i) => {
      column.width = i === 0 ? 44 : 16;
    });
    sheet.commit();
  }
  await workbook.commit();
}
