/* rfl-service-http-openai.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service-http-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-hash-embedder.h"
#include "server/rfl-http-error.h"
#include "server/rfl-json-body.h"

/* The OpenAI-compatible API: /v1/chat/completions (JSON, or SSE with
 * "stream": true), /v1/models and /v1/embeddings, so that the official
 * OpenAI SDKs work against Reflection with an API key. A completion is
 * relayed to the configured provider as asked: no assistant, no memories.
 * Every completion is admitted by the tenant's quota first and settled
 * with the tokens it used. */

#define OPENAI_BODY_LIMIT       ((gsize) 4 * 1024 * 1024)
#define DEFAULT_ANSWER_TOKENS   1024
#define MAX_EMBEDDING_INPUTS    256
/* As many functions as OpenAI accepts in one request. */
#define MAX_TOOLS               128
/* Streamed tool call arguments come in pieces of about this many bytes. */
#define ARGUMENT_PIECE          64

static gboolean
is_empty (const char *text)
{
  return text == NULL || *text == '\0';
}

/* An error the way OpenAI clients read it, with our code as "type". */
static void
respond_error (RflRequest   *request,
               RflHttpError  code,
               const char   *message)
{
  g_autoptr(GError) error = g_error_new_literal (RFL_HTTP_ERROR, code, message);

  rfl_request_respond_error (request, error);
}

static gboolean
check_scope (RflRequest   *request,
             RflApiScopes  scope)
{
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);
  g_autofree char *message = NULL;

  g_assert (principal != NULL);
  if (rfl_auth_principal_has_scope (principal, scope))
    return TRUE;

  message = g_strdup_printf (_("This credential lacks the “%s” scope"), "chat");
  respond_error (request, RFL_HTTP_ERROR_FORBIDDEN, message);
  return FALSE;
}

/* The provider and a client for it, or answers 503. */
static RflLlmClient *
new_client (RflRequest           *request,
            RflServiceHttp       *http,
            RflProviderSnapshot **out_provider)
{
  g_autoptr(RflProviderSnapshot) provider = NULL;
  g_autoptr(GError) error = NULL;
  RflLlmClient *client;

  provider = _rfl_service_dup_provider (http->core, &error);
  if (provider != NULL)
    {
      client = _rfl_service_new_client (provider, &error);
      if (client != NULL)
        {
          *out_provider = g_steal_pointer (&provider);
          return client;
        }
    }

  respond_error (request, RFL_HTTP_ERROR_NOT_READY, error->message);
  return NULL;
}

static const char *
rejection_metric (RflQuotaLimit limit)
{
  switch (limit)
    {
    case RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE:
      return "requests";
    case RFL_QUOTA_LIMIT_CONCURRENT:
      return "concurrency";
    case RFL_QUOTA_LIMIT_TOKENS_PER_DAY:
    case RFL_QUOTA_LIMIT_TOKENS_PER_MONTH:
    case RFL_QUOTA_LIMIT_NONE:
    default:
      return "tokens";
    }
}

RflQuotaTicket *
_rfl_service_http_admit (RflRequest     *request,
                         RflServiceHttp *http,
                         gint64          tenant_id,
                         guint64         estimated_tokens)
{
  RflQuotaRejection rejection = { 0 };
  g_autoptr(GError) error = NULL;
  RflQuotaTicket *ticket;
  SoupMessageHeaders *headers;
  const RflAuthPrincipal *principal;
  guint retry_after;

  ticket = rfl_quota_manager_admit (http->quota, tenant_id, estimated_tokens,
                                    g_get_real_time (), &rejection, &error);
  if (ticket != NULL)
    return ticket;

  rfl_metrics_add_rate_limit_rejection (rfl_server_get_metrics (http->server),
                                        rejection_metric (rejection.limit));
  principal = _rfl_service_http_get_principal (request);
  _rfl_service_record_rejection (http->core, tenant_id,
                                 principal != NULL ? principal->user_id : 0,
                                 &rejection);
  headers = soup_server_message_get_response_headers (rfl_request_get_message (request));
  retry_after = rfl_quota_rejection_get_retry_after_seconds (&rejection);
  if (retry_after > 0)
    {
      char text[16];

      g_snprintf (text, sizeof text, "%u", retry_after);
      soup_message_headers_replace (headers, "Retry-After", text);
    }
  respond_error (request, RFL_HTTP_ERROR_QUOTA_EXCEEDED, error->message);

  return NULL;
}

/* Chat completions --------------------------------------------------------- */

/* It may outlive the server when a stop does not wait: it holds what it
 * needs at the end. */
typedef struct
{
  RflServiceCore      *core;          /* owned reference */
  RflQuotaManager     *quota;         /* owned */
  RflMetrics          *metrics;       /* owned */
  SoupServerMessage   *msg;           /* owned */
  RflLlmClient        *client;        /* owned */
  RflProviderSnapshot *provider;      /* owned */
  RflQuotaTicket      *ticket;        /* owned */
  GCancellable        *cancellable;   /* owned */
  RflIdentity          identity;
  char                *id;            /* owned: "chatcmpl-…" */
  char                *model;         /* owned: as asked */
  gint64               created;       /* Unix seconds */
  gint64               started_us;
  gulong               finished_id;
  gboolean             stream;
  gboolean             include_usage;
  gboolean             started;       /* SSE headers and first chunk sent */
  gboolean             gone;          /* the client left */
} Completion;

static void
completion_free (Completion *completion)
{
  if (completion->finished_id != 0)
    g_signal_handler_disconnect (completion->msg, completion->finished_id);
  g_clear_object (&completion->msg);
  g_clear_pointer (&completion->core, _rfl_service_core_unref);
  g_clear_object (&completion->quota);
  g_clear_pointer (&completion->metrics, rfl_metrics_unref);
  g_clear_object (&completion->client);
  g_clear_pointer (&completion->provider, _rfl_provider_snapshot_free);
  g_clear_pointer (&completion->ticket, rfl_quota_ticket_free);
  g_clear_object (&completion->cancellable);
  g_free (completion->id);
  g_free (completion->model);
  g_free (completion);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Completion, completion_free)

