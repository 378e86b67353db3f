import { HttpError } from '@tracker/http';

/**
 * A keyset position in the newest-first order (occurred_at desc, event_id desc), the direction to
 * read from it, and the fingerprint of the filters it was issued for.
 * - `next`: the rows strictly older than the position (the following page).
 * - `prev`: the rows strictly newer than the position (the page before), still answered newest first.
 */
export interface Cursor {
  direction: 'next' | 'prev';
  occurredAt: Date;
  eventId: string;
  filters: string;
}

const VERSION = 'c1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]{1,200}$/;
const FINGERPRINT = /^[A-Za-z0-9_-]{12}$/;
// Instants from 0001-01-01 to 9999-12-31 (what timestamptz and Date both hold and print as ISO).
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;

/** The opaque token: base64url of `c1.<n|p>.<epoch ms>.<event id>.<filters fingerprint>`. */
export function encodeCursor(cursor: Cursor): string {
  const text = [
    VERSION,
    cursor.direction === 'next' ? 'n' : 'p',
    String(cursor.occurredAt.getTime()),
    cursor.eventId,
    cursor.filters,
  ].join('.');
  return Buffer.from(text, 'utf8').toString('base64url');
}

function invalid(message: string): HttpError {
  return new HttpError(400, 'INVALID_CURSOR', 'invalid querystring', [
    { path: 'querystring.cursor', message },
  ]);
}

/**
 * Parses a token from a client. Every part is checked strictly, so a garbled or forged token is a
 * 400, never a database error; a token issued for other filters is refused too (it would skip or
 * repeat rows).
 */
export function decodeCursor(token: string, filters: string): Cursor {
  if (!BASE64URL.test(token)) throw invalid('is not a cursor this API issued');
  const parts = Buffer.from(token, 'base64url').toString('utf8').split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw invalid('is not a cursor this API issued');
  const [, dir, ms, eventId, fingerprint] = parts as [string, string, string, string, string];
  if (dir !== 'n' && dir !== 'p') throw invalid('is not a cursor this API issued');
  if (!/^-?\d{1,16}$/.test(ms)) throw invalid('is not a cursor this API issued');
  const time = Number(ms);
  if (time < MIN_MS || time > MAX_MS) throw invalid('is not a cursor this API issued');
  if (!UUID.test(eventId) || !FINGERPRINT.test(fingerprint)) throw invalid('is not a cursor this API issued');
  if (fingerprint !== filters) throw invalid('was issued for other filters; start again without a cursor');
  return {
    direction: dir === 'n' ? 'next' : 'prev',
    occurredAt: new Date(time),
    eventId,
    filters: fingerprint,
  };
}
