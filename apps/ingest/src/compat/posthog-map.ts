import type { ErrorDetail } from '@tracker/http';
import { actionFromName, type CompatEvent, type Mapped } from './compat-event.js';
import { compatEventId } from './event-id.js';
import type { FlattenSource } from './flatten-properties.js';

/**
 * A PostHog event (posthog-node's `/batch/`, posthog-js's `/e/`) as our event:
 *
 * | their `event` | our record |
 * |---|---|
 * | `$identify` | IDENTIFY; `$set` (top level or in properties; `$set_once` under it) → properties; a `role` in them → role; `$anon_distinct_id` kept as the property `anonymousId` (the link) |
 * | `$set` | IDENTIFY with those person properties |
 * | `$pageview` | action `page_view` |
 * | `$screen` | action `screen_view`, `$screen_name` as `name` |
 * | `$create_alias` | action `alias`; `previousId` = properties.alias |
 * | `$groupidentify` | action `group`; `groupId` = `$group_key`, `groupType` = `$group_type`, `$group_set` as `traits.*` |
 * | anything else | action = actionFromName(event): `$autocapture` → `autocapture`, `Order Completed` → `order_completed`; the name as sent in `event` when it differs |
 *
 * userId = distinct_id (posthog-js sends it only in properties); eventId from uuid (event-id.ts);
 * timestamp (or sent_at − offset) and sent_at → our skew correction; page from `$current_url`,
 * else `$pathname`; the user agent from `$raw_user_agent`; sessionId from `$session_id`. The
 * sender's own properties are kept first, then PostHog's `$` ones, then `$set.*`/`$set_once.*` of
 * other events; `token` (the write key) and `distinct_id` are not kept as properties.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Properties mapped to fields of their own, or not kept (the key is a credential). */
const MAPPED = new Set([
  'token',
  'api_key',
  'distinct_id',
  '$raw_user_agent',
  '$session_id',
  '$set',
  '$set_once',
  '$anon_distinct_id',
]);

/** A batch as PostHog's SDKs send it, whichever of its shapes: `{api_key, batch, sent_at}`, an array, one event. */
export interface PostHogEnvelope {
  apiKey: string | undefined;
  events: unknown[];
  sentAt: unknown;
  /** True when the body held a list (`batch` or an array), false for one event. */
  isBatch: boolean;
}

export function posthogEnvelope(body: unknown, query: Obj = {}): PostHogEnvelope {
  // `?sent_at=<ms>` is how posthog-js stamps requests in its `query` timestamp mode.
  const querySentAt =
    typeof query.sent_at === 'string' && /^\d+$/.test(query.sent_at) ? Number(query.sent_at) : undefined;
  if (Array.isArray(body))
    return { apiKey: eventToken(body[0]), events: body, sentAt: querySentAt, isBatch: true };
  if (!isObj(body)) return { apiKey: undefined, events: [], sentAt: querySentAt, isBatch: false };
  const sentAt = body.sent_at ?? querySentAt;
  const key = keyText(body.api_key) ?? keyText(body.token);
  if (Array.isArray(body.batch))
    return { apiKey: key ?? eventToken(body.batch[0]), events: body.batch, sentAt, isBatch: true };
  const { api_key: _k, sent_at: _s, ...event } = body;
  return { apiKey: key ?? eventToken(body), events: [event], sentAt, isBatch: false };
}

const keyText = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
const eventToken = (event: unknown) =>
  isObj(event)
    ? (keyText(isObj(event.properties) ? event.properties.token : undefined) ?? keyText(event.token))
    : undefined;

/** The write key of a PostHog body (`api_key`, `token`, or the first event's `properties.token`). */
export function posthogBodyKey(body: unknown, query?: Obj): string | undefined {
  return posthogEnvelope(body, query).apiKey;
}

