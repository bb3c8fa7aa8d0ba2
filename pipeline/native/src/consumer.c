/*
 * The indexer's Kafka consumer: librdkafka's group consumer bound with Node-API, made for batches.
 *
 * Why not a JavaScript client or a general-purpose binding's consumer: a JavaScript client (kafkajs,
 * the indexer's first consumer) decompresses and decodes record batches on the JavaScript thread
 * and makes an object per record (in profiles of the indexer, decoding and the garbage it leaves
 * were each a large share of its CPU), CPU a small machine takes from Elasticsearch; a binding
 * such as node-rdkafka decodes in librdkafka's threads but still builds a JavaScript object, two
 * Buffers and a string per message on the JavaScript thread. Here librdkafka fetches, decompresses and
 * prefetches in its own threads, a consume call copies its messages into one buffer on a worker
 * thread, and JavaScript gets the whole batch as one Buffer and one Float64Array.
 *
 * JavaScript API (pipeline/kafka/native-consumer.ts wraps it):
 *   createConsumer(config: Record<string, string>, onEvent) -> consumer
 *   subscribe(consumer, topic)                      throws naming librdkafka's error
 *   consume(consumer, maxMessages, timeoutMs, done(error | null, generation, data, meta))
 *     waits up to timeoutMs for the first message, then takes what is already fetched;
 *     data: each message's key bytes then value bytes, back to back (a Buffer);
 *     meta: a Float64Array of 5 numbers per message: partition, offset, key length (-1: null),
 *           value length (-1: null), the partition's high watermark as last fetched;
 *     generation: the group generation the messages belong to (see `generation`)
 *   generation(consumer) -> number                  bumped on every assignment and revocation
 *   commit(consumer, topic, partition, nextOffset, done(error | null))
 *   consumerMetadata(consumer, timeoutMs, done(error | null))   a broker answered in time
 *   closeConsumer(consumer, done(error | null))     leaves the group; no consume may be running
 *   onEvent(kind, a, b, text, facility):
 *     kind 1, log line:   a = syslog level, text = message, facility
 *     kind 2, error:      a = librdkafka error code, b = 1 when fatal, text = reason
 *     kind 4, rebalance:  a = generation after it, b = partitions assigned (0: revoked),
 *                         text = why assigning failed (null if it did not)
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "rdkafka-glue.h"

#define META_FIELDS 5

/* The kind of the handles createConsumer() returns (napi-util.h). */
static const napi_type_tag CONSUMER_TAG = {0xf259b0b8d2db6a7dULL, 0x13ba6dcb23c5073aULL};

typedef struct {
  rd_kafka_t *rk;
  napi_threadsafe_function events;
  atomic_int generation;
  int log_level;
  int closed; /* close() called (JavaScript thread only) */
} consumer_t;

typedef struct {
  napi_async_work work;
  napi_ref done;
  napi_ref self; /* keeps the handle (and so `c`) alive while the job runs */
  consumer_t *c;
  int timeout_ms;
  rd_kafka_resp_err_t err;
  int out_of_memory;
  /* consume */
  int max;
  int generation;
  size_t n;
  char *data;
  size_t bytes;
  double *meta;
  /* commit */
  char *topic;
  int32_t partition;
  int64_t offset;
} job_t;

/*
 * Runs inside consume (a worker thread) or close. The generation moves before the new assignment
 * starts fetching, so every message consume returns after it carries the new generation.
 */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
  consumer_t *c = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  int assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  int generation = atomic_fetch_add(&c->generation, 1) + 1;
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t failed = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cooperative)
    error = assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts);
  else
    failed = rd_kafka_assign(rk, assign ? parts : NULL);
  const char *why = error ? rd_kafka_error_string(error) : failed ? rd_kafka_err2str(failed) : NULL;
  glue_emit(c->events, EV_REBALANCE, generation, assign ? parts->cnt : 0, why, NULL);
  if (error) rd_kafka_error_destroy(error);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  consumer_t *c = opaque;
  int fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  char why[512];
  reason = glue_error_reason(rk, &err, reason, why, sizeof(why));
  glue_emit(c->events, EV_ERROR, err, fatal, reason, NULL);
}

/* Called from librdkafka's own threads. */
static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *line) {
  consumer_t *c = rd_kafka_opaque(rk);
  if (c && level <= c->log_level) glue_emit(c->events, EV_LOG, level, 0, line, facility);
}

