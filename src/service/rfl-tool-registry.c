/* rfl-tool-registry.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-tool-registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rfl-error.h"
#include "rfl-calculator.h"

#define TOOLS_RESOURCE "/org/reflection/Reflection/prompts/tools.json"

static const char * const tool_names[RFL_N_TOOLS] = {
  "calculator",
  "current_time",
  "memory_search",
  "memory_save",
  "file_read",
  "shell_run",
  "web_fetch",
};

const char *
rfl_tool_id_to_string (RflToolId id)
{
  g_return_val_if_fail ((guint) id < RFL_N_TOOLS, NULL);

  return tool_names[id];
}

gboolean
rfl_tool_id_from_string (const char *name,
                         RflToolId  *out)
{
  if (name == NULL)
    return FALSE;

  for (guint i = 0; i < RFL_N_TOOLS; i++)
    {
      if (g_str_equal (name, tool_names[i]))
        {
          if (out != NULL)
            *out = (RflToolId) i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_tool_id_get_activity (RflToolId id)
{
  switch (id)
    {
    case RFL_TOOL_CALCULATOR:
      return _("Calculating…");
    case RFL_TOOL_CURRENT_TIME:
      return _("Checking the time…");
    case RFL_TOOL_MEMORY_SEARCH:
      return _("Searching memories…");
    case RFL_TOOL_MEMORY_SAVE:
      return _("Saving a memory…");
    case RFL_TOOL_FILE_READ:
      return _("Reading a file…");
    case RFL_TOOL_SHELL_RUN:
      return _("Running a command…");
    case RFL_TOOL_WEB_FETCH:
      return _("Fetching a web page…");
    default:
      g_return_val_if_reached (NULL);
    }
}

/* Arguments ------------------------------------------------------------- */

const char *
rfl_tool_arguments_get_string (JsonObject *arguments,
                               const char *name)
{
  JsonNode *node;

  node = json_object_get_member (arguments, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

gboolean
rfl_tool_arguments_get_number (JsonObject *arguments,
                               const char *name,
                               double     *out)
{
  JsonNode *node;
  GType type;

  node = json_object_get_member (arguments, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *out = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *out = json_node_get_double (node);
  else if (type == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);
      char *end = NULL;

      *out = g_ascii_strtod (text, &end);
      if (end == text || *end != '\0')
        return FALSE;
    }
  else
    return FALSE;

  return isfinite (*out);
}

/* Definitions ----------------------------------------------------------- */

static RflChatTool **
load_definitions (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  RflChatTool **tools = g_new0 (RflChatTool *, RFL_N_TOOLS);
  JsonNode *root;
  JsonArray *array;

  bytes = g_resources_lookup_data (TOOLS_RESOURCE, 0, &error);
  if (bytes == NULL
      || !json_parser_load_from_data (parser,
                                      g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), &error))
    {
      g_critical ("Cannot read the tool definitions: %s", error->message);
      return tools;
    }

  root = json_parser_get_root (parser);
  array = JSON_NODE_HOLDS_ARRAY (root) ? json_node_get_array (root) : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *object = json_array_get_object_element (array, i);
      g_autofree char *parameters = NULL;
      g_autoptr(GError) tool_error = NULL;
      const char *name;
      RflToolId id;

      if (object == NULL
          || !rfl_tool_id_from_string (rfl_tool_arguments_get_string (object,
                                                                      "name"),
                                       &id))
        {
          g_critical ("Tool definition %u is not a known tool", i);
          continue;
        }

      name = tool_names[id];
      if (json_object_has_member (object, "parameters"))
        parameters = json_to_string (json_object_get_member (object,
                                                             "parameters"),
                                     FALSE);

      tools[id] = rfl_chat_tool_new (name,
                                     rfl_tool_arguments_get_string (object,
                                                                    "description"),
                                     parameters, &tool_error);
      if (tools[id] == NULL)
        g_critical ("The definition of the tool %s is not valid: %s", name,
                    tool_error->message);
    }

  return tools;
}

const RflChatTool *
rfl_tool_registry_get_definition (RflToolId id)
{
  static RflChatTool **tools = NULL;

  g_return_val_if_fail ((guint) id < RFL_N_TOOLS, NULL);

  if (g_once_init_enter (&tools))
    g_once_init_leave (&tools, load_definitions ());

  return tools[id];
}

