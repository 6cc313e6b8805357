/* rfl-server.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-server.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"
#include "rfl-http-error.h"

#define HEALTHZ_BODY  "{\"status\":\"ok\"}"
#define READYZ_BODY   "{\"status\":\"ready\"}"
#define LISTEN_BACKLOG 1024

struct _RflServer
{
  GObject           parent_instance;

  GMainContext     *context;          /* owned reference */
  SoupServer       *soup;             /* owned */
  RflRouter        *router;           /* owned */
  RflMetrics       *metrics;          /* owned */

  RflServerState    state;
  char             *url;              /* owned, NULL unless listening */
  guint16           port;

  /* Requests between their headers and the end of their answer. */
  GHashTable       *in_flight;        /* owned: SoupServerMessage* → RequestState* */

  GPtrArray        *stop_tasks;       /* owned, of GTask */
  GPtrArray        *cancel_sources;   /* owned, of GSource */
  GSource          *stop_source;      /* owned: completes the stop */

  RflReadinessFunc  readiness_func;
  gpointer          readiness_data;
  GDestroyNotify    readiness_destroy;

  RflAuthFunc       auth_func;
  gpointer          auth_data;
  GDestroyNotify    auth_destroy;

  char             *openapi_json;     /* owned cache */
  guint             openapi_generation;
};

/* What the server keeps about one request, attached to its message. */
/* Logged for a request whose client left before it was answered. */
#define CLIENT_CLOSED_REQUEST 499

typedef struct
{
  RflServer         *server;       /* borrowed; NULL once the server is gone */
  SoupServerMessage *msg;          /* borrowed: this lives as long as it */
  gint64             start_us;
  RflRouteLookup     lookup;
  RflRoute          *route;        /* borrowed from the router */
  GHashTable        *params;       /* owned, nullable */
  char              *allow;        /* owned, nullable */
  RflRequest        *request;      /* owned, nullable */
  gsize              body_limit;
  gsize              body_received;
  gboolean           too_large;
  gboolean           finished;
  gboolean           aborted;        /* the client left before the answer */
} RequestState;

enum {
  REQUEST_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (RflServer, rfl_server, G_TYPE_OBJECT)

static GQuark
request_state_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("rfl-server-request-state");

  return quark;
}

static void complete_stop_soon (RflServer *self);

static void
request_state_free (gpointer data)
{
  RequestState *state = data;

  /* A message dropped without being finished (its connection died). */
  if (state->server != NULL && !state->finished)
    {
      RflServer *server = state->server;

      g_hash_table_remove (server->in_flight, state->msg);
      if (server->state == RFL_SERVER_STOPPING && g_hash_table_size (server->in_flight) == 0)
        complete_stop_soon (server);
    }

  g_clear_pointer (&state->request, rfl_request_free);
  g_clear_pointer (&state->params, g_hash_table_unref);
  g_free (state->allow);
  g_free (state);
}

static RequestState *
get_state (SoupServerMessage *msg)
{
  return g_object_get_qdata (G_OBJECT (msg), request_state_quark ());
}

/* Methods as metric labels: anything unusual is folded into one series so
 * that clients cannot grow the exposition without bound. */
static const char *
method_label (const char *method)
{
  static const char * const known[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL,
  };

  if (method != NULL && g_strv_contains (known, method))
    return method;

  return "OTHER";
}

/* Request handling */

static void
respond_too_large (RequestState *state)
{
  g_autofree char *message = NULL;

  message = g_strdup_printf (_("The request body is larger than the limit of %lu bytes"),
                             (gulong) state->body_limit);
  rfl_http_error_respond (state->msg, RFL_HTTP_ERROR_PAYLOAD_TOO_LARGE, message);
}

/* The body is read and thrown away rather than left unread: a client
 * still sending it would otherwise see its connection reset instead of
 * the answer. */
static void
refuse_body (RequestState *state)
{
  SoupMessageBody *body = soup_server_message_get_request_body (state->msg);

  state->too_large = TRUE;
  soup_message_body_set_accumulate (body, FALSE);
  soup_message_body_truncate (body);
}

static void
got_chunk_cb (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           user_data)
{
  RequestState *state = user_data;

  state->body_received += g_bytes_get_size (chunk);
  if (!state->too_large && state->body_received > state->body_limit)
    refuse_body (state);
}

