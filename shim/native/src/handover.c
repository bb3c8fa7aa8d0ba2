#include "handover.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

/* How long either side waits for the other's next message. The old daemon's own wait for its
 * in-flight renders (fs.c) is shorter, so a reply always comes before the new one gives up. */
#define REPLY_TIMEOUT_S 30
#define REQUEST_TIMEOUT_S 5
#define MAX_MESSAGE 4096
#define MAX_STATE (1ull << 30)

void hbuf_bytes(hbuf_t *b, const void *p, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *grown = realloc(b->data, cap);
    if (!grown) {
      b->failed = 1;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
}

void hbuf_u32(hbuf_t *b, uint32_t v) { hbuf_bytes(b, &v, sizeof(v)); }
void hbuf_u64(hbuf_t *b, uint64_t v) { hbuf_bytes(b, &v, sizeof(v)); }

const void *hread_bytes(hreader_t *r, size_t n) {
  if (r->failed || n > r->left) {
    r->failed = 1;
    return NULL;
  }
  const void *p = r->p;
  r->p += n;
  r->left -= n;
  return p;
}

uint32_t hread_u32(hreader_t *r) {
  uint32_t v = 0;
  const void *p = hread_bytes(r, sizeof(v));
  if (p) memcpy(&v, p, sizeof(v));
  return v;
}

uint64_t hread_u64(hreader_t *r) {
  uint64_t v = 0;
  const void *p = hread_bytes(r, sizeof(v));
  if (p) memcpy(&v, p, sizeof(v));
  return v;
}

/* 0, or an errno (EPIPE for a peer that closed; EAGAIN for a timeout). */
static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 0, or an errno (EPIPE: the peer closed before all of it came; EAGAIN: timeout). */
static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = recv(fd, c, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return EPIPE;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static void set_timeout(int fd, int seconds) {
  struct timeval tv = {.tv_sec = seconds};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int fill_addr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(a->sun_path)) return ENAMETOOLONG;
  strcpy(a->sun_path, path);
  return 0;
}

/* ---- the old daemon's side ---- */

struct handover_server {
  handover_server_cfg_t cfg;
  int listen_fd;
  int stop_pipe[2];
  pthread_t thread;
  char *path;
  dev_t dev; /* of the socket file we put at path */
  ino_t ino;
};

/* A server whose listener thread is not running (never started, or joined). */
static void server_free(handover_server_t *s) {
  free(s->path);
  if (s->listen_fd >= 0) close(s->listen_fd);
  if (s->stop_pipe[0] >= 0) close(s->stop_pipe[0]);
  if (s->stop_pipe[1] >= 0) close(s->stop_pipe[1]);
  free(s);
}
define_cleanup_function(handover_server_t *, server_free);

static void send_status(int fd, int status, const char *message) {
  uint32_t hdr[2] = {HANDOVER_MAGIC, HANDOVER_PROTOCOL};
  int32_t st = status;
  uint64_t len = message ? strlen(message) : 0;
  if (write_all(fd, hdr, sizeof(hdr)) || write_all(fd, &st, sizeof(st)) || write_all(fd, &len, sizeof(len)))
    return;
  if (len) write_all(fd, message, len);
  /* Let the asker read the answer before the close: closing with its request unread would reset the
   * connection under it. It closes once answered (or the request timeout ends the wait). */
  shutdown(fd, SHUT_WR);
  char sink[256];
  while (recv(fd, sink, sizeof(sink), 0) > 0) {
  }
}

/* Serves one request on `fd`; 1 when the connection was handed over. */
static int serve_request(handover_server_t *s, int fd) {
  struct ucred cred;
  socklen_t cl = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.uid != geteuid()) return 0;
  set_timeout(fd, REQUEST_TIMEOUT_S);
  uint32_t req[3];
  if (read_all(fd, req, sizeof(req)) != 0 || req[0] != HANDOVER_MAGIC) return 0;
  char msg[MAX_MESSAGE];
  if (req[1] != HANDOVER_PROTOCOL) {
    snprintf(msg, sizeof(msg), "the running daemon speaks handover protocol %u, the new one %u", HANDOVER_PROTOCOL,
             req[1]);
    send_status(fd, EPROTO, msg);
    return 0;
  }
  if (req[2] >= MAX_MESSAGE || read_all(fd, msg, req[2]) != 0) return 0;
  msg[req[2]] = '\0';
  if (strcmp(msg, s->cfg.mountpoint) != 0) {
    char reply[MAX_MESSAGE + 64];
    snprintf(reply, sizeof(reply), "the running daemon serves %s, not %s", s->cfg.mountpoint, msg);
    send_status(fd, EINVAL, reply);
    return 0;
  }
  hbuf_t state = {0};
  int fuse_fd = -1;
  int err = s->cfg.pause_and_export(s->cfg.ctx, &state, &fuse_fd, msg, sizeof(msg));
  if (err) {
    free(state.data);
    send_status(fd, err, msg);
    return 0;
  }
  set_timeout(fd, REPLY_TIMEOUT_S);
  /* The header carries the fd. */
  unsigned char hdr[sizeof(uint32_t) * 2 + sizeof(int32_t) + sizeof(uint64_t)];
  uint32_t magic[2] = {HANDOVER_MAGIC, HANDOVER_PROTOCOL};
  int32_t st = 0;
  uint64_t len = state.len;
  memcpy(hdr, magic, sizeof(magic));
  memcpy(hdr + sizeof(magic), &st, sizeof(st));
  memcpy(hdr + sizeof(magic) + sizeof(st), &len, sizeof(len));
  struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fuse_fd, sizeof(int));
  ssize_t w;
  do {
    w = sendmsg(fd, &mh, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  int ok = w == (ssize_t)sizeof(hdr) && write_all(fd, state.data, state.len) == 0;
  free(state.data);
  int32_t commit[2] = {0, -1};
  if (ok) ok = read_all(fd, commit, sizeof(commit)) == 0 && commit[0] == (int32_t)HANDOVER_MAGIC && commit[1] == 0;
  if (!ok) {
    s->cfg.resume(s->cfg.ctx);
    return 0;
  }
  s->cfg.handed_over(s->cfg.ctx);
  int32_t ack[2] = {(int32_t)HANDOVER_MAGIC, 0};
  write_all(fd, ack, sizeof(ack));
  return 1;
}

static void *listener_main(void *arg) {
  handover_server_t *s = arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  for (;;) {
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN}, {.fd = s->stop_pipe[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int handed = serve_request(s, fd);
    close(fd);
    if (handed) break;
  }
  return NULL;
}

handover_server_t *handover_listen(const char *path, const handover_server_cfg_t *cfg, char *err, size_t err_len) {
  call_cleaner(server_free) handover_server_t *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  s->cfg = *cfg;
  s->listen_fd = -1;
  s->stop_pipe[0] = s->stop_pipe[1] = -1;
  s->path = strdup(path);
  if (!s->path) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  char tmp[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
  snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
  struct sockaddr_un addr;
  int e = fill_addr(&addr, tmp);
  if (e) {
    snprintf(err, err_len, "handover socket path %s is too long for a unix socket", path);
    return NULL;
  }
  s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd < 0 || pipe2(s->stop_pipe, O_CLOEXEC) != 0) {
    snprintf(err, err_len, "handover socket: %s", strerror(errno));
    return NULL;
  }
  unlink(tmp);
  /* Bound under a name of our own, then renamed over the path: a stale socket file is replaced and
   * no client ever finds the path missing. */
  if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || chmod(tmp, 0600) != 0 ||
      listen(s->listen_fd, 4) != 0 || rename(tmp, path) != 0) {
    snprintf(err, err_len, "cannot listen on the handover socket %s (%s)", path, strerror(errno));
    unlink(tmp);
    return NULL;
  }
  struct stat st;
  if (stat(path, &st) == 0) {
    s->dev = st.st_dev;
    s->ino = st.st_ino;
  }
  if (pthread_create(&s->thread, NULL, listener_main, s) != 0) {
    snprintf(err, err_len, "cannot start the handover listener thread");
    return NULL;
  }
  return move_ptr(s);
}

void handover_close(handover_server_t *s, int remove) {
  if (!s) return;
  ssize_t w = write(s->stop_pipe[1], "x", 1);
  (void)w;
  pthread_join(s->thread, NULL);
  struct stat st;
  if (remove && stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino) unlink(s->path);
  server_free(s);
}

/* ---- the new daemon's side ---- */

int handover_take(const char *path, const char *mountpoint, int *sock, int *fuse_fd, unsigned char **state,
                  size_t *state_len, char *err, size_t err_len) {
  *sock = -1;
  *fuse_fd = -1;
  *state = NULL;
  *state_len = 0;
  struct sockaddr_un addr;
  if (fill_addr(&addr, path) != 0) {
    snprintf(err, err_len, "handover socket path %s is too long for a unix socket", path);
    return HANDOVER_REFUSED;
  }
  __do_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, err_len, "handover socket: %s", strerror(errno));
    return HANDOVER_REFUSED;
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED) return HANDOVER_NONE;
    snprintf(err, err_len, "cannot connect to the handover socket %s (%s)", path, strerror(e));
    return HANDOVER_REFUSED;
  }
  set_timeout(fd, REPLY_TIMEOUT_S);
  size_t mlen = strlen(mountpoint);
  uint32_t req[3] = {HANDOVER_MAGIC, HANDOVER_PROTOCOL, (uint32_t)mlen};
  if (write_all(fd, req, sizeof(req)) != 0 || write_all(fd, mountpoint, mlen) != 0) {
    snprintf(err, err_len, "the running daemon closed the handover socket before the request was sent");
    return HANDOVER_GONE;
  }
  unsigned char hdr[sizeof(uint32_t) * 2 + sizeof(int32_t) + sizeof(uint64_t)];
  struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
  ssize_t r;
  do {
    r = recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  __do_close int got_fd = -1;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(&got_fd, CMSG_DATA(cm), sizeof(int));
  }
  if (r != (ssize_t)sizeof(hdr)) {
    snprintf(err, err_len, "the running daemon went away before it answered (%s)",
             r < 0 ? strerror(errno) : "connection closed");
    return HANDOVER_GONE;
  }
  uint32_t magic[2];
  int32_t status;
  uint64_t len;
  memcpy(magic, hdr, sizeof(magic));
  memcpy(&status, hdr + sizeof(magic), sizeof(status));
  memcpy(&len, hdr + sizeof(magic) + sizeof(status), sizeof(len));
  if (magic[0] != HANDOVER_MAGIC || magic[1] != HANDOVER_PROTOCOL || status != 0) {
    char msg[MAX_MESSAGE] = "";
    if (magic[0] == HANDOVER_MAGIC && status != 0 && len < sizeof(msg)) read_all(fd, msg, len);
    if (magic[0] != HANDOVER_MAGIC)
      snprintf(err, err_len, "the handover socket %s answered with something that is not a boxscope daemon", path);
    else if (magic[1] != HANDOVER_PROTOCOL && status == 0)
      snprintf(err, err_len, "the running daemon speaks handover protocol %u, this one %u", magic[1],
               HANDOVER_PROTOCOL);
    else
      snprintf(err, err_len, "the running daemon refused the handover: %s (%s)", msg[0] ? msg : "no reason given",
               strerror(status));
    return HANDOVER_REFUSED;
  }
  if (got_fd < 0 || len > MAX_STATE) {
    snprintf(err, err_len, "the running daemon's handover reply has no /dev/fuse fd or a bad state length");
    return HANDOVER_REFUSED;
  }
  __do_free unsigned char *data = malloc(len ? len : 1);
  if (!data) {
    handover_abandon(move_fd(fd), ENOMEM);
    snprintf(err, err_len, "out of memory for the handed-over state");
    return HANDOVER_REFUSED;
  }
  int e = read_all(fd, data, len);
  if (e) {
    snprintf(err, err_len, "the running daemon went away while sending its state (%s)", strerror(e));
    return HANDOVER_GONE;
  }
  *sock = move_fd(fd);
  *fuse_fd = move_fd(got_fd);
  *state = move_ptr(data);
  *state_len = len;
  return HANDOVER_TAKEN;
}

int handover_commit(int sock, char *err, size_t err_len) {
  int32_t commit[2] = {(int32_t)HANDOVER_MAGIC, 0};
  int32_t ack[2] = {0, -1};
  int e = write_all(sock, commit, sizeof(commit));
  if (!e) e = read_all(sock, ack, sizeof(ack));
  close(sock);
  if (e || ack[0] != (int32_t)HANDOVER_MAGIC || ack[1] != 0) {
    snprintf(err, err_len, "the running daemon did not acknowledge the handover (%s)",
             e ? strerror(e) : "bad answer");
    return HANDOVER_GONE;
  }
  return 0;
}

void handover_abandon(int sock, int status) {
  int32_t commit[2] = {(int32_t)HANDOVER_MAGIC, status ? status : EIO};
  write_all(sock, commit, sizeof(commit));
  close(sock);
}
