import { join } from 'node:path';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import fp from 'fastify-plugin';
import { appRoot } from '../root.ts';

declare module 'fastify' {
  interface FastifyReply {
    /** What every template of the request sees besides its own data (@fastify/view merges it in). */
    locals: { testMode?: boolean } | undefined;
  }
}

export const viewsDir = join(appRoot, 'views');

/** Eta templates from views/, escaped by default (`<%= %>`); cached unless in development. */
export default fp(
  async (app, opts: { cache: boolean }) => {
    const eta = new Eta({ views: viewsDir, cache: opts.cache, autoEscape: true, autoTrim: [false, 'nl'] });
    await app.register(fastifyView, { engine: { eta }, templates: viewsDir, production: opts.cache });
  },
  { name: 'views' },
);
