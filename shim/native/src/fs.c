/* Start, stop and handover of the filesystem (fs.h); the parts are listed in fs_internal.h. */
#include "fs_internal.h"

#include "cleanup.h"
#include "fdstore.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* ---- handing the connection to a successor (handover.h) ---- */

static void resume_loop(void *ctx) {
  boxfs_t *fs = ctx;
  pthread_mutex_lock(&fs->loop_lock);
  __atomic_store_n(&fs->pause, 0, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
}

static int pause_and_export(void *ctx, hbuf_t *out, int *fuse_fd, char *err, size_t err_len) {
  boxfs_t *fs = ctx;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += PAUSE_TIMEOUT_S;
  pthread_mutex_lock(&fs->loop_lock);
  if (!fs->started) {
    pthread_mutex_unlock(&fs->loop_lock);
    snprintf(err, err_len, "the running daemon is still starting");
    return EAGAIN;
  }
  if (fs->ending || __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE)) {
    pthread_mutex_unlock(&fs->loop_lock);
    snprintf(err, err_len, "the running daemon is stopping");
    return ESHUTDOWN;
  }
  __atomic_store_n(&fs->pause, 1, __ATOMIC_RELEASE);
  int timed_out = 0;
  while (fs->parked < fs->running && !fs->ending && !timed_out) {
    signal_workers(fs);
    struct timespec nudge;
    clock_gettime(CLOCK_REALTIME, &nudge);
    nudge.tv_nsec += PAUSE_NUDGE_NS;
    if (nudge.tv_nsec >= 1000000000L) {
      nudge.tv_sec++;
      nudge.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&fs->loop_cond, &fs->loop_lock, &nudge);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    timed_out = now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec);
  }
  int ended = fs->ending;
  pthread_mutex_unlock(&fs->loop_lock);
  if (ended || timed_out) {
    resume_loop(fs);
    snprintf(err, err_len, ended ? "the running daemon is stopping" : "the running daemon's loop did not pause");
    return ended ? ESHUTDOWN : ETIMEDOUT;
  }
  /* Paused: nothing new is read. Every request already read must be answered before the
   * connection changes hands (answers go out through this session's fd). */
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += DRAIN_TIMEOUT_S;
  pthread_mutex_lock(&fs->inflight_lock);
  while (fs->inflight > 0 && !timed_out)
    timed_out = pthread_cond_timedwait(&fs->inflight_zero, &fs->inflight_lock, &until) == ETIMEDOUT;
  pthread_mutex_unlock(&fs->inflight_lock);
  if (timed_out) {
    resume_loop(fs);
    snprintf(err, err_len, "the running daemon still has renders in flight");
    return EBUSY;
  }
  if (__atomic_load_n(&fs->init_len, __ATOMIC_ACQUIRE) == 0) {
    resume_loop(fs);
    snprintf(err, err_len, "the running daemon has not seen the kernel's FUSE INIT");
    return EAGAIN;
  }
  export_state(fs, out);
  if (out->failed) {
    resume_loop(fs);
    snprintf(err, err_len, "out of memory writing the state");
    return ENOMEM;
  }
  *fuse_fd = fuse_session_fd(fs->se);
  return 0;
}

static void end_after_handover(void *ctx) {
  boxfs_t *fs = ctx;
  pthread_mutex_lock(&fs->loop_lock);
  __atomic_store_n(&fs->handed_over, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&fs->ending, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
}

static int start_listening(boxfs_t *fs, char *err, size_t err_len) {
  if (!fs->cfg.handover_socket || !*fs->cfg.handover_socket) return 0;
  handover_server_cfg_t hc = {
      .mountpoint = fs->mountpoint,
      .pause_and_export = pause_and_export,
      .resume = resume_loop,
      .handed_over = end_after_handover,
      .ctx = fs,
  };
  fs->handover = handover_listen(fs->cfg.handover_socket, &hc, err, err_len);
  return fs->handover ? 0 : -1;
}

/* ---- start and stop ---- */

/*
 * The fusectl entry of our connection, from /proc/self/mountinfo (a stat() of the mountpoint here
 * would wait for the FUSE INIT answer that only the loop gives). fusectl names a connection by the
 * kernel's dev_t: major << 20 | minor.
 */
static void find_abort_path(boxfs_t *fs) {
  fs->abort_path[0] = '\0';
  __do_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return;
  char line[4096];
  unsigned maj, min;
  char mp[2048];
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "%*u %*u %u:%u %*s %2047s", &maj, &min, mp) == 3 && strcmp(mp, fs->mountpoint) == 0 &&
        strstr(line, " - fuse.boxscope ")) {
      snprintf(fs->abort_path, sizeof(fs->abort_path), "/sys/fs/fuse/connections/%u/abort", (maj << 20) | min);
    }
  }
}

