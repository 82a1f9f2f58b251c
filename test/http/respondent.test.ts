import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEDULE_TTL_MS } from '../../src/responses/schedules.ts';
import { cspSurvey, csrfTokenIn, FORM, form, makeApp, Respondent, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
});
afterEach(async () => {
  await t.close();
});

/** Everything stored, to show that a refused request changed nothing. */
async function snapshot() {
  const responses = await t.db.selectFrom('responses').selectAll().orderBy('id').execute();
  const values = await t.db.selectFrom('response_values').selectAll().orderBy('response_id').execute();
  return { responses, values };
}

async function valuesOf(responseId: string) {
  const rows = await t.db
    .selectFrom('response_values')
    .select(['question_id', 'value'])
    .where('response_id', '=', responseId)
    .execute();
  const out: Record<string, string[]> = {};
  for (const r of rows) out[r.question_id] = [...(out[r.question_id] ?? []), r.value];
  for (const list of Object.values(out)) list.sort();
  return out;
}

async function onlyResponse() {
  const rows = await t.db.selectFrom('responses').selectAll().execute();
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe('a whole journey', () => {
  it('follows the branches chosen and stores exactly the answers on the route', async () => {
    const r = new Respondent(t.app);
    const start = await r.start('facebook');
    expect(start.statusCode).toBe(303);
    expect(start.headers.location).toBe('/s/csp-2019/area');
    expect(String(start.headers['set-cookie'])).toMatch(/HttpOnly/);
    expect(String(start.headers['set-cookie'])).toMatch(/SameSite=Lax/);

    expect(await r.answer('area', { area: 'gravesham' })).toBe('concern-1');
    expect(await r.answer('concern-1', { concern_1: 'asb' })).toBe('concern-1-asb');
    expect(
      await r.answer('concern-1-asb', {
        concern_1_top3: ['noisy_rowdy', 'fly_tipping', 'drugs'],
        concern_1_victim: 'yes',
      }),
    ).toBe('concern-1-asb-reported');
    expect(await r.answer('concern-1-asb-reported', { concern_1_reported: 'no' })).toBe('concern-2');
    expect(await r.answer('concern-2', { concern_2: 'town_centre' })).toBe('concern-2-town-centre');
    expect(await r.answer('concern-2-town-centre', { concern_2_top3: ['robbery'], concern_2_victim: 'no' })).toBe(
      'concern-3',
    );
    expect(await r.answer('concern-3', { concern_3: 'substance' })).toBe('concern-3-substance');
    expect(await r.answer('concern-3-substance', { concern_3_top3: ['cannabis', 'drug_dealing'] })).toBe('about-you');
    expect(
      await r.answer('about-you', { gender: 'female', age: '45_54', ethnicity: 'white_british', disability: 'no' }),
    ).toBe('postcode');
    expect(await r.answer('postcode', { postcode: 'da12 1au' })).toBe('check-answers');

    const check = await r.get('check-answers');
    expect(check.statusCode).toBe(200);
    expect(check.body).toContain('Check your answers');
    expect(check.body).toContain('Noisy/rowdy behaviour');
    expect(check.body).toContain('DA12 1');
    expect(check.body).not.toContain('DA12 1AU');
    expect(check.body).toContain('/s/csp-2019/concern-1?return=check-answers');

    const sent = await r.post('check-answers');
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe('/s/csp-2019/thank-you');
    const thanks = await r.get('thank-you');
    expect(thanks.statusCode).toBe(200);
    expect(thanks.body).toContain('Thank you for taking the time to complete this survey.');

    const row = await onlyResponse();
    expect(row.status).toBe('complete');
    expect(row.channel).toBe('facebook');
    expect(row.submitted_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
    expect(await valuesOf(row.id)).toEqual({
      area: ['gravesham'],
      concern_1: ['asb'],
      concern_1_top3: ['drugs', 'fly_tipping', 'noisy_rowdy'],
      concern_1_victim: ['yes'],
      concern_1_reported: ['no'],
      concern_2: ['town_centre'],
      concern_2_top3: ['robbery'],
      concern_2_victim: ['no'],
      concern_3: ['substance'],
      concern_3_top3: ['cannabis', 'drug_dealing'],
      gender: ['female'],
      age: ['45_54'],
      ethnicity: ['white_british'],
      disability: ['no'],
      postcode: ['DA12 1'],
    });
  });

  it('lets every question be left blank, and shows "Not answered" for each', async () => {
    const r = new Respondent(t.app);
    await r.start();
    expect(await r.answer('area')).toBe('concern-1');
    expect(await r.answer('concern-1')).toBe('concern-2');
    expect(await r.answer('concern-2')).toBe('concern-3');
    expect(await r.answer('concern-3')).toBe('about-you');
    expect(await r.answer('about-you')).toBe('postcode');
    expect(await r.answer('postcode')).toBe('check-answers');
    const check = await r.get('check-answers');
    // area, three concerns, four About you questions, postcode: nine rows, none answered.
    expect(check.body.match(/Not answered/g)).toHaveLength(9);
    expect((await r.post('check-answers')).headers.location).toBe('/s/csp-2019/thank-you');
    const row = await onlyResponse();
    expect(row.status).toBe('complete');
    expect(row.channel).toBe('web');
    expect(await valuesOf(row.id)).toEqual({});
  });

  it('records "prefer not to say" for the postcode', async () => {
    const r = new Respondent(t.app);
    await r.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you']) await r.answer(page);
    expect(await r.answer('postcode', { 'postcode-prefer-not-to-say': 'prefer_not_to_say' })).toBe('check-answers');
    const row = await onlyResponse();
    expect(await valuesOf(row.id)).toEqual({ postcode: ['prefer_not_to_say'] });
  });
});

describe('routing', () => {
  it('offers the second concern without the first, and the third without either', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    await r.answer('concern-1', { concern_1: 'violence' });
    await r.answer('concern-1-violence', {});
    const second = await r.get('concern-2');
    expect(second.body).not.toContain('value="violence"');
    expect(second.body).toContain('value="property"');
    await r.answer('concern-2', { concern_2: 'property' });
    await r.answer('concern-2-property', {});
    const third = await r.get('concern-3');
    expect(third.body).not.toContain('value="violence"');
    expect(third.body).not.toContain('value="property"');
    expect(third.body.match(/type="radio"/g)).toHaveLength(3);
  });

  it('sends a page off the route to the page the respondent should see', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    await r.answer('concern-1', { concern_1: 'violence' });
    for (const path of ['concern-1-asb', 'about-you', 'check-answers', 'thank-you', 'no-such-page']) {
      const res = await r.get(path);
      expect(res.statusCode, path).toBe(303);
      expect(res.headers.location, path).toBe('/s/csp-2019/concern-1-violence');
    }
    const posted = await r.post('concern-1-asb', { concern_1_top3: ['drugs'] });
    expect(posted.headers.location).toBe('/s/csp-2019/concern-1-violence');
  });

  it('drops the old follow-up when the first concern changes, and keeps About you', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'gravesham' });
    await r.answer('concern-1', { concern_1: 'violence' });
    await r.answer('concern-1-violence', { concern_1_top3: ['robbery'], concern_1_victim: 'yes' });
    await r.answer('concern-1-violence-reported', { concern_1_reported: 'yes' });
    await r.answer('concern-2', { concern_2: 'property' });
    await r.answer('concern-2-property', { concern_2_top3: ['shoplifting'] });
    await r.answer('concern-3');
    await r.answer('about-you', { gender: 'male' });
    await r.answer('postcode', { postcode: 'DA1 1AA' });

    // From check your answers, change the first concern to the one chosen second.
    expect(await r.answer('concern-1', { concern_1: 'property', return: 'check-answers' })).toBe('concern-1-property');
    const followUp = await r.get('concern-1-property');
    expect(followUp.body).not.toMatch(/value="shoplifting" checked/);
    expect(await r.answer('concern-1-property', { concern_1_top3: ['scams'], return: 'check-answers' })).toBe(
      'concern-2',
    );
    // The second concern equal to the new first one is asked again, without that option.
    const second = await r.get('concern-2');
    expect(second.body).not.toContain('value="property"');
    expect(await r.answer('concern-2', { concern_2: 'violence', return: 'check-answers' })).toBe('concern-2-violence');
    expect(await r.answer('concern-2-violence', { return: 'check-answers' })).toBe('check-answers');
    await r.post('check-answers');

    const row = await onlyResponse();
    expect(await valuesOf(row.id)).toEqual({
      area: ['gravesham'],
      concern_1: ['property'],
      concern_1_top3: ['scams'],
      concern_2: ['violence'],
      gender: ['male'],
      postcode: ['DA1 1'],
    });
    expect(row.answers).not.toContain('robbery');
    expect(row.answers).not.toContain('shoplifting');
  });

  it('gives a back link to the previous page on the route', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area');
    await r.answer('concern-1', { concern_1: 'asb' });
    await r.answer('concern-1-asb', { concern_1_victim: 'no' });
    const page = await r.get('concern-2');
    expect(page.body).toContain('href="/s/csp-2019/concern-1-asb" class="govuk-back-link"');
  });
});

