/* rfl-chat-types.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-types.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"

#define MAX_NAME 64

static const char * const role_names[] = {
  [RFL_CHAT_ROLE_SYSTEM] = "system",
  [RFL_CHAT_ROLE_USER] = "user",
  [RFL_CHAT_ROLE_ASSISTANT] = "assistant",
  [RFL_CHAT_ROLE_TOOL] = "tool",
};

static const char * const finish_names[] = {
  [RFL_FINISH_REASON_NONE] = "none",
  [RFL_FINISH_REASON_STOP] = "stop",
  [RFL_FINISH_REASON_LENGTH] = "length",
  [RFL_FINISH_REASON_TOOL_CALLS] = "tool_calls",
  [RFL_FINISH_REASON_CONTENT_FILTER] = "content_filter",
  [RFL_FINISH_REASON_OTHER] = "other",
};

const char *
rfl_chat_role_to_string (RflChatRole role)
{
  g_return_val_if_fail (role < G_N_ELEMENTS (role_names), NULL);

  return role_names[role];
}

gboolean
rfl_chat_role_from_string (const char  *str,
                           RflChatRole *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (role_names); i++)
    {
      if (g_str_equal (role_names[i], str))
        {
          *out = (RflChatRole) i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_finish_reason_to_string (RflFinishReason reason)
{
  g_return_val_if_fail (reason < G_N_ELEMENTS (finish_names), NULL);

  return finish_names[reason];
}

/* Letters, digits, "_" and "-", as every provider accepts in names. */
static gboolean
name_is_valid (const char *name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > MAX_NAME)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '_' && name[i] != '-')
      return FALSE;

  return TRUE;
}

/* Parses @text as a JSON object; NULL when it is not one. */
static JsonNode *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (text == NULL
      || !json_parser_load_from_data (parser, text, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  return json_node_ref (root);
}

/* ------------------------------------------------------------ tool call */

G_DEFINE_BOXED_TYPE (RflToolCall, rfl_tool_call,
                     rfl_tool_call_copy, rfl_tool_call_free)

RflToolCall *
rfl_tool_call_new (const char *id,
                   const char *name,
                   const char *arguments)
{
  RflToolCall *call = g_new0 (RflToolCall, 1);

  call->id = g_strdup (id != NULL ? id : "");
  call->name = g_strdup (name != NULL ? name : "");
  call->arguments = g_strdup (arguments != NULL && *arguments != '\0'
                              ? arguments : "{}");

  return call;
}

RflToolCall *
rfl_tool_call_copy (const RflToolCall *call)
{
  g_return_val_if_fail (call != NULL, NULL);

  return rfl_tool_call_new (call->id, call->name, call->arguments);
}

void
rfl_tool_call_free (RflToolCall *call)
{
  if (call == NULL)
    return;

  g_free (call->id);
  g_free (call->name);
  g_free (call->arguments);
  g_free (call);
}

void
rfl_tool_calls_add_openai (JsonBuilder *builder,
                           GPtrArray   *calls)
{
  json_builder_set_member_name (builder, "tool_calls");
  json_builder_begin_array (builder);
  for (guint i = 0; i < calls->len; i++)
    {
      const RflToolCall *call = g_ptr_array_index (calls, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, call->id);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "function");
      json_builder_set_member_name (builder, "function");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, call->name);
      json_builder_set_member_name (builder, "arguments");
      json_builder_add_string_value (builder, call->arguments);
      json_builder_end_object (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

JsonObject *
rfl_tool_call_parse_arguments (const RflToolCall  *call,
                               GError            **error)
{
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (call != NULL, NULL);

  node = parse_object (call->arguments);
  if (node == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The model called the tool “%s” with arguments that are "
                     "not a JSON object."), call->name);
      return NULL;
    }

  return json_object_ref (json_node_get_object (node));
}

/* ----------------------------------------------------------------- tool */

G_DEFINE_BOXED_TYPE (RflChatTool, rfl_chat_tool,
                     rfl_chat_tool_copy, rfl_chat_tool_free)

RflChatTool *
rfl_chat_tool_new (const char  *name,
                   const char  *description,
                   const char  *parameters,
                   GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  RflChatTool *tool;

  if (!name_is_valid (name))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not a valid tool name: use 1 to %d letters, "
                     "digits, “_” or “-”."), name != NULL ? name : "",
                   MAX_NAME);
      return NULL;
    }

  if (parameters != NULL && (node = parse_object (parameters)) == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The parameters of the tool “%s” are not a JSON Schema "
                     "object."), name);
      return NULL;
    }

  tool = g_new0 (RflChatTool, 1);
  tool->name = g_strdup (name);
  tool->description = g_strdup (description);
  tool->parameters = g_strdup (parameters != NULL
                               ? parameters
                               : "{\"type\":\"object\",\"properties\":{}}");

  return tool;
}

