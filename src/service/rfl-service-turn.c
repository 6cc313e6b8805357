/* rfl-service-turn.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"
#include "rfl-memory-extractor.h"
#include "rfl-service-private.h"
#include "rfl-tool-registry.h"

/* A turn, on the service thread: the user's message is stored, the
 * memories for it retrieved and the model called; each call streams into
 * an assistant row that exists before its first token and is flushed to
 * the database as text arrives. When the model calls tools, the row is
 * completed, the tools run (their results stored as tool rows) and the
 * next call streams into a new row, until an answer without tool calls,
 * an error, cancellation or a loop guard ends the turn. */

/* Characters of a conversation's first message that make its title. */
#define TITLE_CHARS 60
/* Characters of a tool result kept in the answer's metadata. */
#define TOOL_LOG_RESULT_CHARS 1000
/* Messages of the last conversation quoted for a greeting. */
#define GREETING_MESSAGES 8

/* Progress relay ---------------------------------------------------------- */

/* Progress goes from the service thread to the caller's context under a
 * lock, with at most one idle pending there. */
struct _RflProgressRelay
{
  GMutex               lock;
  GMainContext        *context;       /* the caller's */
  RflTurnProgressFunc  func;
  gpointer             data;
  GDestroyNotify       destroy;
  GString             *text;
  gint64               user_message_id;
  gint64               assistant_message_id;
  char                *activity;
  gboolean             dirty;
  gboolean             pending;
  gboolean             closed;
};

static void
relay_clear (RflProgressRelay *relay)
{
  /* Never closed: the turn did not run (the service had stopped). */
  if (!relay->closed && relay->destroy != NULL)
    relay->destroy (relay->data);

  g_mutex_clear (&relay->lock);
  g_main_context_unref (relay->context);
  g_string_free (relay->text, TRUE);
  g_free (relay->activity);
}

static RflProgressRelay *
relay_ref (RflProgressRelay *relay)
{
  return g_atomic_rc_box_acquire (relay);
}

static void
relay_unref (RflProgressRelay *relay)
{
  g_atomic_rc_box_release_full (relay, (GDestroyNotify) relay_clear);
}

RflProgressRelay *
_rfl_progress_relay_new (RflTurnProgressFunc func,
                         gpointer            data,
                         GDestroyNotify      destroy)
{
  RflProgressRelay *relay = g_atomic_rc_box_new0 (RflProgressRelay);

  g_mutex_init (&relay->lock);
  relay->context = g_main_context_ref_thread_default ();
  relay->func = func;
  relay->data = data;
  relay->destroy = destroy;
  relay->text = g_string_new (NULL);
  return relay;
}

void
_rfl_turn_input_free (RflTurnInput *input)
{
  g_free (input->text);
  g_free (input->model);
  g_clear_pointer (&input->relay, relay_unref);
  g_free (input);
}

static gboolean
relay_dispatch_cb (gpointer data)
{
  RflProgressRelay *relay = data;
  RflTurnProgress progress = { 0 };
  g_autofree char *text = NULL;
  g_autofree char *activity = NULL;

  g_mutex_lock (&relay->lock);
  relay->pending = FALSE;
  if (relay->closed || !relay->dirty)
    {
      g_mutex_unlock (&relay->lock);
      return G_SOURCE_REMOVE;
    }

  relay->dirty = FALSE;
  text = g_strndup (relay->text->str, relay->text->len);
  progress.text_len = relay->text->len;
  activity = g_strdup (relay->activity);
  progress.user_message_id = relay->user_message_id;
  progress.assistant_message_id = relay->assistant_message_id;
  g_mutex_unlock (&relay->lock);

  progress.text = text;
  progress.activity = activity;
  relay->func (&progress, relay->data);

  return G_SOURCE_REMOVE;
}

/* With the lock held. */
static void
relay_schedule (RflProgressRelay *relay)
{
  GSource *source;

  relay->dirty = TRUE;
  if (relay->pending || relay->closed)
    return;

  relay->pending = TRUE;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[rfl] turn progress");
  g_source_set_callback (source, relay_dispatch_cb, relay_ref (relay),
                         (GDestroyNotify) relay_unref);
  g_source_attach (source, relay->context);
  g_source_unref (source);
}

static void
relay_begin_message (RflProgressRelay *relay,
                     gint64            user_message_id,
                     gint64            assistant_message_id)
{
  if (relay == NULL)
    return;

  g_mutex_lock (&relay->lock);
  relay->user_message_id = user_message_id;
  relay->assistant_message_id = assistant_message_id;
  g_string_truncate (relay->text, 0);
  relay_schedule (relay);
  g_mutex_unlock (&relay->lock);
}

static void
relay_append (RflProgressRelay *relay,
              const char       *text,
              gsize             len)
{
  if (relay == NULL || len == 0)
    return;

  g_mutex_lock (&relay->lock);
  g_string_append_len (relay->text, text, len);
  relay_schedule (relay);
  g_mutex_unlock (&relay->lock);
}

static void
relay_set_activity (RflProgressRelay *relay,
                    const char       *activity)
{
  if (relay == NULL)
    return;

  g_mutex_lock (&relay->lock);
  if (g_strcmp0 (relay->activity, activity) != 0)
    {
      g_free (relay->activity);
      relay->activity = g_strdup (activity);
      relay_schedule (relay);
    }
  g_mutex_unlock (&relay->lock);
}

/* Runs on the caller's context just before the callback: no progress
 * after it, and the progress data is released there. */
static void
relay_close (gpointer data,
             gpointer unused)
{
  RflProgressRelay *relay = data;
  GDestroyNotify destroy;

  g_mutex_lock (&relay->lock);
  relay->closed = TRUE;
  destroy = relay->destroy;
  relay->destroy = NULL;
  g_mutex_unlock (&relay->lock);

  if (destroy != NULL)
    destroy (relay->data);
}

/* Cancellation chains ----------------------------------------------------- */

/* A cancellable cancelled by the caller's or by the service stopping. */
typedef struct
{
  GCancellable *cancellable;
  GCancellable *user;
  GCancellable *service;
  gulong        user_id;
  gulong        service_id;
} CancelChain;

