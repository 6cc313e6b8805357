/* rfl-chat-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-page.h"

#include <glib/gi18n.h>

#include "rfl-chat-message-row.h"
#include "rfl-chat-page-private.h"

/* How close to the end (in pixels) the list must be to follow new text. */
#define STICK_DISTANCE 48

G_DEFINE_FINAL_TYPE (RflChatPage, rfl_chat_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_READY,
  PROP_TITLE,
  PROP_CONVERSATION_ID,
  PROP_STREAMING,
  N_PROPS
};

enum {
  SIGNAL_RETRY_SERVICE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Small helpers --------------------------------------------------------- */

void
_rfl_chat_page_show_toast (RflChatPage *self,
                           const char  *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
_rfl_chat_page_set_title (RflChatPage *self,
                          const char  *title)
{
  if (title == NULL || *title == '\0')
    title = _("New Chat");

  if (g_strcmp0 (self->title, title) == 0)
    return;

  g_free (self->title);
  self->title = g_strdup (title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

static void
set_ready (RflChatPage *self,
           gboolean     ready)
{
  if (self->ready == ready)
    return;

  self->ready = ready;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
}

static void
set_state (RflChatPage *self,
           const char  *state)
{
  gtk_stack_set_visible_child_name (self->state_stack, state);
  gtk_spinner_set_spinning (self->loading_spinner, g_str_equal (state, "loading"));
  set_ready (self, g_str_equal (state, "chat"));
  if (self->sidebar != NULL)
    gtk_widget_set_visible (GTK_WIDGET (self->sidebar), self->ready);
}

RflChatConversationItem *
_rfl_chat_page_find_conversation (RflChatPage *self,
                                  gint64       id)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->conversations)); i++)
    {
      g_autoptr(RflChatConversationItem) item =
        g_list_model_get_item (G_LIST_MODEL (self->conversations), i);

      if (rfl_chat_conversation_item_get_id (item) == id)
        return item;
    }

  return NULL;
}

RflChatTurn *
_rfl_chat_page_find_turn (RflChatPage *self,
                          gint64       conversation_id)
{
  if (conversation_id == 0)
    return self->new_chat_turn;

  return g_hash_table_lookup (self->turns, &conversation_id);
}

static void
update_actions (RflChatPage *self)
{
  gboolean streaming = _rfl_chat_page_find_turn (self, self->conversation_id) != NULL;
  gboolean chatting = self->ready && self->conversation_id != 0;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.stop", streaming);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.regenerate", chatting && !streaming);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.retry", chatting && !streaming);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.rename", chatting);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "chat.new-chat", self->ready);
}

void
_rfl_chat_page_update_streaming (RflChatPage *self)
{
  gboolean streaming = _rfl_chat_page_find_turn (self, self->conversation_id) != NULL;

  if (rfl_chat_composer_get_streaming (self->composer) != streaming)
    {
      rfl_chat_composer_set_streaming (self->composer, streaming);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
    }

  update_actions (self);
}

void
_rfl_chat_page_set_conversation_id (RflChatPage *self,
                                    gint64       id)
{
  if (self->conversation_id == id)
    return;

  self->conversation_id = id;
  if (self->sidebar != NULL)
    rfl_chat_sidebar_select (self->sidebar, id);

  _rfl_chat_page_update_streaming (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONVERSATION_ID]);
}


/* Scrolling ------------------------------------------------------------ */

static gboolean
scroll_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  RflChatPage *self = user_data;
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (self->message_scroller);

  self->scroll_tick_id = 0;
  self->last_upper = gtk_adjustment_get_upper (adjustment);
  self->last_page_size = gtk_adjustment_get_page_size (adjustment);
  gtk_adjustment_set_value (adjustment, self->last_upper - self->last_page_size);

  return G_SOURCE_REMOVE;
}

/* Scrolls to the end before the next frame, once the list has measured
 * what changed. */
void
_rfl_chat_page_scroll_to_bottom (RflChatPage *self)
{
  self->stick_to_bottom = TRUE;
  if (self->scroll_tick_id == 0)
    self->scroll_tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self->message_view),
                                                         scroll_tick_cb, self, NULL);
}

