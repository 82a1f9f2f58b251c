import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECK_ANSWERS, optionsOf, type Page } from '../../src/survey/definition.ts';
import {
  type Answers,
  availableOptions,
  type Journey,
  journey,
  nextPageId,
  removedAnswers,
  type Values,
} from '../../src/survey/journey.ts';
import { cspSurvey } from '../helpers.ts';
import { pageAnswers, walkFrom } from './survey-paths.ts';

const survey = cspSurvey();
const CATEGORIES = ['violence', 'property', 'town_centre', 'asb', 'substance'];
const followUp = (n: number, category: string) => `concern-${n}-${category.replaceAll('_', '-')}`;
const ids = (pages: Page[]) => pages.map((p) => p.id);
const page = (id: string) => survey.pageById.get(id) as Page;

/** A respondent who answered everything: violence (victim, did not report), property, then ASB. */
const finished: Answers = {
  area: { area: 'dartford' },
  'concern-1': { concern_1: 'violence' },
  'concern-1-violence': { concern_1_top3: ['robbery', 'youth_violence'], concern_1_victim: 'yes' },
  'concern-1-violence-reported': { concern_1_reported: 'no' },
  'concern-2': { concern_2: 'property' },
  'concern-2-property': { concern_2_top3: ['scams'], concern_2_victim: 'no' },
  'concern-3': { concern_3: 'asb' },
  'concern-3-asb': { concern_3_top3: ['fly_tipping', 'drugs', 'alcohol_asb'] },
  'about-you': { gender: 'female', age: '35_44', disability: 'no' },
  postcode: { postcode: 'DA12 1' },
};

