import { createHmac } from 'node:crypto';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResponseRow } from '../../db/schema.ts';
import { renderError } from '../../plugins/errors.ts';
import { hashDraftToken } from '../../responses/anonymity.ts';
import { findDraft } from '../../responses/save-draft.ts';
import { recentScheduleOf } from '../../responses/schedules.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { isTestToken } from '../../responses/test-responses.ts';
import type { Survey } from '../../survey/definition.ts';
import type { Journey } from '../../survey/journey.ts';
import { acceptsDraft, formatWhen, type SurveyState, surveyState } from '../../survey/schedule.ts';
import type { RespondentGuardSettings } from './guards.ts';
import { removalsCodec } from './removals.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The survey named in the URL (set by loadSurvey). */
    survey: Survey;
    /** The respondent's draft and its journey (set by loadDraft). */
    draft: { row: ResponseRow; journey: Journey };
  }
  interface FastifyContextConfig {
    /** How a respondent's form refused for its CSRF token is shown again (status 403, nothing stored). */
    refused?: (request: FastifyRequest, reply: FastifyReply) => unknown;
  }
}

export interface RespondentOptions extends Partial<RespondentGuardSettings> {
  now: () => Date;
  secureCookies: boolean;
  /** Keys the respondent's CSRF tokens. */
  cookieSecret: string;
  /** Drafts untouched this long are erased (null: never): the start page promises no longer a return. */
  draftRetentionDays?: number | null;
  /** Whether search engines may index an open survey's start page (INDEX_START_PAGE). */
  indexStartPage?: boolean;
}

export const DRAFT_COOKIE = 'soundings_draft';
/** The secret the respondent's form tokens are made from (see @fastify/csrf-protection), before and after Start. */
export const FORM_COOKIE = 'soundings_form';
/** A respondent whose phone dies can come back within this long and carry on. */
export const DRAFT_COOKIE_MAX_AGE = 60 * 60 * 24 * 90;
export const CSRF_FIELD = '_csrf';

/** Body limits: a question page (About you, the largest, sends well under 2 KB) and the Start and Send forms. */
export const PAGE_BODY_LIMIT = 8 * 1024;
export const BUTTON_BODY_LIMIT = 1024;

export const base = (survey: Survey) => `/s/${survey.slug}`;
export const pageUrl = (survey: Survey, id: string) => `${base(survey)}/${id}`;

/** The draft cookie's attributes: the admin route that starts a staff test sets it too. */
export const draftCookieOptions = (survey: Survey, secure: boolean) =>
  ({
    path: base(survey),
    httpOnly: true,
    sameSite: 'lax',
    secure,
    signed: true,
    maxAge: DRAFT_COOKIE_MAX_AGE,
  }) as const;

/** What the respondent's routes share: cookies, the survey's state, the hooks that find the survey and the draft. */
export type Respondents = Awaited<ReturnType<typeof respondentContext>>;

/**
 * Registers the respondent's CSRF protection in `app` (one mechanism with the
 * admin side: @fastify/csrf-protection, tokens bound to the draft) and
 * returns the helpers the route plugins share.
 */
