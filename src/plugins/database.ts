import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
  }
}

/** Makes the database available to routes as `app.db` and closes it with the app. */
export default fp(
  async (app, opts: { db: Kysely<Database> }) => {
    app.decorate('db', opts.db);
    app.addHook('onClose', async () => {
      await opts.db.destroy();
    });
  },
  { name: 'database' },
);
