import { readFile } from 'node:fs/promises';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { areaCodes } from '../../survey/definition.ts';
import { replaceTargets, targetsOf } from '../../weighting/store.ts';
import { mappingOf, parseTargets, targetsCsv } from '../../weighting/targets.ts';
import { adminView, renderAdminError } from './access.ts';
import type { AdminSessions } from './session.ts';
import { download, surveyBase } from './survey-filters.ts';
import { UPLOAD_LIMITS, UploadRefused, withUpload } from './upload.ts';

/** A survey's population figures (admins): what they are, where they come from, and a file to replace them. */
export default async function targetsRoutes(app: FastifyInstance, opts: { sessions: AdminSessions; now: () => Date }) {
  await app.register(fastifyMultipart, { limits: UPLOAD_LIMITS });

  const targetsPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    view: { problems?: string[]; stored?: number } = {},
    status = 200,
  ) => {
    const { survey } = request;
    const stored = await targetsOf(app.db, survey);
    const variables = survey.population?.variables ?? {};
    const problems = view.problems ?? [];
    return adminView(
      request,
      reply,
      'admin/targets.eta',
      {
        title: `${problems.length ? 'Error: ' : ''}Population figures: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'settings',
        survey,
        back: `${surveyBase(survey)}/settings`,
        errors: problems.length
          ? [{ field: 'file', message: `Nothing was stored: the file has ${problems.length} problem(s)` }]
          : [],
        problems,
        stored: view.stored,
        origin: stored.origin,
        updatedAt: stored.updatedAt,
        rows: stored.targets.map((t) => ({
          ...t,
          variableLabel: variables[t.variable]?.label ?? t.variable,
          categoryLabel: variables[t.variable]?.categories.find((c) => c.category === t.category)?.label ?? t.category,
        })),
        mapping: Object.entries(variables).map(([variable, v]) => ({
          variable,
          label: v.label,
          question: v.question,
          categories: v.categories.map((c) => `${c.category} (${c.codes.join(', ')})`),
        })),
        caveats: survey.population?.caveats ?? [],
        action: `${surveyBase(survey)}/settings/targets`,
        csv: `${surveyBase(survey)}/settings/targets.csv`,
      },
      status,
    );
  };

  app.get('/settings/targets', (request, reply) => targetsPage(request, reply));

  app.get('/settings/targets.csv', async (request, reply) => {
    const { targets } = await targetsOf(app.db, request.survey);
    download(reply, 'text/csv; charset=utf-8', `${request.survey.slug}-population.csv`);
    return reply.send(targetsCsv(targets));
  });

  app.post('/settings/targets', { config: { uploadForm: true } }, async (request, reply) => {
    const { survey } = request;
    if (!survey.population)
      return renderAdminError(request, reply, 400, 'This survey has no population variables', 'Nothing was stored.');
    if (!request.isMultipart()) {
      const token = (request.body as Record<string, unknown> | undefined)?._csrf;
      if (!opts.sessions.formTokenValid(request, reply, typeof token === 'string' ? token : undefined)) return reply;
      return targetsPage(request, reply, { problems: ['Select a CSV file of population figures'] }, 422);
    }
    try {
      const done = await withUpload(request, reply, opts.sessions, async (path, bytes) => {
        if (bytes === 0)
          return targetsPage(request, reply, { problems: ['Select a CSV file of population figures'] }, 422);
        const parsed = parseTargets(await readFile(path, 'utf8'), {
          mapping: mappingOf(survey),
          districts: areaCodes(survey),
        });
        if (!parsed.ok) return targetsPage(request, reply, { problems: parsed.problems }, 422);
        await replaceTargets(app.db, survey, parsed.targets, opts.now());
        request.log.info({ survey: survey.slug, targets: parsed.targets.length }, 'population figures replaced');
        return targetsPage(request, reply, { stored: parsed.targets.length });
      });
      return done ?? reply;
    } catch (err) {
      if (!(err instanceof UploadRefused)) throw err;
      return renderAdminError(request, reply, err.status, 'There is a problem with that upload', err.message);
    }
  });
}