describe('bad input is refused and stores nothing', () => {
  async function atFollowUp() {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    await r.answer('concern-1', { concern_1: 'asb' });
    return r;
  }

  const cases: [string, Record<string, string | string[]>, RegExp][] = [
    ['a tampered option code', { concern_1_victim: 'maybe' }, /Select one of the options shown/],
    ['four ticks', { concern_1_top3: ['drugs', 'fly_tipping', 'noisy_rowdy', 'fire_arson'] }, /Select up to 3 issues/],
    [
      'a follow-up answer for a category not chosen',
      { concern_1_top3: ['youth_violence'] },
      /Select from the options shown/,
    ],
    ['two answers to a yes/no', { concern_1_victim: ['yes', 'no'] }, /Select yes or no, not both/],
  ];
  for (const [situation, fields, message] of cases) {
    it(`answers 422 with the error summary for ${situation}`, async () => {
      const r = await atFollowUp();
      const before = await snapshot();
      const res = await r.post('concern-1-asb', fields);
      expect(res.statusCode).toBe(422);
      expect(res.body).toContain('There is a problem');
      expect(res.body).toMatch(message);
      expect(res.body).toMatch(/<title>Error: /);
      expect(res.body).toMatch(/<a href="#concern_1_(top3|victim)">/);
      expect(await snapshot()).toEqual(before);
    });
  }

  it('keeps the values given when showing the error', async () => {
    const r = await atFollowUp();
    const res = await r.post('concern-1-asb', {
      concern_1_top3: ['drugs', 'fly_tipping', 'noisy_rowdy', 'fire_arson'],
      concern_1_victim: 'yes',
    });
    expect(res.body).toMatch(/value="fire_arson" checked/);
    expect(res.body).toMatch(/value="yes" checked/);
  });

  it('refuses an invalid postcode with a clear message, keeping what was typed', async () => {
    const r = new Respondent(t.app);
    await r.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you']) await r.answer(page);
    const before = await snapshot();
    const res = await r.post('postcode', { postcode: 'NOT A <b>CODE' });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('Enter a real postcode, like DA12 1AU');
    expect(res.body).toContain('value="NOT A &lt;b&gt;CODE"');
    expect(await snapshot()).toEqual(before);
    const both = await r.post('postcode', { postcode: 'DA1 1AA', 'postcode-prefer-not-to-say': 'prefer_not_to_say' });
    expect(both.statusCode).toBe(422);
    expect(both.body).toContain('not both');
  });

  it('refuses fields the page does not ask for (400) and stores nothing', async () => {
    const r = await atFollowUp();
    const before = await snapshot();
    const tampered: Record<string, string>[] = [{ concern_2: 'violence' }, { __proto__x: 'a' }, { constructor: 'x' }];
    for (const fields of tampered) {
      const res = await r.post('concern-1-asb', fields);
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('The form had a field this page does not ask for.');
      expect(res.body).not.toMatch(/at .*\.ts:\d+/);
    }
    const proto = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/concern-1-asb',
      headers: { ...FORM, cookie: r.cookie },
      payload: '__proto__=x&concern_1_victim=yes',
    });
    expect(proto.statusCode).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an oversized body with 413 and a plain page', async () => {
    const r = await atFollowUp();
    const before = await snapshot();
    const res = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/concern-1-asb',
      headers: { ...FORM, cookie: r.cookie },
      payload: `concern_1_victim=${'y'.repeat(100_000)}`,
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('too large');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a body that is not a web form (JSON, text, malformed) without a 500', async () => {
    const r = await atFollowUp();
    const before = await snapshot();
    const bodies: [string, string][] = [
      ['application/json', '{"concern_1_victim":"yes"}'],
      ['text/plain', 'concern_1_victim=yes'],
      ['application/json', '{"concern_1_victim":'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--'],
    ];
    for (const [type, payload] of bodies) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/s/csp-2019/concern-1-asb',
        headers: { 'content-type': type, cookie: r.cookie },
        payload,
      });
      expect(res.statusCode, type).toBe(415);
      expect(res.body).toContain('not sent as a web form');
    }
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/concern-1-asb',
      headers: { ...FORM, cookie: r.cookie },
      payload: 'concern_1_victim=%E0%A4%A&%%%=&&=',
    });
    expect(malformed.statusCode).toBeGreaterThanOrEqual(400);
    expect(malformed.statusCode).toBeLessThan(500);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses odd Unicode in answers as a clear error, not a crash', async () => {
    const r = await atFollowUp();
    const before = await snapshot();
    for (const odd of ['👩‍👩‍👧', '\u202Eyes', '\uD800', 'ｙｅｓ']) {
      const res = await r.post('concern-1-asb', { concern_1_victim: odd });
      expect(res.statusCode, JSON.stringify(odd)).toBe(422);
    }
    // A NUL is refused before any page sees it (PostgreSQL cannot store one): see security.test.ts.
    const nul = await r.post('concern-1-asb', { concern_1_victim: 'yes\u0000' });
    expect(nul.statusCode).toBe(400);
    expect(nul.body).toContain('The form had a character that cannot be used');
    expect(await snapshot()).toEqual(before);
  });

  it('sends someone with no draft cookie (or a forged one) to the start page, storing nothing', async () => {
    const before = await snapshot();
    const none = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/area',
      headers: FORM,
      payload: 'area=dartford',
    });
    // An answer posted without the survey's cookies is refused with a message, not dropped silently.
    expect(none.statusCode).toBe(403);
    expect(none.body).toContain('Your session was refreshed');
    const forged = await t.app.inject({
      method: 'GET',
      url: '/s/csp-2019/area',
      headers: { cookie: 'soundings_draft=abc.def' },
    });
    expect(forged.headers.location).toBe('/s/csp-2019');
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 for an unknown survey', async () => {
    const res = await t.app.inject({ url: '/s/no-such-survey' });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('There is no survey at this address');
  });
});

