import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

// PDFs of our own pages, printed by headless Chromium (playwright-core drives
// it, as in the browser tests). Chromium is optional: without it (or without
// playwright-core, a development dependency) the caller gets `unavailable`
// and says so, never an error page. Chromium fetches nothing from the
// network: every request it makes is answered by `fetchPage` (the app itself,
// through inject) or refused, and the page's JavaScript is off. A PDF is kept
// for as long as the HTML it was printed from stays the same, and concurrent
// requests for the same page share one print run, so a burst of downloads
// starts Chromium once.

/** Debian's Chromium, as in the browser tests. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export type PdfResult = { ok: true; pdf: Buffer } | { ok: false; reason: 'unavailable' | 'failed'; detail: string };

/** What a page request returns, for Chromium. */
export interface FetchedPage {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface PdfPrinterOptions {
  /** '' turns PDFs off. */
  chromiumPath: string;
  /** The address Chromium is told it is at (config.publicUrl); nothing is fetched from it. */
  origin: string;
  /** Answers every request Chromium makes for the page and its styles (a path with its query string). */
  fetchPage: (path: string) => Promise<FetchedPage>;
  /** Gives up on a print run after this long. */
  timeoutMs?: number;
}

const LAUNCH_ARGS = [
  '--headless',
  // Chromium refuses to start as root, or in many containers, with its sandbox;
  // it only ever renders our own HTML here, with JavaScript and the network off.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export class PdfPrinter {
  private readonly cache = new Map<string, { hash: string; pdf: Buffer }>();
  private readonly running = new Map<string, Promise<PdfResult>>();
  private readonly timeoutMs: number;

  constructor(private readonly opts: PdfPrinterOptions) {
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** Why PDFs cannot be made here, or null when they can be tried. */
  unavailable(): string | null {
    if (!this.opts.chromiumPath) return 'PDFs are turned off on this server (CHROMIUM_PATH is empty).';
    if (!existsSync(this.opts.chromiumPath)) return `Chromium is not installed at ${this.opts.chromiumPath}.`;
    return null;
  }

  /** The PDF of the page at `path` (A4, as its print stylesheet lays it out). */
  async print(path: string): Promise<PdfResult> {
    const missing = this.unavailable();
    if (missing) return { ok: false, reason: 'unavailable', detail: missing };
    const page = await this.opts.fetchPage(path);
    if (page.status !== 200) return { ok: false, reason: 'failed', detail: `the page answered ${page.status}` };
    const hash = createHash('sha256').update(page.body).digest('hex');
    const cached = this.cache.get(path);
    if (cached?.hash === hash) return { ok: true, pdf: cached.pdf };
    const key = `${path}\n${hash}`;
    let run = this.running.get(key);
    if (!run) {
      run = this.run(path).then((result) => {
        if (result.ok) this.cache.set(path, { hash, pdf: result.pdf });
        return result;
      });
      this.running.set(key, run);
      void run.finally(() => this.running.delete(key));
    }
    return run;
  }

  private async run(path: string): Promise<PdfResult> {
    let chromium: typeof import('playwright-core').chromium;
    try {
      ({ chromium } = await import('playwright-core'));
    } catch {
      return { ok: false, reason: 'unavailable', detail: 'playwright-core is not installed.' };
    }
    const origin = new URL(this.opts.origin).origin;
    const held: { browser?: { close(): Promise<void> } } = {};
    const close = () => held.browser?.close().catch(() => {});
    const work = async (): Promise<PdfResult> => {
      const browser = await chromium.launch({
        executablePath: this.opts.chromiumPath,
        args: LAUNCH_ARGS,
        timeout: this.timeoutMs,
      });
      held.browser = browser;
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.route('**/*', async (route) => {
        const url = new URL(route.request().url());
        if (url.origin !== origin || route.request().method() !== 'GET') return route.abort('blockedbyclient');
        const answer = await this.opts.fetchPage(`${url.pathname}${url.search}`);
        return route.fulfill({ status: answer.status, headers: answer.headers, body: answer.body });
      });
      await page.goto(`${origin}${path}`, { waitUntil: 'load', timeout: this.timeoutMs });
      const pdf = await page.pdf({
        format: 'A4',
        preferCSSPageSize: true,
        printBackground: true,
        tagged: true,
        outline: true,
      });
      return { ok: true, pdf };
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<PdfResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: 'failed', detail: `no PDF after ${this.timeoutMs} ms` }),
        this.timeoutMs,
      );
    });
    const working = work();
    // Whatever happens, Chromium is closed once the run ends (even after a timeout has answered).
    void working.then(close, close);
    try {
      return await Promise.race([working, timeout]);
    } catch (err) {
      return { ok: false, reason: 'failed', detail: (err as Error).message.split('\n')[0] ?? 'Chromium failed' };
    } finally {
      clearTimeout(timer);
      await close();
    }
  }
}
