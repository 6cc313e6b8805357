/* rfl-chat-page-messages.c: the open conversation of the chat page:
 * loading it, sending a question, following the answer as it streams,
 * stopping and regenerating it.
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gi18n.h>

#include "core/rfl-error.h"
#include "rfl-chat-page-private.h"

static void
turn_clear (RflChatTurn *turn)
{
  g_clear_object (&turn->page);
  g_free (turn->text);
  g_clear_object (&turn->user_item);
  g_clear_object (&turn->answer);
  g_clear_object (&turn->cancellable);
}

RflChatTurn *
_rfl_chat_turn_ref (RflChatTurn *turn)
{
  return g_rc_box_acquire (turn);
}

void
_rfl_chat_turn_unref (RflChatTurn *turn)
{
  g_rc_box_release_full (turn, (GDestroyNotify) turn_clear);
}

static gboolean
is_displayed (RflChatPage *self,
              RflChatTurn *turn)
{
  if (turn == self->new_chat_turn)
    return self->conversation_id == 0;

  return turn->conversation_id == self->conversation_id;
}

/* Messages ------------------------------------------------------------- */

/* The empty state and the spinner lie over the message list, which stays
 * mapped: an answer that starts does not pay for showing the list. */
static void
show_conversation_view (RflChatPage *self,
                        const char  *name)
{
  gtk_stack_set_visible_child_name (self->conversation_stack, name);
  gtk_widget_set_visible (GTK_WIDGET (self->conversation_stack),
                          !g_str_equal (name, "messages"));
  gtk_spinner_set_spinning (self->messages_spinner, g_str_equal (name, "loading"));
}

static void
show_messages (RflChatPage *self)
{
  if (g_list_model_get_n_items (G_LIST_MODEL (self->messages)) > 0)
    show_conversation_view (self, "messages");
  else
    show_conversation_view (self, "empty");
}

static void
clear_last_answer (RflChatPage *self)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->messages)); i++)
    {
      g_autoptr(RflChatMessageItem) item = g_list_model_get_item (G_LIST_MODEL (self->messages), i);

      rfl_chat_message_item_set_last_answer (item, FALSE);
    }
}

static gboolean
find_message (RflChatPage        *self,
              RflChatMessageItem *item,
              guint              *position)
{
  return g_list_store_find (self->messages, item, position);
}

/* Puts the items of a turn still streaming in place of what the database
 * had of them, so that the list keeps following the stream. */
static void
merge_turn_items (GPtrArray   *items,
                  RflChatTurn *turn)
{
  RflChatMessageItem *live[] = { turn->user_item, turn->answer };

  for (guint k = 0; k < G_N_ELEMENTS (live); k++)
    {
      gint64 id;
      gboolean found = FALSE;

      if (live[k] == NULL)
        continue;

      id = rfl_chat_message_item_get_id (live[k]);
      for (guint i = 0; id != 0 && i < items->len; i++)
        {
          RflChatMessageItem *item = g_ptr_array_index (items, i);

          if (rfl_chat_message_item_get_id (item) == id)
            {
              g_object_unref (item);
              items->pdata[i] = g_object_ref (live[k]);
              found = TRUE;
              break;
            }
        }

      if (!found)
        g_ptr_array_add (items, g_object_ref (live[k]));
    }
}

static void
list_messages_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(RflChatPage) self = user_data;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  RflChatMessageItem *last = NULL;
  RflChatTurn *turn;

  messages = rfl_service_list_messages_finish (RFL_SERVICE (source), result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (messages == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The conversation could not be opened: %s"),
                                               error->message);

      _rfl_chat_page_show_toast (self, text);
      show_messages (self);
      return;
    }

  for (guint i = 0; i < messages->len; i++)
    {
      const RflMessage *message = g_ptr_array_index (messages, i);

      g_ptr_array_add (items, rfl_chat_message_item_new_from_message (message));
    }

  turn = _rfl_chat_page_find_turn (self, self->conversation_id);
  if (turn != NULL)
    merge_turn_items (items, turn);

  if (items->len > 0)
    {
      last = g_ptr_array_index (items, items->len - 1);
      if (rfl_chat_message_item_get_role (last) == RFL_MESSAGE_ROLE_ASSISTANT)
        rfl_chat_message_item_set_last_answer (last, TRUE);
    }

  g_list_store_splice (self->messages, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->messages)),
                       items->pdata, items->len);

  show_messages (self);
  _rfl_chat_page_scroll_to_bottom (self);
}