RflChatTool *
rfl_chat_tool_copy (const RflChatTool *tool)
{
  RflChatTool *copy;

  g_return_val_if_fail (tool != NULL, NULL);

  copy = g_new0 (RflChatTool, 1);
  copy->name = g_strdup (tool->name);
  copy->description = g_strdup (tool->description);
  copy->parameters = g_strdup (tool->parameters);

  return copy;
}

void
rfl_chat_tool_free (RflChatTool *tool)
{
  if (tool == NULL)
    return;

  g_free (tool->name);
  g_free (tool->description);
  g_free (tool->parameters);
  g_free (tool);
}

/* -------------------------------------------------------------- message */

struct _RflChatMessage
{
  RflChatRole  role;
  char        *content;        /* owned, never NULL */
  GPtrArray   *tool_calls;     /* owned RflToolCall* */
  char        *tool_call_id;   /* owned */
  char        *tool_name;      /* owned */
};

G_DEFINE_BOXED_TYPE (RflChatMessage, rfl_chat_message,
                     rfl_chat_message_ref, rfl_chat_message_unref)

static void
chat_message_clear (gpointer data)
{
  RflChatMessage *self = data;

  g_free (self->content);
  g_ptr_array_unref (self->tool_calls);
  g_free (self->tool_call_id);
  g_free (self->tool_name);
}

RflChatMessage *
rfl_chat_message_new (RflChatRole  role,
                      const char  *content)
{
  RflChatMessage *self;

  g_return_val_if_fail (role < G_N_ELEMENTS (role_names), NULL);

  self = g_atomic_rc_box_new0 (RflChatMessage);
  self->role = role;
  self->content = g_strdup (content != NULL ? content : "");
  self->tool_calls = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rfl_tool_call_free);

  return self;
}

RflChatMessage *
rfl_chat_message_new_assistant (const char *content,
                                GPtrArray  *tool_calls)
{
  RflChatMessage *self = rfl_chat_message_new (RFL_CHAT_ROLE_ASSISTANT,
                                               content);

  for (guint i = 0; tool_calls != NULL && i < tool_calls->len; i++)
    g_ptr_array_add (self->tool_calls,
                     rfl_tool_call_copy (g_ptr_array_index (tool_calls, i)));

  return self;
}

RflChatMessage *
rfl_chat_message_new_tool_result (const char *tool_call_id,
                                  const char *tool_name,
                                  const char *content)
{
  RflChatMessage *self = rfl_chat_message_new (RFL_CHAT_ROLE_TOOL, content);

  self->tool_call_id = g_strdup (tool_call_id);
  self->tool_name = g_strdup (tool_name);

  return self;
}

RflChatMessage *
rfl_chat_message_ref (RflChatMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

void
rfl_chat_message_unref (RflChatMessage *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, chat_message_clear);
}

RflChatRole
rfl_chat_message_get_role (RflChatMessage *self)
{
  g_return_val_if_fail (self != NULL, RFL_CHAT_ROLE_USER);

  return self->role;
}

const char *
rfl_chat_message_get_content (RflChatMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->content;
}

GPtrArray *
rfl_chat_message_get_tool_calls (RflChatMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tool_calls;
}

const char *
rfl_chat_message_get_tool_call_id (RflChatMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tool_call_id;
}

const char *
rfl_chat_message_get_tool_name (RflChatMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tool_name;
}

/* -------------------------------------------------------------- request */

struct _RflChatRequest
{
  char          *model;           /* owned */
  GPtrArray     *messages;        /* owned RflChatMessage* */
  GPtrArray     *tools;           /* owned RflChatTool* */
  gboolean       has_temperature;
  double         temperature;
  guint          max_tokens;
  gboolean       stream;
  RflToolChoice  tool_choice;
  RflJsonOutput  json_output;
  char          *schema_name;     /* owned */
  char          *schema;          /* owned */
  gboolean       strict;
  char          *tool_choice_function; /* owned, nullable */
};

G_DEFINE_BOXED_TYPE (RflChatRequest, rfl_chat_request,
                     rfl_chat_request_ref, rfl_chat_request_unref)

static void
chat_request_clear (gpointer data)
{
  RflChatRequest *self = data;

  g_free (self->model);
  g_ptr_array_unref (self->messages);
  g_ptr_array_unref (self->tools);
  g_free (self->schema_name);
  g_free (self->schema);
  g_free (self->tool_choice_function);
}

