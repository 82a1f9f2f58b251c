import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/schema.ts';
import { CountSheet, dimsOf, metricsOf } from '../src/rollups/index.ts';
import type { Survey } from '../src/survey/definition.ts';
import { prng, randomRoute } from './random-responses.ts';

const CHANNELS = ['web', 'web', 'web', 'facebook', 'facebook', 'twitter', 'instagram', 'newsletter', 'poster', 'paper'];
const START = Date.parse('2026-02-02T08:00:00Z');
const DAYS = 28;

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}:00Z`;

/**
 * Fills a database with `count` valid responses of the survey (about 90%
 * complete, the rest stopped part-way), spread over four weeks and the
 * channels, written in large batches. Deterministic for a given seed.
 */
export async function generateResponses(db: Kysely<Database>, survey: Survey, count: number, seed = 2019) {
  const random = prng(seed);
  const batch = 2000;
  // The running counts are summed here and written once at the end, as the site would have kept them.
  const sheet = new CountSheet();
  for (let from = 0; from < count; from += batch) {
    const responses: Database['responses'][] = [];
    const values: Database['response_values'][] = [];
    const pages: Database['response_pages'][] = [];
    for (let i = from; i < Math.min(count, from + batch); i++) {
      const complete = random() < 0.9;
      const route = randomRoute(survey, random, complete ? Number.POSITIVE_INFINITY : 1 + Math.floor(random() * 8));
      const id = `gen-${seed}-${i}`;
      const started = START + Math.floor(random() * DAYS * 86_400_000);
      const submitted = started + (4 + Math.floor(random() * 10)) * 60_000;
      const response = {
        id,
        survey: survey.slug,
        draft_token_hash: createHash('sha256').update(id).digest('hex'),
        status: (complete && route.complete ? 'complete' : 'partial') as 'complete' | 'partial',
        channel: CHANNELS[Math.floor(random() * CHANNELS.length)] as string,
        started_at: iso(started),
        updated_at: iso(submitted),
        submitted_at: complete && route.complete ? iso(submitted) : null,
        answers: JSON.stringify(route.answers),
        flag: null,
        excluded: null,
        survey_version: null,
      } satisfies Database['responses'];
      responses.push(response);
      sheet.add(
        dimsOf(survey, response, route.values),
        metricsOf(survey, response.channel, route.values, Object.keys(route.answers)),
        1,
      );
      for (const [question_id, value] of Object.entries(route.values))
        for (const v of Array.isArray(value) ? value : [value]) values.push({ response_id: id, question_id, value: v });
      for (const page_id of Object.keys(route.answers)) pages.push({ response_id: id, page_id });
    }
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('responses').values(responses).execute();
      for (let i = 0; i < values.length; i += 5000)
        await trx
          .insertInto('response_values')
          .values(values.slice(i, i + 5000))
          .execute();
      for (let i = 0; i < pages.length; i += 5000)
        await trx
          .insertInto('response_pages')
          .values(pages.slice(i, i + 5000))
          .execute();
    });
  }
  await db.transaction().execute((trx) => sheet.write(trx));
}