static void
early_handler_cb (SoupServer        *soup,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  RflServer *self = user_data;
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  RequestState *state;

  state = g_new0 (RequestState, 1);
  state->server = self;
  state->msg = msg;
  state->start_us = g_get_monotonic_time ();
  g_object_set_qdata_full (G_OBJECT (msg), request_state_quark (),
                           state, request_state_free);
  g_hash_table_insert (self->in_flight, msg, state);
  rfl_metrics_request_started (self->metrics);

  if (self->state == RFL_SERVER_STOPPING)
    soup_message_headers_replace (response_headers, "Connection", "close");

  state->lookup = rfl_router_lookup (self->router,
                                     soup_server_message_get_method (msg),
                                     path, &state->route, &state->params,
                                     &state->allow);
  state->body_limit = state->route != NULL
                      ? rfl_route_get_body_limit (state->route)
                      : RFL_ROUTER_DEFAULT_BODY_LIMIT;

  switch (soup_message_headers_get_encoding (request_headers))
    {
    case SOUP_ENCODING_CONTENT_LENGTH:
      if ((guint64) soup_message_headers_get_content_length (request_headers)
          > state->body_limit)
        {
          /* Answering now skips the handler; a client that asked with
           * "Expect: 100-continue" does not even send the body. */
          refuse_body (state);
          soup_message_headers_replace (response_headers, "Connection", "close");
          respond_too_large (state);
        }
      break;

    case SOUP_ENCODING_CHUNKED:
      g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk_cb), state);
      break;

    case SOUP_ENCODING_UNRECOGNIZED:
    case SOUP_ENCODING_NONE:
    case SOUP_ENCODING_EOF:
    case SOUP_ENCODING_BYTERANGES:
    default:
      break;
    }
}

static gboolean
check_auth (RflServer     *self,
            RequestState  *state,
            GError       **error)
{
  RflRouteAuth required = rfl_route_get_auth (state->route);

  if (required == RFL_ROUTE_AUTH_NONE)
    return TRUE;

  if (self->auth_func == NULL)
    {
      g_set_error_literal (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_UNAUTHORIZED,
                           _("This request needs an API key or an access token"));
      return FALSE;
    }

  return self->auth_func (state->request, required, self->auth_data, error);
}

static void
handler_cb (SoupServer        *soup,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  RflServer *self = user_data;
  RequestState *state = get_state (msg);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (state == NULL)
    {
      rfl_http_error_respond (msg, RFL_HTTP_ERROR_INTERNAL,
                              _("The server could not complete the request"));
      return;
    }

  if (state->too_large)
    {
      respond_too_large (state);
      return;
    }

  switch (state->lookup)
    {
    case RFL_ROUTE_NOT_FOUND:
      message = g_strdup_printf (_("There is nothing at “%s” on this server"), path);
      rfl_http_error_respond (msg, RFL_HTTP_ERROR_NOT_FOUND, message);
      return;

    case RFL_ROUTE_METHOD_NOT_ALLOWED:
      message = g_strdup_printf (_("“%s” does not accept %s; it accepts %s"),
                                 path, soup_server_message_get_method (msg),
                                 state->allow);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Allow", state->allow);
      rfl_http_error_respond (msg, RFL_HTTP_ERROR_METHOD_NOT_ALLOWED, message);
      return;

    case RFL_ROUTE_FOUND:
    default:
      break;
    }

  state->request = rfl_request_new (msg, state->route, state->params, query);
  if (!check_auth (self, state, &error))
    {
      rfl_request_respond_error (state->request, error);
      return;
    }

  rfl_route_invoke (state->route, state->request);
}

/* Counts, logs and forgets a request that was answered, aborted or cut
 * off by the end of its connection. */
static void
finish_request (RflServer         *self,
                SoupServerMessage *msg)
{
  RequestState *state = get_state (msg);
  const char *method;
  const char *path;
  gint64 duration_us;
  guint status;

  if (state == NULL || state->finished)
    return;

  state->finished = TRUE;
  g_hash_table_remove (self->in_flight, msg);
  if (state->request != NULL)
    rfl_request_release (state->request);

  duration_us = g_get_monotonic_time () - state->start_us;
  /* Whatever was meant, nothing was answered: counted and logged as
   * 499, "client closed request", not as a status never sent. */
  status = state->aborted ? CLIENT_CLOSED_REQUEST
                          : soup_server_message_get_status (msg);
  method = soup_server_message_get_method (msg);
  path = g_uri_get_path (soup_server_message_get_uri (msg));

  rfl_metrics_request_finished (self->metrics, method_label (method),
                                state->route != NULL
                                ? rfl_route_get_pattern (state->route)
                                : "unmatched",
                                status, duration_us / (double) G_USEC_PER_SEC);

  g_signal_emit (self, signals[REQUEST_FINISHED], 0,
                 method, path, status, duration_us);

  if (self->state == RFL_SERVER_STOPPING && g_hash_table_size (self->in_flight) == 0)
    complete_stop_soon (self);
}

