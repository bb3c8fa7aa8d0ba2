/*
 * bulkBody, the indexer's `_bulk` body of a chunk of shipper records in one call (documents.c says
 * which records it takes and why in C), bound with Node-API.
 *
 * bulkBody(values: Buffer[], indexPrefix: string) -> Buffer | null
 *   For each value, `{"index":{"_index":"<prefix>-YYYY.MM.DD","_id":"<id>"}}\n<value>\n`, with
 *   id = base64url(sha1(host "\0" fileId "\0" offset)) (indexer/documents.ts documentId).
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>

#include "documents.h"

static void free_block(napi_env env, void *data, void *hint) { free(data); }

static napi_value null_value(napi_env env) {
  napi_value v;
  napi_get_null(env, &v);
  return v;
}

/* bulkBody(values, indexPrefix) */
static napi_value bulk_body(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t n = 0;
  char prefix[256];
  size_t prefix_len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_array_length(env, argv[0], &n) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], prefix, sizeof(prefix), &prefix_len) != napi_ok) {
    napi_throw_type_error(env, NULL, "bulkBody(values: Buffer[], indexPrefix: string)");
    return NULL;
  }
  /* A prefix this long was cut to fit (Elasticsearch refuses such index names anyway). */
  if (prefix_len >= sizeof(prefix) - 1) return null_value(env);
  /* Each value's bytes, read once here (a Buffer's memory stays put during the call). */
  const unsigned char **data = malloc((n ? n : 1) * sizeof(*data));
  size_t *lens = malloc((n ? n : 1) * sizeof(*lens));
  size_t total = 0;
  napi_value result = NULL;
  char *out = NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!data || !lens || !ctx) goto fail;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    bool is_buffer = false;
    void *bytes = NULL;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_is_buffer(env, v, &is_buffer) != napi_ok ||
        !is_buffer || napi_get_buffer_info(env, v, &bytes, &lens[i]) != napi_ok)
      goto not_here; /* null or not a Buffer: the JavaScript path says why */
    data[i] = bytes;
    total += bulk_item_max(prefix_len, lens[i]);
  }
  out = malloc(total ? total : 1);
  if (!out) goto fail;
  char *at = out;
  for (uint32_t i = 0; i < n; i++) {
    size_t wrote = bulk_item(ctx, prefix, prefix_len, data[i], lens[i], at);
    if (!wrote) goto not_here;
    at += wrote;
  }
  if (napi_create_external_buffer(env, (size_t)(at - out), out, free_block, NULL, &result) == napi_ok) out = NULL;
  else if (napi_create_buffer_copy(env, (size_t)(at - out), out, NULL, &result) != napi_ok) goto fail;
  goto done;
not_here:
  result = null_value(env);
  goto done;
fail:
  napi_throw_error(env, NULL, "bulkBody: out of memory");
  result = NULL;
done:
  EVP_MD_CTX_free(ctx);
  free(out);
  free(data);
  free(lens);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "bulkBody", NAPI_AUTO_LENGTH, bulk_body, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "bulkBody", fn) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
