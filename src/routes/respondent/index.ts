import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResponseRow } from '../../db/schema.ts';
import { renderError } from '../../plugins/errors.ts';
import {
  completeDraft,
  createDraft,
  draftAnswers,
  findDraft,
  hashDraftToken,
  newDraftToken,
  saveDraftAnswers,
} from '../../responses/drafts.ts';
import { scheduleOf } from '../../responses/schedules.ts';
import { parsePage } from '../../survey/answers.ts';
import { CHECK_ANSWERS, type Page, type Survey } from '../../survey/definition.ts';
import { journey } from '../../survey/journey.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { questionPageView, summaryRows, valuesBefore } from './view-models.ts';

export interface RespondentOptions {
  surveys: Survey[];
  now: () => Date;
  secureCookies: boolean;
}

const DRAFT_COOKIE = 'soundings_draft';
/** A respondent whose phone dies can come back within this long and carry on. */
const DRAFT_COOKIE_MAX_AGE = 60 * 60 * 24 * 90;
const RETURN_TO_CHECK = 'check-answers';

type SlugParams = { Params: { slug: string } };
type PageParams = { Params: { slug: string; page: string }; Querystring: { return?: string } };

/** The respondent's side: start page, one page per step, check your answers, thank you. */
export default async function respondentRoutes(app: FastifyInstance, opts: RespondentOptions) {
  const bySlug = new Map(opts.surveys.map((s) => [s.slug, s]));
  const base = (survey: Survey) => `/s/${survey.slug}`;
  const pageUrl = (survey: Survey, id: string) => `${base(survey)}/${id}`;

  const findSurvey = async (request: FastifyRequest<SlugParams>, reply: FastifyReply) => {
    const survey = bySlug.get(request.params.slug);
    if (!survey) {
      await renderError(
        reply,
        404,
        'Page not found',
        'There is no survey at this address. Check the link you were given.',
      );
      return undefined;
    }
    return survey;
  };

  const currentDraft = async (request: FastifyRequest, survey: Survey): Promise<ResponseRow | undefined> => {
    const raw = request.cookies[DRAFT_COOKIE];
    if (!raw) return undefined;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return undefined;
    return findDraft(app.db, survey.slug, hashDraftToken(unsigned.value));
  };

  /** Whether the survey is open now, by the dates an admin set or else its definition's. */
  const stateOf = async (survey: Survey, now = opts.now()) => surveyState(await scheduleOf(app.db, survey), now);

  /** Pages that must not be shown when the survey is not open say so, and accept nothing. */
  const refuseIfClosed = async (survey: Survey, reply: FastifyReply, method: string) => {
    const state = await stateOf(survey);
    if (state.open) return false;
    if (method === 'GET') await reply.redirect(base(survey), 303);
    else await renderClosed(reply, survey, state.reason, state.at, 403);
    return true;
  };

  const renderClosed = (reply: FastifyReply, survey: Survey, reason: string, at: Date, status: number) =>
    reply.code(status).view('pages/closed.eta', {
      title: survey.title,
      survey,
      message:
        reason === 'closed'
          ? `This survey closed on ${formatWhen(at)}. Thank you for your interest: answers can no longer be given.`
          : `This survey opens on ${formatWhen(at)}. Please come back then.`,
    });

  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

  app.get('/', async (request, reply) => {
    const now = opts.now();
    const states = await Promise.all(opts.surveys.map((s) => stateOf(s, now)));
    const open = opts.surveys.filter((_, i) => states[i]?.open);
    const src = (request.query as { src?: unknown }).src;
    const query = typeof src === 'string' && /^[a-z0-9_]{1,32}$/.test(src) ? `?src=${src}` : '';
    if (open.length === 1) return reply.redirect(`${base(open[0] as Survey)}${query}`, 302);
    return reply.view('pages/surveys.eta', {
      title: 'Surveys',
      surveys: open.map((s) => ({ title: s.title, owner: s.owner, href: base(s) })),
    });
  });

  app.get<SlugParams & { Querystring: { src?: string } }>('/s/:slug', async (request, reply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return reply;
    noStore(reply);
    const state = await stateOf(survey);
    if (!state.open) return renderClosed(reply, survey, state.reason, state.at, 200);
    const draft = await currentDraft(request, survey);
    const resume = draft?.status === 'partial' ? pageUrl(survey, journey(survey, draftAnswers(draft)).next) : undefined;
    return reply.view('pages/start.eta', {
      title: survey.title,
      survey,
      action: `${base(survey)}/start`,
      src: typeof request.query.src === 'string' ? request.query.src.slice(0, 32) : '',
      resume,
      completed: draft?.status === 'complete',
    });
  });

  app.post<SlugParams>('/s/:slug/start', async (request, reply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return reply;
    if (await refuseIfClosed(survey, reply, 'POST')) return reply;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const restart = body.restart === 'yes';
    const draft = await currentDraft(request, survey);
    // A second click on Start carries on the same draft instead of making another.
    if (draft?.status === 'partial' && !restart) {
      return reply.redirect(pageUrl(survey, journey(survey, draftAnswers(draft)).next), 303);
    }
    const src = typeof body.src === 'string' ? body.src : '';
    const channel = survey.channels.some((c) => c.code === src) ? src : 'web';
    const { token, hash } = newDraftToken();
    await createDraft(app.db, { survey: survey.slug, channel, tokenHash: hash, now: opts.now() });
    reply.setCookie(DRAFT_COOKIE, token, {
      path: base(survey),
      httpOnly: true,
      sameSite: 'lax',
      secure: opts.secureCookies,
      signed: true,
      maxAge: DRAFT_COOKIE_MAX_AGE,
    });
    return reply.redirect(pageUrl(survey, survey.start), 303);
  });

  /** Loads the draft for a step, or answers with the redirect the respondent needs instead. */
  const draftFor = async (request: FastifyRequest<SlugParams>, reply: FastifyReply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return undefined;
    noStore(reply);
    if (await refuseIfClosed(survey, reply, request.method)) return undefined;
    const draft = await currentDraft(request, survey);
    if (!draft) {
      await reply.redirect(base(survey), 303);
      return undefined;
    }
    if (draft.status === 'complete') {
      await reply.redirect(pageUrl(survey, 'thank-you'), 303);
      return undefined;
    }
    return { survey, draft, j: journey(survey, draftAnswers(draft)) };
  };

  const backLink = (survey: Survey, route: Page[], pageId: string) => {
    const at = route.findIndex((p) => p.id === pageId);
    const previous = at > 0 ? route[at - 1] : at === -1 ? route[route.length - 1] : undefined;
    return previous ? pageUrl(survey, previous.id) : base(survey);
  };

  app.get<SlugParams>('/s/:slug/check-answers', async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, j } = found;
    if (!j.complete) return reply.redirect(pageUrl(survey, j.next), 303);
    return reply.view('pages/check-answers.eta', {
      title: 'Check your answers before sending them',
      survey,
      rows: summaryRows(j, base(survey)),
      back: backLink(survey, j.route, CHECK_ANSWERS),
      action: pageUrl(survey, CHECK_ANSWERS),
    });
  });

  app.post<SlugParams>('/s/:slug/check-answers', async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, draft, j } = found;
    if (!j.complete) return reply.redirect(pageUrl(survey, j.next), 303);
    await completeDraft(app.db, draft.id, j, opts.now());
    return reply.redirect(pageUrl(survey, 'thank-you'), 303);
  });

  app.get<SlugParams>('/s/:slug/thank-you', async (request, reply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return reply;
    noStore(reply);
    const draft = await currentDraft(request, survey);
    if (!draft) return reply.redirect(base(survey), 303);
    if (draft.status === 'partial')
      return reply.redirect(pageUrl(survey, journey(survey, draftAnswers(draft)).next), 303);
    return reply.view('pages/thank-you.eta', { title: 'Thank you', survey });
  });

  app.get<PageParams>('/s/:slug/:page', async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, j } = found;
    const page = j.route.find((p) => p.id === request.params.page);
    // A page off the respondent's route (or not yet reached) sends them to the one they should see.
    if (!page) return reply.redirect(pageUrl(survey, j.next), 303);
    const shown = j.answers[page.id] ?? j.kept[page.id] ?? {};
    return renderPage(reply, survey, j, page, shown, [], request.query.return === RETURN_TO_CHECK, 200);
  });

  const renderPage = (
    reply: FastifyReply,
    survey: Survey,
    j: ReturnType<typeof journey>,
    page: Page,
    shown: Parameters<typeof questionPageView>[2],
    errors: Parameters<typeof questionPageView>[3],
    returnToCheck: boolean,
    status: number,
  ) => {
    const view = questionPageView(page, valuesBefore(j, page.id), shown, errors);
    return reply.code(status).view('pages/question.eta', {
      ...view,
      title: `${errors.length ? 'Error: ' : ''}${view.title} – ${survey.title}`,
      survey,
      action: pageUrl(survey, page.id),
      back: returnToCheck ? pageUrl(survey, CHECK_ANSWERS) : backLink(survey, j.route, page.id),
      returnToCheck,
    });
  };

  app.post<PageParams>('/s/:slug/:page', async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, draft, j } = found;
    const page = j.route.find((p) => p.id === request.params.page);
    if (!page) return reply.redirect(pageUrl(survey, j.next), 303);
    const body = request.body;
    const returnToCheck =
      typeof body === 'object' && body !== null && (body as Record<string, unknown>).return === RETURN_TO_CHECK;
    const parsed = parsePage(page, body, valuesBefore(j, page.id));
    if (parsed.kind === 'refused') {
      return renderError(reply, 400, 'There is a problem with that request', `${parsed.reason} Go back and try again.`);
    }
    if (parsed.kind === 'invalid') {
      return renderPage(reply, survey, j, page, parsed.form, parsed.errors, returnToCheck, 422);
    }
    const after = journey(survey, { ...j.kept, [page.id]: parsed.answers });
    await saveDraftAnswers(app.db, draft.id, after, opts.now());
    const at = after.route.findIndex((p) => p.id === page.id);
    const next = returnToCheck ? after.next : (after.route[at + 1]?.id ?? after.next);
    return reply.redirect(pageUrl(survey, next), 303);
  });
}
