/* rfl-application.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-application.h"

#include <glib/gi18n.h>

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
};

G_DEFINE_FINAL_TYPE (RflApplication, rfl_application, ADW_TYPE_APPLICATION)

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

static void
wizard_finished_cb (RflApplication *self)
{
  RflWindow *window = find_main_window (self);

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

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = app_quit_cb },
  { .name = "about", .activate = app_about_cb },
  { .name = "preferences", .activate = app_preferences_cb },
  { .name = "wizard", .activate = app_wizard_cb },
};

static void
rfl_application_startup (GApplication *app)
{
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

  G_OBJECT_CLASS (rfl_application_parent_class)->dispose (object);
}

static void
rfl_application_finalize (GObject *object)
{
  RflApplication *self = RFL_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (rfl_application_parent_class)->finalize (object);
}

static void
rfl_application_class_init (RflApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = rfl_application_dispose;
  object_class->finalize = rfl_application_finalize;

  app_class->startup = rfl_application_startup;
  app_class->activate = rfl_application_activate;
  app_class->handle_local_options = rfl_application_handle_local_options;
}

static void
rfl_application_init (RflApplication *self)
{
  self->settings = g_settings_new (APP_ID);

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
