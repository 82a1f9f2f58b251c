import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<any>): Promise<void> {
  // Who keyed in each paper questionnaire, kept apart from the answers: a
  // mistake can be traced to the staff account without touching the response.
  // No foreign key to admin_accounts: the trace outlives a removed account.
  await db.schema
    .createTable('paper_entries')
    .addColumn('response_id', 'varchar(64)', (col) => col.primaryKey().references('responses.id').onDelete('cascade'))
    .addColumn('account_id', 'varchar(64)', (col) => col.notNull())
    .addColumn('entered_at', 'varchar(32)', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('paper_entries_account').on('paper_entries').column('account_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('paper_entries').execute();
}
