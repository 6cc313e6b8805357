/* rfl-ollama-protocol.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-llm-protocol-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"

/* Ollama's /api/chat: one JSON object per line, the last with
 * "done": true, "done_reason" and the token counts (prompt_eval_count,
 * eval_count). Tool calls arrive whole in message.tool_calls, their
 * arguments as an object. JSON output is the "format" member: "json" or a
 * JSON Schema. */

static gboolean
add_message (JsonBuilder     *builder,
             RflChatMessage  *message,
             GError         **error)
{
  RflChatRole role = rfl_chat_message_get_role (message);
  GPtrArray *calls = rfl_chat_message_get_tool_calls (message);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, rfl_chat_role_to_string (role));
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, rfl_chat_message_get_content (message));

  if (role == RFL_CHAT_ROLE_TOOL && rfl_chat_message_get_tool_name (message))
    {
      json_builder_set_member_name (builder, "tool_name");
      json_builder_add_string_value (builder,
                                     rfl_chat_message_get_tool_name (message));
    }

  if (role == RFL_CHAT_ROLE_ASSISTANT && calls->len > 0)
    {
      json_builder_set_member_name (builder, "tool_calls");
      json_builder_begin_array (builder);
      for (guint i = 0; i < calls->len; i++)
        {
          const RflToolCall *call = g_ptr_array_index (calls, i);
          JsonNode *arguments = _rfl_llm_tool_call_arguments (call, error);

          if (arguments == NULL)
            return FALSE;

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "function");
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, call->name);
          json_builder_set_member_name (builder, "arguments");
          json_builder_add_value (builder, arguments);
          json_builder_end_object (builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
    }

  json_builder_end_object (builder);
  return TRUE;
}

static void
add_tools (JsonBuilder *builder,
           GPtrArray   *tools)
{
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
}

static void
add_options (JsonBuilder    *builder,
             RflChatRequest *request)
{
  guint max_tokens = rfl_chat_request_get_max_tokens (request);
  double temperature;
  gboolean has_temperature;

  has_temperature = rfl_chat_request_get_temperature (request, &temperature);
  if (!has_temperature && max_tokens == 0)
    return;

  json_builder_set_member_name (builder, "options");
  json_builder_begin_object (builder);
  if (has_temperature)
    {
      json_builder_set_member_name (builder, "temperature");
      json_builder_add_double_value (builder, temperature);
    }
  if (max_tokens > 0)
    {
      json_builder_set_member_name (builder, "num_predict");
      json_builder_add_int_value (builder, max_tokens);
    }
  json_builder_end_object (builder);
}

char *
_rfl_ollama_build_chat (RflChatRequest  *request,
                        GError         **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GPtrArray *messages = rfl_chat_request_get_messages (request);
  GPtrArray *tools = rfl_chat_request_get_tools (request);

  if (!_rfl_llm_check_request (request, error))
    return NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, rfl_chat_request_get_model (request));
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  for (guint i = 0; i < messages->len; i++)
    if (!add_message (builder, g_ptr_array_index (messages, i), error))
      return NULL;
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, rfl_chat_request_get_stream (request));

  /* Ollama has no tool choice: "none" leaves the tools out. */
  if (tools->len > 0
      && rfl_chat_request_get_tool_choice (request) != RFL_TOOL_CHOICE_NONE)
    add_tools (builder, tools);

  switch (rfl_chat_request_get_json_output (request))
    {
    case RFL_JSON_OUTPUT_OBJECT:
      json_builder_set_member_name (builder, "format");
      json_builder_add_string_value (builder, "json");
      break;

    case RFL_JSON_OUTPUT_SCHEMA:
      json_builder_set_member_name (builder, "format");
      json_builder_add_value (builder,
                              _rfl_llm_schema_node (
                                rfl_chat_request_get_json_schema (request)));
      break;

    case RFL_JSON_OUTPUT_NONE:
    default:
      break;
    }

  add_options (builder, request);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return _rfl_json_to_string (root);
}

static RflFinishReason
finish_reason (const char *reason)
{
  if (reason == NULL || g_str_equal (reason, "stop"))
    return RFL_FINISH_REASON_STOP;
  if (g_str_equal (reason, "length"))
    return RFL_FINISH_REASON_LENGTH;

  return RFL_FINISH_REASON_OTHER;
}

