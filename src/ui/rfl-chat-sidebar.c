/* rfl-chat-sidebar.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-sidebar.h"

#include <glib/gi18n.h>

#include "rfl-chat-conversation-item.h"
#include "rfl-markdown.h"
#include "service/rfl-service.h"

struct _RflChatSidebar
{
  AdwBin              parent_instance;

  GtkSingleSelection *selection;        /* owned */
  gboolean            selecting;        /* a selection the page asked for */

  /* Template children */
  GtkSearchEntry     *search_entry;
  GtkWidget          *new_chat_button;
  GtkListView        *conversation_view;
  GtkLabel           *empty_label;
  GtkWidget          *identity_button;
  AdwAvatar          *identity_avatar;
  GtkLabel           *identity_name;
  GtkLabel           *identity_detail;
  GtkWidget          *identity_popover;
  GtkLabel           *identity_hint;
  GtkListBox         *identity_list;
};

G_DEFINE_FINAL_TYPE (RflChatSidebar, rfl_chat_sidebar, ADW_TYPE_BIN)

enum {
  SIGNAL_CONVERSATION_ACTIVATED,
  SIGNAL_NEW_CHAT,
  SIGNAL_SEARCH_CHANGED,
  SIGNAL_RENAME_CONVERSATION,
  SIGNAL_DELETE_CONVERSATION,
  SIGNAL_IDENTITY_CHOSEN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Conversation rows ---------------------------------------------------- */

typedef struct
{
  GtkWidget  *title;
  GtkWidget  *time;
  GtkWidget  *preview;
  GtkWidget  *menu_button;
  GBinding   *title_binding;
} RowWidgets;

static void
row_secondary_click_cb (GtkGestureClick *gesture,
                        int              n_press,
                        double           x,
                        double           y,
                        RowWidgets      *widgets)
{
  gtk_menu_button_popup (GTK_MENU_BUTTON (widgets->menu_button));
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
row_click_released_cb (GtkGestureClick *gesture,
                       int              n_press,
                       double           x,
                       double           y,
                       GtkListItem     *list_item)
{
  RflChatConversationItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *widget = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  RflChatSidebar *self;

  self = RFL_CHAT_SIDEBAR (gtk_widget_get_ancestor (widget, RFL_TYPE_CHAT_SIDEBAR));
  if (item == NULL || self == NULL)
    return;

  /* Clicking the conversation already highlighted opens it again: in a
   * folded window that is how the user gets back to it. */
  g_signal_emit (self, signals[SIGNAL_CONVERSATION_ACTIVATED], 0,
                 rfl_chat_conversation_item_get_id (item));
}

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              RflChatSidebar           *self)
{
  RowWidgets *widgets = g_new0 (RowWidgets, 1);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkGesture *gesture;

  gtk_widget_add_css_class (row, "conversation-row");
  gtk_widget_set_hexpand (texts, TRUE);

  widgets->title = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (widgets->title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (widgets->title), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (widgets->title), 1);
  gtk_widget_set_hexpand (widgets->title, TRUE);
  gtk_widget_add_css_class (widgets->title, "conversation-title");
  gtk_box_append (GTK_BOX (top), widgets->title);

  widgets->time = gtk_label_new (NULL);
  gtk_widget_add_css_class (widgets->time, "caption");
  gtk_widget_add_css_class (widgets->time, "dim-label");
  gtk_widget_add_css_class (widgets->time, "numeric");
  gtk_box_append (GTK_BOX (top), widgets->time);
  gtk_box_append (GTK_BOX (texts), top);

  widgets->preview = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (widgets->preview), 0);
  gtk_label_set_ellipsize (GTK_LABEL (widgets->preview), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (widgets->preview), 1);
  gtk_label_set_single_line_mode (GTK_LABEL (widgets->preview), TRUE);
  gtk_widget_add_css_class (widgets->preview, "caption");
  gtk_widget_add_css_class (widgets->preview, "dim-label");
  gtk_box_append (GTK_BOX (texts), widgets->preview);
  gtk_box_append (GTK_BOX (row), texts);

