/* rfl-anthropic-protocol.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-llm-protocol-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"

/* Anthropic's /v1/messages. The system prompt is a member of its own;
 * assistant tool calls are "tool_use" content blocks and their results
 * "tool_result" blocks in a user turn. Streams are server-sent events:
 * message_start (model, input tokens), content_block_start, _delta
 * (text_delta, input_json_delta), _stop, message_delta (stop_reason,
 * output tokens), message_stop, with ping and error events between.
 *
 * Anthropic has no JSON mode: JSON output is asked for with a tool whose
 * input schema is the wanted schema and a tool_choice forcing it. The
 * input the model writes for that tool is the answer, streamed as text. */

#define JSON_TOOL "json_answer"

char *
_rfl_anthropic_json_tool (RflChatRequest *request)
{
  switch (rfl_chat_request_get_json_output (request))
    {
    case RFL_JSON_OUTPUT_OBJECT:
      return g_strdup (JSON_TOOL);
    case RFL_JSON_OUTPUT_SCHEMA:
      return g_strdup (rfl_chat_request_get_json_schema_name (request));
    case RFL_JSON_OUTPUT_NONE:
    default:
      return NULL;
    }
}

static gboolean
add_tool_use (JsonBuilder        *builder,
              const RflToolCall  *call,
              GError            **error)
{
  JsonNode *input = _rfl_llm_tool_call_arguments (call, error);

  if (input == NULL)
    return FALSE;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "tool_use");
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, call->id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, call->name);
  json_builder_set_member_name (builder, "input");
  json_builder_add_value (builder, input);
  json_builder_end_object (builder);

  return TRUE;
}

static gboolean
add_assistant (JsonBuilder     *builder,
               RflChatMessage  *message,
               GError         **error)
{
  GPtrArray *calls = rfl_chat_message_get_tool_calls (message);
  const char *content = rfl_chat_message_get_content (message);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, "assistant");
  json_builder_set_member_name (builder, "content");

  if (calls->len == 0)
    {
      json_builder_add_string_value (builder, content);
      json_builder_end_object (builder);
      return TRUE;
    }

  json_builder_begin_array (builder);
  if (*content != '\0')
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "text");
      json_builder_set_member_name (builder, "text");
      json_builder_add_string_value (builder, content);
      json_builder_end_object (builder);
    }
  for (guint i = 0; i < calls->len; i++)
    if (!add_tool_use (builder, g_ptr_array_index (calls, i), error))
      return FALSE;
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  return TRUE;
}

static void
add_tool_result (JsonBuilder    *builder,
                 RflChatMessage *message)
{
  const char *id = rfl_chat_message_get_tool_call_id (message);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "tool_result");
  json_builder_set_member_name (builder, "tool_use_id");
  json_builder_add_string_value (builder, id != NULL ? id : "");
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, rfl_chat_message_get_content (message));
  json_builder_end_object (builder);
}

/* Tool results following one another go into one user turn, as the API
 * wants the results of parallel calls together. */
static gboolean
add_messages (JsonBuilder     *builder,
              GPtrArray       *messages,
              GError         **error)
{
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);

  for (guint i = 0; i < messages->len; i++)
    {
      RflChatMessage *message = g_ptr_array_index (messages, i);

      switch (rfl_chat_message_get_role (message))
        {
        case RFL_CHAT_ROLE_SYSTEM:
          break;

        case RFL_CHAT_ROLE_ASSISTANT:
          if (!add_assistant (builder, message, error))
            return FALSE;
          break;

        case RFL_CHAT_ROLE_TOOL:
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "role");
          json_builder_add_string_value (builder, "user");
          json_builder_set_member_name (builder, "content");
          json_builder_begin_array (builder);
          add_tool_result (builder, message);
          while (i + 1 < messages->len
                 && rfl_chat_message_get_role (g_ptr_array_index (messages, i + 1))
                    == RFL_CHAT_ROLE_TOOL)
            add_tool_result (builder, g_ptr_array_index (messages, ++i));
          json_builder_end_array (builder);
          json_builder_end_object (builder);
          break;

        case RFL_CHAT_ROLE_USER:
        default:
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "role");
          json_builder_add_string_value (builder, "user");
          json_builder_set_member_name (builder, "content");
          json_builder_add_string_value (builder,
                                         rfl_chat_message_get_content (message));
          json_builder_end_object (builder);
          break;
        }
    }

  json_builder_end_array (builder);
  return TRUE;
}