/* The user scrolled when the value changed but the size did not: whether
 * the end is in view then decides if new text keeps it there. */
static void
adjustment_value_changed_cb (RflChatPage   *self,
                             GtkAdjustment *adjustment)
{
  double upper = gtk_adjustment_get_upper (adjustment);
  double page_size = gtk_adjustment_get_page_size (adjustment);

  if (upper != self->last_upper || page_size != self->last_page_size)
    {
      self->last_upper = upper;
      self->last_page_size = page_size;
      if (self->stick_to_bottom)
        _rfl_chat_page_scroll_to_bottom (self);
      return;
    }

  self->stick_to_bottom = gtk_adjustment_get_value (adjustment)
                          >= upper - page_size - STICK_DISTANCE;
}

static void
adjustment_size_changed_cb (RflChatPage   *self,
                            GParamSpec    *pspec,
                            GtkAdjustment *adjustment)
{
  if (self->stick_to_bottom)
    _rfl_chat_page_scroll_to_bottom (self);
}

/* Models ---------------------------------------------------------------- */

static void
select_model (RflChatPage *self,
              const char  *model)
{
  guint n_models = g_list_model_get_n_items (G_LIST_MODEL (self->models));

  for (guint i = 0; model != NULL && i < n_models; i++)
    {
      if (g_strcmp0 (gtk_string_list_get_string (self->models, i), model) == 0)
        {
          gtk_drop_down_set_selected (self->model_dropdown, i);
          return;
        }
    }

  if (model != NULL && *model != '\0')
    {
      gtk_string_list_append (self->models, model);
      gtk_drop_down_set_selected (self->model_dropdown, n_models);
    }
}

static void
list_models_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(RflChatPage) self = user_data;
  g_autoptr(GPtrArray) models = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *configured = NULL;
  g_autofree char *keep = g_strdup (self->model);

  models = rfl_service_list_models_finish (RFL_SERVICE (source), result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->filling_models = TRUE;
  gtk_string_list_splice (self->models, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->models)), NULL);

  if (models != NULL)
    {
      for (guint i = 0; i < models->len; i++)
        {
          const RflModelInfo *info = g_ptr_array_index (models, i);

          gtk_string_list_append (self->models, info->name);
        }
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_dropdown), _("Model"));
    }
  else
    {
      g_autofree char *tooltip = g_strdup_printf (_("The models could not be listed: %s"),
                                                  error->message);

      gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_dropdown), tooltip);
    }

  /* The model chosen here before, or else the one configured. */
  configured = g_settings_get_string (self->settings, "model");
  select_model (self, keep != NULL && *keep != '\0' ? keep : configured);
  self->filling_models = FALSE;

  {
    GtkStringObject *selected = gtk_drop_down_get_selected_item (self->model_dropdown);

    g_free (self->model);
    self->model = selected != NULL ? g_strdup (gtk_string_object_get_string (selected)) : NULL;
  }

  rfl_chat_page_set_compact (self, self->compact);
}

static void
load_models (RflChatPage *self)
{
  if (self->service == NULL)
    return;

  rfl_service_list_models_async (self->service, self->cancellable,
                                 list_models_cb, g_object_ref (self));
}

static void
model_selected_cb (RflChatPage *self)
{
  GtkStringObject *selected;

  if (self->filling_models)
    return;

  selected = gtk_drop_down_get_selected_item (self->model_dropdown);
  g_free (self->model);
  self->model = selected != NULL ? g_strdup (gtk_string_object_get_string (selected)) : NULL;
}

/* The picker's button shortens a long name; its list shows it whole. */
static void
setup_model_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (user_data))
    {
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_width_chars (GTK_LABEL (label), 10);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
    }

  gtk_list_item_set_child (list_item, label);
}

static void
bind_model_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               gpointer                  user_data)
{
  GtkStringObject *item = gtk_list_item_get_item (list_item);

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)),
                      gtk_string_object_get_string (item));
}

