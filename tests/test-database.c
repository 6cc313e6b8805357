/* test-database.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "core/rfl-error.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"

/* Helpers */

static char *
dup_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "reflection", NULL);
}

static char *
dup_db_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "reflection",
                           "reflection.db", NULL);
}

static RflDatabase *
open_fresh (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  RflDatabase *db = rfl_database_open (path, &error);

  g_assert_no_error (error);
  g_assert_true (RFL_IS_DATABASE (db));
  return db;
}

static char *
query_text (RflDatabase *db,
            const char  *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  char *text = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (db), sql, -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  return text;
}

static gint64
query_int (RflDatabase *db,
           const char  *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (db), sql, -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

/* Runs @sql on @path through a connection of its own, as another program
 * would. */
static void
raw_exec (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static GBytes *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static void
assert_untouched (const char *path,
                  GBytes     *before)
{
  g_autoptr(GBytes) after = read_file (path);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);

  g_assert_true (g_bytes_equal (before, after));
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
}

static void
write_garbage (const char *path,
               gsize       size)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree guint8 *garbage = g_malloc (size);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < size; i++)
    garbage[i] = (guint8) g_rand_int_range (rand, 0, 256);

  g_file_set_contents (path, (const char *) garbage, size, &error);
  g_assert_no_error (error);
}

static void
ensure_data_dir (void)
{
  g_autofree char *dir = dup_data_dir ();

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
}

/* Opening, schema and pragmas */

static void
test_open_fresh (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autofree char *path = dup_db_path ();
  g_autofree char *journal = query_text (db, "PRAGMA journal_mode");
  int latest = _rfl_database_get_latest_version ();

  g_assert_cmpstr (rfl_database_get_path (db), ==, path);
  g_assert_cmpint (latest, >=, 1);
  g_assert_cmpint (rfl_database_get_schema_version (db), ==, latest);
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), ==, latest);
  g_assert_cmpint (query_int (db, "PRAGMA application_id"), ==,
                   RFL_DATABASE_APPLICATION_ID);
  g_assert_cmpstr (journal, ==, "wal");
  g_assert_cmpint (query_int (db, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (query_int (db, "PRAGMA busy_timeout"), ==, 5000);
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM sqlite_schema "
                                  "WHERE name IN ('tenants', 'users', "
                                  "'settings')"), ==, 3);
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 0);
}

static void
test_reopen (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  gint64 tenant, user;

  tenant = rfl_database_create_tenant (db, "Kept", "privacy", &error);
  g_assert_no_error (error);
  user = rfl_database_create_user (db, tenant, "kept@example.org", "Kept",
                                   "kept-password", RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);
  g_assert_cmpint (user, >, 0);
  g_assert_true (rfl_database_set_setting (db, "theme", "dark", &error));
  g_assert_no_error (error);

  g_clear_object (&db);
  db = open_fresh ();

  g_assert_cmpint (rfl_database_find_tenant (db, "kept", &error), ==, tenant);
  g_assert_cmpuint (rfl_database_count_users (db, tenant, &error), ==, 1);
  g_assert_true (rfl_database_check_password (db, tenant, "kept@example.org",
                                              "kept-password", &error));
  value = rfl_database_dup_setting (db, "theme", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "dark");
  g_assert_cmpint (rfl_database_get_schema_version (db), ==,
                   _rfl_database_get_latest_version ());
}

/* Tenants */

