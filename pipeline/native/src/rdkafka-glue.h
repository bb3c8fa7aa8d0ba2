/*
 * What the librdkafka producer (producer.c) and consumer (consumer.c) bindings share: events from
 * librdkafka's threads to one JavaScript callback, a librdkafka config from a JavaScript object,
 * and a few Node-API helpers. Both live in one addon (addon.c), so one copy of librdkafka is
 * loaded.
 */
#ifndef BOXSCOPE_RDKAFKA_GLUE_H
#define BOXSCOPE_RDKAFKA_GLUE_H

#include <librdkafka/rdkafka.h>
#include <node_api.h>

#include "napi-util.h"

/* Event kinds, as the JavaScript wrappers read them (each names its own use of a and b). */
enum { EV_DONE = 0, EV_LOG = 1, EV_ERROR = 2, EV_CLOSED = 3, EV_REBALANCE = 4 };

/* Queues onEvent(kind, a, b, text, facility) for the JavaScript thread; strings are copied. Without
 * the memory for the copy the event is dropped (librdkafka's threads have nobody to tell). */
void glue_emit(napi_threadsafe_function events, int kind, double a, int b, const char *text, const char *facility);

/* A thread-safe function calling `fn` with the events glue_emit queues. */
napi_status glue_events(napi_env env, napi_value fn, const char *name, napi_threadsafe_function *out);

/*
 * A librdkafka config from an object of strings; throws (and returns NULL) naming the bad key.
 * `log_level` receives the object's log_level (6 if unset): the log callback filters by it.
 */
rd_kafka_conf_t *glue_conf(napi_env env, napi_value object, int *log_level);

/* The error reason of librdkafka's error callback, with the cause of a fatal error filled in. */
const char *glue_error_reason(rd_kafka_t *rk, int *err, const char *reason, char *buf, size_t size);

napi_value glue_string_or_null(napi_env env, const char *s);

#endif