static GtkListItemFactory *
new_model_factory (gboolean ellipsize)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_model_cb), GINT_TO_POINTER (ellipsize));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_model_cb), NULL);

  return factory;
}

/* Identities ------------------------------------------------------------ */

static RflIdentity
identity_from_settings (RflChatPage *self)
{
  RflIdentity identity = {
    g_settings_get_int64 (self->settings, "current-tenant-id"),
    g_settings_get_int64 (self->settings, "current-user-id"),
  };

  return identity;
}

static const RflIdentityInfo *
find_identity (GPtrArray   *identities,
               RflIdentity  identity)
{
  for (guint i = 0; identities != NULL && i < identities->len; i++)
    {
      const RflIdentityInfo *info = g_ptr_array_index (identities, i);

      if (info->tenant_id == identity.tenant_id && info->user_id == identity.user_id)
        return info;
    }

  return NULL;
}

/* Opens everything that belongs to the identity now chosen. */
static void
start_chatting (RflChatPage *self)
{
  GHashTableIter iter;
  RflChatTurn *turn;

  /* Answers of the one before stop, kept as interrupted. */
  g_hash_table_iter_init (&iter, self->turns);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &turn))
    g_cancellable_cancel (turn->cancellable);
  if (self->new_chat_turn != NULL)
    g_cancellable_cancel (self->new_chat_turn->cancellable);

  if (self->sidebar != NULL)
    rfl_chat_sidebar_set_identities (self->sidebar, self->identities,
                                     self->identity.tenant_id, self->identity.user_id);

  g_list_store_remove_all (self->conversations);
  self->conversation_id = -1;
  set_state (self, "chat");

  _rfl_chat_page_load_conversations (self);
  load_models (self);
  rfl_chat_memories_panel_set_service (self->memories_panel, self->service, self->identity);
  rfl_chat_page_open_conversation (self, 0);
}

static void
list_identities_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(RflChatPage) self = user_data;
  g_autoptr(GPtrArray) identities = NULL;
  g_autoptr(GError) error = NULL;
  const RflIdentityInfo *current;

  identities = rfl_service_list_identities_finish (RFL_SERVICE (source), result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (identities == NULL)
    {
      rfl_chat_page_set_service_error (self, error);
      return;
    }

  g_clear_pointer (&self->identities, g_ptr_array_unref);
  self->identities = g_steal_pointer (&identities);

  self->identity = identity_from_settings (self);
  current = find_identity (self->identities, self->identity);

  /* Nobody chosen yet, or gone: the first administrator, else the first. */
  if (current == NULL && self->identities->len > 0)
    {
      current = g_ptr_array_index (self->identities, 0);
      for (guint i = 0; i < self->identities->len; i++)
        {
          const RflIdentityInfo *info = g_ptr_array_index (self->identities, i);

          if (g_strcmp0 (info->role, "system_admin") == 0)
            {
              current = info;
              break;
            }
        }

      self->identity.tenant_id = current->tenant_id;
      self->identity.user_id = current->user_id;
      g_settings_set_int64 (self->settings, "current-tenant-id", current->tenant_id);
      g_settings_set_int64 (self->settings, "current-user-id", current->user_id);
    }

  if (current == NULL)
    {
      self->identity.tenant_id = self->identity.user_id = 0;
      set_state (self, "no-identity");
      update_actions (self);
      return;
    }

  start_chatting (self);
}

static void
load_identities (RflChatPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  set_state (self, "loading");
  rfl_service_list_identities_async (self->service, self->cancellable,
                                     list_identities_cb, g_object_ref (self));
}

static gboolean
identity_changed_idle_cb (gpointer user_data)
{
  RflChatPage *self = user_data;
  RflIdentity identity = identity_from_settings (self);

  self->identity_idle_id = 0;

  if (self->service == NULL)
    return G_SOURCE_REMOVE;

  if (identity.tenant_id != self->identity.tenant_id
      || identity.user_id != self->identity.user_id)
    load_identities (self);

  return G_SOURCE_REMOVE;
}

