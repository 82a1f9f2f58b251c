import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { ResponseRow } from '../../db/schema.ts';
import { renderError } from '../../plugins/errors.ts';
import { hashDraftToken } from '../../responses/anonymity.ts';
import { findDraft, findSent, saveDraft, sendDraft, startDraft } from '../../responses/save-draft.ts';
import { recentScheduleOf } from '../../responses/schedules.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { parsePage } from '../../survey/answers.ts';
import { CHECK_ANSWERS, type Page, type Survey } from '../../survey/definition.ts';
import { journey } from '../../survey/journey.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { socialPreview } from '../social-meta.ts';
import {
  CSRF_FIELD,
  DEFAULT_GUARD_SETTINGS,
  DraftBurst,
  FormTokens,
  firstFlag,
  HONEYPOT_FIELD,
  honeypotFilled,
  newPreDraftSecret,
  newTimedDraftToken,
  RECENT_SECRETS,
  type RespondentGuardSettings,
  sentTooFast,
} from './guards.ts';
import { questionPageView, summaryRows, valuesBefore } from './view-models.ts';

export interface RespondentOptions extends Partial<RespondentGuardSettings> {
  surveys: Survey[];
  now: () => Date;
  secureCookies: boolean;
  /** Keys the respondent's CSRF tokens (see guards.ts). */
  cookieSecret: string;
}

export const DRAFT_COOKIE = 'soundings_draft';
/** Before Start: the random secret the Start form's CSRF token is bound to (see guards.ts). */
export const PRE_DRAFT_COOKIE = 'soundings_start';
/** A respondent whose phone dies can come back within this long and carry on. */
const DRAFT_COOKIE_MAX_AGE = 60 * 60 * 24 * 90;
const RETURN_TO_CHECK = 'check-answers';

/** Body limits: a question page (About you, the largest, sends well under 2 KB) and the Start and Send forms. */
export const PAGE_BODY_LIMIT = 8 * 1024;
export const BUTTON_BODY_LIMIT = 1024;

/** What a respondent sees when a form's token no longer matches (a new draft was started, cookies were cleared). */
const REFRESHED = {
  start:
    'Your session was refreshed, please press the button again. If this message comes back, check that your browser allows cookies from this site: the survey needs one to keep your answers.',
  page: 'Your session was refreshed, please check this page and press Continue again. Nothing on this page was saved.',
  send: 'Your session was refreshed, please press Send answers again. Your answers have not been sent yet.',
};

/**
 * The fields of a form with only buttons and hidden inputs (Start, Send),
 * each given at most once as text; anything else is refused. The honeypot is
 * read separately: whatever a robot puts there only flags the response.
 */
function buttonForm(body: unknown, allowed: readonly string[]): Record<string, string> | undefined {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === HONEYPOT_FIELD) continue;
    if (!allowed.includes(name) || typeof value !== 'string') return undefined;
    out[name] = value;
  }
  return out;
}

const bodyRecord = (body: unknown): Record<string, unknown> =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};

type SlugParams = { Params: { slug: string } };
type PageParams = { Params: { slug: string; page: string }; Querystring: { return?: string } };

