import { ErrorDetailSchema } from '@tracker/http';
import { type Static, Type } from 'typebox';

export const ErrorRef = Type.Ref('ErrorResponse');

/** Query parameters every ingest route accepts (the write key for senders that cannot set headers). */
export const WriteKeyQuerySchema = Type.Object({
  writeKey: Type.Optional(
    Type.String({ description: 'Write key, for senders that cannot set a header (navigator.sendBeacon)' }),
  ),
});

export const AcceptedSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The eventId (the client’s, or one generated)' }),
});

export const BatchBodySchema = Type.Object(
  {
    events: Type.Array(Type.Unknown(), {
      minItems: 1,
      description: 'Interactions as in POST /v1/events; each is validated on its own',
    }),
  },
  { additionalProperties: false },
);
export type BatchBody = Static<typeof BatchBodySchema>;

export const BatchResultSchema = Type.Object({
  accepted: Type.Array(Type.Object({ index: Type.Integer(), id: Type.String({ format: 'uuid' }) }), {
    description: 'Items Kafka acknowledged, by position in `events`',
  }),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), errors: Type.Array(ErrorDetailSchema) }), {
    description: 'Items refused, with every problem (path relative to the request body)',
  }),
});
export type BatchResult = Static<typeof BatchResultSchema>;

export const ImportRejectionSchema = Type.Object({
  line: Type.Integer({ description: 'Line of the file where the item starts (CSV: the header is line 1)' }),
  errors: Type.Array(ErrorDetailSchema),
});

export const ImportSummarySchema = Type.Object({
  format: Type.Union([Type.Literal('ndjson'), Type.Literal('json'), Type.Literal('csv')]),
  items: Type.Integer({ description: 'Items read from the file' }),
  accepted: Type.Integer({ description: 'Items acknowledged by Kafka' }),
  rejectedCount: Type.Integer({ description: 'Items refused' }),
  rejected: Type.Array(ImportRejectionSchema, { description: 'The first refused items (capped)' }),
  rejectedTruncated: Type.Boolean({ description: 'True when more items were refused than listed' }),
});
export type ImportSummary = Static<typeof ImportSummarySchema>;

/** Responses every ingest route may give besides its success. */
export const commonErrors = {
  400: ErrorRef,
  401: ErrorRef,
  413: ErrorRef,
  415: ErrorRef,
  429: ErrorRef,
  503: ErrorRef,
};