static void
completion_msg_finished_cb (SoupServerMessage *msg,
                            gpointer           user_data)
{
  Completion *completion = user_data;

  /* Nothing more can be written: stop asking the model. */
  completion->gone = TRUE;
  g_cancellable_cancel (completion->cancellable);
}

static JsonBuilder *
begin_chunk (Completion *completion)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, completion->id);
  json_builder_set_member_name (builder, "object");
  json_builder_add_string_value (builder, completion->stream
                                          ? "chat.completion.chunk" : "chat.completion");
  json_builder_set_member_name (builder, "created");
  json_builder_add_int_value (builder, completion->created);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, completion->model);
  return builder;
}

static void
add_usage (JsonBuilder   *builder,
           RflChatResult *result)
{
  guint in = rfl_chat_result_get_input_tokens (result);
  guint out = rfl_chat_result_get_output_tokens (result);

  json_builder_set_member_name (builder, "usage");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "prompt_tokens");
  json_builder_add_int_value (builder, in);
  json_builder_set_member_name (builder, "completion_tokens");
  json_builder_add_int_value (builder, out);
  json_builder_set_member_name (builder, "total_tokens");
  json_builder_add_int_value (builder, (gint64) in + out);
  json_builder_end_object (builder);
}

static const char *
finish_reason_name (RflFinishReason reason)
{
  switch (reason)
    {
    case RFL_FINISH_REASON_LENGTH:
      return "length";
    case RFL_FINISH_REASON_TOOL_CALLS:
      return "tool_calls";
    case RFL_FINISH_REASON_CONTENT_FILTER:
      return "content_filter";
    case RFL_FINISH_REASON_STOP:
    case RFL_FINISH_REASON_OTHER:
    case RFL_FINISH_REASON_NONE:
    default:
      return "stop";
    }
}

/* A model that called tools waits for their results, whatever reason its
 * provider gave for stopping. */
static const char *
result_finish_reason (RflChatResult *result)
{
  RflFinishReason reason = rfl_chat_result_get_finish_reason (result);

  if (rfl_chat_result_get_tool_calls (result)->len > 0
      && reason != RFL_FINISH_REASON_LENGTH
      && reason != RFL_FINISH_REASON_CONTENT_FILTER)
    return "tool_calls";

  return finish_reason_name (reason);
}

/* A chunk, left open inside its "delta" object. */
static JsonBuilder *
begin_delta (Completion *completion,
             gboolean    first)
{
  JsonBuilder *builder = begin_chunk (completion);

  json_builder_set_member_name (builder, "choices");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "index");
  json_builder_add_int_value (builder, 0);
  json_builder_set_member_name (builder, "delta");
  json_builder_begin_object (builder);
  if (first)
    {
      json_builder_set_member_name (builder, "role");
      json_builder_add_string_value (builder, "assistant");
    }
  return builder;
}

/* Closes a chunk begun with begin_delta(), with @finish_reason (NULL:
 * none yet), as text. */
static char *
end_delta (JsonBuilder *builder,
           const char  *finish_reason)
{
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "finish_reason");
  if (finish_reason != NULL)
    json_builder_add_string_value (builder, finish_reason);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

/* One chunk: a delta of @content (NULL: none) or the last one with
 * @finish_reason. */
static char *
chunk_text (Completion *completion,
            gboolean    first,
            const char *content,
            const char *finish_reason)
{
  g_autoptr(JsonBuilder) builder = begin_delta (completion, first);

  if (content != NULL)
    {
      json_builder_set_member_name (builder, "content");
      json_builder_add_string_value (builder, content);
    }
  return end_delta (builder, finish_reason);
}

/* A chunk of tool call @index: its head (@call, with the name and empty
 * arguments) or a piece of its @arguments. */
static char *
tool_chunk_text (Completion        *completion,
                 guint              index,
                 const RflToolCall *call,
                 const char        *arguments)
{
  g_autoptr(JsonBuilder) builder = begin_delta (completion, FALSE);

  json_builder_set_member_name (builder, "tool_calls");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "index");
  json_builder_add_int_value (builder, index);
  if (call != NULL)
    {
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, call->id);
      json_builder_set_member_name (builder, "type");
      json_builder_add_string_value (builder, "function");
    }
  json_builder_set_member_name (builder, "function");
  json_builder_begin_object (builder);
  if (call != NULL)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, call->name);
    }
  json_builder_set_member_name (builder, "arguments");
  json_builder_add_string_value (builder, arguments);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);

  return end_delta (builder, NULL);
}

static void
append_event (Completion *completion,
              const char *data)
{
  SoupMessageBody *body = soup_server_message_get_response_body (completion->msg);
  g_autofree char *event = g_strconcat ("data: ", data, "\n\n", NULL);
  gsize length = strlen (event);

  soup_message_body_append (body, SOUP_MEMORY_TAKE, g_steal_pointer (&event), length);
}

/* The SSE headers and the first chunk, once: until then the answer may
 * still be an HTTP error. */
