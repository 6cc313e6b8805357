/* rfl-openai-protocol.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-llm-protocol-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"

/* OpenAI's /v1/chat/completions, which OpenRouter, vLLM, llama.cpp and LM
 * Studio speak too. Streamed answers are server-sent events whose data is
 * a chat.completion.chunk, ending with "data: [DONE]"; the usage comes in
 * a last chunk without choices when stream_options.include_usage is set.
 * Tool calls stream as pieces of delta.tool_calls, keyed by "index": the
 * first piece names the call, the others carry pieces of the arguments
 * string. JSON output is response_format (json_object or json_schema). */


static void
add_message (JsonBuilder    *builder,
             RflChatMessage *message)
{
  RflChatRole role = rfl_chat_message_get_role (message);
  GPtrArray *calls = rfl_chat_message_get_tool_calls (message);
  const char *content = rfl_chat_message_get_content (message);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, rfl_chat_role_to_string (role));
  json_builder_set_member_name (builder, "content");
  if (role == RFL_CHAT_ROLE_ASSISTANT && calls->len > 0 && *content == '\0')
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, content);

  if (role == RFL_CHAT_ROLE_TOOL)
    {
      const char *id = rfl_chat_message_get_tool_call_id (message);

      json_builder_set_member_name (builder, "tool_call_id");
      json_builder_add_string_value (builder, id != NULL ? id : "");
    }

  if (role == RFL_CHAT_ROLE_ASSISTANT && calls->len > 0)
    rfl_tool_calls_add_openai (builder, calls);

  json_builder_end_object (builder);
}

static void
add_tools (JsonBuilder    *builder,
           RflChatRequest *request)
{
  static const char * const choices[] = {
    [RFL_TOOL_CHOICE_AUTO] = "auto",
    [RFL_TOOL_CHOICE_NONE] = "none",
    [RFL_TOOL_CHOICE_REQUIRED] = "required",
  };
  GPtrArray *tools = rfl_chat_request_get_tools (request);

  json_builder_set_member_name (builder, "tools");
  json_builder_begin_array (builder);
  for (guint i = 0; i < tools->len; i++)
    {
      const RflChatTool *tool = g_ptr_array_index (tools, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "function");
      json_builder_set_member_name (builder, "function");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, tool->name);
      if (tool->description != NULL)
        {
          json_builder_set_member_name (builder, "description");
          json_builder_add_string_value (builder, tool->description);
        }
      json_builder_set_member_name (builder, "parameters");
      json_builder_add_value (builder, _rfl_llm_schema_node (tool->parameters));
      json_builder_end_object (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "tool_choice");
  if (rfl_chat_request_get_tool_choice_function (request) != NULL)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "function");
      json_builder_set_member_name (builder, "function");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder,
                                     rfl_chat_request_get_tool_choice_function (request));
      json_builder_end_object (builder);
      json_builder_end_object (builder);
      return;
    }
  json_builder_add_string_value (builder,
                                 choices[rfl_chat_request_get_tool_choice (request)]);
}

static void
add_response_format (JsonBuilder    *builder,
                     RflChatRequest *request)
{
  RflJsonOutput output = rfl_chat_request_get_json_output (request);

  if (output == RFL_JSON_OUTPUT_NONE)
    return;

  json_builder_set_member_name (builder, "response_format");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  if (output == RFL_JSON_OUTPUT_OBJECT)
    {
      json_builder_add_string_value (builder, "json_object");
    }
  else
    {
      json_builder_add_string_value (builder, "json_schema");
      json_builder_set_member_name (builder, "json_schema");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder,
                                     rfl_chat_request_get_json_schema_name (request));
      json_builder_set_member_name (builder, "schema");
      json_builder_add_value (builder,
                              _rfl_llm_schema_node (
                                rfl_chat_request_get_json_schema (request)));
      json_builder_set_member_name (builder, "strict");
      json_builder_add_boolean_value (builder,
                                      rfl_chat_request_get_json_strict (request));
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
}

