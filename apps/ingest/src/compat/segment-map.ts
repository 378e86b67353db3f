import type { ErrorDetail } from '@tracker/http';
import { actionFromName, type CompatEvent, type Mapped } from './compat-event.js';
import { compatEventId } from './event-id.js';
import type { FlattenSource } from './flatten-properties.js';

/**
 * A Segment (analytics-node, analytics-next, the HTTP API) or RudderStack (rudder-sdk-node) message
 * as our event:
 *
 * | their `type` | our record |
 * |---|---|
 * | identify | IDENTIFY; traits (else context.traits) → properties; a `role` trait → role; with both userId and anonymousId, `anonymousId` is kept as a property (the link) |
 * | track | action = actionFromName(event) (`Order Completed` → `order_completed`); the name as sent in `event` when it differs |
 * | page | action `page_view`; `name`, `category` as properties |
 * | screen | action `screen_view`; `name`, `category` as properties |
 * | group | action `group`; `groupId`, and the group's traits as `traits.*` |
 * | alias | action `alias`; `previousId` (the old id) as a property, userId the new one |
 *
 * userId = userId, else anonymousId (an anonymous visitor is its own user until an identify or
 * alias links the two); eventId from messageId (event-id.ts); timestamp (RudderStack:
 * originalTimestamp) and sentAt (the message's, else the batch's) → our skew correction; page from
 * context.page.url, context.page.path + search, properties.url, properties.path; the user agent
 * from context.userAgent; sessionId from context.sessionId. Properties first, then `context.*`
 * (without userAgent, ip and, for identify, traits); `integrations`, `_metadata` and `options`
 * (Segment's routing to its destinations) mean nothing here and are not kept.
 */
export const SEGMENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** What a whole batch says about each of its messages. */
export interface SegmentEnvelope {
  sentAt?: unknown;
  context?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Context keys mapped to fields of their own, or not kept (ingest stores no client addresses). */
const CONTEXT_MAPPED = new Set(['userAgent', 'ip', 'sessionId']);

export function mapSegmentMessage(
  message: unknown,
  pathType: SegmentType | undefined,
  envelope: SegmentEnvelope = {},
): Mapped {
  if (!isObj(message))
    return { ok: false, errors: [{ path: '', message: 'must be an object (a Segment message)' }] };
  const rawType = pathType ?? (typeof message.type === 'string' ? message.type.toLowerCase() : undefined);
  if (!SEGMENT_TYPES.includes(rawType as SegmentType))
    return {
      ok: false,
      errors: [{ path: 'type', message: `must be one of ${SEGMENT_TYPES.join(', ')}` }],
    };
  const type = rawType as SegmentType;
  const context: Obj = {
    ...(isObj(envelope.context) ? envelope.context : {}),
    ...(isObj(message.context) ? message.context : {}),
  };
  const page = isObj(context.page) ? context.page : {};
  const properties = isObj(message.properties) ? message.properties : {};
  const traits = isObj(message.traits) ? message.traits : isObj(context.traits) ? context.traits : undefined;
  const userId = text(message.userId) ?? (typeof message.userId === 'number' ? message.userId : undefined);
  const anonymousId =
    text(message.anonymousId) ?? (typeof message.anonymousId === 'number' ? message.anonymousId : undefined);

  const contextKept: Obj = {};
  for (const [k, v] of Object.entries(context)) {
    if (CONTEXT_MAPPED.has(k) || (type === 'identify' && k === 'traits')) continue;
    contextKept[k] = v;
  }
  const withSearch = (path: unknown, search: unknown) =>
    typeof path === 'string' ? `${path}${typeof search === 'string' ? search : ''}` : undefined;

  const event: CompatEvent = {
    kind: 'track',
    eventId: compatEventId(message.messageId),
    userId: userId ?? anonymousId,
    pages: [
      page.url,
      withSearch(page.path, page.search),
      properties.url,
      withSearch(properties.path, properties.search),
    ],
    timestamp: message.timestamp ?? message.originalTimestamp,
    sentAt: message.sentAt ?? envelope.sentAt,
    sessionId: context.sessionId,
    userAgent: context.userAgent,
    sources: [],
  };
  const own: Obj = {};
  const sources: FlattenSource[] = [];
  const errors: ErrorDetail[] = [];

  switch (type) {
    case 'identify':
      event.kind = 'identify';
      event.role = traits?.role;
      if (userId !== undefined && anonymousId !== undefined) own.anonymousId = anonymousId;
      sources.push({ prefix: '', value: traits ?? {} });
      break;
    case 'track': {
      const name = text(message.event);
      if (name === undefined) errors.push({ path: 'event', message: 'is required (the name of the event)' });
      else {
        event.action = actionFromName(name);
        if (event.action !== name) own.event = name;
      }
      sources.push({ prefix: '', value: properties });
      break;
    }
    case 'page':
    case 'screen':
      event.action = type === 'page' ? 'page_view' : 'screen_view';
      if (message.name !== undefined) own.name = message.name;
      if (message.category !== undefined) own.category = message.category;
      sources.push({ prefix: '', value: properties });
      break;
    case 'group':
      event.action = 'group';
      if (message.groupId === undefined || message.groupId === null || message.groupId === '')
        errors.push({ path: 'groupId', message: 'is required' });
      own.groupId = message.groupId;
      sources.push({ prefix: 'traits.', value: traits ?? {} });
      break;
    case 'alias':
      event.action = 'alias';
      if (message.previousId === undefined || message.previousId === null || message.previousId === '')
        errors.push({ path: 'previousId', message: 'is required (the id being linked to userId)' });
      own.previousId = message.previousId;
      break;
  }
  if (event.userId === undefined)
    errors.push({ path: 'userId', message: 'is required (userId or anonymousId)' });
  if (errors.length > 0) return { ok: false, errors };
  sources.push({ prefix: 'context.', value: contextKept });
  event.own = own;
  event.sources = sources;
  return { ok: true, event };
}

/** The write key a Segment body carries (analytics-node and analytics-next put it there too). */
export function segmentBodyKey(body: unknown): string | undefined {
  return isObj(body) && typeof body.writeKey === 'string' && body.writeKey.length > 0
    ? body.writeKey
    : undefined;
}

/**
 * Whether a body on a path we share with Segment (/v1/batch, /v1/identify) is Segment's: a batch
 * has `batch` (ours has `events`); a single message has a field ours never has.
 */
export function isSegmentBatch(body: unknown): boolean {
  return isObj(body) && 'batch' in body && !('events' in body);
}

const SEGMENT_ONLY_FIELDS = [
  'anonymousId',
  'messageId',
  'context',
  'writeKey',
  'type',
  'integrations',
  'originalTimestamp',
  'channel',
  '_metadata',
  'options',
] as const;

export function isSegmentMessage(body: unknown): boolean {
  return isObj(body) && SEGMENT_ONLY_FIELDS.some((f) => f in body);
}
