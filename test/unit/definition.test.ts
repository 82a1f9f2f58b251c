import { describe, expect, it } from 'vitest';
import {
  CHECK_ANSWERS,
  DefinitionError,
  defineSurvey,
  keyOf,
  optionsOf,
  type Question,
  RESERVED_PAGE_IDS,
  type SurveyInput,
} from '../../src/survey/definition.ts';
import { csp2019 } from '../../src/survey/definitions/csp-2019.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import { cspSurvey } from '../helpers.ts';

// The codebook of csp-2019.md, copied from its tables.
const CATEGORIES: [string, string][] = [
  ['violence', 'Violence'],
  ['property', 'Property crime'],
  ['town_centre', 'Town Centre safety'],
  ['asb', 'Anti-social behaviour'],
  ['substance', 'Substance misuse'],
];

const FOLLOW_UPS: Record<string, { heading: string; victim: string; top3: [string, string][] }> = {
  violence: {
    heading: 'Violence',
    victim: 'Have you ever been a victim of violent crime?',
    top3: [
      ['youth_violence', 'Youth violence'],
      ['sexual_violence', 'Sexual violence'],
      ['robbery', 'Robbery'],
      ['domestic_abuse', 'Domestic abuse'],
      ['nte_violence', 'Night-time economy violence'],
      ['drug_violence', 'Drug trafficking and dealing-related violence'],
      ['alcohol_violence', 'Alcohol-related violence'],
      ['gun_knife_crime', 'Gun/knife crime'],
      ['modern_slavery', 'Modern slavery/human trafficking'],
      ['hate_crime', 'Hate crime'],
    ],
  },
  property: {
    heading: 'Property Crime',
    victim: 'Have you ever been a victim of property crime?',
    top3: [
      ['residential_burglary', 'Residential burglary'],
      ['shed_garage', 'Shed/garage break-ins'],
      ['business_burglary', 'Burglary – business premises'],
      ['theft_of_vehicle', 'Theft of motor vehicles'],
      ['theft_from_vehicle', 'Theft from motor vehicles'],
      ['shoplifting', 'Shoplifting'],
      ['identity_theft', 'Identity theft'],
      ['scams', 'Theft through ‘scams’/deception'],
    ],
  },
  town_centre: {
    heading: 'Town Centre safety',
    victim: 'Have you ever been a victim of crime whilst in the Town Centre area?',
    top3: [
      ['public_place_violence', 'Public place violence'],
      ['robbery', 'Robbery'],
      ['business_burglary', 'Burglary – business premises'],
      ['homelessness', 'Homelessness/rough sleeping'],
      ['aggressive_begging', 'Aggressive begging'],
      ['evening_violence', 'Violence during evening/night time economy'],
      ['street_lighting', 'Poor street-lighting'],
      ['street_drinking', 'Alcohol misuse/street drinking'],
      ['drug_misuse', 'Drug misuse'],
      ['feeling_unsafe', 'Feeling unsafe because of lack of people in area'],
      ['groups_gathering', 'Groups gathering on the street'],
    ],
  },
  asb: {
    heading: 'Anti-Social Behaviour (ASB)',
    victim: 'Have you ever been a victim of ASB?',
    top3: [
      ['alcohol_asb', 'Alcohol-related ASB'],
      ['drugs', 'Using or dealing of drugs'],
      ['litter_dog_fouling', 'Litter and dog fouling'],
      ['uncontrolled_pets', 'Uncontrolled pets'],
      ['noisy_rowdy', 'Noisy/rowdy behaviour'],
      ['fly_tipping', 'Fly-tipping'],
      ['nuisance_vehicles', 'Nuisance vehicles/bikes'],
      ['parking_driving', 'Parking/irresponsible driving'],
      ['fire_arson', 'Fire/arson-related ASB'],
      ['criminal_damage', 'Criminal damage (e.g. vandalism, graffiti)'],
      ['unauthorised_encampments', 'Unauthorised encampments'],
    ],
  },
  substance: {
    heading: 'Substance Misuse',
    victim: 'Have you ever been a victim of crime linked to substance misuse?',
    top3: [
      ['alcohol_misuse', 'Alcohol misuse'],
      ['street_drinking', 'Street drinking'],
      ['irresponsible_sales', 'Irresponsible sales of alcohol'],
      ['class_a', 'Class A drug use (e.g. heroin, cocaine)'],
      ['cannabis', 'Cannabis use'],
      ['recreational_drugs', 'Recreational drug use'],
      ['drug_dealing', 'Drug dealing'],
    ],
  },
};

