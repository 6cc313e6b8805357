/* rfl-window.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-window.h"

#include <glib/gi18n.h>

#include "core/rfl-paths.h"
#include "core/rfl-use-case.h"
#include "llm/rfl-provider.h"
#include "rfl-admin-page.h"
#include "rfl-chat-page.h"
#include "rfl-chat-sidebar.h"
#include "store/rfl-database.h"

struct _RflWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;            /* owned */
  GCancellable         *count_cancellable;   /* owned */

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  AdwLeaflet           *leaflet;
  GtkListBox           *sidebar;
  RflChatSidebar       *chat_sidebar;
  GtkWidget            *content_box;
  AdwHeaderBar         *content_header;
  GtkWidget            *back_button;
  AdwWindowTitle       *content_title;
  GtkMenuButton        *primary_menu_button;
  AdwViewStack         *stack;
  GtkStack             *chat_stack;
  RflChatPage          *chat_page;
  AdwActionRow         *provider_row;
  AdwActionRow         *model_row;
  AdwActionRow         *use_case_row;
  GtkWidget            *wizard_button;
  AdwActionRow         *tenants_row;
  GtkStack             *administration_stack;
  RflAdminPage         *admin_page;
  GtkSpinner           *tenants_spinner;
};

G_DEFINE_FINAL_TYPE (RflWindow, rfl_window, ADW_TYPE_APPLICATION_WINDOW)

/* Below this width the sidebar folds away behind a back button. The
 * leaflet's own threshold would follow the widths of its children, which
 * change with the page title and with the title buttons that folding
 * moves, so the window decides. */
#define FOLD_THRESHOLD 720

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_provider_row (RflWindow *self)
{
  g_autofree char *provider = g_settings_get_string (self->settings, "provider");
  g_autofree char *url = NULL;
  g_autofree char *text = NULL;
  RflProviderKind kind;

  if (!rfl_provider_kind_from_string (provider, &kind))
    {
      adw_action_row_set_subtitle (self->provider_row, provider);
      return;
    }

  if (kind == RFL_PROVIDER_OLLAMA)
    url = g_settings_get_string (self->settings, "ollama-url");
  else
    url = g_settings_get_string (self->settings, "provider-url");

  if (*url == '\0' && rfl_provider_kind_get_default_url (kind) != NULL)
    {
      g_free (url);
      url = g_strdup (rfl_provider_kind_get_default_url (kind));
    }

  if (*url != '\0')
    /* Translators: "Ollama at http://127.0.0.1:11434" */
    text = g_strdup_printf (_("%s at %s"),
                            rfl_provider_kind_get_title (kind), url);
  else
    text = g_strdup (rfl_provider_kind_get_title (kind));

  adw_action_row_set_subtitle (self->provider_row, text);
}

static void
update_setup_rows (RflWindow *self)
{
  g_autofree char *model = g_settings_get_string (self->settings, "model");
  g_autofree char *use_case_id = g_settings_get_string (self->settings,
                                                        "use-case");
  RflUseCase use_case;

  update_provider_row (self);

  if (*model != '\0')
    adw_action_row_set_subtitle (self->model_row, model);
  else
    adw_action_row_set_subtitle (self->model_row, _("None chosen yet"));

  if (rfl_use_case_from_string (use_case_id, &use_case))
    adw_action_row_set_subtitle (self->use_case_row,
                                 rfl_use_case_get_title (use_case));
  else
    adw_action_row_set_subtitle (self->use_case_row, use_case_id);
}

/* Runs on a worker thread: the database connection is opened, used and
 * closed here. A missing file is reported as -1 and never created. */
static void
count_tenants_worker (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(RflDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  guint count;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_task_return_int (task, -1);
      return;
    }

  database = rfl_database_open (path, &error);
  if (database == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  count = rfl_database_count_tenants (database, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_int (task, count);
}

static void
count_tenants_cb (GObject      *source_object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  RflWindow *self = RFL_WINDOW (source_object);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gssize count;

  count = g_task_propagate_int (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  gtk_spinner_stop (self->tenants_spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->tenants_spinner), FALSE);

  if (error != NULL)
    text = g_strdup_printf (_("The database could not be read: %s"),
                            error->message);
  else if (count < 0)
    text = g_strdup (_("No database yet: the setup wizard creates it"));
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%u tenant in the database",
                                         "%u tenants in the database",
                                         (gulong) count),
                            (guint) count);

  adw_action_row_set_subtitle (self->tenants_row, text);
}

