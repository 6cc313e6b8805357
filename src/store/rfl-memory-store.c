/* rfl-memory-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-memory-store.h"
#include "rfl-reader-pool.h"
#include "rfl-store-private.h"

#include <glib/gi18n.h>
#include <math.h>

#include "core/rfl-error.h"

#define MAX_PAGE 1000

/* SQL ------------------------------------------------------------------- */

#define MEMORY_COLUMNS \
  "id, tenant_id, user_id, kind, key, value, importance, confidence," \
  " mentions, source_message_id, created_at, updated_at, last_used_at"

static const char find_key_sql[] =
  "SELECT id FROM memories"
  " WHERE tenant_id = ?1 AND user_id = ?2 AND kind = ?3 AND key_norm = ?4";

static const char insert_sql[] =
  "INSERT INTO memories (tenant_id, user_id, kind, key, key_norm, value,"
  "                      importance, confidence, source_message_id,"
  "                      created_at, updated_at)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";

/* The memory keeps its kind and key; returns the key for its vector. */
static const char merge_sql[] =
  "UPDATE memories SET value = ?3, importance = max (importance, ?4),"
  "                    confidence = 1 - (1 - confidence) * (1 - ?5),"
  "                    mentions = mentions + 1,"
  "                    source_message_id = coalesce (?6, source_message_id),"
  "                    updated_at = ?7"
  " WHERE tenant_id = ?1 AND id = ?2"
  " RETURNING key";

static const char edit_sql[] =
  "UPDATE memories SET kind = ?3, key = ?4, key_norm = ?5, value = ?6,"
  "                    importance = ?7, confidence = ?8, updated_at = ?9"
  " WHERE tenant_id = ?1 AND id = ?2";

static const char delete_sql[] =
  "DELETE FROM memories WHERE tenant_id = ?1 AND id = ?2";

static const char get_sql[] =
  "SELECT " MEMORY_COLUMNS " FROM memories WHERE tenant_id = ?1 AND id = ?2";

/* Reading the rows of search hits: one SELECT by primary key for each
 * id, ?2 onwards, joined with UNION ALL, so that the rows come back in the
 * order of the hits in one statement and one read transaction. The unary
 * + keeps SQLite from scanning the tenant's index: the row is found by its
 * id and only then checked against the tenant. There is one statement for
 * each power of two up to READ_MAX_IDS ids; the slots past the ids are
 * bound to NULL, which matches no row. */
#define READ_MAX_IDS   64
#define N_READ_SIZES   7      /* 1, 2, 4, … READ_MAX_IDS */

G_STATIC_ASSERT (1u << (N_READ_SIZES - 1) == READ_MAX_IDS);

static const char get_by_id_part[] =
  "SELECT " MEMORY_COLUMNS " FROM memories"
  " WHERE +tenant_id = ?1 AND id = ?";

static const char list_sql[] =
  "SELECT " MEMORY_COLUMNS " FROM memories"
  " WHERE tenant_id = ?1 AND user_id = ?2 AND (?3 IS NULL OR kind = ?3)"
  " ORDER BY importance DESC, updated_at DESC, id DESC"
  " LIMIT ?4 OFFSET ?5";

static const char mark_used_sql[] =
  "UPDATE memories SET last_used_at = ?3 WHERE tenant_id = ?1 AND id = ?2";

static const char source_exists_sql[] =
  "SELECT 1 FROM messages WHERE tenant_id = ?1 AND id = ?2";

/* Kinds and records ----------------------------------------------------- */

static const char * const kind_names[] = {
  "fact", "preference", "goal", "event", "relationship", "other",
};

G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == RFL_MEMORY_N_KINDS);

const char *
rfl_memory_kind_to_string (RflMemoryKind kind)
{
  g_return_val_if_fail ((guint) kind < RFL_MEMORY_N_KINDS, NULL);

  return kind_names[kind];
}

gboolean
rfl_memory_kind_from_string (const char    *str,
                             RflMemoryKind *out)
{
  for (guint i = 0; i < RFL_MEMORY_N_KINDS; i++)
    {
      if (g_strcmp0 (str, kind_names[i]) == 0)
        {
          if (out != NULL)
            *out = i;
          return TRUE;
        }
    }

  return FALSE;
}

G_DEFINE_BOXED_TYPE (RflMemory, rfl_memory, rfl_memory_copy, rfl_memory_free)
G_DEFINE_BOXED_TYPE (RflMemoryHit, rfl_memory_hit,
                     rfl_memory_hit_copy, rfl_memory_hit_free)

RflMemory *
rfl_memory_new (RflMemoryKind  kind,
                const char    *key,
                const char    *value)
{
  RflMemory *self = g_new0 (RflMemory, 1);

  self->kind = kind;
  self->key = g_strdup (key);
  self->value = g_strdup (value);
  self->importance = 0.5;
  self->confidence = 1.0;
  self->mentions = 1;
  return self;
}

