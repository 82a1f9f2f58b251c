import type { FastifyInstance } from 'fastify';
import checkAnswersRoutes from './check-answers.ts';
import { type RespondentOptions, respondentContext } from './context.ts';
import pageRoutes from './pages.ts';
import startRoutes from './start.ts';

export type { RespondentOptions } from './context.ts';
export { BUTTON_BODY_LIMIT, DRAFT_COOKIE, FORM_COOKIE, PAGE_BODY_LIMIT } from './context.ts';

/** The respondent's side: start page, one page per step, check your answers, thank you. */
export default async function respondentRoutes(app: FastifyInstance, opts: RespondentOptions) {
  const respondents = await respondentContext(app, opts);
  await app.register(startRoutes, respondents);
  await app.register(checkAnswersRoutes, respondents);
  await app.register(pageRoutes, respondents);
}