/* Calculator and time ----------------------------------------------------- */

char *
rfl_tool_registry_calculate (JsonObject *arguments)
{
  g_autoptr(GError) error = NULL;
  const char *expression;
  double value;

  expression = rfl_tool_arguments_get_string (arguments, "expression");
  if (expression == NULL)
    return g_strdup ("Error: the argument \"expression\" is missing.");

  if (!rfl_calculator_evaluate (expression, &value, &error))
    return g_strdup_printf ("Error: %s", error->message);

  return rfl_calculator_format (value);
}

char *
rfl_tool_registry_describe_time (JsonObject *arguments,
                                 GDateTime  *now)
{
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GTimeZone) zone = NULL;
  g_autofree char *iso = NULL;
  g_autofree char *weekday = NULL;
  const char *identifier;

  identifier = rfl_tool_arguments_get_string (arguments, "timezone");
  if (identifier != NULL && *identifier != '\0')
    {
      zone = g_time_zone_new_identifier (identifier);
      if (zone == NULL)
        return g_strdup_printf ("Error: \"%s\" is not a known time zone; "
                                "use an IANA name such as "
                                "\"Europe/Berlin\".", identifier);
      local = g_date_time_to_timezone (now, zone);
    }
  else
    local = g_date_time_ref (now);

  iso = g_date_time_format_iso8601 (local);
  weekday = g_date_time_format (local, "%A");
  return g_strdup_printf ("%s (%s, time zone %s)", iso, weekday,
                          g_time_zone_get_identifier (g_date_time_get_timezone (local)));
}

/* Files ----------------------------------------------------------------- */

/* The text of @bytes for the model: valid UTF-8, with a note when it was
 * cut at @limit. NULL when it holds a NUL byte (not text). */
static char *
text_for_model (const char *data,
                gsize       len,
                gboolean    truncated,
                gsize       limit)
{
  g_autofree char *valid = NULL;

  if (memchr (data, '\0', len) != NULL)
    return NULL;

  valid = g_utf8_make_valid (data, len);
  if (!truncated)
    return g_steal_pointer (&valid);

  return g_strdup_printf ("%s\n[… cut off after %" G_GSIZE_FORMAT " KiB]",
                          valid, limit / 1024);
}

/* The file @path (relative to the home folder unless absolute) once every
 * symbolic link is resolved, provided that it lies inside the home
 * folder. */
static char *
resolve_in_home (const char  *path,
                 char       **message)
{
  g_autofree char *home = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *resolved = NULL;
  gsize home_len;

  home = realpath (g_get_home_dir (), NULL);
  if (home == NULL)
    {
      *message = g_strdup ("Error: the home folder cannot be found.");
      return NULL;
    }

  joined = g_path_is_absolute (path) ? g_strdup (path)
                                     : g_build_filename (home, path, NULL);
  resolved = realpath (joined, NULL);
  if (resolved == NULL)
    {
      *message = g_strdup_printf ("Error: %s: %s", path, g_strerror (errno));
      return NULL;
    }

  home_len = strlen (home);
  if (!(g_str_equal (home, "/")
        || (strncmp (resolved, home, home_len) == 0
            && resolved[home_len] == '/')))
    {
      *message = g_strdup_printf ("Error: %s is outside the home folder; "
                                  "only files in the home folder can be "
                                  "read.", path);
      return NULL;
    }

  return g_steal_pointer (&resolved);
}

