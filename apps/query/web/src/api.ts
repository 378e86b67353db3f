import type { FunnelReport, FunnelStepStats, SessionStatsResult, Stats } from '@tracker/db';
import type { RetentionOptions } from './filters.js';
import type { FunnelDefinition } from './funnel-def.js';
import { KEY_STORAGE } from './storage-keys.js';

export type { Stats };
/** GET /api/sessions/stats. */
export type SessionStats = SessionStatsResult;

/** GET /api/retention (apps/query README "GET /api/retention"). */
export interface Retention {
  period: RetentionOptions['period'];
  tz: string;
  from: string;
  to: string;
  rows: {
    /** Local date (YYYY-MM-DD) the cohort's period starts on. */
    start: string;
    size: number;
    /** cells[0] = size; cells[k]: users back in period k; null: the period has not begun. */
    cells: (number | null)[];
    shares: (number | null)[];
    /** Index of the cell whose period is under way. */
    partial: number | null;
  }[];
  /** Per k: weighted over the cohorts whose period k has ended; null when none has. */
  mean: (number | null)[];
}

/** POST /api/funnels (apps/query README "POST /api/funnels"). */
export interface Funnel {
  /** The definition computed, every default filled in (actions lower-cased, roles upper-cased). */
  definition: FunnelDefinition & { exclusion?: FunnelDefinition['steps'][number] };
  /** Entries from (inclusive) and to (exclusive), ISO instants. */
  from: string;
  to: string;
  tz: string;
  steps: (FunnelStepStats & { step: number; label: string })[];
  byEntryDay: FunnelReport['byEntryDay'];
  byRole: FunnelReport['byRole'];
}

/** POST /api/funnels/units: one page of a step's converted or dropped units. */
export interface FunnelUnitsPage {
  units: {
    /** The user id, or "<user id> <session key>" when the funnel counts sessions. */
    unit: string;
    userId: string;
    entryAt: string;
    lastStepAt: string;
    stepsReached: number;
  }[];
  nextCursor: string | null;
}

/** GET /api/funnels/saved. */
export interface SavedFunnels {
  funnels: { name: string; definition: Funnel['definition']; createdAt: string; updatedAt: string }[];
}

/** One stored interaction as /api/interactions returns it. */
export interface InteractionItem {
  eventId: string;
  userId: string;
  role: string;
  action: string;
  page: string;
  occurredAt: string;
  receivedAt: string;
  properties: Record<string, string | number | boolean>;
  sessionId?: string | null;
}

export interface InteractionPage {
  items: InteractionItem[];
  nextCursor: string | null;
  prevCursor: string | null;
  total?: number;
}

export interface FacetValue {
  value: string;
  count: number;
}

export interface Facets {
  users: FacetValue[];
  roles: FacetValue[];
  actions: FacetValue[];
  pages: FacetValue[];
}

export interface DlqSummary {
  count: number;
}

export function storedKey(): string | null {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Private mode without storage: the key lives for this page only.
  }
}

/** An API answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The API root, relative to the page so the dashboard also works behind a reverse proxy under a
 * path prefix (the page at /tracker/ calls /tracker/api/...).
 */
export function apiUrl(path: string, params?: URLSearchParams): string {
  const query = params && [...params.keys()].length > 0 ? `?${params}` : '';
  return `api/${path}${query}`;
}

export function getJson<T>(path: string, params?: URLSearchParams, signal?: AbortSignal): Promise<T> {
  return requestJson<T>('GET', path, params, signal);
}

/** A signed /api/export URL for these parameters (the key stays in a header, never in a URL). */
export interface ExportLink {
  url: string;
  expiresAt: string | null;
}

export function postJson<T>(path: string, params?: URLSearchParams): Promise<T> {
  return requestJson<T>('POST', path, params);
}

/** A JSON body to POST or PUT (or a DELETE), answered with JSON (undefined for 204 No Content). */
export async function sendJson<T>(
  method: 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const response = await request(method, path, { body, signal });
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** POSTs a JSON body whose answer is a file (a CSV attachment): its content and file name. */
export async function postForFile(path: string, body: unknown): Promise<{ blob: Blob; filename: string }> {
  const response = await request('POST', path, { body, accept: 'text/csv, application/json' });
  const disposition = response.headers.get('content-disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'download.csv';
  return { blob: await response.blob(), filename };
}

async function requestJson<T>(
  method: 'GET' | 'POST',
  path: string,
  params?: URLSearchParams,
  signal?: AbortSignal,
): Promise<T> {
  return (await (await request(method, path, { params, signal })).json()) as T;
}

/** A request with the read key; anything but 2xx (or no answer) becomes an ApiError. */
async function request(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  opts: {
    params?: URLSearchParams | undefined;
    body?: unknown;
    signal?: AbortSignal | undefined;
    accept?: string;
  },
): Promise<Response> {
  const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
  const key = storedKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(apiUrl(path, opts.params), {
      method,
      headers,
      signal: opts.signal ?? null,
      cache: 'no-store',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
  } catch (error) {
    if (opts.signal?.aborted) throw error;
    throw new ApiError(0, 'NETWORK', 'the query service does not answer');
  }
  if (!response.ok) {
    let code = 'HTTP_ERROR';
    let message = `${response.status} ${response.statusText}`.trim();
    let details: { path: string; message: string }[] = [];
    try {
      const body = (await response.json()) as { code?: unknown; message?: unknown; details?: unknown };
      if (typeof body.code === 'string') code = body.code;
      if (typeof body.message === 'string') message = body.message;
      if (Array.isArray(body.details))
        details = body.details.filter((d) => typeof d?.path === 'string' && typeof d?.message === 'string');
    } catch {
      // Not our error shape (a proxy page, say): keep the status line.
    }
    throw new ApiError(response.status, code, message, details);
  }
  return response;
}
