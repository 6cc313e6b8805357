/* rfl-application.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-application.h"

#include <glib/gi18n.h>

#include "core/rfl-paths.h"
#include "core/rfl-secrets.h"
#include "core/rfl-signing-key.h"
#include "llm/rfl-provider.h"
#include "service/rfl-service-http.h"
#include "rfl-preferences-window.h"
#include "rfl-window.h"
#include "rfl-wizard.h"

struct _RflApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;          /* owned */
  GtkWindow      *wizard;            /* borrowed, cleared on destroy */
  GtkWindow      *preferences;       /* borrowed, cleared on destroy */
  gboolean        wizard_requested;  /* --wizard on the command line */

  RflService     *service;           /* owned: the chat's, once open */
  GError         *service_error;     /* owned: why it could not open */
  GCancellable   *service_cancellable;  /* owned: opening and configuring */

  char           *http_status;       /* owned: what the preferences show */
  GCancellable   *http_cancellable;  /* owned: loading the signing key */
  gboolean        http_running;      /* the service serves HTTP for us */
};

G_DEFINE_FINAL_TYPE (RflApplication, rfl_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_HTTP_STATUS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Where the key that signs access tokens is kept when there is no keyring:
 * the same file `reflection serve` uses. */
#define SIGNING_KEY_FILE "jwt-signing-key"

static RflWindow *
find_main_window (RflApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self));
       l != NULL;
       l = l->next)
    {
      if (RFL_IS_WINDOW (l->data))
        return l->data;
    }

  return NULL;
}

static GtkWindow *
find_parent_window (RflApplication *self)
{
  RflWindow *main_window = find_main_window (self);

  if (main_window != NULL)
    return GTK_WINDOW (main_window);

  return gtk_application_get_active_window (GTK_APPLICATION (self));
}

static void
wizard_destroy_cb (RflApplication *self)
{
  self->wizard = NULL;
}

static void
preferences_destroy_cb (RflApplication *self)
{
  self->preferences = NULL;
}

/* The service ------------------------------------------------------------ */

static void
give_window_service (RflApplication *self,
                     RflWindow      *window)
{
  if (self->service != NULL)
    rfl_window_set_service (window, self->service);
  else if (self->service_error != NULL)
    rfl_window_set_service_error (window, self->service_error);
  else
    rfl_window_set_service (window, NULL);
}

static void
give_windows_service (RflApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    {
      if (RFL_IS_WINDOW (l->data))
        give_window_service (self, l->data);
    }
}

/* Every main window chats through the one service. */
static void
window_added_cb (RflApplication *self,
                 GtkWindow      *window)
{
  if (RFL_IS_WINDOW (window))
    give_window_service (self, RFL_WINDOW (window));
}

static void
apply_provider (RflApplication *self,
                const char     *api_key)
{
  g_autofree char *provider = g_settings_get_string (self->settings, "provider");
  g_autofree char *url = NULL;
  g_autofree char *model = g_settings_get_string (self->settings, "model");
  RflProviderConfig config = { 0 };
  RflProviderKind kind;

  if (self->service == NULL || !rfl_provider_kind_from_string (provider, &kind))
    return;

  url = g_settings_get_string (self->settings,
                               kind == RFL_PROVIDER_OLLAMA ? "ollama-url" : "provider-url");
  if (*url == '\0' && rfl_provider_kind_get_default_url (kind) != NULL)
    {
      g_free (url);
      url = g_strdup (rfl_provider_kind_get_default_url (kind));
    }

  config.kind = kind;
  config.url = url;
  config.api_key = api_key;
  config.model = *model != '\0' ? model : NULL;
  rfl_service_set_provider (self->service, &config);

  give_windows_service (self);
}

static void
lookup_key_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(RflApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *api_key = NULL;

  api_key = rfl_secrets_lookup_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Without a key the provider answers with its own error in the chat. */
  if (error != NULL)
    g_warning ("The API key could not be read from the keyring: %s", error->message);

  apply_provider (self, api_key);
}

