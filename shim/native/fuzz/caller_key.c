/*
 * libFuzzer harness of caller_key.c: a reader's /proc/<pid>/cgroup, whose cgroup paths its
 * container may choose (a cgroup namespace's own subgroups), read into the caller identity after
 * its pid-namespace part.
 *
 * Input: two bytes for the buffer's capacity, one for the length of the namespace part already in
 * it, then the file's bytes (in a memfd). The buffer is allocated at exactly its capacity. The
 * identity is the namespace part then the file, when both fit with a byte to spare (a full buffer
 * cannot tell a longer file from one that fits), else CALLER_TOO_LONG; the namespace part is never
 * touched.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/caller_key.h"
#include "native-fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  size_t cap = 1 + ((size_t)data[0] | (size_t)data[1] << 8) % 8192; /* fs_internal.h's KEY_CAP */
  size_t off = data[2] % cap;
  const uint8_t *file = data + 3;
  size_t file_len = size - 3;
  int fd = memfd_create("cgroup", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, file, file_len) == (ssize_t)file_len && lseek(fd, 0, SEEK_SET) == 0);
  char *buf = malloc(cap);
  REQUIRE(buf != NULL);
  memset(buf, 'n', off);
  ssize_t n = caller_key_read(fd, buf, off, cap);
  if (off + file_len < cap) {
    REQUIRE(n == (ssize_t)(off + file_len) && memcmp(buf + off, file, file_len) == 0);
  } else {
    REQUIRE(n == CALLER_TOO_LONG);
  }
  for (size_t i = 0; i < off; i++) REQUIRE(buf[i] == 'n');
  free(buf);
  close(fd);
  return 0;
}