describe('journey through the CSP survey', () => {
  it('starts at the area page with nothing answered', () => {
    const j = journey(survey, {});
    expect(j.next).toBe('area');
    expect(j.complete).toBe(false);
    expect(ids(j.route)).toEqual(['area']);
    expect(j.answers).toEqual({});
    expect(j.kept).toEqual({});
  });

  it('follows a finished response to check-answers with every answer applying', () => {
    const j = journey(survey, finished);
    expect(j.complete).toBe(true);
    expect(j.next).toBe(CHECK_ANSWERS);
    expect(ids(j.route)).toEqual(Object.keys(finished));
    expect(j.values).toMatchObject({
      concern_1: 'violence',
      concern_2: 'property',
      concern_3: 'asb',
      postcode: 'DA12 1',
    });
    expect(j.kept).toEqual(j.answers);
  });

  it('puts ticked codes in codebook order, not the order they were ticked', () => {
    const j = journey(survey, finished);
    expect(j.values.concern_1_top3).toEqual(['youth_violence', 'robbery']);
    expect(j.values.concern_3_top3).toEqual(['alcohol_asb', 'drugs', 'fly_tipping']);
  });

  it('goes from a blank first concern straight to the second', () => {
    const j = journey(survey, { area: { area: 'gravesham' }, 'concern-1': {} });
    expect(j.next).toBe('concern-2');
    expect(ids(j.route)).toEqual(['area', 'concern-1', 'concern-2']);
    expect(j.answers['concern-1']).toEqual({});
  });

  it('goes from blank concerns all the way to About you', () => {
    const j = journey(survey, { area: {}, 'concern-1': {}, 'concern-2': {}, 'concern-3': {} });
    expect(j.next).toBe('about-you');
  });

  it('goes to the chosen category follow-up', () => {
    for (const category of CATEGORIES) {
      const j = journey(survey, { area: {}, 'concern-1': { concern_1: category } });
      expect(j.next).toBe(followUp(1, category));
    }
  });

  it('asks whether it was reported after a yes to the victim question', () => {
    const j = journey(survey, {
      area: {},
      'concern-1': { concern_1: 'substance' },
      'concern-1-substance': { concern_1_victim: 'yes' },
    });
    expect(j.next).toBe('concern-1-substance-reported');
  });

  it.each([
    ['no', { concern_1_victim: 'no' }],
    ['left blank', { concern_1_top3: ['cannabis'] }],
  ])('skips the reported question when the victim question is %s', (_, answers) => {
    const j = journey(survey, {
      area: {},
      'concern-1': { concern_1: 'substance' },
      'concern-1-substance': answers,
    });
    expect(j.next).toBe('concern-2');
    expect(ids(j.route)).not.toContain('concern-1-substance-reported');
  });

  it('drops a reported answer once the victim answer changes to no', () => {
    const j = journey(survey, {
      ...finished,
      'concern-1-violence': { concern_1_victim: 'no' },
    });
    expect(j.complete).toBe(true);
    expect(j.answers).not.toHaveProperty('concern-1-violence-reported');
    expect(j.values).not.toHaveProperty('concern_1_reported');
  });

  it('leaves the first concern out of the second', () => {
    const values: Values = { concern_1: 'town_centre' };
    const codes = availableOptions(page('concern-2').questions[0]!, values).map((o) => o.code);
    expect(codes).toEqual(['violence', 'property', 'asb', 'substance']);
  });

  it('leaves both earlier concerns out of the third', () => {
    const values: Values = { concern_1: 'town_centre', concern_2: 'violence' };
    const codes = availableOptions(page('concern-3').questions[0]!, values).map((o) => o.code);
    expect(codes).toEqual(['property', 'asb', 'substance']);
  });

  it('offers every category on the third when the earlier two were left blank', () => {
    const codes = availableOptions(page('concern-3').questions[0]!, {}).map((o) => o.code);
    expect(codes).toEqual(CATEGORIES);
  });

  it('asks the second concern again when it repeats the first', () => {
    const j = journey(survey, {
      area: {},
      'concern-1': { concern_1: 'asb' },
      'concern-1-asb': {},
      'concern-2': { concern_2: 'asb' },
    });
    expect(j.next).toBe('concern-2');
    expect(j.answers).not.toHaveProperty('concern-2');
    expect(j.values).not.toHaveProperty('concern_2');
  });

  it('asks the third concern again when it repeats the second', () => {
    const j = journey(survey, { ...finished, 'concern-3': { concern_3: 'property' } });
    expect(j.complete).toBe(false);
    expect(j.next).toBe('concern-3');
  });

  describe('after the first concern is changed', () => {
    const changed = journey(survey, { ...finished, 'concern-1': { concern_1: 'substance' } });

    it('asks the new category follow-up next', () => {
      expect(changed.next).toBe('concern-1-substance');
      expect(changed.complete).toBe(false);
    });

    it('drops the old follow-up and its reported answer', () => {
      for (const dropped of ['concern-1-violence', 'concern-1-violence-reported']) {
        expect(changed.answers).not.toHaveProperty(dropped);
        expect(changed.kept).not.toHaveProperty(dropped);
      }
      expect(changed.values).not.toHaveProperty('concern_1_top3');
      expect(changed.values).not.toHaveProperty('concern_1_reported');
    });

    it('keeps About you, the postcode and the later concerns for the draft', () => {
      expect(changed.kept['about-you']).toEqual(finished['about-you']);
      expect(changed.kept.postcode).toEqual(finished.postcode);
      expect(changed.kept['concern-2']).toEqual(finished['concern-2']);
      expect(changed.kept['concern-2-property']).toEqual(finished['concern-2-property']);
      expect(changed.kept['concern-3-asb']).toEqual({ concern_3_top3: ['alcohol_asb', 'drugs', 'fly_tipping'] });
      // ...but only the route counts as answered.
      expect(Object.keys(changed.answers)).toEqual(['area', 'concern-1']);
    });

    it('needs only the new follow-up answered to be complete again', () => {
      const again = journey(survey, { ...changed.kept, 'concern-1-substance': { concern_1_victim: 'no' } });
      expect(again.complete).toBe(true);
      expect(again.values.concern_1).toBe('substance');
      expect(again.values.gender).toBe('female');
      expect(again.values.concern_1_reported).toBeUndefined();
    });
  });

  describe('after the first concern is changed to the category chosen second', () => {
    const changed = journey(survey, { ...finished, 'concern-1': { concern_1: 'property' } });

    it('drops the second concern and the follow-up of the category no longer chosen second', () => {
      expect(changed.next).toBe('concern-1-property');
      expect(changed.kept).not.toHaveProperty('concern-2');
      expect(changed.kept).not.toHaveProperty('concern-2-property');
      expect(changed.kept).not.toHaveProperty('concern-1-violence');
    });

    it('keeps the third concern, About you and the postcode', () => {
      expect(changed.kept['concern-3']).toEqual({ concern_3: 'asb' });
      expect(changed.kept['concern-3-asb']).toBeDefined();
      expect(changed.kept['about-you']).toEqual(finished['about-you']);
      expect(changed.kept.postcode).toEqual(finished.postcode);
    });

    it('asks the second concern again once the new follow-up is answered', () => {
      const again = journey(survey, { ...changed.kept, 'concern-1-property': { concern_1_top3: ['scams'] } });
      expect(again.next).toBe('concern-2');
      expect(availableOptions(page('concern-2').questions[0]!, again.values).map((o) => o.code)).not.toContain(
        'property',
      );
    });
  });

  it('asks the third concern again when the first is changed to it', () => {
    const changed = journey(survey, { ...finished, 'concern-1': { concern_1: 'asb' } });
    expect(changed.kept).not.toHaveProperty('concern-3');
    expect(changed.kept).not.toHaveProperty('concern-3-asb');
    expect(changed.kept['concern-2']).toEqual({ concern_2: 'property' });
    const again = journey(survey, { ...changed.kept, 'concern-1-asb': {} });
    expect(again.next).toBe('concern-3');
  });

  it('keeps nothing of a branch that was never taken', () => {
    const j = journey(survey, {
      area: {},
      'concern-1': { concern_1: 'violence' },
      'concern-1-property': { concern_1_victim: 'yes' },
      'concern-1-property-reported': { concern_1_reported: 'yes' },
    });
    expect(j.next).toBe('concern-1-violence');
    expect(j.kept).toEqual({ area: {}, 'concern-1': { concern_1: 'violence' } });
  });

  it.each([
    ['a code the question does not have', { area: 'medway' }],
    ['several codes for a single choice', { area: ['dartford', 'gravesham'] }],
    ['a code of another question', { area: 'yes' }],
  ])('asks a page again whose stored answer is %s', (_, answers) => {
    const j = journey(survey, { area: answers as never, 'concern-1': {} });
    expect(j.next).toBe('area');
    expect(j.answers).toEqual({});
  });

  it.each([
    ['more than three ticks', ['alcohol_misuse', 'street_drinking', 'cannabis', 'class_a']],
    ['a repeated tick', ['cannabis', 'cannabis']],
    ['no ticks', []],
    ['a code of another category', ['robbery']],
    ['a single code instead of a list', 'cannabis'],
  ])('asks a follow-up again whose stored ticks are %s', (_, ticks) => {
    const j = journey(survey, {
      area: {},
      'concern-1': { concern_1: 'substance' },
      'concern-1-substance': { concern_1_top3: ticks },
    });
    expect(j.next).toBe('concern-1-substance');
  });

  it('asks the postcode again if a full postcode was stored instead of a sector', () => {
    const j = journey(survey, { ...finished, postcode: { postcode: 'DA12 1AU' } });
    expect(j.next).toBe('postcode');
  });

  it('accepts "prefer not to say" as the postcode answer', () => {
    const j = journey(survey, { ...finished, postcode: { postcode: 'prefer_not_to_say' } });
    expect(j.complete).toBe(true);
  });

  it('ignores answers to questions a page does not ask', () => {
    const j = journey(survey, { ...finished, area: { area: 'dartford', gender: 'male' } });
    expect(j.answers.area).toEqual({ area: 'dartford' });
    expect(j.values.gender).toBe('female');
  });

  it('ignores a page id inherited from the prototype', () => {
    const answers = Object.create({ area: { area: 'dartford' } }) as Answers;
    expect(journey(survey, answers).next).toBe('area');
  });
});

