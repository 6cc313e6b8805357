/* test-reader-pool.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "core/rfl-error.h"
#include "store/rfl-database-private.h"
#include "store/rfl-reader-pool.h"

#define N_THREADS   4
#define N_READS     300
#define N_WRITES    200

static RflDatabase *
open_database (void)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  RflDatabase *db;

  path = g_build_filename (g_get_user_data_dir (), "reflection.db", NULL);
  db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (_rfl_database_exec (db,
                                     "CREATE TABLE numbers (n INTEGER NOT NULL);"
                                     "INSERT INTO numbers VALUES (1), (2), (3);",
                                     &error));
  g_assert_no_error (error);

  return db;
}

/* SELECT count(*) FROM numbers through @reader. */
static gint64
count_numbers (RflReader *reader)
{
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;
  gint64 n;

  stmt = rfl_reader_prepare (reader, "SELECT count(*) FROM numbers", &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  return n;
}

/* A reader sees what is committed, never the writer's open transaction,
 * and cannot write. */
static void
test_committed_only (void)
{
  g_autoptr(RflDatabase) db = open_database ();
  g_autoptr(RflReaderPool) pool = rfl_reader_pool_new (rfl_database_get_path (db));
  g_autoptr(GError) error = NULL;
  RflReader *reader;
  sqlite3_stmt *insert;

  reader = rfl_reader_pool_acquire (pool, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count_numbers (reader), ==, 3);

  g_assert_true (_rfl_database_exec (db, "BEGIN; INSERT INTO numbers VALUES (4);",
                                     &error));
  g_assert_cmpint (count_numbers (reader), ==, 3);
  g_assert_true (_rfl_database_exec (db, "COMMIT", &error));
  g_assert_cmpint (count_numbers (reader), ==, 4);

  insert = rfl_reader_prepare (reader, "INSERT INTO numbers VALUES (5)", &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (insert) & 0xff, ==, SQLITE_READONLY);
  sqlite3_reset (insert);
  g_assert_cmpint (count_numbers (reader), ==, 4);

  /* A statement that does not prepare names the database. */
  g_assert_null (rfl_reader_prepare (reader, "SELECT * FROM nowhere", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  g_assert_nonnull (strstr (error->message, "nowhere"));

  rfl_reader_pool_release (pool, reader);
}

/* A released reader is handed out again; two at once are two
 * connections. */
static void
test_reuse (void)
{
  g_autoptr(RflDatabase) db = open_database ();
  g_autoptr(RflReaderPool) pool = rfl_reader_pool_new (rfl_database_get_path (db));
  g_autoptr(GError) error = NULL;
  RflReader *first;
  RflReader *second;

  g_assert_cmpuint (rfl_reader_pool_get_size (pool), ==, 0);
  first = rfl_reader_pool_acquire (pool, &error);
  g_assert_no_error (error);
  rfl_reader_pool_release (pool, first);
  second = rfl_reader_pool_acquire (pool, &error);
  g_assert_true (second == first);
  g_assert_cmpuint (rfl_reader_pool_get_size (pool), ==, 1);

  first = rfl_reader_pool_acquire (pool, &error);
  g_assert_no_error (error);
  g_assert_true (first != second);
  g_assert_cmpuint (rfl_reader_pool_get_size (pool), ==, 2);
  g_assert_cmpint (count_numbers (first), ==, 3);
  g_assert_cmpint (count_numbers (second), ==, 3);

  rfl_reader_pool_release (pool, first);
  rfl_reader_pool_release (pool, second);
  g_assert_cmpuint (rfl_reader_pool_get_size (pool), ==, 2);
}

/* A file that is not there is an error, and leaves no connection open. */
static void
test_missing_file (void)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "absent.db", NULL);
  g_autoptr(RflReaderPool) pool = rfl_reader_pool_new (path);
  g_autoptr(GError) error = NULL;

  g_assert_null (rfl_reader_pool_acquire (pool, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  g_assert_nonnull (strstr (error->message, "absent.db"));
  g_assert_cmpuint (rfl_reader_pool_get_size (pool), ==, 0);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static gpointer
read_many (gpointer data)
{
  RflReaderPool *pool = data;
  gint64 last = 0;

  for (guint i = 0; i < N_READS; i++)
    {
      g_autoptr(GError) error = NULL;
      RflReader *reader = rfl_reader_pool_acquire (pool, &error);
      gint64 n;

      g_assert_no_error (error);
      n = count_numbers (reader);
      rfl_reader_pool_release (pool, reader);

      /* Commits only add rows: a later read never sees fewer. */
      g_assert_cmpint (n, >=, last);
      g_assert_cmpint (n, <=, 3 + N_WRITES);
      last = n;
    }

  return NULL;
}

/* Workers read while the owner of the database commits. */
static void
test_concurrent (void)
{
  g_autoptr(RflDatabase) db = open_database ();
  g_autoptr(RflReaderPool) pool = rfl_reader_pool_new (rfl_database_get_path (db));
  GThread *threads[N_THREADS];
  RflReader *reader;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("reader", read_many, pool);
  for (guint i = 0; i < N_WRITES; i++)
    {
      g_assert_true (_rfl_database_exec (db, "INSERT INTO numbers VALUES (0)",
                                         &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  g_assert_cmpuint (rfl_reader_pool_get_size (pool), >=, 1);
  g_assert_cmpuint (rfl_reader_pool_get_size (pool), <=, N_THREADS);
  reader = rfl_reader_pool_acquire (pool, &error);
  g_assert_no_error (error);
  g_assert_cmpint (count_numbers (reader), ==, 3 + N_WRITES);
  rfl_reader_pool_release (pool, reader);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/reader-pool/committed-only", test_committed_only);
  g_test_add_func ("/rfl/reader-pool/reuse", test_reuse);
  g_test_add_func ("/rfl/reader-pool/missing-file", test_missing_file);
  g_test_add_func ("/rfl/reader-pool/concurrent", test_concurrent);

  return g_test_run ();
}
