/*
 * The shipper's Kafka producer: librdkafka bound with Node-API, made for batches.
 *
 * Why not a general-purpose binding's per-message produce() (node-rdkafka's, for one): it spends
 * JavaScript-thread time on every message (argument checks, a C++ call and a Buffer per message)
 * and each delivery report becomes a JavaScript object and callback. The
 * shipper already holds a batch as one buffer of back-to-back values, so here one call hands the
 * whole batch over; an enqueuer thread passes it to rd_kafka_produce_batch (batches in send
 * order), the delivery reports are counted per batch on a poller thread, and JavaScript hears once
 * per batch, when the brokers answered for every message of it.
 *
 * JavaScript API (pipeline/kafka/native-producer.ts wraps it):
 *   create(config: Record<string, string>, onEvent) -> producer
 *   produce(producer, topic, data: Buffer, ends: Uint32Array, keys: Buffer[], keyEnds: Uint32Array,
 *           batchId: number)   data and keys must stay referenced until that batch is reported:
 *           the enqueuer thread reads them after produce() has returned
 *   metadata(producer, topic | null, timeoutMs, done(error | null, topicExists))
 *   createTopic(producer, topic, partitions, timeoutMs, done(error | null, code)): code is
 *           librdkafka's error code (0 created; RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS when it was)
 *   close(producer, flushTimeoutMs)
 *   raiseFatalError(producer, reason)  librdkafka's own test hook: the producer fails as an
 *           idempotent producer does when the cluster can no longer vouch for its sequence
 *   onEvent(kind, a, b, text, facility):
 *     kind 0, batch done:  a = batchId, b = messages failed, text = first error (null if none)
 *     kind 1, log line:    a = syslog level, text = message, facility
 *     kind 2, error:       a = librdkafka error code, b = 1 when fatal, text = reason
 *     kind 3, closed:      the last event; every batch was reported before it
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdkafka-glue.h"

/* The kind of the handles create() returns (napi-util.h). */
static const napi_type_tag PRODUCER_TAG = {0xd42d631ee0cd09feULL, 0x76132510fa9ae9aeULL};

/* One produce() call: its messages' delivery reports are counted down here. */
typedef struct {
  /* Messages not reported yet, plus one hold while produce() is still enqueueing. */
  atomic_int remaining;
  atomic_int failed;
  atomic_int first_error; /* rd_kafka_resp_err_t of the first failure, 0 while none */
  double id;
} batch_t;

typedef struct topic_ref {
  char *name;
  rd_kafka_topic_t *rkt;
  struct topic_ref *next;
} topic_ref_t;

/* A batch read off JavaScript, waiting for the enqueuer thread. */
typedef struct send {
  rd_kafka_topic_t *rkt;
  rd_kafka_message_t *msgs;
  int n;
  batch_t *batch;
  struct send *next;
} send_t;

typedef struct {
  rd_kafka_t *rk;
  napi_threadsafe_function events;
  pthread_t poller;
  atomic_int stop_polling;
  int closed; /* close() called (JavaScript thread only) */
  topic_ref_t *topics;
  int log_level;
  /* The enqueuer thread's FIFO: batches go to librdkafka in the order JavaScript sent them. */
  pthread_t enqueuer;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  send_t *head, *tail;
  int stop_enqueuing; /* guarded by lock */
} producer_t;

typedef struct {
  napi_async_work work;
  napi_ref done;
  napi_ref producer; /* keeps the handle (and so `p`) alive while the job runs */
  producer_t *p;
  int timeout_ms;
  rd_kafka_resp_err_t err;
  rd_kafka_topic_t *topic; /* metadata: the topic asked about, or NULL for brokers only */
  int topic_exists;
  char *new_topic; /* createTopic: the topic to create (malloc'd) */
  int partitions;
  char reason[512]; /* createTopic: the broker's or librdkafka's words for err */
} job_t;

static void emit(producer_t *p, int kind, double a, int b, const char *text, const char *facility) {
  glue_emit(p->events, kind, a, b, text, facility);
}

static void batch_settle(producer_t *p, batch_t *b) {
  int failed = atomic_load(&b->failed);
  int err = atomic_load(&b->first_error);
  emit(p, EV_DONE, b->id, failed, failed ? rd_kafka_err2str((rd_kafka_resp_err_t)err) : NULL, NULL);
  free(b);
}

static void batch_fail(batch_t *b, rd_kafka_resp_err_t err) {
  atomic_fetch_add(&b->failed, 1);
  int none = 0;
  atomic_compare_exchange_strong(&b->first_error, &none, (int)err);
}

