import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('responses')
    .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('survey', 'varchar(64)', (col) => col.notNull())
    .addColumn('draft_token_hash', 'varchar(64)', (col) => col.notNull().unique())
    .addColumn('status', 'varchar(16)', (col) => col.notNull())
    .addColumn('channel', 'varchar(32)', (col) => col.notNull())
    .addColumn('started_at', 'varchar(32)', (col) => col.notNull())
    .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
    .addColumn('submitted_at', 'varchar(32)')
    .addColumn('answers', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('responses_survey_status').on('responses').columns(['survey', 'status']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('responses').execute();
}
