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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fdstore.h"
#include "fs.h"
#include "handover.h"
#include "napi-util.h"
#include "rebind.h"

/* The kind of the handles mount, takeOver and takeStored return (napi-util.h). */
static const napi_type_tag MOUNT_TAG = {0x5a133ef91025009fULL, 0x61e6b76c3f79149aULL};

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

/* A mount that never started: nothing but the JavaScript thread refers to it. */
static void mount_free(mount_t *m) {
  for (int i = 0; i < m->nfiles; i++) free(m->files[i]);
  free(m->files);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
define_cleanup_function(mount_t *, mount_free);

/* A string or Buffer as content, or a negative errno number as *err. */
static content_t *content_from_bytes(napi_env env, napi_value v, int *err) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return NULL;
  bool is_buffer = false;
  if (t == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
    content_t *c = content_new(NULL, len + 1);
    if (!c) {
      *err = ENOMEM;
      return NULL;
    }
    size_t written = 0;
    if (napi_get_value_string_utf8(env, v, c->data, len + 1, &written) != napi_ok) {
      content_unref(c);
      return NULL;
    }
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
    content_t *c = content_new(data, len);
    if (!c) *err = ENOMEM;
    return c;
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
    bool args = napi_get_undefined(env, &recv) == napi_ok && napi_create_int32(env, jc->view, &argv[0]) == napi_ok &&
                napi_create_int32(env, (int32_t)jc->pid, &argv[1]) == napi_ok &&
                napi_create_uint32(env, (uint32_t)jc->uid, &argv[2]) == napi_ok &&
                napi_create_uint32(env, (uint32_t)jc->gid, &argv[3]) == napi_ok &&
                napi_create_string_utf8(env, jc->key, jc->key_len, &argv[4]) == napi_ok;
    napi_status s = args ? napi_call_function(env, recv, js_cb, 5, argv, &result) : napi_generic_failure;
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
  if (napi_get_undefined(env, &recv) != napi_ok || napi_create_int32(env, (int32_t)(intptr_t)data, &argv[0]) != napi_ok)
    return;
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

/* *out = a malloc'd copy of v's string, or of "" when v is not a string: 0, or ENOMEM. */
static int string_or_empty(napi_env env, napi_value v, char **out) {
  if (string_value_dup(env, v, out) == EINVAL) *out = strdup("");
  return *out ? 0 : ENOMEM;
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

/*
 * The start failed before any loop ran: nothing ever called the tsfns or queued a call to them, and
 * their callbacks never read their context, so m goes with them.
 */
static void pending_abort(pending_t *p) {
  napi_release_threadsafe_function(p->m->render_tsfn, napi_tsfn_abort);
  napi_release_threadsafe_function(p->m->exit_tsfn, napi_tsfn_abort);
  pending_free_strings(p);
  mount_free(p->m);
  p->m = NULL;
}

/* *out = a malloc'd copy of the string property `name`, NULL when it is not a string: 0 or ENOMEM. */
static int optional_string_prop(napi_env env, napi_value obj, const char *name, char **out) {
  return string_value_dup(env, get_prop(env, obj, name), out) == ENOMEM ? ENOMEM : 0;
}

/* Both thread-safe functions of m, from the render and onExit callbacks; false with an error thrown. */
static bool make_tsfns(napi_env env, mount_t *m, napi_value render, napi_value on_exit) {
  napi_value name;
  napi_status s = napi_create_string_utf8(env, "boxscope.render", NAPI_AUTO_LENGTH, &name);
  if (s == napi_ok)
    s = napi_create_threadsafe_function(env, render, NULL, name, 0, 1, NULL, NULL, m, call_render, &m->render_tsfn);
  if (s != napi_ok) {
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot create the render/exit functions (are they functions?)");
    return false;
  }
  s = napi_create_string_utf8(env, "boxscope.exit", NAPI_AUTO_LENGTH, &name);
  if (s == napi_ok)
    s = napi_create_threadsafe_function(env, on_exit, NULL, name, 0, 1, NULL, NULL, m, call_exit, &m->exit_tsfn);
  if (s != napi_ok) {
    napi_release_threadsafe_function(m->render_tsfn, napi_tsfn_abort);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot create the render/exit functions (are they functions?)");
    return false;
  }
  /* Only the render function keeps Node alive while mounted; the exit one must not. */
  napi_unref_threadsafe_function(env, m->exit_tsfn);
  return true;
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
  call_cleaner(mount_free) mount_t *m = calloc(1, sizeof(*m));
  if (!m) {
    throw_out_of_memory(env, what);
    return false;
  }
  pthread_mutex_init(&m->lock, NULL);
  __do_free char *mountpoint = NULL;
  __do_free char *extra = NULL;
  __do_free char *socket = NULL;
  int mountpoint_err = string_value_dup(env, get_prop(env, argv[0], "mountpoint"), &mountpoint);
  if (mountpoint_err == ENOMEM || optional_string_prop(env, argv[0], "mountOptions", &extra) != 0 ||
      optional_string_prop(env, argv[0], "handoverSocket", &socket) != 0) {
    throw_out_of_memory(env, what);
    return false;
  }
  napi_value files = get_prop(env, argv[0], "files");
  uint32_t nfiles = 0;
  if (mountpoint_err != 0 || !files || napi_get_array_length(env, files, &nfiles) != napi_ok || nfiles == 0) {
    char msg[128];
    snprintf(msg, sizeof(msg), "%s: options need a mountpoint string and a non-empty files array", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  m->files = calloc(nfiles, sizeof(char *));
  if (!m->files) {
    throw_out_of_memory(env, what);
    return false;
  }
  m->nfiles = (int)nfiles;
  for (uint32_t i = 0; i < nfiles; i++) {
    napi_value f = NULL;
    /* A file that is not a string becomes "", which the mount refuses naming it. */
    if (napi_get_element(env, files, i, &f) != napi_ok) f = NULL;
    if (string_or_empty(env, f, &m->files[i]) != 0) {
      throw_out_of_memory(env, what);
      return false;
    }
  }
  if (!make_tsfns(env, m, argv[1], argv[2])) return false;
  m->alive = 1;
  p->m = move_ptr(m);
  p->mountpoint = move_ptr(mountpoint);
  p->extra = move_ptr(extra);
  p->socket = move_ptr(socket);
  p->cfg = (boxfs_config_t){
      .mountpoint = p->mountpoint,
      .files = (const char *const *)p->m->files,
      .nfiles = p->m->nfiles,
      .cache_ttl_ns = (uint64_t)(number_prop(env, argv[0], "cacheTtlMs", 0) * 1e6),
      .max_threads = (int)number_prop(env, argv[0], "maxThreads", 1),
      .spin_ns = (uint64_t)(number_prop(env, argv[0], "spinUs", 0) * 1e3),
      .extra_options = p->extra,
      .handover_socket = p->socket,
      .render = render_via_js,
      .on_exit = on_loop_exit,
      .ctx = p->m,
  };
  if (p->cfg.max_threads < 1) p->cfg.max_threads = 1;
  return true;
}

/* The mount is running: its handle for JavaScript (NULL with an error thrown: the mount then ends,
 * as nobody could stop it). */
static napi_value pending_started(napi_env env, pending_t *p, boxfs_t *fs) {
  p->m->fs = fs;
  pending_free_strings(p);
  /* Registered after the tsfns so it runs before their own teardown (hooks run in reverse). */
  napi_add_env_cleanup_hook(env, env_cleanup, p->m);
  napi_value handle;
  if (tagged_external(env, p->m, NULL, &MOUNT_TAG, &handle) != napi_ok) {
    boxfs_stop(fs);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot make the mount's handle");
    return NULL;
  }
  return handle;
}

static napi_status set_string(napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value v;
  napi_status status = napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return status == napi_ok ? napi_set_named_property(env, obj, name, v) : status;
}

static napi_status set_number(napi_env env, napi_value obj, const char *name, double d) {
  napi_value v;
  napi_status status = napi_create_double(env, d, &v);
  return status == napi_ok ? napi_set_named_property(env, obj, name, v) : status;
}

/* An object for a result, or NULL with an error thrown after aborting p. */
static napi_value result_object(napi_env env, pending_t *p) {
  napi_value out;
  if (napi_create_object(env, &out) == napi_ok) return out;
  pending_abort(p);
  napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot create the result object");
  return NULL;
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

/* { handle, handoverMs, listenError?, dropError? } of a daemon that adopted a live connection, into
 * out (NULL with an error thrown: the mount then ends). */
static napi_value adopted_result(napi_env env, pending_t *p, boxfs_t *fs, napi_value out, const char *drop_error) {
  const char *listen_error = boxfs_listen_error(fs);
  double handover_ms = (double)boxfs_handover_ns(fs) / 1e6;
  napi_value handle = pending_started(env, p, fs);
  if (!handle) return NULL;
  napi_status s = napi_set_named_property(env, out, "handle", handle);
  if (s == napi_ok) s = set_number(env, out, "handoverMs", handover_ms);
  if (s == napi_ok && listen_error) s = set_string(env, out, "listenError", listen_error);
  if (s == napi_ok && drop_error) s = set_string(env, out, "dropError", drop_error);
  if (s != napi_ok) {
    boxfs_stop(fs);
    napi_throw_error(env, BXS_NATIVE_NAPI_FAILED, "napi: cannot build the result of the handover");
    return NULL;
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
  napi_value out = result_object(env, &p);
  if (!out) return NULL;
  char err[1024] = "";
  int outcome = 0;
  boxfs_t *fs = boxfs_take_over(&p.cfg, &outcome, err, sizeof(err));
  if (!fs) {
    pending_abort(&p);
    if (outcome == HANDOVER_REFUSED) {
      napi_throw_error(env, "EHANDOVER", err);
      return NULL;
    }
    CHECK(env, set_string(env, out, "fallback", outcome == HANDOVER_GONE ? err : ""));
    return out;
  }
  return adopted_result(env, &p, fs, out, NULL);
}

static mount_t *handle_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) argv[0] = NULL;
  return external_of(env, argv[0], &MOUNT_TAG, "expected a mount handle");
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  mount_t *m = handle_arg(env, info);
  if (m) boxfs_stop(m->fs);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  mount_t *m = handle_arg(env, info);
  if (!m) return NULL;
  boxfs_stats_t s;
  boxfs_stats(m->fs, &s);
  napi_value obj;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, set_number(env, obj, "opens", (double)s.opens));
  CHECK(env, set_number(env, obj, "cacheHits", (double)s.cache_hits));
  CHECK(env, set_number(env, obj, "renders", (double)s.renders));
  CHECK(env, set_number(env, obj, "renderErrors", (double)s.render_errors));
  return obj;
}

/* detach(path) → 0 or an errno number (lazy unmount, for a stale mountpoint left by a dead daemon) */
static napi_value js_detach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  __do_free char *path = NULL;
  int e = string_value_dup(env, argv[0], &path);
  if (e == ENOMEM) {
    throw_out_of_memory(env, "detach");
    return NULL;
  }
  if (e) {
    napi_throw_type_error(env, NULL, "detach(path) needs a path string");
    return NULL;
  }
  napi_value out;
  CHECK(env, napi_create_int32(env, boxfs_detach(path), &out));
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

/* Frees w and what it holds (as far as it was filled). */
static void rebind_work_free(rebind_work_t *w) {
  for (int i = 0; i < w->n; i++) {
    free(w->sources[i]);
    free(w->targets[i]);
  }
  free(w->sources);
  free(w->targets);
  free(w->stale);
  free(w->results);
  free(w);
}
define_cleanup_function(rebind_work_t *, rebind_work_free);

/* On a libuv pool thread: the JavaScript thread stays free to answer FUSE requests meanwhile. */
static void rebind_execute(napi_env env, void *data) {
  rebind_work_t *w = data;
  w->err = rebind_in_namespace(w->pid, w->n, (const char *const *)w->sources, (const char *const *)w->targets,
                               w->stale, w->results);
}

static void rebind_complete(napi_env env, napi_status status, void *data) {
  rebind_work_t *w = data;
  napi_value out;
  int err = w->err;
  if (!err && napi_create_array_with_length(env, (size_t)w->n, &out) != napi_ok) err = ENOMEM;
  for (int i = 0; !err && i < w->n; i++) {
    napi_value v;
    if (napi_create_int32(env, w->results[i], &v) != napi_ok || napi_set_element(env, out, (uint32_t)i, v) != napi_ok)
      err = ENOMEM;
  }
  if (!err) {
    napi_resolve_deferred(env, w->deferred, out);
  } else {
    napi_create_int32(env, err, &out);
    napi_reject_deferred(env, w->deferred, out);
  }
  napi_delete_async_work(env, w->work);
  rebind_work_free(w);
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
  call_cleaner(rebind_work_free) rebind_work_t *w = calloc(1, sizeof(*w));
  if (!w) {
    throw_out_of_memory(env, "rebind");
    return NULL;
  }
  w->pid = pid;
  w->sources = calloc(n, sizeof(char *));
  w->targets = calloc(n, sizeof(char *));
  w->stale = calloc(n, sizeof(int));
  w->results = calloc(n, sizeof(int));
  if (!w->sources || !w->targets || !w->stale || !w->results) {
    throw_out_of_memory(env, "rebind");
    return NULL;
  }
  w->n = (int)n;
  for (uint32_t i = 0; i < n; i++) {
    /* A source or target that is not a string becomes "", which the rebind reports as ENOENT. */
    napi_value source = NULL, target = NULL, stale = NULL;
    if (napi_get_element(env, argv[1], i, &source) != napi_ok) source = NULL;
    if (napi_get_element(env, argv[2], i, &target) != napi_ok) target = NULL;
    if (napi_get_element(env, argv[3], i, &stale) == napi_ok) napi_get_value_int32(env, stale, &w->stale[i]);
    if (string_or_empty(env, source, &w->sources[i]) != 0 || string_or_empty(env, target, &w->targets[i]) != 0) {
      throw_out_of_memory(env, "rebind");
      return NULL;
    }
  }
  napi_value promise;
  CHECK(env, napi_create_promise(env, &w->deferred, &promise));
  if (!queue_work(env, "boxscope.rebind", rebind_execute, rebind_complete, w, &w->work)) return NULL;
  w = NULL; /* rebind_complete frees it */
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
  __do_free char *notify_socket = NULL;
  int e = string_value_dup(env, argv[4], &notify_socket);
  if (e == ENOMEM) {
    throw_out_of_memory(env, "takeStored");
    return NULL;
  }
  if (e) {
    napi_throw_type_error(env, NULL, "takeStored: notifySocket must be a string");
    return NULL;
  }
  pending_t p;
  if (!pending_init(env, info, "takeStored", &p)) return NULL;
  napi_value out = result_object(env, &p);
  if (!out) return NULL;
  char err[1024] = "";
  boxfs_t *fs = boxfs_adopt_stored(&p.cfg, fds, (int)nfds, err, sizeof(err));
  int dropped = fdstore_drop(notify_socket);
  if (!fs) {
    pending_abort(&p);
    CHECK(env, set_string(env, out, "fallback", err[0] ? err : "the stored connection could not be adopted"));
    return out;
  }
  return adopted_result(env, &p, fs, out, dropped ? strerror(dropped) : NULL);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  boxfs_t *fs;
  char *notify_socket;
  int err;
  char msg[1024];
} store_work_t;

static void store_work_free(store_work_t *w) {
  free(w->notify_socket);
  free(w);
}
define_cleanup_function(store_work_t *, store_work_free);

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
  store_work_free(w);
}

/* store(handle, notifySocket) → Promise<null | string>: null once systemd holds the connection (the
 * loop then ends with HANDED_OVER); else why not, and serving goes on. */
static napi_value js_store(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  mount_t *m = external_of(env, argv[0], &MOUNT_TAG, "store(handle, notifySocket): expected a mount handle");
  if (!m) return NULL;
  call_cleaner(store_work_free) store_work_t *w = calloc(1, sizeof(*w));
  if (!w) {
    throw_out_of_memory(env, "store");
    return NULL;
  }
  w->fs = m->fs;
  int e = string_value_dup(env, argv[1], &w->notify_socket);
  if (e == ENOMEM) {
    throw_out_of_memory(env, "store");
    return NULL;
  }
  if (e) {
    napi_throw_type_error(env, NULL, "store: notifySocket must be a string");
    return NULL;
  }
  napi_value promise;
  CHECK(env, napi_create_promise(env, &w->deferred, &promise));
  if (!queue_work(env, "boxscope.store", store_execute, store_complete, w, &w->work)) return NULL;
  w = NULL; /* store_complete frees it */
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
