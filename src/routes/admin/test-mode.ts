import type { FastifyInstance } from 'fastify';
import { countTestResponses, eraseTestResponses, startTestDraft } from '../../responses/test-responses.ts';
import { DRAFT_COOKIE, draftCookieOptions, pageUrl } from '../respondent/context.ts';
import { adminView, requireAdmin, signedIn } from './access.ts';
import { formFields } from './forms.ts';
import { surveyBase } from './survey-filters.ts';

/** The most a count in the address after erasing is believed: it is only ever shown, never acted on. */
const MAX_SHOWN = 1_000_000_000;

/**
 * Test mode: staff (analysts and admins) go through the survey as a resident
 * would, whatever its dates, their answers stored as a test that never counts;
 * admins erase every test at once, after a confirmation page.
 */
export default async function testModeRoutes(app: FastifyInstance, opts: { now: () => Date; publicUrl: string }) {
  const erasePath = (slug: string) => `/admin/surveys/${slug}/responses/erase-tests`;

  // Only this signed-in, CSRF-checked route issues a test draft's cookie: residents cannot make one.
  app.post('/test', async (request, reply) => {
    const { survey } = request;
    const token = await startTestDraft(app.db, survey, opts.now());
    request.log.info({ survey: survey.slug, by: signedIn(request).id }, 'test mode started');
    reply.setCookie(DRAFT_COOKIE, token, draftCookieOptions(survey, opts.publicUrl.startsWith('https:')));
    return reply.redirect(pageUrl(survey, survey.start), 303);
  });

  await app.register(async (adminOnly) => {
    adminOnly.addHook('onRequest', requireAdmin);

    adminOnly.get('/responses/erase-tests', async (request, reply) => {
      const { survey } = request;
      const erased = Number.parseInt(String((request.query as { erased?: string }).erased ?? ''), 10);
      return adminView(request, reply, 'admin/erase-tests.eta', {
        title: `Erase test responses: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'responses',
        survey,
        back: `${surveyBase(survey)}/responses`,
        action: erasePath(survey.slug),
        count: await countTestResponses(app.db, survey),
        erased: Number.isSafeInteger(erased) && erased >= 0 && erased <= MAX_SHOWN ? erased : undefined,
      });
    });

    adminOnly.post('/responses/erase-tests', async (request, reply) => {
      const { survey } = request;
      if (formFields(request.body).confirm !== 'yes') return reply.redirect(erasePath(survey.slug), 303);
      const admin = signedIn(request);
      const erased = await eraseTestResponses(app.db, survey, { id: admin.id, email: admin.email }, opts.now());
      request.log.warn({ survey: survey.slug, by: admin.id, erased }, 'test responses erased');
      return reply.redirect(`${erasePath(survey.slug)}?erased=${erased}`, 303);
    });
  });
}