  widgets->menu_button = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (widgets->menu_button),
                                 "view-more-symbolic");
  gtk_widget_set_valign (widgets->menu_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (widgets->menu_button, _("Conversation Menu"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (widgets->menu_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Conversation Menu"),
                                  -1);
  gtk_widget_add_css_class (widgets->menu_button, "flat");
  gtk_widget_add_css_class (widgets->menu_button, "circular");
  gtk_widget_add_css_class (widgets->menu_button, "row-menu");
  gtk_box_append (GTK_BOX (row), widgets->menu_button);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (row_secondary_click_cb), widgets);
  gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "released", G_CALLBACK (row_click_released_cb), list_item);
  gtk_widget_add_controller (texts, GTK_EVENT_CONTROLLER (gesture));

  g_object_set_data_full (G_OBJECT (list_item), "rfl-row-widgets", widgets, g_free);
  gtk_list_item_set_child (list_item, row);
}


static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             RflChatSidebar           *self)
{
  RowWidgets *widgets = g_object_get_data (G_OBJECT (list_item), "rfl-row-widgets");
  RflChatConversationItem *item = gtk_list_item_get_item (list_item);
  gint64 id = rfl_chat_conversation_item_get_id (item);
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenuItem) rename = NULL;
  g_autoptr(GMenuItem) delete = NULL;
  g_autofree char *time = NULL;
  g_autofree char *preview = NULL;

  widgets->title_binding = g_object_bind_property (item, "title", widgets->title, "label",
                                                   G_BINDING_SYNC_CREATE);

  time = rfl_chat_conversation_item_format_time (rfl_chat_conversation_item_get_updated_at (item),
                                                 g_get_real_time () / 1000);
  gtk_label_set_text (GTK_LABEL (widgets->time), time);

  /* The words of the last message, without its markdown. */
  preview = rfl_markdown_to_plain_text (rfl_chat_conversation_item_get_preview (item));
  gtk_label_set_text (GTK_LABEL (widgets->preview), preview);
  gtk_widget_set_visible (widgets->preview, *preview != '\0');

  rename = g_menu_item_new (_("_Rename…"), NULL);
  g_menu_item_set_action_and_target_value (rename, "sidebar.rename",
                                           g_variant_new_int64 (id));
  g_menu_append_item (menu, rename);
  delete = g_menu_item_new (_("_Delete"), NULL);
  g_menu_item_set_action_and_target_value (delete, "sidebar.delete",
                                           g_variant_new_int64 (id));
  g_menu_append_item (menu, delete);
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (widgets->menu_button),
                                  G_MENU_MODEL (menu));
}

static void
unbind_row_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               RflChatSidebar           *self)
{
  RowWidgets *widgets = g_object_get_data (G_OBJECT (list_item), "rfl-row-widgets");

  g_clear_pointer (&widgets->title_binding, g_binding_unbind);
}

static void
update_empty_state (RflChatSidebar *self)
{
  const char *search = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->selection)) == 0;
  g_autofree char *text = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), empty);
  if (!empty)
    return;

  if (*search != '\0')
    /* Translators: %s is what the user searched for */
    text = g_strdup_printf (_("No conversation mentions “%s”"), search);
  else
    text = g_strdup (_("No conversations yet. What you write below starts one."));

  gtk_label_set_text (self->empty_label, text);
}

static void
selection_changed_cb (RflChatSidebar *self)
{
  RflChatConversationItem *item;

  if (self->selecting)
    return;

  item = gtk_single_selection_get_selected_item (self->selection);
  if (item != NULL)
    g_signal_emit (self, signals[SIGNAL_CONVERSATION_ACTIVATED], 0,
                   rfl_chat_conversation_item_get_id (item));
}

