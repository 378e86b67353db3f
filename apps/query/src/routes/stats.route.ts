import { ownConnections } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { toFilters } from '../filters.js';
import { FilterQueryProperties, TopProperty, TzProperty } from '../schemas/filters.schema.js';
import { ErrorRef } from '../schemas/responses.schema.js';
import { statsFor } from '../services/stats.service.js';

export const StatsQuerySchema = Type.Object(
  { ...FilterQueryProperties, tz: TzProperty, top: TopProperty },
  { additionalProperties: false },
);

export async function statsRoute(app: TrackerApp): Promise<void> {
  app.get(
    '/stats',
    {
      schema: {
        summary: 'Dashboard statistics for the filters, from the aggregate tables',
        description:
          'Definitions: README "Statistics". `daily` has one entry per calendar day in `tz`, gaps filled with 0.',
        tags: ['stats'],
        security: [{ bearer: [] }],
        querystring: StatsQuerySchema,
        response: { 200: Type.Ref('Stats'), 400: ErrorRef, 401: ErrorRef, 429: ErrorRef, 503: ErrorRef },
      },
    },
    async (request) => {
      const { tz = 'UTC', top = 10, ...filterQuery } = request.query;
      const filters = toFilters(filterQuery);
      return statsFor(app.stats.compute, ownConnections(app.db), filters, { tz, topPages: top });
    },
  );
}
