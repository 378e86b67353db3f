import { gunzipSync } from 'node:zlib';
import { HttpError, strictJsonParser, type TrackerApp } from '@tracker/http';
import type { FastifyRequest } from 'fastify';

/**
 * The bodies the Segment, RudderStack and PostHog SDKs send, down to the JSON text they hold:
 * - JSON as `application/json` or `text/plain` (analytics-next, posthog-js: no CORS preflight);
 * - gzip without a Content-Encoding header (posthog-js sends it as `text/plain` and says nothing
 *   in the URL): recognised by its magic bytes 1f 8b, which no JSON text starts with;
 * - `data=<base64 JSON>` form bodies (`application/x-www-form-urlencoded`, posthog-js with
 *   `?compression=base64`, and its sendBeacon fallback);
 * - a form content type over plain JSON (rudder-sdk-node: gzip with Content-Encoding, already
 *   decompressed by the app's preParsing hook, under `application/x-www-form-urlencoded`).
 * What it decodes to is held to `limit` bytes, like every other body (after decompression).
 */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

export const isGzip = (body: Buffer): boolean =>
  body.length >= 2 && body[0] === GZIP_MAGIC[0] && body[1] === GZIP_MAGIC[1];

function tooLarge(limit: number): HttpError {
  const message = `is larger than this endpoint's limit of ${limit} bytes once decoded`;
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body ${message}`, [{ path: 'body', message }]);
}

/** gunzip, refusing output past `limit` (a small body may inflate enormously). */
export function gunzipLimited(body: Buffer, limit: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError)
      throw tooLarge(limit);
    throw new HttpError(
      400,
      'INVALID_CONTENT_ENCODING',
      `the body is not valid gzip: ${(error as Error).message}`,
      [{ path: 'body', message: 'starts like gzip (1f 8b) but does not decompress' }],
    );
  }
}

/** `?compression=` as posthog-js names it: `base64`, `gzip-js`, `lz64` (old SDKs, not read here). */
function compressionOf(request: FastifyRequest, form?: URLSearchParams): string | undefined {
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.compression;
  if (typeof fromQuery === 'string' && fromQuery.length > 0) return fromQuery;
  return form?.get('compression') ?? undefined;
}

const BASE64 = /^[A-Za-z0-9+/=_-]*$/;

/**
 * The JSON bytes a compat body holds (see above). Throws 413 past `limit`, 400 for a body that
 * says it is compressed or encoded and is not, 415 for a compression this service does not read.
 */
export function decodeCompatBody(request: FastifyRequest, raw: Buffer, limit: number): Buffer {
  let body = isGzip(raw) ? gunzipLimited(raw, limit) : raw;
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' && body.subarray(0, 5).toString('latin1') === 'data=') {
    const form = new URLSearchParams(body.toString('utf8'));
    const data = form.get('data') ?? '';
    const compression = compressionOf(request, form);
    if (compression === 'lz64')
      throw new HttpError(
        415,
        'UNSUPPORTED_COMPRESSION',
        'compression=lz64 is not supported: use gzip-js or base64',
        [{ path: 'querystring.compression', message: 'must be gzip-js or base64' }],
      );
    if (compression === 'base64' || !/^\s*[[{]/.test(data)) {
      // A `+` sent unescaped reads as a space in a form body.
      const text = data.trim().replaceAll(' ', '+');
      if (!BASE64.test(text))
        throw new HttpError(400, 'INVALID_BODY', 'the form field data is not base64', [
          { path: 'body.data', message: 'must be base64 (compression=base64)' },
        ]);
      // NOTE: the decoded size is at most 3/4 of the text: checked before allocating it.
      if (Math.floor((text.length * 3) / 4) > limit + 2) throw tooLarge(limit);
      body = Buffer.from(text, 'base64');
    } else body = Buffer.from(data, 'utf8');
    if (isGzip(body)) body = gunzipLimited(body, limit);
  }
  if (body.length > limit) throw tooLarge(limit);
  return body;
}

/**
 * Installs the compat body parsers in a route scope: JSON under application/json, text/plain and
 * the form type, each decoded by decodeCompatBody and then read by the same strict JSON parser as
 * every other route (UTF-8 only, no `__proto__`). A form body may be up to `rawFactor` × `limit` (base64
 * is a third larger than the JSON it holds, and URL-escaped); what any body decodes to, `limit`.
 */
export function installCompatParsers(scope: TrackerApp, limit: number, rawFactor = 2): void {
  const strict = strictJsonParser(scope);
  const parse = (
    request: FastifyRequest,
    raw: Buffer,
    done: (error: Error | null, value?: unknown) => void,
  ) => {
    let json: Buffer;
    try {
      json = decodeCompatBody(request, raw, limit);
    } catch (error) {
      return done(error as Error);
    }
    if (json.length === 0) return done(new HttpError(400, 'EMPTY_BODY', 'the body is empty'));
    strict(request, json, done);
  };
  for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
    if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
    const bodyLimit = type === 'application/x-www-form-urlencoded' ? limit * rawFactor : limit;
    scope.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, parse);
  }
}
