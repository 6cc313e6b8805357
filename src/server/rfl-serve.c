/* rfl-serve.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-serve.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/rfl-error.h"
#include "core/rfl-paths.h"
#include "core/rfl-signing-key.h"
#include "llm/rfl-provider.h"
#include "service/rfl-service-http.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"
#include "rfl-http-error.h"
#include "rfl-server.h"

/* How long a graceful stop waits for requests in flight. */
#define DRAIN_TIMEOUT_SECONDS 30
#define SLOW_ROUTE_MAX_MS     10000
/* The key that signs access tokens, in the data folder. */
#define SIGNING_KEY_FILE      "jwt-signing-key"
/* The provider's API key comes from the environment, never the command
 * line, which other users can read. */
#define PROVIDER_KEY_VARIABLE "REFLECTION_PROVIDER_API_KEY"

typedef struct
{
  GMainLoop    *loop;            /* owned */
  RflService   *service;         /* owned: serves HTTP on its thread */
  RflServer    *server;          /* owned, only when the service cannot
                                  * start: then it answers that it is not
                                  * ready */
  GCancellable *force;           /* owned: cancelled to stop without waiting */
  char         *database_path;   /* owned */
  RflDatabase  *database;        /* owned, opened on demand */
  GSource      *drain_timeout;   /* owned, NULL until a stop begins */
  guint         n_signals;
} Serve;

/* Output
 *
 * Lines about the server itself go out at once. Request lines are written
 * to the stdio buffer and flushed within LOG_FLUSH_MS (or when the buffer
 * fills): a write per request would cost a system call each under load,
 * while the log still reads live. The service thread writes request
 * lines, the main thread the others: both under the lock. */

#define LOG_FLUSH_MS 50

static GMutex log_lock;
static GSource *log_flush_source;   /* owned, NULL when nothing waits */

/* Called with log_lock held. */
static void
cancel_log_flush (void)
{
  if (log_flush_source != NULL)
    {
      g_source_destroy (log_flush_source);
      g_clear_pointer (&log_flush_source, g_source_unref);
    }
}

static void
print_line (const char *format,
            ...) G_GNUC_PRINTF (1, 2);

static void
print_line (const char *format,
            ...)
{
  va_list args;

  g_mutex_lock (&log_lock);
  va_start (args, format);
  vfprintf (stdout, format, args);
  va_end (args);
  fputc ('\n', stdout);
  fflush (stdout);
  cancel_log_flush ();
  g_mutex_unlock (&log_lock);
}

static gboolean
log_flush_cb (gpointer user_data)
{
  g_mutex_lock (&log_lock);
  fflush (stdout);
  g_clear_pointer (&log_flush_source, g_source_unref);
  g_mutex_unlock (&log_lock);

  return G_SOURCE_REMOVE;
}

static void
print_request_line (const char *format,
                    ...) G_GNUC_PRINTF (1, 2);

static void
print_request_line (const char *format,
                    ...)
{
  va_list args;

  g_mutex_lock (&log_lock);
  va_start (args, format);
  vfprintf (stdout, format, args);
  va_end (args);
  fputc ('\n', stdout);

  if (log_flush_source == NULL)
    {
      log_flush_source = g_timeout_source_new (LOG_FLUSH_MS);
      g_source_set_callback (log_flush_source, log_flush_cb, NULL, NULL);
      g_source_attach (log_flush_source, g_main_context_get_thread_default ());
    }
  g_mutex_unlock (&log_lock);
}

/* "2026-11-27T04:16:47.123Z". The part up to the second is formatted
 * once a second: under load this runs for every request. */