RflChatRequest *
rfl_chat_request_new (const char *model)
{
  RflChatRequest *self = g_atomic_rc_box_new0 (RflChatRequest);

  self->model = g_strdup (model != NULL ? model : "");
  self->messages = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rfl_chat_message_unref);
  self->tools = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rfl_chat_tool_free);
  self->stream = TRUE;

  return self;
}

RflChatRequest *
rfl_chat_request_ref (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

void
rfl_chat_request_unref (RflChatRequest *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, chat_request_clear);
}

const char *
rfl_chat_request_get_model (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->model;
}

void
rfl_chat_request_set_model (RflChatRequest *self,
                            const char     *model)
{
  g_return_if_fail (self != NULL);

  g_free (self->model);
  self->model = g_strdup (model != NULL ? model : "");
}

void
rfl_chat_request_add_message (RflChatRequest *self,
                              RflChatMessage *message)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (message != NULL);

  g_ptr_array_add (self->messages, rfl_chat_message_ref (message));
}

void
rfl_chat_request_add_text (RflChatRequest *self,
                           RflChatRole     role,
                           const char     *content)
{
  g_return_if_fail (self != NULL);

  g_ptr_array_add (self->messages, rfl_chat_message_new (role, content));
}

GPtrArray *
rfl_chat_request_get_messages (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->messages;
}

void
rfl_chat_request_set_temperature (RflChatRequest *self,
                                  double          temperature)
{
  g_return_if_fail (self != NULL);

  if (!isfinite (temperature))
    temperature = 1.0;
  self->has_temperature = TRUE;
  self->temperature = CLAMP (temperature, 0.0, 2.0);
}

gboolean
rfl_chat_request_get_temperature (RflChatRequest *self,
                                  double         *temperature)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (temperature != NULL)
    *temperature = self->has_temperature ? self->temperature : 0.0;

  return self->has_temperature;
}

void
rfl_chat_request_set_max_tokens (RflChatRequest *self,
                                 guint           max_tokens)
{
  g_return_if_fail (self != NULL);

  self->max_tokens = max_tokens;
}

guint
rfl_chat_request_get_max_tokens (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->max_tokens;
}

void
rfl_chat_request_set_stream (RflChatRequest *self,
                             gboolean        stream)
{
  g_return_if_fail (self != NULL);

  self->stream = !!stream;
}

gboolean
rfl_chat_request_get_stream (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, TRUE);

  return self->stream;
}

void
rfl_chat_request_add_tool (RflChatRequest    *self,
                           const RflChatTool *tool)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (tool != NULL);

  g_ptr_array_add (self->tools, rfl_chat_tool_copy (tool));
}

GPtrArray *
rfl_chat_request_get_tools (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tools;
}

void
rfl_chat_request_set_tool_choice (RflChatRequest *self,
                                  RflToolChoice   choice)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (choice <= RFL_TOOL_CHOICE_REQUIRED);

  self->tool_choice = choice;
}

RflToolChoice
rfl_chat_request_get_tool_choice (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, RFL_TOOL_CHOICE_AUTO);

  return self->tool_choice;
}

void
rfl_chat_request_set_tool_choice_function (RflChatRequest *self,
                                           const char     *name)
{
  g_return_if_fail (self != NULL);

  g_free (self->tool_choice_function);
  self->tool_choice_function = name != NULL && *name != '\0' ? g_strdup (name) : NULL;
}

const char *
rfl_chat_request_get_tool_choice_function (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tool_choice_function;
}

void
rfl_chat_request_set_json_object (RflChatRequest *self)
{
  g_return_if_fail (self != NULL);

  rfl_chat_request_clear_json_output (self);
  self->json_output = RFL_JSON_OUTPUT_OBJECT;
}

gboolean
rfl_chat_request_set_json_schema (RflChatRequest  *self,
                                  const char      *name,
                                  const char      *schema,
                                  gboolean         strict,
                                  GError         **error)
{
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!name_is_valid (name))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not a valid name for a JSON schema: use 1 to "
                     "%d letters, digits, “_” or “-”."),
                   name != NULL ? name : "", MAX_NAME);
      return FALSE;
    }

  if ((node = parse_object (schema)) == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The JSON schema “%s” is not a JSON object."), name);
      return FALSE;
    }

  rfl_chat_request_clear_json_output (self);
  self->json_output = RFL_JSON_OUTPUT_SCHEMA;
  self->schema_name = g_strdup (name);
  self->schema = g_strdup (schema);
  self->strict = !!strict;

  return TRUE;
}