static void
test_tenant_create (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  g_autofree char *slug = NULL;
  g_autofree char *name = NULL;
  g_autofree char *use_case = NULL;
  gint64 id, other, unicode;

  id = rfl_database_create_tenant (db, "  Acme Health  ", "healthcare",
                                   &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 1);

  name = query_text (db, "SELECT name FROM tenants");
  slug = query_text (db, "SELECT slug FROM tenants");
  use_case = query_text (db, "SELECT use_case FROM tenants");
  g_assert_cmpstr (name, ==, "Acme Health");
  g_assert_cmpstr (slug, ==, "acme-health");
  g_assert_cmpstr (use_case, ==, "healthcare");
  g_assert_cmpint (query_int (db, "SELECT created_at FROM tenants"), >, 0);

  g_assert_cmpint (rfl_database_find_tenant (db, "acme health", &error), ==, id);
  g_assert_cmpint (rfl_database_find_tenant (db, " ACME HEALTH ", &error), ==,
                   id);
  g_assert_cmpint (rfl_database_find_tenant (db, "Acme", &error), ==, 0);
  g_assert_no_error (error);

  /* A different name with the same slug gets a numbered slug. */
  other = rfl_database_create_tenant (db, "Acme-Health!", "business", &error);
  g_assert_no_error (error);
  g_assert_cmpint (other, >, id);
  g_clear_pointer (&slug, g_free);
  slug = query_text (db, "SELECT slug FROM tenants ORDER BY id DESC");
  g_assert_cmpstr (slug, ==, "acme-health-2");

  unicode = rfl_database_create_tenant (db, "Ärzte Nord", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&slug, g_free);
  g_clear_pointer (&use_case, g_free);
  slug = query_text (db, "SELECT slug FROM tenants ORDER BY id DESC");
  use_case = query_text (db, "SELECT use_case FROM tenants ORDER BY id DESC");
  g_assert_cmpstr (slug, ==, "arzte-nord");
  g_assert_cmpstr (use_case, ==, "custom");
  g_assert_cmpint (rfl_database_find_tenant (db, "ÄRZTE NORD", &error), ==,
                   unicode);

  rfl_database_create_tenant (db, "診療所", "privacy", &error);
  g_assert_no_error (error);
  g_clear_pointer (&slug, g_free);
  slug = query_text (db, "SELECT slug FROM tenants ORDER BY id DESC");
  g_assert_cmpstr (slug, ==, "tenant");

  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 4);
}

static void
test_tenant_duplicate (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  const char *duplicates[] = { "Acme", "acme", "  ACME ", "ＡＣＭＥ" };

  g_assert_cmpint (rfl_database_create_tenant (db, "Acme", "business", &error),
                   >, 0);
  g_assert_no_error (error);
  g_assert_cmpint (rfl_database_create_tenant (db, "Ärzte", "business",
                                               &error), >, 0);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (duplicates); i++)
    {
      g_assert_cmpint (rfl_database_create_tenant (db, duplicates[i],
                                                   "business", &error), ==, 0);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
      g_assert_nonnull (strstr (error->message, "already exists"));
      g_clear_error (&error);
    }

  g_assert_cmpint (rfl_database_create_tenant (db, "ÄRZTE", "business",
                                               &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "ÄRZTE"));
  g_clear_error (&error);

  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 2);
}