static void
greeting_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(RflChatPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;

  greeting = rfl_service_greeting_finish (RFL_SERVICE (source), result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (greeting == NULL)
    {
      g_debug ("chat: no greeting: %s", error->message);
      adw_status_page_set_description (self->empty_page,
                                       _("Ask a question, think something through, or tell "
                                         "the assistant about your day."));
      return;
    }

  g_free (self->greeting);
  self->greeting = g_steal_pointer (&greeting);
  adw_status_page_set_description (self->empty_page, self->greeting);
}

static void
request_greeting (RflChatPage *self)
{
  g_clear_pointer (&self->greeting, g_free);
  adw_status_page_set_description (self->empty_page, NULL);

  rfl_service_greeting_async (self->service, self->identity, self->messages_cancellable,
                              greeting_cb, g_object_ref (self));
}

void
rfl_chat_page_open_conversation (RflChatPage *self,
                                 gint64       id)
{
  RflChatConversationItem *item;
  RflChatTurn *turn;

  g_return_if_fail (RFL_IS_CHAT_PAGE (self));

  if (!self->ready)
    return;

  /* The new chat that is still being created stays as it is. */
  if (id == self->conversation_id && (id != 0 || self->new_chat_turn != NULL))
    {
      rfl_chat_composer_focus (self->composer);
      return;
    }

  g_cancellable_cancel (self->messages_cancellable);
  g_clear_object (&self->messages_cancellable);
  self->messages_cancellable = g_cancellable_new ();

  g_list_store_remove_all (self->messages);
  _rfl_chat_page_set_conversation_id (self, id);

  if (id == 0)
    {
      _rfl_chat_page_set_title (self, NULL);
      show_conversation_view (self, "empty");
      request_greeting (self);
      rfl_chat_composer_focus (self->composer);
      return;
    }

  item = _rfl_chat_page_find_conversation (self, id);
  _rfl_chat_page_set_title (self, item != NULL ? rfl_chat_conversation_item_get_title (item) : NULL);

  /* The answer streaming in it shows at once; the rest follows. */
  turn = _rfl_chat_page_find_turn (self, id);
  if (turn != NULL)
    {
      if (turn->user_item != NULL)
        g_list_store_append (self->messages, turn->user_item);
      g_list_store_append (self->messages, turn->answer);
      show_messages (self);
    }
  else
    {
      show_conversation_view (self, "loading");
    }

  rfl_service_list_messages_async (self->service, self->identity, id,
                                   self->messages_cancellable,
                                   list_messages_cb, g_object_ref (self));
}

/* Turns ------------------------------------------------------------------ */

static void
flush_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(RflChatPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!rfl_service_flush_finish (RFL_SERVICE (source), result, &error) || self->disposed)
    {
      if (error == NULL)
        return;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("chat: background work failed: %s", error->message);
      return;
    }

  /* What the last turn taught the assistant. */
  rfl_chat_memories_panel_reload (self->memories_panel);
}

static void
turn_progress_cb (const RflTurnProgress *progress,
                  gpointer               user_data)
{
  RflChatTurn *turn = user_data;
  RflChatPage *self = turn->page;

  if (self->disposed)
    return;

  turn->progressed = TRUE;
  if (turn->user_item != NULL && progress->user_message_id != 0)
    rfl_chat_message_item_set_id (turn->user_item, progress->user_message_id);

  /* After a tool call the model writes a new row: the one before stays
   * as it is, and the new one follows it. */
  if (turn->answer_id != 0 && progress->assistant_message_id != turn->answer_id
      && *rfl_chat_message_item_get_text (turn->answer) != '\0')
    {
      g_autoptr(RflChatMessageItem) next = rfl_chat_message_item_new (RFL_MESSAGE_ROLE_ASSISTANT,
                                                                      NULL);
      guint position;

      rfl_chat_message_item_set_status (next, RFL_MESSAGE_STATUS_STREAMING);
      rfl_chat_message_item_set_last_answer (next, TRUE);
      rfl_chat_message_item_set_last_answer (turn->answer, FALSE);
      rfl_chat_message_item_set_activity (turn->answer, NULL);
      rfl_chat_message_item_set_status (turn->answer, RFL_MESSAGE_STATUS_COMPLETE);

      if (is_displayed (self, turn) && find_message (self, turn->answer, &position))
        g_list_store_insert (self->messages, position + 1, next);

      g_set_object (&turn->answer, next);
    }

  turn->answer_id = progress->assistant_message_id;
  rfl_chat_message_item_set_id (turn->answer, progress->assistant_message_id);
  rfl_chat_message_item_set_text (turn->answer, progress->text, progress->text_len);
  rfl_chat_message_item_set_activity (turn->answer, progress->activity);
}

