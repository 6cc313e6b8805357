/* rfl-screenshots.c: renders every window and page of Reflection into PNG
 * files and checks that none of them is blank.
 *
 *   rfl-screenshots [--dark | --all-styles] [--output DIR]
 *
 * Files are named window-<page>.png, preferences-<page>.png, about.png,
 * shortcuts.png and wizard-<page>.png, with a -dark suffix in the dark
 * style. The settings live in memory and the data in a temporary folder,
 * so that the user's own are never touched.
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <math.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "store/rfl-database.h"
#include "ui/rfl-application.h"
#include "ui/rfl-preferences-window.h"
#include "ui/rfl-screenshot.h"
#include "ui/rfl-window.h"
#include "ui/rfl-wizard.h"

/* Below this standard deviation of the luminance (0–255) an image is
 * taken as blank: a window that failed to draw is one flat colour. */
#define MIN_STDDEV 4.0

typedef struct
{
  RflApplication *app;
  GSettings      *settings;
  const char     *output_dir;
  const char     *suffix;        /* "" or "-dark" */
  guint           failures;
  guint           saved;
} Shots;

static void
spin_main_loop (guint milliseconds)
{
  gint64 end = g_get_monotonic_time () + milliseconds * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2 * G_TIME_SPAN_MILLISECOND);
    }
}

static void
after_paint_cb (GdkFrameClock *clock,
                gboolean      *painted)
{
  *painted = TRUE;
}

/* Runs the main loop until @window is mapped and has painted a frame
 * after the last change, then a little longer for icons and async work. */
static gboolean
wait_for_draw (GtkWidget *window)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  GdkFrameClock *clock;
  gboolean painted = FALSE;
  gulong handler;

  while (!gtk_widget_get_mapped (window))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
    }

  spin_main_loop (100);

  clock = gtk_widget_get_frame_clock (window);
  handler = g_signal_connect (clock, "after-paint",
                              G_CALLBACK (after_paint_cb), &painted);
  gtk_widget_queue_draw (window);
  while (!painted && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_signal_handler_disconnect (clock, handler);

  spin_main_loop (200);

  return painted;
}

/* Loads @path back and measures how much its pixels vary. */
static gboolean
check_not_blank (const char  *path,
                 int          expected_width,
                 int          expected_height,
                 double      *stddev_out,
                 GError     **error)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  double sum = 0, sum_sq = 0, mean, n;
  int width, height;

  texture = gdk_texture_new_from_filename (path, error);
  if (texture == NULL)
    return FALSE;

  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  if (width != expected_width || height != expected_height)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s is %d×%d, expected %d×%d",
                   path, width, height, expected_width, expected_height);
      return FALSE;
    }

  pixels = g_malloc ((gsize) width * height * 4);
  gdk_texture_download (texture, pixels, (gsize) width * 4);

  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      const guchar *p = pixels + i * 4;
      double luminance = 0.2126 * p[2] + 0.7152 * p[1] + 0.0722 * p[0];

      sum += luminance;
      sum_sq += luminance * luminance;
    }

  n = (double) width * height;
  mean = sum / n;
  *stddev_out = sqrt (MAX (0.0, sum_sq / n - mean * mean));

  if (*stddev_out < MIN_STDDEV)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s looks blank (standard deviation %.2f)",
                   path, *stddev_out);
      return FALSE;
    }

  return TRUE;
}

static void
save (Shots      *shots,
      GtkWidget  *window,
      const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s%s.png", name, shots->suffix);
  g_autofree char *path = g_build_filename (shots->output_dir, file, NULL);
  g_autoptr(GError) error = NULL;
  double stddev = 0;

  if (!wait_for_draw (window))
    {
      g_printerr ("FAIL %s: the window was never drawn\n", file);
      shots->failures++;
      return;
    }

  if (!rfl_screenshot_save_png (window, path, &error)
      || !check_not_blank (path,
                           gtk_widget_get_width (window),
                           gtk_widget_get_height (window),
                           &stddev, &error))
    {
      g_printerr ("FAIL %s: %s\n", file, error->message);
      shots->failures++;
      return;
    }

  g_print ("saved %s (%d×%d, deviation %.1f)\n", path,
           gtk_widget_get_width (window), gtk_widget_get_height (window),
           stddev);
  shots->saved++;
}

