// The paper form is derived from any definition: numbering, print order, and
// routing written out as a paper form says it.
import { describe, expect, it } from 'vitest';
import { defineSurvey } from '../../src/survey/definition.ts';
import { csp2019 } from '../../src/survey/definitions/csp-2019.ts';
import { paperForm, printOrder, questionRange } from '../../src/survey/paper-form.ts';

const o = (code: string, label: string) => ({ code, label });

/** A small survey routing in the ways the CSP survey does not: on a page's first question, and on a tick. */
const mini = defineSurvey({
  slug: 'mini',
  title: 'Mini survey',
  owner: 'A council',
  intro: ['About pets.'],
  thankYou: ['Thank you.'],
  channels: [],
  start: 'one',
  pages: [
    {
      id: 'end',
      questions: [{ id: 'pc', type: 'text', format: 'postcode', label: 'Postcode' }],
      next: [{ goto: 'check-answers' }],
    },
    {
      id: 'one',
      questions: [
        { id: 'pet', type: 'single', label: 'Which pet?', options: [o('cat', 'Cat'), o('dog', 'Dog')] },
        { id: 'adult', type: 'yesno', label: 'Are you an adult?' },
      ],
      next: [{ when: { question: 'pet', equals: 'dog' }, goto: 'dogs' }, { goto: 'end' }],
    },
    {
      id: 'dogs',
      questions: [
        {
          id: 'walks',
          type: 'multiple',
          label: 'When do you walk it?',
          max: 2,
          options: [o('morning', 'In the morning'), o('evening', 'In the evening'), o('night', 'At night')],
        },
      ],
      next: [{ when: { question: 'walks', includes: 'night' }, goto: 'night' }, { goto: 'end' }],
    },
    {
      id: 'night',
      questions: [{ id: 'lamp', type: 'yesno', label: 'Do you carry a lamp?' }],
      next: [{ goto: 'end' }],
    },
  ],
});

describe('the paper form of a survey', () => {
  it('prints each page before the pages it leads to, whatever the order of the definition', () => {
    expect(printOrder(mini).map((p) => p.id)).toEqual(['one', 'dogs', 'night', 'end']);
  });

  it('writes routing on a page’s first question, or on a tick, as rules after the page', () => {
    const form = paperForm(mini);
    expect(form.questions.map((q) => [q.number, q.field, q.question.id])).toEqual([
      [1, 'q1', 'pet'],
      [2, 'q2', 'adult'],
      [3, 'q3', 'walks'],
      [4, 'q4', 'lamp'],
      [5, 'q5', 'pc'],
    ]);
    const [one, dogs, night, end] = form.sections;
    // Jumping from question 1 would skip question 2, which online is always asked.
    expect(one?.questions[0]?.options.every((opt) => opt.goto === undefined)).toBe(true);
    expect(one?.then).toEqual(['If you ticked ‘Dog’ at question 1, go to question 3.', 'Otherwise, go to question 5.']);
    expect(dogs?.onlyIfText).toBe('Answer question 3 only if you ticked ‘Dog’ at question 1.');
    expect(dogs?.questions[0]?.instruction).toBe('Tick up to 2 boxes.');
    expect(dogs?.then).toEqual([
      'If you ticked ‘At night’ at question 3, go to question 4.',
      'Otherwise, go to question 5.',
    ]);
    expect(night?.onlyIfText).toBe('Answer question 4 only if you ticked ‘At night’ at question 3.');
    expect(night?.then).toEqual([]);
    // Reached by default routes: for everyone.
    expect(end?.onlyIf).toEqual([]);
    expect(end?.questions[0]?.instruction).toBe('Write your postcode in the box.');
  });

  it('lays out the CSP survey: 54 questions, every follow-up at every rank, answers that say where to go', () => {
    const survey = defineSurvey(csp2019);
    const form = paperForm(survey);
    expect(form.questions).toHaveLength(54);
    // The council's wording is printed as written: the follow-up's long heading is its Top 3 question.
    expect(form.questions.filter((q) => q.label.startsWith('You have stated that'))).toHaveLength(15);
    expect(form.questions.find((q) => q.question.id === 'gender')?.label).toBe('Are you?');
    const reported = form.questions.filter((q) => q.question.id.endsWith('_reported'));
    expect(reported).toHaveLength(15);
    for (const q of reported) {
      const section = form.sections.find((s) => s.page === q.page);
      expect(section?.onlyIfText).toBe(
        `Answer question ${q.number} only if you ticked ‘Yes’ at question ${q.number - 1}.`,
      );
    }
    const concern1 = form.questions[1];
    expect(concern1?.options.map((opt) => `${opt.label}: ${opt.goto}`)).toEqual([
      'Violence: Go to question 3',
      'Property crime: Go to question 6',
      'Town Centre safety: Go to question 9',
      'Anti-social behaviour: Go to question 12',
      'Substance misuse: Go to question 15',
    ]);
    expect(concern1?.ifBlank).toBe('Go to question 18');
    expect(form.questions[33]?.instruction).toBe('Tick one box. Do not tick an answer you gave at question 2 or 18.');
    expect(form.sections.find((s) => s.page.id === 'concern-1-violence-reported')?.then).toEqual([
      'Now go to question 18.',
    ]);
    expect(form.questions.at(-1)?.preferNotToSay?.label).toBe('Prefer not to say');
    // The ethnic backgrounds under their five headings, then Other and Prefer not to say, in codebook order.
    const ethnicity = form.questions.find((q) => q.question.id === 'ethnicity');
    expect(ethnicity?.groups.map((g) => [g.heading, g.options.length])).toEqual([
      ['White', 3],
      ['Mixed or multiple ethnic groups', 4],
      ['Asian or Asian British', 5],
      ['Black or Black British', 3],
      ['Eastern European', 4],
    ]);
    expect(ethnicity?.options).toHaveLength(21);
  });

  it('names question ranges as a paper form does', () => {
    expect(questionRange([5])).toBe('question 5');
    expect(questionRange([3, 4])).toBe('questions 3 and 4');
    expect(questionRange([50, 51, 52, 53])).toBe('questions 50 to 53');
  });
});