static void
refresh_tenant_count (RflWindow *self)
{
  g_autofree char *data_dir_setting = NULL;
  g_autofree char *data_dir = NULL;
  g_autoptr(GTask) task = NULL;

  g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);
  self->count_cancellable = g_cancellable_new ();

  data_dir_setting = g_settings_get_string (self->settings, "data-dir");
  data_dir = rfl_paths_dup_data_dir (data_dir_setting);

  adw_action_row_set_subtitle (self->tenants_row, _("Counting…"));
  gtk_widget_set_visible (GTK_WIDGET (self->tenants_spinner), TRUE);
  gtk_spinner_start (self->tenants_spinner);

  task = g_task_new (self, self->count_cancellable, count_tenants_cb, NULL);
  g_task_set_source_tag (task, refresh_tenant_count);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_set_task_data (task, rfl_paths_dup_database_path (data_dir), g_free);
  g_task_run_in_thread (task, count_tenants_worker);
}

/* The chat needs setup first; until then its page says so. */
static void
update_chat_stack (RflWindow *self)
{
  gboolean complete = g_settings_get_boolean (self->settings, "setup-complete");

  gtk_stack_set_visible_child_name (self->chat_stack, complete ? "chat" : "setup");
}

/* The chat page shows its conversation's title, and its controls, in the
 * content's header while it is visible. */
static void
update_content_header (RflWindow *self)
{
  AdwViewStackPage *page;
  gboolean chatting;

  page = adw_view_stack_get_page (self->stack,
                                  adw_view_stack_get_visible_child (self->stack));
  chatting = g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "chat") == 0
             && g_str_equal (gtk_stack_get_visible_child_name (self->chat_stack), "chat")
             && rfl_chat_page_get_ready (self->chat_page);

  if (chatting)
    adw_window_title_set_title (self->content_title,
                                rfl_chat_page_get_title (self->chat_page));
  else
    adw_window_title_set_title (self->content_title,
                                adw_view_stack_page_get_title (page));

  gtk_widget_set_visible (rfl_chat_page_get_header_widget (self->chat_page), chatting);
  rfl_chat_page_set_compact (self->chat_page, adw_leaflet_get_folded (self->leaflet));
}

static void
settings_changed_cb (RflWindow  *self,
                     const char *key)
{
  if (g_str_equal (key, "setup-complete"))
    {
      update_chat_stack (self);
      update_content_header (self);
    }

  if (g_str_equal (key, "setup-complete") || g_str_equal (key, "data-dir"))
    refresh_tenant_count (self);
  else if (g_str_equal (key, "provider") || g_str_equal (key, "ollama-url")
           || g_str_equal (key, "provider-url") || g_str_equal (key, "model")
           || g_str_equal (key, "use-case"))
    update_setup_rows (self);
}

static GtkListBoxRow *
find_sidebar_row (RflWindow  *self,
                  const char *name)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LIST_BOX_ROW (child)
          && g_strcmp0 (gtk_widget_get_name (child), name) == 0)
        return GTK_LIST_BOX_ROW (child);
    }

  return NULL;
}

static void
select_page (RflWindow  *self,
             const char *name)
{
  GtkListBoxRow *row = find_sidebar_row (self, name);

  g_return_if_fail (row != NULL);

  gtk_list_box_select_row (self->sidebar, row);
}

static void
sidebar_row_selected_cb (RflWindow     *self,
                         GtkListBoxRow *row)
{
  const char *name;

  /* No row is selected while a conversation is: it is highlighted in the
   * chat's part of the sidebar instead. */
  if (row == NULL)
    return;

  name = gtk_widget_get_name (GTK_WIDGET (row));
  adw_view_stack_set_visible_child_name (self->stack, name);

  if (g_str_equal (name, "chat"))
    {
      gint64 id = rfl_chat_page_get_conversation_id (self->chat_page);

      if (id != 0 && rfl_chat_page_get_ready (self->chat_page))
        {
          rfl_chat_sidebar_select (self->chat_sidebar, id);
          gtk_list_box_unselect_all (self->sidebar);
        }
    }
  else
    rfl_chat_sidebar_select (self->chat_sidebar, 0);

  update_content_header (self);

  if (g_str_equal (name, "administration"))
    refresh_tenant_count (self);
}

/* A conversation chosen in the sidebar opens the chat. */
static void
show_chat (RflWindow *self)
{
  adw_view_stack_set_visible_child_name (self->stack, "chat");

  if (rfl_chat_page_get_conversation_id (self->chat_page) != 0)
    gtk_list_box_unselect_all (self->sidebar);
  else
    select_page (self, "chat");

  update_content_header (self);
}

