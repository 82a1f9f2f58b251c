import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<any>): Promise<void> {
  // Secrets every app instance must share (the key that signs cookies and
  // form tokens), for a database that several instances use: generated once
  // by whichever instance starts first.
  await db.schema
    .createTable('shared_secrets')
    .addColumn('name', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('value', 'varchar(255)', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('shared_secrets').execute();
}
