import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { type Actor, audit, transaction } from '../responses/corrections.ts';
import { DefinitionError, defineSurvey, type Survey } from '../survey/definition.ts';
import { documentOf, sameDocument, structuralChanges } from '../survey/document.ts';

// The SQL of survey definitions: a row per survey naming the version served
// now, and every version's JSON document. A version is never changed once
// written: a change is a new version, and a response records the version it
// was answered under.

/** A survey's served version, as stored. */
export interface StoredVersion {
  slug: string;
  version: number;
}

/**
 * The wording editor's unpublished changes are kept as version 0 of the survey
 * (one per survey): previewed, never served, published as a new version.
 */
export const DRAFT_VERSION = 0;

/** The version each stored survey is served at: one small read, what instances poll to notice a change. */
export function currentVersions(db: Kysely<Database>): Promise<StoredVersion[]> {
  return db.selectFrom('surveys').select(['slug', 'version']).orderBy('created_at').orderBy('slug').execute();
}

/** The definitions of these surveys at these versions, checked as at start-up. */
export async function readVersions(db: Kysely<Database>, wanted: StoredVersion[]): Promise<Survey[]> {
  const out: Survey[] = [];
  for (const { slug, version } of wanted) {
    const row = await db
      .selectFrom('survey_versions')
      .select('document')
      .where('survey', '=', slug)
      .where('version', '=', version)
      .executeTakeFirstOrThrow();
    out.push(Object.freeze({ ...defineSurvey(JSON.parse(row.document)), version }));
  }
  return out;
}

/** Every version of a survey, newest first, without their documents. */
export function versionsOf(db: Kysely<Database>, slug: string) {
  return db
    .selectFrom('survey_versions')
    .select(['version', 'created_at', 'created_by', 'note'])
    .where('survey', '=', slug)
    .where('version', '>', DRAFT_VERSION)
    .orderBy('version', 'desc')
    .execute();
}

/**
 * Stores the shipped definitions (server.ts's list) that the database does not
 * hold yet, as their version 1. One that is stored already is left as it is,
 * whatever the shipped file now says: admins may have changed it since.
 */
export async function storeShipped(db: Kysely<Database>, surveys: Survey[], now: Date): Promise<void> {
  // Read first: a server given a database it may not write (read-only file, full disk) must still start.
  const stored = new Set((await db.selectFrom('surveys').select('slug').execute()).map((r) => r.slug));
  for (const survey of surveys.filter((s) => !stored.has(s.slug))) {
    await transaction(db, async (trx) => {
      const at = now.toISOString();
      const inserted = await trx
        .insertInto('surveys')
        .values({ slug: survey.slug, version: 1, created_at: at, updated_at: at })
        .onConflict((oc) => oc.column('slug').doNothing())
        .executeTakeFirst();
      if (!Number(inserted.numInsertedOrUpdatedRows ?? 0)) return;
      await trx
        .insertInto('survey_versions')
        .values({
          survey: survey.slug,
          version: 1,
          document: JSON.stringify(documentOf(survey)),
          created_at: at,
          created_by: 'shipped',
          note: 'The definition the deployment ships',
        })
        .execute();
    });
  }
}

