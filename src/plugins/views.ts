import { join } from 'node:path';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import fp from 'fastify-plugin';
import { appRoot } from '../root.ts';

export const viewsDir = join(appRoot, 'views');

/** Eta templates from views/, escaped by default (`<%= %>`); cached unless in development. */
export default fp(
  async (app, opts: { cache: boolean }) => {
    const eta = new Eta({ views: viewsDir, cache: opts.cache, autoEscape: true, autoTrim: [false, 'nl'] });
    if (opts.cache) rememberPaths(eta);
    await app.register(fastifyView, { engine: { eta }, templates: viewsDir, production: opts.cache });
  },
  { name: 'views' },
);

/**
 * Eta works out a template's file from its name (and the including file) on
 * every render and include, JSON-encoding its cache key each time: about 1%
 * of a respondent's request. Where templates are cached the files do not
 * move, so each name's file is kept once found (a name Eta refuses is not).
 */
function rememberPaths(eta: Eta) {
  const resolve = eta.resolvePath;
  if (!resolve) return;
  const found = new Map<string, string>();
  eta.resolvePath = function (template, options) {
    const key = `${options?.filepath ?? ''}\u0000${template}`;
    let path = found.get(key);
    if (path === undefined) {
      path = resolve.call(this, template, options);
      found.set(key, path);
    }
    return path;
  };
}