static void
test_tenant_invalid (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  g_autofree char *long_name = g_strnfill (81, 'x');
  g_autofree char *max_name = g_strnfill (80, 'y');
  g_autofree char *long_unicode = NULL;
  GString *builder = g_string_new (NULL);
  static const struct {
    const char *name;
    const char *use_case;
    const char *message;
  } cases[] = {
    { "", "business", "The tenant name must not be empty" },
    { "   ", "business", "The tenant name must not be empty" },
    { NULL, "business", "The tenant name must not be empty" },
    { "Line\nbreak", "business", "control characters" },
    { "Dentists", "dentistry", "The use case “dentistry” is unknown" },
    { "Dentists", "", "is unknown" },
    { "Dentists", "Business", "is unknown" },
  };

  for (guint i = 0; i < 81; i++)
    g_string_append (builder, "é");
  long_unicode = g_string_free (builder, FALSE);

  g_assert_cmpint (rfl_database_create_tenant (db, "Existing", "business",
                                               &error), >, 0);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpint (rfl_database_create_tenant (db, cases[i].name,
                                                   cases[i].use_case,
                                                   &error), ==, 0);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_clear_error (&error);
      g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 1);
    }

  g_assert_cmpint (rfl_database_create_tenant (db, long_name, "business",
                                               &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "too long"));
  g_clear_error (&error);

  /* Characters count, not bytes. */
  g_assert_cmpint (rfl_database_create_tenant (db, long_unicode, "business",
                                               &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  long_unicode[strlen (long_unicode) - 2] = '\0';
  g_assert_cmpint (rfl_database_create_tenant (db, long_unicode, "business",
                                               &error), >, 0);
  g_assert_no_error (error);

  g_assert_cmpint (rfl_database_create_tenant (db, max_name, "business",
                                               &error), >, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 3);
}

/* Users */

static void
test_user_create (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  g_autofree char *email = NULL;
  g_autofree char *role = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *display = NULL;
  gint64 tenant, other, user, user2;

  tenant = rfl_database_create_tenant (db, "One", "business", &error);
  other = rfl_database_create_tenant (db, "Two", "business", &error);
  g_assert_no_error (error);

  user = rfl_database_create_user (db, tenant, "  Admin@Example.ORG ",
                                   "  Ada Admin ", "first-password",
                                   RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
  g_assert_cmpint (user, >, 0);

  email = query_text (db, "SELECT email FROM users");
  role = query_text (db, "SELECT role FROM users");
  hash = query_text (db, "SELECT password_hash FROM users");
  display = query_text (db, "SELECT display_name FROM users");
  g_assert_cmpstr (email, ==, "admin@example.org");
  g_assert_cmpstr (role, ==, "tenant_admin");
  g_assert_cmpstr (display, ==, "Ada Admin");
  g_assert_true (g_str_has_prefix (hash, "$argon2id$"));
  g_assert_null (strstr (hash, "first-password"));

  /* The same address may exist in another tenant. */
  user2 = rfl_database_create_user (db, other, "admin@example.org", NULL,
                                    "second-password", RFL_ROLE_MEMBER,
                                    &error);
  g_assert_no_error (error);
  g_assert_cmpint (user2, >, user);

  g_assert_cmpuint (rfl_database_count_users (db, tenant, &error), ==, 1);
  g_assert_cmpuint (rfl_database_count_users (db, other, &error), ==, 1);
  g_assert_no_error (error);

  /* Passwords are checked per tenant. */
  g_assert_true (rfl_database_check_password (db, tenant, "admin@example.org",
                                              "first-password", &error));
  g_assert_true (rfl_database_check_password (db, tenant, " ADMIN@example.org",
                                              "first-password", &error));
  g_assert_false (rfl_database_check_password (db, tenant, "admin@example.org",
                                               "second-password", &error));
  g_assert_no_error (error);
  g_assert_true (rfl_database_check_password (db, other, "admin@example.org",
                                              "second-password", &error));
  g_assert_false (rfl_database_check_password (db, tenant,
                                               "nobody@example.org",
                                               "first-password", &error));
  g_assert_false (rfl_database_check_password (db, 999, "admin@example.org",
                                               "first-password", &error));
  g_assert_false (rfl_database_check_password (db, tenant, NULL,
                                               "first-password", &error));
  g_assert_false (rfl_database_check_password (db, tenant, "admin@example.org",
                                               NULL, &error));
  g_assert_no_error (error);

  /* A disabled account does not log in. */
  g_assert_cmpint (sqlite3_exec (_rfl_database_get_handle (db),
                                 "UPDATE users SET status = 'disabled'",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_false (rfl_database_check_password (db, tenant, "admin@example.org",
                                               "first-password", &error));
  g_assert_no_error (error);
}

static void
test_user_invalid (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  g_autofree char *long_local = g_strnfill (250, 'a');
  g_autofree char *long_email = g_strconcat (long_local, "@b.org", NULL);
  g_autofree char *long_name = g_strnfill (121, 'n');
  gint64 tenant;
  static const struct {
    const char *email;
    const char *password;
    const char *message;
  } cases[] = {
    { "", "long-enough", "must not be empty" },
    { "   ", "long-enough", "must not be empty" },
    { NULL, "long-enough", "must not be empty" },
    { "nobody", "long-enough", "exactly one “@”" },
    { "a@b@example.org", "long-enough", "exactly one “@”" },
    { "@example.org", "long-enough", "nothing before" },
    { "a@example", "long-enough", "needs a dot" },
    { "a@.org", "long-enough", "needs a dot" },
    { "a@org.", "long-enough", "needs a dot" },
    { "a@exa..org", "long-enough", "needs a dot" },
    { "a b@example.org", "long-enough", "must not contain spaces" },
    { "a\tb@example.org", "long-enough", "must not contain spaces" },
    { "new@example.org", "short", "too short" },
    { "new@example.org", "", "too short" },
    { "new@example.org", NULL, "too short" },
    { "new@example.org", "1234567", "too short" },
  };

  tenant = rfl_database_create_tenant (db, "Tenant", "business", &error);
  rfl_database_create_user (db, tenant, "taken@example.org", "Taken",
                            "taken-password", RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s / %s", cases[i].email, cases[i].password);
      g_assert_cmpint (rfl_database_create_user (db, tenant, cases[i].email,
                                                 "Name", cases[i].password,
                                                 RFL_ROLE_MEMBER, &error), ==,
                       0);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_clear_error (&error);
      g_assert_cmpuint (rfl_database_count_users (db, tenant, NULL), ==, 1);
    }

  g_assert_cmpint (strlen (long_email), ==, 256);
  g_assert_cmpint (rfl_database_create_user (db, tenant, long_email, NULL,
                                             "long-enough", RFL_ROLE_MEMBER,
                                             &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_cmpint (rfl_database_create_user (db, tenant, "new@example.org",
                                             long_name, "long-enough",
                                             RFL_ROLE_MEMBER, &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Duplicate address, in any case. */
  g_assert_cmpint (rfl_database_create_user (db, tenant, "Taken@Example.org",
                                             NULL, "other-password",
                                             RFL_ROLE_MEMBER, &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "taken@example.org"));
  g_clear_error (&error);

  /* The password of the existing user was not touched. */
  g_assert_true (rfl_database_check_password (db, tenant, "taken@example.org",
                                              "taken-password", &error));
  g_assert_false (rfl_database_check_password (db, tenant,
                                               "taken@example.org",
                                               "other-password", &error));

  g_assert_cmpint (rfl_database_create_user (db, tenant + 100,
                                             "new@example.org", NULL,
                                             "long-enough", RFL_ROLE_MEMBER,
                                             &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_cmpuint (rfl_database_count_users (db, tenant, NULL), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM users"), ==, 1);
}

/* Settings */

static void
test_settings (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;

  value = rfl_database_dup_setting (db, "missing", &error);
  g_assert_no_error (error);
  g_assert_null (value);

  g_assert_true (rfl_database_set_setting (db, "provider", "ollama", &error));
  g_assert_no_error (error);
  value = rfl_database_dup_setting (db, "provider", &error);
  g_assert_cmpstr (value, ==, "ollama");
  g_clear_pointer (&value, g_free);

  g_assert_true (rfl_database_set_setting (db, "provider", "openai", &error));
  g_assert_true (rfl_database_set_setting (db, "empty", "", &error));
  g_assert_no_error (error);
  value = rfl_database_dup_setting (db, "provider", &error);
  g_assert_cmpstr (value, ==, "openai");
  g_clear_pointer (&value, g_free);
  value = rfl_database_dup_setting (db, "empty", &error);
  g_assert_cmpstr (value, ==, "");

  g_assert_cmpint (query_int (db, "SELECT count(*) FROM settings"), ==, 2);
}

/* Files that must be left alone */

static void
test_corrupt (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GBytes) before = NULL;

  ensure_data_dir ();
  write_garbage (path, 4096);
  before = read_file (path);

  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_CORRUPT);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "untouched"));
  assert_untouched (path, before);

  /* A second attempt fails the same way. */
  g_clear_error (&error);
  db = rfl_database_open (path, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_CORRUPT);
  assert_untouched (path, before);
}

static void
test_corrupt_pages (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) valid = NULL;
  g_autofree guint8 *damaged = NULL;
  gsize size;

  ensure_data_dir ();
  raw_exec (path,
            "PRAGMA page_size = 4096;"
            "CREATE TABLE t (x TEXT);"
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 2000) INSERT INTO t SELECT hex (randomblob (64)) "
            "FROM n;");

  /* Overwrite the second page, the root of the table, with garbage. */
  valid = read_file (path);
  size = g_bytes_get_size (valid);
  g_assert_cmpuint (size, >, 3 * 4096);
  damaged = g_memdup2 (g_bytes_get_data (valid, NULL), size);
  memset (damaged + 4096 + 8, 0xa5, 4096 - 8);
  g_assert_true (g_file_set_contents (path, (const char *) damaged, size,
                                      NULL));
  before = read_file (path);

  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_CORRUPT);
  g_assert_nonnull (strstr (error->message, path));
  assert_untouched (path, before);
}

static void
test_foreign (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GBytes) before = NULL;

  ensure_data_dir ();
  raw_exec (path, "CREATE TABLE notes (body TEXT);"
                  "INSERT INTO notes VALUES ('keep me');");
  before = read_file (path);

  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_CORRUPT);
  g_assert_nonnull (strstr (error->message, "another program"));
  assert_untouched (path, before);
}

static void
test_too_new (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GBytes) before = NULL;

  /* A Reflection database from the future. */
  db = open_fresh ();
  g_assert_cmpint (rfl_database_create_tenant (db, "Future", "business",
                                               &error), >, 0);
  g_clear_object (&db);
  raw_exec (path, "PRAGMA user_version = 999");
  before = read_file (path);

  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_TOO_NEW);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "999"));
  assert_untouched (path, before);
}