/* The language model the service uses follows the settings, with the API
 * key from the keyring. */
static void
configure_provider (RflApplication *self)
{
  g_autofree char *provider = g_settings_get_string (self->settings, "provider");
  g_autofree char *url = NULL;
  RflProviderKind kind;

  if (self->service == NULL)
    return;

  if (!rfl_provider_kind_from_string (provider, &kind) || !rfl_provider_kind_needs_key (kind))
    {
      apply_provider (self, NULL);
      return;
    }

  url = g_settings_get_string (self->settings, "provider-url");
  if (*url == '\0' && rfl_provider_kind_get_default_url (kind) != NULL)
    {
      g_free (url);
      url = g_strdup (rfl_provider_kind_get_default_url (kind));
    }

  rfl_secrets_lookup_async (provider, url, self->service_cancellable,
                            lookup_key_cb, g_object_ref (self));
}

static void update_http (RflApplication *self);

static void
service_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(RflApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  RflService *service;

  service = rfl_service_new_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (service == NULL)
    {
      g_warning ("The chat service could not start: %s", error->message);
      self->service_error = g_steal_pointer (&error);
      give_windows_service (self);
      update_http (self);
      return;
    }

  self->service = service;
  configure_provider (self);
  update_http (self);
}

/* The HTTP service -------------------------------------------------------- */

static void
set_http_status (RflApplication *self,
                 const char     *status)
{
  if (g_strcmp0 (self->http_status, status) == 0)
    return;

  g_free (self->http_status);
  self->http_status = g_strdup (status);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HTTP_STATUS]);
}

/* Stops serving HTTP (blocking until the server is gone): before the
 * service shuts down, and before it serves again elsewhere. */
static void
stop_http (RflApplication *self)
{
  g_cancellable_cancel (self->http_cancellable);
  g_clear_object (&self->http_cancellable);

  if (self->http_running && self->service != NULL)
    rfl_service_stop_http (self->service);
  self->http_running = FALSE;
}

typedef struct
{
  RflSigningKey *key;
  gboolean       in_file;
} LoadedKey;

static void
loaded_key_free (LoadedKey *loaded)
{
  g_clear_pointer (&loaded->key, rfl_signing_key_unref);
  g_free (loaded);
}

/* The signing key from the keyring, else from a 0600 file in the data
 * folder. */
static void
load_key_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  const char *data_dir = task_data;
  g_autoptr(GError) keyring_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  LoadedKey *loaded = g_new0 (LoadedKey, 1);

  loaded->key = rfl_signing_key_load_or_create_keyring_sync (cancellable, &keyring_error);
  if (loaded->key == NULL)
    {
      if (g_error_matches (keyring_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          loaded_key_free (loaded);
          g_task_return_error (task, g_steal_pointer (&keyring_error));
          return;
        }

      g_info ("No keyring for the signing key, using a file: %s", keyring_error->message);
      path = g_build_filename (data_dir, SIGNING_KEY_FILE, NULL);
      loaded->key = rfl_signing_key_load_or_create_file (path, &error);
      loaded->in_file = TRUE;
      if (loaded->key == NULL)
        {
          loaded_key_free (loaded);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }

  g_task_return_pointer (task, loaded, (GDestroyNotify) loaded_key_free);
}

static void
key_loaded_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  RflApplication *self = RFL_APPLICATION (source);
  LoadedKey *loaded;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) port = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *url = NULL;
  g_autofree char *status = NULL;

  loaded = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->http_cancellable);
  if (loaded == NULL)
    {
      status = g_strdup_printf (_("Not running: the key that signs access tokens "
                                  "could not be loaded: %s"), error->message);
      set_http_status (self, status);
      return;
    }

  g_assert (self->service != NULL);
  bind = g_settings_get_string (self->settings, "server-bind");
  port = g_settings_get_value (self->settings, "server-port");
  if (!rfl_service_start_http (self->service, bind, g_variant_get_uint16 (port),
                               loaded->key, NULL, NULL, &error))
    {
      g_message ("The HTTP service could not start: %s", error->message);
      status = g_strdup_printf (_("Not running: %s"), error->message);
      set_http_status (self, status);
      loaded_key_free (loaded);
      return;
    }

  self->http_running = TRUE;
  url = rfl_service_dup_http_url (self->service);
  if (loaded->in_file)
    status = g_strdup_printf (_("Running at %s. No keyring is available, so the key "
                                "that signs access tokens is kept in a file in the "
                                "data folder."), url);
  else
    status = g_strdup_printf (_("Running at %s"), url);
  set_http_status (self, status);
  loaded_key_free (loaded);
}

