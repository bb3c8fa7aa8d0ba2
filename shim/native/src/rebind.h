#ifndef BOXSCOPE_REBIND_H
#define BOXSCOPE_REBIND_H

#include <sys/types.h>

/*
 * Replaces stale bind mounts in another mount namespace (a container started before a daemon
 * restart) with fresh clones of our files: for each i, `stale[i]` lazy unmounts of targets[i] inside
 * the namespace of `pid`, then a clone of sources[i] (a path in our namespace) is attached there.
 * Uses open_tree(OPEN_TREE_CLONE) here and move_mount() in a forked child that joined the namespace
 * (setns(CLONE_NEWNS) is refused to multi-threaded processes such as Node). Writes an errno (0 = done)
 * per entry into results; returns 0, or an errno when the child could not run at all.
 */
int rebind_in_namespace(pid_t pid, int n, const char *const *sources, const char *const *targets,
                        const int *stale, int *results);

#endif
