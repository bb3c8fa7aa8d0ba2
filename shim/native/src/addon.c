/*
 * Node-API glue. JavaScript calls mount(options, render, onExit). On a cache miss the FUSE loop
 * queues the request to `render(view, pid, uid, gid, callerKey)` through a thread-safe function and
 * goes on serving; the JavaScript thread renders for callerKey (never re-resolving the pid) and
 * answers the request itself (boxfs_complete). A JS exception or an unexpected
 * value becomes EIO for that request, never a crash.
 */
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "fdstore.h"
#include "fs.h"
#include "handover.h"
#include "rebind.h"

typedef struct {
  boxfs_t *fs;
  napi_threadsafe_function render_tsfn;
  napi_threadsafe_function exit_tsfn;
  pthread_mutex_t lock;
  int alive; /* JS side still accepts calls (guarded by lock) */
  char **files;
  int nfiles;
} mount_t;

typedef struct {
  boxfs_call_t *call;
  int view;
  pid_t pid;
  uid_t uid;
  gid_t gid;
  const char *key; /* the caller identity, owned by call */
  size_t key_len;
} js_call_t;

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error((env), NULL, "napi call failed: " #call); \
      return NULL;                                         \
    }                                                      \
  } while (0)

/* A string or Buffer as content, or a negative errno number as *err. */
static content_t *content_from_bytes(napi_env env, napi_value v, int *err) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return NULL;
  bool is_buffer = false;
  if (t == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
    content_t *c = content_new(NULL, len + 1);
    if (!c) return NULL;
    size_t written = 0;
    napi_get_value_string_utf8(env, v, c->data, len + 1, &written);
    c->len = written;
    return c;
  }
  if (t == napi_number) {
    int32_t n = 0;
    napi_get_value_int32(env, v, &n);
    *err = n < 0 ? -n : n;
    if (*err == 0) *err = EIO;
    return NULL;
  }
  if (napi_is_buffer(env, v, &is_buffer) == napi_ok && is_buffer) {
    void *data = NULL;
    size_t len = 0;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return NULL;
    return content_new(data, len);
  }
  return NULL;
}

/* The render callback's answer: bytes as content_from_bytes takes them, or { uncached: bytes } for
 * bytes that must not be cached (*cacheable is cleared). */
static content_t *content_from_value(napi_env env, napi_value v, int *err, bool *cacheable) {
  napi_valuetype t;
  bool is_buffer = false;
  if (napi_typeof(env, v, &t) != napi_ok) return NULL;
  if (t != napi_object || napi_is_buffer(env, v, &is_buffer) != napi_ok || is_buffer)
    return content_from_bytes(env, v, err);
  napi_value inner;
  bool has = false;
  if (napi_has_named_property(env, v, "uncached", &has) != napi_ok || !has) return NULL;
  if (napi_get_named_property(env, v, "uncached", &inner) != napi_ok) return NULL;
  *cacheable = false;
  return content_from_bytes(env, inner, err);
}

/* On the JS thread. env is NULL when Node tears the function down: answer EIO so no request waits. */
static void call_render(napi_env env, napi_value js_cb, void *context, void *data) {
  js_call_t *jc = data;
  boxfs_call_t *call = jc->call;
  int err = EIO;
  bool cacheable = true;
  content_t *c = NULL;
  if (env && js_cb) {
    napi_value argv[5], recv, result;
    napi_get_undefined(env, &recv);
    napi_create_int32(env, jc->view, &argv[0]);
    napi_create_int32(env, (int32_t)jc->pid, &argv[1]);
    napi_create_uint32(env, (uint32_t)jc->uid, &argv[2]);
    napi_create_uint32(env, (uint32_t)jc->gid, &argv[3]);
    napi_create_string_utf8(env, jc->key, jc->key_len, &argv[4]);
    napi_status s = napi_call_function(env, recv, js_cb, 5, argv, &result);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
    } else if (s == napi_ok) {
      c = content_from_value(env, result, &err, &cacheable);
    }
  }
  free(jc);
  boxfs_complete(call, c ? 0 : err, c, cacheable);
}

