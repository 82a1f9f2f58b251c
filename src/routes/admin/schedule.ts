import type { FastifyInstance } from 'fastify';
import { toMinute } from '../../responses/anonymity.ts';
import { scheduleOf, setSchedule } from '../../responses/schedules.ts';
import { fromLondonTime } from '../../survey/schedule.ts';
import { renderAdminError } from './access.ts';
import { surveyBase } from './survey-filters.ts';

/** Opening and closing a survey (admins): the dates set here replace those in its definition. */
export default async function scheduleRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  // Open or close a survey: the dates set here replace those in its definition.
  app.post('/schedule', async (request, reply) => {
    const { survey } = request;
    const body = (request.body ?? {}) as Record<string, unknown>;
    // Each field at most once, as text: a repeated date must not read as "no date".
    if (Object.values(body).some((value) => typeof value !== 'string'))
      return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
    const now = opts.now();
    const current = await scheduleOf(app.db, survey);
    let next: { opensAt: string | null; closesAt: string | null };
    if (body.action === 'open') {
      next = {
        opensAt: toMinute(now),
        closesAt: current.closesAt && new Date(current.closesAt) > now ? current.closesAt : null,
      };
    } else if (body.action === 'close') {
      next = { opensAt: current.opensAt ?? null, closesAt: toMinute(now) };
    } else if (body.action === 'dates') {
      const read = (name: string) => {
        const value = typeof body[name] === 'string' ? (body[name] as string) : '';
        if (!value) return { value: null };
        const at = fromLondonTime(value);
        return at
          ? { value: at.toISOString() }
          : {
              error: `Enter the ${name === 'opens_at' ? 'opening' : 'closing'} date and time as shown, like 2019-03-03 17:00`,
            };
      };
      const opens = read('opens_at');
      const closes = read('closes_at');
      const problems = [opens.error, closes.error].filter((e): e is string => Boolean(e));
      if (!problems.length && opens.value && closes.value && opens.value >= closes.value)
        problems.push('The closing time must be after the opening time');
      if (problems.length)
        return renderAdminError(
          request,
          reply,
          422,
          'Those dates cannot be used',
          `${problems.join('. ')}. Nothing was changed.`,
        );
      next = { opensAt: opens.value ?? null, closesAt: closes.value ?? null };
    } else {
      return renderAdminError(request, reply, 400, 'There is a problem with that request', 'Nothing was changed.');
    }
    await setSchedule(app.db, survey, next, now);
    request.log.info({ survey: survey.slug, by: request.admin?.id, ...next }, 'survey schedule changed');
    return reply.redirect(`${surveyBase(survey)}#schedule`, 303);
  });
}
