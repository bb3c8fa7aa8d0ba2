/*
 * The shipper's hot path in C: complete lines of a file chunk become the JSON records of a batch.
 *
 * Why in C: in JavaScript the per-byte JSON escaping and the per-line bookkeeping cost about as
 * much per line as everything else the shipper does; here a whole chunk is one call. The
 * output is byte for byte what pipeline/shipper/record-batch.ts writes for the same line
 * (RecordBatch.addBytes: the file's prefix, the offset digits, `,"line":`, the line as
 * JSON.stringify writes the decoded text, the flags, `}`); record-batch.test.ts checks that on
 * random lines. Lines that span chunks, and multi-line records, stay on the JavaScript path. The
 * Node-API binding (encodeLines, which says what is encoded) is records-addon.c.
 */
#include "records.h"

#include <string.h>

/* Room for the offset digits, `,"line":`, the flags and `}` (RECORD_OVERHEAD in record-batch.ts). */
#define RECORD_OVERHEAD 96

static const char HEX[] = "0123456789abcdef";
static const char LINE_FIELD[] = ",\"line\":";
static const char TRUNCATED_FIELD[] = ",\"truncated\":true";
static const char REPLAYED_FIELD[] = ",\"replayed\":true";

/* The letter after the backslash for bytes JSON.stringify escapes short; 'u' for \u00XX; 0 = as is. */
static unsigned char escape_of(unsigned char b) {
  switch (b) {
    case '\b': return 'b';
    case '\t': return 't';
    case '\n': return 'n';
    case '\f': return 'f';
    case '\r': return 'r';
    case '"': return '"';
    case '\\': return '\\';
    default: return b < 0x20 ? 'u' : 0;
  }
}

/*
 * Length of the valid UTF-8 sequence at s[0] (2-4), or 0 when it is invalid; then *bad is the
 * length of its maximal subpart, which a decoder replaces by one U+FFFD (the WHATWG decoder
 * Buffer#toString uses).
 */
static size_t utf8_sequence(const unsigned char *s, size_t avail, size_t *bad) {
  unsigned char b = s[0], lower = 0x80, upper = 0xbf;
  size_t need;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b == 0xe0) lower = 0xa0;
    if (b == 0xed) upper = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b == 0xf0) lower = 0x90;
    if (b == 0xf4) upper = 0x8f;
  } else {
    *bad = 1;
    return 0;
  }
  size_t k = 1;
  while (k <= need && k < avail && s[k] >= lower && s[k] <= upper) {
    lower = 0x80;
    upper = 0xbf;
    k++;
  }
  if (k == need + 1) return k;
  *bad = k;
  return 0;
}

/* 1 for the bytes that cannot be copied as they are: control bytes, '"', '\\' and non-ASCII. */
static unsigned char special[256];

void encode_lines_init(void) {
  for (int b = 0; b < 256; b++) special[b] = b < 0x20 || b == '"' || b == '\\' || b >= 0x80;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether any of the 8 bytes in w is special: below 0x20, '"', '\\' or 0x80 and above. */
static int any_special(uint64_t w) {
  uint64_t below_space = (w - ONES * 0x20) & ~w;
  uint64_t q = w ^ (ONES * '"'), quote = (q - ONES) & ~q;
  uint64_t b = w ^ (ONES * '\\'), backslash = (b - ONES) & ~b;
  return ((below_space | quote | backslash) & HIGHS) != 0 || (w & HIGHS) != 0;
}

/* The line's bytes as the JSON string JSON.stringify(decoded text) is in UTF-8; returns the end. */
static unsigned char *write_json_line(unsigned char *d, const unsigned char *s, size_t n) {
  *d++ = '"';
  size_t i = 0;
  while (i < n) {
    /* Runs of plain bytes are copied whole; eight at a time are checked while none is special. */
    size_t run = i;
    for (uint64_t w; run + 8 <= n && (memcpy(&w, s + run, 8), !any_special(w));) run += 8;
    while (run < n && !special[s[run]]) run++;
    if (run > i) {
      memcpy(d, s + i, run - i);
      d += run - i;
      i = run;
      if (i == n) break;
    }
    unsigned char b = s[i];
    if (b < 0x80) {
      unsigned char e = escape_of(b);
      if (e != 'u') {
        *d++ = '\\';
        *d++ = e;
      } else {
        memcpy(d, "\\u00", 4);
        d[4] = HEX[b >> 4];
        d[5] = HEX[b & 15];
        d += 6;
      }
      i++;
      continue;
    }
    size_t bad = 0, len = utf8_sequence(s + i, n - i, &bad);
    if (len) {
      memcpy(d, s + i, len);
      d += len;
      i += len;
    } else {
      *d++ = 0xef; /* U+FFFD */
      *d++ = 0xbf;
      *d++ = 0xbd;
      i += bad;
    }
  }
  *d++ = '"';
  return d;
}

static unsigned char *write_uint(unsigned char *d, uint64_t v) {
  unsigned char digits[24];
  int n = 0;
  do {
    digits[n++] = (unsigned char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *d++ = digits[--n];
  return d;
}

lines_done_t encode_lines(const lines_job_t *job) {
  const unsigned char *src = job->src, *prefix = job->prefix;
  unsigned char *dst = job->dst;
  size_t dst_len = job->dst_len, prefix_len = job->prefix_len;
  uint32_t from = job->from, to = job->to, dst_pos = job->dst_pos, max_line = job->max_line;
  uint32_t max_records = job->max_records, budget = job->budget, key_len = job->key_len;
  uint32_t *ends = job->ends;
  double offset = job->offset, replay_until = job->replay_until;
  uint32_t records = 0;
  uint64_t used = 0;
  unsigned char *d = dst + dst_pos;
  while (records < max_records && used < budget) {
    const unsigned char *nl = memchr(src + from, '\n', to - from);
    if (!nl) break;
    size_t line_len = (size_t)(nl - (src + from));
    int truncated = line_len > max_line;
    size_t keep = truncated ? max_line : line_len;
    if (keep > 0 && src[from + keep - 1] == '\r') keep--;
    if ((size_t)(d - dst) + prefix_len + RECORD_OVERHEAD + 6 * keep + 2 > dst_len) break;
    unsigned char *start = d;
    memcpy(d, prefix, prefix_len);
    d = write_uint(d + prefix_len, (uint64_t)offset);
    memcpy(d, LINE_FIELD, sizeof(LINE_FIELD) - 1);
    d = write_json_line(d + sizeof(LINE_FIELD) - 1, src + from, keep);
    if (truncated) {
      memcpy(d, TRUNCATED_FIELD, sizeof(TRUNCATED_FIELD) - 1);
      d += sizeof(TRUNCATED_FIELD) - 1;
    }
    if (offset < replay_until) {
      memcpy(d, REPLAYED_FIELD, sizeof(REPLAYED_FIELD) - 1);
      d += sizeof(REPLAYED_FIELD) - 1;
    }
    *d++ = '}';
    used += (uint64_t)(d - start) + key_len;
    ends[records++] = (uint32_t)(d - dst);
    offset += (double)(line_len + 1);
    from += (uint32_t)(line_len + 1);
  }
  return (lines_done_t){.from = from, .dst_pos = (size_t)(d - dst), .records = records};
}