/** A finished route (ASB as the first concern, a victim who did not report it, violence second), at Check your answers. */
async function atCheckAnswers(concern2 = 'violence') {
  const r = new Respondent(t.app);
  await r.start();
  await r.answer('area', { area: 'gravesham' });
  await r.answer('concern-1', { concern_1: 'asb' });
  await r.answer('concern-1-asb', { concern_1_top3: ['drugs', 'fly_tipping'], concern_1_victim: 'yes' });
  await r.answer('concern-1-asb-reported', { concern_1_reported: 'no' });
  await r.answer('concern-2', { concern_2: concern2 });
  await r.answer(`concern-2-${concern2.replaceAll('_', '-')}`, { concern_2_victim: 'no' });
  await r.answer('concern-3');
  await r.answer('about-you', { gender: 'female', ethnicity: 'polish' });
  expect(await r.answer('postcode', { postcode: 'DA12 1AU' })).toBe('check-answers');
  return r;
}

/** Follows a redirect as a browser would, returning the page it leads to. */
async function follow(r: Respondent, res: { statusCode: number; headers: Record<string, unknown> }) {
  expect(res.statusCode).toBe(303);
  const location = String(res.headers.location);
  expect(location.startsWith('/s/csp-2019/')).toBe(true);
  return { location, page: await r.get(location.slice('/s/csp-2019/'.length)) };
}