static gboolean
handle_tool_calls (RflLlmStream  *stream,
                   JsonArray     *calls,
                   GError       **error)
{
  for (guint i = 0; i < json_array_get_length (calls); i++)
    {
      JsonNode *element = json_array_get_element (calls, i);
      JsonObject *function = NULL;
      JsonNode *arguments;
      g_autofree char *id = NULL;
      g_autofree char *text = NULL;
      const char *name;
      guint index;

      if (JSON_NODE_HOLDS_OBJECT (element))
        function = _rfl_json_get_object (json_node_get_object (element),
                                         "function");
      name = _rfl_json_get_string (function, "name");
      if (name == NULL)
        return _rfl_llm_protocol_error (error,
                                        _("a tool call with a function name"),
                                        NULL, 0);

      index = stream->n_tool_calls++;
      id = g_strdup (_rfl_json_get_string (json_node_get_object (element), "id"));
      if (id == NULL)
        id = g_strdup_printf ("call_%u", index);

      arguments = json_object_get_member (function, "arguments");
      if (arguments != NULL && JSON_NODE_HOLDS_OBJECT (arguments))
        text = _rfl_json_to_string (arguments);
      else if (arguments != NULL
               && json_node_get_value_type (arguments) == G_TYPE_STRING)
        text = g_strdup (json_node_get_string (arguments));

      if (!_rfl_llm_emit_tool_call (stream, index, id, name, error)
          || !_rfl_llm_emit_tool_arguments (stream, index, text, error))
        return FALSE;
    }

  return TRUE;
}

gboolean
_rfl_ollama_handle_object (RflLlmStream  *stream,
                           JsonObject    *object,
                           GError       **error)
{
  JsonNode *done_node = json_object_get_member (object, "done");
  JsonNode *error_node = json_object_get_member (object, "error");
  JsonObject *message = _rfl_json_get_object (object, "message");
  JsonArray *calls = _rfl_json_get_array (message, "tool_calls");
  gint64 input = -1;
  gint64 output = -1;

  if (error_node != NULL)
    return _rfl_llm_provider_error (error, error_node);

  if (done_node == NULL
      || json_node_get_value_type (done_node) != G_TYPE_BOOLEAN)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      g_autofree char *text = NULL;

      json_node_set_object (node, object);
      text = _rfl_json_to_string (node);
      return _rfl_llm_protocol_error (error,
                                      _("a chat object with a “done” field"),
                                      text, strlen (text));
    }

  if (!_rfl_llm_emit_model (stream, _rfl_json_get_string (object, "model"),
                            error)
      || !_rfl_llm_emit_text (stream, _rfl_json_get_string (message, "content"),
                              error))
    return FALSE;

  if (calls != NULL && !handle_tool_calls (stream, calls, error))
    return FALSE;

  if (!json_node_get_boolean (done_node))
    return TRUE;

  _rfl_json_get_int (object, "prompt_eval_count", &input);
  _rfl_json_get_int (object, "eval_count", &output);
  if (!_rfl_llm_emit_usage (stream, input, output, error)
      || !_rfl_llm_emit_finish (stream,
                                finish_reason (_rfl_json_get_string (object,
                                                                     "done_reason")),
                                error))
    return FALSE;

  stream->done = TRUE;
  return TRUE;
}

char *
_rfl_ollama_build_embed (const char         *model,
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
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return _rfl_json_to_string (root);
}

gboolean
_rfl_ollama_parse_embed (JsonObject  *object,
                         guint        n_texts,
                         GArray      *out,
                         guint       *dims,
                         guint       *tokens,
                         GError     **error)
{
  JsonArray *embeddings = _rfl_json_get_array (object, "embeddings");
  gint64 count = 0;

  if (embeddings == NULL || json_array_get_length (embeddings) != n_texts)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The provider’s answer could not be read: expected %u "
                     "embeddings."), n_texts);
      return FALSE;
    }

  for (guint i = 0; i < n_texts; i++)
    {
      JsonNode *node = json_array_get_element (embeddings, i);

      if (!JSON_NODE_HOLDS_ARRAY (node))
        return _rfl_llm_protocol_error (error, _("a vector of numbers"),
                                        NULL, 0);
      if (!_rfl_llm_append_vector (json_node_get_array (node), out, dims,
                                   error))
        return FALSE;
    }

  if (_rfl_json_get_int (object, "prompt_eval_count", &count) && count > 0)
    *tokens += (guint) MIN (count, G_MAXUINT);

  return TRUE;
}
