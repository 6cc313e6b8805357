/* test-server.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "core/rfl-error.h"
#include "server/rfl-http-error.h"
#include "server/rfl-json-body.h"
#include "server/rfl-metrics.h"
#include "server/rfl-router.h"
#include "server/rfl-server.h"
#include "service/rfl-service-http.h"

#define MIB (1024 * 1024)

/* A server on its own thread and context, as the service runs it; the
 * test thread is the client and uses libsoup's blocking API. */
typedef struct
{
  GThread      *thread;
  GMutex        lock;
  GCond         cond;
  GMainContext *context;      /* owned by the server thread */
  GMainLoop    *loop;         /* owned by the server thread */
  RflServer    *server;       /* owned by the server thread */
  char         *url;
  gboolean      ready;
  gboolean      with_test_routes;
  SoupSession  *session;
} Fixture;

typedef struct
{
  guint               status;
  GBytes             *body;
  SoupMessageHeaders *headers;
  JsonNode           *json;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->body, g_bytes_unref);
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_pointer (&response->json, json_node_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

/* Test routes */

static void
echo_cb (RflRequest *request,
         gpointer    user_data)
{
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  const char *model;
  JsonArray *messages;
  double temperature = 1.0;
  gboolean stream = FALSE;
  gint64 max_tokens = 0;

  body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                      rfl_route_get_body_limit (rfl_request_get_route (request)),
                                      &error);
  if (body == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  if ((model = rfl_json_body_get_string (body, "model", RFL_JSON_REQUIRED, &error)) == NULL
      || (messages = rfl_json_body_get_array (body, "messages", RFL_JSON_REQUIRED, &error)) == NULL
      || !rfl_json_body_get_double (body, "temperature", RFL_JSON_OPTIONAL, &temperature, &error)
      || !rfl_json_body_get_boolean (body, "stream", RFL_JSON_OPTIONAL, &stream, &error)
      || !rfl_json_body_get_int (body, "options.max_tokens", RFL_JSON_OPTIONAL,
                                 &max_tokens, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model);
  json_builder_set_member_name (builder, "messages");
  json_builder_add_int_value (builder, json_array_get_length (messages));
  json_builder_set_member_name (builder, "max_tokens");
  json_builder_add_int_value (builder, max_tokens);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  rfl_request_respond_json (request, SOUP_STATUS_OK, node);
}

static void
item_cb (RflRequest *request,
         gpointer    user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "route");
  json_builder_add_string_value (builder, rfl_route_get_pattern (rfl_request_get_route (request)));
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, rfl_request_get_param (request, "id"));
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  rfl_request_respond_json (request, SOUP_STATUS_OK, node);
}

static gboolean
slow_reply_cb (gpointer user_data)
{
  SoupServerMessage *msg = user_data;

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    "{\"slow\":true}", strlen ("{\"slow\":true}"));
  soup_server_message_unpause (msg);

  return G_SOURCE_REMOVE;
}

static void
slow_cb (RflRequest *request,
         gpointer    user_data)
{
  SoupServerMessage *msg = rfl_request_get_message (request);
  g_autoptr(GSource) source = g_timeout_source_new (400);

  soup_server_message_pause (msg);
  g_source_set_callback (source, slow_reply_cb, g_object_ref (msg), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
}

/* Reports whether the connection's socket was corked when the request
 * came and once its answer was set, in headers (written after both). */
static int
socket_corked (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  int corked = -1;
  socklen_t size = sizeof corked;

  g_assert_nonnull (socket);
  g_assert_cmpint (getsockopt (g_socket_get_fd (socket), IPPROTO_TCP, TCP_CORK,
                               &corked, &size), ==, 0);
  return corked;
}

static void
corked_cb (RflRequest *request,
           gpointer    user_data)
{
  SoupServerMessage *msg = rfl_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  int before = socket_corked (msg);
  GString *body = g_string_new ("{\"answer\":");

  g_string_append_printf (body, "\"%s\"}", rfl_request_get_param (request, "size"));
  rfl_request_respond_json_text (request, SOUP_STATUS_OK, body);
  soup_message_headers_replace (headers, "X-Corked-Before", before ? "1" : "0");
  soup_message_headers_replace (headers, "X-Corked-After", socket_corked (msg) ? "1" : "0");
}

static void
add_test_routes (RflRouter *router)
{
  RflRoute *echo;

  echo = rfl_router_add (router, "POST", "/test/echo", RFL_ROUTE_AUTH_NONE,
                         echo_cb, NULL, NULL);
  rfl_route_set_body_limit (echo, MIB);
  rfl_router_add (router, "GET", "/test/items/{id}", RFL_ROUTE_AUTH_NONE,
                  item_cb, NULL, NULL);
  rfl_router_add (router, "GET", "/test/items/special", RFL_ROUTE_AUTH_NONE,
                  item_cb, NULL, NULL);
  rfl_router_add (router, "DELETE", "/test/items/{id}", RFL_ROUTE_AUTH_NONE,
                  item_cb, NULL, NULL);
  rfl_router_add (router, "GET", "/test/slow", RFL_ROUTE_AUTH_NONE,
                  slow_cb, NULL, NULL);
  rfl_router_add (router, "GET", "/test/private", RFL_ROUTE_AUTH_USER,
                  item_cb, NULL, NULL);
  rfl_router_add (router, "GET", "/test/corked/{size}", RFL_ROUTE_AUTH_NONE,
                  corked_cb, NULL, NULL);
}

/* The server thread */

static gpointer
server_worker (gpointer data)
{
  Fixture *f = data;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (f->context);
  f->server = rfl_server_new (f->context);
  if (f->with_test_routes)
    add_test_routes (rfl_server_get_router (f->server));
  rfl_server_listen (f->server, "127.0.0.1", 0, &error);
  g_assert_no_error (error);

  g_mutex_lock (&f->lock);
  f->url = g_strdup (rfl_server_get_url (f->server));
  f->ready = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->lock);

  g_main_loop_run (f->loop);

  g_clear_object (&f->server);
  g_main_context_pop_thread_default (f->context);

  return NULL;
}

static void
fixture_start (Fixture  *f,
               gboolean  with_test_routes)
{
  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->with_test_routes = with_test_routes;
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  f->thread = g_thread_new ("server", server_worker, f);

  g_mutex_lock (&f->lock);
  while (!f->ready)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);

  g_assert_true (g_str_has_prefix (f->url, "http://127.0.0.1:"));
  f->session = soup_session_new ();
  soup_session_set_proxy_resolver (f->session, NULL);
  soup_session_set_timeout (f->session, 20);
}

static void
setup_plain (Fixture       *f,
             gconstpointer  data)
{
  fixture_start (f, FALSE);
}

static void
setup_with_routes (Fixture       *f,
                   gconstpointer  data)
{
  fixture_start (f, TRUE);
}

static void
stopped_then_quit_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr(GError) error = NULL;

  rfl_server_stop_finish (RFL_SERVER (object), result, &error);
  g_assert_no_error (error);
  g_main_loop_quit (f->loop);
}

static gboolean
stop_and_quit_cb (gpointer data)
{
  Fixture *f = data;

  rfl_server_stop_async (f->server, NULL, stopped_then_quit_cb, f);
  return G_SOURCE_REMOVE;
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  g_clear_object (&f->session);
  g_main_context_invoke (f->context, stop_and_quit_cb, f);
  g_thread_join (f->thread);
  g_main_loop_unref (f->loop);
  g_main_context_unref (f->context);
  g_free (f->url);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
}

