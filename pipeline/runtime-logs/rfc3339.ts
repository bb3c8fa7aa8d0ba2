/**
 * Parses the timestamps container runtimes write: Go's `time.RFC3339Nano` as dockerd (UTC, `Z`,
 * trailing zeros of the fraction trimmed, no fraction at all on a whole second) and containerd
 * (the host's local offset, e.g. `+01:00`) produce it, and as kubelet reads it back
 * (`RFC3339NanoLenient`: any 0-9 fraction digits, `Z` or a `±hh:mm` offset).
 *
 * Hand-written rather than `Date.parse`: `Date.parse` accepts far more than RFC 3339 (dates without
 * a time, no offset meaning local time, years beyond 9999), rolls 31 February over into March
 * instead of refusing it, and cannot say what it refused; a runtime log line with such a timestamp is
 * malformed and must be flagged, not silently re-dated.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Days from 1970-01-01 to the given proleptic Gregorian date (negative before). Computed rather
 * than through `Date.UTC`, which maps years 0-99 to 1900-1999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * Milliseconds since the Unix epoch (sub-millisecond digits dropped, i.e. rounded towards the past)
 * of an RFC 3339 timestamp, or undefined when `text` is not one or names an impossible instant
 * (month 13, 31 April, 29 February of a common year, hour 24, second 60, offset hour above 23:
 * what Go's `time.Parse` refuses too).
 */
export function parseRfc3339Ms(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  const second = Number(ss);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day > monthDays) return undefined;
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const offsetHour = Number(ohs);
    const offsetMinute = Number(oms);
    if (offsetHour > 23 || offsetMinute > 59) return undefined;
    offsetMinutes = (sign === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, "0").slice(0, 3));
  const seconds = ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second;
  return seconds * 1000 + millis - offsetMinutes * 60_000;
}

/**
 * `parseRfc3339Ms` for a runtime's stream of timestamps, the date, time of day and zone parsed once
 * per second: a runtime stamps every line, thousands share their second, and the regular
 * expression per line was a large share of the decoded path's CPU (bench:pipeline stdout). A timestamp
 * whose first 19 characters ("YYYY-MM-DDTHH:MM:SS") and zone are those of the last one parsed in
 * full differs from it only in the fraction, which is checked here as the pattern would ("" or "."
 * and 1-9 digits); anything else is parsed in full. Same result as `parseRfc3339Ms` for every text.
 */
export class Rfc3339Seconds {
  /** The last text parsed in full: its first 19 characters and its zone ("Z" or "±hh:mm")... */
  private head = "";
  private zone = "";
  /** ...and the milliseconds of `head` + `zone` (the fraction left out). */
  private base = 0;

  parse(text: string): number | undefined {
    const fracEnd = text.length - this.zone.length;
    if (this.head !== "" && fracEnd >= 19 && text.startsWith(this.head) && text.endsWith(this.zone)) {
      if (fracEnd === 19) return this.base;
      const digits = fracEnd - 20;
      if (text.charCodeAt(19) === 0x2e && digits >= 1 && digits <= 9) {
        let ms = 0;
        let i = 20;
        for (; i < fracEnd; i++) {
          const d = text.charCodeAt(i) - 0x30;
          if (d < 0 || d > 9) break;
          if (i < 23) ms = ms * 10 + d;
        }
        if (i === fracEnd) return this.base + (digits >= 3 ? ms : digits === 2 ? ms * 10 : ms * 100);
      }
    }
    const ms = parseRfc3339Ms(text);
    if (ms === undefined) return undefined;
    const zone = text.endsWith("Z") ? "Z" : text.slice(-6);
    const base = parseRfc3339Ms(text.slice(0, 19) + zone);
    if (base !== undefined) {
      this.head = text.slice(0, 19);
      this.zone = zone;
      this.base = base;
    }
    return ms;
  }
}
