#include "fdstore.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "handover.h"

#define FDSTORE_MAGIC 0x5346584eu /* "NXFS" */
#define FDSTORE_VERSION 1u
#define BARRIER_TIMEOUT_MS 5000
/* The /dev/fuse character device (Documentation/admin-guide/devices.txt: misc 229). */
#define FUSE_MAJOR 10
#define FUSE_MINOR 229
#define MAX_STATE (1ull << 30)

static int notify_address(const char *path, struct sockaddr_un *sa, socklen_t *len) {
  size_t n = path ? strlen(path) : 0;
  if (n < 2 || n >= sizeof(sa->sun_path) || (path[0] != '/' && path[0] != '@')) return EAFNOSUPPORT;
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, n);
  if (path[0] == '@') sa->sun_path[0] = '\0'; /* abstract: the length says where the name ends */
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/' ? 1 : 0));
  return 0;
}

int sd_send(const char *notify_socket, const char *message, const int *fds, int nfds) {
  struct sockaddr_un sa;
  socklen_t sa_len;
  int e = notify_address(notify_socket, &sa, &sa_len);
  if (e) return e;
  if (nfds < 0 || nfds > 8) return EINVAL;
  __do_close int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct iovec iov = {.iov_base = (void *)message, .iov_len = strlen(message)};
  union {
    char buf[CMSG_SPACE(sizeof(int) * 8)];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof(ctl));
  struct msghdr mh = {.msg_name = &sa, .msg_namelen = sa_len, .msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0) {
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
  }
  ssize_t w;
  do {
    w = sendmsg(s, &mh, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  return w < 0 ? errno : 0;
}

int sd_barrier(const char *notify_socket, int timeout_ms) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return errno;
  __do_close int rd = p[0];
  int e = sd_send(notify_socket, "BARRIER=1", &p[1], 1);
  close(p[1]); /* the manager closes its copy once it has processed everything before */
  if (e) return e;
  struct pollfd pfd = {.fd = rd, .events = 0};
  int n;
  do {
    n = poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  return n == 1 && (pfd.revents & POLLHUP) ? 0 : ETIMEDOUT;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int fdstore_put(const char *notify_socket, const char *mountpoint, int fuse_fd, const unsigned char *state,
                size_t state_len, char *err, size_t err_len) {
  __do_close int mem = memfd_create("boxscope-shim-state", MFD_CLOEXEC);
  if (mem < 0) {
    snprintf(err, err_len, "memfd_create: %s", strerror(errno));
    return errno;
  }
  hbuf_t hdr = {0};
  hbuf_u32(&hdr, FDSTORE_MAGIC);
  hbuf_u32(&hdr, FDSTORE_VERSION);
  hbuf_u32(&hdr, (uint32_t)strlen(mountpoint));
  hbuf_bytes(&hdr, mountpoint, strlen(mountpoint));
  hbuf_u64(&hdr, state_len);
  int e = hdr.failed ? ENOMEM : write_all(mem, hdr.data, hdr.len);
  free(hdr.data);
  if (!e) e = write_all(mem, state, state_len);
  if (e) {
    snprintf(err, err_len, "writing the state to a memfd: %s", strerror(e));
    return e;
  }
  /* Leftovers of an earlier stop that nobody adopted go first: the next start must find one pair. */
  e = sd_send(notify_socket, "FDSTOREREMOVE=1\nFDNAME=" FDSTORE_NAME, NULL, 0);
  int fds[2] = {fuse_fd, mem};
  if (!e) e = sd_send(notify_socket, "FDSTORE=1\nFDNAME=" FDSTORE_NAME, fds, 2);
  if (e) {
    snprintf(err, err_len, "cannot send to NOTIFY_SOCKET=%s: %s", notify_socket, strerror(e));
    return e;
  }
  e = sd_barrier(notify_socket, BARRIER_TIMEOUT_MS);
  if (e) snprintf(err, err_len, "systemd did not confirm it stored the connection (%s)", strerror(e));
  return e;
}

int fdstore_drop(const char *notify_socket) {
  int e = sd_send(notify_socket, "FDSTOREREMOVE=1\nFDNAME=" FDSTORE_NAME, NULL, 0);
  return e ? e : sd_barrier(notify_socket, BARRIER_TIMEOUT_MS);
}

/* The whole memfd, from its start; NULL with err. */
static unsigned char *read_memfd(int fd, size_t *len, char *err, size_t err_len) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > MAX_STATE) {
    snprintf(err, err_len, "the stored state is unreadable or too large");
    return NULL;
  }
  __do_free unsigned char *buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
  if (!buf) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      snprintf(err, err_len, "reading the stored state: %s", r < 0 ? strerror(errno) : "short file");
      return NULL;
    }
    got += (size_t)r;
  }
  *len = got;
  return move_ptr(buf);
}

/* The state behind the header of `mountpoint`, moved to the start of buf; -1 with err. */
static int unwrap_state(unsigned char *buf, size_t len, const char *mountpoint, size_t *state_len, char *err,
                        size_t err_len) {
  hreader_t r = {.p = buf, .left = len};
  uint32_t magic = hread_u32(&r), version = hread_u32(&r), mp_len = hread_u32(&r);
  const char *mp = hread_bytes(&r, mp_len);
  uint64_t n = hread_u64(&r);
  if (r.failed || magic != FDSTORE_MAGIC || n != r.left) {
    snprintf(err, err_len, "the stored state is not boxscope's or is truncated");
    return -1;
  }
  if (version != FDSTORE_VERSION) {
    snprintf(err, err_len, "the stored state has format %u, this daemon reads format %u", version, FDSTORE_VERSION);
    return -1;
  }
  if (mp_len != strlen(mountpoint) || memcmp(mp, mountpoint, mp_len) != 0) {
    snprintf(err, err_len, "the stored connection is the mount at %.*s, not %s", (int)(mp_len > 1024 ? 1024 : mp_len),
             mp, mountpoint);
    return -1;
  }
  memmove(buf, r.p, (size_t)n);
  *state_len = (size_t)n;
  return 0;
}

int fdstore_open(const int *fds, int nfds, const char *mountpoint, int *fuse_fd, unsigned char **state,
                 size_t *state_len, char *err, size_t err_len) {
  *fuse_fd = -1;
  *state = NULL;
  int mem = -1, extra = 0;
  /* Told apart by what they are, not by their order: systemd keeps its store as a set. */
  for (int i = 0; i < nfds; i++) {
    struct stat st;
    fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    if (fstat(fds[i], &st) != 0) continue;
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == FUSE_MAJOR && minor(st.st_rdev) == FUSE_MINOR && *fuse_fd < 0)
      *fuse_fd = fds[i];
    else if (S_ISREG(st.st_mode) && mem < 0)
      mem = fds[i];
    else
      extra++;
  }
  int ok = 0;
  if (*fuse_fd < 0 || mem < 0 || extra > 0) {
    snprintf(err, err_len, "systemd passed %d fd(s) named " FDSTORE_NAME ", not one /dev/fuse fd and one state", nfds);
  } else if ((*state = read_memfd(mem, state_len, err, err_len)) != NULL) {
    ok = unwrap_state(*state, *state_len, mountpoint, state_len, err, err_len) == 0;
  }
  for (int i = 0; i < nfds; i++)
    if (fds[i] != *fuse_fd || !ok) close(fds[i]);
  if (ok) return 0;
  free(*state);
  *state = NULL;
  *fuse_fd = -1;
  return -1;
}