/* Serves HTTP while server-enabled is on and the service is open, with
 * the address and port of the settings. */
static void
update_http (RflApplication *self)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *data_dir_setting = NULL;

  stop_http (self);

  if (!g_settings_get_boolean (self->settings, "server-enabled"))
    {
      set_http_status (self, _("Stopped"));
      return;
    }

  if (self->service == NULL)
    {
      if (self->service_error != NULL)
        set_http_status (self, _("Not running: the database could not be opened"));
      else if (!g_settings_get_boolean (self->settings, "setup-complete"))
        set_http_status (self, _("Starts once setup is complete"));
      else
        set_http_status (self, _("Starting…"));
      return;
    }

  set_http_status (self, _("Starting…"));
  data_dir_setting = g_settings_get_string (self->settings, "data-dir");
  self->http_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->http_cancellable, key_loaded_cb, NULL);
  g_task_set_source_tag (task, update_http);
  g_task_set_task_data (task, rfl_paths_dup_data_dir (data_dir_setting), g_free);
  g_task_run_in_thread (task, load_key_thread);
}

static void
stop_service (RflApplication *self)
{
  g_cancellable_cancel (self->service_cancellable);
  g_clear_object (&self->service_cancellable);
  g_clear_error (&self->service_error);

  /* HTTP stops before the service it runs on. */
  stop_http (self);
  if (self->service != NULL)
    {
      rfl_service_shutdown (self->service);
      g_clear_object (&self->service);
    }
}

/* Opens the database of the data folder in the service thread, once setup
 * made it; again when the wizard has run or the folder changed. */
static void
start_service (RflApplication *self)
{
  g_autofree char *data_dir_setting = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *path = NULL;

  stop_service (self);
  self->service_cancellable = g_cancellable_new ();

  if (!g_settings_get_boolean (self->settings, "setup-complete"))
    return;

  data_dir_setting = g_settings_get_string (self->settings, "data-dir");
  data_dir = rfl_paths_dup_data_dir (data_dir_setting);
  path = rfl_paths_dup_database_path (data_dir);

  give_windows_service (self);
  update_http (self);
  rfl_service_new_async (path, self->service_cancellable,
                         service_ready_cb, g_object_ref (self));
}

static void
settings_changed_cb (RflApplication *self,
                     const char     *key)
{
  if (g_str_equal (key, "setup-complete"))
    {
      if (self->service == NULL && g_settings_get_boolean (self->settings, "setup-complete"))
        start_service (self);
    }
  else if (g_str_equal (key, "data-dir"))
    {
      if (g_settings_get_boolean (self->settings, "setup-complete"))
        start_service (self);
    }
  else if (g_str_equal (key, "provider") || g_str_equal (key, "ollama-url")
           || g_str_equal (key, "provider-url") || g_str_equal (key, "model"))
    configure_provider (self);
  else if (g_str_equal (key, "server-enabled") || g_str_equal (key, "server-port")
           || g_str_equal (key, "server-bind"))
    update_http (self);
}

static void
wizard_finished_cb (RflApplication *self)
{
  RflWindow *window = find_main_window (self);

  /* Setup may have made a new database: the chat opens it afresh. */
  start_service (self);

  if (window != NULL)
    rfl_window_show_page (window, "chat");
}

