import { countInteractions, ownConnections } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { filtersKey, toFilters } from '../filters.js';
import { listInteractions } from '../repositories/interactions.repository.js';
import { FilterQueryProperties } from '../schemas/filters.schema.js';
import { ErrorRef, InteractionPageSchema } from '../schemas/responses.schema.js';
import { aggregatesCover } from '../services/stats.service.js';

export const InteractionsQuerySchema = Type.Object(
  {
    ...FilterQueryProperties,
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size (1-500)' }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'nextCursor or prevCursor of a previous answer',
      }),
    ),
  },
  { additionalProperties: false },
);

export async function interactionsRoute(app: TrackerApp): Promise<void> {
  app.get(
    '/interactions',
    {
      schema: {
        summary: 'Stored interactions, newest first, filtered and paginated by keyset',
        tags: ['interactions'],
        security: [{ bearer: [] }],
        querystring: InteractionsQuerySchema,
        response: { 200: InteractionPageSchema, 400: ErrorRef, 401: ErrorRef, 429: ErrorRef },
      },
    },
    async (request) => {
      const { limit = 50, cursor: token, ...filterQuery } = request.query;
      const filters = toFilters(filterQuery);
      const fingerprint = filtersKey(filters);
      const cursor = token === undefined ? undefined : decodeCursor(token, fingerprint);
      // NOTE: total only on the first page and only when an aggregate table counts these filters;
      // a client keeps it while paging. Raw-row counts of large tables are never run for it.
      const wantTotal = cursor === undefined && aggregatesCover(filters);
      const [page, total] = await Promise.all([
        listInteractions(app.db.prisma, filters, limit, cursor),
        wantTotal
          ? countInteractions(ownConnections(app.db), filters).then(
              (c) => c.count,
              (error: Error) => {
                request.log.warn({ msg: 'total_failed', err: error.message });
                return undefined;
              },
            )
          : undefined,
      ]);
      return {
        items: page.items,
        nextCursor: page.next
          ? encodeCursor({ direction: 'next', ...page.next, filters: fingerprint })
          : null,
        prevCursor: page.prev
          ? encodeCursor({ direction: 'prev', ...page.prev, filters: fingerprint })
          : null,
        // NOTE: the page and the count run side by side on two connections, so they may see
        // different moments (a row stored in between: total 1 with no items). When the first page
        // holds every match, its length is the count as of the page itself.
        ...(total === undefined ? {} : { total: page.next ? total : page.items.length }),
      };
    },
  );
}
