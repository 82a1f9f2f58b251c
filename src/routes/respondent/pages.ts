import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResponseRow } from '../../db/schema.ts';
import { renderError } from '../../plugins/errors.ts';
import { saveDraft } from '../../responses/save-draft.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { type FieldError, type FormValues, parsePage } from '../../survey/answers.ts';
import type { Page } from '../../survey/definition.ts';
import { type Journey, journey } from '../../survey/journey.ts';
import { base, bodyRecord, PAGE_BODY_LIMIT, pageUrl, type Respondents } from './context.ts';
import {
  DEFAULT_GUARD_SETTINGS,
  firstFlag,
  HONEYPOT_FIELD,
  honeypotFilled,
  PageTimer,
  pageTooFast,
  SHOWN_AT_FIELD,
} from './guards.ts';
import { backLink, questionPageView, valuesBefore } from './view-models.ts';

type PageRoute = { Params: { slug: string; page: string }; Querystring: { return?: string } };

const RETURN_TO_CHECK = 'check-answers';
const REFRESHED =
  'Your session was refreshed, please check this page and press Continue again. Nothing on this page was saved.';

/** One page per step of the route: shown with what the draft holds, saved, and on to the next. */
export default async function pageRoutes(app: FastifyInstance, r: Respondents) {
  const timer = new PageTimer(r.opts.cookieSecret);
  const minPageMs = r.opts.minPageMs ?? DEFAULT_GUARD_SETTINGS.minPageMs;

  const renderPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    draftId: string,
    j: Journey,
    page: Page,
    shown: FormValues,
    errors: FieldError[],
    returnToCheck: boolean,
    notice?: string,
    /** The page's signed time when it is shown again with errors: it was read from when it was first shown. */
    shownAt?: string,
  ) => {
    const { survey } = request;
    const view = questionPageView(page, valuesBefore(j, page.id), shown, errors);
    return reply.view('pages/question.eta', {
      ...view,
      title: `${errors.length ? 'Error: ' : ''}${view.title} – ${survey.title}`,
      survey,
      action: pageUrl(survey, page.id),
      back: returnToCheck ? pageUrl(survey, RETURN_TO_CHECK) : backLink(base(survey), j.route, page.id),
      returnToCheck,
      csrfToken: r.formToken(request, reply),
      shownAt: shownAt ?? timer.stamp(draftId, page.id, r.opts.now()),
      notice,
    });
  };

  /** A page whose form no longer matches the draft: shown again as the draft holds it, or explained if it is off its route. */
  const refused = async (request: FastifyRequest<PageRoute>, reply: FastifyReply) => {
    const row = await r.currentDraft(request, request.survey);
    const j = row?.status === 'partial' ? storedJourney(request.survey, row.answers) : undefined;
    const page = j?.route.find((p) => p.id === request.params.page);
    if (!j || !page) {
      return renderError(
        reply,
        403,
        'Your session was refreshed',
        `Nothing on that page was saved: the survey was started again, or its cookie was cleared, since the page was opened. Go to ${request.survey.title} to carry on.`,
      );
    }
    const shown = j.answers[page.id] ?? j.kept[page.id] ?? {};
    const returnToCheck = bodyRecord(request.body).return === RETURN_TO_CHECK;
    return renderPage(request, reply, (row as ResponseRow).id, j, page, shown, [], returnToCheck, REFRESHED);
  };

  app.get<PageRoute>('/s/:slug/:page', { preHandler: [r.loadSurvey, r.loadDraft] }, async (request, reply) => {
    const { survey } = request;
    const j = request.draft.journey;
    const page = j.route.find((p) => p.id === request.params.page);
    // A page off the respondent's route (or not yet reached) sends them to the one they should see.
    if (!page) return reply.redirect(pageUrl(survey, j.next), 303);
    const shown = j.answers[page.id] ?? j.kept[page.id] ?? {};
    return renderPage(
      request,
      reply,
      request.draft.row.id,
      j,
      page,
      shown,
      [],
      request.query.return === RETURN_TO_CHECK,
    );
  });

  app.post<PageRoute>(
    '/s/:slug/:page',
    {
      bodyLimit: PAGE_BODY_LIMIT,
      preHandler: [r.loadSurvey, r.checkForm, r.loadDraft],
      config: { refused: refused as (request: FastifyRequest, reply: FastifyReply) => unknown },
    },
    async (request, reply) => {
      const { survey } = request;
      const { row, journey: j } = request.draft;
      const page = j.route.find((p) => p.id === request.params.page);
      if (!page) return reply.redirect(pageUrl(survey, j.next), 303);
      const body = bodyRecord(request.body);
      const returnToCheck = body.return === RETURN_TO_CHECK;
      const honeypot = honeypotFilled(body);
      const shownAt = timer.shownAt(body[SHOWN_AT_FIELD], row.id, page.id);
      const answersBody =
        typeof request.body === 'object' && request.body !== null
          ? Object.fromEntries(
              Object.entries(body).filter(([name]) => name !== HONEYPOT_FIELD && name !== SHOWN_AT_FIELD),
            )
          : request.body;
      const parsed = parsePage(page, answersBody, valuesBefore(j, page.id));
      if (parsed.kind === 'refused')
        return renderError(
          reply,
          400,
          'There is a problem with that request',
          `${parsed.reason} Go back and try again.`,
        );
      if (parsed.kind === 'invalid') {
        const keep = shownAt === undefined ? undefined : (body[SHOWN_AT_FIELD] as string);
        return renderPage(
          request,
          reply.code(422),
          row.id,
          j,
          page,
          parsed.form,
          parsed.errors,
          returnToCheck,
          undefined,
          keep,
        );
      }
      const now = r.opts.now();
      // Judged per page, so a draft never sent is flagged too; a blank page moves no figure.
      const answered = Object.keys(parsed.answers).length > 0;
      const flag = firstFlag(
        honeypot ? 'honeypot' : null,
        answered && pageTooFast(shownAt, now, minPageMs) ? 'too_fast' : null,
      );
      const after = journey(survey, { ...j.kept, [page.id]: parsed.answers });
      await saveDraft(app.db, survey, row, after, now, flag);
      const at = after.route.findIndex((p) => p.id === page.id);
      const next = returnToCheck ? after.next : (after.route[at + 1]?.id ?? after.next);
      return reply.redirect(pageUrl(survey, next), 303);
    },
  );
}
