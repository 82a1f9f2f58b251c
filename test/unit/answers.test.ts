import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePage, preferNotField } from '../../src/survey/answers.ts';
import { optionsOf, type Page } from '../../src/survey/definition.ts';
import { type Answers, type Journey, journey } from '../../src/survey/journey.ts';
import { cspSurvey } from '../helpers.ts';
import { typedPostcode, walkFrom } from './survey-paths.ts';

const survey = cspSurvey();
const page = (id: string) => survey.pageById.get(id) as Page;
const area = page('area');
const violence = page('concern-1-violence');
const concern2 = page('concern-2');
const postcode = page('postcode');
const PREFER = preferNotField(postcode.questions[0]!);

describe('parsing one page of answers', () => {
  it('accepts a blank page as no answers', () => {
    expect(parsePage(area, {}, {})).toEqual({ kind: 'ok', answers: {} });
    expect(parsePage(violence, { concern_1_top3: [], concern_1_victim: '' }, { concern_1: 'violence' })).toEqual({
      kind: 'ok',
      answers: {},
    });
  });

  it('ignores the page form own fields', () => {
    expect(parsePage(area, { _csrf: 'token', return: 'check-answers', area: 'gravesham' }, {})).toEqual({
      kind: 'ok',
      answers: { area: 'gravesham' },
    });
  });

  it('accepts a radio answer', () => {
    expect(parsePage(area, { area: 'dartford' }, {})).toEqual({ kind: 'ok', answers: { area: 'dartford' } });
  });

  it('accepts a yes/no answer and ticks together', () => {
    const result = parsePage(
      violence,
      { concern_1_top3: ['hate_crime', 'robbery'], concern_1_victim: 'no' },
      { concern_1: 'violence' },
    );
    expect(result).toEqual({
      kind: 'ok',
      answers: { concern_1_top3: ['hate_crime', 'robbery'], concern_1_victim: 'no' },
    });
  });

  it('accepts a single tick sent as a plain string', () => {
    expect(parsePage(violence, { concern_1_top3: 'robbery' }, {})).toEqual({
      kind: 'ok',
      answers: { concern_1_top3: ['robbery'] },
    });
  });

  it('finds a code the question does not have, on that question', () => {
    expect(parsePage(area, { area: 'medway' }, {})).toEqual({
      kind: 'invalid',
      errors: [{ field: 'area', message: 'Select one of the options shown' }],
      form: { area: 'medway' },
    });
  });

  it('finds two answers to a radio', () => {
    const result = parsePage(area, { area: ['dartford', 'gravesham'] }, {});
    expect(result).toEqual({
      kind: 'invalid',
      errors: [{ field: 'area', message: 'Select one option only' }],
      form: { area: ['dartford', 'gravesham'] },
    });
  });

  it('finds both yes and no', () => {
    const result = parsePage(violence, { concern_1_victim: ['yes', 'no'] }, {});
    expect(result.kind === 'invalid' && result.errors).toEqual([
      { field: 'concern_1_victim', message: 'Select yes or no, not both' },
    ]);
  });

  it('finds four ticks on a top 3', () => {
    const ticks = ['youth_violence', 'robbery', 'hate_crime', 'domestic_abuse'];
    expect(parsePage(violence, { concern_1_top3: ticks }, {})).toEqual({
      kind: 'invalid',
      errors: [{ field: 'concern_1_top3', message: 'Select up to 3 issues' }],
      form: { concern_1_top3: ticks },
    });
  });

  it('counts a box ticked twice once', () => {
    const result = parsePage(violence, { concern_1_top3: ['robbery', 'robbery', 'hate_crime', 'robbery'] }, {});
    expect(result).toEqual({ kind: 'ok', answers: { concern_1_top3: ['robbery', 'hate_crime'] } });
  });

  it('finds a code of another category follow-up', () => {
    const result = parsePage(violence, { concern_1_top3: ['robbery', 'fly_tipping'] }, { concern_1: 'violence' });
    expect(result.kind === 'invalid' && result.errors).toEqual([
      { field: 'concern_1_top3', message: 'Select from the options shown' },
    ]);
  });

  it('finds a category already chosen first given as the second', () => {
    const result = parsePage(concern2, { concern_2: 'violence' }, { concern_1: 'violence' });
    expect(result.kind === 'invalid' && result.errors).toEqual([
      { field: 'concern_2', message: 'Select one of the options shown' },
    ]);
    expect(parsePage(concern2, { concern_2: 'property' }, { concern_1: 'violence' })).toEqual({
      kind: 'ok',
      answers: { concern_2: 'property' },
    });
  });

  it('finds errors on every question of the page, in page order', () => {
    const result = parsePage(violence, { concern_1_victim: 'maybe', concern_1_top3: ['x', 'y'] }, {});
    expect(result.kind === 'invalid' && result.errors.map((e) => e.field)).toEqual([
      'concern_1_top3',
      'concern_1_victim',
    ]);
  });

  describe('refuses a body no form of ours sends', () => {
    it.each([
      ['an unknown field', { area: 'dartford', gender: 'male' }],
      ['a field of another page', { concern_2: 'violence' }],
      ['a nested object', { area: { code: 'dartford' } }],
      ['a nested array', { area: [['dartford']] }],
      ['a number', { area: 1 }],
      ['a boolean', { area: true }],
      ['a null value', { area: null }],
      ['an undefined value', { area: undefined }],
      ['too many values', { area: Array.from({ length: 51 }, () => 'dartford') }],
      ['a constructor key', { constructor: 'dartford' }],
      ['a __proto__ key', JSON.parse('{"__proto__": "dartford"}')],
      ['a __proto__ key holding an object', JSON.parse('{"__proto__": {"area": "dartford"}}')],
      ['a hasOwnProperty key', { hasOwnProperty: 'x' }],
    ])('%s', (_, body) => {
      expect(parsePage(area, body, {})).toMatchObject({ kind: 'refused' });
    });

    it.each([
      ['nothing', undefined],
      ['null', null],
      ['a string', 'area=dartford'],
      ['an array', [['area', 'dartford']]],
    ])('%s instead of a form', (_, body) => {
      expect(parsePage(area, body, {})).toMatchObject({ kind: 'refused' });
    });

    it('with a reason a person can read', () => {
      const result = parsePage(area, { nonsense: 'x' }, {});
      expect(result).toEqual({ kind: 'refused', reason: 'The form had a field this page does not ask for.' });
    });
  });

  it('does not read a prototype to find answers', () => {
    const body = Object.create({ area: 'dartford' });
    expect(parsePage(area, body, {})).toEqual({ kind: 'ok', answers: {} });
  });

  describe('a postcode', () => {
    const parse = (body: Record<string, unknown>) => parsePage(postcode, body, {});

    it.each([
      ['DA12 1AU', 'DA12 1'],
      ['da12 1au', 'DA12 1'],
      ['DA121AU', 'DA12 1'],
      ['  da12   1au  ', 'DA12 1'],
      ['ＤＡ１２ １ＡＵ', 'DA12 1'],
      ['ｄａ１２\u3000１ａｕ', 'DA12 1'],
      ['DA12\u00A01AU', 'DA12 1'],
      ['DA12\u200B1AU', 'DA12 1'],
      ['\uFEFFDA12 1AU\u2060', 'DA12 1'],
      ['DA\u200B12 1AU', 'DA12 1'],
      ['DA12\t1AU\n', 'DA12 1'],
      ['DA12 1', 'DA12 1'],
      ['EC1A 1BB', 'EC1A 1'],
    ])('keeps only the sector of %j', (typed, sector) => {
      expect(parse({ postcode: typed })).toEqual({ kind: 'ok', answers: { postcode: sector } });
    });

    it('refuses a postcode in the wrong format, with a message and the typed value', () => {
      expect(parse({ postcode: 'DA12 1CU' })).toEqual({
        kind: 'invalid',
        errors: [{ field: 'postcode', message: 'Enter a real postcode, like DA12 1AU' }],
        form: { postcode: 'DA12 1CU' },
      });
    });

    it.each([
      ['an emoji', '🏠 DA12 1AU'],
      ['an emoji alone', '📮'],
      ['right-to-left text', 'دارتفورد'],
      ['a right-to-left override', '\u202EDA12 1AU'],
      ['a NUL', 'DA12\u00001AU'],
      ['a lone surrogate', 'DA12 1A\uD800'],
      ['only a lone surrogate', '\uDC00'],
      ['a combining accent', 'DA12 1A\u0301U'],
      ['markup', '<script>DA12 1AU</script>'],
      ['a very long value', 'DA12 1AU'.repeat(10_000)],
      ['a full postcode without its inward letters', 'DA12'],
    ])('finds %s invalid, without failing', (_, typed) => {
      const result = parse({ postcode: typed });
      expect(result.kind).toBe('invalid');
      expect(result.kind === 'invalid' && result.errors[0]?.field).toBe('postcode');
    });

    it('finds two postcodes invalid', () => {
      expect(parse({ postcode: ['DA12 1AU', 'DA1 1AA'] }).kind).toBe('invalid');
    });

    it('stores "prefer not to say" ticked alone as its code', () => {
      expect(parse({ [PREFER]: 'prefer_not_to_say' })).toEqual({
        kind: 'ok',
        answers: { postcode: 'prefer_not_to_say' },
      });
      expect(parse({ postcode: '  ', [PREFER]: 'prefer_not_to_say' })).toEqual({
        kind: 'ok',
        answers: { postcode: 'prefer_not_to_say' },
      });
    });

    it('finds both a postcode and "prefer not to say" invalid', () => {
      expect(parse({ postcode: 'DA12 1AU', [PREFER]: 'prefer_not_to_say' })).toEqual({
        kind: 'invalid',
        errors: [{ field: 'postcode', message: 'Enter a postcode or select ‘Prefer not to say’, not both' }],
        form: { postcode: 'DA12 1AU', [PREFER]: ['prefer_not_to_say'] },
      });
    });

    it('finds a made-up value in the "prefer not to say" box invalid', () => {
      const result = parse({ [PREFER]: 'yes' });
      expect(result.kind === 'invalid' && result.errors).toEqual([
        { field: 'postcode', message: 'Select from the options shown' },
      ]);
    });

    it('does not accept a typed "prefer_not_to_say" as a postcode', () => {
      expect(parse({ postcode: 'prefer_not_to_say' }).kind).toBe('invalid');
    });

    it('keeps a blank postcode blank', () => {
      expect(parse({ postcode: '' })).toEqual({ kind: 'ok', answers: {} });
    });

    it('keeps the sector, never the full postcode, for any real postcode', () => {
      fc.assert(
        fc.property(typedPostcode, (typed) => {
          const result = parse({ postcode: typed });
          expect(result.kind).toBe('ok');
          const stored = result.kind === 'ok' ? (result.answers.postcode as string) : '';
          expect(stored).toMatch(/^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9]$/);
          expect(typed.replace(/\s/g, '').toUpperCase()).toContain(stored.replace(' ', ''));
        }),
      );
    });
  });
});

