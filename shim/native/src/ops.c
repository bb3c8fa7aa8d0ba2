/*
 * The FUSE operations: lookups and listings, open/read/release of view files (each answered for its
 * caller: from the C cache at once, or by JavaScript later), and the open files' handles.
 */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cpulist.h"

/* A handle holding c (takes over the reference); NULL when out of memory. */
handle_t *handle_new(content_t *c) {
  handle_t *h = malloc(sizeof(*h));
  if (!h) return NULL;
  h->refs = 1;
  pthread_mutex_init(&h->lock, NULL);
  h->content = c;
  h->read_once = 0;
  return h;
}

static handle_t *handle_ref(handle_t *h) {
  __atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
  return h;
}

/* A reader killed while its read waits for a rendering closes the file meanwhile: the release and
 * the rendering's answer each drop a reference, the last frees. */
void handle_unref(handle_t *h) {
  if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  content_unref(h->content);
  pthread_mutex_destroy(&h->lock);
  free(h);
}

/* The handle's bytes, referenced; with `first_read`, whether this is the handle's first read. */
static content_t *handle_content(handle_t *h, int *first_read) {
  pthread_mutex_lock(&h->lock);
  content_t *c = content_ref(h->content);
  if (first_read) {
    *first_read = !h->read_once;
    h->read_once = 1;
  }
  pthread_mutex_unlock(&h->lock);
  return c;
}

static void handle_replace(handle_t *h, content_t *c) {
  pthread_mutex_lock(&h->lock);
  content_t *old = h->content;
  h->content = c;
  pthread_mutex_unlock(&h->lock);
  content_unref(old);
}

/* The handle table's reference counting (handles.h). */
void table_ref(void *h) { handle_ref(h); }
void table_unref(void *h) { handle_unref(h); }

static void serve(fuse_req_t req, int kind, fuse_ino_t ino, struct fuse_file_info *fi, const reread_t *rd);

/*
 * Which numbered directories exist depends on the caller, but the kernel's dentries and attributes
 * of this one inode are shared by every container's bind mount: a numbered directory is answered
 * for the caller (from its list, see serve) with entry and attr timeouts 0, so the kernel asks again
 * on every path walk; a failed lookup is never cached (ENOENT without a negative entry).
 */
static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  boxfs_t *fs = fs_of(req);
  long pnum;
  int pnode = node_of(fs, parent, &pnum);
  if (!pnode || !fs->nodes[pnode].is_dir) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  for (int i = 2; i < fs->nnodes; i++) {
    if (i != fs->tmpl && fs->nodes[i].parent == (fuse_ino_t)pnode && served(fs, i) && strcmp(fs->nodes[i].name, name) == 0) {
      /* Inside a numbered directory the entries are those of every copy: cacheable like the rest. */
      reply_entry(fs, req, ino_of(fs, i, pnum), STATIC_TIMEOUT,
                  fs->nodes[i].is_dir ? STATIC_TIMEOUT : 0.0 /* see op_getattr */);
      return;
    }
  }
  long n = fs->tmpl && (fuse_ino_t)pnode == fs->nodes[fs->tmpl].parent ? numbered_name(fs, name) : -1;
  if (n >= 0) {
    serve(req, KIND_LOOKUP, ino_of(fs, fs->tmpl, n), NULL, NULL);
    return;
  }
  fuse_reply_err(req, ENOENT);
}