static void
chain_cancel_cb (GCancellable *source,
                 gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
chain_init (CancelChain  *chain,
            GCancellable *user,
            GCancellable *service)
{
  chain->cancellable = g_cancellable_new ();
  if (user != NULL)
    {
      chain->user = g_object_ref (user);
      chain->user_id = g_cancellable_connect (user,
                                              G_CALLBACK (chain_cancel_cb),
                                              g_object_ref (chain->cancellable),
                                              g_object_unref);
    }
  chain->service = g_object_ref (service);
  chain->service_id = g_cancellable_connect (service,
                                             G_CALLBACK (chain_cancel_cb),
                                             g_object_ref (chain->cancellable),
                                             g_object_unref);
}

static void
chain_clear (CancelChain *chain)
{
  if (chain->user != NULL)
    g_cancellable_disconnect (chain->user, chain->user_id);
  if (chain->service != NULL)
    g_cancellable_disconnect (chain->service, chain->service_id);
  g_clear_object (&chain->user);
  g_clear_object (&chain->service);
  g_clear_object (&chain->cancellable);
}

/* Turns ------------------------------------------------------------------ */

typedef struct
{
  RflServiceCore       *core;          /* owned reference */
  GTask                *task;          /* owned reference */
  RflTurnInput         *input;         /* the task's */
  RflIdentity           identity;
  gint64                conversation_id;
  CancelChain           cancel;

  RflProviderSnapshot  *provider;
  RflLlmClient         *client;
  char                 *model;
  RflAssistantProfile  *profile;

  char                 *user_text;
  gint64                user_message_id;
  GArray               *supersedes;     /* gint64: answers replaced */
  GPtrArray            *history;        /* RflChatMessage* */
  RflChatRequest       *request;
  GPtrArray            *used_memories;  /* RflMemory* */
  JsonArray            *tool_log;
  GHashTable           *signatures;     /* tool calls made: name + args */
  GPtrArray            *calls;          /* RflToolCall* of the step */
  guint                 next_call;
  guint                 steps;
  guint                 n_tool_calls;
  guint                 tokens_in;
  guint                 tokens_out;
  guint                 latency_ms;
  char                 *answer_model;

  /* The assistant row being written. */
  gint64                row_id;
  GString              *row_text;
  gsize                 row_flushed;
  gint64                row_flushed_at;  /* monotonic µs */
  GSource              *flush_timer;
  gint64                call_started;    /* monotonic µs */
  gboolean              row_full;

  RflQuotaTicket       *ticket;         /* NULL: admitted by the caller */
} Turn;

static void
turn_free (Turn *turn)
{
  g_assert (turn->flush_timer == NULL);

  chain_clear (&turn->cancel);
  g_clear_pointer (&turn->provider, _rfl_provider_snapshot_free);
  g_clear_object (&turn->client);
  g_free (turn->model);
  g_clear_pointer (&turn->profile, rfl_assistant_profile_free);
  g_free (turn->user_text);
  g_clear_pointer (&turn->supersedes, g_array_unref);
  g_clear_pointer (&turn->history, g_ptr_array_unref);
  g_clear_pointer (&turn->request, rfl_chat_request_unref);
  g_clear_pointer (&turn->used_memories, g_ptr_array_unref);
  g_clear_pointer (&turn->tool_log, json_array_unref);
  g_clear_pointer (&turn->signatures, g_hash_table_unref);
  g_clear_pointer (&turn->calls, g_ptr_array_unref);
  g_free (turn->answer_model);
  if (turn->row_text != NULL)
    g_string_free (turn->row_text, TRUE);
  g_object_unref (turn->task);
  _rfl_service_core_unref (turn->core);
  g_free (turn);
}

/* Ends the turn with @result (an RflTurn) or @error; the caller's progress
 * closes first. */
static void
turn_end (Turn    *turn,
          RflTurn *result,
          GError  *error)
{
  RflProgressRelay *relay = turn->input->relay;
  RflServiceCore *core = turn->core;

  g_clear_pointer (&turn->flush_timer, g_source_destroy);

  /* The reservation gives way to what the model calls used. */
  if (turn->ticket != NULL)
    rfl_quota_manager_settle (core->quota, turn->ticket,
                              (guint64) turn->tokens_in + turn->tokens_out,
                              g_get_real_time ());
  g_clear_pointer (&turn->ticket, rfl_quota_ticket_free);

  _rfl_service_return (turn->task, result, (GDestroyNotify) rfl_turn_free,
                       error, relay != NULL ? relay_close : NULL,
                       relay != NULL ? relay_ref (relay) : NULL,
                       (GDestroyNotify) relay_unref);

  _rfl_service_core_ref (core);
  turn_free (turn);
  _rfl_service_release (core);
  _rfl_service_core_unref (core);
}

/* The assistant row -------------------------------------------------------- */

static char *
build_row_metadata (Turn *turn)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  gboolean empty = TRUE;

  json_builder_begin_object (builder);

  if (turn->used_memories != NULL && turn->used_memories->len > 0)
    {
      json_builder_set_member_name (builder, "memories");
      json_builder_begin_array (builder);
      for (guint i = 0; i < turn->used_memories->len; i++)
        {
          const RflMemory *memory = g_ptr_array_index (turn->used_memories, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_int_value (builder, memory->id);
          json_builder_set_member_name (builder, "key");
          json_builder_add_string_value (builder, memory->key);
          json_builder_set_member_name (builder, "value");
          json_builder_add_string_value (builder, memory->value);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      empty = FALSE;
    }

  if (json_array_get_length (turn->tool_log) > 0)
    {
      json_builder_set_member_name (builder, "tool_calls");
      json_builder_add_value (builder,
                              json_node_init_array (json_node_alloc (),
                                                    turn->tool_log));
      empty = FALSE;
    }

  if (turn->supersedes != NULL && turn->supersedes->len > 0)
    {
      json_builder_set_member_name (builder, "supersedes");
      json_builder_begin_array (builder);
      for (guint i = 0; i < turn->supersedes->len; i++)
        json_builder_add_int_value (builder,
                                    g_array_index (turn->supersedes, gint64, i));
      json_builder_end_array (builder);
      empty = FALSE;
    }

  json_builder_end_object (builder);
  if (empty)
    return NULL;

  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static gboolean
row_flush (Turn    *turn,
           GError **error)
{
  if (turn->row_flushed == turn->row_text->len)
    return TRUE;

  if (!rfl_chat_store_append_delta (turn->core->chat, turn->identity.tenant_id,
                                    turn->row_id,
                                    turn->row_text->str + turn->row_flushed,
                                    error))
    return FALSE;

  turn->row_flushed = turn->row_text->len;
  turn->row_flushed_at = g_get_monotonic_time ();
  return TRUE;
}

static void
row_flush_or_warn (Turn *turn)
{
  g_autoptr(GError) error = NULL;

  if (!row_flush (turn, &error))
    g_warning ("Cannot write the answer %" G_GINT64_FORMAT ": %s",
               turn->row_id, error->message);
}

static gboolean
flush_timer_cb (gpointer data)
{
  Turn *turn = data;

  if (g_get_monotonic_time () - turn->row_flushed_at
      >= RFL_SERVICE_FLUSH_INTERVAL_MS * 1000)
    row_flush_or_warn (turn);

  return G_SOURCE_CONTINUE;
}

static gboolean
row_begin (Turn    *turn,
           GError **error)
{
  g_autoptr(RflMessage) message = NULL;

  message = rfl_message_new (RFL_MESSAGE_ROLE_ASSISTANT, "");
  message->status = RFL_MESSAGE_STATUS_STREAMING;
  message->model = g_strdup (turn->model);
  message->metadata = build_row_metadata (turn);

  /* The row exists, committed, before the first token. */
  turn->row_id = rfl_chat_store_append_message (turn->core->chat,
                                                turn->identity.tenant_id,
                                                turn->conversation_id,
                                                message, error);
  if (turn->row_id == 0)
    return FALSE;

  if (turn->row_text == NULL)
    turn->row_text = g_string_new (NULL);
  g_string_truncate (turn->row_text, 0);
  turn->row_flushed = 0;
  turn->row_full = FALSE;
  turn->row_flushed_at = g_get_monotonic_time ();

  turn->flush_timer = g_timeout_source_new (RFL_SERVICE_FLUSH_INTERVAL_MS);
  g_source_set_static_name (turn->flush_timer, "[rfl] answer flush");
  g_source_set_callback (turn->flush_timer, flush_timer_cb, turn, NULL);
  g_source_attach (turn->flush_timer, turn->core->context);
  g_source_unref (turn->flush_timer);

  return TRUE;
}

static void
row_append (Turn       *turn,
            const char *text,
            gsize       len)
{
  if (len == 0 || turn->row_full)
    return;

  /* The store takes at most this much; what is beyond is dropped. */
  if (turn->row_text->len + len > RFL_CHAT_STORE_MAX_CONTENT_BYTES)
    {
      turn->row_full = TRUE;
      return;
    }

  g_string_append_len (turn->row_text, text, len);
  relay_append (turn->input->relay, text, len);

  if (turn->row_text->len - turn->row_flushed >= RFL_SERVICE_FLUSH_BYTES
      || g_get_monotonic_time () - turn->row_flushed_at
         >= RFL_SERVICE_FLUSH_INTERVAL_MS * 1000)
    row_flush_or_warn (turn);
}

/* Adds what @result holds beyond what streamed (an answer that did not
 * stream, or text that arrived with the end). */
static void
row_take_rest (Turn          *turn,
               RflChatResult *result)
{
  const char *text;
  gsize len;

  if (result == NULL)
    return;

  text = rfl_chat_result_get_text (result);
  len = rfl_chat_result_get_text_length (result);
  if (len > turn->row_text->len
      && strncmp (text, turn->row_text->str, turn->row_text->len) == 0
      && g_utf8_validate (text + turn->row_text->len,
                          len - turn->row_text->len, NULL))
    row_append (turn, text + turn->row_text->len, len - turn->row_text->len);
}

static void
row_end (Turn             *turn,
         RflMessageStatus  status,
         guint             tokens_in,
         guint             tokens_out,
         const char       *error_message)
{
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&turn->flush_timer, g_source_destroy);

  if (!row_flush (turn, &error)
      || !rfl_chat_store_finish_message (turn->core->chat,
                                         turn->identity.tenant_id,
                                         turn->row_id, status, tokens_in,
                                         tokens_out, error_message, &error))
    g_warning ("Cannot end the answer %" G_GINT64_FORMAT ": %s",
               turn->row_id, error->message);
}

/* Preparing a turn --------------------------------------------------------- */

static char *
title_from_text (const char *text)
{
  g_autofree char *line = NULL;
  g_autofree char *head = NULL;
  const char *end = strchr (text, '\n');
  glong n;

  line = g_strstrip (g_strndup (text, end != NULL ? end - text
                                                  : (gssize) strlen (text)));
  n = g_utf8_strlen (line, -1);
  if (n <= TITLE_CHARS)
    return g_steal_pointer (&line);

  head = g_utf8_substring (line, 0, TITLE_CHARS - 1);
  return g_strconcat (g_strchomp (head), "…", NULL);
}

static gboolean
is_blank (const char *text)
{
  for (; text != NULL && *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;

  return TRUE;
}

/* The model's history from the conversation's rows @messages[0, @end):
 * user messages and the text of answers, not superseded. */
static GPtrArray *
build_history (GPtrArray *messages,
               guint      end)
{
  g_autoptr(GHashTable) superseded = _rfl_service_find_superseded (messages);
  GPtrArray *history;
  guint first = 0;
  guint n = 0;

  history = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_chat_message_unref);

  for (guint i = 0; i < end; i++)
    {
      const RflMessage *message = g_ptr_array_index (messages, i);
      RflChatRole role;

      if (message->role == RFL_MESSAGE_ROLE_USER)
        role = RFL_CHAT_ROLE_USER;
      else if (message->role == RFL_MESSAGE_ROLE_ASSISTANT
               && message->status != RFL_MESSAGE_STATUS_STREAMING
               && !g_hash_table_contains (superseded, &message->id))
        role = RFL_CHAT_ROLE_ASSISTANT;
      else
        continue;

      if (is_blank (message->content))
        continue;

      g_ptr_array_add (history, rfl_chat_message_new (role, message->content));
    }

  /* The latest messages, beginning with one of the user's. */
  if (history->len > RFL_SERVICE_HISTORY_MESSAGES)
    first = history->len - RFL_SERVICE_HISTORY_MESSAGES;
  while (first < history->len
         && rfl_chat_message_get_role (g_ptr_array_index (history, first))
            != RFL_CHAT_ROLE_USER)
    first++;
  n = first;
  if (n > 0)
    g_ptr_array_remove_range (history, 0, n);

  return history;
}

static gboolean
prepare_text (Turn    *turn,
              GError **error)
{
  g_autofree char *text = NULL;

  if (!g_utf8_validate (turn->input->text, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The message is not valid text"));
      return FALSE;
    }

  text = g_strstrip (g_strdup (turn->input->text));
  if (*text == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The message is empty"));
      return FALSE;
    }

  if (strlen (text) > RFL_CHAT_STORE_MAX_CONTENT_BYTES)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The message is too long: the limit is %d MiB"),
                   RFL_CHAT_STORE_MAX_CONTENT_BYTES / (1024 * 1024));
      return FALSE;
    }

  turn->user_text = g_steal_pointer (&text);
  return TRUE;
}

/* Regenerating: the last user message is answered again; what answered it
 * before is superseded. */
static gboolean
prepare_regenerate (Turn       *turn,
                    GPtrArray  *messages,
                    guint      *history_end,
                    GError    **error)
{
  guint i = messages->len;

  while (i > 0)
    {
      const RflMessage *message = g_ptr_array_index (messages, i - 1);

      if (message->role == RFL_MESSAGE_ROLE_USER)
        break;
      i--;
    }

  if (i == 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("There is no message to answer again"));
      return FALSE;
    }

  for (guint j = i; j < messages->len; j++)
    {
      const RflMessage *message = g_ptr_array_index (messages, j);

      if (message->role == RFL_MESSAGE_ROLE_ASSISTANT)
        {
          if (message->status == RFL_MESSAGE_STATUS_STREAMING)
            {
              g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                                   _("An answer is still being written"));
              return FALSE;
            }
          g_array_append_val (turn->supersedes, message->id);
        }
    }

  turn->user_message_id = ((RflMessage *) g_ptr_array_index (messages, i - 1))->id;
  turn->user_text = g_strdup (((RflMessage *) g_ptr_array_index (messages, i - 1))->content);
  *history_end = i - 1;
  return TRUE;
}

