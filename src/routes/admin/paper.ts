import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findResponse } from '../../analysis/response-list.ts';
import { preferNotFieldOf, readPaperEntry } from '../../exports/paper-entry.ts';
import { toMinute } from '../../responses/anonymity.ts';
import { correctPaperResponse } from '../../responses/corrections.ts';
import { countPaperEntries, paperReference, savePaperResponse } from '../../responses/paper-entries.ts';
import { scheduleOf } from '../../responses/schedules.ts';
import { storedAnswers } from '../../responses/stored-journey.ts';
import type { FieldError, FormValues } from '../../survey/answers.ts';
import type { Survey } from '../../survey/definition.ts';
import type { Answers } from '../../survey/journey.ts';
import { type PaperForm, type PaperQuestion, paperForm } from '../../survey/paper-form.ts';
import { formatWhen, surveyState } from '../../survey/schedule.ts';
import { adminView, renderAdminError, signedIn } from './access.ts';

type SurveyRoute = { Querystring: { saved?: string; correct?: string } };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** One question of the entry page, in the shape the question partials render (see respondent/view-models.ts). */
function questionView(q: PaperQuestion, form: FormValues, errors: FieldError[]) {
  const error = errors.find((e) => e.field === q.field)?.message;
  const chosen = asList(form[q.field]);
  const items = q.options.map((o, i) => ({
    id: i === 0 ? q.field : `${q.field}-${i + 1}`,
    value: o.code,
    text: o.label,
    checked: chosen.includes(o.code),
  }));
  // A radio cannot be unticked: "Not answered" puts a slip of the mouse right.
  if (q.question.type === 'single' || q.question.type === 'yesno')
    items.push({ id: `${q.field}-${items.length + 1}`, value: '', text: 'Not answered', checked: chosen.length === 0 });
  const hintId = `${q.field}-hint`;
  const preferName = preferNotFieldOf(q);
  return {
    id: q.field,
    type: q.question.type,
    label: `${q.number}. ${q.label}`,
    hint: q.instruction,
    paragraphs: [] as string[],
    isPageHeading: false,
    describedBy: [hintId, error ? `${q.field}-error` : ''].filter(Boolean).join(' '),
    items,
    value: q.question.type === 'text' ? chosen.join(' ') : '',
    ...(error ? { error } : {}),
    ...(q.question.type === 'multiple' ? { max: q.question.max } : {}),
    ...(q.preferNotToSay
      ? {
          preferNot: {
            id: preferName,
            name: preferName,
            value: q.preferNotToSay.code,
            text: q.preferNotToSay.label,
            checked: asList(form[preferName]).includes(q.preferNotToSay.code),
          },
        }
      : {}),
  };
}

/** A stored response's answers as the entry page's fields, to correct them. */
function formOfAnswers(paper: PaperForm, answers: Answers): FormValues {
  const form: FormValues = {};
  for (const q of paper.questions) {
    const value = answers[q.page.id]?.[q.question.id];
    if (value === undefined) continue;
    if (q.preferNotToSay && value === q.preferNotToSay.code) form[preferNotFieldOf(q)] = value;
    else form[q.field] = value;
  }
  return form;
}

/** The whole questionnaire as one form, section by section, numbered as on paper. */
function sectionsView(paper: PaperForm, form: FormValues, errors: FieldError[]) {
  return paper.sections.map((section) => ({
    id: `section-${section.page.id}`,
    title: section.title,
    onlyIf: section.onlyIfText,
    questions: section.questions.map((q) => questionView(q, form, errors)),
  }));
}

/**
 * Paper entry: staff key in a returned paper questionnaire on one page. It is
 * checked by the same rules as an import and the online survey, and stored as
 * a complete response on the `paper` channel; the account that keyed it in is
 * kept apart from the answers. Analysts and admins may both enter forms.
 */
