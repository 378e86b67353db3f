import { randomUUID } from 'node:crypto';
import type { ErrorDetail } from '@tracker/http';
import {
  ACTION_PATTERN,
  type IdentifyInput,
  type InteractionInput,
  InteractionInputSchema,
  type InteractionRecord,
  LIMITS,
  occurredAtOutside,
  pageBytesOver,
  type Role,
  type TextProblem,
  textProblem,
} from '@tracker/schemas';
import { isbot } from 'isbot';
import { instantOf } from './instant.js';
import {
  DEFAULT_QUERY_ALLOW,
  type ParamFilter,
  queryAllowList,
  scrubPage,
  scrubProperties,
} from './url-privacy.js';
import { compileValidator, toDetail } from './validation.js';

/** Why an occurredAt outside OCCURRED_AT_LIMITS (after skew correction) is refused. */
const OUTSIDE_MESSAGES = {
  future: 'is more than 24 h in the future',
  past: 'is before 2000-01-01, the earliest date stored (a clock that was reset?)',
} as const;

/** Why text that PostgreSQL cannot store (textProblem) is refused. */
const TEXT_MESSAGES: Record<TextProblem['problem'], string> = {
  nul: 'contains a NUL character (U+0000), which cannot be stored',
  'unpaired-surrogate': 'contains an unpaired UTF-16 surrogate (half an emoji), which is not text',
};

/** Why an item was refused: the `reason` label of the rejected-events counter. */
export type RejectReason = 'schema' | 'too_large' | 'action' | 'page' | 'future' | 'past' | 'unparseable';

/** What the request itself tells about every event in it. */
export interface RequestContext {
  /** When ingest received the request (epoch ms). */
  receivedAt: number;
  /** The request's User-Agent header, when any. */
  userAgent: string | undefined;
  /** Query parameters kept in pages and referrers (INGEST_URL_QUERY_ALLOW); default `utm_*`. */
  keepParam?: ParamFilter;
}

const DEFAULT_KEEP_PARAM = queryAllowList(DEFAULT_QUERY_ALLOW);

export type Prepared =
  | { ok: true; record: InteractionRecord }
  | { ok: false; reason: RejectReason; errors: ErrorDetail[] };

const validateInput = compileValidator(InteractionInputSchema);
const actionPattern = new RegExp(ACTION_PATTERN);
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Records whose sender gave no role (their role says GUEST): produced with ROLE_UNSET_HEADER, so
 * the processor stores the user's known role instead.
 */
export const ROLE_UNSET = new WeakSet<InteractionRecord>();

/** The prepared record, marked ROLE_UNSET when the input had no role. */
function roleMarked(prepared: Prepared, role: string | undefined): Prepared {
  if (prepared.ok && role === undefined) ROLE_UNSET.add(prepared.record);
  return prepared;
}

/** ADMIN/USER/GUEST in any case, upper-cased; GUEST when absent. */
export function normalizeRole(role: string | undefined): Role {
  return (role?.toUpperCase() as Role | undefined) ?? 'GUEST';
}

/** Lower-cased action, or undefined when it does not fit [a-z0-9_.:-]{1,64} even then. */
export function normalizeAction(action: string): string | undefined {
  const lower = action.toLowerCase();
  return actionPattern.test(lower) ? lower : undefined;
}

/**
 * The page as stored: an absolute URL becomes its path and query (origin and fragment dropped), a
 * path is kept without its fragment. Undefined when it is neither.
 */
export function normalizePage(page: string): string | undefined {
  if (SCHEME.test(page)) {
    if (!URL.canParse(page)) return undefined;
    const url = new URL(page);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return `${url.pathname}${url.search}`;
  }
  if (!page.startsWith('/')) return undefined;
  const hash = page.indexOf('#');
  return hash === -1 ? page : page.slice(0, hash) || '/';
}

/**
 * When the event happened, corrected for the sender's clock the way Segment does it: a client that
 * stamps both `timestamp` and `sentAt` with the same wrong clock gets
 * occurredAt = receivedAt − (sentAt − timestamp). Without sentAt the timestamp is taken as is; with
 * sentAt only, the event happened when it was sent (≈ received); with neither, at reception.
 */
export function occurredAt(
  timestamp: string | undefined,
  sentAt: string | undefined,
  receivedAt: number,
): number {
  return skewCorrected(
    timestamp === undefined ? undefined : instantOf(timestamp),
    sentAt === undefined ? undefined : instantOf(sentAt),
    receivedAt,
  );
}

function skewCorrected(ts: number | undefined, sent: number | undefined, receivedAt: number): number {
  if (ts === undefined) return receivedAt;
  if (sent === undefined) return ts;
  return receivedAt - (sent - ts);
}