static void
start_stream (Completion *completion)
{
  SoupMessageHeaders *headers;
  g_autofree char *first = NULL;

  if (completion->started)
    return;

  completion->started = TRUE;
  headers = soup_server_message_get_response_headers (completion->msg);
  soup_server_message_set_status (completion->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  first = chunk_text (completion, TRUE, "", NULL);
  append_event (completion, first);
}

static void
completion_delta_cb (const RflChatDelta *delta,
                     gpointer            user_data)
{
  Completion *completion = user_data;
  g_autofree char *chunk = NULL;

  if (completion->gone || !completion->stream || delta->text_len == 0)
    return;

  start_stream (completion);
  chunk = chunk_text (completion, FALSE, delta->text, NULL);
  append_event (completion, chunk);
  soup_server_message_unpause (completion->msg);
}


static void
respond_completion_json (Completion    *completion,
                         RflChatResult *result)
{
  g_autoptr(JsonBuilder) builder = begin_chunk (completion);
  GPtrArray *calls = rfl_chat_result_get_tool_calls (result);
  g_autoptr(JsonNode) root = NULL;
  char *body;

  json_builder_set_member_name (builder, "choices");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "index");
  json_builder_add_int_value (builder, 0);
  json_builder_set_member_name (builder, "message");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, "assistant");
  json_builder_set_member_name (builder, "content");
  if (calls->len > 0 && rfl_chat_result_get_text_length (result) == 0)
    json_builder_add_null_value (builder);
  else
    json_builder_add_string_value (builder, rfl_chat_result_get_text (result));
  if (calls->len > 0)
    rfl_tool_calls_add_openai (builder, calls);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "finish_reason");
  json_builder_add_string_value (builder, result_finish_reason (result));
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  add_usage (builder, result);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  soup_server_message_set_status (completion->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (completion->msg, "application/json",
                                    SOUP_MEMORY_TAKE, body, strlen (body));
}

/* The tool calls, as OpenAI streams them: for each, a head with its id
 * and name, then its arguments in pieces (cut between characters). */
static void
append_tool_calls (Completion *completion,
                   GPtrArray  *calls)
{
  for (guint i = 0; i < calls->len; i++)
    {
      const RflToolCall *call = g_ptr_array_index (calls, i);
      g_autofree char *head = tool_chunk_text (completion, i, call, "");
      const char *piece = call->arguments;

      append_event (completion, head);
      while (*piece != '\0')
        {
          const char *end = piece;
          g_autofree char *text = NULL;
          g_autofree char *chunk = NULL;

          while (*end != '\0' && end - piece < ARGUMENT_PIECE)
            end = g_utf8_next_char (end);
          text = g_strndup (piece, end - piece);
          chunk = tool_chunk_text (completion, i, NULL, text);
          append_event (completion, chunk);
          piece = end;
        }
    }
}

static void
finish_stream (Completion    *completion,
               RflChatResult *result)
{
  g_autofree char *last = NULL;

  start_stream (completion);
  append_tool_calls (completion, rfl_chat_result_get_tool_calls (result));
  last = chunk_text (completion, FALSE, NULL, result_finish_reason (result));
  append_event (completion, last);

  if (completion->include_usage)
    {
      g_autoptr(JsonBuilder) builder = begin_chunk (completion);
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *usage = NULL;

      json_builder_set_member_name (builder, "choices");
      json_builder_begin_array (builder);
      json_builder_end_array (builder);
      add_usage (builder, result);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      usage = json_to_string (root, FALSE);
      append_event (completion, usage);
    }

  append_event (completion, "[DONE]");
  soup_message_body_complete (soup_server_message_get_response_body (completion->msg));
}

/* A failure after the stream began can only be told inside it. */
static void
fail_stream (Completion *completion,
             const char *message)
{
  g_autofree char *json = rfl_http_error_to_json (RFL_HTTP_ERROR_NOT_READY, message, NULL);

  append_event (completion, json);
  append_event (completion, "[DONE]");
  soup_message_body_complete (soup_server_message_get_response_body (completion->msg));
}

static void
completion_done_cb (GObject      *object,
                    GAsyncResult *async_result,
                    gpointer      user_data)
{
  g_autoptr(Completion) completion = user_data;
  g_autoptr(RflChatResult) result = NULL;
  g_autoptr(RflChatResult) partial = NULL;
  g_autoptr(GError) error = NULL;
  RflChatResult *used;
  guint64 tokens;

  result = rfl_llm_client_chat_stream_finish (RFL_LLM_CLIENT (object), async_result,
                                              &partial, &error);
  used = result != NULL ? result : partial;

  if (used != NULL)
    {
      tokens = (guint64) rfl_chat_result_get_input_tokens (used)
               + rfl_chat_result_get_output_tokens (used);
      rfl_quota_manager_settle (completion->quota, completion->ticket, tokens,
                                g_get_real_time ());
      rfl_metrics_add_tokens (completion->metrics,
                              rfl_chat_result_get_input_tokens (used),
                              rfl_chat_result_get_output_tokens (used));
      _rfl_service_record_usage (completion->core, completion->identity, 0,
                                 completion->provider, completion->model, used,
                                 completion->started_us);
    }
  else
    {
      rfl_quota_manager_release (completion->quota, completion->ticket);
    }

  if (completion->gone)
    return;

  if (result != NULL && completion->stream)
    finish_stream (completion, result);
  else if (result != NULL)
    respond_completion_json (completion, result);
  else if (completion->started)
    fail_stream (completion, error->message);
  else
    rfl_http_error_respond (completion->msg, RFL_HTTP_ERROR_NOT_READY, error->message);

  soup_server_message_unpause (completion->msg);
}

/* Refuses @field with a message naming it once. */
#define FIELD_ERROR(error, field, format) \
  rfl_http_error_set_field ((error), RFL_HTTP_ERROR_INVALID_REQUEST, (field), \
                            (format), (field))

static gboolean
is_absent (JsonNode *node)
{
  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

static gboolean
is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* A required, non-empty string member of @object, or NULL with @error
 * naming @field. */
static const char *
get_required_string (JsonObject  *object,
                     const char  *member,
                     const char  *field,
                     GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (is_absent (node))
    {
      FIELD_ERROR (error, field, _("Field “%s” is required"));
      return NULL;
    }
  if (!is_string (node))
    {
      FIELD_ERROR (error, field, _("Field “%s” must be a string"));
      return NULL;
    }
  if (*json_node_get_string (node) == '\0')
    {
      FIELD_ERROR (error, field, _("Field “%s” must not be empty"));
      return NULL;
    }

  return json_node_get_string (node);
}

/* An optional "type" member that may only say "function". */
static gboolean
check_function_type (JsonObject  *object,
                     const char  *field,
                     gboolean     required,
                     GError     **error)
{
  JsonNode *node = json_object_get_member (object, "type");

  if (!required && is_absent (node))
    return TRUE;
  if (is_string (node) && g_str_equal (json_node_get_string (node), "function"))
    return TRUE;

  rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                            _("Field “%s” must be one of: %s"), field, "function");
  return FALSE;
}