/* Runs @func on the server thread and waits for it. */
typedef struct
{
  Fixture     *f;
  GSourceFunc  func;
  gpointer     data;
  gboolean     done;
} Call;

static gboolean
call_cb (gpointer user_data)
{
  Call *call = user_data;

  call->func (call->data);
  g_mutex_lock (&call->f->lock);
  call->done = TRUE;
  g_cond_broadcast (&call->f->cond);
  g_mutex_unlock (&call->f->lock);

  return G_SOURCE_REMOVE;
}

static void
run_on_server (Fixture     *f,
               GSourceFunc  func,
               gpointer     data)
{
  Call call = { f, func, data, FALSE };

  g_main_context_invoke (f->context, call_cb, &call);
  g_mutex_lock (&f->lock);
  while (!call.done)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
}

/* The client */

static void
send_request (SoupSession  *session,
              const char   *url,
              const char   *method,
              const char   *path,
              GInputStream *stream,
              gssize        length,
              Response     *response)
{
  g_autofree char *uri = g_strconcat (url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;
  const char *content_type;

  g_assert_nonnull (msg);
  if (stream != NULL)
    soup_message_set_request_body (msg, "application/json", stream, length);

  response->body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  response->status = soup_message_get_status (msg);
  headers = soup_message_get_response_headers (msg);
  response->headers = soup_message_headers_ref (headers);

  content_type = soup_message_headers_get_content_type (headers, NULL);
  if (g_strcmp0 (content_type, "application/json") == 0
      && g_bytes_get_size (response->body) > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize size;
      const char *data = g_bytes_get_data (response->body, &size);

      json_parser_load_from_data (parser, data, (gssize) size, &error);
      g_assert_no_error (error);
      response->json = json_node_ref (json_parser_get_root (parser));
    }
}

static void
request_bytes (Fixture    *f,
               const char *method,
               const char *path,
               const char *body,
               gsize       length,
               Response   *response)
{
  g_autoptr(GInputStream) stream = NULL;

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, length);

      stream = g_memory_input_stream_new_from_bytes (bytes);
    }

  send_request (f->session, f->url, method, path, stream, (gssize) length, response);
}

static void
request (Fixture    *f,
         const char *method,
         const char *path,
         const char *body,
         Response   *response)
{
  request_bytes (f, method, path, body, body != NULL ? strlen (body) : 0, response);
}

static JsonObject *
error_object (Response *response)
{
  JsonObject *root;

  g_assert_nonnull (response->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (response->json));
  root = json_node_get_object (response->json);
  g_assert_true (json_object_has_member (root, "error"));

  return json_object_get_object_member (root, "error");
}

static void
assert_error (Response   *response,
              guint       status,
              const char *code)
{
  JsonObject *error;

  g_assert_cmpuint (response->status, ==, status);
  error = error_object (response);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "message", ""), !=, "");
}

static const char *
error_message (Response *response)
{
  return json_object_get_string_member (error_object (response), "message");
}

static const char *
error_field (Response *response)
{
  return json_object_get_string_member_with_default (error_object (response), "field", NULL);
}

static void
assert_healthy (Fixture *f)
{
  g_auto(Response) response = { 0 };

  request (f, "GET", "/healthz", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
}

/* Tests */

static void
test_healthz (Fixture       *f,
              gconstpointer  data)
{
  g_auto(Response) get = { 0 };
  g_auto(Response) head = { 0 };
  JsonObject *root;

  request (f, "GET", "/healthz", NULL, &get);
  g_assert_cmpuint (get.status, ==, 200);
  g_assert_nonnull (get.json);
  root = json_node_get_object (get.json);
  g_assert_cmpstr (json_object_get_string_member (root, "status"), ==, "ok");

  request (f, "HEAD", "/healthz", NULL, &head);
  g_assert_cmpuint (head.status, ==, 200);
  g_assert_cmpuint (g_bytes_get_size (head.body), ==, 0);
}

/* A whole answer is held back until libsoup has written it, so that its
 * headers and body leave together; the next request on the same
 * connection finds the socket released. */
static void
test_answer_held_until_written (Fixture       *f,
                                gconstpointer  data)
{
  for (guint i = 0; i < 3; i++)
    {
      g_auto(Response) response = { 0 };
      g_autofree char *path = g_strdup_printf ("/test/corked/%u", i);

      request (f, "GET", path, NULL, &response);
      g_assert_cmpuint (response.status, ==, 200);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (response.json),
                                                      "answer"), ==, path + strlen ("/test/corked/"));
      g_assert_cmpstr (soup_message_headers_get_one (response.headers, "X-Corked-Before"), ==, "0");
      g_assert_cmpstr (soup_message_headers_get_one (response.headers, "X-Corked-After"), ==, "1");
    }

  assert_healthy (f);
}

static void
test_readyz_default (Fixture       *f,
                     gconstpointer  data)
{
  g_auto(Response) response = { 0 };

  request (f, "GET", "/readyz", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (response.json), "status"),
                   ==, "ready");
}

static gboolean
set_not_ready_cb (gpointer data)
{
  Fixture *f = data;

  rfl_server_set_readiness_func (f->server, NULL, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
never_ready (gpointer   user_data,
             GError   **error)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_DATABASE, "The database is on fire");
  return FALSE;
}