static char *
read_file (JsonObject    *arguments,
           GCancellable  *cancellable)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *resolved = NULL;
  g_autofree char *message = NULL;
  g_autofree char *buffer = NULL;
  const char *path;
  gsize n_read = 0;
  char *text;

  path = rfl_tool_arguments_get_string (arguments, "path");
  if (path == NULL || *path == '\0')
    return g_strdup ("Error: the argument \"path\" is missing.");

  resolved = resolve_in_home (path, &message);
  if (resolved == NULL)
    return g_steal_pointer (&message);

  file = g_file_new_for_path (resolved);
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_TYPE,
                            G_FILE_QUERY_INFO_NONE, cancellable, &error);
  if (info != NULL
      && g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    return g_strdup_printf ("Error: %s is not a regular file.", path);

  if (info != NULL)
    stream = g_file_read (file, cancellable, &error);
  buffer = g_malloc (RFL_TOOL_FILE_READ_MAX_BYTES + 1);
  if (stream == NULL
      || !g_input_stream_read_all (G_INPUT_STREAM (stream), buffer,
                                   RFL_TOOL_FILE_READ_MAX_BYTES + 1,
                                   &n_read, cancellable, &error))
    return g_strdup_printf ("Error: %s: %s", path, error->message);

  text = text_for_model (buffer, MIN (n_read, RFL_TOOL_FILE_READ_MAX_BYTES),
                         n_read > RFL_TOOL_FILE_READ_MAX_BYTES,
                         RFL_TOOL_FILE_READ_MAX_BYTES);
  if (text == NULL)
    return g_strdup_printf ("Error: %s is not a text file.", path);

  return text;
}

/* Web ------------------------------------------------------------------- */

typedef struct
{
  GByteArray   *body;
  gboolean      truncated;
  GCancellable *cancellable;
} Download;

static size_t
download_write_cb (char   *data,
                   size_t  size,
                   size_t  n_items,
                   void   *user_data)
{
  Download *download = user_data;
  gsize len = size * n_items;
  gsize room = RFL_TOOL_WEB_FETCH_MAX_BYTES - download->body->len;

  if (len > room)
    {
      g_byte_array_append (download->body, (const guint8 *) data, room);
      download->truncated = TRUE;
      return 0;
    }

  g_byte_array_append (download->body, (const guint8 *) data, len);
  return len;
}

static int
download_progress_cb (void       *user_data,
                      curl_off_t  dl_total,
                      curl_off_t  dl_now,
                      curl_off_t  ul_total,
                      curl_off_t  ul_now)
{
  Download *download = user_data;

  return g_cancellable_is_cancelled (download->cancellable) ? 1 : 0;
}

static gboolean
check_web_url (const char  *url,
               char       **message)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (scheme == NULL
      || (g_ascii_strcasecmp (scheme, "http") != 0
          && g_ascii_strcasecmp (scheme, "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      *message = g_strdup_printf ("Error: \"%s\" is not an http:// or "
                                  "https:// address.", url);
      return FALSE;
    }

  return TRUE;
}

static char *
fetch_url (JsonObject    *arguments,
           GCancellable  *cancellable)
{
  static gsize curl_ready = 0;
  Download download = { 0 };
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autofree char *message = NULL;
  char error_buffer[CURL_ERROR_SIZE] = "";
  const char *url;
  const char *content_type = NULL;
  CURLcode code;
  g_autofree char *text = NULL;
  CURL *curl;
  long status = 0;

  url = rfl_tool_arguments_get_string (arguments, "url");
  if (url == NULL || *url == '\0')
    return g_strdup ("Error: the argument \"url\" is missing.");
  if (!check_web_url (url, &message))
    return g_steal_pointer (&message);

  if (g_once_init_enter (&curl_ready))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&curl_ready, 1);
    }

  download.body = body;
  download.cancellable = cancellable;

  curl = curl_easy_init ();
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS,
                    (long) RFL_TOOL_WEB_FETCH_TIMEOUT_MS);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, PACKAGE_NAME "/"
                    PACKAGE_VERSION);
  curl_easy_setopt (curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, download_write_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &download);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, download_progress_cb);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &download);

  code = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo (curl, CURLINFO_CONTENT_TYPE, &content_type);
  message = content_type != NULL ? g_strdup (content_type) : NULL;
  curl_easy_cleanup (curl);

  if (code == CURLE_ABORTED_BY_CALLBACK)
    return NULL;
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && download.truncated))
    return g_strdup_printf ("Error: %s: %s", url,
                            *error_buffer != '\0' ? error_buffer
                                                  : curl_easy_strerror (code));

  text = text_for_model ((const char *) body->data, body->len,
                         download.truncated, RFL_TOOL_WEB_FETCH_MAX_BYTES);
  if (text == NULL)
    return g_strdup_printf ("HTTP %ld, %s: the content is not text.", status,
                            message != NULL ? message : "no content type");

  return g_strdup_printf ("HTTP %ld, %s\n\n%s", status,
                          message != NULL ? message : "no content type",
                          text);
}

/* Shell ----------------------------------------------------------------- */