/* A lookup of the numbered directory `ino`, answered from the caller's list (c, consumed). */
static void answer_lookup(boxfs_t *fs, fuse_req_t req, fuse_ino_t ino, content_t *c) {
  long number;
  node_of(fs, ino, &number);
  int found = cpulist_has(c->data, c->len, number);
  content_unref(c);
  if (found)
    reply_entry(fs, req, ino, 0.0, 0.0);
  else
    fuse_reply_err(req, ENOENT);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  long number;
  int node = node_of(fs, ino, &number);
  if (!node) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (!fs->nodes[node].is_dir) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  if (fs->tmpl && (fuse_ino_t)node == fs->nodes[fs->tmpl].parent) {
    /* The listing holds the caller's numbered directories: its list goes into the handle. */
    serve(req, KIND_OPENDIR, ino, fi, NULL);
    return;
  }
  fi->fh = 0;
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

/* Appends one entry at listing index `index` if past `off` and it fits: 0 when the buffer is full. */
static int add_dirent(fuse_req_t req, char *buf, size_t *used, size_t size, off_t index, off_t off,
                      const char *name, fuse_ino_t ino, int is_dir) {
  if (index <= off) return 1;
  struct stat st;
  memset(&st, 0, sizeof(st));
  st.st_ino = ino;
  st.st_mode = is_dir ? S_IFDIR : S_IFREG;
  size_t room = size < 8192 ? size : 8192;
  size_t need = fuse_add_direntry(req, buf + *used, room - *used, name, &st, index);
  if (*used + need > room) return 0;
  *used += need;
  return 1;
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  char buf[8192];
  size_t used = 0;
  off_t index = 0;
  long number;
  int node = node_of(fs, ino, &number);
  if (!node) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  /* entries: ".", "..", children in tree order, then the caller's numbered directories; the offset
   * of an entry is its index + 1 */
  fuse_ino_t parent = fs->nodes[node].parent ? ino_of(fs, (int)fs->nodes[node].parent, number) : 1;
  int more = add_dirent(req, buf, &used, size, ++index, off, ".", ino, 1) &&
             add_dirent(req, buf, &used, size, ++index, off, "..", parent, 1);
  for (int i = 2; more && i < fs->nnodes; i++) {
    if (i == fs->tmpl || fs->nodes[i].parent != (fuse_ino_t)node || !served(fs, i)) continue;
    more = add_dirent(req, buf, &used, size, ++index, off, fs->nodes[i].name, ino_of(fs, i, number),
                      fs->nodes[i].is_dir);
  }
  handle_t *h = fi->fh ? handles_acquire(fs->handles, fi->fh) : NULL;
  content_t *list = h ? handle_content(h, NULL) : NULL;
  if (list) {
    size_t pos = 0;
    long lo, hi;
    char name[64];
    while (more && cpulist_next(list->data, list->len, &pos, NUMBERED_MAX, &lo, &hi)) {
      for (long n = lo; more && n <= hi; n++) {
        snprintf(name, sizeof(name), "%s%ld", fs->nodes[fs->tmpl].name, n);
        more = add_dirent(req, buf, &used, size, ++index, off, name, ino_of(fs, fs->tmpl, n), 1);
      }
    }
  }
  content_unref(list);
  handle_unref(h);
  fuse_reply_buf(req, buf, used);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (fi->fh) handles_drop(fs_of(req)->handles, fi->fh);
  fuse_reply_err(req, 0);
}

/* Replies to a read with bytes from offset `off` of c. */
static void reply_bytes(fuse_req_t req, const content_t *c, off_t off, size_t size) {
  if (!c || off < 0 || (size_t)off >= c->len) {
    fuse_reply_buf(req, NULL, 0);
    return;
  }
  size_t n = c->len - (size_t)off;
  if (n > size) n = size;
  fuse_reply_buf(req, c->data + off, n);
}

/* Sends the answer of an open, getattr or read that has its bytes (consumes the reference). */
static void answer(boxfs_t *fs, fuse_req_t req, int kind, fuse_ino_t ino, struct fuse_file_info *fi,
                   const reread_t *rd, content_t *c) {
  if (kind == KIND_LOOKUP) {
    answer_lookup(fs, req, ino, c);
    return;
  }
  if (kind == KIND_OPENDIR) {
    /* The caller's list, in a handle like an open file's (so a successor takes it over too). */
    handle_t *h = handle_new(c);
    uint64_t id = h ? handles_put(fs->handles, h) : 0;
    if (id == 0) {
      if (h) handle_unref(h);
      else content_unref(c);
      count(&fs->render_errors);
      fuse_reply_err(req, ENFILE);
      return;
    }
    fi->fh = id;           /* dropped by op_releasedir */
    fi->cache_readdir = 0; /* the listing is the caller's: never the kernel's cached one */
    fi->keep_cache = 0;
    if (fuse_reply_open(req, fi) != 0) handles_drop(fs->handles, id);
    return;
  }
  if (kind == KIND_OPEN) {
    handle_t *h = handle_new(c);
    if (!h) {
      content_unref(c);
      fuse_reply_err(req, ENOMEM);
      return;
    }
    uint64_t id = handles_put(fs->handles, h);
    if (id == 0) {
      handle_unref(h);
      count(&fs->render_errors);
      fuse_reply_err(req, ENFILE);
      return;
    }
    fi->fh = id;
    fi->direct_io = 1; /* like /proc: no page cache, size known only per caller */
    fi->keep_cache = 0;
    fi->noflush = 1; /* nothing to flush: saves a round trip per close */
    /* If the caller went away (interrupted), the kernel never sends release: drop the handle here. */
    if (fuse_reply_open(req, fi) != 0) handles_drop(fs->handles, id);
    return;
  }
  if (kind == KIND_READ) {
    /* The handle holds the new bytes before the answer goes out: the reader's next read (from
     * where this answer ends) may be served by another thread at once, and must continue them. */
    handle_replace(rd->handle, content_ref(c));
    reply_bytes(req, c, 0, rd->size);
    content_unref(c);
    handle_unref(rd->handle); /* op_read's */
    return;
  }
  struct stat st;
  fill_attr(fs, ino, &st);
  st.st_size = c->len > 0 ? (off_t)c->len : 1; /* never 0: see VIEW_SIZE_UNKNOWN */
  content_unref(c);
  fuse_reply_attr(req, &st, 0.0);
}

static void answer_error(boxfs_t *fs, fuse_req_t req, int kind, fuse_ino_t ino, const reread_t *rd, int err) {
  count(&fs->render_errors);
  if (kind == KIND_READ) handle_unref(rd->handle); /* op_read's */
  if (kind != KIND_GETATTR) {
    fuse_reply_err(req, err);
    return;
  }
  /* stat() of a view never fails (ls must work); the open that follows reports the error. */
  struct stat st;
  fill_attr(fs, ino, &st);
  fuse_reply_attr(req, &st, 0.0);
}

/*
 * open() or getattr() of a view file: from the cache now, or from JavaScript later. Either way the
 * bytes are those of the caller identity resolved here, once: the cache is keyed by it and
 * JavaScript renders for it, so a rendering can only ever be stored under the identity it is of.
 */
static void serve(fuse_req_t req, int kind, fuse_ino_t ino, struct fuse_file_info *fi, const reread_t *rd) {
  boxfs_t *fs = fs_of(req);
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  int view = view_served(fs, kind, ino);
  char stack_key[KEY_CAP];
  char *key = stack_key;
  __do_free char *large_key = NULL;
  uint64_t key_hash = 0;
  ssize_t key_len = caller_key_memo(fs, ctx->pid, key, sizeof(stack_key), &key_hash);
  if (key_len == CALLER_TOO_LONG) {
    large_key = malloc(KEY_CAP_LARGE);
    if (!large_key) {
      answer_error(fs, req, kind, ino, rd, ENOMEM);
      return;
    }
    key = large_key;
    key_len = caller_key(ctx->pid, key, KEY_CAP_LARGE);
    if (key_len >= 0) key_hash = cache_key_hash(key, (size_t)key_len);
  }
  if (key_len < 0) {
    /* The caller is gone (killed mid-request): nobody to answer for. */
    answer_error(fs, req, kind, ino, rd, EIO);
    return;
  }
  content_t *c = NULL;
  if (fs->cache && cache_get(fs->cache, view, key, (size_t)key_len, key_hash, &c)) {
    count(&fs->cache_hits);
    answer(fs, req, kind, ino, fi, rd, c);
    return;
  }
  boxfs_call_t *call = malloc(sizeof(boxfs_call_t) + (size_t)key_len);
  if (!call) {
    answer_error(fs, req, kind, ino, rd, ENOMEM);
    return;
  }
  call->fs = fs;
  call->req = req;
  call->kind = kind;
  call->ino = ino;
  if (fi) call->fi = *fi;
  call->view = view;
  if (rd) call->reread = *rd;
  call->key_len = (size_t)key_len;
  call->key_hash = key_hash;
  memcpy(call->key, key, (size_t)key_len);
  count(&fs->renders);
  pthread_mutex_lock(&fs->inflight_lock);
  fs->inflight++;
  pthread_mutex_unlock(&fs->inflight_lock);
  int err = fs->cfg.render(fs->cfg.ctx, call, view, ctx->pid, ctx->uid, ctx->gid, call->key, call->key_len);
  if (err) boxfs_complete(call, err, NULL, false);
}

void boxfs_complete(boxfs_call_t *call, int err, content_t *c, bool cacheable) {
  boxfs_t *fs = call->fs;
  if (err || !c) {
    content_unref(c);
    answer_error(fs, call->req, call->kind, call->ino, &call->reread, err ? err : EIO);
  } else {
    if (fs->cache && cacheable) cache_put(fs->cache, call->view, call->key, call->key_len, call->key_hash, c);
    answer(fs, call->req, call->kind, call->ino, &call->fi, &call->reread, c);
  }
  free(call);
  pthread_mutex_lock(&fs->inflight_lock);
  if (--fs->inflight == 0) pthread_cond_broadcast(&fs->inflight_zero);
  pthread_mutex_unlock(&fs->inflight_lock);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  count(&fs->opens);
  long number;
  int node = node_of(fs, ino, &number);
  if (!node) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (fs->nodes[node].is_dir) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EACCES);
    return;
  }
  serve(req, KIND_OPEN, ino, fi, NULL);
}