// Bodies a person or a robot might send to one page: its own field names and
// others, codes of the page and of others, and any text at all.
const anyText = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.string(),
);
function bodies(p: Page): fc.Arbitrary<Record<string, unknown>> {
  const names = p.questions.flatMap((q) => (q.type === 'text' ? [q.id, preferNotField(q)] : [q.id]));
  const codes = [
    ...new Set(survey.pages.flatMap((sp) => sp.questions.flatMap((q) => optionsOf(q).map((o) => o.code)))),
  ];
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...codes) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: typedPostcode },
    { weight: 2, arbitrary: anyText },
  );
  const name = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom('_csrf', 'return', '__proto__', 'constructor', 'toString') },
    { weight: 1, arbitrary: anyText },
  );
  return fc.dictionary(name, fc.oneof(value, fc.array(value, { maxLength: 5 })), { maxKeys: 4 });
}

describe('parsing any body', () => {
  it('never throws, and answers only the page questions from what was sent', () => {
    const cases = fc.constantFrom(...survey.pages).chain((p) => fc.tuple(fc.constant(p), bodies(p)));
    fc.assert(
      fc.property(cases, ([p, body]) => {
        const result = parsePage(p, body, {});
        expect(['ok', 'invalid', 'refused']).toContain(result.kind);
        if (result.kind === 'ok') {
          const ids = p.questions.map((q) => q.id);
          for (const id of Object.keys(result.answers)) expect(ids).toContain(id);
        }
        if (result.kind === 'invalid') {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const error of result.errors) expect(error.message).not.toBe('');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives answers the journey accepts whenever it accepts a page', () => {
    // A respondent part-way through, at a random page on their route, sends a random body.
    const at = walkFrom(survey).chain(({ steps }) =>
      fc
        .constantFrom(...steps.filter((j) => !j.complete))
        .chain((j) => bodies(j.route.at(-1) as Page).map((body) => ({ j, body }))),
    );
    let accepted = 0;
    fc.assert(
      fc.property(at, ({ j, body }: { j: Journey; body: Record<string, unknown> }) => {
        const p = survey.pageById.get(j.next) as Page;
        const result = parsePage(p, body, j.values);
        if (result.kind !== 'ok') return;
        accepted++;
        const answers: Answers = { ...j.kept, [p.id]: result.answers };
        const after = journey(survey, answers);
        // The page now counts as answered, with every answer given, and the journey has moved past it.
        expect(after.answers[p.id]).toBeDefined();
        expect(Object.keys(after.answers[p.id] ?? {}).sort()).toEqual(Object.keys(result.answers).sort());
        for (const [id, value] of Object.entries(result.answers)) {
          const kept = after.answers[p.id]?.[id];
          expect(Array.isArray(value) ? [...value].sort() : value).toEqual(
            Array.isArray(kept) ? [...kept].sort() : kept,
          );
        }
        expect(after.next).not.toBe(p.id);
        expect(after.route.findIndex((r) => r.id === p.id)).toBe(j.route.length - 1);
      }),
      { numRuns: 1000 },
    );
    // The property means nothing unless some bodies were accepted.
    expect(accepted).toBeGreaterThan(50);
  });
});