export async function respondentContext(app: FastifyInstance, opts: RespondentOptions) {
  const cookieOptions = (survey: Survey) => draftCookieOptions(survey, opts.secureCookies);

  /** Each request's draft token, read once: the survey, CSRF, draft and test-mode checks all ask for it. */
  const tokens = new WeakMap<FastifyRequest, string | undefined>();
  /** The draft token in the signed cookie, or undefined when missing or forged. */
  const draftToken = (request: FastifyRequest): string | undefined => {
    if (tokens.has(request)) return tokens.get(request);
    const raw = request.cookies[DRAFT_COOKIE];
    const result = raw ? request.unsignCookie(raw) : undefined;
    const token = result?.valid && result.value ? result.value : undefined;
    tokens.set(request, token);
    return token;
  };

  /** What the form tokens are bound to: the draft, or before Start none (the library needs a non-empty value). */
  const formBinding = (request: FastifyRequest) => {
    const token = draftToken(request);
    return token ? `draft ${token}` : 'no draft';
  };

  await app.register(fastifyCsrfProtection, {
    cookieKey: FORM_COOKIE,
    cookieOpts: {
      path: '/s',
      httpOnly: true,
      sameSite: 'lax',
      secure: opts.secureCookies,
      signed: true,
      maxAge: DRAFT_COOKIE_MAX_AGE,
    },
    // Bound to the draft: a form shown before "Start again" in another tab is refused, not saved into the new draft.
    getUserInfo: formBinding,
    csrfOpts: { hmacKey: createHmac('sha256', opts.cookieSecret).update('soundings respondent csrf').digest() },
    getToken: (request) => {
      const token = (request.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
      return typeof token === 'string' ? token : undefined;
    },
    logLevel: 'info',
  });

  app.decorateRequest('survey', null as unknown as Survey);
  app.decorateRequest('draft', null as unknown as FastifyRequest['draft']);

  /** The token for the page's forms (setting the secret's cookie on a first visit). */
  const formToken = (request: FastifyRequest, reply: FastifyReply): string =>
    reply.generateCsrf({ userInfo: formBinding(request) });

  /** Logged without anything that could identify the respondent: the reason only. */
  const refused = (request: FastifyRequest, reason: string) => request.log.info({ reason }, 'respondent form refused');

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

  /** Whether the survey is open now, by the dates an admin set or else its definition's. */
  const stateOf = async (survey: Survey, now = opts.now()) => surveyState(await recentScheduleOf(app.db, survey), now);

  const renderClosed = (reply: FastifyReply, survey: Survey, reason: string, at: Date, status: number) =>
    reply.code(status).view('pages/closed.eta', {
      title: survey.title,
      survey,
      message:
        reason === 'closed'
          ? `This survey closed on ${formatWhen(at)}. Thank you for your interest: answers can no longer be given.`
          : `This survey opens on ${formatWhen(at)}. Please come back then.`,
    });

  /** The respondent's response (draft or sent) from their cookie. */
  const currentDraft = async (request: FastifyRequest, survey: Survey): Promise<ResponseRow | undefined> => {
    const token = draftToken(request);
    return token ? findDraft(app.db, survey, hashDraftToken(token)) : undefined;
  };

  /**
   * Whether this is staff trying the survey (test mode): both the signed
   * cookie's token (only the admin route issues a test one) and the draft's
   * row (stored as a test from the start) say so. Nothing a resident sends can.
   */
  const testing = (request: FastifyRequest, row: ResponseRow | undefined) =>
    row?.excluded === 'test' && isTestToken(draftToken(request));

  /** The survey's state for this respondent: open, whatever its dates, to staff in test mode. */
  const stateFor = async (request: FastifyRequest, survey: Survey): Promise<SurveyState> =>
    isTestToken(draftToken(request)) && testing(request, await currentDraft(request, survey))
      ? { open: true }
      : stateOf(survey);

  /** preHandler: the survey in the URL, or a 404 page; answers are never cached. */
  const loadSurvey = async (request: FastifyRequest, reply: FastifyReply) => {
    const survey = app.surveys.get((request.params as { slug: string }).slug);
    if (!survey) {
      await renderError(
        reply,
        404,
        'Page not found',
        'There is no survey at this address. Check the link you were given.',
      );
      return reply;
    }
    request.survey = survey;
    reply.header('cache-control', 'no-store');
    // Every page a test draft's holder sees says so (the layout's banner); it changes nothing else.
    if (isTestToken(draftToken(request))) reply.locals = { ...reply.locals, testMode: true };
  };

  /**
   * preHandler after loadSurvey and the CSRF check: the draft a step works on,
   * or the redirect the respondent needs instead (closed survey, no draft yet,
   * already sent).
   */
  const loadDraft = async (request: FastifyRequest, reply: FastifyReply) => {
    const { survey } = request;
    const now = opts.now();
    const schedule = await recentScheduleOf(app.db, survey);
    const state = surveyState(schedule, now);
    const row =
      state.open || schedule.draftsUntil || isTestToken(draftToken(request))
        ? await currentDraft(request, survey)
        : undefined;
    // Closed: only a draft started before, within the grace period chosen when closing, carries on; and staff's tests.
    if (
      !state.open &&
      !testing(request, row) &&
      !(row?.status === 'partial' && acceptsDraft(schedule, now, row.started_at))
    ) {
      if (request.method === 'GET') await reply.redirect(base(survey), 303);
      else await renderClosed(reply, survey, state.reason, state.at, 403);
      return reply;
    }
    if (!row) {
      await reply.redirect(base(survey), 303);
      return reply;
    }
    if (row.status === 'complete') {
      await reply.redirect(pageUrl(survey, 'thank-you'), 303);
      return reply;
    }
    request.draft = { row, journey: storedJourney(survey, row.answers) };
  };

  /** preHandler of every form post: a token that does not match is shown again by the route's `refused`. */
  const checkForm = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) =>
    app.csrfProtection(request, reply, done);

  app.setErrorHandler(async (error: Error & { code?: string }, request, reply) => {
    const show = request.routeOptions.config.refused;
    if (show && (error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET')) {
      refused(request, `${request.routeOptions.url}: csrf`);
      reply.code(403);
      return show(request, reply);
    }
    throw error;
  });

  /** How long a respondent can come back to a draft: the cookie's life, or sooner if drafts are erased sooner. */
  const comeBackDays = Math.min(DRAFT_COOKIE_MAX_AGE / 86_400, opts.draftRetentionDays ?? Number.POSITIVE_INFINITY);

  return {
    opts,
    comeBackDays,
    removals: removalsCodec(opts.cookieSecret),
    cookieOptions,
    draftToken,
    formToken,
    refused,
    refuseRequest,
    stateOf,
    testing,
    stateFor,
    renderClosed,
    currentDraft,
    loadSurvey,
    loadDraft,
    checkForm,
  };
}

/**
 * The fields of a form with only buttons and hidden inputs (Start, Send),
 * each given at most once as text; anything else is refused. The honeypot is
 * read separately: whatever a robot puts there only flags the response.
 */
export function buttonForm(
  body: unknown,
  allowed: readonly string[],
  honeypot: string,
): Record<string, string> | undefined {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === honeypot) continue;
    if (!allowed.includes(name) || typeof value !== 'string') return undefined;
    out[name] = value;
  }
  return out;
}

export const bodyRecord = (body: unknown): Record<string, unknown> =>
  typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
