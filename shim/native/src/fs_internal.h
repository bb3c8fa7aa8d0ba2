/*
 * What the parts of the FUSE filesystem share (fs.h is its interface): the node table (tree.c), the
 * FUSE operations and open files (ops.c), the caller-identity memo (caller_memo.c), the loop threads
 * (loop.c), the state a successor takes over (state.c), and start, stop and handover (fs.c).
 */
#ifndef BOXSCOPE_FS_INTERNAL_H
#define BOXSCOPE_FS_INTERNAL_H

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
 * The caller identity of a pid, remembered for MEMO_NS: a reader opens its files one after the
 * other (top's refresh, a loop of reads), and reading its /proc files is the dearest part of a
 * cache hit. A pid says nothing about which process it is (it is handed to a new process as soon as the
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

static inline boxfs_t *fs_of(fuse_req_t req) { return fuse_req_userdata(req); }

static inline uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* tree.c: the node table */
int served(boxfs_t *fs, int i);
int node_of(boxfs_t *fs, fuse_ino_t ino, long *number);
fuse_ino_t ino_of(boxfs_t *fs, int node, long number);
int view_served(boxfs_t *fs, int kind, fuse_ino_t ino);
void fill_attr(boxfs_t *fs, fuse_ino_t ino, struct stat *st);
void reply_entry(boxfs_t *fs, fuse_req_t req, fuse_ino_t ino, double entry_timeout, double attr_timeout);
long numbered_name(boxfs_t *fs, const char *name);
int build_tree(boxfs_t *fs, char *err, size_t err_len);

/* ops.c: the FUSE operations and open files */
extern const struct fuse_lowlevel_ops boxfs_ops;
handle_t *handle_new(content_t *c);
void handle_unref(handle_t *h);
void table_ref(void *h);
void table_unref(void *h);

/* caller_memo.c */
ssize_t caller_key_memo(boxfs_t *fs, pid_t pid, char *key, size_t cap, uint64_t *hash);

/* loop.c: the loop threads */
void on_wake_signal(int sig);
void signal_workers(boxfs_t *fs);
void *loop_main(void *arg);

/* state.c: what a successor takes over */
void export_state(boxfs_t *fs, hbuf_t *b);
int import_state(boxfs_t *fs, const unsigned char *data, size_t len, char *err, size_t err_len);

#endif
