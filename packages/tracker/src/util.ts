import type { Properties } from './types.js';

/**
 * Ingest's limits (packages/schemas LIMITS and ACTION_PATTERN), repeated here because the snippet has
 * no dependencies; util.test.ts fails when they drift apart.
 */
export const MAX_PROPERTIES = 50;
export const MAX_KEY = 128;
export const MAX_VALUE = 1024;
export const MAX_USER_ID = 128;
export const MAX_PAGE = 2048;
export const ACTION = /^[a-z0-9_.:-]{1,64}$/;

/**
 * A random v4 UUID: crypto.randomUUID where the page is a secure context, else getRandomValues
 * (available everywhere), else Math.random as a last resort.
 */
export function uuid(): string {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.random() * 256;
  b[6] = (b[6]! & 15) | 64;
  b[8] = (b[8]! & 63) | 128;
  let s = '';
  for (let i = 0; i < 16; i++)
    s += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + (b[i]! + 256).toString(16).slice(1);
  return s;
}

/**
 * The first `n` UTF-16 units of `s`, one fewer where the cut would split an emoji (a surrogate pair):
 * ingest refuses half of one, and with it the whole batch the event travels in.
 */
export function cut(s: string, n: number): string {
  if (s.length <= n) return s;
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/** The action as ingest stores it (trimmed, lower-cased, spaces to `_`), or undefined when invalid. */
export function cleanAction(action: unknown): string | undefined {
  const a = String(action).trim().toLowerCase().replace(/\s+/g, '_');
  return ACTION.test(a) ? a : undefined;
}

/**
 * Copies the values ingest accepts (strings ≤ 1024 chars, finite numbers, booleans) into `into`,
 * up to 50 keys in all; anything else (objects, null, functions) is left out.
 */
export function cleanProperties(
  input: Record<string, unknown> | undefined,
  into: Properties = {},
): Properties {
  let n = Object.keys(into).length;
  for (const k of Object.keys(input || {})) {
    const v = input![k];
    if (n >= MAX_PROPERTIES) break;
    if (k.length > MAX_KEY) continue;
    if (typeof v === 'string') into[k] = cut(v, MAX_VALUE);
    else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) into[k] = v;
    else continue;
    n++;
  }
  return into;
}
