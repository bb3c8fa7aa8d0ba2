/*
 * Handing the live FUSE connection from a running daemon to its successor (an upgrade without an
 * outage). The running daemon listens on a unix socket; a new daemon for the same mountpoint
 * connects and asks. The old one stops reading /dev/fuse, lets every request it already read be
 * answered, then sends a dup of its /dev/fuse fd (SCM_RIGHTS) and its state (fs.c's format); the
 * new one sets up its session on that fd and commits; the old one acknowledges and exits without
 * unmounting. Requests that arrive meanwhile wait in the kernel. Until the commit is acknowledged
 * nothing is final: if either side goes away or refuses, the old one resumes serving.
 *
 * Wire format (host byte order: both ends are on one machine), every message starting with
 * HANDOVER_MAGIC:
 *   request   magic u32, protocol u32, mountpoint length u32, mountpoint
 *   reply     magic u32, protocol u32, status i32 (0 or an errno), length u64, then that many bytes:
 *             the state when status is 0 (the fd rides on the header), else a message
 *   commit    magic u32, status i32 (0: the new daemon took over; else it gives up)
 *   ack       magic u32, status i32 (0: the old daemon will never read /dev/fuse again)
 */
#ifndef BOXSCOPE_HANDOVER_H
#define BOXSCOPE_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#define HANDOVER_MAGIC 0x4f485842u /* "BXHO" */
#define HANDOVER_PROTOCOL 1u

/* A growing byte buffer for the state; `failed` is set (and further writes ignored) on ENOMEM. */
typedef struct {
  unsigned char *data;
  size_t len, cap;
  int failed;
} hbuf_t;

void hbuf_u32(hbuf_t *b, uint32_t v);
void hbuf_u64(hbuf_t *b, uint64_t v);
void hbuf_bytes(hbuf_t *b, const void *p, size_t n);

/* Reading the state back; `failed` is set when it runs past the end. */
typedef struct {
  const unsigned char *p;
  size_t left;
  int failed;
} hreader_t;

uint32_t hread_u32(hreader_t *r);
uint64_t hread_u64(hreader_t *r);
/* n bytes in place, NULL (and failed) past the end. */
const void *hread_bytes(hreader_t *r, size_t n);

/* What the listening (old) daemon does on a request; each runs on the listener thread. */
typedef struct {
  const char *mountpoint;
  /* Stops reading, waits for in-flight requests, fills out with the state and *fuse_fd: 0, or an
   * errno with a message in err (serving then goes on, resume is not called). */
  int (*pause_and_export)(void *ctx, hbuf_t *out, int *fuse_fd, char *err, size_t err_len);
  /* The handover did not happen: serve again. */
  void (*resume)(void *ctx);
  /* The successor has it: end the loop without unmounting (called before the ack is sent). */
  void (*handed_over)(void *ctx);
  void *ctx;
} handover_server_cfg_t;

typedef struct handover_server handover_server_t;

/* Listens on `path` (replacing a stale socket file atomically) on its own thread; NULL with err. */
handover_server_t *handover_listen(const char *path, const handover_server_cfg_t *cfg, char *err, size_t err_len);
/* Stops listening; with `remove`, also removes the socket file if it is still the one we made (never
 * after a handover: the successor may be about to put its own there). */
void handover_close(handover_server_t *s, int remove);

enum {
  HANDOVER_TAKEN = 1, /* *sock, *fuse_fd and *state are the caller's: commit or abandon */
  HANDOVER_NONE = 0, /* nobody listens there: mount as usual */
  HANDOVER_GONE = -2, /* the old daemon went away mid-way (err says where): mount as usual */
  HANDOVER_REFUSED = -1, /* the old daemon answered no, or spoke another protocol (err says) */
};
/* Asks the daemon at `path` for the connection of `mountpoint`. */
int handover_take(const char *path, const char *mountpoint, int *sock, int *fuse_fd, unsigned char **state,
                  size_t *state_len, char *err, size_t err_len);
/* Tells the old daemon we took over and waits for its ack: 0, or HANDOVER_GONE (err says). Closes sock. */
int handover_commit(int sock, char *err, size_t err_len);
/* Tells the old daemon to resume (status: why, an errno) and closes sock. */
void handover_abandon(int sock, int status);

#endif