/** Whether a survey has responses that count: staff's tests (erasable, never counted) are not asked about. */
export async function hasResponses(db: Kysely<Database>, slug: string): Promise<boolean> {
  const row = await db
    .selectFrom('responses')
    .select('id')
    .where('survey', '=', slug)
    .where((eb) => eb.or([eb('excluded', 'is', null), eb('excluded', '!=', 'test')]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export type SaveResult =
  | { ok: true; version: number; created: boolean; unchanged: boolean }
  | { ok: false; problems: string[] };

/** What a stored version is, in the audit log and the versions list. */
export interface SaveOptions {
  actor: Actor;
  now: Date;
  note: string;
  /** Only create a new survey: an existing slug is refused (copying, uploading a new survey). */
  createOnly?: boolean;
  /** Only a new version of an existing survey: a slug not stored is refused (the wording editor). */
  existingOnly?: boolean;
  /** The audit log's action for a new survey. */
  createdAs?: 'survey-created' | 'survey-copied';
}

/**
 * Stores a definition: a new survey at version 1, or a new version of a stored
 * one. Once the survey has responses, a change to its structure (codes,
 * routing, pages: see structuralChanges) is refused with every difference
 * listed, and nothing is stored. A document identical to the current version
 * stores nothing.
 */
export async function saveDefinition(db: Kysely<Database>, survey: Survey, options: SaveOptions): Promise<SaveResult> {
  return transaction(db, async (trx) => {
    const at = options.now.toISOString();
    // Takes the survey's row lock first (an update that changes nothing), so two saves at once on PostgreSQL
    // queue rather than both number their version N + 1.
    await trx.updateTable('surveys').set({ slug: survey.slug }).where('slug', '=', survey.slug).execute();
    const current = await trx
      .selectFrom('surveys')
      .select('version')
      .where('slug', '=', survey.slug)
      .executeTakeFirst();
    if (!current) {
      if (options.existingOnly) return { ok: false, problems: [`there is no survey "${survey.slug}"`] };
      const inserted = await trx
        .insertInto('surveys')
        .values({ slug: survey.slug, version: 1, created_at: at, updated_at: at })
        .onConflict((oc) => oc.column('slug').doNothing())
        .executeTakeFirst();
      // Another instance created it a moment ago.
      if (!Number(inserted.numInsertedOrUpdatedRows ?? 0))
        return { ok: false, problems: [`there is already a survey "${survey.slug}"`] };
      await insertVersion(trx, survey, 1, options);
      await audit(
        trx,
        {
          action: options.createdAs ?? 'survey-created',
          survey: survey.slug,
          response_id: null,
          reason: options.note,
          details: JSON.stringify({ version: 1 }),
        },
        options.actor,
        options.now,
      );
      return { ok: true, version: 1, created: true, unchanged: false };
    }
    if (options.createOnly)
      return {
        ok: false,
        problems: [`there is already a survey "${survey.slug}": choose another id, or upload a new version of it`],
      };
    const [stored] = await readVersions(trx, [{ slug: survey.slug, version: current.version }]);
    if (!stored) throw new Error(`survey "${survey.slug}" has no version ${current.version}`);
    if (sameDocument(stored, survey)) return { ok: true, version: current.version, created: false, unchanged: true };
    const changes = structuralChanges(stored, survey);
    if (changes.length && (await hasResponses(trx, survey.slug)))
      return {
        ok: false,
        problems: [
          `the survey has responses, so its codes and routing cannot change (wording can): ${changes.length} structural change(s) were found`,
          ...changes,
        ],
      };
    const version = current.version + 1;
    await insertVersion(trx, survey, version, options);
    await trx
      .updateTable('surveys')
      .set({ version, updated_at: at })
      .where('slug', '=', survey.slug)
      .where('version', '=', current.version)
      .execute();
    await audit(
      trx,
      {
        action: 'survey-version',
        survey: survey.slug,
        response_id: null,
        reason: options.note,
        details: JSON.stringify({ version, structural: changes.length > 0 }),
      },
      options.actor,
      options.now,
    );
    return { ok: true, version, created: false, unchanged: false };
  });
}

async function insertVersion(db: Kysely<Database>, survey: Survey, version: number, options: SaveOptions) {
  await db
    .insertInto('survey_versions')
    .values({
      survey: survey.slug,
      version,
      document: JSON.stringify(documentOf(survey)),
      created_at: options.now.toISOString(),
      created_by: options.actor.email,
      note: options.note,
    })
    .execute();
}

/** A stored definition that no longer validates (the schema changed under it) names its survey and version. */
export function storedProblem(err: unknown, slug: string, version: number): string {
  return err instanceof DefinitionError
    ? `stored survey "${slug}" version ${version} is not valid: ${err.problems.join('; ')}`
    : String(err);
}

/** Keeps the editor's changes as the survey's draft (replacing any), noting the version they were made from. */
export async function saveDraft(db: Kysely<Database>, survey: Survey, base: number, actor: Actor, now: Date) {
  await transaction(db, async (trx) => {
    await trx
      .deleteFrom('survey_versions')
      .where('survey', '=', survey.slug)
      .where('version', '=', DRAFT_VERSION)
      .execute();
    await trx
      .insertInto('survey_versions')
      .values({
        survey: survey.slug,
        version: DRAFT_VERSION,
        document: JSON.stringify(documentOf(survey)),
        created_at: now.toISOString(),
        created_by: actor.email,
        note: String(base),
      })
      .execute();
  });
}

/** The survey's draft and the version it was made from, or undefined. */
export async function draftOf(
  db: Kysely<Database>,
  slug: string,
): Promise<{ survey: Survey; base: number } | undefined> {
  const row = await db
    .selectFrom('survey_versions')
    .select(['document', 'note'])
    .where('survey', '=', slug)
    .where('version', '=', DRAFT_VERSION)
    .executeTakeFirst();
  if (!row) return undefined;
  try {
    return { survey: defineSurvey(JSON.parse(row.document)), base: Number(row.note) };
  } catch {
    // A draft the schema no longer accepts is dropped: the editor starts again from the current version.
    return undefined;
  }
}

/** Forgets the survey's draft. */
export async function discardDraft(db: Kysely<Database>, slug: string) {
  await db.deleteFrom('survey_versions').where('survey', '=', slug).where('version', '=', DRAFT_VERSION).execute();
}
