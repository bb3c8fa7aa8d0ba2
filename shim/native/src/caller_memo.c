/* Who is reading: the caller identity of a pid, read from /proc and remembered briefly. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caller_key.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9 */
#endif

/* A pidfd of the thread `pid` (FUSE reports thread ids); -1 when none can be had. */
static int open_pidfd(pid_t pid) {
  static int no_thread_pidfds; /* atomic: the kernel predates PIDFD_THREAD */
  if (pid <= 0) return -1;
  if (!__atomic_load_n(&no_thread_pidfds, __ATOMIC_RELAXED)) {
    int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);
    if (fd >= 0 || errno != EINVAL) return fd;
    __atomic_store_n(&no_thread_pidfds, 1, __ATOMIC_RELAXED);
  }
  /* Without PIDFD_THREAD only a thread-group leader has a pidfd; other threads are not remembered. */
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The process of a pidfd has not exited (a pidfd polls readable once it has). */
static int pidfd_running(int pidfd) {
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  return poll(&p, 1, 0) == 0;
}

/* The caller identity of `pid` into key (caller_key's answer), and its hash into *hash. */
ssize_t caller_key_memo(boxfs_t *fs, pid_t pid, char *key, size_t cap, uint64_t *hash) {
  struct key_memo *m = &fs->memo[(unsigned)pid % MEMO_SLOTS];
  uint64_t now = mono_ns();
  int pidfd = -1;
  size_t ns_len = 0;
  pthread_mutex_lock(&fs->memo_lock);
  if (m->pid == pid && m->pidfd >= 0 && pidfd_running(m->pidfd)) {
    if (now - m->at < MEMO_NS && m->len <= cap) {
      size_t len = m->len;
      memcpy(key, m->key, len);
      *hash = m->hash;
      pthread_mutex_unlock(&fs->memo_lock);
      return (ssize_t)len;
    }
    /* The same process, due for a fresh reading of its cgroups (it may have moved): its pidfd and
     * its pid namespace (fixed for a process's life) are still good. */
    const char *nl = memchr(m->key, '\n', m->len);
    ns_len = nl ? (size_t)(nl - m->key) + 1 : 0;
    memcpy(key, m->key, ns_len);
    pidfd = m->pidfd;
    m->pidfd = -1;
  }
  pthread_mutex_unlock(&fs->memo_lock);
  /* The pidfd first, then the identity, then the check that the pidfd's process is still running:
   * only then was the identity read from that process (and not from a successor with its pid). */
  if (pidfd < 0) pidfd = open_pidfd(pid);
  ssize_t len = ns_len > 0 ? caller_key_cgroup(pid, key, ns_len, cap) : caller_key(pid, key, cap);
  if (len >= 0) *hash = cache_key_hash(key, (size_t)len);
  if (pidfd >= 0 && len >= 0 && (size_t)len <= MEMO_KEY_CAP && pidfd_running(pidfd)) {
    pthread_mutex_lock(&fs->memo_lock);
    int replaced = m->pidfd;
    m->pid = pid;
    m->pidfd = pidfd;
    m->at = now;
    m->len = (size_t)len;
    m->hash = *hash;
    memcpy(m->key, key, (size_t)len);
    pthread_mutex_unlock(&fs->memo_lock);
    if (replaced >= 0) close(replaced);
  } else if (pidfd >= 0) {
    close(pidfd);
  }
  return len;
}
