/* test-llm-client.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-llm-client.h"
#include "rfl-fake-llm.h"

#define API_KEY "sk-test-0123456789"
#define REPLY "Hello! How can I help?"

typedef struct
{
  RflFakeLlm      *fake;
  RflLlmClient    *client;
  RflProviderKind  kind;
  const char      *model;
} Fixture;

/* What one streamed chat saw, on the test's thread. */
typedef struct
{
  GString      *text;
  guint         n_deltas;
  guint         n_tool_calls;
  gint64        started_at;
  gint64        first_delta_at;
  gint64        done_at;
  gint64        cancelled_at;
  guint         destroyed;
  gboolean      destroyed_before_done;
  gboolean      cancel_on_first;
  GCancellable *cancellable;
  GThread      *thread;
  GAsyncResult *result;
} Stream;

/* The outcome of a chat. */
typedef struct
{
  RflChatResult *result;
  RflChatResult *partial;
  GError        *error;
} Outcome;

static const char *
model_for (RflProviderKind kind)
{
  switch (kind)
    {
    case RFL_PROVIDER_OLLAMA:
      return "llama3.2:3b";
    case RFL_PROVIDER_ANTHROPIC:
      return "claude-3-5-haiku-20241022";
    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      return "gpt-4o-mini";
    }
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->kind = (RflProviderKind) GPOINTER_TO_INT (data);
  fixture->model = model_for (fixture->kind);
  fixture->fake = rfl_fake_llm_new ();
  rfl_fake_llm_set_api_key (fixture->fake, API_KEY);
  g_assert_true (rfl_fake_llm_start (fixture->fake, &error));
  g_assert_no_error (error);

  fixture->client = rfl_llm_client_new (fixture->kind,
                                        rfl_fake_llm_get_url (fixture->fake),
                                        "  " API_KEY "\n", &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->client);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->client);
  g_clear_pointer (&fixture->fake, rfl_fake_llm_free);
}

static void
outcome_clear (Outcome *outcome)
{
  g_clear_pointer (&outcome->result, rfl_chat_result_unref);
  g_clear_pointer (&outcome->partial, rfl_chat_result_unref);
  g_clear_error (&outcome->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Outcome, outcome_clear)

static RflChatRequest *
make_request (Fixture *fixture)
{
  RflChatRequest *request = rfl_chat_request_new (fixture->model);

  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_SYSTEM, "Be brief");
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_USER, "Say hello");
  return request;
}

static JsonObject *
last_body (Fixture *fixture)
{
  g_autofree char *body = rfl_fake_llm_dup_last_request_body (fixture->fake);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, body, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* -------------------------------------------------------------- helpers */

static void
stream_init (Stream *stream)
{
  memset (stream, 0, sizeof *stream);
  stream->text = g_string_new (NULL);
  stream->thread = g_thread_self ();
  stream->cancellable = g_cancellable_new ();
}

static void
stream_clear (Stream *stream)
{
  if (stream->text != NULL)
    g_string_free (stream->text, TRUE);
  g_clear_object (&stream->cancellable);
  g_clear_object (&stream->result);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Stream, stream_clear)

static void
delta_cb (const RflChatDelta *delta,
          gpointer            user_data)
{
  Stream *stream = user_data;

  g_assert_true (g_thread_self () == stream->thread);
  g_assert_null (stream->result);
  g_assert_cmpuint (strlen (delta->text), ==, delta->text_len);

  if (stream->n_deltas++ == 0)
    stream->first_delta_at = g_get_monotonic_time ();
  g_string_append_len (stream->text, delta->text, delta->text_len);
  g_assert_cmpuint (delta->n_tool_calls, >=, stream->n_tool_calls);
  stream->n_tool_calls = delta->n_tool_calls;

  if (stream->cancel_on_first && stream->cancelled_at == 0)
    {
      stream->cancelled_at = g_get_monotonic_time ();
      g_cancellable_cancel (stream->cancellable);
    }
}

static void
delta_destroy (gpointer user_data)
{
  Stream *stream = user_data;

  stream->destroyed++;
  stream->destroyed_before_done = stream->result == NULL;
}

static void
stream_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Stream *stream = user_data;

  stream->result = g_object_ref (result);
  stream->done_at = g_get_monotonic_time ();
}

/* Streams @request on the test's main context until it completes. */
static void
run_stream (Fixture        *fixture,
            RflChatRequest *request,
            Stream         *stream,
            Outcome        *outcome)
{
  stream->started_at = g_get_monotonic_time ();
  rfl_llm_client_chat_stream_async (fixture->client, request, delta_cb, stream,
                                    delta_destroy, stream->cancellable,
                                    stream_done_cb, stream);
  while (stream->result == NULL)
    g_main_context_iteration (NULL, TRUE);

  outcome->result = rfl_llm_client_chat_stream_finish (fixture->client,
                                                       stream->result,
                                                       &outcome->partial,
                                                       &outcome->error);
  g_assert_true ((outcome->result == NULL) == (outcome->error != NULL));
  g_assert_true (outcome->result == NULL || outcome->partial == NULL);
  g_assert_cmpuint (stream->destroyed, ==, 1);
  g_assert_true (stream->destroyed_before_done);
}

static void
assert_reply (Stream        *stream,
              RflChatResult *result)
{
  g_assert_nonnull (result);
  g_assert_cmpstr (rfl_chat_result_get_text (result), ==, REPLY);
  g_assert_cmpstr (stream->text->str, ==, REPLY);
  g_assert_cmpint (rfl_chat_result_get_finish_reason (result), ==,
                   RFL_FINISH_REASON_STOP);
}

