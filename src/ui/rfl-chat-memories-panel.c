/* rfl-chat-memories-panel.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-memories-panel.h"

#include <glib/gi18n.h>

struct _RflChatMemoriesPanel
{
  AdwBin        parent_instance;

  RflService   *service;            /* owned */
  RflIdentity   identity;
  GCancellable *cancellable;        /* owned: loads and edits */
  GPtrArray    *pending_deletes;    /* owned, of PendingDelete */
  gboolean      loading;
  guint         n_memories;

  /* Template children */
  GtkStack     *stack;
  GtkSpinner   *spinner;
  AdwStatusPage *error_page;
  GtkListBox   *memory_list;
};

G_DEFINE_FINAL_TYPE (RflChatMemoriesPanel, rfl_chat_memories_panel, ADW_TYPE_BIN)

/* A deletion the user can still undo from its toast, which owns it. */
typedef struct
{
  RflChatMemoriesPanel *panel;      /* borrowed; NULL once the panel is gone */
  GtkWidget            *row;        /* owned */
  gint64                memory_id;
  gboolean              done;
} PendingDelete;

static void
pending_delete_free (PendingDelete *pending)
{
  g_clear_object (&pending->row);
  g_free (pending);
}

static void update_state (RflChatMemoriesPanel *self);

static void
list_memories_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data);

static const char *
kind_title (RflMemoryKind kind)
{
  switch (kind)
    {
    case RFL_MEMORY_KIND_FACT:
      return C_("memory kind", "Fact");
    case RFL_MEMORY_KIND_PREFERENCE:
      return C_("memory kind", "Preference");
    case RFL_MEMORY_KIND_GOAL:
      return C_("memory kind", "Goal");
    case RFL_MEMORY_KIND_EVENT:
      return C_("memory kind", "Event");
    case RFL_MEMORY_KIND_RELATIONSHIP:
      return C_("memory kind", "Relationship");
    case RFL_MEMORY_KIND_OTHER:
    default:
      return C_("memory kind", "Other");
    }
}

static AdwToastOverlay *
find_toast_overlay (RflChatMemoriesPanel *self)
{
  return ADW_TOAST_OVERLAY (gtk_widget_get_ancestor (GTK_WIDGET (self),
                                                     ADW_TYPE_TOAST_OVERLAY));
}

static void
show_toast (RflChatMemoriesPanel *self,
            const char           *title)
{
  AdwToastOverlay *overlay = find_toast_overlay (self);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (overlay, adw_toast_new (title));
  else
    g_debug ("memories: %s", title);
}

/* Editing -------------------------------------------------------------- */

typedef struct
{
  RflChatMemoriesPanel *panel;      /* owned */
  GtkPopover           *popover;    /* owned only by the copy a save holds */
  gboolean              owns_popover;
  GtkEditable          *key_entry;
  GtkEditable          *value_entry;
  GtkRange             *importance;
  GtkLabel             *error_label;
  GtkWidget            *save_button;
  gint64                memory_id;
} EditForm;

static void
edit_form_free (EditForm *form)
{
  g_clear_object (&form->panel);
  if (form->owns_popover)
    g_clear_object (&form->popover);
  g_free (form);
}

static void
edit_entries_changed_cb (EditForm *form)
{
  g_autofree char *key = g_strstrip (g_strdup (gtk_editable_get_text (form->key_entry)));
  g_autofree char *value = g_strstrip (g_strdup (gtk_editable_get_text (form->value_entry)));

  gtk_widget_set_sensitive (form->save_button, *key != '\0' && *value != '\0');
  gtk_widget_set_visible (GTK_WIDGET (form->error_label), FALSE);
}

static void
update_memory_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  EditForm *form = user_data;
  g_autoptr(GError) error = NULL;

  if (!rfl_service_memory_change_finish (RFL_SERVICE (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* The popover stays open with the reason, and nothing changed. */
          gtk_label_set_text (form->error_label, error->message);
          gtk_widget_set_visible (GTK_WIDGET (form->error_label), TRUE);
          gtk_widget_set_sensitive (form->save_button, TRUE);
        }
      edit_form_free (form);
      return;
    }

  gtk_popover_popdown (form->popover);
  rfl_chat_memories_panel_reload (form->panel);
  edit_form_free (form);
}