static void
test_too_new_bare (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GBytes) before = NULL;

  ensure_data_dir ();
  raw_exec (path, "PRAGMA user_version = 999");
  before = read_file (path);

  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_TOO_NEW);
  assert_untouched (path, before);
}

static void
test_not_writable (void)
{
  g_autofree char *plain = g_build_filename (g_get_user_data_dir (), "plain",
                                             NULL);
  g_autofree char *path = g_build_filename (plain, "reflection",
                                            "reflection.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDatabase) db = NULL;

  /* A path under a regular file cannot be created, even by root. */
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_assert_true (g_file_set_contents (plain, "x", 1, NULL));

  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* Migrations */

static void
test_migration_rollback (void)
{
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  int latest = rfl_database_get_schema_version (db);

  g_assert_false (_rfl_database_apply_migration (db, latest + 1,
                                                 "900-bogus.sql",
                                                 "CREATE TABLE bogus (a);"
                                                 "INSERT INTO tenants (name, "
                                                 "name_key, slug) VALUES "
                                                 "('half', 'half', 'half');"
                                                 "INSERT INTO no_such_table "
                                                 "VALUES (1);",
                                                 &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  g_assert_nonnull (strstr (error->message, "900-bogus.sql"));
  g_assert_nonnull (strstr (error->message, "no_such_table"));
  g_clear_error (&error);

  g_assert_cmpint (rfl_database_get_schema_version (db), ==, latest);
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), ==, latest);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM sqlite_schema "
                                  "WHERE name = 'bogus'"), ==, 0);
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 0);
  g_assert_true (sqlite3_get_autocommit (_rfl_database_get_handle (db)));

  /* The connection still works after the rollback. */
  g_assert_cmpint (rfl_database_create_tenant (db, "After", "business",
                                               &error), >, 0);
  g_assert_no_error (error);
}

