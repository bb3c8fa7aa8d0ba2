import { BoxscopeError } from "../../common/errors.js";
import { nativeAddonPath, requireNativeAddon } from "../../common/native-addon.js";

/**
 * Answer of the render callback: the bytes of the view (wrapped in `{ uncached }` when they must not
 * be kept in the binding's cache), or a negative errno for the open to fail.
 */
export type NativeRenderResult = string | Buffer | { uncached: string | Buffer } | number;

/**
 * The render callback: view number, the reading thread's host pid, its uid and gid, and its caller
 * key (shim/native/src/caller_key.h: `pid:[inode]`, a newline, then its /proc/<pid>/cgroup), read
 * once when the request arrived; the answer is cached under that key.
 */
export type NativeRender = (
  view: number,
  pid: number,
  uid: number,
  gid: number,
  callerKey: string,
) => NativeRenderResult;

/**
 * The file a view number stands for (shim/native/src/fs.h): files[view], or for a file below the
 * numbered directory N of a `cpu*` path (view = index + files.length × (N + 1)) that path with cpuN.
 */
export function filePathOfView(files: readonly string[], view: number): string | undefined {
  if (!Number.isInteger(view) || view < 0 || files.length === 0) return undefined;
  const file = files[view % files.length];
  const group = Math.floor(view / files.length);
  if (file === undefined || group === 0) return file;
  const star = file.indexOf("*/");
  return star < 0 ? undefined : `${file.slice(0, star)}${group - 1}${file.slice(star + 1)}`;
}

export interface NativeMountOptions {
  mountpoint: string;
  /**
   * View files relative to the mountpoint ("proc/meminfo"); the index is the view number. A segment
   * `cpu*` stands for the numbered directories that the file `online` beside it lists per reader.
   */
  files: readonly string[];
  /** C-side cache of rendered bytes per (caller key, view); 0 disables it. */
  cacheTtlMs: number;
  maxThreads: number;
  /** How long (µs) a loop thread polls for the next request before it sleeps; 0 = never. */
  spinUs?: number;
  /** Extra `-o` mount options appended to ro,allow_other. */
  mountOptions?: string;
  /** Unix socket to listen on for a successor (mount) or to ask the running daemon (takeOver). */
  handoverSocket?: string;
}

/** onExit's code when a successor took the connection over (the mount lives on, served by it). */
export const HANDED_OVER = -1;

/** What takeOver did: took the connection (handle), or found nothing to take (fallback). */
export type TakeOverResult =
  /** handoverMs: from asking to serving, the longest any request waited in the kernel. */
  | { handle: MountHandle; handoverMs: number; listenError?: string }
  /** "" when no daemon listens on the socket; else how the running daemon went away mid-way. */
  | { handle?: undefined; fallback: string };

/** What takeStored did: serves the connection systemd kept (handle), or says why not (fallback). */
export type TakeStoredResult =
  /** dropError: systemd did not confirm it dropped its copy (a crash would then not end the mount). */
  | { handle: MountHandle; handoverMs: number; listenError?: string; dropError?: string }
  | { handle?: undefined; fallback: string };

export interface NativeStats {
  opens: number;
  cacheHits: number;
  renders: number;
  renderErrors: number;
}

declare const handleBrand: unique symbol;
export type MountHandle = { readonly [handleBrand]: true };

/** shim/native/src/addon.c */
export interface FuseBinding {
  /** onExit(code): 0 after stop(), HANDED_OVER after a successor took over, else the loop's errno. */
  mount(options: NativeMountOptions, render: NativeRender, onExit: (code: number) => void): MountHandle;
  /**
   * Asks the daemon listening on options.handoverSocket for its live connection of
   * options.mountpoint (shim/native/src/handover.h) and serves it, listening there in turn. Throws
   * (code EHANDOVER) when that daemon refused; it then serves on.
   */
  takeOver(options: NativeMountOptions, render: NativeRender, onExit: (code: number) => void): TakeOverResult;
  /**
   * Serves the live connection of options.mountpoint that systemd kept in its fd store and passed
   * back as `fds` (shim/native/src/fdstore.h), and drops it from the store at `notifySocket` either way.
   */
  takeStored(
    options: NativeMountOptions,
    render: NativeRender,
    onExit: (code: number) => void,
    fds: number[],
    notifySocket: string,
  ): TakeStoredResult;
  /**
   * Leaves the live connection in systemd's fd store for the next start: resolves to null once stored
   * (onExit then gets HANDED_OVER), else to why not (serving goes on: stop() as usual).
   */
  store(handle: MountHandle, notifySocket: string): Promise<string | null>;
  stop(handle: MountHandle): void;
  stats(handle: MountHandle): NativeStats;
  /** Lazy unmount (MNT_DETACH); 0 or an errno number. */
  detach(path: string): number;
  /**
   * In the mount namespace of `pid`: lazy-unmount `staleCounts[i]` mounts at `targets[i]`, then
   * attach a clone of `sources[i]` (our namespace) there. Resolves to an errno (0 = done) per entry;
   * rejects with an errno when it could not enter the namespace at all.
   */
  rebind(pid: number, sources: string[], targets: string[], staleCounts: number[]): Promise<number[]>;
}

export function loadFuseBinding(): FuseBinding {
  const path = nativeAddonPath("shim/native", "boxscope_fuse");
  try {
    return requireNativeAddon<FuseBinding>(path);
  } catch (e) {
    throw new BoxscopeError(
      "BXS_NATIVE_ADDON_MISSING",
      `FUSE binding not built (${path}): install fuse3 libfuse3-dev pkg-config, then run npm run build:native`,
      { context: { path }, cause: e },
    );
  }
}
