import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { currentVersions, readVersions, storedProblem } from './store.ts';

/** How often an instance looks for definitions another instance stored: the longest it serves an older version. */
export const REFRESH_INTERVAL_MS = 5_000;

/** The surveys the app serves: what routes, print, share and the command line read. */
export interface SurveySource {
  get(slug: string): Survey | undefined;
  /** Every survey, in the order they were stored (the shipped ones first). */
  all(): readonly Survey[];
}

/**
 * The stored surveys at their current versions, kept in memory so that a
 * respondent's page reads no definition from the database. It is read again
 * every few seconds (one small query of the versions, then the documents of
 * those that changed) and at once after a change made here: another instance
 * on the same database serves a new version within REFRESH_INTERVAL_MS.
 */
export class SurveyRegistry implements SurveySource {
  private bySlug = new Map<string, Survey>();
  private list: Survey[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onError: (message: string, err: unknown) => void = () => {},
  ) {}

  get(slug: string): Survey | undefined {
    return this.bySlug.get(slug);
  }

  all(): readonly Survey[] {
    return this.list;
  }

  /** Reads the versions now; overlapping calls share one read. */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async read(): Promise<void> {
    const versions = await currentVersions(this.db);
    const next = new Map<string, Survey>();
    for (const stored of versions) {
      const known = this.bySlug.get(stored.slug);
      if (known && known.version === stored.version) {
        next.set(stored.slug, known);
        continue;
      }
      try {
        const [survey] = await readVersions(this.db, [stored]);
        if (survey) next.set(stored.slug, survey);
      } catch (err) {
        // Keep serving what was served: one bad stored version must not take the others down.
        this.onError(storedProblem(err, stored.slug, stored.version), err);
        if (known) next.set(stored.slug, known);
      }
    }
    this.bySlug = next;
    this.list = versions.map((v) => next.get(v.slug)).filter((s): s is Survey => s !== undefined);
  }

  /** Refreshes every `intervalMs` until stopped; a failed read is reported and tried again next time. */
  start(intervalMs = REFRESH_INTERVAL_MS): void {
    this.stop();
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.onError('reading the survey definitions failed', err));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A fixed list as a SurveySource (the command line's shipped surveys, tests). */
export function fixedSurveys(surveys: readonly Survey[]): SurveySource {
  const bySlug = new Map(surveys.map((s) => [s.slug, s]));
  return { get: (slug) => bySlug.get(slug), all: () => surveys };
}