/* Runs on the poller thread (or the closing worker), once per message. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  producer_t *p = opaque;
  batch_t *b = m->_private;
  if (!b) return;
  if (m->err) batch_fail(b, m->err);
  if (atomic_fetch_sub(&b->remaining, 1) == 1) batch_settle(p, b);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  producer_t *p = opaque;
  int fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  char why[512];
  reason = glue_error_reason(rk, &err, reason, why, sizeof(why));
  emit(p, EV_ERROR, err, fatal, reason, NULL);
}

/* Called from librdkafka's own threads. */
static void on_log(const rd_kafka_t *rk, int level, const char *facility, const char *line) {
  producer_t *p = rd_kafka_opaque(rk);
  if (p && level <= p->log_level) emit(p, EV_LOG, level, 0, line, facility);
}

static void *poll_loop(void *arg) {
  producer_t *p = arg;
  while (!atomic_load(&p->stop_polling)) rd_kafka_poll(p->rk, 100);
  return NULL;
}

/* Hands one batch to librdkafka (values and keys copied) and settles what it refused. */
static void enqueue(producer_t *p, send_t *job) {
  batch_t *b = job->batch;
  int n = job->n;
  int queued = rd_kafka_produce_batch(job->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_PARTITION,
                                      job->msgs, n);
  int refused = 0;
  for (int i = 0; i < n; i++) {
    if (job->msgs[i].err) {
      batch_fail(b, job->msgs[i].err);
      refused++;
    }
  }
  if (queued < 0) queued = 0;
  /* Messages neither queued nor marked (should not happen) are refused too. */
  for (int i = n - queued - refused; i > 0; i--) batch_fail(b, RD_KAFKA_RESP_ERR__FAIL);
  /* Drops the hold, and the count of what never entered the queue. */
  if (atomic_fetch_sub(&b->remaining, n - queued + 1) == n - queued + 1) batch_settle(p, b);
  free(job->msgs);
  free(job);
}

/*
 * Why a thread of its own: librdkafka's enqueueing (an allocation and a copy per message, the
 * partitioner, queue locks) costs time per message that, on the JavaScript thread, the
 * shipper cannot spend reading and encoding.
 */
static void *enqueue_loop(void *arg) {
  producer_t *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->head && !p->stop_enqueuing) pthread_cond_wait(&p->wake, &p->lock);
    send_t *job = p->head;
    if (!job) break; /* stopping, and everything sent was enqueued */
    p->head = job->next;
    if (!p->head) p->tail = NULL;
    pthread_mutex_unlock(&p->lock);
    enqueue(p, job);
    pthread_mutex_lock(&p->lock);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static void producer_finalize(napi_env env, void *data, void *hint) {
  producer_t *p = data;
  /* An open producer dropped without close() keeps running (like any connected client); only a
   * closed one (or one that never started) is freed here. */
  if (p->closed) free(p);
}

static producer_t *producer_of(napi_env env, napi_value v) {
  producer_t *p = external_of(env, v, &PRODUCER_TAG, "not a producer");
  if (!p) return NULL;
  if (p->closed) {
    napi_throw_error(env, NULL, "producer is closed");
    return NULL;
  }
  return p;
}

/* create(config, onEvent) */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char errstr[512];
  int log_level;
  rd_kafka_conf_t *conf = glue_conf(env, argv[0], &log_level);
  if (!conf) return NULL;
  producer_t *p = calloc(1, sizeof(*p));
  if (!p) {
    rd_kafka_conf_destroy(conf);
    throw_out_of_memory(env, "create");
    return NULL;
  }
  /* The handle first: from here on a failure marks p closed, and the handle's finalizer frees it. */
  napi_value handle;
  if (tagged_external(env, p, producer_finalize, &PRODUCER_TAG, &handle) != napi_ok) {
    rd_kafka_conf_destroy(conf);
    if (handle) p->closed = 1;
    else free(p);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot make the producer's handle");
    return NULL;
  }
  p->log_level = log_level;
  rd_kafka_conf_set_opaque(conf, p);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  rd_kafka_conf_set_log_cb(conf, on_log);

  if (glue_events(env, argv[1], "boxscope-rdkafka-events", &p->events) != napi_ok) {
    rd_kafka_conf_destroy(conf);
    p->closed = 1;
    napi_throw_error(env, NULL, "cannot create the event callback");
    return NULL;
  }
  /* The producer must exist before librdkafka's threads log through the event callback. */
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!p->rk) {
    rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only when it succeeds */
    napi_release_threadsafe_function(p->events, napi_tsfn_abort);
    p->closed = 1;
    napi_throw_error(env, NULL, errstr);
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  if (pthread_create(&p->poller, NULL, poll_loop, p) != 0) {
    rd_kafka_destroy(p->rk);
    napi_release_threadsafe_function(p->events, napi_tsfn_abort);
    p->closed = 1;
    napi_throw_error(env, NULL, "cannot start the delivery-report thread");
    return NULL;
  }
  if (pthread_create(&p->enqueuer, NULL, enqueue_loop, p) != 0) {
    atomic_store(&p->stop_polling, 1);
    pthread_join(p->poller, NULL);
    rd_kafka_destroy(p->rk);
    napi_release_threadsafe_function(p->events, napi_tsfn_abort);
    p->closed = 1;
    napi_throw_error(env, NULL, "cannot start the enqueuing thread");
    return NULL;
  }
  return handle;
}