static void consumer_finalize(napi_env env, void *data, void *hint) {
  consumer_t *c = data;
  /* An open consumer dropped without close() stays in its group; only a closed one (or one that
   * never started) is freed. */
  if (c->closed) free(c);
}

static consumer_t *consumer_of(napi_env env, napi_value v) {
  consumer_t *c = external_of(env, v, &CONSUMER_TAG, "not a consumer");
  if (!c) return NULL;
  if (c->closed) {
    napi_throw_error(env, NULL, "consumer is closed");
    return NULL;
  }
  return c;
}

/* createConsumer(config, onEvent) */
static napi_value create_consumer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int log_level;
  rd_kafka_conf_t *conf = glue_conf(env, argv[0], &log_level);
  if (!conf) return NULL;
  consumer_t *c = calloc(1, sizeof(*c));
  if (!c) {
    rd_kafka_conf_destroy(conf);
    throw_out_of_memory(env, "createConsumer");
    return NULL;
  }
  /* The handle first: from here on a failure marks c closed, and the handle's finalizer frees it. */
  napi_value handle;
  if (tagged_external(env, c, consumer_finalize, &CONSUMER_TAG, &handle) != napi_ok) {
    rd_kafka_conf_destroy(conf);
    if (handle) c->closed = 1;
    else free(c);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot make the consumer's handle");
    return NULL;
  }
  c->log_level = log_level;
  rd_kafka_conf_set_opaque(conf, c);
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_log_cb(conf, on_log);
  if (glue_events(env, argv[1], "boxscope-rdkafka-consumer-events", &c->events) != napi_ok) {
    rd_kafka_conf_destroy(conf);
    c->closed = 1;
    napi_throw_error(env, NULL, "cannot create the event callback");
    return NULL;
  }
  char errstr[512];
  c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (!c->rk) {
    rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only when it succeeds */
    napi_release_threadsafe_function(c->events, napi_tsfn_abort);
    c->closed = 1;
    napi_throw_error(env, NULL, errstr);
    return NULL;
  }
  /* Error events come through consume's polling, like the messages (nothing else polls). */
  rd_kafka_poll_set_consumer(c->rk);
  return handle;
}

/* subscribe(consumer, topic) */
static napi_value subscribe(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c = consumer_of(env, argv[0]);
  if (!c) return NULL;
  __do_free char *topic = NULL;
  int e = string_value_dup(env, argv[1], &topic);
  if (e == ENOMEM) {
    throw_out_of_memory(env, "subscribe");
    return NULL;
  }
  if (e) {
    napi_throw_type_error(env, NULL, "subscribe: topic must be a string");
    return NULL;
  }
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) napi_throw_error(env, NULL, rd_kafka_err2str(err));
  return NULL;
}

/* generation(consumer) */
static napi_value generation(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c = consumer_of(env, argv[0]);
  if (!c) return NULL;
  CHECK(env, napi_create_int32(env, atomic_load(&c->generation), &out));
  return out;
}

/* A job that is not queued (or whose work is done): its references and memory go. */
static void job_free(napi_env env, job_t *job) {
  if (job->done) napi_delete_reference(env, job->done);
  if (job->self) napi_delete_reference(env, job->self);
  free(job->topic);
  free(job->data);
  free(job->meta);
  free(job);
}

static job_t *job_new(napi_env env, napi_value self, napi_value done) {
  consumer_t *c = consumer_of(env, self);
  if (!c) return NULL;
  job_t *job = calloc(1, sizeof(*job));
  if (!job) {
    throw_out_of_memory(env, "consumer job");
    return NULL;
  }
  job->c = c;
  if (napi_create_reference(env, done, 1, &job->done) != napi_ok ||
      napi_create_reference(env, self, 1, &job->self) != napi_ok) {
    job_free(env, job);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot reference the consumer job's arguments");
    return NULL;
  }
  return job;
}

/* Queues job; false with an error thrown and the job freed. */
static bool job_queue(napi_env env, job_t *job, const char *name, napi_async_execute_callback execute,
                      napi_async_complete_callback complete) {
  if (queue_work(env, name, execute, complete, job, &job->work)) return true;
  job_free(env, job);
  return false;
}

static void job_finish(napi_env env, job_t *job, size_t argc, napi_value *argv) {
  napi_value done, undef;
  napi_get_reference_value(env, job->done, &done);
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, done, argc, argv, NULL);
  napi_delete_async_work(env, job->work);
  job_free(env, job);
}

