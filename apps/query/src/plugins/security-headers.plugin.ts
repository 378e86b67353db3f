import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityHeadersOptions {
  /** The ingest the demo pages load the snippet from: the one origin besides 'self' they may use. */
  demoIngestUrl: string;
}

/** The directives every page shares: no plugins, no <base> tricks, never framed (clickjacking). */
const COMMON = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Content-Security-Policy by area. Scripts only from files ('self'; no inline script anywhere), so
 * an injected <script> does not run. The demo may also load and call ingest; /docs (swagger-ui)
 * styles elements inline, so it alone allows inline styles.
 */
export function contentSecurityPolicies(demoIngestUrl: string): {
  dashboard: string;
  demo: string;
  docs: string;
} {
  const ingest = new URL(demoIngestUrl).origin;
  const base = "default-src 'self'; img-src 'self' data:; font-src 'self'";
  return {
    dashboard: `${base}; script-src 'self'; style-src 'self'; connect-src 'self'; ${COMMON}`,
    demo: `${base}; script-src 'self' ${ingest}; style-src 'self'; connect-src 'self' ${ingest}; ${COMMON}`,
    docs: `${base}; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; ${COMMON}`,
  };
}

/**
 * On every response of the service: nosniff, a referrer policy that sends no path to other sites,
 * and the Content-Security-Policy of the area the URL belongs to (API answers get the dashboard's).
 * Set in onRequest so error answers and hijacked streams (which copy reply.getHeaders()) carry them.
 */
export const securityHeadersPlugin = fp<SecurityHeadersOptions>(
  async (app: FastifyInstance, opts) => {
    const csp = contentSecurityPolicies(opts.demoIngestUrl);
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0]!;
      const area = /^\/docs(\/|$)/.test(path) ? 'docs' : /^\/demo(\/|$)/.test(path) ? 'demo' : 'dashboard';
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'strict-origin-when-cross-origin');
      reply.header('content-security-policy', csp[area]);
    });
  },
  { name: 'query-security-headers' },
);
