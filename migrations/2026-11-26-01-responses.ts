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
  await db.schema
    .createTable('response_values')
    .addColumn('response_id', 'varchar(64)', (col) => col.notNull().references('responses.id').onDelete('cascade'))
    .addColumn('question_id', 'varchar(64)', (col) => col.notNull())
    .addColumn('value', 'varchar(64)', (col) => col.notNull())
    .addPrimaryKeyConstraint('response_values_pk', ['response_id', 'question_id', 'value'])
    .execute();
  await db.schema
    .createTable('response_pages')
    .addColumn('response_id', 'varchar(64)', (col) => col.notNull().references('responses.id').onDelete('cascade'))
    .addColumn('page_id', 'varchar(64)', (col) => col.notNull())
    .addPrimaryKeyConstraint('response_pages_pk', ['response_id', 'page_id'])
    .execute();
  await db.schema
    .createIndex('response_values_question')
    .on('response_values')
    .columns(['question_id', 'value'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('response_pages').execute();
  await db.schema.dropTable('response_values').execute();
  await db.schema.dropTable('responses').execute();
}