const ABOUT_YOU: Record<string, [string, string][]> = {
  gender: [
    ['male', 'Male'],
    ['female', 'Female'],
    ['transgender', 'Transgender'],
    ['prefer_not_to_say', 'Prefer not to say'],
  ],
  age: [
    ['under_18', 'Under 18'],
    ['18_24', '18-24'],
    ['25_34', '25-34'],
    ['35_44', '35-44'],
    ['45_54', '45-54'],
    ['55_64', '55-64'],
    ['65_plus', '65/+'],
    ['prefer_not_to_say', 'Prefer not to say'],
  ],
  ethnicity: [
    ['white_british', 'White British'],
    ['white_irish', 'White Irish'],
    ['white_other', 'White – other'],
    ['white_black_caribbean', 'White and Black Caribbean'],
    ['white_black_african', 'White and Black African'],
    ['white_asian', 'White and Asian'],
    ['other_mixed', 'Any other mixed background'],
    ['indian', 'Indian'],
    ['pakistani', 'Pakistani'],
    ['bangladeshi', 'Bangladeshi'],
    ['chinese', 'Chinese'],
    ['other_asian', 'Any other Asian background'],
    ['caribbean', 'Caribbean'],
    ['african', 'African'],
    ['other_black', 'Any other Black background'],
    ['polish', 'Polish'],
    ['lithuanian', 'Lithuanian'],
    ['slovakian', 'Slovakian'],
    ['other_eastern_european', 'Any other Eastern European background'],
    ['other', 'Other'],
    ['prefer_not_to_say', 'Prefer not to say'],
  ],
  disability: [
    ['yes', 'Yes'],
    ['no', 'No'],
    ['prefer_not_to_say', 'Prefer not to say'],
  ],
};

const RANKS = [
  { n: 1, word: 'single MOST', heading: 'most important issue' },
  { n: 2, word: 'SECOND most', heading: 'second most important issue' },
  { n: 3, word: 'THIRD most', heading: 'third most important issue' },
];

const pageIdOf = (category: string) => category.replaceAll('_', '-');
const codesAndLabels = (question: Question | undefined) =>
  question ? optionsOf(question).map((o) => [o.code, o.label]) : undefined;

