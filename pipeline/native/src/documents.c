/*
 * The indexer's hot path in C: a chunk of shipper records becomes one `_bulk` body.
 *
 * Why in C: per record the JavaScript path (indexer/documents.ts prepareDocument, bulk.ts
 * bulkBody) decodes the bytes into a string, parses the whole JSON into an object, hashes the id
 * and writes the action line: most of the indexer's CPU and garbage, CPU that on a small machine
 * Elasticsearch does not get (docs/benchmarks.md, "Indexing"). Here a chunk is one call.
 *
 * This path takes only records it can read exactly as the JavaScript path does, and returns null
 * for a chunk holding any other, which then goes the JavaScript way (dead letters, replays and
 * their reasons stay there). A record is taken when it is one JSON object whose top level tokenizes
 * cleanly (its strings fully checked, keys without escapes or non-ASCII) and has, once each: "host" and "fileId", non-empty strings of printable ASCII without
 * escapes; "offset", digits without a leading zero (at most 15, so JavaScript's String() of the
 * number is the same text) or a string of printable ASCII without escapes; "@timestamp", a string
 * `YYYY-MM-DDTHH:MM:SS[.fff]Z` naming a real UTC time; "replayed" absent or not `true`; and no
 * newline byte. Nested objects and arrays are skipped, not validated: Elasticsearch refuses a
 * malformed one for that item alone, and the item goes to the dead-letter topic with its reason.
 * indexer/native-bulk.test.ts checks the bodies against the JavaScript path's. The Node-API binding
 * (bulkBody) is documents-addon.c.
 */
#include "documents.h"

#include <stdint.h>
#include <string.h>

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
  return p;
}

static int is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * A string starting at the quote `p`: returns the byte after the closing quote (NULL if
 * malformed: a control byte or an escape JSON does not have); `plain` is set when it holds only
 * printable ASCII and no escape.
 */
static const unsigned char *scan_string(const unsigned char *p, const unsigned char *end, int *plain) {
  *plain = 1;
  for (p++; p < end; p++) {
    unsigned char c = *p;
    if (c == '"') return p + 1;
    if (c < 0x20) return NULL;
    if (c == '\\') {
      *plain = 0;
      if (++p >= end) return NULL;
      if (*p == 'u') {
        if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])) return NULL;
        p += 4;
      } else if (*p == 0 || !strchr("\"\\/bfnrt", *p)) {
        return NULL;
      }
    } else if (c >= 0x7f) {
      *plain = 0;
    }
  }
  return NULL;
}

/* A JSON number; returns the byte after it (NULL if malformed); `digits` when it is [1-9][0-9]* or 0. */
static const unsigned char *scan_number(const unsigned char *p, const unsigned char *end, int *digits) {
  const unsigned char *start = p;
  *digits = 1;
  if (p < end && *p == '-') p++, *digits = 0;
  if (p >= end) return NULL;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9')
    while (p < end && *p >= '0' && *p <= '9') p++;
  else return NULL;
  if (p < end && *p == '.') {
    *digits = 0;
    if (++p >= end || *p < '0' || *p > '9') return NULL;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    *digits = 0;
    if (++p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || *p < '0' || *p > '9') return NULL;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p - start > 15) *digits = 0;
  return p;
}

/* A nested object or array starting at `p`, skipped string-aware; the byte after it or NULL. */
static const unsigned char *skip_nested(const unsigned char *p, const unsigned char *end) {
  int depth = 0, plain;
  while (p < end) {
    unsigned char c = *p;
    if (c == '"') {
      if (!(p = scan_string(p, end, &plain))) return NULL;
      continue;
    }
    if (c == '{' || c == '[') depth++;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return p + 1;
    }
    p++;
  }
  return NULL;
}

static int key_is(const unsigned char *key, size_t len, const char *name) {
  return len == strlen(name) && memcmp(key, name, len) == 0;
}

static int two_digits(const unsigned char *p, int lo, int hi) {
  if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return -1;
  int v = (p[0] - '0') * 10 + (p[1] - '0');
  return v >= lo && v <= hi ? v : -1;
}

/* `YYYY-MM-DDTHH:MM:SS[.fff]Z` naming a real UTC time (what the shipper writes: toISOString). */
static int valid_stamp(const unsigned char *s, size_t len) {
  if (len != 20 && len != 24) return 0;
  for (int i = 0; i < 4; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len - 1] != 'Z') return 0;
  int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int month = two_digits(s + 5, 1, 12), day = two_digits(s + 8, 1, 31);
  if (month < 0 || day < 0 || two_digits(s + 11, 0, 23) < 0 || two_digits(s + 14, 0, 59) < 0 ||
      two_digits(s + 17, 0, 59) < 0)
    return 0;
  if (len == 24 && (s[19] != '.' || s[20] < '0' || s[20] > '9' || s[21] < '0' || s[21] > '9' || s[22] < '0' || s[22] > '9'))
    return 0;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= days[month - 1] + (month == 2 && leap);
}