/* "content" as a string, or an array of parts of which the text ones
 * count. */
static char *
read_content (JsonNode  *node,
              guint      index,
              GError   **error)
{
  g_autoptr(GString) text = NULL;
  JsonArray *parts;

  if (is_string (node))
    return g_strdup (json_node_get_string (node));
  if (is_absent (node))
    return g_strdup ("");

  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto wrong;

  text = g_string_new (NULL);
  parts = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (parts); i++)
    {
      JsonNode *part = json_array_get_element (parts, i);
      JsonObject *object;

      if (!JSON_NODE_HOLDS_OBJECT (part))
        goto wrong;
      object = json_node_get_object (part);
      if (g_strcmp0 (json_object_get_string_member_with_default (object, "type", ""),
                     "text") == 0)
        g_string_append (text, json_object_get_string_member_with_default (object, "text", ""));
    }
  return g_string_free (g_steal_pointer (&text), FALSE);

wrong:
  {
    g_autofree char *field = g_strdup_printf ("messages[%u].content", index);

    FIELD_ERROR (error, field, _("Field “%s” must be a string or an array of parts"));
  }
  return NULL;
}

/* One of "tool_calls" of an assistant message: {id, type, function: {name,
 * arguments}}, the arguments a JSON object as text. */
static RflToolCall *
read_tool_call (JsonNode  *node,
                guint      index,
                guint      call_index,
                GError   **error)
{
  g_autofree char *prefix = g_strdup_printf ("messages[%u].tool_calls[%u]", index,
                                             call_index);
  g_autofree char *field = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object;
  JsonNode *function;
  JsonNode *arguments;
  const char *id;
  const char *name;
  const char *text = "{}";

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      FIELD_ERROR (error, prefix, _("Field “%s” must be an object"));
      return NULL;
    }
  object = json_node_get_object (node);

  field = g_strconcat (prefix, ".id", NULL);
  id = get_required_string (object, "id", field, error);
  if (id == NULL)
    return NULL;
  g_free (field);
  field = g_strconcat (prefix, ".type", NULL);
  if (!check_function_type (object, field, FALSE, error))
    return NULL;

  g_free (field);
  field = g_strconcat (prefix, ".function", NULL);
  function = json_object_get_member (object, "function");
  if (function == NULL || !JSON_NODE_HOLDS_OBJECT (function))
    {
      FIELD_ERROR (error, field, _("Field “%s” must be an object"));
      return NULL;
    }

  g_free (field);
  field = g_strconcat (prefix, ".function.name", NULL);
  name = get_required_string (json_node_get_object (function), "name", field, error);
  if (name == NULL)
    return NULL;

  g_free (field);
  field = g_strconcat (prefix, ".function.arguments", NULL);
  arguments = json_object_get_member (json_node_get_object (function), "arguments");
  if (!is_absent (arguments))
    {
      if (!is_string (arguments))
        {
          FIELD_ERROR (error, field, _("Field “%s” must be a string"));
          return NULL;
        }
      text = json_node_get_string (arguments);
    }
  parser = json_parser_new ();
  if (*text != '\0'
      && (!json_parser_load_from_data (parser, text, -1, NULL)
          || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))))
    {
      FIELD_ERROR (error, field,
                   _("Field “%s” must be a JSON object written as a string"));
      return NULL;
    }

  return rfl_tool_call_new (id, name, text);
}

/* An assistant turn, with the tools it called if any; their names are
 * remembered by id for the tool results that follow. */
static RflChatMessage *
read_assistant_message (JsonObject  *message,
                        guint        index,
                        const char  *content,
                        GHashTable  *call_names,
                        gsize       *length,
                        GError     **error)
{
  JsonNode *node = json_object_get_member (message, "tool_calls");
  g_autoptr(GPtrArray) calls = NULL;
  JsonArray *array;

  if (is_absent (node))
    return rfl_chat_message_new (RFL_CHAT_ROLE_ASSISTANT, content);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_autofree char *field = g_strdup_printf ("messages[%u].tool_calls", index);

      FIELD_ERROR (error, field, _("Field “%s” must be an array"));
      return NULL;
    }

  array = json_node_get_array (node);
  calls = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_tool_call_free);
  for (guint j = 0; j < json_array_get_length (array); j++)
    {
      RflToolCall *call = read_tool_call (json_array_get_element (array, j), index, j,
                                          error);

      if (call == NULL)
        return NULL;
      g_hash_table_replace (call_names, g_strdup (call->id), g_strdup (call->name));
      *length += strlen (call->name) + strlen (call->arguments);
      g_ptr_array_add (calls, call);
    }

  if (calls->len == 0)
    return rfl_chat_message_new (RFL_CHAT_ROLE_ASSISTANT, content);
  return rfl_chat_message_new_assistant (*content != '\0' ? content : NULL, calls);
}

/* A tool result: it must answer a call an earlier assistant turn made. */
static RflChatMessage *
read_tool_message (JsonObject  *message,
                   guint        index,
                   const char  *content,
                   GHashTable  *call_names,
                   GError     **error)
{
  g_autofree char *field = g_strdup_printf ("messages[%u].tool_call_id", index);
  const char *id;
  const char *name;

  id = get_required_string (message, "tool_call_id", field, error);
  if (id == NULL)
    return NULL;

  name = g_hash_table_lookup (call_names, id);
  if (name == NULL)
    {
      FIELD_ERROR (error, field,
                   _("Field “%s” names no tool call of an earlier assistant "
                     "message"));
      return NULL;
    }

  return rfl_chat_message_new_tool_result (id, name, content);
}

/* The messages of the body into @request; adds the length of their text
 * to @length, for the estimate. */
