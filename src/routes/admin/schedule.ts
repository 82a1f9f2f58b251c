import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IMPORTED_TOKEN_PREFIX, toMinute } from '../../responses/anonymity.ts';
import { scheduleOf, setSchedule } from '../../responses/schedules.ts';
import { formatWhen, fromLondonTime, surveyState, toLondonTime } from '../../survey/schedule.ts';
import { adminView, renderAdminError } from './access.ts';
import { errorFor, type FieldError } from './forms.ts';
import { surveyBase } from './survey-filters.ts';

/** How long drafts already started may still be sent after closing: the choices offered. */
export const GRACE_PERIODS: { value: string; label: string; ms: number }[] = [
  { value: 'none', label: 'No: stop at once', ms: 0 },
  { value: '1h', label: 'For 1 hour', ms: 60 * 60_000 },
  { value: '1d', label: 'For 1 day', ms: 24 * 60 * 60_000 },
  { value: '7d', label: 'For 7 days', ms: 7 * 24 * 60 * 60_000 },
];

/** Drafts changed this recently count as residents part-way through. */
const PART_WAY_MS = 7 * 24 * 60 * 60_000;

/**
 * A survey's settings (admins): whether it is open, opening and closing it
 * (closing after a confirmation that says who is part-way through, with an
 * optional grace period for them), and its dates.
 */
export default async function scheduleRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  const settingsPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    view: { errors?: FieldError[]; values?: Record<string, string> } = {},
    status = 200,
  ) => {
    const { survey } = request;
    const schedule = await scheduleOf(app.db, survey);
    const now = opts.now();
    const state = surveyState(schedule, now);
    const errors = view.errors ?? [];
    return adminView(
      request,
      reply,
      'admin/settings.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}Settings: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'settings',
        survey,
        errors,
        error: errorFor(errors),
        open: state.open,
        status: state.open
          ? `Open${schedule.closesAt ? `: closes on ${formatWhen(new Date(schedule.closesAt))}` : ': no closing date set'}`
          : state.reason === 'closed'
            ? `Closed on ${formatWhen(state.at)}`
            : `Opens on ${formatWhen(state.at)}`,
        grace:
          !state.open && schedule.draftsUntil && new Date(schedule.draftsUntil) > now
            ? `Residents who had started before it closed can finish and send their answers until ${formatWhen(new Date(schedule.draftsUntil))}.`
            : undefined,
        action: `${surveyBase(survey)}/schedule`,
        close: `${surveyBase(survey)}/settings/close`,
        importHref: `${surveyBase(survey)}/import`,
        targetsHref: `${surveyBase(survey)}/settings/targets`,
        opensAt: view.values?.opens_at ?? (schedule.opensAt ? toLondonTime(new Date(schedule.opensAt)) : ''),
        closesAt: view.values?.closes_at ?? (schedule.closesAt ? toLondonTime(new Date(schedule.closesAt)) : ''),
      },
      status,
    );
  };

  app.get('/settings', (request, reply) => settingsPage(request, reply));

  /** Residents part-way through: drafts (not imported records) changed lately. */
  const partWay = async (survey: string, now: Date) => {
    const row = await app.db
      .selectFrom('responses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('survey', '=', survey)
      .where('status', '=', 'partial')
      .where('excluded', 'is', null)
      .where('updated_at', '>=', toMinute(new Date(now.getTime() - PART_WAY_MS)))
      .where('draft_token_hash', 'not like', `${IMPORTED_TOKEN_PREFIX}%`)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  };

  app.get('/settings/close', async (request, reply) => {
    const { survey } = request;
    const now = opts.now();
    const state = surveyState(await scheduleOf(app.db, survey), now);
    if (!state.open) return reply.redirect(`${surveyBase(survey)}/settings`, 303);
    return adminView(request, reply, 'admin/close-survey.eta', {
      title: `Close the survey: ${survey.title} – Soundings admin`,
      nav: 'surveys',
      surveyNav: 'settings',
      survey,
      back: `${surveyBase(survey)}/settings`,
      partWay: await partWay(survey.slug, now),
      periods: GRACE_PERIODS,
      action: `${surveyBase(survey)}/schedule`,
    });
  });

  // Open or close a survey, or set its dates: these replace the definition's.
  app.post('/schedule', async (request, reply) => {
    const { survey } = request;
    const body = (request.body ?? {}) as Record<string, unknown>;
    // Each field at most once, as text: a repeated date must not read as "no date".
    if (Object.values(body).some((value) => typeof value !== 'string'))
      return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
    const now = opts.now();
    const current = await scheduleOf(app.db, survey);
    let next: { opensAt: string | null; closesAt: string | null; draftsUntil?: string | null };
    if (body.action === 'open') {
      next = {
        opensAt: toMinute(now),
        closesAt: current.closesAt && new Date(current.closesAt) > now ? current.closesAt : null,
      };
    } else if (body.action === 'close') {
      // Closing stops residents part-way: only after the confirmation page, which says so.
      if (body.confirm !== 'yes') return reply.redirect(`${surveyBase(survey)}/settings/close`, 303);
      const grace = GRACE_PERIODS.find((g) => g.value === body.grace);
      if (!grace)
        return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
      next = {
        opensAt: current.opensAt ?? null,
        closesAt: toMinute(now),
        draftsUntil: grace.ms ? new Date(now.getTime() + grace.ms).toISOString() : null,
      };
    } else if (body.action === 'dates') {
      const errors: FieldError[] = [];
      const read = (name: 'opens_at' | 'closes_at') => {
        const value = typeof body[name] === 'string' ? (body[name] as string) : '';
        if (!value) return null;
        const at = fromLondonTime(value);
        if (!at)
          errors.push({
            field: name,
            message: `Enter the ${name === 'opens_at' ? 'opening' : 'closing'} date and time as shown, like 2019-03-03 17:00`,
          });
        return at ? at.toISOString() : null;
      };
      const opensAt = read('opens_at');
      const closesAt = read('closes_at');
      if (!errors.length && opensAt && closesAt && opensAt >= closesAt)
        errors.push({ field: 'closes_at', message: 'The closing time must be after the opening time' });
      if (errors.length)
        return settingsPage(
          request,
          reply,
          { errors, values: { opens_at: String(body.opens_at ?? ''), closes_at: String(body.closes_at ?? '') } },
          422,
        );
      next = { opensAt, closesAt };
    } else {
      return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
    }
    await setSchedule(app.db, survey, next, now);
    request.log.info({ survey: survey.slug, by: request.admin?.id, ...next }, 'survey schedule changed');
    return reply.redirect(`${surveyBase(survey)}/settings`, 303);
  });
}
