import { HttpError, type TrackerApp } from '@tracker/http';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { IngestConfig } from '../config.js';
import { pathKeyAuth } from '../keys.js';
import { ErrorRef } from '../schemas.js';

/**
 * What the browser SDKs of Segment (analytics-next) and PostHog (posthog-js) fetch besides sending
 * events: Segment's source settings and usage metrics, PostHog's remote config and feature flags.
 * The answers make each SDK send its events here and load nothing else: no destinations, remote
 * plugins or middleware; no flags, surveys, session recording, heatmaps, web vitals, dead clicks or
 * exception autocapture (each of those would fetch a script or call an API ingest does not have).
 * Wire details: apps/ingest/README.md, "Browser SDKs: settings, config and flags".
 */

/** Bodies these routes read and throw away (metrics, flag requests): far below the event limits. */
const DISCARDED_BODY_LIMIT = 64 * 1024;
/** A browser refetches settings/config at most every 5 minutes; `private`: they depend on the Host. */
const CACHE_CONTROL = 'private, max-age=300';

const tags = ['browser SDKs'];
const KeyString = (description: string) => Type.String({ minLength: 1, maxLength: 512, description });
const WriteKeyParams = Type.Object({ writeKey: KeyString('A write key (INGEST_WRITE_KEYS)') });
const TokenParams = Type.Object({ token: KeyString('The project token: a write key (INGEST_WRITE_KEYS)') });

/** A Host header (name or address, optional port), nothing that could bend the URL it goes into. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Where browsers reach this ingest: INGEST_PUBLIC_URL, else the request's scheme and Host (behind a
 * TRUST_PROXY proxy its X-Forwarded-Proto and -Host). As `host[:port][/prefix]` and a protocol,
 * the two parts Segment's settings carry.
 */
export function publicBase(
  request: FastifyRequest,
  publicUrl: string | undefined,
): {
  host: string;
  protocol: 'http' | 'https';
} {
  if (publicUrl) {
    const url = new URL(publicUrl);
    return {
      host: `${url.host}${url.pathname.replace(/\/+$/, '')}`,
      protocol: url.protocol === 'http:' ? 'http' : 'https',
    };
  }
  const host = request.host;
  if (!HOST.test(host))
    throw new HttpError(400, 'INVALID_HOST', 'the Host header is not a host name (set INGEST_PUBLIC_URL)', [
      { path: 'headers.host', message: 'must be a host name or address with an optional port' },
    ]);
  return { host, protocol: request.protocol === 'https' ? 'https' : 'http' };
}

/**
 * The settings analytics-next reads from `{cdnURL}/v1/projects/<writeKey>/settings`. Only the
 * Segment.io integration (a second one makes it load device-mode destinations from Segment's CDN);
 * its `apiKey` is what the SDK puts in each event's `writeKey` and Basic auth header, and `apiHost`
 * + `protocol` where it sends them. Remote metrics are off: they would take their protocol from the
 * page's load() options only, so over http they would go to https:// and fail in the console.
 */