/**
 * When an event or identify call happened (occurredAt's rule), and why its date-times are refused:
 * an instant no Date can hold (a leap second), or a result outside OCCURRED_AT_LIMITS (`outside`).
 */
function dated(
  input: { timestamp?: string | undefined; sentAt?: string | undefined },
  receivedAt: number,
): { at: number; outside: 'past' | 'future' | null; errors: ErrorDetail[] } {
  const ts = input.timestamp === undefined ? undefined : instantOf(input.timestamp);
  const sent = input.sentAt === undefined ? undefined : instantOf(input.sentAt);
  const errors: ErrorDetail[] = [];
  if (Number.isNaN(ts)) errors.push({ path: 'timestamp', message: UNREPRESENTABLE });
  if (Number.isNaN(sent)) errors.push({ path: 'sentAt', message: UNREPRESENTABLE });
  const at = skewCorrected(ts, sent, receivedAt);
  // (a NaN instant is outside no bound: its own error says why)
  const outside = occurredAtOutside(at, receivedAt);
  if (outside !== null) errors.push({ path: 'timestamp', message: OUTSIDE_MESSAGES[outside] });
  return { at, outside, errors };
}

/** Why a date-time the schema accepted is refused. */
export const UNREPRESENTABLE = 'is not a representable instant (a leap second, :60, has none)';

/** Distinct user agents whose bot verdict is remembered (then the memo starts over). */
export const BOT_MEMO_SIZE = 5000;
const botMemo = new Map<string, boolean>();
let lastAgent = { userAgent: '', verdict: false }; // isbot('') is false

/**
 * isbot() with a memo: its one large regular expression was a third of the CPU time of validating an
 * event (bench: ingest_batch profile), and clients send the same few user agents over and over.
 */
export function isBotAgent(userAgent: string): boolean {
  // The previous agent first: a batch's events mostly come from one browser, and comparing two
  // strings is cheaper than hashing a fresh 100-character one for the map.
  if (userAgent === lastAgent.userAgent) return lastAgent.verdict;
  let verdict = botMemo.get(userAgent);
  if (verdict === undefined) {
    verdict = isbot(userAgent);
    if (botMemo.size >= BOT_MEMO_SIZE) botMemo.clear();
    botMemo.set(userAgent, verdict);
  }
  lastAgent = { userAgent, verdict };
  return verdict;
}

/** The user agent of an event (its own field first, else the request's header) and the bot flag. */
export function agentOf(
  own: string | undefined,
  ctx: RequestContext,
): { userAgent: string | null; isBot: boolean } {
  const userAgent = own ?? ctx.userAgent?.slice(0, LIMITS.userAgent) ?? null;
  return { userAgent, isBot: userAgent !== null && isBotAgent(userAgent) };
}

/** Serialized size of an item in bytes (JSON). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** Deepest nesting jsonBytesBound() walks: an event, its properties, a value (and one more). */
const BOUND_DEPTH = 3;

/**
 * An upper bound of jsonBytes(value) without serialising it (~5× cheaper for a typical event, and
 * this runs for every event received): in JSON a UTF-16 unit of a string takes at most 6 bytes
 * (`\uXXXX`), a number at most 25 characters. Undefined for values nested deeper than events are.
 */
export function jsonBytesBound(value: unknown, depth = 0): number | undefined {
  switch (typeof value) {
    case 'string':
      return 2 + 6 * value.length;
    case 'number':
      return 25;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (depth >= BOUND_DEPTH) return undefined;
      let n = 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += 1) {
          const b = jsonBytesBound(value[i], depth + 1);
          if (b === undefined) return undefined;
          n += b + 1;
        }
        return n;
      }
      // NOTE: for-in rather than Object.keys (no array per object: 0.42 vs 0.68 µs per bench event).
      // JSON.parse makes plain objects, whose prototype has no enumerable properties.
      for (const key in value) {
        const b = jsonBytesBound((value as Record<string, unknown>)[key], depth + 1);
        if (b === undefined) return undefined;
        n += 2 + 6 * key.length + 2 + b;
      }
      return n;
    }
    default:
      return undefined; // bigint, function, symbol, undefined: not from JSON; count exactly
  }
}

/**
 * The item's size in bytes when it is over LIMITS.eventBytes, else undefined. An item nested deeper
 * than any event (no bound) is left to the schema, which refuses it: serialising it to measure could
 * overflow the stack (a batch item of 5 000 nested arrays was a 500).
 */