static void
remove_turn (RflChatPage *self,
             RflChatTurn *turn)
{
  if (self->new_chat_turn == turn)
    self->new_chat_turn = NULL;
  else
    g_hash_table_remove (self->turns, &turn->conversation_id);

  _rfl_chat_page_update_streaming (self);
}

static void
turn_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(RflChatTurn) turn = user_data;
  RflChatPage *self = turn->page;
  g_autoptr(RflTurn) done = NULL;
  g_autoptr(GError) error = NULL;

  done = rfl_service_send_message_finish (RFL_SERVICE (source), result, &error);

  rfl_chat_message_item_set_activity (turn->answer, NULL);
  if (self->disposed)
    {
      rfl_chat_message_item_set_status (turn->answer, RFL_MESSAGE_STATUS_INTERRUPTED);
      return;
    }

  remove_turn (self, turn);

  if (done != NULL)
    {
      rfl_chat_message_item_set_id (turn->answer, done->assistant_message_id);
      rfl_chat_message_item_set_text (turn->answer, done->text, -1);
      rfl_chat_message_item_set_usage (turn->answer, done->model,
                                       done->tokens_in, done->tokens_out);
      rfl_chat_message_item_set_used_memories (turn->answer, done->used_memories);
      rfl_chat_message_item_set_status (turn->answer, RFL_MESSAGE_STATUS_COMPLETE);
      if (turn->user_item != NULL)
        rfl_chat_message_item_set_id (turn->user_item, done->user_message_id);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    rfl_chat_message_item_set_status (turn->answer, RFL_MESSAGE_STATUS_INTERRUPTED);
  else if (!turn->progressed && turn->user_item != NULL
           && (g_error_matches (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT)
               || g_error_matches (error, RFL_ERROR, RFL_ERROR_NOT_FOUND)))
    {
      guint position;

      /* Nothing was stored: the question goes back where it was typed. */
      if (is_displayed (self, turn))
        {
          if (find_message (self, turn->answer, &position))
            g_list_store_remove (self->messages, position);
          if (find_message (self, turn->user_item, &position))
            g_list_store_remove (self->messages, position);
          show_messages (self);

          {
            g_autofree char *typed = rfl_chat_composer_dup_text (self->composer);

            if (*typed == '\0')
              rfl_chat_composer_set_text (self->composer, turn->text);
          }
        }
      _rfl_chat_page_show_toast (self, error->message);

      /* The conversation made for this question has nothing in it. */
      if (turn->created_conversation)
        _rfl_chat_page_change_conversation (self, turn->conversation_id, RFL_CONVERSATION_DELETE, NULL, TRUE);
    }
  else
    {
      rfl_chat_message_item_set_error (turn->answer, error->message);
      rfl_chat_message_item_set_status (turn->answer, RFL_MESSAGE_STATUS_ERROR);
    }

  if (self->service == NULL)
    return;

  _rfl_chat_page_load_conversations (self);
  if (done != NULL)
    rfl_service_flush_async (self->service, self->cancellable, flush_cb, g_object_ref (self));
}

static void
start_turn (RflChatPage *self,
            RflChatTurn *turn,
            gboolean     _rfl_chat_page_regenerate)
{
  if (_rfl_chat_page_regenerate)
    rfl_service_regenerate_async (self->service, self->identity, turn->conversation_id,
                                  self->model, turn_progress_cb, _rfl_chat_turn_ref (turn),
                                  (GDestroyNotify) _rfl_chat_turn_unref, turn->cancellable,
                                  turn_done_cb, _rfl_chat_turn_ref (turn));
  else
    rfl_service_send_message_async (self->service, self->identity, turn->conversation_id,
                                    turn->text, self->model, turn_progress_cb,
                                    _rfl_chat_turn_ref (turn), (GDestroyNotify) _rfl_chat_turn_unref,
                                    turn->cancellable, turn_done_cb, _rfl_chat_turn_ref (turn));
}

static void
register_turn (RflChatPage *self,
               RflChatTurn *turn)
{
  g_hash_table_replace (self->turns, &turn->conversation_id, _rfl_chat_turn_ref (turn));
}

static void
create_conversation_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(RflChatTurn) turn = user_data;
  RflChatPage *self = turn->page;
  g_autoptr(GError) error = NULL;
  gboolean displayed;
  gint64 id;

  id = rfl_service_create_conversation_finish (RFL_SERVICE (source), result, &error);
  if (self->disposed)
    return;

  displayed = is_displayed (self, turn);
  if (self->new_chat_turn == turn)
    {
      self->new_chat_turn = NULL;
      _rfl_chat_turn_unref (turn);
    }

  if (id == 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("The conversation could not be started: %s"),
                                                   error->message);

          if (displayed)
            {
              g_list_store_remove_all (self->messages);
              show_messages (self);
              rfl_chat_composer_set_text (self->composer, turn->text);
            }
          _rfl_chat_page_show_toast (self, text);
        }
      _rfl_chat_page_update_streaming (self);
      return;
    }

  turn->conversation_id = id;
  turn->created_conversation = TRUE;
  register_turn (self, turn);

  if (displayed)
    _rfl_chat_page_set_conversation_id (self, id);

  _rfl_chat_page_update_streaming (self);
  start_turn (self, turn, FALSE);
  _rfl_chat_page_load_conversations (self);
}