/* On the FUSE loop thread: queue and return at once. */
static int render_via_js(void *ctx, boxfs_call_t *call, int view, pid_t pid, uid_t uid, gid_t gid,
                         const char *key, size_t key_len) {
  mount_t *m = ctx;
  js_call_t *jc = malloc(sizeof(*jc));
  if (!jc) return ENOMEM;
  *jc = (js_call_t){
      .call = call, .view = view, .pid = pid, .uid = uid, .gid = gid, .key = key, .key_len = key_len};
  pthread_mutex_lock(&m->lock);
  napi_status s = m->alive ? napi_call_threadsafe_function(m->render_tsfn, jc, napi_tsfn_nonblocking)
                           : napi_closing;
  pthread_mutex_unlock(&m->lock);
  if (s != napi_ok) {
    free(jc);
    return EIO;
  }
  return 0;
}

static void call_exit(napi_env env, napi_value js_cb, void *context, void *data) {
  if (!env || !js_cb) return;
  napi_value argv[1], recv, result;
  napi_get_undefined(env, &recv);
  napi_create_int32(env, (int32_t)(intptr_t)data, &argv[0]);
  napi_call_function(env, recv, js_cb, 1, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
  }
}

/* On the loop thread, after the loop ended and every queued render was answered: no further calls. */
static void on_loop_exit(void *ctx, int code) {
  mount_t *m = ctx;
  pthread_mutex_lock(&m->lock);
  if (m->alive) {
    m->alive = 0;
    napi_call_threadsafe_function(m->exit_tsfn, (void *)(intptr_t)code, napi_tsfn_nonblocking);
    napi_release_threadsafe_function(m->exit_tsfn, napi_tsfn_release);
    napi_release_threadsafe_function(m->render_tsfn, napi_tsfn_release);
  }
  pthread_mutex_unlock(&m->lock);
}

/* Node is shutting down (process exit without stop): stop handing requests to JS. */
static void env_cleanup(void *arg) {
  mount_t *m = arg;
  pthread_mutex_lock(&m->lock);
  m->alive = 0;
  pthread_mutex_unlock(&m->lock);
  if (m->fs) boxfs_stop(m->fs);
}

static char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value get_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v = NULL;
  napi_get_named_property(env, obj, name, &v);
  return v;
}

static double number_prop(napi_env env, napi_value obj, const char *name, double dflt) {
  napi_value v = get_prop(env, obj, name);
  double d;
  if (v && napi_get_value_double(env, v, &d) == napi_ok) return d;
  return dflt;
}

/* A mount being set up: the options read, the thread-safe functions made; not started yet. */
typedef struct {
  mount_t *m;
  char *mountpoint;
  char *extra;
  char *socket;
  boxfs_config_t cfg;
} pending_t;

static void pending_free_strings(pending_t *p) {
  free(p->mountpoint);
  free(p->extra);
  free(p->socket);
}

/* The start failed: no call ever reaches the tsfns. */
static void pending_abort(pending_t *p) {
  p->m->alive = 0;
  napi_release_threadsafe_function(p->m->render_tsfn, napi_tsfn_abort);
  napi_release_threadsafe_function(p->m->exit_tsfn, napi_tsfn_abort);
  pending_free_strings(p);
  /* m leaks a few bytes on this one-off failure path: the tsfns may still refer to it */
}

static char *optional_string_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v = get_prop(env, obj, name);
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  return t == napi_string ? string_arg(env, v) : NULL;
}

