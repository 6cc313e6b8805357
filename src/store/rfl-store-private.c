/* rfl-store-private.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-store-private.h"

#include <glib/gi18n.h>
#ifdef __GLIBC__
# include <malloc.h>
#endif

#include "core/rfl-error.h"

/* More words than this in a search box are dropped from the query. */
#define MAX_QUERY_WORDS 32

static const char check_user_sql[] =
  "SELECT 1 FROM users WHERE tenant_id = ?1 AND id = ?2";

G_LOCK_DEFINE_STATIC (clock);

void
_rfl_store_tune_allocator (void)
{
#ifdef __GLIBC__
  static gsize tuned = 0;

  /* Inside a transaction SQLite opens a statement savepoint for every row
   * it writes and allocates about 90 KB for it. At the top of the heap
   * glibc hands that memory back to the system when it is freed and asks
   * for it again at the next row: two system calls and fresh pages per
   * row, half the time of writing a message. Keeping up to 64 MiB of free
   * heap at the top avoids it. */
  if (g_once_init_enter (&tuned))
    {
      mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
      g_once_init_leave (&tuned, 1);
    }
#endif
}

gint64
_rfl_store_now_ms (void)
{
  static gint64 last;
  gint64 now = g_get_real_time () / 1000;

  G_LOCK (clock);
  if (now <= last)
    now = last + 1;
  last = now;
  G_UNLOCK (clock);

  return now;
}

/* Transactions */

gboolean
_rfl_store_txn_begin (RflStoreTxn  *txn,
                      RflDatabase  *db,
                      GError      **error)
{
  sqlite3 *handle = _rfl_database_get_handle (db);

  g_return_val_if_fail (txn != NULL && !txn->active, FALSE);

  txn->db = db;
  txn->outer = sqlite3_get_autocommit (handle) != 0;

  /* IMMEDIATE takes the write lock at once, so that the busy timeout
   * applies instead of a failed upgrade from a read lock. */
  if (!_rfl_database_exec (db, txn->outer ? "BEGIN IMMEDIATE"
                                          : "SAVEPOINT rfl_store",
                           error))
    return FALSE;

  txn->active = TRUE;
  return TRUE;
}

gboolean
_rfl_store_txn_commit (RflStoreTxn  *txn,
                       GError      **error)
{
  g_return_val_if_fail (txn != NULL && txn->active, FALSE);

  if (!_rfl_database_exec (txn->db, txn->outer ? "COMMIT"
                                               : "RELEASE rfl_store",
                           error))
    {
      _rfl_store_txn_rollback (txn);
      return FALSE;
    }

  txn->active = FALSE;
  return TRUE;
}

void
_rfl_store_txn_rollback (RflStoreTxn *txn)
{
  sqlite3 *handle;

  if (txn == NULL || !txn->active)
    return;

  txn->active = FALSE;
  handle = _rfl_database_get_handle (txn->db);

  if (txn->outer)
    {
      /* SQLite may have rolled back already (after SQLITE_FULL, say). */
      if (!sqlite3_get_autocommit (handle))
        sqlite3_exec (handle, "ROLLBACK", NULL, NULL, NULL);
    }
  else
    {
      sqlite3_exec (handle, "ROLLBACK TO rfl_store; RELEASE rfl_store",
                    NULL, NULL, NULL);
    }
}

/* Statements */

gboolean
_rfl_store_step_done (RflDatabase   *db,
                      sqlite3_stmt  *stmt,
                      GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return _rfl_database_set_error (db, rc, error);

  return TRUE;
}

guint
_rfl_store_chunk_rows (guint remaining)
{
  guint rows = RFL_STORE_MAX_ROWS;

  while (rows > 1 && rows > remaining)
    rows /= 2;

  return rows;
}

char *
_rfl_store_multi_row_sql (const char *head,
                          const char *row,
                          const char *tail,
                          guint       n_rows)
{
  GString *sql = g_string_new (head);

  for (guint i = 0; i < n_rows; i++)
    {
      if (i > 0)
        g_string_append (sql, ", ");
      g_string_append (sql, row);
    }
  g_string_append (sql, tail);

  return g_string_free (sql, FALSE);
}

void
_rfl_store_bind_text (sqlite3_stmt *stmt,
                      int           index,
                      const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

char *
_rfl_store_dup_column_text (sqlite3_stmt *stmt,
                            int           column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

gboolean
_rfl_store_check_user (RflDatabase  *db,
                       gint64        tenant_id,
                       gint64        user_id,
                       GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (db, check_user_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (db, rc, error);

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The user does not exist in this tenant"));
  return FALSE;
}

/* Text */

static gboolean
is_word_char (gunichar c)
{
  return g_unichar_isalnum (c) || g_unichar_ismark (c);
}

char *
_rfl_store_fts_query (const char  *text,
                      RflFtsMatch  match)
{
  g_autoptr(GString) query = NULL;
  g_autofree char *valid = NULL;
  const char *word = NULL;
  guint n_words = 0;

  if (text == NULL)
    return NULL;

  valid = g_utf8_make_valid (text, -1);
  query = g_string_new (NULL);

  /* Words are quoted whole: they hold only letters, digits and marks, so
   * no quote, operator or column filter can reach the query. */
  for (const char *p = valid; n_words < MAX_QUERY_WORDS; p = g_utf8_next_char (p))
    {
      gboolean in_word = *p != '\0' && is_word_char (g_utf8_get_char (p));

      if (in_word && word == NULL)
        {
          word = p;
        }
      else if (!in_word && word != NULL)
        {
          if (n_words > 0)
            g_string_append (query, match == RFL_FTS_MATCH_ANY ? " OR " : " ");
          g_string_append_c (query, '"');
          g_string_append_len (query, word, p - word);
          g_string_append_c (query, '"');
          n_words++;
          word = NULL;

          /* What is being typed may be the start of a longer word. */
          if (*p == '\0' && match == RFL_FTS_MATCH_ALL)
            g_string_append_c (query, '*');
        }

      if (*p == '\0')
        break;
    }

  if (n_words == 0)
    return NULL;

  return g_string_free (g_steal_pointer (&query), FALSE);
}

RflTextProblem
_rfl_store_check_text (const char *text,
                       gsize       max_chars,
                       gboolean    multiline)
{
  gsize n_chars = 0;
  gboolean blank = TRUE;

  if (text == NULL)
    return RFL_TEXT_MISSING;

  if (!g_utf8_validate (text, -1, NULL))
    return RFL_TEXT_NOT_UTF8;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (++n_chars > max_chars)
        return RFL_TEXT_TOO_LONG;

      if (!g_unichar_isspace (c))
        blank = FALSE;

      if (g_unichar_iscntrl (c)
          && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
        return RFL_TEXT_CONTROL;
    }

  return blank ? RFL_TEXT_MISSING : RFL_TEXT_OK;
}
