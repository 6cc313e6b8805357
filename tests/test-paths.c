/* test-paths.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "core/rfl-error.h"
#include "core/rfl-paths.h"

static void
test_default (void)
{
  g_autofree char *dir = rfl_paths_dup_data_dir (NULL);
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "reflection", NULL);
  g_autofree char *db = rfl_paths_dup_database_path (dir);

  g_assert_cmpstr (dir, ==, expected);
  g_assert_true (g_str_has_suffix (db, "/reflection/reflection.db"));

  g_free (dir);
  dir = rfl_paths_dup_data_dir ("");
  g_assert_cmpstr (dir, ==, expected);
}

static void
test_creates (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "a", "b", NULL);
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_true (rfl_paths_ensure_writable (dir, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_unwritable (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "locked", NULL);
  g_autofree char *inner = g_build_filename (dir, "reflection", NULL);
  g_autoptr(GError) error = NULL;

  if (geteuid () == 0)
    {
      /* root writes through any mode; use a path under a regular file. */
      g_autofree char *file = g_build_filename (g_get_user_data_dir (), "plain", NULL);

      g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
      g_assert_true (g_file_set_contents (file, "x", 1, NULL));
      g_clear_pointer (&inner, g_free);
      inner = g_build_filename (file, "reflection", NULL);
    }
  else
    {
      g_assert_cmpint (g_mkdir_with_parents (dir, 0500), ==, 0);
    }

  g_assert_false (rfl_paths_ensure_writable (inner, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE);
  g_assert_nonnull (strstr (error->message, inner));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/paths/default", test_default);
  g_test_add_func ("/rfl/paths/creates", test_creates);
  g_test_add_func ("/rfl/paths/unwritable", test_unwritable);

  return g_test_run ();
}
