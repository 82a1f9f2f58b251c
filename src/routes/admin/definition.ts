import { readFile } from 'node:fs/promises';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DefinitionError, type Survey } from '../../survey/definition.ts';
import { copyAsWave, documentText, parseDocument } from '../../survey/document.ts';
import { parseSurveyDate } from '../../survey/schedule.ts';
import { hasResponses, saveDefinition, versionsOf } from '../../surveys/store.ts';
import { adminView, renderAdminError, signedIn } from './access.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import type { AdminSessions } from './session.ts';
import { surveyBase } from './survey-filters.ts';
import { UPLOAD_LIMITS, UploadRefused, withUpload } from './upload.ts';

// A survey's definition (admins): download it as JSON, upload a new version,
// and copy it as next year's wave (its wording is edited in wording.ts).
// Structure changes through the JSON document only, and not at all once the
// survey has responses.

/** The largest definition document taken: csp-2019 is about 40 KB. */
export const DEFINITION_FILE_LIMIT = 1024 * 1024;
const DEFINITION_UPLOAD_LIMITS = { ...UPLOAD_LIMITS, fileSize: DEFINITION_FILE_LIMIT };
/** Who made a change, for the stored version and the audit log. */
export const actorOf = (request: FastifyRequest) => {
  const { id, email } = signedIn(request);
  return { id, email };
};

/**
 * Receives an uploaded definition and stores it with `stored`: every problem of
 * the file, or every structural change refused, is shown and nothing is stored.
 * Resolves to STORED, or to the reply already answered (problems, a refused token).
 */
async function receiveDefinition(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  sessions: AdminSessions,
  show: (problems: string[], status: number) => unknown,
  stored: (survey: Survey) => Promise<string[] | undefined>,
) {
  if (!request.isMultipart()) {
    const token = (request.body as Record<string, unknown> | undefined)?._csrf;
    if (!sessions.formTokenValid(request, reply, typeof token === 'string' ? token : undefined)) return reply;
    return show(['Select a JSON file of a survey definition'], 422);
  }
  try {
    const done = await withUpload(
      request,
      reply,
      sessions,
      async (path, bytes) => {
        if (bytes === 0) return show(['Select a JSON file of a survey definition'], 422);
        let survey: Survey;
        try {
          survey = parseDocument(await readFile(path, 'utf8'));
        } catch (err) {
          if (!(err instanceof DefinitionError)) throw err;
          return show(err.problems, 422);
        }
        const problems = await stored(survey);
        if (problems) return show(problems, 422);
        await app.surveys.refresh();
        return STORED;
      },
      '1 MB',
    );
    return done ?? reply;
  } catch (err) {
    if (!(err instanceof UploadRefused)) throw err;
    request.log.info({ reason: err.message }, 'definition upload refused');
    return renderAdminError(request, reply, err.status, 'There is a problem with that upload', err.message);
  }
}

const STORED = Symbol('stored');

/** The result of a save as the problems to list, or undefined when stored. */
const problemsOf = (result: Awaited<ReturnType<typeof saveDefinition>>) => (result.ok ? undefined : result.problems);

/** The admin's "Upload a new survey" (on the dashboard): a definition whose slug is not stored yet. */
export async function newSurveyRoutes(app: FastifyInstance, opts: { sessions: AdminSessions; now: () => Date }) {
  await app.register(fastifyMultipart, { limits: DEFINITION_UPLOAD_LIMITS });
  const page = (problems: string[] = []) => ({
    title: `${problems.length ? 'Error: ' : ''}Upload a new survey – Soundings admin`,
    nav: 'surveys',
    heading: 'Upload a new survey',
    action: '/admin/new-survey',
    back: '/admin',
    problems,
    errors: problems.length ? [{ field: 'file', message: `Nothing was stored: ${problems[0]}` }] : [],
  });
  app.get('/new-survey', async (request, reply) => adminView(request, reply, 'admin/definition-upload.eta', page()));
  app.post('/new-survey', { config: { uploadForm: true } }, async (request, reply) => {
    let slug = '';
    const result = await receiveDefinition(
      app,
      request,
      reply,
      opts.sessions,
      (problems, status) => adminView(request, reply, 'admin/definition-upload.eta', page(problems), status),
      async (survey) => {
        slug = survey.slug;
        return problemsOf(
          await saveDefinition(app.db, survey, {
            actor: actorOf(request),
            now: opts.now(),
            note: 'Uploaded as a new survey',
            createOnly: true,
          }),
        );
      },
    );
    if (result !== STORED) return result;
    return reply.redirect(`/admin/surveys/${slug}/definition?done=created`, 303);
  });
}

const DONE: Record<string, string> = {
  created: 'The survey has been created. Try it in test mode, then open it in Settings.',
  version: 'A new version has been stored: residents see it from now on.',
  unchanged: 'The file is the same as the current version: nothing was stored.',
  copied: 'The copy has been created. It keeps every question and option code, so the waves can be compared.',
  published: 'Your wording changes have been published as a new version: residents see them from now on.',
};

