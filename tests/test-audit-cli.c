/* test-audit-cli.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

#include "core/rfl-paths.h"
#include "store/rfl-audit-log.h"
#include "store/rfl-database.h"

typedef struct
{
  char   *data_dir;
  char   *db_path;
  gint64  tenant_a;
  gint64  tenant_b;
} Fixture;

typedef struct
{
  char *out;
  char *err;
  int   status;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static char *
dup_binary (void)
{
  const char *binary = g_getenv ("RFL_REFLECTION_BINARY");

  if (binary != NULL && *binary != '\0')
    return g_strdup (binary);

  return g_test_build_filename (G_TEST_BUILT, "..", "src", "reflection", NULL);
}

/* Runs `reflection` with @args (NULL-terminated) and waits for it. */
static void
run_reflection (Run                *run,
                const char * const *args)
{
  g_autofree char *binary = dup_binary ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  int wait_status = 0;

  env = g_environ_unsetenv (env, "DISPLAY");
  env = g_environ_unsetenv (env, "WAYLAND_DISPLAY");
  env = g_environ_setenv (env, "LC_ALL", "C.UTF-8", TRUE);

  g_ptr_array_add (argv, binary);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
}

static void
append (RflAuditLog *log,
        gint64       tenant_id,
        const char  *action,
        const char  *detail)
{
  g_autoptr(GError) error = NULL;
  RflAuditActor actor = { 0 };

  g_assert_cmpint (rfl_audit_log_append (log, tenant_id, &actor, action, NULL,
                                         detail, &error), >, 0);
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflAuditLog) log = NULL;
  g_autoptr(GError) error = NULL;

  fixture->data_dir = g_build_filename (g_get_user_data_dir (), "reflection",
                                        NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->data_dir, 0700), ==, 0);
  fixture->db_path = rfl_paths_dup_database_path (fixture->data_dir);

  db = rfl_database_open (fixture->db_path, &error);
  g_assert_no_error (error);
  fixture->tenant_a = rfl_database_create_tenant (db, "Acme", "business",
                                                  &error);
  g_assert_no_error (error);
  fixture->tenant_b = rfl_database_create_tenant (db, "Beta", "business",
                                                  &error);
  g_assert_no_error (error);

  if (GPOINTER_TO_INT (data))
    {
      log = rfl_audit_log_new (db);
      append (log, fixture->tenant_a, "login", NULL);
      append (log, fixture->tenant_b, "quota_changed",
              "{\"tokens_per_day\":100,\"note\":\"a, \\\"quoted\\\" one\"}");
      append (log, fixture->tenant_a, "logout", NULL);
    }
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_free (fixture->data_dir);
  g_free (fixture->db_path);
}

static void
raw_exec (Fixture    *fixture,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (fixture->db_path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static void
test_verify_intact (Fixture       *fixture,
                    gconstpointer  data)
{
  g_auto(Run) run = { 0 };

  run_reflection (&run, (const char *[]) { "audit", "verify", "--data-dir",
                                           fixture->data_dir, NULL });
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "audit log: 3 entries, chain intact\n");
}

static void
test_verify_empty (Fixture       *fixture,
                   gconstpointer  data)
{
  g_auto(Run) run = { 0 };

  run_reflection (&run, (const char *[]) { "audit", "verify", "--data-dir",
                                           fixture->data_dir, NULL });
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "audit log: 0 entries, chain intact\n");
}

static void
test_verify_broken (Fixture       *fixture,
                    gconstpointer  data)
{
  g_auto(Run) run = { 0 };

  /* Someone with the file drops the trigger and edits entry 2. */
  raw_exec (fixture,
            "DROP TRIGGER audit_log_no_update;"
            "UPDATE audit_log SET detail = '{\"tokens_per_day\":0}' "
            "WHERE id = 2;");

  run_reflection (&run, (const char *[]) { "audit", "verify", "--data-dir",
                                           fixture->data_dir, NULL });
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.out,
                                   "audit log: entry 2 does not match the "
                                   "chain: "));
  g_assert_nonnull (strstr (run.out, "Entry 2"));
  g_assert_true (g_str_has_suffix (run.out, "\n"));
}

