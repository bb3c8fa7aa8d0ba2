import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseRfc3339Ms } from "./rfc3339.js";

test("the timestamps dockerd and containerd write", () => {
  const at = Date.UTC(2026, 11, 7, 17, 8, 50);
  assert.equal(parseRfc3339Ms("2026-12-07T17:08:50Z"), at, "Go drops a zero fraction");
  assert.equal(parseRfc3339Ms("2026-12-07T17:08:50.1Z"), at + 100);
  assert.equal(parseRfc3339Ms("2026-12-07T17:08:50.123456789Z"), at + 123, "sub-milliseconds dropped");
  assert.equal(parseRfc3339Ms("2026-12-07T17:08:50.999999999Z"), at + 999, "rounded towards the past");
  assert.equal(parseRfc3339Ms("2026-12-07T18:08:50.5+01:00"), at + 500);
  assert.equal(parseRfc3339Ms("2026-12-07T12:38:50-04:30"), at);
  assert.equal(parseRfc3339Ms("2024-02-29T00:00:00Z"), Date.UTC(2024, 1, 29));
  assert.equal(parseRfc3339Ms("1969-12-31T23:59:59.999Z"), -1);
  const year1 = new Date(0);
  year1.setUTCFullYear(1, 0, 1);
  assert.equal(parseRfc3339Ms("0001-01-01T00:00:00Z"), year1.getTime(), "years below 100 are not 19xx");
});

test("what Go's time.Parse refuses is refused", () => {
  for (const text of [
    "",
    "2026-12-07",
    "2026-12-07T17:08:50",
    "2026-12-07 17:08:50Z",
    "2026-12-07t17:08:50z",
    "2026-12-07T17:08:50.Z",
    "2026-12-07T17:08:50.1234567890Z",
    "2026-13-07T17:08:50Z",
    "2026-00-07T17:08:50Z",
    "2026-04-31T17:08:50Z",
    "2026-02-29T17:08:50Z",
    "2100-02-29T17:08:50Z",
    "2026-12-00T17:08:50Z",
    "2026-12-07T24:00:00Z",
    "2026-12-07T17:60:50Z",
    "2026-12-07T17:08:60Z",
    "2026-12-07T17:08:50+24:00",
    "2026-12-07T17:08:50+01:60",
    "2026-12-07T17:08:50+0100",
    "+12026-12-07T17:08:50Z",
    " 2026-12-07T17:08:50Z",
    "2026-12-07T17:08:50Z ",
    "２０２６-12-07T17:08:50Z",
  ]) {
    assert.equal(parseRfc3339Ms(text), undefined, text);
  }
});

test("property: every instant of years 0000-9999 written as RFC 3339 reads back to its milliseconds", () => {
  const instant = fc.date({
    min: new Date("0000-01-01T00:00:00Z"),
    max: new Date("9999-12-31T23:59:59.999Z"),
    noInvalidDate: true,
  });
  fc.assert(
    fc.property(instant, fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (date, offsetMinutes) => {
      // Written in a zone of the given offset, as containerd writes local time.
      const local = new Date(date.getTime() + offsetMinutes * 60_000);
      if (local.getUTCFullYear() < 0 || local.getUTCFullYear() > 9999) return;
      const sign = offsetMinutes < 0 ? "-" : "+";
      const abs = Math.abs(offsetMinutes);
      const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
      const iso = local.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
      assert.equal(parseRfc3339Ms(`${iso.slice(0, -1)}456${zone}`), date.getTime());
      assert.equal(parseRfc3339Ms(iso), local.getTime());
    }),
  );
});
