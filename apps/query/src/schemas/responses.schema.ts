import { ROLES } from '@tracker/schemas';
import { Type } from 'typebox';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const InteractionItemSchema = Type.Object(
  {
    eventId: Type.String({ format: 'uuid' }),
    userId: Type.String(),
    role: RoleSchema,
    action: Type.String(),
    page: Type.String(),
    occurredAt: Type.String({ format: 'date-time' }),
    receivedAt: Type.String({ format: 'date-time' }),
    properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    sessionId: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'InteractionItem' },
);

export const InteractionPageSchema = Type.Object({
  items: Type.Array(Type.Ref('InteractionItem')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Older rows: pass as `cursor`' }),
  prevCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Newer rows (the page before): pass as `cursor`',
  }),
  total: Type.Optional(
    Type.Integer({
      description:
        'Matching rows overall: on the first page (no cursor) when an aggregate table counts the filters (README)',
    }),
  ),
});

export const StatsSchema = Type.Object(
  {
    totalActions: Type.Integer(),
    totalUsers: Type.Integer(),
    usersWithActions: Type.Integer(),
    actionsPerUser: Type.Number(),
    gini: Type.Number({ minimum: 0, maximum: 1 }),
    apiHits: Type.Integer({ description: 'Requests served by ingest and query (not filtered)' }),
    byAction: Type.Array(Type.Object({ action: Type.String(), count: Type.Integer() })),
    daily: Type.Array(Type.Object({ date: Type.String({ format: 'date' }), count: Type.Integer() })),
    pageRanking: Type.Array(Type.Object({ page: Type.String(), count: Type.Integer() })),
    roleDistribution: Type.Array(Type.Object({ role: RoleSchema, users: Type.Integer() })),
  },
  { $id: 'Stats' },
);

const FacetValue = Type.Object({ value: Type.String(), count: Type.Integer() });
export const FacetsSchema = Type.Object({
  users: Type.Array(FacetValue, { description: 'Known users, most active first (count = interactions)' }),
  roles: Type.Array(FacetValue, { description: 'Roles, with the number of users holding each now' }),
  actions: Type.Array(FacetValue, { description: 'Actions, most frequent first' }),
  pages: Type.Array(FacetValue, { description: 'Pages, most visited first' }),
});

export const DlqSchema = Type.Object({
  topic: Type.String(),
  count: Type.Integer({ description: 'Dead-lettered messages the topic holds (high - low watermarks)' }),
  partitions: Type.Array(Type.Object({ partition: Type.Integer(), low: Type.String(), high: Type.String() })),
  complete: Type.Boolean({ description: 'False when reading the most recent messages ran out of time' }),
  messages: Type.Array(
    Type.Object({
      partition: Type.Integer(),
      offset: Type.String(),
      timestamp: Type.String({ format: 'date-time' }),
      key: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
      step: Type.Union([Type.String(), Type.Null()]),
      source: Type.Object({
        topic: Type.Union([Type.String(), Type.Null()]),
        partition: Type.Union([Type.Integer(), Type.Null()]),
        offset: Type.Union([Type.String(), Type.Null()]),
      }),
      deadLetteredAt: Type.Union([Type.String(), Type.Null()]),
      value: Type.Object({
        bytes: Type.Integer(),
        schemaId: Type.Union([Type.Integer(), Type.Null()]),
        preview: Type.String(),
        encoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
      }),
    }),
  ),
});

export const ExportLinkSchema = Type.Object({
  url: Type.String({
    description: 'GET this (relative to the service root) to download: /api/export?<filters>&expires=&sig=',
  }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the signature expires; null when no read keys are configured (the link is not signed)',
  }),
});

export const ErrorRef = Type.Ref('ErrorResponse');
