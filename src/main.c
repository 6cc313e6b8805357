/* main.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <locale.h>
#include <stdio.h>

#include <glib/gi18n.h>

#include "server/rfl-audit-cli.h"
#include "server/rfl-serve.h"
#include "ui/rfl-application.h"

/* Options the graphical application accepts; everything else that starts
 * with a dash is refused before GTK is initialised. */
static const char * const gui_options[] = {
  "--wizard",
  "--gapplication-service",
  NULL,
};

static void
setup_i18n (void)
{
  const char *localedir = g_getenv ("RFL_LOCALEDIR");

  setlocale (LC_ALL, "");
  if (localedir == NULL || *localedir == '\0')
    localedir = LOCALEDIR;
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

static void
print_usage (void)
{
  g_print ("%s\n", _("Usage:"));
  g_print ("  reflection [--wizard]\n");
  g_print ("      %s\n", _("Open the application window"));
  g_print ("      --wizard  %s\n", _("Open the setup wizard as well"));
  g_print ("  reflection serve [--port N] [--bind ADDR] [--data-dir DIR]\n");
  g_print ("      %s\n", _("Run the HTTP service without a window"));
  g_print ("  reflection audit verify [--data-dir DIR]\n");
  g_print ("      %s\n", _("Check that no entry of the audit log was changed"));
  g_print ("  reflection audit export --csv [--data-dir DIR] [--tenant ID]\n");
  g_print ("      %s\n", _("Write the audit log as CSV to the standard output"));
  g_print ("  reflection --version\n");
  g_print ("      %s\n", _("Print the version and exit"));
  g_print ("  reflection --help\n");
  g_print ("      %s\n", _("Print this help and exit"));
}

static void
print_unknown (const char *message)
{
  g_printerr ("reflection: %s\n", message);
  g_printerr ("%s\n", _("Try “reflection --help” for the list of commands."));
}

/* Handles everything that must work without a display: the version, the
 * usage text and the subcommands. Returns TRUE with @exit_status set when
 * the command line was handled here, FALSE when the window should open. */
static gboolean
dispatch_command_line (int   argc,
                       char *argv[],
                       int  *exit_status)
{
  const char *first;

  *exit_status = 0;
  if (argc < 2)
    return FALSE;

  first = argv[1];
  if (g_str_equal (first, "--version") || g_str_equal (first, "-v"))
    {
      g_print ("reflection %s\n", PACKAGE_VERSION);
      return TRUE;
    }

  if (g_str_equal (first, "--help") || g_str_equal (first, "-h")
      || g_str_equal (first, "help"))
    {
      print_usage ();
      return TRUE;
    }

  /* Runs without a display: GTK is never initialised on this path. */
  if (g_str_equal (first, "serve"))
    {
      *exit_status = rfl_serve_main (argc - 1, argv + 1);
      return TRUE;
    }

  if (g_str_equal (first, "audit"))
    {
      *exit_status = rfl_audit_cli_main (argc - 1, argv + 1);
      return TRUE;
    }

  for (int i = 1; i < argc; i++)
    {
      if (!g_strv_contains (gui_options, argv[i]))
        {
          g_autofree char *message = NULL;

          if (argv[i][0] == '-')
            message = g_strdup_printf (_("unknown option “%s”"), argv[i]);
          else
            message = g_strdup_printf (_("unknown command “%s”"), argv[i]);
          print_unknown (message);
          *exit_status = 2;
          return TRUE;
        }
    }

  return FALSE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RflApplication) app = NULL;
  int status;

  setup_i18n ();

  if (dispatch_command_line (argc, argv, &status))
    return status;

  app = rfl_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