static void
format_timestamp (char  *buffer,
                  gsize  size)
{
  static time_t cached_second = -1;
  static char cached[32];
  gint64 now = g_get_real_time ();
  time_t seconds = (time_t) (now / G_USEC_PER_SEC);

  if (seconds != cached_second)
    {
      struct tm tm;

      gmtime_r (&seconds, &tm);
      strftime (cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
      cached_second = seconds;
    }

  g_snprintf (buffer, size, "%s.%03dZ", cached,
              (int) ((now % G_USEC_PER_SEC) / 1000));
}

static void
request_finished_cb (RflServer  *server,
                     const char *method,
                     const char *path,
                     guint       status,
                     gint64      duration_us,
                     gpointer    user_data)
{
  g_autofree char *escaped = NULL;
  char stamp[64];

  /* A request line cannot hold control characters, but the log must not
   * trust that. */
  for (const char *p = path; p != NULL && *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        escaped = g_strescape (path, NULL);
        break;
      }

  format_timestamp (stamp, sizeof stamp);
  print_request_line ("%s %s %s %u %.1fms", stamp, method != NULL ? method : "-",
              escaped != NULL ? escaped : path, status,
              duration_us / 1000.0);
}

/* Readiness */

static gboolean
check_ready (gpointer   user_data,
             GError   **error)
{
  Serve *serve = user_data;
  g_autoptr(GError) local_error = NULL;

  if (serve->database == NULL)
    {
      serve->database = rfl_database_open (serve->database_path, error);
      if (serve->database == NULL)
        return FALSE;
    }

  if (!_rfl_database_exec (serve->database, "SELECT 1", &local_error))
    {
      g_clear_object (&serve->database);
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                   _("The database “%s” does not answer: %s"),
                   serve->database_path, local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* The slow route, for tests of the graceful stop only */

typedef struct
{
  SoupServerMessage *msg;    /* owned */
  guint              ms;
} SlowReply;

static gboolean
slow_reply_cb (gpointer user_data)
{
  SlowReply *reply = user_data;
  char *body = g_strdup_printf ("{\"slept_ms\":%u}", reply->ms);

  soup_server_message_set_status (reply->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (reply->msg, "application/json",
                                    SOUP_MEMORY_TAKE, body, strlen (body));
  soup_server_message_unpause (reply->msg);

  return G_SOURCE_REMOVE;
}

static void
slow_reply_free (gpointer data)
{
  SlowReply *reply = data;

  g_object_unref (reply->msg);
  g_free (reply);
}

static void
slow_cb (RflRequest *request,
         gpointer    user_data)
{
  const char *text = rfl_request_get_query (request, "ms");
  g_autoptr(GSource) source = NULL;
  g_autoptr(GError) error = NULL;
  SlowReply *reply;
  guint64 ms = 300;

  if (text != NULL
      && !g_ascii_string_to_unsigned (text, 10, 0, SLOW_ROUTE_MAX_MS, &ms, NULL))
    {
      rfl_http_error_set_field (&error, RFL_HTTP_ERROR_INVALID_REQUEST, "ms",
                                _("Field “%s” must be an integer"), "ms");
      rfl_request_respond_error (request, error);
      return;
    }

  reply = g_new0 (SlowReply, 1);
  reply->msg = g_object_ref (rfl_request_get_message (request));
  reply->ms = (guint) ms;
  soup_server_message_pause (reply->msg);

  source = g_timeout_source_new ((guint) ms);
  g_source_set_callback (source, slow_reply_cb, reply, slow_reply_free);
  g_source_attach (source, g_main_context_get_thread_default ());
}

/* Stopping */

static void
stopped_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Serve *serve = user_data;
  g_autoptr(GError) error = NULL;

  if (rfl_server_stop_finish (RFL_SERVER (object), result, &error))
    print_line ("stopped");
  else
    print_line ("stopped without waiting for requests in flight");

  g_main_loop_quit (serve->loop);
}

static gboolean
drain_timeout_cb (gpointer user_data)
{
  Serve *serve = user_data;

  print_line ("requests still in flight after %d s; stopping now",
              DRAIN_TIMEOUT_SECONDS);
  g_cancellable_cancel (serve->force);

  return G_SOURCE_REMOVE;
}

static void
service_stopped_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Serve *serve = user_data;
  g_autoptr(GError) error = NULL;

  if (rfl_service_stop_http_finish (RFL_SERVICE (object), result, &error))
    print_line ("stopped");
  else
    print_line ("stopped without waiting for requests in flight");

  g_main_loop_quit (serve->loop);
}

/* Service thread: new connections are refused from now on. */
static void
stopping_cb (RflServer *server,
             gpointer   user_data)
{
  print_line ("stopping: finishing %u requests in flight",
              rfl_server_get_n_in_flight (server));
}

static gboolean
signal_cb (gpointer user_data)
{
  Serve *serve = user_data;

  serve->n_signals++;
  if (serve->n_signals == 1)
    {
      if (serve->service != NULL)
        {
          rfl_service_stop_http_async (serve->service, stopping_cb, serve,
                                       serve->force, service_stopped_cb, serve);
        }
      else
        {
          guint n_in_flight = rfl_server_get_n_in_flight (serve->server);

          /* Announced once new connections are already refused. */
          rfl_server_stop_async (serve->server, serve->force, stopped_cb, serve);
          print_line ("stopping: finishing %u requests in flight", n_in_flight);
        }

      serve->drain_timeout = g_timeout_source_new_seconds (DRAIN_TIMEOUT_SECONDS);
      g_source_set_callback (serve->drain_timeout, drain_timeout_cb, serve, NULL);
      g_source_attach (serve->drain_timeout, g_main_loop_get_context (serve->loop));
    }
  else
    {
      print_line ("stopping now");
      g_cancellable_cancel (serve->force);
    }

  return G_SOURCE_CONTINUE;
}

static GSource *
watch_signal (Serve *serve,
              int    signum)
{
  GSource *source = g_unix_signal_source_new (signum);

  g_source_set_callback (source, signal_cb, serve, NULL);
  g_source_attach (source, g_main_loop_get_context (serve->loop));

  return source;
}

/* Command line */

static void
print_command_line_error (const char *message)
{
  g_printerr ("reflection serve: %s\n", message);
  g_printerr ("%s\n", _("Try “reflection serve --help” for the options."));
}

typedef struct
{
  int              port;
  char            *bind;              /* owned */
  char            *data_dir;          /* owned */
  char            *provider;          /* owned */
  char            *provider_url;      /* owned */
  char            *model;             /* owned */
  char            *embedding_model;   /* owned */
  RflProviderKind  provider_kind;
} Options;

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->bind, g_free);
  g_clear_pointer (&options->data_dir, g_free);
  g_clear_pointer (&options->provider, g_free);
  g_clear_pointer (&options->provider_url, g_free);
  g_clear_pointer (&options->model, g_free);
  g_clear_pointer (&options->embedding_model, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static gboolean
parse_options (int       argc,
               char    **argv,
               Options  *options,
               GError  **error)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &options->port,
      N_("The port to listen on; 0 picks a free one (default: 8470)"), N_("PORT") },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &options->bind,
      N_("The IP address to listen on (default: 127.0.0.1, this computer only)"),
      N_("ADDRESS") },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &options->data_dir,
      N_("The folder that holds the database (default: ~/.local/share/reflection)"),
      N_("DIR") },
    { "provider", 0, 0, G_OPTION_ARG_STRING, &options->provider,
      N_("The language model provider: ollama, openai, anthropic or openai-compatible "
         "(default: ollama); its API key is read from REFLECTION_PROVIDER_API_KEY"),
      N_("KIND") },
    { "provider-url", 0, 0, G_OPTION_ARG_STRING, &options->provider_url,
      N_("The provider’s base URL (default: the provider’s own)"), N_("URL") },
    { "model", 0, 0, G_OPTION_ARG_STRING, &options->model,
      N_("The model that answers when a request names none"), N_("NAME") },
    { "embedding-model", 0, 0, G_OPTION_ARG_STRING, &options->embedding_model,
      N_("The provider’s embedding model (default: the built-in one)"), N_("NAME") },
    G_OPTION_ENTRY_NULL
  };

  options->port = RFL_SERVE_DEFAULT_PORT;

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Run the HTTP service without a window."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, error))
    return FALSE;

  if (argc > 1)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("unexpected argument “%s”"), argv[1]);
      return FALSE;
    }

  if (options->port < 0 || options->port > G_MAXUINT16)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("the port must be a number from 0 to 65535, not %d"),
                   options->port);
      return FALSE;
    }

  if (options->provider == NULL)
    options->provider = g_strdup ("ollama");
  if (!rfl_provider_kind_from_string (options->provider, &options->provider_kind))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not a provider; use ollama, openai, anthropic or "
                     "openai-compatible"), options->provider);
      return FALSE;
    }

  if (options->bind == NULL)
    options->bind = g_strdup ("127.0.0.1");
  address = g_inet_address_new_from_string (options->bind);
  if (address == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not an IP address"), options->bind);
      return FALSE;
    }

  return TRUE;
}

