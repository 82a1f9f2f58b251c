import type { Insertable, Selectable, Updateable } from 'kysely';

/** A response: a draft while the respondent answers (status `partial`), then `complete`. */
export interface ResponsesTable {
  /** The response_id of the response record (a random UUID). */
  id: string;
  survey: string;
  /** SHA-256 of the random token in the respondent's cookie; the token itself is never stored. */
  draft_token_hash: string;
  status: 'partial' | 'complete';
  channel: string;
  /** ISO 8601 UTC instants, minute precision, so timings cannot single anyone out. */
  started_at: string;
  updated_at: string;
  submitted_at: string | null;
  /** JSON of the answers on the route, by page id then question id (see survey/journey.ts). */
  answers: string;
  /** Why the response looks automated or repeated (the first reason found), or null: see SECURITY.md. */
  flag: ResponseFlag | null;
  /** Why an analyst left the response out of every figure, or null (it counts). */
  excluded: ExclusionReason | null;
  /** The survey's definition version the response was answered under (null: stored before versions, so version 1). */
  survey_version: number | null;
}

/** Why a response is left out of the figures: a staff test, a duplicate, junk, or another reason given. */
export type ExclusionReason = 'test' | 'duplicate' | 'junk' | 'other';

/**
 * Ballot-stuffing signals: a hidden field a person never sees was filled in
 * (`honeypot`), the survey was sent faster than a person could read it
 * (`too_fast`), or one client started many drafts in a short time (`burst`).
 */
export type ResponseFlag = 'honeypot' | 'too_fast' | 'burst';

/**
 * The answers on a response's route, one row per code (a multi-choice answer
 * has a row per ticked box): what the analysis counts with plain GROUP BYs.
 */
export interface ResponseValuesTable {
  response_id: string;
  question_id: string;
  value: string;
}

/** The pages on a response's route that were submitted (answered or left blank): the bases of the analysis. */
export interface ResponsePagesTable {
  response_id: string;
  page_id: string;
}

export type AdminRole = 'admin' | 'analyst';

/** A person who may sign in to /admin: an `analyst` views and exports, an `admin` also manages. */
export interface AdminAccountsTable {
  /** A random UUID. */
  id: string;
  /** Lower-cased; unique. */
  email: string;
  /** Argon2id, PHC string format (parameters and salt included). */
  password_hash: string;
  role: AdminRole;
  /** ISO 8601 UTC instants. */
  created_at: string;
  /** Set when an admin disables the account: it can no longer sign in. */
  disabled_at: string | null;
}

/** A signed-in admin. The cookie holds a random token; only its SHA-256 is stored. */
export interface AdminSessionsTable {
  token_hash: string;
  account_id: string;
  created_at: string;
  last_seen_at: string;
}

/**
 * Sign-in attempts per email address, whether or not it has an account, under
 * an HMAC of the normalised address (no address is stored): see admin/throttle.ts.
 */
export interface SignInAttemptsTable {
  email_key: string;
  /** Attempts since the last successful one, counted before the password is checked: drives the back-off. */
  failures: number;
  /** ISO 8601 UTC instant until which no attempt is checked, or null. */
  locked_until: string | null;
  updated_at: string;
}

/** An admin's open and close dates for a survey, replacing those in its definition. */
export interface SurveySchedulesTable {
  survey: string;
  opens_at: string | null;
  closes_at: string | null;
  updated_at: string;
  /** After closing with a grace period: until when drafts started before closing may still be sent. */
  drafts_until: string | null;
}

/** Running counts of the analysis (see analysis/counts.ts), per day the response was started. */
export interface ReportCountsTable {
  survey: string;
  status: 'complete' | 'partial';
  channel: string;
  area: string;
  day: string;
  flagged: number;
  metric: string;
  n: number;
}

/** The same counts over all days. */
export type ReportTotalsTable = Omit<ReportCountsTable, 'day'>;
/** The same counts per day, without channel or area. */
export type ReportDaysTable = Omit<ReportCountsTable, 'channel' | 'area'>;
/** The same counts by status and flag alone. */
export type ReportSummaryTable = Omit<ReportCountsTable, 'channel' | 'area' | 'day'>;

/** Which staff account keyed in a paper questionnaire, kept apart from its answers (one row per paper response). */
export interface PaperEntriesTable {
  response_id: string;
  /** The admin account's id; kept even if the account is later removed, so a mistake stays traceable. */
  account_id: string;
  /** ISO 8601 UTC instant, to the minute. */
  entered_at: string;
  /** The number staff write on the paper form, shown as P-000042. */
  reference: number;
}

/** What staff did to responses, who and why: admins read it. */
export interface AuditLogTable {
  id: string;
  at: string;
  account_id: string;
  /** Kept as it was then: the account may later be removed. */
  account_email: string;
  action:
    | 'exclude'
    | 'restore'
    | 'delete'
    | 'correct'
    | 'erase-tests'
    | 'survey-created'
    | 'survey-copied'
    | 'survey-version';
  survey: string;
  response_id: string | null;
  reason: string | null;
  /** JSON of what changed (a correction's answers before and after), or null. */
  details: string | null;
}

/** A survey's population figures (see src/weighting), as an admin uploaded them. */
export interface PopulationTargetsTable {
  survey: string;
  district: string;
  variable: string;
  category: string;
  count: number;
  basis: string;
  source: string;
  updated_at: string;
}

/** A counter per survey, moved with every change to its running counts: see rollups/count-sheet.ts. */
export interface SurveyChangesTable {
  survey: string;
  version: number;
}

/** A survey served from the database: the version of its definition served now. */
export interface SurveysTable {
  slug: string;
  version: number;
  created_at: string;
  updated_at: string;
}

/** Every version of a survey's definition, as its JSON document; never changed once written. */
export interface SurveyVersionsTable {
  survey: string;
  version: number;
  document: string;
  created_at: string;
  /** Who stored it: an account's email, "cli", or "shipped" for a definition the deployment ships. */
  created_by: string;
  note: string | null;
}

export interface Database {
  responses: ResponsesTable;
  response_values: ResponseValuesTable;
  response_pages: ResponsePagesTable;
  admin_accounts: AdminAccountsTable;
  admin_sessions: AdminSessionsTable;
  sign_in_attempts: SignInAttemptsTable;
  survey_schedules: SurveySchedulesTable;
  paper_entries: PaperEntriesTable;
  report_counts: ReportCountsTable;
  report_totals: ReportTotalsTable;
  report_days: ReportDaysTable;
  report_summary: ReportSummaryTable;
  shared_secrets: SharedSecretsTable;
  audit_log: AuditLogTable;
  survey_changes: SurveyChangesTable;
  population_targets: PopulationTargetsTable;
  surveys: SurveysTable;
  survey_versions: SurveyVersionsTable;
}

/** Secrets every app instance on one database shares: see sharedSecret. */
export interface SharedSecretsTable {
  name: string;
  value: string;
}

export type ResponseRow = Selectable<ResponsesTable>;
export type NewResponse = Insertable<ResponsesTable>;
export type ResponseUpdate = Updateable<ResponsesTable>;
export type AdminAccountRow = Selectable<AdminAccountsTable>;
export type NewAdminAccount = Insertable<AdminAccountsTable>;
export type AdminSessionRow = Selectable<AdminSessionsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
