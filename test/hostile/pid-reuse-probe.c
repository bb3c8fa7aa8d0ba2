/*
 * Pid-reuse probe for the shim (test/hostile/shim-pid-reuse.test.ts). A process in cgroup A reads a
 * view and exits; at once (or after a delay) a process in cgroup B is created with the same pid
 * (clone3 with set_tid) and reads it too. Two long-lived readers, one per cgroup, read throughout.
 * Every answer's MemTotal is checked against the reader's own cgroup's limit.
 *
 * usage: pid-reuse-probe FILE REUSES DELAYS_US A_KB A_PROCS B_KB B_PROCS
 *   DELAYS_US: comma-separated delays between A's exit and B's creation (REUSES per delay)
 *   A_PROCS, B_PROCS: comma-separated cgroup.procs files a process writes itself into to join A, B
 * Prints one JSON line of counts; exits 0 when it could run (the caller judges the counts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* struct clone_args up to set_tid (CLONE_ARGS_SIZE_VER1), declared here so old headers build it. */
struct clone_args_v1 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size;
};

static const char *file;

static void die(const char *what) {
  fprintf(stderr, "pid-reuse-probe: %s: %s\n", what, strerror(errno));
  exit(2);
}

/* clone3 like fork(), with the child's pid forced to `pid` when pid > 0; -errno on failure. */
static pid_t clone_as(pid_t pid) {
  pid_t tid = pid;
  struct clone_args_v1 a;
  memset(&a, 0, sizeof(a));
  a.exit_signal = SIGCHLD;
  if (pid > 0) {
    a.set_tid = (uint64_t)(uintptr_t)&tid;
    a.set_tid_size = 1;
  }
  long r = syscall(SYS_clone3, &a, sizeof(a));
  return r < 0 ? -errno : (pid_t)r;
}

/* Moves the calling process into every cgroup.procs file of a comma-separated list. */
static void join_cgroup(const char *procs_list) {
  char *list = strdup(procs_list);
  char me[32];
  int n = snprintf(me, sizeof(me), "%d\n", (int)getpid());
  for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, me, (size_t)n) != n) die(p);
    close(fd);
  }
  free(list);
}

/* MemTotal in kB of one open+read+close of the view; -1 when the read failed or has no MemTotal. */
static long read_memtotal(void) {
  static char buf[65536];
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(fd);
  buf[len] = '\0';
  char *m = strstr(buf, "MemTotal:");
  return m ? strtol(m + 9, NULL, 10) : -1;
}

static void read_all(int fd, void *buf, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("read from a probe process");
    got += (size_t)r;
  }
}

static void write_all(int fd, const void *buf, size_t n) {
  if (write(fd, buf, n) != (ssize_t)n) die("write to a probe process");
}

typedef struct {
  int32_t pid; /* the reader's pid, or -errno when it could not be created */
  int32_t pad;
  int64_t kb;  /* its MemTotal, -1 on a failed read */
} answer_t;

/*
 * A forker: joins its cgroup once, then per request (a pid to force, or 0 for any) creates a child
 * that reads the view once and exits, reaps it, and answers with the child's pid and MemTotal.
 */
static void forker(const char *procs, int req_fd, int ans_fd) {
  join_cgroup(procs);
  int32_t want;
  while (read(req_fd, &want, sizeof(want)) == (ssize_t)sizeof(want)) {
    int kb_pipe[2];
    if (pipe2(kb_pipe, O_CLOEXEC) != 0) die("pipe");
    answer_t a = {0, 0, -1};
    pid_t child = clone_as(want);
    if (child == 0) {
      int64_t kb = read_memtotal();
      write_all(kb_pipe[1], &kb, sizeof(kb));
      _exit(0);
    }
    close(kb_pipe[1]);
    if (child < 0) {
      a.pid = child;
    } else {
      a.pid = child;
      read_all(kb_pipe[0], &a.kb, sizeof(a.kb));
      if (waitpid(child, NULL, 0) != child) die("waitpid");
    }
    close(kb_pipe[0]);
    write_all(ans_fd, &a, sizeof(a));
  }
  _exit(0);
}

typedef struct {
  int64_t reads, wrong, failed;
} loop_counts_t;