typedef struct
{
  GSubprocess  *process;
  GInputStream *output;
  GByteArray   *data;
  GCancellable *cancellable;    /* the caller's */
  GCancellable *reading;        /* stops the read at the time limit */
  GSource      *timeout;
  gulong        cancelled_id;
  gboolean      timed_out;
  gboolean      truncated;
} ShellRun;

static void
shell_run_free (ShellRun *run)
{
  if (run->timeout != NULL)
    {
      g_source_destroy (run->timeout);
      g_source_unref (run->timeout);
    }
  if (run->cancelled_id != 0)
    g_cancellable_disconnect (run->cancellable, run->cancelled_id);
  g_clear_object (&run->process);
  g_clear_object (&run->output);
  g_clear_pointer (&run->data, g_byte_array_unref);
  g_clear_object (&run->cancellable);
  g_clear_object (&run->reading);
  g_free (run);
}

/* The command runs in a process group of its own, so that stopping it
 * also stops what it started. */
static void
shell_child_setup (gpointer user_data)
{
  setpgid (0, 0);
}

static void
shell_kill (ShellRun *run)
{
  const char *identifier;

  identifier = g_subprocess_get_identifier (run->process);
  if (identifier != NULL)
    kill (-(pid_t) g_ascii_strtoll (identifier, NULL, 10), SIGKILL);
}

static gboolean
shell_timeout_cb (gpointer user_data)
{
  ShellRun *run = user_data;

  run->timed_out = TRUE;
  shell_kill (run);
  g_cancellable_cancel (run->reading);
  g_clear_pointer (&run->timeout, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
shell_cancelled_cb (GCancellable *cancellable,
                    gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
shell_report (GTask *task)
{
  ShellRun *run = g_task_get_task_data (task);
  g_autofree char *output = NULL;
  GString *result = g_string_new (NULL);

  output = g_utf8_make_valid ((const char *) run->data->data, run->data->len);

  if (run->timed_out)
    g_string_append_printf (result, "The command was stopped after %d "
                            "seconds.\n",
                            RFL_TOOL_SHELL_RUN_TIMEOUT_MS / 1000);
  else if (g_subprocess_get_if_exited (run->process))
    g_string_append_printf (result, "Exit status %d.\n",
                            g_subprocess_get_exit_status (run->process));
  else if (g_subprocess_get_if_signaled (run->process))
    g_string_append_printf (result, "Stopped by signal %d.\n",
                            g_subprocess_get_term_sig (run->process));

  if (run->truncated)
    g_string_append_printf (result, "Only the first %d KiB of the output "
                            "are shown.\n",
                            RFL_TOOL_SHELL_RUN_MAX_BYTES / 1024);

  g_string_append (result, *output != '\0' ? output : "(no output)");
  g_task_return_pointer (task, g_string_free (result, FALSE), g_free);
}

static void
shell_wait_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  /* The process was killed if it had to be; waiting only reaps it. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error);

  if (g_task_return_error_if_cancelled (task))
    return;

  shell_report (task);
}

static void shell_read_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data);

static void
shell_read_next (GTask *task)
{
  ShellRun *run = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (run->output, 8192, G_PRIORITY_DEFAULT,
                                   run->reading, shell_read_cb, task);
}

static void
shell_read_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  ShellRun *run = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  gsize len = 0;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                            NULL);
  if (bytes != NULL)
    len = g_bytes_get_size (bytes);

  if (len > 0)
    {
      gsize room = RFL_TOOL_SHELL_RUN_MAX_BYTES - run->data->len;

      g_byte_array_append (run->data, g_bytes_get_data (bytes, NULL),
                           MIN (len, room));
      if (len <= room)
        {
          shell_read_next (task);
          return;
        }
      run->truncated = TRUE;
    }

  /* End of output, an error, the time limit, or enough output: stop the
   * command if it still runs and reap it. */
  if (len > 0 || bytes == NULL)
    shell_kill (run);
  g_subprocess_wait_async (run->process, NULL, shell_wait_cb, task);
}

static void
run_shell (GTask      *task,
           JsonObject *arguments)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path_env = NULL;
  g_autofree char *home_env = NULL;
  ShellRun *run;
  const char *command;
  const char *environment[4];

  command = rfl_tool_arguments_get_string (arguments, "command");
  if (command == NULL || *command == '\0')
    {
      g_task_return_pointer (task, g_strdup ("Error: the argument "
                                             "\"command\" is missing."),
                             g_free);
      return;
    }

  /* A clean environment: nothing of the application's (API keys, session
   * tokens) reaches the command. */
  path_env = g_strdup ("PATH=/usr/local/bin:/usr/bin:/bin");
  home_env = g_strconcat ("HOME=", g_get_home_dir (), NULL);
  environment[0] = path_env;
  environment[1] = home_env;
  environment[2] = "LANG=C.UTF-8";
  environment[3] = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                        | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_environ (launcher, (char **) environment);
  g_subprocess_launcher_set_cwd (launcher, g_get_home_dir ());
  g_subprocess_launcher_set_child_setup (launcher, shell_child_setup, NULL,
                                         NULL);

  run = g_new0 (ShellRun, 1);
  run->data = g_byte_array_new ();
  run->reading = g_cancellable_new ();
  g_task_set_task_data (task, run, (GDestroyNotify) shell_run_free);

  run->process = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh",
                                              "-c", command, NULL);
  if (run->process == NULL)
    {
      g_task_return_pointer (task, g_strdup_printf ("Error: %s",
                                                    error->message),
                             g_free);
      return;
    }

  /* No input: the command sees the end of its input at once. */
  g_output_stream_close (g_subprocess_get_stdin_pipe (run->process), NULL,
                         NULL);
  run->output = g_object_ref (g_subprocess_get_stdout_pipe (run->process));

  if (g_task_get_cancellable (task) != NULL)
    {
      run->cancellable = g_object_ref (g_task_get_cancellable (task));
      run->cancelled_id = g_cancellable_connect (run->cancellable,
                                                 G_CALLBACK (shell_cancelled_cb),
                                                 g_object_ref (run->reading),
                                                 g_object_unref);
    }

  run->timeout = g_timeout_source_new (RFL_TOOL_SHELL_RUN_TIMEOUT_MS);
  g_source_set_callback (run->timeout, shell_timeout_cb, run, NULL);
  g_source_attach (run->timeout, g_task_get_context (task));

  shell_read_next (g_object_ref (task));
}