RflMemory *
rfl_memory_copy (const RflMemory *self)
{
  RflMemory *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->key = g_strdup (self->key);
  copy->value = g_strdup (self->value);
  return copy;
}

void
rfl_memory_free (RflMemory *self)
{
  if (self == NULL)
    return;

  g_free (self->key);
  g_free (self->value);
  g_free (self);
}

RflMemoryHit *
rfl_memory_hit_copy (const RflMemoryHit *self)
{
  RflMemoryHit *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->memory = rfl_memory_copy (self->memory);
  return copy;
}

void
rfl_memory_hit_free (RflMemoryHit *self)
{
  if (self == NULL)
    return;

  rfl_memory_free (self->memory);
  g_free (self);
}

char *
rfl_memory_normalize_key (const char *key)
{
  g_autofree char *normal = NULL;
  g_autofree char *folded = NULL;
  g_autoptr(GString) out = NULL;
  gboolean gap = FALSE;

  if (key == NULL || !g_utf8_validate (key, -1, NULL))
    return NULL;

  normal = g_utf8_normalize (key, -1, G_NORMALIZE_NFKC);
  folded = g_utf8_casefold (normal, -1);
  out = g_string_new (NULL);

  for (const char *p = folded; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_isalnum (c) && !g_unichar_ismark (c))
        {
          gap = TRUE;
          continue;
        }

      if (gap && out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append_unichar (out, c);
      gap = FALSE;
    }

  if (out->len == 0)
    return NULL;

  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
rfl_memory_dup_embedding_text (const char *key,
                               const char *value)
{
  return g_strconcat (key != NULL ? key : "", ": ",
                      value != NULL ? value : "", NULL);
}

/* The store ------------------------------------------------------------- */

struct _RflMemoryStore
{
  GObject          parent_instance;

  RflDatabase     *db;        /* owned */
  RflVectorStore  *vectors;   /* owned */
  /* Owned, prepared when first needed: the statements that read search
   * hits, kept here rather than looked up by their long text. */
  sqlite3_stmt    *read_stmts[N_READ_SIZES];
  /* Owned: connections on which searches read their rows on the worker. */
  RflReaderPool   *readers;
};

G_DEFINE_FINAL_TYPE (RflMemoryStore, rfl_memory_store, G_TYPE_OBJECT)

static void
rfl_memory_store_finalize (GObject *object)
{
  RflMemoryStore *self = (RflMemoryStore *)object;

  /* Before the connection can close. */
  for (guint i = 0; i < N_READ_SIZES; i++)
    g_clear_pointer (&self->read_stmts[i], sqlite3_finalize);
  g_clear_pointer (&self->readers, rfl_reader_pool_free);
  g_clear_object (&self->vectors);
  g_clear_object (&self->db);

  G_OBJECT_CLASS (rfl_memory_store_parent_class)->finalize (object);
}

static void
rfl_memory_store_class_init (RflMemoryStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_memory_store_finalize;
}

static void
rfl_memory_store_init (RflMemoryStore *self)
{
}

RflMemoryStore *
rfl_memory_store_new (RflDatabase    *db,
                      RflVectorStore *vectors)
{
  RflMemoryStore *self;

  g_return_val_if_fail (RFL_IS_DATABASE (db), NULL);
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (vectors), NULL);
  g_return_val_if_fail (rfl_vector_store_get_database (vectors) == db, NULL);

  _rfl_store_tune_allocator ();

  self = g_object_new (RFL_TYPE_MEMORY_STORE, NULL);
  self->db = g_object_ref (db);
  self->vectors = g_object_ref (vectors);
  self->readers = rfl_reader_pool_new (rfl_database_get_path (db));

  return self;
}

/* Checks ---------------------------------------------------------------- */

static gboolean
set_not_found (GError **error)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The memory does not exist"));
  return FALSE;
}

static gboolean
check_key (const char  *key,
           GError     **error)
{
  switch (_rfl_store_check_text (key, RFL_MEMORY_STORE_MAX_KEY, FALSE))
    {
    case RFL_TEXT_OK:
      break;
    case RFL_TEXT_MISSING:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The memory needs a key"));
      return FALSE;
    case RFL_TEXT_TOO_LONG:
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The memory key is too long: use at most %d "
                     "characters"),
                   RFL_MEMORY_STORE_MAX_KEY);
      return FALSE;
    case RFL_TEXT_NOT_UTF8:
    case RFL_TEXT_CONTROL:
    default:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The memory key must be one line of text"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_value (const char  *value,
             GError     **error)
{
  switch (_rfl_store_check_text (value, RFL_MEMORY_STORE_MAX_VALUE, TRUE))
    {
    case RFL_TEXT_OK:
      return TRUE;
    case RFL_TEXT_MISSING:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The memory needs a value"));
      return FALSE;
    case RFL_TEXT_TOO_LONG:
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The memory value is too long: use at most %d "
                     "characters"),
                   RFL_MEMORY_STORE_MAX_VALUE);
      return FALSE;
    case RFL_TEXT_NOT_UTF8:
    case RFL_TEXT_CONTROL:
    default:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The memory value is not valid text"));
      return FALSE;
    }
}