static void
add_system (JsonBuilder *builder,
            GPtrArray   *messages)
{
  g_autoptr(GString) system = g_string_new (NULL);

  for (guint i = 0; i < messages->len; i++)
    {
      RflChatMessage *message = g_ptr_array_index (messages, i);

      if (rfl_chat_message_get_role (message) != RFL_CHAT_ROLE_SYSTEM)
        continue;
      if (system->len > 0)
        g_string_append (system, "\n\n");
      g_string_append (system, rfl_chat_message_get_content (message));
    }

  if (system->len > 0)
    {
      json_builder_set_member_name (builder, "system");
      json_builder_add_string_value (builder, system->str);
    }
}

static void
add_tool (JsonBuilder *builder,
          const char  *name,
          const char  *description,
          const char  *schema)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  if (description != NULL)
    {
      json_builder_set_member_name (builder, "description");
      json_builder_add_string_value (builder, description);
    }
  json_builder_set_member_name (builder, "input_schema");
  json_builder_add_value (builder, _rfl_llm_schema_node (schema));
  json_builder_end_object (builder);
}

static void
add_tool_choice (JsonBuilder *builder,
                 const char  *type,
                 const char  *name)
{
  json_builder_set_member_name (builder, "tool_choice");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, type);
  if (name != NULL)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
    }
  json_builder_end_object (builder);
}

static gboolean
add_tools (JsonBuilder     *builder,
           RflChatRequest  *request,
           GError         **error)
{
  static const char * const choices[] = {
    [RFL_TOOL_CHOICE_AUTO] = "auto",
    [RFL_TOOL_CHOICE_NONE] = "none",
    [RFL_TOOL_CHOICE_REQUIRED] = "any",
  };
  GPtrArray *tools = rfl_chat_request_get_tools (request);
  g_autofree char *json_tool = _rfl_anthropic_json_tool (request);

  if (json_tool != NULL && tools->len > 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Anthropic models cannot be asked for JSON output "
                             "and offered tools in the same request."));
      return FALSE;
    }

  if (json_tool != NULL)
    {
      const char *schema = rfl_chat_request_get_json_schema (request);

      json_builder_set_member_name (builder, "tools");
      json_builder_begin_array (builder);
      add_tool (builder, json_tool, NULL,
                schema != NULL ? schema : "{\"type\":\"object\"}");
      json_builder_end_array (builder);
      add_tool_choice (builder, "tool", json_tool);
      return TRUE;
    }

  if (tools->len == 0)
    return TRUE;

  json_builder_set_member_name (builder, "tools");
  json_builder_begin_array (builder);
  for (guint i = 0; i < tools->len; i++)
    {
      const RflChatTool *tool = g_ptr_array_index (tools, i);

      add_tool (builder, tool->name, tool->description, tool->parameters);
    }
  json_builder_end_array (builder);
  if (rfl_chat_request_get_tool_choice_function (request) != NULL)
    add_tool_choice (builder, "tool",
                     rfl_chat_request_get_tool_choice_function (request));
  else
    add_tool_choice (builder, choices[rfl_chat_request_get_tool_choice (request)],
                     NULL);

  return TRUE;
}

char *
_rfl_anthropic_build_chat (RflChatRequest  *request,
                           GError         **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GPtrArray *messages = rfl_chat_request_get_messages (request);
  guint max_tokens = rfl_chat_request_get_max_tokens (request);
  double temperature;

  if (!_rfl_llm_check_request (request, error))
    return NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, rfl_chat_request_get_model (request));
  json_builder_set_member_name (builder, "max_tokens");
  json_builder_add_int_value (builder, max_tokens > 0
                                       ? max_tokens
                                       : RFL_CHAT_DEFAULT_MAX_TOKENS);
  add_system (builder, messages);
  if (!add_messages (builder, messages, error))
    return NULL;
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, rfl_chat_request_get_stream (request));

  /* Anthropic's scale ends at 1. */
  if (rfl_chat_request_get_temperature (request, &temperature))
    {
      json_builder_set_member_name (builder, "temperature");
      json_builder_add_double_value (builder, MIN (temperature, 1.0));
    }

  if (!add_tools (builder, request, error))
    return NULL;
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return _rfl_json_to_string (root);
}

