import type { Migration } from 'kysely/migration';
import * as responses from './2026-11-26-01-responses.ts';

/** Every migration, in order. Names are frozen once shipped. */
export const migrations: Record<string, Migration> = {
  '2026-11-26-01-responses': responses,
};