static gboolean
install_never_ready_cb (gpointer data)
{
  Fixture *f = data;

  rfl_server_set_readiness_func (f->server, never_ready, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
test_readyz_not_ready (Fixture       *f,
                       gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_auto(Response) after = { 0 };

  run_on_server (f, install_never_ready_cb, f);
  request (f, "GET", "/readyz", NULL, &response);
  assert_error (&response, 503, "not_ready");
  g_assert_cmpstr (error_message (&response), ==, "The database is on fire");

  run_on_server (f, set_not_ready_cb, f);
  request (f, "GET", "/readyz", NULL, &after);
  g_assert_cmpuint (after.status, ==, 200);
}

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  g_auto(Response) unknown = { 0 };
  g_auto(Response) slash = { 0 };
  g_auto(Response) bad_escape = { 0 };

  request (f, "GET", "/no/such/thing", NULL, &unknown);
  assert_error (&unknown, 404, "not_found");
  g_assert_nonnull (strstr (error_message (&unknown), "/no/such/thing"));
  g_assert_cmpstr (soup_message_headers_get_content_type (unknown.headers, NULL),
                   ==, "application/json");

  request (f, "GET", "/healthz/", NULL, &slash);
  assert_error (&slash, 404, "not_found");

  /* An escaped slash cannot smuggle a second segment into a parameter. */
  request (f, "GET", "/test/items/a%2Fb", NULL, &bad_escape);
  assert_error (&bad_escape, 404, "not_found");
}

static void
test_method_not_allowed (Fixture       *f,
                         gconstpointer  data)
{
  g_auto(Response) post = { 0 };
  g_auto(Response) put = { 0 };

  request (f, "POST", "/healthz", "{}", &post);
  assert_error (&post, 405, "method_not_allowed");
  g_assert_cmpstr (soup_message_headers_get_one (post.headers, "Allow"), ==, "GET, HEAD");

  request (f, "PUT", "/test/items/7", "{}", &put);
  assert_error (&put, 405, "method_not_allowed");
  g_assert_cmpstr (soup_message_headers_get_one (put.headers, "Allow"), ==, "DELETE, GET, HEAD");

  assert_healthy (f);
}

static void
test_path_parameters (Fixture       *f,
                      gconstpointer  data)
{
  g_auto(Response) item = { 0 };
  g_auto(Response) special = { 0 };
  g_auto(Response) deleted = { 0 };
  JsonObject *root;

  request (f, "GET", "/test/items/caf%C3%A9%20au%20lait", NULL, &item);
  g_assert_cmpuint (item.status, ==, 200);
  root = json_node_get_object (item.json);
  g_assert_cmpstr (json_object_get_string_member (root, "id"), ==, "café au lait");
  g_assert_cmpstr (json_object_get_string_member (root, "route"), ==, "/test/items/{id}");

  /* A literal segment wins over a parameter. */
  request (f, "GET", "/test/items/special", NULL, &special);
  root = json_node_get_object (special.json);
  g_assert_cmpstr (json_object_get_string_member (root, "route"), ==, "/test/items/special");

  request (f, "DELETE", "/test/items/9", NULL, &deleted);
  g_assert_cmpuint (deleted.status, ==, 200);
  root = json_node_get_object (deleted.json);
  g_assert_cmpstr (json_object_get_string_member (root, "id"), ==, "9");
}

static void
test_auth_required (Fixture       *f,
                    gconstpointer  data)
{
  g_auto(Response) response = { 0 };

  request (f, "GET", "/test/private", NULL, &response);
  assert_error (&response, 401, "unauthorized");
}

static char *
big_json (gsize size)
{
  GString *body = g_string_sized_new (size + 64);

  g_string_append (body, "{\"model\":\"m\",\"messages\":[],\"padding\":\"");
  while (body->len < size)
    g_string_append_c (body, 'x');
  g_string_append (body, "\"}");

  return g_string_free (body, FALSE);
}

static void
test_too_large (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *big = big_json (2 * MIB);
  g_autofree char *fits = big_json (MIB - 1024);
  g_auto(Response) declared = { 0 };
  g_auto(Response) chunked = { 0 };
  g_auto(Response) small = { 0 };
  g_autoptr(GBytes) bytes = g_bytes_new (big, strlen (big));
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);

  /* With a Content-Length over the limit. */
  request (f, "POST", "/test/echo", big, &declared);
  assert_error (&declared, 413, "payload_too_large");
  g_assert_nonnull (strstr (error_message (&declared), "1048576"));
  assert_healthy (f);

  /* Chunked, so that only counting the body shows it is too large. */
  send_request (f->session, f->url, "POST", "/test/echo", stream, -1, &chunked);
  assert_error (&chunked, 413, "payload_too_large");
  assert_healthy (f);

  /* Just under the limit is accepted. */
  request (f, "POST", "/test/echo", fits, &small);
  g_assert_cmpuint (small.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (small.json), "model"),
                   ==, "m");
}

/* Sends @data on a raw connection, reads what comes back until the server
 * closes or 2 s pass, and closes. */
static char *
raw_exchange (Fixture    *f,
              const char *data,
              gboolean    half_close)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) answer = g_string_new (NULL);
  GSocket *socket;
  char buffer[4096];
  const char *host_port = f->url + strlen ("http://");

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, host_port, 0, NULL, &error);
  g_assert_no_error (error);
  socket = g_socket_connection_get_socket (connection);
  g_socket_set_timeout (socket, 2);

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             data, strlen (data), NULL, NULL, &error);
  g_assert_no_error (error);

  if (half_close)
    {
      g_socket_shutdown (socket, FALSE, TRUE, &error);
      g_assert_no_error (error);
    }

  for (;;)
    {
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (n <= 0)
        break;
      g_string_append_len (answer, buffer, n);
    }

  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  return g_string_free (g_steal_pointer (&answer), FALSE);
}

static gboolean
read_in_flight_cb (gpointer data)
{
  Fixture *f = data;

  g_mutex_lock (&f->lock);
  f->ready = rfl_server_get_n_in_flight (f->server) == 0;
  g_mutex_unlock (&f->lock);

  return G_SOURCE_REMOVE;
}

static void
test_truncated_request (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *truncated = NULL;
  g_autofree char *garbage = NULL;
  guint waited = 0;

  /* The body stops long before its Content-Length, and the client leaves. */
  truncated = raw_exchange (f, "POST /test/echo HTTP/1.1\r\nHost: test\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 1000\r\n\r\n{\"model\":", TRUE);
  g_assert_cmpstr (truncated, ==, "");

  /* Not HTTP at all: libsoup answers it before any route could. */
  garbage = raw_exchange (f, "\x01\x02 nonsense\r\n\r\n", FALSE);
  g_assert_true (g_str_has_prefix (garbage, "HTTP/1."));
  g_assert_nonnull (strstr (garbage, " 400 "));

  /* The abandoned request is not counted as in flight any more, or a
   * graceful stop would wait for it forever. */
  f->ready = FALSE;
  while (!f->ready && waited++ < 400)
    {
      run_on_server (f, read_in_flight_cb, f);
      if (!f->ready)
        g_usleep (5000);
    }
  g_assert_true (f->ready);

  assert_healthy (f);
}

typedef struct
{
  const char *body;
  const char *field;       /* NULL: the error names no field */
  const char *fragment;    /* expected in the message */
} BadBody;

static void
test_malformed_json (Fixture       *f,
                     gconstpointer  data)
{
  const BadBody cases[] = {
    { "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hel",
      "messages[0].content", "ends too early" },
    { "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"},",
      "messages[1]", "ends too early" },
    { "{\"model\": \"m\", \"messages\": [1, 2,, 3]}", "messages[2]", "expected a value" },
    { "{\"model\": \"m\",\n \"messages\": [], \"options\": {\"max_tokens\": 12x}}",
      "options", "line 2, column" },
    { "{\"model\": tru}", "model", "expected a value" },
    { "{\"model\": \"m\" \"messages\": []}", NULL, "expected “,” or “}”" },
    { "{\"model\": \"a\\qb\"}", "model", "escape" },
    { "{\"model\": 01}", NULL, "expected “,” or “}”" },
    { "{\"model\": \"m\"} trailing", NULL, "more data" },
    { "{'model': 'm'}", NULL, "member name" },
    { "not json", NULL, "expected a value" },
    { "[1, 2]", NULL, "JSON object" },
    { "   ", NULL, "empty" },
    { "{\"model\":\"\xff\"}", NULL, "UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Response) response = { 0 };
      g_autofree char *shown = g_strescape (cases[i].body, NULL);

      g_test_message ("body: %s", shown);
      request (f, "POST", "/test/echo", cases[i].body, &response);
      assert_error (&response, 400, "invalid_json");
      g_assert_cmpstr (error_field (&response), ==, cases[i].field);
      if (cases[i].field != NULL)
        {
          g_autofree char *quoted = g_strdup_printf ("“%s”", cases[i].field);

          g_assert_nonnull (strstr (error_message (&response), quoted));
        }
      g_assert_nonnull (strstr (error_message (&response), cases[i].fragment));
    }

  assert_healthy (f);
}

