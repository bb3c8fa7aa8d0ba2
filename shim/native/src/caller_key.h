#ifndef BOXSCOPE_CALLER_KEY_H
#define BOXSCOPE_CALLER_KEY_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The cache key of a reading process: its pid namespace plus its own cgroup membership. The views
 * depend only on (pid namespace → its init's cgroup) for a containerised caller and on the caller's
 * own cgroup for a host-namespace caller, so two callers with equal keys get equal views. Keying on
 * these kernel facts (not on the pid) means PID reuse can never serve another container's bytes.
 * Returns the key length, or -1 when the caller vanished (then the read is not cached).
 */
ssize_t caller_key(pid_t pid, char *buf, size_t cap);

#endif