static rd_kafka_topic_t *topic_of(producer_t *p, const char *name) {
  for (topic_ref_t *t = p->topics; t; t = t->next)
    if (strcmp(t->name, name) == 0) return t->rkt;
  topic_ref_t *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->rkt = rd_kafka_topic_new(p->rk, name, NULL);
  t->name = strdup(name);
  if (!t->rkt || !t->name) {
    if (t->rkt) rd_kafka_topic_destroy(t->rkt);
    free(t->name);
    free(t);
    return NULL;
  }
  t->next = p->topics;
  p->topics = t;
  return t->rkt;
}

/*
 * produce(producer, topic, data, ends, keys, keyEnds, batchId): value i is data[ends[i-1] ?? 0,
 * ends[i]); values [keyEnds[j-1] ?? 0, keyEnds[j]) have key keys[j] (Uint32Arrays both, so a batch
 * is read in a few calls). The batch goes to the enqueuer thread; librdkafka copies values and
 * keys there, and the caller keeps the buffers until the batch settles, which is after that.
 * Messages the local queue refuses count as failed: the batch then settles as failed once the
 * enqueued ones are reported, and the caller sends it again whole.
 */
static napi_value produce(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  producer_t *p = producer_of(env, argv[0]);
  if (!p) return NULL;
  char topic[256];
  size_t topic_len = 0;
  CHECK(env, napi_get_value_string_utf8(env, argv[1], topic, sizeof(topic), &topic_len));
  char *data = NULL;
  size_t data_len = 0;
  CHECK(env, napi_get_buffer_info(env, argv[2], (void **)&data, &data_len));
  napi_typedarray_type type, key_type;
  size_t n = 0, runs = 0, ab_off;
  uint32_t *ends = NULL, *key_ends = NULL, nkeys = 0;
  napi_value ab;
  double id = 0;
  if (napi_get_typedarray_info(env, argv[3], &type, &n, (void **)&ends, &ab, &ab_off) != napi_ok ||
      napi_get_typedarray_info(env, argv[5], &key_type, &runs, (void **)&key_ends, &ab, &ab_off) != napi_ok ||
      type != napi_uint32_array || key_type != napi_uint32_array ||
      napi_get_array_length(env, argv[4], &nkeys) != napi_ok || nkeys != runs ||
      napi_get_value_double(env, argv[6], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "produce: ends and keyEnds must be Uint32Arrays, keys one Buffer per run");
    return NULL;
  }
  rd_kafka_topic_t *rkt = topic_of(p, topic);
  if (!rkt) {
    napi_throw_error(env, NULL, "cannot create the topic handle");
    return NULL;
  }
  rd_kafka_message_t *msgs = n ? calloc(n, sizeof(*msgs)) : NULL;
  send_t *job = calloc(1, sizeof(*job));
  batch_t *b = calloc(1, sizeof(*b));
  if ((n && !msgs) || !job || !b) {
    free(msgs);
    free(job);
    free(b);
    throw_out_of_memory(env, "produce");
    return NULL;
  }
  size_t start = 0, i = 0;
  const char *bad = NULL;
  for (uint32_t r = 0; r < runs && !bad; r++) {
    napi_value key_v;
    void *key = NULL;
    size_t key_len = 0;
    if (napi_get_element(env, argv[4], r, &key_v) != napi_ok ||
        napi_get_buffer_info(env, key_v, &key, &key_len) != napi_ok) {
      bad = "keys must be Buffers";
      break;
    }
    if (key_ends[r] < i || key_ends[r] > n) {
      bad = "keyEnds must rise within the values";
      break;
    }
    for (; i < key_ends[r]; i++) {
      if (ends[i] < start || ends[i] > data_len) {
        bad = "ends must rise within data";
        break;
      }
      rd_kafka_message_t *m = &msgs[i];
      m->partition = RD_KAFKA_PARTITION_UA;
      m->payload = data + start;
      m->len = ends[i] - start;
      m->key = key;
      m->key_len = key_len;
      m->_private = b;
      start = ends[i];
    }
  }
  if (!bad && i != n) bad = "keyEnds must cover every value";
  if (bad) {
    free(msgs);
    free(job);
    free(b);
    napi_throw_range_error(env, NULL, bad);
    return NULL;
  }
  b->id = id;
  atomic_init(&b->remaining, (int)n + 1);
  job->rkt = rkt;
  job->msgs = msgs;
  job->n = (int)n;
  job->batch = b;
  pthread_mutex_lock(&p->lock);
  if (p->tail) p->tail->next = job;
  else p->head = job;
  p->tail = job;
  pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* A job that is not queued (or whose work is done): its references and memory go. */
static void job_free(napi_env env, job_t *job) {
  if (job->done) napi_delete_reference(env, job->done);
  if (job->producer) napi_delete_reference(env, job->producer);
  free(job->new_topic);
  free(job);
}

static void job_complete(napi_env env, napi_status status, void *data, size_t argc, napi_value *argv) {
  job_t *job = data;
  napi_value done, undef;
  napi_get_reference_value(env, job->done, &done);
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, done, argc, argv, NULL);
  napi_delete_async_work(env, job->work);
  job_free(env, job);
}

