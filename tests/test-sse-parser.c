/* test-sse-parser.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-llm-protocol-private.h"
#include "llm/rfl-sse-parser.h"

/* ------------------------------------------------------------ SSE events */

static gboolean
collect_event_cb (const RflSseEvent  *event,
                  gpointer            user_data,
                  GError            **error)
{
  GPtrArray *events = user_data;

  g_assert_cmpuint (strlen (event->data), ==, event->data_len);
  g_ptr_array_add (events, g_strdup_printf ("%s|%s|%s", event->type,
                                            event->data, event->id));
  return TRUE;
}

/* Feeds @input cut at the given points (sorted, each within the input). */
static GPtrArray *
parse_pieces (const char  *input,
              gsize        len,
              const gsize *cuts,
              guint        n_cuts,
              gboolean    *clean)
{
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(RflSseParser) parser = rfl_sse_parser_new (collect_event_cb, events);
  g_autoptr(GError) error = NULL;
  gsize start = 0;

  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize end = i < n_cuts ? cuts[i] : len;

      g_assert_true (rfl_sse_parser_feed (parser, input + start, end - start,
                                          &error));
      g_assert_no_error (error);
      start = end;
    }

  *clean = rfl_sse_parser_finish (parser);
  return events;
}

static GPtrArray *
parse_whole (const char *input,
             gboolean   *clean)
{
  return parse_pieces (input, strlen (input), NULL, 0, clean);
}

static void
assert_same_events (GPtrArray *expected,
                    GPtrArray *actual)
{
  g_assert_cmpuint (actual->len, ==, expected->len);
  for (guint i = 0; i < expected->len; i++)
    g_assert_cmpstr (g_ptr_array_index (actual, i), ==,
                     g_ptr_array_index (expected, i));
}

static void
assert_events (GPtrArray          *events,
               const char * const *expected)
{
  guint n = g_strv_length ((char **) expected);

  g_assert_cmpuint (events->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (g_ptr_array_index (events, i), ==, expected[i]);
}

static void
test_fields (void)
{
  static const char input[] =
    "data: a\n"
    "data:b\n"
    "data:  c\n"
    "\n"
    "event: custom\n"
    "id: 7\n"
    "data: x\n"
    "\n"
    "data: inherits the id\n"
    "\n"
    "event: lost\n"
    "\n"
    "data\n"
    "\n"
    "unknown: field\n"
    "data: after:colon\n"
    "\n"
    "id\n"
    "data: id cleared\n"
    "\n";
  static const char * const expected[] = {
    "message|a\nb\n c|",
    "custom|x|7",
    "message|inherits the id|7",
    "message||7",
    "message|after:colon|7",
    "message|id cleared|",
    NULL
  };
  g_autoptr(GPtrArray) events = NULL;
  gboolean clean;

  events = parse_whole (input, &clean);
  assert_events (events, expected);
  g_assert_true (clean);
}

static void
test_comments_and_retry (void)
{
  static const char input[] =
    ": keep-alive\n"
    ":\n"
    "\n"
    "retry: 1500\n"
    "data: one\n"
    "\n"
    "retry: 15x\n"
    ": ping\r\n"
    "\r\n"
    "data: two\r\n\r\n";
  static const char * const expected[] = {
    "message|one|", "message|two|", NULL
  };
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(RflSseParser) parser = NULL;
  gboolean clean;

  events = parse_whole (input, &clean);
  assert_events (events, expected);

  parser = rfl_sse_parser_new (collect_event_cb, events);
  g_assert_cmpint (rfl_sse_parser_get_retry (parser), ==, -1);
  g_assert_true (rfl_sse_parser_feed (parser, input, strlen (input), NULL));
  g_assert_cmpint (rfl_sse_parser_get_retry (parser), ==, 1500);
  g_assert_cmpuint (rfl_sse_parser_get_n_events (parser), ==, 2);
}

static void
test_line_endings (void)
{
  static const char * const inputs[] = {
    "data: a\ndata: b\n\ndata: c\n\n",
    "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
    "data: a\rdata: b\r\rdata: c\r\r",
    "data: a\r\ndata: b\n\rdata: c\r\n\n",
  };
  static const char * const expected[] = {
    "message|a\nb|", "message|c|", NULL
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GPtrArray) events = NULL;
      gboolean clean;

      events = parse_whole (inputs[i], &clean);
      assert_events (events, expected);
      g_assert_true (clean);

      /* Byte by byte: a CR ends a piece, its LF starts the next. */
      for (gsize j = 1; j < strlen (inputs[i]); j++)
        {
          g_autoptr(GPtrArray) split = NULL;

          split = parse_pieces (inputs[i], strlen (inputs[i]), &j, 1, &clean);
          assert_events (split, expected);
        }
    }
}

