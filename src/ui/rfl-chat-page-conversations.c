/* rfl-chat-page-conversations.c: the chat page's list of conversations,
 * and renaming, deleting (with Undo) and restoring them.
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gi18n.h>

#include "rfl-chat-page-private.h"

/* Conversations --------------------------------------------------------- */

static void
list_conversations_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(RflChatPage) self = user_data;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  RflChatConversationItem *current;

  conversations = rfl_service_list_conversations_finish (RFL_SERVICE (source), result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (conversations == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Conversations could not be listed: %s"),
                                               error->message);

      _rfl_chat_page_show_toast (self, text);
      return;
    }

  for (guint i = 0; i < conversations->len; i++)
    g_ptr_array_add (items, rfl_chat_conversation_item_new (g_ptr_array_index (conversations, i)));

  g_list_store_splice (self->conversations, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->conversations)),
                       items->pdata, items->len);

  if (self->sidebar != NULL)
    rfl_chat_sidebar_select (self->sidebar, self->conversation_id);

  current = _rfl_chat_page_find_conversation (self, self->conversation_id);
  if (current != NULL)
    _rfl_chat_page_set_title (self, rfl_chat_conversation_item_get_title (current));
}

void
_rfl_chat_page_load_conversations (RflChatPage *self)
{
  const char *search = NULL;

  if (self->service == NULL || self->identity.user_id == 0)
    return;

  g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->list_cancellable);
  self->list_cancellable = g_cancellable_new ();

  if (self->sidebar != NULL)
    search = rfl_chat_sidebar_get_search_text (self->sidebar);

  rfl_service_list_conversations_async (self->service, self->identity, search,
                                        self->list_cancellable,
                                        list_conversations_cb, g_object_ref (self));
}

typedef struct
{
  RflChatPage           *page;      /* owned */
  gint64                 id;
  RflConversationChange  change;
  char                  *title;     /* owned */
  gboolean               quiet;     /* no toast */
} Change;

static void
change_free (Change *change)
{
  g_clear_object (&change->page);
  g_free (change->title);
  g_free (change);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Change, change_free)

static void
change_conversation_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(Change) change = user_data;
  RflChatPage *self = change->page;
  g_autoptr(GError) error = NULL;

  if (!rfl_service_change_conversation_finish (RFL_SERVICE (source), result, &error)
      || self->disposed)
    {
      if (error != NULL && !self->disposed
          && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _rfl_chat_page_show_toast (self, error->message);
      return;
    }

  switch (change->change)
    {
    case RFL_CONVERSATION_RENAME:
      {
        RflChatConversationItem *item = _rfl_chat_page_find_conversation (self, change->id);

        if (item != NULL)
          rfl_chat_conversation_item_set_title (item, change->title);
        if (change->id == self->conversation_id)
          _rfl_chat_page_set_title (self, change->title);
      }
      break;

    case RFL_CONVERSATION_DELETE:
      {
        g_autofree char *text = NULL;
        AdwToast *toast;

        if (change->id == self->conversation_id)
          rfl_chat_page_open_conversation (self, 0);
        if (change->quiet)
          break;

        /* Translators: %s is the title of a conversation */
        text = g_strdup_printf (_("“%s” deleted"), change->title);
        toast = adw_toast_new (text);
        adw_toast_set_button_label (toast, _("_Undo"));
        adw_toast_set_action_name (toast, "chat.undo-delete");
        adw_toast_set_action_target_value (toast, g_variant_new_int64 (change->id));
        adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
        adw_toast_overlay_add_toast (self->toast_overlay, toast);
      }
      break;

    case RFL_CONVERSATION_RESTORE:
      rfl_chat_page_open_conversation (self, change->id);
      break;

    default:
      g_assert_not_reached ();
    }

  _rfl_chat_page_load_conversations (self);
}

void
_rfl_chat_page_change_conversation (RflChatPage           *self,
                                    gint64                 id,
                                    RflConversationChange  kind,
                                    const char            *title,
                                    gboolean               quiet)
{
  Change *change = g_new0 (Change, 1);

  change->page = g_object_ref (self);
  change->id = id;
  change->change = kind;
  change->title = g_strdup (title);
  change->quiet = quiet;

  rfl_service_change_conversation_async (self->service, self->identity, id, kind, title,
                                         self->cancellable, change_conversation_cb, change);
}

void
_rfl_chat_page_delete_conversation (RflChatPage *self,
                                    gint64       id)
{
  RflChatConversationItem *item = _rfl_chat_page_find_conversation (self, id);
  RflChatTurn *turn = _rfl_chat_page_find_turn (self, id);

  if (!self->ready || item == NULL)
    return;

  /* An answer still coming is stopped and kept with the conversation. */
  if (turn != NULL)
    g_cancellable_cancel (turn->cancellable);

  _rfl_chat_page_change_conversation (self, id, RFL_CONVERSATION_DELETE,
                       rfl_chat_conversation_item_get_title (item), FALSE);
}

static void
rename_entry_changed_cb (GtkEditable      *entry,
                         AdwMessageDialog *dialog)
{
  g_autofree char *title = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  adw_message_dialog_set_response_enabled (dialog, "rename", *title != '\0');
}

static void
rename_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    RflChatPage      *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "rfl-conversation"));
  g_autofree char *title = NULL;

  if (!g_str_equal (response, "rename") || self->service == NULL)
    return;

  title = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  if (*title == '\0')
    return;

  _rfl_chat_page_change_conversation (self, id, RFL_CONVERSATION_RENAME, title, FALSE);
}

void
_rfl_chat_page_rename_conversation (RflChatPage *self,
                                    gint64       id)
{
  RflChatConversationItem *item = _rfl_chat_page_find_conversation (self, id);
  GtkWidget *dialog;
  GtkWidget *entry;

  if (!self->ready || item == NULL)
    return;

  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                   _("Rename Conversation"), NULL);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "rename", _("_Rename"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "rename",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "rename");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), rfl_chat_conversation_item_get_title (item));
  gtk_entry_set_max_length (GTK_ENTRY (entry), RFL_CHAT_STORE_MAX_TITLE);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Title"), -1);
  g_signal_connect (entry, "changed", G_CALLBACK (rename_entry_changed_cb), dialog);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);

  g_object_set_data (G_OBJECT (dialog), "rfl-conversation", GSIZE_TO_POINTER ((gsize) id));
  g_signal_connect_object (dialog, "response", G_CALLBACK (rename_response_cb), self, 0);

  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}