export function segmentSettings(writeKey: string, base: { host: string; protocol: 'http' | 'https' }) {
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${base.host}/v1`,
        protocol: base.protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
        versionSettings: { componentTypes: [] },
      },
    },
    plan: {},
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
    consentSettings: { allCategories: [], hasUnmappedDestinations: false },
  };
}

/**
 * PostHog's remote config (its format: posthog/models/remote_config.py), with every feature that
 * would load a script or call another API switched off. `supportedCompression` as PostHog's own:
 * posthog-js then sends events gzipped as text/plain (no CORS preflight). No `analytics.endpoint`:
 * events go to `/e/`. `autocapture_opt_out: false` leaves DOM autocapture to the page's own setting.
 * No `surveys` key: posthog-js 1.4xx loads its surveys script for `surveys: false` too (and then asks
 * /api/surveys/); only a config without the key keeps it from loading (seen in the e2e test).
 */
export function posthogConfig(token: string) {
  return {
    token,
    supportedCompression: ['gzip', 'gzip-js'],
    hasFeatureFlags: false,
    captureDeadClicks: false,
    capturePerformance: false,
    autocapture_opt_out: false,
    autocaptureExceptions: false,
    errorTracking: { autocaptureExceptions: false, suppressionRules: [] },
    elementsChainAsString: true,
    sessionRecording: false,
    heatmaps: false,
    productTours: false,
    conversations: false,
    defaultIdentifiedOnly: true,
    siteApps: [],
  };
}

/** `/array/<token>/config.js`: the config as the script PostHog serves, read by posthog-js' loader. */
export function posthogConfigScript(token: string): string {
  // JSON is JavaScript; escaping `<` and the two line separators keeps it so wherever it is pasted.
  const js = (value: unknown) =>
    JSON.stringify(value)
      .replace(/</g, '\\u003c')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029');
  return (
    '(function() {\n' +
    '  window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};\n' +
    `  window._POSTHOG_REMOTE_CONFIG[${js(token)}] = { config: ${js(posthogConfig(token))}, siteApps: [] };\n` +
    '})();\n'
  );
}

/**
 * `/flags/?v=2` (and `/decide/`, older posthog-js): no flags, answered whatever the request. Older
 * SDKs read their config from here too (`/decide/`, `/flags/?config=true`), so it is included, with
 * the legacy decide fields (autocapture allowed, no toolbar, not authenticated).
 */
export function posthogFlags() {
  const { token: _token, ...config } = posthogConfig('');
  return {
    ...config,
    // Older SDKs read it from here, where false means no surveys.
    surveys: false,
    flags: {},
    featureFlags: {},
    featureFlagPayloads: {},
    errorsWhileComputingFlags: false,
    quotaLimited: [],
    config: { enable_collect_everything: true },
    toolbarParams: {},
    editorParams: {},
    isAuthenticated: false,
  };
}

const AnyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });

export interface BrowserConfigOptions {
  config: IngestConfig;
}

/**
 * GET /v1/projects/:writeKey/settings, POST /v1/m (Segment); GET /array/:token/config(.js),
 * POST /flags/, /decide/ (PostHog). A key in the path is checked like the event routes' keys (401
 * otherwise, which each SDK takes as final: analytics-next does not initialise, posthog-js falls
 * back to its defaults); /v1/m and the flag routes carry no key that matters and answer anyone.
 */
export async function browserConfigRoutes(app: TrackerApp, { config }: BrowserConfigOptions) {
  // These routes read no body: metrics and flag requests (gzip as text/plain, base64 forms, JSON)
  // are taken as bytes and dropped, whatever their content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: DISCARDED_BODY_LIMIT }, (_r, _b, done) =>
    done(null, undefined),
  );

  app.get(
    '/v1/projects/:writeKey/settings',
    {
      onRequest: pathKeyAuth(config, 'writeKey'),
      schema: {
        summary: 'Source settings for Segment’s browser SDK (analytics-next)',
        description:
          'What analytics-next fetches from `{cdnURL}/v1/projects/<writeKey>/settings` before it sends anything: ' +
          'only the Segment.io integration, pointed at this ingest (INGEST_PUBLIC_URL, else the request’s Host); ' +
          'no destinations, remote plugins or metrics. 401 for a write key ingest does not know.',
        tags,
        params: WriteKeyParams,
        response: {
          200: AnyObject('Segment CDN settings: integrations["Segment.io"] = {apiKey, apiHost, protocol, …}'),
          400: ErrorRef,
          401: ErrorRef,
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', CACHE_CONTROL);
      return segmentSettings(request.params.writeKey, publicBase(request, config.INGEST_PUBLIC_URL));
    },
  );

  app.post(
    '/v1/m',
    {
      schema: {
        summary: 'Usage metrics of Segment’s browser SDK (discarded)',
        description:
          'analytics-next reports its own counters here when the settings it loaded enable them (Segment’s do; ' +
          'ours do not). Accepted and dropped.',
        tags,
        response: { 200: Type.Object({ success: Type.Boolean() }) },
      },
    },
    async () => ({ success: true }),
  );

  for (const [path, js] of [
    ['/array/:token/config', false],
    ['/array/:token/config.js', true],
  ] as const) {
    app.get(
      path,
      {
        onRequest: pathKeyAuth(config, 'token'),
        schema: {
          summary: js
            ? 'PostHog remote config as a script (posthog-js)'
            : 'PostHog remote config (posthog-js)',
          description:
            'Feature flags, surveys, session recording, heatmaps, web vitals, dead clicks and exception ' +
            'autocapture off; events to /e/, gzip. 401 for a token (write key) ingest does not know.' +
            (js ? ' Sets window._POSTHOG_REMOTE_CONFIG[token], as PostHog’s config.js does.' : ''),
          tags,
          params: TokenParams,
          response: {
            200: js
              ? Type.String({ description: 'application/javascript' })
              : AnyObject('PostHog remote config'),
            401: ErrorRef,
          },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', CACHE_CONTROL);
        if (!js) return posthogConfig(request.params.token);
        return reply
          .type('application/javascript; charset=utf-8')
          .send(posthogConfigScript(request.params.token));
      },
    );
  }

  const flags = posthogFlags();
  for (const path of ['/flags/', '/decide/']) {
    app.post(
      path,
      {
        schema: {
          summary: `PostHog feature flags (${path === '/flags/' ? 'posthog-js' : 'older posthog-js'}): none`,
          description:
            'Always the same answer: no feature flags, and the remote config for SDKs that read it from here. ' +
            'The body (the distinct id and person properties, compressed) is not read.',
          tags,
          querystring: Type.Object(
            {
              v: Type.Optional(Type.String()),
              config: Type.Optional(Type.String()),
              compression: Type.Optional(Type.String()),
            },
            { additionalProperties: true },
          ),
          response: {
            200: AnyObject('No flags: {flags: {}, featureFlags: {}, errorsWhileComputingFlags: false, …}'),
          },
        },
      },
      async () => flags,
    );
  }
}