static napi_value error_or_null(napi_env env, rd_kafka_resp_err_t err) {
  return glue_string_or_null(env, err ? rd_kafka_err2str(err) : NULL);
}

/* Copies the messages into job->data and job->meta (on the worker thread) and frees them. */
static void pack(job_t *job, rd_kafka_message_t **msgs, size_t n) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) bytes += msgs[i]->key_len + (msgs[i]->payload ? msgs[i]->len : 0);
  job->data = malloc(bytes ? bytes : 1);
  job->meta = malloc((n ? n : 1) * META_FIELDS * sizeof(double));
  if (!job->data || !job->meta) {
    job->out_of_memory = 1;
    return;
  }
  char *at = job->data;
  int32_t marked = -1;
  int64_t low = 0, high = 0;
  for (size_t i = 0; i < n; i++) {
    rd_kafka_message_t *m = msgs[i];
    double *meta = job->meta + i * META_FIELDS;
    /* Cached by librdkafka from its last fetch response: no request. */
    if (m->partition != marked) {
      marked = m->partition;
      rd_kafka_get_watermark_offsets(job->c->rk, rd_kafka_topic_name(m->rkt), m->partition, &low, &high);
    }
    meta[0] = m->partition;
    meta[1] = (double)m->offset;
    meta[2] = m->key ? (double)m->key_len : -1;
    meta[3] = m->payload ? (double)m->len : -1;
    meta[4] = (double)high;
    if (m->key) memcpy(at, m->key, m->key_len), at += m->key_len;
    if (m->payload) memcpy(at, m->payload, m->len), at += m->len;
  }
  job->n = n;
  job->bytes = at - job->data;
}

static void consume_execute(napi_env env, void *data) {
  job_t *job = data;
  consumer_t *c = job->c;
  rd_kafka_message_t **msgs = malloc((size_t)job->max * sizeof(*msgs));
  if (!msgs) {
    job->out_of_memory = 1;
    return;
  }
  size_t n = 0;
  int generation = atomic_load(&c->generation);
  /* Bounded even when librdkafka reports error events back to back. */
  for (int polls = 0; (int)n < job->max && polls < 2 * job->max; polls++) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, n == 0 ? job->timeout_ms : 0);
    int now = atomic_load(&c->generation);
    if (now != generation) {
      /* A rebalance was served inside that poll: what came before belongs to the old assignment
       * and is fetched again from the committed offsets by whoever owns the partition now. */
      for (size_t i = 0; i < n; i++) rd_kafka_message_destroy(msgs[i]);
      n = 0;
      generation = now;
    }
    if (!m) break;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        glue_emit(c->events, EV_ERROR, m->err, 0, rd_kafka_message_errstr(m), NULL);
      rd_kafka_message_destroy(m);
      continue;
    }
    msgs[n++] = m;
  }
  job->generation = generation;
  pack(job, msgs, n);
  for (size_t i = 0; i < n; i++) rd_kafka_message_destroy(msgs[i]);
  free(msgs);
}

static void free_block(napi_env env, void *data, void *hint) { free(data); }

/* The consumed batch as (null, generation, data, meta); false when there is no memory for it. */
static bool batch_values(napi_env env, job_t *job, napi_value *argv) {
  if (job->out_of_memory || napi_get_null(env, &argv[0]) != napi_ok ||
      napi_create_int32(env, job->generation, &argv[1]) != napi_ok)
    return false;
  /* The blocks are handed over to JavaScript, which frees them when collected. */
  if (napi_create_external_buffer(env, job->bytes, job->data, free_block, NULL, &argv[2]) == napi_ok)
    job->data = NULL;
  else if (napi_create_buffer_copy(env, job->bytes, job->data, NULL, &argv[2]) != napi_ok)
    return false;
  napi_value meta_ab;
  size_t meta_bytes = job->n * META_FIELDS * sizeof(double);
  if (napi_create_external_arraybuffer(env, job->meta, meta_bytes, free_block, NULL, &meta_ab) == napi_ok) {
    job->meta = NULL;
  } else {
    void *copy = NULL;
    if (napi_create_arraybuffer(env, meta_bytes, &copy, &meta_ab) != napi_ok) return false;
    if (meta_bytes) memcpy(copy, job->meta, meta_bytes);
  }
  return napi_create_typedarray(env, napi_float64_array, job->n * META_FIELDS, meta_ab, 0, &argv[3]) == napi_ok;
}

