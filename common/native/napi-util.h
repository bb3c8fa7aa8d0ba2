/*
 * What the Node-API glue of the C addons (shim/native, pipeline/native) shares: the CHECK macro,
 * the codes of the errors they throw, strings copied out of JavaScript, handles (externals) tagged
 * with their kind, and queued async work.
 */
#ifndef BOXSCOPE_NAPI_UTIL_H
#define BOXSCOPE_NAPI_UTIL_H

#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* The `code` of the errors the addons throw for these causes (messages may be reworded). */
#define BXS_NATIVE_OUT_OF_MEMORY "BXS_NATIVE_OUT_OF_MEMORY"
#define BXS_NATIVE_HANDLE_INVALID "BXS_NATIVE_HANDLE_INVALID"
#define BXS_NATIVE_NAPI_FAILED "BXS_NATIVE_NAPI_FAILED"

/* A Node-API call that fails throws (naming the call) and returns NULL from the calling function. */
#define CHECK(env, call)                                                           \
  do {                                                                             \
    if ((call) != napi_ok) {                                                       \
      napi_throw_error((env), BXS_NATIVE_NAPI_FAILED, "napi call failed: " #call); \
      return NULL;                                                                 \
    }                                                                              \
  } while (0)

/* Throws "<what>: out of memory" with code BXS_NATIVE_OUT_OF_MEMORY. */
static inline void throw_out_of_memory(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof(msg), "%s: out of memory", what);
  napi_throw_error(env, BXS_NATIVE_OUT_OF_MEMORY, msg);
}

/* *out = a malloc'd copy of the string v: 0; EINVAL (*out NULL) when v is not a string or is NULL;
 * ENOMEM. Nothing is thrown. */
static inline int string_value_dup(napi_env env, napi_value v, char **out) {
  size_t len = 0;
  *out = NULL;
  if (!v || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return EINVAL;
  char *s = malloc(len + 1);
  if (!s) return ENOMEM;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return EINVAL;
  }
  *out = s;
  return 0;
}

/*
 * A handle for JavaScript: an external of data tagged with its kind, so that external_of refuses a
 * handle of another kind (of this addon or another one) instead of reading its data as this kind.
 * On failure *out is NULL when no external was made (data is still the caller's); else the external
 * exists untagged, and its finalizer runs once it is collected.
 */
static inline napi_status tagged_external(napi_env env, void *data, napi_finalize finalize, const napi_type_tag *tag,
                                          napi_value *out) {
  *out = NULL;
  napi_status s = napi_create_external(env, data, finalize, NULL, out);
  if (s != napi_ok) {
    *out = NULL;
    return s;
  }
  return napi_type_tag_object(env, *out, tag);
}

/* The data of a handle made by tagged_external with `tag`; NULL with a TypeError (code
 * BXS_NATIVE_HANDLE_INVALID, `message`) for any other value. */
static inline void *external_of(napi_env env, napi_value v, const napi_type_tag *tag, const char *message) {
  napi_valuetype type = napi_undefined;
  bool tagged = false;
  void *data = NULL;
  if (v && napi_typeof(env, v, &type) == napi_ok && type == napi_external &&
      napi_check_object_type_tag(env, v, tag, &tagged) == napi_ok && tagged &&
      napi_get_value_external(env, v, &data) == napi_ok && data)
    return data;
  napi_throw_type_error(env, BXS_NATIVE_HANDLE_INVALID, message);
  return NULL;
}

/*
 * Creates async work named `name` into *work and queues it: true; else false with an error thrown and
 * nothing queued (complete will not run, so data is still the caller's).
 */
static inline bool queue_work(napi_env env, const char *name, napi_async_execute_callback execute,
                              napi_async_complete_callback complete, void *data, napi_async_work *work) {
  napi_value resource;
  napi_status s = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (s == napi_ok) s = napi_create_async_work(env, NULL, resource, execute, complete, data, work);
  if (s == napi_ok && (s = napi_queue_async_work(env, *work)) != napi_ok) napi_delete_async_work(env, *work);
  if (s == napi_ok) return true;
  char msg[256];
  snprintf(msg, sizeof(msg), "napi: cannot queue %s", name);
  napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, msg);
  return false;
}

#endif
