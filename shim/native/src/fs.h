/*
 * The read-only FUSE filesystem: a fixed tree of view files (LXCFS's layout), served by libfuse3's
 * low-level loop on its own thread(s). open() and getattr() need the caller's bytes: a TTL-cache hit
 * answers at once on the loop thread; a miss hands the request to `render` (JavaScript) and the
 * answer is sent later by boxfs_complete, so the loop never waits for JavaScript. The bytes live in
 * the file handle; read() and release() only touch them.
 */
#ifndef BOXSCOPE_FS_H
#define BOXSCOPE_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "content.h"

/* A request waiting for its rendering. */
typedef struct boxfs_call boxfs_call_t;

/* Queues the rendering of `view` for the caller identity `key` (caller_key.h; valid until the call
 * completes) of the reading thread `pid`: 0, then boxfs_complete(call, ...) exactly once later (from
 * any thread); or an errno value to fail the request now (call is then freed by the caller). */
typedef int (*boxfs_render_fn)(void *ctx, boxfs_call_t *call, int view, pid_t pid, uid_t uid, gid_t gid,
                               const char *key, size_t key_len);
typedef void (*boxfs_exit_fn)(void *ctx, int code);

typedef struct {
  const char *mountpoint;
  /* "proc/meminfo", ...; index = view number passed to render. One directory segment may end in
   * '*' (the segment "cpu*" of "sys/devices/system/cpu/cpu* /online", without the space): it stands
   * for the numbered directories cpu0, cpu1, ... that the file "online" beside it lists for the
   * caller; the view number of a file below the directory number N is its index + nfiles * (N + 1). */
  const char *const *files;
  int nfiles;
  uint64_t cache_ttl_ns; /* 0 = every open renders */
  int max_threads; /* 1 = single-threaded loop (enough: nothing in it blocks) */
  const char *extra_options; /* appended to -o, may be NULL */
  boxfs_render_fn render;
  boxfs_exit_fn on_exit; /* called once, on the loop thread, after the loop ended */
  void *ctx;
} boxfs_config_t;

typedef struct {
  uint64_t opens, cache_hits, renders, render_errors;
} boxfs_stats_t;

typedef struct boxfs boxfs_t;

/* Mounts and starts the loop thread. On failure returns NULL with a message in err. */
boxfs_t *boxfs_start(const boxfs_config_t *cfg, char *err, size_t err_len);
/* Asks the loop to end: lazy unmount, then abort the connection so bind mounts elsewhere cannot keep
 * the loop alive. Returns at once; on_exit follows. Safe to call more than once. */
void boxfs_stop(boxfs_t *fs);
void boxfs_stats(boxfs_t *fs, boxfs_stats_t *out);
/* Answers a queued request with c (the call takes over one reference; NULL with err != 0 fails it).
 * c goes into the cache only when `cacheable` (a settling container's bytes must not be reused). */
void boxfs_complete(boxfs_call_t *call, int err, content_t *c, bool cacheable);
/* Lazy unmount of a (stale) mountpoint; 0 or errno. */
int boxfs_detach(const char *path);

#endif
