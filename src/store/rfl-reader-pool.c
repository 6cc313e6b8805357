/* rfl-reader-pool.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-reader-pool.h"

#include <glib/gi18n.h>

#include "core/rfl-error.h"

struct _RflReader
{
  sqlite3    *db;            /* owned */
  GHashTable *statements;    /* owned: address of the SQL → sqlite3_stmt */
  const char *path;          /* the pool's */
};

struct _RflReaderPool
{
  char      *path;           /* owned */
  GMutex     lock;           /* guards the fields below */
  GPtrArray *idle;           /* owned: RflReader */
  guint      size;           /* readers open, idle or out */
};

static void
reader_free (RflReader *reader)
{
  /* Every statement must be finalized before the connection closes. */
  g_hash_table_unref (reader->statements);
  sqlite3_close (reader->db);
  g_free (reader);
}

static void
finalize_stmt (gpointer data)
{
  sqlite3_finalize (data);
}

RflReaderPool *
rfl_reader_pool_new (const char *path)
{
  RflReaderPool *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_new0 (RflReaderPool, 1);
  self->path = g_strdup (path);
  g_mutex_init (&self->lock);
  self->idle = g_ptr_array_new_with_free_func ((GDestroyNotify) reader_free);

  return self;
}

void
rfl_reader_pool_free (RflReaderPool *self)
{
  if (self == NULL)
    return;

  g_warn_if_fail (self->size == self->idle->len);
  g_ptr_array_unref (self->idle);
  g_mutex_clear (&self->lock);
  g_free (self->path);
  g_free (self);
}

static RflReader *
reader_open (RflReaderPool  *self,
             GError        **error)
{
  RflReader *reader = g_new0 (RflReader, 1);
  int rc;

  reader->path = self->path;
  reader->statements = g_hash_table_new_full (NULL, NULL, NULL, finalize_stmt);
  rc = sqlite3_open_v2 (self->path, &reader->db,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                   _("The database “%s” cannot be opened: %s"), self->path,
                   reader->db != NULL ? sqlite3_errmsg (reader->db)
                                      : sqlite3_errstr (rc));
      reader_free (reader);
      return NULL;
    }

  sqlite3_extended_result_codes (reader->db, 1);
  /* A checkpoint may hold a lock for a moment. */
  sqlite3_busy_timeout (reader->db, 5000);

  return reader;
}

RflReader *
rfl_reader_pool_acquire (RflReaderPool  *self,
                         GError        **error)
{
  RflReader *reader = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->lock);
  if (self->idle->len > 0)
    reader = g_ptr_array_steal_index_fast (self->idle, self->idle->len - 1);
  else
    self->size++;
  g_mutex_unlock (&self->lock);

  if (reader != NULL)
    return reader;

  /* Opened outside the lock: other workers need not wait for it. */
  reader = reader_open (self, error);
  if (reader == NULL)
    {
      g_mutex_lock (&self->lock);
      self->size--;
      g_mutex_unlock (&self->lock);
    }

  return reader;
}

void
rfl_reader_pool_release (RflReaderPool *self,
                         RflReader     *reader)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (reader != NULL);

  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->idle, reader);
  g_mutex_unlock (&self->lock);
}

guint
rfl_reader_pool_get_size (RflReaderPool *self)
{
  guint size;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->lock);
  size = self->size;
  g_mutex_unlock (&self->lock);

  return size;
}

gboolean
rfl_reader_set_error (RflReader  *reader,
                      int         rc,
                      GError    **error)
{
  g_return_val_if_fail (reader != NULL, FALSE);

  g_set_error (error, RFL_ERROR,
               (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB
               ? RFL_ERROR_DATABASE_CORRUPT : RFL_ERROR_DATABASE,
               _("The database “%s” reported an error: %s"), reader->path,
               sqlite3_errmsg (reader->db));
  return FALSE;
}

sqlite3_stmt *
rfl_reader_prepare (RflReader   *reader,
                    const char  *sql,
                    GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (reader != NULL, NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  stmt = g_hash_table_lookup (reader->statements, sql);
  if (stmt != NULL)
    return stmt;

  rc = sqlite3_prepare_v3 (reader->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      rfl_reader_set_error (reader, rc, error);
      return NULL;
    }

  g_hash_table_insert (reader->statements, (gpointer) sql, stmt);

  return stmt;
}