static void
test_bom (void)
{
  static const char input[] = "\xEF\xBB\xBF" "data: after the mark\n\n";
  static const char * const expected[] = {
    "message|after the mark|", NULL
  };

  for (gsize cut = 0; cut <= 4; cut++)
    {
      g_autoptr(GPtrArray) events = NULL;
      gboolean clean;

      events = parse_pieces (input, strlen (input), &cut, 1, &clean);
      assert_events (events, expected);
    }

  {
    /* A lone first byte of a mark is data of the first line. */
    g_autoptr(GPtrArray) events = NULL;
    gboolean clean;

    events = parse_whole ("\xEF" "data: x\n\ndata: y\n\n", &clean);
    g_assert_cmpuint (events->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (events, 0), ==, "message|y|");
  }

  {
    /* Only a leading mark is dropped. */
    g_autoptr(GPtrArray) events = NULL;
    gboolean clean;

    events = parse_whole ("data: x\n\n\xEF\xBB\xBF" "data: y\n\n", &clean);
    g_assert_cmpuint (events->len, ==, 1);
  }
}

static void
test_unfinished (void)
{
  g_autoptr(GPtrArray) events = NULL;
  gboolean clean;

  events = parse_whole ("data: complete\n\ndata: cut", &clean);
  g_assert_cmpuint (events->len, ==, 1);
  g_assert_false (clean);

  g_clear_pointer (&events, g_ptr_array_unref);
  events = parse_whole ("data: complete\n\ndata: no blank line\n", &clean);
  g_assert_cmpuint (events->len, ==, 1);
  g_assert_false (clean);
}

static gboolean
refuse_cb (const RflSseEvent  *event,
           gpointer            user_data,
           GError            **error)
{
  guint *count = user_data;

  (*count)++;
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROTOCOL, "refused");
  return FALSE;
}