static void
settings_changed_cb (RflChatPage *self,
                     const char  *key)
{
  /* Both keys change together: one reload for the two. */
  if ((g_str_equal (key, "current-tenant-id") || g_str_equal (key, "current-user-id"))
      && self->identity_idle_id == 0)
    self->identity_idle_id = g_idle_add (identity_changed_idle_cb, self);
}

static void
sidebar_identity_chosen_cb (RflChatPage    *self,
                            gint64          tenant_id,
                            gint64          user_id,
                            RflChatSidebar *sidebar)
{
  g_settings_delay (self->settings);
  g_settings_set_int64 (self->settings, "current-tenant-id", tenant_id);
  g_settings_set_int64 (self->settings, "current-user-id", user_id);
  g_settings_apply (self->settings);
}

/* Actions --------------------------------------------------------------- */

static void
new_chat_action_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  rfl_chat_page_open_conversation (RFL_CHAT_PAGE (widget), 0);
}

static void
rename_action_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  RflChatPage *self = RFL_CHAT_PAGE (widget);

  _rfl_chat_page_rename_conversation (self, self->conversation_id);
}

static void
stop_action_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  _rfl_chat_page_stop (RFL_CHAT_PAGE (widget));
}

static void
regenerate_action_cb (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  _rfl_chat_page_regenerate (RFL_CHAT_PAGE (widget));
}

static void
undo_delete_action_cb (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  RflChatPage *self = RFL_CHAT_PAGE (widget);

  if (self->service != NULL && self->ready)
    _rfl_chat_page_change_conversation (self, g_variant_get_int64 (parameter),
                         RFL_CONVERSATION_RESTORE, NULL, FALSE);
}

static void
toggle_memories_action_cb (GtkWidget  *widget,
                           const char *action_name,
                           GVariant   *parameter)
{
  RflChatPage *self = RFL_CHAT_PAGE (widget);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

static void
retry_service_action_cb (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  RflChatPage *self = RFL_CHAT_PAGE (widget);

  set_state (self, "loading");
  g_signal_emit (self, signals[SIGNAL_RETRY_SERVICE], 0);
}

static void
flap_revealed_cb (RflChatPage *self)
{
  if (adw_flap_get_reveal_flap (self->flap))
    rfl_chat_memories_panel_reload (self->memories_panel);
}

/* The message list ---------------------------------------------------- */

static void
setup_message_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *list_item)
{
  gtk_list_item_set_activatable (list_item, FALSE);
  gtk_list_item_set_selectable (list_item, FALSE);
  gtk_list_item_set_child (list_item, rfl_chat_message_row_new ());
}

static void
bind_message_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item)
{
  rfl_chat_message_row_set_item (RFL_CHAT_MESSAGE_ROW (gtk_list_item_get_child (list_item)),
                                 gtk_list_item_get_item (list_item));
}

static void
unbind_message_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *list_item)
{
  rfl_chat_message_row_set_item (RFL_CHAT_MESSAGE_ROW (gtk_list_item_get_child (list_item)),
                                 NULL);
}

static void
sidebar_delete_cb (RflChatPage    *self,
                   gint64          id,
                   RflChatSidebar *sidebar)
{
  _rfl_chat_page_delete_conversation (self, id);
}

static void
sidebar_rename_cb (RflChatPage    *self,
                   gint64          id,
                   RflChatSidebar *sidebar)
{
  _rfl_chat_page_rename_conversation (self, id);
}

static void
sidebar_activated_cb (RflChatPage    *self,
                      gint64          id,
                      RflChatSidebar *sidebar)
{
  rfl_chat_page_open_conversation (self, id);
}

static void
sidebar_new_chat_cb (RflChatPage    *self,
                     RflChatSidebar *sidebar)
{
  rfl_chat_page_open_conversation (self, 0);
}

static void
sidebar_search_changed_cb (RflChatPage    *self,
                           const char     *text,
                           RflChatSidebar *sidebar)
{
  _rfl_chat_page_load_conversations (self);
}