/** The hidden fields a page's form carries back (the way back to Check your answers, the removals to tell). */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="(return|removed)" value="([^"]*)">/g))
    fields[m[1] as string] = (m[2] as string).replaceAll('&amp;', '&');
  return fields;
}

const ASB_REMOVED =
  'Your answers about Anti-social behaviour as your most important issue were removed because you changed your most important issue to Property crime.';

describe('changing an answer from Check your answers', () => {
  it('asks only the new follow-up, comes back to Check your answers and says what was removed', async () => {
    const r = await atCheckAnswers();
    const check = await r.get('check-answers');
    expect(check.body).toContain('href="/s/csp-2019/concern-1?return=check-answers"');

    const changed = await r.post('concern-1', { concern_1: 'property', return: 'check-answers' });
    const followUp = await follow(r, changed);
    expect(followUp.location).toMatch(
      /^\/s\/csp-2019\/concern-1-property\?return=check-answers&removed=[\w-]+\.[\w-]+$/,
    );
    // Carried on to Check your answers, to be told there; the page is left to its question.
    expect(followUp.page.body).not.toContain('Answers removed');
    expect(followUp.page.body).toContain('href="/s/csp-2019/concern-1?return=check-answers" class="govuk-back-link"');
    const carried = hiddenFields(followUp.page.body);
    expect(carried.return).toBe('check-answers');

    const answered = await r.post('concern-1-property', {
      concern_1_top3: ['scams'],
      concern_1_victim: 'no',
      ...carried,
    });
    const back = await follow(r, answered);
    expect(back.location).toMatch(/^\/s\/csp-2019\/check-answers\?removed=/);
    expect(back.page.statusCode).toBe(200);
    expect(back.page.body).toContain('Answers removed');
    expect(back.page.body).toContain(ASB_REMOVED);
    // The second concern, About you and the postcode were not asked again, and are all still there.
    for (const kept of ['Violence', 'Female', 'Polish', 'DA12 1', 'Theft through ‘scams’/deception'])
      expect(back.page.body).toContain(kept);
    expect(back.page.body).not.toContain('Fly-tipping');
    // Told once: Check your answers opened again says nothing more.
    expect((await r.get('check-answers')).body).not.toContain('Answers removed');

    await r.post('check-answers');
    const row = await onlyResponse();
    expect(row.status).toBe('complete');
    expect(await valuesOf(row.id)).toMatchObject({
      concern_1: ['property'],
      concern_1_top3: ['scams'],
      concern_2: ['violence'],
    });
    expect(row.answers).not.toContain('fly_tipping');
  });

  it('asks "Did you report" after a change to Yes, then comes straight back', async () => {
    const r = await atCheckAnswers();
    await r.answer('concern-2-violence', { concern_2_victim: 'no' });
    const changed = await r.post('concern-2-violence', { concern_2_victim: 'yes', return: 'check-answers' });
    const reported = await follow(r, changed);
    expect(reported.location).toBe('/s/csp-2019/concern-2-violence-reported?return=check-answers');
    expect(reported.page.body).not.toContain('Answers removed');
    // The question names what "this" is.
    expect(reported.page.body).toContain('Did you report this to the Police?');
    expect(reported.page.body).toContain('About the violent crime you were a victim of.');
    const back = await follow(
      r,
      await r.post('concern-2-violence-reported', { concern_2_reported: 'yes', return: 'check-answers' }),
    );
    expect(back.location).toBe('/s/csp-2019/check-answers');
    expect(back.page.body).toContain('Reported the violent crime to the Police');
  });

  it('says the reported answer was removed when the victim answer changes to No', async () => {
    const r = await atCheckAnswers();
    const back = await follow(r, await r.post('concern-1-asb', { concern_1_victim: 'no', return: 'check-answers' }));
    expect(back.location).toMatch(/^\/s\/csp-2019\/check-answers\?removed=/);
    expect(back.page.body).toContain(
      'Your answer to ‘Reported the ASB to the Police’ was removed because you changed your answer to ‘Victim of ASB’ to No.',
    );
  });

  it('asks the second concern again when the first now equals it, and says why its answers went', async () => {
    const r = await atCheckAnswers('property');
    const followUp = await follow(r, await r.post('concern-1', { concern_1: 'property', return: 'check-answers' }));
    expect(followUp.location).toMatch(/^\/s\/csp-2019\/concern-1-property\?return=check-answers&removed=/);
    const second = await follow(r, await r.post('concern-1-property', hiddenFields(followUp.page.body)));
    expect(second.location).toMatch(/^\/s\/csp-2019\/concern-2\?return=check-answers&removed=/);
    expect(second.page.body).not.toContain('value="property"');
    const next = await follow(
      r,
      await r.post('concern-2', { concern_2: 'substance', ...hiddenFields(second.page.body) }),
    );
    expect(next.location).toMatch(/^\/s\/csp-2019\/concern-2-substance\?return=check-answers&removed=/);
    const back = await follow(r, await r.post('concern-2-substance', hiddenFields(next.page.body)));
    expect(back.location).toMatch(/^\/s\/csp-2019\/check-answers\?removed=/);
    expect(back.page.body).toContain(ASB_REMOVED);
    expect(back.page.body).toContain(
      'Your answers about Property crime as your second most important issue were removed because Property crime is now your most important issue.',
    );
  });

  it('tells an ordinary Continue what it removed, on the next page only', async () => {
    const r = await atCheckAnswers();
    const next = await follow(r, await r.post('concern-1', { concern_1: 'property' }));
    expect(next.location).toMatch(/^\/s\/csp-2019\/concern-1-property\?removed=/);
    expect(next.page.body).toContain(ASB_REMOVED);
    // Not carried further: the next page after that says nothing.
    expect(hiddenFields(next.page.body)).toEqual({});
    const after = await follow(r, await r.post('concern-1-property', {}));
    expect(after.location).toBe('/s/csp-2019/concern-2');
    expect(after.page.body).not.toContain('Answers removed');
  });

  it('ignores a removal message that was forged, altered or made for another draft', async () => {
    const r = await atCheckAnswers();
    const followUp = await follow(r, await r.post('concern-1', { concern_1: 'property', return: 'check-answers' }));
    const sealed = hiddenFields(followUp.page.body).removed as string;
    const other = await atCheckAnswers();
    const [payload = '', mac = ''] = sealed.split('.');
    for (const value of [sealed, `${payload}x.${mac}`, `${payload}.${mac.slice(0, -2)}AA`, 'nonsense', '']) {
      const res = await other.get(`concern-2?removed=${encodeURIComponent(value)}`);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('Answers removed');
    }
  });
});