static void
test_migration_apply (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(RflDatabase) db = open_fresh ();
  g_autoptr(GError) error = NULL;
  int latest = rfl_database_get_schema_version (db);

  g_assert_true (_rfl_database_apply_migration (db, latest + 1,
                                                "901-extra.sql",
                                                "CREATE TABLE extra (a);",
                                                &error));
  g_assert_no_error (error);
  g_assert_cmpint (rfl_database_get_schema_version (db), ==, latest + 1);
  g_assert_cmpint (query_int (db, "PRAGMA user_version"), ==, latest + 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM sqlite_schema "
                                  "WHERE name = 'extra'"), ==, 1);

  /* This version of Reflection does not know that schema. */
  g_clear_object (&db);
  db = rfl_database_open (path, &error);
  g_assert_null (db);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE_TOO_NEW);
}

/* Setup */

typedef struct
{
  gboolean        done;
  RflSetupResult *result;
  GError         *error;
} SetupWait;

static void
setup_done_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  SetupWait *wait = user_data;

  wait->result = rfl_database_setup_finish (result, &wait->error);
  wait->done = TRUE;
}

static RflSetupResult *
run_setup (const RflSetupRequest  *request,
           GCancellable           *cancellable,
           GError                **error)
{
  SetupWait wait = { 0 };

  rfl_database_setup_async (request, cancellable, setup_done_cb, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);

  if (wait.error != NULL)
    {
      g_assert_null (wait.result);
      g_propagate_error (error, wait.error);
    }

  return wait.result;
}

