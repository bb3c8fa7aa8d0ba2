/*
 * libFuzzer harness of records.c: a chunk of a log file, which a container writes, encoded into the
 * shipper's records.
 *
 * Input: a 12-byte header choosing the job (the longest line kept, the prefix's length, how many
 * records ends[] holds, the byte budget, the key length, the first file offset and where replayed
 * records end, where the records start in dst and how much room it has), then the chunk. dst and
 * ends are allocated at exactly their size. Checked: records.c stops at a line end, the records
 * fill dst from dst_pos to the last end and touch nothing before it, and each record is the prefix,
 * its line's file offset, `,"line":`, then a JSON string that decodes to what the WHATWG UTF-8
 * decoder (Buffer#toString) makes of the line's kept bytes, the flags it is due, and `}`; it stops
 * only when a limit says so (records, budget, or no room for the next line).
 */
#include <stdint.h>
#include <string.h>

#include "../src/records.h"
#include "native-fuzz.h"

#define HEADER 12
#define RECORD_OVERHEAD 96 /* records.c's room for everything but the prefix and the line */

static const unsigned char PREFIX[] =
    "{\"@timestamp\":\"2024-05-06T07:08:09.123Z\",\"host\":\"h\",\"fileId\":\"a:1\",\"offset\":";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  encode_lines_init();
  return 0;
}

static unsigned char *put_utf8(unsigned char *o, uint32_t cp) {
  if (cp < 0x80) {
    *o++ = (unsigned char)cp;
  } else if (cp < 0x800) {
    *o++ = (unsigned char)(0xc0 | cp >> 6);
    *o++ = (unsigned char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (unsigned char)(0xe0 | cp >> 12);
    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (unsigned char)(0x80 | (cp & 0x3f));
  } else {
    *o++ = (unsigned char)(0xf0 | cp >> 18);
    *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (unsigned char)(0x80 | (cp & 0x3f));
  }
  return o;
}

/* The WHATWG Encoding Standard's UTF-8 decoder, re-encoded as UTF-8: returns the end in out (room
 * for 3 bytes per input byte). */
static unsigned char *whatwg_decode(const unsigned char *s, size_t n, unsigned char *out) {
  uint32_t cp = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xbf;
  for (size_t i = 0; i < n;) {
    unsigned char b = s[i];
    if (needed == 0) {
      i++;
      if (b <= 0x7f) out = put_utf8(out, b);
      else if (b >= 0xc2 && b <= 0xdf) needed = 1, cp = b & 0x1f;
      else if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0) lower = 0xa0;
        if (b == 0xed) upper = 0x9f;
        needed = 2, cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0) lower = 0x90;
        if (b == 0xf4) upper = 0x8f;
        needed = 3, cp = b & 0x7;
      } else out = put_utf8(out, 0xfffd);
      continue;
    }
    if (b < lower || b > upper) {
      /* The byte is read again as the start of what follows. */
      cp = needed = seen = 0, lower = 0x80, upper = 0xbf;
      out = put_utf8(out, 0xfffd);
      continue;
    }
    i++;
    lower = 0x80, upper = 0xbf;
    cp = cp << 6 | (b & 0x3f);
    if (++seen == needed) {
      out = put_utf8(out, cp);
      cp = needed = seen = 0;
    }
  }
  if (needed) out = put_utf8(out, 0xfffd);
  return out;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The JSON string at p (its opening quote), as JSON.stringify writes one: its decoded bytes into
 * out; returns the byte after the closing quote. */
static const unsigned char *json_string(const unsigned char *p, const unsigned char *end, unsigned char *out,
                                        unsigned char **out_end) {
  REQUIRE(p < end && *p == '"');
  for (p++;; p++) {
    REQUIRE(p < end);
    unsigned char c = *p;
    REQUIRE(c >= 0x20);
    if (c == '"') break;
    if (c != '\\') {
      *out++ = c;
      continue;
    }
    REQUIRE(++p < end);
    switch (*p) {
      case 'b': *out++ = '\b'; break;
      case 't': *out++ = '\t'; break;
      case 'n': *out++ = '\n'; break;
      case 'f': *out++ = '\f'; break;
      case 'r': *out++ = '\r'; break;
      case '"': *out++ = '"'; break;
      case '\\': *out++ = '\\'; break;
      case 'u': {
        /* \u00XX: only the control bytes without a short escape. */
        REQUIRE(end - p >= 5 && p[1] == '0' && p[2] == '0' && hex_value(p[3]) >= 0 && hex_value(p[4]) >= 0);
        unsigned char b = (unsigned char)(hex_value(p[3]) << 4 | hex_value(p[4]));
        REQUIRE(b < 0x20 && memchr("\b\t\n\f\r", b, 5) == NULL);
        *out++ = b;
        p += 4;
        break;
      }
      default: REQUIRE(!"an escape JSON.stringify does not write");
    }
  }
  *out_end = out;
  return p + 1;
}