void
rfl_chat_request_clear_json_output (RflChatRequest *self)
{
  g_return_if_fail (self != NULL);

  self->json_output = RFL_JSON_OUTPUT_NONE;
  g_clear_pointer (&self->schema_name, g_free);
  g_clear_pointer (&self->schema, g_free);
  self->strict = FALSE;
}

RflJsonOutput
rfl_chat_request_get_json_output (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, RFL_JSON_OUTPUT_NONE);

  return self->json_output;
}

const char *
rfl_chat_request_get_json_schema_name (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->schema_name;
}

const char *
rfl_chat_request_get_json_schema (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->schema;
}

gboolean
rfl_chat_request_get_json_strict (RflChatRequest *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->strict;
}

/* --------------------------------------------------------------- result */

struct _RflChatResult
{
  GString         *text;          /* owned */
  GPtrArray       *tool_calls;    /* owned RflToolCall* */
  RflFinishReason  finish_reason;
  char            *model;         /* owned */
  gboolean         has_usage;
  guint            input_tokens;
  guint            output_tokens;
  gint64           latency_ms;
  gint64           first_token_ms;
  guint            attempts;
};

G_DEFINE_BOXED_TYPE (RflChatResult, rfl_chat_result,
                     rfl_chat_result_ref, rfl_chat_result_unref)

static void
chat_result_clear (gpointer data)
{
  RflChatResult *self = data;

  g_string_free (self->text, TRUE);
  g_ptr_array_unref (self->tool_calls);
  g_free (self->model);
}

RflChatResult *
rfl_chat_result_new (void)
{
  RflChatResult *self = g_atomic_rc_box_new0 (RflChatResult);

  self->text = g_string_new (NULL);
  self->tool_calls = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rfl_tool_call_free);
  self->model = g_strdup ("");
  self->first_token_ms = -1;
  self->attempts = 1;

  return self;
}

RflChatResult *
rfl_chat_result_ref (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

void
rfl_chat_result_unref (RflChatResult *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, chat_result_clear);
}

const char *
rfl_chat_result_get_text (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->text->str;
}

gsize
rfl_chat_result_get_text_length (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->text->len;
}

GPtrArray *
rfl_chat_result_get_tool_calls (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tool_calls;
}

RflFinishReason
rfl_chat_result_get_finish_reason (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, RFL_FINISH_REASON_NONE);

  return self->finish_reason;
}

const char *
rfl_chat_result_get_model (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->model;
}

gboolean
rfl_chat_result_has_usage (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->has_usage;
}

guint
rfl_chat_result_get_input_tokens (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->input_tokens;
}

guint
rfl_chat_result_get_output_tokens (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->output_tokens;
}

gint64
rfl_chat_result_get_latency_ms (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->latency_ms;
}

gint64
rfl_chat_result_get_first_token_ms (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, -1);

  return self->first_token_ms;
}

guint
rfl_chat_result_get_attempts (RflChatResult *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->attempts;
}

void
rfl_chat_result_set_text (RflChatResult *self,
                          const char    *text)
{
  g_return_if_fail (self != NULL);

  g_string_assign (self->text, text != NULL ? text : "");
}

void
rfl_chat_result_append_text (RflChatResult *self,
                             const char    *text,
                             gssize         len)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (text != NULL || len == 0);

  if (len < 0)
    g_string_append (self->text, text);
  else
    g_string_append_len (self->text, text, len);
}

void
rfl_chat_result_take_tool_call (RflChatResult *self,
                                RflToolCall   *call)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (call != NULL);

  g_ptr_array_add (self->tool_calls, call);
}

void
rfl_chat_result_set_finish_reason (RflChatResult   *self,
                                   RflFinishReason  reason)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (reason < G_N_ELEMENTS (finish_names));

  self->finish_reason = reason;
}

void
rfl_chat_result_set_model (RflChatResult *self,
                           const char    *model)
{
  g_return_if_fail (self != NULL);

  g_free (self->model);
  self->model = g_strdup (model != NULL ? model : "");
}

void
rfl_chat_result_set_usage (RflChatResult *self,
                           guint          input_tokens,
                           guint          output_tokens)
{
  g_return_if_fail (self != NULL);

  self->has_usage = TRUE;
  self->input_tokens = input_tokens;
  self->output_tokens = output_tokens;
}

void
rfl_chat_result_set_timing (RflChatResult *self,
                            gint64         latency_ms,
                            gint64         first_token_ms,
                            guint          attempts)
{
  g_return_if_fail (self != NULL);

  self->latency_ms = latency_ms;
  self->first_token_ms = first_token_ms;
  self->attempts = attempts;
}