static char *
dup_role (RflDatabase *db,
          gint64       user_id)
{
  g_autofree char *sql = g_strdup_printf ("SELECT role FROM users WHERE id = "
                                          "%" G_GINT64_FORMAT, user_id);

  return query_text (db, sql);
}

static void
test_setup (void)
{
  g_autofree char *data_dir = dup_data_dir ();
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSetupResult) result = NULL;
  g_autoptr(RflSetupResult) again = NULL;
  g_autoptr(RflSetupResult) second = NULL;
  g_autoptr(RflSetupResult) colleague = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autofree char *role = NULL;
  g_autofree char *completed = NULL;
  RflSetupRequest request = {
    .data_dir = data_dir,
    .tenant_name = "  Clinic Nord ",
    .use_case = "healthcare",
    .admin_email = "Chief@Clinic.example",
    .admin_name = "Dr. Chief",
    .admin_password = "first-setup-password",
  };

  result = run_setup (&request, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpstr (result->database_path, ==, path);
  g_assert_cmpint (result->tenant_id, >, 0);
  g_assert_cmpint (result->admin_user_id, >, 0);
  g_assert_false (result->tenant_existed);

  db = open_fresh ();
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 1);
  g_assert_cmpint (rfl_database_find_tenant (db, "clinic nord", NULL), ==,
                   result->tenant_id);
  g_assert_cmpuint (rfl_database_count_users (db, result->tenant_id, NULL),
                    ==, 1);
  role = dup_role (db, result->admin_user_id);
  g_assert_cmpstr (role, ==, "system_admin");
  g_assert_true (rfl_database_check_password (db, result->tenant_id,
                                              "chief@clinic.example",
                                              "first-setup-password", NULL));
  completed = rfl_database_dup_setting (db, "setup-completed-at", &error);
  g_assert_no_error (error);
  g_assert_nonnull (completed);
  g_assert_true (g_str_has_suffix (completed, "Z"));
  g_clear_object (&db);

  /* A re-run keeps the tenant and never replaces the password. */
  request.tenant_name = "CLINIC NORD";
  request.admin_password = "another-password";
  request.use_case = "business";
  again = run_setup (&request, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again->tenant_existed);
  g_assert_cmpint (again->tenant_id, ==, result->tenant_id);
  g_assert_cmpint (again->admin_user_id, ==, result->admin_user_id);

  db = open_fresh ();
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 1);
  g_assert_cmpuint (rfl_database_count_users (db, result->tenant_id, NULL),
                    ==, 1);
  g_assert_true (rfl_database_check_password (db, result->tenant_id,
                                              "chief@clinic.example",
                                              "first-setup-password", NULL));
  g_assert_false (rfl_database_check_password (db, result->tenant_id,
                                               "chief@clinic.example",
                                               "another-password", NULL));
  g_clear_pointer (&role, g_free);
  role = query_text (db, "SELECT use_case FROM tenants");
  g_assert_cmpstr (role, ==, "healthcare");
  g_clear_object (&db);

  /* A re-run with a new address adds a tenant administrator. */
  request.admin_email = "deputy@clinic.example";
  colleague = run_setup (&request, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (colleague->tenant_existed);
  g_assert_cmpint (colleague->admin_user_id, !=, result->admin_user_id);

  /* The administrator of a second tenant is not a system administrator. */
  request.tenant_name = "Practice Süd";
  request.admin_email = "boss@sued.example";
  second = run_setup (&request, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (second->tenant_existed);
  g_assert_cmpint (second->tenant_id, !=, result->tenant_id);

  db = open_fresh ();
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 2);
  g_assert_cmpuint (rfl_database_count_users (db, result->tenant_id, NULL),
                    ==, 2);
  g_clear_pointer (&role, g_free);
  role = dup_role (db, colleague->admin_user_id);
  g_assert_cmpstr (role, ==, "tenant_admin");
  g_clear_pointer (&role, g_free);
  role = dup_role (db, second->admin_user_id);
  g_assert_cmpstr (role, ==, "tenant_admin");
}