static void
test_wrong_field_types (Fixture       *f,
                        gconstpointer  data)
{
  const BadBody cases[] = {
    { "{\"model\":\"m\",\"messages\":\"hi\"}", "messages",
      "Field “messages” must be an array" },
    { "{\"messages\":[]}", "model", "Field “model” is required" },
    { "{\"model\":null,\"messages\":[]}", "model", "Field “model” must be a string" },
    { "{\"model\":42,\"messages\":[]}", "model", "Field “model” must be a string" },
    { "{\"model\":\"m\",\"messages\":[],\"temperature\":\"hot\"}", "temperature",
      "Field “temperature” must be a number" },
    { "{\"model\":\"m\",\"messages\":[],\"stream\":\"yes\"}", "stream",
      "Field “stream” must be true or false" },
    { "{\"model\":\"m\",\"messages\":[],\"options\":{\"max_tokens\":1.5}}",
      "options.max_tokens", "Field “options.max_tokens” must be an integer" },
    { "{\"model\":\"m\",\"messages\":[],\"options\":[]}", "options",
      "Field “options” must be an object" },
  };
  g_auto(Response) good = { 0 };
  JsonObject *root;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Response) response = { 0 };

      g_test_message ("body: %s", cases[i].body);
      request (f, "POST", "/test/echo", cases[i].body, &response);
      assert_error (&response, 400, "invalid_request");
      g_assert_cmpstr (error_field (&response), ==, cases[i].field);
      g_assert_cmpstr (error_message (&response), ==, cases[i].fragment);
    }

  request (f, "POST", "/test/echo",
           "{\"model\":\"m\",\"messages\":[{},{}],\"temperature\":0,"
           "\"stream\":true,\"options\":{\"max_tokens\":2.0}}", &good);
  g_assert_cmpuint (good.status, ==, 200);
  root = json_node_get_object (good.json);
  g_assert_cmpint (json_object_get_int_member (root, "messages"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (root, "max_tokens"), ==, 2);
}

/* Metrics */

typedef struct
{
  GHashTable *types;     /* family → type */
  GHashTable *samples;   /* "name{labels}" → value string */
} Exposition;

static void
exposition_clear (Exposition *exposition)
{
  g_clear_pointer (&exposition->types, g_hash_table_unref);
  g_clear_pointer (&exposition->samples, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Exposition, exposition_clear)

static gboolean
parse_value (const char *text,
             double     *value)
{
  char *end = NULL;

  if (g_str_equal (text, "+Inf") || g_str_equal (text, "-Inf") || g_str_equal (text, "NaN"))
    {
      *value = 0;
      return TRUE;
    }

  *value = g_ascii_strtod (text, &end);

  return end != text && *end == '\0';
}

static const char *
family_of (Exposition *exposition,
           const char *name)
{
  static const char * const suffixes[] = { "_bucket", "_sum", "_count" };

  if (g_hash_table_contains (exposition->types, name))
    return name;

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (name, suffixes[i]))
      {
        g_autofree char *base = g_strndup (name, strlen (name) - strlen (suffixes[i]));
        const char *type = g_hash_table_lookup (exposition->types, base);

        if (g_strcmp0 (type, "histogram") == 0 || g_strcmp0 (type, "summary") == 0)
          return g_intern_string (base);
      }

  return NULL;
}

/* Checks the text exposition format 0.0.4 line by line. */
static void
parse_exposition (const char *text,
                  Exposition *exposition)
{
  g_autoptr(GRegex) sample_re = NULL;
  g_autoptr(GRegex) name_re = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_lines;

  exposition->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  exposition->samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  name_re = g_regex_new ("^[a-zA-Z_:][a-zA-Z0-9_:]*$", 0, 0, NULL);
  sample_re = g_regex_new ("^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                           "(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\""
                           "(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\.)*\")*)?\\})?"
                           " (\\S+)$", 0, 0, NULL);
  g_assert_nonnull (sample_re);

  g_assert_true (g_str_has_suffix (text, "\n"));
  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);

  for (guint i = 0; i + 1 < n_lines; i++)
    {
      const char *line = lines[i];

      g_assert_cmpstr (line, !=, "");
      if (g_str_has_prefix (line, "# HELP ") || g_str_has_prefix (line, "# TYPE "))
        {
          g_auto(GStrv) parts = g_strsplit (line + 7, " ", 2);

          g_assert_cmpuint (g_strv_length (parts), ==, 2);
          g_assert_true (g_regex_match (name_re, parts[0], 0, NULL));
          g_assert_cmpstr (parts[1], !=, "");
          if (line[2] == 'T')
            {
              const char * const types[] = {
                "counter", "gauge", "histogram", "summary", "untyped", NULL,
              };

              g_assert_true (g_strv_contains (types, parts[1]));
              g_assert_false (g_hash_table_contains (exposition->types, parts[0]));
              g_hash_table_insert (exposition->types, g_strdup (parts[0]), g_strdup (parts[1]));
            }
        }
      else if (line[0] == '#')
        continue;
      else
        {
          g_autoptr(GMatchInfo) match = NULL;
          g_autofree char *name = NULL;
          g_autofree char *labels = NULL;
          g_autofree char *value = NULL;
          const char *family;
          double number;

          if (!g_regex_match (sample_re, line, 0, &match))
            g_error ("Line %u is not a sample: %s", i + 1, line);
          name = g_match_info_fetch (match, 1);
          labels = g_match_info_fetch (match, 2);
          value = g_match_info_fetch (match, 3);

          family = family_of (exposition, name);
          if (family == NULL)
            g_error ("Sample %s comes before the TYPE of its family", name);
          g_assert_true (parse_value (value, &number));
          if (g_str_equal (g_hash_table_lookup (exposition->types, family), "counter"))
            g_assert_cmpfloat (number, >=, 0);

          g_hash_table_insert (exposition->samples,
                               g_strconcat (name, labels, NULL), g_steal_pointer (&value));
        }
    }
}

static const char *
sample (Exposition *exposition,
        const char *key)
{
  return g_hash_table_lookup (exposition->samples, key);
}

static void
assert_type (Exposition *exposition,
             const char *family,
             const char *type)
{
  g_assert_cmpstr (g_hash_table_lookup (exposition->types, family), ==, type);
}

/* The labels of a route whose pattern needs escaping. */
#define ODD_LABELS "{method=\"POST\",route=\"/api/v1/chat/\\\"odd\\\"\\\\route\""

static void
test_metrics (Fixture       *f,
              gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_auto(Exposition) exposition = { 0 };
  g_autofree char *text = NULL;
  const char *route = "{method=\"GET\",route=\"/healthz\"";
  const char *histogram = "reflection_http_request_duration_seconds";
  const char * const bounds[] = { "0.001", "0.01", "0.1", "1", "10", "+Inf" };
  double previous = 0;

  for (int i = 0; i < 3; i++)
    assert_healthy (f);
  {
    g_auto(Response) missing = { 0 };

    request (f, "GET", "/nothing-here", NULL, &missing);
    g_assert_cmpuint (missing.status, ==, 404);
  }

  request (f, "GET", "/metrics", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (response.headers, "Content-Type"),
                                   "text/plain; version=0.0.4"));
  text = g_strndup (g_bytes_get_data (response.body, NULL), g_bytes_get_size (response.body));
  parse_exposition (text, &exposition);

  assert_type (&exposition, "reflection_http_requests_total", "counter");
  assert_type (&exposition, "reflection_http_request_duration_seconds", "histogram");
  assert_type (&exposition, "reflection_llm_tokens_total", "counter");
  assert_type (&exposition, "reflection_rate_limit_rejections_total", "counter");
  assert_type (&exposition, "reflection_http_requests_in_flight", "gauge");

  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_total"
                                        "{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
                   ==, "3");
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_total"
                                        "{method=\"GET\",route=\"unmatched\",status=\"404\"}"),
                   ==, "1");
  /* The request for the metrics is the one in flight. */
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_in_flight"), ==, "1");
  g_assert_cmpstr (sample (&exposition, "reflection_llm_tokens_total{direction=\"in\"}"), ==, "0");

  /* Buckets are cumulative and end with the count. */
  for (guint i = 0; i < G_N_ELEMENTS (bounds); i++)
    {
      g_autofree char *key = g_strdup_printf ("%s_bucket%s,le=\"%s\"}",
                                              histogram, route, bounds[i]);
      const char *value = sample (&exposition, key);
      double number;

      g_assert_nonnull (value);
      number = g_ascii_strtod (value, NULL);
      g_assert_cmpfloat (number, >=, previous);
      previous = number;
    }
  g_assert_cmpfloat (previous, ==, 3);
  {
    g_autofree char *key = g_strdup_printf ("%s_count%s}", histogram, route);

    g_assert_cmpstr (sample (&exposition, key), ==, "3");
  }
}

