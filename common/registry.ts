import { Counter, Registry } from "prom-client";

/**
 * A fresh prom-client registry for one command (no global default registry). Commands load this
 * module with `await import()` rather than prom-client itself: prom-client is CommonJS, and the
 * bundle bin/boxscope.js runs (scripts/bundle.mjs) keeps a CommonJS package's named exports only
 * where it is imported statically.
 */
export function createRegistry(): Registry {
  return new Registry();
}

/**
 * A counter whose value is a running total kept elsewhere (a native binding's atomics, a service's
 * own stats), read at each scrape: nothing is counted twice, and the series shows the total as it is.
 */
export function registerRunningTotal(
  registry: Registry,
  name: string,
  help: string,
  value: () => number,
): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      // A counter cannot be set: reset, then add the running total.
      this.reset();
      this.inc(value());
    },
  });
}
