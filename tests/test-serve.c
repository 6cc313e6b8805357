/* test-serve.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

/* `reflection serve` as a separate process, with no display. */
typedef struct
{
  GPid              pid;
  GDataInputStream *out;      /* its standard output, line by line */
  GInputStream     *err;      /* its standard error */
  char             *url;
  gboolean          reaped;
} Serve;

static char *
dup_binary (void)
{
  const char *binary = g_getenv ("RFL_REFLECTION_BINARY");

  if (binary != NULL && *binary != '\0')
    return g_strdup (binary);

  return g_test_build_filename (G_TEST_BUILT, "..", "src", "reflection", NULL);
}

static char **
child_environment (void)
{
  char **env = g_get_environ ();

  env = g_environ_unsetenv (env, "DISPLAY");
  env = g_environ_unsetenv (env, "WAYLAND_DISPLAY");
  env = g_environ_setenv (env, "LC_ALL", "C.UTF-8", TRUE);
  env = g_environ_setenv (env, "RFL_SERVE_TEST_ROUTES", "1", TRUE);

  return env;
}

static char *
serve_read_line (Serve *serve)
{
  g_autoptr(GError) error = NULL;
  char *line;

  line = g_data_input_stream_read_line_utf8 (serve->out, NULL, NULL, &error);
  g_assert_no_error (error);

  return line;
}

static void
serve_spawn (Serve      *serve,
             const char *data_dir,
             const char *port)
{
  g_autofree char *binary = dup_binary ();
  g_auto(GStrv) env = child_environment ();
  g_autoptr(GError) error = NULL;
  const char *argv[] = { binary, "serve", "--port", port, "--data-dir", data_dir, NULL };
  g_autoptr(GInputStream) base = NULL;
  int out_fd = -1;
  int err_fd = -1;

  g_assert_true (g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE));
  g_spawn_async_with_pipes (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD,
                            NULL, NULL, &serve->pid, NULL, &out_fd, &err_fd, &error);
  g_assert_no_error (error);

  base = g_unix_input_stream_new (out_fd, TRUE);
  serve->out = g_data_input_stream_new (base);
  serve->err = g_unix_input_stream_new (err_fd, TRUE);
}

/* Starts the server and reads its first line, "listening on URL". */
static void
serve_start (Serve      *serve,
             const char *data_dir)
{
  g_autofree char *line = NULL;
  g_autoptr(GRegex) re = g_regex_new ("^listening on (http://127\\.0\\.0\\.1:[0-9]+)$", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;

  serve_spawn (serve, data_dir, "0");
  line = serve_read_line (serve);
  g_assert_nonnull (line);
  if (!g_regex_match (re, line, 0, &match))
    g_error ("The first line is not the address: %s", line);
  serve->url = g_match_info_fetch (match, 1);
  g_assert_false (g_str_has_suffix (serve->url, ":0"));
}

/* Waits (at most 20 s) for the process to exit; returns its exit status. */
static int
serve_wait (Serve *serve)
{
  int status = 0;

  for (guint i = 0; i < 2000; i++)
    {
      pid_t pid = waitpid (serve->pid, &status, WNOHANG);

      g_assert_cmpint (pid, !=, -1);
      if (pid == serve->pid)
        {
          serve->reaped = TRUE;
          g_spawn_close_pid (serve->pid);
          g_assert_true (WIFEXITED (status));
          return WEXITSTATUS (status);
        }
      g_usleep (10000);
    }

  g_error ("reflection serve did not exit");
  return -1;
}

static char *
serve_dup_stderr (Serve *serve)
{
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;

  g_output_stream_splice (memory, serve->err,
                          G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);

  if (g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (memory)) == 0)
    return g_strdup ("");

  return g_strndup (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (memory)),
                    g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (memory)));
}

