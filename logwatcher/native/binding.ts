import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BoxscopeError } from "../../common/errors.js";

const loaded = new Map<string, unknown>();

/**
 * Loads `logwatcher/native/build/Release/<name>.node` (built by `npm install`), whether running
 * from source or from dist/; throws a BoxscopeError naming the fix when it was not built.
 */
export function loadNativeBinding<T>(name: string): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, `build/Release/${name}.node`),
    resolve(here, `../../../logwatcher/native/build/Release/${name}.node`),
  ];
  const path = candidates.find((p) => existsSync(p)) ?? (candidates[0] as string);
  try {
    const binding = createRequire(import.meta.url)(path) as T;
    loaded.set(name, binding);
    return binding;
  } catch (e) {
    throw new BoxscopeError(
      `log pipeline native module not built (${path}): run npm run build:native (it needs node-rdkafka's librdkafka)`,
      { path },
      { cause: e },
    );
  }
}
