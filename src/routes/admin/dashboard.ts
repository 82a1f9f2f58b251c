import type { FastifyInstance } from 'fastify';
import { scheduleOf } from '../../responses/schedules.ts';
import type { Survey } from '../../survey/definition.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { adminView } from './access.ts';

/** The admin home: every survey, and whether it is open. */
export default async function dashboardRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  app.get('/', async (request, reply) => {
    const now = opts.now();
    const surveys = app.surveys.all();
    const schedules = await Promise.all(surveys.map((survey) => scheduleOf(app.db, survey)));
    return adminView(request, reply, 'admin/dashboard.eta', {
      title: 'Surveys – Soundings admin',
      nav: 'surveys',
      surveys: surveys.map((survey: Survey, i) => {
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
