/* test-text-index.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <sqlite3.h>

#include "store/rfl-store-private.h"
#include "store/rfl-text-index.h"

#define N_ROWS    600
#define N_QUERIES 200
#define LIMIT     20

static const char * const vocabulary[] = {
  "coffee", "Coffee", "garden", "GARDEN", "train", "ticket", "monday",
  "doctor", "appointment", "knee", "sister", "birthday", "piano", "guitar",
  "winter", "holiday", "mountain", "peanuts", "allergy", "museum",
  "painting", "city", "bread", "cheese", "invoice", "deadline", "yoga",
  "café", "CAFÉ", "Über", "über", "naïve", "résumé", "Zürich", "marathon",
  "cat", "dog", "parrot", "42", "2026",
};

static const char * const separators[] = { " ", ", ", ". ", " - ", "; ", "\n" };

static char *
random_text (GRand *rand,
             guint  min_words,
             guint  max_words)
{
  GString *text = g_string_new (NULL);
  guint n = (guint) g_rand_int_range (rand, (gint32) min_words,
                                      (gint32) max_words + 1);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (text, separators[g_rand_int_range (rand, 0, G_N_ELEMENTS (separators))]);
      g_string_append (text, vocabulary[g_rand_int_range (rand, 0, G_N_ELEMENTS (vocabulary))]);
    }

  return g_string_free (text, FALSE);
}

static void
exec (sqlite3    *db,
      const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

/* The ids FTS5 ranks best for @query among @user_id's rows. */
static guint
fts_search (sqlite3    *db,
            const char *query,
            gint64      user_id,
            gint64     *ids)
{
  g_autofree char *match = _rfl_store_fts_query (query, RFL_FTS_MATCH_ANY);
  sqlite3_stmt *stmt = NULL;
  guint n = 0;
  int rc;

  if (match == NULL)
    return 0;

  rc = sqlite3_prepare_v2 (db,
                           "SELECT d.id FROM docs_fts"
                           " JOIN docs AS d ON d.id = docs_fts.rowid"
                           " WHERE docs_fts MATCH ?1"
                           "   AND (?2 = 0 OR d.user_id = ?2)"
                           " ORDER BY bm25 (docs_fts), d.id LIMIT ?3",
                           -1, &stmt, NULL);
  g_assert_cmpint (rc, ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, match, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int (stmt, 3, LIMIT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ids[n++] = sqlite3_column_int64 (stmt, 0);
  g_assert_cmpint (rc, ==, SQLITE_DONE);
  sqlite3_finalize (stmt);

  return n;
}

/* On random rows and queries the index returns what FTS5 returns, in the
 * same order: same words, same BM25, same ties. */
static void
test_same_as_fts5 (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261127);
  g_autoptr(RflTextIndex) index = rfl_text_index_new ();
  sqlite3 *db = NULL;
  sqlite3_stmt *insert = NULL;
  guint n_compared = 0, n_nonempty = 0;

  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  exec (db, "CREATE TABLE docs (id INTEGER PRIMARY KEY, user_id INTEGER,"
            " key TEXT, value TEXT);"
            "CREATE VIRTUAL TABLE docs_fts USING fts5 (key, value,"
            " content = 'docs', content_rowid = 'id',"
            " tokenize = 'unicode61 remove_diacritics 2');");
  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO docs VALUES (?1, ?2, ?3, ?4)",
                                       -1, &insert, NULL), ==, SQLITE_OK);

  for (gint64 id = 1; id <= N_ROWS; id++)
    {
      g_autofree char *key = random_text (rand, 1, 2);
      g_autofree char *value = random_text (rand, 0, 14);
      g_autofree char *joined = g_strconcat (key, " ", value, NULL);
      gint64 user = g_rand_int_range (rand, 1, 4);

      /* Ids with gaps, as deleted rows leave them. */
      gint64 row = id * 3;

      sqlite3_bind_int64 (insert, 1, row);
      sqlite3_bind_int64 (insert, 2, user);
      sqlite3_bind_text (insert, 3, key, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 4, value, -1, SQLITE_STATIC);
      g_assert_cmpint (sqlite3_step (insert), ==, SQLITE_DONE);
      sqlite3_reset (insert);
      rfl_text_index_add (index, row, user, joined);
    }
  sqlite3_finalize (insert);
  exec (db, "INSERT INTO docs_fts (docs_fts) VALUES ('rebuild')");

  g_assert_cmpuint (rfl_text_index_get_count (index), ==, N_ROWS);

  for (guint q = 0; q < N_QUERIES; q++)
    {
      g_autofree char *query = random_text (rand, 1, 4);
      gint64 user = g_rand_int_range (rand, 0, 4);
      gint64 expected[LIMIT], got[LIMIT];
      guint n_expected, n_got;

      n_expected = fts_search (db, query, user, expected);
      n_got = rfl_text_index_search (index, query, user, LIMIT, got);

      g_test_message ("query “%s”, user %" G_GINT64_FORMAT ": %u rows",
                      query, user, n_expected);
      g_assert_cmpuint (n_got, ==, n_expected);
      for (guint i = 0; i < n_got; i++)
        g_assert_cmpint (got[i], ==, expected[i]);

      n_compared++;
      n_nonempty += n_expected > 0;
    }

  /* The comparison was not vacuous. */
  g_assert_cmpuint (n_compared, ==, N_QUERIES);
  g_assert_cmpuint (n_nonempty, >, N_QUERIES / 2);

  sqlite3_close (db);
}

