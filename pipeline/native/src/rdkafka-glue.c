#include "rdkafka-glue.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* One allocation: the strings are copied behind the event. */
typedef struct {
  int kind;
  double a;
  int b;
  const char *text;
  const char *facility;
  char strings[];
} event_t;

void glue_emit(napi_threadsafe_function events, int kind, double a, int b, const char *text, const char *facility) {
  size_t text_len = text ? strlen(text) + 1 : 0, facility_len = facility ? strlen(facility) + 1 : 0;
  event_t *ev = malloc(sizeof(*ev) + text_len + facility_len);
  if (!ev) return;
  ev->kind = kind;
  ev->a = a;
  ev->b = b;
  ev->text = text ? memcpy(ev->strings, text, text_len) : NULL;
  ev->facility = facility ? memcpy(ev->strings + text_len, facility, facility_len) : NULL;
  if (napi_call_threadsafe_function(events, ev, napi_tsfn_nonblocking) != napi_ok) free(ev);
}

/* Never an unset value: V8 ends the process when its heap is exhausted, so making the string fails
 * only with an exception pending, and the call it was for fails then anyway. */
napi_value glue_string_or_null(napi_env env, const char *s) {
  napi_value v = NULL;
  if (!s || napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) napi_get_null(env, &v);
  return v;
}

static void call_js(napi_env env, napi_value fn, void *context, void *data) {
  event_t *ev = data;
  if (env && fn) {
    napi_value argv[5], undef;
    napi_create_int32(env, ev->kind, &argv[0]);
    napi_create_double(env, ev->a, &argv[1]);
    napi_create_int32(env, ev->b, &argv[2]);
    argv[3] = glue_string_or_null(env, ev->text);
    argv[4] = glue_string_or_null(env, ev->facility);
    napi_get_undefined(env, &undef);
    napi_call_function(env, undef, fn, 5, argv, NULL);
  }
  free(ev);
}

napi_status glue_events(napi_env env, napi_value fn, const char *name, napi_threadsafe_function *out) {
  napi_value resource;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  return napi_create_threadsafe_function(env, fn, NULL, resource, 0, 1, NULL, NULL, NULL, call_js, out);
}

/* The i-th of `names` and its value in object as a string, both malloc'd: 0, EINVAL or ENOMEM. */
static int conf_entry(napi_env env, napi_value object, napi_value names, uint32_t i, char **key, char **value) {
  napi_value k, v, text;
  if (napi_get_element(env, names, i, &k) != napi_ok || napi_get_property(env, object, k, &v) != napi_ok ||
      napi_coerce_to_string(env, v, &text) != napi_ok)
    return EINVAL;
  int e = string_value_dup(env, k, key);
  return e ? e : string_value_dup(env, text, value);
}

rd_kafka_conf_t *glue_conf(napi_env env, napi_value object, int *log_level) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  *log_level = 6;
  napi_value names;
  uint32_t n = 0;
  if (napi_get_property_names(env, object, &names) != napi_ok || napi_get_array_length(env, names, &n) != napi_ok) {
    rd_kafka_conf_destroy(conf);
    napi_throw_type_error(env, NULL, "config must be an object of strings");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    __do_free char *k = NULL;
    __do_free char *v = NULL;
    int e = conf_entry(env, object, names, i, &k, &v);
    if (e) {
      rd_kafka_conf_destroy(conf);
      if (e == ENOMEM) throw_out_of_memory(env, "reading the config");
      else napi_throw_type_error(env, NULL, "config must be an object of strings");
      return NULL;
    }
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      napi_throw_error(env, NULL, errstr);
      return NULL;
    }
    if (strcmp(k, "log_level") == 0) *log_level = atoi(v);
  }
  return conf;
}

const char *glue_error_reason(rd_kafka_t *rk, int *err, const char *reason, char *buf, size_t size) {
  if (*err != RD_KAFKA_RESP_ERR__FATAL) return reason;
  rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, buf, size);
  if (!cause) return reason;
  *err = cause;
  return buf;
}
