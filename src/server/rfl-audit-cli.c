/* rfl-audit-cli.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-audit-cli.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "core/rfl-error.h"
#include "core/rfl-paths.h"
#include "store/rfl-audit-log.h"
#include "store/rfl-database.h"

/* Standard output as a GOutputStream, for the CSV export. */
#define RFL_TYPE_STDOUT_STREAM (rfl_stdout_stream_get_type ())
G_DECLARE_FINAL_TYPE (RflStdoutStream, rfl_stdout_stream, RFL, STDOUT_STREAM, GOutputStream)

struct _RflStdoutStream
{
  GOutputStream parent_instance;
};

G_DEFINE_FINAL_TYPE (RflStdoutStream, rfl_stdout_stream, G_TYPE_OUTPUT_STREAM)

static gssize
rfl_stdout_stream_write (GOutputStream  *stream,
                         const void     *buffer,
                         gsize           count,
                         GCancellable   *cancellable,
                         GError        **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;

  if (count > 0 && fwrite (buffer, 1, count, stdout) != count)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot write to the standard output: %s"),
                   g_strerror (saved));
      return -1;
    }

  return (gssize) count;
}

static gboolean
rfl_stdout_stream_flush (GOutputStream  *stream,
                         GCancellable   *cancellable,
                         GError        **error)
{
  if (fflush (stdout) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot write to the standard output: %s"),
                   g_strerror (saved));
      return FALSE;
    }

  return TRUE;
}

static void
rfl_stdout_stream_class_init (RflStdoutStreamClass *klass)
{
  GOutputStreamClass *stream_class = G_OUTPUT_STREAM_CLASS (klass);

  stream_class->write_fn = rfl_stdout_stream_write;
  stream_class->flush = rfl_stdout_stream_flush;
}

static void
rfl_stdout_stream_init (RflStdoutStream *self)
{
}

/* The command line ----------------------------------------------------- */

static void
print_command_line_error (const char *message)
{
  g_printerr ("reflection audit: %s\n", message);
  g_printerr ("%s\n", _("Try “reflection audit --help” for the commands."));
}

static void
print_usage (void)
{
  g_print ("%s\n", _("Usage:"));
  g_print ("  reflection audit verify [--data-dir DIR]\n");
  g_print ("      %s\n", _("Check that no entry of the audit log was changed"));
  g_print ("  reflection audit export --csv [--data-dir DIR] [--tenant ID]\n");
  g_print ("      %s\n", _("Write the audit log as CSV to the standard output"));
}

typedef struct
{
  char     *data_dir;
  gboolean  csv;
  gint64    tenant_id;
} Options;

static gboolean
parse_options (int       argc,
               char    **argv,
               gboolean  export,
               Options  *options,
               GError  **error)
{
  g_autoptr(GOptionContext) context = NULL;
  const GOptionEntry verify_entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &options->data_dir,
      N_("The folder that holds the database (default: ~/.local/share/reflection)"),
      N_("DIR") },
    G_OPTION_ENTRY_NULL
  };
  const GOptionEntry export_entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &options->data_dir,
      N_("The folder that holds the database (default: ~/.local/share/reflection)"),
      N_("DIR") },
    { "csv", 0, 0, G_OPTION_ARG_NONE, &options->csv,
      N_("Write CSV (RFC 4180)"), NULL },
    { "tenant", 't', 0, G_OPTION_ARG_INT64, &options->tenant_id,
      N_("Only the entries of this tenant (default: every tenant)"), N_("ID") },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                export ? _("Write the audit log as CSV to the standard output.")
                                       : _("Check that no entry of the audit log was changed."));
  g_option_context_add_main_entries (context,
                                     export ? export_entries : verify_entries,
                                     GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, error))
    return FALSE;

  if (argc > 1)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("unexpected argument “%s”"), argv[1]);
      return FALSE;
    }

  if (export && !options->csv)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("name the format: --csv is the only one"));
      return FALSE;
    }

  if (options->tenant_id < 0)
    {
      g_autofree char *number = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                 options->tenant_id);

      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("the tenant must be a positive number, not %s"), number);
      return FALSE;
    }

  return TRUE;
}

/* The database of @data_dir; never one made here. */
static RflDatabase *
open_database (const char  *data_dir,
               GError     **error)
{
  g_autofree char *dir = rfl_paths_dup_data_dir (data_dir);
  g_autofree char *path = rfl_paths_dup_database_path (dir);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                   _("There is no database at “%s”"), path);
      return NULL;
    }

  return rfl_database_open (path, error);
}

static int
run_verify (const Options *options)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflAuditLog) log = NULL;
  g_autoptr(RflAuditVerifyResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *count = NULL;

  db = open_database (options->data_dir, &error);
  if (db != NULL)
    {
      log = rfl_audit_log_new (db);
      result = rfl_audit_log_verify (log, NULL, &error);
    }

  if (result == NULL)
    {
      g_printerr ("reflection audit: %s\n", error->message);
      return 1;
    }

  if (result->broken_id != 0)
    {
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT,
                                             result->broken_id);

      g_print (_("audit log: entry %s does not match the chain: %s"), id,
               result->problem);
      g_print ("\n");
      return 1;
    }

  count = g_strdup_printf ("%" G_GUINT64_FORMAT, result->n_entries);
  g_print (g_dngettext (GETTEXT_PACKAGE,
                        "audit log: %s entry, chain intact",
                        "audit log: %s entries, chain intact",
                        (gulong) MIN (result->n_entries, G_MAXULONG)),
           count);
  g_print ("\n");
  return 0;
}

static int
run_export (const Options *options)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflAuditLog) log = NULL;
  g_autoptr(GOutputStream) output = NULL;
  g_autoptr(GError) error = NULL;
  RflAuditFilter filter = { 0 };

  db = open_database (options->data_dir, &error);
  if (db == NULL)
    {
      g_printerr ("reflection audit: %s\n", error->message);
      return 1;
    }

  log = rfl_audit_log_new (db);
  output = g_object_new (RFL_TYPE_STDOUT_STREAM, NULL);
  filter.tenant_id = options->tenant_id;
  if (!rfl_audit_log_export_csv (log, &filter, output, NULL, &error)
      || !g_output_stream_flush (output, NULL, &error))
    {
      g_printerr ("reflection audit: %s\n", error->message);
      return 1;
    }

  return 0;
}

int
rfl_audit_cli_main (int    argc,
                    char **argv)
{
  g_autoptr(GError) error = NULL;
  Options options = { 0 };
  gboolean export;
  int status;

  g_set_prgname ("reflection audit");

  if (argc < 2)
    {
      print_command_line_error (_("name a command: verify or export"));
      return 2;
    }

  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")
      || g_str_equal (argv[1], "help"))
    {
      print_usage ();
      return 0;
    }

  if (g_str_equal (argv[1], "verify"))
    export = FALSE;
  else if (g_str_equal (argv[1], "export"))
    export = TRUE;
  else
    {
      g_autofree char *message = g_strdup_printf (_("unknown command “%s”"),
                                                  argv[1]);

      print_command_line_error (message);
      return 2;
    }

  g_set_prgname (export ? "reflection audit export" : "reflection audit verify");
  if (!parse_options (argc - 1, argv + 1, export, &options, &error))
    {
      print_command_line_error (error->message);
      g_free (options.data_dir);
      return 2;
    }

  status = export ? run_export (&options) : run_verify (&options);
  g_free (options.data_dir);
  return status;
}