static void
test_metrics_counters (void)
{
  g_autoptr(RflMetrics) metrics = rfl_metrics_new ();
  g_auto(Exposition) exposition = { 0 };
  g_autofree char *text = NULL;

  rfl_metrics_add_tokens (metrics, 120, 30);
  rfl_metrics_add_tokens (metrics, 5, 2);
  rfl_metrics_add_rate_limit_rejection (metrics, "requests");
  rfl_metrics_add_rate_limit_rejection (metrics, "requests");
  rfl_metrics_add_rate_limit_rejection (metrics, "tokens");
  rfl_metrics_request_started (metrics);
  rfl_metrics_request_finished (metrics, "POST", "/api/v1/chat/\"odd\"\\route", 429, 0.02);
  rfl_metrics_request_started (metrics);
  rfl_metrics_request_finished (metrics, "POST", "/api/v1/chat/\"odd\"\\route", 200, 7.5);

  text = rfl_metrics_dup_text (metrics);
  parse_exposition (text, &exposition);

  g_assert_cmpstr (sample (&exposition, "reflection_llm_tokens_total{direction=\"in\"}"),
                   ==, "125");
  g_assert_cmpstr (sample (&exposition, "reflection_llm_tokens_total{direction=\"out\"}"),
                   ==, "32");
  g_assert_cmpstr (sample (&exposition,
                           "reflection_rate_limit_rejections_total{limit=\"requests\"}"),
                   ==, "2");
  g_assert_cmpstr (sample (&exposition,
                           "reflection_rate_limit_rejections_total{limit=\"tokens\"}"),
                   ==, "1");
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_in_flight"), ==, "0");
  g_assert_cmpstr (sample (&exposition,
                           "reflection_http_requests_total" ODD_LABELS ",status=\"429\"}"),
                   ==, "1");
  g_assert_cmpstr (sample (&exposition,
                           "reflection_http_request_duration_seconds_bucket" ODD_LABELS
                           ",le=\"5\"}"),
                   ==, "1");
  g_assert_cmpstr (sample (&exposition,
                           "reflection_http_request_duration_seconds_bucket" ODD_LABELS
                           ",le=\"10\"}"),
                   ==, "2");
  g_assert_cmpstr (sample (&exposition,
                           "reflection_http_request_duration_seconds_sum" ODD_LABELS "}"),
                   ==, "7.52");
}

/* Each method and route is a series of its own, also a route too long for
 * the usual key. */
static void
test_metrics_series (void)
{
  g_autoptr(RflMetrics) metrics = rfl_metrics_new ();
  g_autoptr(GString) long_route = g_string_new ("/long/");
  g_autoptr(GString) labels = g_string_new (NULL);
  g_auto(Exposition) exposition = { 0 };
  g_autofree char *text = NULL;

  while (long_route->len < 600)
    g_string_append (long_route, "segment/");

  for (guint i = 0; i < 3; i++)
    {
      rfl_metrics_request_started (metrics);
      rfl_metrics_request_finished (metrics, "GET", "/a", 200, 0.001);
    }
  rfl_metrics_request_started (metrics);
  rfl_metrics_request_finished (metrics, "POST", "/a", 200, 0.001);
  rfl_metrics_request_started (metrics);
  rfl_metrics_request_finished (metrics, "GET", "/a/b", 404, 0.001);
  for (guint i = 0; i < 2; i++)
    {
      rfl_metrics_request_started (metrics);
      rfl_metrics_request_finished (metrics, "GET", long_route->str, 200, 0.001);
    }

  text = rfl_metrics_dup_text (metrics);
  parse_exposition (text, &exposition);

  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_total"
                           "{method=\"GET\",route=\"/a\",status=\"200\"}"), ==, "3");
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_total"
                           "{method=\"POST\",route=\"/a\",status=\"200\"}"), ==, "1");
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_total"
                           "{method=\"GET\",route=\"/a/b\",status=\"404\"}"), ==, "1");
  g_string_printf (labels, "reflection_http_requests_total"
                   "{method=\"GET\",route=\"%s\",status=\"200\"}", long_route->str);
  g_assert_cmpstr (sample (&exposition, labels->str), ==, "2");
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_in_flight"), ==, "0");
}

typedef struct
{
  guint  calls;
  char  *method;
  char  *path;
  guint  status;
  gint64 duration_us;
} FinishedCall;

static void
finished_cb (RflServer  *server,
             const char *method,
             const char *path,
             guint       status,
             gint64      duration_us,
             gpointer    user_data)
{
  FinishedCall *call = user_data;

  g_assert_true (RFL_IS_SERVER (server));
  call->calls++;
  g_free (call->method);
  g_free (call->path);
  call->method = g_strdup (method);
  call->path = g_strdup (path);
  call->status = status;
  call->duration_us = duration_us;
}

static void
finished_swapped_cb (gpointer    user_data,
                     const char *method,
                     const char *path,
                     guint       status,
                     gint64      duration_us,
                     RflServer  *server)
{
  finished_cb (server, method, path, status, duration_us, user_data);
}

static void
assert_finished (FinishedCall *call,
                 guint         calls,
                 const char   *method,
                 const char   *path,
                 guint         status,
                 gint64        duration_us)
{
  g_assert_cmpuint (call->calls, ==, calls);
  g_assert_cmpstr (call->method, ==, method);
  g_assert_cmpstr (call->path, ==, path);
  g_assert_cmpuint (call->status, ==, status);
  g_assert_cmpint (call->duration_us, ==, duration_us);
}

/* request-finished hands its arguments over whichever way it is emitted
 * and connected. */
static void
test_request_finished_signal (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(RflServer) server = NULL;
  FinishedCall plain = { 0 };
  FinishedCall swapped = { 0 };
  GValue values[5] = { G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT,
                       G_VALUE_INIT, G_VALUE_INIT };
  gint64 long_duration = G_GINT64_CONSTANT (5000000000123);

  g_main_context_push_thread_default (context);
  server = rfl_server_new (context);
  g_signal_connect (server, "request-finished", G_CALLBACK (finished_cb),
                    &plain);
  g_signal_connect_swapped (server, "request-finished",
                            G_CALLBACK (finished_swapped_cb), &swapped);

  g_signal_emit_by_name (server, "request-finished", "GET", "/healthz",
                         (guint) 200, (gint64) 1234);
  assert_finished (&plain, 1, "GET", "/healthz", 200, 1234);
  assert_finished (&swapped, 1, "GET", "/healthz", 200, 1234);

  g_value_init (&values[0], RFL_TYPE_SERVER);
  g_value_set_object (&values[0], server);
  g_value_init (&values[1], G_TYPE_STRING);
  g_value_set_static_string (&values[1], "POST");
  g_value_init (&values[2], G_TYPE_STRING);
  g_value_set_static_string (&values[2], "/api/v1/memories/search");
  g_value_init (&values[3], G_TYPE_UINT);
  g_value_set_uint (&values[3], 499);
  g_value_init (&values[4], G_TYPE_INT64);
  g_value_set_int64 (&values[4], long_duration);
  g_signal_emitv (values, g_signal_lookup ("request-finished", RFL_TYPE_SERVER),
                  0, NULL);
  assert_finished (&plain, 2, "POST", "/api/v1/memories/search", 499,
                   long_duration);
  assert_finished (&swapped, 2, "POST", "/api/v1/memories/search", 499,
                   long_duration);

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    g_value_unset (&values[i]);
  g_clear_object (&server);
  g_main_context_pop_thread_default (context);
  g_free (plain.method);
  g_free (plain.path);
  g_free (swapped.method);
  g_free (swapped.path);
}