static gboolean
check_score (double       score,
             const char  *message,
             GError     **error)
{
  if (isfinite (score) && score >= 0.0 && score <= 1.0)
    return TRUE;

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT, message);
  return FALSE;
}

/* Checks @memory and returns its normalised key. */
static char *
check_memory (const RflMemory  *memory,
              GError          **error)
{
  g_autofree char *key_norm = NULL;

  if ((guint) memory->kind >= RFL_MEMORY_N_KINDS)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The memory kind %d is unknown"), (int) memory->kind);
      return NULL;
    }

  if (!check_key (memory->key, error)
      || !check_value (memory->value, error)
      || !check_score (memory->importance,
                       _("The importance must be between 0 and 1"), error)
      || !check_score (memory->confidence,
                       _("The confidence must be between 0 and 1"), error))
    return NULL;

  key_norm = rfl_memory_normalize_key (memory->key);
  if (key_norm == NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The memory key must contain a letter or a "
                             "digit"));
      return NULL;
    }

  return g_steal_pointer (&key_norm);
}

static gboolean
check_query_vector (RflMemoryStore  *self,
                    const float     *vector,
                    guint            n_dims,
                    GError         **error)
{
  RflVectorEmbedder *embedder = rfl_vector_store_get_embedder (self->vectors);
  guint dims = rfl_vector_embedder_get_dims (embedder);

  if (vector == NULL)
    return TRUE;

  if (n_dims != dims)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The vector has %u dimensions, but the embedder “%s” "
                     "makes vectors of %u"),
                   n_dims, rfl_vector_embedder_get_id (embedder), dims);
      return FALSE;
    }

  for (guint i = 0; i < n_dims; i++)
    {
      if (!isfinite (vector[i]))
        {
          g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               _("The vector holds a value that is not a "
                                 "finite number"));
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
check_source (RflMemoryStore  *self,
              gint64           tenant_id,
              gint64           message_id,
              GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  if (message_id == 0)
    return TRUE;

  stmt = _rfl_database_prepare (self->db, source_exists_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, message_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The message the memory comes from does not exist"));
  return FALSE;
}

static RflMemory *
read_memory (sqlite3_stmt *stmt)
{
  RflMemory *memory = g_new0 (RflMemory, 1);
  RflMemoryKind kind = RFL_MEMORY_KIND_OTHER;

  memory->id = sqlite3_column_int64 (stmt, 0);
  memory->tenant_id = sqlite3_column_int64 (stmt, 1);
  memory->user_id = sqlite3_column_int64 (stmt, 2);
  rfl_memory_kind_from_string ((const char *) sqlite3_column_text (stmt, 3),
                               &kind);
  memory->kind = kind;
  memory->key = _rfl_store_dup_column_text (stmt, 4);
  memory->value = _rfl_store_dup_column_text (stmt, 5);
  memory->importance = sqlite3_column_double (stmt, 6);
  memory->confidence = sqlite3_column_double (stmt, 7);
  memory->mentions = (guint) sqlite3_column_int64 (stmt, 8);
  memory->source_message_id = sqlite3_column_int64 (stmt, 9);
  memory->created_at = sqlite3_column_int64 (stmt, 10);
  memory->updated_at = sqlite3_column_int64 (stmt, 11);
  memory->last_used_at = sqlite3_column_int64 (stmt, 12);

  return memory;
}

/* Upsert ---------------------------------------------------------------- */

static gboolean
find_by_key (RflMemoryStore  *self,
             gint64           tenant_id,
             gint64           user_id,
             RflMemoryKind    kind,
             const char      *key_norm,
             gint64          *out_id,
             GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  *out_id = 0;

  stmt = _rfl_database_prepare (self->db, find_key_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_text (stmt, 3, kind_names[kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, key_norm, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *out_id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  return TRUE;
}

/* The user's memory whose vector is most similar to @vector, if it is
 * similar enough to be the same memory. */
static gboolean
find_similar (RflMemoryStore  *self,
              gint64           tenant_id,
              gint64           user_id,
              const float     *vector,
              guint            n_dims,
              gint64          *out_id,
              GError         **error)
{
  g_autoptr(GArray) hits = NULL;

  *out_id = 0;

  hits = rfl_vector_store_search (self->vectors, tenant_id,
                                  RFL_VECTOR_KIND_MEMORY, user_id, vector,
                                  n_dims, 1, error);
  if (hits == NULL)
    return FALSE;

  if (hits->len > 0
      && g_array_index (hits, RflVectorHit, 0).score
         >= RFL_MEMORY_STORE_MERGE_SIMILARITY)
    *out_id = g_array_index (hits, RflVectorHit, 0).id;

  return TRUE;
}

static gint64
insert_memory (RflMemoryStore   *self,
               gint64            tenant_id,
               gint64            user_id,
               const RflMemory  *memory,
               const char       *key_norm,
               GError          **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db, insert_sql, error);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_text (stmt, 3, kind_names[memory->kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, memory->key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, key_norm, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, memory->value, -1, SQLITE_STATIC);
  sqlite3_bind_double (stmt, 7, memory->importance);
  sqlite3_bind_double (stmt, 8, memory->confidence);
  if (memory->source_message_id != 0)
    sqlite3_bind_int64 (stmt, 9, memory->source_message_id);
  sqlite3_bind_int64 (stmt, 10, _rfl_store_now_ms ());

  if (!_rfl_store_step_done (self->db, stmt, error))
    return 0;

  return sqlite3_last_insert_rowid (_rfl_database_get_handle (self->db));
}

/* Merges @memory into @id and returns the key the memory keeps. */
static char *
merge_memory (RflMemoryStore   *self,
              gint64            tenant_id,
              gint64            id,
              const RflMemory  *memory,
              GError          **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *key = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, merge_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, id);
  sqlite3_bind_text (stmt, 3, memory->value, -1, SQLITE_STATIC);
  sqlite3_bind_double (stmt, 4, memory->importance);
  sqlite3_bind_double (stmt, 5, memory->confidence);
  if (memory->source_message_id != 0)
    sqlite3_bind_int64 (stmt, 6, memory->source_message_id);
  sqlite3_bind_int64 (stmt, 7, _rfl_store_now_ms ());

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      key = _rfl_store_dup_column_text (stmt, 0);
      rc = sqlite3_step (stmt);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  if (key == NULL)
    set_not_found (error);

  return g_steal_pointer (&key);
}

/* Gives memory @id the vector of its text: @vector when it was made of
 * exactly that text, else a new one from a local embedder. */
static gboolean
store_vector (RflMemoryStore  *self,
              gint64           tenant_id,
              gint64           id,
              const char      *key,
              const char      *value,
              const float     *vector,
              guint            n_dims,
              GError         **error)
{
  g_autofree char *text = NULL;

  if (vector != NULL)
    return rfl_vector_store_put (self->vectors, tenant_id,
                                 RFL_VECTOR_KIND_MEMORY, id, vector, n_dims,
                                 error);

  text = rfl_memory_dup_embedding_text (key, value);
  return _rfl_vector_store_put_text (self->vectors, tenant_id,
                                     RFL_VECTOR_KIND_MEMORY, id, text, error);
}

gint64
rfl_memory_store_upsert (RflMemoryStore   *self,
                         gint64            tenant_id,
                         gint64            user_id,
                         const RflMemory  *memory,
                         const float      *vector,
                         guint             n_dims,
                         RflMemoryUpsert  *out_outcome,
                         GError          **error)
{
  RflVectorEmbedder *embedder;
  g_auto(RflStoreTxn) txn = { 0 };
  g_autofree char *key_norm = NULL;
  g_autofree char *kept_key = NULL;
  g_autofree float *embedded = NULL;
  const float *own_vector = NULL;
  RflMemoryUpsert outcome = RFL_MEMORY_UPSERT_INSERTED;
  gint64 id = 0;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), 0);
  g_return_val_if_fail (memory != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!(key_norm = check_memory (memory, error))
      || !check_query_vector (self, vector, n_dims, error)
      || !_rfl_store_check_user (self->db, tenant_id, user_id, error)
      || !check_source (self, tenant_id, memory->source_message_id, error))
    return 0;

  /* The vector of what the new memory says, to compare with the known. */
  embedder = rfl_vector_store_get_embedder (self->vectors);
  if (vector == NULL && rfl_vector_embedder_is_local (embedder))
    {
      g_autofree char *text = rfl_memory_dup_embedding_text (memory->key,
                                                             memory->value);
      const char *texts[] = { text };

      n_dims = rfl_vector_embedder_get_dims (embedder);
      embedded = g_new0 (float, n_dims);
      if (!rfl_vector_embedder_embed (embedder, texts, 1, embedded, NULL,
                                      error))
        return 0;
      vector = embedded;
    }
  else
    {
      own_vector = vector;
    }

  if (!_rfl_store_txn_begin (&txn, self->db, error)
      || !find_by_key (self, tenant_id, user_id, memory->kind, key_norm, &id,
                       error))
    return 0;

  if (id != 0)
    {
      outcome = RFL_MEMORY_UPSERT_MERGED_KEY;
    }
  else if (vector != NULL)
    {
      if (!find_similar (self, tenant_id, user_id, vector, n_dims, &id,
                         error))
        return 0;
      if (id != 0)
        outcome = RFL_MEMORY_UPSERT_MERGED_SIMILAR;
    }

  if (outcome == RFL_MEMORY_UPSERT_INSERTED)
    {
      id = insert_memory (self, tenant_id, user_id, memory, key_norm, error);
      if (id == 0
          || (vector != NULL
              && !rfl_vector_store_put (self->vectors, tenant_id,
                                        RFL_VECTOR_KIND_MEMORY, id, vector,
                                        n_dims, error)))
        return 0;
    }
  else
    {
      /* The merged memory's text is its own key with the new value: a
       * local embedder makes its vector again; a given one is close. */
      kept_key = merge_memory (self, tenant_id, id, memory, error);
      if (kept_key == NULL
          || !store_vector (self, tenant_id, id, kept_key, memory->value,
                            own_vector, n_dims, error))
        return 0;
    }

  if (!_rfl_store_txn_commit (&txn, error))
    return 0;

  _rfl_vector_store_after_write (self->vectors);

  if (out_outcome != NULL)
    *out_outcome = outcome;
  return id;
}

/* Reads ----------------------------------------------------------------- */

RflMemory *
rfl_memory_store_get (RflMemoryStore  *self,
                      gint64           tenant_id,
                      gint64           memory_id,
                      GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _rfl_database_prepare (self->db, get_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, memory_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return read_memory (stmt);

  if (rc == SQLITE_DONE)
    set_not_found (error);
  else
    _rfl_database_set_error (self->db, rc, error);
  return NULL;
}

static GPtrArray *
read_memories (RflMemoryStore  *self,
               sqlite3_stmt    *stmt,
               GError         **error)
{
  g_autoptr(GPtrArray) memories = NULL;
  int rc;

  memories = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (memories, read_memory (stmt));

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&memories);
}

GPtrArray *
rfl_memory_store_list (RflMemoryStore  *self,
                       gint64           tenant_id,
                       gint64           user_id,
                       gboolean         all_kinds,
                       RflMemoryKind    kind,
                       guint            offset,
                       guint            limit,
                       GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (limit < 1 || limit > MAX_PAGE)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("A page holds 1 to %d items"), MAX_PAGE);
      return NULL;
    }

  if (!all_kinds && (guint) kind >= RFL_MEMORY_N_KINDS)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The memory kind %d is unknown"), (int) kind);
      return NULL;
    }

  stmt = _rfl_database_prepare (self->db, list_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  if (!all_kinds)
    sqlite3_bind_text (stmt, 3, kind_names[kind], -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, limit);
  sqlite3_bind_int64 (stmt, 5, offset);

  return read_memories (self, stmt, error);
}

