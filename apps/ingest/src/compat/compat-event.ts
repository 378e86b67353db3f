import type { ErrorDetail } from '@tracker/http';
import {
  type IdentifyInput,
  IdentifyInputSchema,
  type InteractionInput,
  LIMITS,
  ROLE_INPUT_PATTERN,
} from '@tracker/schemas';
import {
  jsonBytes,
  normalizePage,
  type Prepared,
  prepareIdentify,
  prepareInteraction,
  type RequestContext,
} from '../normalize.js';
import { scrubQuery, scrubUrl } from '../url-privacy.js';
import { compileValidator, toDetail } from '../validation.js';
import { cutText, type FlattenSource, flattenProperties } from './flatten-properties.js';

/**
 * One Segment/RudderStack message or PostHog event, read into what our event has: the mappers
 * (segment-map.ts, posthog-map.ts) decide what goes where, prepareCompat turns it into the same
 * record /v1/events and /v1/identify make (prepareInteraction / prepareIdentify: one set of rules).
 */
export interface CompatEvent {
  /** `identify`: an IDENTIFY record (traits as properties); `track`: every other kind. */
  kind: 'track' | 'identify';
  eventId: string;
  /** As sent: a string, or a number (made a string); anything else is refused as our userId is. */
  userId: unknown;
  /** A `role` trait; used when it is ADMIN, USER or GUEST (any case), else kept as a property only. */
  role?: unknown;
  /** Our action (track only), already in our alphabet: see actionFromName. */
  action?: string;
  /** Where the page may be, best first: the first that is a path or an http(s) URL is taken, else `/`. */
  pages?: unknown[];
  timestamp?: unknown;
  sentAt?: unknown;
  sessionId?: unknown;
  userAgent?: unknown;
  /** Properties the mapping sets itself (`event`, `previousId`, `groupId`): first, never crowded out. */
  own?: Record<string, unknown>;
  /** The sender's properties/traits/context, in the order they keep their keys when over the limit. */
  sources: FlattenSource[];
}

/** A mapped event, or why the message could not be read as one (paths relative to the message). */
export type Mapped = { ok: true; event: CompatEvent } | { ok: false; errors: ErrorDetail[] };

/** A prepared record, and what of the message was dropped or cut on the way (paths: our property keys). */
export interface PreparedCompat {
  prepared: Prepared;
  dropped: ErrorDetail[];
}

/**
 * An event name in our action alphabet ([a-z0-9_.:-], 1–64): lower-cased, a leading `$` (PostHog's
 * own events) removed, every run of other characters one `_`, `_` trimmed at both ends, cut to 64.
 * `Order Completed` → `order_completed`, `$autocapture` → `autocapture`, `checkout/step 2` →
 * `checkout_step_2`. A name with nothing left (`購入`, `!!!`) becomes `event`; the name as sent is
 * then kept in the `event` property.
 */
export function actionFromName(name: string): string {
  const action = name
    .toLowerCase()
    .replace(/^\$+/, '')
    .replace(/[^a-z0-9_.:-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, LIMITS.action)
    .replace(/_+$/, '');
  return action.length > 0 ? action : 'event';
}

const rolePattern = new RegExp(ROLE_INPUT_PATTERN);
const validateIdentify = compileValidator(IdentifyInputSchema);

/** A date-time as our schema reads it: a string as sent, epoch milliseconds as ISO-8601. */
function dateTime(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e15)
    return new Date(value).toISOString();
  return undefined;
}

function idText(value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
}

/**
 * Drops the largest properties of `input[field]` until the whole event fits LIMITS.eventBytes, each
 * reported in `dropped`: flattening keeps each value within limits, but 50 long values can still
 * make an event larger than one may be, which would refuse the whole message.
 */
function fitEventSize(
  input: Record<string, unknown>,
  field: 'properties' | 'traits',
  dropped: ErrorDetail[],
): void {
  let size = jsonBytes(input);
  if (size <= LIMITS.eventBytes) return;
  const properties = input[field] as Record<string, unknown>;
  const bySize = Object.entries(properties)
    .map(([key, value]) => ({ key, bytes: jsonBytes({ [key]: value }) - 1 }))
    .sort((a, b) => b.bytes - a.bytes);
  for (const { key, bytes } of bySize) {
    // The running sum is exact but for the last comma; check the real size once it says it fits.
    if (size <= LIMITS.eventBytes) {
      size = jsonBytes(input);
      if (size <= LIMITS.eventBytes) break;
    }
    delete properties[key];
    size -= bytes;
    dropped.push({
      path: `${field}.${key}`,
      message: `dropped: the event would be over ${LIMITS.eventBytes} bytes (largest properties go first)`,
    });
  }
}