static gboolean
read_messages (JsonArray       *messages,
               RflChatRequest  *chat,
               gsize           *length,
               GError         **error)
{
  g_autoptr(GHashTable) call_names = NULL;

  if (json_array_get_length (messages) == 0)
    {
      FIELD_ERROR (error, "messages", _("Field “%s” must not be empty"));
      return FALSE;
    }

  call_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonNode *node = json_array_get_element (messages, i);
      g_autoptr(RflChatMessage) parsed = NULL;
      g_autofree char *content = NULL;
      g_autofree char *field = NULL;
      JsonObject *message;
      const char *role_name;
      RflChatRole role;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          field = g_strdup_printf ("messages[%u]", i);
          FIELD_ERROR (error, field, _("Field “%s” must be an object"));
          return FALSE;
        }
      message = json_node_get_object (node);
      role_name = json_object_get_string_member_with_default (message, "role", "");
      if (g_str_equal (role_name, "developer"))
        role_name = "system";
      if (!rfl_chat_role_from_string (role_name, &role))
        {
          field = g_strdup_printf ("messages[%u].role", i);
          rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                    _("Field “%s” must be one of: %s"), field,
                                    "system, developer, user, assistant, tool");
          return FALSE;
        }

      content = read_content (json_object_get_member (message, "content"), i, error);
      if (content == NULL)
        return FALSE;
      *length += strlen (content);

      if (role == RFL_CHAT_ROLE_ASSISTANT)
        parsed = read_assistant_message (message, i, content, call_names, length, error);
      else if (role == RFL_CHAT_ROLE_TOOL)
        parsed = read_tool_message (message, i, content, call_names, error);
      else
        parsed = rfl_chat_message_new (role, content);
      if (parsed == NULL)
        return FALSE;
      rfl_chat_request_add_message (chat, parsed);
    }

  return TRUE;
}

/* One of "tools": {type: "function", function: {name, description?,
 * parameters?}}. */
static gboolean
read_tool (JsonNode        *node,
           guint            index,
           RflChatRequest  *chat,
           GHashTable      *names,
           gsize           *length,
           GError         **error)
{
  g_autofree char *prefix = g_strdup_printf ("tools[%u]", index);
  g_autofree char *field = NULL;
  g_autofree char *parameters = NULL;
  g_autoptr(RflChatTool) tool = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonObject *function;
  JsonNode *member;
  const char *name;
  const char *description = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      FIELD_ERROR (error, prefix, _("Field “%s” must be an object"));
      return FALSE;
    }

  field = g_strconcat (prefix, ".type", NULL);
  if (!check_function_type (json_node_get_object (node), field, TRUE, error))
    return FALSE;

  g_free (field);
  field = g_strconcat (prefix, ".function", NULL);
  member = json_object_get_member (json_node_get_object (node), "function");
  if (member == NULL || !JSON_NODE_HOLDS_OBJECT (member))
    {
      FIELD_ERROR (error, field, _("Field “%s” must be an object"));
      return FALSE;
    }
  function = json_node_get_object (member);

  g_free (field);
  field = g_strconcat (prefix, ".function.description", NULL);
  member = json_object_get_member (function, "description");
  if (!is_absent (member) && !is_string (member))
    {
      FIELD_ERROR (error, field, _("Field “%s” must be a string"));
      return FALSE;
    }
  if (!is_absent (member))
    description = json_node_get_string (member);

  g_free (field);
  field = g_strconcat (prefix, ".function.parameters", NULL);
  member = json_object_get_member (function, "parameters");
  if (!is_absent (member) && !JSON_NODE_HOLDS_OBJECT (member))
    {
      FIELD_ERROR (error, field, _("Field “%s” must be an object"));
      return FALSE;
    }
  if (!is_absent (member))
    parameters = json_to_string (member, FALSE);

  g_free (field);
  field = g_strconcat (prefix, ".function.name", NULL);
  name = get_required_string (function, "name", field, error);
  if (name == NULL)
    return FALSE;
  tool = rfl_chat_tool_new (name, description, parameters, &local_error);
  if (tool == NULL)
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                _("Field “%s” is not valid: %s"), field,
                                local_error->message);
      return FALSE;
    }
  if (!g_hash_table_add (names, g_strdup (name)))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                _("Field “%s” repeats the name “%s” of another tool"),
                                field, name);
      return FALSE;
    }

  *length += strlen (name) + (description != NULL ? strlen (description) : 0)
             + (parameters != NULL ? strlen (parameters) : 0);
  rfl_chat_request_add_tool (chat, tool);
  return TRUE;
}

/* "tools": the client's own functions. The model may call them; the
 * client runs them, never the gateway, and no tool of the tenant joins
 * them. */
static gboolean
read_tools (JsonObject      *root,
            RflChatRequest  *chat,
            gsize           *length,
            GError         **error)
{
  JsonNode *node = json_object_get_member (root, "tools");
  g_autoptr(GHashTable) names = NULL;
  JsonArray *tools;

  if (is_absent (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      FIELD_ERROR (error, "tools", _("Field “%s” must be an array"));
      return FALSE;
    }

  tools = json_node_get_array (node);
  if (json_array_get_length (tools) > MAX_TOOLS)
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "tools",
                                _("Field “%s” may hold at most %u tools"),
                                "tools", MAX_TOOLS);
      return FALSE;
    }

  names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      if (!read_tool (json_array_get_element (tools, i), i, chat, names, length, error))
        return FALSE;
    }

  return TRUE;
}

static gboolean
wrong_tool_choice (GError **error)
{
  rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "tool_choice",
                            _("Field “%s” must be one of: %s"), "tool_choice",
                            "\"auto\", \"none\", \"required\", "
                            "{\"type\": \"function\", \"function\": {\"name\": …}}");
  return FALSE;
}

