import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

// What analysts need to correct the results and to know when they changed:
// - responses.excluded: why an analyst left a response out of every figure
//   (test, duplicate, junk, other), or null; it stays stored and can be restored;
// - audit_log: who did what to which response, when and why;
// - paper_entries.reference: a short number staff write on the paper form (P-000042);
// - survey_changes: a counter per survey, moved with every change to its counts,
//   so that what is worked out from the responses can tell it is out of date;
// - survey_schedules.drafts_until: when a survey is closed with a grace period,
//   until when the drafts already started may still be finished and sent;
// - population_targets: the published population figures a survey's
//   respondents are compared with and weighted to, as an admin set them.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('responses').addColumn('excluded', 'varchar(32)').execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('at', 'varchar(32)', (col) => col.notNull())
    .addColumn('account_id', 'varchar(64)', (col) => col.notNull())
    .addColumn('account_email', 'varchar(320)', (col) => col.notNull())
    .addColumn('action', 'varchar(32)', (col) => col.notNull())
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('response_id', 'varchar(64)')
    .addColumn('reason', 'text')
    .addColumn('details', 'text')
    .execute();
  await db.schema.createIndex('audit_log_survey_at').on('audit_log').columns(['survey', 'at']).execute();
  await db.schema.alterTable('paper_entries').addColumn('reference', 'integer').execute();
  // Existing entries are numbered in the order they were keyed in.
  const entries = await db
    .selectFrom('paper_entries')
    .select('response_id')
    .orderBy('entered_at')
    .orderBy('response_id')
    .execute();
  for (const [i, entry] of entries.entries())
    await db
      .updateTable('paper_entries')
      .set({ reference: i + 1 })
      .where('response_id', '=', entry.response_id)
      .execute();
  await db.schema.createIndex('paper_entries_reference').on('paper_entries').column('reference').unique().execute();
  await db.schema.alterTable('survey_schedules').addColumn('drafts_until', 'varchar(32)').execute();
  await db.schema
    .createTable('population_targets')
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('district', 'varchar(64)', (col) => col.notNull())
    .addColumn('variable', 'varchar(64)', (col) => col.notNull())
    .addColumn('category', 'varchar(64)', (col) => col.notNull())
    .addColumn('count', 'double precision', (col) => col.notNull())
    .addColumn('basis', 'text', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
    .addPrimaryKeyConstraint('population_targets_pk', ['survey', 'district', 'variable', 'category'])
    .execute();
  await db.schema
    .createTable('survey_changes')
    .addColumn('survey', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('version', 'integer', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('survey_changes').execute();
  await db.schema.dropTable('population_targets').execute();
  await db.schema.alterTable('survey_schedules').dropColumn('drafts_until').execute();
  await db.schema.dropIndex('paper_entries_reference').execute();
  await db.schema.alterTable('paper_entries').dropColumn('reference').execute();
  await db.schema.dropTable('audit_log').execute();
  await db.schema.alterTable('responses').dropColumn('excluded').execute();
}