/* Edit and delete ------------------------------------------------------- */

gboolean
rfl_memory_store_edit (RflMemoryStore   *self,
                       gint64            tenant_id,
                       const RflMemory  *memory,
                       const float      *vector,
                       guint             n_dims,
                       GError          **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *key_norm = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), FALSE);
  g_return_val_if_fail (memory != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!(key_norm = check_memory (memory, error))
      || !check_query_vector (self, vector, n_dims, error)
      || !_rfl_store_txn_begin (&txn, self->db, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, edit_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, memory->id);
  sqlite3_bind_text (stmt, 3, kind_names[memory->kind], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, memory->key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, key_norm, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, memory->value, -1, SQLITE_STATIC);
  sqlite3_bind_double (stmt, 7, memory->importance);
  sqlite3_bind_double (stmt, 8, memory->confidence);
  sqlite3_bind_int64 (stmt, 9, _rfl_store_now_ms ());

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("Another memory already has the key “%s”"),
                   memory->key);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  if (sqlite3_changes (_rfl_database_get_handle (self->db)) == 0)
    return set_not_found (error);

  _rfl_cached_stmt_release (g_steal_pointer (&stmt));

  if (!store_vector (self, tenant_id, memory->id, memory->key, memory->value,
                     vector, n_dims, error)
      || !_rfl_store_txn_commit (&txn, error))
    return FALSE;

  _rfl_vector_store_after_write (self->vectors);
  return TRUE;
}

