/*
 * The read-only FUSE filesystem: a fixed tree of view files (LXCFS's layout), served by libfuse3's
 * low-level multi-threaded loop on its own threads. Each open() asks `render` for the caller's bytes
 * (through the TTL cache when enabled) and keeps them in the file handle; read() and release() only
 * touch those bytes.
 */
#ifndef BOXSCOPE_FS_H
#define BOXSCOPE_FS_H

#include <stdint.h>
#include <sys/types.h>

#include "content.h"

/* Returns 0 and sets *out (one reference), or an errno value for the open to fail with. */
typedef int (*boxfs_render_fn)(void *ctx, int view, pid_t pid, uid_t uid, gid_t gid, content_t **out);
typedef void (*boxfs_exit_fn)(void *ctx, int code);

typedef struct {
  const char *mountpoint;
  const char *const *files; /* "proc/meminfo", ...; index = view number passed to render */
  int nfiles;
  uint64_t cache_ttl_ns; /* 0 = every open renders */
  int max_threads;
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
/* Lazy unmount of a (stale) mountpoint; 0 or errno. */
int boxfs_detach(const char *path);

#endif
