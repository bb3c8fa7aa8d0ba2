/*
 * libFuzzer harness of documents.c: a shipper record's bytes, which a container writes (through the
 * shipper and Kafka), as the indexer's `_bulk` writer reads them.
 *
 * Input: one byte of mode, then the rest. Mode bit 0 clear: the rest is a record as it comes, and
 * the checks are those every record must pass: an item is written only for a record whose fields
 * read_fields found inside it, it fills bulk_item_max exactly (the binding allocates that much), and
 * it is the action line of that record (its day, a base64url id) followed by the record and a
 * newline. Bit 0 set: the rest chooses the fields of a well-formed shipper record (host, fileId,
 * offset, a real UTC time, a line of any bytes), which must be taken, with the day and fields as
 * written. The mode's other bits: the index prefix's length.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../src/documents.h"
#include "native-fuzz.h"

static const char PREFIX[] = "boxscope-logs-abcdefghijklmnopqrstuvwxyz";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static EVP_MD_CTX *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  ctx = EVP_MD_CTX_new();
  REQUIRE(ctx != NULL);
  return 0;
}

static int printable_plain(const span_t *s) {
  for (size_t i = 0; i < s->len; i++)
    if (s->at[i] < 0x20 || s->at[i] > 0x7e || s->at[i] == '"' || s->at[i] == '\\') return 0;
  return 1;
}

static int inside(const span_t *s, const unsigned char *p, size_t len) {
  return s->found && s->at >= p && s->at + s->len <= p + len;
}

static int digits(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* `YYYY-MM-DDTHH:MM:SS[.fff]Z` naming a real UTC time, checked by the C library's calendar. */
static int real_utc_time(const span_t *s) {
  const unsigned char *t = s->at;
  if (s->len != 20 && s->len != 24) return 0;
  if (!digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' || !digits(t + 8, 2) || t[10] != 'T' ||
      !digits(t + 11, 2) || t[13] != ':' || !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2) ||
      t[s->len - 1] != 'Z')
    return 0;
  if (s->len == 24 && (t[19] != '.' || !digits(t + 20, 3))) return 0;
  struct tm tm = {0};
  tm.tm_year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0') - 1900;
  tm.tm_mon = (t[5] - '0') * 10 + (t[6] - '0') - 1;
  tm.tm_mday = (t[8] - '0') * 10 + (t[9] - '0');
  tm.tm_hour = (t[11] - '0') * 10 + (t[12] - '0');
  tm.tm_min = (t[14] - '0') * 10 + (t[15] - '0');
  tm.tm_sec = (t[17] - '0') * 10 + (t[18] - '0');
  struct tm want = tm, back;
  time_t at = timegm(&tm);
  if (!gmtime_r(&at, &back)) return 0;
  return back.tm_year == want.tm_year && back.tm_mon == want.tm_mon && back.tm_mday == want.tm_mday &&
         back.tm_hour == want.tm_hour && back.tm_min == want.tm_min && back.tm_sec == want.tm_sec;
}

/* The item bulk_item wrote for `value`, whose fields are f: the action line, the value, a newline. */
static void check_item(const char *out, size_t n, const char *prefix, size_t prefix_len, const unsigned char *value,
                       size_t len, const fields_t *f) {
  static const char start[] = "{\"index\":{\"_index\":\"", id[] = "\",\"_id\":\"", end[] = "\"}}\n";
  const char *p = out;
  REQUIRE(n == bulk_item_max(prefix_len, len));
  REQUIRE(memcmp(p, start, sizeof(start) - 1) == 0);
  p += sizeof(start) - 1;
  REQUIRE(memcmp(p, prefix, prefix_len) == 0);
  p += prefix_len;
  const unsigned char *t = f->stamp.at;
  const char day[11] = {'-', t[0], t[1], t[2], t[3], '.', t[5], t[6], '.', t[8], t[9]};
  REQUIRE(memcmp(p, day, sizeof(day)) == 0);
  p += sizeof(day);
  REQUIRE(memcmp(p, id, sizeof(id) - 1) == 0);
  p += sizeof(id) - 1;
  for (int i = 0; i < 27; i++, p++) REQUIRE(*p != '\0' && strchr(B64URL, *p) != NULL);
  REQUIRE(memcmp(p, end, sizeof(end) - 1) == 0);
  p += sizeof(end) - 1;
  REQUIRE(memcmp(p, value, len) == 0);
  p += len;
  REQUIRE(*p == '\n' && (size_t)(p + 1 - out) == n);
}

/* A record as it comes: whatever is taken is a shipper record, and its item is right. An empty one
 * comes as Node hands over an empty Buffer's bytes: NULL. */
