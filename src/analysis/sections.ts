import type { Survey } from '../survey/definition.ts';
import { channelLabels } from './crosstab.ts';
import type { Report } from './report.ts';
import {
  aboutYouTables,
  channelsTable,
  combinedFollowUpTables,
  combinedRanksTable,
  followUpTables,
  questionTable,
  rankTitle,
  responsesTable,
  type Table,
  victimsTable,
} from './tables.ts';

// The results as pages an analyst moves between, each with its own address.
// Sections of tables come from the report (the running counts); cross-tabs,
// data quality, representativeness and comparisons have pages of their own.

export type SectionId =
  | 'overview'
  | 'priorities'
  | 'victims'
  | 'about-you'
  | 'crosstabs'
  | 'channels'
  | 'quality'
  | 'representativeness'
  | 'compare';

/** The results' pages, in the order of the navigation, with their addresses under the survey. */
export const SECTIONS: { id: SectionId; heading: string; path: string }[] = [
  { id: 'overview', heading: 'Overview', path: '' },
  { id: 'priorities', heading: 'Priorities', path: '/results/priorities' },
  { id: 'victims', heading: 'Victims and reporting', path: '/results/victims' },
  { id: 'about-you', heading: 'About you', path: '/results/about-you' },
  { id: 'crosstabs', heading: 'Cross-tabs', path: '/results/crosstabs' },
  { id: 'channels', heading: 'Channels', path: '/results/channels' },
  { id: 'quality', heading: 'Data quality', path: '/results/quality' },
  { id: 'representativeness', heading: 'Representativeness', path: '/results/representativeness' },
];

/** A group of tables under one heading, with an anchor of its own on its page. */
export interface TableGroup {
  id: string;
  heading: string;
  tables: Table[];
}

/** The tables of a section made of tables, in groups: empty for a section with a page of its own. */
export function sectionGroups(survey: Survey, report: Report, id: SectionId): TableGroup[] {
  const a = survey.analysis;
  switch (id) {
    case 'overview':
      return [
        {
          id: 'responses',
          heading: 'Responses',
          tables: [
            responsesTable(report),
            ...(a ? [questionTable(survey, report, a.area, 'Respondents by area', false)] : []),
          ],
        },
        ...(a
          ? [
              {
                id: 'headline',
                heading: rankTitle(survey, 0),
                tables: [questionTable(survey, report, a.headline, rankTitle(survey, 0))],
              },
            ]
          : []),
      ];
    case 'priorities': {
      if (!a) return [];
      // Each rank, then the follow-ups asked at that rank, then every rank together.
      const groups: TableGroup[] = a.ranks.map((rank, r) => {
        const title = rankTitle(survey, r);
        const followUp = a.rankFollowUps[r];
        return {
          id: `rank-${r + 1}`,
          heading: title,
          tables: [
            questionTable(survey, report, rank, title),
            ...(followUp
              ? followUpTables(
                  survey,
                  report,
                  followUp,
                  (group) => `${group} as the ${title.toLowerCase()}: top issues`,
                  (group) => `${group}, rank ${r + 1}`,
                )
              : []),
          ],
        };
      });
      const combined = combinedRanksTable(survey, report);
      if (combined)
        groups.push({
          id: 'any-rank',
          heading: 'Every issue, whichever rank it was given',
          tables: [combined, ...combinedFollowUpTables(survey, report)],
        });
      return groups;
    }
    case 'victims': {
      const victims = victimsTable(survey, report);
      return victims ? [{ id: 'victims', heading: 'Victims and reporting', tables: [victims] }] : [];
    }
    case 'about-you':
      return a?.aboutYou ? [{ id: 'about-you', heading: 'About you', tables: aboutYouTables(survey, report) }] : [];
    case 'channels':
      return [{ id: 'channels', heading: 'Channels', tables: [channelsTable(report, channelLabels(survey))] }];
    default:
      return [];
  }
}

/** Every table of every section, in page order: the CSV downloads and the workbook's sheets. */
export function allTables(survey: Survey, report: Report): Table[] {
  return SECTIONS.flatMap((s) => sectionGroups(survey, report, s.id)).flatMap((g) => g.tables);
}
