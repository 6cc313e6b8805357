/* test-window.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>
#include <sys/wait.h>

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib/gstdio.h>

#include "core/rfl-paths.h"
#include "store/rfl-database.h"
#include "ui/rfl-application.h"
#include "ui/rfl-preferences-window.h"
#include "ui/rfl-window.h"

/* A fresh in-memory settings store for each test. */
static GSettings *
new_settings (void)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();

  return g_settings_new_with_backend (APP_ID, backend);
}

static gpointer
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);
  return child;
}

static void
assert_setting (GSettings  *settings,
                const char *key,
                const char *expected)
{
  g_autofree char *value = g_settings_get_string (settings, key);

  g_assert_cmpstr (value, ==, expected);
}

static void
spin (guint milliseconds)
{
  gint64 end = g_get_monotonic_time () + milliseconds * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (G_TIME_SPAN_MILLISECOND);
    }
}

/* Runs the main loop until the subtitle of @row contains @needle. */
static gboolean
wait_for_subtitle (AdwActionRow *row,
                   const char   *needle)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (g_get_monotonic_time () < deadline)
    {
      const char *subtitle = adw_action_row_get_subtitle (row);

      if (subtitle != NULL && strstr (subtitle, needle) != NULL)
        return TRUE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (G_TIME_SPAN_MILLISECOND);
    }

  g_test_message ("subtitle is “%s”, expected “%s”",
                  adw_action_row_get_subtitle (row), needle);
  return FALSE;
}

static RflWindow *
show_window (GSettings *settings)
{
  RflWindow *window = rfl_window_new (NULL, settings);

  gtk_window_present (GTK_WINDOW (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));

  return window;
}

static void
test_size_restored (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflWindow *window;
  int width, height;

  g_settings_set_int (settings, "window-width", 900);
  g_settings_set_int (settings, "window-height", 640);

  window = rfl_window_new (NULL, settings);
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 900);
  g_assert_cmpint (height, ==, 640);
  g_assert_false (gtk_window_is_maximized (GTK_WINDOW (window)));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_size_saved (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflWindow *window = show_window (settings);

  gtk_window_set_default_size (GTK_WINDOW (window), 1010, 650);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));

  /* Settings change only when the window closes. */
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 1000);

  gtk_window_close (GTK_WINDOW (window));
  spin (50);

  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 1010);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 650);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
}

static GtkListBoxRow *
find_row (GtkListBox *sidebar,
          const char *name)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (sidebar));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (g_strcmp0 (gtk_widget_get_name (child), name) == 0)
        return GTK_LIST_BOX_ROW (child);
    }

  return NULL;
}

