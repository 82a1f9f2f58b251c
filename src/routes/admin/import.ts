import { createReadStream } from 'node:fs';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { importResponses } from '../../exports/import.ts';
import type { Survey } from '../../survey/definition.ts';
import { adminView, renderAdminError } from './access.ts';
import type { AdminSessions } from './session.ts';
import { surveyBase } from './survey-filters.ts';
import { UPLOAD_LIMITS, UploadRefused, withUpload } from './upload.ts';

/**
 * Importing a CSV of responses (admins), streamed to a temporary file and
 * imported from there (see upload.ts).
 */
export default async function importRoutes(app: FastifyInstance, opts: { sessions: AdminSessions }) {
  await app.register(fastifyMultipart, { limits: UPLOAD_LIMITS });

  const importPage = (survey: Survey) => ({
    title: `Import responses: ${survey.title} – Soundings admin`,
    nav: 'surveys',
    survey,
    action: `${surveyBase(survey)}/import`,
    back: surveyBase(survey),
    errors: [] as { field: string; message: string }[],
  });

  const fileError = (request: FastifyRequest, reply: FastifyReply, message: string, extra = {}) =>
    adminView(
      request,
      reply,
      'admin/import.eta',
      { ...importPage(request.survey), errors: [{ field: 'file', message }], ...extra },
      422,
    );

  app.get('/import', async (request, reply) =>
    adminView(request, reply, 'admin/import.eta', importPage(request.survey)),
  );

  app.post('/import', { config: { uploadForm: true } }, async (request, reply) => {
    const { survey } = request;
    if (!request.isMultipart()) {
      // Not the upload form: its token, if it has one, is checked as any form's; there is no file either way.
      const token = (request.body as Record<string, unknown> | undefined)?._csrf;
      if (!opts.sessions.formTokenValid(request, reply, typeof token === 'string' ? token : undefined)) return reply;
      return fileError(request, reply, 'Select a CSV file of responses');
    }
    try {
      const done = await withUpload(request, reply, opts.sessions, async (path, bytes) => {
        if (bytes === 0) return fileError(request, reply, 'Select a CSV file of responses');
        const result = await importResponses(app.db, survey, () => createReadStream(path));
        if (!result.ok) {
          return fileError(request, reply, `Nothing was imported: the file has ${result.problemCount} problem(s)`, {
            problems: result.problems,
            problemCount: result.problemCount,
          });
        }
        request.log.info({ survey: survey.slug, imported: result.imported }, 'responses imported');
        return adminView(request, reply, 'admin/import.eta', { ...importPage(survey), result });
      });
      // Undefined: the token was refused, and the 403 page is on its way.
      return done ?? reply;
    } catch (err) {
      if (!(err instanceof UploadRefused)) throw err;
      request.log.info({ reason: err.message }, 'import upload refused');
      return renderAdminError(request, reply, err.status, 'There is a problem with that upload', err.message);
    }
  });
}