gboolean
rfl_memory_store_delete (RflMemoryStore  *self,
                         gint64           tenant_id,
                         gint64           memory_id,
                         GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _rfl_database_prepare (self->db, delete_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, memory_id);

  /* The trigger deletes its vector in the same statement. */
  if (!_rfl_store_step_done (self->db, stmt, error))
    return FALSE;

  if (sqlite3_changes (_rfl_database_get_handle (self->db)) == 0)
    return set_not_found (error);

  _rfl_vector_store_after_write (self->vectors);
  return TRUE;
}

gboolean
rfl_memory_store_mark_used (RflMemoryStore  *self,
                            gint64           tenant_id,
                            const gint64    *ids,
                            guint            n_ids,
                            GError         **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  gint64 now;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), FALSE);
  g_return_val_if_fail (ids != NULL || n_ids == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_ids == 0)
    return TRUE;

  if (!_rfl_store_txn_begin (&txn, self->db, error))
    return FALSE;

  now = _rfl_store_now_ms ();
  for (guint i = 0; i < n_ids; i++)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;

      stmt = _rfl_database_prepare (self->db, mark_used_sql, error);
      if (stmt == NULL)
        return FALSE;

      sqlite3_bind_int64 (stmt, 1, tenant_id);
      sqlite3_bind_int64 (stmt, 2, ids[i]);
      sqlite3_bind_int64 (stmt, 3, now);

      if (!_rfl_store_step_done (self->db, stmt, error))
        return FALSE;
    }

  return _rfl_store_txn_commit (&txn, error);
}

