/**
 * What the shipped csp-2019 population figures can and cannot say, from the
 * README that came with them. Show these wherever the figures are used.
 */
export const CSP_2019_POPULATION_CAVEATS: readonly string[] = [
  "Age is the ONS mid-2019 estimate (the survey's year), adults 18+ only. Those estimates were rolled forward from the 2011 Census and undercount Dartford's growth (Census 2021 found about 116,800 people against a mid-2020 estimate of 114,051).",
  'Sex and ethnic group are Census 2021 counts of all ages: no adult-only split was available. Their shares are used as the adult shares.',
  'Census 2021 tables are protected by small random adjustments to cell counts, so totals differ slightly between tables (Dartford: 116,748 by sex, 116,754 by ethnic group).',
  'Counts are of usual residents; the survey also lets people who work in the area answer.',
];
