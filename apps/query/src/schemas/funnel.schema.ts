import { LIMITS, ROLE_INPUT_PATTERN } from '@tracker/schemas';
import { Type } from 'typebox';
import { FilterQueryProperties, TzProperty } from './filters.schema.js';

export const DAY_S = 86_400;

const PageMatch = Type.String({
  minLength: 1,
  maxLength: LIMITS.page + 1,
  description: 'Exact page path, or a prefix when it ends with `*`',
});
const RoleMatch = Type.String({
  pattern: ROLE_INPUT_PATTERN,
  description: 'ADMIN, USER or GUEST (any case)',
});

export const FunnelStepSchema = Type.Object(
  {
    actions: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }), {
      minItems: 1,
      maxItems: 10,
      description: 'Any of these actions (compared lower-cased, as stored)',
    }),
    page: Type.Optional(PageMatch),
    role: Type.Optional(RoleMatch),
  },
  { additionalProperties: false },
);

/** What a funnel is: the part a saved funnel keeps (the range and filters come with each request). */
export const FunnelDefinitionProperties = {
  steps: Type.Array(FunnelStepSchema, { minItems: 2, maxItems: 10 }),
  order: Type.Optional(
    Type.Union([Type.Literal('sequential'), Type.Literal('strict'), Type.Literal('any')], {
      description:
        'sequential (default): each step after the previous; strict: no other event of the unit between steps; any: any order',
    }),
  ),
  windowSeconds: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 90 * DAY_S,
      description: 'Every step within this long after the entry, inclusive (default 14 days; 1 s to 90 days)',
    }),
  ),
  unit: Type.Optional(
    Type.Union([Type.Literal('users'), Type.Literal('sessions')], {
      description: 'users (default), or sessions: each session converts on its own',
    }),
  ),
  entry: Type.Optional(
    Type.Union([Type.Literal('first'), Type.Literal('best')], {
      description:
        "first (default): the unit's first step-1 event in range; best: its attempt reaching furthest",
    }),
  ),
  exclusion: Type.Optional(FunnelStepSchema),
};

export const FunnelDefinitionSchema = Type.Object(FunnelDefinitionProperties, {
  additionalProperties: false,
});

const { action: _action, ...filters } = FilterQueryProperties;

/** POST /api/funnels: a definition (or a saved one's name) with the range, filters and time zone. */
export const FunnelRequestProperties = {
  ...FunnelDefinitionProperties,
  steps: Type.Optional(FunnelDefinitionProperties.steps),
  saved: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9 _.-]{1,100}$',
      description: "A saved funnel's name: its definition, with this body's fields over it",
    }),
  ),
  ...filters,
  role: Type.Optional(RoleMatch),
  page: Type.Optional(PageMatch),
  tz: TzProperty,
};

export const FunnelRequestSchema = Type.Object(FunnelRequestProperties, { additionalProperties: false });

const Counts = Type.Array(Type.Integer({ minimum: 0 }), { description: 'Units that reached each step' });
const Ms = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);

export const FunnelSchema = Type.Object({
  definition: FunnelDefinitionSchema,
  from: Type.String({ format: 'date-time', description: 'Entries from (inclusive)' }),
  to: Type.String({ format: 'date-time', description: 'Entries to (exclusive)' }),
  tz: Type.String(),
  steps: Type.Array(
    Type.Object({
      step: Type.Integer({ minimum: 1 }),
      label: Type.String({ description: 'The step as text: actions, page, role' }),
      count: Type.Integer({ minimum: 0 }),
      conversion: Type.Number({ minimum: 0, maximum: 1, description: 'count ÷ step 1' }),
      fromPrevious: Type.Number({ minimum: 0, maximum: 1, description: 'count ÷ the previous step' }),
      dropOff: Type.Integer({ minimum: 0, description: 'the previous step − count' }),
      medianMs: Ms,
      p90Ms: Ms,
    }),
  ),
  byEntryDay: Type.Array(
    Type.Object({ day: Type.String({ description: 'YYYY-MM-DD in tz' }), counts: Counts }),
  ),
  byRole: Type.Array(Type.Object({ role: Type.String(), counts: Counts })),
});

export const FunnelUnitsRequestSchema = Type.Object(
  {
    ...FunnelRequestProperties,
    step: Type.Integer({ minimum: 1, maximum: 10, description: 'The step (1-based)' }),
    status: Type.Union([Type.Literal('converted'), Type.Literal('dropped')], {
      description: 'converted: reached the step; dropped: reached the previous step, not this one',
    }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100)' })),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: 'nextCursor of the previous page' }),
    ),
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv')], {
        description: 'csv: every unit at once as a download (limit and cursor do not apply)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const FunnelUnitsSchema = Type.Object({
  units: Type.Array(
    Type.Object({
      unit: Type.String({ description: 'The user id, or "<user id> <session key>" for sessions' }),
      userId: Type.String(),
      entryAt: Type.String({ format: 'date-time' }),
      lastStepAt: Type.String({ format: 'date-time', description: 'When the last step it reached was done' }),
      stepsReached: Type.Integer({ minimum: 1 }),
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const SavedFunnelSchema = Type.Object({
  name: Type.String(),
  definition: FunnelDefinitionSchema,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const SavedFunnelParams = Type.Object({
  name: Type.String({
    pattern: '^[A-Za-z0-9 _.-]{1,100}$',
    description: 'Letters, digits, space, _ . -; up to 100',
  }),
});
