#include "rdkafka-glue.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  int kind;
  double a;
  int b;
  char *text;
  char *facility;
} event_t;

void glue_emit(napi_threadsafe_function events, int kind, double a, int b, const char *text, const char *facility) {
  event_t *ev = calloc(1, sizeof(*ev));
  if (!ev) return;
  ev->kind = kind;
  ev->a = a;
  ev->b = b;
  ev->text = text ? strdup(text) : NULL;
  ev->facility = facility ? strdup(facility) : NULL;
  if (napi_call_threadsafe_function(events, ev, napi_tsfn_nonblocking) != napi_ok) {
    free(ev->text);
    free(ev->facility);
    free(ev);
  }
}

napi_value glue_string_or_null(napi_env env, const char *s) {
  napi_value v;
  if (s) napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
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
  free(ev->text);
  free(ev->facility);
  free(ev);
}

napi_status glue_events(napi_env env, napi_value fn, const char *name, napi_threadsafe_function *out) {
  napi_value resource;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  return napi_create_threadsafe_function(env, fn, NULL, resource, 0, 1, NULL, NULL, NULL, call_js, out);
}

char *glue_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
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
    napi_value key, value, text;
    napi_get_element(env, names, i, &key);
    napi_get_property(env, object, key, &value);
    napi_coerce_to_string(env, value, &text);
    char *k = glue_string(env, key), *v = glue_string(env, text);
    rd_kafka_conf_res_t res = (k && v) ? rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) : RD_KAFKA_CONF_INVALID;
    if (k && v && strcmp(k, "log_level") == 0) *log_level = atoi(v);
    if (!(k && v)) strcpy(errstr, "out of memory reading the config");
    free(k);
    free(v);
    if (res != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      napi_throw_error(env, NULL, errstr);
      return NULL;
    }
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