static void
save_clicked_cb (EditForm *form)
{
  RflChatMemoriesPanel *self = form->panel;
  g_autofree char *key = g_strstrip (g_strdup (gtk_editable_get_text (form->key_entry)));
  g_autofree char *value = g_strstrip (g_strdup (gtk_editable_get_text (form->value_entry)));
  EditForm *copy;

  if (self->service == NULL || *key == '\0' || *value == '\0')
    return;

  gtk_widget_set_sensitive (form->save_button, FALSE);

  /* The callback gets its own references: the popover may close first. */
  copy = g_memdup2 (form, sizeof *form);
  g_object_ref (copy->panel);
  g_object_ref (copy->popover);
  copy->owns_popover = TRUE;

  rfl_service_update_memory_async (self->service, self->identity, form->memory_id,
                                   key, value, gtk_range_get_value (form->importance),
                                   self->cancellable, update_memory_cb, copy);
}

static GtkWidget *
new_form_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "caption-heading");

  return label;
}

static GtkWidget *
build_edit_popover (RflChatMemoriesPanel *self,
                    const RflMemory      *memory)
{
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *title = gtk_label_new (_("Edit Memory"));
  GtkWidget *scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0, 1, 0.1);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  EditForm *form = g_new0 (EditForm, 1);

  form->panel = g_object_ref (self);
  form->popover = GTK_POPOVER (popover);
  form->memory_id = memory->id;
  form->key_entry = GTK_EDITABLE (gtk_entry_new ());
  form->value_entry = GTK_EDITABLE (gtk_entry_new ());
  form->importance = GTK_RANGE (scale);
  form->error_label = GTK_LABEL (gtk_label_new (NULL));
  form->save_button = gtk_button_new_with_mnemonic (_("_Save"));

  gtk_widget_set_size_request (box, 300, -1);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "heading");
  gtk_box_append (GTK_BOX (box), title);

  gtk_box_append (GTK_BOX (box), new_form_label (_("About")));
  gtk_editable_set_text (form->key_entry, memory->key);
  gtk_entry_set_max_length (GTK_ENTRY (form->key_entry), RFL_MEMORY_STORE_MAX_KEY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (form->key_entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("About"), -1);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (form->key_entry));

  gtk_box_append (GTK_BOX (box), new_form_label (_("Remembered")));
  gtk_editable_set_text (form->value_entry, memory->value);
  gtk_entry_set_max_length (GTK_ENTRY (form->value_entry), RFL_MEMORY_STORE_MAX_VALUE);
  gtk_entry_set_activates_default (GTK_ENTRY (form->value_entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (form->value_entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Remembered"), -1);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (form->value_entry));

  gtk_box_append (GTK_BOX (box), new_form_label (_("Importance")));
  gtk_range_set_value (form->importance, memory->importance);
  gtk_scale_add_mark (GTK_SCALE (scale), 0, GTK_POS_BOTTOM, C_("importance", "Low"));
  gtk_scale_add_mark (GTK_SCALE (scale), 1, GTK_POS_BOTTOM, C_("importance", "High"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Importance"), -1);
  gtk_box_append (GTK_BOX (box), scale);

  gtk_label_set_xalign (form->error_label, 0);
  gtk_label_set_wrap (form->error_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (form->error_label), "inline-error");
  gtk_widget_set_visible (GTK_WIDGET (form->error_label), FALSE);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (form->error_label));

  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_widget_set_margin_top (buttons, 6);
  gtk_widget_add_css_class (form->save_button, "suggested-action");
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_popover_popdown), popover);
  g_signal_connect_swapped (form->save_button, "clicked", G_CALLBACK (save_clicked_cb), form);
  gtk_box_append (GTK_BOX (buttons), cancel);
  gtk_box_append (GTK_BOX (buttons), form->save_button);
  gtk_box_append (GTK_BOX (box), buttons);

  g_signal_connect_swapped (form->key_entry, "changed",
                            G_CALLBACK (edit_entries_changed_cb), form);
  g_signal_connect_swapped (form->value_entry, "changed",
                            G_CALLBACK (edit_entries_changed_cb), form);

  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_popover_set_default_widget (GTK_POPOVER (popover), form->save_button);
  g_object_set_data_full (G_OBJECT (popover), "rfl-edit-form", form,
                          (GDestroyNotify) edit_form_free);

  return popover;
}

static void
create_edit_popup_cb (GtkMenuButton *button,
                      gpointer       user_data)
{
  RflChatMemoriesPanel *self = RFL_CHAT_MEMORIES_PANEL (user_data);
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);
  const RflMemory *memory = g_object_get_data (G_OBJECT (row), "rfl-memory");

  gtk_menu_button_set_popover (button, build_edit_popover (self, memory));
}

