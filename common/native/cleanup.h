/*
 * Scope-bound cleanup for the C addons (shim/native, pipeline/native), in the style of LXCFS's
 * memory_utils.h: a variable declared `__do_free char *s = malloc(...)` is freed, and one declared
 * `__do_close int fd = open(...)` closed, whenever it goes out of scope, so a function with several
 * early returns cannot leak on one of them. What is handed on to an owner that outlives the scope is
 * taken out with move_ptr / move_fd, which leave NULL / -1 behind for the cleanup to skip.
 */
#ifndef BOXSCOPE_CLEANUP_H
#define BOXSCOPE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Declares `cleaner_function(type *)`, which calls cleaner(value) unless value is NULL, for
 * call_cleaner(cleaner) to attach to a variable of that type. */
#define define_cleanup_function(type, cleaner)    \
  static inline void cleaner##_function(type *p) { \
    if (*p) cleaner(*p);                           \
  }
#define call_cleaner(cleaner) __attribute__((__cleanup__(cleaner##_function)))

static inline void free_disarm_function(void *p) {
  void **pp = p;
  if (*pp) free(*pp); /* a hot path's unused buffer costs no call */
  *pp = NULL;
}
#define __do_free __attribute__((__cleanup__(free_disarm_function)))

/* close() keeps errno: a cleanup runs after the code that set the errno a caller reads. */
static inline void close_disarm_function(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
  *fd = -1;
}
#define __do_close __attribute__((__cleanup__(close_disarm_function)))

static inline void fclose_disarm_function(FILE **f) {
  if (*f) fclose(*f);
  *f = NULL;
}
#define __do_fclose __attribute__((__cleanup__(fclose_disarm_function)))

/* The pointer held by p, which p's cleanup then no longer frees. */
#define move_ptr(p)            \
  ({                           \
    __typeof__(p) moved_ = (p); \
    (p) = NULL;                \
    moved_;                    \
  })

/* The fd held by fd, which fd's cleanup then no longer closes. */
#define move_fd(fd)   \
  ({                  \
    int moved_ = (fd); \
    (fd) = -1;        \
    moved_;           \
  })

#endif
