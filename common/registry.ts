import { Registry } from "prom-client";

/**
 * A fresh prom-client registry for one command (no global default registry). Commands load this
 * module with `await import()` rather than prom-client itself: prom-client is CommonJS, and the
 * bundle bin/boxscope.js runs (scripts/bundle.mjs) keeps a CommonJS package's named exports only
 * where it is imported statically.
 */
export function createRegistry(): Registry {
  return new Registry();
}
