import { ownConnections, periodStartDate, retentionTable, type Step } from '@tracker/db';
import type { TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { pageMatch, toFilters } from '../filters.js';
import { FilterQueryProperties, TzProperty } from '../schemas/filters.schema.js';
import { ErrorRef } from '../schemas/responses.schema.js';
import { checkTimeZone } from '../services/stats.service.js';

const ActionList = (description: string) =>
  Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_.:-]{1,64}(,[A-Za-z0-9_.:-]{1,64}){0,9}$',
      description: `${description}: one action or up to 10, comma-separated (any of them); default any action`,
    }),
  );

const { action: _action, ...filters } = FilterQueryProperties;

export const RetentionQuerySchema = Type.Object(
  {
    ...filters,
    startAction: ActionList('What puts a user in a cohort'),
    returnAction: ActionList('What counts as coming back'),
    period: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], {
      default: 'week',
      description: 'Calendar periods in `tz`; weeks start on Monday',
    }),
    periods: Type.Integer({
      minimum: 1,
      maximum: 60,
      default: 8,
      description: 'Periods after period 0 in each row (1-60)',
    }),
    cohort: Type.Union([Type.Literal('first'), Type.Literal('recurring')], {
      default: 'first',
      description: "first: the period of a user's first start event ever; recurring: every period with one",
    }),
    mode: Type.Union([Type.Literal('on'), Type.Literal('onOrAfter')], {
      default: 'on',
      description: 'on: returned in period k; onOrAfter: in period k or any later one',
    }),
    tz: TzProperty,
  },
  { additionalProperties: false },
);

const Cell = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const Share = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]);

export const RetentionSchema = Type.Object({
  period: Type.String(),
  tz: Type.String(),
  from: Type.String({ format: 'date-time', description: 'Start of the cohort range used' }),
  to: Type.String({ format: 'date-time' }),
  rows: Type.Array(
    Type.Object({
      start: Type.String({ description: 'Local date (YYYY-MM-DD) the cohort period starts on' }),
      size: Type.Integer({ minimum: 0 }),
      cells: Type.Array(Cell, {
        description: 'cells[0] = size; cells[k]: users back in period k; null: not begun',
      }),
      shares: Type.Array(Share, { description: 'cells[k] / size' }),
      partial: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
        description: 'Index of the cell whose period is under way (null: none in this row)',
      }),
    }),
  ),
  mean: Type.Array(Share, {
    description: 'Per k: users back ÷ cohort sizes, over the rows whose period k has ended (weighted)',
  }),
});

/** GET /api/retention: cohort tables (definitions: README "GET /api/retention"). */
export async function retentionRoute(app: TrackerApp): Promise<void> {
  app.get(
    '/retention',
    {
      schema: {
        summary:
          'Retention: cohorts by the period of their start event, and who came back in each later period',
        description:
          'Start and return events named by action only are read from per-user activity the processor keeps (all history); ' +
          'with role or page, from raw interactions (kept from TRACKER_RETENTION_DAYS on). role, page and userId filter both ' +
          'the start and the return events; from/to bound the start events (default: the last `periods` periods).',
        tags: ['reports'],
        security: [{ bearer: [] }],
        querystring: RetentionQuerySchema,
        response: { 200: RetentionSchema, 400: ErrorRef, 401: ErrorRef, 429: ErrorRef, 503: ErrorRef },
      },
    },
    async (request) => {
      const {
        tz = 'UTC',
        period,
        periods,
        cohort,
        mode,
        startAction,
        returnAction,
        ...filterQuery
      } = request.query;
      const f = toFilters(filterQuery);
      const pool = ownConnections(app.db);
      const zone = await checkTimeZone(pool, tz);
      const common: Omit<Step, 'actions'> = {
        ...(f.role !== undefined ? { role: f.role } : {}),
        ...(f.page !== undefined ? { page: pageMatch(f.page) } : {}),
      };
      // role and page filter start and return events alike; neither and no actions: any event.
      const step = (list: string | undefined): Step | undefined =>
        list === undefined && Object.keys(common).length === 0
          ? undefined
          : { ...common, ...(list === undefined ? {} : { actions: list.toLowerCase().split(',') }) };
      const start = step(startAction);
      const back = step(returnAction);
      const now = Date.now();
      const to = f.to?.getTime() ?? now;
      const table = await retentionTable(pool, {
        period,
        periods,
        cohort,
        mode,
        tz: zone,
        to,
        now,
        ...(f.from ? { from: f.from.getTime() } : {}),
        ...(f.userId !== undefined ? { userId: f.userId } : {}),
        ...(start ? { start } : {}),
        ...(back ? { return: back } : {}),
      });
      return {
        period,
        tz: zone,
        from: new Date(table.from).toISOString(),
        to: new Date(to).toISOString(),
        rows: table.rows.map((r) => ({
          start: periodStartDate(r.period, period),
          size: r.size,
          cells: r.cells,
          shares: r.cells.map((c) => (c === null || r.size === 0 ? null : c / r.size)),
          partial: r.partial,
        })),
        mean: table.mean,
      };
    },
  );
}