static void consume_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value argv[4];
  if (!batch_values(env, job, argv)) {
    napi_create_string_utf8(env, "consume: out of memory", NAPI_AUTO_LENGTH, &argv[0]);
    napi_get_null(env, &argv[1]);
    napi_get_null(env, &argv[2]);
    napi_get_null(env, &argv[3]);
  }
  job_finish(env, job, 4, argv);
}

/* consume(consumer, maxMessages, timeoutMs, done) */
static napi_value consume(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *job = job_new(env, argv[0], argv[3]);
  if (!job) return NULL;
  napi_get_value_int32(env, argv[1], &job->max);
  napi_get_value_int32(env, argv[2], &job->timeout_ms);
  if (job->max < 1) job->max = 1;
  job_queue(env, job, "boxscope-rdkafka-consume", consume_execute, consume_complete);
  return NULL;
}

static void commit_execute(napi_env env, void *data) {
  job_t *job = data;
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, job->topic, job->partition)->offset = job->offset;
  /* Synchronous on this worker thread: the broker's answer decides. */
  job->err = rd_kafka_commit(job->c->rk, list, 0);
  if (!job->err) job->err = list->elems[0].err;
  rd_kafka_topic_partition_list_destroy(list);
}

static void err_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value argv[1] = {error_or_null(env, job->err)};
  job_finish(env, job, 1, argv);
}

/* commit(consumer, topic, partition, nextOffset, done) */
static napi_value commit(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double offset = -1;
  int32_t partition = -1;
  __do_free char *topic = NULL;
  int e = string_value_dup(env, argv[1], &topic);
  napi_get_value_int32(env, argv[2], &partition);
  napi_get_value_double(env, argv[3], &offset);
  if (e == ENOMEM) {
    throw_out_of_memory(env, "commit");
    return NULL;
  }
  if (e || partition < 0 || offset < 0) {
    napi_throw_type_error(env, NULL, "commit: expected a topic, a partition and an offset, none negative");
    return NULL;
  }
  job_t *job = job_new(env, argv[0], argv[4]);
  if (!job) return NULL;
  job->topic = move_ptr(topic);
  job->partition = partition;
  job->offset = (int64_t)offset;
  job_queue(env, job, "boxscope-rdkafka-commit", commit_execute, err_complete);
  return NULL;
}

static void metadata_execute(napi_env env, void *data) {
  job_t *job = data;
  const struct rd_kafka_metadata *md = NULL;
  job->err = rd_kafka_metadata(job->c->rk, 0, NULL, &md, job->timeout_ms);
  if (md) rd_kafka_metadata_destroy(md);
}

/* metadata(consumer, timeoutMs, done) */
static napi_value metadata(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *job = job_new(env, argv[0], argv[2]);
  if (!job) return NULL;
  napi_get_value_int32(env, argv[1], &job->timeout_ms);
  job_queue(env, job, "boxscope-rdkafka-consumer-metadata", metadata_execute, err_complete);
  return NULL;
}

static void close_execute(napi_env env, void *data) {
  job_t *job = data;
  /* Leaves the group (the revocation is served here) and ends librdkafka's threads. */
  job->err = rd_kafka_consumer_close(job->c->rk);
  rd_kafka_destroy(job->c->rk);
  job->c->rk = NULL;
}

static void close_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  /* Events already queued (the revocation) are still delivered. */
  napi_release_threadsafe_function(job->c->events, napi_tsfn_release);
  err_complete(env, status, data);
}

/* close(consumer, done) */
static napi_value close_consumer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *job = job_new(env, argv[0], argv[1]);
  if (!job) return NULL;
  consumer_t *c = job->c;
  c->closed = 1;
  if (!job_queue(env, job, "boxscope-rdkafka-consumer-close", close_execute, close_complete)) c->closed = 0;
  return NULL;
}

napi_value consumer_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createConsumer", NULL, create_consumer, NULL, NULL, NULL, napi_default, NULL},
      {"subscribe", NULL, subscribe, NULL, NULL, NULL, napi_default, NULL},
      {"consume", NULL, consume, NULL, NULL, NULL, napi_default, NULL},
      {"generation", NULL, generation, NULL, NULL, NULL, napi_default, NULL},
      {"commit", NULL, commit, NULL, NULL, NULL, napi_default, NULL},
      {"consumerMetadata", NULL, metadata, NULL, NULL, NULL, napi_default, NULL},
      {"closeConsumer", NULL, close_consumer, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
