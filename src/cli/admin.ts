import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  createAccount,
  emailProblem,
  findAccountByEmail,
  hashPassword,
  isRole,
  normaliseEmail,
  passwordProblem,
  setPassword,
} from '../admin/accounts.ts';
import { deleteSessionsOf } from '../admin/sessions.ts';
import { clearAttempts, signInKeyer } from '../admin/throttle.ts';
import { loadConfig } from '../config.ts';
import { cookieSecretFor } from '../db/secrets.ts';
import { UsageError, withDb } from './common.ts';

/** `admin create --email E --role admin|analyst` and `admin reset-password --email E`. */
export async function adminCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'create') return createCommand(rest);
  if (sub === 'reset-password') return resetPasswordCommand(rest);
  throw new UsageError(sub ? `unknown admin command "${sub}"` : 'admin needs a command: create or reset-password');
}

function emailOption(value: string | undefined): string {
  if (!value) throw new UsageError('--email is required');
  const email = normaliseEmail(value);
  const problem = emailProblem(email);
  if (problem) throw new UsageError(`--email: ${problem.toLowerCase()}`);
  return email;
}

async function createCommand(args: string[]) {
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, role: { type: 'string' } },
    strict: true,
  });
  const email = emailOption(values.email);
  const role = values.role;
  if (!role) throw new UsageError('--role is required (admin or analyst)');
  if (!isRole(role)) throw new UsageError(`--role must be admin or analyst, not "${role}"`);
  await withDb(async (db) => {
    if (await findAccountByEmail(db, email))
      throw new Error(`there is already an account for ${email} (to change its password: admin reset-password)`);
    const password = await newPassword();
    const id = await createAccount(db, { email, role, passwordHash: await hashPassword(password), now: new Date() });
    if (!id) throw new Error(`there is already an account for ${email}`);
  });
  process.stdout.write(`Created the ${role} account ${email}. Sign in at /admin/login.\n`);
}

async function resetPasswordCommand(args: string[]) {
  const { values } = parseArgs({ args, options: { email: { type: 'string' } }, strict: true });
  const email = emailOption(values.email);
  const disabled = await withDb(async (db) => {
    const account = await findAccountByEmail(db, email);
    if (!account) throw new Error(`there is no account for ${email}`);
    const password = await newPassword();
    await setPassword(db, account.id, await hashPassword(password));
    // The sign-in lock is kept under a key made from the cookie secret: the server's, found as the server finds it.
    const config = loadConfig();
    const keyOf = signInKeyer(await cookieSecretFor(config.cookieSecret, config.database, db));
    await clearAttempts(db, [keyOf(email)]);
    await deleteSessionsOf(db, account.id);
    return account.disabled_at !== null;
  });
  process.stdout.write(
    `Changed the password of ${email}; it is unlocked, and anyone signed in to it has been signed out.\n${
      disabled ? 'The account is disabled: an admin can enable it on the Accounts page.\n' : ''
    }`,
  );
}

/**
 * The new password: the first line of standard input when it is not a terminal
 * (for scripts: `printf '%s\n' "$PASSWORD" | ...`), otherwise asked twice
 * without echo.
 */
async function newPassword(): Promise<string> {
  let password: string;
  if (!process.stdin.isTTY) {
    password = await firstLine();
    if (!password) throw new Error('no password on standard input (give it as the first line)');
  } else {
    password = await askHidden('New password (12 characters or more): ');
    const problem = passwordProblem(password);
    if (problem) throw new Error(problem);
    if ((await askHidden('The same password again: ')) !== password)
      throw new Error('the two passwords are not the same');
  }
  const problem = passwordProblem(password);
  if (problem) throw new Error(problem);
  return password;
}

async function firstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    lines.close();
  }
}

/** Reads a line from the terminal without showing it. */
function askHidden(question: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') {
          value = Array.from(value).slice(0, -1).join('');
        } else if (ch === '\u001b') {
          break; // an arrow or function key: ignore the rest of its escape sequence
        } else if (ch >= ' ') {
          value += ch;
        }
      }
    };
    process.stderr.write(question);
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
