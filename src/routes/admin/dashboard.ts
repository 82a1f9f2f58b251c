import type { FastifyInstance } from 'fastify';
import { scheduleOf } from '../../responses/schedules.ts';
import type { Survey } from '../../survey/definition.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { adminView } from './access.ts';

/** The admin home: every survey, and whether it is open. */
export default async function dashboardRoutes(app: FastifyInstance, opts: { surveys: Survey[]; now: () => Date }) {
  app.get('/', async (request, reply) => {
    const now = opts.now();
    const schedules = await Promise.all(opts.surveys.map((survey) => scheduleOf(app.db, survey)));
    return adminView(request, reply, 'admin/dashboard.eta', {
      title: 'Surveys – Soundings admin',
      nav: 'surveys',
      surveys: opts.surveys.map((survey, i) => {
        const state = surveyState(schedules[i] as Awaited<ReturnType<typeof scheduleOf>>, now);
        return {
          title: survey.title,
          owner: survey.owner,
          href: `/admin/surveys/${survey.slug}`,
          status: state.open
            ? 'Open'
            : state.reason === 'closed'
              ? `Closed on ${formatWhen(state.at)}`
              : `Opens on ${formatWhen(state.at)}`,
        };
      }),
    });
  });
}