static const unsigned char *expect(const unsigned char *p, const unsigned char *end, const char *text) {
  size_t n = strlen(text);
  REQUIRE((size_t)(end - p) >= n && memcmp(p, text, n) == 0);
  return p + n;
}

static int starts(const unsigned char *p, const unsigned char *end, const char *text) {
  size_t n = strlen(text);
  return (size_t)(end - p) >= n && memcmp(p, text, n) == 0;
}

/* The line src[at, at + line_len) as records.c keeps it: cut at max_line, then a final '\r' off. */
static size_t kept(const unsigned char *src, size_t at, size_t line_len, uint32_t max_line) {
  size_t keep = line_len > max_line ? max_line : line_len;
  if (keep > 0 && src[at + keep - 1] == '\r') keep--;
  return keep;
}

/* The record rec[0, len) of the line src[at, at + line_len) at file offset `offset`. */
static void check_record(const lines_job_t *job, const unsigned char *rec, size_t len, size_t at, size_t line_len,
                         double offset) {
  const unsigned char *p = rec, *end = rec + len;
  REQUIRE(len >= job->prefix_len && memcmp(p, job->prefix, job->prefix_len) == 0);
  p += job->prefix_len;
  char digits[24];
  snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(uint64_t)offset);
  p = expect(p, end, digits);
  p = expect(p, end, ",\"line\":");
  size_t keep = kept(job->src, at, line_len, job->max_line);
  unsigned char *decoded = malloc(len + 1), *want = malloc(3 * keep + 1), *decoded_end, *want_end;
  REQUIRE(decoded != NULL && want != NULL);
  p = json_string(p, end, decoded, &decoded_end);
  want_end = whatwg_decode(job->src + at, keep, want);
  REQUIRE(decoded_end - decoded == want_end - want && memcmp(decoded, want, (size_t)(want_end - want)) == 0);
  free(decoded);
  free(want);
  int truncated = starts(p, end, ",\"truncated\":true");
  REQUIRE(truncated == (line_len > job->max_line));
  if (truncated) p += strlen(",\"truncated\":true");
  int replayed = starts(p, end, ",\"replayed\":true");
  REQUIRE(replayed == (offset < job->replay_until));
  if (replayed) p += strlen(",\"replayed\":true");
  p = expect(p, end, "}");
  REQUIRE(p == end);
}

static uint32_t u16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < HEADER) return 0;
  size_t src_len = size - HEADER;
  lines_job_t job = {
      .src = data + HEADER,
      .from = 0,
      .to = (uint32_t)src_len,
      .prefix = PREFIX,
      .prefix_len = data[2] % sizeof(PREFIX),
      .offset = data[11] & 0x80 ? 4294967000.0 + data[11] : data[11],
      .max_line = u16(data) % 1024,
      .max_records = data[3] % 16,
      .budget = u16(data + 4),
      .key_len = data[6],
      .dst_pos = data[10] % 32,
  };
  job.replay_until = job.offset + 8.0 * data[7];
  job.dst_len = job.dst_pos + u16(data + 8) % 4096;
  unsigned char *dst = malloc(job.dst_len ? job.dst_len : 1);
  uint32_t *ends = malloc(job.max_records ? job.max_records * sizeof(uint32_t) : 1);
  REQUIRE(dst != NULL && ends != NULL);
  memset(dst, 0xaa, job.dst_len);
  job.dst = dst;
  job.ends = ends;

  lines_done_t done = encode_lines(&job);

  REQUIRE(done.records <= job.max_records && done.from <= job.to && done.dst_pos <= job.dst_len);
  REQUIRE(done.records > 0 || (done.from == job.from && done.dst_pos == job.dst_pos));
  REQUIRE(done.from == job.from || job.src[done.from - 1] == '\n');
  for (size_t i = 0; i < job.dst_pos; i++) REQUIRE(dst[i] == 0xaa);
  size_t at = job.from, start = job.dst_pos;
  uint64_t used = 0;
  double offset = job.offset;
  for (uint32_t r = 0; r < done.records; r++) {
    const unsigned char *nl = memchr(job.src + at, '\n', job.to - at);
    REQUIRE(nl != NULL && ends[r] > start && ends[r] <= done.dst_pos);
    size_t line_len = (size_t)(nl - (job.src + at));
    check_record(&job, dst + start, ends[r] - start, at, line_len, offset);
    used += ends[r] - start + job.key_len;
    start = ends[r];
    at += line_len + 1;
    offset += (double)(line_len + 1);
  }
  REQUIRE(at == done.from && start == done.dst_pos);
  /* Stopped early only for a reason: a limit reached, no complete line left, or no room for it. */
  const unsigned char *next = memchr(job.src + at, '\n', job.to - at);
  if (done.records < job.max_records && used < job.budget && next) {
    size_t keep = kept(job.src, at, (size_t)(next - (job.src + at)), job.max_line);
    REQUIRE(done.dst_pos + job.prefix_len + RECORD_OVERHEAD + 6 * keep + 2 > job.dst_len);
  }
  free(dst);
  free(ends);
  return 0;
}
