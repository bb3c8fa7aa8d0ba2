#ifndef BOXSCOPE_CALLER_KEY_H
#define BOXSCOPE_CALLER_KEY_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The identity of a reading process: its pid namespace (`pid:[inode]`), a newline, then its
 * /proc/<pid>/cgroup. The views depend only on these facts (the init of a container's pid namespace
 * decides; a host-namespace caller's own cgroup decides), so it is both the cache key and what
 * JavaScript renders for: it is resolved here once per request and never again from the pid, which
 * may belong to another process by the time JavaScript runs.
 */
#define CALLER_GONE (-1)     /* the caller vanished: nothing to render for */
#define CALLER_TOO_LONG (-2) /* the identity needs more than cap bytes */

/* Returns the identity's length, or CALLER_GONE / CALLER_TOO_LONG. */
ssize_t caller_key(pid_t pid, char *buf, size_t cap);
/* The cgroup part alone, read into buf after its first `off` bytes (the namespace part of the same
 * process: a process's pid namespace never changes). Returns the whole length, as caller_key. */
ssize_t caller_key_cgroup(pid_t pid, char *buf, size_t off, size_t cap);
/* caller_key_cgroup's reading: the open file fd to its end (a /proc/<pid>/cgroup, whose paths the
 * caller's container may choose) into buf after its first `off` bytes; returns as caller_key. */
ssize_t caller_key_read(int fd, char *buf, size_t off, size_t cap);

#endif