/* Many hosts mount fusectl at boot (systemd does); where nobody did, mount it to be able to abort. */
static void ensure_fusectl(void) {
  struct stat st;
  if (stat("/sys/fs/fuse/connections", &st) != 0) return;
  struct statfs sfs;
  if (statfs("/sys/fs/fuse/connections", &sfs) == 0 && sfs.f_type == 0x65735543 /* FUSECTL_SUPER_MAGIC */)
    return;
  mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL);
}

/* A daemon whose loop never ran; its session, if any, is not mounted (or was unmounted): destroying
 * it closes the connection's fd. */
static void fs_free(boxfs_t *fs) {
  if (fs->se) fuse_session_destroy(fs->se);
  cache_free(fs->cache);
  handles_free(fs->handles);
  free(fs->memo);
  for (int i = 1; i < fs->nnodes; i++) free(fs->nodes[i].name);
  free(fs->init_msg);
  free(fs->mountpoint);
  free((char *)fs->cfg.handover_socket);
  free(fs);
}
define_cleanup_function(boxfs_t *, fs_free);

static boxfs_t *fs_new(const boxfs_config_t *cfg, char *err, size_t err_len) {
  boxfs_t *fs = calloc(1, sizeof(*fs));
  if (!fs) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  fs->cfg = *cfg;
  fs->cfg.handover_socket = NULL; /* the caller's string: copied below */
  fs->mountpoint = strdup(cfg->mountpoint);
  fs->mounted_at = time(NULL);
  fs->nthreads = cfg->max_threads < 1 ? 1 : cfg->max_threads > MAX_WORKERS ? MAX_WORKERS : cfg->max_threads;
  fs->running = fs->nthreads;
  pthread_mutex_init(&fs->inflight_lock, NULL);
  pthread_cond_init(&fs->inflight_zero, NULL);
  pthread_mutex_init(&fs->memo_lock, NULL);
  pthread_mutex_init(&fs->loop_lock, NULL);
  pthread_cond_init(&fs->loop_cond, NULL);
  fs->memo = calloc(MEMO_SLOTS, sizeof(struct key_memo));
  fs->handles = handles_new(table_ref, table_unref);
  if (cfg->handover_socket && *cfg->handover_socket) fs->cfg.handover_socket = strdup(cfg->handover_socket);
  if (cfg->cache_ttl_ns > 0) fs->cache = cache_new(cfg->cache_ttl_ns);
  int want_socket = cfg->handover_socket && *cfg->handover_socket;
  if (!fs->memo || !fs->handles || !fs->mountpoint || (cfg->cache_ttl_ns > 0 && !fs->cache) ||
      (want_socket && !fs->cfg.handover_socket)) {
    snprintf(err, err_len, "out of memory");
    fs_free(fs);
    return NULL;
  }
  for (int i = 0; i < MEMO_SLOTS; i++) fs->memo[i].pidfd = -1;
  return fs;
}

static struct fuse_session *new_session(boxfs_t *fs, char *err, size_t err_len) {
  /*
   * No default_permissions: with it the kernel checks the mode bits itself and, as file attributes
   * are never cached (a file's size is the caller's own), asks for them with a GETATTR before every
   * open. Every file here is world-readable and read-only, so op_open and op_access say the same.
   */
  char opts[1024];
  snprintf(opts, sizeof(opts), "ro,allow_other,fsname=boxscope,subtype=boxscope%s%s",
           fs->cfg.extra_options && *fs->cfg.extra_options ? "," : "",
           fs->cfg.extra_options ? fs->cfg.extra_options : "");
  char *argv[] = {"boxscope", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  struct fuse_session *se = fuse_session_new(&args, &boxfs_ops, sizeof(boxfs_ops), fs);
  if (!se) snprintf(err, err_len, "fuse_session_new failed (mount options \"%s\")", opts);
  return se;
}

/* The workers' read() blocks (and WAKE_SIGNAL interrupts it); its handler is process-wide. */
static int install_wake_handler(char *err, size_t err_len) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_wake_signal; /* no SA_RESTART: the read must fail with EINTR */
  sigemptyset(&sa.sa_mask);
  if (sigaction(WAKE_SIGNAL, &sa, NULL) != 0) {
    snprintf(err, err_len, "cannot install the loop's wake-up signal handler (%s)", strerror(errno));
    return -1;
  }
  return 0;
}