static void
search_changed_cb (RflChatSidebar *self)
{
  g_signal_emit (self, signals[SIGNAL_SEARCH_CHANGED], 0,
                 gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
}

static void
stop_search_cb (RflChatSidebar *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
}

static void
new_chat_clicked_cb (RflChatSidebar *self)
{
  g_signal_emit (self, signals[SIGNAL_NEW_CHAT], 0);
}

static void
rename_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  g_signal_emit (widget, signals[SIGNAL_RENAME_CONVERSATION], 0,
                 g_variant_get_int64 (parameter));
}

static void
delete_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  g_signal_emit (widget, signals[SIGNAL_DELETE_CONVERSATION], 0,
                 g_variant_get_int64 (parameter));
}

static gboolean
selected_shortcut_cb (GtkWidget *widget,
                      GVariant  *args,
                      gpointer   user_data)
{
  RflChatSidebar *self = RFL_CHAT_SIDEBAR (gtk_widget_get_ancestor (widget,
                                                                    RFL_TYPE_CHAT_SIDEBAR));
  gint64 id = rfl_chat_sidebar_get_selected (self);

  if (id == 0)
    return FALSE;

  g_signal_emit (self, signals[GPOINTER_TO_UINT (user_data)], 0, id);

  return TRUE;
}

/* Identities ----------------------------------------------------------- */

static const char *
role_title (const char *role)
{
  if (g_strcmp0 (role, "system_admin") == 0)
    return _("System administrator");
  if (g_strcmp0 (role, "tenant_admin") == 0)
    return _("Administrator");

  return _("Member");
}

static const char *
identity_name (const RflIdentityInfo *info)
{
  if (info->display_name != NULL && *info->display_name != '\0')
    return info->display_name;

  return info->email != NULL ? info->email : "";
}

static GtkWidget *
new_identity_row (const RflIdentityInfo *info,
                  gboolean               current)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *avatar = adw_avatar_new (24, identity_name (info), TRUE);
  GtkWidget *name = gtk_label_new (identity_name (info));
  g_autofree char *detail = NULL;
  GtkWidget *detail_label;
  gint64 ids[2] = { info->tenant_id, info->user_id };

  /* Translators: "Riverside Clinic · Administrator" */
  detail = g_strdup_printf (_("%s · %s"), info->tenant_name, role_title (info->role));
  detail_label = gtk_label_new (detail);

  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (detail_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail_label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (detail_label, "caption");
  gtk_widget_add_css_class (detail_label, "dim-label");
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_box_append (GTK_BOX (texts), name);
  gtk_box_append (GTK_BOX (texts), detail_label);

  gtk_box_append (GTK_BOX (box), avatar);
  gtk_box_append (GTK_BOX (box), texts);

  if (current)
    {
      GtkWidget *check = gtk_image_new_from_icon_name ("object-select-symbolic");

      gtk_accessible_update_property (GTK_ACCESSIBLE (check),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, _("Chatting now"),
                                      -1);
      gtk_box_append (GTK_BOX (box), check);
    }

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data_full (G_OBJECT (row), "rfl-identity",
                          g_memdup2 (ids, sizeof ids), g_free);

  return row;
}

static void
identity_button_clicked_cb (RflChatSidebar *self)
{
  gtk_popover_popup (GTK_POPOVER (self->identity_popover));
}

static void
identity_row_activated_cb (RflChatSidebar *self,
                           GtkListBoxRow  *row)
{
  const gint64 *ids = g_object_get_data (G_OBJECT (row), "rfl-identity");

  gtk_popover_popdown (GTK_POPOVER (self->identity_popover));
  if (ids != NULL)
    g_signal_emit (self, signals[SIGNAL_IDENTITY_CHOSEN], 0, ids[0], ids[1]);
}

/* GObject -------------------------------------------------------------- */

