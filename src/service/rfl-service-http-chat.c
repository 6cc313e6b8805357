/* rfl-service-http-chat.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service-http-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"
#include "server/rfl-http-error.h"
#include "server/rfl-json-body.h"

/* POST /api/v1/chat/completions: a turn with the tenant's assistant (its
 * persona, the user's memories, the conversation's history and tools),
 * stored in a conversation of the user, answered as JSON or streamed as
 * Server-Sent Events. */

#define CHAT_BODY_LIMIT        ((gsize) 256 * 1024)
#define MAX_MESSAGE_LENGTH     (64 * 1024)
/* A turn sends the prompt, memories and history besides the message, and
 * may call the model more than once. */

typedef struct
{
  RflQuotaManager   *quota;         /* owned */
  RflMetrics        *metrics;       /* owned */
  SoupServerMessage *msg;           /* owned */
  RflQuotaTicket    *ticket;        /* owned */
  GCancellable      *cancellable;   /* owned */
  gint64             conversation_id;
  gsize              sent;          /* bytes of the answer already streamed */
  gulong             finished_id;
  gboolean           stream;
  gboolean           started;
  gboolean           gone;
  gboolean           done;
} Turn;

/* Shared by the progress function and the callback: whichever goes last
 * frees it. */
static void
turn_clear (Turn *turn)
{
  if (turn->finished_id != 0)
    g_signal_handler_disconnect (turn->msg, turn->finished_id);
  g_clear_object (&turn->msg);
  g_clear_object (&turn->quota);
  g_clear_pointer (&turn->metrics, rfl_metrics_unref);
  g_clear_pointer (&turn->ticket, rfl_quota_ticket_free);
  g_clear_object (&turn->cancellable);
}

