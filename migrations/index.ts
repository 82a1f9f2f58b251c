import type { Migration } from 'kysely/migration';
import * as responses from './2026-11-26-01-responses.ts';
import * as admin from './2026-11-26-02-admin.ts';
import * as surveySchedules from './2026-11-26-03-survey-schedules.ts';
import * as responseFlags from './2026-11-26-04-response-flags.ts';
import * as paperEntries from './2026-11-26-05-paper-entries.ts';
import * as reportCounts from './2026-11-26-06-report-counts.ts';
import * as sharedSecrets from './2026-11-26-07-shared-secrets.ts';
import * as reportSummary from './2026-11-26-08-report-summary.ts';
import * as signInAttempts from './2026-12-05-09-sign-in-attempts.ts';
import * as corrections from './2026-12-05-10-corrections.ts';
import * as responsesSurveyId from './2026-12-05-12-responses-survey-id.ts';
import * as responsesSurveyStarted from './2026-12-05-13-responses-survey-started.ts';
import * as reportCountsResponses from './2026-12-06-14-report-counts-responses.ts';
import * as surveyDocuments from './2026-12-06-15-survey-documents.ts';

/** Every migration, in order. Names are frozen once shipped. */
export const migrations: Record<string, Migration> = {
  '2026-11-26-01-responses': responses,
  '2026-11-26-02-admin': admin,
  '2026-11-26-03-survey-schedules': surveySchedules,
  '2026-11-26-04-response-flags': responseFlags,
  '2026-11-26-05-paper-entries': paperEntries,
  '2026-11-26-06-report-counts': reportCounts,
  '2026-11-26-07-shared-secrets': sharedSecrets,
  '2026-11-26-08-report-summary': reportSummary,
  '2026-12-05-09-sign-in-attempts': signInAttempts,
  '2026-12-05-10-corrections': corrections,
  '2026-12-05-12-responses-survey-id': responsesSurveyId,
  '2026-12-05-13-responses-survey-started': responsesSurveyStarted,
  '2026-12-06-14-report-counts-responses': reportCountsResponses,
  '2026-12-06-15-survey-documents': surveyDocuments,
};
