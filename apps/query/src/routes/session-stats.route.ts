import { ownConnections, sessionStats } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { pageMatch, toFilters } from '../filters.js';
import { FilterQueryProperties, TopProperty } from '../schemas/filters.schema.js';
import { ErrorRef } from '../schemas/responses.schema.js';

const { action: _action, ...filters } = FilterQueryProperties;

export const SessionStatsQuerySchema = Type.Object(
  { ...filters, top: TopProperty },
  { additionalProperties: false },
);

const PageCount = Type.Object({ page: Type.String(), sessions: Type.Integer({ minimum: 0 }) });

export const SessionStatsSchema = Type.Object({
  sessions: Type.Integer({
    minimum: 0,
    description: 'Sessions that started in [from, to) and match the filters',
  }),
  bounceRate: Type.Number({
    minimum: 0,
    maximum: 1,
    description: 'Share of sessions of one page view and nothing else',
  }),
  meanDurationMs: Type.Number({
    minimum: 0,
    description: 'Last event − first event, averaged (one-event sessions count as 0)',
  }),
  medianDurationMs: Type.Number({ minimum: 0, description: 'Lower median of the durations' }),
  pagesPerSession: Type.Number({ minimum: 0, description: 'Page views per session' }),
  entryPages: Type.Array(PageCount, {
    description: 'Pages of the sessions’ first events, most sessions first',
  }),
  exitPages: Type.Array(
    Type.Object({
      page: Type.String(),
      sessions: Type.Integer({ minimum: 0 }),
      sessionsWithPage: Type.Integer({
        minimum: 1,
        description: 'Sessions (of those counted) with at least one event on the page',
      }),
      exitRate: Type.Number({ minimum: 0, maximum: 1, description: 'sessions ÷ sessionsWithPage' }),
    }),
    { description: 'Pages of the sessions’ last events, most sessions first' },
  ),
});

/** GET /api/sessions/stats: from the sessions table the processor keeps (definitions: apps/query README "GET /api/sessions/stats"). */
export async function sessionStatsRoute(app: TrackerApp): Promise<void> {
  app.get(
    '/sessions/stats',
    {
      schema: {
        summary: 'Sessions: count, bounce rate, duration, pages per session, entry and exit pages',
        description:
          'A session is selected when it starts in [from, to) and holds at least one event matching role, page ' +
          'and userId (filters choose sessions, they do not cut them).',
        tags: ['reports'],
        security: [{ bearer: [] }],
        querystring: SessionStatsQuerySchema,
        response: { 200: SessionStatsSchema, 400: ErrorRef, 401: ErrorRef, 429: ErrorRef, 503: ErrorRef },
      },
    },
    async (request) => {
      const { top = 10, ...filterQuery } = request.query;
      const f = toFilters(filterQuery);
      return sessionStats(ownConnections(app.db), {
        top,
        ...(f.from ? { from: f.from.getTime() } : {}),
        ...(f.to ? { to: f.to.getTime() } : {}),
        ...(f.userId !== undefined ? { userId: f.userId } : {}),
        ...(f.role !== undefined ? { role: f.role } : {}),
        ...(f.page !== undefined ? { page: pageMatch(f.page) } : {}),
      });
    },
  );
}