/* Reads (options, render, onExit); false with a JS exception thrown on bad arguments. */
static bool pending_init(napi_env env, napi_callback_info info, const char *what, pending_t *p) {
  size_t argc = 3;
  napi_value argv[3];
  memset(p, 0, sizeof(*p));
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    char msg[128];
    snprintf(msg, sizeof(msg), "%s(options, render, onExit) needs three arguments", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  mount_t *m = calloc(1, sizeof(*m));
  if (!m) {
    napi_throw_error(env, NULL, "out of memory");
    return false;
  }
  pthread_mutex_init(&m->lock, NULL);
  p->mountpoint = string_arg(env, get_prop(env, argv[0], "mountpoint"));
  p->extra = optional_string_prop(env, argv[0], "mountOptions");
  p->socket = optional_string_prop(env, argv[0], "handoverSocket");
  napi_value files = get_prop(env, argv[0], "files");
  uint32_t nfiles = 0;
  if (!p->mountpoint || !files || napi_get_array_length(env, files, &nfiles) != napi_ok || nfiles == 0) {
    pending_free_strings(p);
    free(m);
    char msg[128];
    snprintf(msg, sizeof(msg), "%s: options need a mountpoint string and a non-empty files array", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  m->files = calloc(nfiles, sizeof(char *));
  if (!m->files) {
    pending_free_strings(p);
    free(m);
    napi_throw_error(env, NULL, "out of memory");
    return false;
  }
  m->nfiles = (int)nfiles;
  for (uint32_t i = 0; i < nfiles; i++) {
    napi_value f;
    napi_get_element(env, files, i, &f);
    m->files[i] = string_arg(env, f);
    if (!m->files[i]) m->files[i] = strdup("");
  }
  napi_value name;
  napi_create_string_utf8(env, "boxscope.render", NAPI_AUTO_LENGTH, &name);
  napi_status s1 = napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, m, call_render,
                                                   &m->render_tsfn);
  napi_create_string_utf8(env, "boxscope.exit", NAPI_AUTO_LENGTH, &name);
  napi_status s2 = s1 == napi_ok ? napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, m,
                                                                   call_exit, &m->exit_tsfn)
                                 : s1;
  if (s1 != napi_ok || s2 != napi_ok) {
    pending_free_strings(p);
    napi_throw_error(env, NULL, "napi: cannot create the render/exit functions (are they functions?)");
    return false; /* m leaks on this programming error */
  }
  /* Only the render function keeps Node alive while mounted; the exit one must not. */
  napi_unref_threadsafe_function(env, m->exit_tsfn);
  m->alive = 1;
  p->m = m;
  p->cfg = (boxfs_config_t){
      .mountpoint = p->mountpoint,
      .files = (const char *const *)m->files,
      .nfiles = m->nfiles,
      .cache_ttl_ns = (uint64_t)(number_prop(env, argv[0], "cacheTtlMs", 0) * 1e6),
      .max_threads = (int)number_prop(env, argv[0], "maxThreads", 1),
      .spin_ns = (uint64_t)(number_prop(env, argv[0], "spinUs", 0) * 1e3),
      .extra_options = p->extra,
      .handover_socket = p->socket,
      .render = render_via_js,
      .on_exit = on_loop_exit,
      .ctx = m,
  };
  if (p->cfg.max_threads < 1) p->cfg.max_threads = 1;
  return true;
}

/* The mount is running: its handle for JavaScript. */
static napi_value pending_started(napi_env env, pending_t *p, boxfs_t *fs) {
  p->m->fs = fs;
  pending_free_strings(p);
  /* Registered after the tsfns so it runs before their own teardown (hooks run in reverse). */
  napi_add_env_cleanup_hook(env, env_cleanup, p->m);
  napi_value handle;
  CHECK(env, napi_create_external(env, p->m, NULL, NULL, &handle));
  return handle;
}

/* mount({ mountpoint, files, cacheTtlMs, maxThreads, mountOptions, handoverSocket }, render, onExit) → handle */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  pending_t p;
  if (!pending_init(env, info, "mount", &p)) return NULL;
  char err[512] = "";
  boxfs_t *fs = boxfs_start(&p.cfg, err, sizeof(err));
  if (!fs) {
    pending_abort(&p);
    napi_throw_error(env, "EMOUNT", err);
    return NULL;
  }
  return pending_started(env, &p, fs);
}

/* { handle, handoverMs, listenError? } of a daemon that adopted a live connection, into out. */
static napi_value adopted_result(napi_env env, pending_t *p, boxfs_t *fs, napi_value out) {
  napi_value v;
  const char *listen_error = boxfs_listen_error(fs);
  double handover_ms = (double)boxfs_handover_ns(fs) / 1e6;
  napi_value handle = pending_started(env, p, fs);
  if (!handle) return NULL;
  napi_set_named_property(env, out, "handle", handle);
  napi_create_double(env, handover_ms, &v);
  napi_set_named_property(env, out, "handoverMs", v);
  if (listen_error) {
    napi_create_string_utf8(env, listen_error, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, out, "listenError", v);
  }
  return out;
}

/*
 * takeOver(options as for mount, render, onExit) → { handle, handoverMs, listenError? } when the daemon on
 * options.handoverSocket handed its connection over; { fallback } when nobody listens there
 * (fallback "") or it went away mid-way (fallback says how): mount as usual then. Throws EHANDOVER
 * when the running daemon refused (it serves on).
 */