describe('the CSP 2019 definition', () => {
  const survey = cspSurvey();
  const question = (pageId: string, questionId: string) =>
    survey.pageById.get(pageId)?.questions.find((q) => q.id === questionId);

  it('loads, and is the survey the deployment serves', () => {
    expect(survey.slug).toBe('csp-2019');
    expect(survey.owner).toBe('Dartford and Gravesham Community Safety Partnership');
    expect(survey.title).toBe('Community Safety Priorities – Public Opinion Survey 2019');
    expect(survey.start).toBe('area');
    expect(loadSurveys().map((s) => s.slug)).toEqual(['csp-2019']);
  });

  it('is the 2019 wave of the Community Safety Priorities series, and a series id is a slug', () => {
    expect(survey.series).toEqual({
      id: 'community-safety-priorities',
      title: 'Community Safety Priorities',
      wave: '2019',
    });
    expect(() => cspSurvey({ series: { id: 'Not A Slug', title: 'X', wave: '1' } })).toThrow(
      /series ids are lower case/,
    );
  });

  it('has exactly the question columns of the response record, in order', () => {
    const concerns = [1, 2, 3].flatMap((n) => [
      `concern_${n}`,
      `concern_${n}_top3`,
      `concern_${n}_victim`,
      `concern_${n}_reported`,
    ]);
    expect(survey.questionIds).toEqual(['area', ...concerns, 'gender', 'age', 'ethnicity', 'disability', 'postcode']);
    expect(survey.questionIds.join(', ')).toBe(
      'area, concern_1, concern_1_top3, concern_1_victim, concern_1_reported, concern_2, concern_2_top3, ' +
        'concern_2_victim, concern_2_reported, concern_3, concern_3_top3, concern_3_victim, concern_3_reported, ' +
        'gender, age, ethnicity, disability, postcode',
    );
  });

  it('asks where the respondent lives with its hint', () => {
    const area = question('area', 'area');
    expect(area?.label).toBe('Which Local Authority area do you live in?');
    expect(area?.hint).toBe('If you do not live in the area, you can select the area you work in.');
    expect(codesAndLabels(area)).toEqual([
      ['dartford', 'Dartford'],
      ['gravesham', 'Gravesham'],
    ]);
  });

  it.each(RANKS)('offers the five categories as concern $n, worded "$word"', ({ n, word }) => {
    const concern = question(`concern-${n}`, `concern_${n}`);
    expect(concern?.label).toBe(
      `From the list below please select the ${word} important issue that concerns your local area?`,
    );
    expect(codesAndLabels(concern)).toEqual(CATEGORIES);
  });

  it('leaves out categories already chosen on the second and third concern only', () => {
    const exclusions = [1, 2, 3].map((n) => {
      const q = question(`concern-${n}`, `concern_${n}`);
      return q?.type === 'single' ? q.excludeAnswersOf : 'not single';
    });
    expect(exclusions).toEqual([undefined, ['concern_1'], ['concern_1', 'concern_2']]);
  });

  describe.each(RANKS)('the follow-up of concern $n', ({ n, heading }) => {
    it.each(Object.keys(FOLLOW_UPS))('for %s has its own top 3, victim question and heading', (category) => {
      const expected = FOLLOW_UPS[category]!;
      const id = `concern-${n}-${pageIdOf(category)}`;
      // The council's long heading is the Top 3 question's wording, under a short heading.
      const top3 = question(id, `concern_${n}_top3`);
      expect(top3?.label).toBe(
        `You have stated that ${expected.heading} is your ${heading}. Please identify the Top 3 issues within this category that you feel needs addressing in your area:`,
      );
      expect(top3?.heading).toBe(`Top 3 ${expected.heading} issues`);
      expect(codesAndLabels(top3)).toEqual(expected.top3);
      expect(top3?.type === 'multiple' && top3.max).toBe(3);
      const victim = question(id, `concern_${n}_victim`);
      expect(victim?.type).toBe('yesno');
      expect(victim?.label).toBe(expected.victim);
      expect(codesAndLabels(victim)).toEqual([
        ['yes', 'Yes'],
        ['no', 'No'],
      ]);
      const reported = question(`${id}-reported`, `concern_${n}_reported`);
      expect(reported?.type).toBe('yesno');
      expect(reported?.label).toBe('Did you report this to the Police?');
      // Its context, in a hint and in its key, so that no two ranks' rows read the same.
      expect(reported?.hint).toMatch(/^About the .+ you were a victim of\.$/);
      expect(keyOf(reported as Question)).toMatch(/^Reported the .+ to the Police$/);
    });
  });

  it('reuses robbery, business_burglary and street_drinking across categories with each one its label', () => {
    const labelIn = (category: string, code: string) =>
      optionsOf(question(`concern-1-${pageIdOf(category)}`, 'concern_1_top3') as Question).find((o) => o.code === code)
        ?.label;
    expect(labelIn('violence', 'robbery')).toBe('Robbery');
    expect(labelIn('town_centre', 'robbery')).toBe('Robbery');
    expect(labelIn('property', 'business_burglary')).toBe('Burglary – business premises');
    expect(labelIn('town_centre', 'business_burglary')).toBe('Burglary – business premises');
    expect(labelIn('town_centre', 'street_drinking')).toBe('Alcohol misuse/street drinking');
    expect(labelIn('substance', 'street_drinking')).toBe('Street drinking');
    expect(labelIn('asb', 'robbery')).toBeUndefined();
  });

  it.each(Object.entries(ABOUT_YOU))('asks %s on the About you page with the codebook options', (id, options) => {
    expect(codesAndLabels(question('about-you', id))).toEqual(options);
  });

  it('groups the ethnic backgrounds under five headings, keeping the codes in their order', () => {
    const ethnicity = question('about-you', 'ethnicity');
    const groups = ethnicity?.type === 'single' ? (ethnicity.groups ?? []) : [];
    expect(groups.map((g) => g.heading)).toEqual([
      'White',
      'Mixed or multiple ethnic groups',
      'Asian or Asian British',
      'Black or Black British',
      'Eastern European',
    ]);
    const grouped = groups.flatMap((g) => g.codes);
    expect([...grouped, 'other', 'prefer_not_to_say']).toEqual(ABOUT_YOU.ethnicity!.map(([code]) => code));
  });

  it('names every question shortly for Check your answers and the tables, keeping the wording', () => {
    const keys = (pageId: string) => survey.pageById.get(pageId)?.questions.map((q) => [q.label, keyOf(q)]);
    expect(keys('about-you')).toEqual([
      ['Are you?', 'Gender'],
      ['How old are you?', 'Age'],
      ['Which of the following best describes your ethnic background?', 'Ethnic background'],
      ['Are you registered disabled?', 'Registered disabled'],
    ]);
    expect(keyOf(question('concern-2', 'concern_2') as Question)).toBe('Second most important issue');
    const reportedKeys = CATEGORIES.map(([c]) =>
      keyOf(question(`concern-1-${pageIdOf(c)}-reported`, 'concern_1_reported')!),
    );
    expect(new Set(reportedKeys).size).toBe(CATEGORIES.length);
  });

  it('says where the respondent is on every page, in words', () => {
    const sections = new Set(survey.pages.map((p) => p.section));
    expect([...sections]).toEqual(['Where you live', 'Your priorities', 'About you', 'Nearly done']);
    expect(survey.pageById.get('concern-2-asb-reported')?.summaryHeading).toBe('Your second priority');
  });

  it('asks About you under its own title and intro', () => {
    const page = survey.pageById.get('about-you');
    expect(page?.title).toBe('About you');
    expect(page?.intro).toEqual([
      'These details will be used for statistical purposes only – it will not be possible to identify you from the responses you give to these questions.',
    ]);
    expect(page?.questions.map((q) => q.id)).toEqual(['gender', 'age', 'ethnicity', 'disability']);
  });

  it('asks for a postcode with "Prefer not to say" beside it and ends at check-answers', () => {
    const postcode = question('postcode', 'postcode');
    expect(postcode?.type === 'text' && postcode.format).toBe('postcode');
    expect(postcode?.type === 'text' && postcode.preferNotToSay).toEqual({
      code: 'prefer_not_to_say',
      label: 'Prefer not to say',
    });
    expect(survey.pageById.get('postcode')?.next).toEqual([{ goto: CHECK_ANSWERS }]);
  });

  it('routes a blank concern straight to the next concern and the third to About you', () => {
    const defaultOf = (id: string) => survey.pageById.get(id)?.next.at(-1);
    expect(defaultOf('concern-1')).toEqual({ goto: 'concern-2' });
    expect(defaultOf('concern-2')).toEqual({ goto: 'concern-3' });
    expect(defaultOf('concern-3')).toEqual({ goto: 'about-you' });
    expect(defaultOf('concern-3-asb-reported')).toEqual({ goto: 'about-you' });
  });

  it('indexes what can follow each page', () => {
    expect(survey.reachableFrom.get('postcode')?.size).toBe(0);
    expect([...(survey.reachableFrom.get('about-you') ?? [])]).toEqual(['postcode']);
    const afterFirstFollowUp = survey.reachableFrom.get('concern-1-violence');
    expect(afterFirstFollowUp?.has('concern-1-violence-reported')).toBe(true);
    expect(afterFirstFollowUp?.has('concern-2-violence')).toBe(true);
    expect(afterFirstFollowUp?.has('concern-1-property')).toBe(false);
    expect(survey.questionsById.get('concern_1_top3')).toHaveLength(5);
  });
});