/* GObject --------------------------------------------------------------- */

static void
disconnect_sidebar (RflChatPage *self)
{
  if (self->sidebar == NULL)
    return;

  g_signal_handlers_disconnect_by_data (self->sidebar, self);
  rfl_chat_sidebar_set_model (self->sidebar, NULL);
  g_clear_object (&self->sidebar);
}

static void
rfl_chat_page_dispose (GObject *object)
{
  RflChatPage *self = RFL_CHAT_PAGE (object);
  GHashTableIter iter;
  RflChatTurn *turn;

  self->disposed = TRUE;
  g_clear_handle_id (&self->identity_idle_id, g_source_remove);

  if (self->turns != NULL)
    {
      g_hash_table_iter_init (&iter, self->turns);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &turn))
        g_cancellable_cancel (turn->cancellable);
      g_hash_table_remove_all (self->turns);
    }
  if (self->new_chat_turn != NULL)
    {
      g_cancellable_cancel (self->new_chat_turn->cancellable);
      g_clear_pointer (&self->new_chat_turn, _rfl_chat_turn_unref);
    }

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->list_cancellable);
  g_cancellable_cancel (self->messages_cancellable);
  g_clear_object (&self->service);

  disconnect_sidebar (self);

  if (self->header_box != NULL && gtk_widget_get_parent (self->header_box) != NULL)
    gtk_widget_unparent (self->header_box);

  if (self->scroll_tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self->message_view), self->scroll_tick_id);
      self->scroll_tick_id = 0;
    }

  if (self->message_view != NULL)
    gtk_list_view_set_model (self->message_view, NULL);

  /* The bin's child is a template child: the bin lets it go first. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_CHAT_PAGE);

  G_OBJECT_CLASS (rfl_chat_page_parent_class)->dispose (object);
}

static void
rfl_chat_page_finalize (GObject *object)
{
  RflChatPage *self = RFL_CHAT_PAGE (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->list_cancellable);
  g_clear_object (&self->messages_cancellable);
  g_clear_pointer (&self->identities, g_ptr_array_unref);
  g_clear_object (&self->conversations);
  g_clear_object (&self->messages);
  g_clear_object (&self->models);
  g_clear_pointer (&self->turns, g_hash_table_unref);
  g_free (self->model);
  g_free (self->title);
  g_free (self->greeting);

  G_OBJECT_CLASS (rfl_chat_page_parent_class)->finalize (object);
}

static void
rfl_chat_page_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RflChatPage *self = RFL_CHAT_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    case PROP_READY:
      g_value_set_boolean (value, self->ready);
      break;

    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;

    case PROP_CONVERSATION_ID:
      g_value_set_int64 (value, self->conversation_id);
      break;

    case PROP_STREAMING:
      g_value_set_boolean (value, rfl_chat_page_get_streaming (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_chat_page_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RflChatPage *self = RFL_CHAT_PAGE (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      rfl_chat_page_set_settings (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_chat_page_class_init (RflChatPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_chat_page_dispose;
  object_class->finalize = rfl_chat_page_finalize;
  object_class->get_property = rfl_chat_page_get_property;
  object_class->set_property = rfl_chat_page_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CONVERSATION_ID] =
    g_param_spec_int64 ("conversation-id", NULL, NULL, -1, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STREAMING] =
    g_param_spec_boolean ("streaming", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_RETRY_SERVICE] =
    g_signal_new ("retry-service", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "chat.new-chat", NULL, new_chat_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.rename", NULL, rename_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.stop", NULL, stop_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.retry", NULL, regenerate_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.regenerate", NULL, regenerate_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.undo-delete", "x", undo_delete_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.toggle-memories", NULL,
                                   toggle_memories_action_cb);
  gtk_widget_class_install_action (widget_class, "chat.retry-service", NULL,
                                   retry_service_action_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "chat.stop", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F2, 0, "chat.rename", NULL);

  g_type_ensure (RFL_TYPE_CHAT_COMPOSER);
  g_type_ensure (RFL_TYPE_CHAT_MEMORIES_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-chat-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, state_stack);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, failed_page);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, flap);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, conversation_stack);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, messages_spinner);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, message_scroller);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, message_view);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, composer);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, memories_panel);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, header_box);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, model_dropdown);
  gtk_widget_class_bind_template_child (widget_class, RflChatPage, memories_button);
  gtk_widget_class_bind_template_callback_full (widget_class, "composer_send_cb",
                                                G_CALLBACK (_rfl_chat_page_send));
  gtk_widget_class_bind_template_callback_full (widget_class, "composer_stop_cb",
                                                G_CALLBACK (_rfl_chat_page_stop));
}

static guint
int64_hash (gconstpointer key)
{
  return g_int64_hash (key);
}

static void
rfl_chat_page_init (RflChatPage *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkAdjustment *adjustment;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->conversations = g_list_store_new (RFL_TYPE_CHAT_CONVERSATION_ITEM);
  self->messages = g_list_store_new (RFL_TYPE_CHAT_MESSAGE_ITEM);
  self->models = gtk_string_list_new (NULL);
  self->turns = g_hash_table_new_full (int64_hash, g_int64_equal, NULL,
                                       (GDestroyNotify) _rfl_chat_turn_unref);
  self->cancellable = g_cancellable_new ();
  self->list_cancellable = g_cancellable_new ();
  self->messages_cancellable = g_cancellable_new ();
  self->title = g_strdup (_("New Chat"));

  g_signal_connect (factory, "setup", G_CALLBACK (setup_message_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_message_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_message_cb), NULL);
  gtk_list_view_set_factory (self->message_view, factory);
  {
    g_autoptr(GtkSelectionModel) selection =
      GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->messages))));

    gtk_list_view_set_model (self->message_view, selection);
  }

  adjustment = gtk_scrolled_window_get_vadjustment (self->message_scroller);
  g_signal_connect_object (adjustment, "value-changed",
                           G_CALLBACK (adjustment_value_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adjustment, "notify::upper",
                           G_CALLBACK (adjustment_size_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adjustment, "notify::page-size",
                           G_CALLBACK (adjustment_size_changed_cb), self, G_CONNECT_SWAPPED);
  self->stick_to_bottom = TRUE;

  gtk_drop_down_set_model (self->model_dropdown, G_LIST_MODEL (self->models));
  {
    g_autoptr(GtkListItemFactory) button_factory = new_model_factory (TRUE);
    g_autoptr(GtkListItemFactory) list_factory = new_model_factory (FALSE);

    gtk_drop_down_set_factory (self->model_dropdown, button_factory);
    gtk_drop_down_set_list_factory (self->model_dropdown, list_factory);
  }
  g_signal_connect_object (self->model_dropdown, "notify::selected",
                           G_CALLBACK (model_selected_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_set_visible (GTK_WIDGET (self->model_dropdown), FALSE);

  g_signal_connect_object (self->flap, "notify::reveal-flap",
                           G_CALLBACK (flap_revealed_cb), self, G_CONNECT_SWAPPED);

  set_state (self, "loading");
  update_actions (self);
}

GtkWidget *
rfl_chat_page_new (GSettings *settings)
{
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  return g_object_new (RFL_TYPE_CHAT_PAGE, "settings", settings, NULL);
}

void
rfl_chat_page_set_settings (RflChatPage *self,
                            GSettings   *settings)
{
  g_return_if_fail (RFL_IS_CHAT_PAGE (self));
  g_return_if_fail (settings == NULL || G_IS_SETTINGS (settings));

  if (self->settings == settings)
    return;

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_set_object (&self->settings, settings);
  if (settings != NULL)
    g_signal_connect_object (settings, "changed", G_CALLBACK (settings_changed_cb), self,
                             G_CONNECT_SWAPPED);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SETTINGS]);
}

void
rfl_chat_page_set_service (RflChatPage *self,
                           RflService  *service)
{
  g_return_if_fail (RFL_IS_CHAT_PAGE (self));
  g_return_if_fail (service == NULL || RFL_IS_SERVICE (service));
  g_return_if_fail (self->settings != NULL);

  if (service != NULL && service == self->service)
    {
      /* The provider may have changed: its models did too. */
      load_models (self);
      return;
    }

  g_set_object (&self->service, service);
  rfl_chat_memories_panel_set_service (self->memories_panel, NULL, self->identity);

  if (service == NULL)
    {
      g_cancellable_cancel (self->cancellable);
      set_state (self, "loading");
      update_actions (self);
      return;
    }

  load_identities (self);
}