export default async function paperRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  const forms = new WeakMap<Survey, PaperForm>();
  const formOf = (survey: Survey) => {
    let form = forms.get(survey);
    if (!form) {
      form = paperForm(survey);
      forms.set(survey, form);
    }
    return form;
  };
  const url = (survey: Survey) => `/admin/surveys/${survey.slug}/paper`;

  const entryPage = async (
    request: FastifyRequest<SurveyRoute>,
    reply: FastifyReply,
    survey: Survey,
    view: {
      responseId: string;
      form: FormValues;
      errors: FieldError[];
      saved?: string;
      /** Correcting an entry already keyed in: its reference. */
      correcting?: string;
    },
    status = 200,
  ) => {
    const paper = formOf(survey);
    const state = surveyState(await scheduleOf(app.db, survey), opts.now());
    const counts = await countPaperEntries(app.db, survey, signedIn(request).id);
    return adminView(
      request,
      reply,
      'admin/paper.eta',
      {
        title: `${view.errors.length ? 'Error: ' : ''}Enter a paper questionnaire: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'paper',
        survey,
        action: url(survey),
        responseId: view.responseId,
        errors: view.errors,
        sections: sectionsView(paper, view.form, view.errors),
        saved: view.saved,
        correcting: view.correcting,
        counts,
        closed: state.open ? undefined : state.reason === 'closed' ? formatWhen(state.at) : undefined,
        printHref: `/print/${survey.slug}`,
      },
      status,
    );
  };

  app.get<SurveyRoute>('/paper', async (request, reply) => {
    const { survey } = request;
    const correct = typeof request.query.correct === 'string' ? request.query.correct : '';
    if (correct) {
      const row = await findResponse(app.db, survey, correct);
      if (!row || row.paper_reference === null)
        return renderAdminError(
          request,
          reply,
          404,
          'Paper form not found',
          'There is no paper form with that reference.',
        );
      return entryPage(request, reply, survey, {
        responseId: row.id,
        form: formOfAnswers(formOf(survey), storedAnswers(row.answers)),
        errors: [],
        correcting: paperReference(row.paper_reference),
      });
    }
    const savedId =
      typeof request.query.saved === 'string' && UUID.test(request.query.saved) ? request.query.saved : '';
    const saved = savedId ? await findResponse(app.db, survey, savedId) : undefined;
    return entryPage(request, reply, survey, {
      responseId: randomUUID(),
      form: {},
      errors: [],
      ...(saved?.paper_reference ? { saved: paperReference(saved.paper_reference) } : {}),
    });
  });

  app.post<SurveyRoute>('/paper', async (request, reply) => {
    const { survey } = request;
    const body = request.body as Record<string, unknown> | undefined;
    const responseId = typeof body?.response_id === 'string' ? body.response_id : '';
    const refuse = (reason: string) =>
      renderAdminError(request, reply, 400, 'There is a problem with that request', `Nothing was saved. ${reason}`);
    if (!UUID.test(responseId)) return refuse('The form was not sent properly: reload the page and enter it again.');
    const result = readPaperEntry(survey, formOf(survey), body, {
      responseId,
      at: toMinute(opts.now()),
    });
    if (result.kind === 'refused') return refuse(result.reason);
    const correcting = body?.correct === 'yes' ? await findResponse(app.db, survey, responseId) : undefined;
    if (body?.correct === 'yes' && correcting?.paper_reference == null)
      return refuse('There is no paper form with that reference to correct.');
    if (result.kind === 'invalid')
      return entryPage(
        request,
        reply,
        survey,
        {
          responseId,
          form: result.form,
          errors: result.errors,
          ...(correcting?.paper_reference ? { correcting: paperReference(correcting.paper_reference) } : {}),
        },
        422,
      );
    const account = signedIn(request).id;
    if (correcting) {
      const admin = signedIn(request);
      await correctPaperResponse(app.db, survey, responseId, result, { id: admin.id, email: admin.email }, opts.now());
      request.log.info({ survey: survey.slug, response: responseId, account }, 'paper questionnaire corrected');
      return reply.redirect(`/admin/surveys/${survey.slug}/responses/${responseId}?done=corrected`, 303);
    }
    const saved = await savePaperResponse(app.db, survey, {
      id: responseId,
      answers: result.answers,
      values: result.values,
      accountId: account,
      now: opts.now(),
    });
    if (saved === 'id-taken') return refuse('The form was not sent properly: reload the page and enter it again.');
    if (saved === 'saved')
      request.log.info({ survey: survey.slug, response: responseId, account }, 'paper questionnaire entered');
    return reply.redirect(`${url(survey)}?saved=${responseId}`, 303);
  });
}