static void
test_callback_error (void)
{
  g_autoptr(RflSseParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  static const char input[] = "data: 1\n\ndata: 2\n\n";
  guint count = 0;

  parser = rfl_sse_parser_new (refuse_cb, &count);
  g_assert_false (rfl_sse_parser_feed (parser, input, strlen (input), &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_cmpuint (count, ==, 1);
}

static void
test_too_large (void)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(RflSseParser) parser = rfl_sse_parser_new (collect_event_cb, events);
  g_autoptr(GError) error = NULL;
  gsize size = 1024 * 1024;
  g_autofree char *block = g_malloc (size);
  gboolean ok = TRUE;

  memset (block, 'x', size);
  g_assert_true (rfl_sse_parser_feed (parser, "data: ", 6, NULL));
  for (guint i = 0; ok && i < 20; i++)
    ok = rfl_sse_parser_feed (parser, block, size, &error);

  g_assert_false (ok);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_cmpuint (events->len, ==, 0);
}

/* An OpenAI-shaped stream with what servers put around it: comments,
 * keep-alives, CRLF, an id, a multi-line data field. */
static const char openai_stream[] =
  ": OPENROUTER PROCESSING\r\n"
  "\r\n"
  "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
  "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\r\n"
  "\r\n"
  ": ping\n"
  "\n"
  "id: 42\n"
  "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\n"
  "data: \"finish_reason\":null}]}\n"
  "\n"
  "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\\n\"},"
  "\"finish_reason\":null}]}\r"
  "\r"
  "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
  "\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
  "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\n\n"
  "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
  "\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
  "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},"
  "\"finish_reason\":\"tool_calls\"}]}\n\n"
  "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
  "\"completion_tokens\":7,\"total_tokens\":19}}\n\n"
  "data: [DONE]\n\n";

static const char * const openai_sse_events[] = {
  "message|{\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
  "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}|",
  "message|{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\n"
  "\"finish_reason\":null}]}|42",
  NULL
};

static const char * const openai_protocol_events[] = {
  "M:gpt-4o-mini", "T:Hel", "T:lo\n", "C0:call_1:get_weather",
  "A0:{\"city\":", "A0:\"Oslo\"}", "F:tool_calls", "U:12/7", "END", NULL
};

/* An Anthropic-shaped stream: named events, pings, a tool_use block. */
static const char anthropic_stream[] =
  "event: message_start\n"
  "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
  "\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],"
  "\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n"
  "\n"
  "event: content_block_start\n"
  "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
  "{\"type\":\"text\",\"text\":\"\"}}\n"
  "\n"
  "event: ping\r\n"
  "data: {\"type\": \"ping\"}\r\n"
  "\r\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
  "\"text\":\"Let me check\"}}\n"
  "\n"
  ": a comment between events\n"
  "event: content_block_stop\n"
  "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
  "\n"
  "event: content_block_start\n"
  "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
  "\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n"
  "\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
  "\"partial_json\":\"{\\\"city\\\": \\\"Os\"}}\n"
  "\n"
  "event: content_block_delta\n"
  "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
  "\"partial_json\":\"lo\\\"}\"}}\n"
  "\n"
  "event: content_block_stop\n"
  "data: {\"type\":\"content_block_stop\",\"index\":1}\n"
  "\n"
  "event: message_delta\n"
  "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
  "\"stop_sequence\":null},\"usage\":{\"output_tokens\":30}}\n"
  "\n"
  "event: message_stop\n"
  "data: {\"type\":\"message_stop\"}\n"
  "\n";

static const char * const anthropic_protocol_events[] = {
  "M:claude-3-5-haiku-20241022", "U:25/1", "T:Let me check",
  "C1:toolu_1:get_weather", "A1:{\"city\": \"Os", "A1:lo\"}", "U:-1/30",
  "F:tool_calls", "END", NULL
};

static const char ollama_stream[] =
  "{\"model\":\"llama3.2:3b\",\"created_at\":\"2025-01-01T00:00:00Z\","
  "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
  "\n"
  "{\"model\":\"llama3.2:3b\",\"message\":{\"role\":\"assistant\",\"content\":\" there\\n\"},"
  "\"done\":false}\r\n"
  "{\"model\":\"llama3.2:3b\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
  "\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}}]},"
  "\"done\":false}\n"
  "{\"model\":\"llama3.2:3b\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
  "\"done_reason\":\"length\",\"done\":true,\"prompt_eval_count\":26,\"eval_count\":290}\n";

static const char * const ollama_protocol_events[] = {
  "M:llama3.2:3b", "T:Hi", "M:llama3.2:3b", "T: there\n", "M:llama3.2:3b",
  "C0:call_0:get_weather", "A0:{\"city\":\"Oslo\"}", "M:llama3.2:3b",
  "U:26/290", "F:length", "END", NULL
};

/* Every cut point, and for @pairs every pair of cut points. */
static void
check_every_split (const char *input,
                   gboolean    pairs)
{
  gsize len = strlen (input);
  g_autoptr(GPtrArray) expected = NULL;
  gboolean clean;

  expected = parse_whole (input, &clean);
  g_assert_true (clean);

  for (gsize i = 0; i <= len; i++)
    {
      g_autoptr(GPtrArray) events = parse_pieces (input, len, &i, 1, &clean);

      assert_same_events (expected, events);
      g_assert_true (clean);
    }

  for (gsize i = 0; pairs && i <= len; i++)
    for (gsize j = i; j <= len; j++)
      {
        gsize cuts[2] = { i, j };
        g_autoptr(GPtrArray) events = parse_pieces (input, len, cuts, 2, &clean);

        assert_same_events (expected, events);
      }
}

static void
test_split_openai (void)
{
  g_autoptr(GPtrArray) events = NULL;
  gboolean clean;

  events = parse_whole (openai_stream, &clean);
  g_assert_cmpuint (events->len, ==, 9);
  g_assert_cmpstr (g_ptr_array_index (events, 0), ==, openai_sse_events[0]);
  g_assert_cmpstr (g_ptr_array_index (events, 1), ==, openai_sse_events[1]);
  g_assert_cmpstr (g_ptr_array_index (events, 8), ==, "message|[DONE]|42");

  check_every_split (openai_stream, FALSE);
}

static void
test_split_anthropic (void)
{
  g_autoptr(GPtrArray) events = NULL;
  gboolean clean;

  events = parse_whole (anthropic_stream, &clean);
  g_assert_cmpuint (events->len, ==, 11);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (events, 2), "ping|"));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (events, 10),
                                   "message_stop|"));

  check_every_split (anthropic_stream, FALSE);
}

