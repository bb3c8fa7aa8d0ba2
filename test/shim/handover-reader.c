/*
 * A reader inside a test container (test/shim/fuse-handover.test.ts): reads view files until
 * /tmp/stop exists and prints one JSON line of what it saw. Mode "loop": open, read to EOF, close,
 * file after file. Mode "hold": opens every file once and re-reads each with lseek(0) + read to EOF,
 * as procps top does. Every read is checked: a failed syscall is "failed", bytes that are not a
 * whole valid rendering of the container's view are "wrong". The latency is that of one whole read
 * (open to close, or lseek to EOF); the slowest one's start is printed as wall-clock ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 16
#define BUF (256 * 1024)

static char buf[BUF];
static long memtotal_kb; /* expected MemTotal */
static int lines_of[MAX_FILES]; /* line count of the first read of each file: a whole rendering keeps it */
static char first_error[256];

static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int count_lines(const char *p, size_t n) {
  int l = 0;
  for (size_t i = 0; i < n; i++) l += p[i] == '\n';
  return l;
}

/* 1 when buf[0..n) is a whole rendering of `path` for this container. */
static int valid(int i, const char *path, size_t n) {
  if (n == 0 || buf[n - 1] != '\n') return 0;
  int lines = count_lines(buf, n);
  if (lines_of[i] == 0) lines_of[i] = lines;
  /* /proc/stat's intr and ctxt lines stay; its line count is the view's, fixed for the cpuset */
  if (lines != lines_of[i]) return 0;
  if (strstr(path, "meminfo")) {
    const char *m = memmem(buf, n, "MemTotal:", 9);
    if (!m) return 0;
    long kb = strtol(m + 9, NULL, 10);
    return kb == memtotal_kb;
  }
  if (strstr(path, "/stat")) return n > 4 && memcmp(buf, "cpu ", 4) == 0;
  if (strstr(path, "loadavg")) return lines == 1;
  return 1;
}

static void note(const char *what, const char *path, int err) {
  if (!first_error[0]) snprintf(first_error, sizeof(first_error), "%s %s: %s", what, path, strerror(err));
}

/* Reads fd from its current offset to EOF into buf; -1 with errno on failure. */
static ssize_t read_all(int fd) {
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, BUF - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return (ssize_t)n;
    n += (size_t)r;
    if (n == BUF) return (ssize_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s loop|hold MEMTOTAL_KB FILE...\n", argv[0]);
    return 2;
  }
  int hold = strcmp(argv[1], "hold") == 0;
  memtotal_kb = strtol(argv[2], NULL, 10);
  int nfiles = argc - 3 > MAX_FILES ? MAX_FILES : argc - 3;
  char **files = argv + 3;
  int fds[MAX_FILES];
  long long reads = 0, failed = 0, wrong = 0, max_us = 0, max_at = 0, rounds = 0;
  for (int i = 0; i < nfiles; i++) {
    fds[i] = -1;
    if (hold && (fds[i] = open(files[i], O_RDONLY)) < 0) {
      note("open", files[i], errno);
      failed++;
    }
  }
  while (access("/tmp/stop", F_OK) != 0) {
    for (int i = 0; i < nfiles; i++) {
      long long t0 = now_us(), at = wall_ms();
      ssize_t n;
      if (hold) {
        if (fds[i] < 0) continue;
        if (lseek(fds[i], 0, SEEK_SET) != 0) {
          note("lseek", files[i], errno);
          failed++;
          continue;
        }
        n = read_all(fds[i]);
        if (n < 0) note("read", files[i], errno);
      } else {
        int fd = open(files[i], O_RDONLY);
        if (fd < 0) {
          note("open", files[i], errno);
          failed++;
          continue;
        }
        n = read_all(fd);
        if (n < 0) note("read", files[i], errno);
        close(fd);
      }
      long long us = now_us() - t0;
      if (us > max_us) {
        max_us = us;
        max_at = at;
      }
      reads++;
      if (n < 0) {
        failed++;
      } else if (!valid(i, files[i], (size_t)n)) {
        wrong++;
        if (!first_error[0])
          snprintf(first_error, sizeof(first_error), "wrong bytes from %s (%zd bytes)", files[i], n);
      }
    }
    if (rounds++ == 0) {
      /* the test starts upgrading once every reader has read everything once */
      char ready[64];
      snprintf(ready, sizeof(ready), "/tmp/ready.%d", (int)getpid());
      close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    }
    usleep(2000);
  }
  printf("{\"mode\":\"%s\",\"reads\":%lld,\"failed\":%lld,\"wrong\":%lld,\"maxUs\":%lld,\"maxAtMs\":%lld,\"firstError\":\"%s\"}\n",
         argv[1], reads, failed, wrong, max_us, max_at, first_error);
  return 0;
}
