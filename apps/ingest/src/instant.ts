import { parseDateTime } from '@tracker/schemas';

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ZERO = 48;

/** The two-digit number at s[i], s[i + 1]; -1 when either is not a digit. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - ZERO;
  const b = s.charCodeAt(i + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Epoch ms of a date-time in the shape clients send, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`
 * (year 1000 or later, seconds under 60), checked as RFC 3339 checks it (real day of the month,
 * hours ≤ 23, minutes ≤ 59); undefined for any other text, which TypeBox's IsDateTime and
 * Date.parse then judge. The same answer as both (instant.test.ts compares them), for a tenth of
 * their time: the format check and the parse were a quarter of validating an event
 * (bench/scripts/measure-ingest-cpu.mjs). A fraction is cut to milliseconds, as Date.parse does.
 */
export function fastInstant(s: string): number | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return undefined;
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const century = two(s, 0);
  const yy = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (century < 10 || yy < 0 || month < 1 || month > 12 || day < 1) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const year = century * 100 + yy;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS[month]!)) return undefined;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    i += 1;
    const start = i;
    while (i < n) {
      const d = s.charCodeAt(i) - ZERO;
      if (d < 0 || d > 9) break;
      if (i - start < 3) ms += d * (i === start ? 100 : i === start + 1 ? 10 : 1);
      i += 1;
    }
    if (i === start) return undefined;
  }
  let offset = 0;
  const zone = s.charCodeAt(i);
  if (zone === 90 && i + 1 === n) {
    offset = 0;
  } else if ((zone === 43 || zone === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = two(s, i + 1);
    const om = two(s, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offset = (zone === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
  } else {
    return undefined;
  }
  const days = daysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms - offset;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil; Date.UTC's answer). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * Epoch ms of a date-time the schema accepted (RFC 3339, with an optional RFC 9557 `[zone]` suffix,
 * which does not change the instant: the offset before it does). NaN for a leap second (`23:59:60Z`):
 * valid RFC 3339, but no instant a Date (or the Avro long) can hold.
 */
export function instantOf(value: string): number {
  const fast = fastInstant(value);
  if (fast !== undefined) return fast;
  const bracket = value.indexOf('[');
  return parseDateTime(bracket === -1 ? value : value.slice(0, bracket));
}