char *
_rfl_openai_build_chat (RflChatRequest   *request,
                        RflProviderKind   kind,
                        GError          **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GPtrArray *messages = rfl_chat_request_get_messages (request);
  guint max_tokens = rfl_chat_request_get_max_tokens (request);
  gboolean stream = rfl_chat_request_get_stream (request);
  double temperature;

  if (!_rfl_llm_check_request (request, error))
    return NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, rfl_chat_request_get_model (request));
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  for (guint i = 0; i < messages->len; i++)
    add_message (builder, g_ptr_array_index (messages, i));
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, stream);
  if (stream)
    {
      json_builder_set_member_name (builder, "stream_options");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "include_usage");
      json_builder_add_boolean_value (builder, TRUE);
      json_builder_end_object (builder);
    }

  if (rfl_chat_request_get_temperature (request, &temperature))
    {
      json_builder_set_member_name (builder, "temperature");
      json_builder_add_double_value (builder, temperature);
    }

  /* OpenAI replaced max_tokens (refused by its reasoning models); servers
   * speaking the older dialect know only max_tokens. */
  if (max_tokens > 0)
    {
      json_builder_set_member_name (builder, kind == RFL_PROVIDER_OPENAI
                                             ? "max_completion_tokens"
                                             : "max_tokens");
      json_builder_add_int_value (builder, max_tokens);
    }

  if (rfl_chat_request_get_tools (request)->len > 0)
    add_tools (builder, request);
  add_response_format (builder, request);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return _rfl_json_to_string (root);
}

static RflFinishReason
finish_reason (const char *reason)
{
  if (g_str_equal (reason, "stop"))
    return RFL_FINISH_REASON_STOP;
  if (g_str_equal (reason, "length"))
    return RFL_FINISH_REASON_LENGTH;
  if (g_str_equal (reason, "tool_calls") || g_str_equal (reason, "function_call"))
    return RFL_FINISH_REASON_TOOL_CALLS;
  if (g_str_equal (reason, "content_filter"))
    return RFL_FINISH_REASON_CONTENT_FILTER;

  return RFL_FINISH_REASON_OTHER;
}

static gboolean
handle_usage (RflLlmStream  *stream,
              JsonObject    *object,
              GError       **error)
{
  JsonObject *usage = _rfl_json_get_object (object, "usage");
  gint64 input = -1;
  gint64 output = -1;

  if (usage == NULL)
    return TRUE;

  _rfl_json_get_int (usage, "prompt_tokens", &input);
  _rfl_json_get_int (usage, "completion_tokens", &output);
  return _rfl_llm_emit_usage (stream, input, output, error);
}

/* Pieces of tool calls, streamed or whole. */
static gboolean
handle_tool_calls (RflLlmStream  *stream,
                   JsonArray     *calls,
                   GError       **error)
{
  for (guint i = 0; i < json_array_get_length (calls); i++)
    {
      JsonNode *element = json_array_get_element (calls, i);
      JsonObject *call;
      JsonObject *function;
      const char *id;
      const char *name;
      gint64 index = i;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        return _rfl_llm_protocol_error (error, _("tool calls as objects"),
                                        NULL, 0);

      call = json_node_get_object (element);
      function = _rfl_json_get_object (call, "function");
      _rfl_json_get_int (call, "index", &index);
      if (index < 0 || index > G_MAXUINT16)
        return _rfl_llm_protocol_error (error, _("a tool call index"),
                                        NULL, 0);

      id = _rfl_json_get_string (call, "id");
      name = _rfl_json_get_string (function, "name");
      if ((id != NULL || name != NULL)
          && !_rfl_llm_emit_tool_call (stream, (guint) index, id, name, error))
        return FALSE;

      if (!_rfl_llm_emit_tool_arguments (stream, (guint) index,
                                         _rfl_json_get_string (function,
                                                               "arguments"),
                                         error))
        return FALSE;
    }

  return TRUE;
}

/* The first choice of a chunk (@key "delta") or an answer ("message"). */
static gboolean
handle_choices (RflLlmStream  *stream,
                JsonArray     *choices,
                const char    *key,
                GError       **error)
{
  for (guint i = 0; i < json_array_get_length (choices); i++)
    {
      JsonNode *element = json_array_get_element (choices, i);
      JsonObject *choice;
      JsonObject *message;
      JsonArray *calls;
      const char *reason;
      gint64 index = 0;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        return _rfl_llm_protocol_error (error, _("choices as objects"),
                                        NULL, 0);

      /* One answer was asked for; others are not ours to show. */
      choice = json_node_get_object (element);
      if (_rfl_json_get_int (choice, "index", &index) && index != 0)
        continue;

      message = _rfl_json_get_object (choice, key);
      calls = _rfl_json_get_array (message, "tool_calls");
      if (!_rfl_llm_emit_text (stream, _rfl_json_get_string (message, "content"),
                               error))
        return FALSE;
      if (calls != NULL && !handle_tool_calls (stream, calls, error))
        return FALSE;

      reason = _rfl_json_get_string (choice, "finish_reason");
      if (reason != NULL
          && !_rfl_llm_emit_finish (stream, finish_reason (reason), error))
        return FALSE;
    }

  return TRUE;
}