static gboolean
prepare_turn (Turn    *turn,
              GError **error)
{
  RflServiceCore *core = turn->core;
  g_auto(RflIdentityCheck) check = { 0 };
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflMessage) user = NULL;
  guint history_end;

  if (!_rfl_service_check_identity (core, turn->identity, &check, error)
      || (conversation = _rfl_service_get_conversation (core, turn->identity,
                                                        turn->conversation_id,
                                                        error)) == NULL)
    return FALSE;

  if (conversation->deleted_at != 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The conversation was deleted: restore it "
                             "first"));
      return FALSE;
    }

  if (turn->input->text != NULL && !prepare_text (turn, error))
    return FALSE;

  turn->provider = _rfl_service_dup_provider (core, error);
  if (turn->provider == NULL)
    return FALSE;
  turn->client = _rfl_service_new_client (turn->provider, error);
  if (turn->client == NULL)
    return FALSE;
  turn->model = g_strdup (turn->input->model != NULL ? turn->input->model
                                                     : turn->provider->model);
  turn->profile = _rfl_service_dup_profile (core, turn->identity, &check);

  messages = rfl_chat_store_list_messages (core->chat, turn->identity.tenant_id,
                                           turn->conversation_id, 0,
                                           4 * RFL_SERVICE_HISTORY_MESSAGES,
                                           error);
  if (messages == NULL)
    return FALSE;
  history_end = messages->len;

  if (turn->input->text == NULL
      && !prepare_regenerate (turn, messages, &history_end, error))
    return FALSE;

  turn->history = build_history (messages, history_end);

  if (!turn->input->admitted)
    {
      RflQuotaRejection rejection = { 0 };

      turn->ticket = rfl_quota_manager_admit (core->quota,
                                              turn->identity.tenant_id,
                                              strlen (turn->user_text) / 4
                                              + RFL_SERVICE_TURN_TOKEN_ESTIMATE,
                                              g_get_real_time (), &rejection,
                                              error);
      if (turn->ticket == NULL)
        {
          _rfl_service_record_rejection (core, turn->identity.tenant_id,
                                         turn->identity.user_id, &rejection);
          return FALSE;
        }
    }

  if (turn->input->text != NULL)
    {
      user = rfl_message_new (RFL_MESSAGE_ROLE_USER, turn->user_text);
      turn->user_message_id = rfl_chat_store_append_message (core->chat,
                                                             turn->identity.tenant_id,
                                                             turn->conversation_id,
                                                             user, error);
      if (turn->user_message_id == 0)
        return FALSE;

      if (is_blank (conversation->title))
        {
          g_autofree char *title = title_from_text (turn->user_text);
          g_autoptr(GError) local_error = NULL;

          if (!rfl_chat_store_rename_conversation (core->chat,
                                                   turn->identity.tenant_id,
                                                   turn->conversation_id,
                                                   title, &local_error))
            g_debug ("Cannot title conversation %" G_GINT64_FORMAT ": %s",
                     turn->conversation_id, local_error->message);
        }
    }

  return TRUE;
}

