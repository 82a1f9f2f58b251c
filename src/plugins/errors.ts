import type { FastifyError, FastifyReply } from 'fastify';
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
 * Every error becomes a plain page: a clear message for a bad request (4xx), a
 * short apology for our own faults (500). No stack trace ever reaches a person.
 */
export default fp(
  async (app) => {
    app.setErrorHandler(async (error: FastifyError, request, reply) => {
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