gboolean
_rfl_openai_handle_event (RflLlmStream       *stream,
                          const RflSseEvent  *event,
                          GError            **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  JsonArray *choices;
  JsonNode *error_node;

  if (g_str_equal (event->data, "[DONE]"))
    {
      stream->done = TRUE;
      return TRUE;
    }

  root = _rfl_json_parse_object (event->data, (gssize) event->data_len);
  if (root == NULL)
    return _rfl_llm_protocol_error (error, _("a JSON object in every event"),
                                    event->data, event->data_len);

  object = json_node_get_object (root);
  if ((error_node = json_object_get_member (object, "error")) != NULL)
    return _rfl_llm_provider_error (error, error_node);

  choices = _rfl_json_get_array (object, "choices");
  if (choices == NULL && _rfl_json_get_object (object, "usage") == NULL)
    return _rfl_llm_protocol_error (error,
                                    _("a chat completion chunk with “choices”"),
                                    event->data, event->data_len);

  if (!_rfl_llm_emit_model (stream, _rfl_json_get_string (object, "model"),
                            error))
    return FALSE;
  if (choices != NULL && !handle_choices (stream, choices, "delta", error))
    return FALSE;

  return handle_usage (stream, object, error);
}

gboolean
_rfl_openai_handle_answer (RflLlmStream  *stream,
                           JsonObject    *object,
                           GError       **error)
{
  JsonArray *choices = _rfl_json_get_array (object, "choices");
  JsonNode *error_node = json_object_get_member (object, "error");

  if (error_node != NULL && !JSON_NODE_HOLDS_NULL (error_node))
    return _rfl_llm_provider_error (error, error_node);

  if (choices == NULL || json_array_get_length (choices) == 0)
    return _rfl_llm_protocol_error (error,
                                    _("a chat completion with “choices”"),
                                    NULL, 0);

  if (!_rfl_llm_emit_model (stream, _rfl_json_get_string (object, "model"),
                            error)
      || !handle_choices (stream, choices, "message", error)
      || !handle_usage (stream, object, error))
    return FALSE;

  stream->done = TRUE;
  return TRUE;
}

char *
_rfl_openai_build_embed (const char         *model,
                         const char * const *texts,
                         guint               n_texts)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model);
  json_builder_set_member_name (builder, "input");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n_texts; i++)
    json_builder_add_string_value (builder, texts[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "encoding_format");
  json_builder_add_string_value (builder, "float");
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return _rfl_json_to_string (root);
}

gboolean
_rfl_openai_parse_embed (JsonObject  *object,
                         guint        n_texts,
                         GArray      *out,
                         guint       *dims,
                         guint       *tokens,
                         GError     **error)
{
  JsonArray *data = _rfl_json_get_array (object, "data");
  g_autofree JsonArray **ordered = NULL;
  gint64 count = 0;

  if (data == NULL || json_array_get_length (data) != n_texts)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The provider’s answer could not be read: expected %u "
                     "embeddings."), n_texts);
      return FALSE;
    }

  /* Entries say which input they embed. */
  ordered = g_new0 (JsonArray *, n_texts);
  for (guint i = 0; i < n_texts; i++)
    {
      JsonNode *node = json_array_get_element (data, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node)
                          ? json_node_get_object (node) : NULL;
      gint64 index = i;

      _rfl_json_get_int (entry, "index", &index);
      if (entry == NULL || index < 0 || index >= n_texts
          || ordered[index] != NULL
          || (ordered[index] = _rfl_json_get_array (entry, "embedding")) == NULL)
        return _rfl_llm_protocol_error (error,
                                        _("one embedding for every input"),
                                        NULL, 0);
    }

  for (guint i = 0; i < n_texts; i++)
    if (!_rfl_llm_append_vector (ordered[i], out, dims, error))
      return FALSE;

  if (_rfl_json_get_int (_rfl_json_get_object (object, "usage"),
                         "prompt_tokens", &count) && count > 0)
    *tokens += (guint) MIN (count, G_MAXUINT);

  return TRUE;
}
