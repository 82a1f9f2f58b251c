import fp from 'fastify-plugin';
import type { Survey } from '../survey/definition.ts';
import { SurveyRegistry } from '../surveys/registry.ts';
import { storeShipped } from '../surveys/store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The surveys served, from the database (see surveys/registry.ts): never a fixed list. */
    surveys: SurveyRegistry;
  }
}

/**
 * Stores the shipped definitions the database does not hold yet (never
 * overwriting a stored one), reads the stored surveys and keeps them fresh.
 */
export default fp(
  async (app, opts: { shipped: Survey[]; now: () => Date; refreshMs?: number }) => {
    await storeShipped(app.db, opts.shipped, opts.now());
    const registry = new SurveyRegistry(app.db, (message, err) => app.log.error({ err }, message));
    await registry.refresh();
    registry.start(opts.refreshMs);
    app.decorate('surveys', registry);
    app.addHook('onClose', async () => registry.stop());
  },
  { name: 'surveys', dependencies: ['database'] },
);
