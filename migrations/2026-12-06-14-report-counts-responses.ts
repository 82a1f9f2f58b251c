import { type Kysely, sql } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * The overview's responses per day under an area or channel filter read the
 * all-dimension rollup, whose key cannot find one metric: this partial index
 * holds only the response counts ('n|<channel>' rows, a few thousand), so the
 * chart stops scanning every count row of the survey. A query uses it only
 * when it states the same condition with the same literal.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('report_counts_responses')
    .on('report_counts')
    .columns(['survey', 'day', 'status', 'channel', 'area', 'flagged', 'n'])
    .where(sql.ref('metric'), 'like', 'n|%')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('report_counts_responses').execute();
}