// A small survey that is valid as written; each test breaks one thing.
function tiny(): SurveyInput & { pages: any[] } {
  return {
    slug: 'tiny',
    title: 'Tiny survey',
    owner: 'A council',
    intro: ['Hello.'],
    thankYou: ['Thank you.'],
    channels: [{ code: 'poster', label: 'Poster' }],
    start: 'colour',
    pages: [
      {
        id: 'colour',
        questions: [
          {
            id: 'colour',
            type: 'single',
            label: 'Which colour?',
            options: [
              { code: 'red', label: 'Red' },
              { code: 'blue', label: 'Blue' },
            ],
          },
        ],
        next: [{ when: { question: 'colour', equals: 'red' }, goto: 'reds' }, { goto: 'where' }],
      },
      {
        id: 'reds',
        questions: [
          {
            id: 'shades',
            type: 'multiple',
            label: 'Which reds?',
            max: 2,
            options: [
              { code: 'scarlet', label: 'Scarlet' },
              { code: 'crimson', label: 'Crimson' },
              { code: 'ruby', label: 'Ruby' },
            ],
          },
          { id: 'sure', type: 'yesno', label: 'Are you sure?' },
        ],
        next: [{ goto: 'where' }],
      },
      {
        id: 'where',
        questions: [{ id: 'postcode', type: 'text', format: 'postcode', label: 'Postcode' }],
        next: [{ goto: 'check-answers' }],
      },
    ],
  };
}

