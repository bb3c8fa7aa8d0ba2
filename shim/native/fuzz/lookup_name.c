/*
 * libFuzzer harness of tree.c's numbered_name: the name a process in a container looks up below
 * sys/devices/system/cpu (`stat .../cpu123`), which the kernel hands to the shim's op_lookup as it
 * was written (any bytes but NUL and '/', at most NAME_MAX).
 *
 * Input: the name. Checked against the rule it implements: the template's prefix ("cpu") then a
 * number in canonical decimal below NUMBERED_MAX is that number, anything else -1; and the inode of
 * that numbered directory leads back to the template and the number.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "../src/fs_internal.h"
#include "native-fuzz.h"

/* Part of the shim's tree (shim/view-paths.ts): a numbered directory, its list, a static file. */
static const char *const FILES[] = {
    "proc/meminfo",
    "sys/devices/system/cpu/online",
    "sys/devices/system/cpu/cpu*/online",
    "sys/devices/system/cpu/cpu*/topology/core_id",
};
static boxfs_t *fs;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fs = calloc(1, sizeof(*fs));
  REQUIRE(fs != NULL);
  fs->cfg.files = FILES;
  fs->cfg.nfiles = sizeof(FILES) / sizeof(FILES[0]);
  char err[256] = "";
  REQUIRE(build_tree(fs, err, sizeof(err)) == 0 && fs->tmpl != 0 && strcmp(fs->nodes[fs->tmpl].name, "cpu") == 0);
  return 0;
}

/* The rule, from its description: "cpu", then "0" or a digit 1-9 and more digits, below NUMBERED_MAX. */
static long expected_number(const char *name, size_t len) {
  if (len < 4 || memcmp(name, "cpu", 3) != 0) return -1;
  const char *d = name + 3;
  size_t n = len - 3;
  if (n > 5 || (d[0] == '0' && n > 1)) return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (d[i] < '0' || d[i] > '9') return -1;
    v = v * 10 + (d[i] - '0');
  }
  return v < NUMBERED_MAX ? v : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t len = 0;
  while (len < size && len < NAME_MAX && data[len] != '\0' && data[len] != '/') len++;
  char *name = malloc(len + 1);
  REQUIRE(name != NULL);
  memcpy(name, data, len);
  name[len] = '\0';
  long n = numbered_name(fs, name);
  REQUIRE(n == expected_number(name, len));
  if (n >= 0) {
    long number;
    REQUIRE(node_of(fs, ino_of(fs, fs->tmpl, n), &number) == fs->tmpl && number == n);
  }
  free(name);
  return 0;
}