static void
add_tools (Turn *turn)
{
  for (guint i = 0; i < RFL_N_TOOLS; i++)
    {
      const RflChatTool *tool = rfl_tool_registry_get_definition (i);
      g_autoptr(GError) error = NULL;
      gboolean enabled = FALSE;

      if (tool == NULL)
        continue;

      if (!rfl_chat_store_get_tool_enabled (turn->core->chat,
                                            turn->identity.tenant_id,
                                            tool->name, &enabled, &error))
        {
          g_warning ("Cannot read whether the tool %s is allowed: %s",
                     tool->name, error->message);
          continue;
        }

      if (enabled)
        rfl_chat_request_add_tool (turn->request, tool);
    }
}

static void
build_request (Turn *turn)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *system = NULL;

  system = rfl_assistant_build_system_prompt (turn->profile,
                                              turn->used_memories, now);

  turn->request = rfl_chat_request_new (turn->model);
  rfl_chat_request_add_text (turn->request, RFL_CHAT_ROLE_SYSTEM, system);
  for (guint i = 0; i < turn->history->len; i++)
    rfl_chat_request_add_message (turn->request,
                                  g_ptr_array_index (turn->history, i));
  rfl_chat_request_add_text (turn->request, RFL_CHAT_ROLE_USER,
                             turn->user_text);
  add_tools (turn);
}

/* Steps ------------------------------------------------------------------ */

static void turn_step      (Turn *turn);
static void run_next_tool  (Turn *turn);

static void
turn_succeed (Turn *turn)
{
  RflServiceJob *job;
  RflTurn *answer;

  answer = g_new0 (RflTurn, 1);
  answer->user_message_id = turn->user_message_id;
  answer->assistant_message_id = turn->row_id;
  answer->text = g_strndup (turn->row_text->str, turn->row_text->len);
  answer->model = g_strdup (turn->answer_model != NULL ? turn->answer_model
                                                       : turn->model);
  answer->used_memories = g_ptr_array_ref (turn->used_memories);
  answer->tokens_in = turn->tokens_in;
  answer->tokens_out = turn->tokens_out;
  answer->latency_ms = turn->latency_ms;
  answer->n_tool_calls = turn->n_tool_calls;

  /* What the exchange taught about the user is extracted later. */
  job = g_new0 (RflServiceJob, 1);
  job->kind = RFL_SERVICE_JOB_EXTRACT;
  job->identity = turn->identity;
  job->conversation_id = turn->conversation_id;
  job->source_message_id = turn->user_message_id;
  job->user_text = g_strdup (turn->user_text);
  job->assistant_text = g_strdup (answer->text);
  job->model = g_strdup (turn->model);
  job->provider = _rfl_provider_snapshot_copy (turn->provider);
  _rfl_service_queue_job (turn->core, job);

  turn_end (turn, answer, NULL);
}

static char *
dup_call_signature (const RflToolCall *call)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *arguments = NULL;

  /* Spacing does not make a call different. */
  node = json_from_string (call->arguments, NULL);
  arguments = node != NULL ? json_to_string (node, FALSE)
                           : g_strdup (call->arguments);

  return g_strconcat (call->name, "\n", arguments, NULL);
}

