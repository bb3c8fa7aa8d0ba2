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
 * TTL cache of rendered views keyed by (view, caller key). A miss for a key that another thread is
 * already rendering waits for that render instead of asking JavaScript again (one render per
 * container and view per window, however many readers poll at once).
 */
typedef struct view_cache view_cache_t;

view_cache_t *cache_new(uint64_t ttl_ns);
void cache_free(view_cache_t *cache);

typedef enum { CACHE_HIT, CACHE_MISS_OWNER } cache_lookup_t;

/*
 * Returns CACHE_HIT with *out referenced, or CACHE_MISS_OWNER: the caller must render and then call
 * cache_fill (with the content, or NULL on failure) exactly once for that key.
 */
cache_lookup_t cache_lookup(view_cache_t *cache, int view, const char *key, size_t key_len, content_t **out);
void cache_fill(view_cache_t *cache, int view, const char *key, size_t key_len, content_t *c);

#endif