static void
save_window_pages (Shots     *shots,
                   RflWindow *window)
{
  const char *pages[] = { "chat", "administration", "preferences" };

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *name = g_strdup_printf ("window-%s", pages[i]);

      rfl_window_show_page (window, pages[i]);
      save (shots, GTK_WIDGET (window), name);
    }

  /* Narrow enough to fold the sidebar away. */
  rfl_window_show_page (window, "chat");
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 720);
  save (shots, GTK_WIDGET (window), "window-narrow");
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  wait_for_draw (GTK_WIDGET (window));
}

static void
save_preferences_pages (Shots     *shots,
                        GtkWindow *parent)
{
  const char *pages[] = { "general", "provider", "service" };
  RflPreferencesWindow *preferences;
  GtkEditable *url_row;

  preferences = rfl_preferences_window_new (shots->settings);
  gtk_window_set_transient_for (GTK_WINDOW (preferences), parent);
  gtk_window_set_modal (GTK_WINDOW (preferences), TRUE);
  gtk_window_present (GTK_WINDOW (preferences));

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *name = g_strdup_printf ("preferences-%s", pages[i]);

      adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences),
                                                    pages[i]);
      save (shots, GTK_WIDGET (preferences), name);
    }

  /* How a refused value looks. */
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences),
                                                "provider");
  url_row = GTK_EDITABLE (gtk_widget_get_template_child (GTK_WIDGET (preferences),
                                                         RFL_TYPE_PREFERENCES_WINDOW,
                                                         "ollama_url_row"));
  gtk_editable_set_text (url_row, "ftp://localhost:11434");
  g_signal_emit_by_name (url_row, "apply");
  save (shots, GTK_WIDGET (preferences), "preferences-provider-error");

  gtk_window_destroy (GTK_WINDOW (preferences));
}

static void
save_about (Shots     *shots,
            GtkWindow *parent)
{
  GtkWindow *about = rfl_application_new_about_window (parent);

  gtk_window_present (about);
  save (shots, GTK_WIDGET (about), "about");
  gtk_window_destroy (about);
}

static void
save_shortcuts (Shots     *shots,
                GtkWindow *parent)
{
  GtkShortcutsWindow *overlay;

  overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (parent));
  if (overlay == NULL)
    {
      g_printerr ("FAIL shortcuts: the main window has no help overlay\n");
      shots->failures++;
      return;
    }

  gtk_window_present (GTK_WINDOW (overlay));
  save (shots, GTK_WIDGET (overlay), "shortcuts");
  gtk_window_close (GTK_WINDOW (overlay));
}

/* Every page of the setup wizard, reached without validation. */
static void
save_wizard_pages (Shots     *shots,
                   GtkWindow *parent)
{
  const char *sysinfo_root = g_getenv ("RFL_SYSINFO_ROOT");
  RflWizard *wizard;

  if (sysinfo_root == NULL || *sysinfo_root == '\0')
    sysinfo_root = "/";

  wizard = rfl_wizard_new (GTK_APPLICATION (shots->app), shots->settings,
                           sysinfo_root);
  gtk_window_set_transient_for (GTK_WINDOW (wizard), parent);
  gtk_window_set_modal (GTK_WINDOW (wizard), TRUE);
  gtk_window_present (GTK_WINDOW (wizard));

  for (guint page = 0; page < RFL_WIZARD_N_PAGES; page++)
    {
      g_autofree char *name = NULL;

      name = g_strdup_printf ("wizard-%s",
                              rfl_wizard_page_get_name ((RflWizardPage) page));
      rfl_wizard_set_page (wizard, (RflWizardPage) page);
      save (shots, GTK_WIDGET (wizard), name);
    }

  gtk_window_destroy (GTK_WINDOW (wizard));
}

/* A database with one tenant, so that the administration page has
 * something to count. */