static napi_value js_take_over(napi_env env, napi_callback_info info) {
  pending_t p;
  if (!pending_init(env, info, "takeOver", &p)) return NULL;
  if (!p.socket || !*p.socket) {
    pending_abort(&p);
    napi_throw_type_error(env, NULL, "takeOver: options need a handoverSocket path");
    return NULL;
  }
  char err[1024] = "";
  int outcome = 0;
  boxfs_t *fs = boxfs_take_over(&p.cfg, &outcome, err, sizeof(err));
  napi_value out, v;
  CHECK(env, napi_create_object(env, &out));
  if (!fs) {
    pending_abort(&p);
    if (outcome == HANDOVER_REFUSED) {
      napi_throw_error(env, "EHANDOVER", err);
      return NULL;
    }
    napi_create_string_utf8(env, outcome == HANDOVER_GONE ? err : "", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, out, "fallback", v);
    return out;
  }
  return adopted_result(env, &p, fs, out);
}

static mount_t *handle_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "expected a mount handle");
    return NULL;
  }
  return p;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  mount_t *m = handle_arg(env, info);
  if (m) boxfs_stop(m->fs);
  return NULL;
}

static void set_u64(napi_env env, napi_value obj, const char *name, uint64_t v) {
  napi_value n;
  napi_create_double(env, (double)v, &n);
  napi_set_named_property(env, obj, name, n);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  mount_t *m = handle_arg(env, info);
  if (!m) return NULL;
  boxfs_stats_t s;
  boxfs_stats(m->fs, &s);
  napi_value obj;
  napi_create_object(env, &obj);
  set_u64(env, obj, "opens", s.opens);
  set_u64(env, obj, "cacheHits", s.cache_hits);
  set_u64(env, obj, "renders", s.renders);
  set_u64(env, obj, "renderErrors", s.render_errors);
  return obj;
}

/* detach(path) → 0 or an errno number (lazy unmount, for a stale mountpoint left by a dead daemon) */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *path = argc ? string_arg(env, argv[0]) : NULL;
  if (!path) {
    napi_throw_type_error(env, NULL, "detach(path) needs a path string");
    return NULL;
  }
  int rc = boxfs_detach(path);
  free(path);
  napi_value out;
  napi_create_int32(env, rc, &out);
  return out;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  pid_t pid;
  int n;
  char **sources;
  char **targets;
  int *stale;
  int *results;
  int err;
} rebind_work_t;

/* On a libuv pool thread: the JavaScript thread stays free to answer FUSE requests meanwhile. */
static void rebind_execute(napi_env env, void *data) {
  rebind_work_t *w = data;
  w->err = rebind_in_namespace(w->pid, w->n, (const char *const *)w->sources, (const char *const *)w->targets,
                               w->stale, w->results);
}

static void rebind_complete(napi_env env, napi_status status, void *data) {
  rebind_work_t *w = data;
  napi_value out;
  if (w->err) {
    napi_create_int32(env, w->err, &out);
    napi_reject_deferred(env, w->deferred, out);
  } else {
    napi_create_array_with_length(env, (size_t)w->n, &out);
    for (int i = 0; i < w->n; i++) {
      napi_value v;
      napi_create_int32(env, w->results[i], &v);
      napi_set_element(env, out, (uint32_t)i, v);
    }
    napi_resolve_deferred(env, w->deferred, out);
  }
  for (int i = 0; i < w->n; i++) {
    free(w->sources[i]);
    free(w->targets[i]);
  }
  free(w->sources);
  free(w->targets);
  free(w->stale);
  free(w->results);
  napi_delete_async_work(env, w->work);
  free(w);
}

/* rebind(pid, sources[], targets[], staleCounts[]) → Promise<errno[]> (rejects with an errno) */
static napi_value js_rebind(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t pid = 0;
  uint32_t n = 0, n2 = 0, n3 = 0;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &pid) != napi_ok ||
      napi_get_array_length(env, argv[1], &n) != napi_ok || napi_get_array_length(env, argv[2], &n2) != napi_ok ||
      napi_get_array_length(env, argv[3], &n3) != napi_ok || n != n2 || n != n3 || n == 0) {
    napi_throw_type_error(env, NULL, "rebind(pid, sources, targets, staleCounts): arrays of one length");
    return NULL;
  }
  rebind_work_t *w = calloc(1, sizeof(*w));
  w->pid = pid;
  w->n = (int)n;
  w->sources = calloc(n, sizeof(char *));
  w->targets = calloc(n, sizeof(char *));
  w->stale = calloc(n, sizeof(int));
  w->results = calloc(n, sizeof(int));
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    w->sources[i] = string_arg(env, v);
    napi_get_element(env, argv[2], i, &v);
    w->targets[i] = string_arg(env, v);
    napi_get_element(env, argv[3], i, &v);
    napi_get_value_int32(env, v, &w->stale[i]);
    if (!w->sources[i]) w->sources[i] = strdup("");
    if (!w->targets[i]) w->targets[i] = strdup("");
  }
  napi_value promise, name;
  CHECK(env, napi_create_promise(env, &w->deferred, &promise));
  napi_create_string_utf8(env, "boxscope.rebind", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_create_async_work(env, NULL, name, rebind_execute, rebind_complete, w, &w->work));
  CHECK(env, napi_queue_async_work(env, w->work));
  return promise;
}

