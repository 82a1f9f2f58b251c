import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { renderError } from '../../plugins/errors.ts';
import { hashDraftToken } from '../../responses/anonymity.ts';
import { findSent, sendDraft } from '../../responses/save-draft.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { CHECK_ANSWERS } from '../../survey/definition.ts';
import type { Journey } from '../../survey/journey.ts';
import { BUTTON_BODY_LIMIT, base, bodyRecord, buttonForm, CSRF_FIELD, pageUrl, type Respondents } from './context.ts';
import { DEFAULT_GUARD_SETTINGS, firstFlag, HONEYPOT_FIELD, honeypotFilled, sentTooFast } from './guards.ts';
import { backLink, nothingAnswered, removalMessages, summarySections } from './view-models.ts';

type SlugRoute = { Params: { slug: string }; Querystring: { removed?: string } };

const TITLE = 'Check your answers before sending them';

const REFRESHED = 'Your session was refreshed, please press Send answers again. Your answers have not been sent yet.';

/** Check your answers, Send, and the thank-you page. */
export default async function checkAnswersRoutes(app: FastifyInstance, r: Respondents) {
  const minCompletionMs = r.opts.minCompletionMs ?? DEFAULT_GUARD_SETTINGS.minCompletionMs;

  const renderCheckAnswers = (
    request: FastifyRequest,
    reply: FastifyReply,
    j: Journey,
    notice?: string,
    removals: string[] = [],
  ) => {
    const { survey } = request;
    return reply.view('pages/check-answers.eta', {
      title: `${TITLE} – ${survey.title}`,
      heading: TITLE,
      survey,
      sections: summarySections(j, base(survey)),
      // Sending with nothing answered is allowed (every question may be left blank), but never unnoticed.
      empty: nothingAnswered(j),
      removals,
      back: backLink(base(survey), j.route, CHECK_ANSWERS),
      action: pageUrl(survey, CHECK_ANSWERS),
      csrfToken: r.formToken(request, reply),
      notice,
    });
  };

  /**
   * Send with a token that no longer matches: Check your answers again, as the
   * draft holds them; or, when the draft is a new one not yet finished (Start
   * again in another tab), a page saying that nothing was sent.
   */
  const refused = async (request: FastifyRequest, reply: FastifyReply) => {
    const row = await r.currentDraft(request, request.survey);
    if (row?.status !== 'partial') return reply.code(303).redirect(base(request.survey));
    const j = storedJourney(request.survey, row.answers);
    if (!j.complete)
      return renderError(
        reply,
        403,
        'Your session was refreshed',
        `Your answers were not sent: the survey was started again, or its cookie was cleared, since the page was opened. Go to ${request.survey.title} to carry on.`,
      );
    return renderCheckAnswers(request, reply, j, REFRESHED);
  };

  app.get<SlugRoute>('/s/:slug/check-answers', { preHandler: [r.loadSurvey, r.loadDraft] }, async (request, reply) => {
    const { survey } = request;
    const j = request.draft.journey;
    if (!j.complete) return reply.redirect(pageUrl(survey, j.next), 303);
    // What the last change dropped, told here once it is done (see removals.ts).
    const removed = r.removals.open(request.query.removed, r.draftToken(request), survey);
    return renderCheckAnswers(request, reply, j, undefined, removalMessages(survey, removed, j.route));
  });

  app.post<SlugRoute>(
    '/s/:slug/check-answers',
    { bodyLimit: BUTTON_BODY_LIMIT, preHandler: [r.loadSurvey, r.checkForm, r.loadDraft], config: { refused } },
    async (request, reply) => {
      const { survey } = request;
      const { row, journey: j } = request.draft;
      if (!j.complete) return reply.redirect(pageUrl(survey, j.next), 303);
      if (!buttonForm(request.body, [CSRF_FIELD], HONEYPOT_FIELD))
        return r.refuseRequest(request, reply, 'send: unexpected fields');
      const now = r.opts.now();
      const flag = firstFlag(
        honeypotFilled(bodyRecord(request.body)) ? 'honeypot' : null,
        sentTooFast(r.draftToken(request) ?? '', row.started_at, now, minCompletionMs) ? 'too_fast' : null,
      );
      // Exactly once: a replayed Send finds the response complete and changes nothing.
      await sendDraft(app.db, survey, row, j, now, flag);
      return reply.redirect(pageUrl(survey, 'thank-you'), 303);
    },
  );

  app.get<SlugRoute>('/s/:slug/thank-you', { preHandler: r.loadSurvey }, async (request, reply) => {
    const { survey } = request;
    const token = r.draftToken(request);
    const row = token ? await findSent(app.db, survey, hashDraftToken(token)) : undefined;
    if (!row) return reply.redirect(base(survey), 303);
    if (row.status === 'partial') return reply.redirect(pageUrl(survey, storedJourney(survey, row.answers).next), 303);
    return reply.view('pages/thank-you.eta', {
      title: `Thank you – ${survey.title}`,
      survey,
      test: r.testing(request, row),
      admin: `/admin/surveys/${survey.slug}`,
    });
  });
}