static void
chat_sidebar_activated_cb (RflWindow *self)
{
  show_chat (self);
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

static void
chat_conversation_changed_cb (RflWindow *self)
{
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "chat") == 0)
    show_chat (self);
}

/* A double click on the conversation's title renames it. */
static void
title_pressed_cb (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  RflWindow       *self)
{
  if (n_press != 2
      || g_strcmp0 (adw_view_stack_get_visible_child_name (self->stack), "chat") != 0
      || rfl_chat_page_get_conversation_id (self->chat_page) == 0)
    return;

  gtk_widget_activate_action (GTK_WIDGET (self->chat_page), "chat.rename", NULL);
}

static void
chat_retry_service_cb (RflWindow *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "app.start-service", NULL);
}

static void
new_chat_action_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  RflWindow *self = user_data;

  if (!rfl_chat_page_get_ready (self->chat_page))
    return;

  rfl_chat_page_open_conversation (self->chat_page, 0);
  show_chat (self);
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

static void
search_conversations_action_cb (GSimpleAction *action,
                                GVariant      *parameter,
                                gpointer       user_data)
{
  RflWindow *self = user_data;

  if (!rfl_chat_page_get_ready (self->chat_page))
    return;

  adw_leaflet_set_visible_child (self->leaflet,
                                 gtk_widget_get_parent (GTK_WIDGET (self->chat_sidebar)));
  rfl_chat_page_focus_search (self->chat_page);
}

static const GActionEntry window_actions[] = {
  { .name = "new-chat", .activate = new_chat_action_cb },
  { .name = "search-conversations", .activate = search_conversations_action_cb },
};

static void
sidebar_row_activated_cb (RflWindow     *self,
                          GtkListBoxRow *row)
{
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

static void
back_button_clicked_cb (RflWindow *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static gboolean
rfl_window_close_request (GtkWindow *window)
{
  RflWindow *self = RFL_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);

  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (window));
  g_settings_apply (self->settings);

  return GTK_WINDOW_CLASS (rfl_window_parent_class)->close_request (window);
}

static void
rfl_window_size_allocate (GtkWidget *widget,
                          int        width,
                          int        height,
                          int        baseline)
{
  RflWindow *self = RFL_WINDOW (widget);

  adw_leaflet_set_can_unfold (self->leaflet, width >= FOLD_THRESHOLD);

  GTK_WIDGET_CLASS (rfl_window_parent_class)->size_allocate (widget, width,
                                                             height, baseline);
}

/* For tests/bench/startup.sh: the wall-clock time at which the first frame
 * was painted, so the script can measure start-up from before exec. */
static void
first_frame_painted_cb (GdkFrameClock *clock,
                        RflWindow     *self)
{
  g_printerr ("RFL_FIRST_FRAME_REALTIME_US=%" G_GINT64_FORMAT "\n",
              g_get_real_time ());
  g_signal_handlers_disconnect_by_func (clock, first_frame_painted_cb, self);
}

static void
report_first_frame_cb (GtkWidget *widget)
{
  g_signal_connect_object (gtk_widget_get_frame_clock (widget), "after-paint",
                           G_CALLBACK (first_frame_painted_cb), widget, 0);
}