describe('check your answers', () => {
  it('lists the answers under headings by short keys, and carries the service name in its title', async () => {
    const r = await atCheckAnswers();
    const check = await r.get('check-answers');
    expect(check.body).toContain(
      '<title>Check your answers before sending them – Community Safety Priorities – Public Opinion Survey 2019</title>',
    );
    const headings = [...check.body.matchAll(/<h2 class="govuk-heading-m">([^<]+)<\/h2>/g)].map((m) => m[1]);
    expect(headings).toEqual([
      'Where you live',
      'Your first priority',
      'Your second priority',
      'Your third priority',
      'About you',
      'Now send your answers',
    ]);
    const keys = [...check.body.matchAll(/<dt class="govuk-summary-list__key">([^<]+)<\/dt>/g)].map((m) => m[1]);
    expect(keys).toEqual([
      'Local authority area',
      'Most important issue',
      'Top 3 Anti-Social Behaviour (ASB) issues',
      'Victim of ASB',
      'Reported the ASB to the Police',
      'Second most important issue',
      'Top 3 Violence issues',
      'Victim of violent crime',
      'Third most important issue',
      'Gender',
      'Age',
      'Ethnic background',
      'Registered disabled',
      'Postcode',
    ]);
    expect(check.body).not.toContain('You have not answered any of the questions');
    await r.post('check-answers');
    expect((await r.get('thank-you')).body).toContain(
      '<title>Thank you – Community Safety Priorities – Public Opinion Survey 2019</title>',
    );
  });

  it('warns that nothing has been answered, and still lets the respondent send', async () => {
    const r = new Respondent(t.app);
    await r.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    const check = await r.get('check-answers');
    expect(check.body).toContain('class="govuk-warning-text"');
    expect(check.body).toContain('You have not answered any of the questions. You can still send your response');
    expect(check.body).toContain('Send answers');
    expect((await r.post('check-answers')).headers.location).toBe('/s/csp-2019/thank-you');
    expect((await onlyResponse()).status).toBe('complete');
  });
});