static void
rfl_chat_sidebar_dispose (GObject *object)
{
  RflChatSidebar *self = RFL_CHAT_SIDEBAR (object);

  if (self->conversation_view != NULL)
    gtk_list_view_set_model (self->conversation_view, NULL);
  g_clear_object (&self->selection);

  /* The popover hangs from the identity button, outside the template's
   * tree of widgets. */
  if (self->identity_popover != NULL && gtk_widget_get_parent (self->identity_popover) != NULL)
    gtk_widget_unparent (self->identity_popover);

  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_CHAT_SIDEBAR);

  G_OBJECT_CLASS (rfl_chat_sidebar_parent_class)->dispose (object);
}

static void
rfl_chat_sidebar_class_init (RflChatSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_chat_sidebar_dispose;

  signals[SIGNAL_CONVERSATION_ACTIVATED] =
    g_signal_new ("conversation-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[SIGNAL_NEW_CHAT] =
    g_signal_new ("new-chat", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_SEARCH_CHANGED] =
    g_signal_new ("search-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_RENAME_CONVERSATION] =
    g_signal_new ("rename-conversation", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[SIGNAL_DELETE_CONVERSATION] =
    g_signal_new ("delete-conversation", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[SIGNAL_IDENTITY_CHOSEN] =
    g_signal_new ("identity-chosen", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_INT64);

  gtk_widget_class_install_action (widget_class, "sidebar.rename", "x", rename_action_cb);
  gtk_widget_class_install_action (widget_class, "sidebar.delete", "x", delete_action_cb);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-chat-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, search_entry);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, new_chat_button);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, conversation_view);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, empty_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_button);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_avatar);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_name);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_detail);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_popover);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_hint);
  gtk_widget_class_bind_template_child (widget_class, RflChatSidebar, identity_list);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_chat_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, identity_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, identity_button_clicked_cb);
}

static void
add_list_shortcut (GtkShortcutController *controller,
                   guint                  keyval,
                   guint                  signal_index)
{
  GtkShortcut *shortcut;

  shortcut = gtk_shortcut_new (gtk_keyval_trigger_new (keyval, 0),
                               gtk_callback_action_new (selected_shortcut_cb,
                                                        GUINT_TO_POINTER (signal_index),
                                                        NULL));
  gtk_shortcut_controller_add_shortcut (controller, shortcut);
}

static void
rfl_chat_sidebar_init (RflChatSidebar *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkEventController *shortcuts;

  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_widget_set_parent (self->identity_popover, self->identity_button);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row_cb), self);
  gtk_list_view_set_factory (self->conversation_view, factory);

  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_object (self->selection, "selection-changed",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->selection, "items-changed",
                           G_CALLBACK (update_empty_state), self, G_CONNECT_SWAPPED);
  gtk_list_view_set_model (self->conversation_view, GTK_SELECTION_MODEL (self->selection));

  shortcuts = gtk_shortcut_controller_new ();
  add_list_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), GDK_KEY_F2,
                     SIGNAL_RENAME_CONVERSATION);
  add_list_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts), GDK_KEY_Delete,
                     SIGNAL_DELETE_CONVERSATION);
  gtk_widget_add_controller (GTK_WIDGET (self->conversation_view), shortcuts);

  rfl_chat_sidebar_set_identities (self, NULL, 0, 0);
  update_empty_state (self);
}

GtkWidget *
rfl_chat_sidebar_new (void)
{
  return g_object_new (RFL_TYPE_CHAT_SIDEBAR, NULL);
}

void
rfl_chat_sidebar_set_model (RflChatSidebar *self,
                            GListModel     *conversations)
{
  g_return_if_fail (RFL_IS_CHAT_SIDEBAR (self));
  g_return_if_fail (conversations == NULL || G_IS_LIST_MODEL (conversations));

  /* Gone already, with the window. */
  if (self->selection == NULL)
    return;

  self->selecting = TRUE;
  gtk_single_selection_set_model (self->selection, conversations);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  self->selecting = FALSE;

  update_empty_state (self);
}

