import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { surveyVersion } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { buildMatrix, type ResponseMatrix } from './response-matrix.ts';

// Each survey's response matrix, kept between requests: built in the
// background when the server starts (warmMatrices), and rebuilt when the
// responses change. A slow rebuild runs behind the matrix in hand, which is
// served meanwhile (its figures "as of" its build): a request waits only for
// a survey's first build, or for a rebuild quick enough not to notice.

interface Held {
  matrix?: ResponseMatrix;
  building?: Promise<ResponseMatrix>;
}
const caches = new WeakMap<Kysely<Database>, Map<string, Held>>();

/** Staleness allowed, in build times: a matrix that took 5 s to build is reused for up to 50 s after a change. */
const STALENESS_PER_BUILD = 10;
/** A rebuild expected to take longer than this (ms) is not waited for: the matrix in hand is served meanwhile. */
export const WAIT_FOR_REBUILD_MS = 500;

export interface MatrixOptions {
  /** Overrides WAIT_FOR_REBUILD_MS (tests). */
  waitForRebuildMs?: number;
}

/**
 * The survey's matrix, rebuilt when its responses have changed since; after a
 * change, the one in hand is still used for up to ten times what it took to
 * build, so a large survey that respondents keep answering is not rebuilt on
 * every request.
 */
export async function matrixFor(
  db: Kysely<Database>,
  survey: Survey,
  { waitForRebuildMs = WAIT_FOR_REBUILD_MS }: MatrixOptions = {},
): Promise<ResponseMatrix> {
  const cache = cacheOf(db);
  const held = cache.get(survey.slug);
  const matrix = held?.matrix;
  if (!matrix) return held?.building ?? rebuild(db, survey, cache);
  const waits = matrix.buildMs <= waitForRebuildMs;
  if (held.building) return waits ? held.building : matrix;
  if (Date.now() - matrix.builtAt < matrix.buildMs * STALENESS_PER_BUILD) return matrix;
  if ((await surveyVersion(db, survey.slug)) === matrix.version) return matrix;
  // Another request may have started the rebuild while this one read the version.
  const building = cache.get(survey.slug)?.building ?? rebuild(db, survey, cache);
  return waits ? building : matrix;
}

/**
 * Builds each survey's matrix in turn, so that no analyst waits for one after
 * a start: called once the server listens (respondents are served meanwhile,
 * as the build lets the event loop turn). Stops early once `signal` aborts.
 */
export async function warmMatrices(
  db: Kysely<Database>,
  surveys: readonly Survey[],
  log: FastifyBaseLogger,
  signal?: AbortSignal,
): Promise<void> {
  for (const survey of surveys) {
    if (signal?.aborted) return;
    try {
      const matrix = await matrixFor(db, survey);
      log.info(
        { survey: survey.slug, responses: matrix.size, ms: Math.round(matrix.buildMs) },
        'response matrix built',
      );
    } catch (err) {
      // Closing mid-build ends the build with a closed database: not worth an error.
      if (signal?.aborted) return;
      log.error(
        { err, survey: survey.slug },
        'building the response matrix failed; the first analysis page will try again',
      );
    }
  }
}

function cacheOf(db: Kysely<Database>): Map<string, Held> {
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  return cache;
}

/** Starts a build; the matrix in hand (if any) stays served until it ends, and stays if it fails. */
function rebuild(db: Kysely<Database>, survey: Survey, cache: Map<string, Held>): Promise<ResponseMatrix> {
  const key = survey.slug;
  const building = buildMatrix(db, survey);
  cache.set(key, { ...cache.get(key), building });
  building.then(
    (matrix) => cache.set(key, { matrix }),
    () => {
      const held = cache.get(key);
      if (held?.building === building) cache.set(key, held.matrix ? { matrix: held.matrix } : {});
    },
  );
  return building;
}