describe('an old tab after "Start again" in another', () => {
  it('refuses the old page with 403 and "session refreshed", storing nothing, on or off the new route', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    // The first tab shows concern-1 (and area, from Back); its token is bound to this draft.
    const oldTab = r.csrf;
    // A second tab starts again: a new draft, with a new cookie the first tab now sends too.
    const startPage = await r.get('');
    expect(startPage.body).toContain('Start again with no answers');
    const restarted = await r.post('start', { restart: 'yes', _csrf: csrfTokenIn(startPage.body) });
    expect(restarted.headers.location).toBe('/s/csp-2019/area');
    const before = await snapshot();

    // A page the new draft has not reached: explained, nothing stored.
    const offRoute = await r.post('concern-1', { _csrf: oldTab, concern_1: 'asb' });
    expect(offRoute.statusCode).toBe(403);
    expect(offRoute.body).toContain('Your session was refreshed');
    expect(offRoute.body).toContain('Nothing on that page was saved');
    // A page on the new draft's route: shown again with the message and a fresh token.
    const onRoute = await r.post('area', { _csrf: oldTab, area: 'gravesham' });
    expect(onRoute.statusCode).toBe(403);
    expect(onRoute.body).toContain(
      'Your session was refreshed, please check this page and press Continue again. Nothing on this page was saved.',
    );
    expect(await snapshot()).toEqual(before);
    // Pressing Continue on the page shown saves it into the new draft.
    expect(await r.answer('area', { _csrf: csrfTokenIn(onRoute.body), area: 'gravesham' })).toBe('concern-1');
  });

  it('refuses the old tab’s Send with 403, saying nothing was sent, when the new draft is not finished', async () => {
    const r = new Respondent(t.app);
    await r.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    const oldTab = r.csrf;
    const startPage = await r.get('');
    await r.post('start', { restart: 'yes', _csrf: csrfTokenIn(startPage.body) });
    const before = await snapshot();
    const send = await r.post('check-answers', { _csrf: oldTab });
    expect(send.statusCode).toBe(403);
    expect(send.body).toContain('Your session was refreshed');
    expect(send.body).toContain('Your answers were not sent');
    expect(await snapshot()).toEqual(before);
    expect((await t.db.selectFrom('responses').select('status').execute()).map((x) => x.status)).toEqual([
      'partial',
      'partial',
    ]);
  });
});