void
rfl_chat_sidebar_select (RflChatSidebar *self,
                         gint64          id)
{
  GListModel *model;
  guint position = GTK_INVALID_LIST_POSITION;

  g_return_if_fail (RFL_IS_CHAT_SIDEBAR (self));

  if (self->selection == NULL)
    return;

  model = G_LIST_MODEL (self->selection);
  for (guint i = 0; id != 0 && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(RflChatConversationItem) item = g_list_model_get_item (model, i);

      if (rfl_chat_conversation_item_get_id (item) == id)
        {
          position = i;
          break;
        }
    }

  self->selecting = TRUE;
  gtk_single_selection_set_selected (self->selection, position);
  self->selecting = FALSE;
}

gint64
rfl_chat_sidebar_get_selected (RflChatSidebar *self)
{
  RflChatConversationItem *item;

  g_return_val_if_fail (RFL_IS_CHAT_SIDEBAR (self), 0);

  if (self->selection == NULL)
    return 0;

  item = gtk_single_selection_get_selected_item (self->selection);

  return item != NULL ? rfl_chat_conversation_item_get_id (item) : 0;
}

const char *
rfl_chat_sidebar_get_search_text (RflChatSidebar *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_SIDEBAR (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
}

void
rfl_chat_sidebar_focus_search (RflChatSidebar *self)
{
  g_return_if_fail (RFL_IS_CHAT_SIDEBAR (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static gboolean
may_chat_as (const RflIdentityInfo *current,
             const RflIdentityInfo *other)
{
  if (current == NULL)
    return FALSE;
  if (current == other || g_strcmp0 (current->role, "system_admin") == 0)
    return TRUE;
  if (g_strcmp0 (current->role, "tenant_admin") == 0)
    return other->tenant_id == current->tenant_id;

  return FALSE;
}

void
rfl_chat_sidebar_set_identities (RflChatSidebar *self,
                                 GPtrArray      *identities,
                                 gint64          tenant_id,
                                 gint64          user_id)
{
  const RflIdentityInfo *current = NULL;
  GtkWidget *child;
  g_autofree char *detail = NULL;

  g_return_if_fail (RFL_IS_CHAT_SIDEBAR (self));

  if (self->identity_list == NULL)
    return;

  for (guint i = 0; identities != NULL && i < identities->len; i++)
    {
      const RflIdentityInfo *info = g_ptr_array_index (identities, i);

      if (info->tenant_id == tenant_id && info->user_id == user_id)
        current = info;
    }

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->identity_list))) != NULL)
    gtk_list_box_remove (self->identity_list, child);

  for (guint i = 0; identities != NULL && i < identities->len; i++)
    {
      const RflIdentityInfo *info = g_ptr_array_index (identities, i);

      if (may_chat_as (current, info))
        gtk_list_box_append (self->identity_list, new_identity_row (info, info == current));
    }

  gtk_widget_set_visible (self->identity_button, identities != NULL);
  if (current == NULL)
    {
      gtk_label_set_text (self->identity_name, _("Nobody Is Chatting"));
      gtk_label_set_text (self->identity_detail, _("Run the setup wizard first"));
      adw_avatar_set_text (self->identity_avatar, NULL);
      gtk_label_set_text (self->identity_hint, "");
      return;
    }

  gtk_label_set_text (self->identity_name, identity_name (current));
  detail = g_strdup_printf (_("%s · %s"), current->tenant_name, role_title (current->role));
  gtk_label_set_text (self->identity_detail, detail);
  adw_avatar_set_text (self->identity_avatar, identity_name (current));

  if (g_strcmp0 (current->role, "system_admin") == 0)
    gtk_label_set_text (self->identity_hint,
                        _("As a system administrator you can chat as any user of any tenant."));
  else if (g_strcmp0 (current->role, "tenant_admin") == 0)
    gtk_label_set_text (self->identity_hint,
                        _("As an administrator you can chat as any user of your tenant."));
  else
    gtk_label_set_text (self->identity_hint,
                        _("Only administrators can chat as someone else."));
}
