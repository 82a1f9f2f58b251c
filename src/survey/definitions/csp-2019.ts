import type { Option, Page, SurveyInput } from '../definition.ts';

// The 2019 Community Safety Priorities survey of the Dartford and Gravesham CSP,
// worded as the council wrote it. The codes are the project's codebook: the keys
// of the database, exports, imports and report JSON. Never rename them.
//
// The three "most important issue" questions share one follow-up block per
// category. The block is written once here and laid out three times as plain
// pages, so the journey code knows nothing of this survey.

interface Category {
  code: string;
  label: string;
  /** As the follow-up heading names it ("Property Crime", "Anti-Social Behaviour (ASB)"). */
  heading: string;
  victimQuestion: string;
  /** What the respondent was a victim of, shortly: the keys and the context of "Did you report this to the Police?". */
  crime: string;
  top3: Option[];
}

const o = (code: string, label: string): Option => ({ code, label });

const categories: Category[] = [
  {
    code: 'violence',
    label: 'Violence',
    heading: 'Violence',
    victimQuestion: 'Have you ever been a victim of violent crime?',
    crime: 'violent crime',
    top3: [
      o('youth_violence', 'Youth violence'),
      o('sexual_violence', 'Sexual violence'),
      o('robbery', 'Robbery'),
      o('domestic_abuse', 'Domestic abuse'),
      o('nte_violence', 'Night-time economy violence'),
      o('drug_violence', 'Drug trafficking and dealing-related violence'),
      o('alcohol_violence', 'Alcohol-related violence'),
      o('gun_knife_crime', 'Gun/knife crime'),
      o('modern_slavery', 'Modern slavery/human trafficking'),
      o('hate_crime', 'Hate crime'),
    ],
  },
  {
    code: 'property',
    label: 'Property crime',
    heading: 'Property Crime',
    victimQuestion: 'Have you ever been a victim of property crime?',
    crime: 'property crime',
    top3: [
      o('residential_burglary', 'Residential burglary'),
      o('shed_garage', 'Shed/garage break-ins'),
      o('business_burglary', 'Burglary – business premises'),
      o('theft_of_vehicle', 'Theft of motor vehicles'),
      o('theft_from_vehicle', 'Theft from motor vehicles'),
      o('shoplifting', 'Shoplifting'),
      o('identity_theft', 'Identity theft'),
      o('scams', 'Theft through ‘scams’/deception'),
    ],
  },
  {
    code: 'town_centre',
    label: 'Town Centre safety',
    heading: 'Town Centre safety',
    victimQuestion: 'Have you ever been a victim of crime whilst in the Town Centre area?',
    crime: 'Town Centre crime',
    top3: [
      o('public_place_violence', 'Public place violence'),
      o('robbery', 'Robbery'),
      o('business_burglary', 'Burglary – business premises'),
      o('homelessness', 'Homelessness/rough sleeping'),
      o('aggressive_begging', 'Aggressive begging'),
      o('evening_violence', 'Violence during evening/night time economy'),
      o('street_lighting', 'Poor street-lighting'),
      o('street_drinking', 'Alcohol misuse/street drinking'),
      o('drug_misuse', 'Drug misuse'),
      o('feeling_unsafe', 'Feeling unsafe because of lack of people in area'),
      o('groups_gathering', 'Groups gathering on the street'),
    ],
  },
  {
    code: 'asb',
    label: 'Anti-social behaviour',
    heading: 'Anti-Social Behaviour (ASB)',
    victimQuestion: 'Have you ever been a victim of ASB?',
    crime: 'ASB',
    top3: [
      o('alcohol_asb', 'Alcohol-related ASB'),
      o('drugs', 'Using or dealing of drugs'),
      o('litter_dog_fouling', 'Litter and dog fouling'),
      o('uncontrolled_pets', 'Uncontrolled pets'),
      o('noisy_rowdy', 'Noisy/rowdy behaviour'),
      o('fly_tipping', 'Fly-tipping'),
      o('nuisance_vehicles', 'Nuisance vehicles/bikes'),
      o('parking_driving', 'Parking/irresponsible driving'),
      o('fire_arson', 'Fire/arson-related ASB'),
      o('criminal_damage', 'Criminal damage (e.g. vandalism, graffiti)'),
      o('unauthorised_encampments', 'Unauthorised encampments'),
    ],
  },
  {
    code: 'substance',
    label: 'Substance misuse',
    heading: 'Substance Misuse',
    victimQuestion: 'Have you ever been a victim of crime linked to substance misuse?',
    crime: 'substance misuse crime',
    top3: [
      o('alcohol_misuse', 'Alcohol misuse'),
      o('street_drinking', 'Street drinking'),
      o('irresponsible_sales', 'Irresponsible sales of alcohol'),
      o('class_a', 'Class A drug use (e.g. heroin, cocaine)'),
      o('cannabis', 'Cannabis use'),
      o('recreational_drugs', 'Recreational drug use'),
      o('drug_dealing', 'Drug dealing'),
    ],
  },
];