static void
test_sidebar_switches_pages (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflWindow *window = show_window (settings);
  GtkListBox *sidebar = template_child (window, RFL_TYPE_WINDOW, "sidebar");
  AdwWindowTitle *title = template_child (window, RFL_TYPE_WINDOW, "content_title");
  const struct { const char *name; const char *title; } pages[] = {
    { "administration", "Administration" },
    { "preferences", "Preferences" },
    { "chat", "Chat" },
  };

  g_assert_cmpstr (rfl_window_get_page (window), ==, "chat");
  g_assert_cmpstr (adw_window_title_get_title (title), ==, "Chat");

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      GtkListBoxRow *row = find_row (sidebar, pages[i].name);

      g_assert_nonnull (row);
      gtk_list_box_select_row (sidebar, row);
      g_assert_cmpstr (rfl_window_get_page (window), ==, pages[i].name);
      g_assert_cmpstr (adw_window_title_get_title (title), ==, pages[i].title);
    }

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_show_page_selects_row (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflWindow *window = show_window (settings);
  GtkListBox *sidebar = template_child (window, RFL_TYPE_WINDOW, "sidebar");
  AdwLeaflet *leaflet = template_child (window, RFL_TYPE_WINDOW, "leaflet");
  GtkWidget *content = template_child (window, RFL_TYPE_WINDOW, "content_box");
  GtkListBoxRow *selected;

  rfl_window_show_page (window, "administration");
  g_assert_cmpstr (rfl_window_get_page (window), ==, "administration");
  selected = gtk_list_box_get_selected_row (sidebar);
  g_assert_nonnull (selected);
  g_assert_cmpstr (gtk_widget_get_name (GTK_WIDGET (selected)), ==, "administration");
  g_assert_true (adw_leaflet_get_visible_child (leaflet) == content);

  rfl_window_show_page (window, "preferences");
  g_assert_cmpstr (rfl_window_get_page (window), ==, "preferences");
  selected = gtk_list_box_get_selected_row (sidebar);
  g_assert_cmpstr (gtk_widget_get_name (GTK_WIDGET (selected)), ==, "preferences");

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_folds_when_narrow (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflWindow *window;
  AdwLeaflet *leaflet;
  GtkWidget *back;

  g_settings_set_int (settings, "window-width", 1000);
  window = show_window (settings);
  leaflet = template_child (window, RFL_TYPE_WINDOW, "leaflet");
  back = template_child (window, RFL_TYPE_WINDOW, "back_button");
  g_assert_false (adw_leaflet_get_folded (leaflet));
  g_assert_false (gtk_widget_get_visible (back));

  gtk_window_set_default_size (GTK_WINDOW (window), 600, 600);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  spin (100);
  g_assert_true (adw_leaflet_get_folded (leaflet));
  g_assert_true (gtk_widget_get_visible (back));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_chat_page_shows_setup (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflWindow *window;
  AdwActionRow *provider_row, *model_row, *use_case_row;
  GtkWidget *wizard_button;

  g_settings_set_string (settings, "ollama-url", "http://10.0.0.5:11434");
  g_settings_set_string (settings, "model", "qwen2.5:7b");
  g_settings_set_string (settings, "use-case", "privacy");

  window = show_window (settings);
  provider_row = template_child (window, RFL_TYPE_WINDOW, "provider_row");
  model_row = template_child (window, RFL_TYPE_WINDOW, "model_row");
  use_case_row = template_child (window, RFL_TYPE_WINDOW, "use_case_row");
  wizard_button = template_child (window, RFL_TYPE_WINDOW, "wizard_button");

  g_assert_cmpstr (adw_action_row_get_subtitle (provider_row), ==,
                   "Ollama at http://10.0.0.5:11434");
  g_assert_cmpstr (adw_action_row_get_subtitle (model_row), ==, "qwen2.5:7b");
  g_assert_cmpstr (adw_action_row_get_subtitle (use_case_row), ==, "Privacy");
  g_assert_true (gtk_widget_get_visible (wizard_button));

  g_settings_set_string (settings, "model", "");
  g_assert_cmpstr (adw_action_row_get_subtitle (model_row), ==, "None chosen yet");

  g_settings_set_boolean (settings, "setup-complete", TRUE);
  g_assert_false (gtk_widget_get_visible (wizard_button));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_tenant_count_without_database (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  g_autofree char *data_dir = rfl_paths_dup_data_dir (NULL);
  g_autofree char *path = rfl_paths_dup_database_path (data_dir);
  RflWindow *window = show_window (settings);
  AdwActionRow *row = template_child (window, RFL_TYPE_WINDOW, "tenants_row");

  g_assert_true (wait_for_subtitle (row, "No database yet"));
  /* Looking does not create the database. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_tenant_count_read (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "elsewhere", NULL);
  g_autofree char *path = rfl_paths_dup_database_path (data_dir);
  g_autoptr(RflDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  RflWindow *window;
  AdwActionRow *row;

  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);
  database = rfl_database_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rfl_database_create_tenant (database, "Riverside Clinic",
                                               "healthcare", &error), >, 0);
  g_assert_no_error (error);
  g_assert_cmpint (rfl_database_create_tenant (database, "Harbour Logistics",
                                               "business", &error), >, 0);
  g_assert_no_error (error);
  g_clear_object (&database);

  g_settings_set_string (settings, "data-dir", data_dir);
  window = show_window (settings);
  row = template_child (window, RFL_TYPE_WINDOW, "tenants_row");
  g_assert_true (wait_for_subtitle (row, "2 tenants in the database"));

  /* Pointing at another folder counts again. */
  g_settings_set_string (settings, "data-dir", "");
  g_assert_true (wait_for_subtitle (row, "No database yet"));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_application_actions (void)
{
  g_autoptr(RflApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) accels = NULL;
  const char *actions[] = { "quit", "about", "preferences", "wizard" };
  RflWindow *window;

  app = g_object_new (RFL_TYPE_APPLICATION,
                      "application-id", APP_ID,
                      "flags", G_APPLICATION_NON_UNIQUE,
                      "resource-base-path", RESOURCE_PREFIX,
                      NULL);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), actions[i]));

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_assert_cmpstr (accels[0], ==, "<Control>q");
  g_clear_pointer (&accels, g_strfreev);
  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.preferences");
  g_assert_cmpstr (accels[0], ==, "<Control>comma");

  g_assert_nonnull (rfl_application_get_settings (app));

  /* The shortcuts window comes from the resource base path. */
  window = rfl_window_new (GTK_APPLICATION (app), rfl_application_get_settings (app));
  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_about_window (void)
{
  GtkWindow *about = rfl_application_new_about_window (NULL);

  g_assert_true (ADW_IS_ABOUT_WINDOW (about));
  g_assert_cmpstr (adw_about_window_get_version (ADW_ABOUT_WINDOW (about)), ==, PACKAGE_VERSION);
  g_assert_cmpint (adw_about_window_get_license_type (ADW_ABOUT_WINDOW (about)), ==,
                   GTK_LICENSE_MIT_X11);
  g_assert_cmpstr (adw_about_window_get_application_icon (ADW_ABOUT_WINDOW (about)), ==, APP_ID);
  gtk_window_destroy (about);
}

static RflPreferencesWindow *
show_preferences (GSettings *settings)
{
  RflPreferencesWindow *preferences = rfl_preferences_window_new (settings);

  gtk_window_present (GTK_WINDOW (preferences));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (preferences));

  return preferences;
}

static void
test_preferences_opens (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflPreferencesWindow *preferences = show_preferences (settings);
  AdwPreferencesWindow *window = ADW_PREFERENCES_WINDOW (preferences);
  AdwActionRow *data_dir_row = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                               "data_dir_row");
  g_autofree char *data_dir = rfl_paths_dup_data_dir (NULL);

  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (preferences)));
  g_assert_cmpstr (adw_preferences_window_get_visible_page_name (window), ==, "general");
  g_assert_cmpstr (adw_action_row_get_subtitle (data_dir_row), ==, data_dir);

  adw_preferences_window_set_visible_page_name (window, "provider");
  g_assert_cmpstr (adw_preferences_window_get_visible_page_name (window), ==, "provider");
  adw_preferences_window_set_visible_page_name (window, "service");
  g_assert_cmpstr (adw_preferences_window_get_visible_page_name (window), ==, "service");

  gtk_window_destroy (GTK_WINDOW (preferences));
}

