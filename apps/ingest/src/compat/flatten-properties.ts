import type { ErrorDetail } from '@tracker/http';
import { LIMITS, type Properties } from '@tracker/schemas';

/**
 * Segment's, RudderStack's and PostHog's properties, traits and context are nested JSON; ours are
 * one flat map of at most LIMITS.propertyKeys keys of at most LIMITS.propertyKey characters, each a
 * string of at most LIMITS.propertyValue characters, a number or a boolean. The rules:
 * - nested objects become dotted keys (`{product: {sku: 'a'}}` → `product.sku`); an object deeper
 *   than MAX_DEPTH, and every array, is kept as its JSON text (`["a","b"]`);
 * - null, empty objects and empty arrays hold nothing and are skipped;
 * - a string (or JSON text) over the value limit is cut to it: reported as `truncated`;
 * - a key over the key limit, text that cannot be stored (NUL, half a surrogate pair), a key seen
 *   before, and every key past the count limit (sources are taken in the order given: the first
 *   are kept) are dropped, each reported.
 * Nothing is dropped without a line in the result's `dropped`.
 */
export const MAX_DEPTH = 4;

export interface FlattenSource {
  /** Prefix of the source's keys (`context.`), or '' for the top level. */
  prefix: string;
  value: unknown;
}

export interface Flattened {
  properties: Properties;
  /** What was dropped or cut, with the flattened key as `path`. */
  dropped: ErrorDetail[];
}

type Scalar = string | number | boolean;

const storable = (s: string) => !s.includes('\u0000') && s.isWellFormed();

/** `text` cut to `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/**
 * Flattens the sources, in order, into one property map. `transform` may rewrite each kept string
 * value by its key (the URL privacy rules); it runs before the length rule.
 */
export function flattenProperties(
  sources: readonly FlattenSource[],
  transform: (key: string, value: string) => string = (_k, v) => v,
): Flattened {
  const out = new Map<string, Scalar>();
  const dropped: ErrorDetail[] = [];

  const put = (key: string, value: Scalar) => {
    if (key.length === 0) return void dropped.push({ path: key, message: 'has an empty name' });
    if (key.length > LIMITS.propertyKey)
      return void dropped.push({
        path: cutText(key, 64),
        message: `name is over ${LIMITS.propertyKey} characters`,
      });
    if (!storable(key))
      return void dropped.push({
        path: key.toWellFormed().replaceAll('\u0000', '\\0'),
        message: 'name contains a NUL character or half a surrogate pair',
      });
    if (out.has(key)) return void dropped.push({ path: key, message: 'repeats a name already taken' });
    if (out.size >= LIMITS.propertyKeys)
      return void dropped.push({
        path: key,
        message: `is past the limit of ${LIMITS.propertyKeys} properties`,
      });
    if (typeof value === 'string') {
      let text = transform(key, value);
      if (!storable(text))
        return void dropped.push({ path: key, message: 'contains a NUL character or half a surrogate pair' });
      if (text.length > LIMITS.propertyValue) {
        text = cutText(text, LIMITS.propertyValue);
        dropped.push({ path: key, message: `truncated to ${LIMITS.propertyValue} characters` });
      }
      out.set(key, text);
    } else out.set(key, value);
  };

  const walk = (key: string, value: unknown, depth: number) => {
    if (value === null || value === undefined) return;
    if (typeof value === 'string' || typeof value === 'boolean') return put(key, value);
    if (typeof value === 'number') return Number.isFinite(value) ? put(key, value) : undefined;
    if (Array.isArray(value)) return value.length === 0 ? undefined : put(key, jsonText(value));
    if (typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) return;
      if (depth >= MAX_DEPTH) return put(key, jsonText(value));
      for (const [name, inner] of entries) walk(key === '' ? name : `${key}.${name}`, inner, depth + 1);
    }
  };

  for (const source of sources) {
    if (source.value === null || typeof source.value !== 'object' || Array.isArray(source.value)) {
      if (source.value !== undefined && source.value !== null)
        walk(source.prefix.replace(/\.$/, ''), source.value, 0);
      continue;
    }
    for (const [name, inner] of Object.entries(source.value as Record<string, unknown>))
      walk(`${source.prefix}${name}`, inner, 1);
  }
  return { properties: Object.fromEntries(out), dropped };
}

function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return ''; // not from JSON (a cycle): nothing to keep
  }
}
