import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderError } from '../../plugins/errors.ts';
import { hashDraftToken } from '../../responses/anonymity.ts';
import { startDraft } from '../../responses/save-draft.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { startTestDraft } from '../../responses/test-responses.ts';
import type { Survey } from '../../survey/definition.ts';
import { socialPreview } from '../social-meta.ts';
import {
  BUTTON_BODY_LIMIT,
  base,
  bodyRecord,
  buttonForm,
  CSRF_FIELD,
  DRAFT_COOKIE,
  pageUrl,
  type Respondents,
} from './context.ts';
import {
  DEFAULT_GUARD_SETTINGS,
  DraftBurst,
  firstFlag,
  HONEYPOT_FIELD,
  honeypotFilled,
  newTimedDraftToken,
} from './guards.ts';

const REFRESHED =
  'Your session was refreshed, please press the button again. If this message comes back, check that your browser allows cookies from this site: the survey needs one to keep your answers.';

/** The way in: `/` to the open survey, the start page, and Start (a new draft). */
export default async function startRoutes(app: FastifyInstance, r: Respondents) {
  const { opts } = r;
  const burst = new DraftBurst(
    opts.burst ?? DEFAULT_GUARD_SETTINGS.burst,
    opts.dailyFlagAfter ?? DEFAULT_GUARD_SETTINGS.dailyFlagAfter,
  );

  app.get('/', async (request, reply) => {
    const now = opts.now();
    const surveys = app.surveys.all();
    const states = await Promise.all(surveys.map((s) => r.stateOf(s, now)));
    const open = surveys.filter((_, i) => states[i]?.open);
    const src = (request.query as { src?: unknown }).src;
    const query = typeof src === 'string' && /^[a-z0-9_]{1,32}$/.test(src) ? `?src=${src}` : '';
    if (open.length === 1) return reply.redirect(`${base(open[0] as Survey)}${query}`, 302);
    return reply.view('pages/surveys.eta', {
      title: 'Surveys',
      surveys: open.map((s) => ({ title: s.title, owner: s.owner, href: base(s) })),
    });
  });

  const renderStart = async (
    request: FastifyRequest,
    reply: FastifyReply,
    src: string,
    notice?: string,
    indexable = false,
  ) => {
    const { survey } = request;
    const draft = await r.currentDraft(request, survey);
    const resume = draft?.status === 'partial' ? pageUrl(survey, storedJourney(survey, draft.answers).next) : undefined;
    return reply.view('pages/start.eta', {
      title: survey.title,
      survey,
      action: `${base(survey)}/start`,
      src: src.slice(0, 32),
      resume,
      completed: draft?.status === 'complete',
      meta: socialPreview(survey, app.publicUrl),
      csrfToken: r.formToken(request, reply),
      notice,
      comeBackDays: r.comeBackDays,
      // Residents who search for the survey find it: an open survey's start page alone may be indexed.
      indexable,
    });
  };

  app.get<{ Params: { slug: string }; Querystring: { src?: string } }>(
    '/s/:slug',
    { preHandler: r.loadSurvey },
    async (request, reply) => {
      const state = await r.stateFor(request, request.survey);
      if (!state.open) return r.renderClosed(reply, request.survey, state.reason, state.at, 200);
      const src = typeof request.query.src === 'string' ? request.query.src : '';
      return renderStart(request, reply, src, undefined, opts.indexStartPage ?? true);
    },
  );

  app.post<{ Params: { slug: string } }>(
    '/s/:slug/start',
    {
      bodyLimit: BUTTON_BODY_LIMIT,
      preHandler: [r.loadSurvey, r.checkForm],
      config: {
        refused: (request, reply) => {
          const src = bodyRecord(request.body).src;
          return renderStart(request, reply, typeof src === 'string' ? src : '', REFRESHED);
        },
      },
    },
    async (request, reply) => {
      const { survey } = request;
      const state = await r.stateFor(request, survey);
      if (!state.open) return r.renderClosed(reply, survey, state.reason, state.at, 403);
      const body = buttonForm(request.body, [CSRF_FIELD, 'src', 'restart'], HONEYPOT_FIELD);
      if (!body) return r.refuseRequest(request, reply, 'start: unexpected fields');
      const draft = await r.currentDraft(request, survey);
      // A second click on Start carries on the same draft instead of making another.
      if (draft?.status === 'partial' && body.restart !== 'yes')
        return reply.redirect(pageUrl(survey, storedJourney(survey, draft.answers).next), 303);
      const now = opts.now();
      // Staff starting again in test mode get another test, never a response that counts.
      if (r.testing(request, draft)) {
        reply.setCookie(DRAFT_COOKIE, await startTestDraft(app.db, survey, now), r.cookieOptions(survey));
        return reply.redirect(pageUrl(survey, survey.start), 303);
      }
      const verdict = burst.record(request.ip, now);
      if (verdict.verdict === 'refuse') {
        r.refused(request, 'start: burst');
        reply.header('retry-after', String(Math.ceil(verdict.retryAfterMs / 1000)));
        return renderError(
          reply,
          429,
          'Too many responses have been started',
          'So many new responses have been started from your internet connection in the last few minutes that we cannot take another just now. Nothing has been lost: please wait a few minutes, then start again.',
        );
      }
      const src = body.src ?? '';
      const channel = survey.channels.some((c) => c.code === src) ? src : 'web';
      const token = newTimedDraftToken(now);
      const flag = firstFlag(
        honeypotFilled(bodyRecord(request.body)) ? 'honeypot' : null,
        verdict.verdict === 'flag' ? 'burst' : null,
      );
      await startDraft(app.db, survey, { channel, tokenHash: hashDraftToken(token), now, flag });
      reply.setCookie(DRAFT_COOKIE, token, r.cookieOptions(survey));
      return reply.redirect(pageUrl(survey, survey.start), 303);
    },
  );
}