/* ------------------------------------------------------------------ chat */

static void
test_stream (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(JsonObject) body = NULL;
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  RflChatResult *result;

  stream_init (&stream);
  rfl_chat_request_set_temperature (request, 0.25);
  rfl_chat_request_set_max_tokens (request, 100);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);
  result = outcome.result;

  assert_reply (&stream, result);
  g_assert_cmpuint (stream.n_deltas, >=, 1);
  g_assert_cmpuint (stream.n_tool_calls, ==, 0);
  g_assert_cmpuint (rfl_chat_result_get_tool_calls (result)->len, ==, 0);
  g_assert_cmpstr (rfl_chat_result_get_model (result), ==, fixture->model);

  /* The fake counts words of the prompt and one token per piece. */
  g_assert_true (rfl_chat_result_has_usage (result));
  g_assert_cmpuint (rfl_chat_result_get_input_tokens (result), ==, 4);
  g_assert_cmpuint (rfl_chat_result_get_output_tokens (result), ==, 7);

  g_assert_cmpint (rfl_chat_result_get_first_token_ms (result), >=, 0);
  g_assert_cmpint (rfl_chat_result_get_first_token_ms (result), <=,
                   rfl_chat_result_get_latency_ms (result));
  g_assert_cmpuint (rfl_chat_result_get_attempts (result), ==, 1);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);

  body = last_body (fixture);
  g_assert_true (json_object_get_boolean_member (body, "stream"));
  g_assert_cmpstr (json_object_get_string_member (body, "model"), ==,
                   fixture->model);

  switch (fixture->kind)
    {
    case RFL_PROVIDER_OLLAMA:
      {
        JsonObject *options = json_object_get_object_member (body, "options");

        g_assert_cmpfloat (json_object_get_double_member (options, "temperature"),
                           ==, 0.25);
        g_assert_cmpint (json_object_get_int_member (options, "num_predict"),
                         ==, 100);
        g_assert_cmpuint (json_array_get_length (
                            json_object_get_array_member (body, "messages")),
                          ==, 2);
      }
      break;

    case RFL_PROVIDER_ANTHROPIC:
      {
        g_autofree char *key =
          rfl_fake_llm_dup_last_request_header (fixture->fake, "x-api-key");
        g_autofree char *version =
          rfl_fake_llm_dup_last_request_header (fixture->fake,
                                                "anthropic-version");

        g_assert_cmpstr (key, ==, API_KEY);
        g_assert_cmpstr (version, ==, "2023-06-01");
        g_assert_cmpstr (json_object_get_string_member (body, "system"), ==,
                         "Be brief");
        g_assert_cmpint (json_object_get_int_member (body, "max_tokens"), ==,
                         100);
        g_assert_cmpuint (json_array_get_length (
                            json_object_get_array_member (body, "messages")),
                          ==, 1);
      }
      break;

    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      {
        g_autofree char *auth =
          rfl_fake_llm_dup_last_request_header (fixture->fake, "Authorization");
        JsonObject *options = json_object_get_object_member (body,
                                                             "stream_options");

        g_assert_cmpstr (auth, ==, "Bearer " API_KEY);
        g_assert_true (json_object_get_boolean_member (options, "include_usage"));
        g_assert_cmpint (json_object_get_int_member (body,
                                                     "max_completion_tokens"),
                         ==, 100);
      }
      break;
    }
}

static void
test_deltas_in_order (Fixture       *fixture,
                      gconstpointer  data)
{
  static const char * const tokens[] = {
    "one", " two", " three", " four", " five", NULL
  };
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  /* Slow enough for every token to be its own delta. */
  rfl_fake_llm_set_reply (fixture->fake, tokens);
  rfl_fake_llm_set_token_delay (fixture->fake, 40);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);

  g_assert_cmpstr (stream.text->str, ==, "one two three four five");
  g_assert_cmpstr (rfl_chat_result_get_text (outcome.result), ==,
                   "one two three four five");
  g_assert_cmpuint (stream.n_deltas, ==, 5);
  /* Tokens were shown as they came, long before the end. */
  g_assert_cmpint (stream.done_at - stream.first_delta_at, >=, 120000);
  g_assert_cmpint (rfl_chat_result_get_first_token_ms (outcome.result), <,
                   rfl_chat_result_get_latency_ms (outcome.result) - 100);
}

static void
test_not_streamed (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(JsonObject) body = NULL;
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  rfl_chat_request_set_stream (request, FALSE);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);

  assert_reply (&stream, outcome.result);
  g_assert_cmpuint (stream.n_deltas, ==, 1);
  g_assert_cmpuint (rfl_chat_result_get_input_tokens (outcome.result), ==, 4);
  g_assert_cmpuint (rfl_chat_result_get_output_tokens (outcome.result), ==, 7);

  body = last_body (fixture);
  g_assert_false (json_object_get_boolean_member (body, "stream"));
  g_assert_false (json_object_has_member (body, "stream_options"));
}

