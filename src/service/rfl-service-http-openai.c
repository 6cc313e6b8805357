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

/* One chunk: a delta of @content (NULL: none) or the last one with
 * @finish_reason. */
static char *
chunk_text (Completion *completion,
            gboolean    first,
            const char *content,
            const char *finish_reason)
{
  g_autoptr(JsonBuilder) builder = begin_chunk (completion);
  g_autoptr(JsonNode) root = NULL;

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
  if (content != NULL)
    {
      json_builder_set_member_name (builder, "content");
      json_builder_add_string_value (builder, content);
    }
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
  json_builder_add_string_value (builder, rfl_chat_result_get_text (result));
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "finish_reason");
  json_builder_add_string_value (builder,
                                 finish_reason_name (rfl_chat_result_get_finish_reason (result)));
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

static void
finish_stream (Completion    *completion,
               RflChatResult *result)
{
  g_autofree char *last = NULL;

  start_stream (completion);
  last = chunk_text (completion, FALSE, NULL,
                     finish_reason_name (rfl_chat_result_get_finish_reason (result)));
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

/* "content" as a string, or an array of parts of which the text ones
 * count. */
static char *
read_content (JsonNode  *node,
              guint      index,
              GError   **error)
{
  g_autoptr(GString) text = NULL;
  JsonArray *parts;

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
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

    rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                              _("Field “%s” must be a string or an array of parts"),
                              field);
  }
  return NULL;
}

/* The messages of the body into @request; returns the length of their
 * text, for the estimate. */
static gboolean
read_messages (JsonArray       *messages,
               RflChatRequest  *chat,
               gsize           *out_length,
               GError         **error)
{
  gsize length = 0;

  if (json_array_get_length (messages) == 0)
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "messages",
                                _("Field “%s” must not be empty"), "messages");
      return FALSE;
    }

  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonNode *node = json_array_get_element (messages, i);
      g_autofree char *content = NULL;
      g_autofree char *field = g_strdup_printf ("messages[%u].role", i);
      JsonObject *message;
      const char *role_name;
      RflChatRole role;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_free (field);
          field = g_strdup_printf ("messages[%u]", i);
          rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                    _("Field “%s” must be an object"), field);
          return FALSE;
        }
      message = json_node_get_object (node);
      role_name = json_object_get_string_member_with_default (message, "role", "");
      if (g_str_equal (role_name, "developer"))
        role_name = "system";
      if (!rfl_chat_role_from_string (role_name, &role) || role == RFL_CHAT_ROLE_TOOL)
        {
          rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                    _("Field “%s” must be “system”, “user” or “assistant”"),
                                    field);
          return FALSE;
        }

      content = read_content (json_object_get_member (message, "content"), i, error);
      if (content == NULL)
        return FALSE;
      length += strlen (content);
      rfl_chat_request_add_text (chat, role, content);
    }

  *out_length = length;
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
  if (json_object_has_member (rfl_json_body_get_root (body), "tools"))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "tools",
                                _("Tools are not supported here"));
      return NULL;
    }

  chat = rfl_chat_request_new (model != NULL && *model != '\0' ? model : NULL);
  if (!read_messages (messages, chat, &length, error))
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
