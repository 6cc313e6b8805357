/* rfl-llm-stream.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-llm-protocol-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"

#define QUOTE_MAX 80

RflLlmWire
_rfl_llm_wire_for_kind (RflProviderKind kind)
{
  switch (kind)
    {
    case RFL_PROVIDER_OLLAMA:
      return RFL_LLM_WIRE_OLLAMA;
    case RFL_PROVIDER_ANTHROPIC:
      return RFL_LLM_WIRE_ANTHROPIC;
    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      return RFL_LLM_WIRE_OPENAI;
    }
}

/* ------------------------------------------------------------ JSON bits */

const char *
_rfl_json_get_string (JsonObject *object,
                      const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);

  return NULL;
}

gboolean
_rfl_json_get_int (JsonObject *object,
                   const char *name,
                   gint64     *out)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  if (json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return TRUE;
    }

  /* Some servers write counts as 12.0. */
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (node);

      if (value >= 0 && value < 1e15)
        {
          *out = (gint64) value;
          return TRUE;
        }
    }

  return FALSE;
}

JsonObject *
_rfl_json_get_object (JsonObject *object,
                      const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);

  return NULL;
}

JsonArray *
_rfl_json_get_array (JsonObject *object,
                     const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);

  return NULL;
}

JsonNode *
_rfl_json_parse_object (const char *text,
                        gssize      len)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (text == NULL
      || !json_parser_load_from_data (parser, text, len, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  return json_node_ref (root);
}

char *
_rfl_json_to_string (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

gboolean
_rfl_llm_protocol_error (GError     **error,
                         const char  *what,
                         const char  *data,
                         gsize        len)
{
  g_autofree char *valid = NULL;
  g_autofree char *quote = NULL;

  if (data == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The provider’s answer could not be read: expected %s."),
                   what);
      return FALSE;
    }

  valid = g_utf8_make_valid (data, MIN (len, QUOTE_MAX));
  g_strdelimit (valid, "\r\n", ' ');
  quote = len > QUOTE_MAX ? g_strconcat (valid, "…", NULL)
                          : g_steal_pointer (&valid);
  g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
               _("The provider’s answer could not be read: expected %s, but "
                 "received “%s”."), what, quote);
  return FALSE;
}

gboolean
_rfl_llm_provider_error (GError   **error,
                         JsonNode  *error_node)
{
  const char *message = NULL;

  if (error_node != NULL && JSON_NODE_HOLDS_OBJECT (error_node))
    message = _rfl_json_get_string (json_node_get_object (error_node),
                                    "message");
  else if (error_node != NULL
           && json_node_get_value_type (error_node) == G_TYPE_STRING)
    message = json_node_get_string (error_node);

  if (message != NULL && *message != '\0')
    g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                 _("The provider reported an error: %s"), message);
  else
    g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                         _("The provider reported an error without saying "
                           "what went wrong."));
  return FALSE;
}

JsonNode *
_rfl_llm_tool_call_arguments (const RflToolCall  *call,
                              GError            **error)
{
  JsonNode *node = _rfl_json_parse_object (call->arguments, -1);

  if (node == NULL)
    g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                 _("The call of the tool “%s” has arguments that are not a "
                   "JSON object."), call->name);

  return node;
}

JsonNode *
_rfl_llm_schema_node (const char *schema)
{
  JsonNode *node = _rfl_json_parse_object (schema, -1);

  /* Schemas are checked when set; an empty one stands for a bad one. */
  if (node == NULL)
    {
      node = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (node, json_object_new ());
    }

  return node;
}

gboolean
_rfl_llm_append_vector (JsonArray  *vector,
                        GArray     *out,
                        guint      *dims,
                        GError    **error)
{
  guint len = vector != NULL ? json_array_get_length (vector) : 0;

  if (len == 0 || (*dims != 0 && len != *dims))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The provider’s answer could not be read: expected "
                     "vectors of %u numbers, but one has %u."),
                   *dims, len);
      return FALSE;
    }

  for (guint i = 0; i < len; i++)
    {
      JsonNode *node = json_array_get_element (vector, i);
      GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                : G_TYPE_INVALID;
      float value;

      if (type == G_TYPE_DOUBLE)
        value = (float) json_node_get_double (node);
      else if (type == G_TYPE_INT64)
        value = (float) json_node_get_int (node);
      else
        return _rfl_llm_protocol_error (error, _("a vector of numbers"),
                                        NULL, 0);

      if (!isfinite (value))
        return _rfl_llm_protocol_error (error, _("a vector of finite numbers"),
                                        NULL, 0);
      g_array_append_val (out, value);
    }

  *dims = len;
  return TRUE;
}

gboolean
_rfl_llm_check_request (RflChatRequest  *request,
                        GError         **error)
{
  const char *model = rfl_chat_request_get_model (request);

  if (model == NULL || *model == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Choose a model before starting a chat."));
      return FALSE;
    }

  if (rfl_chat_request_get_messages (request)->len == 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("A chat request needs at least one message."));
      return FALSE;
    }

  return TRUE;
}

/* -------------------------------------------------------------- emitting */

static gboolean
emit (RflLlmStream       *self,
      const RflLlmEvent  *event,
      GError            **error)
{
  return self->func (event, self->user_data, error);
}

gboolean
_rfl_llm_emit_text (RflLlmStream  *self,
                    const char    *text,
                    GError       **error)
{
  RflLlmEvent event = { RFL_LLM_EVENT_TEXT, };

  if (text == NULL || *text == '\0')
    return TRUE;

  event.text = text;
  event.text_len = strlen (text);
  return emit (self, &event, error);
}

