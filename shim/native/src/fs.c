#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "caller_key.h"

/* The tree never changes while mounted, so the kernel may cache names and attributes for long. */
#define STATIC_TIMEOUT 3600.0
#define MAX_NODES 128
#define KEY_CAP 8192

typedef struct {
  char *name;
  fuse_ino_t parent;
  int is_dir;
  int view; /* files only */
} node_t;

struct boxfs {
  struct fuse_session *se;
  pthread_t loop_thread;
  char *mountpoint;
  char abort_path[96]; /* /sys/fs/fuse/connections/<dev>/abort, "" if unknown */
  boxfs_config_t cfg;
  view_cache_t *cache;
  node_t nodes[MAX_NODES]; /* index = inode; 0 unused, 1 = root */
  int nnodes;
  time_t mounted_at;
  int stopping; /* atomic */
  uint64_t opens, cache_hits, renders, render_errors; /* atomic */
};

static inline void count(uint64_t *c) { __atomic_add_fetch(c, 1, __ATOMIC_RELAXED); }

static boxfs_t *fs_of(fuse_req_t req) { return fuse_req_userdata(req); }

static int valid_ino(boxfs_t *fs, fuse_ino_t ino) { return ino >= 1 && ino < (fuse_ino_t)fs->nnodes; }

static void fill_attr(boxfs_t *fs, fuse_ino_t ino, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = ino;
  if (fs->nodes[ino].is_dir) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
  } else {
    /* size 0 like /proc: the length is only known once rendered for a caller (direct_io reads). */
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
  }
  st->st_atime = st->st_mtime = st->st_ctime = fs->mounted_at;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  boxfs_t *fs = fs_of(req);
  for (int i = 2; i < fs->nnodes; i++) {
    if (fs->nodes[i].parent == parent && strcmp(fs->nodes[i].name, name) == 0) {
      struct fuse_entry_param e;
      memset(&e, 0, sizeof(e));
      e.ino = (fuse_ino_t)i;
      e.attr_timeout = STATIC_TIMEOUT;
      e.entry_timeout = STATIC_TIMEOUT;
      fill_attr(fs, e.ino, &e.attr);
      fuse_reply_entry(req, &e);
      return;
    }
  }
  fuse_reply_err(req, ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  if (!valid_ino(fs, ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st;
  fill_attr(fs, ino, &st);
  fuse_reply_attr(req, &st, STATIC_TIMEOUT);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  if (!valid_ino(fs, ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (!fs->nodes[ino].is_dir) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  char buf[8192];
  size_t used = 0;
  off_t index = 0;
  struct stat st;
  memset(&st, 0, sizeof(st));
  /* entries: ".", "..", then children in tree order; the offset of an entry is its index + 1 */
  for (int i = -1; i < fs->nnodes; i++) {
    const char *name;
    fuse_ino_t child;
    if (i == -1) {
      name = ".";
      child = ino;
    } else if (i == 0) {
      name = "..";
      child = fs->nodes[ino].parent ? fs->nodes[ino].parent : 1;
    } else if (i >= 2 && fs->nodes[i].parent == ino) {
      name = fs->nodes[i].name;
      child = (fuse_ino_t)i;
    } else {
      continue;
    }
    index++;
    if (index <= off) continue;
    st.st_ino = child;
    st.st_mode = fs->nodes[child].is_dir ? S_IFDIR : S_IFREG;
    size_t need = fuse_add_direntry(req, buf + used, sizeof(buf) - used, name, &st, index);
    if (used + need > size || used + need > sizeof(buf)) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_reply_err(req, 0); }

static int render_for(boxfs_t *fs, int view, const struct fuse_ctx *ctx, content_t **out) {
  count(&fs->renders);
  int err = fs->cfg.render(fs->cfg.ctx, view, ctx->pid, ctx->uid, ctx->gid, out);
  if (err) count(&fs->render_errors);
  return err;
}

static int content_for(boxfs_t *fs, int view, const struct fuse_ctx *ctx, content_t **out) {
  if (!fs->cache) return render_for(fs, view, ctx, out);
  char key[KEY_CAP];
  ssize_t key_len = caller_key(ctx->pid, key, sizeof(key));
  if (key_len < 0) return render_for(fs, view, ctx, out); /* caller vanished: JS decides */
  if (cache_lookup(fs->cache, view, key, (size_t)key_len, out) == CACHE_HIT) {
    count(&fs->cache_hits);
    return 0;
  }
  int err = render_for(fs, view, ctx, out);
  cache_fill(fs->cache, view, key, (size_t)key_len, err ? NULL : *out);
  return err;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  boxfs_t *fs = fs_of(req);
  count(&fs->opens);
  if (!valid_ino(fs, ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (fs->nodes[ino].is_dir) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EACCES);
    return;
  }
  content_t *c = NULL;
  int err = content_for(fs, fs->nodes[ino].view, fuse_req_ctx(req), &c);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = (uint64_t)(uintptr_t)c;
  fi->direct_io = 1; /* like /proc: no page cache, size unknown up front */
  fi->keep_cache = 0;
  fi->noflush = 1; /* nothing to flush: saves a round trip per close */
  /* If the caller went away (interrupted), the kernel never sends release: drop the bytes here. */
  if (fuse_reply_open(req, fi) != 0) content_unref(c);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  content_t *c = (content_t *)(uintptr_t)fi->fh;
  if (!c || off < 0 || (size_t)off >= c->len) {
    fuse_reply_buf(req, NULL, 0);
    return;
  }
  size_t n = c->len - (size_t)off;
  if (n > size) n = size;
  fuse_reply_buf(req, c->data + off, n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  content_unref((content_t *)(uintptr_t)fi->fh);
  fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs s;
  memset(&s, 0, sizeof(s));
  s.f_bsize = 4096;
  s.f_namemax = 255;
  fuse_reply_statfs(req, &s);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = op_lookup,
    .getattr = op_getattr,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .statfs = op_statfs,
};

static int add_node(boxfs_t *fs, const char *name, size_t len, fuse_ino_t parent, int is_dir, int view) {
  for (int i = 2; i < fs->nnodes; i++) {
    if (fs->nodes[i].parent == parent && strlen(fs->nodes[i].name) == len &&
        strncmp(fs->nodes[i].name, name, len) == 0) {
      return fs->nodes[i].is_dir == is_dir && is_dir ? i : -1;
    }
  }
  if (fs->nnodes >= MAX_NODES) return -1;
  int i = fs->nnodes++;
  fs->nodes[i].name = strndup(name, len);
  fs->nodes[i].parent = parent;
  fs->nodes[i].is_dir = is_dir;
  fs->nodes[i].view = view;
  return i;
}

static int build_tree(boxfs_t *fs, char *err, size_t err_len) {
  fs->nnodes = 2;
  fs->nodes[1].name = strdup("");
  fs->nodes[1].is_dir = 1;
  for (int v = 0; v < fs->cfg.nfiles; v++) {
    const char *path = fs->cfg.files[v];
    fuse_ino_t parent = 1;
    const char *seg = path;
    for (;;) {
      const char *slash = strchr(seg, '/');
      size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
      if (len == 0) {
        snprintf(err, err_len, "file path \"%s\" has an empty segment", path);
        return -1;
      }
      int ino = add_node(fs, seg, len, parent, slash != NULL, v);
      if (ino < 0) {
        snprintf(err, err_len, "file path \"%s\" clashes with another or the tree is too large", path);
        return -1;
      }
      if (!slash) break;
      parent = (fuse_ino_t)ino;
      seg = slash + 1;
    }
  }
  return 0;
}

static void *loop_main(void *arg) {
  boxfs_t *fs = arg;
  /* Signals belong to Node's main thread (SIGTERM → clean unmount in TypeScript). */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  struct fuse_loop_config *lc = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(lc, 0);
  fuse_loop_cfg_set_max_threads(lc, (unsigned)fs->cfg.max_threads);
  int res = fuse_session_loop_mt(fs->se, lc);
  fuse_loop_cfg_destroy(lc);
  fuse_session_unmount(fs->se);
  fuse_session_destroy(fs->se);
  fs->se = NULL;
  /* ENODEV from an unmount or abort is the normal end of a mounted session. */
  int stopped = __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE);
  fs->cfg.on_exit(fs->cfg.ctx, stopped ? 0 : (res < 0 ? -res : res));
  return NULL;
}

/*
 * The fusectl entry of our connection, from /proc/self/mountinfo (a stat() of the mountpoint here
 * would wait for the FUSE INIT answer that only the loop gives). fusectl names a connection by the
 * kernel's dev_t: major << 20 | minor.
 */
static void find_abort_path(boxfs_t *fs) {
  fs->abort_path[0] = '\0';
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return;
  char line[4096];
  unsigned maj, min;
  char mp[2048];
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "%*u %*u %u:%u %*s %2047s", &maj, &min, mp) == 3 && strcmp(mp, fs->mountpoint) == 0 &&
        strstr(line, " - fuse.boxscope ")) {
      snprintf(fs->abort_path, sizeof(fs->abort_path), "/sys/fs/fuse/connections/%u/abort", (maj << 20) | min);
    }
  }
  fclose(f);
}

/* Many hosts mount fusectl at boot (systemd does); where nobody did, mount it to be able to abort. */
static void ensure_fusectl(void) {
  struct stat st;
  if (stat("/sys/fs/fuse/connections", &st) != 0) return;
  struct statfs sfs;
  if (statfs("/sys/fs/fuse/connections", &sfs) == 0 && sfs.f_type == 0x65735543 /* FUSECTL_SUPER_MAGIC */)
    return;
  mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL);
}

boxfs_t *boxfs_start(const boxfs_config_t *cfg, char *err, size_t err_len) {
  boxfs_t *fs = calloc(1, sizeof(*fs));
  if (!fs) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  fs->cfg = *cfg;
  fs->mountpoint = strdup(cfg->mountpoint);
  fs->mounted_at = time(NULL);
  if (build_tree(fs, err, err_len) != 0) goto fail;
  if (cfg->cache_ttl_ns > 0) fs->cache = cache_new(cfg->cache_ttl_ns);

  char opts[1024];
  snprintf(opts, sizeof(opts), "ro,allow_other,default_permissions,fsname=boxscope,subtype=boxscope%s%s",
           cfg->extra_options && *cfg->extra_options ? "," : "", cfg->extra_options ? cfg->extra_options : "");
  char *argv[] = {"boxscope", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  fs->se = fuse_session_new(&args, &ops, sizeof(ops), fs);
  if (!fs->se) {
    snprintf(err, err_len, "fuse_session_new failed (mount options \"%s\")", opts);
    goto fail;
  }
  if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
    int e = errno;
    snprintf(err, err_len, "cannot mount FUSE on %s (%s)", fs->mountpoint, strerror(e ? e : EIO));
    fuse_session_destroy(fs->se);
    goto fail;
  }
  find_abort_path(fs);
  if (pthread_create(&fs->loop_thread, NULL, loop_main, fs) != 0) {
    snprintf(err, err_len, "cannot start the FUSE loop thread");
    fuse_session_unmount(fs->se);
    fuse_session_destroy(fs->se);
    goto fail;
  }
  pthread_detach(fs->loop_thread);
  return fs;
fail:
  cache_free(fs->cache);
  free(fs->mountpoint);
  free(fs);
  return NULL;
}

void boxfs_stop(boxfs_t *fs) {
  if (__atomic_exchange_n(&fs->stopping, 1, __ATOMIC_ACQ_REL)) return;
  /* No fuse_session_exit here: the loop thread may be destroying the session. The detach (or the
   * abort) makes the loop's read() fail with ENODEV, which ends it. */
  umount2(fs->mountpoint, MNT_DETACH);
  /* Bind mounts of our files in containers keep the superblock (and our loop's read()) alive after
   * the detach; aborting the connection ends the loop now, as the process exiting would. */
  if (fs->abort_path[0]) {
    ensure_fusectl();
    int fd = open(fs->abort_path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t w = write(fd, "1", 1);
      (void)w;
      close(fd);
    }
  }
}

void boxfs_stats(boxfs_t *fs, boxfs_stats_t *out) {
  out->opens = __atomic_load_n(&fs->opens, __ATOMIC_RELAXED);
  out->cache_hits = __atomic_load_n(&fs->cache_hits, __ATOMIC_RELAXED);
  out->renders = __atomic_load_n(&fs->renders, __ATOMIC_RELAXED);
  out->render_errors = __atomic_load_n(&fs->render_errors, __ATOMIC_RELAXED);
}

int boxfs_detach(const char *path) { return umount2(path, MNT_DETACH) == 0 ? 0 : errno; }