/* A long-lived reader: joins its cgroup, reads until its stop pipe closes, reports its counts. */
static void looper(const char *procs, long expect_kb, int stop_fd, int ans_fd) {
  join_cgroup(procs);
  loop_counts_t c = {0, 0, 0};
  struct pollfd p = {.fd = stop_fd, .events = POLLIN};
  while (poll(&p, 1, 0) == 0) {
    long kb = read_memtotal();
    c.reads++;
    if (kb < 0)
      c.failed++;
    else if (kb != expect_kb)
      c.wrong++;
    usleep(100);
  }
  write_all(ans_fd, &c, sizeof(c));
  _exit(0);
}

typedef struct {
  int req, ans;
} channel_t;

static channel_t spawn_forker(const char *procs) {
  int req[2], ans[2];
  if (pipe2(req, O_CLOEXEC) != 0 || pipe2(ans, O_CLOEXEC) != 0) die("pipe");
  pid_t p = fork();
  if (p < 0) die("fork");
  if (p == 0) {
    close(req[1]);
    close(ans[0]);
    forker(procs, req[0], ans[1]);
  }
  close(req[0]);
  close(ans[1]);
  return (channel_t){req[1], ans[0]};
}

static channel_t spawn_looper(const char *procs, long expect_kb) {
  int stop[2], ans[2];
  if (pipe2(stop, O_CLOEXEC) != 0 || pipe2(ans, O_CLOEXEC) != 0) die("pipe");
  pid_t p = fork();
  if (p < 0) die("fork");
  if (p == 0) {
    close(stop[1]);
    close(ans[0]);
    looper(procs, expect_kb, stop[0], ans[1]);
  }
  close(stop[0]);
  close(ans[1]);
  return (channel_t){stop[1], ans[0]};
}

static answer_t ask(channel_t ch, int32_t want) {
  answer_t a;
  write_all(ch.req, &want, sizeof(want));
  read_all(ch.ans, &a, sizeof(a));
  return a;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s FILE REUSES DELAYS_US A_KB A_PROCS B_KB B_PROCS\n", argv[0]);
    return 2;
  }
  file = argv[1];
  long reuses = atol(argv[2]);
  long a_kb = atol(argv[4]), b_kb = atol(argv[6]);
  channel_t loop_a = spawn_looper(argv[5], a_kb);
  channel_t loop_b = spawn_looper(argv[7], b_kb);
  channel_t fork_a = spawn_forker(argv[5]);
  channel_t fork_b = spawn_forker(argv[7]);
  printf("{\"delays\":[");
  char *delays = strdup(argv[3]);
  const char *sep = "";
  for (char *save = NULL, *d = strtok_r(delays, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
    long delay_us = atol(d);
    long reused = 0, not_reused = 0, wrong_a = 0, wrong_b = 0, failed = 0;
    for (long i = 0; i < reuses; i++) {
      answer_t a = ask(fork_a, 0);
      if (a.pid < 0) {
        errno = -a.pid;
        die("clone3 in cgroup A");
      }
      if (delay_us > 0) sleep_us(delay_us);
      answer_t b = ask(fork_b, a.pid);
      if (a.kb < 0) failed++;
      else if (a.kb != a_kb) wrong_a++;
      if (b.pid == -EEXIST) { /* another process took the pid first: not a reuse */
        not_reused++;
        continue;
      }
      if (b.pid < 0) {
        errno = -b.pid;
        die("clone3 with set_tid in cgroup B");
      }
      reused++;
      if (b.kb < 0) failed++;
      else if (b.kb != b_kb) wrong_b++;
    }
    printf("%s{\"delayUs\":%ld,\"reused\":%ld,\"notReused\":%ld,\"wrongA\":%ld,\"wrongB\":%ld,\"failed\":%ld}", sep,
           delay_us, reused, not_reused, wrong_a, wrong_b, failed);
    sep = ",";
  }
  free(delays);
  close(fork_a.req);
  close(fork_b.req);
  close(loop_a.req);
  close(loop_b.req);
  loop_counts_t la, lb;
  read_all(loop_a.ans, &la, sizeof(la));
  read_all(loop_b.ans, &lb, sizeof(lb));
  printf("],\"loopA\":{\"reads\":%lld,\"wrong\":%lld,\"failed\":%lld},\"loopB\":{\"reads\":%lld,\"wrong\":%lld,"
         "\"failed\":%lld}}\n",
         (long long)la.reads, (long long)la.wrong, (long long)la.failed, (long long)lb.reads, (long long)lb.wrong,
         (long long)lb.failed);
  while (wait(NULL) > 0) {
  }
  return 0;
}
