import type { FastifyInstance } from 'fastify';
import { renderError } from '../plugins/errors.ts';
import { PdfPrinter } from '../print/pdf.ts';
import { scheduleOf } from '../responses/schedules.ts';
import type { Statements } from '../statements.ts';
import type { Survey } from '../survey/definition.ts';
import { paperForm } from '../survey/paper-form.ts';
import { formatWhen, surveyState } from '../survey/schedule.ts';
import { surveyUrl } from '../survey/share.ts';

export interface PrintOptions {
  statements: Statements;
  publicUrl: string;
  /** '' turns PDFs off. */
  chromiumPath: string;
  now: () => Date;
}

/** `/print/csp-2019` and `/print/csp-2019.pdf`. */
const PRINT_FILE = /^([a-z0-9][a-z0-9-]*?)(\.pdf)?$/;

/**
 * The printable questionnaire: every question and branch of a survey as a
 * paper form (A4 print stylesheet), and the PDF Chromium prints from that very
 * page. Public, like the survey itself.
 */
export default async function printRoutes(app: FastifyInstance, opts: PrintOptions) {
  // Laid out once per version served: a new version is a new Survey object.
  const forms = new WeakMap<Survey, ReturnType<typeof paperForm>>();
  const formOf = (survey: Survey) => {
    const known = forms.get(survey);
    if (known) return known;
    const made = paperForm(survey);
    forms.set(survey, made);
    return made;
  };
  const printer = new PdfPrinter({
    chromiumPath: opts.chromiumPath,
    origin: opts.publicUrl,
    fetchPage: async (path) => {
      const res = await app.inject({ method: 'GET', url: path });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (typeof value === 'string' && name !== 'set-cookie' && name !== 'content-length') headers[name] = value;
      }
      return { status: res.statusCode, headers, body: res.rawPayload };
    },
  });

  app.get<{ Params: { file: string } }>('/print/:file', async (request, reply) => {
    const match = PRINT_FILE.exec(request.params.file);
    const survey = match ? app.surveys.get(match[1] as string) : undefined;
    if (!match || !survey) {
      return renderError(reply, 404, 'Page not found', 'There is no questionnaire at this address.');
    }
    const htmlPath = `/print/${survey.slug}`;
    if (match[2]) {
      const result = await printer.print(htmlPath);
      if (result.ok) {
        return reply
          .header('content-type', 'application/pdf')
          .header('content-disposition', `inline; filename="${survey.slug}-questionnaire.pdf"`)
          .header('cache-control', 'no-cache')
          .send(result.pdf);
      }
      request.log.warn({ reason: result.reason, detail: result.detail }, 'questionnaire PDF not made');
      return reply.code(503).view('pages/pdf-unavailable.eta', {
        title: 'The PDF is not available – Paper questionnaire',
        survey,
        printHref: htmlPath,
        unavailable: result.reason === 'unavailable',
      });
    }
    const schedule = await scheduleOf(app.db, survey);
    const state = surveyState(schedule, opts.now());
    const form = formOf(survey);
    return reply.view('pages/print.eta', {
      title: `Paper questionnaire: ${survey.title}`,
      survey,
      wide: true,
      bodyClass: 'app-paper-body',
      form,
      statements: opts.statements,
      onlineUrl: surveyUrl(survey, opts.publicUrl),
      privacyUrl: `${opts.publicUrl}/privacy`,
      pdfHref: `${htmlPath}.pdf`,
      hasPostcode: form?.questions.some((q) => q.question.type === 'text' && q.question.format === 'postcode'),
      // The closing date, on a form printed before the survey opens as well as while it is open.
      returnBy:
        schedule.closesAt && !(!state.open && state.reason === 'closed')
          ? formatWhen(new Date(schedule.closesAt))
          : undefined,
      // Without PUBLIC_URL the printed address is localhost: no resident could follow it.
      publicUrlUnset: !app.publicUrlSet,
      closed: !state.open && state.reason === 'closed' ? formatWhen(state.at) : undefined,
    });
  });
}