static gpointer
blocking_worker (gpointer data)
{
  Fixture *fixture = data;
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(GError) error = NULL;
  g_auto(Stream) stream = { 0, };
  RflChatResult *partial = NULL;
  RflChatResult *result;

  stream_init (&stream);
  result = rfl_llm_client_chat (fixture->client, request, delta_cb, &stream,
                                &partial, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (partial);
  assert_reply (&stream, result);
  /* Not coalesced: one call per token. */
  g_assert_cmpuint (stream.n_deltas, ==, 7);

  return result;
}

static void
test_blocking (Fixture       *fixture,
               gconstpointer  data)
{
  GThread *thread = g_thread_new ("chat", blocking_worker, fixture);
  g_autoptr(RflChatResult) result = g_thread_join (thread);

  g_assert_cmpuint (rfl_chat_result_get_output_tokens (result), ==, 7);
}

/* One client, several calls at once on different threads. */
static void
test_concurrent (Fixture       *fixture,
                 gconstpointer  data)
{
  GThread *threads[6];

  rfl_fake_llm_set_token_delay (fixture->fake, 5);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("chat", blocking_worker, fixture);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_autoptr(RflChatResult) result = g_thread_join (threads[i]);

      g_assert_cmpstr (rfl_chat_result_get_text (result), ==, REPLY);
    }

  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==,
                    G_N_ELEMENTS (threads));
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  gint64 took;

  rfl_fake_llm_set_token_delay (fixture->fake, 50);
  stream_init (&stream);
  stream.cancel_on_first = TRUE;
  run_stream (fixture, request, &stream, &outcome);

  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  took = stream.done_at - stream.cancelled_at;
  g_test_message ("cancelled in %.1f ms", took / 1000.0);
  g_assert_cmpint (took, <, 100 * 1000);

  /* What had arrived is kept, and nothing came after the cancel. */
  g_assert_cmpuint (stream.n_deltas, ==, 1);
  g_assert_nonnull (outcome.partial);
  g_assert_cmpstr (rfl_chat_result_get_text (outcome.partial), ==,
                   stream.text->str);
  g_assert_cmpint (rfl_chat_result_get_finish_reason (outcome.partial), ==,
                   RFL_FINISH_REASON_NONE);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);
}

static void
test_retry_after (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  gint64 took;

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_429, 1, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);
  assert_reply (&stream, outcome.result);

  took = stream.done_at - stream.started_at;
  g_test_message ("429 with Retry-After: 1, answered after %.0f ms",
                  took / 1000.0);
  g_assert_cmpint (took, >=, 950 * 1000);
  g_assert_cmpint (took, <, 1800 * 1000);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 2);
  g_assert_cmpuint (rfl_chat_result_get_attempts (outcome.result), ==, 2);
  g_assert_cmpint (rfl_chat_result_get_latency_ms (outcome.result), >=, 950);
}

static void
test_server_error_retry (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  gint64 took;

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);
  assert_reply (&stream, outcome.result);

  /* 250 ms plus at most half of it in jitter. */
  took = stream.done_at - stream.started_at;
  g_assert_cmpint (took, >=, 240 * 1000);
  g_assert_cmpint (took, <, 1000 * 1000);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 2);
  g_assert_cmpuint (rfl_chat_result_get_attempts (outcome.result), ==, 2);
}

static void
test_server_error_gives_up (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  rfl_llm_client_set_retries (fixture->client, 3, 10, 1000);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 0);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);

  g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_nonnull (strstr (outcome.error->message, "500"));
  g_assert_null (outcome.partial);
  g_assert_cmpuint (stream.n_deltas, ==, 0);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 3);
}

/* Events or lines after which the first token has been sent. */
static guint
cut_after_first_token (RflProviderKind kind)
{
  switch (kind)
    {
    case RFL_PROVIDER_OLLAMA:
      return 2;           /* "Hello", "!" */
    case RFL_PROVIDER_ANTHROPIC:
      return 5;           /* start, block start, ping, "Hello", "!" */
    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      return 3;           /* role, "Hello", "!" */
    }
}

static void
test_cut_off (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_DISCONNECT,
                          cut_after_first_token (fixture->kind), 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);

  g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_true (g_str_has_prefix (outcome.error->message,
                                   "The answer was cut off"));
  g_assert_nonnull (outcome.partial);
  g_assert_cmpstr (rfl_chat_result_get_text (outcome.partial), ==, "Hello!");
  g_assert_cmpstr (stream.text->str, ==, "Hello!");
  g_assert_cmpint (rfl_chat_result_get_first_token_ms (outcome.partial), >=, 0);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);
}

static void
test_cut_before_first_token (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  rfl_llm_client_set_retries (fixture->client, 3, 50, 1000);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_DISCONNECT, 0, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);

  g_assert_no_error (outcome.error);
  assert_reply (&stream, outcome.result);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 2);
}