static void
serve_clear (Serve *serve)
{
  if (serve->pid != 0 && !serve->reaped)
    {
      kill (serve->pid, SIGKILL);
      serve_wait (serve);
    }
  g_clear_object (&serve->out);
  g_clear_object (&serve->err);
  g_clear_pointer (&serve->url, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Serve, serve_clear)

/* The client */

typedef struct
{
  guint               status;
  char               *body;
  SoupMessageHeaders *headers;
  GError             *error;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->body, g_free);
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_error (&response->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

static SoupSession *
new_session (void)
{
  SoupSession *session = soup_session_new ();

  soup_session_set_proxy_resolver (session, NULL);
  soup_session_set_timeout (session, 20);

  return session;
}

static void
get (SoupSession *session,
     const char  *url,
     const char  *path,
     Response    *response)
{
  g_autofree char *uri = g_strconcat (url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;

  body = soup_session_send_and_read (session, msg, NULL, &response->error);
  response->status = soup_message_get_status (msg);
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  if (body != NULL)
    response->body = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static JsonObject *
parse_object (const char *text,
              JsonNode  **root)
{
  g_autoptr(GError) error = NULL;

  *root = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (*root));

  return json_node_get_object (*root);
}

static int
in_flight (SoupSession *session,
           const char  *url)
{
  g_auto(Response) response = { 0 };
  const char *line;

  get (session, url, "/metrics", &response);
  g_assert_no_error (response.error);
  g_assert_cmpuint (response.status, ==, 200);
  line = strstr (response.body, "\nreflection_http_requests_in_flight ");
  g_assert_nonnull (line);

  return atoi (line + strlen ("\nreflection_http_requests_in_flight "));
}

typedef struct
{
  const char *url;
  guint       ms;
  Response    response;
} SlowClient;

static gpointer
slow_client_worker (gpointer data)
{
  SlowClient *client = data;
  g_autoptr(SoupSession) session = new_session ();
  g_autofree char *path = g_strdup_printf ("/test/slow?ms=%u", client->ms);

  get (session, client->url, path, &client->response);

  return NULL;
}

static void
wait_for_in_flight (SoupSession *session,
                    const char  *url,
                    int          n)
{
  guint waited = 0;

  while (in_flight (session, url) < n)
    {
      g_assert_cmpuint (waited++, <, 1000);
      g_usleep (5000);
    }
}

static void
assert_log_line (const char *line)
{
  g_autoptr(GRegex) re = g_regex_new ("^[0-9]{4}-[0-9]{2}-[0-9]{2}"
                                      "T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                                      "[A-Z]+ /\\S* [0-9]{1,3} [0-9]+\\.[0-9]ms$", 0, 0, NULL);

  if (!g_regex_match (re, line, 0, NULL))
    g_error ("Not a request log line: %s", line);
}

/* Tests */

static void
test_lifecycle (void)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "serve", NULL);
  g_autofree char *database_line = NULL;
  g_autofree char *line = NULL;
  g_autofree char *err = NULL;
  g_autoptr(SoupSession) session = new_session ();
  g_autoptr(SoupSession) late = new_session ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) slow_root = NULL;
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  g_auto(Serve) serve = { 0 };
  g_auto(Response) healthz = { 0 };
  g_auto(Response) readyz = { 0 };
  g_auto(Response) refused = { 0 };
  SlowClient client = { NULL, 700, { 0 } };
  gboolean saw_slow = FALSE;
  gboolean saw_stopped = FALSE;
  GThread *thread;

  serve_start (&serve, data_dir);
  database_line = serve_read_line (&serve);
  g_assert_true (g_str_has_prefix (database_line, "database "));
  g_assert_true (g_str_has_suffix (database_line, ": ready"));

  get (session, serve.url, "/healthz", &healthz);
  g_assert_no_error (healthz.error);
  g_assert_cmpuint (healthz.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (parse_object (healthz.body, &root), "status"),
                   ==, "ok");

  get (session, serve.url, "/readyz", &readyz);
  g_assert_no_error (readyz.error);
  g_assert_cmpuint (readyz.status, ==, 200);
  g_assert_true (g_file_test (data_dir, G_FILE_TEST_IS_DIR));

  /* A slow request is in flight when SIGTERM arrives: the metrics
   * request sees itself and the slow one. */
  client.url = serve.url;
  thread = g_thread_new ("slow client", slow_client_worker, &client);
  wait_for_in_flight (session, serve.url, 2);
  g_assert_cmpint (kill (serve.pid, SIGTERM), ==, 0);

  /* The log lines so far, then the announcement of the stop. */
  while ((line = serve_read_line (&serve)) != NULL
         && !g_str_has_prefix (line, "stopping"))
    {
      assert_log_line (line);
      g_ptr_array_add (log, g_steal_pointer (&line));
    }
  g_assert_nonnull (line);
  g_assert_cmpstr (line, ==, "stopping: finishing 1 requests in flight");
  g_clear_pointer (&line, g_free);

  /* New connections are refused while the slow request finishes. */
  get (late, serve.url, "/healthz", &refused);
  g_assert_error (refused.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  g_thread_join (thread);
  g_assert_no_error (client.response.error);
  g_assert_cmpuint (client.response.status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (parse_object (client.response.body, &slow_root),
                                               "slept_ms"), ==, 700);
  response_clear (&client.response);

  g_assert_cmpint (serve_wait (&serve), ==, 0);

  /* The rest of the output: the slow request's line, then "stopped". */
  while ((line = serve_read_line (&serve)) != NULL)
    {
      if (g_str_equal (line, "stopped"))
        {
          saw_stopped = TRUE;
          g_clear_pointer (&line, g_free);
          line = serve_read_line (&serve);
          g_assert_null (line);
          break;
        }
      assert_log_line (line);
      if (strstr (line, " GET /test/slow 200 ") != NULL)
        saw_slow = TRUE;
      g_clear_pointer (&line, g_free);
    }
  g_assert_true (saw_slow);
  g_assert_true (saw_stopped);

  /* One line per request: healthz, readyz and the metrics polls. */
  g_assert_cmpuint (log->len, >=, 3);
  g_assert_nonnull (strstr (g_ptr_array_index (log, 0), " GET /healthz 200 "));
  g_assert_nonnull (strstr (g_ptr_array_index (log, 1), " GET /readyz 200 "));

  err = serve_dup_stderr (&serve);
  g_assert_cmpstr (err, ==, "");
}

/* A second signal stops at once, cutting off what is still in flight. */
static void
test_forced_stop (void)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "forced", NULL);
  g_autoptr(SoupSession) session = new_session ();
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_auto(Serve) serve = { 0 };
  SlowClient client = { NULL, 10000, { 0 } };
  char *line;
  GThread *thread;

  serve_start (&serve, data_dir);
  g_free (serve_read_line (&serve));

  client.url = serve.url;
  thread = g_thread_new ("slow client", slow_client_worker, &client);
  wait_for_in_flight (session, serve.url, 2);

  g_assert_cmpint (kill (serve.pid, SIGTERM), ==, 0);
  while ((line = serve_read_line (&serve)) != NULL && !g_str_has_prefix (line, "stopping"))
    g_free (line);
  g_assert_cmpstr (line, ==, "stopping: finishing 1 requests in flight");
  g_free (line);

  g_assert_cmpint (kill (serve.pid, SIGTERM), ==, 0);
  g_assert_cmpint (serve_wait (&serve), ==, 0);
  while ((line = serve_read_line (&serve)) != NULL)
    g_ptr_array_add (lines, line);

  g_assert_cmpuint (lines->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (lines, 0), ==, "stopping now");
  assert_log_line (g_ptr_array_index (lines, 1));
  g_assert_nonnull (strstr (g_ptr_array_index (lines, 1), " GET /test/slow 0 "));
  g_assert_cmpstr (g_ptr_array_index (lines, 2), ==,
                   "stopped without waiting for requests in flight");

  /* The client sees its connection end without an answer. */
  g_thread_join (thread);
  g_assert_nonnull (client.response.error);
  response_clear (&client.response);
}