static void
test_preferences_bindings (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflPreferencesWindow *preferences = show_preferences (settings);
  AdwComboRow *use_case = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                          "use_case_row");
  AdwComboRow *redaction = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                           "redaction_row");
  AdwComboRow *provider = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                          "provider_row");
  GtkSpinButton *retention = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                             "retention_spin");
  GtkSpinButton *port = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                        "port_spin");
  GtkSwitch *local_only = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                          "local_only_switch");
  GtkWidget *ollama_url = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                          "ollama_url_row");
  GtkWidget *provider_url = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                            "provider_url_row");
  g_autoptr(GVariant) port_value = NULL;

  /* Defaults: custom, standard, ollama. */
  g_assert_cmpuint (adw_combo_row_get_selected (use_case), ==, 3);
  g_assert_cmpuint (adw_combo_row_get_selected (redaction), ==, 1);
  g_assert_cmpuint (adw_combo_row_get_selected (provider), ==, 0);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (retention), ==, 365);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (port), ==, 8470);

  g_settings_set_string (settings, "use-case", "privacy");
  g_assert_cmpuint (adw_combo_row_get_selected (use_case), ==, 2);
  adw_combo_row_set_selected (use_case, 0);
  assert_setting (settings, "use-case", "healthcare");

  adw_combo_row_set_selected (redaction, 2);
  g_assert_cmpint (g_settings_get_enum (settings, "pii-redaction"), ==, 2);

  gtk_switch_set_active (local_only, TRUE);
  g_assert_true (g_settings_get_boolean (settings, "local-only"));

  gtk_spin_button_set_value (retention, 30);
  g_assert_cmpuint (g_settings_get_uint (settings, "audit-retention-days"), ==, 30);
  gtk_spin_button_set_value (port, 9000);
  port_value = g_settings_get_value (settings, "server-port");
  g_assert_cmpuint (g_variant_get_uint16 (port_value), ==, 9000);

  g_assert_true (gtk_widget_get_visible (ollama_url));
  g_assert_false (gtk_widget_get_visible (provider_url));
  adw_combo_row_set_selected (provider, 1);
  assert_setting (settings, "provider", "openai");
  g_assert_false (gtk_widget_get_visible (ollama_url));
  g_assert_true (gtk_widget_get_visible (provider_url));

  gtk_window_destroy (GTK_WINDOW (preferences));
}

