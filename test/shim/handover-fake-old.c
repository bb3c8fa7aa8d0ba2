/*
 * A stand-in for a running daemon that hands over badly (test/shim/fuse-handover-errors.test.ts):
 * listens on a unix socket, answers one request as shim/native/src/handover.c would, with a file
 * descriptor (of /dev/null: the new daemon must not get as far as reading it) and a state, then
 * prints the new daemon's commit status and exits.
 *   bad-version  the state is of format 99: the new daemon must refuse it (commit status != 0)
 *   no-ack       a valid state of format 1; after the commit, close without acknowledging
 * Prints "listening" once it accepts connections.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAGIC 0x4f485842u
#define PROTOCOL 1u

static unsigned char state[4096];
static size_t state_len;

static void put(const void *p, size_t n) {
  memcpy(state + state_len, p, n);
  state_len += n;
}
static void put32(uint32_t v) { put(&v, sizeof(v)); }
static void put64(uint64_t v) { put(&v, sizeof(v)); }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s bad-version|no-ack SOCKET\n", argv[0]);
    return 2;
  }
  int bad_version = strcmp(argv[1], "bad-version") == 0;
  if (bad_version) {
    put32(99);
    put64(0);
  } else {
    struct {
      struct fuse_in_header h;
      struct fuse_init_in in;
    } init;
    memset(&init, 0, sizeof(init));
    init.h.len = sizeof(init);
    init.h.opcode = FUSE_INIT;
    init.h.unique = 2;
    init.in.major = 7;
    init.in.minor = 31;
    put32(1);              /* format */
    put64(0);              /* mounted_at */
    put32(sizeof(init));   /* INIT request */
    put(&init, sizeof(init));
    put32(0);              /* abort path */
    put32(0);              /* nodes */
    put32(0);              /* template node */
    put64(0);              /* handles */
    put64(0);              /* cache entries */
    put32(0x21444e45u);    /* END */
  }
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, argv[2], sizeof(a.sun_path) - 1);
  unlink(argv[2]);
  if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0) {
    perror("listen");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  int c = accept(ls, NULL, NULL);
  uint32_t req[3];
  char mp[4096];
  if (c < 0 || recv(c, req, sizeof(req), MSG_WAITALL) != sizeof(req) || req[2] >= sizeof(mp) ||
      recv(c, mp, req[2], MSG_WAITALL) != (ssize_t)req[2]) {
    perror("request");
    return 1;
  }
  unsigned char hdr[20];
  uint32_t magic[2] = {MAGIC, PROTOCOL};
  int32_t status = 0;
  uint64_t len = state_len;
  memcpy(hdr, magic, 8);
  memcpy(hdr + 8, &status, 4);
  memcpy(hdr + 12, &len, 8);
  int fd = open("/dev/null", O_RDWR);
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
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  if (sendmsg(c, &mh, 0) != sizeof(hdr) || send(c, state, state_len, 0) != (ssize_t)state_len) {
    perror("reply");
    return 1;
  }
  int32_t commit[2] = {0, 0};
  if (recv(c, commit, sizeof(commit), MSG_WAITALL) != sizeof(commit)) {
    printf("no commit\n");
    return 0;
  }
  printf("commit %d\n", commit[1]);
  fflush(stdout);
  close(c); /* no ack, whatever the commit said */
  return 0;
}
