import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Survey } from '../../survey/definition.ts';
import { applyWording, wordingSections } from '../../survey/wording.ts';
import { discardDraft, draftOf, type SaveOptions, saveDefinition, saveDraft } from '../../surveys/store.ts';
import { questionPageView } from '../respondent/view-models.ts';
import { adminView, csrfUserInfo, renderAdminError } from './access.ts';
import { actorOf } from './definition.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import { surveyBase } from './survey-filters.ts';

// A survey's wording (admins): every text of the survey in one form, kept as an
// unpublished draft, previewed page by page as residents would see it, then
// published as a new version. Codes and routing are not on the form.

/** The wording form carries every text of the survey: far more than a respondent's page. */
export const WORDING_BODY_LIMIT = 512 * 1024;

/** /admin/surveys/:slug/wording and its preview (admins only: registered in their scope). */
export default async function wordingRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  const base = (survey: Survey) => `${surveyBase(survey)}/definition`;

  const wordingPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    shown: { survey: Survey; values?: Record<string, string>; errors?: FieldError[]; hasDraft: boolean },
  ) => {
    const errors = shown.errors ?? [];
    const sections = wordingSections(shown.survey).map((section) => ({
      ...section,
      fields: section.fields.map((f) => ({ ...f, value: shown.values?.[f.name] ?? f.value })),
    }));
    return adminView(
      request,
      reply,
      'admin/wording.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}Edit wording: ${request.survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'definition',
        survey: request.survey,
        back: base(request.survey),
        action: `${surveyBase(request.survey)}/wording`,
        preview: `${surveyBase(request.survey)}/wording/preview`,
        hasDraft: shown.hasDraft,
        sections,
        errors,
        error: errorFor(errors),
      },
      errors.length ? 422 : 200,
    );
  };

  /** The draft, unless it was made from a version that is no longer served. */
  const currentDraft = async (survey: Survey) => {
    const draft = await draftOf(app.db, survey.slug);
    return draft && draft.base === (survey.version ?? 1) ? draft : undefined;
  };

  app.get('/wording', async (request, reply) => {
    const draft = await currentDraft(request.survey);
    return wordingPage(request, reply, { survey: draft?.survey ?? request.survey, hasDraft: Boolean(draft) });
  });

  app.post('/wording', { bodyLimit: WORDING_BODY_LIMIT }, async (request, reply) => {
    const { survey } = request;
    const body = formFields(request.body);
    if (body.action === 'discard') {
      await discardDraft(app.db, survey.slug);
      return reply.redirect(`${surveyBase(survey)}/wording`, 303);
    }
    if (body.action === 'publish') return publish(request, reply);
    const draft = await currentDraft(survey);
    const result = applyWording(draft?.survey ?? survey, body);
    if (!result.ok)
      return wordingPage(request, reply, {
        survey: draft?.survey ?? survey,
        values: result.values,
        errors: result.errors,
        hasDraft: Boolean(draft),
      });
    await saveDraft(app.db, result.survey, survey.version ?? 1, actorOf(request), opts.now());
    return reply.redirect(`${surveyBase(survey)}/wording/preview`, 303);
  });

  async function publish(request: FastifyRequest, reply: FastifyReply) {
    const { survey } = request;
    const draft = await currentDraft(survey);
    if (!draft) {
      return renderAdminError(
        request,
        reply,
        409,
        'There are no changes to publish',
        'Nothing was stored. The changes were published or discarded already, or a new version was stored since they were made: edit the wording again.',
        { href: `${surveyBase(survey)}/wording`, text: 'Edit the wording' },
      );
    }
    const options: SaveOptions = {
      actor: actorOf(request),
      now: opts.now(),
      note: 'Wording edited',
      existingOnly: true,
    };
    const saved = await saveDefinition(app.db, draft.survey, options);
    if (!saved.ok)
      return renderAdminError(request, reply, 409, 'The changes cannot be published', saved.problems.join(' '));
    await discardDraft(app.db, survey.slug);
    await app.surveys.refresh();
    return reply.redirect(`${base(survey)}?done=${saved.unchanged ? 'unchanged' : 'published'}`, 303);
  }

  app.get('/wording/preview', async (request, reply) => {
    const { survey } = request;
    const draft = await currentDraft(survey);
    if (!draft) return reply.redirect(`${surveyBase(survey)}/wording`, 303);
    const shown = draft.survey;
    const steps = ['start', ...shown.pages.map((p) => p.id), 'thank-you'];
    const asked = String((request.query as { page?: string }).page ?? 'start');
    const step = steps.includes(asked) ? asked : 'start';
    const at = steps.indexOf(step);
    const link = (id: string | undefined) => (id ? `${surveyBase(survey)}/wording/preview?page=${id}` : undefined);
    const page = shown.pageById.get(step);
    const view = page ? questionPageView(page, {}, {}, []) : undefined;
    reply.header('cache-control', 'no-store');
    return reply.view('admin/preview.eta', {
      title: `Preview: ${view?.title ?? (step === 'start' ? shown.title : 'Thank you')} – ${shown.title}`,
      survey: shown,
      step,
      view,
      position: `${at + 1} of ${steps.length}`,
      previous: link(steps[at - 1]),
      next: link(steps[at + 1]),
      edit: `${surveyBase(survey)}/wording`,
      action: `${surveyBase(survey)}/wording`,
      csrfToken: reply.generateCsrf({ userInfo: csrfUserInfo(request) }),
    });
  });
}
