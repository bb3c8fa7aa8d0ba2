/*
 * encodeLines, the shipper's records of a chunk's complete lines in one call (records.c says why in
 * C and what a record is), bound with Node-API.
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

#include "records.h"

#define ARGS 14

static napi_value encode_lines_js(napi_env env, napi_callback_info info) {
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
  lines_done_t done = encode_lines(&(lines_job_t){
      .src = src,
      .from = from,
      .to = to,
      .dst = dst,
      .dst_len = dst_len,
      .dst_pos = dst_pos,
      .prefix = prefix,
      .prefix_len = prefix_len,
      .offset = offset,
      .replay_until = replay_until,
      .max_line = max_line,
      .ends = ends,
      .max_records = max_records,
      .budget = budget,
      .key_len = key_len,
  });
  state[0] = done.from;
  state[1] = (double)done.dst_pos;
  state[2] = done.records;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  encode_lines_init();
  napi_value fn;
  if (napi_create_function(env, "encodeLines", NAPI_AUTO_LENGTH, encode_lines_js, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "encodeLines", fn) != napi_ok)
    napi_throw_error(env, NULL, "cannot export encodeLines");
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