/*
 * takeStored(options as for mount, render, onExit, fds, notifySocket) → { handle, handoverMs,
 * listenError?, dropError? } when fds (those systemd passed back under FDSTORE_NAME) are a live
 * connection of options.mountpoint and its state; { fallback } saying why not (every fd is closed
 * then): mount as usual. Either way the stored copies are dropped from systemd's store.
 */
static napi_value js_take_stored(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t nfds = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      napi_get_array_length(env, argv[3], &nfds) != napi_ok || nfds == 0 || nfds > 8) {
    napi_throw_type_error(env, NULL, "takeStored(options, render, onExit, fds, notifySocket): 1 to 8 fds");
    return NULL;
  }
  int fds[8];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || napi_get_value_int32(env, v, &fds[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "takeStored: fds must be numbers");
      return NULL;
    }
  }
  char *notify_socket = string_arg(env, argv[4]);
  if (!notify_socket) {
    napi_throw_type_error(env, NULL, "takeStored: notifySocket must be a string");
    return NULL;
  }
  pending_t p;
  if (!pending_init(env, info, "takeStored", &p)) {
    free(notify_socket);
    return NULL;
  }
  char err[1024] = "";
  boxfs_t *fs = boxfs_adopt_stored(&p.cfg, fds, (int)nfds, err, sizeof(err));
  int dropped = fdstore_drop(notify_socket);
  free(notify_socket);
  napi_value out, v;
  CHECK(env, napi_create_object(env, &out));
  if (!fs) {
    pending_abort(&p);
    napi_create_string_utf8(env, err[0] ? err : "the stored connection could not be adopted", NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, out, "fallback", v);
    return out;
  }
  if (dropped) {
    napi_create_string_utf8(env, strerror(dropped), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, out, "dropError", v);
  }
  return adopted_result(env, &p, fs, out);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  boxfs_t *fs;
  char *notify_socket;
  int err;
  char msg[1024];
} store_work_t;

/* On a libuv pool thread: the drain waits for renders that the JavaScript thread answers. */
static void store_execute(napi_env env, void *data) {
  store_work_t *w = data;
  w->err = boxfs_store(w->fs, w->notify_socket, w->msg, sizeof(w->msg));
}

static void store_complete(napi_env env, napi_status status, void *data) {
  store_work_t *w = data;
  napi_value out;
  if (w->err) napi_create_string_utf8(env, w->msg[0] ? w->msg : strerror(w->err), NAPI_AUTO_LENGTH, &out);
  else napi_get_null(env, &out);
  napi_resolve_deferred(env, w->deferred, out);
  napi_delete_async_work(env, w->work);
  free(w->notify_socket);
  free(w);
}

/* store(handle, notifySocket) → Promise<null | string>: null once systemd holds the connection (the
 * loop then ends with HANDED_OVER); else why not, and serving goes on. */
static napi_value js_store(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *m = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_external(env, argv[0], &m) != napi_ok || !m) {
    napi_throw_type_error(env, NULL, "store(handle, notifySocket)");
    return NULL;
  }
  store_work_t *w = calloc(1, sizeof(*w));
  if (!w) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  w->fs = ((mount_t *)m)->fs;
  w->notify_socket = string_arg(env, argv[1]);
  if (!w->notify_socket) {
    free(w);
    napi_throw_type_error(env, NULL, "store: notifySocket must be a string");
    return NULL;
  }
  napi_value promise, name;
  CHECK(env, napi_create_promise(env, &w->deferred, &promise));
  napi_create_string_utf8(env, "boxscope.store", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_create_async_work(env, NULL, name, store_execute, store_complete, w, &w->work));
  CHECK(env, napi_queue_async_work(env, w->work));
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"takeOver", NULL, js_take_over, NULL, NULL, NULL, napi_default, NULL},
      {"takeStored", NULL, js_take_stored, NULL, NULL, NULL, napi_default, NULL},
      {"store", NULL, js_store, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"detach", NULL, js_detach, NULL, NULL, NULL, napi_default, NULL},
      {"rebind", NULL, js_rebind, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