static void
test_malformed (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  guint after = cut_after_first_token (fixture->kind);

  /* Broken before anything was shown: a clear error, no retry. */
  {
    g_auto(Stream) stream = { 0, };
    g_auto(Outcome) outcome = { 0, };

    rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_MALFORMED, 0, 1);
    stream_init (&stream);
    run_stream (fixture, request, &stream, &outcome);
    g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_assert_nonnull (strstr (outcome.error->message, "JSON"));
    g_assert_null (outcome.partial);
    g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);
  }

  /* Broken in the middle: cut off, the start kept. */
  {
    g_auto(Stream) stream = { 0, };
    g_auto(Outcome) outcome = { 0, };

    rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_MALFORMED, after, 1);
    stream_init (&stream);
    run_stream (fixture, request, &stream, &outcome);
    g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_assert_true (g_str_has_prefix (outcome.error->message,
                                     "The answer was cut off"));
    g_assert_cmpstr (rfl_chat_result_get_text (outcome.partial), ==, "Hello!");
    g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 2);
  }

  /* Valid JSON of the wrong shape. */
  {
    g_auto(Stream) stream = { 0, };
    g_auto(Outcome) outcome = { 0, };

    rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_WRONG_SHAPE,
                            after, 1);
    stream_init (&stream);
    run_stream (fixture, request, &stream, &outcome);
    g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  }

  /* A whole answer that is not JSON. */
  {
    g_auto(Stream) stream = { 0, };
    g_auto(Outcome) outcome = { 0, };

    rfl_chat_request_set_stream (request, FALSE);
    rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_MALFORMED, 0, 1);
    stream_init (&stream);
    run_stream (fixture, request, &stream, &outcome);
    g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROTOCOL);
    g_assert_cmpuint (stream.n_deltas, ==, 0);
  }
}

static void
test_huge (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  gsize size = 10 * 1024 * 1024;

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HUGE, 0, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);

  g_test_message ("10 MB streamed in %.0f ms, %u deltas",
                  (stream.done_at - stream.started_at) / 1000.0,
                  stream.n_deltas);
  g_assert_cmpuint (rfl_chat_result_get_text_length (outcome.result), ==, size);
  g_assert_cmpuint (stream.text->len, ==, size);
  g_assert_true (memcmp (stream.text->str, "lorem ipsum dolor", 17) == 0);
  g_assert_cmpstr (stream.text->str, ==, rfl_chat_result_get_text (outcome.result));
  g_assert_cmpint (rfl_chat_result_get_finish_reason (outcome.result), ==,
                   RFL_FINISH_REASON_STOP);
}

static void
test_idle_timeout (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  gint64 took;

  rfl_llm_client_set_timeouts (fixture->client, 5000, 5000, 150);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_SLOW, 300, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);

  g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_nonnull (strstr (outcome.error->message, "150 ms"));
  took = stream.done_at - stream.started_at;
  /* The first piece after 300 ms, then 150 ms of silence. */
  g_assert_cmpint (took, >=, 400 * 1000);
  g_assert_cmpint (took, <, 800 * 1000);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);

  /* Ollama's first line is a token: that answer was cut off. */
  if (fixture->kind == RFL_PROVIDER_OLLAMA)
    {
      g_assert_true (g_str_has_prefix (outcome.error->message,
                                       "The answer was cut off"));
      g_assert_cmpstr (rfl_chat_result_get_text (outcome.partial), ==, "Hello");
    }
}

static void
test_first_token_timeout (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };
  gint64 took;

  rfl_llm_client_set_timeouts (fixture->client, 5000, 200, 0);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_SLOW, 1000, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);

  g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_nonnull (strstr (outcome.error->message,
                            "did not start answering within 200 ms"));
  took = stream.done_at - stream.started_at;
  g_assert_cmpint (took, >=, 190 * 1000);
  g_assert_cmpint (took, <, 600 * 1000);
  g_assert_null (outcome.partial);
}

static void
test_slow_tokens_within_limits (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  /* Slow but steady: the idle limit counts silence, not the whole. */
  rfl_llm_client_set_timeouts (fixture->client, 5000, 1000, 200);
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_SLOW, 40, 1);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);

  g_assert_no_error (outcome.error);
  assert_reply (&stream, outcome.result);
  g_assert_cmpint (stream.done_at - stream.started_at, >, 300 * 1000);
}

static void
test_unauthorized (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(GError) error = NULL;
  RflChatResult *result;

  if (fixture->kind == RFL_PROVIDER_OLLAMA)
    {
      g_test_skip ("Ollama takes no key");
      return;
    }

  client = rfl_llm_client_new (fixture->kind,
                               rfl_fake_llm_get_url (fixture->fake),
                               "sk-wrong-key", &error);
  g_assert_no_error (error);
  result = rfl_llm_client_chat (client, request, NULL, NULL, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);
}

static void
test_unknown_model (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(GError) error = NULL;
  RflChatResult *result;

  rfl_chat_request_set_model (request, "no-such-model");
  result = rfl_llm_client_chat (fixture->client, request, NULL, NULL, NULL,
                                NULL, &error);
  g_assert_null (result);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_nonnull (strstr (error->message, "no-such-model"));
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);
}

/* ------------------------------------------------------------ tool calls */

static RflChatTool *
weather_tool (void)
{
  g_autoptr(GError) error = NULL;
  RflChatTool *tool;

  tool = rfl_chat_tool_new ("get_weather", "The weather in a city",
                            "{\"type\":\"object\",\"properties\":{\"city\":"
                            "{\"type\":\"string\"}},\"required\":[\"city\"]}",
                            &error);
  g_assert_no_error (error);
  return tool;
}

static void
check_tool_calls (RflChatResult *result)
{
  GPtrArray *calls = rfl_chat_result_get_tool_calls (result);
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) second = NULL;
  g_autoptr(GError) error = NULL;
  RflToolCall *call;

  g_assert_cmpuint (calls->len, ==, 2);
  g_assert_cmpint (rfl_chat_result_get_finish_reason (result), ==,
                   RFL_FINISH_REASON_TOOL_CALLS);

  call = g_ptr_array_index (calls, 0);
  g_assert_cmpstr (call->name, ==, "get_weather");
  g_assert_cmpstr (call->id, !=, "");
  first = rfl_tool_call_parse_arguments (call, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (first, "city"), ==,
                   "Zürich am See");

  call = g_ptr_array_index (calls, 1);
  g_assert_cmpstr (call->name, ==, "get_time");
  second = rfl_tool_call_parse_arguments (call, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (second, "offset"), ==, 2);
  g_assert_cmpstr (((RflToolCall *) g_ptr_array_index (calls, 0))->id, !=,
                   call->id);
}

