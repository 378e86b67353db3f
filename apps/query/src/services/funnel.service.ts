// From a POST /api/funnels body to a computed funnel: the saved definition merged in, defaults,
// the range and filters, and the step labels.
import {
  type FunnelAttempt,
  type FunnelQuery,
  funnelAttempts,
  type PrismaClient,
  type pg,
  type Step,
  withTransaction,
} from '@tracker/db';
import { HttpError } from '@tracker/http';
import type { Static } from 'typebox';
import { pageMatch, toFilters } from '../filters.js';
import {
  DAY_S,
  type FunnelDefinitionSchema,
  type FunnelRequestSchema,
  type FunnelStepSchema,
} from '../schemas/funnel.schema.js';
import { checkTimeZone } from './stats.service.js';

export type FunnelDefinition = Static<typeof FunnelDefinitionSchema>;
export type FunnelRequest = Static<typeof FunnelRequestSchema>;
type FunnelStep = Static<typeof FunnelStepSchema>;

const DEFINITION_KEYS = ['steps', 'order', 'windowSeconds', 'unit', 'entry', 'exclusion'] as const;
/** When neither from nor to is given: the 30 days up to now. */
export const DEFAULT_RANGE_DAYS = 30;

/** The definition as stored and answered: every default filled in, actions lower-cased, roles upper. */
export function normalizeDefinition(d: Partial<FunnelDefinition>): FunnelDefinition {
  const step = (s: FunnelStep): FunnelStep => ({
    actions: s.actions.map((a) => a.toLowerCase()),
    ...(s.page !== undefined ? { page: s.page } : {}),
    ...(s.role !== undefined ? { role: s.role.toUpperCase() } : {}),
  });
  return {
    steps: (d.steps ?? []).map(step),
    order: d.order ?? 'sequential',
    windowSeconds: d.windowSeconds ?? 14 * DAY_S,
    unit: d.unit ?? 'users',
    entry: d.entry ?? 'first',
    ...(d.exclusion ? { exclusion: step(d.exclusion) } : {}),
  };
}

/** The request's definition: a saved one's (when `saved` names it) with the request's fields over it. */
export async function resolveDefinition(
  primary: PrismaClient,
  body: FunnelRequest,
): Promise<FunnelDefinition> {
  let base: Partial<FunnelDefinition> = {};
  if (body.saved !== undefined) {
    const row = await primary.savedFunnel.findUnique({ where: { name: body.saved } });
    if (!row) throw new HttpError(404, 'NOT_FOUND', `no saved funnel named "${body.saved}"`);
    base = row.definition as Partial<FunnelDefinition>;
  }
  const own = Object.fromEntries(
    DEFINITION_KEYS.flatMap((k) => (body[k] === undefined ? [] : [[k, body[k]]])),
  );
  const merged = { ...base, ...own } as Partial<FunnelDefinition>;
  if (!merged.steps) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'invalid body', [
      { path: 'body.steps', message: 'required (2-10 steps), unless `saved` names a saved funnel' },
    ]);
  }
  return normalizeDefinition(merged);
}

const toStep = (s: FunnelStep): Step => ({
  actions: s.actions,
  ...(s.page !== undefined ? { page: pageMatch(s.page) } : {}),
  ...(s.role !== undefined ? { role: s.role } : {}),
});

/** A step as text for charts and CSV names: `signup or login on /docs/* as ADMIN`. */
export function stepLabel(s: FunnelStep): string {
  return [s.actions.join(' or '), s.page ? `on ${s.page}` : '', s.role ? `as ${s.role}` : '']
    .filter(Boolean)
    .join(' ');
}

export interface ComputedFunnel {
  definition: FunnelDefinition;
  from: number;
  to: number;
  tz: string;
  attempts: FunnelAttempt[];
}

/** Resolves, validates and computes the request's funnel: every unit's attempt. */
export async function computeFunnel(
  pool: pg.Pool,
  primary: PrismaClient,
  body: FunnelRequest,
  { now = Date.now(), parallelWorkers = 0 }: { now?: number; parallelWorkers?: number } = {},
): Promise<ComputedFunnel> {
  const definition = await resolveDefinition(primary, body);
  const f = toFilters(
    {
      ...(body.userId !== undefined ? { userId: body.userId } : {}),
      ...(body.role !== undefined ? { role: body.role } : {}),
      ...(body.page !== undefined ? { page: body.page } : {}),
      ...(body.from !== undefined ? { from: body.from } : {}),
      ...(body.to !== undefined ? { to: body.to } : {}),
    },
    'body',
  );
  const to = f.to?.getTime() ?? now;
  const from = f.from?.getTime() ?? to - DEFAULT_RANGE_DAYS * DAY_S * 1000;
  if (from >= to) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'invalid body', [
      {
        path: 'body.from',
        message: `must be before to (default to: now; default from: ${DEFAULT_RANGE_DAYS} days before to)`,
      },
    ]);
  }
  const tz = await checkTimeZone(pool, body.tz ?? 'UTC', 'body');
  const filter: Omit<Step, 'actions'> = {
    ...(f.role !== undefined ? { role: f.role } : {}),
    ...(f.page !== undefined ? { page: pageMatch(f.page) } : {}),
  };
  const query: FunnelQuery = {
    steps: definition.steps.map(toStep),
    order: definition.order!,
    windowMs: definition.windowSeconds! * 1000,
    entry: definition.entry!,
    unit: definition.unit!,
    from,
    to,
    tz,
    ...(definition.exclusion ? { exclusion: toStep(definition.exclusion) } : {}),
    ...(f.userId !== undefined ? { userId: f.userId } : {}),
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
  };
  // One statement reads most of the range: PostgreSQL's parallel workers for it (the service's
  // sessions default to none: QUERY_DB_PARALLEL_WORKERS).
  const attempts = await withTransaction(pool, (client) => funnelAttempts(client, query), {
    readOnly: true,
    settings: { max_parallel_workers_per_gather: String(parallelWorkers) },
  });
  return { definition, from, to, tz, attempts };
}