static void
request_done_cb (SoupServer        *soup,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  finish_request (user_data, msg);
}

static void
request_aborted_cb (SoupServer        *soup,
                    SoupServerMessage *msg,
                    gpointer           user_data)
{
  RequestState *state = get_state (msg);

  if (state != NULL)
    state->aborted = TRUE;
  finish_request (user_data, msg);
}

/* Built-in routes */

static void
healthz_cb (RflRequest *request,
            gpointer    user_data)
{
  SoupServerMessage *msg = rfl_request_get_message (request);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    HEALTHZ_BODY, strlen (HEALTHZ_BODY));
}

static void
readyz_cb (RflRequest *request,
           gpointer    user_data)
{
  RflServer *self = user_data;
  SoupServerMessage *msg = rfl_request_get_message (request);
  g_autoptr(GError) error = NULL;

  if (self->readiness_func != NULL
      && !self->readiness_func (self->readiness_data, &error))
    {
      rfl_http_error_respond (msg, RFL_HTTP_ERROR_NOT_READY,
                              error != NULL ? error->message : _("The service is not ready"));
      return;
    }

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    READYZ_BODY, strlen (READYZ_BODY));
}

static void
metrics_cb (RflRequest *request,
            gpointer    user_data)
{
  RflServer *self = user_data;
  SoupServerMessage *msg = rfl_request_get_message (request);
  char *text = rfl_metrics_dup_text (self->metrics);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, RFL_METRICS_CONTENT_TYPE,
                                    SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
openapi_cb (RflRequest *request,
            gpointer    user_data)
{
  RflServer *self = user_data;
  guint generation = rfl_router_get_generation (self->router);

  if (self->openapi_json == NULL || self->openapi_generation != generation)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) document = rfl_router_build_openapi (self->router, &error);

      if (document == NULL)
        {
          rfl_request_respond_error (request, error);
          return;
        }

      g_free (self->openapi_json);
      self->openapi_json = json_to_string (document, TRUE);
      self->openapi_generation = generation;
    }

  rfl_request_respond_text (request, SOUP_STATUS_OK, "application/json",
                            self->openapi_json, strlen (self->openapi_json));
}

/* Object */

static void
forget_in_flight (RflServer *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->in_flight);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((RequestState *) value)->server = NULL;
  g_hash_table_remove_all (self->in_flight);
}

static void
destroy_cancel_sources (RflServer *self)
{
  for (guint i = 0; i < self->cancel_sources->len; i++)
    g_source_destroy (g_ptr_array_index (self->cancel_sources, i));
  g_ptr_array_set_size (self->cancel_sources, 0);
}

static void
rfl_server_dispose (GObject *object)
{
  RflServer *self = (RflServer *)object;

  if (self->soup != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->soup, self);
      soup_server_remove_handler (self->soup, NULL);
      forget_in_flight (self);
      soup_server_disconnect (self->soup);
      g_clear_object (&self->soup);
    }

  if (self->stop_source != NULL)
    {
      g_source_destroy (self->stop_source);
      g_clear_pointer (&self->stop_source, g_source_unref);
    }
  if (self->cancel_sources != NULL)
    destroy_cancel_sources (self);

  g_clear_object (&self->router);

  if (self->readiness_destroy != NULL)
    self->readiness_destroy (self->readiness_data);
  self->readiness_func = NULL;
  self->readiness_destroy = NULL;

  if (self->auth_destroy != NULL)
    self->auth_destroy (self->auth_data);
  self->auth_func = NULL;
  self->auth_destroy = NULL;

  G_OBJECT_CLASS (rfl_server_parent_class)->dispose (object);
}

static void
rfl_server_finalize (GObject *object)
{
  RflServer *self = (RflServer *)object;

  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_clear_pointer (&self->stop_tasks, g_ptr_array_unref);
  g_clear_pointer (&self->cancel_sources, g_ptr_array_unref);
  g_clear_pointer (&self->metrics, rfl_metrics_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->url);
  g_free (self->openapi_json);

  G_OBJECT_CLASS (rfl_server_parent_class)->finalize (object);
}