RflService *
rfl_chat_page_get_service (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), NULL);

  return self->service;
}

void
rfl_chat_page_set_service_error (RflChatPage  *self,
                                 const GError *error)
{
  g_return_if_fail (RFL_IS_CHAT_PAGE (self));
  g_return_if_fail (error != NULL);

  adw_status_page_set_description (self->failed_page, error->message);
  set_state (self, "failed");
  update_actions (self);
}

void
rfl_chat_page_set_sidebar (RflChatPage    *self,
                           RflChatSidebar *sidebar)
{
  g_return_if_fail (RFL_IS_CHAT_PAGE (self));
  g_return_if_fail (sidebar == NULL || RFL_IS_CHAT_SIDEBAR (sidebar));

  disconnect_sidebar (self);
  if (sidebar == NULL)
    return;

  self->sidebar = g_object_ref (sidebar);
  rfl_chat_sidebar_set_model (sidebar, G_LIST_MODEL (self->conversations));
  rfl_chat_sidebar_set_identities (sidebar, self->identities,
                                   self->identity.tenant_id, self->identity.user_id);
  gtk_widget_set_visible (GTK_WIDGET (sidebar), self->ready);

  g_signal_connect_swapped (sidebar, "conversation-activated",
                            G_CALLBACK (sidebar_activated_cb), self);
  g_signal_connect_swapped (sidebar, "new-chat", G_CALLBACK (sidebar_new_chat_cb), self);
  g_signal_connect_swapped (sidebar, "search-changed",
                            G_CALLBACK (sidebar_search_changed_cb), self);
  g_signal_connect_swapped (sidebar, "rename-conversation",
                            G_CALLBACK (sidebar_rename_cb), self);
  g_signal_connect_swapped (sidebar, "delete-conversation",
                            G_CALLBACK (sidebar_delete_cb), self);
  g_signal_connect_swapped (sidebar, "identity-chosen",
                            G_CALLBACK (sidebar_identity_chosen_cb), self);
}