boxfs_t *boxfs_start(const boxfs_config_t *cfg, char *err, size_t err_len) {
  call_cleaner(fs_free) boxfs_t *fs = fs_new(cfg, err, err_len);
  if (!fs) return NULL;
  if (install_wake_handler(err, err_len) != 0 || build_tree(fs, err, err_len) != 0) return NULL;
  fs->se = new_session(fs, err, err_len);
  if (!fs->se) return NULL;
  if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
    int e = errno;
    snprintf(err, err_len, "cannot mount FUSE on %s (%s)", fs->mountpoint, strerror(e ? e : EIO));
    return NULL;
  }
  find_abort_path(fs);
  if (start_listening(fs, err, err_len) != 0 || pthread_create(&fs->loop_thread, NULL, loop_main, fs) != 0) {
    if (!err[0]) snprintf(err, err_len, "cannot start the FUSE loop thread");
    handover_close(fs->handover, 1);
    fs->handover = NULL;
    fuse_session_unmount(fs->se);
    return NULL;
  }
  pthread_detach(fs->loop_thread);
  return move_ptr(fs);
}

/*
 * A session on the connection's fd that libfuse treats as initialised: libfuse answers EIO to
 * everything until it processed a FUSE_INIT, and has no other way in. The predecessor's INIT request
 * is replayed: libfuse sets itself up exactly as the predecessor did (same kernel flags, same
 * options), and its reply goes to a request id the kernel finished long ago, which the kernel
 * rejects (ENOENT, which libfuse ignores) without touching the connection.
 */
static int adopt_session(boxfs_t *fs, int fuse_fd, char *err, size_t err_len) {
  fs->se = new_session(fs, err, err_len);
  if (!fs->se) return -1;
  char devfd[32];
  snprintf(devfd, sizeof(devfd), "/dev/fd/%d", fuse_fd);
  if (fuse_session_mount(fs->se, devfd) != 0) {
    snprintf(err, err_len, "libfuse would not adopt the handed-over /dev/fuse fd");
    fuse_session_destroy(fs->se);
    fs->se = NULL;
    return -1;
  }
  __do_free unsigned char *init = malloc(fs->init_len);
  if (!init) {
    snprintf(err, err_len, "out of memory");
    return -1;
  }
  memcpy(init, fs->init_msg, fs->init_len);
  struct fuse_buf b = {.size = fs->init_len, .mem = init};
  fuse_session_process_buf(fs->se, &b);
  return 0;
}

/* A daemon for the live connection on fuse_fd with its predecessor's state, not serving yet; NULL
 * with err (fuse_fd is closed then). */
static boxfs_t *fs_adopt(const boxfs_config_t *cfg, int fuse_fd, const unsigned char *state, size_t state_len,
                         char *err, size_t err_len) {
  call_cleaner(fs_free) boxfs_t *fs = fs_new(cfg, err, err_len);
  if (!fs || install_wake_handler(err, err_len) != 0 || import_state(fs, state, state_len, err, err_len) != 0 ||
      build_tree(fs, err, err_len) != 0 || adopt_session(fs, fuse_fd, err, err_len) != 0) {
    if (!fs || !fs->se) close(fuse_fd); /* else the session has it: fs_free closes it */
    return NULL;
  }
  fs->adopted = 1;
  if (!fs->abort_path[0]) find_abort_path(fs);
  return move_ptr(fs);
}

/* Starts serving an adopted connection and listening for our own successor; -1 with err (and fs freed)
 * when the loop cannot start: the connection is then ended, like a crash (held unserved it would hang
 * every reader). */
static int serve_adopted(boxfs_t *fs, uint64_t asked, char *err, size_t err_len) {
  if (pthread_create(&fs->loop_thread, NULL, loop_main, fs) != 0) {
    snprintf(err, err_len, "cannot start the FUSE loop thread on the adopted connection");
    boxfs_stop(fs);
    fs_free(fs);
    return -1;
  }
  pthread_detach(fs->loop_thread);
  fs->handover_ns = mono_ns() - asked;
  /* The successor of this daemon asks here next; failing that, serving goes on (listen_error says). */
  if (start_listening(fs, fs->listen_error, sizeof(fs->listen_error)) != 0 && !fs->listen_error[0])
    snprintf(fs->listen_error, sizeof(fs->listen_error), "cannot listen on the handover socket");
  return 0;
}