static void
turn_unref (Turn *turn)
{
  g_rc_box_release_full (turn, (GDestroyNotify) turn_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Turn, turn_unref)

static void
turn_msg_finished_cb (SoupServerMessage *msg,
                      gpointer           user_data)
{
  Turn *turn = user_data;

  /* The client left: the answer is kept as interrupted. */
  turn->gone = TRUE;
  g_cancellable_cancel (turn->cancellable);
}

static void
append_event (Turn       *turn,
              JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *json = NULL;
  char *event;

  json_node_take_object (node, object);
  json = json_to_string (node, FALSE);
  event = g_strconcat ("data: ", json, "\n\n", NULL);
  soup_message_body_append (soup_server_message_get_response_body (turn->msg),
                            SOUP_MEMORY_TAKE, event, strlen (event));
}

static void
start_stream (Turn *turn)
{
  SoupMessageHeaders *headers;

  if (turn->started)
    return;

  turn->started = TRUE;
  headers = soup_server_message_get_response_headers (turn->msg);
  soup_server_message_set_status (turn->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
}

static void
turn_progress_cb (const RflTurnProgress *progress,
                  gpointer               user_data)
{
  Turn *turn = user_data;
  JsonObject *event;

  if (turn->gone || turn->done || !turn->stream || progress->text_len <= turn->sent)
    return;

  start_stream (turn);
  event = json_object_new ();
  json_object_set_string_member (event, "type", "delta");
  json_object_set_int_member (event, "conversation_id", turn->conversation_id);
  json_object_set_int_member (event, "message_id", progress->assistant_message_id);
  {
    g_autofree char *delta = g_strndup (progress->text + turn->sent,
                                        progress->text_len - turn->sent);

    json_object_set_string_member (event, "content", delta);
  }
  turn->sent = progress->text_len;
  append_event (turn, event);
  soup_server_message_unpause (turn->msg);
}

static JsonObject *
turn_to_json (Turn          *turn,
              const RflTurn *result)
{
  JsonObject *object = json_object_new ();
  JsonObject *usage = json_object_new ();

  json_object_set_string_member (object, "type", "done");
  json_object_set_int_member (object, "conversation_id", turn->conversation_id);
  json_object_set_int_member (object, "user_message_id", result->user_message_id);
  json_object_set_int_member (object, "message_id", result->assistant_message_id);
  json_object_set_string_member (object, "content", result->text);
  json_object_set_string_member (object, "model", result->model != NULL ? result->model : "");
  json_object_set_int_member (object, "memories_used",
                              result->used_memories != NULL ? result->used_memories->len : 0);
  json_object_set_int_member (object, "tool_calls", result->n_tool_calls);
  json_object_set_int_member (usage, "prompt_tokens", result->tokens_in);
  json_object_set_int_member (usage, "completion_tokens", result->tokens_out);
  json_object_set_int_member (usage, "total_tokens",
                              (gint64) result->tokens_in + result->tokens_out);
  json_object_set_object_member (object, "usage", usage);

  return object;
}

static void
turn_done_cb (GObject      *object,
              GAsyncResult *async_result,
              gpointer      user_data)
{
  g_autoptr(Turn) turn = user_data;
  g_autoptr(RflTurn) result = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_service_send_message_finish (RFL_SERVICE (object), async_result, &error);
  turn->done = TRUE;
  if (result != NULL)
    {
      rfl_quota_manager_settle (turn->quota, turn->ticket,
                                (guint64) result->tokens_in + result->tokens_out,
                                g_get_real_time ());
      rfl_metrics_add_tokens (turn->metrics, result->tokens_in, result->tokens_out);
    }
  else
    {
      /* What a failed turn used is not known here: its estimate stands. */
      rfl_quota_manager_settle (turn->quota, turn->ticket,
                                rfl_quota_ticket_get_estimate (turn->ticket),
                                g_get_real_time ());
    }

  if (turn->gone)
    return;

  if (result != NULL && turn->stream)
    {
      start_stream (turn);
      append_event (turn, turn_to_json (turn, result));
      soup_message_body_append (soup_server_message_get_response_body (turn->msg),
                                SOUP_MEMORY_STATIC, "data: [DONE]\n\n", 14);
      soup_message_body_complete (soup_server_message_get_response_body (turn->msg));
    }
  else if (result != NULL)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      char *body;

      json_node_take_object (node, turn_to_json (turn, result));
      body = json_to_string (node, FALSE);
      soup_server_message_set_status (turn->msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (turn->msg, "application/json",
                                        SOUP_MEMORY_TAKE, body, strlen (body));
    }
  else if (turn->started)
    {
      g_autofree char *json = rfl_http_error_to_json (rfl_http_error_from_error (error),
                                                      error->message, NULL);
      g_autofree char *event = g_strconcat ("data: ", json, "\n\ndata: [DONE]\n\n", NULL);

      soup_message_body_append (soup_server_message_get_response_body (turn->msg),
                                SOUP_MEMORY_COPY, event, strlen (event));
      soup_message_body_complete (soup_server_message_get_response_body (turn->msg));
    }
  else if (error->domain == RFL_ERROR && error->code != RFL_ERROR_NOT_FOUND
           && error->code != RFL_ERROR_INVALID_INPUT)
    {
      /* The provider failed before answering. */
      rfl_http_error_respond (turn->msg, RFL_HTTP_ERROR_NOT_READY, error->message);
    }
  else
    {
      rfl_http_error_respond_error (turn->msg, error);
    }

  soup_server_message_unpause (turn->msg);
}

/* Reads the body; a missing conversation is made first. */
static gboolean
read_turn_request (RflRequest     *request,
                   RflServiceHttp *http,
                   RflJsonBody    *body,
                   RflIdentity     identity,
                   const char    **out_text,
                   const char    **out_model,
                   gboolean       *out_stream,
                   gint64         *out_conversation_id)
{
  g_autoptr(GError) error = NULL;
  gint64 conversation_id = 0;

  *out_text = rfl_json_body_get_string (body, "message", RFL_JSON_REQUIRED, &error);
  if (*out_text == NULL
      || ((*out_model = rfl_json_body_get_string (body, "model", RFL_JSON_NULLABLE,
                                                  &error)) == NULL && error != NULL)
      || !rfl_json_body_get_boolean (body, "stream", RFL_JSON_NULLABLE, out_stream, &error)
      || !rfl_json_body_get_int (body, "conversation_id", RFL_JSON_NULLABLE,
                                 &conversation_id, &error))
    {
      rfl_request_respond_error (request, error);
      return FALSE;
    }

  if (**out_text == '\0' || strlen (*out_text) > MAX_MESSAGE_LENGTH)
    {
      rfl_http_error_set_field (&error, RFL_HTTP_ERROR_INVALID_REQUEST, "message",
                                _("Field “%s” must hold 1 to %u bytes"), "message",
                                MAX_MESSAGE_LENGTH);
      rfl_request_respond_error (request, error);
      return FALSE;
    }

  if (conversation_id == 0)
    {
      conversation_id = rfl_chat_store_create_conversation (http->core->chat,
                                                            identity.tenant_id,
                                                            identity.user_id, NULL,
                                                            &error);
      if (conversation_id == 0)
        {
          _rfl_service_http_respond_error (request, error);
          return FALSE;
        }
    }
  else
    {
      g_autoptr(RflConversation) conversation = NULL;

      conversation = _rfl_service_get_conversation (http->core, identity, conversation_id,
                                                    &error);
      if (conversation == NULL || conversation->deleted_at != 0)
        {
          if (error == NULL)
            g_set_error_literal (&error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                                 _("The conversation does not exist"));
          _rfl_service_http_respond_error (request, error);
          return FALSE;
        }
    }

  *out_conversation_id = conversation_id;
  return TRUE;
}

static void
chat_cb (RflRequest *request,
         gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflService) service = NULL;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Turn) turn = NULL;
  const char *text = NULL;
  const char *model = NULL;
  gboolean stream = FALSE;
  RflIdentity identity;
  gint64 conversation_id = 0;

  if (!_rfl_service_http_check_available (request, http)
      || (body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                              CHAT_BODY_LIMIT, &error)) == NULL)
    {
      if (error != NULL)
        rfl_request_respond_error (request, error);
      return;
    }

  if (!_rfl_service_http_resolve_identity (request, http, body, RFL_API_SCOPE_CHAT,
                                           &identity)
      || !read_turn_request (request, http, body, identity, &text, &model, &stream,
                             &conversation_id))
    return;

  service = g_weak_ref_get (&http->service);
  if (service == NULL)
    {
      g_set_error_literal (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_NOT_READY,
                           _("The service is not running"));
      rfl_request_respond_error (request, error);
      return;
    }

  turn = g_rc_box_new0 (Turn);
  turn->ticket = _rfl_service_http_admit (request, http, identity.tenant_id,
                                          strlen (text) / 4
                                          + RFL_SERVICE_TURN_TOKEN_ESTIMATE);
  if (turn->ticket == NULL)
    return;

  turn->quota = g_object_ref (http->quota);
  turn->metrics = rfl_metrics_ref (rfl_server_get_metrics (http->server));
  turn->conversation_id = conversation_id;
  turn->stream = stream;
  turn->cancellable = g_cancellable_new ();
  turn->msg = g_object_ref (rfl_request_get_message (request));
  turn->finished_id = g_signal_connect (turn->msg, "finished",
                                        G_CALLBACK (turn_msg_finished_cb), turn);

  soup_server_message_pause (turn->msg);
  _rfl_service_send_admitted_async (service, identity, conversation_id, text,
                                    model != NULL && *model != '\0' ? model : NULL,
                                    turn_progress_cb, g_rc_box_acquire (turn),
                                    (GDestroyNotify) turn_unref,
                                    turn->cancellable, turn_done_cb, turn);
  turn = NULL;
}

void
_rfl_service_http_add_chat_routes (RflRouter      *router,
                                   RflServiceHttp *http)
{
  RflRoute *route;

  route = rfl_router_add (router, "POST", "/api/v1/chat/completions",
                          RFL_ROUTE_AUTH_USER, chat_cb, http, NULL);
  rfl_route_set_body_limit (route, CHAT_BODY_LIMIT);
}
