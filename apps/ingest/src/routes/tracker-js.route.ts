import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { HttpError, type TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { ErrorRef } from '../schemas.js';

/**
 * If-None-Match as RFC 9110 compares it (weak comparison): `*`, or any tag of the list equal to ours
 * once a `W/` prefix is dropped (a proxy that compresses the response marks the tag weak).
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export interface TrackerJsOptions {
  /** The built browser snippet (packages/tracker/dist/tracker.js unless INGEST_TRACKER_JS_PATH says otherwise). */
  path: string;
}

/**
 * GET /v1/tracker.js: the browser snippet, served from the file packages/tracker builds (read per
 * request, so a rebuild is picked up without a restart). Public: a page loads it without a key.
 */
export async function trackerJsRoute(app: TrackerApp, opts: TrackerJsOptions) {
  app.get(
    '/v1/tracker.js',
    {
      schema: {
        summary: 'The browser tracker script',
        description:
          'JavaScript for a <script> tag; cached for 5 minutes and revalidated by ETag. 404 until packages/tracker is built.',
        tags: ['tracker'],
        response: {
          200: Type.String({ description: 'application/javascript' }),
          304: Type.Null({ description: 'Not modified' }),
          404: ErrorRef,
        },
      },
    },
    async (request, reply) => {
      const info = await stat(opts.path).catch(() => undefined);
      if (!info?.isFile())
        throw new HttpError(404, 'NOT_FOUND', 'tracker.js is not built yet (packages/tracker)');
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      reply.header('etag', etag).header('cache-control', 'public, max-age=300, must-revalidate');
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send(null);
      return reply
        .type('application/javascript; charset=utf-8')
        .header('content-length', info.size)
        .send(createReadStream(opts.path));
    },
  );
}
