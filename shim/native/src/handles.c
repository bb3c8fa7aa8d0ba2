#include "handles.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* Two levels so that a slot never moves: CHUNKS chunks of CHUNK slots,
 * a chunk allocated when first needed and kept until the table is freed. */
#define CHUNK 1024
#define CHUNKS 1024
#define MAX_ID ((uint64_t)CHUNK * CHUNKS)

struct handle_table {
  pthread_mutex_t lock;
  void **chunks[CHUNKS]; /* atomic pointers */
  uint64_t *free_ids; /* stack of released ids, reused first */
  size_t nfree, free_cap;
  uint64_t next; /* lowest id never handed out */
  void (*ref)(void *handle);
  void (*unref)(void *handle);
};

handle_table_t *handles_new(void (*ref)(void *handle), void (*unref)(void *handle)) {
  handle_table_t *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->ref = ref;
  t->unref = unref;
  pthread_mutex_init(&t->lock, NULL);
  t->next = 1;
  return t;
}

void handles_free(handle_table_t *t) {
  if (!t) return;
  for (size_t i = 0; i < CHUNKS; i++) {
    if (!t->chunks[i]) continue;
    for (size_t j = 0; j < CHUNK; j++)
      if (t->chunks[i][j]) t->unref(t->chunks[i][j]);
    free(t->chunks[i]);
  }
  free(t->free_ids);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

/* The slot of id, allocating its chunk when `create`; NULL if out of range (or no memory). */
static void **slot(handle_table_t *t, uint64_t id, int create) {
  if (id == 0 || id >= MAX_ID) return NULL;
  void **chunk = __atomic_load_n(&t->chunks[id / CHUNK], __ATOMIC_ACQUIRE);
  if (!chunk && create) {
    chunk = calloc(CHUNK, sizeof(void *));
    if (!chunk) return NULL;
    __atomic_store_n(&t->chunks[id / CHUNK], chunk, __ATOMIC_RELEASE);
  }
  return chunk ? &chunk[id % CHUNK] : NULL;
}

uint64_t handles_put(handle_table_t *t, void *c) {
  pthread_mutex_lock(&t->lock);
  uint64_t id = 0;
  void **s = NULL;
  if (t->nfree > 0) {
    id = t->free_ids[--t->nfree];
    s = slot(t, id, 0);
  } else if (t->next < MAX_ID && (s = slot(t, t->next, 1)) != NULL) {
    id = t->next++;
  }
  if (s) __atomic_store_n(s, c, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&t->lock);
  return s ? id : 0;
}

int handles_put_at(handle_table_t *t, uint64_t id, void *c) {
  pthread_mutex_lock(&t->lock);
  int err = 0;
  if (id == 0 || id >= MAX_ID) {
    err = EINVAL;
  } else {
    void **s = slot(t, id, 1);
    if (!s) {
      err = ENOMEM;
    } else if (*s) {
      err = EINVAL;
    } else {
      /* ids skipped on the way to this one become free ones */
      while (t->next < id && !err) {
        if (t->nfree == t->free_cap) {
          size_t cap = t->free_cap ? t->free_cap * 2 : 64;
          uint64_t *grown = realloc(t->free_ids, cap * sizeof(uint64_t));
          if (!grown) {
            err = ENOMEM;
            break;
          }
          t->free_ids = grown;
          t->free_cap = cap;
        }
        t->free_ids[t->nfree++] = t->next++;
      }
      if (!err) {
        /* an id below next may sit on the free stack: take it off */
        for (size_t i = 0; i < t->nfree; i++) {
          if (t->free_ids[i] == id) {
            t->free_ids[i] = t->free_ids[--t->nfree];
            break;
          }
        }
        if (t->next == id) t->next++;
        __atomic_store_n(s, c, __ATOMIC_RELEASE);
      }
    }
  }
  pthread_mutex_unlock(&t->lock);
  return err;
}

static void *slot_value(handle_table_t *t, uint64_t id) {
  void **s = slot(t, id, 0);
  return s ? __atomic_load_n(s, __ATOMIC_ACQUIRE) : NULL;
}

void *handles_acquire(handle_table_t *t, uint64_t id) {
  pthread_mutex_lock(&t->lock);
  void *c = slot_value(t, id);
  if (c) t->ref(c);
  pthread_mutex_unlock(&t->lock);
  return c;
}

void handles_drop(handle_table_t *t, uint64_t id) {
  pthread_mutex_lock(&t->lock);
  void **s = slot(t, id, 0);
  void *c = s ? __atomic_exchange_n(s, NULL, __ATOMIC_ACQ_REL) : NULL;
  if (c) {
    if (t->nfree == t->free_cap) {
      size_t cap = t->free_cap ? t->free_cap * 2 : 64;
      uint64_t *grown = realloc(t->free_ids, cap * sizeof(uint64_t));
      if (grown) {
        t->free_ids = grown;
        t->free_cap = cap;
      }
    }
    /* Without room on the stack the id is not reused: a leak of one id, never of memory. */
    if (t->nfree < t->free_cap) t->free_ids[t->nfree++] = id;
  }
  pthread_mutex_unlock(&t->lock);
  if (c) t->unref(c);
}

void handles_each(handle_table_t *t, void (*fn)(void *arg, uint64_t id, void *h), void *arg) {
  pthread_mutex_lock(&t->lock);
  for (uint64_t id = 1; id < t->next; id++) {
    void *c = slot_value(t, id);
    if (c) fn(arg, id, c);
  }
  pthread_mutex_unlock(&t->lock);
}
