/* test-i18n.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib/gi18n.h>

#include "core/rfl-use-case.h"
#include "ui/rfl-window.h"
#include "ui/rfl-wizard.h"

/* Collects the text of every label below @widget, one per line. */
static void
collect_labels (GtkWidget *widget,
                GString   *out)
{
  if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (widget)));
  else if (ADW_IS_PREFERENCES_ROW (widget))
    g_string_append_printf (out, "%s\n",
                            adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)));

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_labels (child, out);
}

static gboolean
has_line (const char *text,
          const char *line)
{
  g_autofree char *needle = g_strdup_printf ("\n%s\n", line);
  g_autofree char *haystack = g_strdup_printf ("\n%s", text);

  return strstr (haystack, needle) != NULL;
}

static GSettings *
new_settings (void)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();

  return g_settings_new_with_backend (APP_ID, backend);
}

static void
test_core_strings (void)
{
  g_assert_cmpstr (rfl_use_case_get_title (RFL_USE_CASE_HEALTHCARE), ==, "Gesundheitswesen");
  g_assert_cmpstr (rfl_use_case_get_title (RFL_USE_CASE_CUSTOM), ==, "Benutzerdefiniert");
  g_assert_cmpstr (_("Administration"), ==, "Verwaltung");
}

static void
test_window_is_german (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  g_autoptr(GString) labels = g_string_new (NULL);
  RflWindow *window = rfl_window_new (NULL, settings);

  gtk_window_present (GTK_WINDOW (window));
  collect_labels (GTK_WIDGET (window), labels);

  g_assert_true (has_line (labels->str, "Verwaltung"));
  g_assert_true (has_line (labels->str, "Einstellungen"));
  g_assert_false (has_line (labels->str, "Administration"));
  g_assert_false (has_line (labels->str, "Preferences"));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_wizard_is_german (void)
{
  g_autoptr(GSettings) settings = new_settings ();
  g_autoptr(GString) labels = g_string_new (NULL);
  g_autofree char *root = g_test_build_filename (G_TEST_DIST, "sysinfo", "nvidia", NULL);
  RflWizard *wizard = rfl_wizard_new (NULL, settings, root);

  rfl_wizard_set_page (wizard, RFL_WIZARD_PAGE_USE_CASE);
  gtk_window_present (GTK_WINDOW (wizard));
  collect_labels (GTK_WIDGET (wizard), labels);

  g_assert_true (has_line (labels->str, "Gesundheitswesen"));
  g_assert_true (has_line (labels->str, "Datenschutz"));
  g_assert_false (has_line (labels->str, "Healthcare"));
  g_assert_false (has_line (labels->str, "Privacy"));

  gtk_window_destroy (GTK_WINDOW (wizard));
}

int
main (int   argc,
      char *argv[])
{
  const char *localedir = g_getenv ("RFL_LOCALEDIR");
  gboolean uncertain;

  /* German through LANGUAGE, as a German desktop session sets it; the
   * catalogue comes from the build tree. */
  g_setenv ("LANGUAGE", "de", TRUE);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gtk_init ();
  adw_init ();
  g_free (g_content_type_guess ("icon.svg", (const guchar *) "<svg", 4, &uncertain));
  gtk_icon_theme_get_for_display (gdk_display_get_default ());

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/i18n/core-strings", test_core_strings);
  g_test_add_func ("/rfl/i18n/window", test_window_is_german);
  g_test_add_func ("/rfl/i18n/wizard", test_wizard_is_german);

  return g_test_run ();
}