static job_t *job_new(napi_env env, napi_value producer, napi_value timeout, napi_value done) {
  producer_t *p = producer_of(env, producer);
  if (!p) return NULL;
  job_t *job = calloc(1, sizeof(*job));
  if (!job) {
    throw_out_of_memory(env, "producer job");
    return NULL;
  }
  job->p = p;
  napi_get_value_int32(env, timeout, &job->timeout_ms);
  if ((done && napi_create_reference(env, done, 1, &job->done) != napi_ok) ||
      napi_create_reference(env, producer, 1, &job->producer) != napi_ok) {
    job_free(env, job);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot reference the producer job's arguments");
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

static void metadata_execute(napi_env env, void *data) {
  job_t *job = data;
  const struct rd_kafka_metadata *md = NULL;
  /* One topic (does it exist?) or brokers only: enough to know the cluster answers. */
  job->err = rd_kafka_metadata(job->p->rk, 0, job->topic, &md, job->timeout_ms);
  if (md) {
    job->topic_exists = job->topic && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_metadata_destroy(md);
  }
}

static void metadata_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value argv[2];
  argv[0] = glue_string_or_null(env, job->err ? rd_kafka_err2str(job->err) : NULL);
  napi_get_boolean(env, job->topic_exists, &argv[1]);
  job_complete(env, status, data, 2, argv);
}

/* metadata(producer, topic | null, timeoutMs, done(error | null, topicExists)) */
static napi_value metadata(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *job = job_new(env, argv[0], argv[2], argv[3]);
  if (!job) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t == napi_string) {
    char topic[256];
    size_t len = 0;
    napi_get_value_string_utf8(env, argv[1], topic, sizeof(topic), &len);
    job->topic = topic_of(job->p, topic);
  }
  job_queue(env, job, "boxscope-rdkafka-metadata", metadata_execute, metadata_complete);
  return NULL;
}