/** Everything under /admin/surveys/:slug that changes the definition (admins only: registered in their scope). */
export default async function definitionRoutes(
  app: FastifyInstance,
  opts: { sessions: AdminSessions; now: () => Date },
) {
  await app.register(fastifyMultipart, { limits: DEFINITION_UPLOAD_LIMITS });
  const base = (survey: Survey) => `${surveyBase(survey)}/definition`;

  const definitionPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    problems: string[] = [],
    status = 200,
  ) => {
    const { survey } = request;
    const done = String((request.query as { done?: string }).done ?? '');
    return adminView(
      request,
      reply,
      'admin/definition.eta',
      {
        title: `${problems.length ? 'Error: ' : ''}Definition: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'definition',
        survey,
        done: DONE[done],
        versions: await versionsOf(app.db, survey.slug),
        answered: await hasResponses(app.db, survey.slug),
        download: `${base(survey)}.json`,
        action: base(survey),
        copy: `${surveyBase(survey)}/copy`,
        wording: `${surveyBase(survey)}/wording`,
        problems,
        errors: problems.length ? [{ field: 'file', message: `Nothing was stored: ${problems[0]}` }] : [],
      },
      status,
    );
  };

  app.get('/definition', async (request, reply) => definitionPage(request, reply));

  app.get('/definition.json', async (request, reply) =>
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${request.survey.slug}.json"`)
      .send(documentText(request.survey)),
  );

  app.post('/definition', { config: { uploadForm: true } }, async (request, reply) => {
    const { survey } = request;
    let outcome = 'version';
    const result = await receiveDefinition(
      app,
      request,
      reply,
      opts.sessions,
      (problems, status) => definitionPage(request, reply, problems, status),
      async (uploaded) => {
        if (uploaded.slug !== survey.slug)
          return [
            `the file is the definition of "${uploaded.slug}", not of "${survey.slug}": upload it as a new survey from the Surveys page, or change its slug`,
          ];
        const saved = await saveDefinition(app.db, uploaded, {
          actor: actorOf(request),
          now: opts.now(),
          note: 'Uploaded as a new version',
          existingOnly: true,
        });
        if (saved.ok && saved.unchanged) outcome = 'unchanged';
        return problemsOf(saved);
      },
    );
    if (result !== STORED) return result;
    return reply.redirect(`${base(survey)}?done=${outcome}`, 303);
  });

  // --- Copy as next year's wave ---------------------------------------------

  const copyPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    values: Record<string, string> = {},
    errors: FieldError[] = [],
  ) =>
    adminView(
      request,
      reply,
      'admin/copy.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}Copy as next wave: ${request.survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'definition',
        survey: request.survey,
        back: base(request.survey),
        action: `${surveyBase(request.survey)}/copy`,
        values,
        errors,
        error: errorFor(errors),
      },
      errors.length ? 422 : 200,
    );

  app.get('/copy', async (request, reply) => copyPage(request, reply));

  app.post('/copy', async (request, reply) => {
    const { survey } = request;
    const body = formFields(request.body);
    const values = {
      id: (body.id ?? '').trim(),
      title: (body.title ?? '').trim().replace(/\s+/g, ' '),
      opens: (body.opens ?? '').trim(),
      closes: (body.closes ?? '').trim(),
    };
    const errors: FieldError[] = [];
    if (!values.id) errors.push({ field: 'id', message: 'Enter an id for the new survey, like csp-2020' });
    else if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(values.id))
      errors.push({
        field: 'id',
        message: 'The id must be lower case letters, digits and hyphens (it is the address: /s/csp-2020)',
      });
    if (!values.title) errors.push({ field: 'title', message: 'Enter a title for the new survey' });
    else if (values.title.length > 200)
      errors.push({ field: 'title', message: 'The title must be 200 characters or fewer' });
    const opens = parseSurveyDate(values.opens, 'opens');
    const closes = parseSurveyDate(values.closes, 'closes');
    if (!opens) errors.push({ field: 'opens', message: 'Enter the date it opens, like 2020-02-17' });
    if (!closes) errors.push({ field: 'closes', message: 'Enter the date it closes, like 2020-03-01' });
    if (opens && closes && opens >= closes)
      errors.push({ field: 'closes', message: 'The closing date must be after the opening date' });
    if (errors.length || !opens || !closes) return copyPage(request, reply, values, errors);
    const wave = copyAsWave(survey, {
      slug: values.id,
      title: values.title,
      opensAt: opens.toISOString(),
      closesAt: closes.toISOString(),
    });
    const saved = await saveDefinition(app.db, wave, {
      actor: actorOf(request),
      now: opts.now(),
      note: `Copied from ${survey.slug} version ${survey.version ?? 1}`,
      createOnly: true,
      createdAs: 'survey-copied',
    });
    if (!saved.ok)
      return copyPage(request, reply, values, [
        { field: 'id', message: `There is already a survey with the id ${values.id}: choose another` },
      ]);
    await app.surveys.refresh();
    return reply.redirect(`/admin/surveys/${values.id}/definition?done=copied`, 303);
  });
}