static void
apply_text (GtkWidget  *row,
            const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  g_signal_emit_by_name (row, "apply");
}

static void
test_preferences_refuses_invalid_url (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflPreferencesWindow *preferences = show_preferences (settings);
  GtkWidget *row = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                   "ollama_url_row");
  GtkLabel *label = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                    "url_error_label");
  const char *invalid[] = { "ftp://localhost:11434", "not a url", "http://", "" };
  g_autofree char *url = NULL;

  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==,
                   "http://127.0.0.1:11434");

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      apply_text (row, invalid[i]);
      g_free (url);
      url = g_settings_get_string (settings, "ollama-url");
      g_assert_cmpstr (url, ==, "http://127.0.0.1:11434");
      g_assert_true (gtk_widget_has_css_class (row, "error"));
      g_assert_true (gtk_widget_get_visible (GTK_WIDGET (label)));
      g_assert_cmpstr (gtk_label_get_text (label), !=, "");
    }

  /* Editing again clears the mark. */
  gtk_editable_set_text (GTK_EDITABLE (row), "http://192.168.1.20:11434");
  g_assert_false (gtk_widget_has_css_class (row, "error"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (label)));

  g_signal_emit_by_name (row, "apply");
  g_free (url);
  url = g_settings_get_string (settings, "ollama-url");
  g_assert_cmpstr (url, ==, "http://192.168.1.20:11434");
  g_assert_false (gtk_widget_has_css_class (row, "error"));

  /* A change made elsewhere shows up in the row. */
  g_settings_set_string (settings, "ollama-url", "http://localhost:11434");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==,
                   "http://localhost:11434");

  gtk_window_destroy (GTK_WINDOW (preferences));
}

/* The port of the "http://127.0.0.1:PORT" in @status, 0 when there is none. */
static guint16
status_port (const char *status)
{
  const char *url = strstr (status, "http://127.0.0.1:");
  guint64 port;

  if (url == NULL)
    return 0;
  port = g_ascii_strtoull (url + strlen ("http://127.0.0.1:"), NULL, 10);
  return port > 0 && port <= G_MAXUINT16 ? (guint16) port : 0;
}

/* The first line of the answer to GET /healthz on 127.0.0.1:@port, or
 * NULL when nothing answers. */
static char *
get_healthz (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GDataInputStream) input = NULL;
  const char request[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  if (connection == NULL)
    return NULL;
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                  request, strlen (request), NULL, NULL, NULL))
    return NULL;

  input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (input, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  return g_data_input_stream_read_line (input, NULL, NULL, NULL);
}

static gboolean
quit_application_cb (gpointer data)
{
  g_application_quit (data);
  return G_SOURCE_REMOVE;
}