int read_fields(const unsigned char *p, size_t len, fields_t *f) {
  memset(f, 0, sizeof(*f));
  /* Not a record; and an empty Buffer's bytes may be NULL, where even p + 0 is undefined. */
  if (len == 0) return 0;
  const unsigned char *end = p + len;
  if (memchr(p, '\n', len)) return 0;
  p = skip_ws(p, end);
  if (p >= end || *p != '{') return 0;
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') return 0;
  for (;;) {
    int plain, digits;
    if (p >= end || *p != '"') return 0;
    const unsigned char *key = p + 1;
    if (!(p = scan_string(p, end, &plain))) return 0;
    size_t key_len = (size_t)(p - 1 - key);
    /* An escaped key could decode to one of ours, which raw bytes cannot tell. */
    if (!plain) return 0;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return 0;
    p = skip_ws(p + 1, end);
    if (p >= end) return 0;
    const unsigned char *value = p;
    span_t *target = NULL;
    if (key_is(key, key_len, "host")) target = &f->host;
    else if (key_is(key, key_len, "fileId")) target = &f->file_id;
    else if (key_is(key, key_len, "offset")) target = &f->offset;
    else if (key_is(key, key_len, "@timestamp")) target = &f->stamp;
    if (target && target->found) return 0; /* a repeated key: JSON.parse keeps the last */
    if (*p == '"') {
      if (!(p = scan_string(p, end, &plain))) return 0;
      if (target) {
        if (!plain) return 0;
        target->at = value + 1;
        target->len = (size_t)(p - 1 - (value + 1));
        target->found = 1;
        if (target == &f->offset) f->offset_is_string = 1;
      }
    } else if (*p == '{' || *p == '[') {
      if (target || !(p = skip_nested(p, end))) return 0;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
      if (!(p = scan_number(p, end, &digits))) return 0;
      if (target) {
        if (target != &f->offset || !digits || *value == '-') return 0;
        target->at = value;
        target->len = (size_t)(p - value);
        target->found = 1;
      }
    } else {
      size_t left = (size_t)(end - p);
      int is_true = left >= 4 && memcmp(p, "true", 4) == 0;
      if (is_true) p += 4;
      else if (left >= 5 && memcmp(p, "false", 5) == 0) p += 5;
      else if (left >= 4 && memcmp(p, "null", 4) == 0) p += 4;
      else return 0;
      if (target) return 0;
      /* A replayed record may already be indexed: the JavaScript path looks for it first. */
      if (is_true && key_is(key, key_len, "replayed")) return 0;
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      p = skip_ws(p + 1, end);
      continue;
    }
    if (p >= end || *p != '}') return 0;
    p = skip_ws(p + 1, end);
    if (p != end) return 0;
    break;
  }
  if (!f->host.found || !f->file_id.found || !f->offset.found || !f->stamp.found) return 0;
  if (f->host.len == 0 || f->file_id.len == 0) return 0;
  return valid_stamp(f->stamp.at, f->stamp.len);
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding, as Node's "base64url" encoding writes it. */
static size_t base64url(const unsigned char *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = B64URL[v >> 18 & 63];
    out[o++] = B64URL[v >> 12 & 63];
    out[o++] = B64URL[v >> 6 & 63];
    out[o++] = B64URL[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = B64URL[v >> 18 & 63];
    out[o++] = B64URL[v >> 12 & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = B64URL[v >> 18 & 63];
    out[o++] = B64URL[v >> 12 & 63];
    out[o++] = B64URL[v >> 6 & 63];
  }
  return o;
}

static const char ACTION_START[] = "{\"index\":{\"_index\":\"";
static const char ACTION_ID[] = "\",\"_id\":\"";
static const char ACTION_END[] = "\"}}\n";
/* Action line bytes besides the prefix and the value: fixed text, "-YYYY.MM.DD", a 27-byte id. */
#define ACTION_BYTES (sizeof(ACTION_START) - 1 + sizeof(ACTION_ID) - 1 + sizeof(ACTION_END) - 1 + 11 + 27)

static char *put(char *out, const void *src, size_t n) {
  memcpy(out, src, n);
  return out + n;
}

size_t bulk_item_max(size_t prefix_len, size_t value_len) { return value_len + prefix_len + ACTION_BYTES + 1; }

size_t bulk_item(EVP_MD_CTX *ctx, const char *prefix, size_t prefix_len, const unsigned char *value, size_t len,
                 char *out) {
  fields_t f;
  if (!read_fields(value, len, &f)) return 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  static const unsigned char nul = 0;
  if (!EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) || !EVP_DigestUpdate(ctx, f.host.at, f.host.len) ||
      !EVP_DigestUpdate(ctx, &nul, 1) || !EVP_DigestUpdate(ctx, f.file_id.at, f.file_id.len) ||
      !EVP_DigestUpdate(ctx, &nul, 1) || !EVP_DigestUpdate(ctx, f.offset.at, f.offset.len) ||
      !EVP_DigestFinal_ex(ctx, md, &md_len))
    return 0;
  char *at = out;
  at = put(at, ACTION_START, sizeof(ACTION_START) - 1);
  at = put(at, prefix, prefix_len);
  const unsigned char *s = f.stamp.at;
  char day[11] = {'-', s[0], s[1], s[2], s[3], '.', s[5], s[6], '.', s[8], s[9]};
  at = put(at, day, sizeof(day));
  at = put(at, ACTION_ID, sizeof(ACTION_ID) - 1);
  at += base64url(md, md_len, at);
  at = put(at, ACTION_END, sizeof(ACTION_END) - 1);
  at = put(at, value, len);
  *at++ = '\n';
  return (size_t)(at - out);
}