static gboolean
is_loopback (const char *bind)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (bind);

  return address != NULL && g_inet_address_get_is_loopback (address);
}

static void
add_test_routes (RflServer *server)
{
  /* Hidden and undocumented: they exist only for the test suite. */
  if (g_strcmp0 (g_getenv ("RFL_SERVE_TEST_ROUTES"), "1") != 0)
    return;

  rfl_router_add (rfl_server_get_router (server), "GET", "/test/slow",
                  RFL_ROUTE_AUTH_NONE, slow_cb, NULL, NULL);
}

/* Service thread, before the server listens. */
static void
setup_server_cb (RflServer *server,
                 gpointer   user_data)
{
  g_signal_connect (server, "request-finished",
                    G_CALLBACK (request_finished_cb), user_data);
  add_test_routes (server);
}

static void
configure_provider (RflService *service,
                    Options    *options)
{
  RflProviderConfig config = { 0 };
  const char *url = options->provider_url;

  if (url == NULL || *url == '\0')
    url = rfl_provider_kind_get_default_url (options->provider_kind);

  config.kind = options->provider_kind;
  config.url = url;
  config.api_key = g_getenv (PROVIDER_KEY_VARIABLE);
  config.model = options->model;
  config.embedding_model = options->embedding_model;
  rfl_service_set_provider (service, &config);
}