boxfs_t *boxfs_take_over(const boxfs_config_t *cfg, int *outcome, char *err, size_t err_len) {
  int sock = -1, fuse_fd = -1;
  unsigned char *state = NULL;
  size_t state_len = 0;
  uint64_t asked = mono_ns();
  *outcome = handover_take(cfg->handover_socket, cfg->mountpoint, &sock, &fuse_fd, &state, &state_len, err, err_len);
  if (*outcome != HANDOVER_TAKEN) return NULL;
  boxfs_t *fs = fs_adopt(cfg, fuse_fd, state, state_len, err, err_len);
  free(state);
  if (!fs) {
    handover_abandon(sock, EPROTO);
    *outcome = HANDOVER_REFUSED;
    return NULL;
  }
  /* Only once the predecessor acknowledged does it never read again: until then, no reading here. */
  if (handover_commit(sock, err, err_len) != 0) {
    fs_free(fs);
    *outcome = HANDOVER_GONE;
    return NULL;
  }
  if (serve_adopted(fs, asked, err, err_len) != 0) {
    *outcome = HANDOVER_REFUSED;
    return NULL;
  }
  return fs;
}

boxfs_t *boxfs_adopt_stored(const boxfs_config_t *cfg, const int *fds, int nfds, char *err, size_t err_len) {
  int fuse_fd = -1;
  unsigned char *state = NULL;
  size_t state_len = 0;
  uint64_t asked = mono_ns();
  if (fdstore_open(fds, nfds, cfg->mountpoint, &fuse_fd, &state, &state_len, err, err_len) != 0) return NULL;
  boxfs_t *fs = fs_adopt(cfg, fuse_fd, state, state_len, err, err_len);
  free(state);
  if (!fs) return NULL;
  return serve_adopted(fs, asked, err, err_len) == 0 ? fs : NULL;
}

/* Runs on a thread of its own, never Node's: the drain waits for renders that JavaScript answers. */
int boxfs_store(boxfs_t *fs, const char *notify_socket, char *err, size_t err_len) {
  hbuf_t state = {0};
  int fuse_fd = -1;
  int e = pause_and_export(fs, &state, &fuse_fd, err, err_len);
  if (e) {
    free(state.data);
    return e;
  }
  e = fdstore_put(notify_socket, fs->mountpoint, fuse_fd, state.data, state.len, err, err_len);
  free(state.data);
  if (e) {
    resume_loop(fs);
    return e;
  }
  end_after_handover(fs);
  return 0;
}

const char *boxfs_listen_error(boxfs_t *fs) { return fs->listen_error[0] ? fs->listen_error : NULL; }

uint64_t boxfs_handover_ns(boxfs_t *fs) { return fs->handover_ns; }

void boxfs_stop(boxfs_t *fs) {
  if (__atomic_exchange_n(&fs->stopping, 1, __ATOMIC_ACQ_REL)) return;
  /* After a handover the successor serves the mount: nothing here may touch it. */
  if (__atomic_load_n(&fs->handed_over, __ATOMIC_ACQUIRE)) return;
  /* The workers end on WAKE_SIGNAL; the detach and the abort end the connection (bind mounts of our
   * files in containers would keep it alive after the detach; aborting ends it now, as the process
   * exiting would). */
  pthread_mutex_lock(&fs->loop_lock);
  __atomic_store_n(&fs->ending, 1, __ATOMIC_RELEASE);
  signal_workers(fs);
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
  umount2(fs->mountpoint, MNT_DETACH);
  if (fs->abort_path[0]) {
    ensure_fusectl();
    int fd = open(fs->abort_path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t w = write(fd, "1", 1);
      (void)w;
      close(fd);
    }
  }
}

void boxfs_stats(boxfs_t *fs, boxfs_stats_t *out) {
  out->opens = __atomic_load_n(&fs->opens, __ATOMIC_RELAXED);
  out->cache_hits = __atomic_load_n(&fs->cache_hits, __ATOMIC_RELAXED);
  out->renders = __atomic_load_n(&fs->renders, __ATOMIC_RELAXED);
  out->render_errors = __atomic_load_n(&fs->render_errors, __ATOMIC_RELAXED);
}

int boxfs_detach(const char *path) { return umount2(path, MNT_DETACH) == 0 ? 0 : errno; }
