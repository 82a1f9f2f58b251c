import fastifyHelmet from '@fastify/helmet';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
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

/** Names that would reach an object's prototype if any code ever copied a parsed body or query naively. */
const POISONED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface SecurityOptions {
  /** config.publicUrl: HSTS and upgrade-insecure-requests only when residents use https. */
  publicUrl: string;
  /** config.trustProxy: without it, behind a proxy every client has the proxy's address. */
  trustProxy?: boolean;
}

function hasPoisonedKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return false;
  return Object.keys(value).some((key) => POISONED_KEYS.has(key));
}

/**
 * Security headers (helmet), `Cache-Control: no-store` on every response
 * that does not set its own (pages show answers or admin data; only /public
 * assets are cached), and a refusal of any query string or form that names a
 * prototype property.
 */
export default fp(
  async (app, opts: SecurityOptions) => {
    const https = opts.publicUrl.startsWith('https:');
    await app.register(fastifyHelmet, {
      global: true,
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
    });

    // Behind a proxy without TRUST_PROXY, the burst and sign-in limits would
    // count every resident as one client: say so once (the header's value is never logged).
    let warnedAboutProxy = opts.trustProxy === true;
    app.addHook('onRequest', async (request, reply) => {
      reply.header('permissions-policy', PERMISSIONS_POLICY);
      if (!warnedAboutProxy && request.headers['x-forwarded-for'] !== undefined) {
        warnedAboutProxy = true;
        app.log.warn(
          'Requests carry X-Forwarded-For but TRUST_PROXY is not set: behind a reverse proxy, set TRUST_PROXY=true or every resident counts as one client for the burst and sign-in limits',
        );
      }
    });

    app.addHook('onSend', async (_request, reply, payload) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });

    app.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
      const inBody = hasPoisonedKey(request.body);
      if (!inBody && !hasPoisonedKey(request.query)) return;
      request.log.info({ where: inBody ? 'body' : 'query' }, 'prototype property name refused');
      await renderError(
        reply,
        400,
        'There is a problem with that request',
        inBody
          ? 'The form had a field this page does not ask for. Go back and try again.'
          : 'The web address had a part this page does not use. Check it is correct.',
      );
      return reply;
    });
  },
  { name: 'security', dependencies: ['views'] },
);