static gboolean
start_service (Serve       *serve,
               Options     *options,
               const char  *data_dir,
               GError     **error)
{
  g_autoptr(RflSigningKey) key = NULL;
  g_autofree char *key_path = g_build_filename (data_dir, SIGNING_KEY_FILE, NULL);

  configure_provider (serve->service, options);

  key = rfl_signing_key_load_or_create_file (key_path, error);
  if (key == NULL)
    return FALSE;

  return rfl_service_start_http (serve->service, options->bind,
                                 (guint16) options->port, key,
                                 setup_server_cb, serve, error);
}

/* Without a database there is no service: a bare server still answers,
 * /readyz with the reason. */
static gboolean
start_bare_server (Serve    *serve,
                   Options  *options,
                   GError  **error)
{
  serve->server = rfl_server_new (g_main_loop_get_context (serve->loop));
  rfl_server_set_readiness_func (serve->server, check_ready, serve, NULL);
  g_signal_connect (serve->server, "request-finished",
                    G_CALLBACK (request_finished_cb), serve);
  add_test_routes (serve->server);

  return rfl_server_listen (serve->server, options->bind, (guint16) options->port,
                            error);
}

static int
run (Serve      *serve,
     Options    *options,
     const char *data_dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) service_error = NULL;
  g_autofree char *url = NULL;
  GSource *sigint;
  GSource *sigterm;
  int status = 0;

  /* Watched before the first line: whoever reads "listening on" may
   * signal at once. */
  sigint = watch_signal (serve, SIGINT);
  sigterm = watch_signal (serve, SIGTERM);

  serve->service = rfl_service_new_sync (serve->database_path, &service_error);
  if (serve->service != NULL)
    {
      if (!start_service (serve, options, data_dir, &error))
        {
          g_printerr ("reflection serve: %s\n", error->message);
          status = 1;
          goto out;
        }
      url = rfl_service_dup_http_url (serve->service);
    }
  else
    {
      if (!start_bare_server (serve, options, &error))
        {
          g_printerr ("reflection serve: %s\n", error->message);
          status = 1;
          goto out;
        }
      url = g_strdup (rfl_server_get_url (serve->server));
    }

  print_line ("listening on %s", url);
  if (!is_loopback (options->bind))
    print_line ("warning: %s is not a loopback address: other computers can reach the service",
                options->bind);
  if (service_error == NULL)
    print_line ("database %s: ready", serve->database_path);
  else
    print_line ("database %s: not ready: %s", serve->database_path, service_error->message);

  g_main_loop_run (serve->loop);

out:
  g_source_destroy (sigint);
  g_source_unref (sigint);
  g_source_destroy (sigterm);
  g_source_unref (sigterm);

  return status;
}

int
rfl_serve_main (int    argc,
                char **argv)
{
  g_auto(Options) options = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = NULL;
  g_autofree char *data_dir = NULL;
  Serve serve = { 0 };
  int status;

  g_set_prgname ("reflection serve");

  /* A log reader that goes away must not take the service with it. */
  signal (SIGPIPE, SIG_IGN);

  if (!parse_options (argc, argv, &options, &error))
    {
      print_command_line_error (error->message);
      return 2;
    }

  data_dir = rfl_paths_dup_data_dir (options.data_dir);
  serve.database_path = rfl_paths_dup_database_path (data_dir);
  serve.force = g_cancellable_new ();

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  serve.loop = g_main_loop_new (context, FALSE);

  status = run (&serve, &options, data_dir);

  if (serve.drain_timeout != NULL)
    {
      g_source_destroy (serve.drain_timeout);
      g_source_unref (serve.drain_timeout);
    }
  g_clear_object (&serve.server);
  if (serve.service != NULL)
    rfl_service_shutdown (serve.service);
  g_clear_object (&serve.service);
  g_clear_object (&serve.database);
  g_mutex_lock (&log_lock);
  cancel_log_flush ();
  g_mutex_unlock (&log_lock);
  fflush (stdout);
  g_main_loop_unref (serve.loop);
  g_main_context_pop_thread_default (context);
  g_clear_object (&serve.force);
  g_free (serve.database_path);

  return status;
}