/* Adds a call's usage to the turn's and records it. */
static void
account_call (Turn          *turn,
              RflChatResult *usage,
              guint         *tokens_in,
              guint         *tokens_out)
{
  const char *model;

  _rfl_service_record_usage (turn->core, turn->identity, turn->conversation_id,
                             turn->provider, turn->model, usage,
                             turn->call_started);
  turn->latency_ms += (guint) ((g_get_monotonic_time () - turn->call_started)
                               / 1000);

  *tokens_in = usage != NULL ? rfl_chat_result_get_input_tokens (usage) : 0;
  *tokens_out = usage != NULL ? rfl_chat_result_get_output_tokens (usage) : 0;
  turn->tokens_in += *tokens_in;
  turn->tokens_out += *tokens_out;

  model = usage != NULL ? rfl_chat_result_get_model (usage) : NULL;
  if (model != NULL && *model != '\0')
    {
      g_free (turn->answer_model);
      turn->answer_model = g_strdup (model);
    }
}

/* Why the turn must stop instead of running @calls, or NULL. */
static char *
check_loop (Turn      *turn,
            GPtrArray *calls)
{
  if (turn->steps >= RFL_SERVICE_MAX_STEPS)
    return g_strdup_printf (_("The assistant was stopped after %d steps "
                              "without finishing its answer"),
                            RFL_SERVICE_MAX_STEPS);

  for (guint i = 0; i < calls->len; i++)
    {
      const RflToolCall *call = g_ptr_array_index (calls, i);

      if (!g_hash_table_add (turn->signatures, dup_call_signature (call)))
        return g_strdup_printf (_("The assistant was stopped: it called the "
                                  "tool “%s” again with the same arguments"),
                                call->name);
    }

  return NULL;
}

static void
step_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  Turn *turn = user_data;
  g_autoptr(RflChatResult) result = NULL;
  g_autoptr(RflChatResult) partial = NULL;
  g_autoptr(RflChatMessage) assistant = NULL;
  g_autofree char *stop = NULL;
  GError *error = NULL;
  GPtrArray *calls;
  guint tokens_in;
  guint tokens_out;

  result = rfl_llm_client_chat_stream_finish (RFL_LLM_CLIENT (source), res,
                                              &partial, &error);
  g_clear_pointer (&turn->flush_timer, g_source_destroy);

  account_call (turn, result != NULL ? result : partial, &tokens_in,
                &tokens_out);
  row_take_rest (turn, result != NULL ? result : partial);

  if (result == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        row_end (turn, RFL_MESSAGE_STATUS_INTERRUPTED, tokens_in, tokens_out,
                 NULL);
      else
        row_end (turn, RFL_MESSAGE_STATUS_ERROR, tokens_in, tokens_out,
                 error->message);
      turn_end (turn, NULL, error);
      return;
    }

  calls = rfl_chat_result_get_tool_calls (result);
  if (calls->len == 0)
    {
      row_end (turn, RFL_MESSAGE_STATUS_COMPLETE, tokens_in, tokens_out, NULL);
      turn_succeed (turn);
      return;
    }

  stop = check_loop (turn, calls);
  if (stop != NULL)
    {
      row_end (turn, RFL_MESSAGE_STATUS_ERROR, tokens_in, tokens_out, stop);
      turn_end (turn, NULL, g_error_new_literal (RFL_ERROR, RFL_ERROR_FAILED,
                                                 stop));
      return;
    }

  row_end (turn, RFL_MESSAGE_STATUS_COMPLETE, tokens_in, tokens_out, NULL);

  /* Some providers refuse an empty text beside tool calls. */
  assistant = rfl_chat_message_new_assistant (*rfl_chat_result_get_text (result) != '\0'
                                                ? rfl_chat_result_get_text (result)
                                                : NULL,
                                              calls);
  rfl_chat_request_add_message (turn->request, assistant);
  g_clear_pointer (&turn->calls, g_ptr_array_unref);
  turn->calls = g_ptr_array_ref (calls);
  turn->next_call = 0;
  run_next_tool (turn);
}

static void
delta_cb (const RflChatDelta *delta,
          gpointer            user_data)
{
  Turn *turn = user_data;

  row_append (turn, delta->text, delta->text_len);
}

static void
turn_step (Turn *turn)
{
  GError *error = NULL;

  if (g_cancellable_set_error_if_cancelled (turn->cancel.cancellable, &error))
    {
      turn_end (turn, NULL, error);
      return;
    }

  if (!row_begin (turn, &error))
    {
      turn_end (turn, NULL, error);
      return;
    }

  turn->steps++;
  relay_begin_message (turn->input->relay, turn->user_message_id,
                       turn->row_id);
  relay_set_activity (turn->input->relay, NULL);

  turn->call_started = g_get_monotonic_time ();
  rfl_llm_client_chat_stream_async (turn->client, turn->request, delta_cb,
                                    turn, NULL, turn->cancel.cancellable,
                                    step_done_cb, turn);
}

/* Tools ------------------------------------------------------------------ */

static void
tool_done (Turn              *turn,
           const RflToolCall *call,
           JsonObject        *arguments,
           gboolean           allowed,
           const char        *result)
{
  g_autoptr(RflMessage) row = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) metadata = NULL;
  g_autoptr(RflChatMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *excerpt = NULL;
  JsonObject *entry;

  /* Some providers refuse an empty tool result. */
  if (*result == '\0')
    result = "(empty)";

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "tool_call_id");
  json_builder_add_string_value (builder, call->id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, call->name);
  json_builder_set_member_name (builder, "arguments");
  if (arguments != NULL)
    json_builder_add_value (builder,
                            json_node_init_object (json_node_alloc (),
                                                   arguments));
  else
    json_builder_add_string_value (builder, call->arguments);
  json_builder_set_member_name (builder, "allowed");
  json_builder_add_boolean_value (builder, allowed);
  json_builder_end_object (builder);
  metadata = json_builder_get_root (builder);

  row = rfl_message_new (RFL_MESSAGE_ROLE_TOOL, result);
  row->metadata = json_to_string (metadata, FALSE);
  if (rfl_chat_store_append_message (turn->core->chat, turn->identity.tenant_id,
                                     turn->conversation_id, row, &error) == 0)
    g_warning ("Cannot store the result of the tool %s: %s", call->name,
               error->message);

  message = rfl_chat_message_new_tool_result (call->id, call->name, result);
  rfl_chat_request_add_message (turn->request, message);

  /* The log for the answer's metadata: the call and what it gave. */
  entry = json_object_ref (json_node_get_object (metadata));
  json_object_remove_member (entry, "tool_call_id");
  json_object_set_string_member (entry, "id", call->id);
  excerpt = g_utf8_strlen (result, -1) > TOOL_LOG_RESULT_CHARS
              ? g_utf8_substring (result, 0, TOOL_LOG_RESULT_CHARS)
              : g_strdup (result);
  json_object_set_string_member (entry, "result", excerpt);
  json_array_add_object_element (turn->tool_log, entry);

  turn->next_call++;
  run_next_tool (turn);
}

