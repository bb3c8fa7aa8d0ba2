import { BoxscopeError } from "../../common/errors.js";
import { nativeAddonPath, requireNativeAddon } from "../../common/native-addon.js";

const loaded = new Map<string, unknown>();

/**
 * Loads the addon `<name>.node` of pipeline/native (built by `npm install`); throws a
 * BoxscopeError naming the fix when it was not built.
 */
export function loadNativeBinding<T>(name: string): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const path = nativeAddonPath("pipeline/native", name);
  try {
    const binding = requireNativeAddon<T>(path);
    loaded.set(name, binding);
    return binding;
  } catch (e) {
    throw new BoxscopeError(
      "BXS_NATIVE_ADDON_MISSING",
      `log pipeline native module not built (${path}): run npm run build:native`,
      { context: { path }, cause: e },
    );
  }
}