export function mapPostHogEvent(raw: unknown, envelope: { sentAt?: unknown }): Mapped {
  if (!isObj(raw))
    return { ok: false, errors: [{ path: '', message: 'must be an object (a PostHog event)' }] };
  const name = typeof raw.event === 'string' && raw.event.length > 0 ? raw.event : undefined;
  if (name === undefined)
    return { ok: false, errors: [{ path: 'event', message: 'is required (the name of the event)' }] };
  const properties = isObj(raw.properties) ? raw.properties : {};
  const $set = isObj(raw.$set) ? raw.$set : isObj(properties.$set) ? properties.$set : undefined;
  const $setOnce = isObj(raw.$set_once)
    ? raw.$set_once
    : isObj(properties.$set_once)
      ? properties.$set_once
      : undefined;
  const distinctId = raw.distinct_id ?? properties.distinct_id;

  let timestamp: unknown = raw.timestamp;
  let sentAt: unknown = raw.sent_at ?? envelope.sentAt;
  // Older posthog-js: no timestamp, but how long before sending it happened.
  if (timestamp === undefined && typeof raw.offset === 'number' && Number.isFinite(raw.offset)) {
    const sent =
      typeof sentAt === 'string' ? Date.parse(sentAt) : typeof sentAt === 'number' ? sentAt : Number.NaN;
    if (Number.isFinite(sent)) timestamp = new Date(sent - raw.offset).toISOString();
    else {
      const now = Date.now();
      timestamp = new Date(now - raw.offset).toISOString();
      sentAt = new Date(now).toISOString();
    }
  }

  const own: Obj = {};
  const userProps: Obj = {};
  const posthogProps: Obj = {};
  for (const [k, v] of Object.entries(properties)) {
    if (MAPPED.has(k)) continue;
    (k.startsWith('$') ? posthogProps : userProps)[k] = v;
  }
  const event: CompatEvent = {
    kind: 'track',
    eventId: compatEventId(raw.uuid),
    userId: distinctId,
    pages: [properties.$current_url, properties.$pathname],
    timestamp,
    sentAt,
    sessionId: properties.$session_id,
    userAgent: properties.$raw_user_agent,
    sources: [],
  };
  const sources: FlattenSource[] = [];
  const errors: ErrorDetail[] = [];
  const personSources = (): FlattenSource[] => [
    { prefix: '', value: $set ?? {} },
    { prefix: '', value: $setOnce ?? {} },
  ];

  switch (name) {
    case '$identify':
    case '$set':
      event.kind = 'identify';
      event.role = $set?.role ?? $setOnce?.role;
      if (properties.$anon_distinct_id !== undefined && properties.$anon_distinct_id !== distinctId)
        own.anonymousId = properties.$anon_distinct_id;
      sources.push(...personSources());
      break;
    case '$pageview':
      event.action = 'page_view';
      break;
    case '$screen':
      event.action = 'screen_view';
      if (properties.$screen_name !== undefined) own.name = properties.$screen_name;
      break;
    case '$create_alias':
      event.action = 'alias';
      if (properties.alias === undefined || properties.alias === null || properties.alias === '')
        errors.push({
          path: 'properties.alias',
          message: 'is required (the id being linked to distinct_id)',
        });
      own.previousId = properties.alias;
      delete userProps.alias;
      break;
    case '$groupidentify':
      event.action = 'group';
      own.groupType = properties.$group_type;
      own.groupId = properties.$group_key;
      delete posthogProps.$group_type;
      delete posthogProps.$group_key;
      delete posthogProps.$group_set;
      sources.push({ prefix: 'traits.', value: properties.$group_set ?? {} });
      break;
    default:
      event.action = actionFromName(name);
      if (event.action !== name) own.event = name;
  }
  if (distinctId === undefined || distinctId === null || distinctId === '')
    errors.push({ path: 'distinct_id', message: 'is required' });
  if (errors.length > 0) return { ok: false, errors };
  sources.push({ prefix: '', value: userProps }, { prefix: '', value: posthogProps });
  if (event.kind === 'track' && $set) sources.push({ prefix: '$set.', value: $set });
  if (event.kind === 'track' && $setOnce) sources.push({ prefix: '$set_once.', value: $setOnce });
  event.own = own;
  event.sources = sources;
  return { ok: true, event };
}
