/* test-http-login.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <sys/socket.h>

#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "core/rfl-signing-key.h"
#include "service/rfl-login-throttle.h"
#include "service/rfl-service-http.h"
#include "service/rfl-service.h"
#include "store/rfl-audit-log.h"
#include "store/rfl-auth-store.h"
#include "store/rfl-database.h"

/* POST /api/v1/auth/login: throttling of failures per client address and
 * per account, and the password check off the service thread. */

#define PASSWORD_A  "a long password for ann"
#define WINDOW_US   ((gint64) RFL_LOGIN_THROTTLE_WINDOW_S * G_USEC_PER_SEC)

typedef struct
{
  RflDatabase      *db;          /* the test's own connection */
  RflSigningKey    *key;
  RflService       *service;
  RflLoginThrottle *throttle;    /* installed in the server */
  SoupSession      *session;     /* from 127.0.0.1 */
  char             *url;
  gint64            tenant;
  gint64            user;
  gint64            now;         /* the throttle's clock, µs; under lock */

  /* The gate that holds password checks while closed. */
  GMutex            lock;
  GCond             cond;
  gboolean          gate_closed;
  guint             n_waiting;   /* checks held at the gate */
} Fixture;

typedef struct
{
  guint     status;
  char     *body;
  JsonNode *json;
  char     *retry_after;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->body, g_free);
  g_clear_pointer (&response->json, json_node_unref);
  g_clear_pointer (&response->retry_after, g_free);
  response->status = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

/* Runs on the service thread. */
static gint64
clock_cb (gpointer user_data)
{
  Fixture *f = user_data;
  gint64 now;

  g_mutex_lock (&f->lock);
  now = f->now;
  g_mutex_unlock (&f->lock);

  return now;
}

static void
advance_clock (Fixture *f,
               gint64   us)
{
  g_mutex_lock (&f->lock);
  f->now += us;
  g_mutex_unlock (&f->lock);
}

/* Runs on the worker that checks a password. */
static void
gate_cb (gpointer user_data)
{
  Fixture *f = user_data;

  g_mutex_lock (&f->lock);
  f->n_waiting++;
  g_cond_broadcast (&f->cond);
  while (f->gate_closed)
    g_cond_wait (&f->cond, &f->lock);
  f->n_waiting--;
  g_mutex_unlock (&f->lock);
}

static void
close_gate (Fixture *f)
{
  g_mutex_lock (&f->lock);
  f->gate_closed = TRUE;
  g_mutex_unlock (&f->lock);
}

static void
open_gate (Fixture *f)
{
  g_mutex_lock (&f->lock);
  f->gate_closed = FALSE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);
}

/* Blocks until a password check waits at the gate. */
static void
wait_at_gate (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_mutex_lock (&f->lock);
  while (f->n_waiting == 0)
    g_assert_true (g_cond_wait_until (&f->cond, &f->lock, deadline));
  g_mutex_unlock (&f->lock);
}

/* On the service thread, before the server listens. */
static void
setup_cb (RflServer *server,
          gpointer   user_data)
{
  Fixture *f = user_data;

  rfl_login_throttle_install (server, f->throttle);
}

static SoupSession *
session_new (const char *address)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (inet, 0);
  SoupSession *session;

  /* A service thread blocked by a password check fails the test rather
   * than hanging it. */
  session = g_object_new (SOUP_TYPE_SESSION, "local-address", local, "timeout", 20, NULL);
  soup_session_set_proxy_resolver (session, NULL);
  return session;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "reflection",
                                            "reflection.db", NULL);
  g_autoptr(GError) error = NULL;

  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->now = 1000 * G_USEC_PER_SEC;

  f->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  f->key = rfl_signing_key_new_random ();
  f->tenant = rfl_database_create_tenant (f->db, "Alpha", "business", &error);
  g_assert_no_error (error);
  f->user = rfl_database_create_user (f->db, f->tenant, "ann@example.org", "Ann",
                                      PASSWORD_A, RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);
  rfl_database_create_user (f->db, f->tenant, "bob@example.org", "Bob",
                            "bob's long password", RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);

  f->throttle = rfl_login_throttle_new (RFL_LOGIN_THROTTLE_MAX_FAILURES,
                                        RFL_LOGIN_THROTTLE_WINDOW_S);
  rfl_login_throttle_set_clock (f->throttle, clock_cb, f);
  rfl_login_throttle_set_verify_func (f->throttle, gate_cb, f);

  f->service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_service_start_http (f->service, "127.0.0.1", 0, f->key,
                                         setup_cb, f, &error));
  g_assert_no_error (error);
  f->url = rfl_service_dup_http_url (f->service);
  f->session = session_new ("127.0.0.1");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  open_gate (f);
  rfl_service_stop_http (f->service);
  g_clear_object (&f->session);
  g_clear_object (&f->service);
  g_clear_pointer (&f->throttle, rfl_login_throttle_unref);
  g_clear_pointer (&f->key, rfl_signing_key_unref);
  g_clear_object (&f->db);
  g_clear_pointer (&f->url, g_free);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
}

