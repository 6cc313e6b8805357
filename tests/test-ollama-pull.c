/* test-ollama-pull.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-ndjson.h"
#include "llm/rfl-ollama-pull.h"
#include "llm/rfl-provider.h"
#include "rfl-fake-llm.h"

typedef struct
{
  RflFakeLlm *fake;
} Fixture;

typedef struct
{
  guint64 completed;
  guint64 total;
  double  bytes_per_second;
  char   *status;
} Update;

/* What one pull saw, on the test's thread. */
typedef struct
{
  GArray       *updates;        /* Update */
  guint         destroyed;
  gboolean      destroyed_before_done;
  GAsyncResult *result;
  gint64        done_at;
  gint64        first_update_at;
} Pull;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (fixture->fake, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->fake, rfl_fake_llm_free);
}

static void
update_clear (gpointer data)
{
  Update *update = data;

  g_free (update->status);
}

static void
pull_init (Pull *pull)
{
  memset (pull, 0, sizeof *pull);
  pull->updates = g_array_new (FALSE, TRUE, sizeof (Update));
  g_array_set_clear_func (pull->updates, update_clear);
}

static void
pull_clear (Pull *pull)
{
  g_clear_pointer (&pull->updates, g_array_unref);
  g_clear_object (&pull->result);
}

static void
progress_cb (const RflPullProgress *progress,
             gpointer               user_data)
{
  Pull *pull = user_data;
  Update update = {
    progress->completed, progress->total, progress->bytes_per_second,
    g_strdup (progress->status),
  };

  g_assert_cmpuint (pull->destroyed, ==, 0);
  g_assert_null (pull->result);
  if (pull->updates->len == 0)
    pull->first_update_at = g_get_monotonic_time ();
  g_array_append_val (pull->updates, update);
}

static void
progress_destroy (gpointer user_data)
{
  Pull *pull = user_data;

  pull->destroyed++;
  pull->destroyed_before_done = pull->result == NULL;
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Pull *pull = user_data;

  pull->result = g_object_ref (result);
  pull->done_at = g_get_monotonic_time ();
}

static void
start_pull (Pull         *pull,
            const char   *url,
            const char   *model,
            GCancellable *cancellable)
{
  rfl_ollama_pull_async (url, model, progress_cb, pull, progress_destroy,
                         cancellable, done_cb, pull);
}

static gboolean
run_pull (Pull        *pull,
          const char  *url,
          const char  *model,
          GError     **error)
{
  start_pull (pull, url, model, NULL);
  while (pull->result == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (pull->destroyed, ==, 1);
  g_assert_true (pull->destroyed_before_done);
  return rfl_ollama_pull_finish (pull->result, error);
}

static gboolean
has_model (Fixture    *fixture,
           const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  models = rfl_provider_list_models (RFL_PROVIDER_OLLAMA,
                                     rfl_fake_llm_get_url (fixture->fake), NULL,
                                     NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < models->len; i++)
    {
      RflModelInfo *info = g_ptr_array_index (models, i);

      if (g_str_equal (info->name, name))
        return TRUE;
    }

  return FALSE;
}

static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_assert_true (g_socket_close (socket, &error));

  return port;
}

static void
test_success (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  Update *last;
  guint64 previous = 0;
  gboolean saw_speed = FALSE;
  gboolean saw_partial = FALSE;
  Pull pull;

  pull_init (&pull);
  rfl_fake_llm_set_pull (fixture->fake, 4000000, 20, 15);
  g_assert_false (has_model (fixture, "qwen2.5:0.5b"));

  g_assert_true (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                           " qwen2.5:0.5b ", &error));
  g_assert_no_error (error);

  body = rfl_fake_llm_dup_last_request_body (fixture->fake);
  g_assert_nonnull (strstr (body, "\"model\":\"qwen2.5:0.5b\""));
  g_assert_nonnull (strstr (body, "\"stream\":true"));

  /* Coalesced, but with a line every 15 ms the test sees many updates. */
  g_test_message ("%u progress updates", pull.updates->len);
  g_assert_cmpuint (pull.updates->len, >=, 5);
  for (guint i = 0; i < pull.updates->len; i++)
    {
      Update *update = &g_array_index (pull.updates, Update, i);

      g_assert_nonnull (update->status);
      g_assert_cmpuint (update->completed, >=, previous);
      g_assert_cmpuint (update->completed, <=, update->total);
      if (update->total > 0)
        g_assert_cmpuint (update->total, ==, 4000000);
      if (update->completed > 0 && update->completed < update->total)
        saw_partial = TRUE;
      if (update->bytes_per_second > 0)
        saw_speed = TRUE;
      previous = update->completed;
    }
  g_assert_true (saw_partial);
  g_assert_true (saw_speed);

  last = &g_array_index (pull.updates, Update, pull.updates->len - 1);
  g_assert_cmpstr (last->status, ==, "success");
  g_assert_cmpuint (last->completed, ==, 4000000);
  g_assert_cmpuint (last->total, ==, 4000000);

  g_assert_true (has_model (fixture, "qwen2.5:0.5b"));
  pull_clear (&pull);
}