describe('what a change drops, and why', () => {
  const change = (id: string, answers: Answers[string]) => {
    const after = journey(survey, { ...finished, [id]: answers });
    return { after, removed: removedAnswers(survey, finished, id, after) };
  };

  it('names the old category when the first concern changes to a new one', () => {
    const { after, removed } = change('concern-1', { concern_1: 'substance' });
    expect(after.next).toBe('concern-1-substance');
    expect(removed).toEqual([
      {
        kind: 'not-reached',
        about: { question: 'concern_1', code: 'violence' },
        because: { question: 'concern_1', code: 'substance' },
        pages: ['concern-1-violence', 'concern-1-violence-reported'],
        questions: ['concern_1_top3', 'concern_1_victim', 'concern_1_reported'],
      },
    ]);
  });

  it('names the later concern now equal to the first, with its follow-up', () => {
    const { removed } = change('concern-1', { concern_1: 'property' });
    expect(removed).toContainEqual({
      kind: 'taken',
      about: { question: 'concern_2', code: 'property' },
      because: { question: 'concern_1', code: 'property' },
      pages: ['concern-2', 'concern-2-property'],
      questions: ['concern_2', 'concern_2_top3', 'concern_2_victim'],
    });
    expect(removed).toHaveLength(2);
  });

  it('names the reported answer when the victim answer changes to no', () => {
    const { after, removed } = change('concern-1-violence', { concern_1_victim: 'no' });
    expect(after.complete).toBe(true);
    expect(removed).toEqual([
      {
        kind: 'not-reached',
        about: { question: 'concern_1_victim', code: 'yes' },
        because: { question: 'concern_1_victim', code: 'no' },
        pages: ['concern-1-violence-reported'],
        questions: ['concern_1_reported'],
      },
    ]);
  });

  it('says the concern is now blank when its answer is taken away', () => {
    const { removed } = change('concern-3', {});
    expect(removed).toEqual([
      {
        kind: 'not-reached',
        about: { question: 'concern_3', code: 'asb' },
        because: { question: 'concern_3' },
        pages: ['concern-3-asb'],
        questions: ['concern_3_top3'],
      },
    ]);
  });

  it('drops nothing, and says nothing, when the change keeps the route', () => {
    expect(change('about-you', { gender: 'male' }).removed).toEqual([]);
    expect(change('concern-1-violence', { concern_1_victim: 'yes', concern_1_top3: ['hate_crime'] }).removed).toEqual(
      [],
    );
  });

  it('does not count a follow-up left blank as answers dropped', () => {
    const blank = { ...finished, 'concern-3-asb': {} };
    const after = journey(survey, { ...blank, 'concern-3': { concern_3: 'substance' } });
    expect(removedAnswers(survey, blank, 'concern-3', after)).toEqual([]);
  });
});