static RflFinishReason
finish_reason (RflLlmStream *stream,
               const char   *reason)
{
  if (g_str_equal (reason, "end_turn") || g_str_equal (reason, "stop_sequence"))
    return RFL_FINISH_REASON_STOP;
  if (g_str_equal (reason, "max_tokens"))
    return RFL_FINISH_REASON_LENGTH;
  if (g_str_equal (reason, "tool_use"))
    return stream->json_tool != NULL ? RFL_FINISH_REASON_STOP
                                     : RFL_FINISH_REASON_TOOL_CALLS;
  if (g_str_equal (reason, "refusal"))
    return RFL_FINISH_REASON_CONTENT_FILTER;

  return RFL_FINISH_REASON_OTHER;
}

static gboolean
handle_usage (RflLlmStream  *stream,
              JsonObject    *usage,
              GError       **error)
{
  gint64 input = -1;
  gint64 output = -1;

  if (usage == NULL)
    return TRUE;

  _rfl_json_get_int (usage, "input_tokens", &input);
  _rfl_json_get_int (usage, "output_tokens", &output);
  return _rfl_llm_emit_usage (stream, input, output, error);
}

static gboolean
is_json_tool (RflLlmStream *stream,
              JsonObject   *block)
{
  return stream->json_tool != NULL
         && g_strcmp0 (_rfl_json_get_string (block, "name"),
                       stream->json_tool) == 0;
}

static gboolean
is_json_block (RflLlmStream *stream,
               guint         index)
{
  return index < stream->json_blocks->len
         && g_array_index (stream->json_blocks, gboolean, index);
}

static gboolean
get_index (JsonObject  *object,
           guint       *index,
           GError     **error)
{
  gint64 value;

  if (!_rfl_json_get_int (object, "index", &value)
      || value < 0 || value > G_MAXUINT16)
    return _rfl_llm_protocol_error (error,
                                    _("a content block event with an index"),
                                    NULL, 0);

  *index = (guint) value;
  return TRUE;
}

static gboolean
block_start (RflLlmStream  *stream,
             JsonObject    *object,
             GError       **error)
{
  JsonObject *block = _rfl_json_get_object (object, "content_block");
  const char *type = _rfl_json_get_string (block, "type");
  guint index;

  if (!get_index (object, &index, error))
    return FALSE;

  if (g_strcmp0 (type, "text") == 0)
    return _rfl_llm_emit_text (stream, _rfl_json_get_string (block, "text"),
                               error);

  if (g_strcmp0 (type, "tool_use") != 0)
    return TRUE;

  if (is_json_tool (stream, block))
    {
      gboolean yes = TRUE;

      if (stream->json_blocks->len <= index)
        g_array_set_size (stream->json_blocks, index + 1);
      g_array_index (stream->json_blocks, gboolean, index) = yes;
      return TRUE;
    }

  return _rfl_llm_emit_tool_call (stream, index,
                                  _rfl_json_get_string (block, "id"),
                                  _rfl_json_get_string (block, "name"),
                                  error);
}

static gboolean
block_delta (RflLlmStream  *stream,
             JsonObject    *object,
             GError       **error)
{
  JsonObject *delta = _rfl_json_get_object (object, "delta");
  const char *type = _rfl_json_get_string (delta, "type");
  const char *partial;
  guint index;

  if (!get_index (object, &index, error))
    return FALSE;

  if (type == NULL)
    return _rfl_llm_protocol_error (error, _("a content block delta with a "
                                              "type"), NULL, 0);

  if (g_str_equal (type, "text_delta"))
    return _rfl_llm_emit_text (stream, _rfl_json_get_string (delta, "text"),
                               error);

  if (!g_str_equal (type, "input_json_delta"))
    return TRUE;

  partial = _rfl_json_get_string (delta, "partial_json");
  if (is_json_block (stream, index))
    return _rfl_llm_emit_text (stream, partial, error);

  return _rfl_llm_emit_tool_arguments (stream, index, partial, error);
}