/** The problems a broken definition is refused with; fails the test if it is accepted. */
function problemsOf(input: unknown): string[] {
  try {
    defineSurvey(input);
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    for (const problem of error.problems) expect(error.message).toContain(problem);
    return error.problems;
  }
  throw new Error('the definition was accepted');
}

function refused(change: (survey: ReturnType<typeof tiny>) => void): string[] {
  const survey = tiny();
  change(survey);
  return problemsOf(survey);
}

describe('a broken survey definition is refused, naming the problem', () => {
  it('accepts the small survey the other cases break', () => {
    const survey = defineSurvey(tiny());
    expect(survey.questionIds).toEqual(['colour', 'shades', 'sure', 'postcode']);
  });

  it('names the survey in the error', () => {
    const survey = tiny();
    survey.start = 'nowhere';
    expect(() => defineSurvey(survey)).toThrowError(/Survey definition "tiny" is not valid/);
    expect(() => defineSurvey(survey)).toThrowError(DefinitionError);
  });

  it('refuses a route to an unknown page', () => {
    expect(refused((s) => (s.pages[1].next = [{ goto: 'wher' }]))).toContain(
      'pages.1.next.0: page "reds" routes to unknown page "wher"',
    );
  });

  it('refuses a start page that does not exist', () => {
    expect(refused((s) => (s.start = 'nowhere'))).toContain('start: start page "nowhere" does not exist');
  });

  it('refuses two pages with the same id', () => {
    const problems = refused((s) => s.pages.push({ ...structuredClone(s.pages[2]), questions: [] }));
    expect(problems.join('\n')).toMatch(/duplicate page id "where"/);
  });

  it('refuses two pages with the same id even when both are well formed', () => {
    const problems = refused((s) => {
      s.pages[1].next = [{ goto: 'check-answers' }];
      s.pages.push({
        id: 'reds',
        questions: [{ id: 'other', type: 'yesno', label: 'Other?' }],
        next: [{ goto: 'check-answers' }],
      });
    });
    expect(problems).toContain('pages.3.id: duplicate page id "reds"');
  });

  it.each(RESERVED_PAGE_IDS)('refuses the reserved page id "%s"', (reserved) => {
    const problems = refused((s) => {
      s.pages[2].id = reserved;
      s.pages[0].next[1].goto = reserved;
      s.pages[1].next[0].goto = reserved;
    });
    expect(problems).toContain(`pages.2.id: page id "${reserved}" is reserved`);
  });

  it('refuses a cycle', () => {
    const problems = refused((s) => (s.pages[2].next = [{ goto: 'colour' }]));
    expect(problems.join('\n')).toMatch(/routing has a cycle through page "colour"/);
  });

  it('refuses a page that routes to itself', () => {
    const problems = refused(
      (s) => (s.pages[1].next = [{ when: { question: 'sure', equals: 'no' }, goto: 'reds' }, { goto: 'where' }]),
    );
    expect(problems.join('\n')).toMatch(/cycle through page "reds"/);
  });

  it('refuses a page that cannot be reached from the start', () => {
    const problems = refused((s) => {
      s.pages.push({
        id: 'orphan',
        questions: [{ id: 'lost', type: 'yesno', label: 'Lost?' }],
        next: [{ goto: 'where' }],
      });
    });
    expect(problems).toEqual(['pages: page "orphan" cannot be reached from the start']);
  });

  it('refuses a page whose routes all have a condition (no default)', () => {
    const problems = refused(
      (s) => (s.pages[0].next = [{ when: { question: 'colour', equals: 'red' }, goto: 'reds' }]),
    );
    expect(problems).toContain('pages.0.next: page "colour" needs a last route without "when" (the default)');
  });

  it('refuses a default route that is not the last', () => {
    const problems = refused(
      (s) => (s.pages[0].next = [{ goto: 'where' }, { when: { question: 'colour', equals: 'red' }, goto: 'reds' }]),
    );
    expect(problems.join('\n')).toMatch(/page "colour" needs a last route without "when"/);
  });

  it('refuses a route on a question the survey does not ask', () => {
    const problems = refused((s) => (s.pages[0].next[0].when = { question: 'flavour', equals: 'red' }));
    expect(problems).toContain('pages.0.next.0: page "colour" routes on unknown question "flavour"');
  });

  it('refuses a route on a code the question does not have', () => {
    const problems = refused((s) => (s.pages[0].next[0].when = { question: 'colour', equals: 'green' }));
    expect(problems).toContain(
      'pages.0.next.0: page "colour" routes on "colour" = "green", which is not one of its codes',
    );
  });

  it('refuses an "includes" route on a code the ticked question does not have', () => {
    const problems = refused((s) => {
      s.pages[1].next = [{ when: { question: 'shades', includes: 'pink' }, goto: 'where' }, { goto: 'where' }];
    });
    expect(problems.join('\n')).toMatch(/routes on "shades" = "pink", which is not one of its codes/);
  });

  it('accepts a route on a yes/no answer and on a ticked code', () => {
    const survey = tiny();
    survey.pages[1].next = [
      { when: { question: 'sure', equals: 'yes' }, goto: 'where' },
      { when: { question: 'shades', includes: 'ruby' }, goto: 'where' },
      { goto: 'where' },
    ];
    expect(() => defineSurvey(survey)).not.toThrow();
  });

  it('refuses a question asked twice on one route', () => {
    const problems = refused((s) => s.pages[2].questions.push({ id: 'colour', type: 'yesno', label: 'Colour again?' }));
    expect(problems).toContain('pages: question "colour" on page "colour" can be asked again later on the same route');
  });

  it('refuses a question asked twice on one page', () => {
    const problems = refused((s) => s.pages[1].questions.push({ id: 'sure', type: 'yesno', label: 'Really sure?' }));
    expect(problems).toContain('pages.1.questions.2: question "sure" appears twice on page "reds"');
  });

  it('accepts one question id on pages that are never on the same route (as the CSP follow-ups do)', () => {
    const survey = tiny();
    survey.pages[0].next = [{ when: { question: 'colour', equals: 'red' }, goto: 'reds' }, { goto: 'blues' }];
    survey.pages.push({
      id: 'blues',
      questions: [{ id: 'sure', type: 'yesno', label: 'Are you sure about blue?' }],
      next: [{ goto: 'where' }],
    });
    expect(defineSurvey(survey).questionsById.get('sure')).toHaveLength(2);
  });

  it('refuses more ticks allowed than there are options', () => {
    const problems = refused((s) => (s.pages[1].questions[0].max = 4));
    expect(problems).toContain('pages.1.questions.0: question "shades" allows 4 ticks but has 3 options');
  });

  it('accepts as many ticks as there are options', () => {
    const survey = tiny();
    survey.pages[1].questions[0].max = 3;
    expect(() => defineSurvey(survey)).not.toThrow();
  });

  it('refuses an option code used twice in one question', () => {
    const problems = refused((s) => s.pages[1].questions[0].options.push({ code: 'ruby', label: 'Ruby again' }));
    expect(problems).toContain('pages.1.questions.0: option code "ruby" appears twice in question "shades"');
  });

  it('refuses a close date before the open date', () => {
    const problems = refused((s) => {
      s.opensAt = '2019-03-03T17:00:00Z';
      s.closesAt = '2019-02-18T09:00:00Z';
    });
    expect(problems).toContain('closesAt: closesAt must be after opensAt');
  });

  it('refuses a close date equal to the open date', () => {
    const problems = refused((s) => {
      s.opensAt = '2019-02-18T09:00:00Z';
      s.closesAt = '2019-02-18T09:00:00+00:00';
    });
    expect(problems).toContain('closesAt: closesAt must be after opensAt');
  });

  it('accepts an open date before the close date', () => {
    const survey = tiny();
    survey.opensAt = '2019-02-18T09:00:00Z';
    survey.closesAt = '2019-03-03T17:00:00Z';
    expect(defineSurvey(survey).closesAt).toBe('2019-03-03T17:00:00Z');
  });

  it('refuses a date that is not an ISO instant', () => {
    expect(refused((s) => (s.opensAt = '18 February 2019')).join('\n')).toMatch(/^opensAt: /m);
  });

  it.each(['Red', 'red-ish', 'red colour', ''])('refuses the option code "%s"', (bad) => {
    const problems = refused((s) => (s.pages[0].questions[0].options[1].code = bad));
    expect(problems).toContain('pages.0.questions.0.options.1.code: codes are lower case letters, digits and _');
  });

  it('refuses a routing code in the wrong format', () => {
    const problems = refused((s) => (s.pages[0].next[0].when = { question: 'colour', equals: 'Red' }));
    expect(problems.join('\n')).toMatch(/codes are lower case letters, digits and _/);
  });

  it.each(['Colour', 'colour_page', '-colour'])('refuses the page id "%s"', (bad) => {
    const problems = refused((s) => {
      s.pages[0].id = bad;
      s.start = bad;
    });
    expect(problems.join('\n')).toMatch(/page ids are lower case letters, digits and -/);
  });

  it('refuses a question id in the wrong format', () => {
    const problems = refused((s) => (s.pages[1].questions[1].id = 'are-you-sure'));
    expect(problems).toContain('pages.1.questions.1.id: question ids are lower case letters, digits and _');
  });

  it('refuses a field the format does not have', () => {
    const problems = refused((s) => (s.pages[1].questions[1].options = [{ code: 'yes', label: 'Yes' }]));
    expect(problems.join('\n')).toMatch(/^pages\.1\.questions\.1/m);
  });

  it('refuses a leave-out list naming an unknown question', () => {
    const problems = refused((s) => (s.pages[0].questions[0].excludeAnswersOf = ['flavour']));
    expect(problems).toContain(
      'pages.0.questions.0: question "colour" leaves out answers of unknown question "flavour"',
    );
  });

  it('accepts short headings, keys, option groups and sections', () => {
    const survey = tiny();
    survey.pages[0].questions[0] = {
      ...survey.pages[0].questions[0],
      heading: 'Colour',
      key: 'Favourite colour',
      groups: [{ heading: 'Warm', codes: ['red'] }],
    };
    for (const page of survey.pages) page.section = 'Questions';
    survey.pages[2].summaryHeading = 'Where you live';
    const defined = defineSurvey(survey);
    expect(keyOf(defined.pageById.get('colour')!.questions[0]!)).toBe('Favourite colour');
  });

  it('refuses an option group naming a code the question does not have', () => {
    expect(refused((s) => (s.pages[0].questions[0].groups = [{ heading: 'Warm', codes: ['red', 'green'] }]))).toContain(
      'pages.0.questions.0: question "colour" groups the code "green", which is not one of its options',
    );
  });

  it('refuses option groups out of the options’ order, or with a code twice', () => {
    expect(refused((s) => (s.pages[0].questions[0].groups = [{ heading: 'Cool', codes: ['blue'] }]))).toContain(
      'pages.0.questions.0: question "colour" must group its options in their order, from the first (ungrouped ones come last)',
    );
    expect(
      refused(
        (s) =>
          (s.pages[1].questions[0].groups = [
            { heading: 'A', codes: ['scarlet'] },
            { heading: 'B', codes: ['scarlet', 'crimson'] },
          ]),
      ),
    ).toContain('pages.1.questions.0: question "shades" puts the code "scarlet" in two groups');
  });

  it('refuses option groups on a yes/no question', () => {
    const problems = refused((s) => (s.pages[1].questions[1].groups = [{ heading: 'A', codes: ['yes'] }]));
    expect(problems.join('\n')).toMatch(/pages\.1\.questions\.1/);
  });

  it('refuses a section on some pages only, naming the pages without one', () => {
    expect(refused((s) => (s.pages[0].section = 'Colours'))).toEqual([
      'pages.1.section: page "reds" has no section while other pages have one: give every page a section, or none',
      'pages.2.section: page "where" has no section while other pages have one: give every page a section, or none',
    ]);
  });

  it('refuses two questions on one page with the same key', () => {
    expect(refused((s) => (s.pages[1].questions[1].key = 'Which reds?'))).toContain(
      'pages.1: two questions on page "reds" are both called "Which reds?" on Check your answers',
    );
  });

  it('lists every problem, not just the first', () => {
    const problems = refused((s) => {
      s.pages[1].questions[0].max = 9;
      s.pages[2].next = [{ goto: 'nowhere' }];
    });
    expect(problems).toHaveLength(2);
  });

  it('refuses the CSP survey with a broken route', () => {
    const broken = structuredClone(csp2019) as ReturnType<typeof tiny>;
    const aboutYou = broken.pages.findIndex((p) => p.id === 'about-you');
    broken.pages[aboutYou].next = [{ goto: 'concern-1' }];
    expect(problemsOf(broken).join('\n')).toMatch(/routing has a cycle through page "concern-1"/);
  });

  it('refuses something that is not a survey at all', () => {
    expect(() => defineSurvey(null)).toThrowError(/Survey definition "\(no slug\)" is not valid/);
    expect(problemsOf({ slug: 'empty' }).length).toBeGreaterThan(3);
  });
});
