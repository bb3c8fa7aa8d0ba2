/* The state a successor takes over with the connection (handover.h): its format, export and import. */
#include "fs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  boxfs_t *fs;
  hbuf_t *b;
  uint64_t n;
} state_export_t;

static void state_handle(void *arg, uint64_t id, void *p) {
  state_export_t *x = arg;
  handle_t *h = p;
  /* no lock: the loop is paused, nothing replaces the bytes now */
  hbuf_u64(x->b, id);
  hbuf_u32(x->b, (uint32_t)h->read_once);
  hbuf_u64(x->b, h->content->len);
  hbuf_bytes(x->b, h->content->data, h->content->len);
  x->n++;
}

static void state_cache_entry(void *arg, int view, const char *key, size_t key_len, uint64_t ttl_left_ns,
                              content_t *c) {
  state_export_t *x = arg;
  const char *path = view >= 0 && view < x->fs->cfg.nfiles ? x->fs->cfg.files[view] : "";
  hbuf_u32(x->b, (uint32_t)strlen(path));
  hbuf_bytes(x->b, path, strlen(path));
  hbuf_u64(x->b, ttl_left_ns);
  hbuf_u64(x->b, key_len);
  hbuf_bytes(x->b, key, key_len);
  hbuf_u64(x->b, c->len);
  hbuf_bytes(x->b, c->data, c->len);
  x->n++;
}

/*
 * The state format, STATE_VERSION: version u32, mounted_at u64, the INIT request (u32 length, bytes),
 * the fusectl abort path (u32, bytes), the nodes from id 2 on (count u32; per node parent u32,
 * is_dir u32, slot i32, name u32 + bytes: a node's id is its position and a numbered directory's
 * entries' ids follow from their slots, so the kernel's cached ids stay valid), the template node u32,
 * the open handles (count u64; per handle id u64, read_once u32, length u64, bytes: a reader that
 * opened before the handover goes on reading the bytes it started), the fresh cache entries (count
 * u64; per entry the view's path u32 + bytes, TTL left in ns u64, caller key u64 + bytes, rendering
 * u64 + bytes: the successor's first opens are hits, not a burst of renders in a process just
 * started), STATE_END.
 */
void export_state(boxfs_t *fs, hbuf_t *b) {
  hbuf_u32(b, STATE_VERSION);
  hbuf_u64(b, (uint64_t)fs->mounted_at);
  hbuf_u32(b, (uint32_t)fs->init_len);
  hbuf_bytes(b, fs->init_msg, fs->init_len);
  hbuf_u32(b, (uint32_t)strlen(fs->abort_path));
  hbuf_bytes(b, fs->abort_path, strlen(fs->abort_path));
  hbuf_u32(b, (uint32_t)(fs->nnodes - 2));
  for (int i = 2; i < fs->nnodes; i++) {
    hbuf_u32(b, (uint32_t)fs->nodes[i].parent);
    hbuf_u32(b, (uint32_t)fs->nodes[i].is_dir);
    hbuf_u32(b, (uint32_t)fs->nodes[i].slot);
    hbuf_u32(b, (uint32_t)strlen(fs->nodes[i].name));
    hbuf_bytes(b, fs->nodes[i].name, strlen(fs->nodes[i].name));
  }
  hbuf_u32(b, (uint32_t)fs->tmpl);
  /* Each list is preceded by its count, written in place once the list is. */
  state_export_t x = {.fs = fs, .b = b, .n = 0};
  size_t at = b->len;
  hbuf_u64(b, 0);
  handles_each(fs->handles, state_handle, &x);
  if (!b->failed) memcpy(b->data + at, &x.n, sizeof(x.n));
  x.n = 0;
  at = b->len;
  hbuf_u64(b, 0);
  if (fs->cache) cache_each(fs->cache, state_cache_entry, &x);
  if (!b->failed) memcpy(b->data + at, &x.n, sizeof(x.n));
  hbuf_u32(b, STATE_END);
}