static gboolean
message_delta (RflLlmStream  *stream,
               JsonObject    *object,
               GError       **error)
{
  JsonObject *delta = _rfl_json_get_object (object, "delta");
  const char *reason = _rfl_json_get_string (delta, "stop_reason");

  if (!handle_usage (stream, _rfl_json_get_object (object, "usage"), error))
    return FALSE;

  if (reason != NULL)
    return _rfl_llm_emit_finish (stream, finish_reason (stream, reason), error);

  return TRUE;
}

gboolean
_rfl_anthropic_handle_event (RflLlmStream       *stream,
                             const RflSseEvent  *event,
                             GError            **error)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  JsonObject *message;
  const char *type;

  root = _rfl_json_parse_object (event->data, (gssize) event->data_len);
  if (root == NULL)
    return _rfl_llm_protocol_error (error, _("a JSON object in every event"),
                                    event->data, event->data_len);

  object = json_node_get_object (root);
  type = _rfl_json_get_string (object, "type");
  if (type == NULL)
    return _rfl_llm_protocol_error (error, _("an event with a “type”"),
                                    event->data, event->data_len);

  if (g_str_equal (type, "message_start"))
    {
      message = _rfl_json_get_object (object, "message");
      return _rfl_llm_emit_model (stream, _rfl_json_get_string (message, "model"),
                                  error)
             && handle_usage (stream, _rfl_json_get_object (message, "usage"),
                              error);
    }
  if (g_str_equal (type, "content_block_start"))
    return block_start (stream, object, error);
  if (g_str_equal (type, "content_block_delta"))
    return block_delta (stream, object, error);
  if (g_str_equal (type, "message_delta"))
    return message_delta (stream, object, error);
  if (g_str_equal (type, "message_stop"))
    {
      stream->done = TRUE;
      return TRUE;
    }
  if (g_str_equal (type, "error"))
    return _rfl_llm_provider_error (error,
                                    json_object_get_member (object, "error"));

  /* ping, content_block_stop, and event types added later. */
  return TRUE;
}

static gboolean
answer_block (RflLlmStream  *stream,
              guint          index,
              JsonObject    *block,
              GError       **error)
{
  const char *type = _rfl_json_get_string (block, "type");
  JsonNode *input;
  g_autofree char *text = NULL;

  if (g_strcmp0 (type, "text") == 0)
    return _rfl_llm_emit_text (stream, _rfl_json_get_string (block, "text"),
                               error);

  if (g_strcmp0 (type, "tool_use") != 0)
    return TRUE;

  input = json_object_get_member (block, "input");
  if (input != NULL && JSON_NODE_HOLDS_OBJECT (input))
    text = _rfl_json_to_string (input);

  if (is_json_tool (stream, block))
    return _rfl_llm_emit_text (stream, text, error);

  return _rfl_llm_emit_tool_call (stream, index,
                                  _rfl_json_get_string (block, "id"),
                                  _rfl_json_get_string (block, "name"), error)
         && _rfl_llm_emit_tool_arguments (stream, index, text, error);
}

gboolean
_rfl_anthropic_handle_answer (RflLlmStream  *stream,
                              JsonObject    *object,
                              GError       **error)
{
  JsonArray *content = _rfl_json_get_array (object, "content");
  const char *reason = _rfl_json_get_string (object, "stop_reason");

  if (g_strcmp0 (_rfl_json_get_string (object, "type"), "error") == 0)
    return _rfl_llm_provider_error (error,
                                    json_object_get_member (object, "error"));

  if (content == NULL)
    return _rfl_llm_protocol_error (error, _("a message with “content”"),
                                    NULL, 0);

  if (!_rfl_llm_emit_model (stream, _rfl_json_get_string (object, "model"),
                            error))
    return FALSE;

  for (guint i = 0; i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return _rfl_llm_protocol_error (error, _("content blocks as objects"),
                                        NULL, 0);
      if (!answer_block (stream, i, json_node_get_object (node), error))
        return FALSE;
    }

  if (!handle_usage (stream, _rfl_json_get_object (object, "usage"), error))
    return FALSE;
  if (!_rfl_llm_emit_finish (stream,
                             finish_reason (stream, reason != NULL
                                                    ? reason : "end_turn"),
                             error))
    return FALSE;

  stream->done = TRUE;
  return TRUE;
}