/* Deleting ------------------------------------------------------------- */

static void
delete_memory_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(RflChatMemoriesPanel) self = user_data;
  g_autoptr(GError) error = NULL;

  if (rfl_service_memory_change_finish (RFL_SERVICE (source), result, &error))
    return;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* It is still there: show it again. */
  show_toast (self, error->message);
  rfl_chat_memories_panel_reload (self);
}

static void
commit_delete (PendingDelete *pending)
{
  RflChatMemoriesPanel *self = pending->panel;

  if (pending->done || self == NULL)
    return;

  pending->done = TRUE;
  if (self->service != NULL)
    rfl_service_delete_memory_async (self->service, self->identity, pending->memory_id,
                                     NULL, delete_memory_cb, g_object_ref (self));

  g_ptr_array_remove (self->pending_deletes, pending);
  pending->panel = NULL;
}

static void
undo_delete_cb (PendingDelete *pending)
{
  RflChatMemoriesPanel *self = pending->panel;

  if (pending->done || self == NULL)
    return;

  pending->done = TRUE;
  gtk_widget_set_visible (pending->row, TRUE);
  self->n_memories++;
  update_state (self);
  g_ptr_array_remove (self->pending_deletes, pending);
  pending->panel = NULL;
}

static void
delete_clicked_cb (GtkButton            *button,
                   RflChatMemoriesPanel *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);
  const RflMemory *memory = g_object_get_data (G_OBJECT (row), "rfl-memory");
  AdwToastOverlay *overlay = find_toast_overlay (self);
  PendingDelete *pending = g_new0 (PendingDelete, 1);
  g_autofree char *title = NULL;
  AdwToast *toast;

  pending->panel = self;
  pending->row = g_object_ref (row);
  pending->memory_id = memory->id;
  g_ptr_array_add (self->pending_deletes, pending);

  gtk_widget_set_visible (row, FALSE);
  self->n_memories--;
  update_state (self);

  if (overlay == NULL)
    {
      commit_delete (pending);
      pending_delete_free (pending);
      return;
    }

  /* Translators: %s is what the memory is about */
  title = g_strdup_printf (_("Forgot “%s”"), memory->key);
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect_swapped (toast, "button-clicked", G_CALLBACK (undo_delete_cb), pending);
  g_signal_connect_swapped (toast, "dismissed", G_CALLBACK (commit_delete), pending);
  g_object_set_data_full (G_OBJECT (toast), "rfl-pending-delete", pending,
                          (GDestroyNotify) pending_delete_free);
  adw_toast_overlay_add_toast (overlay, toast);
}

/* Loading -------------------------------------------------------------- */

static GtkWidget *
new_memory_row (RflChatMemoriesPanel *self,
                const RflMemory      *memory)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *edit = gtk_menu_button_new ();
  GtkWidget *delete = gtk_button_new_from_icon_name ("user-trash-symbolic");
  g_autofree char *subtitle = NULL;

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), memory->value);
  /* Translators: "favourite colour · Preference" */
  subtitle = g_strdup_printf (_("%s · %s"), memory->key, kind_title (memory->kind));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 4);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);

  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (edit), "document-edit-symbolic");
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (edit), create_edit_popup_cb,
                                         self, NULL);
  gtk_widget_set_valign (edit, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (edit, _("Edit Memory"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (edit),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Edit Memory"), -1);
  gtk_widget_add_css_class (edit, "flat");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), edit);

  gtk_widget_set_valign (delete, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (delete, _("Forget"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (delete),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Forget"), -1);
  gtk_widget_add_css_class (delete, "flat");
  g_signal_connect (delete, "clicked", G_CALLBACK (delete_clicked_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), delete);

  g_object_set_data_full (G_OBJECT (row), "rfl-memory", rfl_memory_copy (memory),
                          (GDestroyNotify) rfl_memory_free);

  return row;
}

static void
update_state (RflChatMemoriesPanel *self)
{
  gtk_spinner_set_spinning (self->spinner, self->loading);

  if (self->loading)
    gtk_stack_set_visible_child_name (self->stack, "loading");
  else if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "error"))
    return;
  else if (self->n_memories == 0)
    gtk_stack_set_visible_child_name (self->stack, "empty");
  else
    gtk_stack_set_visible_child_name (self->stack, "list");
}

static void
list_memories_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(RflChatMemoriesPanel) self = user_data;
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *child;

  memories = rfl_service_list_memories_finish (RFL_SERVICE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->loading = FALSE;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->memory_list))) != NULL)
    gtk_list_box_remove (self->memory_list, child);
  self->n_memories = 0;

  if (memories == NULL)
    {
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "error");
      update_state (self);
      return;
    }

  for (guint i = 0; i < memories->len; i++)
    {
      const RflMemory *memory = g_ptr_array_index (memories, i);
      gboolean pending = FALSE;

      /* A deletion still waiting on its toast stays hidden. */
      for (guint j = 0; j < self->pending_deletes->len; j++)
        {
          const PendingDelete *delete = g_ptr_array_index (self->pending_deletes, j);

          pending |= delete->memory_id == memory->id;
        }
      if (pending)
        continue;

      gtk_list_box_append (self->memory_list, new_memory_row (self, memory));
      self->n_memories++;
    }

  gtk_stack_set_visible_child_name (self->stack, "list");
  update_state (self);
}