/*
 * A file's size is the length of the caller's own rendering (like LXCFS), and is never cached by the
 * kernel (attr timeout 0): readers that size their read from stat() would get nothing from the
 * /proc-style size 0. Never 0 even for an empty rendering: see VIEW_SIZE_UNKNOWN.
 */
static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  long number;
  int node = node_of(fs, ino, &number);
  if (!node) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (fs->nodes[node].is_dir) {
    struct stat st;
    fill_attr(fs, ino, &st);
    fuse_reply_attr(req, &st, STATIC_TIMEOUT);
    return;
  }
  serve(req, KIND_GETATTR, ino, NULL, NULL);
}

/*
 * A read without a lock owner is the kernel filling the file's page cache (sendfile/splice, as in
 * busybox cat, or mmap), not a read(2): those always carry their caller's lock owner. The kernel
 * uses that cache even for direct_io opens; it is one per inode, and every container's bind mount
 * of a view is that one inode, so one container's pages and size would be served to another
 * reading at the same instant. Refused with EIO: sendfile fails and its callers (busybox cat,
 * Python's shutil) fall back to read(2), which gets the caller's own bytes.
 */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  if (fi->lock_owner == 0) {
    fuse_reply_err(req, EIO);
    return;
  }
  handle_t *h = handles_acquire(fs_of(req)->handles, fi->fh);
  if (!h) {
    fuse_reply_err(req, EBADF);
    return;
  }
  int first_read = 0;
  content_t *c = handle_content(h, &first_read);
  if (off == 0 && !first_read) {
    content_unref(c);
    reread_t rd = {.handle = h, .size = size}; /* the reference goes with the read to its answer */
    serve(req, KIND_READ, ino, fi, &rd);
    return;
  }
  reply_bytes(req, c, off, size);
  content_unref(c);
  handle_unref(h);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  handles_drop(fs_of(req)->handles, fi->fh);
  fuse_reply_err(req, 0);
}

/*
 * Without default_permissions (see boxfs_start) the kernel asks access(2) here. The files are
 * world-readable and never executable; the directories world-searchable; writes end at the
 * read-only mount before they get here.
 */
static void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  boxfs_t *fs = fs_of(req);
  long number;
  int node = node_of(fs, ino, &number);
  if (!node) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_err(req, !fs->nodes[node].is_dir && (mask & X_OK) ? EACCES : 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs s;
  memset(&s, 0, sizeof(s));
  s.f_bsize = 4096;
  s.f_namemax = 255;
  fuse_reply_statfs(req, &s);
}

const struct fuse_lowlevel_ops boxfs_ops = {
    .lookup = op_lookup,
    .getattr = op_getattr,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .access = op_access,
    .statfs = op_statfs,
};
