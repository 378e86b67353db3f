import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { createBaseApp, type TrackerApp } from '@tracker/http';
import { afterEach, describe, expect, it } from 'vitest';
import { baseAppOptions } from '../app.js';
import { loadIngestConfig } from '../config.js';
import { browserConfigRoutes, posthogConfig } from './browser-config.route.js';

const KEY = 'browser-config-key-0123456789';
const OTHER = 'browser-config-other-key-0123';
const IMPORT_KEY = 'browser-config-import-key-0123';

const apps: TrackerApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** Ingest's base app (CORS, limits, auth-failure counting) with only these routes: no Kafka needed. */
async function build(env: Record<string, string> = {}): Promise<TrackerApp> {
  const config = loadIngestConfig({
    LOG_LEVEL: 'silent',
    INGEST_WRITE_KEYS: `${KEY},${OTHER}`,
    INGEST_IMPORT_KEYS: IMPORT_KEY,
    ...env,
  });
  const app = await createBaseApp({ ...baseAppOptions(config), docs: { title: 't', description: 'd' } });
  await app.register(browserConfigRoutes, { config });
  await app.ready();
  apps.push(app);
  return app;
}

const settingsUrl = (key: string) => `/v1/projects/${encodeURIComponent(key)}/settings`;

describe('Segment settings (analytics-next)', () => {
  it('points the Segment.io integration at this ingest, with the key as apiKey, and nothing else', async () => {
    const app = await build();
    const res = await app.inject({ url: settingsUrl(KEY), headers: { host: '127.0.0.1:3001' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('private, max-age=300');
    const settings = res.json();
    expect(Object.keys(settings.integrations)).toEqual(['Segment.io']);
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiKey: KEY,
      apiHost: '127.0.0.1:3001/v1',
      protocol: 'http',
    });
    expect(settings.remotePlugins).toEqual([]);
    expect(settings.enabledMiddleware).toEqual({});
    expect(settings.middlewareSettings).toEqual({});
    expect(settings.legacyVideoPluginsEnabled).toBe(false);
    expect(settings.metrics).toEqual({ sampleRate: 0 });
  });

  it('takes scheme, host and path prefix from INGEST_PUBLIC_URL when set', async () => {
    const app = await build({ INGEST_PUBLIC_URL: 'https://ingest.example.com/collect/' });
    const res = await app.inject({ url: settingsUrl(KEY), headers: { host: 'internal:3001' } });
    expect(res.json().integrations['Segment.io']).toMatchObject({
      apiHost: 'ingest.example.com/collect/v1',
      protocol: 'https',
    });
  });

  it('reads X-Forwarded-Proto/-Host only from a trusted proxy', async () => {
    const headers = {
      host: '10.0.0.5:3001',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'ingest.example.com',
    };
    const untrusted = await build();
    expect(
      (await untrusted.inject({ url: settingsUrl(KEY), headers })).json().integrations['Segment.io'],
    ).toMatchObject({ apiHost: '10.0.0.5:3001/v1', protocol: 'http' });
    const trusted = await build({ TRUST_PROXY: '127.0.0.1' });
    expect(
      (await trusted.inject({ url: settingsUrl(KEY), headers })).json().integrations['Segment.io'],
    ).toMatchObject({ apiHost: 'ingest.example.com/v1', protocol: 'https' });
  });

  it('refuses a Host header that is no host name rather than writing it into the settings', async () => {
    const app = await build();
    const res = await app.inject({ url: settingsUrl(KEY), headers: { host: 'evil.example/x?' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_HOST' });
  });

  it('answers 401 to a write key ingest does not know, and counts it as an auth failure', async () => {
    const app = await build({ AUTH_FAILURE_LIMIT: '2' });
    const res = await app.inject({ url: settingsUrl('not-a-configured-key-000') });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    await app.inject({ url: settingsUrl('not-a-configured-key-001') });
    // Guessing keys through the settings path costs what it costs on the event routes.
    expect((await app.inject({ url: settingsUrl(KEY) })).statusCode).toBe(429);
  });

  it('takes every key the event routes take (write and import keys); any key when none is configured', async () => {
    const app = await build();
    for (const key of [KEY, OTHER, IMPORT_KEY])
      expect((await app.inject({ url: settingsUrl(key) })).statusCode).toBe(200);
    const open = await build({ INGEST_WRITE_KEYS: '', INGEST_IMPORT_KEYS: '' });
    const res = await open.inject({ url: settingsUrl('whatever') });
    expect(res.statusCode).toBe(200);
    expect(res.json().integrations['Segment.io'].apiKey).toBe('whatever');
  });
});

describe('Segment usage metrics (/v1/m)', () => {
  it('accepts and discards what analytics-next sends, without a key', async () => {
    const app = await build();
    const series = { series: [{ type: 'Counter', metric: 'analytics_js.invoke.page', value: 1, tags: {} }] };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/m',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(series),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
  });
});

describe('PostHog remote config (posthog-js)', () => {
  it('serves the config as JSON and as the script posthog-js loads, both with everything remote off', async () => {
    const app = await build();
    const json = await app.inject({ url: `/array/${KEY}/config` });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual(posthogConfig(KEY));
    expect(json.json()).toMatchObject({
      hasFeatureFlags: false,
      sessionRecording: false,
      heatmaps: false,
      capturePerformance: false,
      captureDeadClicks: false,
      autocaptureExceptions: false,
      supportedCompression: ['gzip', 'gzip-js'],
    });
    expect(json.json()).not.toHaveProperty('analytics');
    // posthog-js loads its surveys script even for `surveys: false`; only without the key it does not.
    expect(json.json()).not.toHaveProperty('surveys');

    const script = await app.inject({ url: `/array/${KEY}/config.js` });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('application/javascript; charset=utf-8');
    const window: Record<string, unknown> = {};
    runInNewContext(script.body, { window });
    expect(window['_POSTHOG_REMOTE_CONFIG']).toEqual({ [KEY]: { config: posthogConfig(KEY), siteApps: [] } });
  });

  it('keeps a token that is not a plain word a string inside the script (open ingest takes any token)', async () => {
    const app = await build({ INGEST_WRITE_KEYS: '', INGEST_IMPORT_KEYS: '' });
    const token = `a'"\\</script><script>x=1</script>\u2028`;
    const res = await app.inject({ url: `/array/${encodeURIComponent(token)}/config.js` });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('</script');
    const window: Record<string, unknown> = {};
    const context = { window, x: undefined };
    runInNewContext(res.body, context);
    expect(Object.keys(window['_POSTHOG_REMOTE_CONFIG'] as object)).toEqual([token]);
    expect(context.x).toBeUndefined();
  });

  it('answers 401 to a token ingest does not know (the SDK then keeps its defaults)', async () => {
    const app = await build();
    for (const url of ['/array/phc_unknown_token_00000/config', '/array/phc_unknown_token_00000/config.js']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
  });
});

describe('PostHog feature flags (/flags/, /decide/)', () => {
  const flagsBody = { token: KEY, distinct_id: 'd-1', person_properties: { $lib: 'web' } };

  it.each([
    ['gzip as text/plain', 'text/plain', gzipSync(JSON.stringify(flagsBody))],
    [
      'a base64 form',
      'application/x-www-form-urlencoded',
      `data=${encodeURIComponent(Buffer.from(JSON.stringify(flagsBody)).toString('base64'))}`,
    ],
    ['JSON', 'application/json', JSON.stringify(flagsBody)],
  ])('answers no flags to a request sent as %s', async (_name, contentType, payload) => {
    const app = await build();
    const res = await app.inject({
      method: 'POST',
      url: '/flags/?v=2&config=true',
      headers: { 'content-type': contentType },
      payload,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      flags: {},
      featureFlags: {},
      featureFlagPayloads: {},
      errorsWhileComputingFlags: false,
      sessionRecording: false,
      surveys: false,
    });
  });

  it('answers the legacy /decide/ the same way', async () => {
    const app = await build();
    const res = await app.inject({
      method: 'POST',
      url: '/decide/?v=3&ip=1&_=1700000000000&ver=1.100.0&compression=base64',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'data=e30%3D',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ featureFlags: {}, config: { enable_collect_everything: true } });
  });
});

describe('CORS for the browser SDKs', () => {
  it('lets another origin read the settings and config and preflights them', async () => {
    const app = await build();
    const origin = 'http://127.0.0.1:3000';
    for (const url of [settingsUrl(KEY), `/array/${KEY}/config.js`, `/array/${KEY}/config`]) {
      const get = await app.inject({ url, headers: { origin } });
      expect(get.headers['access-control-allow-origin'], url).toBe(origin);
      const preflight = await app.inject({
        method: 'OPTIONS',
        url,
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(preflight.statusCode, url).toBe(204);
      expect(preflight.headers['access-control-allow-origin'], url).toBe(origin);
    }
  });

  it('names no origin outside INGEST_CORS_ORIGINS', async () => {
    const app = await build({ INGEST_CORS_ORIGINS: 'https://shop.example' });
    const res = await app.inject({ url: settingsUrl(KEY), headers: { origin: 'https://evil.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const ok = await app.inject({ url: settingsUrl(KEY), headers: { origin: 'https://shop.example' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
  });
});
