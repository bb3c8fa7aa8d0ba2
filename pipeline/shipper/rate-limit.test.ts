import assert from "node:assert/strict";
import { test } from "node:test";
import { ContainerRateLimiter } from "./rate-limit.js";

test("a container reads its burst at once, then its rate; others keep their own budget", () => {
  const limiter = new ContainerRateLimiter(1000, 5000);
  assert.equal(limiter.allowance("noisy", 0), 5000);
  limiter.take("noisy", 5000, 0);
  assert.equal(limiter.allowance("noisy", 0), 0);
  assert.equal(limiter.allowance("noisy", 500), 500, "half a second at 1000 B/s");
  assert.equal(limiter.allowance("quiet", 500), 5000, "a quiet container is not held back by a noisy one");
  assert.equal(limiter.allowance("noisy", 60_000), 5000, "a quiet spell refills up to the burst, no further");
  limiter.take("noisy", 5000, 60_000);
  limiter.forget("noisy");
  assert.equal(limiter.allowance("noisy", 60_000), 5000, "a forgotten container starts full again");
});

test("rate 0: no limit", () => {
  const limiter = new ContainerRateLimiter(0, 1);
  assert.equal(limiter.limited, false);
  limiter.take("a", 1e12, 0);
  assert.equal(limiter.allowance("a", 0), Number.POSITIVE_INFINITY);
});