static void
test_preferences_http_service (void)
{
  g_autoptr(RflApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "http-service", NULL);
  g_autofree char *line = NULL;
  RflPreferencesWindow *preferences;
  AdwActionRow *status_row;
  GtkSwitch *server_switch;
  GSettings *settings;
  guint16 port;

  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);

  /* Its own id: the application's test registers the usual one. */
  app = g_object_new (RFL_TYPE_APPLICATION,
                      "application-id", APP_ID ".HttpService",
                      "flags", G_APPLICATION_NON_UNIQUE,
                      "resource-base-path", RESOURCE_PREFIX,
                      NULL);
  g_application_set_default (G_APPLICATION (app));
  settings = rfl_application_get_settings (app);
  g_settings_set_string (settings, "data-dir", data_dir);
  g_settings_set_value (settings, "server-port", g_variant_new_uint16 (0));
  g_settings_set_boolean (settings, "setup-complete", TRUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  preferences = show_preferences (settings);
  status_row = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW, "server_status_row");
  server_switch = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW, "server_switch");
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (server_switch)));
  g_assert_cmpstr (adw_action_row_get_subtitle (status_row), ==, "Stopped");

  /* Turning it on serves on a free loopback port (port 0). */
  gtk_switch_set_active (server_switch, TRUE);
  g_assert_true (g_settings_get_boolean (settings, "server-enabled"));
  g_assert_true (wait_for_subtitle (status_row, "Running at http://127.0.0.1:"));
  port = status_port (adw_action_row_get_subtitle (status_row));
  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpstr (rfl_application_get_http_status (app), ==,
                   adw_action_row_get_subtitle (status_row));
  line = get_healthz (port);
  g_assert_cmpstr (line, ==, "HTTP/1.1 200 OK");
  g_clear_pointer (&line, g_free);

  /* Turning it off stops the server. */
  gtk_switch_set_active (server_switch, FALSE);
  g_assert_true (wait_for_subtitle (status_row, "Stopped"));
  line = get_healthz (port);
  g_assert_null (line);

  /* A port in use is told as it is. The blocker takes a port nobody has
   * used yet: the one just served may still be held by a closing
   * connection. */
  {
    g_autoptr(GSocket) blocker = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                               G_SOCKET_PROTOCOL_TCP, &error);
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
    g_autoptr(GSocketAddress) bound = NULL;

    g_assert_no_error (error);
    g_assert_true (g_socket_bind (blocker, address, FALSE, &error));
    g_assert_no_error (error);
    g_assert_true (g_socket_listen (blocker, &error));
    bound = g_socket_get_local_address (blocker, &error);
    g_assert_no_error (error);
    g_settings_set_value (settings, "server-port",
                          g_variant_new_uint16 (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound))));
    gtk_switch_set_active (server_switch, TRUE);
    g_assert_true (wait_for_subtitle (status_row, "Not running: "));
    g_assert_nonnull (strstr (adw_action_row_get_subtitle (status_row), "in use"));
  }

  /* It serves again once the port is free, and stops when the
   * application does. */
  g_settings_set_value (settings, "server-port", g_variant_new_uint16 (0));
  g_assert_true (wait_for_subtitle (status_row, "Running at http://127.0.0.1:"));
  port = status_port (adw_action_row_get_subtitle (status_row));
  line = get_healthz (port);
  g_assert_cmpstr (line, ==, "HTTP/1.1 200 OK");
  g_clear_pointer (&line, g_free);

  gtk_window_destroy (GTK_WINDOW (preferences));
  g_idle_add (quit_application_cb, app);
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 0, NULL), ==, 0);
  line = get_healthz (port);
  g_assert_null (line);
  g_assert_true (g_settings_get_boolean (settings, "server-enabled"));

  g_settings_reset (settings, "server-enabled");
  g_settings_reset (settings, "server-port");
  g_settings_reset (settings, "setup-complete");
  g_settings_reset (settings, "data-dir");
  g_application_set_default (NULL);
}