static void
rfl_server_class_init (RflServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_server_dispose;
  object_class->finalize = rfl_server_finalize;

  signals[REQUEST_FINISHED] =
    g_signal_new ("request-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 4,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_UINT,
                  G_TYPE_INT64);
}

static void
rfl_server_init (RflServer *self)
{
  self->in_flight = g_hash_table_new (NULL, NULL);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->cancel_sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  self->metrics = rfl_metrics_new ();
  self->router = rfl_router_new ();
}

RflServer *
rfl_server_new (GMainContext *context)
{
  g_autoptr(GMainContext) thread_default = g_main_context_ref_thread_default ();
  RflServer *self;

  g_return_val_if_fail (context != NULL, NULL);
  g_return_val_if_fail (context == thread_default, NULL);

  self = g_object_new (RFL_TYPE_SERVER, NULL);
  self->context = g_main_context_ref (context);
  self->soup = soup_server_new ("server-header", "Reflection/" PACKAGE_VERSION, NULL);

  soup_server_add_early_handler (self->soup, NULL, early_handler_cb, self, NULL);
  soup_server_add_handler (self->soup, NULL, handler_cb, self, NULL);
  g_signal_connect (self->soup, "request-finished", G_CALLBACK (request_done_cb), self);
  g_signal_connect (self->soup, "request-aborted", G_CALLBACK (request_aborted_cb), self);

  rfl_router_add (self->router, "GET", "/healthz", RFL_ROUTE_AUTH_NONE,
                  healthz_cb, self, NULL);
  rfl_router_add (self->router, "GET", "/readyz", RFL_ROUTE_AUTH_NONE,
                  readyz_cb, self, NULL);
  rfl_router_add (self->router, "GET", "/metrics", RFL_ROUTE_AUTH_NONE,
                  metrics_cb, self, NULL);
  rfl_router_add (self->router, "GET", "/api/openapi.json", RFL_ROUTE_AUTH_NONE,
                  openapi_cb, self, NULL);

  return self;
}

RflRouter *
rfl_server_get_router (RflServer *self)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), NULL);

  return self->router;
}

RflMetrics *
rfl_server_get_metrics (RflServer *self)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), NULL);

  return self->metrics;
}

void
rfl_server_set_readiness_func (RflServer        *self,
                               RflReadinessFunc  func,
                               gpointer          user_data,
                               GDestroyNotify    destroy)
{
  g_return_if_fail (RFL_IS_SERVER (self));

  if (self->readiness_destroy != NULL)
    self->readiness_destroy (self->readiness_data);

  self->readiness_func = func;
  self->readiness_data = user_data;
  self->readiness_destroy = destroy;
}

void
rfl_server_set_auth_func (RflServer      *self,
                          RflAuthFunc     func,
                          gpointer        user_data,
                          GDestroyNotify  destroy)
{
  g_return_if_fail (RFL_IS_SERVER (self));

  if (self->auth_destroy != NULL)
    self->auth_destroy (self->auth_data);

  self->auth_func = func;
  self->auth_data = user_data;
  self->auth_destroy = destroy;
}

/* Listening */

static guint16
listening_port (RflServer *self)
{
  GSList *listeners = soup_server_get_listeners (self->soup);
  guint16 port = 0;

  for (GSList *l = listeners; l != NULL && port == 0; l = l->next)
    {
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (l->data, NULL);

      if (G_IS_INET_SOCKET_ADDRESS (local))
        port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    }
  g_slist_free (listeners);

  return port;
}

/* soup_server_listen() keeps GSocket's backlog of 10 connections: a burst
 * of clients connecting at once then sees connections reset. */
static gboolean
listen_with_backlog (RflServer       *self,
                     GSocketAddress  *address,
                     GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;

  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error)
      || !g_socket_listen (socket, error))
    return FALSE;

  return soup_server_listen_socket (self->soup, socket, 0, error);
}