static void
test_coalesced (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Update *last;
  Pull pull;

  pull_init (&pull);
  rfl_fake_llm_set_pull (fixture->fake, 1000000, 200, 0);

  /* The whole stream arrives while this thread does not look at its main
   * context: the updates must pile into one pending idle. */
  start_pull (&pull, rfl_fake_llm_get_url (fixture->fake), "tiny", NULL);
  g_assert_true (rfl_fake_llm_wait_for_requests (fixture->fake, 1, 5000));
  g_usleep (G_USEC_PER_SEC / 2);
  while (pull.result == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (rfl_ollama_pull_finish (pull.result, &error));
  g_assert_no_error (error);
  g_test_message ("%u progress updates for 205 lines", pull.updates->len);
  g_assert_cmpuint (pull.updates->len, >=, 1);
  g_assert_cmpuint (pull.updates->len, <=, 3);
  last = &g_array_index (pull.updates, Update, pull.updates->len - 1);
  g_assert_cmpstr (last->status, ==, "success");
  g_assert_cmpuint (last->completed, ==, 1000000);
  g_assert_true (has_model (fixture, "tiny:latest"));
  pull_clear (&pull);
}

static void
test_unknown (Fixture       *fixture,
              gconstpointer  data)
{
  const char * const pullable[] = { "llama3.2:3b", NULL };
  g_autoptr(GError) error = NULL;
  Pull pull;

  pull_init (&pull);
  rfl_fake_llm_set_pullable (fixture->fake, pullable);
  g_assert_false (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                            "no-such-model:7b", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_cmpstr (error->message, ==,
                   "Ollama could not download “no-such-model:7b”: pull model "
                   "manifest: file does not exist");
  g_assert_false (has_model (fixture, "no-such-model:7b"));
  pull_clear (&pull);
}

static void
test_interrupted (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Pull pull;

  pull_init (&pull);
  rfl_fake_llm_set_pull (fixture->fake, 1000000, 10, 5);
  rfl_fake_llm_set_fault_for_path (fixture->fake, "/api/pull",
                                   RFL_FAKE_LLM_FAULT_DISCONNECT, 4, 1);
  g_assert_false (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                            "llama3.1:8b", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==,
                   "The download was interrupted before it finished; pulling "
                   "again resumes it.");
  g_assert_cmpuint (pull.updates->len, >=, 1);
  g_assert_false (has_model (fixture, "llama3.1:8b"));

  /* Pulling again finishes. */
  g_clear_error (&error);
  pull_clear (&pull);
  pull_init (&pull);
  g_assert_true (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                           "llama3.1:8b", &error));
  g_assert_no_error (error);
  g_assert_true (has_model (fixture, "llama3.1:8b"));
  pull_clear (&pull);
}

static void
test_ended_early (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Pull pull;

  /* A stream that ends cleanly without "success" is interrupted too: the
   * last line is replaced by one without a status. */
  pull_init (&pull);
  rfl_fake_llm_set_pull (fixture->fake, 1000, 2, 0);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_WRONG_SHAPE, 6, 1);
  g_assert_false (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                            "small", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "interrupted"));
  pull_clear (&pull);
}

static void
test_malformed (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Pull pull;

  pull_init (&pull);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_MALFORMED, 3, 1);
  g_assert_false (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                            "small", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_true (g_str_has_prefix (error->message,
                                   "Expected a JSON object on each line"));
  pull_clear (&pull);
}

