#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <linux/fuse.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "caller_key.h"
#include "cpulist.h"
#include "handles.h"
#include "handover.h"

/* The tree never changes while mounted, so the kernel may cache names and attributes for long. */
#define STATIC_TIMEOUT 3600.0
/*
 * The size a view file's attributes carry when no caller's rendering is at hand (lookups). The
 * kernel keeps one size per inode, shared by every container's bind of it, and opens no longer
 * refresh it (no GETATTR per open). sendfile/splice readers (busybox cat) take a size of 0 as an
 * empty file without asking; any other size makes them read, which op_read refuses so they fall
 * back to read(2) and the caller's own bytes. So no attribute of a view file ever says 0.
 */
#define VIEW_SIZE_UNKNOWN 4096
#define MAX_NODES 128
#define KEY_CAP 8192

/*
 * Numbered directories: a path segment `cpu*` in the file list stands for the directories cpu0,
 * cpu1, ... that exist for the caller: those its parent's `online` file lists for it (the
 * container's CPUs, renumbered from 0). The template's nodes (the `cpu*` directory and everything
 * below it) are in the table once; a numbered copy's inode follows from the template node's slot
 * and the number, so the table stays small whatever the host's CPU count, and every path keeps its
 * inode (static nodes: their index; numbered: NUMBERED_INO_BASE + number * NUMBERED_STRIDE + slot).
 */
#define NUMBERED_INO_BASE 65536
#define NUMBERED_STRIDE 64
#define NUMBERED_MAX 65536 /* numbers 0..NUMBERED_MAX-1 (the kernel's NR_CPUS is at most 8192) */
#define NUMBERED_LIST "online" /* the file beside the template that lists the caller's numbers */

typedef struct {
  char *name; /* for the template directory: its name without the '*' ("cpu") */
  fuse_ino_t parent; /* a node index (numbered nodes: the template node index of their parent) */
  int is_dir;
  int view; /* files only; -1: a file a previous daemon served that this one does not (see import_state) */
  int slot; /* -1: a static node; else its slot in the template (0 = the template directory) */
} node_t;

/* Version of the state format handed to a successor (export_state / import_state). */
#define STATE_VERSION 1u
#define STATE_END 0x21444e45u /* "END!" */
/* How long a handover waits for the loop threads to stop reading, then for in-flight renders. */
#define PAUSE_TIMEOUT_S 5
#define DRAIN_TIMEOUT_S 10
#define MAX_WORKERS 256
/* Interrupts a worker's blocking read() of /dev/fuse (its handler does nothing: the read fails with
 * EINTR and the worker looks at why). Only the workers unblock it; Node uses no real-time signal. */
#define WAKE_SIGNAL (SIGRTMIN + 4)
/* A signal sent just before a worker enters read() is lost, so a pause signals again this often. */
#define PAUSE_NUDGE_NS 1000000

struct boxfs {
  struct fuse_session *se;
  pthread_t loop_thread;
  char *mountpoint;
  char abort_path[96]; /* /sys/fs/fuse/connections/<dev>/abort, "" if unknown */
  boxfs_config_t cfg;
  view_cache_t *cache;
  node_t nodes[MAX_NODES]; /* index = inode of static nodes; 0 unused, 1 = root */
  int nnodes;
  int tmpl; /* the template directory's node index, 0 if none */
  int tmpl_nodes[NUMBERED_STRIDE]; /* slot → node index */
  int ntmpl;
  int numbered_list; /* node index of the `online` file beside the template (its view lists them) */
  time_t mounted_at;
  int stopping; /* atomic */
  uint64_t opens, cache_hits, renders, render_errors; /* atomic */
  pthread_mutex_t inflight_lock;
  pthread_cond_t inflight_zero;
  int inflight; /* requests handed to render and not yet completed */
  pthread_mutex_t memo_lock;
  struct key_memo *memo; /* MEMO_SLOTS */
  handle_table_t *handles; /* fi->fh of open files */
  /* The loop threads (loop_main's workers) and what stops them: a handover pauses them, a stop or a
   * completed handover ends them. A worker blocked in read() is interrupted by WAKE_SIGNAL; the
   * rest is guarded by loop_lock. */
  pthread_mutex_t loop_lock;
  pthread_cond_t loop_cond;
  int nthreads;
  pthread_t workers[MAX_WORKERS];
  int worker_alive[MAX_WORKERS]; /* a thread id may be signalled only while its worker is alive */
  int started; /* every worker was created (or failed to be) */
  int running, parked; /* workers alive; workers waiting in the pause */
  int pause, ending, handed_over; /* atomic reads, written under loop_lock */
  int loop_error; /* errno of the first worker that failed to read */
  /* The FUSE_INIT request as the kernel sent it: a successor replays it to its own session. */
  unsigned char *init_msg;
  size_t init_len; /* 0 until seen (atomic) */
  int adopted; /* took over a live connection instead of mounting */
  handover_server_t *handover;
  char listen_error[256]; /* why an adopting daemon does not listen for its own successor */
  uint64_t handover_ns; /* adopted: from asking the predecessor to serving (the longest a reader waited) */
};

