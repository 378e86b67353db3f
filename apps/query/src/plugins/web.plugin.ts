import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { TrackerApp } from '@tracker/http';
import type { FastifySchema } from 'fastify';

export interface WebOptions {
  /** The compiled dashboard (index.html + assets), served at /. */
  publicDir: string;
  /** Demo pages, served at /demo/ when the folder exists. */
  demoDir: string;
  /** The ingest the demo pages use (QUERY_DEMO_INGEST_URL). */
  demoIngestUrl: string;
  /** The write key the demo pages send (QUERY_DEMO_WRITE_KEY), if any. */
  demoWriteKey?: string | undefined;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Interaction tracker</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Dashboard not built</h1>
<p>The query API is running (<a href="/docs">API documentation</a>), but the dashboard's files are
missing. Build them with <code>pnpm turbo run build --filter @tracker/query</code> and restart.</p>
</body></html>
`;

// @fastify/swagger's `hide` (its type augmentation is not visible from here).
const HIDDEN = { hide: true } as FastifySchema;

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();

/**
 * The demo's settings as a script the pages load before demo.js. They come from the server's
 * config only: a link (`?ingest=`) could otherwise make the pages load a script from anywhere.
 */
export function demoConfigScript(ingestUrl: string, writeKey: string | undefined): string {
  const config = { ingestUrl: ingestUrl.replace(/\/+$/, ''), ...(writeKey ? { writeKey } : {}) };
  // JSON.stringify escapes quotes and backslashes; `<` too, so the value can never close a tag.
  return `window.DEMO_CONFIG = ${JSON.stringify(config).replace(/</g, '\\u003c')};\n`;
}

/**
 * Public pages: the dashboard at / (no key needed: it asks for one when the API wants it) and the
 * demo site at /demo/. Both are optional folders, checked at start-up.
 */
export async function webPlugin(app: TrackerApp, opts: WebOptions): Promise<void> {
  if (isDir(opts.publicDir) && existsSync(join(opts.publicDir, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: opts.publicDir,
      prefix: '/',
      index: 'index.html',
      wildcard: true,
      // Hashed asset names can be cached; index.html is revalidated so a new build shows at once.
      setHeaders: (reply, path) => {
        if (path.endsWith('.html')) reply.header('cache-control', 'no-cache');
      },
      schemaHide: true,
    });
  } else {
    app.get('/', { schema: HIDDEN }, async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(NOT_BUILT),
    );
  }
  if (isDir(opts.demoDir)) {
    const script = demoConfigScript(opts.demoIngestUrl, opts.demoWriteKey);
    app.get('/demo/config.js', { schema: HIDDEN }, async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(script),
    );
    await app.register(fastifyStatic, {
      root: opts.demoDir,
      prefix: '/demo/',
      index: 'index.html',
      decorateReply: false,
      schemaHide: true,
    });
    // `/demo` -> `/demo/`, so the pages' relative links resolve.
    app.get('/demo', { schema: HIDDEN }, async (_request, reply) => reply.redirect('/demo/', 301));
  }
}