static void
test_setup_default_dir (void)
{
  g_autofree char *path = dup_db_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSetupResult) result = NULL;
  RflSetupRequest request = {
    .tenant_name = "Default",
    .use_case = "privacy",
    .admin_email = "me@example.org",
    .admin_password = "default-password",
  };

  result = run_setup (&request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result->database_path, ==, path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
}

static void
test_setup_invalid (void)
{
  g_autofree char *data_dir = dup_data_dir ();
  g_autofree char *path = dup_db_path ();
  static const struct {
    const char *tenant;
    const char *use_case;
    const char *email;
    const char *password;
  } cases[] = {
    { "Tenant", "business", "not-an-address", "good-password" },
    { "Tenant", "business", "a@b", "good-password" },
    { "Tenant", "business", "admin@example.org", "short" },
    { "Tenant", "astrology", "admin@example.org", "good-password" },
    { "   ", "business", "admin@example.org", "good-password" },
  };
  g_autoptr(RflSetupResult) first = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      RflSetupRequest request = {
        .data_dir = data_dir,
        .tenant_name = (char *) cases[i].tenant,
        .use_case = (char *) cases[i].use_case,
        .admin_email = (char *) cases[i].email,
        .admin_password = (char *) cases[i].password,
      };
      RflSetupResult *result = run_setup (&request, NULL, &error);

      g_assert_null (result);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_clear_error (&error);

      /* Nothing was created, not even the folder. */
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (data_dir, G_FILE_TEST_EXISTS));
    }

  /* After a successful setup, bad input still changes nothing. */
  {
    RflSetupRequest request = {
      .data_dir = data_dir,
      .tenant_name = "Tenant",
      .use_case = "business",
      .admin_email = "admin@example.org",
      .admin_password = "good-password",
    };
    RflSetupResult *result;

    first = run_setup (&request, NULL, &error);
    g_assert_no_error (error);

    request.tenant_name = "Another";
    request.admin_email = "invalid";
    result = run_setup (&request, NULL, &error);
    g_assert_null (result);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
    g_clear_error (&error);
  }

  db = open_fresh ();
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM users"), ==, 1);
}

