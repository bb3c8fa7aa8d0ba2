/*
 * The shipper's hot path in C: complete lines of a file chunk become the JSON records of a batch.
 *
 * Why in C: in JavaScript the per-byte JSON escaping and the per-line bookkeeping cost ~0.8 µs a
 * line, about as much as everything else the shipper does; here a whole chunk is one call. The
 * output is byte for byte what logwatcher/shipper/record-batch.ts writes for the same line
 * (RecordBatch.addBytes: the file's prefix, the offset digits, `,"line":`, the line as
 * JSON.stringify writes the decoded text, the flags, `}`); record-batch.test.ts checks that on
 * random lines. Lines that span chunks, and multi-line records, stay on the JavaScript path.
 *
 * encodeLines(src, from, to, dst, dstPos, prefix, offset, replayUntil, maxLineBytes, ends,
 *             maxRecords, byteBudget, keyLength, state)
 *   Encodes the complete lines of src[from, to) (each ends with '\n' before `to`), the first one
 *   at file offset `offset`, into dst from dstPos, while fewer than maxRecords were written, the
 *   bytes written plus keyLength per record stay below byteBudget (the record that crosses it is
 *   the last), and dst surely has room (the same bound RecordBatch.fits uses). Each record's end
 *   position goes to ends[]. state receives [from after the last line, dstPos, records].
 */
#include <node_api.h>
#include <stdint.h>
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

static void init_special(void) {
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

#define ARGS 14

static napi_value encode_lines(napi_env env, napi_callback_info info) {
  size_t argc = ARGS;
  napi_value argv[ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != ARGS) {
    napi_throw_type_error(env, NULL, "encodeLines takes 14 arguments");
    return NULL;
  }
  unsigned char *src, *dst, *prefix;
  size_t src_len, dst_len, prefix_len, ends_len, state_len;
  uint32_t from, to, dst_pos, max_line, max_records, budget, key_len;
  double offset, replay_until;
  napi_typedarray_type type;
  void *ends_data, *state_data;
  napi_value ab;
  size_t ab_off;
  int ok = napi_get_buffer_info(env, argv[0], (void **)&src, &src_len) == napi_ok &&
           napi_get_value_uint32(env, argv[1], &from) == napi_ok &&
           napi_get_value_uint32(env, argv[2], &to) == napi_ok &&
           napi_get_buffer_info(env, argv[3], (void **)&dst, &dst_len) == napi_ok &&
           napi_get_value_uint32(env, argv[4], &dst_pos) == napi_ok &&
           napi_get_buffer_info(env, argv[5], (void **)&prefix, &prefix_len) == napi_ok &&
           napi_get_value_double(env, argv[6], &offset) == napi_ok &&
           napi_get_value_double(env, argv[7], &replay_until) == napi_ok &&
           napi_get_value_uint32(env, argv[8], &max_line) == napi_ok &&
           napi_get_typedarray_info(env, argv[9], &type, &ends_len, &ends_data, &ab, &ab_off) == napi_ok &&
           type == napi_uint32_array &&
           napi_get_value_uint32(env, argv[10], &max_records) == napi_ok &&
           napi_get_value_uint32(env, argv[11], &budget) == napi_ok &&
           napi_get_value_uint32(env, argv[12], &key_len) == napi_ok &&
           napi_get_typedarray_info(env, argv[13], &type, &state_len, &state_data, &ab, &ab_off) == napi_ok &&
           type == napi_float64_array && state_len >= 3;
  if (!ok || from > to || to > src_len || dst_pos > dst_len) {
    napi_throw_type_error(env, NULL, "encodeLines: bad arguments");
    return NULL;
  }
  uint32_t *ends = ends_data;
  double *state = state_data;
  if (max_records > ends_len) max_records = (uint32_t)ends_len;
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
  state[0] = from;
  state[1] = (double)(d - dst);
  state[2] = records;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  init_special();
  napi_value fn;
  if (napi_create_function(env, "encodeLines", NAPI_AUTO_LENGTH, encode_lines, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "encodeLines", fn) != napi_ok)
    napi_throw_error(env, NULL, "cannot export encodeLines");
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
