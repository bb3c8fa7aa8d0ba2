import assert from "node:assert/strict";
import { test } from "node:test";
import { FIXED_1 } from "../../cgroup/loadavg/math.js";
import { renderLoadavg } from "./loadavg.js";

test("loadavg view: the container's loads and counts, the host's last pid; the host's line without a sample", () => {
  const host = "0.15 0.06 0.01 3/109 7257\n";
  assert.equal(
    renderLoadavg({ loads: [FIXED_1, 1024, 0], running: 1, total: 4, hostText: host }),
    "1.00 0.50 0.00 1/4 7257\n",
  );
  assert.equal(
    renderLoadavg({ loads: undefined, running: undefined, total: undefined, hostText: host }),
    host,
  );
});
