// The view lives in the page URL (?userId=&role=&action=&page=&from=&to=&cursor=), so a view can be
// shared, bookmarked and reloaded. Dates are calendar days in the viewer's time zone; `to` is inclusive
// in the UI and becomes the exclusive start of the following day for the API.

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
}

export const FILTER_KEYS = ['userId', 'role', 'action', 'page', 'from', 'to'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function emptyView(): View {
  return { userId: '', role: '', action: '', page: '', from: '', to: '', cursor: '' };
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
  return view;
}

export function viewToSearch(view: View): string {
  const params = new URLSearchParams();
  for (const key of [...FILTER_KEYS, 'cursor'] as const) if (view[key]) params.set(key, view[key]);
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