static void
test_split_pairs (void)
{
  static const char input[] =
    "\xEF\xBB\xBF: hi\r\n\r\nevent: a\rdata: 1\r\ndata: 2\n\r\nid: x\ndata\n\n";
  static const char * const expected[] = { "a|1\n2|", "message||x", NULL };
  g_autoptr(GPtrArray) events = NULL;
  gboolean clean;

  events = parse_whole (input, &clean);
  assert_events (events, expected);
  check_every_split (input, TRUE);
}

/* ------------------------------------------------- protocol stream events */

static gboolean
log_event_cb (const RflLlmEvent  *event,
              gpointer            user_data,
              GError            **error)
{
  GPtrArray *log = user_data;
  g_autofree char *text = g_strndup (event->text, event->text_len);

  switch (event->kind)
    {
    case RFL_LLM_EVENT_TEXT:
      g_ptr_array_add (log, g_strdup_printf ("T:%s", text));
      break;
    case RFL_LLM_EVENT_TOOL_CALL:
      g_ptr_array_add (log, g_strdup_printf ("C%u:%s:%s", event->index,
                                             event->id, event->name));
      break;
    case RFL_LLM_EVENT_TOOL_ARGUMENTS:
      g_ptr_array_add (log, g_strdup_printf ("A%u:%s", event->index, text));
      break;
    case RFL_LLM_EVENT_USAGE:
      g_ptr_array_add (log, g_strdup_printf ("U:%" G_GINT64_FORMAT "/%"
                                             G_GINT64_FORMAT,
                                             event->input_tokens,
                                             event->output_tokens));
      break;
    case RFL_LLM_EVENT_FINISH:
      g_ptr_array_add (log, g_strdup_printf ("F:%s",
                                             rfl_finish_reason_to_string (event->finish)));
      break;
    case RFL_LLM_EVENT_MODEL:
      g_ptr_array_add (log, g_strdup_printf ("M:%s", text));
      break;
    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

/* The protocol events of @input fed in pieces at @cuts; NULL with @error
 * when the stream fails. */
static GPtrArray *
stream_pieces (RflLlmWire   wire,
               const char  *json_tool,
               const char  *input,
               gsize        len,
               const gsize *cuts,
               guint        n_cuts,
               GError     **error)
{
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  RflLlmStream *stream = _rfl_llm_stream_new (wire, json_tool, log_event_cb, log);
  gsize start = 0;
  gboolean ok = TRUE;

  for (guint i = 0; ok && i <= n_cuts; i++)
    {
      gsize end = i < n_cuts ? cuts[i] : len;

      ok = _rfl_llm_stream_feed (stream, input + start, end - start, error);
      start = end;
    }

  if (ok)
    ok = _rfl_llm_stream_end (stream, error);
  _rfl_llm_stream_free (stream);

  if (!ok)
    return NULL;

  g_ptr_array_add (log, g_strdup ("END"));
  return g_steal_pointer (&log);
}

static void
check_protocol_splits (RflLlmWire          wire,
                       const char         *input,
                       const char * const *expected)
{
  gsize len = strlen (input);

  for (gsize i = 0; i <= len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) log = stream_pieces (wire, NULL, input, len, &i, 1,
                                                &error);

      g_assert_no_error (error);
      assert_events (log, expected);
    }
}

static void
test_protocol_openai (void)
{
  check_protocol_splits (RFL_LLM_WIRE_OPENAI, openai_stream,
                         openai_protocol_events);
}

static void
test_protocol_anthropic (void)
{
  check_protocol_splits (RFL_LLM_WIRE_ANTHROPIC, anthropic_stream,
                         anthropic_protocol_events);
}

static void
test_protocol_ollama (void)
{
  check_protocol_splits (RFL_LLM_WIRE_OLLAMA, ollama_stream,
                         ollama_protocol_events);
}

static void
test_protocol_anthropic_json (void)
{
  static const char input[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\","
    "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"profile\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
    "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"age\\\": 4\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
    "{\"type\":\"input_json_delta\",\"partial_json\":\"2}\"}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
    "\"usage\":{\"output_tokens\":9}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";
  static const char * const expected[] = {
    "M:claude", "U:3/1", "T:{\"age\": 4", "T:2}", "U:-1/9", "F:stop", "END",
    NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) log = NULL;

  log = stream_pieces (RFL_LLM_WIRE_ANTHROPIC, "profile", input, strlen (input),
                       NULL, 0, &error);
  g_assert_no_error (error);
  assert_events (log, expected);
}

/* Every prefix of a stream ends either in a complete answer or in a clear
 * protocol error; none crashes. */
static void
check_truncations (RflLlmWire  wire,
                   const char *input)
{
  gsize len = strlen (input);
  guint n_failed = 0;

  for (gsize i = 0; i < len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) log = stream_pieces (wire, NULL, input, i, NULL, 0,
                                                &error);

      if (log == NULL)
        {
          g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
          n_failed++;
        }
    }

  /* Most prefixes stop before the end. */
  g_assert_cmpuint (n_failed, >, len / 2);
}

static void
test_truncated (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) log = NULL;
  static const char cut[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";

  log = stream_pieces (RFL_LLM_WIRE_OPENAI, NULL, cut, strlen (cut), NULL, 0,
                       &error);
  g_assert_null (log);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "before the end"));

  check_truncations (RFL_LLM_WIRE_OPENAI, openai_stream);
  check_truncations (RFL_LLM_WIRE_ANTHROPIC, anthropic_stream);
  check_truncations (RFL_LLM_WIRE_OLLAMA, ollama_stream);
}