const ranks = [
  { n: 1, word: 'MOST', heading: 'most important issue', summary: 'Your first priority' },
  { n: 2, word: 'SECOND most', heading: 'second most important issue', summary: 'Your second priority' },
  { n: 3, word: 'THIRD most', heading: 'third most important issue', summary: 'Your third priority' },
] as const;

const capitalised = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

// Where the respondent is, shown over each page's heading: in words, not a percentage.
const PRIORITIES = 'Your priorities';

/** Page ids use hyphens where codes use underscores: `town_centre` -> `concern-1-town-centre`. */
const followUpId = (n: number, c: Category) => `concern-${n}-${c.code.replaceAll('_', '-')}`;

/** Where a rank's block ends: the next rank's choice, or About you after the third. */
const after = (n: number) => (n < ranks.length ? `concern-${n + 1}` : 'about-you');

function concernPages(rank: (typeof ranks)[number]): Page[] {
  const concern = `concern_${rank.n}`;
  const earlier = ranks.filter((r) => r.n < rank.n).map((r) => `concern_${r.n}`);
  const where = { section: PRIORITIES, summaryHeading: rank.summary };
  const choice: Page = {
    id: `concern-${rank.n}`,
    ...where,
    questions: [
      {
        id: concern,
        type: 'single',
        key: capitalised(rank.heading),
        label: `From the list below please select the ${rank.word === 'MOST' ? 'single MOST' : rank.word} important issue that concerns your local area?`,
        options: categories.map((c) => o(c.code, c.label)),
        ...(earlier.length ? { excludeAnswersOf: earlier } : {}),
      },
    ],
    next: [
      ...categories.map((c) => ({ when: { question: concern, equals: c.code }, goto: followUpId(rank.n, c) })),
      { goto: after(rank.n) },
    ],
  };
  const followUps = categories.flatMap((c): Page[] => [
    {
      id: followUpId(rank.n, c),
      ...where,
      questions: [
        {
          id: `${concern}_top3`,
          type: 'multiple',
          // The council's seven-line heading is kept as the lead under a short one.
          heading: `Top 3 ${c.heading} issues`,
          label: `You have stated that ${c.heading} is your ${rank.heading}. Please identify the Top 3 issues within this category that you feel needs addressing in your area:`,
          hint: 'Select up to 3.',
          options: c.top3,
          max: 3,
          noun: 'issues',
          groupBy: concern,
        },
        {
          id: `${concern}_victim`,
          type: 'yesno',
          label: c.victimQuestion,
          key: `Victim of ${c.crime}`,
          groupBy: concern,
        },
      ],
      next: [
        { when: { question: `${concern}_victim`, equals: 'yes' }, goto: `${followUpId(rank.n, c)}-reported` },
        { goto: after(rank.n) },
      ],
    },
    {
      id: `${followUpId(rank.n, c)}-reported`,
      ...where,
      questions: [
        {
          id: `${concern}_reported`,
          type: 'yesno',
          label: 'Did you report this to the Police?',
          // "This" needs its context on a page of its own, and on Check your answers beside the other ranks.
          hint: `About the ${c.crime} you were a victim of.`,
          key: `Reported the ${c.crime} to the Police`,
          groupBy: concern,
        },
      ],
      next: [{ goto: after(rank.n) }],
    },
  ]);
  return [choice, ...followUps];
}