typedef struct
{
  Turn        *turn;
  RflToolCall *call;
  JsonObject  *arguments;
} ToolRun;

static ToolRun *
tool_run_new (Turn              *turn,
              const RflToolCall *call,
              JsonObject        *arguments)
{
  ToolRun *run = g_new0 (ToolRun, 1);

  run->turn = turn;
  run->call = rfl_tool_call_copy (call);
  run->arguments = json_object_ref (arguments);
  return run;
}

static void
tool_run_free (ToolRun *run)
{
  rfl_tool_call_free (run->call);
  json_object_unref (run->arguments);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ToolRun, tool_run_free)

static void
registry_tool_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(ToolRun) run = user_data;
  g_autofree char *text = NULL;
  GError *error = NULL;

  text = rfl_tool_registry_run_finish (result, &error);
  if (text == NULL)
    {
      turn_end (run->turn, NULL, error);
      return;
    }

  tool_done (run->turn, run->call, run->arguments, TRUE, text);
}

static char *
search_memories (Turn        *turn,
                 JsonObject  *arguments,
                 const float *vector,
                 guint        n_dims)
{
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GArray) ids = NULL;
  const char *query;
  double limit = 5;

  query = rfl_tool_arguments_get_string (arguments, "query");
  if (rfl_tool_arguments_get_number (arguments, "limit", &limit))
    limit = CLAMP (limit, 1, 20);

  hits = rfl_memory_store_search (turn->core->memories,
                                  turn->identity.tenant_id,
                                  turn->identity.user_id, query, vector,
                                  n_dims, (guint) limit, &error);
  if (hits == NULL)
    return g_strdup_printf ("Error: %s", error->message);
  if (hits->len == 0)
    return g_strdup ("No memories match.");

  builder = json_builder_new ();
  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  json_builder_begin_array (builder);
  for (guint i = 0; i < hits->len; i++)
    {
      const RflMemoryHit *hit = g_ptr_array_index (hits, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "kind");
      json_builder_add_string_value (builder,
                                     rfl_memory_kind_to_string (hit->memory->kind));
      json_builder_set_member_name (builder, "key");
      json_builder_add_string_value (builder, hit->memory->key);
      json_builder_set_member_name (builder, "value");
      json_builder_add_string_value (builder, hit->memory->value);
      json_builder_end_object (builder);
      g_array_append_val (ids, hit->memory->id);
    }
  json_builder_end_array (builder);

  if (!rfl_memory_store_mark_used (turn->core->memories,
                                   turn->identity.tenant_id,
                                   (const gint64 *) ids->data, ids->len,
                                   &error))
    g_debug ("Cannot mark memories used: %s", error->message);

  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static void
memory_query_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(ToolRun) run = user_data;
  g_autofree float *vector = NULL;
  g_autofree char *text = NULL;
  GError *error = NULL;
  guint n_dims = 0;

  vector = _rfl_service_embed_query_finish (result, &n_dims, &error);
  if (error != NULL)
    {
      turn_end (run->turn, NULL, error);
      return;
    }

  text = search_memories (run->turn, run->arguments, vector,
                          vector != NULL ? n_dims : 0);
  tool_done (run->turn, run->call, run->arguments, TRUE, text);
}

static char *
save_memory (Turn       *turn,
             JsonObject *arguments)
{
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;
  const char *key = rfl_tool_arguments_get_string (arguments, "key");
  const char *value = rfl_tool_arguments_get_string (arguments, "value");
  const char *kind_name = rfl_tool_arguments_get_string (arguments, "kind");
  RflMemoryKind kind = RFL_MEMORY_KIND_FACT;
  RflMemoryUpsert outcome;
  double importance = 0.6;
  gint64 id;

  if (key == NULL || value == NULL)
    return g_strdup ("Error: the arguments \"key\" and \"value\" are "
                     "needed.");

  if (kind_name != NULL && !rfl_memory_kind_from_string (kind_name, &kind))
    kind = RFL_MEMORY_KIND_OTHER;
  if (rfl_tool_arguments_get_number (arguments, "importance", &importance))
    importance = CLAMP (importance, 0.0, 1.0);

  memory = rfl_memory_new (kind, key, value);
  memory->importance = importance;
  memory->source_message_id = turn->user_message_id;

  id = rfl_memory_store_upsert (turn->core->memories, turn->identity.tenant_id,
                                turn->identity.user_id, memory, NULL, 0,
                                &outcome, &error);
  if (id == 0)
    return g_strdup_printf ("Error: %s", error->message);

  _rfl_service_queue_reembed (turn->core);

  if (outcome == RFL_MEMORY_UPSERT_INSERTED)
    return g_strdup_printf ("Saved: %s = %s.", key, value);
  return g_strdup_printf ("Updated what was known: %s = %s.", key, value);
}

static void
run_next_tool (Turn *turn)
{
  g_autoptr(JsonObject) arguments = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *refusal = NULL;
  const RflToolCall *call;
  gboolean enabled = FALSE;
  RflToolId id;

  if (turn->next_call >= turn->calls->len)
    {
      turn_step (turn);
      return;
    }

  call = g_ptr_array_index (turn->calls, turn->next_call);
  turn->n_tool_calls++;

  if (!rfl_tool_id_from_string (call->name, &id))
    {
      refusal = g_strdup_printf ("Error: there is no tool named \"%s\".",
                                 call->name);
      tool_done (turn, call, NULL, FALSE, refusal);
      return;
    }

  if (!rfl_chat_store_get_tool_enabled (turn->core->chat,
                                        turn->identity.tenant_id, call->name,
                                        &enabled, &error))
    g_warning ("Cannot read whether the tool %s is allowed: %s", call->name,
               error->message);

  if (!enabled)
    {
      refusal = g_strdup_printf ("The tool \"%s\" is not allowed for this "
                                 "user: an administrator has to enable it. "
                                 "Tell the user, and answer without it.",
                                 call->name);
      tool_done (turn, call, NULL, FALSE, refusal);
      return;
    }

  arguments = rfl_tool_call_parse_arguments (call, &error);
  if (arguments == NULL)
    {
      refusal = g_strdup_printf ("Error: %s", error->message);
      tool_done (turn, call, NULL, TRUE, refusal);
      return;
    }

  relay_set_activity (turn->input->relay, rfl_tool_id_get_activity (id));

  switch (id)
    {
    case RFL_TOOL_MEMORY_SEARCH:
      _rfl_service_embed_query_async (turn->core,
                                      rfl_tool_arguments_get_string (arguments,
                                                                     "query"),
                                      turn->cancel.cancellable,
                                      memory_query_cb,
                                      tool_run_new (turn, call, arguments));
      break;

    case RFL_TOOL_MEMORY_SAVE:
      refusal = save_memory (turn, arguments);
      tool_done (turn, call, arguments, TRUE, refusal);
      break;

    case RFL_TOOL_CALCULATOR:
    case RFL_TOOL_CURRENT_TIME:
    case RFL_TOOL_FILE_READ:
    case RFL_TOOL_SHELL_RUN:
    case RFL_TOOL_WEB_FETCH:
    default:
      rfl_tool_registry_run_async (id, arguments, turn->cancel.cancellable,
                                   registry_tool_cb,
                                   tool_run_new (turn, call, arguments));
      break;
    }
}