static void
queue_tool_calls (Fixture *fixture)
{
  static const char * const names[] = { "get_weather", "get_time", NULL };
  static const char * const arguments[] = {
    "{\"city\": \"Zürich am See\"}", "{\"offset\": 2, \"zone\": \"CET\"}", NULL
  };

  rfl_fake_llm_queue_tool_call_reply (fixture->fake, names, arguments);
}

static void
check_tools_in_body (Fixture *fixture)
{
  g_autoptr(JsonObject) body = last_body (fixture);
  JsonArray *tools = json_object_get_array_member (body, "tools");
  JsonObject *tool = json_array_get_object_element (tools, 0);

  g_assert_cmpuint (json_array_get_length (tools), ==, 1);
  if (fixture->kind == RFL_PROVIDER_ANTHROPIC)
    {
      g_assert_cmpstr (json_object_get_string_member (tool, "name"), ==,
                       "get_weather");
      g_assert_true (json_object_has_member (tool, "input_schema"));
      g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (body, "tool_choice"),
                         "type"), ==, "auto");
    }
  else
    {
      JsonObject *function = json_object_get_object_member (tool, "function");

      g_assert_cmpstr (json_object_get_string_member (tool, "type"), ==,
                       "function");
      g_assert_cmpstr (json_object_get_string_member (function, "name"), ==,
                       "get_weather");
      g_assert_true (json_object_has_member (function, "parameters"));
    }
}

static void
test_tool_calls (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(RflChatTool) tool = weather_tool ();
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  rfl_chat_request_add_tool (request, tool);
  queue_tool_calls (fixture);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);

  check_tool_calls (outcome.result);
  g_assert_cmpstr (rfl_chat_result_get_text (outcome.result), ==, "");
  g_assert_cmpuint (stream.n_tool_calls, ==, 2);
  check_tools_in_body (fixture);

  /* Not streamed. */
  {
    g_auto(Stream) whole = { 0, };
    g_auto(Outcome) whole_outcome = { 0, };

    rfl_chat_request_set_stream (request, FALSE);
    queue_tool_calls (fixture);
    stream_init (&whole);
    run_stream (fixture, request, &whole, &whole_outcome);
    g_assert_no_error (whole_outcome.error);
    check_tool_calls (whole_outcome.result);
  }
}

/* The conversation goes on with the calls and their results. */
static void
test_tool_results (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(RflChatTool) tool = weather_tool ();
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rfl_tool_call_free);
  g_autoptr(RflChatMessage) assistant = NULL;
  g_autoptr(RflChatMessage) answer = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflChatResult) result = NULL;
  JsonArray *messages;
  JsonObject *call_message;
  JsonObject *result_message;

  rfl_chat_request_add_tool (request, tool);
  g_ptr_array_add (calls, rfl_tool_call_new ("call_7", "get_weather",
                                             "{\"city\":\"Oslo\"}"));
  assistant = rfl_chat_message_new_assistant (NULL, calls);
  answer = rfl_chat_message_new_tool_result ("call_7", "get_weather",
                                             "{\"sky\":\"clear\"}");
  rfl_chat_request_add_message (request, assistant);
  rfl_chat_request_add_message (request, answer);

  result = rfl_llm_client_chat (fixture->client, request, NULL, NULL, NULL,
                                NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rfl_chat_result_get_text (result), ==, REPLY);

  body = last_body (fixture);
  messages = json_object_get_array_member (body, "messages");
  call_message = json_array_get_object_element (messages,
                                                json_array_get_length (messages) - 2);
  result_message = json_array_get_object_element (messages,
                                                  json_array_get_length (messages) - 1);
  g_assert_cmpstr (json_object_get_string_member (call_message, "role"), ==,
                   "assistant");

  switch (fixture->kind)
    {
    case RFL_PROVIDER_OLLAMA:
      {
        JsonArray *tool_calls = json_object_get_array_member (call_message,
                                                              "tool_calls");
        JsonObject *function =
          json_object_get_object_member (json_array_get_object_element (tool_calls, 0),
                                         "function");

        g_assert_cmpstr (json_object_get_string_member (
                           json_object_get_object_member (function, "arguments"),
                           "city"), ==, "Oslo");
        g_assert_cmpstr (json_object_get_string_member (result_message, "role"),
                         ==, "tool");
        g_assert_cmpstr (json_object_get_string_member (result_message,
                                                        "tool_name"),
                         ==, "get_weather");
      }
      break;

    case RFL_PROVIDER_ANTHROPIC:
      {
        JsonArray *content = json_object_get_array_member (call_message,
                                                           "content");
        JsonObject *use = json_array_get_object_element (content, 0);
        JsonObject *tool_result =
          json_array_get_object_element (json_object_get_array_member (result_message,
                                                                       "content"), 0);

        g_assert_cmpstr (json_object_get_string_member (use, "type"), ==,
                         "tool_use");
        g_assert_cmpstr (json_object_get_string_member (use, "id"), ==, "call_7");
        g_assert_cmpstr (json_object_get_string_member (result_message, "role"),
                         ==, "user");
        g_assert_cmpstr (json_object_get_string_member (tool_result, "type"), ==,
                         "tool_result");
        g_assert_cmpstr (json_object_get_string_member (tool_result,
                                                        "tool_use_id"),
                         ==, "call_7");
      }
      break;

    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      {
        JsonArray *tool_calls = json_object_get_array_member (call_message,
                                                              "tool_calls");
        JsonObject *call = json_array_get_object_element (tool_calls, 0);

        g_assert_true (json_object_get_null_member (call_message, "content"));
        g_assert_cmpstr (json_object_get_string_member (call, "id"), ==, "call_7");
        g_assert_cmpstr (json_object_get_string_member (
                           json_object_get_object_member (call, "function"),
                           "arguments"), ==, "{\"city\":\"Oslo\"}");
        g_assert_cmpstr (json_object_get_string_member (result_message, "role"),
                         ==, "tool");
        g_assert_cmpstr (json_object_get_string_member (result_message,
                                                        "tool_call_id"),
                         ==, "call_7");
      }
      break;
    }
}