/* Takes a predecessor's state: its nodes (files unclaimed until build_tree), handles, INIT request. */
int import_state(boxfs_t *fs, const unsigned char *data, size_t len, char *err, size_t err_len) {
  hreader_t r = {.p = data, .left = len};
  uint32_t version = hread_u32(&r);
  if (version != STATE_VERSION) {
    snprintf(err, err_len, "the running daemon hands over state format %u, this daemon reads format %u", version,
             STATE_VERSION);
    return -1;
  }
  fs->mounted_at = (time_t)hread_u64(&r);
  uint32_t init_len = hread_u32(&r);
  const void *init = hread_bytes(&r, init_len);
  uint32_t abort_len = hread_u32(&r);
  const char *abort_path = hread_bytes(&r, abort_len);
  if (!r.failed && (init_len < sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in) ||
                    abort_len >= sizeof(fs->abort_path))) {
    snprintf(err, err_len, "the handed-over state has no valid FUSE INIT request or abort path");
    return -1;
  }
  if (r.failed) goto truncated;
  fs->init_msg = malloc(init_len);
  if (!fs->init_msg) goto oom;
  memcpy(fs->init_msg, init, init_len);
  fs->init_len = init_len;
  memcpy(fs->abort_path, abort_path, abort_len);
  fs->abort_path[abort_len] = '\0';
  uint32_t nnodes = hread_u32(&r);
  if (r.failed) goto truncated;
  if (nnodes > MAX_NODES - 2) {
    snprintf(err, err_len, "the handed-over tree has %u nodes, more than this daemon holds", nnodes);
    return -1;
  }
  fs->nnodes = 2;
  fs->nodes[1].name = strdup("");
  fs->nodes[1].is_dir = 1;
  fs->nodes[1].slot = -1;
  if (!fs->nodes[1].name) goto oom;
  for (uint32_t i = 0; i < nnodes; i++) {
    uint32_t parent = hread_u32(&r);
    uint32_t is_dir = hread_u32(&r);
    int32_t slot = (int32_t)hread_u32(&r);
    uint32_t name_len = hread_u32(&r);
    const char *name = hread_bytes(&r, name_len);
    if (r.failed) goto truncated;
    if (parent < 1 || parent >= (uint32_t)fs->nnodes || !fs->nodes[parent].is_dir || slot < -1 ||
        slot >= NUMBERED_STRIDE || (slot >= 0 && fs->tmpl_nodes[slot])) {
      snprintf(err, err_len, "the handed-over tree is not a tree (node %u)", i + 2);
      return -1;
    }
    node_t *n = &fs->nodes[fs->nnodes];
    n->name = strndup(name, name_len);
    if (!n->name) goto oom;
    n->parent = parent;
    n->is_dir = is_dir != 0;
    n->view = -1;
    n->slot = slot;
    if (slot >= 0) {
      fs->tmpl_nodes[slot] = fs->nnodes;
      if (slot >= fs->ntmpl) fs->ntmpl = slot + 1;
    }
    fs->nnodes++;
  }
  uint32_t tmpl = hread_u32(&r);
  if (r.failed) goto truncated;
  if (tmpl != 0 && (tmpl < 2 || tmpl >= (uint32_t)fs->nnodes || fs->nodes[tmpl].slot != 0)) {
    snprintf(err, err_len, "the handed-over tree's numbered directory is not one of its nodes");
    return -1;
  }
  for (int slot = 0; slot < fs->ntmpl; slot++)
    if (!fs->tmpl_nodes[slot]) {
      snprintf(err, err_len, "the handed-over tree's numbered directory has a gap at slot %d", slot);
      return -1;
    }
  fs->tmpl = (int)tmpl;
  uint64_t nhandles = hread_u64(&r);
  for (uint64_t i = 0; i < nhandles && !r.failed; i++) {
    uint64_t id = hread_u64(&r);
    uint32_t read_once = hread_u32(&r);
    uint64_t clen = hread_u64(&r);
    const void *bytes = hread_bytes(&r, (size_t)clen);
    if (r.failed) goto truncated;
    content_t *c = content_new(bytes, (size_t)clen);
    handle_t *h = c ? handle_new(c) : NULL;
    if (!h) {
      content_unref(c);
      goto oom;
    }
    h->read_once = read_once != 0;
    if (handles_put_at(fs->handles, id, h) != 0) {
      handle_unref(h);
      snprintf(err, err_len, "the handed-over handle %llu is out of range or given twice", (unsigned long long)id);
      return -1;
    }
  }
  uint64_t nentries = hread_u64(&r);
  for (uint64_t i = 0; i < nentries && !r.failed; i++) {
    uint32_t path_len = hread_u32(&r);
    const char *path = hread_bytes(&r, path_len);
    uint64_t ttl_left = hread_u64(&r);
    uint64_t key_len = hread_u64(&r);
    const char *key = hread_bytes(&r, (size_t)key_len);
    uint64_t clen = hread_u64(&r);
    const void *bytes = hread_bytes(&r, (size_t)clen);
    if (r.failed) goto truncated;
    int view = -1;
    for (int v = 0; v < fs->cfg.nfiles && view < 0; v++)
      if (strlen(fs->cfg.files[v]) == path_len && memcmp(fs->cfg.files[v], path, path_len) == 0) view = v;
    if (view < 0 || !fs->cache) continue; /* a view this daemon does not serve, or no cache here */
    content_t *c = content_new(bytes, (size_t)clen);
    if (!c) goto oom;
    cache_put_for(fs->cache, view, key, (size_t)key_len, cache_key_hash(key, (size_t)key_len), c, ttl_left);
    content_unref(c);
  }
  if (hread_u32(&r) != STATE_END || r.failed) goto truncated;
  return 0;
truncated:
  snprintf(err, err_len, "the handed-over state is truncated or malformed");
  return -1;
oom:
  snprintf(err, err_len, "out of memory importing the handed-over state");
  return -1;
}
