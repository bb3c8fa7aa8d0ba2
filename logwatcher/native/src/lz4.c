/*
 * LZ4 frames, the codec of Kafka's "lz4" record batches, for the kafkajs client (the indexer's
 * consumer, and the kafkajs producer when a user picks it). kafkajs has no LZ4 codec of its own and
 * the npm codecs for it wrap an addon that is no longer kept (lz4 0.6, nan). The reference LZ4
 * library is already linked into the librdkafka this project builds, so its frame API is bound
 * here: nothing of LZ4 is written by hand.
 *
 * JavaScript API (logwatcher/kafka/lz4-codec.ts wraps it):
 *   compressFrame(data: Buffer) -> Buffer    independent 64 KiB blocks, as librdkafka and the
 *                                            Java client write them
 *   decompressFrame(data: Buffer) -> Buffer  one frame or several back to back; throws naming
 *                                            what is wrong with the input
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "lz4frame.h"

/* A record batch never holds more; a frame that claims more is refused, not allocated. */
#define MAX_DECOMPRESSED ((size_t)1 << 30)

static void free_output(napi_env env, void *data, void *hint) { free(data); }

static napi_value throw_error(napi_env env, const char *what, const char *detail) {
  char msg[256];
  snprintf(msg, sizeof(msg), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* The one Buffer argument, or a thrown TypeError. */
static int buffer_arg(napi_env env, napi_callback_info info, const char **data, size_t *len) {
  size_t argc = 1;
  napi_value arg;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_buffer(env, arg, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return 0;
  }
  return napi_get_buffer_info(env, arg, (void **)data, len) == napi_ok;
}

/* Hands `out` (malloc'd, `len` bytes used) to JavaScript without a copy. */
static napi_value output_buffer(napi_env env, char *out, size_t len) {
  napi_value result;
  if (napi_create_external_buffer(env, len, out, free_output, NULL, &result) != napi_ok) {
    free(out);
    return throw_error(env, "lz4: cannot create the output buffer", NULL);
  }
  return result;
}

static napi_value compress_frame(napi_env env, napi_callback_info info) {
  const char *in;
  size_t len;
  if (!buffer_arg(env, info, &in, &len)) return NULL;
  LZ4F_preferences_t prefs = {0};
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.contentSize = len;
  size_t bound = LZ4F_compressFrameBound(len, &prefs);
  char *out = malloc(bound ? bound : 1);
  if (!out) return throw_error(env, "lz4: out of memory", NULL);
  size_t n = LZ4F_compressFrame(out, bound, in, len, &prefs);
  if (LZ4F_isError(n)) {
    free(out);
    return throw_error(env, "lz4: compression failed", LZ4F_getErrorName(n));
  }
  return output_buffer(env, out, n);
}

static napi_value decompress_frame(napi_env env, napi_callback_info info) {
  const char *in;
  size_t len;
  if (!buffer_arg(env, info, &in, &len)) return NULL;
  LZ4F_dctx *dctx;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return throw_error(env, "lz4: cannot create a decompression context", NULL);
  /* The frame usually states its size (librdkafka writes it); otherwise grow from a guess. One
   * byte more than the size lets the end mark be read without growing. */
  LZ4F_frameInfo_t frame = {0};
  size_t pos = len;
  size_t info_err = LZ4F_getFrameInfo(dctx, &frame, in, &pos);
  if (LZ4F_isError(info_err)) {
    LZ4F_freeDecompressionContext(dctx);
    return throw_error(env, "lz4: invalid frame", len == 0 ? "empty input" : LZ4F_getErrorName(info_err));
  }
  size_t cap = frame.contentSize > 0 && frame.contentSize < MAX_DECOMPRESSED ? frame.contentSize + 1
                                                                           : len * 4 + 1024;
  char *out = malloc(cap);
  size_t used = 0;
  const char *error = out ? NULL : "out of memory";
  size_t hint = 1;
  while (!error && pos < len) {
    if (used == cap) {
      if (cap >= MAX_DECOMPRESSED) {
        error = "decompressed size exceeds 1 GiB";
        break;
      }
      cap = cap * 2 > MAX_DECOMPRESSED ? MAX_DECOMPRESSED : cap * 2;
      char *grown = realloc(out, cap);
      if (!grown) {
        error = "out of memory";
        break;
      }
      out = grown;
    }
    size_t src = len - pos, dst = cap - used;
    hint = LZ4F_decompress(dctx, out + used, &dst, in + pos, &src, NULL);
    if (LZ4F_isError(hint)) error = LZ4F_getErrorName(hint);
    else if (src == 0 && dst == 0) error = "no progress"; /* never seen; guards the loop */
    pos += src;
    used += dst;
  }
  LZ4F_freeDecompressionContext(dctx);
  if (!error && hint != 0) error = "truncated frame";
  if (error) {
    free(out);
    return throw_error(env, "lz4: invalid frame", error);
  }
  return output_buffer(env, out, used);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"compressFrame", NULL, compress_frame, NULL, NULL, NULL, napi_default, NULL},
      {"decompressFrame", NULL, decompress_frame, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, 2, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