typedef struct
{
  RflMetrics *metrics;
  guint       n;
} MetricsWorker;

static gpointer
metrics_worker (gpointer data)
{
  MetricsWorker *worker = data;

  for (guint i = 0; i < worker->n; i++)
    {
      rfl_metrics_request_started (worker->metrics);
      rfl_metrics_request_finished (worker->metrics, "GET", "/healthz", 200, 0.0001);
      rfl_metrics_add_tokens (worker->metrics, 1, 2);
    }

  return NULL;
}

static void
test_metrics_threads (void)
{
  g_autoptr(RflMetrics) metrics = rfl_metrics_new ();
  g_auto(Exposition) exposition = { 0 };
  g_autofree char *text = NULL;
  MetricsWorker worker = { metrics, 5000 };
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("metrics", metrics_worker, &worker);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  text = rfl_metrics_dup_text (metrics);
  parse_exposition (text, &exposition);
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_total"
                                        "{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
                   ==, "20000");
  g_assert_cmpstr (sample (&exposition, "reflection_llm_tokens_total{direction=\"out\"}"),
                   ==, "40000");
  g_assert_cmpstr (sample (&exposition, "reflection_http_requests_in_flight"), ==, "0");
}

/* OpenAPI */

static GPtrArray *
spec_operations (JsonObject *paths)
{
  const char * const methods[] = {
    "get", "put", "post", "delete", "options", "head", "patch", "trace", NULL,
  };
  GPtrArray *operations = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GList) names = json_object_get_members (paths);

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *item = json_object_get_object_member (paths, l->data);
      g_autoptr(GList) members = json_object_get_members (item);

      for (GList *m = members; m != NULL; m = m->next)
        if (g_strv_contains (methods, m->data))
          {
            g_autofree char *method = g_ascii_strup (m->data, -1);

            g_ptr_array_add (operations, g_strdup_printf ("%s %s", method, (char *) l->data));
          }
    }

  return operations;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static RflServer *
production_server (GMainContext *context)
{
  RflServer *server;

  g_main_context_push_thread_default (context);
  server = rfl_server_new (context);
  /* The service adds its API routes to the server it runs. */
  rfl_service_http_add_routes (rfl_server_get_router (server), NULL);
  return server;
}