function oversize(raw: unknown, bytes: number | undefined): number | undefined {
  if (bytes === undefined) {
    const bound = jsonBytesBound(raw);
    if (bound === undefined || bound <= LIMITS.eventBytes) return undefined;
  }
  const size = bytes ?? jsonBytes(raw);
  return size > LIMITS.eventBytes ? size : undefined;
}

/**
 * Validates and normalises one interaction as a client sent it. Error paths are relative to the
 * item (`userId`, `properties.plan`); callers prefix them (`body`, `body.events.3`).
 * `bytes` is the item's size when the caller already knows it (an import line).
 */
export function prepareInteraction(raw: unknown, ctx: RequestContext, bytes?: number): Prepared {
  const size = oversize(raw, bytes);
  if (size !== undefined) {
    return {
      ok: false,
      reason: 'too_large',
      errors: [{ path: '', message: `is ${size} bytes; one event may have at most ${LIMITS.eventBytes}` }],
    };
  }
  const schemaErrors = validateInput(raw);
  if (schemaErrors.length > 0) {
    return { ok: false, reason: 'schema', errors: schemaErrors.map((e) => toDetail('', e)) };
  }
  const input = raw as InteractionInput;
  const errors: ErrorDetail[] = [];
  let reason: RejectReason = 'schema';
  const action = normalizeAction(input.action);
  if (action === undefined) {
    errors.push({ path: 'action', message: 'must be 1 to 64 of a-z 0-9 _ . : - (after lower-casing)' });
    reason = 'action';
  }
  const keep = ctx.keepParam ?? DEFAULT_KEEP_PARAM;
  const normalized = normalizePage(input.page);
  const page = normalized === undefined ? undefined : scrubPage(normalized, keep);
  if (page === undefined) {
    errors.push({ path: 'page', message: 'must be a path starting with / or an absolute http(s) URL' });
    reason = 'page';
  }
  const { at, outside, errors: dateErrors } = dated(input, ctx.receivedAt);
  errors.push(...dateErrors);
  if (outside !== null) reason = outside;
  if (errors.length > 0 || action === undefined || page === undefined) return { ok: false, reason, errors };
  const prepared = stored({
    eventId: input.eventId?.toLowerCase() ?? randomUUID(),
    type: 'TRACK',
    userId: input.userId,
    role: normalizeRole(input.role),
    action,
    page,
    occurredAt: at,
    receivedAt: ctx.receivedAt,
    sessionId: input.sessionId ?? null,
    properties: scrubProperties(input.properties ?? {}, keep),
    ...agentOf(input.userAgent, ctx),
  });
  return roleMarked(prepared, input.role);
}

/**
 * The record, or why the processor could not store it: a NUL character (PostgreSQL text cannot
 * hold one; it would reach the dead-letter topic after a 202) or half a surrogate pair, a page over
 * 2 048 bytes of UTF-8 (an
 * absolute URL percent-encoded: `é` is 6 characters in a path; or non-ASCII characters).
 */
function stored(record: InteractionRecord): Prepared {
  const text = textProblem(record);
  if (text !== null) {
    return {
      ok: false,
      reason: 'schema',
      errors: [{ path: text.path, message: TEXT_MESSAGES[text.problem] }],
    };
  }
  // 2 000 emoji (4 000 bytes, 2 001 characters) were dead-lettered after a 202.
  const bytes = pageBytesOver(record.page);
  if (bytes !== null) {
    return {
      ok: false,
      reason: 'page',
      errors: [
        { path: 'page', message: `is ${bytes} bytes in UTF-8 once normalised; at most ${LIMITS.page}` },
      ],
    };
  }
  return { ok: true, record };
}

/**
 * An identify call as a record on the same topic: type IDENTIFY, action `identify`, no page, traits
 * in `properties`. The body was validated against IdentifyInputSchema by the route. Its time is
 * corrected for the sender's clock as an event's is (timestamp and sentAt, see occurredAt).
 */
export function prepareIdentify(input: IdentifyInput, ctx: RequestContext): Prepared {
  const { at, outside, errors } = dated(input, ctx.receivedAt);
  if (errors.length > 0) return { ok: false, reason: outside ?? 'schema', errors };
  const prepared = stored({
    eventId: input.eventId?.toLowerCase() ?? randomUUID(),
    type: 'IDENTIFY',
    userId: input.userId,
    role: normalizeRole(input.role),
    action: 'identify',
    page: '',
    occurredAt: at,
    receivedAt: ctx.receivedAt,
    sessionId: null,
    properties: input.traits ?? {},
    ...agentOf(undefined, ctx),
  });
  return roleMarked(prepared, input.role);
}