static void
check_failure (RflLlmWire  wire,
               const char *input,
               int         code,
               const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) log = NULL;

  log = stream_pieces (wire, NULL, input, strlen (input), NULL, 0, &error);
  g_assert_null (log);
  g_assert_error (error, RFL_ERROR, code);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not contain “%s”", error->message, fragment);
}

static void
test_malformed (void)
{
  check_failure (RFL_LLM_WIRE_OPENAI,
                 "data: {\"id\": \"broken\n\n", RFL_ERROR_PROTOCOL,
                 "{\"id\": \"broken");
  check_failure (RFL_LLM_WIRE_OPENAI,
                 "data: {\"unexpected\":true}\n\n", RFL_ERROR_PROTOCOL,
                 "choices");
  check_failure (RFL_LLM_WIRE_OPENAI,
                 "data: {\"error\":{\"message\":\"Overloaded\"}}\n\n",
                 RFL_ERROR_PROVIDER, "Overloaded");
  check_failure (RFL_LLM_WIRE_OPENAI,
                 "data: [1, 2]\n\n", RFL_ERROR_PROTOCOL, NULL);
  check_failure (RFL_LLM_WIRE_ANTHROPIC,
                 "event: content_block_delta\ndata: {\"type\": \"content_bl\n\n",
                 RFL_ERROR_PROTOCOL, "content_bl");
  check_failure (RFL_LLM_WIRE_ANTHROPIC,
                 "event: content_block_delta\ndata: {\"unexpected\":true}\n\n",
                 RFL_ERROR_PROTOCOL, "type");
  check_failure (RFL_LLM_WIRE_ANTHROPIC,
                 "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                 "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
                 RFL_ERROR_PROTOCOL, "index");
  check_failure (RFL_LLM_WIRE_ANTHROPIC,
                 "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                 "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
                 RFL_ERROR_PROVIDER, "Overloaded");
  check_failure (RFL_LLM_WIRE_OLLAMA, "{\"model\": \"broken\n",
                 RFL_ERROR_PROTOCOL, NULL);
  check_failure (RFL_LLM_WIRE_OLLAMA, "{\"unexpected\":true}\n",
                 RFL_ERROR_PROTOCOL, "done");
  check_failure (RFL_LLM_WIRE_OLLAMA, "{\"error\":\"model runner crashed\"}\n",
                 RFL_ERROR_PROVIDER, "model runner crashed");
  check_failure (RFL_LLM_WIRE_OLLAMA,
                 "{\"message\":{\"tool_calls\":[{\"function\":{}}]},\"done\":false}\n",
                 RFL_ERROR_PROTOCOL, "tool call");
}

