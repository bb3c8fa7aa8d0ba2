/*
 * Shipper records to `_bulk` items (documents.c): the parser of a record's bytes, which containers
 * write, and the writer of its item. The Node-API binding (documents-addon.c) and the fuzz harness
 * (../fuzz/documents.c) call them.
 */
#ifndef BOXSCOPE_DOCUMENTS_H
#define BOXSCOPE_DOCUMENTS_H

#include <openssl/evp.h>
#include <stddef.h>

typedef struct {
  const unsigned char *at;
  size_t len;
  int found;
} span_t;

typedef struct {
  span_t host, file_id, offset, stamp;
  int offset_is_string;
} fields_t;

/* Reads the identity fields of one record; 0 when the record is not for this path (documents.c). */
int read_fields(const unsigned char *p, size_t len, fields_t *f);

/* The most bytes bulk_item writes for a value of value_len bytes under an index prefix of prefix_len. */
size_t bulk_item_max(size_t prefix_len, size_t value_len);

/*
 * Writes the record's action line and the record, `{"index":{"_index":"<prefix>-YYYY.MM.DD",
 * "_id":"<id>"}}\n<value>\n`, into out (bulk_item_max bytes of room), with id =
 * base64url(sha1(host "\0" fileId "\0" offset)) (indexer/documents.ts documentId). Returns the
 * bytes written; 0 when the record is not for this path or hashing failed.
 */
size_t bulk_item(EVP_MD_CTX *ctx, const char *prefix, size_t prefix_len, const unsigned char *value, size_t len,
                 char *out);

#endif
