const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const twoDecimals = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });

/** percent: a 0–1 ratio shown as a percentage; duration: milliseconds (formatDuration). */
export type NumberKind = 'integer' | 'ratio' | 'gini' | 'percent' | 'duration';

export function formatNumber(value: number, kind: NumberKind): string {
  if (kind === 'integer') return integer.format(value);
  if (kind === 'percent') return formatPercent(value);
  if (kind === 'duration') return formatDuration(value);
  return twoDecimals.format(value);
}

export function formatPercent(ratio: number): string {
  return percent.format(ratio);
}

const TIME_PARTS: Intl.DateTimeFormatOptions = {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
};
const timeFormat = new Intl.DateTimeFormat(undefined, TIME_PARTS);
const timeYearFormat = new Intl.DateTimeFormat(undefined, { ...TIME_PARTS, year: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });

/** An instant as a table cell: without the year when it is this year's. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return (date.getFullYear() === new Date().getFullYear() ? timeFormat : timeYearFormat).format(date);
}

export function formatFullTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : fullFormat.format(date);
}

const DAY_PARTS: Intl.DateTimeFormatOptions = { month: 'short', day: 'numeric', timeZone: 'UTC' };
const dayFormat = new Intl.DateTimeFormat(undefined, DAY_PARTS);
const dayYearFormat = new Intl.DateTimeFormat(undefined, { ...DAY_PARTS, year: 'numeric' });

/**
 * `2026-11-03` (a calendar day already in the viewer's zone) as a short label; with the year when
 * `withYear` (a series that spans years, where "Oct 11 … Nov 18" would read as five weeks).
 */
export function formatDay(day: string, withYear = false): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  return (withYear ? dayYearFormat : dayFormat).format(date);
}

/**
 * A measured duration to the second, in its two largest units: `45 s`, `4 m 12 s`, `2 h 5 m`.
 * (formatAge says roughly how old something is, in one rounded unit.)
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${integer.format(h)} h ${m} m` : `${integer.format(h)} h`;
  if (m > 0) return s > 0 ? `${m} m ${s} s` : `${m} m`;
  return `${s} s`;
}

const monthFormat = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });

/** The month of a `2026-11-01` calendar day: `Nov 2026`. */
export function formatMonth(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? day : monthFormat.format(date);
}

export function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.round(m / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
