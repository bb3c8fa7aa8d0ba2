/*
 * The kernel's cpulist format (`0-3,8,10-11`, a newline at the end), as /sys/devices/system/cpu/online
 * prints it: read in place from a view's bytes, without allocating.
 */
#ifndef BOXSCOPE_CPULIST_H
#define BOXSCOPE_CPULIST_H

#include <stddef.h>

/* The range starting at *pos: 1 with [*lo, *hi] and *pos past it, or 0 at the end or on a malformed
 * list (what was read up to there stands). Numbers are capped at `max` - 1; ranges above are skipped. */
int cpulist_next(const char *s, size_t len, size_t *pos, long max, long *lo, long *hi);
/* `n` is in the list. */
int cpulist_has(const char *s, size_t len, long n);

#endif