/* ------------------------------------------------------------------ JSON */

static const char schema[] =
  "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"}},"
  "\"required\":[\"age\"],\"additionalProperties\":false}";

static void
check_json_answer (RflChatResult *result)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  g_assert_true (json_parser_load_from_data (parser,
                                             rfl_chat_result_get_text (result),
                                             -1, &error));
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (object, "age"), ==, 42);
  g_assert_cmpint (rfl_chat_result_get_finish_reason (result), ==,
                   RFL_FINISH_REASON_STOP);
  g_assert_cmpuint (rfl_chat_result_get_tool_calls (result)->len, ==, 0);
}

static void
test_json_schema (Fixture       *fixture,
                  gconstpointer  data)
{
  static const char * const tokens[] = { "{\"age\":", " 42", "}", NULL };
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Stream) stream = { 0, };
  g_auto(Outcome) outcome = { 0, };

  rfl_fake_llm_set_reply (fixture->fake, tokens);
  g_assert_true (rfl_chat_request_set_json_schema (request, "person", schema,
                                                   TRUE, &error));
  g_assert_no_error (error);
  stream_init (&stream);
  run_stream (fixture, request, &stream, &outcome);
  g_assert_no_error (outcome.error);
  check_json_answer (outcome.result);
  g_assert_cmpstr (stream.text->str, ==, rfl_chat_result_get_text (outcome.result));

  body = last_body (fixture);
  switch (fixture->kind)
    {
    case RFL_PROVIDER_OLLAMA:
      {
        JsonObject *format = json_object_get_object_member (body, "format");

        g_assert_cmpstr (json_object_get_string_member (format, "type"), ==,
                         "object");
        g_assert_true (json_object_has_member (format, "properties"));
      }
      break;

    case RFL_PROVIDER_ANTHROPIC:
      {
        JsonArray *tools = json_object_get_array_member (body, "tools");
        JsonObject *tool = json_array_get_object_element (tools, 0);
        JsonObject *choice = json_object_get_object_member (body, "tool_choice");

        g_assert_cmpstr (json_object_get_string_member (tool, "name"), ==,
                         "person");
        g_assert_true (json_object_has_member (
                         json_object_get_object_member (tool, "input_schema"),
                         "properties"));
        g_assert_cmpstr (json_object_get_string_member (choice, "type"), ==,
                         "tool");
        g_assert_cmpstr (json_object_get_string_member (choice, "name"), ==,
                         "person");
      }
      break;

    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      {
        JsonObject *format = json_object_get_object_member (body,
                                                            "response_format");
        JsonObject *json_schema = json_object_get_object_member (format,
                                                                 "json_schema");

        g_assert_cmpstr (json_object_get_string_member (format, "type"), ==,
                         "json_schema");
        g_assert_cmpstr (json_object_get_string_member (json_schema, "name"),
                         ==, "person");
        g_assert_true (json_object_get_boolean_member (json_schema, "strict"));
        g_assert_true (json_object_has_member (
                         json_object_get_object_member (json_schema, "schema"),
                         "required"));
      }
      break;
    }

  /* Whole answers too. */
  {
    g_auto(Stream) whole = { 0, };
    g_auto(Outcome) whole_outcome = { 0, };

    rfl_chat_request_set_stream (request, FALSE);
    stream_init (&whole);
    run_stream (fixture, request, &whole, &whole_outcome);
    g_assert_no_error (whole_outcome.error);
    check_json_answer (whole_outcome.result);
  }
}