static void
test_preferences_refuses_invalid_values (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  RflPreferencesWindow *preferences = show_preferences (settings);
  GtkWidget *model = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                     "model_row");
  GtkWidget *bind = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                    "bind_row");
  GtkWidget *provider_url = template_child (preferences, RFL_TYPE_PREFERENCES_WINDOW,
                                            "provider_url_row");
  g_autofree char *value = NULL;

  apply_text (model, "llama 3");
  value = g_settings_get_string (settings, "model");
  g_assert_cmpstr (value, ==, "");
  g_assert_true (gtk_widget_has_css_class (model, "error"));
  apply_text (model, "  llama3.1:8b ");
  g_free (value);
  value = g_settings_get_string (settings, "model");
  g_assert_cmpstr (value, ==, "llama3.1:8b");
  g_assert_false (gtk_widget_has_css_class (model, "error"));

  apply_text (bind, "everywhere");
  g_free (value);
  value = g_settings_get_string (settings, "server-bind");
  g_assert_cmpstr (value, ==, "127.0.0.1");
  g_assert_true (gtk_widget_has_css_class (bind, "error"));
  apply_text (bind, "0.0.0.0");
  g_free (value);
  value = g_settings_get_string (settings, "server-bind");
  g_assert_cmpstr (value, ==, "0.0.0.0");

  /* An empty provider URL means the provider's own; a bad one is refused. */
  g_settings_set_string (settings, "provider", "openai-compatible");
  apply_text (provider_url, "localhost:8080");
  g_free (value);
  value = g_settings_get_string (settings, "provider-url");
  g_assert_cmpstr (value, ==, "");
  g_assert_true (gtk_widget_has_css_class (provider_url, "error"));
  apply_text (provider_url, "http://localhost:8080/v1");
  g_free (value);
  value = g_settings_get_string (settings, "provider-url");
  g_assert_cmpstr (value, ==, "http://localhost:8080/v1");

  gtk_window_destroy (GTK_WINDOW (preferences));
}

/* The command line, run as a program with no display at all: these must
 * work without GTK. */
typedef struct
{
  char *out;
  char *err;
  int   status;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
run_reflection3 (Run        *run,
                 const char *arg1,
                 const char *arg2,
                 const char *arg3)
{
  g_autofree char *binary = NULL;
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  const char *argv[5] = { NULL };
  int wait_status = 0;

  if (g_getenv ("RFL_REFLECTION_BINARY") != NULL)
    binary = g_strdup (g_getenv ("RFL_REFLECTION_BINARY"));
  else
    binary = g_test_build_filename (G_TEST_BUILT, "..", "src", "reflection", NULL);
  g_assert_true (g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE));

  env = g_environ_unsetenv (env, "DISPLAY");
  env = g_environ_unsetenv (env, "WAYLAND_DISPLAY");
  env = g_environ_setenv (env, "LC_ALL", "C.UTF-8", TRUE);

  argv[0] = binary;
  argv[1] = arg1;
  argv[2] = arg2;
  argv[3] = arg2 != NULL ? arg3 : NULL;

  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
}

static void
run_reflection (Run        *run,
                const char *arg1,
                const char *arg2)
{
  run_reflection3 (run, arg1, arg2, NULL);
}

static void
test_cli_version (void)
{
  g_auto(Run) run = { 0 };

  run_reflection (&run, "--version", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "reflection " PACKAGE_VERSION "\n");
  g_assert_cmpstr (run.err, ==, "");

  run_clear (&run);
  run = (Run) { 0 };
  run_reflection (&run, "-v", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "reflection " PACKAGE_VERSION "\n");
}

static void
test_cli_help (void)
{
  const char *forms[] = { "--help", "-h", "help" };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_auto(Run) run = { 0 };

      run_reflection (&run, forms[i], NULL);
      g_assert_cmpint (run.status, ==, 0);
      g_assert_nonnull (strstr (run.out, "Usage:"));
      g_assert_nonnull (strstr (run.out,
                                "reflection serve [--port N] [--bind ADDR] "
                                "[--data-dir DIR]"));
      g_assert_nonnull (strstr (run.out, "Run the HTTP service without a window"));
      g_assert_nonnull (strstr (run.out, "--wizard"));
      g_assert_cmpstr (run.err, ==, "");
    }
}

