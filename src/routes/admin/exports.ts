import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExportKind } from '../../exports/job.ts';
import { closeExportPool, ExportsBusy, startExport } from '../../exports/pool.ts';
import { renderAdminError } from './access.ts';
import { download, fileStem, filtersOf } from './survey-filters.ts';

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
    name: (stem: string) => string,
  ) => {
    const filters = await filtersOf(request, reply);
    if (!filters) return reply;
    const { survey } = request;
    let stream: Readable;
    try {
      stream = await startExport({ db: app.db, database: app.database, survey, job: { kind, filters } });
    } catch (err) {
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
    download(reply, type, name(fileStem(survey, filters)));
    return reply.send(stream);
  };

  app.get('/responses.csv', (request, reply) =>
    sendExport(request, reply, 'csv', 'text/csv; charset=utf-8', (stem) => `${stem}-responses.csv`),
  );

  app.get('/workbook.xlsx', (request, reply) =>
    sendExport(
      request,
      reply,
      'xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      (stem) => `${stem}.xlsx`,
    ),
  );
}