/* Running ----------------------------------------------------------------- */

typedef struct
{
  RflToolId   id;
  JsonObject *arguments;
} ToolCall;

static void
tool_call_free (ToolCall *call)
{
  json_object_unref (call->arguments);
  g_free (call);
}

static void
tool_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  ToolCall *call = task_data;
  char *result;

  if (call->id == RFL_TOOL_FILE_READ)
    result = read_file (call->arguments, cancellable);
  else
    result = fetch_url (call->arguments, cancellable);

  if (g_task_return_error_if_cancelled (task))
    {
      g_free (result);
      return;
    }

  g_task_return_pointer (task, result, g_free);
}

void
rfl_tool_registry_run_async (RflToolId            id,
                             JsonObject          *arguments,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GDateTime) now = NULL;
  ToolCall *call;

  g_return_if_fail ((guint) id < RFL_N_TOOLS);
  g_return_if_fail (arguments != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_tool_registry_run_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  switch (id)
    {
    case RFL_TOOL_CALCULATOR:
      g_task_return_pointer (task, rfl_tool_registry_calculate (arguments),
                             g_free);
      return;

    case RFL_TOOL_CURRENT_TIME:
      now = g_date_time_new_now_local ();
      g_task_return_pointer (task,
                             rfl_tool_registry_describe_time (arguments, now),
                             g_free);
      return;

    case RFL_TOOL_SHELL_RUN:
      run_shell (task, arguments);
      return;

    case RFL_TOOL_FILE_READ:
    case RFL_TOOL_WEB_FETCH:
      call = g_new0 (ToolCall, 1);
      call->id = id;
      call->arguments = json_object_ref (arguments);
      g_task_set_task_data (task, call, (GDestroyNotify) tool_call_free);
      g_task_run_in_thread (task, tool_worker);
      return;

    case RFL_TOOL_MEMORY_SEARCH:
    case RFL_TOOL_MEMORY_SAVE:
    default:
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               "The tool %s needs the memory store",
                               tool_names[id]);
      return;
    }
}

char *
rfl_tool_registry_run_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