static void create_topic_execute(napi_env env, void *data) {
  job_t *job = data;
  rd_kafka_t *rk = job->p->rk;
  /* Replication factor -1: the cluster's default.replication.factor, which is what an operator sets
   * for every topic of the cluster (and min.insync.replicas beside it). */
  rd_kafka_NewTopic_t *topic =
      rd_kafka_NewTopic_new(job->new_topic, job->partitions, -1, job->reason, sizeof(job->reason));
  rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  if (!topic || !options || !queue) {
    job->err = RD_KAFKA_RESP_ERR__INVALID_ARG;
    if (!job->reason[0]) snprintf(job->reason, sizeof(job->reason), "cannot build the CreateTopics request");
    goto done;
  }
  char errstr[256];
  /* The request waits for the controller to create it, so the topic is usable once this returns. */
  rd_kafka_AdminOptions_set_request_timeout(options, job->timeout_ms, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_operation_timeout(options, job->timeout_ms, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(queue, job->timeout_ms + 1000);
  if (!ev) {
    job->err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  } else if (rd_kafka_event_error(ev)) {
    job->err = rd_kafka_event_error(ev);
    snprintf(job->reason, sizeof(job->reason), "%s", rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t **results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    job->err = n == 1 ? rd_kafka_topic_result_error(results[0]) : RD_KAFKA_RESP_ERR__FAIL;
    const char *why = n == 1 ? rd_kafka_topic_result_error_string(results[0]) : NULL;
    if (why) snprintf(job->reason, sizeof(job->reason), "%s", why);
  }
  if (ev) rd_kafka_event_destroy(ev);
done:
  if (job->err && !job->reason[0]) snprintf(job->reason, sizeof(job->reason), "%s", rd_kafka_err2str(job->err));
  if (queue) rd_kafka_queue_destroy(queue);
  if (options) rd_kafka_AdminOptions_destroy(options);
  if (topic) rd_kafka_NewTopic_destroy(topic);
}

static void create_topic_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value argv[2];
  argv[0] = glue_string_or_null(env, job->err ? job->reason : NULL);
  napi_create_int32(env, job->err, &argv[1]);
  job_complete(env, status, data, 2, argv);
}

/* createTopic(producer, topic, partitions, timeoutMs, done(error | null, code)) */
static napi_value create_topic(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *job = job_new(env, argv[0], argv[3], argv[4]);
  if (!job) return NULL;
  int e = string_value_dup(env, argv[1], &job->new_topic);
  if (e || napi_get_value_int32(env, argv[2], &job->partitions) != napi_ok) {
    job_free(env, job);
    if (e == ENOMEM) throw_out_of_memory(env, "createTopic");
    else napi_throw_type_error(env, NULL, "createTopic: topic must be a string, partitions a number");
    return NULL;
  }
  job_queue(env, job, "boxscope-rdkafka-create-topic", create_topic_execute, create_topic_complete);
  return NULL;
}

static void close_execute(napi_env env, void *data) {
  job_t *job = data;
  producer_t *p = job->p;
  /* Everything sent before close() reaches librdkafka's queue first. */
  pthread_mutex_lock(&p->lock);
  p->stop_enqueuing = 1;
  pthread_cond_signal(&p->wake);
  pthread_mutex_unlock(&p->lock);
  pthread_join(p->enqueuer, NULL);
  rd_kafka_flush(p->rk, job->timeout_ms);
  atomic_store(&p->stop_polling, 1);
  rd_kafka_yield(p->rk); /* wakes the poller out of its 100 ms wait */
  pthread_join(p->poller, NULL);
  /* What is still queued or in flight is reported failed, so no batch is left unsettled. */
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(p->rk, 0);
  while (p->topics) {
    topic_ref_t *t = p->topics;
    p->topics = t->next;
    rd_kafka_topic_destroy(t->rkt);
    free(t->name);
    free(t);
  }
  rd_kafka_destroy(p->rk);
  p->rk = NULL;
  /* Through the same queue as the batch reports, so it reaches JavaScript after all of them. */
  emit(p, EV_CLOSED, 0, 0, NULL, NULL);
}

static void close_complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  producer_t *p = job->p;
  /* Events already queued (the last batch reports, then "closed") are still delivered. */
  napi_release_threadsafe_function(p->events, napi_tsfn_release);
  napi_delete_async_work(env, job->work);
  job_free(env, job);
}

/* close(producer, flushTimeoutMs): ends with the "closed" event */
static napi_value close_producer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *job = job_new(env, argv[0], argv[1], NULL);
  if (!job) return NULL;
  producer_t *p = job->p;
  p->closed = 1;
  if (!job_queue(env, job, "boxscope-rdkafka-close", close_execute, close_complete)) p->closed = 0;
  return NULL;
}

/* raiseFatalError(producer, reason): for tests of what a fatal error does to the shipper. */
static napi_value raise_fatal_error(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  producer_t *p = producer_of(env, argv[0]);
  if (!p) return NULL;
  char reason[256];
  size_t len = 0;
  CHECK(env, napi_get_value_string_utf8(env, argv[1], reason, sizeof(reason), &len));
  rd_kafka_test_fatal_error(p->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason);
  return NULL;
}

napi_value producer_exports(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_default, NULL},
      {"produce", NULL, produce, NULL, NULL, NULL, napi_default, NULL},
      {"metadata", NULL, metadata, NULL, NULL, NULL, napi_default, NULL},
      {"createTopic", NULL, create_topic, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_producer, NULL, NULL, NULL, napi_default, NULL},
      {"raiseFatalError", NULL, raise_fatal_error, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
