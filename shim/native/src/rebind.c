#include "rebind.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

static void close_trees(const int *trees, int n) {
  for (int i = 0; i < n; i++)
    if (trees[i] >= 0) close(trees[i]);
}

int rebind_in_namespace(pid_t pid, int n, const char *const *sources, const char *const *targets,
                        const int *stale, int *results) {
  char ns_path[64];
  snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/mnt", (int)pid);
  __do_close int ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) return errno;
  __do_free int *trees = calloc((size_t)n, sizeof(int));
  if (!trees) return ENOMEM;
  for (int i = 0; i < n; i++) {
    trees[i] = (int)syscall(SYS_open_tree, AT_FDCWD, sources[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    results[i] = trees[i] < 0 ? errno : 0;
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    int e = errno;
    close_trees(trees, n);
    return e;
  }
  pid_t child = fork();
  if (child == 0) {
    /* Single-threaded from here: only system calls, then _exit. */
    close(pipefd[0]);
    int rc = setns(ns_fd, CLONE_NEWNS) == 0 ? 0 : errno;
    for (int i = 0; i < n; i++) {
      int r = rc ? rc : results[i];
      if (r == 0) {
        for (int k = 0; k < stale[i]; k++) umount2(targets[i], MNT_DETACH);
        if (syscall(SYS_move_mount, trees[i], "", AT_FDCWD, targets[i], MOVE_MOUNT_F_EMPTY_PATH) != 0) r = errno;
      }
      ssize_t w = write(pipefd[1], &r, sizeof(r));
      (void)w;
    }
    _exit(0);
  }
  int fork_errno = child < 0 ? errno : 0;
  close(pipefd[1]);
  if (child > 0) {
    for (int i = 0; i < n; i++) {
      int r;
      if (read(pipefd[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) results[i] = r;
      else results[i] = EIO;
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  close(pipefd[0]);
  close_trees(trees, n);
  return fork_errno;
}
