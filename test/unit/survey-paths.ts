// Random respondents for property-based tests: each walks the survey the way the
// respondent routes do (answer the page journey() says is next, keep what the
// journey keeps), answering every question with a valid code or leaving it blank.
import fc from 'fast-check';
import type { Page, Question, Survey } from '../../src/survey/definition.ts';
import { storeText } from '../../src/survey/formats.ts';
import {
  type Answers,
  availableOptions,
  type Journey,
  journey,
  type PageAnswers,
  type Value,
  type Values,
} from '../../src/survey/journey.ts';

const letter = (chars: string) => fc.constantFrom(...chars.split(''));
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

/** A full postcode in one of the six UK forms, as a person might type it (any case, space or not). */
export const typedPostcode: fc.Arbitrary<string> = fc
  .record({
    area: fc.oneof(
      letter(LETTERS),
      fc.tuple(letter(LETTERS), letter(LETTERS)).map(([a, b]) => a + b),
    ),
    district: fc.integer({ min: 0, max: 99 }).map(String),
    subDistrict: fc.option(letter(LETTERS), { nil: '' }),
    sector: fc.integer({ min: 0, max: 9 }).map(String),
    unit: fc.tuple(letter(INWARD_LETTERS), letter(INWARD_LETTERS)).map(([a, b]) => a + b),
    space: fc.constantFrom('', ' ', '  '),
    lower: fc.boolean(),
  })
  .map(({ area, district, subDistrict, sector, unit, space, lower }) => {
    const typed = `${area}${district}${district.length === 1 ? subDistrict : ''}${space}${sector}${unit}`;
    return lower ? typed.toLowerCase() : typed;
  });

/** Random valid answers to one page given the answers before it; any question may be left blank. */
export function pageAnswers(page: Page, values: Values): fc.Arbitrary<PageAnswers> {
  const model: Record<string, fc.Arbitrary<Value>> = {};
  for (const question of page.questions) {
    const value = answerTo(question, values);
    if (value) model[question.id] = value;
  }
  return fc.record(model, { requiredKeys: [] }) as fc.Arbitrary<PageAnswers>;
}

function answerTo(question: Question, values: Values): fc.Arbitrary<Value> | null {
  const codes = availableOptions(question, values).map((o) => o.code);
  switch (question.type) {
    case 'single':
    case 'yesno':
      return codes.length ? fc.constantFrom(...codes) : null;
    case 'multiple':
      // Ticked in any order: the journey must put them in codebook order.
      return fc.shuffledSubarray(codes, { minLength: 1, maxLength: question.max });
    case 'text': {
      const typed = typedPostcode.map((p) => storeText(question.format, p) as string);
      return codes.length ? fc.oneof(typed, fc.constantFrom(...codes)) : typed;
    }
  }
}

export interface Walk {
  /** The journey after each page was answered, the last one complete. */
  steps: Journey[];
  /** The answers the draft holds at the end. */
  answers: Answers;
  final: Journey;
}

/**
 * A respondent who goes on from the draft `from` to check-answers, answering
 * each page journey() asks for next and keeping what the journey keeps, as the
 * respondent routes do.
 */
export function walkFrom(survey: Survey, from: Answers = {}): fc.Arbitrary<Walk> {
  const go = (steps: Journey[], answers: Answers): fc.Arbitrary<Walk> => {
    const current = steps.at(-1) as Journey;
    if (current.complete) return fc.constant({ steps, answers, final: current });
    if (steps.length > survey.pages.length + 1) throw new Error(`walk did not finish: stuck at ${current.next}`);
    const page = survey.pageById.get(current.next) as Page;
    return pageAnswers(page, current.values).chain((given) => {
      const next = { ...current.kept, [page.id]: given };
      return go([...steps, journey(survey, next)], next);
    });
  };
  const first = journey(survey, from);
  return go([first], first.kept);
}