/* "tool_choice": "auto", "none", "required" or a named function. */
static gboolean
read_tool_choice (JsonObject      *root,
                  RflChatRequest  *chat,
                  GError         **error)
{
  JsonNode *node = json_object_get_member (root, "tool_choice");
  GPtrArray *tools = rfl_chat_request_get_tools (chat);
  JsonNode *function;
  const char *name;

  if (is_absent (node))
    return TRUE;
  if (tools->len == 0)
    {
      FIELD_ERROR (error, "tool_choice",
                   _("Field “%s” is allowed only together with “tools”"));
      return FALSE;
    }

  if (is_string (node))
    {
      const char *value = json_node_get_string (node);

      if (g_str_equal (value, "auto"))
        rfl_chat_request_set_tool_choice (chat, RFL_TOOL_CHOICE_AUTO);
      else if (g_str_equal (value, "none"))
        rfl_chat_request_set_tool_choice (chat, RFL_TOOL_CHOICE_NONE);
      else if (g_str_equal (value, "required"))
        rfl_chat_request_set_tool_choice (chat, RFL_TOOL_CHOICE_REQUIRED);
      else
        return wrong_tool_choice (error);
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_tool_choice (error);
  if (!check_function_type (json_node_get_object (node), "tool_choice.type", TRUE, error))
    return FALSE;

  function = json_object_get_member (json_node_get_object (node), "function");
  if (function == NULL || !JSON_NODE_HOLDS_OBJECT (function))
    {
      FIELD_ERROR (error, "tool_choice.function", _("Field “%s” must be an object"));
      return FALSE;
    }
  name = get_required_string (json_node_get_object (function), "name",
                              "tool_choice.function.name", error);
  if (name == NULL)
    return FALSE;

  for (guint i = 0; i < tools->len; i++)
    {
      const RflChatTool *tool = g_ptr_array_index (tools, i);

      if (g_str_equal (tool->name, name))
        {
          rfl_chat_request_set_tool_choice (chat, RFL_TOOL_CHOICE_REQUIRED);
          rfl_chat_request_set_tool_choice_function (chat, name);
          return TRUE;
        }
    }

  FIELD_ERROR (error, "tool_choice.function.name",
               _("Field “%s” must name one of the functions in “tools”"));
  return FALSE;
}

/* The tool options of the body into @chat. */
static gboolean
read_tool_options (RflJsonBody     *body,
                   RflChatRequest  *chat,
                   gsize           *length,
                   GError         **error)
{
  JsonObject *root = rfl_json_body_get_root (body);
  gboolean parallel = TRUE;

  if (!read_tools (root, chat, length, error)
      || !read_tool_choice (root, chat, error)
      || !rfl_json_body_get_boolean (body, "parallel_tool_calls", RFL_JSON_NULLABLE,
                                     &parallel, error))
    return FALSE;

  /* No provider protocol here can be held to one call per turn. */
  if (!parallel && rfl_chat_request_get_tools (chat)->len > 0)
    {
      FIELD_ERROR (error, "parallel_tool_calls",
                   _("Field “%s” cannot be false: the model may call several "
                     "tools at once"));
      return FALSE;
    }

  return TRUE;
}

/* What the configured provider cannot do is refused rather than ignored. */
static gboolean
check_provider_tools (RflLlmClient    *client,
                      RflChatRequest  *chat,
                      GError         **error)
{
  if (rfl_llm_client_get_kind (client) != RFL_PROVIDER_OLLAMA
      || rfl_chat_request_get_tools (chat)->len == 0)
    return TRUE;

  if (rfl_chat_request_get_tool_choice_function (chat) != NULL
      || rfl_chat_request_get_tool_choice (chat) == RFL_TOOL_CHOICE_REQUIRED)
    {
      FIELD_ERROR (error, "tool_choice",
                   _("Field “%s” cannot be honoured: the configured provider "
                     "(Ollama) lets the model decide whether to call a tool; "
                     "use “auto” or “none”"));
      return FALSE;
    }

  return TRUE;
}

/* Builds the provider request from an OpenAI body. */
static RflChatRequest *
read_chat_request (RflJsonBody  *body,
                   gboolean     *out_stream,
                   gboolean     *out_include_usage,
                   guint64      *out_estimate,
                   GError      **error)
{
  g_autoptr(RflChatRequest) chat = NULL;
  const char *model;
  JsonArray *messages;
  gint64 max_tokens = 0;
  double temperature = -1;
  gboolean stream = FALSE;
  gboolean include_usage = FALSE;
  gsize length = 0;

  model = rfl_json_body_get_string (body, "model", RFL_JSON_NULLABLE, error);
  if (model == NULL && *error != NULL)
    return NULL;
  messages = rfl_json_body_get_array (body, "messages", RFL_JSON_REQUIRED, error);
  if (messages == NULL
      || !rfl_json_body_get_boolean (body, "stream", RFL_JSON_NULLABLE, &stream, error)
      || !rfl_json_body_get_boolean (body, "stream_options.include_usage",
                                     RFL_JSON_NULLABLE, &include_usage, error)
      || !rfl_json_body_get_int (body, "max_tokens", RFL_JSON_NULLABLE, &max_tokens, error)
      || !rfl_json_body_get_int (body, "max_completion_tokens", RFL_JSON_NULLABLE,
                                 &max_tokens, error)
      || !rfl_json_body_get_double (body, "temperature", RFL_JSON_NULLABLE,
                                    &temperature, error))
    return NULL;

  if (max_tokens < 0 || max_tokens > G_MAXINT32)
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "max_tokens",
                                _("Field “%s” must be a positive integer"), "max_tokens");
      return NULL;
    }

  chat = rfl_chat_request_new (model != NULL && *model != '\0' ? model : NULL);
  if (!read_tool_options (body, chat, &length, error)
      || !read_messages (messages, chat, &length, error))
    return NULL;
  rfl_chat_request_set_stream (chat, TRUE);
  if (max_tokens > 0)
    rfl_chat_request_set_max_tokens (chat, (guint) max_tokens);
  if (temperature >= 0)
    rfl_chat_request_set_temperature (chat, temperature);

  *out_stream = stream;
  *out_include_usage = include_usage;
  /* About four bytes a token, and the longest answer allowed. */
  *out_estimate = length / 4 + 1 + (max_tokens > 0 ? (guint64) max_tokens
                                                   : DEFAULT_ANSWER_TOKENS);
  return g_steal_pointer (&chat);
}