describe('drafts', () => {
  it('lets a respondent who comes back resume where they were', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'gravesham' });
    await r.answer('concern-1', { concern_1: 'property' });
    // The phone died; later the same browser opens the link again.
    const start = await t.app.inject({ url: '/s/csp-2019', headers: { cookie: r.cookie } });
    expect(start.body).toContain('Continue where you left off');
    expect(start.body).toContain('href="/s/csp-2019/concern-1-property"');
    const again = await r.start();
    expect(again.headers.location).toBe('/s/csp-2019/concern-1-property');
    const page = await r.get('area');
    expect(page.body).toMatch(/value="gravesham" checked/);
    expect(await t.db.selectFrom('responses').select('id').execute()).toHaveLength(1);
  });

  it('counts a started draft as partial', async () => {
    const r = new Respondent(t.app);
    await r.start('poster');
    await r.answer('area', { area: 'dartford' });
    const row = await onlyResponse();
    expect(row.status).toBe('partial');
    expect(row.channel).toBe('poster');
    expect(await valuesOf(row.id)).toEqual({ area: ['dartford'] });
  });

  it('makes one response from a double submit or a replayed POST', async () => {
    const r = new Respondent(t.app);
    await r.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    const [a, b] = await Promise.all([r.post('check-answers'), r.post('check-answers')]);
    expect(a.headers.location).toBe('/s/csp-2019/thank-you');
    expect(b.headers.location).toBe('/s/csp-2019/thank-you');
    const replay = await r.post('check-answers');
    expect(replay.headers.location).toBe('/s/csp-2019/thank-you');
    const rows = await t.db.selectFrom('responses').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('complete');
    // A completed response cannot be changed afterwards.
    const late = await r.post('area', { area: 'gravesham' });
    expect(late.headers.location).toBe('/s/csp-2019/thank-you');
    expect(await valuesOf(rows[0]!.id)).toEqual({});
  });

  it('does not send a response whose route is unfinished', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area');
    const res = await r.post('check-answers');
    expect(res.headers.location).toBe('/s/csp-2019/concern-1');
    expect((await onlyResponse()).status).toBe('partial');
  });

  it('lets another member of the household start a new response after one is complete', async () => {
    const r = new Respondent(t.app);
    await r.start();
    for (const page of ['area', 'concern-1', 'concern-2', 'concern-3', 'about-you', 'postcode']) await r.answer(page);
    await r.post('check-answers');
    const start = await t.app.inject({ url: '/s/csp-2019', headers: { cookie: r.cookie } });
    expect(start.body).toContain('You have already completed this survey');
    const res = await t.app.inject({
      method: 'POST',
      url: '/s/csp-2019/start',
      headers: { ...FORM, cookie: r.cookie },
      payload: form({ restart: 'yes', _csrf: csrfTokenIn(start.body) }),
    });
    expect(res.headers.location).toBe('/s/csp-2019/area');
    const statuses = (await t.db.selectFrom('responses').select('status').execute()).map((x) => x.status).sort();
    expect(statuses).toEqual(['complete', 'partial']);
  });

  it('records an unknown src as web', async () => {
    const r = new Respondent(t.app);
    await r.start('<script>alert(1)</script>');
    expect((await onlyResponse()).channel).toBe('web');
  });
});

