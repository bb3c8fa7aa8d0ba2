/* The loop threads that read FUSE requests, and how a stop or a handover pauses and ends them. */
#include "fs_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the INIT request the kernel sent (the first one it sends) for a successor to replay. */
static void remember_init(boxfs_t *fs, const struct fuse_buf *buf) {
  if (buf->flags & FUSE_BUF_IS_FD || buf->size < sizeof(struct fuse_in_header)) return;
  const struct fuse_in_header *in = buf->mem;
  if (in->opcode != FUSE_INIT || in->len != buf->size) return;
  unsigned char *copy = malloc(buf->size);
  if (!copy) return; /* then this daemon cannot hand over: it refuses and goes on serving */
  memcpy(copy, buf->mem, buf->size);
  fs->init_msg = copy;
  __atomic_store_n(&fs->init_len, buf->size, __ATOMIC_RELEASE);
}

/* Waits on loop_lock while paused; 1 when the worker must end. Called with loop_lock held. */
static int park(boxfs_t *fs) {
  if (fs->ending) return 1;
  if (!fs->pause) return 0;
  fs->parked++;
  pthread_cond_broadcast(&fs->loop_cond);
  while (fs->pause && !fs->ending) pthread_cond_wait(&fs->loop_cond, &fs->loop_lock);
  fs->parked--;
  return fs->ending;
}

void on_wake_signal(int sig) { (void)sig; }

/* Interrupts every live worker's read() (called with loop_lock held: no worker can end meanwhile). */
void signal_workers(boxfs_t *fs) {
  for (int i = 0; i < fs->nthreads; i++)
    if (fs->worker_alive[i]) pthread_kill(fs->workers[i], WAKE_SIGNAL);
}

typedef struct {
  boxfs_t *fs;
  int index;
} worker_arg_t;

/*
 * Polls for the next request for up to cfg.spin_ns before the worker sleeps in read(). A reader's
 * requests come in bursts (OPEN, READ, the READ at the end, the next file): a worker asleep between
 * them must be woken each time, and waking an idle CPU is dear where it is a virtual one that halts
 * (a VM exit and an interrupt from the hypervisor) — most of a request's cost on such hosts, none of
 * it on busy ones. Bounded: at most spin_ns of CPU per request.
 */
static void spin_for_request(boxfs_t *fs) {
  struct pollfd p = {.fd = fuse_session_fd(fs->se), .events = POLLIN};
  uint64_t until = mono_ns() + fs->cfg.spin_ns;
  while (poll(&p, 1, 0) == 0 && mono_ns() < until && !__atomic_load_n(&fs->pause, __ATOMIC_ACQUIRE)) {
  }
}

/*
 * One loop thread: libfuse's own loops cannot be paused, so this one is a loop of libfuse's
 * fuse_session_receive_buf / fuse_session_process_buf that looks at a pause or the end between
 * requests; a read() blocked on an empty queue is interrupted by WAKE_SIGNAL. A request read is
 * processed to the end (or handed to JavaScript and counted in inflight) before the worker looks at
 * a pause again.
 */
static void run_worker(boxfs_t *fs, int index) {
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, WAKE_SIGNAL);
  pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
  struct fuse_buf buf;
  memset(&buf, 0, sizeof(buf));
  int err = 0;
  for (;;) {
    if (__atomic_load_n(&fs->pause, __ATOMIC_ACQUIRE) || __atomic_load_n(&fs->ending, __ATOMIC_ACQUIRE)) {
      pthread_mutex_lock(&fs->loop_lock);
      int end = park(fs);
      pthread_mutex_unlock(&fs->loop_lock);
      if (end) break;
      continue;
    }
    if (fuse_session_exited(fs->se)) break;
    if (fs->cfg.spin_ns) spin_for_request(fs);
    int res = fuse_session_receive_buf(fs->se, &buf);
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res <= 0) {
      err = -res; /* 0: ENODEV, the connection ended (unmounted or aborted) */
      break;
    }
    if (__atomic_load_n(&fs->init_len, __ATOMIC_ACQUIRE) == 0) remember_init(fs, &buf);
    fuse_session_process_buf(fs->se, &buf);
  }
  pthread_sigmask(SIG_BLOCK, &wake, NULL);
  free(buf.mem);
  pthread_mutex_lock(&fs->loop_lock);
  fs->worker_alive[index] = 0;
  fs->running--;
  if (err && !fs->loop_error) fs->loop_error = err;
  /* One worker seeing the end of the session ends them all. */
  if (!fs->ending) {
    __atomic_store_n(&fs->ending, 1, __ATOMIC_RELEASE);
    signal_workers(fs);
  }
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
}

static void *worker_main(void *arg) {
  worker_arg_t *w = arg;
  run_worker(w->fs, w->index);
  free(w);
  return NULL;
}

void *loop_main(void *arg) {
  boxfs_t *fs = arg;
  /* Signals belong to Node's main thread (SIGTERM → clean unmount in TypeScript). */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  /* Created under loop_lock: no pause signals a worker before its id and liveness are recorded. */
  pthread_mutex_lock(&fs->loop_lock);
  fs->workers[0] = pthread_self();
  fs->worker_alive[0] = 1;
  int n = 1;
  for (int i = 1; i < fs->nthreads; i++) {
    worker_arg_t *w = malloc(sizeof(*w));
    if (!w) break;
    *w = (worker_arg_t){.fs = fs, .index = n};
    fs->worker_alive[n] = 1;
    if (pthread_create(&fs->workers[n], NULL, worker_main, w) != 0) {
      fs->worker_alive[n] = 0;
      free(w);
      break;
    }
    n++;
  }
  fs->running -= fs->nthreads - n; /* workers that could not be started */
  fs->nthreads = n;
  fs->started = 1;
  pthread_mutex_unlock(&fs->loop_lock);
  run_worker(fs, 0);
  for (int i = 1; i < n; i++) pthread_join(fs->workers[i], NULL);
  /* No worker reads any more: no successor can be handed the connection from here on. */
  handover_close(fs->handover, !__atomic_load_n(&fs->handed_over, __ATOMIC_ACQUIRE));
  fs->handover = NULL;
  if (__atomic_load_n(&fs->handed_over, __ATOMIC_ACQUIRE)) {
    /* The successor serves the connection now: no unmount, no abort, and the session's fd (a dup
     * the successor also holds) simply closes when this process ends. */
    fs->cfg.on_exit(fs->cfg.ctx, BOXFS_HANDED_OVER);
    return NULL;
  }
  /* Requests still with JavaScript reply through the session: wait for them (JS answers even while
   * Node shuts down, with EIO), at most 10 s; past that leak the session rather than free it under
   * a late reply. */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += DRAIN_TIMEOUT_S;
  int drained = 1;
  pthread_mutex_lock(&fs->inflight_lock);
  while (fs->inflight > 0 && drained) {
    if (pthread_cond_timedwait(&fs->inflight_zero, &fs->inflight_lock, &until) == ETIMEDOUT) drained = 0;
  }
  pthread_mutex_unlock(&fs->inflight_lock);
  if (!drained) {
    fs->cfg.on_exit(fs->cfg.ctx, __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE) ? 0 : EIO);
    return NULL;
  }
  fuse_session_unmount(fs->se); /* no-op for an adopted session: boxfs_stop detaches the mountpoint */
  fuse_session_destroy(fs->se);
  fs->se = NULL;
  /* ENODEV from an unmount or abort is the normal end of a mounted session. */
  int stopped = __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE);
  fs->cfg.on_exit(fs->cfg.ctx, stopped ? 0 : fs->loop_error);
  return NULL;
}