gboolean
_rfl_llm_emit_tool_call (RflLlmStream  *self,
                         guint          index,
                         const char    *id,
                         const char    *name,
                         GError       **error)
{
  RflLlmEvent event = { RFL_LLM_EVENT_TOOL_CALL, };

  event.index = index;
  event.id = id;
  event.name = name;
  return emit (self, &event, error);
}

gboolean
_rfl_llm_emit_tool_arguments (RflLlmStream  *self,
                              guint          index,
                              const char    *arguments,
                              GError       **error)
{
  RflLlmEvent event = { RFL_LLM_EVENT_TOOL_ARGUMENTS, };

  if (arguments == NULL || *arguments == '\0')
    return TRUE;

  event.index = index;
  event.text = arguments;
  event.text_len = strlen (arguments);
  return emit (self, &event, error);
}

gboolean
_rfl_llm_emit_usage (RflLlmStream  *self,
                     gint64         input_tokens,
                     gint64         output_tokens,
                     GError       **error)
{
  RflLlmEvent event = { RFL_LLM_EVENT_USAGE, };

  if (input_tokens < 0 && output_tokens < 0)
    return TRUE;

  event.input_tokens = input_tokens;
  event.output_tokens = output_tokens;
  return emit (self, &event, error);
}

gboolean
_rfl_llm_emit_finish (RflLlmStream     *self,
                      RflFinishReason   finish,
                      GError          **error)
{
  RflLlmEvent event = { RFL_LLM_EVENT_FINISH, };

  self->finished = TRUE;
  event.finish = finish;
  return emit (self, &event, error);
}

gboolean
_rfl_llm_emit_model (RflLlmStream  *self,
                     const char    *model,
                     GError       **error)
{
  RflLlmEvent event = { RFL_LLM_EVENT_MODEL, };

  if (model == NULL || *model == '\0')
    return TRUE;

  event.text = model;
  event.text_len = strlen (model);
  return emit (self, &event, error);
}

/* --------------------------------------------------------------- parsing */

static gboolean
sse_event_cb (const RflSseEvent  *event,
              gpointer            user_data,
              GError            **error)
{
  RflLlmStream *self = user_data;

  /* Whatever follows the end is not part of this answer. */
  if (self->done)
    return TRUE;

  if (self->wire == RFL_LLM_WIRE_ANTHROPIC)
    return _rfl_anthropic_handle_event (self, event, error);

  return _rfl_openai_handle_event (self, event, error);
}

static gboolean
ndjson_object_cb (JsonObject  *object,
                  gpointer     user_data,
                  GError     **error)
{
  RflLlmStream *self = user_data;

  if (self->done)
    return TRUE;

  return _rfl_ollama_handle_object (self, object, error);
}

RflLlmStream *
_rfl_llm_stream_new (RflLlmWire       wire,
                     const char      *json_tool,
                     RflLlmEventFunc  func,
                     gpointer         user_data)
{
  RflLlmStream *self = g_new0 (RflLlmStream, 1);

  self->wire = wire;
  self->func = func;
  self->user_data = user_data;
  self->json_tool = g_strdup (json_tool);
  self->json_blocks = g_array_new (FALSE, TRUE, sizeof (gboolean));

  if (wire == RFL_LLM_WIRE_OLLAMA)
    self->ndjson = rfl_ndjson_new (ndjson_object_cb, self);
  else
    self->sse = rfl_sse_parser_new (sse_event_cb, self);

  return self;
}

void
_rfl_llm_stream_free (RflLlmStream *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->sse, rfl_sse_parser_free);
  g_clear_pointer (&self->ndjson, rfl_ndjson_free);
  g_free (self->json_tool);
  g_array_unref (self->json_blocks);
  g_free (self);
}

gboolean
_rfl_llm_stream_feed (RflLlmStream  *self,
                      const char    *data,
                      gsize          len,
                      GError       **error)
{
  if (self->ndjson != NULL)
    return rfl_ndjson_feed (self->ndjson, data, len, error);

  return rfl_sse_parser_feed (self->sse, data, len, error);
}

gboolean
_rfl_llm_stream_end (RflLlmStream  *self,
                     GError       **error)
{
  if (self->ndjson != NULL)
    {
      if (!rfl_ndjson_finish (self->ndjson, error))
        return FALSE;
    }
  else
    {
      rfl_sse_parser_finish (self->sse);
    }

  /* A server that closes after the finish reason without the final
   * marker has still said all it had to say. */
  if (!self->done && !self->finished)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                           _("The provider closed the stream before the end "
                             "of the answer."));
      return FALSE;
    }

  return TRUE;
}

gboolean
_rfl_llm_stream_parse_answer (RflLlmStream  *self,
                              const char    *body,
                              gsize          len,
                              GError       **error)
{
  g_autoptr(JsonNode) root = _rfl_json_parse_object (body, (gssize) len);
  JsonObject *object;

  if (root == NULL)
    return _rfl_llm_protocol_error (error, _("a JSON object"), body, len);

  object = json_node_get_object (root);
  switch (self->wire)
    {
    case RFL_LLM_WIRE_OLLAMA:
      if (!_rfl_ollama_handle_object (self, object, error))
        return FALSE;
      break;

    case RFL_LLM_WIRE_ANTHROPIC:
      if (!_rfl_anthropic_handle_answer (self, object, error))
        return FALSE;
      break;

    case RFL_LLM_WIRE_OPENAI:
    default:
      if (!_rfl_openai_handle_answer (self, object, error))
        return FALSE;
      break;
    }

  if (!self->done && !self->finished)
    return _rfl_llm_protocol_error (error, _("a complete answer"), body, len);

  return TRUE;
}