static void
test_json_object (Fixture       *fixture,
                  gconstpointer  data)
{
  static const char * const tokens[] = { "{\"age\": 42}", NULL };
  g_autoptr(RflChatRequest) request = make_request (fixture);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflChatResult) result = NULL;

  rfl_fake_llm_set_reply (fixture->fake, tokens);
  rfl_chat_request_set_json_object (request);
  result = rfl_llm_client_chat (fixture->client, request, NULL, NULL, NULL,
                                NULL, &error);
  g_assert_no_error (error);
  check_json_answer (result);

  body = last_body (fixture);
  switch (fixture->kind)
    {
    case RFL_PROVIDER_OLLAMA:
      g_assert_cmpstr (json_object_get_string_member (body, "format"), ==,
                       "json");
      break;

    case RFL_PROVIDER_ANTHROPIC:
      g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (body, "tool_choice"),
                         "name"), ==, "json_answer");
      break;

    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (body, "response_format"),
                         "type"), ==, "json_object");
      break;
    }

  /* Anthropic answers JSON through a tool: no other tools then. */
  if (fixture->kind == RFL_PROVIDER_ANTHROPIC)
    {
      g_autoptr(RflChatTool) tool = weather_tool ();
      g_auto(Stream) stream = { 0, };
      g_auto(Outcome) outcome = { 0, };

      rfl_chat_request_add_tool (request, tool);
      stream_init (&stream);
      run_stream (fixture, request, &stream, &outcome);
      g_assert_error (outcome.error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 1);
    }
}

/* ------------------------------------------------------------ embeddings */

static void
check_vectors (RflEmbeddings      *embeddings,
               const char * const *texts)
{
  guint n = g_strv_length ((char **) texts);

  g_assert_cmpuint (embeddings->n_vectors, ==, n);
  g_assert_cmpuint (embeddings->dims, ==, 64);
  for (guint i = 0; i < n; i++)
    {
      float expected[64];
      const float *vector = rfl_embeddings_get_vector (embeddings, i);

      rfl_fake_llm_embed_text (texts[i], 64, expected);
      for (guint d = 0; d < 64; d++)
        g_assert_cmpfloat_with_epsilon (vector[d], expected[d], 1e-5);
    }
}

static void
embed_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_embeddings (Fixture       *fixture,
                 gconstpointer  data)
{
  static const char * const texts[] = {
    "the cat sat on the mat", "a dog ran in the park", "the cat slept", NULL
  };
  const char *model = fixture->kind == RFL_PROVIDER_OLLAMA
                      ? "nomic-embed-text" : "text-embedding-3-small";
  g_autoptr(RflEmbeddings) embeddings = NULL;
  g_autoptr(RflEmbeddings) async_embeddings = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(RflEmbeddings) batched = NULL;
  g_autofree char *path = NULL;
  g_autofree char *id = NULL;

  if (fixture->kind == RFL_PROVIDER_ANTHROPIC)
    {
      embeddings = rfl_llm_client_embed (fixture->client, "any", texts, NULL,
                                         &error);
      g_assert_null (embeddings);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 0);
      return;
    }

  embeddings = rfl_llm_client_embed (fixture->client, model, texts, NULL,
                                     &error);
  g_assert_no_error (error);
  check_vectors (embeddings, texts);
  id = rfl_llm_client_dup_embedder_id (fixture->client, model);
  g_assert_true (g_str_has_suffix (id, model));
  g_assert_true (g_str_has_prefix (id, fixture->kind == RFL_PROVIDER_OLLAMA
                                       ? "ollama:" : "openai:"));
  g_assert_cmpuint (embeddings->input_tokens, >, 0);
  path = rfl_fake_llm_dup_last_request_path (fixture->fake);
  g_assert_cmpstr (path, ==, fixture->kind == RFL_PROVIDER_OLLAMA
                             ? "/api/embed" : "/v1/embeddings");

  rfl_llm_client_embed_async (fixture->client, model, texts, NULL,
                              embed_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  async_embeddings = rfl_llm_client_embed_finish (fixture->client, result,
                                                  &error);
  g_assert_no_error (error);
  check_vectors (async_embeddings, texts);

  /* Long lists go in batches, in order. */
  rfl_fake_llm_clear_requests (fixture->fake);
  for (guint i = 0; i < 70; i++)
    g_ptr_array_add (many, g_strdup_printf ("text number %u", i));
  g_ptr_array_add (many, NULL);
  batched = rfl_llm_client_embed (fixture->client, model,
                                  (const char * const *) many->pdata, NULL,
                                  &error);
  g_assert_no_error (error);
  check_vectors (batched, (const char * const *) many->pdata);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 2);

  /* Failures retried like chats. */
  {
    g_autoptr(RflEmbeddings) retried = NULL;

    rfl_fake_llm_clear_requests (fixture->fake);
    rfl_llm_client_set_retries (fixture->client, 3, 50, 1000);
    rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 1);
    retried = rfl_llm_client_embed (fixture->client, model, texts, NULL,
                                    &error);
    g_assert_no_error (error);
    check_vectors (retried, texts);
    g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 2);
  }

  /* An answer of the wrong shape. */
  {
    g_autoptr(RflEmbeddings) wrong = NULL;

    rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_WRONG_SHAPE, 0, 1);
    wrong = rfl_llm_client_embed (fixture->client, model, texts, NULL, &error);
    g_assert_null (wrong);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  }
}

/* --------------------------------------------------------- plain checks */

/* A port nothing listens on: bound, read back, closed. */
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
test_unreachable (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(RflChatRequest) request = rfl_chat_request_new ("llama3.2:3b");
  g_autoptr(GError) error = NULL;
  RflChatResult *partial = NULL;
  RflChatResult *result;
  gint64 started;
  gint64 took;

  client = rfl_llm_client_new (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_no_error (error);
  rfl_llm_client_set_retries (client, 3, 100, 1000);
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_USER, "Hi");

  started = g_get_monotonic_time ();
  result = rfl_llm_client_chat (client, request, NULL, NULL, &partial, NULL,
                                &error);
  took = g_get_monotonic_time () - started;
  g_assert_null (result);
  g_assert_null (partial);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "Connection refused"));
  /* Two waits: 100–150 ms, then 200–300 ms. */
  g_assert_cmpint (took, >=, 300 * 1000);
  g_assert_cmpint (took, <, 2000 * 1000);
}

