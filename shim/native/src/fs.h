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
  uint64_t spin_ns; /* how long a loop thread polls for the next request before it sleeps; 0 = never */
  const char *extra_options; /* appended to -o, may be NULL */
  /* Unix socket on which a successor asks for the connection (handover.h); NULL or "" = none. */
  const char *handover_socket;
  boxfs_render_fn render;
  boxfs_exit_fn on_exit; /* called once, on the loop thread, after the loop ended; BOXFS_HANDED_OVER
                          * when a successor took the connection (the mount lives on) */
  void *ctx;
} boxfs_config_t;

typedef struct {
  uint64_t opens, cache_hits, renders, render_errors;
} boxfs_stats_t;

typedef struct boxfs boxfs_t;

#define BOXFS_HANDED_OVER (-1)

/* Mounts and starts the loop thread. On failure returns NULL with a message in err. */
boxfs_t *boxfs_start(const boxfs_config_t *cfg, char *err, size_t err_len);
/*
 * Takes the live connection of cfg->mountpoint over from the daemon listening on cfg->handover_socket
 * and serves it. On failure NULL, with *outcome a handover.h value: HANDOVER_NONE (nobody listens)
 * or HANDOVER_GONE (it went away mid-way; err says): mount with boxfs_start; HANDOVER_REFUSED: err.
 */
boxfs_t *boxfs_take_over(const boxfs_config_t *cfg, int *outcome, char *err, size_t err_len);
/*
 * Serves the live connection that systemd kept in its fd store (fdstore.h) and passed back as `fds`
 * (those named FDSTORE_NAME): NULL with err when they are not a connection of cfg->mountpoint and its
 * state (every fd is closed then). The caller drops the stored copies either way.
 */
boxfs_t *boxfs_adopt_stored(const boxfs_config_t *cfg, const int *fds, int nfds, char *err, size_t err_len);
/*
 * Leaves the live connection with systemd for the next start (fdstore.h): pauses, drains, stores,
 * then ends the loop without unmounting (on_exit gets BOXFS_HANDED_OVER). Blocks until the in-flight
 * renders are answered, so never call it on the thread that answers them. 0, or an errno with err
 * (serving goes on; stop as usual).
 */
int boxfs_store(boxfs_t *fs, const char *notify_socket, char *err, size_t err_len);
/* After boxfs_take_over or boxfs_adopt_stored: why this daemon does not listen for a successor itself, or NULL. */
const char *boxfs_listen_error(boxfs_t *fs);
/* After boxfs_take_over or boxfs_adopt_stored: how long it took from asking to serving, an upper bound of how long the
 * connection was not read (requests waited in the kernel meanwhile). */
uint64_t boxfs_handover_ns(boxfs_t *fs);
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