static void
request (SoupSession *session,
         const char  *url,
         const char  *method,
         const char  *path,
         const char  *body,
         Response    *response)
{
  g_autofree char *uri = g_strconcat (url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char *content_type;

  response_clear (response);
  if (body != NULL)
    {
      g_autoptr(GBytes) request_body = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", request_body);
    }
  bytes = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);

  response->status = soup_message_get_status (msg);
  response->body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  response->retry_after = g_strdup (soup_message_headers_get_one (
    soup_message_get_response_headers (msg), "Retry-After"));
  content_type = soup_message_headers_get_content_type (
    soup_message_get_response_headers (msg), NULL);
  if (g_strcmp0 (content_type, "application/json") == 0)
    {
      response->json = json_from_string (response->body, &error);
      g_assert_no_error (error);
    }
}

static void
login (Fixture     *f,
       SoupSession *session,
       const char  *email,
       const char  *password,
       Response    *response)
{
  g_autofree char *body = g_strdup_printf ("{\"email\": \"%s\", \"password\": \"%s\"}",
                                           email, password);

  request (session, f->url, "POST", "/api/v1/auth/login", body, response);
}

static const char *
error_member (Response   *response,
              const char *member)
{
  JsonObject *error;

  g_assert_nonnull (response->json);
  error = json_object_get_object_member (json_node_get_object (response->json), "error");
  g_assert_nonnull (error);
  return json_object_get_string_member (error, member);
}

static guint
count_audit (Fixture    *f,
             const char *action)
{
  g_autoptr(RflAuditLog) log = rfl_audit_log_new (f->db);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  RflAuditFilter filter = { 0 };

  filter.action = action;
  entries = rfl_audit_log_list (log, &filter, &error);
  g_assert_no_error (error);
  return entries->len;
}

static guint64
login_rejections (Fixture *f)
{
  g_auto(Response) response = { 0 };
  const char *line;

  request (f->session, f->url, "GET", "/metrics", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  line = strstr (response.body, "reflection_rate_limit_rejections_total{limit=\"login\"} ");
  if (line == NULL)
    return 0;
  return g_ascii_strtoull (strchr (line, '}') + 2, NULL, 10);
}

static void
test_wrong_password (Fixture       *f,
                     gconstpointer  data)
{
  g_auto(Response) response = { 0 };

  login (f, f->session, "ann@example.org", "not the password", &response);
  g_assert_cmpuint (response.status, ==, 401);
  g_assert_cmpstr (error_member (&response, "code"), ==, "unauthorized");
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_FAILED_LOGIN), ==, 1);

  login (f, f->session, "ann@example.org", PASSWORD_A, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_nonnull (json_object_get_string_member (json_node_get_object (response.json),
                                                   "access_token"));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (response.json),
                                               "user_id"), ==, f->user);
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_LOGIN), ==, 1);
}

/* Five failures lock the account out: 429 with Retry-After, without even
 * checking the password, audited once, counted in /metrics; the window
 * passing lets the right password in. */
static void
test_lockout (Fixture       *f,
              gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  const char *message;

  for (guint i = 0; i < RFL_LOGIN_THROTTLE_MAX_FAILURES; i++)
    {
      login (f, f->session, "ann@example.org", "guess", &response);
      g_assert_cmpuint (response.status, ==, 401);
      g_assert_null (response.retry_after);
      advance_clock (f, 10 * G_USEC_PER_SEC);
    }
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_LOGIN_LOCKED), ==, 1);
  g_assert_cmpuint (login_rejections (f), ==, 0);

  /* Even the right password is refused now, before it is checked: the
   * gate would hold a check. */
  close_gate (f);
  login (f, f->session, "ANN@example.org", PASSWORD_A, &response);
  g_assert_cmpuint (response.status, ==, 429);
  g_assert_cmpstr (error_member (&response, "code"), ==, "quota_exceeded");
  message = error_member (&response, "message");
  g_assert_nonnull (strstr (message, "account"));
  g_assert_nonnull (strstr (message, "5"));
  g_assert_nonnull (strstr (message, "15"));
  /* The first failure was 50 s ago. */
  g_assert_cmpstr (response.retry_after, ==, "850");
  login (f, f->session, "ann@example.org", "guess", &response);
  g_assert_cmpuint (response.status, ==, 429);
  open_gate (f);

  /* Audited once; each refusal counted. */
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_LOGIN_LOCKED), ==, 1);
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_FAILED_LOGIN), ==,
                    RFL_LOGIN_THROTTLE_MAX_FAILURES);
  g_assert_cmpuint (login_rejections (f), ==, 2);

  /* After the window. */
  advance_clock (f, WINDOW_US);
  login (f, f->session, "ann@example.org", PASSWORD_A, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_LOGIN), ==, 1);
}

