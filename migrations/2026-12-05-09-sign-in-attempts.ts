import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Sign-in attempts per email address, an account's or not, keyed by an HMAC
 * of the address (so no address is stored here): one store for every address,
 * in the database, so a lock cannot be pushed out of a bounded memory and
 * reveals nothing about which addresses have accounts. The account's own
 * counters go: one source of truth. Locks under way are dropped with them:
 * they last minutes at most.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sign_in_attempts')
    .addColumn('email_key', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('failures', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('locked_until', 'varchar(32)')
    .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('sign_in_attempts_updated').on('sign_in_attempts').column('updated_at').execute();
  await db.schema.alterTable('admin_accounts').dropColumn('failed_logins').execute();
  await db.schema.alterTable('admin_accounts').dropColumn('locked_until').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('admin_accounts')
    .addColumn('failed_logins', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('admin_accounts').addColumn('locked_until', 'varchar(32)').execute();
  await db.schema.dropTable('sign_in_attempts').execute();
}