/* Starting ------------------------------------------------------------------ */

static void
retrieval_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Turn *turn = user_data;
  g_autofree float *vector = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) search_error = NULL;
  GError *error = NULL;
  guint n_dims = 0;

  vector = _rfl_service_embed_query_finish (result, &n_dims, &error);
  if (error != NULL)
    {
      turn_end (turn, NULL, error);
      return;
    }

  hits = rfl_memory_store_search (turn->core->memories,
                                  turn->identity.tenant_id,
                                  turn->identity.user_id, turn->user_text,
                                  vector, vector != NULL ? n_dims : 0,
                                  RFL_ASSISTANT_MEMORY_CANDIDATES,
                                  &search_error);
  if (hits == NULL)
    g_warning ("Cannot search the memories of user %" G_GINT64_FORMAT ": %s",
               turn->identity.user_id, search_error->message);

  turn->used_memories = rfl_assistant_rank_memories (hits,
                                                     g_get_real_time () / 1000,
                                                     RFL_ASSISTANT_MAX_MEMORIES);
  if (turn->used_memories->len > 0)
    {
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr(GError) mark_error = NULL;

      for (guint i = 0; i < turn->used_memories->len; i++)
        g_array_append_val (ids,
                            ((RflMemory *) g_ptr_array_index (turn->used_memories, i))->id);
      if (!rfl_memory_store_mark_used (turn->core->memories,
                                       turn->identity.tenant_id,
                                       (const gint64 *) ids->data, ids->len,
                                       &mark_error))
        g_debug ("Cannot mark memories used: %s", mark_error->message);
    }

  build_request (turn);
  turn_step (turn);
}

void
_rfl_service_send_message (RflServiceCore *core,
                           GTask          *task)
{
  Turn *turn = g_new0 (Turn, 1);
  GError *error = NULL;

  turn->core = _rfl_service_core_ref (core);
  turn->task = g_object_ref (task);
  turn->input = g_task_get_task_data (task);
  turn->identity = turn->input->identity;
  turn->conversation_id = turn->input->conversation_id;
  turn->supersedes = g_array_new (FALSE, FALSE, sizeof (gint64));
  turn->tool_log = json_array_new ();
  turn->signatures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            NULL);
  chain_init (&turn->cancel, g_task_get_cancellable (task), core->cancellable);
  _rfl_service_hold (core);

  if (!prepare_turn (turn, &error))
    {
      turn_end (turn, NULL, error);
      return;
    }

  _rfl_service_embed_query_async (core, turn->user_text,
                                  turn->cancel.cancellable, retrieval_cb,
                                  turn);
}

/* Greeting ------------------------------------------------------------------ */

typedef struct
{
  RflServiceCore      *core;
  GTask               *task;
  RflIdentity          identity;
  CancelChain          cancel;
  RflProviderSnapshot *provider;
  char                *fallback;
  gint64               started;
} Greeting;

static void
greeting_free (Greeting *greeting)
{
  chain_clear (&greeting->cancel);
  _rfl_provider_snapshot_free (greeting->provider);
  g_free (greeting->fallback);
  g_object_unref (greeting->task);
  _rfl_service_release (greeting->core);
  _rfl_service_core_unref (greeting->core);
  g_free (greeting);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Greeting, greeting_free)

/* The model's line without the quotation marks some models add. */
static char *
clean_greeting (const char *text)
{
  g_autofree char *line = g_strstrip (g_strdup (text));
  gsize len = strlen (line);

  if (len >= 2 && line[0] == '"' && line[len - 1] == '"')
    {
      line[len - 1] = '\0';
      return g_strstrip (g_strdup (line + 1));
    }

  return g_steal_pointer (&line);
}

static void
greeting_done_cb (GObject      *source,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  g_autoptr(Greeting) greeting = user_data;
  g_autoptr(RflChatResult) result = NULL;
  g_autoptr(RflChatResult) partial = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  result = rfl_llm_client_chat_stream_finish (RFL_LLM_CLIENT (source), res,
                                              &partial, &error);
  _rfl_service_record_usage (greeting->core, greeting->identity, 0,
                             greeting->provider, greeting->provider->model,
                             result != NULL ? result : partial,
                             greeting->started);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      _rfl_service_return_error (greeting->task, g_steal_pointer (&error));
      return;
    }

  if (result != NULL)
    line = clean_greeting (rfl_chat_result_get_text (result));

  if (line == NULL || *line == '\0')
    {
      if (error != NULL)
        g_debug ("The greeting falls back to its template: %s",
                 error->message);
      g_free (line);
      line = g_steal_pointer (&greeting->fallback);
    }

  _rfl_service_return (greeting->task, g_steal_pointer (&line), g_free, NULL,
                       NULL, NULL, NULL);
}

static RflConversation *
find_last_conversation (RflServiceCore  *core,
                        RflIdentity      identity,
                        GError         **error)
{
  g_autoptr(GPtrArray) conversations = NULL;

  conversations = rfl_chat_store_list_conversations (core->chat,
                                                     identity.tenant_id,
                                                     identity.user_id, NULL,
                                                     RFL_CONVERSATION_LIST_ACTIVE,
                                                     0, 50, error);
  if (conversations == NULL)
    return NULL;

  for (guint i = 0; i < conversations->len; i++)
    {
      RflConversation *conversation = g_ptr_array_index (conversations, i);

      if (conversation->n_messages > 0)
        return rfl_conversation_copy (conversation);
    }

  return NULL;
}