static void
test_http_error (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Pull pull;

  pull_init (&pull);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 1);
  g_assert_false (run_pull (&pull, rfl_fake_llm_get_url (fixture->fake),
                            "small", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_cmpstr (error->message, ==,
                   "The provider answered HTTP 500: llama runner process has "
                   "terminated: exit status 2");
  g_assert_cmpuint (pull.updates->len, ==, 0);
  pull_clear (&pull);
}

static void
test_unreachable (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autoptr(GError) error = NULL;
  Pull pull;

  pull_init (&pull);
  g_assert_false (run_pull (&pull, url, "small", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNREACHABLE);
  g_assert_true (g_str_has_suffix (error->message, ": Connection refused"));
  pull_clear (&pull);
}

static void
test_invalid_input (void)
{
  g_autoptr(GError) error = NULL;
  Pull pull;

  pull_init (&pull);
  g_assert_false (run_pull (&pull, "http://127.0.0.1:9", "  ", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  pull_clear (&pull);

  pull_init (&pull);
  g_assert_false (run_pull (&pull, "127.0.0.1:11434", "llama3.2", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_cmpstr (error->message, ==,
                   "Enter a URL starting with http:// or https://");
  g_assert_cmpuint (pull.updates->len, ==, 0);
  pull_clear (&pull);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gint64 cancelled_at;
  gint64 elapsed;
  Pull pull;

  pull_init (&pull);
  /* 100 lines, one every 300 ms: the transfer waits most of the time. */
  rfl_fake_llm_set_pull (fixture->fake, 1000000000, 100, 300);
  start_pull (&pull, rfl_fake_llm_get_url (fixture->fake), "big:70b",
              cancellable);
  while (pull.updates->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_usleep (100 * 1000);

  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  while (pull.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  elapsed = pull.done_at - cancelled_at;

  g_assert_false (rfl_ollama_pull_finish (pull.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (pull.destroyed, ==, 1);
  g_test_message ("pull cancelled after %.1f ms", elapsed / 1000.0);
  g_assert_cmpint (elapsed, <, 100 * 1000);

  /* The server notices the client left at its next line, and goes on. */
  for (guint i = 0; i < 200; i++)
    {
      if (rfl_fake_llm_get_aborted_count (fixture->fake) > 0)
        break;
      g_usleep (10 * 1000);
    }
  g_assert_cmpuint (rfl_fake_llm_get_aborted_count (fixture->fake), ==, 1);
  g_assert_false (has_model (fixture, "big:70b"));
  pull_clear (&pull);
}

/* ------------------------------------------------------------- NDJSON */

static const char sample[] =
  "{\"status\":\"pulling manifest\"}\n"
  "{\"status\":\"pulling 6a0746a1ec1a\",\"digest\":\"sha256:6a07\","
  "\"total\":4661211808}\n"
  "\n"
  "{\"status\":\"pulling 6a0746a1ec1a\",\"digest\":\"sha256:6a07\","
  "\"total\":4661211808,\"completed\":1048576}\r\n"
  "{\"status\":\"caf\xc3\xa9 \xe2\x9c\x93\"}\n"
  "{\"status\":\"verifying sha256 digest\"}\n"
  "{\"status\":\"success\"}";

static const char * const expected[] = {
  "{\"status\":\"pulling manifest\"}",
  "{\"status\":\"pulling 6a0746a1ec1a\",\"digest\":\"sha256:6a07\","
  "\"total\":4661211808}",
  "{\"status\":\"pulling 6a0746a1ec1a\",\"digest\":\"sha256:6a07\","
  "\"total\":4661211808,\"completed\":1048576}",
  "{\"status\":\"caf\xc3\xa9 \xe2\x9c\x93\"}",
  "{\"status\":\"verifying sha256 digest\"}",
  "{\"status\":\"success\"}",
};

static gboolean
collect_cb (JsonObject  *object,
            gpointer     user_data,
            GError     **error)
{
  GPtrArray *lines = user_data;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  g_ptr_array_add (lines, json_to_string (node, FALSE));
  return TRUE;
}

static void
assert_lines (GPtrArray *lines)
{
  g_assert_cmpuint (lines->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < lines->len; i++)
    g_assert_cmpstr (g_ptr_array_index (lines, i), ==, expected[i]);
}

/* Feeds @sample cut at the given points. */
static void
feed_split (const gsize *cuts,
            guint        n_cuts)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(RflNdjson) parser = rfl_ndjson_new (collect_cb, lines);
  g_autoptr(GError) error = NULL;
  gsize len = strlen (sample);
  gsize start = 0;

  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize end = i < n_cuts ? cuts[i] : len;

      g_assert_true (rfl_ndjson_feed (parser, sample + start, end - start,
                                      &error));
      g_assert_no_error (error);
      start = end;
    }

  g_assert_true (rfl_ndjson_finish (parser, &error));
  g_assert_no_error (error);
  assert_lines (lines);
  g_assert_cmpuint (rfl_ndjson_get_n_objects (parser), ==, G_N_ELEMENTS (expected));
}

static void
test_ndjson_splits (void)
{
  gsize len = strlen (sample);
  g_autofree gsize *every = g_new (gsize, len);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20260101);

  feed_split (NULL, 0);

  /* Every single split point, including inside UTF-8 sequences and
   * between "\r" and "\n". */
  for (gsize cut = 0; cut <= len; cut++)
    feed_split (&cut, 1);

  /* Every pair of split points. */
  for (gsize a = 0; a <= len; a += 3)
    for (gsize b = a; b <= len; b++)
      {
        gsize cuts[2] = { a, b };

        feed_split (cuts, 2);
      }

  /* One byte at a time. */
  for (gsize i = 0; i < len; i++)
    every[i] = i;
  feed_split (every, len);

  /* Random pieces. */
  for (guint round = 0; round < 500; round++)
    {
      gsize cuts[8];

      for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
        cuts[i] = g_rand_int_range (rand, 0, (gint32) len + 1);
      for (guint i = 1; i < G_N_ELEMENTS (cuts); i++)
        for (guint j = i; j > 0 && cuts[j - 1] > cuts[j]; j--)
          {
            gsize tmp = cuts[j];

            cuts[j] = cuts[j - 1];
            cuts[j - 1] = tmp;
          }
      feed_split (cuts, G_N_ELEMENTS (cuts));
    }
}

static gboolean
stop_at_second_cb (JsonObject  *object,
                   gpointer     user_data,
                   GError     **error)
{
  guint *count = user_data;

  if (++*count == 2)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROVIDER, "stop");
      return FALSE;
    }

  return TRUE;
}

static void
test_ndjson_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *huge = NULL;
  guint count = 0;

  {
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(RflNdjson) parser = rfl_ndjson_new (collect_cb, lines);
    const char text[] = "{\"a\":1}\n{\"status\": \"broken\n{\"b\":2}\n";

    g_assert_false (rfl_ndjson_feed (parser, text, strlen (text), &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_assert_nonnull (strstr (error->message, "“{\"status\": \"broken”"));
    g_assert_cmpuint (lines->len, ==, 1);
    g_clear_error (&error);
  }

  {
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(RflNdjson) parser = rfl_ndjson_new (collect_cb, lines);
    const char text[] = "[1, 2]\n";

    g_assert_false (rfl_ndjson_feed (parser, text, strlen (text), &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  {
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(RflNdjson) parser = rfl_ndjson_new (collect_cb, lines);

    /* An unfinished last line is an error only once the stream ends. */
    g_assert_true (rfl_ndjson_feed (parser, "{\"a\":", 5, &error));
    g_assert_false (rfl_ndjson_finish (parser, &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  {
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(RflNdjson) parser = rfl_ndjson_new (collect_cb, lines);
    gsize size = 2 * 1024 * 1024;

    huge = g_malloc (size);
    memset (huge, ' ', size);
    huge[0] = '{';
    g_assert_true (rfl_ndjson_feed (parser, huge, size / 4, &error));
    g_assert_false (rfl_ndjson_feed (parser, huge + size / 4, size - size / 4,
                                     &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  {
    g_autoptr(RflNdjson) parser = rfl_ndjson_new (stop_at_second_cb, &count);
    const char text[] = "{}\n{}\n{}\n";

    g_assert_false (rfl_ndjson_feed (parser, text, strlen (text), &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
    g_assert_cmpuint (count, ==, 2);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/ollama-pull/ndjson-splits", test_ndjson_splits);
  g_test_add_func ("/rfl/ollama-pull/ndjson-errors", test_ndjson_errors);
  g_test_add_func ("/rfl/ollama-pull/unreachable", test_unreachable);
  g_test_add_func ("/rfl/ollama-pull/invalid-input", test_invalid_input);
#define ADD(path, func) \
  g_test_add ("/rfl/ollama-pull/" path, Fixture, NULL, fixture_setup, func, \
              fixture_teardown)
  ADD ("success", test_success);
  ADD ("coalesced", test_coalesced);
  ADD ("unknown", test_unknown);
  ADD ("interrupted", test_interrupted);
  ADD ("ended-early", test_ended_early);
  ADD ("malformed", test_malformed);
  ADD ("http-error", test_http_error);
  ADD ("cancel", test_cancel);
#undef ADD

  return g_test_run ();
}