static void
test_cancel_before_start (void)
{
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(RflChatRequest) request = rfl_chat_request_new ("m");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  client = rfl_llm_client_new (RFL_PROVIDER_OLLAMA, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rfl_llm_client_get_base_url (client), ==,
                   "http://127.0.0.1:11434");
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_USER, "Hi");
  g_cancellable_cancel (cancellable);
  g_assert_null (rfl_llm_client_chat (client, request, NULL, NULL, NULL,
                                      cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_bad_input (void)
{
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(RflChatRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  RflChatTool *tool;

  client = rfl_llm_client_new (RFL_PROVIDER_OPENAI_COMPATIBLE, NULL, NULL,
                               &error);
  g_assert_null (client);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  client = rfl_llm_client_new (RFL_PROVIDER_OPENAI, "ftp://example.com", NULL,
                               &error);
  g_assert_null (client);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  client = rfl_llm_client_new (RFL_PROVIDER_OPENAI, NULL, "sk-a\nb", &error);
  g_assert_null (client);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  client = rfl_llm_client_new (RFL_PROVIDER_OPENAI, NULL, "sk-x", &error);
  g_assert_no_error (error);

  /* Refused before any request is made. */
  request = rfl_chat_request_new ("");
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_USER, "Hi");
  g_assert_null (rfl_llm_client_chat (client, request, NULL, NULL, NULL, NULL,
                                      &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_clear_pointer (&request, rfl_chat_request_unref);
  request = rfl_chat_request_new ("gpt-4o-mini");
  g_assert_null (rfl_llm_client_chat (client, request, NULL, NULL, NULL, NULL,
                                      &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  tool = rfl_chat_tool_new ("bad name", NULL, NULL, &error);
  g_assert_null (tool);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  tool = rfl_chat_tool_new ("ok", NULL, "[1]", &error);
  g_assert_null (tool);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_false (rfl_chat_request_set_json_schema (request, "s", "not json",
                                                    FALSE, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_cmpint (rfl_chat_request_get_json_output (request), ==,
                   RFL_JSON_OUTPUT_NONE);
}

static void
test_types (void)
{
  g_autoptr(RflToolCall) call = rfl_tool_call_new (NULL, "f", NULL);
  g_autoptr(RflToolCall) bad = rfl_tool_call_new ("id", "f", "[1, 2]");
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(GError) error = NULL;
  RflChatRole role;

  for (guint i = 0; i <= RFL_CHAT_ROLE_TOOL; i++)
    {
      g_assert_true (rfl_chat_role_from_string (rfl_chat_role_to_string (i),
                                                &role));
      g_assert_cmpint (role, ==, i);
    }
  g_assert_false (rfl_chat_role_from_string ("robot", &role));
  g_assert_cmpstr (rfl_finish_reason_to_string (RFL_FINISH_REASON_TOOL_CALLS),
                   ==, "tool_calls");

  g_assert_cmpstr (call->arguments, ==, "{}");
  arguments = rfl_tool_call_parse_arguments (call, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (arguments), ==, 0);
  g_assert_null (rfl_tool_call_parse_arguments (bad, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char      *name;
    RflProviderKind  kind;
  } protocols[] = {
    { "ollama", RFL_PROVIDER_OLLAMA },
    { "openai", RFL_PROVIDER_OPENAI },
    { "anthropic", RFL_PROVIDER_ANTHROPIC },
  };
  static const struct
  {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } cases[] = {
    { "stream", test_stream },
    { "deltas-in-order", test_deltas_in_order },
    { "not-streamed", test_not_streamed },
    { "blocking", test_blocking },
    { "concurrent", test_concurrent },
    { "cancel", test_cancel },
    { "retry-after", test_retry_after },
    { "server-error-retry", test_server_error_retry },
    { "server-error-gives-up", test_server_error_gives_up },
    { "cut-off", test_cut_off },
    { "cut-before-first-token", test_cut_before_first_token },
    { "malformed", test_malformed },
    { "huge", test_huge },
    { "idle-timeout", test_idle_timeout },
    { "first-token-timeout", test_first_token_timeout },
    { "slow-tokens", test_slow_tokens_within_limits },
    { "unauthorized", test_unauthorized },
    { "unknown-model", test_unknown_model },
    { "tool-calls", test_tool_calls },
    { "tool-results", test_tool_results },
    { "json-schema", test_json_schema },
    { "json-object", test_json_object },
    { "embeddings", test_embeddings },
  };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/llm-client/types", test_types);
  g_test_add_func ("/rfl/llm-client/bad-input", test_bad_input);
  g_test_add_func ("/rfl/llm-client/unreachable", test_unreachable);
  g_test_add_func ("/rfl/llm-client/cancel-before-start",
                   test_cancel_before_start);

  for (guint p = 0; p < G_N_ELEMENTS (protocols); p++)
    for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
      {
        g_autofree char *path = g_strdup_printf ("/rfl/llm-client/%s/%s",
                                                 protocols[p].name,
                                                 cases[c].name);

        g_test_add (path, Fixture, GINT_TO_POINTER (protocols[p].kind),
                    fixture_setup, cases[c].func, fixture_teardown);
      }

  return g_test_run ();
}