GtkWidget *
rfl_chat_page_get_header_widget (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), NULL);

  return self->header_box;
}

void
rfl_chat_page_set_compact (RflChatPage *self,
                           gboolean     compact)
{
  g_return_if_fail (RFL_IS_CHAT_PAGE (self));

  self->compact = !!compact;
  gtk_widget_set_visible (GTK_WIDGET (self->model_dropdown),
                          !self->compact
                          && g_list_model_get_n_items (G_LIST_MODEL (self->models)) > 0);
}

gboolean
rfl_chat_page_get_ready (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), FALSE);

  return self->ready;
}

const char *
rfl_chat_page_get_title (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), NULL);

  return self->title;
}

gint64
rfl_chat_page_get_conversation_id (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), 0);

  return MAX (self->conversation_id, 0);
}

gboolean
rfl_chat_page_get_streaming (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), FALSE);

  return _rfl_chat_page_find_turn (self, self->conversation_id) != NULL;
}

void
rfl_chat_page_focus_search (RflChatPage *self)
{
  g_return_if_fail (RFL_IS_CHAT_PAGE (self));

  if (self->sidebar != NULL && self->ready)
    rfl_chat_sidebar_focus_search (self->sidebar);
}

GListModel *
rfl_chat_page_get_messages (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), NULL);

  return G_LIST_MODEL (self->messages);
}

GListModel *
rfl_chat_page_get_conversations (RflChatPage *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_PAGE (self), NULL);

  return G_LIST_MODEL (self->conversations);
}
