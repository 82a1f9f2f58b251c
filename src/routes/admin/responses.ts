import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { channelLabels } from '../../analysis/crosstab.ts';
import { type Filters, filtersQuery, parseFilters } from '../../analysis/filters.ts';
import { findResponse, type ListedResponse, listResponses } from '../../analysis/response-list.ts';
import type { ExclusionReason } from '../../db/schema.ts';
import {
  auditLog,
  deleteResponse,
  EXCLUSION_REASONS,
  excludeResponse,
  restoreResponse,
} from '../../responses/corrections.ts';
import { paperReference, parsePaperReference } from '../../responses/paper-entries.ts';
import { storedJourney } from '../../responses/stored-journey.ts';
import { countTestResponses } from '../../responses/test-responses.ts';
import { areaLabels, optionsOf, type Survey } from '../../survey/definition.ts';
import { formatWhen } from '../../survey/schedule.ts';
import { adminView, renderAdminError, requireAdmin, signedIn } from './access.ts';
import { errorFor, type FieldError, formFields } from './forms.ts';
import { surveyBase, withQuery } from './survey-filters.ts';

const PAGE_SIZE = 50;
const NOTE_MAX = 500;
const FLAG_LABELS: Record<string, string> = {
  honeypot: 'Hidden field filled in',
  too_fast: 'Answered too fast',
  burst: 'One of many from one connection',
};
const AUDIT_ACTIONS: Record<string, string> = {
  exclude: 'Excluded',
  restore: 'Restored',
  delete: 'Deleted',
  correct: 'Paper form corrected',
  'erase-tests': 'Test responses erased',
  'survey-created': 'Survey created',
  'survey-copied': 'Survey copied as a new wave',
  'survey-version': 'New version of the definition',
};

type IdRoute = { Params: { id: string } };

const DONE: Record<string, string> = {
  excluded: 'The response has been excluded: it no longer counts in any figure or export.',
  restored: 'The response has been restored: it counts again.',
  corrected: 'The paper form has been corrected. The answers before and after are kept in the audit log.',
  deleted: 'The response has been deleted for good.',
};

/** When something happened, as staff read it (UK time). */
const when = (iso: string | null) => (iso ? formatWhen(new Date(iso)) : '');

/** A response's answers along its route, question by question, as its page shows them. */
function answersView(survey: Survey, row: ListedResponse) {
  const j = storedJourney(survey, row.answers);
  const answers = row.status === 'complete' ? JSON.parse(row.answers) : j.answers;
  return j.route
    .filter((page) => page.id in answers)
    .flatMap((page) =>
      page.questions.map((question) => {
        const value = answers[page.id]?.[question.id] as string | string[] | undefined;
        const labels = new Map(
          (question.type === 'text'
            ? question.preferNotToSay
              ? [question.preferNotToSay]
              : []
            : optionsOf(question)
          ).map((o) => [o.code, o.label]),
        );
        const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
        return { question: question.label, answer: list.map((v) => labels.get(v) ?? v) };
      }),
    );
}

/**
 * The responses one at a time (analysts and admins): a paged list under the
 * filters, each response's answers along its route, and what can be done to
 * it: excluded from the figures with a reason, restored, or (admins, after a
 * confirmation) deleted for good; every action in the audit log.
 */