static void
test_folding (void)
{
  g_autoptr(RflTextIndex) index = rfl_text_index_new ();
  gint64 ids[4];

  rfl_text_index_add (index, 10, 1, "Café in Zürich");
  rfl_text_index_add (index, 11, 1, "ÜBER-naïve; résumé!");
  rfl_text_index_add (index, 12, 2, "cafe cafe cafe");

  g_assert_cmpuint (rfl_text_index_search (index, "CAFE", 1, 4, ids), ==, 1);
  g_assert_cmpint (ids[0], ==, 10);
  g_assert_cmpuint (rfl_text_index_search (index, "zurich", 0, 4, ids), ==, 1);
  g_assert_cmpuint (rfl_text_index_search (index, "uber naive", 0, 4, ids), ==, 1);
  g_assert_cmpint (ids[0], ==, 11);
  g_assert_cmpuint (rfl_text_index_search (index, "Resume", 0, 4, ids), ==, 1);

  /* More occurrences rank higher; the limit holds. */
  g_assert_cmpuint (rfl_text_index_search (index, "café", 0, 4, ids), ==, 2);
  g_assert_cmpint (ids[0], ==, 12);
  g_assert_cmpuint (rfl_text_index_search (index, "café", 0, 1, ids), ==, 1);

  /* No words, unknown words, punctuation only: nothing. */
  g_assert_cmpuint (rfl_text_index_search (index, "", 0, 4, ids), ==, 0);
  g_assert_cmpuint (rfl_text_index_search (index, "?! -- ...", 0, 4, ids), ==, 0);
  g_assert_cmpuint (rfl_text_index_search (index, "tokyo", 0, 4, ids), ==, 0);
  /* Invalid UTF-8 is searched as far as it is valid, never crashes. */
  g_assert_cmpuint (rfl_text_index_search (index, "caf\xff\xfe zurich", 0, 4, ids), ==, 1);
}

static void
test_users (void)
{
  g_autoptr(RflTextIndex) index = rfl_text_index_new ();
  gint64 user = 0;

  rfl_text_index_add (index, 1, 7, "one");
  rfl_text_index_add (index, 2, 7, "two");
  rfl_text_index_add (index, 3, 8, "three");

  g_assert_cmpuint (rfl_text_index_count_user (index, 7), ==, 2);
  g_assert_cmpuint (rfl_text_index_count_user (index, 8), ==, 1);
  g_assert_cmpuint (rfl_text_index_count_user (index, 9), ==, 0);
  g_assert_cmpuint (rfl_text_index_count_user (index, 0), ==, 3);

  g_assert_true (rfl_text_index_lookup (index, 3, &user));
  g_assert_cmpint (user, ==, 8);
  g_assert_false (rfl_text_index_lookup (index, 4, &user));
  g_assert_cmpuint (rfl_text_index_get_size (index), >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/text-index/same-as-fts5", test_same_as_fts5);
  g_test_add_func ("/rfl/text-index/folding", test_folding);
  g_test_add_func ("/rfl/text-index/users", test_users);

  return g_test_run ();
}
