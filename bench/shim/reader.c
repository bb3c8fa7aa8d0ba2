/*
 * Benchmark reader: open+read+close of one file in a tight loop, recording each latency. Written in C
 * so the figure is the filesystem's, not a JavaScript loop's. Built at bench time with `cc`.
 * usage: reader PATH COUNT OUTFILE   (OUTFILE gets COUNT little-endian uint32 latencies in ns)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PATH COUNT OUTFILE\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  long count = atol(argv[2]);
  uint32_t *lat = calloc((size_t)count, sizeof(uint32_t));
  static char buf[65536];
  long failures = 0;
  for (long i = 0; i < count; i++) {
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      failures++;
      lat[i] = 0;
      continue;
    }
    ssize_t total = 0, n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) total += n;
    close(fd);
    uint64_t dt = now_ns() - t0;
    if (n < 0 || total == 0) failures++;
    lat[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
  }
  FILE *out = fopen(argv[3], "wb");
  if (!out || fwrite(lat, sizeof(uint32_t), (size_t)count, out) != (size_t)count) {
    perror("write latencies");
    return 2;
  }
  fclose(out);
  if (failures) {
    fprintf(stderr, "%s: %ld of %ld reads failed\n", path, failures, count);
    return 1;
  }
  return 0;
}
