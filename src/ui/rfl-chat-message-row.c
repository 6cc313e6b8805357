/* rfl-chat-message-row.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-message-row.h"

#include <glib/gi18n.h>

#include "rfl-markdown.h"

struct _RflChatMessageRow
{
  AdwBin               parent_instance;

  RflChatMessageItem  *item;            /* owned */
  GSignalGroup        *item_signals;    /* owned */
  guint                copied_id;

  /* Template children */
  GtkWidget           *message_box;
  GtkWidget           *user_bubble;
  GtkLabel            *user_label;
  RflMarkdownView     *answer_view;
  GtkWidget           *status_box;
  GtkSpinner          *status_spinner;
  GtkLabel            *activity_label;
  GtkWidget           *stopped_label;
  GtkWidget           *error_box;
  GtkLabel            *error_label;
  GtkWidget           *retry_button;
  GtkWidget           *actions_box;
  GtkWidget           *copy_button;
  GtkWidget           *regenerate_button;
  GtkWidget           *memories_button;
  GtkLabel            *memories_count_label;
  GtkWidget           *memories_list;
  GtkLabel            *usage_label;
};

G_DEFINE_FINAL_TYPE (RflChatMessageRow, rfl_chat_message_row, ADW_TYPE_BIN)

static gboolean
is_user (RflChatMessageRow *self)
{
  return rfl_chat_message_item_get_role (self->item) == RFL_MESSAGE_ROLE_USER;
}

static void
update_text (RflChatMessageRow *self)
{
  const char *text = rfl_chat_message_item_get_text (self->item);
  gboolean streaming;

  if (is_user (self))
    {
      gtk_label_set_text (self->user_label, text);
      return;
    }

  streaming = rfl_chat_message_item_get_status (self->item) == RFL_MESSAGE_STATUS_STREAMING;
  gtk_widget_set_visible (GTK_WIDGET (self->answer_view), *text != '\0');

  /* While the answer streams, rendering is throttled; once it is done,
   * the final text shows at once. */
  if (streaming)
    rfl_markdown_view_queue_markdown (self->answer_view, text);
  else
    rfl_markdown_view_set_markdown (self->answer_view, text);
}

static void
update_activity (RflChatMessageRow *self)
{
  const char *activity = rfl_chat_message_item_get_activity (self->item);

  if (activity == NULL || *activity == '\0')
    /* Translators: shown while the answer is on its way */
    activity = *rfl_chat_message_item_get_text (self->item) == '\0'
               ? _("Thinking…") : _("Writing…");

  gtk_label_set_text (self->activity_label, activity);
}

static void
update_error (RflChatMessageRow *self)
{
  const char *error = rfl_chat_message_item_get_error (self->item);

  gtk_label_set_text (self->error_label,
                      error != NULL && *error != '\0'
                      ? error : _("The provider gave no reason."));
}

static void
update_usage (RflChatMessageRow *self)
{
  const char *model = rfl_chat_message_item_get_model (self->item);
  guint tokens_in = rfl_chat_message_item_get_tokens_in (self->item);
  guint tokens_out = rfl_chat_message_item_get_tokens_out (self->item);
  g_autofree char *tokens = NULL;
  g_autofree char *tooltip = NULL;
  g_autofree char *text = NULL;

  if (tokens_in + tokens_out > 0)
    {
      tokens = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u token", "%u tokens",
                                             tokens_in + tokens_out),
                                tokens_in + tokens_out);
      /* Translators: the tooltip of an answer's token count */
      tooltip = g_strdup_printf (_("%u tokens read, %u tokens written"),
                                 tokens_in, tokens_out);
    }

  if (model != NULL && *model != '\0' && tokens != NULL)
    /* Translators: under an answer: "llama3.2:3b · 412 tokens" */
    text = g_strdup_printf (_("%s · %s"), model, tokens);
  else if (model != NULL && *model != '\0')
    text = g_strdup (model);
  else
    text = g_strdup (tokens != NULL ? tokens : "");

  gtk_label_set_text (self->usage_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->usage_label), tooltip);
}

static void
update_memories (RflChatMessageRow *self)
{
  GPtrArray *memories = rfl_chat_message_item_get_used_memories (self->item);
  g_autofree char *count = NULL;
  GtkWidget *child;

  gtk_widget_set_visible (self->memories_button, memories->len > 0);

  count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u memory", "%u memories",
                                        memories->len),
                           memories->len);
  gtk_label_set_text (self->memories_count_label, count);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->memories_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, count, -1);

  while ((child = gtk_widget_get_first_child (self->memories_list)) != NULL)
    gtk_box_remove (GTK_BOX (self->memories_list), child);

  for (guint i = 0; i < memories->len; i++)
    {
      const RflMemory *memory = g_ptr_array_index (memories, i);
      GtkWidget *label = gtk_label_new (NULL);
      g_autofree char *markup = NULL;

      markup = g_markup_printf_escaped ("<b>%s</b>  %s",
                                        memory->key != NULL ? memory->key : "",
                                        memory->value != NULL ? memory->value : "");
      gtk_label_set_markup (GTK_LABEL (label), markup);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
      gtk_label_set_selectable (GTK_LABEL (label), TRUE);
      gtk_box_append (GTK_BOX (self->memories_list), label);
    }
}