static guint
count_lines (const char *csv)
{
  guint n = 0;

  for (const char *p = csv; (p = strstr (p, "\r\n")) != NULL; p += 2)
    n++;
  return n;
}

static void
test_export (Fixture       *fixture,
             gconstpointer  data)
{
  g_auto(Run) all = { 0 };
  g_auto(Run) one = { 0 };
  g_autofree char *tenant = g_strdup_printf ("%" G_GINT64_FORMAT,
                                             fixture->tenant_a);
  g_autofree char *field = g_strdup_printf (",%" G_GINT64_FORMAT ",",
                                            fixture->tenant_a);
  g_auto(GStrv) lines = NULL;

  run_reflection (&all, (const char *[]) { "audit", "export", "--csv",
                                           "--data-dir", fixture->data_dir,
                                           NULL });
  g_assert_cmpint (all.status, ==, 0);
  g_assert_true (g_str_has_prefix (all.out,
                                   "id,time,tenant_id,actor_user_id,"
                                   "actor_api_key_id,action,target,detail,"
                                   "prev_hash,hash\r\n"));
  g_assert_cmpuint (count_lines (all.out), ==, 4);
  /* Oldest first; a detail with commas and quotes is quoted. */
  g_assert_true (strstr (all.out, "login") < strstr (all.out, "logout"));
  g_assert_nonnull (strstr (all.out, "\"{\"\"tokens_per_day\"\":100,"));

  run_reflection (&one, (const char *[]) { "audit", "export", "--csv",
                                           "--tenant", tenant, "--data-dir",
                                           fixture->data_dir, NULL });
  g_assert_cmpint (one.status, ==, 0);
  g_assert_cmpuint (count_lines (one.out), ==, 3);
  g_assert_null (strstr (one.out, "quota_changed"));
  lines = g_strsplit (one.out, "\r\n", -1);
  for (guint i = 1; lines[i] != NULL && *lines[i] != '\0'; i++)
    g_assert_nonnull (strstr (lines[i], field));
}

static void
assert_refused (const char * const *args,
                int                 status,
                const char         *fragment)
{
  g_auto(Run) run = { 0 };

  run_reflection (&run, args);
  g_assert_cmpint (run.status, ==, status);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_nonnull (strstr (run.err, fragment));
}

static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (fixture->data_dir, "none",
                                               NULL);
  g_autofree char *missing_db = rfl_paths_dup_database_path (missing);
  g_auto(Run) help = { 0 };

  assert_refused ((const char *[]) { "audit", NULL }, 2, "verify or export");
  assert_refused ((const char *[]) { "audit", "check", NULL }, 2, "“check”");
  assert_refused ((const char *[]) { "audit", "verify", "now", NULL }, 2,
                  "“now”");
  assert_refused ((const char *[]) { "audit", "export", "--data-dir",
                                     fixture->data_dir, NULL }, 2, "--csv");
  assert_refused ((const char *[]) { "audit", "export", "--csv", "--tenant",
                                     "-4", NULL }, 2, "-4");
  assert_refused ((const char *[]) { "audit", "export", "--csv", "--tenant",
                                     "acme", NULL }, 2, "acme");

  /* A folder without a database: nothing is created there. */
  assert_refused ((const char *[]) { "audit", "verify", "--data-dir", missing,
                                     NULL }, 1, "no database");
  assert_refused ((const char *[]) { "audit", "export", "--csv", "--data-dir",
                                     missing, NULL }, 1, "no database");
  g_assert_false (g_file_test (missing_db, G_FILE_TEST_EXISTS));

  run_reflection (&help, (const char *[]) { "--help", NULL });
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "reflection audit verify"));
  g_assert_nonnull (strstr (help.out, "reflection audit export --csv"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/rfl/audit-cli/verify-intact", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_verify_intact, fixture_teardown);
  g_test_add ("/rfl/audit-cli/verify-empty", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_verify_empty, fixture_teardown);
  g_test_add ("/rfl/audit-cli/verify-broken", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_verify_broken, fixture_teardown);
  g_test_add ("/rfl/audit-cli/export", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_export, fixture_teardown);
  g_test_add ("/rfl/audit-cli/refused", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_refused, fixture_teardown);

  return g_test_run ();
}