static RflChatTurn *
turn_new (RflChatPage *self,
          gint64       conversation_id,
          const char  *text)
{
  RflChatTurn *turn = g_rc_box_new0 (RflChatTurn);

  turn->page = g_object_ref (self);
  turn->conversation_id = conversation_id;
  turn->text = g_strdup (text);
  turn->cancellable = g_cancellable_new ();
  turn->answer = rfl_chat_message_item_new (RFL_MESSAGE_ROLE_ASSISTANT, NULL);
  rfl_chat_message_item_set_status (turn->answer, RFL_MESSAGE_STATUS_STREAMING);
  rfl_chat_message_item_set_last_answer (turn->answer, TRUE);

  return turn;
}

void
_rfl_chat_page_send (RflChatPage *self,
                     const char  *text)
{
  g_autoptr(RflChatTurn) turn = NULL;

  if (!self->ready || _rfl_chat_page_find_turn (self, self->conversation_id) != NULL)
    return;

  turn = turn_new (self, self->conversation_id, text);
  turn->user_item = rfl_chat_message_item_new (RFL_MESSAGE_ROLE_USER, text);

  rfl_chat_composer_set_text (self->composer, NULL);
  clear_last_answer (self);

  /* The greeting the user answers stays above the first question. */
  if (self->conversation_id == 0 && self->greeting != NULL
      && g_list_model_get_n_items (G_LIST_MODEL (self->messages)) == 0)
    {
      g_autoptr(RflChatMessageItem) greeting = rfl_chat_message_item_new_greeting (self->greeting);

      g_list_store_append (self->messages, greeting);
    }

  g_list_store_append (self->messages, turn->user_item);
  g_list_store_append (self->messages, turn->answer);
  show_messages (self);
  _rfl_chat_page_scroll_to_bottom (self);

  if (self->conversation_id == 0)
    {
      self->new_chat_turn = _rfl_chat_turn_ref (turn);
      _rfl_chat_page_update_streaming (self);
      rfl_service_create_conversation_async (self->service, self->identity, NULL,
                                             turn->cancellable, create_conversation_cb,
                                             _rfl_chat_turn_ref (turn));
      return;
    }

  register_turn (self, turn);
  _rfl_chat_page_update_streaming (self);
  start_turn (self, turn, FALSE);
}

void
_rfl_chat_page_stop (RflChatPage *self)
{
  RflChatTurn *turn = _rfl_chat_page_find_turn (self, self->conversation_id);

  if (turn != NULL)
    g_cancellable_cancel (turn->cancellable);
}

/* Answers the last question again: after an error (Retry) or on demand. */
void
_rfl_chat_page_regenerate (RflChatPage *self)
{
  g_autoptr(RflChatTurn) turn = NULL;
  g_autoptr(RflChatMessageItem) last = NULL;
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->messages));

  if (!self->ready || self->conversation_id == 0
      || _rfl_chat_page_find_turn (self, self->conversation_id) != NULL)
    return;

  turn = turn_new (self, self->conversation_id, NULL);

  if (n_items > 0)
    last = g_list_model_get_item (G_LIST_MODEL (self->messages), n_items - 1);

  /* The answer being replaced shows the new one as it comes. */
  if (last != NULL && rfl_chat_message_item_get_role (last) == RFL_MESSAGE_ROLE_ASSISTANT
      && !rfl_chat_message_item_get_greeting (last))
    {
      g_set_object (&turn->answer, last);
      rfl_chat_message_item_set_text (last, NULL, 0);
      rfl_chat_message_item_set_error (last, NULL);
      rfl_chat_message_item_set_usage (last, NULL, 0, 0);
      rfl_chat_message_item_set_used_memories (last, NULL);
      rfl_chat_message_item_set_status (last, RFL_MESSAGE_STATUS_STREAMING);
    }
  else
    {
      clear_last_answer (self);
      g_list_store_append (self->messages, turn->answer);
      show_messages (self);
    }

  _rfl_chat_page_scroll_to_bottom (self);

  register_turn (self, turn);
  _rfl_chat_page_update_streaming (self);
  start_turn (self, turn, TRUE);
}
