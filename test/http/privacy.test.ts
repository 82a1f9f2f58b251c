import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FILTERS } from '../../src/analysis/filters.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { responseRecordCsv } from '../../src/exports/job.ts';
import { writeWorkbook } from '../../src/exports/workbook.ts';
import { cspSurvey, csrfTokenIn, FORM, form, makeApp, storedContents, type TestApp } from '../helpers.ts';

const ADDRESS = '203.0.113.77';
const AGENT = 'Mozilla/5.0 (PrivacyProbe; unique-agent-7f3c9)';
// Not the definition's own example ("For example, DA12 1AU"), which is stored with the survey's document.
const FULL_POSTCODE = 'DA12 1QX';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('anonymity', () => {
  it('keeps no client address, user agent or full postcode in the log, the database or any export', async () => {
    const log: string[] = [];
    t = await makeApp({ config: { logLevel: 'trace' }, logStream: { write: (line) => log.push(line) } });
    const headers = { 'user-agent': AGENT, 'x-forwarded-for': ADDRESS, ...FORM };
    const send = (method: 'GET' | 'POST', url: string, fields: Record<string, string> = {}, cookie = '') =>
      t!.app.inject({
        method,
        url,
        remoteAddress: ADDRESS,
        headers: { ...headers, ...(cookie ? { cookie } : {}) },
        ...(method === 'POST' ? { payload: form(fields) } : {}),
      });

    const startPage = await send('GET', '/s/csp-2019?src=facebook');
    const formCookie = String(startPage.headers['set-cookie']).split(';')[0] as string;
    const started = await send(
      'POST',
      '/s/csp-2019/start',
      { src: 'facebook', _csrf: csrfTokenIn(startPage.body) },
      formCookie,
    );
    const cookie = `${formCookie}; ${String(started.headers['set-cookie']).split(';')[0]}`;
    const _csrf = csrfTokenIn((await send('GET', '/s/csp-2019/area', {}, cookie)).body);
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you'])
      await send('POST', `/s/csp-2019/${page}`, { _csrf }, cookie);
    await send('POST', '/s/csp-2019/postcode', { postcode: 'NOT VALID', _csrf }, cookie);
    await send('POST', '/s/csp-2019/postcode', { postcode: FULL_POSTCODE, _csrf }, cookie);
    const done = await send('POST', '/s/csp-2019/check-answers', { _csrf }, cookie);
    expect(done.headers.location).toBe('/s/csp-2019/thank-you');
    await send('GET', '/s/nowhere?x=1', {}, cookie);

    expect(log.length).toBeGreaterThan(10);
    const text = log.join('');
    expect(text).toContain('"url":"/s/csp-2019/postcode"');
    for (const secret of [ADDRESS, AGENT, 'unique-agent', FULL_POSTCODE, '1QX', cookie.split('=')[1] as string])
      expect(text, secret).not.toContain(secret);
    expect(text).not.toMatch(/remoteAddress|remotePort|user-agent|hostname/i);

    // The exports an analyst downloads: the responses CSV, the workbook and the report JSON.
    const survey = cspSurvey();
    const csv = await buffer(responseRecordCsv(t.db, survey, DEFAULT_FILTERS));
    const report = JSON.stringify(await buildReport(t.db, survey, DEFAULT_FILTERS));
    const xlsx = new PassThrough();
    const parts: Buffer[] = [];
    xlsx.on('data', (c: Buffer) => parts.push(c));
    await writeWorkbook(t.db, survey, DEFAULT_FILTERS, await buildReport(t.db, survey, DEFAULT_FILTERS), xlsx);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.concat(parts) as unknown as ArrayBuffer);
    const cells: string[] = [];
    for (const sheet of book.worksheets) sheet.eachRow((row) => row.eachCell((c) => cells.push(String(c.value))));
    expect(cells.join('\n')).toContain('DA12 1');
    for (const [name, text] of [
      ['csv', csv.toString('utf8')],
      ['report', report],
      ['xlsx', cells.join('\n')],
    ] as const) {
      for (const secret of [ADDRESS, AGENT, 'unique-agent', FULL_POSTCODE, '1QX'])
        expect(text, `${name}: ${secret}`).not.toContain(secret);
    }

    await t.app.close();
    const stored = await storedContents(t);
    expect(stored.length).toBeGreaterThan(0);
    for (const { name, text } of stored) {
      for (const secret of [ADDRESS, AGENT, FULL_POSTCODE, '1QX'])
        expect(text, `${name}: ${secret}`).not.toContain(secret);
    }
  });
});
