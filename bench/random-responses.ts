import { CHECK_ANSWERS, type Survey } from '../src/survey/definition.ts';
import {
  type Answers,
  availableOptions,
  journey,
  nextPageId,
  type PageAnswers,
  type Values,
} from '../src/survey/journey.ts';

/** A small, fast, seeded PRNG (mulberry32), so generated data is the same run to run. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SECTORS = [
  'DA1 1',
  'DA1 2',
  'DA2 6',
  'DA3 8',
  'DA4 0',
  'DA10 0',
  'DA11 0',
  'DA11 9',
  'DA12 1',
  'DA12 2',
  'DA13 0',
  'ME3 7',
];

/**
 * One respondent's answers, walking the survey's real routing: each page gets
 * random valid answers (or is left blank now and then), so every generated
 * response is one the site could have stored.
 */
export function randomRoute(survey: Survey, random: () => number, stopAfter = Number.POSITIVE_INFINITY) {
  const answers: Answers = {};
  const values: Values = {};
  let id = survey.start;
  let pages = 0;
  while (id !== CHECK_ANSWERS && pages < stopAfter) {
    const page = survey.pageById.get(id);
    if (!page) throw new Error(`unknown page ${id}`);
    const given: PageAnswers = {};
    for (const q of page.questions) {
      if (random() < 0.06) continue; // left blank
      const options = availableOptions(q, values);
      if (q.type === 'text') {
        given[q.id] =
          random() < 0.1 && q.preferNotToSay
            ? q.preferNotToSay.code
            : (SECTORS[Math.floor(random() * SECTORS.length)] as string);
      } else if (q.type === 'multiple') {
        const count = 1 + Math.floor(random() * q.max);
        const picked = new Set<string>();
        while (picked.size < Math.min(count, options.length))
          picked.add(options[Math.floor(random() * options.length)]?.code as string);
        given[q.id] = [...picked];
      } else if (options.length) {
        given[q.id] = options[Math.floor(random() * options.length)]?.code as string;
      }
    }
    answers[id] = given;
    Object.assign(values, given);
    id = nextPageId(page, values);
    pages++;
  }
  return journey(survey, answers);
}