static void
test_unknown_events_ignored (void)
{
  static const char input[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
    "event: brand_new\ndata: {\"type\":\"brand_new\",\"x\":1}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
    "{\"stop_reason\":\"max_tokens\"}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  static const char * const expected[] = { "F:length", "END", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) log = NULL;

  log = stream_pieces (RFL_LLM_WIRE_ANTHROPIC, NULL, input, strlen (input),
                       NULL, 0, &error);
  g_assert_no_error (error);
  assert_events (log, expected);
}

static GPtrArray *
parse_answer (RflLlmWire   wire,
              const char  *json_tool,
              const char  *body,
              GError     **error)
{
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  RflLlmStream *stream = _rfl_llm_stream_new (wire, json_tool, log_event_cb, log);
  gboolean ok = _rfl_llm_stream_parse_answer (stream, body, strlen (body), error);

  _rfl_llm_stream_free (stream);
  return ok ? g_steal_pointer (&log) : NULL;
}

static void
test_answers (void)
{
  static const char openai[] =
    "{\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_9\","
    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
    "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,"
    "\"completion_tokens\":2}}";
  static const char * const openai_expected[] = {
    "M:gpt-4o-mini", "C0:call_9:f", "A0:{}", "F:tool_calls", "U:5/2", NULL
  };
  static const char anthropic[] =
    "{\"type\":\"message\",\"model\":\"claude\",\"content\":[{\"type\":\"tool_use\","
    "\"id\":\"t\",\"name\":\"answer\",\"input\":{\"a\":1}}],\"stop_reason\":\"tool_use\","
    "\"usage\":{\"input_tokens\":4,\"output_tokens\":6}}";
  static const char * const anthropic_expected[] = {
    "M:claude", "T:{\"a\":1}", "U:4/6", "F:stop", NULL
  };
  static const char ollama[] =
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
    "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":1,\"eval_count\":2}";
  static const char * const ollama_expected[] = {
    "M:m", "T:Hi", "U:1/2", "F:stop", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) log = NULL;

  log = parse_answer (RFL_LLM_WIRE_OPENAI, NULL, openai, &error);
  g_assert_no_error (error);
  assert_events (log, openai_expected);
  g_clear_pointer (&log, g_ptr_array_unref);

  log = parse_answer (RFL_LLM_WIRE_ANTHROPIC, "answer", anthropic, &error);
  g_assert_no_error (error);
  assert_events (log, anthropic_expected);
  g_clear_pointer (&log, g_ptr_array_unref);

  log = parse_answer (RFL_LLM_WIRE_OLLAMA, NULL, ollama, &error);
  g_assert_no_error (error);
  assert_events (log, ollama_expected);
  g_clear_pointer (&log, g_ptr_array_unref);

  log = parse_answer (RFL_LLM_WIRE_OPENAI, NULL, "this is not JSON {", &error);
  g_assert_null (log);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_clear_error (&error);

  log = parse_answer (RFL_LLM_WIRE_ANTHROPIC, NULL, "{\"unexpected\":true}",
                      &error);
  g_assert_null (log);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_clear_error (&error);

  log = parse_answer (RFL_LLM_WIRE_OLLAMA, NULL,
                      "{\"model\":\"m\",\"done\":false}", &error);
  g_assert_null (log);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/sse-parser/fields", test_fields);
  g_test_add_func ("/rfl/sse-parser/comments-and-retry", test_comments_and_retry);
  g_test_add_func ("/rfl/sse-parser/line-endings", test_line_endings);
  g_test_add_func ("/rfl/sse-parser/bom", test_bom);
  g_test_add_func ("/rfl/sse-parser/unfinished", test_unfinished);
  g_test_add_func ("/rfl/sse-parser/callback-error", test_callback_error);
  g_test_add_func ("/rfl/sse-parser/too-large", test_too_large);
  g_test_add_func ("/rfl/sse-parser/split-openai", test_split_openai);
  g_test_add_func ("/rfl/sse-parser/split-anthropic", test_split_anthropic);
  g_test_add_func ("/rfl/sse-parser/split-pairs", test_split_pairs);
  g_test_add_func ("/rfl/sse-parser/protocol-openai", test_protocol_openai);
  g_test_add_func ("/rfl/sse-parser/protocol-anthropic", test_protocol_anthropic);
  g_test_add_func ("/rfl/sse-parser/protocol-ollama", test_protocol_ollama);
  g_test_add_func ("/rfl/sse-parser/protocol-anthropic-json",
                   test_protocol_anthropic_json);
  g_test_add_func ("/rfl/sse-parser/truncated", test_truncated);
  g_test_add_func ("/rfl/sse-parser/malformed", test_malformed);
  g_test_add_func ("/rfl/sse-parser/unknown-events", test_unknown_events_ignored);
  g_test_add_func ("/rfl/sse-parser/answers", test_answers);

  return g_test_run ();
}
