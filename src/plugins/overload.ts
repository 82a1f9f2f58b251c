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

/**
 * A request waits about as long as the event loop takes to get round to it.
 * Each page takes well under a few milliseconds, and a server keeping up (a
 * benchmark's fifty busy connections) turns every few milliseconds; a quarter
 * of a second without a turn means requests are arriving faster than they are
 * answered, or something long is holding the loop, and the wait is growing.
 */
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
 * Load shedding. A timer marks each turn of the event loop; every request
 * checks, when it arrives, how long ago the last mark was. Too long, and it is
 * answered at once with the "very busy, try again" page (503, Retry-After:
 * see errors.ts) instead of being handled: before any handler runs, so nothing
 * is read or written and a respondent's draft is exactly as it was. Cheap
 * refusals let the loop catch up, and the first turn after that serves again.
 *
 * Why not @fastify/under-pressure's measures: they are sampled by a timer, and
 * a flood starves timers (with 2,000 busy connections its sampler ran 3 times
 * in 5 seconds: libuv goes on polling sockets while more than it takes at once
 * are ready), so the verdict is seconds stale exactly when it matters; and its
 * event-loop-utilisation limit refuses a server that is busy but keeping up.
 * The check here runs in the request itself, and measures that starvation.
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
