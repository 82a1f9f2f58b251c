import type { FastifyInstance } from 'fastify';
import { type Config, DEFAULT_DRAFT_RETENTION_DAYS } from '../config.ts';
import { DEFAULT_CHROMIUM_PATH } from '../print/pdf.ts';
import { formatDate, type Statements } from '../statements.ts';
import type { Survey } from '../survey/definition.ts';
import printRoutes from './print.ts';

export interface PublicPagesOptions {
  config: Config;
  /** The deployment's statements, read and checked by buildApp before anything else. */
  statements: Statements;
  now: () => Date;
}

/**
 * The pages every deployment must publish, linked from every page's footer:
 * the privacy notice, the accessibility statement and the cookies page; and
 * the printable questionnaire (print.ts). The statements are read and checked
 * at start-up: a broken statements file stops the server with every problem listed.
 */
export default async function publicPages(app: FastifyInstance, opts: PublicPagesOptions) {
  const { statements } = opts;
  // Read per request: surveys are added and changed while the server runs.
  const surveys = () =>
    app.surveys.all().map((s) => ({ title: s.title, owner: s.owner, printHref: `/print/${s.slug}` }));
  const hasPostcode = () =>
    app.surveys
      .all()
      .some((s: Survey) => s.pages.some((p) => p.questions.some((q) => q.type === 'text' && q.format === 'postcode')));
  const common = () => ({ statements, surveys: surveys(), formatDate });

  app.get('/privacy', async (_request, reply) =>
    reply.view('statements/privacy.eta', {
      ...common(),
      title: 'Privacy notice',
      hasPostcode: hasPostcode(),
      // Unfinished answers are erased by the server itself after this many days untouched (null: never).
      draftRetentionDays:
        opts.config.draftRetentionDays === undefined ? DEFAULT_DRAFT_RETENTION_DAYS : opts.config.draftRetentionDays,
    }),
  );

  app.get('/accessibility', async (_request, reply) =>
    reply.view('statements/accessibility.eta', {
      ...common(),
      title: 'Accessibility statement',
      publicUrl: opts.config.publicUrl,
    }),
  );

  app.get('/cookies', async (_request, reply) =>
    reply.view('statements/cookies.eta', { ...common(), title: 'Cookies' }),
  );

  await app.register(printRoutes, {
    statements,
    publicUrl: opts.config.publicUrl,
    chromiumPath: opts.config.chromiumPath ?? DEFAULT_CHROMIUM_PATH,
    now: opts.now,
  });
}