static void
rfl_window_constructed (GObject *object)
{
  RflWindow *self = RFL_WINDOW (object);
  GtkGesture *gesture;

  G_OBJECT_CLASS (rfl_window_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  g_settings_bind (self->settings, "setup-complete",
                   self->wizard_button, "visible",
                   G_SETTINGS_BIND_GET | G_SETTINGS_BIND_INVERT_BOOLEAN);
  g_signal_connect_object (self->settings, "changed",
                           G_CALLBACK (settings_changed_cb), self,
                           G_CONNECT_SWAPPED);

  rfl_chat_page_set_settings (self->chat_page, self->settings);
  rfl_chat_page_set_sidebar (self->chat_page, self->chat_sidebar);
  adw_header_bar_pack_end (self->content_header,
                           rfl_chat_page_get_header_widget (self->chat_page));
  g_signal_connect_object (self->chat_sidebar, "conversation-activated",
                           G_CALLBACK (chat_sidebar_activated_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->chat_sidebar, "new-chat",
                           G_CALLBACK (chat_sidebar_activated_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->chat_page, "notify::conversation-id",
                           G_CALLBACK (chat_conversation_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->chat_page, "notify::title",
                           G_CALLBACK (update_content_header), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->chat_page, "notify::ready",
                           G_CALLBACK (update_content_header), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->leaflet, "notify::folded",
                           G_CALLBACK (update_content_header), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->chat_page, "retry-service",
                           G_CALLBACK (chat_retry_service_cb), self,
                           G_CONNECT_SWAPPED);
  g_action_map_add_action_entries (G_ACTION_MAP (self), window_actions,
                                   G_N_ELEMENTS (window_actions), self);

  gesture = gtk_gesture_click_new ();
  g_signal_connect (gesture, "pressed", G_CALLBACK (title_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->content_title), GTK_EVENT_CONTROLLER (gesture));

  update_setup_rows (self);
  update_chat_stack (self);
  select_page (self, "chat");
  update_content_header (self);
  refresh_tenant_count (self);

  if (g_getenv ("RFL_REPORT_FIRST_FRAME") != NULL)
    g_signal_connect (self, "map", G_CALLBACK (report_first_frame_cb), NULL);
}

static void
rfl_window_dispose (GObject *object)
{
  RflWindow *self = RFL_WINDOW (object);

  g_cancellable_cancel (self->count_cancellable);
  g_clear_object (&self->count_cancellable);

  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_WINDOW);

  G_OBJECT_CLASS (rfl_window_parent_class)->dispose (object);
}

static void
rfl_window_finalize (GObject *object)
{
  RflWindow *self = RFL_WINDOW (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (rfl_window_parent_class)->finalize (object);
}

static void
rfl_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  RflWindow *self = RFL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_window_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  RflWindow *self = RFL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_window_class_init (RflWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = rfl_window_constructed;
  object_class->dispose = rfl_window_dispose;
  object_class->finalize = rfl_window_finalize;
  object_class->get_property = rfl_window_get_property;
  object_class->set_property = rfl_window_set_property;

  widget_class->size_allocate = rfl_window_size_allocate;

  window_class->close_request = rfl_window_close_request;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (RFL_TYPE_ADMIN_PAGE);
  g_type_ensure (RFL_TYPE_CHAT_PAGE);
  g_type_ensure (RFL_TYPE_CHAT_SIDEBAR);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RflWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, chat_sidebar);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, content_header);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, chat_stack);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, chat_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, provider_row);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, model_row);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, use_case_row);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, wizard_button);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, tenants_row);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, administration_stack);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, admin_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, tenants_spinner);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_button_clicked_cb);
}

static void
rfl_window_init (RflWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

RflWindow *
rfl_window_new (GtkApplication *application,
                GSettings      *settings)
{
  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (RFL_TYPE_WINDOW,
                       "application", application,
                       "settings", settings,
                       NULL);
}

void
rfl_window_show_page (RflWindow  *self,
                      const char *name)
{
  g_return_if_fail (RFL_IS_WINDOW (self));
  g_return_if_fail (name != NULL);

  select_page (self, name);
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

const char *
rfl_window_get_page (RflWindow *self)
{
  g_return_val_if_fail (RFL_IS_WINDOW (self), NULL);

  return adw_view_stack_get_visible_child_name (self->stack);
}

void
rfl_window_set_service (RflWindow  *self,
                        RflService *service)
{
  g_return_if_fail (RFL_IS_WINDOW (self));
  g_return_if_fail (service == NULL || RFL_IS_SERVICE (service));

  rfl_chat_page_set_service (self->chat_page, service);

  /* The console acts as the current user; without the service the page
   * keeps showing the tenant count. */
  if (service != NULL)
    rfl_admin_page_set_service (self->admin_page, service, (RflIdentity) {
      g_settings_get_int64 (self->settings, "current-tenant-id"),
      g_settings_get_int64 (self->settings, "current-user-id") });
  gtk_stack_set_visible_child_name (self->administration_stack,
                                    service != NULL ? "console" : "status");
}

void
rfl_window_set_service_error (RflWindow    *self,
                              const GError *error)
{
  g_return_if_fail (RFL_IS_WINDOW (self));
  g_return_if_fail (error != NULL);

  rfl_chat_page_set_service_error (self->chat_page, error);
}

RflChatPage *
rfl_window_get_chat_page (RflWindow *self)
{
  g_return_val_if_fail (RFL_IS_WINDOW (self), NULL);

  return self->chat_page;
}

void
rfl_window_add_toast (RflWindow *self,
                      AdwToast  *toast)
{
  g_return_if_fail (RFL_IS_WINDOW (self));
  g_return_if_fail (ADW_IS_TOAST (toast));

  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}
