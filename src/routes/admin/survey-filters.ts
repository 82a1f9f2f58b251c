import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Filters, filtersQuery, flaggedOf, parseFilters } from '../../analysis/filters.ts';
import type { Survey } from '../../survey/definition.ts';
import { renderAdminError } from './access.ts';

/** A survey's analysis page: every other address of the survey is under it. */
export const surveyBase = (survey: Survey) => `/admin/surveys/${survey.slug}`;

/** A path with the filters as its query, defaults left out. */
export const withQuery = (path: string, filters: Filters) => {
  const query = filtersQuery(filters);
  return query ? `${path}?${query}` : path;
};

/** The filters in the URL, or undefined once the reply explains what is wrong with them. */
export async function filtersOf(request: FastifyRequest, reply: FastifyReply): Promise<Filters | undefined> {
  const parsed = parseFilters(request.survey, (request.query ?? {}) as Record<string, unknown>);
  if (!parsed.ok) {
    await renderAdminError(request, reply, 400, 'Those filters cannot be used', parsed.problems.join('. '));
    return undefined;
  }
  return parsed.filters;
}

export const download = (reply: FastifyReply, type: string, name: string) =>
  reply.header('content-type', type).header('content-disposition', `attachment; filename="${name}"`);

/** A download's file name: the survey and the filters that narrow it. */
export const fileStem = (survey: Survey, filters: Filters) =>
  [
    survey.slug,
    filters.status !== 'all' ? filters.status : '',
    filters.area ?? '',
    filters.channel ?? '',
    filters.from ?? '',
    filters.to ?? '',
    { include: '', exclude: 'unflagged', only: 'flagged' }[flaggedOf(filters)],
  ]
    .filter(Boolean)
    .join('-');
