import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Filters } from '../../analysis/filters.ts';
import { parseWeightSettings, type WeightSettings, weightingFor } from '../../analysis/weighting.ts';
import type { ExportJob, ExportKind } from '../../exports/job.ts';
import { closeExportPool, ExportsBusy, startExport } from '../../exports/pool.ts';
import { asSentence, refusalMessage } from '../../exports/weights.ts';
import type { Survey } from '../../survey/definition.ts';
import { renderAdminError } from './access.ts';
import { resultsHref } from './results-view.ts';
import { download, fileStem, filtersOf, surveyBase } from './survey-filters.ts';

/** A refused weighting refuses the export: a file without the weights asked for would mislead. */
function refuseExport(
  request: FastifyRequest,
  reply: FastifyReply,
  survey: Survey,
  filters: Filters,
  weight: WeightSettings,
  message: string,
) {
  return renderAdminError(request, reply, 409, 'The weighting was refused, so nothing was exported', message, {
    href: `${resultsHref(`${surveyBase(survey)}/results/representativeness`, filters, weight)}#weighting`,
    text: 'Change the weighting',
  });
}

/**
 * The downloads of responses, made in a worker thread (see exports/) so that
 * respondents' pages are not held up; a download starts once its first chunk
 * is ready, so an error before then still gets an error page.
 */
export default async function exportRoutes(app: FastifyInstance) {
  app.addHook('onClose', closeExportPool);

  const sendExport = async (
    request: FastifyRequest,
    reply: FastifyReply,
    kind: ExportKind,
    type: string,
    name: (stem: string, suffix: string) => string,
  ) => {
    const filters = await filtersOf(request, reply);
    if (!filters) return reply;
    const { survey } = request;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const weight = parseWeightSettings(survey, query);
    const labels = query.labels ?? 'no';
    const problems = [
      ...(weight.ok ? [] : weight.problems.map((p) => p.message)),
      ...(kind === 'csv' && labels !== 'yes' && labels !== 'no' ? ['labels must be yes or no'] : []),
    ];
    if (!weight.ok || problems.length)
      return renderAdminError(
        request,
        reply,
        400,
        'Those download settings cannot be used',
        problems.map(asSentence).join(' '),
      );
    const settings = weight.settings;
    if (settings) {
      // Checked here first (the results pages' weighting, usually already worked out), so a refusal gets its page
      // without a worker; the export works it out again on its own connection.
      const weighting = await weightingFor(app.db, survey, filters, settings);
      if (!weighting.result.ok)
        return refuseExport(request, reply, survey, filters, settings, refusalMessage(survey, weighting));
    }
    const job: ExportJob = {
      kind,
      filters,
      ...(kind === 'csv' && labels === 'yes' ? { labels: true } : {}),
      ...(settings ? { weight: settings } : {}),
    };
    let stream: Readable;
    try {
      stream = await startExport({ db: app.db, database: app.database, survey, job });
    } catch (err) {
      if (settings && (err as Error).name === 'WeightingRefused')
        return refuseExport(request, reply, survey, filters, settings, (err as Error).message);
      if (!(err instanceof ExportsBusy)) throw err;
      reply.header('retry-after', '60');
      return renderAdminError(
        request,
        reply,
        503,
        'Other exports are being made',
        'Several downloads of the responses are being made just now. Please wait a minute, then try again.',
      );
    }
    stream.on('error', (err) => request.log.error({ err }, `${kind} export failed`));
    // An abandoned download stops its export.
    reply.raw.once('close', () => stream.destroy());
    const suffix = `${job.labels ? '-labels' : ''}${settings ? '-weighted' : ''}`;
    download(reply, type, name(fileStem(survey, filters), suffix));
    return reply.send(stream);
  };

  app.get('/responses.csv', (request, reply) =>
    sendExport(request, reply, 'csv', 'text/csv; charset=utf-8', (stem, suffix) => `${stem}-responses${suffix}.csv`),
  );

  app.get('/workbook.xlsx', (request, reply) =>
    sendExport(
      request,
      reply,
      'xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      (stem, suffix) => `${stem}${suffix}.xlsx`,
    ),
  );
}
