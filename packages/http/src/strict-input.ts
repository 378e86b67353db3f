import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A \uD800-\uDFFF escape: the only way well-formed UTF-8 JSON text can carry a lone surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

function invalidText(where: 'body' | 'querystring', reason: string): HttpError {
  return new HttpError(400, 'INVALID_UTF8', `${where} is not valid UTF-8 text: ${reason}`, [
    { path: where, message: reason },
  ]);
}

/** The first string (key or value) in `value` that is not well-formed Unicode, as a dotted path. */
export function unpairedSurrogateAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : path;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const at = `${path}.${key.isWellFormed() ? key : key.toWellFormed()}`;
    if (!key.isWellFormed()) return at;
    const found = unpairedSurrogateAt(inner, at);
    if (found) return found;
  }
  return undefined;
}

type JsonParser = ReturnType<FastifyInstance['getDefaultJsonParser']>;

/**
 * A JSON body parser (parseAs: 'buffer') that refuses what Fastify's default would silently change:
 * bytes that are not UTF-8 (decoded as U+FFFD otherwise) and escaped lone surrogates (no valid
 * Unicode; they would reach Kafka and PostgreSQL as U+FFFD). Everything else, including the
 * `__proto__` / `constructor.prototype` refusal, is Fastify's own parser.
 */
export function strictJsonParser(app: FastifyInstance) {
  const parse: JsonParser = app.getDefaultJsonParser('error', 'error');
  return (request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(invalidText('body', 'contains bytes that are not UTF-8'));
    }
    const plain = plainJson(text);
    if (plain !== undefined) return done(null, plain);
    parse(request, text, (error, value) => {
      // Valid JSON that the parser refused holds a __proto__ or constructor.prototype key: say so,
      // rather than Fastify's "Body is not valid JSON".
      if (error) return done(text === '' ? error : (notJson(text) ?? FORBIDDEN_KEY()));
      // Routes that check each item's text themselves (a batch: one bad item is that item's error,
      // not the whole batch's) say so in their config.
      const perItem = (request.routeOptions.config as { perItemText?: boolean } | undefined)?.perItemText;
      if (!perItem && SURROGATE_ESCAPE.test(text)) {
        const at = unpairedSurrogateAt(value, 'body');
        if (at) return done(invalidText('body', `${at} contains an unpaired UTF-16 surrogate`));
      }
      done(null, value);
    });
  };
}

/** The error for a body that is not JSON (JSON.parse's reason; whatever the content type said), if it is not. */
const notJson = (text: string): HttpError | undefined => {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const reason = `is not valid JSON: ${(error as Error).message}`;
    return new HttpError(400, 'INVALID_JSON', `body ${reason}`, [{ path: 'body', message: reason }]);
  }
};
const FORBIDDEN_KEY = () =>
  new HttpError(400, 'INVALID_JSON', 'body has a __proto__ or constructor.prototype key, which is refused', [
    { path: 'body', message: 'has a forbidden key (__proto__ or constructor.prototype)' },
  ]);

/**
 * JSON.parse of a text that cannot hold what the strict parser refuses: no `__proto__` and no
 * `constructor` (secure-json-parse's targets) and no `\u` escape (the only way to spell either
 * key otherwise, and the only way to write a lone surrogate). Undefined when the text has any of
 * them or is not valid JSON: the full parser then decides, with its own errors. Three substring
 * searches cost a fraction of the regular expressions they spare (bench/scripts/measure-ingest-cpu.mjs).
 */
export function plainJson(text: string): unknown {
  if (text.includes('\\u') || text.includes('__proto__') || text.includes('constructor')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * onRequest hook: a query string whose percent-escapes are not UTF-8 (`?userId=%ff`) is a 400,
 * rather than a filter silently compared with U+FFFD; so is a NUL (`%00`), which no PostgreSQL text
 * holds (the query failed: a 500).
 */
export async function strictQueryString(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const q = request.url.indexOf('?');
  if (q < 0 || !request.url.includes('%', q)) return;
  for (const part of request.url.slice(q + 1).split('&')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part.replaceAll('+', ' '));
    } catch {
      throw invalidText('querystring', `"${part.slice(0, 64)}" is not percent-encoded UTF-8`);
    }
    if (decoded.includes('\u0000')) {
      const name = decoded.slice(0, Math.max(0, decoded.indexOf('='))).replaceAll('\u0000', '\\0') || part;
      throw new HttpError(400, 'VALIDATION_FAILED', 'invalid querystring', [
        { path: `querystring.${name}`, message: 'contains a NUL character (%00)' },
      ]);
    }
  }
}

/**
 * preHandler hook: ajv's type coercion turns `?limit=Infinity` into an "integer" that passes
 * minimum/maximum, and it would reach SQL. A query or path parameter must be a finite number.
 */
export async function finiteNumbers(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  for (const [part, values] of [
    ['querystring', request.query],
    ['params', request.params],
  ] as const) {
    if (values === null || typeof values !== 'object') continue;
    const bad = Object.entries(values).filter(([, v]) => typeof v === 'number' && !Number.isFinite(v));
    if (bad.length > 0)
      throw new HttpError(
        400,
        'VALIDATION_FAILED',
        `invalid ${part}`,
        bad.map(([key]) => ({ path: `${part}.${key}`, message: 'must be a finite number' })),
      );
  }
}