/* Per account, from many addresses; per address, over many accounts. A
 * success forgets the account's failures. */
static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autoptr(SoupSession) other = session_new ("127.0.0.9");
  g_autoptr(SoupSession) third = session_new ("127.0.0.10");

  /* Four failures of Ann's, then her success, then four more: no lockout,
   * each from its own address. */
  for (guint i = 0; i < 2 * (RFL_LOGIN_THROTTLE_MAX_FAILURES - 1); i++)
    {
      g_autofree char *address = g_strdup_printf ("127.0.1.%u", i + 1);
      g_autoptr(SoupSession) session = session_new (address);

      login (f, session, "ann@example.org", "guess", &response);
      g_assert_cmpuint (response.status, ==, 401);
      if (i == RFL_LOGIN_THROTTLE_MAX_FAILURES - 2)
        {
          login (f, f->session, "ann@example.org", PASSWORD_A, &response);
          g_assert_cmpuint (response.status, ==, 200);
        }
    }
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_LOGIN_LOCKED), ==, 0);

  /* The fifth since the success locks her account for every address. */
  login (f, other, "ann@example.org", "guess", &response);
  g_assert_cmpuint (response.status, ==, 401);
  login (f, third, "ann@example.org", PASSWORD_A, &response);
  g_assert_cmpuint (response.status, ==, 429);
  g_assert_nonnull (strstr (error_member (&response, "message"), "account"));
  g_assert_nonnull (response.retry_after);
  login (f, third, "bob@example.org", "bob's long password", &response);
  g_assert_cmpuint (response.status, ==, 200);

  /* One address failing on five accounts (Ann's and four others) is
   * locked out for all. */
  for (guint i = 0; i < RFL_LOGIN_THROTTLE_MAX_FAILURES - 1; i++)
    {
      g_autofree char *email = g_strdup_printf ("nobody%u@example.org", i);

      login (f, other, email, "guess", &response);
      g_assert_cmpuint (response.status, ==, 401);
    }
  login (f, other, "bob@example.org", "bob's long password", &response);
  g_assert_cmpuint (response.status, ==, 429);
  g_assert_nonnull (strstr (error_member (&response, "message"), "address"));
  login (f, third, "bob@example.org", "bob's long password", &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpuint (count_audit (f, RFL_AUDIT_LOGIN_LOCKED), ==, 2);
}

typedef struct
{
  Fixture  *f;
  guint     status;
  gboolean  done;    /* atomic */
} LoginThread;

static gpointer
login_worker (gpointer data)
{
  LoginThread *call = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(SoupSession) session = NULL;
  g_auto(Response) response = { 0 };

  g_main_context_push_thread_default (context);
  session = session_new ("127.0.0.1");
  login (call->f, session, "ann@example.org", PASSWORD_A, &response);
  call->status = response.status;
  g_atomic_int_set (&call->done, TRUE);
  g_clear_object (&session);
  g_main_context_pop_thread_default (context);

  return NULL;
}

/* While a password is being checked, the service answers others: the
 * check is held at the gate until /healthz has answered. */