describe('entry', () => {
  it('sends / to the only open survey, keeping the channel', async () => {
    const res = await t.app.inject({ url: '/?src=poster' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/s/csp-2019?src=poster');
  });

  it('carries the channel from the link into the start form', async () => {
    const res = await t.app.inject({ url: '/s/csp-2019?src=newsletter' });
    expect(res.body).toContain('name="src" value="newsletter"');
    expect(res.body).toContain('Community Safety Priorities – Public Opinion Survey 2019');
    expect(res.body).toContain('you are not asked to provide your name or address');
  });
});

describe('open and close dates', () => {
  const opens = '2019-02-18T09:00:00Z';
  const closes = '2019-03-03T17:00:00Z';

  async function appAt(now: string) {
    await t.close();
    t = await makeApp({ surveys: [cspSurvey({ opensAt: opens, closesAt: closes })], now: () => new Date(now) });
  }

  it('says when a survey opens, and accepts nothing before then', async () => {
    await appAt('2019-02-01T12:00:00Z');
    const start = await t.app.inject({ url: '/s/csp-2019' });
    expect(start.body).toContain('This survey opens on 18 February 2019 at 9am');
    expect(start.body).not.toContain('Start now');
    const r = new Respondent(t.app);
    const res = await r.start();
    expect(res.statusCode).toBe(403);
    expect(await t.db.selectFrom('responses').select('id').execute()).toHaveLength(0);
  });

  it('says a closed survey is closed, and refuses answers and submissions from drafts begun while open', async () => {
    let now = '2019-03-03T16:00:00Z';
    await t.close();
    t = await makeApp({ surveys: [cspSurvey({ opensAt: opens, closesAt: closes })], now: () => new Date(now) });
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    now = '2019-03-03T17:00:00Z';
    const before = await snapshot();
    const start = await t.app.inject({ url: '/s/csp-2019' });
    expect(start.body).toContain('This survey closed on 3 March 2019 at 5pm');
    const posted = await r.post('concern-1', { concern_1: 'asb' });
    expect(posted.statusCode).toBe(403);
    expect(posted.body).toContain('closed');
    expect((await r.get('concern-1')).headers.location).toBe('/s/csp-2019');
    expect((await r.post('check-answers')).statusCode).toBe(403);
    expect(await snapshot()).toEqual(before);
    const home = await t.app.inject({ url: '/' });
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('There are no surveys open at the moment');
  });
  it('applies dates set elsewhere (another instance, the command line) within a second', async () => {
    const r = new Respondent(t.app);
    await r.start();
    await r.answer('area', { area: 'dartford' });
    // Written to the database directly, as another instance would: this one learns of it when its kept dates expire.
    await t.db
      .insertInto('survey_schedules')
      .values({ survey: 'csp-2019', opens_at: null, closes_at: '2001-01-01T00:00:00Z', updated_at: 'now' })
      .execute();
    await new Promise((resolve) => setTimeout(resolve, SCHEDULE_TTL_MS + 50));
    const before = await snapshot();
    const posted = await r.post('concern-1', { concern_1: 'asb' });
    expect(posted.statusCode).toBe(403);
    expect(posted.body).toContain('closed');
    expect(await snapshot()).toEqual(before);
  });
});