static void any_record(const unsigned char *value, size_t len, const char *prefix, size_t prefix_len) {
  if (len == 0) value = NULL;
  fields_t f;
  int taken = read_fields(value, len, &f);
  char *out = malloc(bulk_item_max(prefix_len, len));
  REQUIRE(out != NULL);
  size_t n = bulk_item(ctx, prefix, prefix_len, value, len, out);
  REQUIRE((n > 0) == taken);
  if (taken) {
    REQUIRE(memchr(value, '\n', len) == NULL);
    REQUIRE(inside(&f.host, value, len) && f.host.len > 0 && printable_plain(&f.host));
    REQUIRE(inside(&f.file_id, value, len) && f.file_id.len > 0 && printable_plain(&f.file_id));
    REQUIRE(inside(&f.offset, value, len));
    if (f.offset_is_string) REQUIRE(printable_plain(&f.offset));
    else REQUIRE(f.offset.len >= 1 && f.offset.len <= 15 && digits(f.offset.at, f.offset.len) &&
                 (f.offset.at[0] != '0' || f.offset.len == 1));
    REQUIRE(inside(&f.stamp, value, len) && real_utc_time(&f.stamp));
    check_item(out, n, prefix, prefix_len, value, len, &f);
  }
  free(out);
}

/* Appends the bytes of `s` as a JSON string body: what JSON.stringify would escape, escaped. */
static size_t json_body(char *out, const unsigned char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\') o += (size_t)sprintf(out + o, "\\u%04x", s[i]);
    else out[o++] = (char)s[i];
  }
  return o;
}

/* Printable ASCII without '"' and '\\', from any byte. */
static char plain_char(unsigned char b) {
  char c = (char)(0x20 + b % 0x5f);
  return c == '"' || c == '\\' ? '_' : c;
}

/* A shipper record built from the input's bytes: it must be taken, with its own fields. */
static void shipper_record(const unsigned char *in, size_t len, const char *prefix, size_t prefix_len) {
  if (len < 12) return;
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int year = 1970 + in[0] % 130, month = 1 + in[1] % 12, mday = 1 + in[2] % days[month - 1];
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && mday == 29 && !leap) mday = 28;
  char host[9], file_id[9];
  size_t host_len = 1 + in[3] % 8, file_len = 1 + in[4] % 8;
  for (size_t i = 0; i < host_len; i++) host[i] = plain_char(in[5 + i % 7]);
  for (size_t i = 0; i < file_len; i++) file_id[i] = plain_char(in[6 + i % 6]);
  uint64_t offset = 0;
  memcpy(&offset, in + 4, 8);
  offset %= 1000000000000000ull; /* at most 15 digits */
  const unsigned char *line = in + 12;
  size_t line_len = len - 12;
  char *value = malloc(256 + 6 * line_len);
  REQUIRE(value != NULL);
  char stamp[32];
  int stamp_len = sprintf(stamp, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, mday, in[5] % 24, in[6] % 60, in[7] % 60);
  if (in[9] & 1) stamp_len += sprintf(stamp + stamp_len, ".%03d", in[8] % 1000);
  /* Fields the path skips: a nested object holding a closing brace in a string, a false replayed. */
  const char *others = in[10] & 1 ? ",\"replayed\":false,\"meta\":{\"a\":[1,\"}\"],\"b\":null}" : "";
  int head = sprintf(value, "{\"@timestamp\":\"%.*sZ\",\"host\":\"%.*s\",\"fileId\":\"%.*s\",\"offset\":%llu%s,\"line\":\"",
                     stamp_len, stamp, (int)host_len, host, (int)file_len, file_id, (unsigned long long)offset, others);
  size_t n = (size_t)head + json_body(value + head, line, line_len);
  n += (size_t)sprintf(value + n, "\"}");
  /* In a buffer of its own size, so that a read past its end is a sanitizer's finding. */
  unsigned char *record = malloc(n);
  REQUIRE(record != NULL);
  memcpy(record, value, n);
  free(value);
  fields_t f;
  REQUIRE(read_fields(record, n, &f));
  REQUIRE(f.host.len == host_len && memcmp(f.host.at, host, host_len) == 0);
  REQUIRE(f.file_id.len == file_len && memcmp(f.file_id.at, file_id, file_len) == 0);
  char digits_text[24];
  int digits_len = sprintf(digits_text, "%llu", (unsigned long long)offset);
  REQUIRE(!f.offset_is_string && f.offset.len == (size_t)digits_len && memcmp(f.offset.at, digits_text, f.offset.len) == 0);
  any_record(record, n, prefix, prefix_len);
  free(record);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t prefix_len = (data[0] >> 1) % sizeof(PREFIX);
  if (data[0] & 1) shipper_record(data + 1, size - 1, PREFIX, prefix_len);
  else any_record(data + 1, size - 1, PREFIX, prefix_len);
  return 0;
}
