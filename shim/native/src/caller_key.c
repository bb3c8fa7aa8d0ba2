#include "caller_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

ssize_t caller_key_read(int fd, char *buf, size_t off, size_t cap) {
  size_t total = off;
  for (;;) {
    if (total >= cap) return CALLER_TOO_LONG;
    ssize_t r = read(fd, buf + total, cap - total);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return CALLER_GONE;
    if (r == 0) break;
    total += (size_t)r;
  }
  return (ssize_t)total;
}

ssize_t caller_key_cgroup(pid_t pid, char *buf, size_t off, size_t cap) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  __do_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return CALLER_GONE;
  return caller_key_read(fd, buf, off, cap);
}

ssize_t caller_key(pid_t pid, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
  ssize_t n = readlink(path, buf, cap - 1);
  if (n <= 0) return CALLER_GONE;
  if ((size_t)n >= cap - 1) return CALLER_TOO_LONG;
  buf[n++] = '\n';
  return caller_key_cgroup(pid, buf, (size_t)n, cap);
}