/** The first page candidate that our page rule takes (a path, or an http(s) URL), else `/`. */
export function pickPage(candidates: readonly unknown[] | undefined): string {
  for (const c of candidates ?? [])
    if (typeof c === 'string' && c.length > 0 && normalizePage(c) !== undefined) return c;
  return '/';
}

/**
 * Validates and normalises a mapped event with the rules of our own routes. Properties are
 * flattened (flatten-properties.ts) with the URL privacy rules on every value: an absolute URL
 * keeps only INGEST_URL_QUERY_ALLOW's parameters and no fragment, a `search` value (`?a=1`) likewise.
 */
export function prepareCompat(event: CompatEvent, ctx: RequestContext): PreparedCompat {
  const keep = ctx.keepParam;
  const dropped: ErrorDetail[] = [];
  let role: string | undefined;
  if (event.role !== undefined && event.role !== null) {
    if (typeof event.role === 'string' && rolePattern.test(event.role)) role = event.role;
    else
      dropped.push({
        path: 'role',
        message: 'is not ADMIN, USER or GUEST: kept as a property, not as the role',
      });
  }
  const sources: FlattenSource[] = [{ prefix: '', value: event.own ?? {} }, ...event.sources];
  const flat = flattenProperties(sources, (key, value) => {
    if (!keep) return value;
    if (key === 'search' || key.endsWith('.search'))
      return value.startsWith('?') ? scrubQuery(value, keep) : value;
    return scrubUrl(value, keep);
  });
  dropped.push(...flat.dropped);
  const properties = flat.properties;
  // A role given as a valid trait is the record's role; an invalid one stays a property.
  if (role !== undefined && properties.role === role) delete properties.role;
  const timestamp = dateTime(event.timestamp);
  const sentAt = dateTime(event.sentAt);
  const userId = idText(event.userId);

  if (event.kind === 'identify') {
    const input = {
      eventId: event.eventId,
      userId,
      ...(role !== undefined ? { role } : {}),
      traits: properties,
      ...(timestamp !== undefined ? { timestamp } : {}),
      ...(sentAt !== undefined ? { sentAt } : {}),
    };
    fitEventSize(input, 'traits', dropped);
    const errors = validateIdentify(input);
    if (errors.length > 0)
      return {
        prepared: { ok: false, reason: 'schema', errors: errors.map((e) => toDetail('', e)) },
        dropped,
      };
    return { prepared: prepareIdentify(input as IdentifyInput, ctx), dropped };
  }

  let sessionId = idText(event.sessionId);
  if (
    sessionId !== undefined &&
    (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > LIMITS.sessionId)
  ) {
    dropped.push({
      path: 'sessionId',
      message: `is not text of 1 to ${LIMITS.sessionId} characters: not kept`,
    });
    sessionId = undefined;
  }
  let userAgent =
    typeof event.userAgent === 'string' && event.userAgent.length > 0 ? event.userAgent : undefined;
  if (userAgent !== undefined && userAgent.length > LIMITS.userAgent) {
    userAgent = cutText(userAgent, LIMITS.userAgent);
    dropped.push({ path: 'userAgent', message: `truncated to ${LIMITS.userAgent} characters` });
  }
  const input: Partial<InteractionInput> & Record<string, unknown> = {
    eventId: event.eventId,
    userId: userId as string,
    action: event.action ?? 'event',
    page: pickPage(event.pages),
    properties,
    ...(role !== undefined ? { role } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(sentAt !== undefined ? { sentAt } : {}),
    ...(sessionId !== undefined ? { sessionId: sessionId as string } : {}),
    ...(userAgent !== undefined ? { userAgent } : {}),
  };
  if (input.userId === undefined) delete input.userId;
  fitEventSize(input, 'properties', dropped);
  return { prepared: prepareInteraction(input, ctx), dropped };
}
