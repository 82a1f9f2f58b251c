import { randomBytes, randomUUID } from 'node:crypto';
import { type Algorithm, hash, verify } from '@node-rs/argon2';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { retryRaces } from '../db/races.ts';
import type { AdminAccountRow, AdminRole, Database } from '../db/schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export const ROLES: readonly AdminRole[] = ['analyst', 'admin'];

export function isRole(value: unknown): value is AdminRole {
  return value === 'admin' || value === 'analyst';
}

/** Argon2id cost parameters. */
export interface PasswordHashing {
  /** KiB of memory. */
  memoryCost: number;
  /** Passes over the memory. */
  timeCost: number;
  parallelism: number;
}

/** OWASP's recommended minimum for Argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane. */
export const OWASP_HASHING: PasswordHashing = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

// `Algorithm` is a const enum in the package's types, which tsx cannot inline; 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

export function hashPassword(password: string, hashing: PasswordHashing = OWASP_HASHING): Promise<string> {
  return hash(password, { ...hashing, algorithm: ARGON2ID });
}

/** True when the password matches; the hash carries its own parameters and salt. Never throws on a bad hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/**
 * A hash that matches no password, with the given costs: checking a password
 * against it takes as long as against a real account's, so an unknown email
 * address cannot be told apart by timing.
 */
export function unmatchableHash(hashing: PasswordHashing = OWASP_HASHING): string {
  const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${hashing.memoryCost},t=${hashing.timeCost},p=${hashing.parallelism}$${b64(16)}$${b64(32)}`;
}

export const PASSWORD_MIN = 12;
/** Long enough for any passphrase, short enough that hashing it costs no more than usual. */
export const PASSWORD_MAX = 256;

/** What is wrong with a new password, in words a person can act on; undefined when it will do. */
export function passwordProblem(password: string): string | undefined {
  if (password.length === 0) return 'Enter a password';
  if (password.length < PASSWORD_MIN) return `Password must be ${PASSWORD_MIN} characters or more`;
  if (password.length > PASSWORD_MAX) return `Password must be ${PASSWORD_MAX} characters or fewer`;
  if (password.trim().length === 0) return 'Password must not be only spaces';
  return undefined;
}

const emailSchema = z.email();

/** Email addresses are kept and compared lower-cased and trimmed. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** What is wrong with an email address (already normalised); undefined when it will do. */
export function emailProblem(email: string): string | undefined {
  if (email.length === 0) return 'Enter an email address';
  if (email.length > 254 || !emailSchema.safeParse(email).success)
    return 'Enter an email address in the correct format, like name@council.gov.uk';
  return undefined;
}

export async function countAccounts(db: Db): Promise<number> {
  const row = await db
    .selectFrom('admin_accounts')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function listAccounts(db: Db): Promise<AdminAccountRow[]> {
  return db.selectFrom('admin_accounts').selectAll().orderBy('email').execute();
}

export async function findAccountByEmail(db: Db, email: string): Promise<AdminAccountRow | undefined> {
  return db.selectFrom('admin_accounts').selectAll().where('email', '=', normaliseEmail(email)).executeTakeFirst();
}

export async function findAccountById(db: Db, id: string): Promise<AdminAccountRow | undefined> {
  return db.selectFrom('admin_accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Adds an account; undefined when the email address is already taken. */
export async function createAccount(
  db: Db,
  account: { email: string; role: AdminRole; passwordHash: string; now: Date },
): Promise<string | undefined> {
  const id = randomUUID();
  const result = await db
    .insertInto('admin_accounts')
    .values({
      id,
      email: normaliseEmail(account.email),
      password_hash: account.passwordHash,
      role: account.role,
      created_at: account.now.toISOString(),
      disabled_at: null,
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1 ? id : undefined;
}

/**
 * Adds the first admin, only while there is no account at all (the setup link).
 * The check and the insert share a transaction, so two at once make one account.
 */
export async function createFirstAdmin(
  db: Kysely<Database>,
  account: { email: string; passwordHash: string; now: Date },
): Promise<string | undefined> {
  // Serializable, so that on PostgreSQL two at once cannot both see no account: one loses and runs again.
  return retryRaces(() =>
    db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(async (trx) => {
        if ((await countAccounts(trx)) > 0) return undefined;
        return createAccount(trx, { ...account, role: 'admin' });
      }),
  );
}

/** Replaces an account's password hash (the caller lifts any sign-in lock: see SignInThrottle.unlock). */
export async function setPassword(db: Db, id: string, passwordHash: string): Promise<boolean> {
  const result = await db
    .updateTable('admin_accounts')
    .set({ password_hash: passwordHash })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Disables (with the time) or re-enables (null) an account. */
export async function setDisabled(db: Db, id: string, at: Date | null): Promise<void> {
  await db
    .updateTable('admin_accounts')
    .set({ disabled_at: at ? at.toISOString() : null })
    .where('id', '=', id)
    .execute();
}

/** Removes an account; its sessions go with it (ON DELETE CASCADE). */
export async function removeAccount(db: Db, id: string): Promise<void> {
  await db.deleteFrom('admin_sessions').where('account_id', '=', id).execute();
  await db.deleteFrom('admin_accounts').where('id', '=', id).execute();
}