static void
test_openapi (Fixture       *f,
              gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(RflServer) server = NULL;
  g_autoptr(GPtrArray) documented = NULL;
  g_autoptr(GPtrArray) registered = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  RflRouter *router;
  JsonObject *root;
  JsonObject *info;
  JsonObject *healthz;

  request (f, "GET", "/api/openapi.json", NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_nonnull (response.json);
  root = json_node_get_object (response.json);
  g_assert_cmpstr (json_object_get_string_member (root, "openapi"), ==, "3.1.0");
  info = json_object_get_object_member (root, "info");
  g_assert_cmpstr (json_object_get_string_member (info, "version"), ==, PACKAGE_VERSION);

  /* The routes of a server made the same way, compared with the paths. */
  server = production_server (context);
  router = rfl_server_get_router (server);
  for (guint i = 0; i < rfl_router_get_n_routes (router); i++)
    {
      RflRoute *route = rfl_router_get_route (router, i);

      g_ptr_array_add (registered, g_strdup_printf ("%s %s", rfl_route_get_method (route),
                                                    rfl_route_get_pattern (route)));
    }
  documented = spec_operations (json_object_get_object_member (root, "paths"));
  g_ptr_array_sort (registered, compare_strings);
  g_ptr_array_sort (documented, compare_strings);
  g_assert_cmpuint (documented->len, ==, registered->len);
  for (guint i = 0; i < registered->len; i++)
    g_assert_cmpstr (g_ptr_array_index (documented, i), ==, g_ptr_array_index (registered, i));
  g_assert_cmpuint (registered->len, >=, 4);

  g_assert_true (rfl_router_check_openapi (router, response.json, &error));
  g_assert_no_error (error);

  /* Operations are completed from their routes. */
  healthz = json_object_get_object_member (root, "paths");
  healthz = json_object_get_object_member (healthz, "/healthz");
  healthz = json_object_get_object_member (healthz, "get");
  g_assert_true (json_object_has_member (json_object_get_object_member (healthz, "responses"),
                                         "default"));
  g_assert_cmpstr (json_object_get_string_member (healthz, "x-reflection-auth"), ==, "none");

  g_clear_object (&server);
  g_main_context_pop_thread_default (context);
}

static void
test_openapi_check_fails (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(RflServer) server = production_server (context);
  RflRouter *router = rfl_server_get_router (server);
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(JsonNode) extra = NULL;
  g_autoptr(JsonNode) old = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  JsonObject *operation;
  JsonObject *paths;
  JsonObject *item;

  document = rfl_router_build_openapi (router, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_router_check_openapi (router, document, &error));
  g_assert_no_error (error);

  /* A description without a route. */
  text = json_to_string (document, FALSE);
  extra = json_from_string (text, &error);
  g_assert_no_error (error);
  item = json_object_new ();
  operation = json_object_new ();
  json_object_set_object_member (item, "post", operation);
  paths = json_object_get_object_member (json_node_get_object (extra), "paths");
  json_object_set_object_member (paths, "/api/v1/ghost", item);
  g_assert_false (rfl_router_check_openapi (router, extra, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "POST /api/v1/ghost is documented but not registered"));
  g_clear_error (&error);

  /* Another OpenAPI version. */
  old = json_from_string ("{\"openapi\":\"3.0.3\",\"paths\":{}}", &error);
  g_assert_no_error (error);
  g_assert_false (rfl_router_check_openapi (router, old, &error));
  g_assert_nonnull (strstr (error->message, "3.0.3"));
  g_clear_error (&error);

  /* A route registered without a description. */
  rfl_router_add (router, "GET", "/test/undocumented", RFL_ROUTE_AUTH_NONE,
                  item_cb, NULL, NULL);
  g_clear_pointer (&document, json_node_unref);
  document = rfl_router_build_openapi (router, &error);
  g_assert_no_error (error);
  g_assert_false (rfl_router_check_openapi (router, document, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message,
                            "GET /test/undocumented is registered but not documented"));

  g_clear_object (&server);
  g_main_context_pop_thread_default (context);
}

/* Router, JSON bodies and error bodies without a server */

static void
noop_cb (RflRequest *request,
         gpointer    user_data)
{
}

static void
test_router_lookup (void)
{
  g_autoptr(RflRouter) router = rfl_router_new ();
  g_autoptr(GHashTable) params = NULL;
  g_autofree char *allow = NULL;
  const char * const missing[] = {
    "/api/v1/tenants/", "/api/v1/tenants", "/api/v1/tenants/%zz",
    "/api/v1/tenants/a%00b", "relative",
  };
  RflRoute *tenant;
  RflRoute *user;
  RflRoute *found = NULL;

  tenant = rfl_router_add (router, "GET", "/api/v1/tenants/{id}", RFL_ROUTE_AUTH_ADMIN,
                           noop_cb, NULL, NULL);
  user = rfl_router_add (router, "GET", "/api/v1/tenants/{id}/users/{user_id}",
                         RFL_ROUTE_AUTH_ADMIN, noop_cb, NULL, NULL);
  rfl_router_add (router, "PATCH", "/api/v1/tenants/{id}", RFL_ROUTE_AUTH_ADMIN,
                  noop_cb, NULL, NULL);
  rfl_router_add (router, "GET", "/", RFL_ROUTE_AUTH_NONE, noop_cb, NULL, NULL);
  g_assert_cmpuint (rfl_router_get_n_routes (router), ==, 4);
  g_assert_cmpint (rfl_route_get_auth (tenant), ==, RFL_ROUTE_AUTH_ADMIN);
  g_assert_cmpuint (rfl_route_get_body_limit (tenant), ==, RFL_ROUTER_DEFAULT_BODY_LIMIT);

  g_assert_cmpint (rfl_router_lookup (router, "GET", "/api/v1/tenants/42/users/u%2B1",
                                      &found, &params, NULL), ==, RFL_ROUTE_FOUND);
  g_assert_true (found == user);
  g_assert_cmpstr (g_hash_table_lookup (params, "id"), ==, "42");
  g_assert_cmpstr (g_hash_table_lookup (params, "user_id"), ==, "u+1");
  g_clear_pointer (&params, g_hash_table_unref);

  g_assert_cmpint (rfl_router_lookup (router, "HEAD", "/api/v1/tenants/42", &found, NULL, NULL),
                   ==, RFL_ROUTE_FOUND);
  g_assert_true (found == tenant);

  g_assert_cmpint (rfl_router_lookup (router, "DELETE", "/api/v1/tenants/42", &found, NULL, &allow),
                   ==, RFL_ROUTE_METHOD_NOT_ALLOWED);
  g_assert_null (found);
  g_assert_cmpstr (allow, ==, "GET, HEAD, PATCH");

  g_assert_cmpint (rfl_router_lookup (router, "GET", "/", NULL, NULL, NULL), ==, RFL_ROUTE_FOUND);
  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    g_assert_cmpint (rfl_router_lookup (router, "GET", missing[i], NULL, NULL, NULL),
                     ==, RFL_ROUTE_NOT_FOUND);
}

static void
test_router_rejects_bad_patterns (void)
{
  g_autoptr(RflRouter) router = rfl_router_new ();

  if (g_test_subprocess ())
    {
      rfl_router_add (router, "GET", "/a/{id", RFL_ROUTE_AUTH_NONE, noop_cb, NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*Route pattern*/a/{id*is not valid*");
}

static void
test_router_rejects_duplicates (void)
{
  g_autoptr(RflRouter) router = rfl_router_new ();

  if (g_test_subprocess ())
    {
      rfl_router_add (router, "GET", "/a", RFL_ROUTE_AUTH_NONE, noop_cb, NULL, NULL);
      rfl_router_add (router, "get", "/a", RFL_ROUTE_AUTH_NONE, noop_cb, NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*GET /a is registered twice*");
}

static void
test_json_body_parse (void)
{
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) deep = g_string_new (NULL);
  const char *text = "{\"a\":{\"b\":{\"c\":\"d\\u00e9\"}},\"n\":-1.5e3,"
                     "\"i\":9007199254740993,\"z\":null}";
  double number = 0;
  gint64 integer = 0;
  gboolean flag = TRUE;

  body = rfl_json_body_parse (text, strlen (text), 1024, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rfl_json_body_get_string (body, "a.b.c", RFL_JSON_REQUIRED, &error), ==, "dé");
  g_assert_true (rfl_json_body_get_double (body, "n", RFL_JSON_REQUIRED, &number, &error));
  g_assert_cmpfloat (number, ==, -1500);
  g_assert_true (rfl_json_body_get_int (body, "i", RFL_JSON_REQUIRED, &integer, &error));
  g_assert_cmpint (integer, ==, G_GINT64_CONSTANT (9007199254740993));
  /* Absent or null-and-nullable optional fields leave the value alone. */
  g_assert_true (rfl_json_body_get_boolean (body, "missing", RFL_JSON_OPTIONAL, &flag, &error));
  g_assert_true (rfl_json_body_get_boolean (body, "z", RFL_JSON_NULLABLE, &flag, &error));
  g_assert_true (flag);
  g_assert_null (rfl_json_body_get_string (body, "a.x.y", RFL_JSON_OPTIONAL, &error));
  g_assert_no_error (error);
  g_assert_null (rfl_json_body_get_string (body, "n.deeper", RFL_JSON_OPTIONAL, &error));
  g_assert_error (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_INVALID_REQUEST);
  g_assert_cmpstr (rfl_http_error_get_field (error), ==, "n");
  g_clear_error (&error);
  g_clear_pointer (&body, rfl_json_body_free);

  /* The limit. */
  body = rfl_json_body_parse (text, strlen (text), 10, &error);
  g_assert_null (body);
  g_assert_error (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_PAYLOAD_TOO_LARGE);
  g_assert_cmpuint (rfl_http_error_get_status (error->code), ==, 413);
  g_clear_error (&error);

  /* Deep nesting is refused before a tree is built. */
  g_string_append (deep, "{\"x\":");
  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  body = rfl_json_body_parse (deep->str, deep->len, MIB, &error);
  g_assert_null (body);
  g_assert_error (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_INVALID_JSON);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
  g_clear_error (&error);

  /* Line and column count characters, not bytes. */
  body = rfl_json_body_parse ("{\n  \"é\": ?}", strlen ("{\n  \"é\": ?}"), MIB, &error);
  g_assert_null (body);
  g_assert_nonnull (strstr (error->message, "line 2, column 8"));
  g_assert_cmpstr (rfl_http_error_get_field (error), ==, "é");
}

static void
test_error_json (void)
{
  g_autofree char *json = rfl_http_error_to_json (RFL_HTTP_ERROR_QUOTA_EXCEEDED,
                                                  "Slow down \"now\"", NULL);
  g_autofree char *with_field = rfl_http_error_to_json (RFL_HTTP_ERROR_INVALID_REQUEST,
                                                        "Bad", "messages");
  g_autoptr(GError) db = g_error_new_literal (RFL_ERROR, RFL_ERROR_NOT_FOUND, "gone");
  g_autoptr(GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "disk");
  g_autoptr(GError) copy = NULL;
  g_autoptr(GError) field = NULL;

  g_assert_cmpstr (json, ==, "{\"error\":{\"code\":\"quota_exceeded\","
                             "\"message\":\"Slow down \\\"now\\\"\"}}");
  g_assert_cmpstr (with_field, ==, "{\"error\":{\"code\":\"invalid_request\","
                                   "\"message\":\"Bad\",\"field\":\"messages\"}}");

  g_assert_cmpuint (rfl_http_error_get_status (RFL_HTTP_ERROR_QUOTA_EXCEEDED), ==, 429);
  g_assert_cmpuint (rfl_http_error_get_status (RFL_HTTP_ERROR_UNAUTHORIZED), ==, 401);
  g_assert_cmpuint (rfl_http_error_get_status (RFL_HTTP_ERROR_FORBIDDEN), ==, 403);
  g_assert_cmpuint (rfl_http_error_get_status (RFL_HTTP_ERROR_INTERNAL), ==, 500);
  g_assert_cmpstr (rfl_http_error_get_code_name (RFL_HTTP_ERROR_FORBIDDEN), ==, "forbidden");
  g_assert_cmpint (rfl_http_error_from_error (db), ==, RFL_HTTP_ERROR_NOT_FOUND);
  g_assert_cmpint (rfl_http_error_from_error (io), ==, RFL_HTTP_ERROR_INTERNAL);

  /* The field survives a copy of the error. */
  rfl_http_error_set_field (&field, RFL_HTTP_ERROR_INVALID_REQUEST, "messages[1].role", "x %d", 1);
  copy = g_error_copy (field);
  g_assert_cmpstr (copy->message, ==, "x 1");
  g_assert_cmpstr (rfl_http_error_get_field (copy), ==, "messages[1].role");
  g_assert_null (rfl_http_error_get_field (io));
}

/* Listening and stopping */

static void
test_listen_errors (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(RflServer) first = production_server (context);
  g_autoptr(RflServer) second = rfl_server_new (context);
  g_autoptr(GError) error = NULL;

  g_assert_false (rfl_server_listen (first, "localhost", 0, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "“localhost”"));
  g_assert_cmpint (rfl_server_get_state (first), ==, RFL_SERVER_STOPPED);
  g_assert_null (rfl_server_get_url (first));
  g_clear_error (&error);

  g_assert_true (rfl_server_listen (first, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rfl_server_get_port (first), >, 0);

  g_assert_false (rfl_server_listen (second, "127.0.0.1", rfl_server_get_port (first), &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_assert_cmpint (rfl_server_get_state (second), ==, RFL_SERVER_STOPPED);

  g_clear_object (&first);
  g_clear_object (&second);
  g_main_context_pop_thread_default (context);
}

typedef struct
{
  char      *url;
  Response   response;
} SlowClient;

static gpointer
slow_client_worker (gpointer data)
{
  SlowClient *client = data;
  g_autoptr(SoupSession) session = soup_session_new ();

  soup_session_set_proxy_resolver (session, NULL);
  send_request (session, client->url, "GET", "/test/slow", NULL, 0, &client->response);

  return NULL;
}

static gboolean
count_in_flight_cb (gpointer data)
{
  Fixture *f = data;

  g_mutex_lock (&f->lock);
  f->ready = rfl_server_get_n_in_flight (f->server) == 1;
  g_mutex_unlock (&f->lock);

  return G_SOURCE_REMOVE;
}

typedef struct
{
  Fixture  *f;
  gboolean  done;
  gboolean  ok;
} StopCall;

static void
stopped_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  StopCall *call = user_data;
  gboolean ok = rfl_server_stop_finish (RFL_SERVER (object), result, NULL);

  g_mutex_lock (&call->f->lock);
  call->ok = ok;
  call->done = TRUE;
  g_cond_broadcast (&call->f->cond);
  g_mutex_unlock (&call->f->lock);
}

static gboolean
stop_cb (gpointer data)
{
  StopCall *call = data;

  rfl_server_stop_async (call->f->server, NULL, stopped_cb, call);

  return G_SOURCE_REMOVE;
}

static gboolean
check_stopped_cb (gpointer data)
{
  Fixture *f = data;

  g_assert_cmpint (rfl_server_get_state (f->server), ==, RFL_SERVER_STOPPED);
  g_assert_null (rfl_server_get_url (f->server));
  g_assert_cmpuint (rfl_server_get_n_in_flight (f->server), ==, 0);

  return G_SOURCE_REMOVE;
}

static void
test_stop_graceful (Fixture       *f,
                    gconstpointer  data)
{
  SlowClient client = { f->url, { 0 } };
  StopCall call = { f, FALSE, FALSE };
  g_autoptr(SoupSession) fresh = soup_session_new ();
  g_autofree char *uri = g_strconcat (f->url, "/healthz", NULL);
  g_autoptr(SoupMessage) refused = soup_message_new ("GET", uri);
  g_autoptr(GBytes) nothing = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;
  guint waited = 0;

  assert_healthy (f);
  thread = g_thread_new ("slow client", slow_client_worker, &client);

  /* Wait until the slow request is in flight. */
  f->ready = FALSE;
  while (!f->ready && waited++ < 500)
    {
      g_usleep (5000);
      run_on_server (f, count_in_flight_cb, f);
    }
  g_assert_true (f->ready);

  run_on_server (f, stop_cb, &call);

  /* New connections are refused at once... */
  soup_session_set_proxy_resolver (fresh, NULL);
  nothing = soup_session_send_and_read (fresh, refused, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  /* ...while the request in flight is answered, and told the connection
   * closes. */
  g_thread_join (thread);
  g_assert_cmpuint (client.response.status, ==, 200);
  g_assert_true (soup_message_headers_header_contains (client.response.headers,
                                                       "Connection", "close"));
  response_clear (&client.response);

  g_mutex_lock (&f->lock);
  while (!call.done)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
  g_assert_true (call.ok);
  run_on_server (f, check_stopped_cb, f);
}

typedef void (*FixtureTest) (Fixture       *f,
                             gconstpointer  data);

static void
add_fixture_test (const char  *path,
                  gboolean     with_test_routes,
                  FixtureTest  test)
{
  g_test_add (path, Fixture, NULL,
              with_test_routes ? setup_with_routes : setup_plain,
              test, teardown);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  add_fixture_test ("/rfl/server/healthz", FALSE, test_healthz);
  add_fixture_test ("/rfl/server/readyz", FALSE, test_readyz_default);
  add_fixture_test ("/rfl/server/answer-held-until-written", TRUE,
                    test_answer_held_until_written);
  add_fixture_test ("/rfl/server/readyz-not-ready", FALSE, test_readyz_not_ready);
  add_fixture_test ("/rfl/server/not-found", TRUE, test_not_found);
  add_fixture_test ("/rfl/server/method-not-allowed", TRUE, test_method_not_allowed);
  add_fixture_test ("/rfl/server/path-parameters", TRUE, test_path_parameters);
  add_fixture_test ("/rfl/server/auth-required", TRUE, test_auth_required);
  add_fixture_test ("/rfl/server/too-large", TRUE, test_too_large);
  add_fixture_test ("/rfl/server/malformed-json", TRUE, test_malformed_json);
  add_fixture_test ("/rfl/server/truncated-request", TRUE, test_truncated_request);
  add_fixture_test ("/rfl/server/wrong-field-types", TRUE, test_wrong_field_types);
  add_fixture_test ("/rfl/server/metrics", FALSE, test_metrics);
  g_test_add_func ("/rfl/server/metrics-counters", test_metrics_counters);
  g_test_add_func ("/rfl/server/metrics-threads", test_metrics_threads);
  g_test_add_func ("/rfl/server/metrics-series", test_metrics_series);
  g_test_add_func ("/rfl/server/request-finished-signal",
                   test_request_finished_signal);
  add_fixture_test ("/rfl/server/openapi", FALSE, test_openapi);
  g_test_add_func ("/rfl/server/openapi-check-fails", test_openapi_check_fails);
  g_test_add_func ("/rfl/server/router-lookup", test_router_lookup);
  g_test_add_func ("/rfl/server/router-rejects-bad-patterns", test_router_rejects_bad_patterns);
  g_test_add_func ("/rfl/server/router-rejects-duplicates", test_router_rejects_duplicates);
  g_test_add_func ("/rfl/server/json-body", test_json_body_parse);
  g_test_add_func ("/rfl/server/error-json", test_error_json);
  g_test_add_func ("/rfl/server/listen-errors", test_listen_errors);
  add_fixture_test ("/rfl/server/stop-graceful", TRUE, test_stop_graceful);

  return g_test_run ();
}