/* Search ---------------------------------------------------------------- */

static GPtrArray *hits_to_results (RflMemoryStore  *self,
                                   gint64           tenant_id,
                                   GArray          *hits,
                                   GError         **error);

GPtrArray *
rfl_memory_store_search (RflMemoryStore  *self,
                         gint64           tenant_id,
                         gint64           user_id,
                         const char      *text,
                         const float     *vector,
                         guint            n_dims,
                         guint            limit,
                         GError         **error)
{
  g_autoptr(GArray) hits = NULL;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (limit > MAX_PAGE)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("A page holds 1 to %d items"), MAX_PAGE);
      return NULL;
    }

  hits = rfl_vector_store_search_hybrid (self->vectors, tenant_id,
                                         RFL_VECTOR_KIND_MEMORY, user_id,
                                         text, vector, n_dims, limit, error);
  if (hits == NULL)
    return NULL;

  return hits_to_results (self, tenant_id, hits, error);
}

/* The size of the statement that reads @n_ids rows (1 to READ_MAX_IDS). */
static guint
read_size (guint n_ids)
{
  guint size = 0;

  g_assert (n_ids >= 1 && n_ids <= READ_MAX_IDS);

  while ((1u << size) < n_ids)
    size++;

  return size;
}

/* The text of the statement of @size, made once for every connection. */
static const char *
read_sql (guint size)
{
  static const char *texts[N_READ_SIZES];

  if (g_once_init_enter (&texts[size]))
    {
      GString *sql = g_string_new (NULL);

      for (guint i = 0; i < 1u << size; i++)
        {
          if (i > 0)
            g_string_append (sql, " UNION ALL ");
          g_string_append (sql, get_by_id_part);
          g_string_append_printf (sql, "%u", i + 2);
        }
      g_once_init_leave (&texts[size], g_string_free (sql, FALSE));
    }

  return texts[size];
}

/* The statement that reads up to @n_ids rows by id, and its number of id
 * slots. Release it like a cached statement. */
static sqlite3_stmt *
get_read_stmt (RflMemoryStore  *self,
               guint            n_ids,
               guint           *n_slots,
               GError         **error)
{
  guint size = read_size (n_ids);

  if (self->read_stmts[size] == NULL)
    {
      int rc;

      rc = sqlite3_prepare_v3 (_rfl_database_get_handle (self->db),
                               read_sql (size), -1,
                               SQLITE_PREPARE_PERSISTENT,
                               &self->read_stmts[size], NULL);
      if (rc != SQLITE_OK)
        {
          g_clear_pointer (&self->read_stmts[size], sqlite3_finalize);
          _rfl_database_set_error (self->db, rc, error);
          return NULL;
        }
    }

  *n_slots = 1u << size;
  return self->read_stmts[size];
}

/* Binds and steps @stmt, the statement of @n_slots slots, on whichever
 * connection; returns SQLite's last result code. */
static int
step_hit_rows (sqlite3_stmt        *stmt,
               guint                n_slots,
               gint64               tenant_id,
               const RflHybridHit  *hits,
               guint                n,
               RflMemory          **memories)
{
  guint next = 0;
  int rc;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  for (guint i = 0; i < n_slots; i++)
    {
      if (i < n)
        sqlite3_bind_int64 (stmt, (int) i + 2, hits[i].id);
      else
        sqlite3_bind_null (stmt, (int) i + 2);
    }

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflMemory *memory = read_memory (stmt);

      /* Each slot gives at most one row, in order: the row belongs to the
       * next hit of its id. */
      while (next < n && hits[next].id != memory->id)
        next++;

      if (next < n)
        memories[next++] = memory;
      else
        rfl_memory_free (memory);
    }

  return rc;
}

/* Reads the rows of @n hits (at most READ_MAX_IDS) into @memories, in the
 * order of the hits; a row that is gone, or not the tenant's, stays
 * NULL. */
static gboolean
read_hit_rows (RflMemoryStore      *self,
               gint64               tenant_id,
               const RflHybridHit  *hits,
               guint                n,
               RflMemory          **memories,
               GError             **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  guint n_slots;
  int rc;

  stmt = get_read_stmt (self, n, &n_slots, error);
  if (stmt == NULL)
    return FALSE;

  rc = step_hit_rows (stmt, n_slots, tenant_id, hits, n, memories);
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  return TRUE;
}

/* Reads that take more than one statement share one read transaction, so
 * that they see the same rows; inside the caller's transaction they are
 * part of it. */
