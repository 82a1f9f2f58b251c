import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Survey } from '../../survey/definition.ts';
import { renderAdminError, requireAdmin } from './access.ts';
import crosstabRoutes from './crosstabs.ts';
import definitionRoutes from './definition.ts';
import exportRoutes from './exports.ts';
import importRoutes from './import.ts';
import paperRoutes from './paper.ts';
import responseRoutes from './responses.ts';
import resultsRoutes from './results.ts';
import scheduleRoutes from './schedule.ts';
import type { AdminSessions } from './session.ts';
import shareRoutes from './share.ts';
import targetsRoutes from './targets.ts';
import testModeRoutes from './test-mode.ts';
import wordingRoutes from './wording.ts';

export interface SurveyRoutesOptions {
  sessions: AdminSessions;
  now: () => Date;
  publicUrl: string;
}

/** Everything under /admin/surveys/:slug: `request.survey` is the survey in the URL, or the page is a 404. */
export default async function surveyRoutes(app: FastifyInstance, opts: SurveyRoutesOptions) {
  app.decorateRequest('survey', null as unknown as Survey);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const survey = app.surveys.get((request.params as { slug?: string }).slug ?? '');
    if (!survey) {
      await renderAdminError(request, reply, 404, 'Survey not found', 'There is no survey at this address.');
      return reply;
    }
    request.survey = survey;
  });

  // Asked each time, not captured: the registry changes when a wave is copied or a new version stored.
  const surveys = () => app.surveys.all();
  await app.register(resultsRoutes, { surveys });
  await app.register(crosstabRoutes, { surveys });
  await app.register(responseRoutes, { now: opts.now });
  await app.register(exportRoutes);
  await app.register(shareRoutes, { publicUrl: opts.publicUrl });
  await app.register(paperRoutes, { now: opts.now });
  await app.register(testModeRoutes, { now: opts.now, publicUrl: opts.publicUrl });
  // Admins only: open or close a survey, import, and change its definition.
  await app.register(async (adminOnly) => {
    adminOnly.addHook('onRequest', requireAdmin);
    await adminOnly.register(scheduleRoutes, { now: opts.now });
    await adminOnly.register(importRoutes, { sessions: opts.sessions });
    await adminOnly.register(targetsRoutes, { sessions: opts.sessions, now: opts.now });
    await adminOnly.register(definitionRoutes, { sessions: opts.sessions, now: opts.now });
    await adminOnly.register(wordingRoutes, { now: opts.now });
  });
}
