import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { TrustProxy } from '../config.ts';
import { renderError } from './errors.ts';

/**
 * The Content-Security-Policy of every response: our own scripts, styles,
 * images and forms only; nothing inline (no `style=` or `on…=` attributes, no
 * inline <script> or <style>), no plugins, no <base>, never framed.
 */
export const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
} as const;

/** Features no page of ours uses, turned off for any script that might get in. */
const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()';

/** Our headers beside helmet's; `cache-control` is the default, which a route that may be cached replaces. */
const OWN_HEADERS = { 'permissions-policy': PERMISSIONS_POLICY, 'cache-control': 'no-store' };

/** Helmet's settings, the one definition of the security headers (HSTS and upgrades only when residents use https). */
export function helmetOptions(publicUrl: string): HelmetOptions {
  const https = publicUrl.startsWith('https:');
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { ...CSP_DIRECTIVES, ...(https ? { 'upgrade-insecure-requests': [] } : {}) },
    },
    // Browsers ignore HSTS over http; sending it from a plain-http deployment would only mislead.
    strictTransportSecurity: https ? { maxAge: 365 * 24 * 60 * 60, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  };
}

/**
 * Sets every security header on a reply: helmet's, then our own. Helmet's
 * middleware reads nothing of the request with these options, so it runs
 * once, into a plain record that every reply gets (run per request through the
 * raw response it was the respondents' costliest header work: bench/RESULTS.md).
 * Run on arrival for every route, and by the router's own refusals (see
 * routerErrors in errors.ts), which no hook sees.
 */
export function securityHeaders(publicUrl: string): (request: FastifyRequest, reply: FastifyReply) => void {
  const headers = { ...helmetHeaders(helmetOptions(publicUrl)), ...OWN_HEADERS };
  return (_request, reply) => {
    reply.headers(headers);
  };
}

/** The headers helmet's middleware sets for these options, as name → value. */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return headers;
}

/** Names that would reach an object's prototype if any code ever copied a parsed body or query naively. */
const POISONED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface SecurityOptions {
  /** config.publicUrl: HSTS and upgrade-insecure-requests only when residents use https. */
  publicUrl: string;
  /** config.trustProxy: without it, behind a proxy every client has the proxy's address. */
  trustProxy?: TrustProxy;
}

/**
 * A NUL character anywhere in a field or query value. No form of ours can
 * send one, and PostgreSQL refuses it in text (an error, not a refusal), so it
 * is turned away here, the same on both engines.
 */
export function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(hasNul);
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return false;
  return Object.entries(value).some(([key, v]) => key.includes('\u0000') || hasNul(v));
}

/** A field or query name that would reach an object's prototype. */
export function hasPoisonedKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return false;
  return Object.keys(value).some((key) => POISONED_KEYS.has(key));
}

/** Why a request's address is turned away before any hook of a route sees it (NUL, prototype names), if it is. */
function urlRefusal(request: FastifyRequest): { why: string; message: string } | undefined {
  const address = 'The web address had';
  if (hasNul(request.query) || hasNul(request.params))
    return {
      why: 'NUL character refused',
      message: `${address} a character that cannot be used. Check it is correct.`,
    };
  if (hasPoisonedKey(request.query))
    return {
      why: 'prototype property name refused',
      message: `${address} a part this page does not use. Check it is correct.`,
    };
  return undefined;
}

/** Why a request's form is turned away before its handler sees it, if it is. */
function bodyRefusal(request: FastifyRequest): { why: string; message: string } | undefined {
  const form = 'The form had';
  if (hasNul(request.body))
    return { why: 'NUL character refused', message: `${form} a character that cannot be used. Go back and try again.` };
  if (hasPoisonedKey(request.body))
    return {
      why: 'prototype property name refused',
      message: `${form} a field this page does not ask for. Go back and try again.`,
    };
  return undefined;
}

/**
 * Security headers (helmet), `Cache-Control: no-store` on every response
 * that does not set its own (pages show answers or admin data; only /public
 * assets are cached), and a refusal of any query string or form that names a
 * prototype property.
 */
export default fp(
  async (app, opts: SecurityOptions) => {
    const setSecurityHeaders = securityHeaders(opts.publicUrl);

    // Behind a proxy without TRUST_PROXY, the burst and sign-in limits would
    // count every resident as one client: say so once (the header's value is never logged).
    let warnedAboutProxy = opts.trustProxy !== undefined && opts.trustProxy !== false;
    app.addHook('onRequest', (request, reply, done) => {
      setSecurityHeaders(request, reply);
      if (!warnedAboutProxy && request.headers['x-forwarded-for'] !== undefined) {
        warnedAboutProxy = true;
        app.log.warn(
          'Requests carry X-Forwarded-For but TRUST_PROXY is not set: behind a reverse proxy, set TRUST_PROXY to the number of proxies in front of the app (TRUST_PROXY=1 behind one nginx or load balancer) or to their addresses (TRUST_PROXY=10.0.0.0/8), or every resident counts as one client for the burst and sign-in limits',
        );
      }
      done();
    });

    const refuse = (
      request: FastifyRequest,
      reply: FastifyReply,
      done: (err?: Error) => void,
      where: string,
      refusal: { why: string; message: string } | undefined,
    ) => {
      if (refusal === undefined) return done();
      request.log.info({ where }, refusal.why);
      // Answered here: done is not called, so no later hook or handler runs.
      renderError(reply, 400, 'There is a problem with that request', refusal.message).catch(done);
    };
    // The address on arrival (before any route's own hooks); the form once it is parsed.
    app.addHook('onRequest', (request, reply, done) => refuse(request, reply, done, 'url', urlRefusal(request)));
    app.addHook('preValidation', (request, reply, done) => refuse(request, reply, done, 'body', bodyRefusal(request)));
  },
  { name: 'security', dependencies: ['views'] },
);