static gboolean
begin_read (RflMemoryStore  *self,
            guint            n_ids,
            gboolean        *began,
            GError         **error)
{
  *began = FALSE;

  if (n_ids <= READ_MAX_IDS
      || !sqlite3_get_autocommit (_rfl_database_get_handle (self->db)))
    return TRUE;

  if (!_rfl_database_exec (self->db, "BEGIN DEFERRED", error))
    return FALSE;

  *began = TRUE;
  return TRUE;
}

static void
end_read (RflMemoryStore *self,
          gboolean        began)
{
  sqlite3 *handle = _rfl_database_get_handle (self->db);

  if (!began || sqlite3_get_autocommit (handle))
    return;

  /* Nothing was written: ending it cannot lose anything. */
  if (sqlite3_exec (handle, "COMMIT", NULL, NULL, NULL) != SQLITE_OK
      && !sqlite3_get_autocommit (handle))
    sqlite3_exec (handle, "ROLLBACK", NULL, NULL, NULL);
}

/* Appends a hit with its row to @results for each row read, in order, or
 * frees the rows when the read failed. */
static void
add_results (GPtrArray           *results,
             const RflHybridHit  *hits,
             RflMemory          **memories,
             guint                n,
             gboolean             ok)
{
  for (guint i = 0; i < n; i++)
    {
      RflMemoryHit *result;

      if (memories[i] == NULL)
        continue;

      if (!ok)
        {
          rfl_memory_free (memories[i]);
          continue;
        }

      result = g_new0 (RflMemoryHit, 1);
      result->memory = memories[i];
      result->score = hits[i].score;
      result->similarity = hits[i].similarity;
      result->vector_rank = hits[i].vector_rank;
      result->text_rank = hits[i].text_rank;
      g_ptr_array_add (results, result);
    }
}

/* The rows of @hits, read now: a row deleted since the ranking is left
 * out. Returns a GPtrArray of RflMemoryHit. */
static GPtrArray *
hits_to_results (RflMemoryStore  *self,
                 gint64           tenant_id,
                 GArray          *hits,
                 GError         **error)
{
  g_autoptr(GPtrArray) results = NULL;
  gboolean began;
  gboolean ok = TRUE;

  results = g_ptr_array_new_full (hits->len,
                                  (GDestroyNotify) rfl_memory_hit_free);
  if (hits->len == 0)
    return g_steal_pointer (&results);

  if (!begin_read (self, hits->len, &began, error))
    return NULL;

  for (guint start = 0; ok && start < hits->len; start += READ_MAX_IDS)
    {
      const RflHybridHit *chunk = &g_array_index (hits, RflHybridHit, start);
      RflMemory *memories[READ_MAX_IDS] = { NULL, };
      guint n = MIN (hits->len - start, READ_MAX_IDS);

      ok = read_hit_rows (self, tenant_id, chunk, n, memories, error);

      add_results (results, chunk, memories, n, ok);
    }

  end_read (self, began);

  if (!ok)
    return NULL;

  return g_steal_pointer (&results);
}

typedef struct
{
  RflMemorySearch *search;       /* owned */
  gint64           tenant_id;
  gint64           user_id;
  char            *text;         /* owned */
  guint            limit;
  /* Set when the worker read the rows and returned what @format made of
   * them, rather than the hits (a GArray of RflHybridHit). */
  gboolean         formatted;
  RflMemoryHitsFormatFunc format;
  gpointer         format_data;
  GDestroyNotify   result_free;
} SearchCall;

static void
search_call_free (gpointer data)
{
  SearchCall *call = data;

  rfl_memory_search_free (call->search);
  g_free (call->text);
  g_free (call);
}

/* Reads the rows of @hits on a connection of the pool, as
 * hits_to_results() does on the store's own. NULL with @error set when
 * the read failed; NULL without when no connection could be had, and the
 * rows are then left to the thread of the store. */
static GPtrArray *
read_results_on_worker (RflReaderPool  *readers,
                        gint64          tenant_id,
                        GArray         *hits,
                        GError        **error)
{
  g_autoptr(GPtrArray) results = NULL;
  RflMemory *memories[READ_MAX_IDS] = { NULL, };
  const RflHybridHit *items = (const RflHybridHit *) hits->data;
  RflReader *reader;
  sqlite3_stmt *stmt;
  guint size;
  int rc;

  results = g_ptr_array_new_full (hits->len,
                                  (GDestroyNotify) rfl_memory_hit_free);
  if (hits->len == 0)
    return g_steal_pointer (&results);

  reader = rfl_reader_pool_acquire (readers, NULL);
  if (reader == NULL)
    return NULL;

  size = read_size (hits->len);
  stmt = rfl_reader_prepare (reader, read_sql (size), error);
  if (stmt != NULL)
    {
      rc = step_hit_rows (stmt, 1u << size, tenant_id, items, hits->len,
                          memories);
      if (rc != SQLITE_DONE)
        rfl_reader_set_error (reader, rc, error);
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
    }
  rfl_reader_pool_release (readers, reader);

  add_results (results, items, memories, hits->len,
               error == NULL || *error == NULL);
  if (error != NULL && *error != NULL)
    return NULL;

  return g_steal_pointer (&results);
}