void
rfl_application_show_wizard (RflApplication *self)
{
  g_return_if_fail (RFL_IS_APPLICATION (self));

  if (self->wizard == NULL)
    {
      GtkWindow *parent = find_parent_window (self);

      self->wizard = GTK_WINDOW (rfl_wizard_new (GTK_APPLICATION (self),
                                                 self->settings, "/"));
      g_signal_connect_object (self->wizard, "destroy",
                               G_CALLBACK (wizard_destroy_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (self->wizard, "finished",
                               G_CALLBACK (wizard_finished_cb), self,
                               G_CONNECT_SWAPPED);
      if (parent != NULL)
        {
          gtk_window_set_transient_for (self->wizard, parent);
          gtk_window_set_modal (self->wizard, TRUE);
        }
    }

  gtk_window_present (self->wizard);
}

static void
show_preferences (RflApplication *self)
{
  if (self->preferences == NULL)
    {
      GtkWindow *parent = find_parent_window (self);

      self->preferences =
        GTK_WINDOW (rfl_preferences_window_new (self->settings));
      gtk_window_set_application (self->preferences,
                                  GTK_APPLICATION (self));
      g_signal_connect_object (self->preferences, "destroy",
                               G_CALLBACK (preferences_destroy_cb), self,
                               G_CONNECT_SWAPPED);
      if (parent != NULL)
        {
          gtk_window_set_transient_for (self->preferences, parent);
          gtk_window_set_modal (self->preferences, TRUE);
        }
    }

  gtk_window_present (self->preferences);
}

GtkWindow *
rfl_application_new_about_window (GtkWindow *parent)
{
  const char *developers[] = { _("The Reflection authors"), NULL };

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  return g_object_new (ADW_TYPE_ABOUT_WINDOW,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       "application-name", _("Reflection"),
                       "application-icon", APP_ID,
                       "version", PACKAGE_VERSION,
                       "developer-name", _("The Reflection authors"),
                       "developers", developers,
                       "comments", _("Run a private AI companion on your own computer"),
                       "license-type", GTK_LICENSE_MIT_X11,
                       "website", "https://reflection-app.org/",
                       "issue-url", "https://reflection-app.org/issues",
                       "support-url", "https://reflection-app.org/help",
                       "copyright", _("© 2026 The Reflection authors"),
                       /* Translators: Replace "translator-credits" with your
                        * name and e-mail address, one translator a line. */
                       "translator-credits", _("translator-credits"),
                       NULL);
}

static void
app_quit_cb (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  RflApplication *self = user_data;
  g_autoptr(GList) windows = NULL;

  /* Closing each window lets the main window save its size first. */
  windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);

  g_application_quit (G_APPLICATION (self));
}

static void
app_about_cb (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  RflApplication *self = user_data;
  GtkWindow *about;

  about = rfl_application_new_about_window (find_parent_window (self));
  gtk_window_present (about);
}

static void
app_preferences_cb (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  show_preferences (RFL_APPLICATION (user_data));
}

static void
app_wizard_cb (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  rfl_application_show_wizard (RFL_APPLICATION (user_data));
}

static void
app_start_service_cb (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  start_service (RFL_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = app_quit_cb },
  { .name = "start-service", .activate = app_start_service_cb },
  { .name = "about", .activate = app_about_cb },
  { .name = "preferences", .activate = app_preferences_cb },
  { .name = "wizard", .activate = app_wizard_cb },
};

static void
rfl_application_startup (GApplication *app)
{
  RflApplication *self = RFL_APPLICATION (app);
  GtkApplication *gtk_app = GTK_APPLICATION (app);

  G_APPLICATION_CLASS (rfl_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app),
                                   app_actions, G_N_ELEMENTS (app_actions),
                                   app);

  gtk_application_set_accels_for_action (gtk_app, "app.quit",
                                         (const char *[]) { "<Control>q", NULL });
  gtk_application_set_accels_for_action (gtk_app, "app.preferences",
                                         (const char *[]) { "<Control>comma", NULL });
  gtk_application_set_accels_for_action (gtk_app, "window.close",
                                         (const char *[]) { "<Control>w", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.new-chat",
                                         (const char *[]) { "<Control>n", NULL });
  gtk_application_set_accels_for_action (gtk_app, "win.search-conversations",
                                         (const char *[]) { "<Control>k", NULL });

  g_signal_connect_object (self->settings, "changed",
                           G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "window-added", G_CALLBACK (window_added_cb), NULL);
  start_service (self);
}

static void
rfl_application_shutdown (GApplication *app)
{
  RflApplication *self = RFL_APPLICATION (app);

  /* Answers still streaming are kept as interrupted. */
  stop_service (self);

  G_APPLICATION_CLASS (rfl_application_parent_class)->shutdown (app);
}

static void
rfl_application_activate (GApplication *app)
{
  RflApplication *self = RFL_APPLICATION (app);
  RflWindow *window = find_main_window (self);

  if (window == NULL)
    window = rfl_window_new (GTK_APPLICATION (self), self->settings);

  gtk_window_present (GTK_WINDOW (window));

  if (self->wizard_requested
      || !g_settings_get_boolean (self->settings, "setup-complete"))
    {
      self->wizard_requested = FALSE;
      rfl_application_show_wizard (self);
    }
}

static int
rfl_application_handle_local_options (GApplication *app,
                                      GVariantDict *options)
{
  RflApplication *self = RFL_APPLICATION (app);
  g_autoptr(GError) error = NULL;

  if (!g_variant_dict_contains (options, "wizard"))
    return -1;

  if (!g_application_register (app, NULL, &error))
    {
      g_printerr ("reflection: %s\n", error->message);
      return 1;
    }

  /* A second launch asks the running instance to open the wizard; the
   * first one opens it after its window. */
  if (g_application_get_is_remote (app))
    g_action_group_activate_action (G_ACTION_GROUP (app), "wizard", NULL);
  else
    self->wizard_requested = TRUE;

  return -1;
}

static void
rfl_application_dispose (GObject *object)
{
  RflApplication *self = RFL_APPLICATION (object);

  self->wizard = NULL;
  self->preferences = NULL;
  stop_service (self);

  G_OBJECT_CLASS (rfl_application_parent_class)->dispose (object);
}

static void
rfl_application_finalize (GObject *object)
{
  RflApplication *self = RFL_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->http_status, g_free);

  G_OBJECT_CLASS (rfl_application_parent_class)->finalize (object);
}