export default async function responseRoutes(app: FastifyInstance, opts: { now: () => Date }) {
  const base = (survey: Survey) => `${surveyBase(survey)}/responses`;
  const channels = (survey: Survey) => channelLabels(survey);

  app.get('/responses', async (request, reply) => {
    const { survey } = request;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const parsed = parseFilters(survey, query);
    const filters: Filters = parsed.ok ? parsed.filters : { status: 'all' };
    const page = Math.max(1, Math.min(1_000_000, Number.parseInt(String(query.page ?? '1'), 10) || 1));
    const refText = typeof query.ref === 'string' ? query.ref.trim() : '';
    const reference = refText ? parsePaperReference(refText) : undefined;
    const errors: FieldError[] = parsed.ok ? [] : parsed.problems;
    if (refText && reference === undefined)
      errors.push({ field: 'ref', message: 'Enter a paper reference like P-000042' });
    const { total, rows } = errors.length
      ? { total: 0, rows: [] }
      : await listResponses(app.db, survey, filters, {
          offset: (page - 1) * PAGE_SIZE,
          limit: PAGE_SIZE,
          ...(reference !== undefined ? { reference } : {}),
        });
    const areas = areaLabels(survey);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const pageHref = (n: number) => `${withQuery(base(survey), filters)}${filtersQuery(filters) ? '&' : '?'}page=${n}`;
    return adminView(
      request,
      reply,
      'admin/responses.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}Responses: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'responses',
        survey,
        errors,
        error: errorFor(errors),
        filters,
        query: {
          ref: refText,
          status: filters.status,
          flagged: filters.flagged ?? 'include',
          excluded: filters.excluded ?? 'exclude',
        },
        total,
        rows: rows.map((r) => ({
          href: `${base(survey)}/${encodeURIComponent(r.id)}`,
          id: r.id,
          reference: r.paper_reference !== null ? paperReference(r.paper_reference) : '',
          started: when(r.started_at),
          status: r.status === 'complete' ? 'Complete' : 'Partial',
          channel: channels(survey).get(r.channel) ?? r.channel,
          area: areas.get(storedJourney(survey, r.answers).values[survey.analysis?.area ?? ''] as string) ?? '',
          flag: r.flag ? (FLAG_LABELS[r.flag] ?? r.flag) : '',
          excluded: r.excluded ? (EXCLUSION_REASONS.find((e) => e.value === r.excluded)?.label ?? r.excluded) : '',
        })),
        pagination: {
          page,
          pages,
          previous: page > 1 ? pageHref(page - 1) : undefined,
          next: page < pages ? pageHref(page + 1) : undefined,
        },
        clear: base(survey),
        notice: DONE[String(query.done ?? '')],
        eraseTests:
          request.admin?.role === 'admin' && (await countTestResponses(app.db, survey))
            ? `${base(survey)}/erase-tests`
            : undefined,
      },
      errors.length ? 422 : 200,
    );
  });

  const responsePage = async (
    request: FastifyRequest<IdRoute>,
    reply: FastifyReply,
    view: { errors?: FieldError[]; values?: Record<string, string>; notice?: string } = {},
    status = 200,
  ) => {
    const { survey } = request;
    const row = await findResponse(app.db, survey, request.params.id);
    if (!row)
      return renderAdminError(
        request,
        reply,
        404,
        'Response not found',
        'There is no response with that reference in this survey.',
      );
    const href = `${base(survey)}/${encodeURIComponent(row.id)}`;
    const errors = view.errors ?? [];
    return adminView(
      request,
      reply,
      'admin/response.eta',
      {
        title: `${errors.length ? 'Error: ' : ''}Response: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'responses',
        survey,
        back: base(survey),
        errors,
        error: errorFor(errors),
        values: view.values ?? {},
        notice: view.notice,
        response: {
          id: row.id,
          reference: row.paper_reference !== null ? paperReference(row.paper_reference) : undefined,
          status: row.status === 'complete' ? 'Complete' : 'Partial (started, not sent)',
          channel: channels(survey).get(row.channel) ?? row.channel,
          started: when(row.started_at),
          submitted: when(row.submitted_at),
          flag: row.flag ? (FLAG_LABELS[row.flag] ?? row.flag) : undefined,
          excluded: row.excluded
            ? (EXCLUSION_REASONS.find((e) => e.value === row.excluded)?.label ?? row.excluded)
            : undefined,
          answers: answersView(survey, row),
          correctHref:
            row.paper_reference !== null
              ? `${surveyBase(survey)}/paper?correct=${encodeURIComponent(row.id)}`
              : undefined,
        },
        reasons: EXCLUSION_REASONS,
        actions: {
          exclude: `${href}/exclude`,
          restore: `${href}/restore`,
          delete: request.admin?.role === 'admin' ? `${href}/delete` : undefined,
        },
      },
      status,
    );
  };

  app.get<IdRoute>('/responses/:id', (request, reply) =>
    responsePage(request, reply, {
      ...(DONE[(request.query as { done?: string }).done ?? '']
        ? { notice: DONE[(request.query as { done?: string }).done ?? ''] }
        : {}),
    }),
  );

  const actor = (request: FastifyRequest) => {
    const admin = signedIn(request);
    return { id: admin.id, email: admin.email };
  };

  app.post<IdRoute>('/responses/:id/exclude', async (request, reply) => {
    const { survey } = request;
    const body = formFields(request.body);
    const reason = body.reason as ExclusionReason | undefined;
    const note = (body.note ?? '').trim();
    const errors: FieldError[] = [];
    if (!EXCLUSION_REASONS.some((r) => r.value === reason))
      errors.push({ field: 'reason', message: 'Choose why this response should be excluded' });
    if (reason === 'other' && !note)
      errors.push({ field: 'note', message: 'Say why this response should be excluded' });
    if (note.length > NOTE_MAX)
      errors.push({ field: 'note', message: `The note must be ${NOTE_MAX} characters or fewer` });
    if (errors.length) return responsePage(request, reply, { errors, values: { reason: reason ?? '', note } }, 422);
    const result = await excludeResponse(
      app.db,
      survey,
      request.params.id,
      { reason: reason as ExclusionReason, note },
      actor(request),
      opts.now(),
    );
    if (result === 'not-found')
      return renderAdminError(request, reply, 404, 'Response not found', 'Nothing was changed.');
    request.log.info(
      { survey: survey.slug, response: request.params.id, by: signedIn(request).id, reason },
      'response excluded',
    );
    return reply.redirect(`${base(survey)}/${encodeURIComponent(request.params.id)}?done=excluded`, 303);
  });

  app.post<IdRoute>('/responses/:id/restore', async (request, reply) => {
    const { survey } = request;
    const note = (formFields(request.body).note ?? '').trim().slice(0, NOTE_MAX);
    const result = await restoreResponse(app.db, survey, request.params.id, note, actor(request), opts.now());
    if (result === 'not-found')
      return renderAdminError(request, reply, 404, 'Response not found', 'Nothing was changed.');
    request.log.info(
      { survey: survey.slug, response: request.params.id, by: signedIn(request).id },
      'response restored',
    );
    return reply.redirect(`${base(survey)}/${encodeURIComponent(request.params.id)}?done=restored`, 303);
  });

  // Admins only: erasing a response for good, after saying what that means; and the audit log.
  await app.register(async (adminOnly) => {
    adminOnly.addHook('onRequest', requireAdmin);

    adminOnly.get<IdRoute>('/responses/:id/delete', async (request, reply) => {
      const { survey } = request;
      const row = await findResponse(app.db, survey, request.params.id);
      if (!row)
        return renderAdminError(
          request,
          reply,
          404,
          'Response not found',
          'There is no response with that reference in this survey.',
        );
      return adminView(request, reply, 'admin/response-delete.eta', {
        title: `Delete this response? ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'responses',
        survey,
        back: `${base(survey)}/${encodeURIComponent(row.id)}`,
        action: `${base(survey)}/${encodeURIComponent(row.id)}/delete`,
        started: when(row.started_at),
        reference: row.paper_reference !== null ? paperReference(row.paper_reference) : undefined,
      });
    });

    adminOnly.post<IdRoute>('/responses/:id/delete', async (request, reply) => {
      const { survey } = request;
      const body = formFields(request.body);
      if (body.confirm !== 'yes')
        return reply.redirect(`${base(survey)}/${encodeURIComponent(request.params.id)}/delete`, 303);
      const note = (body.note ?? '').trim().slice(0, NOTE_MAX);
      const result = await deleteResponse(app.db, survey, request.params.id, note, actor(request), opts.now());
      if (result === 'not-found')
        return renderAdminError(request, reply, 404, 'Response not found', 'Nothing was changed.');
      request.log.warn(
        { survey: survey.slug, response: request.params.id, by: signedIn(request).id },
        'response deleted',
      );
      return reply.redirect(`${base(survey)}?done=deleted`, 303);
    });

    adminOnly.get('/audit', async (request, reply) => {
      const { survey } = request;
      const page = Math.max(1, Number.parseInt(String((request.query as { page?: string }).page ?? '1'), 10) || 1);
      const entries = await auditLog(app.db, survey, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE + 1 });
      return adminView(request, reply, 'admin/audit.eta', {
        title: `Audit log: ${survey.title} – Soundings admin`,
        nav: 'surveys',
        surveyNav: 'audit',
        survey,
        entries: entries.slice(0, PAGE_SIZE).map((e) => ({
          at: when(e.at),
          who: e.account_email,
          action: AUDIT_ACTIONS[e.action] ?? e.action,
          response: e.response_id,
          responseHref:
            e.response_id && e.action !== 'delete' ? `${base(survey)}/${encodeURIComponent(e.response_id)}` : undefined,
          reason: e.reason ? (EXCLUSION_REASONS.find((r) => r.value === e.reason)?.label ?? e.reason) : '',
          note:
            e.action === 'correct'
              ? 'Answers before and after are kept'
              : e.action === 'erase-tests'
                ? `${e.details} test response${e.details === '1' ? '' : 's'}`
                : (e.details ?? ''),
        })),
        previous: page > 1 ? `${surveyBase(survey)}/audit?page=${page - 1}` : undefined,
        next: entries.length > PAGE_SIZE ? `${surveyBase(survey)}/audit?page=${page + 1}` : undefined,
      });
    });
  });
}
