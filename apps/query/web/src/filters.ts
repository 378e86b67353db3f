// The view lives in the page URL (?userId=&role=&action=&page=&from=&to=&period=&cohort=&mode=, the
// funnel's step=&order=&window=&unit=&entry= (funnel-def.ts), &cursor=), so a view can be shared,
// bookmarked and reloaded. Dates are calendar days in the viewer's time zone;
// `to` is inclusive in the UI and becomes the exclusive start of the following day for the API.

import { type FunnelDefinition, funnelFromParams, funnelToParams } from './funnel-def.js';

export interface View {
  userId: string;
  role: string;
  action: string;
  page: string;
  /** YYYY-MM-DD, local calendar day, inclusive. */
  from: string;
  /** YYYY-MM-DD, local calendar day, inclusive. */
  to: string;
  /** Opaque keyset cursor of the interactions table; empty on the newest page. */
  cursor: string;
  /** The retention table's options (RETENTION_OPTIONS): they shape that table, they filter nothing. */
  period: RetentionOptions['period'];
  cohort: RetentionOptions['cohort'];
  mode: RetentionOptions['mode'];
  /** The funnel shown (it filters nothing either); null: none defined. */
  funnel: FunnelDefinition | null;
}

export const FILTER_KEYS = ['userId', 'role', 'action', 'page', 'from', 'to'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/** GET /api/retention's choices, the API's default first (left out of the page URL). */
export const RETENTION_OPTIONS = {
  period: ['week', 'day', 'month'],
  cohort: ['first', 'recurring'],
  mode: ['on', 'onOrAfter'],
} as const;
export type RetentionOptions = {
  [K in keyof typeof RETENTION_OPTIONS]: (typeof RETENTION_OPTIONS)[K][number];
};
export const RETENTION_KEYS = Object.keys(RETENTION_OPTIONS) as (keyof RetentionOptions)[];

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function emptyView(): View {
  return {
    userId: '',
    role: '',
    action: '',
    page: '',
    from: '',
    to: '',
    cursor: '',
    period: RETENTION_OPTIONS.period[0],
    cohort: RETENTION_OPTIONS.cohort[0],
    mode: RETENTION_OPTIONS.mode[0],
    funnel: null,
  };
}

/** The view without filters (and on the newest page); the retention options and the funnel stay. */
export function clearFilters(view: View): View {
  return { ...emptyView(), period: view.period, cohort: view.cohort, mode: view.mode, funnel: view.funnel };
}

/** `value` when it is one of the option's choices, else the default. */
export function retentionOption<K extends keyof RetentionOptions>(
  key: K,
  value: string | null,
): RetentionOptions[K] {
  const allowed: readonly string[] = RETENTION_OPTIONS[key];
  return (allowed.includes(value ?? '') ? value : allowed[0]) as RetentionOptions[K];
}

export function viewFromUrl(search: string): View {
  const params = new URLSearchParams(search);
  const view = emptyView();
  for (const key of [...FILTER_KEYS, 'cursor'] as const) view[key] = (params.get(key) ?? '').trim();
  // The API takes any case; the Role select only has the upper-case values (a `?role=guest` link
  // showed no role selected, and the next edit dropped the filter).
  view.role = view.role.toUpperCase();
  if (view.from && !DAY.test(view.from)) view.from = '';
  if (view.to && !DAY.test(view.to)) view.to = '';
  view.period = retentionOption('period', params.get('period'));
  view.cohort = retentionOption('cohort', params.get('cohort'));
  view.mode = retentionOption('mode', params.get('mode'));
  view.funnel = funnelFromParams(params);
  return view;
}

export function viewToSearch(view: View): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (view[key]) params.set(key, view[key]);
  for (const key of RETENTION_KEYS) if (view[key] !== RETENTION_OPTIONS[key][0]) params.set(key, view[key]);
  if (view.funnel) funnelToParams(view.funnel, params);
  if (view.cursor) params.set('cursor', view.cursor);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function hasFilters(view: View): boolean {
  return FILTER_KEYS.some((key) => view[key] !== '');
}

/** Local midnight of a YYYY-MM-DD day, as an instant. */
export function localMidnight(day: string, addDays = 0): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(y, m - 1, d + addDays);
}

export function localDay(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The API's filter parameters for a view (no cursor, no tz). */
export function filterParams(view: View): URLSearchParams {
  const params = new URLSearchParams();
  if (view.userId) params.set('userId', view.userId);
  if (view.role) params.set('role', view.role);
  if (view.action) params.set('action', view.action);
  if (view.page) params.set('page', view.page);
  if (view.from) params.set('from', localMidnight(view.from).toISOString());
  if (view.to) params.set('to', localMidnight(view.to, 1).toISOString());
  return params;
}

/**
 * The filters of the session and retention reports: the dashboard's, less `action`, which those
 * endpoints refuse (sessions are chosen by user, role, page and start time; cohorts by their steps).
 */
export function reportParams(view: View): URLSearchParams {
  const params = filterParams(view);
  params.delete('action');
  return params;
}

/** GET /api/retention's parameters for a view (the filters less `action`, the table's options, tz). */
export function retentionParams(view: View, tz: string): URLSearchParams {
  const params = reportParams(view);
  for (const key of RETENTION_KEYS) params.set(key, view[key]);
  params.set('tz', tz);
  return params;
}

/**
 * POST /api/funnels' body for a view: its funnel, the filters less `action` (which the endpoint
 * refuses: a funnel's steps name their actions) and the time zone; null without a funnel.
 */
export function funnelBody(view: View, tz: string): Record<string, unknown> | null {
  if (!view.funnel) return null;
  return { ...view.funnel, ...Object.fromEntries(reportParams(view)), tz };
}

export function viewerTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** A one-line description of the filters, for the header and screen readers. */
export function describeView(view: View): string {
  const parts: string[] = [];
  if (view.userId) parts.push(`user ${view.userId}`);
  if (view.role) parts.push(`role ${view.role}`);
  if (view.action) parts.push(`action ${view.action}`);
  if (view.page)
    parts.push(view.page.endsWith('*') ? `pages under ${view.page.slice(0, -1)}` : `page ${view.page}`);
  if (view.from && view.to) parts.push(`${view.from} to ${view.to}`);
  else if (view.from) parts.push(`since ${view.from}`);
  else if (view.to) parts.push(`until ${view.to}`);
  return parts.length ? `Filtered by ${parts.join(', ')}` : 'All interactions, all time';
}
