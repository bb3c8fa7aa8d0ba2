#include "cpulist.h"

static int read_number(const char *s, size_t len, size_t *pos, long *out) {
  size_t i = *pos;
  long v = 0;
  if (i >= len || s[i] < '0' || s[i] > '9') return 0;
  while (i < len && s[i] >= '0' && s[i] <= '9') {
    if (v > 100000000) return 0; /* far above any CPU number: not a cpulist */
    v = v * 10 + (s[i] - '0');
    i++;
  }
  *pos = i;
  *out = v;
  return 1;
}

int cpulist_next(const char *s, size_t len, size_t *pos, long max, long *lo, long *hi) {
  for (;;) {
    size_t i = *pos;
    while (i < len && (s[i] == ',' || s[i] == '\n' || s[i] == ' ')) i++;
    long a, b;
    if (!read_number(s, len, &i, &a)) return 0;
    b = a;
    if (i < len && s[i] == '-') {
      i++;
      if (!read_number(s, len, &i, &b) || b < a) return 0;
    }
    *pos = i;
    if (a >= max) continue;
    *lo = a;
    *hi = b < max ? b : max - 1;
    return 1;
  }
}

int cpulist_has(const char *s, size_t len, long n) {
  size_t pos = 0;
  long lo, hi;
  while (cpulist_next(s, len, &pos, n + 1, &lo, &hi))
    if (lo <= n && n <= hi) return 1;
  return 0;
}
