// Shared by the security and fuzz tests: the app's routes as registered, a
// snapshot of everything stored, hostile inputs, and the check that a page has
// no active content of anyone else's making.
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import { FORM, form } from '../helpers.ts';

export interface RegisteredRoute {
  method: string;
  /** With parameters as registered (`/admin/accounts/:id`). */
  path: string;
}

/**
 * Every route the app registered, read from Fastify's own route tree
 * (printRoutes), so a route added later is enumerated without anyone
 * remembering to list it.
 */
export async function registeredRoutes(app: FastifyInstance): Promise<RegisteredRoute[]> {
  await app.ready();
  const routes: RegisteredRoute[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│\s]*)[├└]── (.+?) \(([A-Z, ]+)\)$/u.exec(line.trimEnd());
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    stack.length = depth;
    const path = `${depth ? stack[depth - 1] : ''}${match[2]}`;
    stack[depth] = path;
    for (const method of (match[3] as string).split(', ')) routes.push({ method, path });
  }
  return routes;
}

/** A route's path with its parameters filled in. */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([A-Za-z_]+)/g, (_, name: string) => params[name] ?? `no-such-${name}`);
}

/**
 * Everything stored, table by table (admin sessions without their
 * last-seen time, which every signed-in request moves on): two snapshots are
 * equal when a request changed nothing.
 */
export async function snapshotAll(db: Kysely<Database>): Promise<Record<string, unknown[]>> {
  const tables = (await db.introspection.getTables()).map((t) => t.name).sort();
  const out: Record<string, unknown[]> = {};
  for (const table of tables) {
    if (table.startsWith('kysely_')) continue;
    const rows = (await (db as Kysely<any>).selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
    out[table] = rows
      .map((row) => {
        const { last_seen_at: _ignored, ...rest } = row;
        return table === 'admin_sessions' ? rest : row;
      })
      .map((row) => JSON.stringify(row))
      .sort();
  }
  return out;
}

/** Strings that try to run as script, formula or template wherever they are shown. */
export const PROBES = [
  '<script>alert("xss")</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  '</title><script>alert(1)</script>',
  'javascript:alert(1)',
  '=HYPERLINK("http://evil.example","click")',
  "+cmd|' /C calc'!A0",
  '-2+3+cmd|x',
  '@SUM(1,1)',
  '\tTAB=1+1',
  '<%= it.survey.title %>',
  '<%~ it.body %>',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${7*7}',
  ']]><!--<![CDATA[',
  '&amp;&lt;&#x3C;',
  '\u202Eevil\u202C',
  '👩‍👩‍👧‍👦 مرحبا שלום',
] as const;

/**
 * Checks that an HTML or SVG document has only active content our templates
 * put there: no inline script or style, no event-handler attributes, no
 * javascript: URLs, no frames or plugins. Text that came from data was
 * escaped, so any tag in the document is one of ours.
 */
export function inertProblems(markup: string): string[] {
  const problems: string[] = [];
  for (const tag of markup.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g)) {
    const name = (tag[1] as string).toLowerCase();
    const attributes = [...(tag[2] as string).matchAll(/([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)];
    const names = attributes.map((a) => (a[1] as string).toLowerCase());
    if (name === 'script' && !(names.includes('src') && names.includes('type')))
      problems.push(`inline script: ${tag[0]}`);
    if (['style', 'iframe', 'frame', 'object', 'embed', 'base'].includes(name)) problems.push(`<${name}>: ${tag[0]}`);
    if (name === 'meta' && names.includes('http-equiv')) problems.push(`meta http-equiv: ${tag[0]}`);
    for (const a of attributes) {
      const attr = (a[1] as string).toLowerCase();
      const value = (a[2] ?? '')
        .replace(/^["']|["']$/g, '')
        .trim()
        .toLowerCase();
      if (attr.startsWith('on')) problems.push(`event handler: ${tag[0]}`);
      if (attr === 'style') problems.push(`style attribute: ${tag[0]}`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr) && value.startsWith('javascript:'))
        problems.push(`javascript: URL: ${tag[0]}`);
    }
  }
  return problems;
}

/** Posts a urlencoded form through inject. */
export function postForm(
  app: FastifyInstance,
  url: string,
  fields: Record<string, string | string[]>,
  cookie = '',
  remoteAddress = '127.0.0.1',
) {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress,
    headers: { ...FORM, ...(cookie ? { cookie } : {}) },
    payload: form(fields),
  });
}
