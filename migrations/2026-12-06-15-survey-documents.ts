import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

// Survey definitions as documents in the database, so that every app instance
// on one database serves the same surveys and admins can add or change them:
// - surveys: one row per survey, with the version it is served at now;
// - survey_versions: every version's JSON document, never changed once written,
//   with who stored it and why;
// - responses.survey_version: the version a response was answered under; null
//   for responses stored before this migration (they were all answered under
//   the shipped definition, which is stored as version 1).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('surveys')
    .addColumn('slug', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('version', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
    .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('survey_versions')
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('version', 'integer', (col) => col.notNull())
    .addColumn('document', 'text', (col) => col.notNull())
    .addColumn('created_at', 'varchar(32)', (col) => col.notNull())
    .addColumn('created_by', 'varchar(320)', (col) => col.notNull())
    .addColumn('note', 'text')
    .addPrimaryKeyConstraint('survey_versions_pk', ['survey', 'version'])
    .execute();
  await db.schema.alterTable('responses').addColumn('survey_version', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('responses').dropColumn('survey_version').execute();
  await db.schema.dropTable('survey_versions').execute();
  await db.schema.dropTable('surveys').execute();
}