static void
test_not_ready (void)
{
  g_autofree char *blocker = g_build_filename (g_get_user_data_dir (), "not-a-folder", NULL);
  g_autofree char *line = NULL;
  g_autoptr(SoupSession) session = new_session ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Serve) serve = { 0 };
  g_auto(Response) readyz = { 0 };
  g_auto(Response) healthz = { 0 };
  JsonObject *body;

  /* A file where the data folder should be: the database cannot open. */
  g_assert_true (g_mkdir_with_parents (g_get_user_data_dir (), 0700) == 0);
  g_file_set_contents (blocker, "not a folder", -1, &error);
  g_assert_no_error (error);

  serve_start (&serve, blocker);
  line = serve_read_line (&serve);
  g_assert_true (g_str_has_prefix (line, "database "));
  g_assert_nonnull (strstr (line, ": not ready: "));

  get (session, serve.url, "/readyz", &readyz);
  g_assert_no_error (readyz.error);
  g_assert_cmpuint (readyz.status, ==, 503);
  body = json_object_get_object_member (parse_object (readyz.body, &root), "error");
  g_assert_cmpstr (json_object_get_string_member (body, "code"), ==, "not_ready");
  g_assert_nonnull (strstr (json_object_get_string_member (body, "message"), "not-a-folder"));

  /* Alive all the same. */
  get (session, serve.url, "/healthz", &healthz);
  g_assert_cmpuint (healthz.status, ==, 200);

  g_assert_cmpint (kill (serve.pid, SIGINT), ==, 0);
  g_assert_cmpint (serve_wait (&serve), ==, 0);
}

