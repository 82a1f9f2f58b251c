import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import type { Report } from '../analysis/report.ts';
import { allTables } from '../analysis/tables.ts';
import type { Database } from '../db/schema.ts';
import { draftAnswers } from '../responses/drafts.ts';
import { optionsOf, type Survey } from '../survey/definition.ts';
import { journey } from '../survey/journey.ts';
import { recordColumns, recordHead, streamResponses } from './response-record.ts';

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
  for await (const row of streamResponses(db, survey, filters)) {
    const j = journey(survey, draftAnswers(row));
    const cells = recordHead(row);
    // Labels come from the page the answer was given on (a code's label can differ between categories).
    for (const page of j.route) {
      for (const question of page.questions) {
        const value = j.answers[page.id]?.[question.id];
        if (value === undefined) continue;
        const labels = new Map(optionsOf(question).map((o) => [o.code, o.label]));
        cells[question.id] = (Array.isArray(value) ? value : [value]).map((v) => labels.get(v) ?? v).join('; ');
      }
    }
    responses.addRow(cells).commit();
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
    const header = sheet.addRow(table.columns);
    header.font = { bold: true };
    header.commit();
    for (const row of table.rows) sheet.addRow(row.cells).commit();
    sheet.columns.forEach((column, i) => {
      column.width = i === 0 ? 44 : 16;
    });
    sheet.commit();
  }
  await workbook.commit();
}
