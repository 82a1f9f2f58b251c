import { describe, expect, it } from 'vitest';
import { formatWhen, fromLondonTime, surveyState, toLondonTime } from '../../src/survey/schedule.ts';
import { cspSurvey } from '../helpers.ts';

const opensAt = '2019-02-18T09:00:00Z';
const closesAt = '2019-03-03T17:00:00Z';
const at = (iso: string) => new Date(iso);

describe('whether a survey is open', () => {
  const dated = { opensAt, closesAt };

  it('is not yet open before its open date, saying when it opens', () => {
    expect(surveyState(dated, at('2019-02-18T08:59:59.999Z'))).toEqual({
      open: false,
      reason: 'not-yet-open',
      at: at(opensAt),
    });
  });

  it('is open from the moment it opens', () => {
    expect(surveyState(dated, at(opensAt))).toEqual({ open: true });
  });

  it('is open until the moment it closes', () => {
    expect(surveyState(dated, at('2019-03-03T16:59:59.999Z'))).toEqual({ open: true });
  });

  it('is closed at its close date, saying when it closed', () => {
    expect(surveyState(dated, at(closesAt))).toEqual({ open: false, reason: 'closed', at: at(closesAt) });
  });

  it('is closed after its close date', () => {
    expect(surveyState(dated, at('2026-01-01T00:00:00Z'))).toMatchObject({ open: false, reason: 'closed' });
  });

  it('is always open without dates', () => {
    expect(surveyState({}, at('1990-01-01T00:00:00Z'))).toEqual({ open: true });
    expect(surveyState({}, at('2100-01-01T00:00:00Z'))).toEqual({ open: true });
  });

  it('is open until it closes when it has only a close date', () => {
    expect(surveyState({ closesAt }, at('2000-01-01T00:00:00Z'))).toEqual({ open: true });
    expect(surveyState({ closesAt }, at(closesAt))).toMatchObject({ reason: 'closed' });
  });

  it('stays open once opened when it has only an open date', () => {
    expect(surveyState({ opensAt }, at('2100-01-01T00:00:00Z'))).toEqual({ open: true });
    expect(surveyState({ opensAt }, at('2000-01-01T00:00:00Z'))).toMatchObject({ reason: 'not-yet-open' });
  });

  it('reads dates with an offset', () => {
    const bst = { opensAt: '2019-06-01T09:00:00+01:00' };
    expect(surveyState(bst, at('2019-06-01T08:00:00Z'))).toEqual({ open: true });
    expect(surveyState(bst, at('2019-06-01T07:59:59Z'))).toMatchObject({ reason: 'not-yet-open' });
  });

  it('uses the dates of the CSP survey when a council sets them', () => {
    const survey = cspSurvey({ opensAt, closesAt });
    expect(surveyState(survey, at('2019-02-25T12:00:00Z'))).toEqual({ open: true });
    expect(surveyState(survey, at('2019-03-04T12:00:00Z'))).toMatchObject({ reason: 'closed' });
    expect(surveyState(cspSurvey(), at('2019-03-04T12:00:00Z'))).toEqual({ open: true });
  });
});

describe('a date as residents read it', () => {
  it.each([
    ['2019-03-03T17:00:00Z', '3 March 2019 at 5pm'],
    ['2019-02-18T09:00:00Z', '18 February 2019 at 9am'],
    ['2019-03-03T17:30:00Z', '3 March 2019 at 5:30pm'],
    ['2019-03-03T00:00:00Z', '3 March 2019 at 12am'],
    ['2019-03-03T12:00:00Z', '3 March 2019 at 12pm'],
    ['2019-03-03T10:05:00Z', '3 March 2019 at 10:05am'],
    ['2019-12-31T23:59:00Z', '31 December 2019 at 11:59pm'],
  ])('shows %s as "%s"', (iso, shown) => {
    expect(formatWhen(at(iso))).toBe(shown);
  });

  it('is in UK summer time in summer', () => {
    expect(formatWhen(at('2019-07-03T16:00:00Z'))).toBe('3 July 2019 at 5pm');
    expect(formatWhen(at('2019-06-30T23:30:00Z'))).toBe('1 July 2019 at 12:30am');
  });
});

describe('a UK local date and time typed into a form', () => {
  it('is read as GMT in winter and BST in summer', () => {
    expect(fromLondonTime('2019-03-03T17:00')?.toISOString()).toBe('2019-03-03T17:00:00.000Z');
    expect(fromLondonTime('2019-07-03T17:00')?.toISOString()).toBe('2019-07-03T16:00:00.000Z');
  });

  it('is read correctly either side of the clocks changing', () => {
    expect(fromLondonTime('2019-03-31T00:30')?.toISOString()).toBe('2019-03-31T00:30:00.000Z');
    expect(fromLondonTime('2019-03-31T02:30')?.toISOString()).toBe('2019-03-31T01:30:00.000Z');
    expect(fromLondonTime('2019-10-27T00:30')?.toISOString()).toBe('2019-10-26T23:30:00.000Z');
    expect(fromLondonTime('2019-10-27T02:30')?.toISOString()).toBe('2019-10-27T02:30:00.000Z');
  });

  it.each(['', '2019-03-03', '2019-03-03 17:00', '2019-02-30T12:00', '2019-13-01T12:00', '2019-03-03T24:00', 'soon'])(
    'is refused when it is %j',
    (typed) => {
      expect(fromLondonTime(typed)).toBeNull();
    },
  );

  it('is shown again as it was typed', () => {
    for (const typed of ['2019-03-03T17:00', '2019-07-03T09:15', '2019-10-27T00:30', '2020-02-29T23:59']) {
      expect(toLondonTime(fromLondonTime(typed) as Date)).toBe(typed);
    }
  });
});