static void
test_setup_cancelled (void)
{
  g_autofree char *data_dir = dup_data_dir ();
  g_autofree char *path = dup_db_path ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  RflSetupResult *result;
  RflSetupRequest request = {
    .data_dir = data_dir,
    .tenant_name = "Tenant",
    .use_case = "business",
    .admin_email = "admin@example.org",
    .admin_password = "good-password",
  };

  g_cancellable_cancel (cancellable);
  result = run_setup (&request, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_setup_rolls_back (void)
{
  g_autofree char *data_dir = dup_data_dir ();
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;
  RflSetupResult *result;
  RflSetupRequest request = {
    .data_dir = data_dir,
    .tenant_name = "Half",
    .use_case = "business",
    .admin_email = "admin@example.org",
    .admin_password = "good-password",
  };

  /* Make the last write of the setup fail, after the tenant and the user
   * were inserted: nothing of it may remain. */
  db = open_fresh ();
  g_assert_cmpint (sqlite3_exec (_rfl_database_get_handle (db),
                                 "CREATE TRIGGER no_settings BEFORE INSERT ON "
                                 "settings BEGIN SELECT RAISE (ABORT, "
                                 "'settings are frozen'); END;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_clear_object (&db);

  result = run_setup (&request, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  g_assert_nonnull (strstr (error->message, "settings are frozen"));

  db = open_fresh ();
  g_assert_cmpuint (rfl_database_count_tenants (db, NULL), ==, 0);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM users"), ==, 0);
}

static void
test_setup_not_writable (void)
{
  g_autofree char *plain = g_build_filename (g_get_user_data_dir (), "plain",
                                             NULL);
  g_autofree char *data_dir = g_build_filename (plain, "reflection", NULL);
  g_autoptr(GError) error = NULL;
  RflSetupResult *result;
  RflSetupRequest request = {
    .data_dir = data_dir,
    .tenant_name = "Tenant",
    .use_case = "business",
    .admin_email = "admin@example.org",
    .admin_password = "good-password",
  };

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_assert_true (g_file_set_contents (plain, "x", 1, NULL));

  result = run_setup (&request, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE);
  g_assert_nonnull (strstr (error->message, data_dir));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/database/open-fresh", test_open_fresh);
  g_test_add_func ("/rfl/database/reopen", test_reopen);
  g_test_add_func ("/rfl/database/tenant-create", test_tenant_create);
  g_test_add_func ("/rfl/database/tenant-duplicate", test_tenant_duplicate);
  g_test_add_func ("/rfl/database/tenant-invalid", test_tenant_invalid);
  g_test_add_func ("/rfl/database/user-create", test_user_create);
  g_test_add_func ("/rfl/database/user-invalid", test_user_invalid);
  g_test_add_func ("/rfl/database/settings", test_settings);
  g_test_add_func ("/rfl/database/corrupt", test_corrupt);
  g_test_add_func ("/rfl/database/corrupt-pages", test_corrupt_pages);
  g_test_add_func ("/rfl/database/foreign", test_foreign);
  g_test_add_func ("/rfl/database/too-new", test_too_new);
  g_test_add_func ("/rfl/database/too-new-bare", test_too_new_bare);
  g_test_add_func ("/rfl/database/not-writable", test_not_writable);
  g_test_add_func ("/rfl/database/migration-rollback",
                   test_migration_rollback);
  g_test_add_func ("/rfl/database/migration-apply", test_migration_apply);
  g_test_add_func ("/rfl/database/setup", test_setup);
  g_test_add_func ("/rfl/database/setup-default-dir", test_setup_default_dir);
  g_test_add_func ("/rfl/database/setup-invalid", test_setup_invalid);
  g_test_add_func ("/rfl/database/setup-cancelled", test_setup_cancelled);
  g_test_add_func ("/rfl/database/setup-rolls-back", test_setup_rolls_back);
  g_test_add_func ("/rfl/database/setup-not-writable",
                   test_setup_not_writable);

  return g_test_run ();
}
