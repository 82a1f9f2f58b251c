import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResponseRow } from '../../db/schema.ts';
import { renderError } from '../../plugins/errors.ts';
import { saveDraft } from '../../responses/save-draft.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { type FieldError, type FormValues, parsePage } from '../../survey/answers.ts';
import { CHECK_ANSWERS, type Page } from '../../survey/definition.ts';
import { type Journey, journey, type Removal, removedAnswers } from '../../survey/journey.ts';
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
import { REMOVED_FIELD } from './removals.ts';
import { backLink, questionPageView, removalMessages, valuesBefore } from './view-models.ts';

type PageRoute = { Params: { slug: string; page: string }; Querystring: { return?: string; removed?: string } };

const RETURN_TO_CHECK = CHECK_ANSWERS;
const REFRESHED =
  'Your session was refreshed, please check this page and press Continue again. Nothing on this page was saved.';

/** Where a change made from Check your answers stands: coming back to it, and what it has dropped so far. */
interface Returning {
  toCheck: boolean;
  removed: Removal[];
}

/** One page per step of the route: shown with what the draft holds, saved, and on to the next. */
export default async function pageRoutes(app: FastifyInstance, r: Respondents) {
  const timer = new PageTimer(r.opts.cookieSecret);
  const minPageMs = r.opts.minPageMs ?? DEFAULT_GUARD_SETTINGS.minPageMs;
  /** A page's address, carrying the way back to Check your answers and the removals still to tell. */
  const urlOf = (request: FastifyRequest, id: string, returning: Returning) => {
    const query = new URLSearchParams();
    if (returning.toCheck && id !== CHECK_ANSWERS) query.set('return', RETURN_TO_CHECK);
    const sealed = r.removals.seal(returning.removed, r.draftToken(request) ?? '');
    if (sealed) query.set(REMOVED_FIELD, sealed);
    const search = query.toString();
    return `${pageUrl(request.survey, id)}${search ? `?${search}` : ''}`;
  };

  const renderPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    draftId: string,
    j: Journey,
    page: Page,
    shown: FormValues,
    errors: FieldError[],
    returning: Returning,
    notice?: string,
    /** The page's signed time when it is shown again with errors: it was read from when it was first shown. */
    shownAt?: string,
  ) => {
    const { survey } = request;
    const view = questionPageView(page, valuesBefore(j, page.id), shown, errors);
    const removed = returning.removed.length ? r.removals.seal(returning.removed, r.draftToken(request) ?? '') : '';
    // Coming back from Check your answers: Back leads there once the route is whole again, else along the new route.
    const back = !returning.toCheck
      ? backLink(base(survey), j.route, page.id)
      : j.complete
        ? pageUrl(survey, CHECK_ANSWERS)
        : backLink(base(survey), j.route, page.id, `?${new URLSearchParams({ return: RETURN_TO_CHECK }).toString()}`);
    return reply.view('pages/question.eta', {
      ...view,
      title: `${errors.length ? 'Error: ' : ''}${view.title} – ${survey.title}`,
      survey,
      action: pageUrl(survey, page.id),
      back,
      returnToCheck: returning.toCheck,
      // Coming back, the removals ride on to Check your answers and are told there, leaving the
      // page to its question (its first option on a phone's first screen); otherwise here, once.
      removed: returning.toCheck ? removed : '',
      removals: returning.toCheck ? [] : removalMessages(survey, returning.removed, j.route),
      csrfToken: r.formToken(request, reply),
      shownAt: shownAt ?? timer.stamp(draftId, page.id, r.opts.now()),
      notice,
    });
  };

  const returningFrom = (request: FastifyRequest, fields: { return?: unknown; removed?: unknown }): Returning => ({
    toCheck: fields.return === RETURN_TO_CHECK,
    removed: r.removals.open(fields.removed, r.draftToken(request), request.survey),
  });

  /** The page's own fields, without the honeypot and the time it was shown (they only flag the response). */
  const answersBody = (request: FastifyRequest) =>
    typeof request.body === 'object' && request.body !== null
      ? Object.fromEntries(
          Object.entries(bodyRecord(request.body)).filter(
            ([name]) => name !== HONEYPOT_FIELD && name !== SHOWN_AT_FIELD,
          ),
        )
      : request.body;

  /**
   * A page whose form no longer matches the draft: shown again as the draft
   * holds it (a forged form must not pre-fill it), saying nothing was saved; or
   * explained if it is off the current draft's route.
   */
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
    // The removals were signed for the draft the form came from: they cannot be told for this one.
    const returning = { toCheck: bodyRecord(request.body).return === RETURN_TO_CHECK, removed: [] };
    return renderPage(request, reply, (row as ResponseRow).id, j, page, shown, [], returning, REFRESHED);
  };

  app.get<PageRoute>('/s/:slug/:page', { preHandler: [r.loadSurvey, r.loadDraft] }, async (request, reply) => {
    const j = request.draft.journey;
    const returning = returningFrom(request, request.query);
    const page = j.route.find((p) => p.id === request.params.page);
    // A page off the respondent's route (or not yet reached) sends them to the one they should see.
    if (!page) return reply.redirect(urlOf(request, j.next, returning), 303);
    const shown = j.answers[page.id] ?? j.kept[page.id] ?? {};
    return renderPage(request, reply, request.draft.row.id, j, page, shown, [], returning);
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
      const returning = returningFrom(request, body);
      const honeypot = honeypotFilled(body);
      const shownAt = timer.shownAt(body[SHOWN_AT_FIELD], row.id, page.id);
      const parsed = parsePage(page, answersBody(request), valuesBefore(j, page.id));
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
          returning,
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
      // What this answer dropped is told on the next page, or on Check your answers when coming back to it.
      const removed = removedAnswers(survey, j.kept, page.id, after);
      if (returning.toCheck) {
        // Only what the change makes necessary: the first page the draft holds no answers for, else Check your answers.
        const told = { toCheck: true, removed: r.removals.merge(returning.removed, removed) };
        return reply.redirect(urlOf(request, after.next, told), 303);
      }
      const at = after.route.findIndex((p) => p.id === page.id);
      const next = after.route[at + 1]?.id ?? after.next;
      return reply.redirect(urlOf(request, next, { toCheck: false, removed }), 303);
    },
  );
}
