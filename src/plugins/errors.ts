import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Messages a person can act on, for the request errors Fastify raises before our handlers run. */
const CLIENT_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'What you sent was too large. Go back, shorten your answer and try again.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'The form was not sent as a web form. Go back and try again.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The form was empty. Go back and try again.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The form did not arrive whole. Go back and try again.',
};

export async function renderError(reply: FastifyReply, status: number, heading: string, message: string) {
  reply.header('cache-control', 'no-store');
  return reply.code(status).view('pages/error.eta', { title: heading, heading, message });
}

/**
 * Fastify's frameworkErrors: what the router refuses before any hook or error
 * handler runs (a badly percent-encoded address, a part of it too long) gets
 * the plain error page, with the headers of every response, instead of
 * Fastify's bare JSON. The address is not logged: it may be anything.
 */
export function routerErrors(
  app: () => FastifyInstance,
  setHeaders: (request: FastifyRequest, reply: FastifyReply) => void,
) {
  return async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
    request.log.info({ code: error.code, status }, 'request refused by the router');
    setHeaders(request, reply);
    const heading = 'There is a problem with that web address';
    const message = 'Part of the web address could not be read, or is too long. Check it is correct.';
    try {
      const html = await app().view('pages/error.eta', { title: heading, heading, message });
      reply.code(status).type('text/html; charset=utf-8').send(html);
    } catch (err) {
      request.log.error({ err }, 'error page failed');
      reply.code(status).type('text/plain; charset=utf-8').send(`${heading}. ${message}`);
    }
  };
}

/** What a 503 asks the browser (and any proxy) to wait before trying again. */
export const RETRY_AFTER_SECONDS = 10;

/**
 * SQLite's answers when it cannot write just now, though nothing is wrong with
 * the request or the data: the disk is full, another process holds the lock,
 * the file or file system is read-only, the disk failed to read or write, or
 * memory ran out. A transaction that fails with one of these has changed
 * nothing, so the respondent can safely send the page again later.
 */
const STORAGE_UNAVAILABLE = /^SQLITE_(FULL|BUSY|LOCKED|READONLY|IOERR|CANTOPEN|PROTOCOL|NOMEM)(_|$)/;

/**
 * PostgreSQL's equivalents (SQLSTATE codes): the connection failed or was lost
 * (class 08), the server is out of disk, memory or connections (class 53),
 * it is shutting down or starting (57P01-57P03), a transaction lost a
 * serialization conflict or deadlock (40001, 40P01) or ran past its time
 * (57014, statement_timeout), or the database is read-only (25006, a standby).
 * And the network's: the server cannot be reached, or no pooled connection
 * came free in time. A transaction that fails with one of these did not commit.
 */
const POSTGRES_UNAVAILABLE = /^(08...|53...|57P0[123]|57014|40001|40P01|25006)$/;
const NETWORK_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);
const POOL_UNAVAILABLE =
  /^(timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?)$/;

/** Whether an error is the storage being unavailable for now, not a fault in our code or the request. */
export function isStorageUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (STORAGE_UNAVAILABLE.test(code) || POSTGRES_UNAVAILABLE.test(code))) return true;
  if (typeof code === 'string' && NETWORK_UNAVAILABLE.has(code)) return true;
  if (error instanceof AggregateError) return error.errors.some(isStorageUnavailable);
  return typeof message === 'string' && POOL_UNAVAILABLE.test(message);
}

/** The "try again" page: 503 with Retry-After, saying that what was saved before is safe. */
function renderUnavailable(reply: FastifyReply, heading: string, message: string) {
  reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return renderError(reply, 503, heading, message);
}

/**
 * Every error becomes a plain page: a clear message for a bad request (4xx), a
 * "try again" page when we are overloaded or the database cannot write just now
 * (503 with Retry-After), a short apology for our own faults (500). No stack
 * trace ever reaches a person.
 */
export default fp(
  async (app) => {
    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const staff = request.url.startsWith('/admin');
      // Too busy (see overload.ts): refused before any handler ran, so nothing was read or written.
      if (error.code === 'FST_UNDER_PRESSURE') {
        return renderUnavailable(
          reply,
          'Sorry, the service is very busy just now',
          staff
            ? 'Nothing was changed. Please wait a minute, then try again.'
            : 'Your answers so far are safe. Please wait a minute, then try again.',
        );
      }
      if (isStorageUnavailable(error)) {
        request.log.error({ code: error.code, message: error.message }, 'storage unavailable');
        const saving = request.method !== 'GET' && request.method !== 'HEAD';
        return renderUnavailable(
          reply,
          saving ? 'Sorry, we could not save that just now' : 'Sorry, the service is not available just now',
          staff
            ? 'Nothing was changed. Please wait a minute, then try again.'
            : saving
              ? 'Your earlier answers are safe. Please wait a minute, then go back and try again.'
              : 'Your answers so far are safe. Please try again in a minute.',
        );
      }
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) {
        request.log.error({ err: error }, 'request failed');
        return renderError(
          reply,
          500,
          'Sorry, there is a problem with the service',
          'Your answers so far are saved. Try again in a few minutes.',
        );
      }
      request.log.info({ code: error.code, status }, 'request refused');
      const message =
        (error.code && CLIENT_MESSAGES[error.code]) ??
        'Something in that request was not right. Go back and try again.';
      return renderError(
        reply,
        status,
        status === 413 ? 'Too much was sent' : 'There is a problem with that request',
        message,
      );
    });
    app.setNotFoundHandler(async (_request, reply) =>
      renderError(reply, 404, 'Page not found', 'If you typed the web address, check it is correct.'),
    );
  },
  { name: 'errors', dependencies: ['views'] },
);
