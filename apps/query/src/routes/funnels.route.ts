import { funnelReport, funnelUnits, ownConnections } from '@tracker/db';
import { HttpError, type TrackerApp } from '@tracker/http';
import { stringify } from 'csv-stringify/sync';
import { Type } from 'typebox';
import { neutralizeFormula } from '../csv.js';
import {
  FunnelDefinitionSchema,
  FunnelRequestSchema,
  FunnelSchema,
  FunnelUnitsRequestSchema,
  FunnelUnitsSchema,
  SavedFunnelParams,
  SavedFunnelSchema,
} from '../schemas/funnel.schema.js';
import { ErrorRef } from '../schemas/responses.schema.js';
import {
  computeFunnel,
  type FunnelRequest,
  normalizeDefinition,
  stepLabel,
} from '../services/funnel.service.js';

const errors = { 400: ErrorRef, 401: ErrorRef, 404: ErrorRef, 429: ErrorRef, 503: ErrorRef };
const encodeCursor = (unit: string) => Buffer.from(unit, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * POST /api/funnels (a funnel from its definition), POST /api/funnels/units (the units that converted
 * or dropped at a step, paginated or as CSV) and the saved funnels under /api/funnels/saved.
 * Definitions: apps/query README "POST /api/funnels".
 */
export async function funnelsRoute(
  app: TrackerApp,
  opts: { formulaProtection: boolean; parallelWorkers: number },
): Promise<void> {
  const compute = (body: FunnelRequest) =>
    computeFunnel(ownConnections(app.db), app.primary, body, { parallelWorkers: opts.parallelWorkers });
  app.post(
    '/funnels',
    {
      schema: {
        summary: 'Funnel: how many users (or sessions) did each step in order, how fast, and by day and role',
        description:
          'Computed from raw interactions (kept from TRACKER_RETENTION_DAYS on). from/to bound the entries (default: ' +
          'the last 30 days); role and page must hold for every step and the exclusion; userId: that user only.',
        tags: ['reports'],
        security: [{ bearer: [] }],
        body: FunnelRequestSchema,
        response: { 200: FunnelSchema, ...errors },
      },
    },
    async (request) => {
      const f = await compute(request.body);
      const report = funnelReport(f.attempts, f.definition.steps.length);
      return {
        definition: f.definition,
        from: iso(f.from),
        to: iso(f.to),
        tz: f.tz,
        steps: report.steps.map((s, k) => ({ step: k + 1, label: stepLabel(f.definition.steps[k]!), ...s })),
        byEntryDay: report.byEntryDay,
        byRole: report.byRole,
      };
    },
  );

  app.post(
    '/funnels/units',
    {
      schema: {
        summary: "A funnel step's units: those that reached it, or those that dropped off before it",
        description:
          'The same body as POST /api/funnels plus step, status and paging. format=csv answers every unit as a ' +
          'CSV download.',
        tags: ['reports'],
        security: [{ bearer: [] }],
        body: FunnelUnitsRequestSchema,
        response: { 200: FunnelUnitsSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { step, status, limit = 100, cursor, format = 'json', ...body } = request.body;
      const f = await compute(body);
      if (step > f.definition.steps.length) {
        throw new HttpError(400, 'VALIDATION_FAILED', 'invalid body', [
          { path: 'body.step', message: `must be at most ${f.definition.steps.length} (the funnel's steps)` },
        ]);
      }
      const csv = format === 'csv';
      const page = funnelUnits(f.attempts, step - 1, status, {
        ...(cursor !== undefined && !csv ? { after: decodeCursor(cursor) } : {}),
        ...(csv ? {} : { limit }),
      });
      const units = page.units.map((a) => ({
        unit: a.unit,
        userId: a.userId,
        entryAt: iso(a.at[0]!),
        lastStepAt: iso(a.at.at(-1)!),
        stepsReached: a.at.length,
      }));
      if (csv) {
        const text = (v: string) => (opts.formulaProtection ? neutralizeFormula(v) : v);
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="funnel-step-${step}-${status}.csv"`);
        return stringify(
          units.map((u) => [text(u.unit), text(u.userId), u.entryAt, u.lastStepAt, u.stepsReached]),
          {
            header: true,
            columns: ['unit', 'userId', 'entryAt', 'lastStepAt', 'stepsReached'],
            record_delimiter: 'windows',
          },
        );
      }
      return { units, nextCursor: page.more ? encodeCursor(page.units.at(-1)!.unit) : null };
    },
  );

  app.get(
    '/funnels/saved',
    {
      schema: {
        summary: 'The saved funnels, by name',
        tags: ['reports'],
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ funnels: Type.Array(SavedFunnelSchema) }), ...errors },
      },
    },
    async () => {
      const rows = await app.primary.savedFunnel.findMany({ orderBy: { name: 'asc' } });
      return { funnels: rows.map(savedOut) };
    },
  );

  app.get(
    '/funnels/saved/:name',
    {
      schema: {
        summary: 'One saved funnel',
        tags: ['reports'],
        security: [{ bearer: [] }],
        params: SavedFunnelParams,
        response: { 200: SavedFunnelSchema, ...errors },
      },
    },
    async (request) => {
      const row = await app.primary.savedFunnel.findUnique({ where: { name: request.params.name } });
      if (!row) throw new HttpError(404, 'NOT_FOUND', `no saved funnel named "${request.params.name}"`);
      return savedOut(row);
    },
  );

  app.put(
    '/funnels/saved/:name',
    {
      schema: {
        summary: 'Save a funnel definition under a name (replacing one of that name)',
        tags: ['reports'],
        security: [{ bearer: [] }],
        params: SavedFunnelParams,
        body: FunnelDefinitionSchema,
        response: { 200: SavedFunnelSchema, ...errors },
      },
    },
    async (request) => {
      const definition = normalizeDefinition(request.body);
      const row = await app.primary.savedFunnel.upsert({
        where: { name: request.params.name },
        create: { name: request.params.name, definition },
        update: { definition, updatedAt: new Date() },
      });
      return savedOut(row);
    },
  );

  app.delete(
    '/funnels/saved/:name',
    {
      schema: {
        summary: 'Delete a saved funnel',
        tags: ['reports'],
        security: [{ bearer: [] }],
        params: SavedFunnelParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { count } = await app.primary.savedFunnel.deleteMany({ where: { name: request.params.name } });
      if (count === 0)
        throw new HttpError(404, 'NOT_FOUND', `no saved funnel named "${request.params.name}"`);
      return reply.code(204).send(null);
    },
  );
}

function savedOut(row: { name: string; definition: unknown; createdAt: Date; updatedAt: Date }) {
  return {
    name: row.name,
    definition: row.definition as ReturnType<typeof normalizeDefinition>,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