static void
test_healthz_while_verifying (Fixture       *f,
                              gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  LoginThread call = { f, 0, FALSE };
  GThread *thread;

  close_gate (f);
  thread = g_thread_new ("login", login_worker, &call);
  wait_at_gate (f);

  request (f->session, f->url, "GET", "/healthz", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  /* Other sign-ins are not blocked either: a refused one answers. */
  request (f->session, f->url, "POST", "/api/v1/auth/login", "{\"email\": 1}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_false (g_atomic_int_get (&call.done));

  open_gate (f);
  g_thread_join (thread);
  g_assert_true (call.done);
  g_assert_cmpuint (call.status, ==, 200);
}

/* A client that leaves while its password is checked. */
static void
test_client_gone (Fixture       *f,
                  gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GUri) uri = g_uri_parse (f->url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *body = "{\"email\": \"ann@example.org\", \"password\": \"guess\"}";

  g_socket_client_set_enable_proxy (client, FALSE);
  close_gate (f);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", g_uri_get_port (uri),
                                                NULL, &error);
  g_assert_no_error (error);
  text = g_strdup_printf ("POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                          strlen (body), body);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);
  wait_at_gate (f);
  /* Gone for certain: a reset, so that the answer cannot be written. */
  {
    struct linger reset = { 1, 0 };

    g_assert_cmpint (setsockopt (g_socket_get_fd (g_socket_connection_get_socket (connection)),
                                 SOL_SOCKET, SO_LINGER, &reset, sizeof reset), ==, 0);
  }
  g_io_stream_close (G_IO_STREAM (connection), NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&connection);

  open_gate (f);
  /* The service goes on. */
  login (f, f->session, "ann@example.org", PASSWORD_A, &response);
  g_assert_cmpuint (response.status, ==, 200);
  request (f->session, f->url, "GET", "/healthz", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);

  /* The request that lost its client is counted as 499, not as an
   * answer that was never sent: once the server has noticed. */
  for (guint tries = 0; ; tries++)
    {
      request (f->session, f->url, "GET", "/metrics", NULL, &response);
      if (strstr (response.body,
                  "reflection_http_requests_total{method=\"POST\","
                  "route=\"/api/v1/auth/login\",status=\"499\"} 1") != NULL)
        break;
      g_assert_cmpuint (tries, <, 200);
      g_usleep (25 * G_TIME_SPAN_MILLISECOND);
    }
}

typedef struct
{
  Fixture  *f;
  gboolean  done;    /* atomic */
  guint     status;
} StopLogin;

static gpointer
held_login_worker (gpointer data)
{
  StopLogin *call = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uri = g_strconcat (call->f->url, "/api/v1/auth/login", NULL);
  const char *text = "{\"email\": \"ann@example.org\", \"password\": \"guess\"}";

  g_main_context_push_thread_default (context);
  session = session_new ("127.0.0.1");
  msg = soup_message_new ("POST", uri);
  body = g_bytes_new_static (text, strlen (text));
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  /* The connection is cut: an error is the expected end. */
  bytes = soup_session_send_and_read (session, msg, NULL, NULL);
  call->status = soup_message_get_status (msg);
  g_atomic_int_set (&call->done, TRUE);
  g_clear_object (&session);
  g_main_context_pop_thread_default (context);

  return NULL;
}

static void
stopped_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  gboolean *done = user_data;

  rfl_service_stop_http_finish (RFL_SERVICE (object), result, NULL);
  *done = TRUE;
}

/* A stop that does not wait for the held sign-in: the check ends after
 * the server is gone, and nothing is touched that went with it. */
static void
test_stop_while_verifying (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_auto(Response) response = { 0 };
  StopLogin call = { f, FALSE, 0 };
  g_autofree char *url = NULL;
  gboolean stopped = FALSE;
  GThread *thread;

  close_gate (f);
  thread = g_thread_new ("login", held_login_worker, &call);
  wait_at_gate (f);

  g_main_context_push_thread_default (context);
  g_cancellable_cancel (cancellable);
  rfl_service_stop_http_async (f->service, NULL, NULL, cancellable, stopped_cb, &stopped);
  while (!stopped)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  g_thread_join (thread);
  g_assert_true (call.done);
  g_assert_cmpuint (call.status, !=, 200);

  /* The check finishes now, with the server gone; a new server answers. */
  open_gate (f);
  g_assert_true (rfl_service_start_http (f->service, "127.0.0.1", 0, f->key,
                                         NULL, NULL, &error));
  g_assert_no_error (error);
  url = rfl_service_dup_http_url (f->service);
  request (f->session, url, "GET", "/healthz", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_free (f->url);
  f->url = g_steal_pointer (&url);
  login (f, f->session, "ann@example.org", PASSWORD_A, &response);
  g_assert_cmpuint (response.status, ==, 200);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(name, func) \
  g_test_add ("/rfl/http-login/" name, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("wrong-password", test_wrong_password);
  ADD ("lockout", test_lockout);
  ADD ("limits", test_limits);
  ADD ("healthz-while-verifying", test_healthz_while_verifying);
  ADD ("client-gone", test_client_gone);
  ADD ("stop-while-verifying", test_stop_while_verifying);

#undef ADD

  return g_test_run ();
}