/* POST /v1/chat/completions */
static void
chat_completions_cb (RflRequest *request,
                     gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflChatRequest) chat = NULL;
  g_autoptr(Completion) completion = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid = NULL;
  gboolean stream = FALSE;
  gboolean include_usage = FALSE;
  guint64 estimate = 0;

  if (!_rfl_service_http_check_available (request, http)
      || !check_scope (request, RFL_API_SCOPE_CHAT))
    return;

  body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                      OPENAI_BODY_LIMIT, &error);
  if (body == NULL
      || (chat = read_chat_request (body, &stream, &include_usage, &estimate,
                                    &error)) == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  completion = g_new0 (Completion, 1);
  completion->core = _rfl_service_core_ref (http->core);
  completion->quota = g_object_ref (http->quota);
  completion->metrics = rfl_metrics_ref (rfl_server_get_metrics (http->server));
  completion->client = new_client (request, http, &completion->provider);
  if (completion->client == NULL)
    return;
  if (!check_provider_tools (completion->client, chat, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }
  if (is_empty (rfl_chat_request_get_model (chat)))
    rfl_chat_request_set_model (chat, completion->provider->model);
  if (is_empty (rfl_chat_request_get_model (chat)))
    {
      rfl_http_error_set_field (&error, RFL_HTTP_ERROR_INVALID_REQUEST, "model",
                                _("Field “%s” is required"), "model");
      rfl_request_respond_error (request, error);
      return;
    }

  completion->ticket = _rfl_service_http_admit (request, http, principal->tenant_id,
                                                estimate);
  if (completion->ticket == NULL)
    return;

  uuid = g_uuid_string_random ();
  completion->id = g_strconcat ("chatcmpl-", uuid, NULL);
  completion->model = g_strdup (rfl_chat_request_get_model (chat));
  completion->created = g_get_real_time () / G_USEC_PER_SEC;
  completion->started_us = g_get_monotonic_time ();
  completion->identity.tenant_id = principal->tenant_id;
  completion->identity.user_id = principal->user_id;
  completion->identity.api_key_id = principal->api_key_id;
  completion->stream = stream;
  completion->include_usage = include_usage;
  completion->cancellable = g_cancellable_new ();
  completion->msg = g_object_ref (rfl_request_get_message (request));
  completion->finished_id = g_signal_connect (completion->msg, "finished",
                                              G_CALLBACK (completion_msg_finished_cb),
                                              completion);

  /* Held until the first piece of the answer or an error is known. */
  soup_server_message_pause (completion->msg);
  rfl_llm_client_chat_stream_async (completion->client, chat,
                                    completion_delta_cb, completion, NULL,
                                    completion->cancellable,
                                    completion_done_cb, completion);
  completion = NULL;
}

/* Models --------------------------------------------------------------- */

typedef struct
{
  SoupServerMessage *msg;      /* owned */
  gulong             finished_id;
  gboolean           gone;
} Pending;

static void
pending_finished_cb (SoupServerMessage *msg,
                     gpointer           user_data)
{
  Pending *pending = user_data;

  pending->gone = TRUE;
}

static Pending *
pending_new (RflRequest *request)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->msg = g_object_ref (rfl_request_get_message (request));
  pending->finished_id = g_signal_connect (pending->msg, "finished",
                                           G_CALLBACK (pending_finished_cb), pending);
  soup_server_message_pause (pending->msg);
  return pending;
}

static void
pending_free (Pending *pending)
{
  g_signal_handler_disconnect (pending->msg, pending->finished_id);
  g_object_unref (pending->msg);
  g_free (pending);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

static void
pending_respond_json (Pending  *pending,
                      JsonNode *node)
{
  char *body = json_to_string (node, FALSE);

  soup_server_message_set_status (pending->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (pending->msg, "application/json",
                                    SOUP_MEMORY_TAKE, body, strlen (body));
  soup_server_message_unpause (pending->msg);
}

static void
pending_respond_error (Pending      *pending,
                       const GError *error)
{
  rfl_http_error_respond (pending->msg, RFL_HTTP_ERROR_NOT_READY, error->message);
  soup_server_message_unpause (pending->msg);
}

static void
models_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(GPtrArray) models = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;

  models = rfl_llm_client_list_models_finish (RFL_LLM_CLIENT (object), result, &error);
  if (pending->gone)
    return;
  if (models == NULL)
    {
      pending_respond_error (pending, error);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "object");
  json_builder_add_string_value (builder, "list");
  json_builder_set_member_name (builder, "data");
  json_builder_begin_array (builder);
  for (guint i = 0; i < models->len; i++)
    {
      RflModelInfo *info = g_ptr_array_index (models, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, info->name);
      json_builder_set_member_name (builder, "object");
      json_builder_add_string_value (builder, "model");
      json_builder_set_member_name (builder, "created");
      json_builder_add_int_value (builder, 0);
      json_builder_set_member_name (builder, "owned_by");
      json_builder_add_string_value (builder, "reflection");
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  pending_respond_json (pending, root);
}

/* GET /v1/models */
static void
models_cb (RflRequest *request,
           gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflProviderSnapshot) provider = NULL;
  g_autoptr(RflLlmClient) client = NULL;

  if (!_rfl_service_http_check_available (request, http)
      || !check_scope (request, RFL_API_SCOPE_CHAT)
      || (client = new_client (request, http, &provider)) == NULL)
    return;

  rfl_llm_client_list_models_async (client, NULL, models_done_cb,
                                    pending_new (request));
}

/* Embeddings ----------------------------------------------------------- */

static JsonNode *
embeddings_to_json (const char *model,
                    guint       n_vectors,
                    guint       dims,
                    const float *data,
                    guint       input_tokens)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "object");
  json_builder_add_string_value (builder, "list");
  json_builder_set_member_name (builder, "data");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n_vectors; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "object");
      json_builder_add_string_value (builder, "embedding");
      json_builder_set_member_name (builder, "index");
      json_builder_add_int_value (builder, i);
      json_builder_set_member_name (builder, "embedding");
      json_builder_begin_array (builder);
      for (guint d = 0; d < dims; d++)
        json_builder_add_double_value (builder, data[(gsize) i * dims + d]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model);
  json_builder_set_member_name (builder, "usage");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "prompt_tokens");
  json_builder_add_int_value (builder, input_tokens);
  json_builder_set_member_name (builder, "total_tokens");
  json_builder_add_int_value (builder, input_tokens);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

