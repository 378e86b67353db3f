import { LIMITS, ROLE_INPUT_PATTERN } from '@tracker/schemas';
import { Type } from 'typebox';

/**
 * The filters /api/interactions, /api/stats, /api/export and /api/stream share, as query-string
 * properties. Values are checked here; `toFilters` turns them into the InteractionFilters contract.
 */
export const FilterQueryProperties = {
  userId: Type.Optional(
    Type.String({ minLength: 1, maxLength: LIMITS.userId, description: 'Exact user id' }),
  ),
  role: Type.Optional(
    Type.String({
      pattern: ROLE_INPUT_PATTERN,
      description: 'ADMIN, USER or GUEST (any case): the role the user had when the interaction happened',
    }),
  ),
  action: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_.:-]{1,64}$',
      description: 'Exact action name (compared lower-cased, as stored)',
    }),
  ),
  page: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: LIMITS.page + 1,
      description: 'Exact page path, or a prefix when it ends with `*` (`/docs/*` = every page under /docs/)',
    }),
  ),
  from: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'Inclusive lower bound on occurredAt (RFC 3339 with offset)',
    }),
  ),
  to: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'Exclusive upper bound on occurredAt (RFC 3339 with offset)',
    }),
  ),
};

export const TzProperty = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_+\\-/]+$',
    default: 'UTC',
    description: 'IANA time zone for the daily series, e.g. Europe/Berlin or Asia/Kolkata. Default UTC',
  }),
);

export const TopProperty = Type.Optional(
  Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Size of the page ranking (1-100)' }),
);

/** `?key=`: a read key in the URL, for clients that cannot set headers (EventSource, download links). */
export const KeyProperty = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 512,
    description: 'Read key, for clients that cannot send headers',
  }),
);
