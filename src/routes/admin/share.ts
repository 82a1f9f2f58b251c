import type { FastifyInstance } from 'fastify';
import QRCode from 'qrcode';
import { channelCodes, DEFAULT_FILTERS } from '../../analysis/filters.ts';
import { buildReport } from '../../analysis/report.ts';
import { formatPercent, percent } from '../../analysis/tables.ts';
import type { Survey } from '../../survey/definition.ts';
import { shareLinks } from '../../survey/share.ts';
import { adminView, renderAdminError } from './access.ts';

type QrParams = { Params: { file: string } };

/** QR codes: medium error correction (survives a crease or a smudge) and the standard 4-module quiet zone. */
const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;
/** PNG QR codes are 1200 pixels square: 10 cm at 300 dpi, sharp on any poster. */
export const QR_PNG_WIDTH = 1200;
const QR_FILE = /^([a-z0-9_]{1,32})\.(svg|png)$/;

/**
 * The share page (analysts and admins): each channel's link, a QR code of it
 * for print (SVG and PNG), and the responses that came by each channel.
 * Links are built from config.publicUrl, never from the request.
 */
export default async function shareRoutes(app: FastifyInstance, opts: { publicUrl: string }) {
  const base = (survey: Survey) => `/admin/surveys/${survey.slug}/share`;

  app.get('/share', async (request, reply) => {
    const { survey } = request;
    const report = await buildReport(app.db, survey, DEFAULT_FILTERS);
    const labels = new Map([
      ['web', 'Direct link (no channel)'],
      ['paper', 'Paper questionnaire'],
      ...survey.channels.map((c): [string, string] => [c.code, c.label]),
    ]);
    const rows = channelCodes(survey).map((code) => {
      const counts = report.channels[code] ?? { complete: 0, partial: 0 };
      const all = counts.complete + counts.partial;
      return {
        code,
        label: labels.get(code) ?? code,
        ...counts,
        all,
        rate: formatPercent(percent(counts.complete, all)),
      };
    });
    return adminView(request, reply, 'admin/share.eta', {
      title: `Share links and QR codes: ${survey.title} – Soundings admin`,
      nav: 'surveys',
      surveyNav: 'share',
      scripts: ['/public/js/copy-link.js'],
      survey,
      // Without PUBLIC_URL every link and QR code here points at localhost: useless on a poster.
      publicUrlUnset: !app.publicUrlSet,
      publicUrl: opts.publicUrl,
      links: shareLinks(survey, opts.publicUrl).map((link) => ({
        ...link,
        svg: `${base(survey)}/${link.code}.svg`,
        png: `${base(survey)}/${link.code}.png`,
      })),
      rows,
      total: {
        complete: report.complete,
        partial: report.partial,
        all: report.responses,
        rate: formatPercent(percent(report.complete, report.responses)),
      },
      print: { page: `/print/${survey.slug}`, pdf: `/print/${survey.slug}.pdf` },
      paperEntry: `/admin/surveys/${survey.slug}/paper`,
      analysis: `/admin/surveys/${survey.slug}`,
    });
  });

  app.get<QrParams>('/share/:file', async (request, reply) => {
    const { survey } = request;
    const match = QR_FILE.exec(request.params.file);
    const link = match ? shareLinks(survey, opts.publicUrl).find((l) => l.code === match[1]) : undefined;
    if (!match || !link)
      return renderAdminError(request, reply, 404, 'QR code not found', 'There is no share link with that name.');
    const name = `${survey.slug}-${link.code}-qr.${match[2]}`;
    reply.header('content-disposition', `inline; filename="${name}"`);
    if (match[2] === 'svg') {
      const svg = await QRCode.toString(link.url, { ...QR_OPTIONS, type: 'svg' });
      return reply.header('content-type', 'image/svg+xml; charset=utf-8').send(svg);
    }
    const png = await QRCode.toBuffer(link.url, { ...QR_OPTIONS, type: 'png', width: QR_PNG_WIDTH });
    return reply.header('content-type', 'image/png').send(png);
  });
}