static void
search_worker (gpointer data,
               gpointer user_data)
{
  g_autoptr(GTask) task = data;
  RflMemoryStore *self = g_task_get_source_object (task);
  SearchCall *call = g_task_get_task_data (task);
  g_autoptr(GArray) hits = NULL;
  GError *error = NULL;
  GPtrArray *results = NULL;

  hits = rfl_memory_search_run (call->search, call->user_id, call->text,
                                call->limit, &error);
  if (hits == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* The rows too are read here, off the store's thread, when they fit one
   * statement; a failed read is the search's error. */
  if (hits->len <= READ_MAX_IDS)
    {
      results = read_results_on_worker (self->readers, call->tenant_id, hits,
                                        &error);
      if (error != NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  if (results != NULL)
    {
      gpointer formatted = call->format (results, call->format_data);

      g_ptr_array_unref (results);
      call->formatted = TRUE;
      g_task_return_pointer (task, formatted, call->result_free);
    }
  else
    {
      g_task_return_pointer (task, g_steal_pointer (&hits),
                             (GDestroyNotify) g_array_unref);
    }
}

/* Searches rank on threads of their own, one for each processor: the work
 * is all computation, so more threads would only take turns, and a search
 * queued behind a busy thread costs its caller no wake-up. */
static GThreadPool *
get_search_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    {
      GThreadPool *created;

      created = g_thread_pool_new (search_worker, NULL,
                                   (int) MAX (1, g_get_num_processors ()),
                                   FALSE, NULL);
      g_once_init_leave (&pool, created);
    }

  return pool;
}

void
rfl_memory_store_search_format_async (RflMemoryStore          *self,
                                      gint64                   tenant_id,
                                      gint64                   user_id,
                                      const char              *text,
                                      guint                    limit,
                                      RflMemoryHitsFormatFunc  format,
                                      gpointer                 format_data,
                                      GDestroyNotify           result_free,
                                      GCancellable            *cancellable,
                                      GAsyncReadyCallback      callback,
                                      gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  SearchCall *call;

  g_return_if_fail (RFL_IS_MEMORY_STORE (self));
  g_return_if_fail (format != NULL);
  g_return_if_fail (result_free != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_memory_store_search_format_async);

  if (limit > MAX_PAGE)
    {
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               _("A page holds 1 to %d items"), MAX_PAGE);
      return;
    }

  call = g_new0 (SearchCall, 1);
  call->tenant_id = tenant_id;
  call->user_id = user_id;
  call->text = g_strdup (text);
  call->limit = limit;
  call->format = format;
  call->format_data = format_data;
  call->result_free = result_free;
  call->search = rfl_vector_store_prepare_memory_search (self->vectors,
                                                         tenant_id, &error);
  g_task_set_task_data (task, call, search_call_free);

  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Without a snapshot the search stays here, as the blocking call. */
  if (call->search == NULL)
    {
      g_autoptr(GArray) hits = NULL;

      hits = rfl_vector_store_search_hybrid (self->vectors, tenant_id,
                                             RFL_VECTOR_KIND_MEMORY, user_id,
                                             text, NULL, 0, limit, &error);
      if (hits == NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_pointer (task, g_steal_pointer (&hits),
                               (GDestroyNotify) g_array_unref);
      return;
    }

  g_thread_pool_push (get_search_pool (), g_steal_pointer (&task), NULL);
}

/* The plain search's result: its rows themselves. */
static gpointer
keep_rows (GPtrArray *hits,
           gpointer   user_data)
{
  return g_ptr_array_ref (hits);
}

void
rfl_memory_store_search_async (RflMemoryStore      *self,
                               gint64               tenant_id,
                               gint64               user_id,
                               const char          *text,
                               guint                limit,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  rfl_memory_store_search_format_async (self, tenant_id, user_id, text, limit,
                                        keep_rows, NULL,
                                        (GDestroyNotify) g_ptr_array_unref,
                                        cancellable, callback, user_data);
}

GPtrArray *
rfl_memory_store_search_finish (RflMemoryStore  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  return rfl_memory_store_search_format_finish (self, result, error);
}

gpointer
rfl_memory_store_search_format_finish (RflMemoryStore  *self,
                                       GAsyncResult    *result,
                                       GError         **error)
{
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GArray) hits = NULL;
  SearchCall *call;

  g_return_val_if_fail (RFL_IS_MEMORY_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_memory_store_search_format_async, NULL);

  /* No task data: the search was refused before it began. */
  call = g_task_get_task_data (G_TASK (result));
  if (call == NULL || call->formatted)
    return g_task_propagate_pointer (G_TASK (result), error);

  /* The hits, to be read here. */
  hits = g_task_propagate_pointer (G_TASK (result), error);
  if (hits == NULL)
    return NULL;

  results = hits_to_results (self, call->tenant_id, hits, error);
  if (results == NULL)
    return NULL;

  return call->format (results, call->format_data);
}