static gboolean
create_example_database (GError **error)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (),
                                                "reflection", NULL);
  g_autofree char *path = g_build_filename (data_dir, "reflection.db", NULL);
  g_autoptr(RflDatabase) database = NULL;

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "cannot create %s", data_dir);
      return FALSE;
    }

  database = rfl_database_open (path, error);
  if (database == NULL)
    return FALSE;

  if (rfl_database_find_tenant (database, "Riverside Clinic", NULL) > 0)
    return TRUE;

  return rfl_database_create_tenant (database, "Riverside Clinic",
                                     "healthcare", error) > 0;
}

static void
run_style (Shots    *shots,
           gboolean  dark)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  RflWindow *window;

  adw_style_manager_set_color_scheme (style,
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                           : ADW_COLOR_SCHEME_FORCE_LIGHT);
  shots->suffix = dark ? "-dark" : "";

  window = rfl_window_new (GTK_APPLICATION (shots->app), shots->settings);
  save_window_pages (shots, window);
  save_preferences_pages (shots, GTK_WINDOW (window));
  save_about (shots, GTK_WINDOW (window));
  save_shortcuts (shots, GTK_WINDOW (window));
  save_wizard_pages (shots, GTK_WINDOW (window));
  gtk_window_destroy (GTK_WINDOW (window));
  spin_main_loop (50);
}

/* Keeps the run away from the user's settings and data. */
static char *
isolate_environment (void)
{
  g_autoptr(GError) error = NULL;
  char *tmp = g_dir_make_tmp ("rfl-screenshots-XXXXXX", &error);
  const char *dirs[] = { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME" };

  if (tmp == NULL)
    g_error ("Cannot create a temporary folder: %s", error->message);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (tmp, dirs[i], NULL);

      g_mkdir_with_parents (dir, 0700);
      g_setenv (dirs[i], dir, TRUE);
    }

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  return tmp;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                        NULL, NULL);
  while (children != NULL
         && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFileInfo) owned = info;
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        remove_tree (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *output_dir = NULL;
  gboolean dark = FALSE;
  gboolean all_styles = FALSE;
  Shots shots = { 0 };
  const GOptionEntry entries[] = {
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark,
      "Render in the dark style", NULL },
    { "all-styles", 0, 0, G_OPTION_ARG_NONE, &all_styles,
      "Render in the light and the dark style", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output_dir,
      "Folder for the PNG files", "DIR" },
    { NULL }
  };

  context = g_option_context_new ("- save screenshots of Reflection");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("rfl-screenshots: %s\n", error->message);
      return 2;
    }

  if (output_dir == NULL)
    output_dir = g_strdup ("screenshots");
  if (g_mkdir_with_parents (output_dir, 0755) != 0)
    {
      g_printerr ("rfl-screenshots: cannot create %s: %s\n",
                  output_dir, g_strerror (errno));
      return 1;
    }

  tmp = isolate_environment ();

  /* Criticals are bugs; a screenshot of a window that logged one would
   * hide it. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);

  gtk_init ();
  adw_init ();

  if (!create_example_database (&error))
    {
      g_printerr ("rfl-screenshots: cannot create the example database: %s\n",
                  error->message);
      return 1;
    }

  shots.app = g_object_new (RFL_TYPE_APPLICATION,
                            "application-id", APP_ID,
                            "flags", G_APPLICATION_NON_UNIQUE,
                            "resource-base-path", RESOURCE_PREFIX,
                            NULL);
  if (!g_application_register (G_APPLICATION (shots.app), NULL, &error))
    {
      g_printerr ("rfl-screenshots: %s\n", error->message);
      return 1;
    }

  shots.settings = rfl_application_get_settings (shots.app);
  shots.output_dir = output_dir;
  g_settings_set_string (shots.settings, "model", "llama3.1:8b");
  g_settings_set_string (shots.settings, "use-case", "healthcare");

  if (all_styles || !dark)
    run_style (&shots, FALSE);
  if (all_styles || dark)
    run_style (&shots, TRUE);

  g_clear_object (&shots.app);
  remove_tree (tmp);

  g_print ("%u screenshots saved, %u failed\n", shots.saved, shots.failures);

  return shots.failures == 0 ? 0 : 1;
}