/** The respondent's side: start page, one page per step, check your answers, thank you. */
export default async function respondentRoutes(app: FastifyInstance, opts: RespondentOptions) {
  const bySlug = new Map(opts.surveys.map((s) => [s.slug, s]));
  const base = (survey: Survey) => `/s/${survey.slug}`;
  const pageUrl = (survey: Survey, id: string) => `${base(survey)}/${id}`;
  const minCompletionMs = opts.minCompletionMs ?? DEFAULT_GUARD_SETTINGS.minCompletionMs;
  const burst = new DraftBurst(opts.burst ?? DEFAULT_GUARD_SETTINGS.burst);
  const tokens = new FormTokens(opts.cookieSecret);
  const cookieOptions = (survey: Survey) =>
    ({
      path: base(survey),
      httpOnly: true,
      sameSite: 'lax',
      secure: opts.secureCookies,
      signed: true,
      maxAge: DRAFT_COOKIE_MAX_AGE,
    }) as const;

  /**
   * Signed cookies found valid lately, and their values: a respondent sends
   * the same one with every page, and checking it is an HMAC.
   */
  const validCookies = new LRUCache<string, string>({ max: RECENT_SECRETS });

  /** A signed cookie's value, or undefined when it is missing or its signature is wrong. */
  const unsigned = (request: FastifyRequest, name: string): string | undefined => {
    const raw = request.cookies[name];
    if (!raw) return undefined;
    const known = validCookies.get(raw);
    if (known !== undefined) return known;
    const result = request.unsignCookie(raw);
    if (!result.valid || !result.value) return undefined;
    validCookies.set(raw, result.value);
    return result.value;
  };

  /** What the forms' CSRF token is bound to: the draft token, or before Start the pre-draft secret. */
  const bindingOf = (request: FastifyRequest): string | undefined => {
    const draft = unsigned(request, DRAFT_COOKIE);
    if (draft) return `draft:${draft}`;
    const pre = unsigned(request, PRE_DRAFT_COOKIE);
    return pre ? `pre:${pre}` : undefined;
  };

  /** The CSRF token for the page's forms; a browser with neither cookie is given a pre-draft secret first. */
  const formToken = (request: FastifyRequest, reply: FastifyReply, survey: Survey): string => {
    let binding = bindingOf(request);
    if (!binding) {
      const secret = newPreDraftSecret();
      reply.setCookie(PRE_DRAFT_COOKIE, secret, cookieOptions(survey));
      binding = `pre:${secret}`;
    }
    return tokens.token(survey.slug, binding);
  };

  const csrfValid = (request: FastifyRequest, survey: Survey) =>
    tokens.valid(survey.slug, bindingOf(request), bodyRecord(request.body)[CSRF_FIELD]);

  /** Logged without anything that could identify the respondent: the reason only. */
  const refused = (request: FastifyRequest, reason: string) => request.log.info({ reason }, 'respondent form refused');

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

  /** A body no form of ours sends: a plain 400 page, nothing stored. */
  const refuseRequest = (request: FastifyRequest, reply: FastifyReply, reason: string) => {
    refused(request, reason);
    return renderError(
      reply,
      400,
      'There is a problem with that request',
      'The form had a field or value it cannot accept. Go back and try again.',
    );
  };

  const currentDraft = async (request: FastifyRequest, survey: Survey): Promise<ResponseRow | undefined> => {
    const token = unsigned(request, DRAFT_COOKIE);
    return token ? findDraft(app.db, survey, hashDraftToken(token)) : undefined;
  };

  /** Whether the survey is open now, by the dates an admin set or else its definition's. */
  const stateOf = async (survey: Survey, now = opts.now()) => surveyState(await recentScheduleOf(app.db, survey), now);

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

  const renderStart = async (
    request: FastifyRequest,
    reply: FastifyReply,
    survey: Survey,
    src: string,
    status = 200,
    notice?: string,
  ) => {
    const draft = await currentDraft(request, survey);
    const resume = draft?.status === 'partial' ? pageUrl(survey, storedJourney(survey, draft.answers).next) : undefined;
    return reply.code(status).view('pages/start.eta', {
      title: survey.title,
      survey,
      action: `${base(survey)}/start`,
      src: src.slice(0, 32),
      resume,
      completed: draft?.status === 'complete',
      meta: socialPreview(survey, app.publicUrl),
      csrfToken: formToken(request, reply, survey),
      notice,
    });
  };

  app.get<SlugParams & { Querystring: { src?: string } }>('/s/:slug', async (request, reply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return reply;
    noStore(reply);
    const state = await stateOf(survey);
    if (!state.open) return renderClosed(reply, survey, state.reason, state.at, 200);
    return renderStart(request, reply, survey, typeof request.query.src === 'string' ? request.query.src : '');
  });

  app.post<SlugParams>('/s/:slug/start', { bodyLimit: BUTTON_BODY_LIMIT }, async (request, reply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return reply;
    noStore(reply);
    if (await refuseIfClosed(survey, reply, 'POST')) return reply;
    const body = buttonForm(request.body, [CSRF_FIELD, 'src', 'restart']);
    if (!body) return refuseRequest(request, reply, 'start: unexpected fields');
    const src = body.src ?? '';
    if (!csrfValid(request, survey)) {
      refused(request, 'start: csrf');
      return renderStart(request, reply, survey, src, 403, REFRESHED.start);
    }
    const restart = body.restart === 'yes';
    const draft = await currentDraft(request, survey);
    // A second click on Start carries on the same draft instead of making another.
    if (draft?.status === 'partial' && !restart) {
      return reply.redirect(pageUrl(survey, storedJourney(survey, draft.answers).next), 303);
    }
    const now = opts.now();
    const verdict = burst.record(request.ip, now);
    if (verdict.verdict === 'refuse') {
      refused(request, 'start: burst');
      reply.header('retry-after', String(Math.ceil(verdict.retryAfterMs / 1000)));
      return renderError(
        reply,
        429,
        'Too many responses have been started',
        'So many new responses have been started from your internet connection in the last few minutes that we cannot take another just now. Nothing has been lost: please wait a few minutes, then start again.',
      );
    }
    const channel = survey.channels.some((c) => c.code === src) ? src : 'web';
    const token = newTimedDraftToken(now);
    const flag = firstFlag(
      honeypotFilled(bodyRecord(request.body)) ? 'honeypot' : null,
      verdict.verdict === 'flag' ? 'burst' : null,
    );
    await startDraft(app.db, survey, { channel, tokenHash: hashDraftToken(token), now, flag });
    reply.setCookie(DRAFT_COOKIE, token, cookieOptions(survey));
    reply.clearCookie(PRE_DRAFT_COOKIE, { path: base(survey) });
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
    return { survey, draft, j: storedJourney(survey, draft.answers) };
  };

  const backLink = (survey: Survey, route: Page[], pageId: string) => {
    const at = route.findIndex((p) => p.id === pageId);
    const previous = at > 0 ? route[at - 1] : at === -1 ? route[route.length - 1] : undefined;
    return previous ? pageUrl(survey, previous.id) : base(survey);
  };

  const renderCheckAnswers = (
    request: FastifyRequest,
    reply: FastifyReply,
    survey: Survey,
    j: ReturnType<typeof journey>,
    status = 200,
    notice?: string,
  ) =>
    reply.code(status).view('pages/check-answers.eta', {
      title: 'Check your answers before sending them',
      survey,
      rows: summaryRows(j, base(survey)),
      back: backLink(survey, j.route, CHECK_ANSWERS),
      action: pageUrl(survey, CHECK_ANSWERS),
      csrfToken: formToken(request, reply, survey),
      notice,
    });

  app.get<SlugParams>('/s/:slug/check-answers', async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, j } = found;
    if (!j.complete) return reply.redirect(pageUrl(survey, j.next), 303);
    return renderCheckAnswers(request, reply, survey, j);
  });

  app.post<SlugParams>('/s/:slug/check-answers', { bodyLimit: BUTTON_BODY_LIMIT }, async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, draft, j } = found;
    if (!j.complete) return reply.redirect(pageUrl(survey, j.next), 303);
    if (!buttonForm(request.body, [CSRF_FIELD])) return refuseRequest(request, reply, 'send: unexpected fields');
    if (!csrfValid(request, survey)) {
      refused(request, 'send: csrf');
      return renderCheckAnswers(request, reply, survey, j, 403, REFRESHED.send);
    }
    const now = opts.now();
    const token = unsigned(request, DRAFT_COOKIE) ?? '';
    const flag = firstFlag(
      honeypotFilled(bodyRecord(request.body)) ? 'honeypot' : null,
      sentTooFast(token, draft.started_at, now, minCompletionMs) ? 'too_fast' : null,
    );
    // Exactly once: a replayed Send finds the response complete and changes nothing.
    await sendDraft(app.db, survey, draft, j, now, flag);
    return reply.redirect(pageUrl(survey, 'thank-you'), 303);
  });

  app.get<SlugParams>('/s/:slug/thank-you', async (request, reply) => {
    const survey = await findSurvey(request, reply);
    if (!survey) return reply;
    noStore(reply);
    const token = unsigned(request, DRAFT_COOKIE);
    const draft = token ? await findSent(app.db, survey, hashDraftToken(token)) : undefined;
    if (!draft) return reply.redirect(base(survey), 303);
    if (draft.status === 'partial')
      return reply.redirect(pageUrl(survey, storedJourney(survey, draft.answers).next), 303);
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
    return renderPage(request, reply, survey, j, page, shown, [], request.query.return === RETURN_TO_CHECK, 200);
  });

  const renderPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    survey: Survey,
    j: ReturnType<typeof journey>,
    page: Page,
    shown: Parameters<typeof questionPageView>[2],
    errors: Parameters<typeof questionPageView>[3],
    returnToCheck: boolean,
    status: number,
    notice?: string,
  ) => {
    const view = questionPageView(page, valuesBefore(j, page.id), shown, errors);
    return reply.code(status).view('pages/question.eta', {
      ...view,
      title: `${errors.length ? 'Error: ' : ''}${view.title} – ${survey.title}`,
      survey,
      action: pageUrl(survey, page.id),
      back: returnToCheck ? pageUrl(survey, CHECK_ANSWERS) : backLink(survey, j.route, page.id),
      returnToCheck,
      csrfToken: formToken(request, reply, survey),
      notice,
    });
  };

  app.post<PageParams>('/s/:slug/:page', { bodyLimit: PAGE_BODY_LIMIT }, async (request, reply) => {
    const found = await draftFor(request, reply);
    if (!found) return reply;
    const { survey, draft, j } = found;
    const page = j.route.find((p) => p.id === request.params.page);
    if (!page) return reply.redirect(pageUrl(survey, j.next), 303);
    const body = bodyRecord(request.body);
    const returnToCheck = body.return === RETURN_TO_CHECK;
    if (!csrfValid(request, survey)) {
      // Shown as the draft holds it, not as sent: a forged form must not pre-fill the page.
      refused(request, 'page: csrf');
      const shown = j.answers[page.id] ?? j.kept[page.id] ?? {};
      return renderPage(request, reply, survey, j, page, shown, [], returnToCheck, 403, REFRESHED.page);
    }
    const honeypot = honeypotFilled(body);
    const answersBody =
      typeof request.body === 'object' && request.body !== null
        ? Object.fromEntries(Object.entries(body).filter(([name]) => name !== HONEYPOT_FIELD))
        : request.body;
    const parsed = parsePage(page, answersBody, valuesBefore(j, page.id));
    if (parsed.kind === 'refused') {
      return renderError(reply, 400, 'There is a problem with that request', `${parsed.reason} Go back and try again.`);
    }
    if (parsed.kind === 'invalid') {
      return renderPage(request, reply, survey, j, page, parsed.form, parsed.errors, returnToCheck, 422);
    }
    const after = journey(survey, { ...j.kept, [page.id]: parsed.answers });
    await saveDraft(app.db, survey, draft, after, opts.now(), honeypot ? 'honeypot' : null);
    const at = after.route.findIndex((p) => p.id === page.id);
    const next = returnToCheck ? after.next : (after.route[at + 1]?.id ?? after.next);
    return reply.redirect(pageUrl(survey, next), 303);
  });
}