void
_rfl_service_greeting (RflServiceCore *core,
                       GTask          *task)
{
  RflIdentity identity = _rfl_service_task_get_identity (task);
  g_auto(RflIdentityCheck) check = { 0 };
  g_autoptr(RflAssistantProfile) profile = NULL;
  g_autoptr(RflConversation) last = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(RflChatRequest) request = NULL;
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *fallback = NULL;
  g_autofree char *prompt = NULL;
  Greeting *greeting;
  GError *error = NULL;

  if (!_rfl_service_check_identity (core, identity, &check, &error))
    {
      _rfl_service_return_error (task, error);
      return;
    }

  profile = _rfl_service_dup_profile (core, identity, &check);
  last = find_last_conversation (core, identity, &local_error);
  if (last == NULL)
    {
      if (local_error != NULL)
        g_warning ("Cannot list the conversations of user %" G_GINT64_FORMAT
                   ": %s", identity.user_id, local_error->message);
      _rfl_service_return (task,
                           rfl_assistant_fallback_greeting (profile->agent_name,
                                                            NULL, FALSE),
                           g_free, NULL, NULL, NULL, NULL);
      return;
    }

  fallback = rfl_assistant_fallback_greeting (profile->agent_name, last->title,
                                              TRUE);

  messages = rfl_chat_store_list_messages (core->chat, identity.tenant_id,
                                           last->id, 0, GREETING_MESSAGES,
                                           &local_error);
  if (messages != NULL)
    memories = rfl_memory_store_list (core->memories, identity.tenant_id,
                                      identity.user_id, TRUE,
                                      RFL_MEMORY_KIND_FACT, 0,
                                      RFL_ASSISTANT_MAX_MEMORIES, &local_error);

  greeting = g_new0 (Greeting, 1);
  greeting->core = _rfl_service_core_ref (core);
  greeting->task = g_object_ref (task);
  greeting->identity = identity;
  greeting->fallback = g_steal_pointer (&fallback);
  greeting->started = g_get_monotonic_time ();
  _rfl_service_hold (core);

  if (messages == NULL || memories == NULL
      || (greeting->provider = _rfl_service_dup_provider (core, &local_error)) == NULL
      || (client = _rfl_service_new_client (greeting->provider,
                                            &local_error)) == NULL)
    {
      g_debug ("The greeting falls back to its template: %s",
               local_error->message);
      _rfl_service_return (task, g_steal_pointer (&greeting->fallback), g_free,
                           NULL, NULL, NULL, NULL);
      greeting_free (greeting);
      return;
    }

  chain_init (&greeting->cancel, g_task_get_cancellable (task),
              core->cancellable);

  prompt = rfl_assistant_build_greeting_prompt (profile, last->title,
                                                messages, memories);
  request = rfl_chat_request_new (greeting->provider->model);
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_USER, prompt);
  rfl_chat_request_set_stream (request, FALSE);
  rfl_chat_request_set_max_tokens (request, 200);
  rfl_chat_request_set_temperature (request, 0.7);

  rfl_llm_client_chat_stream_async (client, request, NULL, NULL, NULL,
                                    greeting->cancel.cancellable,
                                    greeting_done_cb, greeting);
}

/* Memory extraction ----------------------------------------------------------- */

typedef struct
{
  RflServiceCore      *core;
  RflIdentity          identity;
  gint64               conversation_id;
  gint64               source_message_id;
  RflProviderSnapshot *provider;
  char                *model;
  gint64               started;
} Extraction;

static void
extraction_free (Extraction *extraction)
{
  _rfl_provider_snapshot_free (extraction->provider);
  g_free (extraction->model);
  _rfl_service_core_unref (extraction->core);
  g_free (extraction);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Extraction, extraction_free)

static void
store_memories (Extraction *extraction,
                GPtrArray  *memories)
{
  RflServiceCore *core = extraction->core;
  guint n_new = 0;
  guint n_merged = 0;

  for (guint i = 0; i < memories->len; i++)
    {
      RflMemory *memory = g_ptr_array_index (memories, i);
      g_autoptr(GError) error = NULL;
      RflMemoryUpsert outcome;

      memory->source_message_id = extraction->source_message_id;
      if (rfl_memory_store_upsert (core->memories,
                                   extraction->identity.tenant_id,
                                   extraction->identity.user_id, memory, NULL,
                                   0, &outcome, &error) == 0)
        {
          g_debug ("Memory “%s” not kept: %s", memory->key, error->message);
          continue;
        }

      if (outcome == RFL_MEMORY_UPSERT_INSERTED)
        n_new++;
      else
        n_merged++;
    }

  g_debug ("Memory extraction: %u new, %u merged", n_new, n_merged);
  if (n_new + n_merged > 0)
    _rfl_service_queue_reembed (core);
}

static void
extraction_done_cb (GObject      *source,
                    GAsyncResult *res,
                    gpointer      user_data)
{
  g_autoptr(Extraction) extraction = user_data;
  RflServiceCore *core = extraction->core;
  g_autoptr(RflChatResult) result = NULL;
  g_autoptr(RflChatResult) partial = NULL;
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_llm_client_chat_stream_finish (RFL_LLM_CLIENT (source), res,
                                              &partial, &error);
  if (!core->stopping)
    _rfl_service_record_usage (core, extraction->identity,
                               extraction->conversation_id,
                               extraction->provider, extraction->model,
                               result != NULL ? result : partial,
                               extraction->started);

  if (result != NULL)
    memories = rfl_memory_extractor_parse (rfl_chat_result_get_text (result),
                                           &error);

  if (memories == NULL)
    g_debug ("Memory extraction failed: %s", error->message);
  else if (!core->stopping)
    store_memories (extraction, memories);

  _rfl_service_job_done (core);
}

void
_rfl_service_run_extract (RflServiceCore *core,
                          RflServiceJob  *job)
{
  g_autoptr(GPtrArray) known = NULL;
  g_autoptr(RflChatRequest) request = NULL;
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(GError) error = NULL;
  Extraction *extraction;

  known = rfl_memory_store_list (core->memories, job->identity.tenant_id,
                                 job->identity.user_id, TRUE,
                                 RFL_MEMORY_KIND_FACT, 0,
                                 RFL_MEMORY_EXTRACTOR_MAX_KNOWN, &error);
  if (known == NULL)
    {
      g_debug ("Memory extraction without known memories: %s",
               error->message);
      g_clear_error (&error);
    }

  request = rfl_memory_extractor_build_request (job->model, known,
                                                job->user_text,
                                                job->assistant_text, &error);
  if (request != NULL)
    client = _rfl_service_new_client (job->provider, &error);
  if (client == NULL)
    {
      g_debug ("Memory extraction skipped: %s", error->message);
      _rfl_service_job_done (core);
      return;
    }

  extraction = g_new0 (Extraction, 1);
  extraction->core = _rfl_service_core_ref (core);
  extraction->identity = job->identity;
  extraction->conversation_id = job->conversation_id;
  extraction->source_message_id = job->source_message_id;
  extraction->provider = _rfl_provider_snapshot_copy (job->provider);
  extraction->model = g_strdup (job->model);
  extraction->started = g_get_monotonic_time ();

  rfl_llm_client_chat_stream_async (client, request, NULL, NULL, NULL,
                                    core->cancellable, extraction_done_cb,
                                    extraction);
}