gboolean
rfl_server_listen (RflServer   *self,
                   const char  *address,
                   guint16      port,
                   GError     **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *host = NULL;
  gboolean ok;

  g_return_val_if_fail (RFL_IS_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (self->state == RFL_SERVER_STOPPED, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not an IP address"), address);
      return FALSE;
    }

  socket_address = g_inet_socket_address_new (inet, port);

  g_main_context_push_thread_default (self->context);
  ok = listen_with_backlog (self, socket_address, &local_error);
  g_main_context_pop_thread_default (self->context);

  if (!ok)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("Cannot listen on %s port %u: %s"),
                   address, (guint) port, local_error->message);
      return FALSE;
    }

  self->port = listening_port (self);
  host = g_inet_address_to_string (inet);
  g_free (self->url);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    self->url = g_strdup_printf ("http://[%s]:%u", host, (guint) self->port);
  else
    self->url = g_strdup_printf ("http://%s:%u", host, (guint) self->port);
  self->state = RFL_SERVER_RUNNING;

  return TRUE;
}

const char *
rfl_server_get_url (RflServer *self)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), NULL);

  return self->url;
}

guint16
rfl_server_get_port (RflServer *self)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), 0);

  return self->port;
}

RflServerState
rfl_server_get_state (RflServer *self)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), RFL_SERVER_STOPPED);

  return self->state;
}

guint
rfl_server_get_n_in_flight (RflServer *self)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), 0);

  return g_hash_table_size (self->in_flight);
}

/* Stopping */

static void
complete_stop (RflServer *self)
{
  g_autoptr(GPtrArray) tasks = NULL;

  if (self->stop_source != NULL)
    {
      g_source_destroy (self->stop_source);
      g_clear_pointer (&self->stop_source, g_source_unref);
    }
  destroy_cancel_sources (self);

  /* STOPPED first: requests aborted by the disconnection below must not
   * schedule another completion. */
  self->state = RFL_SERVER_STOPPED;
  g_clear_pointer (&self->url, g_free);
  self->port = 0;
  soup_server_disconnect (self->soup);

  /* A forced stop cuts off requests a handler still holds (paused): they
   * end here, not whenever their handler lets go. */
  if (g_hash_table_size (self->in_flight) > 0)
    {
      guint n_cut = 0;
      g_autofree gpointer *cut = g_hash_table_get_keys_as_array (self->in_flight, &n_cut);

      for (guint i = 0; i < n_cut; i++)
        finish_request (self, cut[i]);
    }

  tasks = g_steal_pointer (&self->stop_tasks);
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

static gboolean
complete_stop_cb (gpointer user_data)
{
  RflServer *self = user_data;

  complete_stop (self);

  return G_SOURCE_REMOVE;
}

/* The disconnection waits for an idle: the last request's "finished"
 * signal is still being emitted when it is scheduled. */
static void
complete_stop_soon (RflServer *self)
{
  if (self->stop_source != NULL)
    return;

  self->stop_source = g_idle_source_new ();
  g_source_set_priority (self->stop_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->stop_source, complete_stop_cb, self, NULL);
  g_source_set_static_name (self->stop_source, "[rfl] server stop");
  g_source_attach (self->stop_source, self->context);
}

static gboolean
stop_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  RflServer *self = user_data;

  complete_stop_soon (self);

  return G_SOURCE_REMOVE;
}

static void
refuse_connections (RflServer *self)
{
  GSList *listeners = soup_server_get_listeners (self->soup);
  GHashTableIter iter;
  gpointer key;

  /* Shutting the listening sockets down makes the kernel refuse new
   * connections at once while established ones go on. */
  for (GSList *l = listeners; l != NULL; l = l->next)
    {
      g_autoptr(GError) error = NULL;

      if (!g_socket_shutdown (l->data, TRUE, FALSE, &error))
        g_message ("Could not stop accepting connections: %s", error->message);
    }
  g_slist_free (listeners);

  g_hash_table_iter_init (&iter, self->in_flight);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    soup_message_headers_replace (soup_server_message_get_response_headers (key),
                                  "Connection", "close");
}

void
rfl_server_stop_async (RflServer           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_server_stop_async);

  if (self->state == RFL_SERVER_STOPPED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_ptr_array_add (self->stop_tasks, g_steal_pointer (&task));

  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      g_source_set_callback (source, G_SOURCE_FUNC (stop_cancelled_cb), self, NULL);
      g_source_attach (source, self->context);
      g_ptr_array_add (self->cancel_sources, source);
    }

  if (self->state == RFL_SERVER_RUNNING)
    {
      self->state = RFL_SERVER_STOPPING;
      refuse_connections (self);
    }

  if (g_hash_table_size (self->in_flight) == 0)
    complete_stop_soon (self);
}

gboolean
rfl_server_stop_finish (RflServer     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (RFL_IS_SERVER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