static void
test_idle_stop (void)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "idle", NULL);
  g_autofree char *line = NULL;
  g_autoptr(GPtrArray) rest = g_ptr_array_new_with_free_func (g_free);
  g_auto(Serve) serve = { 0 };

  serve_start (&serve, data_dir);
  line = serve_read_line (&serve);
  g_assert_true (g_str_has_prefix (line, "database "));

  g_assert_cmpint (kill (serve.pid, SIGINT), ==, 0);
  g_assert_cmpint (serve_wait (&serve), ==, 0);

  while ((line = serve_read_line (&serve)) != NULL)
    g_ptr_array_add (rest, g_steal_pointer (&line));
  g_assert_cmpuint (rest->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (rest, 0), ==, "stopping: finishing 0 requests in flight");
  g_assert_cmpstr (g_ptr_array_index (rest, 1), ==, "stopped");
}

static void
test_port_in_use (void)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "busy", NULL);
  g_autofree char *port = NULL;
  g_autofree char *err = NULL;
  g_auto(Serve) first = { 0 };
  g_auto(Serve) second = { 0 };

  serve_start (&first, data_dir);
  port = g_strdup (strrchr (first.url, ':') + 1);

  serve_spawn (&second, data_dir, port);
  g_assert_cmpint (serve_wait (&second), ==, 1);
  err = serve_dup_stderr (&second);
  g_assert_true (g_str_has_prefix (err, "reflection serve: "));
  g_assert_nonnull (strstr (err, port));

  g_assert_cmpint (kill (first.pid, SIGTERM), ==, 0);
  g_assert_cmpint (serve_wait (&first), ==, 0);
}

typedef struct
{
  char *out;
  char *err;
  int   status;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
run_serve (Run        *run,
           const char *arg1,
           const char *arg2)
{
  g_autofree char *binary = dup_binary ();
  g_auto(GStrv) env = child_environment ();
  g_autoptr(GError) error = NULL;
  const char *argv[] = { binary, "serve", arg1, arg2, NULL };
  int wait_status = 0;

  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
}

static void
assert_refused (const char *arg1,
                const char *arg2,
                const char *fragment)
{
  g_auto(Run) run = { 0 };

  run_serve (&run, arg1, arg2);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_true (g_str_has_prefix (run.err, "reflection serve: "));
  g_assert_nonnull (strstr (run.err, fragment));
  g_assert_nonnull (strstr (run.err, "reflection serve --help"));
}

static void
test_command_line (void)
{
  g_auto(Run) help = { 0 };

  run_serve (&help, "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "reflection serve"));
  g_assert_nonnull (strstr (help.out, "--port"));
  g_assert_nonnull (strstr (help.out, "--bind"));
  g_assert_nonnull (strstr (help.out, "--data-dir"));
  g_assert_cmpstr (help.err, ==, "");

  assert_refused ("--port", "bogus", "“bogus”");
  assert_refused ("--port", "70000", "0 to 65535");
  assert_refused ("--port", "-1", "0 to 65535");
  assert_refused ("--bind", "example.org", "“example.org” is not an IP address");
  assert_refused ("--frobnicate", NULL, "--frobnicate");
  assert_refused ("later", NULL, "“later”");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/serve/lifecycle", test_lifecycle);
  g_test_add_func ("/rfl/serve/forced-stop", test_forced_stop);
  g_test_add_func ("/rfl/serve/not-ready", test_not_ready);
  g_test_add_func ("/rfl/serve/idle-stop", test_idle_stop);
  g_test_add_func ("/rfl/serve/port-in-use", test_port_in_use);
  g_test_add_func ("/rfl/serve/command-line", test_command_line);

  return g_test_run ();
}