/* KIND_LOOKUP and KIND_OPENDIR serve the caller's NUMBERED_LIST to answer a lookup of a numbered
 * directory or an opendir of the template's parent. */
enum { KIND_OPEN, KIND_GETATTR, KIND_READ, KIND_LOOKUP, KIND_OPENDIR };

/*
 * An open view file (fi->fh is its id in fs->handles): the bytes its reader reads. A reader that
 * reads from the start again (procps keeps /proc/meminfo and /proc/stat open and seeks back to 0
 * before every refresh, as the kernel's /proc allows) gets a fresh rendering, as from the kernel's
 * /proc; a read further on continues the bytes it started.
 */
typedef struct {
  int refs; /* atomic: the open file's, and one per read waiting for its fresh rendering */
  pthread_mutex_t lock; /* a fresh rendering may replace content while another thread reads it */
  content_t *content;
  int read_once; /* a read has been answered since open */
} handle_t;

/* A handle holding c (takes over the reference); NULL when out of memory. */
static handle_t *handle_new(content_t *c) {
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
static void handle_unref(handle_t *h) {
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
static void table_ref(void *h) { handle_ref(h); }
static void table_unref(void *h) { handle_unref(h); }

/* A read that waits for a fresh rendering: its open file's handle (a reference it holds until the
 * answer) and the size asked. */
typedef struct {
  handle_t *handle;
  size_t size;
} reread_t;

struct boxfs_call {
  boxfs_t *fs;
  fuse_req_t req;
  int kind;
  fuse_ino_t ino;
  struct fuse_file_info fi;
  int view;
  reread_t reread; /* KIND_READ */
  size_t key_len;
  uint64_t key_hash;
  char key[]; /* the caller identity (caller_key.h): the cache key, and what JavaScript renders for */
};

/*
 * The caller identity of a pid, remembered for MEMO_NS: an open() is a GETATTR then an OPEN from the
 * same process microseconds apart, and reading its /proc files is the dearest part of a cache
 * hit. A pid says nothing about which process it is (it is handed to a new process as soon as the
 * old one is reaped; clone3 set_tid does so at once), so each entry holds a pidfd of the process it
 * was read from and is used only while that process has not exited: while it lives, the pid is its.
 * The window bounds how long a process that moved to another cgroup may still be served under its
 * old identity.
 */
#define MEMO_SLOTS 64
#define MEMO_KEY_CAP 4096
#define MEMO_NS 2000000ull
struct key_memo {
  pid_t pid;
  int pidfd; /* -1: empty */
  uint64_t at;
  size_t len;
  uint64_t hash; /* cache_key_hash of key */
  char key[MEMO_KEY_CAP];
};

/* Callers whose identity needs more than KEY_CAP bytes get one more try with this much. */
#define KEY_CAP_LARGE (1u << 20)

static inline void count(uint64_t *c) { __atomic_add_fetch(c, 1, __ATOMIC_RELAXED); }

static boxfs_t *fs_of(fuse_req_t req) { return fuse_req_userdata(req); }

/* A node this daemon serves (not a file only a previous daemon served). */
static int served(boxfs_t *fs, int i) { return fs->nodes[i].is_dir || fs->nodes[i].view >= 0; }

/* The node of an inode and its number (-1: a static node); 0 when there is no such inode. */
static int node_of(boxfs_t *fs, fuse_ino_t ino, long *number) {
  *number = -1;
  if (ino >= 1 && ino < (fuse_ino_t)fs->nnodes) return fs->nodes[ino].slot < 0 && served(fs, (int)ino) ? (int)ino : 0;
  if (ino < NUMBERED_INO_BASE || fs->tmpl == 0) return 0;
  fuse_ino_t rel = ino - NUMBERED_INO_BASE;
  fuse_ino_t slot = rel % NUMBERED_STRIDE, n = rel / NUMBERED_STRIDE;
  if (slot >= (fuse_ino_t)fs->ntmpl || n >= NUMBERED_MAX) return 0;
  *number = (long)n;
  return served(fs, fs->tmpl_nodes[slot]) ? fs->tmpl_nodes[slot] : 0;
}

static fuse_ino_t ino_of(boxfs_t *fs, int node, long number) {
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
static int view_served(boxfs_t *fs, int kind, fuse_ino_t ino) {
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

static void fill_attr(boxfs_t *fs, fuse_ino_t ino, struct stat *st) {
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

static void reply_entry(boxfs_t *fs, fuse_req_t req, fuse_ino_t ino, double entry_timeout, double attr_timeout) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof(e));
  e.ino = ino;
  e.entry_timeout = entry_timeout;
  e.attr_timeout = attr_timeout;
  fill_attr(fs, ino, &e.attr);
  fuse_reply_entry(req, &e);
}

/* `name` is the template's prefix and a number in canonical decimal: that number, else -1. */
static long numbered_name(boxfs_t *fs, const char *name) {
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
  content_t *list = (content_t *)(uintptr_t)fi->fh;
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
  fuse_reply_buf(req, buf, used);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  content_unref((content_t *)(uintptr_t)fi->fh);
  fuse_reply_err(req, 0);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9 */
#endif

/* A pidfd of the thread `pid` (FUSE reports thread ids); -1 when none can be had. */
static int open_pidfd(pid_t pid) {
  static int no_thread_pidfds; /* atomic: the kernel predates PIDFD_THREAD */
  if (pid <= 0) return -1;
  if (!__atomic_load_n(&no_thread_pidfds, __ATOMIC_RELAXED)) {
    int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);
    if (fd >= 0 || errno != EINVAL) return fd;
    __atomic_store_n(&no_thread_pidfds, 1, __ATOMIC_RELAXED);
  }
  /* Without PIDFD_THREAD only a thread-group leader has a pidfd; other threads are not remembered. */
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The process of a pidfd has not exited (a pidfd polls readable once it has). */
static int pidfd_running(int pidfd) {
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  return poll(&p, 1, 0) == 0;
}

/* The caller identity of `pid` into key (caller_key's answer), and its hash into *hash. */
static ssize_t caller_key_memo(boxfs_t *fs, pid_t pid, char *key, size_t cap, uint64_t *hash) {
  struct key_memo *m = &fs->memo[(unsigned)pid % MEMO_SLOTS];
  uint64_t now = mono_ns();
  int pidfd = -1;
  size_t ns_len = 0;
  pthread_mutex_lock(&fs->memo_lock);
  if (m->pid == pid && m->pidfd >= 0 && pidfd_running(m->pidfd)) {
    if (now - m->at < MEMO_NS && m->len <= cap) {
      size_t len = m->len;
      memcpy(key, m->key, len);
      *hash = m->hash;
      pthread_mutex_unlock(&fs->memo_lock);
      return (ssize_t)len;
    }
    /* The same process, due for a fresh reading of its cgroups (it may have moved): its pidfd and
     * its pid namespace (fixed for a process's life) are still good. */
    const char *nl = memchr(m->key, '\n', m->len);
    ns_len = nl ? (size_t)(nl - m->key) + 1 : 0;
    memcpy(key, m->key, ns_len);
    pidfd = m->pidfd;
    m->pidfd = -1;
  }
  pthread_mutex_unlock(&fs->memo_lock);
  /* The pidfd first, then the identity, then the check that the pidfd's process is still running:
   * only then was the identity read from that process (and not from a successor with its pid). */
  if (pidfd < 0) pidfd = open_pidfd(pid);
  ssize_t len = ns_len > 0 ? caller_key_cgroup(pid, key, ns_len, cap) : caller_key(pid, key, cap);
  if (len >= 0) *hash = cache_key_hash(key, (size_t)len);
  if (pidfd >= 0 && len >= 0 && (size_t)len <= MEMO_KEY_CAP && pidfd_running(pidfd)) {
    pthread_mutex_lock(&fs->memo_lock);
    int replaced = m->pidfd;
    m->pid = pid;
    m->pidfd = pidfd;
    m->at = now;
    m->len = (size_t)len;
    m->hash = *hash;
    memcpy(m->key, key, (size_t)len);
    pthread_mutex_unlock(&fs->memo_lock);
    if (replaced >= 0) close(replaced);
  } else if (pidfd >= 0) {
    close(pidfd);
  }
  return len;
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
    fi->fh = (uint64_t)(uintptr_t)c; /* released by op_releasedir */
    fi->cache_readdir = 0;           /* the listing is the caller's: never the kernel's cached one */
    fi->keep_cache = 0;
    if (fuse_reply_open(req, fi) != 0) content_unref(c);
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
    reply_bytes(req, c, 0, rd->size);
    handle_replace(rd->handle, c);
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
  uint64_t key_hash = 0;
  ssize_t key_len = caller_key_memo(fs, ctx->pid, key, sizeof(stack_key), &key_hash);
  if (key_len == CALLER_TOO_LONG && (key = malloc(KEY_CAP_LARGE)) != NULL) {
    key_len = caller_key(ctx->pid, key, KEY_CAP_LARGE);
    if (key_len >= 0) key_hash = cache_key_hash(key, (size_t)key_len);
  }
  if (key_len < 0) {
    /* The caller is gone (killed mid-request): nobody to answer for. */
    if (key != stack_key) free(key);
    answer_error(fs, req, kind, ino, rd, EIO);
    return;
  }
  content_t *c = NULL;
  if (fs->cache && cache_get(fs->cache, view, key, (size_t)key_len, key_hash, &c)) {
    if (key != stack_key) free(key);
    count(&fs->cache_hits);
    answer(fs, req, kind, ino, fi, rd, c);
    return;
  }
  boxfs_call_t *call = malloc(sizeof(boxfs_call_t) + (size_t)key_len);
  if (!call) {
    if (key != stack_key) free(key);
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
  if (key != stack_key) free(key);
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
 * /proc-style size 0. The rendering is the one the following open() then takes from the cache.
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

static const struct fuse_lowlevel_ops ops = {
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

/* The node `name` (len bytes; a template when `tmpl`) below parent, added if new; -1 on a clash
 * (a file and a directory of one name) or a full table. */
static int add_node(boxfs_t *fs, const char *name, size_t len, fuse_ino_t parent, int is_dir, int view, int tmpl) {
  for (int i = 2; i < fs->nnodes; i++) {
    if (fs->nodes[i].parent == parent && strlen(fs->nodes[i].name) == len &&
        strncmp(fs->nodes[i].name, name, len) == 0 && (i == fs->tmpl) == tmpl) {
      if (is_dir) return fs->nodes[i].is_dir ? i : -1;
      /* A file a previous daemon handed over, not yet claimed: the same path keeps its node id. */
      if (!fs->nodes[i].is_dir && fs->nodes[i].view < 0) {
        fs->nodes[i].view = view;
        return i;
      }
      return -1;
    }
  }
  int in_tmpl = tmpl || fs->nodes[parent].slot >= 0;
  if (fs->nnodes >= MAX_NODES || (in_tmpl && fs->ntmpl >= NUMBERED_STRIDE)) return -1;
  char *copy = strndup(name, len);
  if (!copy) return -1;
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
static int build_tree(boxfs_t *fs, char *err, size_t err_len) {
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

/* Keeps the INIT request the kernel sent (the first one it sends) for a successor to replay. */
static void remember_init(boxfs_t *fs, const struct fuse_buf *buf) {
  if (buf->flags & FUSE_BUF_IS_FD || buf->size < sizeof(struct fuse_in_header)) return;
  const struct fuse_in_header *in = buf->mem;
  if (in->opcode != FUSE_INIT || in->len != buf->size) return;
  unsigned char *copy = malloc(buf->size);
  if (!copy) return; /* then this daemon cannot hand over: it refuses and goes on serving */
  memcpy(copy, buf->mem, buf->size);
  fs->init_msg = copy;
  __atomic_store_n(&fs->init_len, buf->size, __ATOMIC_RELEASE);
}

/* Waits on loop_lock while paused; 1 when the worker must end. Called with loop_lock held. */
static int park(boxfs_t *fs) {
  if (fs->ending) return 1;
  if (!fs->pause) return 0;
  fs->parked++;
  pthread_cond_broadcast(&fs->loop_cond);
  while (fs->pause && !fs->ending) pthread_cond_wait(&fs->loop_cond, &fs->loop_lock);
  fs->parked--;
  return fs->ending;
}

static void on_wake_signal(int sig) { (void)sig; }

/* Interrupts every live worker's read() (called with loop_lock held: no worker can end meanwhile). */
static void signal_workers(boxfs_t *fs) {
  for (int i = 0; i < fs->nthreads; i++)
    if (fs->worker_alive[i]) pthread_kill(fs->workers[i], WAKE_SIGNAL);
}

typedef struct {
  boxfs_t *fs;
  int index;
} worker_arg_t;

/*
 * Polls for the next request for up to cfg.spin_ns before the worker sleeps in read(). A reader's
 * requests come in bursts (OPEN, READ, the READ at the end, the next file): a worker asleep between
 * them must be woken each time, and waking an idle CPU is dear where it is a virtual one that halts
 * (a VM exit and an interrupt from the hypervisor) — most of a request's cost on such hosts, none of
 * it on busy ones. Bounded: at most spin_ns of CPU per request.
 */
static void spin_for_request(boxfs_t *fs) {
  struct pollfd p = {.fd = fuse_session_fd(fs->se), .events = POLLIN};
  uint64_t until = mono_ns() + fs->cfg.spin_ns;
  while (poll(&p, 1, 0) == 0 && mono_ns() < until && !__atomic_load_n(&fs->pause, __ATOMIC_ACQUIRE)) {
  }
}

/*
 * One loop thread: libfuse's own loops cannot be paused, so this one is a loop of libfuse's
 * fuse_session_receive_buf / fuse_session_process_buf that looks at a pause or the end between
 * requests; a read() blocked on an empty queue is interrupted by WAKE_SIGNAL. A request read is
 * processed to the end (or handed to JavaScript and counted in inflight) before the worker looks at
 * a pause again.
 */
static void run_worker(boxfs_t *fs, int index) {
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, WAKE_SIGNAL);
  pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
  struct fuse_buf buf;
  memset(&buf, 0, sizeof(buf));
  int err = 0;
  for (;;) {
    if (__atomic_load_n(&fs->pause, __ATOMIC_ACQUIRE) || __atomic_load_n(&fs->ending, __ATOMIC_ACQUIRE)) {
      pthread_mutex_lock(&fs->loop_lock);
      int end = park(fs);
      pthread_mutex_unlock(&fs->loop_lock);
      if (end) break;
      continue;
    }
    if (fuse_session_exited(fs->se)) break;
    if (fs->cfg.spin_ns) spin_for_request(fs);
    int res = fuse_session_receive_buf(fs->se, &buf);
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res <= 0) {
      err = -res; /* 0: ENODEV, the connection ended (unmounted or aborted) */
      break;
    }
    if (__atomic_load_n(&fs->init_len, __ATOMIC_ACQUIRE) == 0) remember_init(fs, &buf);
    fuse_session_process_buf(fs->se, &buf);
  }
  pthread_sigmask(SIG_BLOCK, &wake, NULL);
  free(buf.mem);
  pthread_mutex_lock(&fs->loop_lock);
  fs->worker_alive[index] = 0;
  fs->running--;
  if (err && !fs->loop_error) fs->loop_error = err;
  /* One worker seeing the end of the session ends them all. */
  if (!fs->ending) {
    __atomic_store_n(&fs->ending, 1, __ATOMIC_RELEASE);
    signal_workers(fs);
  }
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
}

static void *worker_main(void *arg) {
  worker_arg_t *w = arg;
  run_worker(w->fs, w->index);
  free(w);
  return NULL;
}

static void *loop_main(void *arg) {
  boxfs_t *fs = arg;
  /* Signals belong to Node's main thread (SIGTERM → clean unmount in TypeScript). */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  /* Created under loop_lock: no pause signals a worker before its id and liveness are recorded. */
  pthread_mutex_lock(&fs->loop_lock);
  fs->workers[0] = pthread_self();
  fs->worker_alive[0] = 1;
  int n = 1;
  for (int i = 1; i < fs->nthreads; i++) {
    worker_arg_t *w = malloc(sizeof(*w));
    if (!w) break;
    *w = (worker_arg_t){.fs = fs, .index = n};
    fs->worker_alive[n] = 1;
    if (pthread_create(&fs->workers[n], NULL, worker_main, w) != 0) {
      fs->worker_alive[n] = 0;
      free(w);
      break;
    }
    n++;
  }
  fs->running -= fs->nthreads - n; /* workers that could not be started */
  fs->nthreads = n;
  fs->started = 1;
  pthread_mutex_unlock(&fs->loop_lock);
  run_worker(fs, 0);
  for (int i = 1; i < n; i++) pthread_join(fs->workers[i], NULL);
  /* No worker reads any more: no successor can be handed the connection from here on. */
  handover_close(fs->handover, !__atomic_load_n(&fs->handed_over, __ATOMIC_ACQUIRE));
  fs->handover = NULL;
  if (__atomic_load_n(&fs->handed_over, __ATOMIC_ACQUIRE)) {
    /* The successor serves the connection now: no unmount, no abort, and the session's fd (a dup
     * the successor also holds) simply closes when this process ends. */
    fs->cfg.on_exit(fs->cfg.ctx, BOXFS_HANDED_OVER);
    return NULL;
  }
  /* Requests still with JavaScript reply through the session: wait for them (JS answers even while
   * Node shuts down, with EIO), at most 10 s; past that leak the session rather than free it under
   * a late reply. */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += DRAIN_TIMEOUT_S;
  int drained = 1;
  pthread_mutex_lock(&fs->inflight_lock);
  while (fs->inflight > 0 && drained) {
    if (pthread_cond_timedwait(&fs->inflight_zero, &fs->inflight_lock, &until) == ETIMEDOUT) drained = 0;
  }
  pthread_mutex_unlock(&fs->inflight_lock);
  if (!drained) {
    fs->cfg.on_exit(fs->cfg.ctx, __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE) ? 0 : EIO);
    return NULL;
  }
  fuse_session_unmount(fs->se); /* no-op for an adopted session: boxfs_stop detaches the mountpoint */
  fuse_session_destroy(fs->se);
  fs->se = NULL;
  /* ENODEV from an unmount or abort is the normal end of a mounted session. */
  int stopped = __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE);
  fs->cfg.on_exit(fs->cfg.ctx, stopped ? 0 : fs->loop_error);
  return NULL;
}

/* ---- handing the connection to a successor (handover.h) ---- */

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
static void export_state(boxfs_t *fs, hbuf_t *b) {
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
static int import_state(boxfs_t *fs, const unsigned char *data, size_t len, char *err, size_t err_len) {
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

static void resume_loop(void *ctx) {
  boxfs_t *fs = ctx;
  pthread_mutex_lock(&fs->loop_lock);
  __atomic_store_n(&fs->pause, 0, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
}

static int pause_and_export(void *ctx, hbuf_t *out, int *fuse_fd, char *err, size_t err_len) {
  boxfs_t *fs = ctx;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += PAUSE_TIMEOUT_S;
  pthread_mutex_lock(&fs->loop_lock);
  if (!fs->started) {
    pthread_mutex_unlock(&fs->loop_lock);
    snprintf(err, err_len, "the running daemon is still starting");
    return EAGAIN;
  }
  if (fs->ending || __atomic_load_n(&fs->stopping, __ATOMIC_ACQUIRE)) {
    pthread_mutex_unlock(&fs->loop_lock);
    snprintf(err, err_len, "the running daemon is stopping");
    return ESHUTDOWN;
  }
  __atomic_store_n(&fs->pause, 1, __ATOMIC_RELEASE);
  int timed_out = 0;
  while (fs->parked < fs->running && !fs->ending && !timed_out) {
    signal_workers(fs);
    struct timespec nudge;
    clock_gettime(CLOCK_REALTIME, &nudge);
    nudge.tv_nsec += PAUSE_NUDGE_NS;
    if (nudge.tv_nsec >= 1000000000L) {
      nudge.tv_sec++;
      nudge.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&fs->loop_cond, &fs->loop_lock, &nudge);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    timed_out = now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec);
  }
  int ended = fs->ending;
  pthread_mutex_unlock(&fs->loop_lock);
  if (ended || timed_out) {
    resume_loop(fs);
    snprintf(err, err_len, ended ? "the running daemon is stopping" : "the running daemon's loop did not pause");
    return ended ? ESHUTDOWN : ETIMEDOUT;
  }
  /* Paused: nothing new is read. Every request already read must be answered before the
   * connection changes hands (answers go out through this session's fd). */
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += DRAIN_TIMEOUT_S;
  pthread_mutex_lock(&fs->inflight_lock);
  while (fs->inflight > 0 && !timed_out)
    timed_out = pthread_cond_timedwait(&fs->inflight_zero, &fs->inflight_lock, &until) == ETIMEDOUT;
  pthread_mutex_unlock(&fs->inflight_lock);
  if (timed_out) {
    resume_loop(fs);
    snprintf(err, err_len, "the running daemon still has renders in flight");
    return EBUSY;
  }
  if (__atomic_load_n(&fs->init_len, __ATOMIC_ACQUIRE) == 0) {
    resume_loop(fs);
    snprintf(err, err_len, "the running daemon has not seen the kernel's FUSE INIT");
    return EAGAIN;
  }
  export_state(fs, out);
  if (out->failed) {
    resume_loop(fs);
    snprintf(err, err_len, "out of memory writing the state");
    return ENOMEM;
  }
  *fuse_fd = fuse_session_fd(fs->se);
  return 0;
}

static void end_after_handover(void *ctx) {
  boxfs_t *fs = ctx;
  pthread_mutex_lock(&fs->loop_lock);
  __atomic_store_n(&fs->handed_over, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&fs->ending, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
}

static int start_listening(boxfs_t *fs, char *err, size_t err_len) {
  if (!fs->cfg.handover_socket || !*fs->cfg.handover_socket) return 0;
  handover_server_cfg_t hc = {
      .mountpoint = fs->mountpoint,
      .pause_and_export = pause_and_export,
      .resume = resume_loop,
      .handed_over = end_after_handover,
      .ctx = fs,
  };
  fs->handover = handover_listen(fs->cfg.handover_socket, &hc, err, err_len);
  return fs->handover ? 0 : -1;
}

/* ---- start and stop ---- */

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


static void fs_free(boxfs_t *fs) {
  cache_free(fs->cache);
  handles_free(fs->handles);
  free(fs->memo);
  for (int i = 1; i < fs->nnodes; i++) free(fs->nodes[i].name);
  free(fs->init_msg);
  free(fs->mountpoint);
  free((char *)fs->cfg.handover_socket);
  free(fs);
}

static boxfs_t *fs_new(const boxfs_config_t *cfg, char *err, size_t err_len) {
  boxfs_t *fs = calloc(1, sizeof(*fs));
  if (!fs) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  fs->cfg = *cfg;
  fs->cfg.handover_socket = NULL; /* the caller's string: copied below */
  fs->mountpoint = strdup(cfg->mountpoint);
  fs->mounted_at = time(NULL);
  fs->nthreads = cfg->max_threads < 1 ? 1 : cfg->max_threads > MAX_WORKERS ? MAX_WORKERS : cfg->max_threads;
  fs->running = fs->nthreads;
  pthread_mutex_init(&fs->inflight_lock, NULL);
  pthread_cond_init(&fs->inflight_zero, NULL);
  pthread_mutex_init(&fs->memo_lock, NULL);
  pthread_mutex_init(&fs->loop_lock, NULL);
  pthread_cond_init(&fs->loop_cond, NULL);
  fs->memo = calloc(MEMO_SLOTS, sizeof(struct key_memo));
  fs->handles = handles_new(table_ref, table_unref);
  if (cfg->handover_socket && *cfg->handover_socket) fs->cfg.handover_socket = strdup(cfg->handover_socket);
  if (cfg->cache_ttl_ns > 0) fs->cache = cache_new(cfg->cache_ttl_ns);
  int want_socket = cfg->handover_socket && *cfg->handover_socket;
  if (!fs->memo || !fs->handles || !fs->mountpoint || (cfg->cache_ttl_ns > 0 && !fs->cache) ||
      (want_socket && !fs->cfg.handover_socket)) {
    snprintf(err, err_len, "out of memory");
    fs_free(fs);
    return NULL;
  }
  for (int i = 0; i < MEMO_SLOTS; i++) fs->memo[i].pidfd = -1;
  return fs;
}

static struct fuse_session *new_session(boxfs_t *fs, char *err, size_t err_len) {
  /*
   * No default_permissions: with it the kernel checks the mode bits itself and, as file attributes
   * are never cached (a file's size is the caller's own), asks for them with a GETATTR before every
   * open. Every file here is world-readable and read-only, so op_open and op_access say the same.
   */
  char opts[1024];
  snprintf(opts, sizeof(opts), "ro,allow_other,fsname=boxscope,subtype=boxscope%s%s",
           fs->cfg.extra_options && *fs->cfg.extra_options ? "," : "",
           fs->cfg.extra_options ? fs->cfg.extra_options : "");
  char *argv[] = {"boxscope", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), fs);
  if (!se) snprintf(err, err_len, "fuse_session_new failed (mount options \"%s\")", opts);
  return se;
}

/* The workers' read() blocks (and WAKE_SIGNAL interrupts it); its handler is process-wide. */
static int install_wake_handler(char *err, size_t err_len) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_wake_signal; /* no SA_RESTART: the read must fail with EINTR */
  sigemptyset(&sa.sa_mask);
  if (sigaction(WAKE_SIGNAL, &sa, NULL) != 0) {
    snprintf(err, err_len, "cannot install the loop's wake-up signal handler (%s)", strerror(errno));
    return -1;
  }
  return 0;
}

boxfs_t *boxfs_start(const boxfs_config_t *cfg, char *err, size_t err_len) {
  boxfs_t *fs = fs_new(cfg, err, err_len);
  if (!fs) return NULL;
  if (install_wake_handler(err, err_len) != 0 || build_tree(fs, err, err_len) != 0) goto fail;
  fs->se = new_session(fs, err, err_len);
  if (!fs->se) goto fail;
  if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
    int e = errno;
    snprintf(err, err_len, "cannot mount FUSE on %s (%s)", fs->mountpoint, strerror(e ? e : EIO));
    fuse_session_destroy(fs->se);
    goto fail;
  }
  find_abort_path(fs);
  if (start_listening(fs, err, err_len) != 0 || pthread_create(&fs->loop_thread, NULL, loop_main, fs) != 0) {
    if (!err[0]) snprintf(err, err_len, "cannot start the FUSE loop thread");
    handover_close(fs->handover, 1);
    fuse_session_unmount(fs->se);
    fuse_session_destroy(fs->se);
    goto fail;
  }
  pthread_detach(fs->loop_thread);
  return fs;
fail:
  fs_free(fs);
  return NULL;
}

/*
 * A session on the connection's fd that libfuse treats as initialised: libfuse answers EIO to
 * everything until it processed a FUSE_INIT, and has no other way in. The predecessor's INIT request
 * is replayed: libfuse sets itself up exactly as the predecessor did (same kernel flags, same
 * options), and its reply goes to a request id the kernel finished long ago, which the kernel
 * rejects (ENOENT, which libfuse ignores) without touching the connection.
 */
static int adopt_session(boxfs_t *fs, int fuse_fd, char *err, size_t err_len) {
  fs->se = new_session(fs, err, err_len);
  if (!fs->se) return -1;
  char devfd[32];
  snprintf(devfd, sizeof(devfd), "/dev/fd/%d", fuse_fd);
  if (fuse_session_mount(fs->se, devfd) != 0) {
    snprintf(err, err_len, "libfuse would not adopt the handed-over /dev/fuse fd");
    fuse_session_destroy(fs->se);
    fs->se = NULL;
    return -1;
  }
  unsigned char *init = malloc(fs->init_len);
  if (!init) {
    snprintf(err, err_len, "out of memory");
    return -1;
  }
  memcpy(init, fs->init_msg, fs->init_len);
  struct fuse_buf b = {.size = fs->init_len, .mem = init};
  fuse_session_process_buf(fs->se, &b);
  free(init);
  return 0;
}

boxfs_t *boxfs_take_over(const boxfs_config_t *cfg, int *outcome, char *err, size_t err_len) {
  int sock = -1, fuse_fd = -1;
  unsigned char *state = NULL;
  size_t state_len = 0;
  uint64_t asked = mono_ns();
  *outcome = handover_take(cfg->handover_socket, cfg->mountpoint, &sock, &fuse_fd, &state, &state_len, err, err_len);
  if (*outcome != HANDOVER_TAKEN) return NULL;
  boxfs_t *fs = fs_new(cfg, err, err_len);
  if (!fs || install_wake_handler(err, err_len) != 0 || import_state(fs, state, state_len, err, err_len) != 0 ||
      build_tree(fs, err, err_len) != 0 || adopt_session(fs, fuse_fd, err, err_len) != 0) {
    free(state);
    handover_abandon(sock, EPROTO);
    if (fs && fs->se) fuse_session_destroy(fs->se); /* closes fuse_fd */
    else close(fuse_fd);
    if (fs) fs_free(fs);
    *outcome = HANDOVER_REFUSED;
    return NULL;
  }
  free(state);
  fs->adopted = 1;
  if (!fs->abort_path[0]) find_abort_path(fs);
  /* Only once the predecessor acknowledged does it never read again: until then, no reading here. */
  if (handover_commit(sock, err, err_len) != 0) {
    fuse_session_destroy(fs->se);
    fs_free(fs);
    *outcome = HANDOVER_GONE;
    return NULL;
  }
  if (pthread_create(&fs->loop_thread, NULL, loop_main, fs) != 0) {
    /* Holding the connection without serving it would hang every reader: end it (like a crash). */
    snprintf(err, err_len, "cannot start the FUSE loop thread after the handover");
    boxfs_stop(fs);
    fuse_session_destroy(fs->se);
    *outcome = HANDOVER_REFUSED;
    return NULL; /* fs leaks on this one-off path: the abort above ended everything it served */
  }
  pthread_detach(fs->loop_thread);
  fs->handover_ns = mono_ns() - asked;
  /* The successor of this daemon asks here next; failing that, serving goes on (listen_error says). */
  if (start_listening(fs, fs->listen_error, sizeof(fs->listen_error)) != 0 && !fs->listen_error[0])
    snprintf(fs->listen_error, sizeof(fs->listen_error), "cannot listen on the handover socket");
  return fs;
}

const char *boxfs_listen_error(boxfs_t *fs) { return fs->listen_error[0] ? fs->listen_error : NULL; }

uint64_t boxfs_handover_ns(boxfs_t *fs) { return fs->handover_ns; }

void boxfs_stop(boxfs_t *fs) {
  if (__atomic_exchange_n(&fs->stopping, 1, __ATOMIC_ACQ_REL)) return;
  /* After a handover the successor serves the mount: nothing here may touch it. */
  if (__atomic_load_n(&fs->handed_over, __ATOMIC_ACQUIRE)) return;
  /* The workers end on WAKE_SIGNAL; the detach and the abort end the connection (bind mounts of our
   * files in containers would keep it alive after the detach; aborting ends it now, as the process
   * exiting would). */
  pthread_mutex_lock(&fs->loop_lock);
  __atomic_store_n(&fs->ending, 1, __ATOMIC_RELEASE);
  signal_workers(fs);
  pthread_cond_broadcast(&fs->loop_cond);
  pthread_mutex_unlock(&fs->loop_lock);
  umount2(fs->mountpoint, MNT_DETACH);
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
