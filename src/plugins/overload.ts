import fp from 'fastify-plugin';
import { RETRY_AFTER_SECONDS } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** How long (ms) the event loop has gone without a turn: above the limit, new requests are refused. */
    eventLoopLag(): number;
  }
}

/** When the server sheds load rather than let every request wait. */
export interface OverloadSettings {
  /** How long (ms) the event loop may go without completing a turn before new requests are refused. */
  maxEventLoopDelay: number;
}

/** A quarter of a second without a turn of the event loop: requests arrive faster than they are answered. */
export const DEFAULT_OVERLOAD: OverloadSettings = { maxEventLoopDelay: 250 };

/** How often the loop's turns are marked. */
const TICK_MS = 10;

/** The error the errors plugin turns into the "very busy, try again" page (503, Retry-After). */
export class Overloaded extends Error {
  readonly code = 'FST_UNDER_PRESSURE';
  readonly statusCode = 503;
  constructor() {
    super('Service Unavailable');
  }
}

/**
 * Load shedding: a timer marks each turn of the event loop, and a request
 * that arrives too long after the last mark is answered at once with the
 * "very busy, try again" page (503), before any handler reads or writes.
 * Not @fastify/under-pressure: its timer-sampled measures go stale in the
 * very flood that starves timers (see SECURITY.md); this check runs in the
 * request itself.
 */
export default fp(
  async (app, opts: Partial<OverloadSettings>) => {
    const settings = { ...DEFAULT_OVERLOAD, ...opts };
    let lastTurn = performance.now();
    const ticker = setInterval(() => {
      lastTurn = performance.now();
    }, TICK_MS);
    ticker.unref();
    app.addHook('onClose', async () => clearInterval(ticker));
    const lag = () => Math.max(0, performance.now() - lastTurn - TICK_MS);
    app.decorate('eventLoopLag', lag);
    app.addHook('onRequest', (_request, reply, done) => {
      if (lag() <= settings.maxEventLoopDelay) return done();
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      done(new Overloaded());
    });
  },
  { name: 'overload', dependencies: ['errors'] },
);