export const csp2019: SurveyInput = {
  slug: 'csp-2019',
  title: 'Community Safety Priorities – Public Opinion Survey 2019',
  // Later years are waves of the same series, compared with this one question by question.
  series: { id: 'community-safety-priorities', title: 'Community Safety Priorities', wave: '2019' },
  owner: 'Dartford and Gravesham Community Safety Partnership',
  intro: [
    'Community Safety Partnerships (CSPs) bring together agencies and organisations to work jointly to reduce crime and anti-social behaviour (ASB) in their local areas. CSPs are legally required to carry out an audit of crime and disorder each year by collating relevant information held by partner agencies to help identify community safety priorities so that resources and efforts can be best targeted. However, the Partnership recognises that it is important not to rely on recorded statistics alone. The roots and causes of crime and ASB can be complex and we want to hear the views of local residents and people who live in Dartford or Gravesham on how crime and disorder affects them and what they feel are the priorities within their neighbourhoods.',
    'The findings from this survey will be used to supplement the recorded data that we have gathered and will be taken into consideration as the Partnership develops a new Community Safety Strategy for 2019-22.',
    'This survey should take no more than 5-10 minutes to complete and you are not asked to provide your name or address.',
  ],
  thankYou: [
    'Thank you for taking the time to complete this survey. Final priorities will be decided by the CSP by the end of March 2019 and the new Community Safety Strategy will be published shortly after and available to view online on both Dartford and Gravesham Council websites.',
  ],
  // The 2019 survey ran from 18 February to 3 March 2019. The dates are left
  // open here so that the demo and a fresh install serve it; a council running
  // it again sets opensAt/closesAt.
  channels: [
    o('facebook', 'Facebook'),
    o('twitter', 'Twitter/X'),
    o('instagram', 'Instagram'),
    o('newsletter', 'Staff newsletter'),
    o('poster', 'Poster'),
  ],
  analysis: {
    headline: 'concern_1',
    area: 'area',
    ranks: ranks.map((r) => `concern_${r.n}`),
    rankLabels: ranks.map((r) => capitalised(r.heading)),
    rankFollowUps: ranks.map((r) => `concern_${r.n}_top3`),
    victims: ranks.map((r) => ({ victim: `concern_${r.n}_victim`, reported: `concern_${r.n}_reported` })),
    aboutYou: { page: 'about-you', questions: ['gender', 'age', 'ethnicity', 'disability'] },
    crosstabs: { question: 'concern_1', by: ['age', 'gender', 'ethnicity', 'area', 'postcode'] },
  },
  // The published figures of src/weighting/population/csp-2019.csv, and how the answers fall into them.
  population: {
    variables: {
      age: {
        question: 'age',
        label: 'Age',
        categories: [
          ['18_24', '18 to 24'],
          ['25_34', '25 to 34'],
          ['35_44', '35 to 44'],
          ['45_54', '45 to 54'],
          ['55_64', '55 to 64'],
          ['65_plus', '65 and over'],
        ].map(([code, label]) => ({ category: code as string, label: label as string, codes: [code as string] })),
      },
      sex: {
        question: 'gender',
        label: 'Sex',
        categories: [
          { category: 'female', label: 'Female', codes: ['female'] },
          { category: 'male', label: 'Male', codes: ['male'] },
        ],
      },
      ethnic_group: {
        question: 'ethnicity',
        label: 'Ethnic group',
        categories: [
          {
            category: 'white',
            label: 'White',
            codes: [
              'white_british',
              'white_irish',
              'white_other',
              'polish',
              'lithuanian',
              'slovakian',
              'other_eastern_european',
            ],
          },
          {
            category: 'mixed',
            label: 'Mixed or multiple ethnic groups',
            codes: ['white_black_caribbean', 'white_black_african', 'white_asian', 'other_mixed'],
          },
          {
            category: 'asian',
            label: 'Asian or Asian British',
            codes: ['indian', 'pakistani', 'bangladeshi', 'chinese', 'other_asian'],
          },
          {
            category: 'black',
            label: 'Black, Black British, Caribbean or African',
            codes: ['caribbean', 'african', 'other_black'],
          },
          { category: 'other', label: 'Other ethnic group', codes: ['other'] },
        ],
      },
    },
    caveats: [
      "Age is the ONS mid-2019 estimate (the survey's year), adults 18+ only. Those estimates were rolled forward from the 2011 Census and undercount Dartford's growth (Census 2021 found about 116,800 people against a mid-2020 estimate of 114,051).",
      'Sex and ethnic group are Census 2021 counts of all ages: no adult-only split was available. Their shares are used as the adult shares.',
      'Census 2021 tables are protected by small random adjustments to cell counts, so totals differ slightly between tables (Dartford: 116,748 by sex, 116,754 by ethnic group).',
      'Counts are of usual residents; the survey also lets people who work in the area answer.',
    ],
  },
  start: 'area',
  pages: [
    {
      id: 'area',
      section: 'Where you live',
      questions: [
        {
          id: 'area',
          type: 'single',
          key: 'Local authority area',
          label: 'Which Local Authority area do you live in?',
          hint: 'If you do not live in the area, you can select the area you work in.',
          options: [o('dartford', 'Dartford'), o('gravesham', 'Gravesham')],
        },
      ],
      next: [{ goto: 'concern-1' }],
    },
    ...ranks.flatMap(concernPages),
    {
      id: 'about-you',
      title: 'About you',
      section: 'About you',
      intro: [
        'These details will be used for statistical purposes only – it will not be possible to identify you from the responses you give to these questions.',
      ],
      questions: [
        {
          id: 'gender',
          type: 'single',
          // "Are you?" alone names nothing: the heading is the radios' name, and the analysts' table title.
          heading: 'Gender',
          label: 'Are you?',
          options: [
            o('male', 'Male'),
            o('female', 'Female'),
            o('transgender', 'Transgender'),
            o('prefer_not_to_say', 'Prefer not to say'),
          ],
        },
        {
          id: 'age',
          type: 'single',
          key: 'Age',
          label: 'How old are you?',
          options: [
            o('under_18', 'Under 18'),
            o('18_24', '18-24'),
            o('25_34', '25-34'),
            o('35_44', '35-44'),
            o('45_54', '45-54'),
            o('55_64', '55-64'),
            o('65_plus', '65/+'),
            o('prefer_not_to_say', 'Prefer not to say'),
          ],
        },
        {
          id: 'ethnicity',
          type: 'single',
          key: 'Ethnic background',
          label: 'Which of the following best describes your ethnic background?',
          // 21 radios in a row ran to 2,000 px on a phone: five headed sections, the codes in their order.
          groups: [
            { heading: 'White', codes: ['white_british', 'white_irish', 'white_other'] },
            {
              heading: 'Mixed or multiple ethnic groups',
              codes: ['white_black_caribbean', 'white_black_african', 'white_asian', 'other_mixed'],
            },
            {
              heading: 'Asian or Asian British',
              codes: ['indian', 'pakistani', 'bangladeshi', 'chinese', 'other_asian'],
            },
            { heading: 'Black or Black British', codes: ['caribbean', 'african', 'other_black'] },
            { heading: 'Eastern European', codes: ['polish', 'lithuanian', 'slovakian', 'other_eastern_european'] },
          ],
          options: [
            o('white_british', 'White British'),
            o('white_irish', 'White Irish'),
            o('white_other', 'White – other'),
            o('white_black_caribbean', 'White and Black Caribbean'),
            o('white_black_african', 'White and Black African'),
            o('white_asian', 'White and Asian'),
            o('other_mixed', 'Any other mixed background'),
            o('indian', 'Indian'),
            o('pakistani', 'Pakistani'),
            o('bangladeshi', 'Bangladeshi'),
            o('chinese', 'Chinese'),
            o('other_asian', 'Any other Asian background'),
            o('caribbean', 'Caribbean'),
            o('african', 'African'),
            o('other_black', 'Any other Black background'),
            o('polish', 'Polish'),
            o('lithuanian', 'Lithuanian'),
            o('slovakian', 'Slovakian'),
            o('other_eastern_european', 'Any other Eastern European background'),
            o('other', 'Other'),
            o('prefer_not_to_say', 'Prefer not to say'),
          ],
        },
        {
          id: 'disability',
          type: 'single',
          key: 'Registered disabled',
          label: 'Are you registered disabled?',
          options: [o('yes', 'Yes'), o('no', 'No'), o('prefer_not_to_say', 'Prefer not to say')],
        },
      ],
      next: [{ goto: 'postcode' }],
    },
    {
      id: 'postcode',
      section: 'Nearly done',
      summaryHeading: 'About you',
      questions: [
        {
          id: 'postcode',
          type: 'text',
          format: 'postcode',
          label: 'Postcode',
          paragraphs: [
            'Letting us know your postcode will help us to check how priorities vary in different areas. It will also help us look into any neighbourhood issues you may have raised. We will not be able to identify you from your postcode.',
          ],
          hint: 'For example, DA12 1AU. We keep only the first part and the next digit (DA12 1), never your full postcode.',
          preferNotToSay: o('prefer_not_to_say', 'Prefer not to say'),
        },
      ],
      next: [{ goto: 'check-answers' }],
    },
  ],
};