/* "input": a string or an array of strings. */
static GStrv
read_inputs (RflJsonBody  *body,
             GError      **error)
{
  JsonNode *node = json_object_get_member (rfl_json_body_get_root (body), "input");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      g_strv_builder_add (builder, json_node_get_string (node));
      return g_strv_builder_end (builder);
    }

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (json_node_get_array (node)) == 0
      || json_array_get_length (json_node_get_array (node)) > MAX_EMBEDDING_INPUTS)
    goto wrong;

  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (element)
          || json_node_get_value_type (element) != G_TYPE_STRING)
        goto wrong;
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  return g_strv_builder_end (builder);

wrong:
  rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "input",
                            _("Field “%s” must be a string or an array of 1 to %u strings"),
                            "input", MAX_EMBEDDING_INPUTS);
  return NULL;
}

typedef struct
{
  Pending         *pending;   /* owned */
  RflQuotaManager *quota;     /* owned */
  RflQuotaTicket  *ticket;    /* owned */
  char           *model;     /* owned */
} EmbedCall;

static void
embed_call_free (EmbedCall *call)
{
  g_clear_pointer (&call->pending, pending_free);
  g_clear_pointer (&call->ticket, rfl_quota_ticket_free);
  g_clear_object (&call->quota);
  g_free (call->model);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EmbedCall, embed_call_free)

static void
embed_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(EmbedCall) call = user_data;
  g_autoptr(RflEmbeddings) embeddings = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;

  embeddings = rfl_llm_client_embed_finish (RFL_LLM_CLIENT (object), result, &error);
  if (embeddings == NULL)
    {
      rfl_quota_manager_release (call->quota, call->ticket);
      if (!call->pending->gone)
        pending_respond_error (call->pending, error);
      return;
    }

  rfl_quota_manager_settle (call->quota, call->ticket,
                            embeddings->input_tokens, g_get_real_time ());
  if (call->pending->gone)
    return;

  root = embeddings_to_json (call->model, embeddings->n_vectors, embeddings->dims,
                             embeddings->data, embeddings->input_tokens);
  pending_respond_json (call->pending, root);
}

/* POST /v1/embeddings {input, model}: the provider's embedding model when
 * one is configured, else the built-in hashing embedder
 * (RFL_HASH_EMBEDDER_ID). */
static void
embeddings_cb (RflRequest *request,
               gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflProviderSnapshot) provider = NULL;
  g_autoptr(RflQuotaTicket) ticket = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) inputs = NULL;
  g_autofree float *data = NULL;
  g_autoptr(JsonNode) root = NULL;
  guint64 estimate = 0;
  guint n;

  if (!_rfl_service_http_check_available (request, http)
      || !check_scope (request, RFL_API_SCOPE_CHAT))
    return;

  body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                      OPENAI_BODY_LIMIT, &error);
  if (body == NULL || (inputs = read_inputs (body, &error)) == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  n = g_strv_length (inputs);
  for (guint i = 0; i < n; i++)
    estimate += strlen (inputs[i]) / 4 + 1;
  ticket = _rfl_service_http_admit (request, http, principal->tenant_id, estimate);
  if (ticket == NULL)
    return;

  provider = _rfl_service_dup_provider (http->core, NULL);
  if (provider != NULL && provider->embedding_model != NULL
      && *provider->embedding_model != '\0')
    {
      g_autoptr(RflLlmClient) client = _rfl_service_new_client (provider, &error);
      EmbedCall *call;

      if (client == NULL)
        {
          respond_error (request, RFL_HTTP_ERROR_NOT_READY, error->message);
          return;
        }

      call = g_new0 (EmbedCall, 1);
      call->ticket = g_steal_pointer (&ticket);
      call->quota = g_object_ref (http->quota);
      call->model = g_strdup (provider->embedding_model);
      call->pending = pending_new (request);
      rfl_llm_client_embed_async (client, provider->embedding_model,
                                  (const char * const *) inputs, NULL,
                                  embed_done_cb, call);
      return;
    }

  data = g_new0 (float, (gsize) n * RFL_HASH_EMBEDDER_DIMS);
  for (guint i = 0; i < n; i++)
    rfl_hash_embedder_embed (inputs[i], -1, data + (gsize) i * RFL_HASH_EMBEDDER_DIMS);
  rfl_quota_manager_settle (http->quota, ticket, estimate, g_get_real_time ());

  root = embeddings_to_json (RFL_HASH_EMBEDDER_ID, n, RFL_HASH_EMBEDDER_DIMS, data,
                             (guint) estimate);
  rfl_request_respond_json (request, SOUP_STATUS_OK, root);
}

void
_rfl_service_http_add_openai_routes (RflRouter      *router,
                                     RflServiceHttp *http)
{
  RflRoute *route;

  route = rfl_router_add (router, "POST", "/v1/chat/completions",
                          RFL_ROUTE_AUTH_USER, chat_completions_cb, http, NULL);
  rfl_route_set_body_limit (route, OPENAI_BODY_LIMIT);
  rfl_router_add (router, "GET", "/v1/models", RFL_ROUTE_AUTH_USER, models_cb, http, NULL);
  route = rfl_router_add (router, "POST", "/v1/embeddings",
                          RFL_ROUTE_AUTH_USER, embeddings_cb, http, NULL);
  rfl_route_set_body_limit (route, OPENAI_BODY_LIMIT);
}
