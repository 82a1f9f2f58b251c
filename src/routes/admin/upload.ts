import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isStorageUnavailable } from '../../plugins/errors.ts';
import { hasNul, hasPoisonedKey } from '../../plugins/security.ts';
import type { AdminSessions } from './session.ts';

// A CSV file uploaded by staff (an import, population figures): signing in and
// the role are checked before any of the body is read (onRequest hooks of the
// admin scope); the form's token, its first field, before the file, which is
// streamed to a temporary file readable by this process's user only, and
// removed when done: never held in memory.

/** The largest CSV an admin can upload: about 150,000 responses. */
export const UPLOAD_FILE_LIMIT = 50 * 1024 * 1024;
/** The form sends its token and its file: nothing else, and nothing large but the file. */
export const UPLOAD_LIMITS = { fileSize: UPLOAD_FILE_LIMIT, files: 1, fields: 2, parts: 3, fieldSize: 1024 };

/** An upload that is not the form: answered with this status and message. */
export class UploadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Receives an upload into a temporary file and hands its path (and size) to
 * `use`; undefined when the token was refused (the 403 page is being sent).
 */
export async function withUpload<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  sessions: AdminSessions,
  use: (path: string, bytes: number) => Promise<T>,
  /** The largest file taken, in words, for the refusal (the multipart plugin's limit enforces it). */
  limit = '50 MB',
): Promise<T | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'soundings-upload-'));
  try {
    const path = join(dir, 'upload');
    const bytes = await receiveUpload(request, reply, sessions, path, limit);
    return bytes === undefined ? undefined : await use(path, bytes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
  limit: string,
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
      if (part.file.truncated) throw new UploadRefused(413, `The file is larger than ${limit}. Nothing was imported.`);
      bytes = out.bytesWritten;
    }
  } catch (err) {
    if (err instanceof UploadRefused || isStorageUnavailable(err)) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE')
      throw new UploadRefused(413, `The file is larger than ${limit}. Nothing was imported.`);
    // Busboy's and the plugin's own complaints: a body that is not well-formed multipart, or too many parts.
    throw new UploadRefused(400, 'The upload did not arrive as a whole, well-formed form. Nothing was imported.');
  }
  if (!checked) {
    sessions.formTokenValid(request, reply, undefined);
    return undefined;
  }
  return bytes;
}
