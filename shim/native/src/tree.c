/* The node table: the fixed tree of view files and the numbered (per-caller) CPU directories. */
#include "fs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node this daemon serves (not a file only a previous daemon served). */
int served(boxfs_t *fs, int i) { return fs->nodes[i].is_dir || fs->nodes[i].view >= 0; }

/* The node of an inode and its number (-1: a static node); 0 when there is no such inode. */
int node_of(boxfs_t *fs, fuse_ino_t ino, long *number) {
  *number = -1;
  if (ino >= 1 && ino < (fuse_ino_t)fs->nnodes) return fs->nodes[ino].slot < 0 && served(fs, (int)ino) ? (int)ino : 0;
  if (ino < NUMBERED_INO_BASE || fs->tmpl == 0) return 0;
  fuse_ino_t rel = ino - NUMBERED_INO_BASE;
  fuse_ino_t slot = rel % NUMBERED_STRIDE, n = rel / NUMBERED_STRIDE;
  if (slot >= (fuse_ino_t)fs->ntmpl || n >= NUMBERED_MAX) return 0;
  *number = (long)n;
  return served(fs, fs->tmpl_nodes[slot]) ? fs->tmpl_nodes[slot] : 0;
}

fuse_ino_t ino_of(boxfs_t *fs, int node, long number) {
  if (fs->nodes[node].slot < 0) return (fuse_ino_t)node;
  return NUMBERED_INO_BASE + (fuse_ino_t)number * NUMBERED_STRIDE + (fuse_ino_t)fs->nodes[node].slot;
}

/* The view number of a file (fs.h): its index in files; a numbered copy's adds nfiles × (number + 1). */
static int view_of(boxfs_t *fs, int node, long number) {
  int v = fs->nodes[node].view;
  return number < 0 ? v : v + fs->cfg.nfiles * (int)(number + 1);
}

/* The view a request serves: a file's own, or for a lookup or listing of numbered directories the
 * caller's list of them. */
int view_served(boxfs_t *fs, int kind, fuse_ino_t ino) {
  if (kind == KIND_LOOKUP || kind == KIND_OPENDIR) return fs->nodes[fs->numbered_list].view;
  long number;
  int node = node_of(fs, ino, &number);
  return view_of(fs, node, number);
}

static int is_dir_ino(boxfs_t *fs, fuse_ino_t ino) {
  long number;
  int node = node_of(fs, ino, &number);
  return node && fs->nodes[node].is_dir;
}

void fill_attr(boxfs_t *fs, fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = ino;
  if (is_dir_ino(fs, ino)) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
  } else {
    /* The caller's own length when op_getattr answers; else a stand-in, see VIEW_SIZE_UNKNOWN. */
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = VIEW_SIZE_UNKNOWN;
  }
  st->st_atime = st->st_mtime = st->st_ctime = fs->mounted_at;
}

void reply_entry(boxfs_t *fs, fuse_req_t req, fuse_ino_t ino, double entry_timeout, double attr_timeout) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof(e));
  e.ino = ino;
  e.entry_timeout = entry_timeout;
  e.attr_timeout = attr_timeout;
  fill_attr(fs, ino, &e.attr);
  fuse_reply_entry(req, &e);
}

/* `name` is the template's prefix and a number in canonical decimal: that number, else -1. */
long numbered_name(boxfs_t *fs, const char *name) {
  const char *prefix = fs->nodes[fs->tmpl].name;
  size_t plen = strlen(prefix);
  if (strncmp(name, prefix, plen) != 0) return -1;
  const char *d = name + plen;
  if (*d == '\0' || (d[0] == '0' && d[1] != '\0')) return -1;
  long n = 0;
  for (; *d; d++) {
    if (*d < '0' || *d > '9') return -1;
    n = n * 10 + (*d - '0');
    if (n >= NUMBERED_MAX) return -1;
  }
  return n;
}

enum { NODE_CLASH = -1, NODE_NO_MEMORY = -2 };

/* The node `name` (len bytes; a template when `tmpl`) below parent, added if new; NODE_CLASH on a
 * clash (a file and a directory of one name) or a full table. */