static void
test_cli_serve (void)
{
  g_auto(Run) help = { 0 };
  g_auto(Run) bogus = { 0 };

  run_reflection (&help, "serve", "--help");
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "--port"));
  g_assert_nonnull (strstr (help.out, "--bind"));
  g_assert_nonnull (strstr (help.out, "--data-dir"));
  g_assert_cmpstr (help.err, ==, "");

  run_reflection3 (&bogus, "serve", "--port", "bogus");
  g_assert_cmpint (bogus.status, ==, 2);
  g_assert_cmpstr (bogus.out, ==, "");
  g_assert_true (g_str_has_prefix (bogus.err, "reflection serve: "));
  g_assert_nonnull (strstr (bogus.err, "“bogus”"));
  g_assert_nonnull (strstr (bogus.err, "--port"));
}

static void
test_cli_unknown (void)
{
  g_auto(Run) option = { 0 };
  g_auto(Run) command = { 0 };

  run_reflection (&option, "--bogus", NULL);
  g_assert_cmpint (option.status, ==, 2);
  g_assert_cmpstr (option.out, ==, "");
  g_assert_nonnull (strstr (option.err, "unknown option “--bogus”"));
  g_assert_nonnull (strstr (option.err, "reflection --help"));

  /* An unknown word after a valid option is refused too. */
  run_reflection (&command, "--wizard", "frobnicate");
  g_assert_cmpint (command.status, ==, 2);
  g_assert_nonnull (strstr (command.err, "unknown command “frobnicate”"));
}

int
main (int   argc,
      char *argv[])
{
  gboolean uncertain;

  /* Each test gets its own XDG folders, but images and icons must still
   * be found through the system's MIME database and icon theme: both are
   * read once, before the test framework changes the folders. */
  gtk_init ();
  adw_init ();
  g_free (g_content_type_guess ("icon.svg", (const guchar *) "<svg", 4, &uncertain));
  gtk_icon_theme_get_for_display (gdk_display_get_default ());

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/window/size-restored", test_size_restored);
  g_test_add_func ("/rfl/window/size-saved", test_size_saved);
  g_test_add_func ("/rfl/window/sidebar-switches-pages", test_sidebar_switches_pages);
  g_test_add_func ("/rfl/window/show-page-selects-row", test_show_page_selects_row);
  g_test_add_func ("/rfl/window/folds-when-narrow", test_folds_when_narrow);
  g_test_add_func ("/rfl/window/chat-page-shows-setup", test_chat_page_shows_setup);
  g_test_add_func ("/rfl/window/tenant-count-without-database",
                   test_tenant_count_without_database);
  g_test_add_func ("/rfl/window/tenant-count-read", test_tenant_count_read);
  /* Before the application's test, whose application would follow the
   * settings this one changes. */
  g_test_add_func ("/rfl/window/preferences-http-service",
                   test_preferences_http_service);
  g_test_add_func ("/rfl/window/application-actions", test_application_actions);
  g_test_add_func ("/rfl/window/about", test_about_window);
  g_test_add_func ("/rfl/window/preferences-opens", test_preferences_opens);
  g_test_add_func ("/rfl/window/preferences-bindings", test_preferences_bindings);
  g_test_add_func ("/rfl/window/preferences-refuses-invalid-url",
                   test_preferences_refuses_invalid_url);
  g_test_add_func ("/rfl/window/preferences-refuses-invalid-values",
                   test_preferences_refuses_invalid_values);
  g_test_add_func ("/rfl/window/cli-version", test_cli_version);
  g_test_add_func ("/rfl/window/cli-help", test_cli_help);
  g_test_add_func ("/rfl/window/cli-serve", test_cli_serve);
  g_test_add_func ("/rfl/window/cli-unknown", test_cli_unknown);

  return g_test_run ();
}