static void
rfl_application_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  RflApplication *self = RFL_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_HTTP_STATUS:
      g_value_set_string (value, self->http_status);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_application_class_init (RflApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = rfl_application_dispose;
  object_class->finalize = rfl_application_finalize;
  object_class->get_property = rfl_application_get_property;

  app_class->startup = rfl_application_startup;
  app_class->shutdown = rfl_application_shutdown;
  app_class->activate = rfl_application_activate;
  app_class->handle_local_options = rfl_application_handle_local_options;

  /* "Running at http://127.0.0.1:8470", "Stopped" or why it is not
   * running, for the preferences. */
  properties[PROP_HTTP_STATUS] =
    g_param_spec_string ("http-status", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_application_init (RflApplication *self)
{
  self->settings = g_settings_new (APP_ID);
  self->http_status = g_strdup (_("Stopped"));

  g_application_add_main_option (G_APPLICATION (self), "wizard", 0,
                                 G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE,
                                 _("Open the setup wizard"), NULL);
}

RflApplication *
rfl_application_new (void)
{
  return g_object_new (RFL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", RESOURCE_PREFIX,
                       NULL);
}

GSettings *
rfl_application_get_settings (RflApplication *self)
{
  g_return_val_if_fail (RFL_IS_APPLICATION (self), NULL);

  return self->settings;
}

/* What the HTTP service is doing, as the preferences show it. */
const char *
rfl_application_get_http_status (RflApplication *self)
{
  g_return_val_if_fail (RFL_IS_APPLICATION (self), NULL);

  return self->http_status;
}