static void
retry_clicked_cb (RflChatMemoriesPanel *self)
{
  rfl_chat_memories_panel_reload (self);
}

/* GObject -------------------------------------------------------------- */

static void
rfl_chat_memories_panel_dispose (GObject *object)
{
  RflChatMemoriesPanel *self = RFL_CHAT_MEMORIES_PANEL (object);

  /* Deletions the user did not undo are done now. */
  while (self->pending_deletes != NULL && self->pending_deletes->len > 0)
    commit_delete (g_ptr_array_index (self->pending_deletes, 0));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->service);

  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_CHAT_MEMORIES_PANEL);

  G_OBJECT_CLASS (rfl_chat_memories_panel_parent_class)->dispose (object);
}

static void
rfl_chat_memories_panel_finalize (GObject *object)
{
  RflChatMemoriesPanel *self = RFL_CHAT_MEMORIES_PANEL (object);

  g_clear_pointer (&self->pending_deletes, g_ptr_array_unref);

  G_OBJECT_CLASS (rfl_chat_memories_panel_parent_class)->finalize (object);
}

static void
rfl_chat_memories_panel_class_init (RflChatMemoriesPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_chat_memories_panel_dispose;
  object_class->finalize = rfl_chat_memories_panel_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-chat-memories-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, RflChatMemoriesPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, RflChatMemoriesPanel, spinner);
  gtk_widget_class_bind_template_child (widget_class, RflChatMemoriesPanel, error_page);
  gtk_widget_class_bind_template_child (widget_class, RflChatMemoriesPanel, memory_list);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked_cb);
}

static void
rfl_chat_memories_panel_init (RflChatMemoriesPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->pending_deletes = g_ptr_array_new ();
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

GtkWidget *
rfl_chat_memories_panel_new (void)
{
  return g_object_new (RFL_TYPE_CHAT_MEMORIES_PANEL, NULL);
}

void
rfl_chat_memories_panel_set_service (RflChatMemoriesPanel *self,
                                     RflService           *service,
                                     RflIdentity           identity)
{
  g_return_if_fail (RFL_IS_CHAT_MEMORIES_PANEL (self));
  g_return_if_fail (service == NULL || RFL_IS_SERVICE (service));

  while (self->pending_deletes->len > 0)
    commit_delete (g_ptr_array_index (self->pending_deletes, 0));

  g_set_object (&self->service, service);
  self->identity = identity;
  rfl_chat_memories_panel_reload (self);
}

void
rfl_chat_memories_panel_reload (RflChatMemoriesPanel *self)
{
  g_return_if_fail (RFL_IS_CHAT_MEMORIES_PANEL (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (self->service == NULL || self->identity.user_id == 0)
    {
      GtkWidget *child;

      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->memory_list))) != NULL)
        gtk_list_box_remove (self->memory_list, child);
      self->n_memories = 0;
      self->loading = FALSE;
      gtk_stack_set_visible_child_name (self->stack, "empty");
      update_state (self);
      return;
    }

  /* The list stays as it is while it reloads, unless it is empty. */
  self->loading = self->n_memories == 0;
  if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "error"))
    gtk_stack_set_visible_child_name (self->stack, "empty");
  update_state (self);

  rfl_service_list_memories_async (self->service, self->identity, self->cancellable,
                                   list_memories_cb, g_object_ref (self));
}

guint
rfl_chat_memories_panel_get_n_memories (RflChatMemoriesPanel *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MEMORIES_PANEL (self), 0);

  return self->n_memories;
}

gboolean
rfl_chat_memories_panel_get_loading (RflChatMemoriesPanel *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MEMORIES_PANEL (self), FALSE);

  return self->loading;
}
