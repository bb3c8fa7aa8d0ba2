/*
 * View bytes shared between the TTL cache and open file handles. Reference-counted so that a cache
 * hit costs one atomic increment: read() and release() never copy and never call JavaScript.
 */
#ifndef BOXSCOPE_CONTENT_H
#define BOXSCOPE_CONTENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct content {
  int refs; /* atomic */
  size_t len;
  char data[];
} content_t;

content_t *content_new(const char *data, size_t len);
content_t *content_ref(content_t *c);
void content_unref(content_t *c);

/*
 * TTL cache of rendered views keyed by (view, caller key). Misses are rendered asynchronously by
 * JavaScript, whose own share window makes concurrent misses of one container cheap, so a miss here
 * never waits for another reader's render (the FUSE loop thread must never block).
 */
typedef struct view_cache view_cache_t;

view_cache_t *cache_new(uint64_t ttl_ns);
void cache_free(view_cache_t *cache);
/* The hash of a key that cache_get and cache_put take (computed once per key by their callers). */
uint64_t cache_key_hash(const char *key, size_t key_len);
/* 1 with *out referenced on a fresh hit, else 0. */
int cache_get(view_cache_t *cache, int view, const char *key, size_t key_len, uint64_t key_hash, content_t **out);
/* Stores (a new reference to) c for the TTL, replacing an older entry. */
void cache_put(view_cache_t *cache, int view, const char *key, size_t key_len, uint64_t key_hash, content_t *c);
/* cache_put for ttl_ns (at most the cache's TTL): an entry a previous daemon handed over keeps what
 * was left of its TTL. */
void cache_put_for(view_cache_t *cache, int view, const char *key, size_t key_len, uint64_t key_hash, content_t *c,
                   uint64_t ttl_ns);
/* Calls fn for every fresh entry with the TTL it has left, under the cache's lock (fn must not call
 * into the cache). */
void cache_each(view_cache_t *cache,
                void (*fn)(void *arg, int view, const char *key, size_t key_len, uint64_t ttl_left_ns, content_t *c),
                void *arg);

#endif