/* Which parts show depends on who wrote the message and how it ended. */
static void
update_status (RflChatMessageRow *self)
{
  RflMessageStatus status = rfl_chat_message_item_get_status (self->item);
  gboolean user = is_user (self);
  gboolean greeting = rfl_chat_message_item_get_greeting (self->item);
  gboolean streaming = status == RFL_MESSAGE_STATUS_STREAMING;
  gboolean last = rfl_chat_message_item_get_last_answer (self->item);

  gtk_widget_set_visible (self->user_bubble, user);
  gtk_widget_set_visible (self->status_box, !user && streaming);
  gtk_spinner_set_spinning (self->status_spinner, !user && streaming);
  gtk_widget_set_visible (self->stopped_label,
                          !user && status == RFL_MESSAGE_STATUS_INTERRUPTED);
  gtk_widget_set_visible (self->error_box, !user && status == RFL_MESSAGE_STATUS_ERROR);
  gtk_widget_set_visible (self->retry_button, last);
  gtk_widget_set_visible (self->actions_box, !user && !greeting && !streaming
                                             && status != RFL_MESSAGE_STATUS_ERROR);
  gtk_widget_set_visible (self->regenerate_button, last);

  if (greeting)
    gtk_widget_add_css_class (self->message_box, "greeting");
  else
    gtk_widget_remove_css_class (self->message_box, "greeting");

  if (user)
    {
      gtk_widget_add_css_class (self->message_box, "from-user");
      gtk_widget_remove_css_class (self->message_box, "from-assistant");
    }
  else
    {
      gtk_widget_add_css_class (self->message_box, "from-assistant");
      gtk_widget_remove_css_class (self->message_box, "from-user");
    }

  update_text (self);
  if (streaming)
    update_activity (self);
}

static void
item_notify_cb (RflChatMessageRow *self,
                GParamSpec        *pspec)
{
  const char *name = g_param_spec_get_name (pspec);

  if (g_str_equal (name, "text"))
    {
      update_text (self);
      if (rfl_chat_message_item_get_status (self->item) == RFL_MESSAGE_STATUS_STREAMING)
        update_activity (self);
    }
  else if (g_str_equal (name, "status") || g_str_equal (name, "last-answer"))
    update_status (self);
  else if (g_str_equal (name, "activity"))
    update_activity (self);
  else if (g_str_equal (name, "error"))
    update_error (self);
  else if (g_str_equal (name, "usage"))
    update_usage (self);
  else if (g_str_equal (name, "used-memories"))
    update_memories (self);
}

static gboolean
restore_copy_button_cb (gpointer user_data)
{
  RflChatMessageRow *self = user_data;

  self->copied_id = 0;
  gtk_button_set_icon_name (GTK_BUTTON (self->copy_button), "edit-copy-symbolic");
  gtk_widget_set_tooltip_text (self->copy_button, _("Copy Answer"));

  return G_SOURCE_REMOVE;
}

static void
copy_button_clicked_cb (RflChatMessageRow *self)
{
  GdkClipboard *clipboard;

  if (self->item == NULL)
    return;

  /* The answer as written, markdown and all: it pastes well anywhere. */
  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (self));
  gdk_clipboard_set_text (clipboard, rfl_chat_message_item_get_text (self->item));

  gtk_button_set_icon_name (GTK_BUTTON (self->copy_button), "object-select-symbolic");
  gtk_widget_set_tooltip_text (self->copy_button, _("Copied"));
  g_clear_handle_id (&self->copied_id, g_source_remove);
  self->copied_id = g_timeout_add_seconds (2, restore_copy_button_cb, self);
}

static void
rfl_chat_message_row_dispose (GObject *object)
{
  RflChatMessageRow *self = RFL_CHAT_MESSAGE_ROW (object);

  g_clear_handle_id (&self->copied_id, g_source_remove);
  if (self->item_signals != NULL)
    g_signal_group_set_target (self->item_signals, NULL);
  g_clear_object (&self->item_signals);
  g_clear_object (&self->item);

  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_CHAT_MESSAGE_ROW);

  G_OBJECT_CLASS (rfl_chat_message_row_parent_class)->dispose (object);
}

static void
rfl_chat_message_row_class_init (RflChatMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_chat_message_row_dispose;

  g_type_ensure (RFL_TYPE_MARKDOWN_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-chat-message-row.ui");
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, message_box);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, user_bubble);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, user_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, answer_view);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, status_box);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, status_spinner);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, activity_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, stopped_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, error_box);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, error_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, actions_box);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, copy_button);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, regenerate_button);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, memories_button);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, memories_count_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, memories_list);
  gtk_widget_class_bind_template_child (widget_class, RflChatMessageRow, usage_label);
  gtk_widget_class_bind_template_callback (widget_class, copy_button_clicked_cb);
}

static void
rfl_chat_message_row_init (RflChatMessageRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->item_signals = g_signal_group_new (RFL_TYPE_CHAT_MESSAGE_ITEM);
  g_signal_group_connect_swapped (self->item_signals, "notify",
                                  G_CALLBACK (item_notify_cb), self);
}

GtkWidget *
rfl_chat_message_row_new (void)
{
  return g_object_new (RFL_TYPE_CHAT_MESSAGE_ROW, NULL);
}

RflChatMessageItem *
rfl_chat_message_row_get_item (RflChatMessageRow *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ROW (self), NULL);

  return self->item;
}

void
rfl_chat_message_row_set_item (RflChatMessageRow  *self,
                               RflChatMessageItem *item)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ROW (self));
  g_return_if_fail (item == NULL || RFL_IS_CHAT_MESSAGE_ITEM (item));

  if (self->item == item)
    return;

  g_set_object (&self->item, item);
  g_signal_group_set_target (self->item_signals, item);

  if (item == NULL)
    {
      /* A recycled row keeps no text, and no timer, of its last item. */
      rfl_markdown_view_set_markdown (self->answer_view, NULL);
      gtk_spinner_set_spinning (self->status_spinner, FALSE);
      return;
    }

  update_status (self);
  update_error (self);
  update_usage (self);
  update_memories (self);
}
