/*
 * libFuzzer harness of cpulist.c: the list of a caller's CPU directories (the view
 * sys/devices/system/cpu/online, rendered from the cgroup cpusets a container's manager writes), as
 * ops.c reads it for a lookup (cpulist_has) and a listing (cpulist_next).
 *
 * Input: one byte of mode, then the rest. Mode bit 0 clear: the rest is a list as it comes; every
 * range read lies below the cap, each read moves forward, and cpulist_has agrees with the ranges.
 * Bit 0 set: the rest is a set of CPUs (a bitmap), written as the kernel writes a cpulist, which
 * must read back as the same set. The mode's other bits choose the cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../src/cpulist.h"
#include "native-fuzz.h"

#define BITMAP_CPUS 256

/* The list s[0, len) as ranges below `max`: each sound, and each number in them has it true. */
static void check_ranges(const char *s, size_t len, long max) {
  size_t pos = 0, last = 0;
  long lo, hi;
  int reads = 0;
  while (cpulist_next(s, len, &pos, max, &lo, &hi)) {
    REQUIRE(pos > last && pos <= len);
    REQUIRE(0 <= lo && lo <= hi && hi < max);
    REQUIRE(cpulist_has(s, len, lo) && cpulist_has(s, len, hi));
    REQUIRE(++reads <= (int)len);
    last = pos;
  }
}

/* A list as it comes. */
static void any_list(const uint8_t *in, size_t len, long max) {
  /* The view's bytes are not NUL-terminated: a copy of exactly their length. */
  char *s = malloc(len ? len : 1);
  REQUIRE(s != NULL);
  memcpy(s, in, len);
  check_ranges(s, len, max);
  check_ranges(s, len, 65536); /* ops.c's NUMBERED_MAX */
  free(s);
}

static int bit(const uint8_t *map, size_t map_len, long n) {
  return (size_t)(n / 8) < map_len && (map[n / 8] >> (n % 8) & 1);
}

/* A set of CPUs written as the kernel writes it (`0-3,8,10-11\n`), read back. */
static void round_trip(const uint8_t *map, size_t map_len, long max) {
  if (map_len > BITMAP_CPUS / 8) map_len = BITMAP_CPUS / 8;
  char *text = malloc(BITMAP_CPUS * 12 + 2);
  REQUIRE(text != NULL);
  size_t n = 0;
  for (long c = 0; c < (long)map_len * 8;) {
    if (!bit(map, map_len, c)) {
      c++;
      continue;
    }
    long end = c;
    while (bit(map, map_len, end + 1)) end++;
    n += (size_t)sprintf(text + n, n ? ",%ld" : "%ld", c);
    if (end > c) n += (size_t)sprintf(text + n, "-%ld", end);
    c = end + 1;
  }
  text[n++] = '\n';
  char *s = malloc(n);
  REQUIRE(s != NULL);
  memcpy(s, text, n);
  free(text);
  check_ranges(s, n, max);
  for (long c = 0; c < (long)map_len * 8 + 2; c++) REQUIRE(cpulist_has(s, n, c) == bit(map, map_len, c));
  /* The ranges below max are the set's numbers below max, each once and in order. */
  size_t pos = 0;
  long lo, hi, next = 0;
  while (cpulist_next(s, n, &pos, max, &lo, &hi)) {
    for (; next < lo; next++) REQUIRE(next >= max || !bit(map, map_len, next));
    for (; next <= hi; next++) REQUIRE(bit(map, map_len, next));
  }
  for (; next < max && next < (long)map_len * 8; next++) REQUIRE(!bit(map, map_len, next));
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  long max = 1 + (data[0] >> 1) * 17;
  if (data[0] & 1) round_trip(data + 1, size - 1, max);
  else any_list(data + 1, size - 1, max);
  return 0;
}