static int add_node(boxfs_t *fs, const char *name, size_t len, fuse_ino_t parent, int is_dir, int view, int tmpl) {
  for (int i = 2; i < fs->nnodes; i++) {
    if (fs->nodes[i].parent == parent && strlen(fs->nodes[i].name) == len &&
        strncmp(fs->nodes[i].name, name, len) == 0 && (i == fs->tmpl) == tmpl) {
      if (is_dir) return fs->nodes[i].is_dir ? i : NODE_CLASH;
      /* A file a previous daemon handed over, not yet claimed: the same path keeps its node id. */
      if (!fs->nodes[i].is_dir && fs->nodes[i].view < 0) {
        fs->nodes[i].view = view;
        return i;
      }
      return NODE_CLASH;
    }
  }
  int in_tmpl = tmpl || fs->nodes[parent].slot >= 0;
  if (fs->nnodes >= MAX_NODES || (in_tmpl && fs->ntmpl >= NUMBERED_STRIDE)) return NODE_CLASH;
  char *copy = strndup(name, len);
  if (!copy) return NODE_NO_MEMORY;
  int i = fs->nnodes++;
  fs->nodes[i].name = copy;
  fs->nodes[i].parent = parent;
  fs->nodes[i].is_dir = is_dir;
  fs->nodes[i].view = view;
  fs->nodes[i].slot = -1;
  if (in_tmpl) {
    fs->nodes[i].slot = fs->ntmpl;
    fs->tmpl_nodes[fs->ntmpl++] = i;
  }
  if (tmpl) fs->tmpl = i;
  return i;
}

/* The tree of cfg.files; nodes a previous daemon handed over (import_state) keep their ids, new ones
 * follow them. */
int build_tree(boxfs_t *fs, char *err, size_t err_len) {
  if (fs->nnodes < 2) {
    fs->nnodes = 2;
    fs->nodes[1].name = strdup("");
    fs->nodes[1].is_dir = 1;
    fs->nodes[1].slot = -1;
    if (!fs->nodes[1].name) {
      snprintf(err, err_len, "out of memory");
      return -1;
    }
  }
  for (int v = 0; v < fs->cfg.nfiles; v++) {
    const char *path = fs->cfg.files[v];
    fuse_ino_t parent = 1;
    const char *seg = path;
    for (;;) {
      const char *slash = strchr(seg, '/');
      size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
      const char *star = memchr(seg, '*', len);
      int tmpl = star != NULL;
      if (len == 0 || (tmpl && (star != seg + len - 1 || len < 2 || !slash))) {
        snprintf(err, err_len, "file path \"%s\": empty segment, or a '*' not ending a directory's name", path);
        return -1;
      }
      if (tmpl && fs->tmpl &&
          (fs->nodes[fs->tmpl].parent != parent || strncmp(fs->nodes[fs->tmpl].name, seg, len - 1) != 0)) {
        snprintf(err, err_len, "file path \"%s\": only one numbered directory is supported", path);
        return -1;
      }
      int ino = add_node(fs, seg, tmpl ? len - 1 : len, parent, slash != NULL, v, tmpl);
      if (ino == NODE_NO_MEMORY) {
        snprintf(err, err_len, "out of memory");
        return -1;
      }
      if (ino < 0) {
        snprintf(err, err_len, "file path \"%s\" clashes with another or the tree is too large", path);
        return -1;
      }
      if (!slash) break;
      parent = (fuse_ino_t)ino;
      seg = slash + 1;
    }
  }
  if (fs->tmpl) {
    for (int i = 2; i < fs->nnodes; i++)
      if (fs->nodes[i].parent == fs->nodes[fs->tmpl].parent && !fs->nodes[i].is_dir &&
          strcmp(fs->nodes[i].name, NUMBERED_LIST) == 0)
        fs->numbered_list = i;
    if (!fs->numbered_list) {
      snprintf(err, err_len, "a numbered directory (\"%s*\") needs a file \"%s\" beside it", fs->nodes[fs->tmpl].name,
               NUMBERED_LIST);
      return -1;
    }
  }
  return 0;
}
