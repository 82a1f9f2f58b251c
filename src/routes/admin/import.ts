import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { importResponses } from '../../exports/import.ts';
import { isStorageUnavailable } from '../../plugins/errors.ts';
import { hasNul, hasPoisonedKey } from '../../plugins/security.ts';
import type { Survey } from '../../survey/definition.ts';
import { adminView, renderAdminError } from './access.ts';
import type { AdminSessions } from './session.ts';
import { surveyBase } from './survey-filters.ts';

/** The largest CSV an admin can upload: about 150,000 responses. */
export const IMPORT_FILE_LIMIT = 50 * 1024 * 1024;
/** The form sends its token and its file: nothing else, and nothing large but the file. */
const UPLOAD_LIMITS = { fileSize: IMPORT_FILE_LIMIT, files: 1, fields: 2, parts: 3, fieldSize: 1024 };

class UploadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Importing a CSV of responses (admins). Multipart bodies are accepted here
 * and nowhere else. Signing in and the role are checked before any of the body
 * is read (onRequest hooks of the admin scope); the form's token, its first
 * field, before the file, which is streamed to a temporary file (readable by
 * this process's user only) and imported from there, never held in memory.
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
    const dir = await mkdtemp(join(tmpdir(), 'soundings-import-'));
    const path = join(dir, 'upload.csv');
    try {
      let bytes: number | undefined;
      try {
        bytes = await receiveUpload(request, reply, opts.sessions, path);
      } catch (err) {
        if (err instanceof UploadRefused) {
          request.log.info({ reason: err.message }, 'import upload refused');
          return renderAdminError(request, reply, err.status, 'There is a problem with that upload', err.message);
        }
        throw err;
      }
      // The token was refused: the 403 page is on its way.
      if (bytes === undefined) return reply;
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
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/**
 * Reads the upload's parts in order: the CSRF token (checked at once: a bad one
 * is answered with the admin side's 403 page and nothing more is read), then
 * the file, written to `path`. Returns the file's size, or undefined when the
 * token was refused; a body that is not the form (malformed, too large, other
 * fields) is an UploadRefused.
 */
async function receiveUpload(
  request: FastifyRequest,
  reply: FastifyReply,
  sessions: AdminSessions,
  path: string,
): Promise<number | undefined> {
  let checked = false;
  let bytes = 0;
  try {
    for await (const part of request.parts()) {
      if (hasNul(part.fieldname) || hasPoisonedKey({ [part.fieldname]: 1 }))
        throw new UploadRefused(400, 'The form had a field this page does not ask for. Nothing was imported.');
      if (part.type === 'field') {
        if (part.fieldname !== '_csrf' || checked || typeof part.value !== 'string' || hasNul(part.value))
          throw new UploadRefused(400, 'The form had a field this page does not ask for. Nothing was imported.');
        if (!sessions.formTokenValid(request, reply, part.value)) return undefined;
        checked = true;
        continue;
      }
      if (!checked || part.fieldname !== 'file')
        throw new UploadRefused(400, 'The form was not sent as this page sends it. Reload the page and try again.');
      const out = createWriteStream(path, { mode: 0o600, flags: 'wx' });
      await pipeline(part.file, out);
      if (part.file.truncated) throw new UploadRefused(413, 'The file is larger than 50 MB. Nothing was imported.');
      bytes = out.bytesWritten;
    }
  } catch (err) {
    if (err instanceof UploadRefused || isStorageUnavailable(err)) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE')
      throw new UploadRefused(413, 'The file is larger than 50 MB. Nothing was imported.');
    // Busboy's and the plugin's own complaints: a body that is not well-formed multipart, or too many parts.
    throw new UploadRefused(400, 'The upload did not arrive as a whole, well-formed form. Nothing was imported.');
  }
  if (!checked) {
    sessions.formTokenValid(request, reply, undefined);
    return undefined;
  }
  return bytes;
}
