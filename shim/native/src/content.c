#include "content.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

content_t *content_new(const char *data, size_t len) {
  content_t *c = malloc(sizeof(content_t) + len);
  if (!c) return NULL;
  c->refs = 1;
  c->len = len;
  if (len && data) memcpy(c->data, data, len);
  return c;
}

content_t *content_ref(content_t *c) {
  __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
  return c;
}

void content_unref(content_t *c) {
  if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) free(c);
}

#define BUCKETS 1024
/* Above this many entries an insert first sweeps expired ones; a burst of unique keys cannot grow
 * the table without bound because a sweep that frees nothing drops every idle entry. */
#define MAX_ENTRIES 8192

typedef struct entry {
  struct entry *next;
  uint64_t hash;
  int view;
  uint64_t expires;   /* CLOCK_MONOTONIC ns */
  content_t *content;
  size_t key_len;
  char key[];
} entry_t;

struct view_cache {
  pthread_mutex_t lock;
  uint64_t ttl_ns;
  size_t count;
  entry_t *buckets[BUCKETS];
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cache_key_hash(const char *key, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)key[i];
    h *= 1099511628211ull;
  }
  return h;
}

static uint64_t entry_hash(int view, uint64_t key_hash) {
  return (key_hash ^ (uint64_t)view) * 1099511628211ull;
}

view_cache_t *cache_new(uint64_t ttl_ns) {
  view_cache_t *c = calloc(1, sizeof(*c));
  if (!c) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  c->ttl_ns = ttl_ns;
  return c;
}

static void entry_free(entry_t *e) {
  content_unref(e->content);
  free(e);
}

void cache_free(view_cache_t *cache) {
  if (!cache) return;
  for (size_t b = 0; b < BUCKETS; b++) {
    entry_t *e = cache->buckets[b];
    while (e) {
      entry_t *n = e->next;
      entry_free(e);
      e = n;
    }
  }
  pthread_mutex_destroy(&cache->lock);
  free(cache);
}

static void sweep_locked(view_cache_t *cache, uint64_t now, int drop_all_idle) {
  for (size_t b = 0; b < BUCKETS; b++) {
    entry_t **pp = &cache->buckets[b];
    while (*pp) {
      entry_t *e = *pp;
      if (drop_all_idle || e->expires <= now) {
        *pp = e->next;
        entry_free(e);
        cache->count--;
      } else {
        pp = &e->next;
      }
    }
  }
}

static entry_t **find_locked(view_cache_t *cache, uint64_t h, int view, const char *key, size_t len) {
  entry_t **pp = &cache->buckets[h % BUCKETS];
  for (; *pp; pp = &(*pp)->next) {
    entry_t *e = *pp;
    if (e->hash == h && e->view == view && e->key_len == len && memcmp(e->key, key, len) == 0) return pp;
  }
  return pp;
}

int cache_get(view_cache_t *cache, int view, const char *key, size_t len, uint64_t key_hash, content_t **out) {
  uint64_t h = entry_hash(view, key_hash);
  pthread_mutex_lock(&cache->lock);
  entry_t *e = *find_locked(cache, h, view, key, len);
  int hit = e && e->content && e->expires > now_ns();
  if (hit) *out = content_ref(e->content);
  pthread_mutex_unlock(&cache->lock);
  return hit;
}

void cache_put(view_cache_t *cache, int view, const char *key, size_t len, uint64_t key_hash, content_t *c) {
  cache_put_for(cache, view, key, len, key_hash, c, cache->ttl_ns);
}

void cache_each(view_cache_t *cache,
                void (*fn)(void *arg, int view, const char *key, size_t key_len, uint64_t ttl_left_ns, content_t *c),
                void *arg) {
  uint64_t now = now_ns();
  pthread_mutex_lock(&cache->lock);
  for (size_t b = 0; b < BUCKETS; b++)
    for (entry_t *e = cache->buckets[b]; e; e = e->next)
      if (e->content && e->expires > now) fn(arg, e->view, e->key, e->key_len, e->expires - now, e->content);
  pthread_mutex_unlock(&cache->lock);
}

void cache_put_for(view_cache_t *cache, int view, const char *key, size_t len, uint64_t key_hash, content_t *c,
                   uint64_t ttl_ns) {
  if (ttl_ns > cache->ttl_ns) ttl_ns = cache->ttl_ns;
  uint64_t h = entry_hash(view, key_hash);
  uint64_t now = now_ns();
  pthread_mutex_lock(&cache->lock);
  entry_t **pp = find_locked(cache, h, view, key, len);
  entry_t *e = *pp;
  if (!e) {
    if (cache->count >= MAX_ENTRIES) {
      sweep_locked(cache, now, 0);
      if (cache->count >= MAX_ENTRIES) sweep_locked(cache, now, 1);
      pp = find_locked(cache, h, view, key, len);
    }
    e = calloc(1, sizeof(entry_t) + len);
    if (!e) {
      pthread_mutex_unlock(&cache->lock);
      return;
    }
    e->hash = h;
    e->view = view;
    e->key_len = len;
    memcpy(e->key, key, len);
    *pp = e;
    cache->count++;
  }
  content_unref(e->content);
  e->content = content_ref(c);
  e->expires = now + ttl_ns;
  pthread_mutex_unlock(&cache->lock);
}