// Properties over random respondents: every one is a full path through the survey.
const routedNext = (route: Page[], answers: Answers, i: number) => {
  const before: Values = {};
  for (const p of route.slice(0, i + 1)) Object.assign(before, answers[p.id]);
  return nextPageId(route[i] as Page, before);
};

const checkKeptWithinReach = (j: Journey) => {
  const allowed = new Set([...ids(j.route), ...(survey.reachableFrom.get(j.next) ?? [])]);
  for (const id of Object.keys(j.kept)) expect(allowed.has(id), `${id} kept while next is ${j.next}`).toBe(true);
};

const PROPERTY_RUNS = { numRuns: 300 };

describe('every path through the CSP survey', () => {
  const paths = walkFrom(survey);

  it('ends complete at check-answers', () => {
    fc.assert(
      fc.property(paths, ({ final, steps }) => {
        expect(final.complete).toBe(true);
        expect(final.next).toBe(CHECK_ANSWERS);
        expect(final.route[0]?.id).toBe('area');
        expect(final.route.at(-1)?.id).toBe('postcode');
        // One page answered per step, never more than a route's length.
        expect(steps.length - 1).toBe(final.route.length);
        expect(final.route.length).toBeLessThanOrEqual(12);
        for (const step of steps.slice(0, -1)) expect(step.complete).toBe(false);
      }),
      PROPERTY_RUNS,
    );
  });

  it('has each page routed to from the one before it', () => {
    fc.assert(
      fc.property(paths, ({ final }) => {
        for (let i = 0; i < final.route.length; i++) {
          const expected = final.route[i + 1]?.id ?? CHECK_ANSWERS;
          expect(routedNext(final.route, final.answers, i)).toBe(expected);
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('answers only the pages on its route, and every one of them', () => {
    fc.assert(
      fc.property(paths, ({ steps }) => {
        for (const j of steps) {
          const onRoute = ids(j.route);
          for (const id of Object.keys(j.answers)) expect(onRoute).toContain(id);
          // Every page before the next one was answered.
          expect(Object.keys(j.answers)).toEqual(j.complete ? onRoute : onRoute.slice(0, -1));
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('has values only for questions on its route pages, equal to those pages answers', () => {
    fc.assert(
      fc.property(paths, ({ steps }) => {
        for (const j of steps) {
          const asked = new Set(j.route.flatMap((p) => p.questions.map((q) => q.id)));
          for (const id of Object.keys(j.values)) expect(asked.has(id), id).toBe(true);
          const flattened = Object.assign({}, ...Object.values(j.answers));
          expect(j.values).toEqual(flattened);
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('keeps for the draft only route pages and pages that can still follow the next one', () => {
    fc.assert(
      fc.property(paths, ({ steps }) => steps.forEach(checkKeptWithinReach)),
      PROPERTY_RUNS,
    );
  });

  it('keeps only pages within reach when a page on a finished route is forgotten', () => {
    fc.assert(
      fc.property(paths, fc.nat(), ({ final }, pick) => {
        const forgotten = final.route[pick % final.route.length] as Page;
        const { [forgotten.id]: _, ...rest } = final.answers;
        const j = journey(survey, rest);
        expect(j.next).toBe(forgotten.id);
        checkKeptWithinReach(j);
        // Everything after the forgotten page is still on offer to the draft.
        const after = ids(final.route).slice(final.route.indexOf(forgotten) + 1);
        for (const id of after) expect(j.kept[id]).toEqual(final.answers[id]);
      }),
      PROPERTY_RUNS,
    );
  });

  it('never lets answers to pages off its route into answers or values', () => {
    const withJunk = paths.chain((path) => {
      const onRoute = new Set(ids(path.final.route));
      const offRoute = survey.pages.filter((p) => !onRoute.has(p.id));
      // Answers that would be valid on those pages if they were reached.
      return fc
        .subarray(offRoute, { minLength: 1 })
        .chain((junkPages) => fc.tuple(...junkPages.map((p) => pageAnswers(p, {}).map((a) => [p.id, a] as const))))
        .map((junk) => ({ path, junk: Object.fromEntries(junk) as Answers }));
    });
    fc.assert(
      fc.property(withJunk, ({ path: { final }, junk }) => {
        const j = journey(survey, { ...junk, ...final.answers });
        expect(j.answers).toEqual(final.answers);
        expect(j.values).toEqual(final.values);
        expect(j.kept).toEqual(final.answers);
        for (const id of Object.keys(junk)) expect(j.answers).not.toHaveProperty(id);
      }),
      PROPERTY_RUNS,
    );
  });

  it('drops the old category follow-up when the first concern is changed and the survey walked again', () => {
    const changes = paths
      .filter(({ final }) => typeof final.values.concern_1 === 'string')
      .chain((path) => {
        const old = path.final.values.concern_1 as string;
        return fc.constantFrom(...CATEGORIES.filter((c) => c !== old)).chain((replacement) => {
          const changed = journey(survey, { ...path.answers, 'concern-1': { concern_1: replacement } });
          return walkFrom(survey, changed.kept).map((again) => ({ path, old, replacement, changed, again }));
        });
      });
    fc.assert(
      fc.property(changes, ({ path, old, replacement, changed, again: { final } }) => {
        expect(changed.next).toBe(followUp(1, replacement));
        const oldPages = [followUp(1, old), `${followUp(1, old)}-reported`];
        for (const id of oldPages) expect(changed.kept).not.toHaveProperty(id);
        // About you is never lost by a change of concern.
        const aboutYou = path.final.answers['about-you'];
        if (aboutYou) expect(changed.kept['about-you']).toEqual(aboutYou);

        for (const id of oldPages) expect(final.answers).not.toHaveProperty(id);
        expect(final.values.concern_1).toBe(replacement);
        expect(final.values.concern_2).not.toBe(replacement);
        expect(final.values.concern_3).not.toBe(replacement);
        const top3 = final.values.concern_1_top3;
        if (top3) {
          const offered = optionsOf(page(followUp(1, replacement)).questions[0]!).map((o) => o.code);
          for (const code of top3) expect(offered).toContain(code);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps no follow-up of a category no longer chosen after any concern is changed', () => {
    // As the respondent routes allow: a concern is changed to a category it offers, or to blank.
    const changes = paths.chain((path) =>
      fc.constantFrom(1, 2, 3).chain((n) => {
        const earlier = [1, 2, 3].filter((k) => k < n).map((k) => path.final.values[`concern_${k}`]);
        const offered = CATEGORIES.filter((c) => !earlier.includes(c));
        return fc.option(fc.constantFrom(...offered), { nil: undefined }).map((to) => ({
          n,
          path,
          changed: journey(survey, { ...path.answers, [`concern-${n}`]: to ? { [`concern_${n}`]: to } : {} }),
        }));
      }),
    );
    fc.assert(
      fc.property(changes, ({ n, path, changed }) => {
        const draft = changed.kept;
        for (const rank of [1, 2, 3]) {
          const chosen = draft[`concern-${rank}`]?.[`concern_${rank}`];
          for (const category of CATEGORIES) {
            if (category === chosen) continue;
            expect(draft).not.toHaveProperty(followUp(rank, category));
            expect(draft).not.toHaveProperty(`${followUp(rank, category)}-reported`);
          }
        }
        // Nothing before the change is lost.
        const before = ids(path.final.route).slice(
          0,
          path.final.route.findIndex((p) => p.id === `concern-${n}`),
        );
        for (const id of before) expect(draft[id]).toEqual(path.final.answers[id]);
        if (path.final.answers['about-you']) expect(draft['about-you']).toEqual(path.final.answers['about-you']);
        if (path.final.answers.postcode) expect(draft.postcode).toEqual(path.final.answers.postcode);
      }),
      PROPERTY_RUNS,
    );
  });

  // The change from Check your answers, as the respondent routes make it: one page of a
  // finished route answered afresh, then each page journey() asks for next until it is complete.
  const changesFromCheckAnswers = paths.chain((path) =>
    fc.nat().chain((pick) => {
      const changed = path.final.route[pick % path.final.route.length] as Page;
      const before: Values = {};
      for (const p of path.final.route) {
        if (p === changed) break;
        Object.assign(before, path.final.answers[p.id]);
      }
      return pageAnswers(changed, before).chain((given) => {
        const after = journey(survey, { ...path.final.kept, [changed.id]: given });
        return walkFrom(survey, after.kept).map((back) => ({ path, changed, after, back }));
      });
    }),
  );

  /** The answers a step dropped, by question id, as removedAnswers reports them. */
  const droppedBy = (before: Answers, changed: string, after: Journey) => {
    const removed = removedAnswers(survey, before, changed, after);
    const dropped = Object.keys(before)
      .filter((id) => id !== changed && !Object.hasOwn(after.kept, id))
      .flatMap((id) => Object.keys(before[id] ?? {}).map((q) => `${id}/${q}`));
    return { removed, dropped };
  };

  it('asks, after a change from Check your answers, only pages the draft holds no answers for, then returns', () => {
    fc.assert(
      fc.property(changesFromCheckAnswers, ({ changed, after, back }) => {
        const asked = back.steps.slice(0, -1).map((step) => step.next);
        // Each page asked is one the draft holds no answers for at that moment: never answered, or dropped...
        for (const step of back.steps.slice(0, -1)) expect(Object.hasOwn(step.kept, step.next)).toBe(false);
        // ...on the new route, once each, and never the page just changed.
        const route = ids(back.final.route);
        for (const id of asked) expect(route).toContain(id);
        expect(new Set(asked).size).toBe(asked.length);
        expect(asked).not.toContain(changed.id);
        // A page the change kept is asked again only if a later answer dropped it, and that drop is reported.
        const reported = new Set<string>();
        back.steps.slice(0, -1).forEach((step, i) => {
          const next = back.steps[i + 1] as Journey;
          for (const r of removedAnswers(survey, step.kept, step.next, next))
            for (const q of r.questions) reported.add(q);
        });
        for (const id of asked)
          if (Object.keys(after.kept[id] ?? {}).length)
            for (const q of Object.keys(after.kept[id] ?? {})) expect(reported.has(q), `${id} asked again`).toBe(true);
        // Back at Check your answers, every answer the flow did not ask for still as it was.
        expect(back.final.complete).toBe(true);
        for (const id of route) if (!asked.includes(id)) expect(back.final.answers[id]).toEqual(after.kept[id]);
      }),
      PROPERTY_RUNS,
    );
  });

  it('asks nothing more than the new follow-up when a concern changes to a category not chosen elsewhere', () => {
    const fresh = paths.chain((path) => {
      const chosen = [1, 2, 3].map((n) => path.final.values[`concern_${n}`]);
      const free = CATEGORIES.filter((c) => !chosen.includes(c));
      return fc
        .constantFrom(...free)
        .chain((to) =>
          walkFrom(survey, journey(survey, { ...path.final.kept, 'concern-1': { concern_1: to } }).kept).map(
            (back) => ({ to, back }),
          ),
        );
    });
    fc.assert(
      fc.property(fresh, ({ to, back }) => {
        const asked = back.steps.slice(0, -1).map((step) => step.next);
        expect(asked[0]).toBe(followUp(1, to));
        // The follow-up, and "Did you report" only after a Yes to being a victim.
        expect(asked.slice(1)).toEqual(
          back.final.values.concern_1_victim === 'yes' ? [`${followUp(1, to)}-reported`] : [],
        );
      }),
      PROPERTY_RUNS,
    );
  });

  it('reports every answer a change drops, once, with its cause, and nothing it keeps', () => {
    fc.assert(
      fc.property(changesFromCheckAnswers, ({ path, changed, after, back }) => {
        const steps: [Answers, string, Journey][] = [
          [path.final.kept, changed.id, after],
          ...back.steps
            .slice(0, -1)
            .map((step, i): [Answers, string, Journey] => [step.kept, step.next, back.steps[i + 1] as Journey]),
        ];
        for (const [before, id, next] of steps) {
          const { removed, dropped } = droppedBy(before, id, next);
          const reported = removed.flatMap((r) => r.questions);
          expect([...reported].sort()).toEqual(dropped.map((d) => d.split('/')[1]).sort());
          expect(new Set(reported).size).toBe(reported.length);
          // The CSP survey's routing names the cause of every drop.
          for (const r of removed) {
            expect(r.kind).not.toBe('other');
            expect(r.about && r.because).toBeTruthy();
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('never has two route pages answering the same question', () => {
    fc.assert(
      fc.property(paths, ({ final }) => {
        const answered = Object.values(final.answers).flatMap((a) => Object.keys(a));
        expect(new Set(answered).size).toBe(answered.length);
        const asked = final.route.flatMap((p) => p.questions.map((q) => q.id));
        expect(new Set(asked).size).toBe(asked.length);
      }),
      PROPERTY_RUNS,
    );
  });

  it('never chooses one category twice', () => {
    fc.assert(
      fc.property(paths, ({ final }) => {
        const chosen = [final.values.concern_1, final.values.concern_2, final.values.concern_3].filter(Boolean);
        expect(new Set(chosen).size).toBe(chosen.length);
      }),
      PROPERTY_RUNS,
    );
  });

  it('has ticked values in codebook order, one to three of them, from the page shown', () => {
    fc.assert(
      fc.property(paths, ({ final }) => {
        for (const p of final.route) {
          for (const q of p.questions) {
            if (q.type !== 'multiple' || !(q.id in final.values)) continue;
            const ticked = final.values[q.id] as string[];
            const order = optionsOf(q).map((o) => o.code);
            const positions = ticked.map((c) => order.indexOf(c));
            expect(positions.every((at) => at >= 0)).toBe(true);
            expect(positions).toEqual([...positions].sort((a, b) => a - b));
            expect(new Set(ticked).size).toBe(ticked.length);
            expect(ticked.length).toBeGreaterThanOrEqual(1);
            expect(ticked.length).toBeLessThanOrEqual(3);
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('gives the same journey for the same answers (a pure function)', () => {
    fc.assert(
      fc.property(paths, ({ answers, final }) => {
        const copy = structuredClone(answers);
        expect(journey(survey, answers)).toEqual(final);
        expect(answers).toEqual(copy);
      }),
      { numRuns: 100 },
    );
  });

  it('walks random answers of random pages without throwing', () => {
    const anyAnswers = fc
      .subarray(survey.pages)
      .chain((pages) => fc.tuple(...pages.map((p) => pageAnswers(p, {}).map((a) => [p.id, a] as const))))
      .map((entries) => Object.fromEntries(entries) as Answers);
    fc.assert(
      fc.property(anyAnswers, (answers) => {
        const j = journey(survey, answers);
        expect(j.route.length).toBeGreaterThan(0);
        for (const id of Object.keys(j.answers)) expect(answers).toHaveProperty(id);
        checkKeptWithinReach(j);
      }),
      PROPERTY_RUNS,
    );
  });
});
