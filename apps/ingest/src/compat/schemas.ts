import { type Static, Type } from 'typebox';
import { BatchResultSchema } from '../schemas.js';

/** At most this many dropped properties are listed in an answer (`droppedCount` counts all). */
export const MAX_DROPPED_LISTED = 100;

const DroppedSchema = Type.Array(
  Type.Object({
    index: Type.Integer({ description: 'Position of the message in the batch (0 for a single message)' }),
    path: Type.String({ description: 'The property as we would have stored it (flattened key), or a field' }),
    message: Type.String(),
  }),
  { description: `What was not stored, or cut, of accepted messages (the first ${MAX_DROPPED_LISTED})` },
);

const compatFields = {
  accepted: BatchResultSchema.properties.accepted,
  rejected: BatchResultSchema.properties.rejected,
  dropped: DroppedSchema,
  droppedCount: Type.Integer({ description: 'Dropped or cut properties in all' }),
};

/** 200 to Segment's and RudderStack's SDKs (any 2xx is success to them); Segment's own answer is `{success: true}`. */
export const SegmentResultSchema = Type.Object({ success: Type.Literal(true), ...compatFields });

/** 200 to PostHog's SDKs (posthog-js takes only 200 as success); PostHog's own answer is `{status: 1}`. */
export const PostHogResultSchema = Type.Object({ status: Type.Literal(1), ...compatFields });

export type CompatResult = Static<typeof SegmentResultSchema> | Static<typeof PostHogResultSchema>;

export const SegmentBatchBodySchema = Type.Object(
  {
    batch: Type.Array(Type.Unknown(), {
      minItems: 1,
      description: 'Segment/RudderStack messages (identify, track, page, screen, group, alias)',
    }),
    writeKey: Type.Optional(Type.String({ description: 'The write key, when not sent as Basic auth' })),
    sentAt: Type.Optional(Type.Unknown()),
    context: Type.Optional(Type.Unknown()),
  },
  { description: "Segment's batch (analytics-node, rudder-sdk-node, analytics-next's /v1/b)" },
);

export const SegmentMessageBodySchema = Type.Object(
  {
    writeKey: Type.Optional(Type.String()),
  },
  { description: 'One Segment message (its type from the path when it has none)' },
);

/** PostHog's bodies: `{api_key, batch, sent_at}`, a list of events or one event (JSON, gzip, or a base64 form). */
export const PostHogBodySchema = Type.Union([Type.Object({}), Type.Array(Type.Unknown())], {
  description: "PostHog's capture body: {api_key, batch, sent_at}, an array of events, or one event",
});

export const PostHogQuerySchema = Type.Object({
  compression: Type.Optional(
    Type.String({
      description: '`base64` (a `data=` form body) or `gzip-js`; gzip is also recognised by its bytes',
    }),
  ),
  sent_at: Type.Optional(Type.String()),
  ver: Type.Optional(Type.String()),
  _: Type.Optional(Type.String()),
  retry_count: Type.Optional(Type.String()),
});
