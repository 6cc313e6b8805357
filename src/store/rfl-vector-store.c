/* rfl-vector-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-vector-store.h"
#include "rfl-store-private.h"
#include "rfl-text-index.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-hash-embedder.h"

#define MAX_EMBEDDER_ID  200
#define MAX_DIMS         65536
#define DEFAULT_BATCH    64
#define MIN_CANDIDATES   32
/* Fused lists up to this long are looked through rather than hashed. */
#define FUSE_LINEAR_MAX  64
/* Memories of a tenant searched for words in memory, beyond in SQL. */
#define MAX_MEMORY_WORDS 25000

/* SQL ------------------------------------------------------------------- */

/* The connection's notes of what changed in the embeddings table, written
 * by temporary triggers inside the writing transaction, in order: a row
 * written (seq: the number of the store's statement that wrote it, from
 * rfl_vector_write_seq (); 0 for any other statement) or deleted (seq
 * NULL). */
static const char log_setup_sql[] =
  "CREATE TEMP TABLE IF NOT EXISTS vector_log ("
  "  tenant_id INTEGER NOT NULL, kind TEXT NOT NULL,"
  "  owner_id INTEGER NOT NULL, seq INTEGER);"
  "CREATE TEMP TRIGGER IF NOT EXISTS vector_log_insert"
  "  AFTER INSERT ON main.embeddings BEGIN"
  "  INSERT INTO vector_log VALUES (new.tenant_id, new.kind, new.owner_id,"
  "                                 rfl_vector_write_seq ());"
  "  END;"
  "CREATE TEMP TRIGGER IF NOT EXISTS vector_log_update"
  "  AFTER UPDATE ON main.embeddings BEGIN"
  "  INSERT INTO vector_log SELECT old.tenant_id, old.kind, old.owner_id, NULL"
  "    WHERE new.tenant_id IS NOT old.tenant_id OR new.kind IS NOT old.kind"
  "      OR new.owner_id IS NOT old.owner_id;"
  "  INSERT INTO vector_log VALUES (new.tenant_id, new.kind, new.owner_id,"
  "                                 rfl_vector_write_seq ());"
  "  END;"
  "CREATE TEMP TRIGGER IF NOT EXISTS vector_log_delete"
  "  AFTER DELETE ON main.embeddings BEGIN"
  "  INSERT INTO vector_log VALUES (old.tenant_id, old.kind, old.owner_id,"
  "                                 NULL);"
  "  END;"
  /* A change to a tenant's memories drops its word index, also when a
   * cascade makes it. */
  "CREATE TEMP TRIGGER IF NOT EXISTS memory_words_insert"
  "  AFTER INSERT ON main.memories BEGIN"
  "  SELECT rfl_memory_words_changed (new.tenant_id);"
  "  END;"
  "CREATE TEMP TRIGGER IF NOT EXISTS memory_words_update"
  "  AFTER UPDATE OF tenant_id, user_id, key, value ON main.memories BEGIN"
  "  SELECT rfl_memory_words_changed (old.tenant_id);"
  "  SELECT rfl_memory_words_changed (new.tenant_id);"
  "  END;"
  "CREATE TEMP TRIGGER IF NOT EXISTS memory_words_delete"
  "  AFTER DELETE ON main.memories BEGIN"
  "  SELECT rfl_memory_words_changed (old.tenant_id);"
  "  END;";

static const char memory_words_sql[] =
  "SELECT id, user_id, key || ' ' || value FROM memories"
  " WHERE tenant_id = ?1 ORDER BY id";

static const char log_teardown_sql[] =
  "DROP TRIGGER IF EXISTS temp.vector_log_insert;"
  "DROP TRIGGER IF EXISTS temp.vector_log_update;"
  "DROP TRIGGER IF EXISTS temp.vector_log_delete;"
  "DROP TRIGGER IF EXISTS temp.memory_words_insert;"
  "DROP TRIGGER IF EXISTS temp.memory_words_update;"
  "DROP TRIGGER IF EXISTS temp.memory_words_delete;"
  "DROP TABLE IF EXISTS temp.vector_log;";

static const char log_read_sql[] =
  "SELECT tenant_id, kind, owner_id, seq FROM temp.vector_log"
  " ORDER BY rowid";

static const char log_suspects_sql[] =
  "SELECT DISTINCT owner_id FROM temp.vector_log"
  " WHERE tenant_id = ?1 AND kind = ?2";

static const char log_clear_sql[] = "DELETE FROM temp.vector_log";

static const char row_read_sql[] =
  "SELECT embedder_id, dims, vector FROM embeddings"
  " WHERE tenant_id = ?1 AND kind = ?2 AND owner_id = ?3";

#define UPSERT_HEAD \
  "INSERT INTO embeddings (tenant_id, kind, owner_id, embedder_id, dims," \
  "                        vector, updated_at) VALUES "
#define UPSERT_ROW "(?, ?, ?, ?, ?, ?, ?)"
#define UPSERT_COLUMNS 7
#define UPSERT_TAIL \
  " ON CONFLICT (tenant_id, kind, owner_id) DO UPDATE" \
  " SET embedder_id = excluded.embedder_id, dims = excluded.dims," \
  "     vector = excluded.vector, updated_at = excluded.updated_at"

static const char delete_sql[] =
  "DELETE FROM embeddings"
  " WHERE tenant_id = ?1 AND kind = ?2 AND owner_id = ?3";

static const char load_count_sql[] =
  "SELECT count(*) FROM embeddings"
  " WHERE tenant_id = ?1 AND kind = ?2 AND embedder_id = ?3"
  "   AND vector IS NOT NULL";

static const char load_sql[] =
  "SELECT owner_id, vector FROM embeddings"
  " WHERE tenant_id = ?1 AND kind = ?2 AND embedder_id = ?3"
  "   AND vector IS NOT NULL";

static const char load_all_sql[] =
  "SELECT DISTINCT tenant_id, kind FROM embeddings WHERE embedder_id = ?1";

/* What the store needs to know about each kind of owner row. Parameters:
 *   exists:        ?1 owner, ?2 tenant
 *   filter:        ?1 tenant, ?2 user (0: all), ?3 JSON array of ids → id
 *   fts:           ?1 FTS query, ?2 tenant, ?3 user, ?4 limit → id
 *   pending:       ?1 after id, ?2 embedder, ?3 limit → id, tenant, text
 *   count_pending: ?1 tenant, ?2 embedder (count_all: ?2 embedder)
 *   write:         ?1 tenant, ?2 kind, ?3 owner, ?4 embedder, ?5 dims,
 *                  ?6 vector, ?7 time, ?8 the text that was embedded */
typedef struct
{
  const char *name;
  const char *exists_sql;
  const char *filter_sql;
  const char *fts_sql;
  const char *pending_sql;
  const char *count_pending_sql;
  const char *count_all_sql;
  const char *write_sql;
} KindInfo;

/* Only what people said and were answered is embedded; streaming answers
 * wait until they stop. */
#define MESSAGE_EMBEDDABLE \
  " m.role IN ('user', 'assistant')" \
  " AND m.status IN ('complete', 'interrupted')"

#define MESSAGE_PENDING_FROM \
  " FROM messages AS m LEFT JOIN embeddings AS e" \
  "   ON e.tenant_id = m.tenant_id AND e.kind = 'message'" \
  "   AND e.owner_id = m.id" \
  " WHERE" MESSAGE_EMBEDDABLE \
  "   AND (e.id IS NULL OR e.embedder_id <> ?2)"

#define MEMORY_PENDING_FROM \
  " FROM memories AS m LEFT JOIN embeddings AS e" \
  "   ON e.tenant_id = m.tenant_id AND e.kind = 'memory'" \
  "   AND e.owner_id = m.id" \
  " WHERE (e.id IS NULL OR e.embedder_id <> ?2)"

/* The worker writes only when the row still holds the text it embedded,
 * and never replaces a vector of the same embedder. */
#define WRITE_ON_CONFLICT \
  " ON CONFLICT (tenant_id, kind, owner_id) DO UPDATE" \
  " SET embedder_id = excluded.embedder_id, dims = excluded.dims," \
  "     vector = excluded.vector, updated_at = excluded.updated_at" \
  " WHERE embeddings.embedder_id <> excluded.embedder_id"

/* In the id filters the unary + on tenant_id makes SQLite look the
 * candidate ids up by primary key instead of scanning the tenant's index. */
static const KindInfo kinds[RFL_VECTOR_N_KINDS] = {
  [RFL_VECTOR_KIND_MESSAGE] = {
    "message",
    "SELECT 1 FROM messages WHERE id = ?1 AND tenant_id = ?2",
    "SELECT m.id FROM messages AS m"
    " JOIN conversations AS c"
    "   ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
    " WHERE +m.tenant_id = ?1 AND (?2 = 0 OR c.user_id = ?2)"
    "   AND c.deleted_at IS NULL AND m.status <> 'streaming'"
    "   AND m.id IN (SELECT value FROM json_each (?3))",
    "SELECT m.id FROM messages_fts"
    " JOIN messages AS m ON m.id = messages_fts.rowid"
    " JOIN conversations AS c"
    "   ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
    " WHERE messages_fts MATCH ?1 AND m.tenant_id = ?2"
    "   AND (?3 = 0 OR c.user_id = ?3) AND c.deleted_at IS NULL"
    " ORDER BY bm25 (messages_fts), m.id LIMIT ?4",
    "SELECT m.id, m.tenant_id, m.content" MESSAGE_PENDING_FROM
    "   AND m.id > ?1 ORDER BY m.id LIMIT ?3",
    "SELECT count(*)" MESSAGE_PENDING_FROM " AND m.tenant_id = ?1",
    "SELECT count(*)" MESSAGE_PENDING_FROM,
    "INSERT INTO embeddings (tenant_id, kind, owner_id, embedder_id, dims,"
    "                        vector, updated_at)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7"
    " WHERE EXISTS (SELECT 1 FROM messages"
    "               WHERE id = ?3 AND tenant_id = ?1 AND content = ?8)"
    WRITE_ON_CONFLICT,
  },
  [RFL_VECTOR_KIND_MEMORY] = {
    "memory",
    "SELECT 1 FROM memories WHERE id = ?1 AND tenant_id = ?2",
    "SELECT id FROM memories"
    " WHERE +tenant_id = ?1 AND (?2 = 0 OR user_id = ?2)"
    "   AND id IN (SELECT value FROM json_each (?3))",
    "SELECT m.id FROM memories_fts"
    " JOIN memories AS m ON m.id = memories_fts.rowid"
    " WHERE memories_fts MATCH ?1 AND m.tenant_id = ?2"
    "   AND (?3 = 0 OR m.user_id = ?3)"
    " ORDER BY bm25 (memories_fts), m.id LIMIT ?4",
    "SELECT m.id, m.tenant_id, m.key || ': ' || m.value" MEMORY_PENDING_FROM
    "   AND m.id > ?1 ORDER BY m.id LIMIT ?3",
    "SELECT count(*)" MEMORY_PENDING_FROM " AND m.tenant_id = ?1",
    "SELECT count(*)" MEMORY_PENDING_FROM,
    "INSERT INTO embeddings (tenant_id, kind, owner_id, embedder_id, dims,"
    "                        vector, updated_at)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7"
    " WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?3 AND tenant_id = ?1"
    "               AND key || ': ' || value = ?8)"
    WRITE_ON_CONFLICT,
  },
};

/* Kinds ----------------------------------------------------------------- */

const char *
rfl_vector_kind_to_string (RflVectorKind kind)
{
  g_return_val_if_fail (kind < RFL_VECTOR_N_KINDS, NULL);

  return kinds[kind].name;
}

gboolean
rfl_vector_kind_from_string (const char    *str,
                             RflVectorKind *out)
{
  for (guint i = 0; i < RFL_VECTOR_N_KINDS; i++)
    {
      if (g_strcmp0 (str, kinds[i].name) == 0)
        {
          if (out != NULL)
            *out = i;
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
check_kind (RflVectorKind   kind,
            GError        **error)
{
  if ((guint) kind < RFL_VECTOR_N_KINDS)
    return TRUE;

  g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               _("The vector kind %d is unknown"), (int) kind);
  return FALSE;
}

/* Embedders ------------------------------------------------------------- */

struct _RflVectorEmbedder
{
  gatomicrefcount     ref_count;
  char               *id;
  guint               dims;
  gboolean            local;
  RflVectorEmbedFunc  func;
  gpointer            user_data;
  GDestroyNotify      destroy;
};

G_DEFINE_BOXED_TYPE (RflVectorEmbedder, rfl_vector_embedder,
                     rfl_vector_embedder_ref, rfl_vector_embedder_unref)

RflVectorEmbedder *
rfl_vector_embedder_new (const char         *id,
                         guint               dims,
                         gboolean            local,
                         RflVectorEmbedFunc  func,
                         gpointer            user_data,
                         GDestroyNotify      destroy)
{
  RflVectorEmbedder *self;

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (_rfl_store_check_text (id, MAX_EMBEDDER_ID, FALSE)
                        == RFL_TEXT_OK, NULL);
  g_return_val_if_fail (dims >= 1 && dims <= MAX_DIMS, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (RflVectorEmbedder, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->id = g_strdup (id);
  self->dims = dims;
  self->local = !!local;
  self->func = func;
  self->user_data = user_data;
  self->destroy = destroy;

  return self;
}

static gboolean
hash_embed (const char * const  *texts,
            guint                n_texts,
            float               *vectors,
            gpointer             user_data,
            GCancellable        *cancellable,
            GError             **error)
{
  for (guint i = 0; i < n_texts; i++)
    rfl_hash_embedder_embed (texts[i], -1,
                             vectors + (gsize) i * RFL_HASH_EMBEDDER_DIMS);

  return TRUE;
}

RflVectorEmbedder *
rfl_vector_embedder_new_hash (void)
{
  return rfl_vector_embedder_new (RFL_HASH_EMBEDDER_ID, RFL_HASH_EMBEDDER_DIMS,
                                  TRUE, hash_embed, NULL, NULL);
}

RflVectorEmbedder *
rfl_vector_embedder_ref (RflVectorEmbedder *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
rfl_vector_embedder_unref (RflVectorEmbedder *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  if (self->destroy != NULL)
    self->destroy (self->user_data);
  g_free (self->id);
  g_free (self);
}

const char *
rfl_vector_embedder_get_id (RflVectorEmbedder *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->id;
}

guint
rfl_vector_embedder_get_dims (RflVectorEmbedder *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->dims;
}

gboolean
rfl_vector_embedder_is_local (RflVectorEmbedder *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->local;
}

gboolean
rfl_vector_embedder_embed (RflVectorEmbedder   *self,
                           const char * const  *texts,
                           guint                n_texts,
                           float               *vectors,
                           GCancellable        *cancellable,
                           GError             **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (texts != NULL || n_texts == 0, FALSE);
  g_return_val_if_fail (vectors != NULL || n_texts == 0, FALSE);

  if (n_texts == 0)
    return TRUE;

  return self->func (texts, n_texts, vectors, self->user_data, cancellable,
                     error);
}

/* The store ------------------------------------------------------------- */

typedef struct
{
  gint64        tenant_id;
  RflVectorKind kind;
  gint64        owner_id;
} RowKey;

typedef struct
{
  RflVectorIndex *index;           /* owned */
  /* Loaded while a transaction was open, the index holds what that
   * transaction had written so far: the rows it had touched (RowKey) are
   * read again at the next sync, once it has committed or rolled back. */
  GArray         *suspects;        /* owned, may be NULL */
} IndexEntry;

typedef struct
{
  gint64  seq;       /* the statement that wrote it */
  float  *vector;    /* owned; NULL: nothing to embed */
} Written;

/* Past this, written vectors are read back from the database instead. */
#define MAX_WRITTEN_BYTES (64 * 1024 * 1024)

static guint
row_key_hash (gconstpointer data)
{
  const RowKey *key = data;

  return g_int64_hash (&key->owner_id) ^ g_int64_hash (&key->tenant_id)
         ^ key->kind;
}

static gboolean
row_key_equal (gconstpointer a,
               gconstpointer b)
{
  const RowKey *ka = a;
  const RowKey *kb = b;

  return ka->owner_id == kb->owner_id && ka->tenant_id == kb->tenant_id
         && ka->kind == kb->kind;
}

static void
written_free (gpointer data)
{
  Written *written = data;

  g_free (written->vector);
  g_free (written);
}

struct _RflVectorStore
{
  GObject             parent_instance;

  RflDatabase        *db;               /* owned */
  RflVectorEmbedder  *embedder;         /* owned */
  GHashTable         *indexes;          /* owned: gint64 key → IndexEntry */
  /* Word indexes of memories, built on first use and dropped when the
   * tenant's memories change: tenant id → RflTextIndex. */
  GHashTable         *memory_words;     /* owned */
  /* The vectors this store wrote since the last sync, so that applying
   * them does not read them back: RowKey → Written. */
  GHashTable         *written;          /* owned */
  gsize               written_bytes;
  gint64              last_seq;         /* of the store's write statements */
  gint64              write_seq;        /* while one runs, else 0 */
  GMainContext       *context;          /* owned: the store's thread */

  /* The embedding job. The worker hands rows it wrote over through
   * job_keys, under job_lock, and wakes the store's thread with at most
   * one pending idle. */
  GCancellable       *job_cancellable;  /* owned while a job runs */
  GMutex              job_lock;
  GArray             *job_keys;         /* owned: RowKey */
  guint64             job_done;
  guint64             job_total;
  guint               job_generation;   /* the job the counters are of */
  gboolean            job_idle_pending;
  /* What the properties last announced; store thread only. */
  guint64             shown_done;
  guint64             shown_total;
};

G_DEFINE_FINAL_TYPE (RflVectorStore, rfl_vector_store, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_EMBEDDER,
  PROP_REEMBEDDING,
  PROP_REEMBED_DONE,
  PROP_REEMBED_TOTAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gint64
index_key (gint64        tenant_id,
           RflVectorKind kind)
{
  return (tenant_id << 4) | kind;
}

static void
index_entry_free (gpointer data)
{
  IndexEntry *entry = data;

  /* A background build of the approximate index holds a reference; stop
   * it rather than let it finish for nothing. */
  rfl_vector_index_cancel_build (entry->index);
  rfl_vector_index_unref (entry->index);
  g_clear_pointer (&entry->suspects, g_array_unref);
  g_free (entry);
}

static void
rfl_vector_store_dispose (GObject *object)
{
  RflVectorStore *self = (RflVectorStore *)object;

  if (self->job_cancellable != NULL)
    g_cancellable_cancel (self->job_cancellable);
  if (self->indexes != NULL)
    g_hash_table_remove_all (self->indexes);
  if (self->memory_words != NULL)
    g_hash_table_remove_all (self->memory_words);

  G_OBJECT_CLASS (rfl_vector_store_parent_class)->dispose (object);
}

static void
rfl_vector_store_finalize (GObject *object)
{
  RflVectorStore *self = (RflVectorStore *)object;

  /* The notes are of no use to anyone else: stop taking them. */
  if (self->db != NULL
      && g_object_get_data (G_OBJECT (self->db), "rfl-vector-store") == self)
    {
      _rfl_database_exec (self->db, log_teardown_sql, NULL);
      sqlite3_create_function_v2 (_rfl_database_get_handle (self->db),
                                  "rfl_vector_write_seq", 0, SQLITE_UTF8,
                                  NULL, NULL, NULL, NULL, NULL);
      sqlite3_create_function_v2 (_rfl_database_get_handle (self->db),
                                  "rfl_memory_words_changed", 1, SQLITE_UTF8,
                                  NULL, NULL, NULL, NULL, NULL);
      g_object_set_data (G_OBJECT (self->db), "rfl-vector-store", NULL);
    }

  g_clear_pointer (&self->indexes, g_hash_table_unref);
  g_clear_pointer (&self->memory_words, g_hash_table_unref);
  g_clear_pointer (&self->written, g_hash_table_unref);
  g_clear_pointer (&self->job_keys, g_array_unref);
  g_clear_object (&self->job_cancellable);
  g_mutex_clear (&self->job_lock);
  g_clear_pointer (&self->embedder, rfl_vector_embedder_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->db);

  G_OBJECT_CLASS (rfl_vector_store_parent_class)->finalize (object);
}

static void
rfl_vector_store_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RflVectorStore *self = RFL_VECTOR_STORE (object);

  switch (prop_id)
    {
    case PROP_EMBEDDER:
      g_value_set_boxed (value, self->embedder);
      break;
    case PROP_REEMBEDDING:
      g_value_set_boolean (value, rfl_vector_store_is_reembedding (self));
      break;
    case PROP_REEMBED_DONE:
      g_value_set_uint64 (value, self->shown_done);
      break;
    case PROP_REEMBED_TOTAL:
      g_value_set_uint64 (value, self->shown_total);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_vector_store_class_init (RflVectorStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_vector_store_dispose;
  object_class->finalize = rfl_vector_store_finalize;
  object_class->get_property = rfl_vector_store_get_property;

  properties[PROP_EMBEDDER] =
    g_param_spec_boxed ("embedder", NULL, NULL,
                        RFL_TYPE_VECTOR_EMBEDDER,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                        | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REEMBEDDING] =
    g_param_spec_boolean ("reembedding", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                          | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REEMBED_DONE] =
    g_param_spec_uint64 ("reembed-done", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                         | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REEMBED_TOTAL] =
    g_param_spec_uint64 ("reembed-total", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                         | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_vector_store_init (RflVectorStore *self)
{
  self->indexes = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                         g_free, index_entry_free);
  self->memory_words = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                              g_free,
                                              (GDestroyNotify) rfl_text_index_unref);
  self->written = g_hash_table_new_full (row_key_hash, row_key_equal,
                                         g_free, written_free);
  self->job_keys = g_array_new (FALSE, FALSE, sizeof (RowKey));
  g_mutex_init (&self->job_lock);
}

/* rfl_vector_write_seq (): the number of the store's write statement that
 * runs, 0 outside of one. Registered on the store's connection only. */
static void
write_seq_function (sqlite3_context  *context,
                    int               argc,
                    sqlite3_value   **argv)
{
  RflVectorStore *self = sqlite3_user_data (context);

  sqlite3_result_int64 (context, self->write_seq);
}

/* rfl_memory_words_changed (tenant_id): drops the tenant's word index of
 * memories, from the temp triggers on memories. */
static void
memory_words_changed_function (sqlite3_context  *context,
                               int               argc,
                               sqlite3_value   **argv)
{
  RflVectorStore *self = sqlite3_user_data (context);
  gint64 tenant_id = sqlite3_value_int64 (argv[0]);

  g_hash_table_remove (self->memory_words, &tenant_id);
  sqlite3_result_null (context);
}

RflVectorStore *
rfl_vector_store_new (RflDatabase        *db,
                      RflVectorEmbedder  *embedder,
                      GError            **error)
{
  g_autoptr(RflVectorStore) self = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (db), NULL);
  g_return_val_if_fail (embedder != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Two stores on one connection would share, and split, one log. */
  if (g_object_get_data (G_OBJECT (db), "rfl-vector-store") != NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_EXISTS,
                           _("The database already has a vector store"));
      return NULL;
    }

  _rfl_store_tune_allocator ();

  self = g_object_new (RFL_TYPE_VECTOR_STORE, NULL);
  self->db = g_object_ref (db);
  self->embedder = rfl_vector_embedder_ref (embedder);
  self->context = g_main_context_ref_thread_default ();

  /* From here on, finalizing the store takes back what it set up. */
  g_object_set_data (G_OBJECT (db), "rfl-vector-store", self);

  rc = sqlite3_create_function_v2 (_rfl_database_get_handle (db),
                                   "rfl_vector_write_seq", 0, SQLITE_UTF8,
                                   self, write_seq_function, NULL, NULL,
                                   NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2 (_rfl_database_get_handle (db),
                                     "rfl_memory_words_changed", 1,
                                     SQLITE_UTF8, self,
                                     memory_words_changed_function, NULL,
                                     NULL, NULL);
  if (rc != SQLITE_OK)
    {
      _rfl_database_set_error (db, rc, error);
      return NULL;
    }

  if (!_rfl_database_exec (db, log_setup_sql, error))
    return NULL;

  return g_steal_pointer (&self);
}

RflDatabase *
rfl_vector_store_get_database (RflVectorStore *self)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), NULL);

  return self->db;
}

RflVectorEmbedder *
rfl_vector_store_get_embedder (RflVectorStore *self)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), NULL);

  return self->embedder;
}

static gboolean
in_transaction (RflVectorStore *self)
{
  return !sqlite3_get_autocommit (_rfl_database_get_handle (self->db));
}

/* Vectors --------------------------------------------------------------- */

static gboolean
check_vector (RflVectorStore  *self,
              const float     *vector,
              guint            n_dims,
              gboolean        *out_zero,
              GError         **error)
{
  gboolean zero = TRUE;

  if (n_dims != self->embedder->dims)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The vector has %u dimensions, but the embedder “%s” "
                     "makes vectors of %u"),
                   n_dims, self->embedder->id, self->embedder->dims);
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
      if (vector[i] != 0.0f)
        zero = FALSE;
    }

  if (out_zero != NULL)
    *out_zero = zero;
  return TRUE;
}

static gboolean
is_zero (const float *vector,
         guint        n_dims)
{
  for (guint i = 0; i < n_dims; i++)
    {
      if (vector[i] != 0.0f)
        return FALSE;
    }

  return TRUE;
}

/* Copies a BLOB column into @out (room for @dims floats): the BLOB may not
 * be aligned for floats. FALSE when it is NULL or of another size. */
static gboolean
read_vector (sqlite3_stmt *stmt,
             int           column,
             guint         dims,
             float        *out)
{
  const void *blob = sqlite3_column_blob (stmt, column);
  int size = sqlite3_column_bytes (stmt, column);

  if (blob == NULL || (gsize) size != (gsize) dims * sizeof (float))
    return FALSE;

  memcpy (out, blob, size);
  return TRUE;
}

/* Keeps what was written for the next sync. */
static void
remember_written (RflVectorStore *self,
                  gint64          tenant_id,
                  RflVectorKind   kind,
                  gint64          owner_id,
                  const float    *vector)
{
  gsize size = (gsize) self->embedder->dims * sizeof (float);
  RowKey key = { tenant_id, kind, owner_id };
  Written *written = g_hash_table_lookup (self->written, &key);

  if (written == NULL)
    {
      if (self->written_bytes + size > MAX_WRITTEN_BYTES)
        return;

      written = g_new0 (Written, 1);
      self->written_bytes += size;
      g_hash_table_insert (self->written, g_memdup2 (&key, sizeof key),
                           written);
    }

  g_clear_pointer (&written->vector, g_free);
  written->seq = self->write_seq;
  written->vector = vector != NULL ? g_memdup2 (vector, size) : NULL;
}

static void
forget_written (RflVectorStore *self)
{
  g_hash_table_remove_all (self->written);
  self->written_bytes = 0;
}

/* Writes the vectors of @owner_ids (@vectors: n × dims floats, a row of
 * zeros recording "nothing to embed") in the caller's transaction, in
 * statements of many rows. */
static gboolean
write_rows (RflVectorStore  *self,
            gint64           tenant_id,
            RflVectorKind    kind,
            const gint64    *owner_ids,
            const float     *vectors,
            guint            n,
            GError         **error)
{
  guint dims = self->embedder->dims;
  gint64 now = _rfl_store_now_ms ();

  for (guint done = 0, rows; done < n; done += rows)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;
      g_autofree char *sql = NULL;
      gboolean ok;

      rows = _rfl_store_chunk_rows (n - done);
      sql = _rfl_store_multi_row_sql (UPSERT_HEAD, UPSERT_ROW, UPSERT_TAIL,
                                      rows);
      stmt = _rfl_database_prepare (self->db, sql, error);
      if (stmt == NULL)
        return FALSE;

      /* The triggers note this number with every row the statement
       * writes, so that the sync knows them for the ones remembered. */
      self->write_seq = ++self->last_seq;

      for (guint r = 0; r < rows; r++)
        {
          const float *vector = vectors + (gsize) (done + r) * dims;
          int first = r * UPSERT_COLUMNS + 1;

          if (is_zero (vector, dims))
            vector = NULL;

          sqlite3_bind_int64 (stmt, first, tenant_id);
          sqlite3_bind_text (stmt, first + 1, kinds[kind].name, -1,
                             SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, first + 2, owner_ids[done + r]);
          sqlite3_bind_text (stmt, first + 3, self->embedder->id, -1,
                             SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, first + 4, dims);
          if (vector != NULL)
            sqlite3_bind_blob (stmt, first + 5, vector, dims * sizeof (float),
                               SQLITE_STATIC);
          else
            sqlite3_bind_null (stmt, first + 5);
          sqlite3_bind_int64 (stmt, first + 6, now);

          remember_written (self, tenant_id, kind, owner_ids[done + r],
                            vector);
        }

      /* What is remembered but not written (the statement failed) is never
       * in the log, so it is never applied. */
      ok = _rfl_store_step_done (self->db, stmt, error);
      self->write_seq = 0;
      if (!ok)
        return FALSE;
    }

  return TRUE;
}

/* One row; @vector NULL records "nothing to embed". */
static gboolean
write_row (RflVectorStore  *self,
           gint64           tenant_id,
           RflVectorKind    kind,
           gint64           owner_id,
           const float     *vector,
           GError         **error)
{
  g_autofree float *zeros = NULL;

  if (vector == NULL)
    vector = zeros = g_new0 (float, self->embedder->dims);

  return write_rows (self, tenant_id, kind, &owner_id, vector, 1, error);
}

static gboolean
delete_row (RflVectorStore  *self,
            gint64           tenant_id,
            RflVectorKind    kind,
            gint64           owner_id,
            GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db, delete_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, kinds[kind].name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, owner_id);

  return _rfl_store_step_done (self->db, stmt, error);
}

static gboolean
check_owner (RflVectorStore  *self,
             gint64           tenant_id,
             RflVectorKind    kind,
             gint64           owner_id,
             GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, kinds[kind].exists_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, owner_id);
  sqlite3_bind_int64 (stmt, 2, tenant_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  if (kind == RFL_VECTOR_KIND_MESSAGE)
    g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                         _("The message does not exist"));
  else
    g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                         _("The memory does not exist"));
  return FALSE;
}

/* Indexes --------------------------------------------------------------- */

static IndexEntry *
lookup_entry (RflVectorStore *self,
              gint64          tenant_id,
              RflVectorKind   kind)
{
  gint64 key = index_key (tenant_id, kind);

  return g_hash_table_lookup (self->indexes, &key);
}

/* Brings one index in line with the row read for @key: @vector is NULL
 * when the row is gone, records nothing, or is of another embedder. */
static void
apply_to_index (RflVectorStore *self,
                const RowKey   *key,
                const float    *vector)
{
  IndexEntry *entry = lookup_entry (self, key->tenant_id, key->kind);
  RflVectorIndex *index;
  g_autoptr(GError) error = NULL;
  guint dims;

  if (entry == NULL)
    return;

  index = entry->index;
  dims = rfl_vector_index_get_dims (index);

  if (vector == NULL)
    {
      rfl_vector_index_remove (index, key->owner_id);
      return;
    }

  if (rfl_vector_index_contains (index, key->owner_id))
    rfl_vector_index_update (index, key->owner_id, vector, dims, &error);
  else
    rfl_vector_index_insert (index, key->owner_id, vector, dims, &error);

  if (error != NULL)
    {
      g_warning ("Vector of %s %" G_GINT64_FORMAT " left out of the index: %s",
                 kinds[key->kind].name, key->owner_id, error->message);
      rfl_vector_index_remove (index, key->owner_id);
    }
}

/* Reads the embedder, dims and vector columns starting at @column into
 * @buffer; TRUE when they make a vector of the configured embedder. */
static gboolean
read_current_vector (RflVectorStore *self,
                     sqlite3_stmt   *stmt,
                     int             column,
                     float          *buffer)
{
  const char *embedder_id = (const char *) sqlite3_column_text (stmt, column);

  return embedder_id != NULL
         && g_str_equal (embedder_id, self->embedder->id)
         && sqlite3_column_int64 (stmt, column + 1) == self->embedder->dims
         && read_vector (stmt, column + 2, self->embedder->dims, buffer);
}

static gboolean
sync_row (RflVectorStore  *self,
          const RowKey    *key,
          float           *buffer,
          GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, row_read_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, key->tenant_id);
  sqlite3_bind_text (stmt, 2, kinds[key->kind].name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, key->owner_id);

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  apply_to_index (self, key,
                  rc == SQLITE_ROW && read_current_vector (self, stmt, 0,
                                                           buffer)
                  ? buffer : NULL);
  return TRUE;
}

/* Replays the committed changes in order. A write of this store since the
 * last sync is applied from memory; any other (a cascade, a row the
 * memory no longer holds) is read back from the database. */
static gboolean
sync_log (RflVectorStore  *self,
          GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree float *buffer = g_new (float, self->embedder->dims);
  guint n_rows = 0;
  int rc;

  stmt = _rfl_database_prepare (self->db, log_read_sql, error);
  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const Written *written;
      RowKey key;

      n_rows++;
      if (!rfl_vector_kind_from_string ((const char *) sqlite3_column_text (stmt, 1),
                                        &key.kind))
        continue;

      key.tenant_id = sqlite3_column_int64 (stmt, 0);
      key.owner_id = sqlite3_column_int64 (stmt, 2);
      if (lookup_entry (self, key.tenant_id, key.kind) == NULL)
        continue;

      if (sqlite3_column_type (stmt, 3) == SQLITE_NULL)
        {
          apply_to_index (self, &key, NULL);
          continue;
        }

      written = g_hash_table_lookup (self->written, &key);
      if (written != NULL && written->seq != 0
          && written->seq == sqlite3_column_int64 (stmt, 3))
        apply_to_index (self, &key, written->vector);
      else if (!sync_row (self, &key, buffer, error))
        return FALSE;
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  _rfl_cached_stmt_release (g_steal_pointer (&stmt));
  forget_written (self);

  if (n_rows == 0)
    return TRUE;

  return _rfl_database_exec (self->db, log_clear_sql, error);
}

/* Rows the embedding job wrote through its own connection. */
static gboolean
sync_job_keys (RflVectorStore  *self,
               GError         **error)
{
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (RowKey));
  g_autofree float *buffer = NULL;

  g_mutex_lock (&self->job_lock);
  if (self->job_keys->len > 0)
    {
      GArray *swap = self->job_keys;

      self->job_keys = keys;
      keys = swap;
    }
  g_mutex_unlock (&self->job_lock);

  if (keys->len == 0 || g_hash_table_size (self->indexes) == 0)
    return TRUE;

  buffer = g_new (float, self->embedder->dims);
  for (guint i = 0; i < keys->len; i++)
    {
      if (!sync_row (self, &g_array_index (keys, RowKey, i), buffer, error))
        return FALSE;
    }

  return TRUE;
}

/* Brings back to the committed state the rows an index was loaded with
 * while a transaction was open. */
static gboolean
sync_suspects (RflVectorStore  *self,
               GError         **error)
{
  g_autofree float *buffer = NULL;
  GHashTableIter iter;
  IndexEntry *entry;

  g_hash_table_iter_init (&iter, self->indexes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      g_autoptr(GArray) suspects = g_steal_pointer (&entry->suspects);

      if (suspects == NULL)
        continue;

      if (buffer == NULL)
        buffer = g_new (float, self->embedder->dims);

      for (guint i = 0; i < suspects->len; i++)
        {
          if (!sync_row (self, &g_array_index (suspects, RowKey, i), buffer,
                         error))
            return FALSE;
        }
    }

  return TRUE;
}

gboolean
rfl_vector_store_sync (RflVectorStore  *self,
                       GError         **error)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);

  if (in_transaction (self))
    return TRUE;

  if (!sync_suspects (self, error)
      || !sync_job_keys (self, error)
      || !sync_log (self, error))
    {
      /* Reloading from the database is always right. */
      g_hash_table_remove_all (self->indexes);
      forget_written (self);
      return FALSE;
    }

  return TRUE;
}

void
_rfl_vector_store_after_write (RflVectorStore *self)
{
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    return;

  if (!rfl_vector_store_sync (self, &error))
    g_warning ("The vector indexes will be reloaded: %s", error->message);
}

static gboolean
query_count (RflDatabase    *db,
             sqlite3_stmt   *stmt,
             gint64         *out,
             GError        **error)
{
  int rc = sqlite3_step (stmt);

  *out = 0;
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (db, rc, error);

  *out = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gint64
count_loadable (RflVectorStore  *self,
                gint64           tenant_id,
                RflVectorKind    kind,
                GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gint64 count;

  stmt = _rfl_database_prepare (self->db, load_count_sql, error);
  if (stmt == NULL)
    return -1;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, kinds[kind].name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, self->embedder->id, -1, SQLITE_STATIC);

  if (!query_count (self->db, stmt, &count, error))
    return -1;

  return count;
}

/* The rows of (@tenant_id, @kind) the open transaction has written. */
static GArray *
read_suspects (RflVectorStore  *self,
               gint64           tenant_id,
               RflVectorKind    kind,
               GError         **error)
{
  g_autoptr(GArray) suspects = g_array_new (FALSE, FALSE, sizeof (RowKey));
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, log_suspects_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, kinds[kind].name, -1, SQLITE_STATIC);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RowKey key = { tenant_id, kind, sqlite3_column_int64 (stmt, 0) };

      g_array_append_val (suspects, key);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&suspects);
}

static IndexEntry *
load_index (RflVectorStore  *self,
            gint64           tenant_id,
            RflVectorKind    kind,
            GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(RflVectorIndex) index = NULL;
  g_autofree float *buffer = NULL;
  guint dims = self->embedder->dims;
  IndexEntry *entry;
  gint64 count;
  int rc;

  count = count_loadable (self, tenant_id, kind, error);
  if (count < 0)
    return NULL;

  stmt = _rfl_database_prepare (self->db, load_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, kinds[kind].name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, self->embedder->id, -1, SQLITE_STATIC);

  index = rfl_vector_index_new (dims, self->embedder->id);
  /* No approximate index while loading: one is built once, at the end. */
  rfl_vector_index_set_approximate_threshold (index, 0);
  rfl_vector_index_reserve (index, count);
  buffer = g_new (float, dims);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 owner_id = sqlite3_column_int64 (stmt, 0);
      g_autoptr(GError) local_error = NULL;

      if (!read_vector (stmt, 1, dims, buffer)
          || !rfl_vector_index_insert (index, owner_id, buffer, dims,
                                       &local_error))
        g_warning ("Vector of %s %" G_GINT64_FORMAT " left out of the "
                   "index: %s", kinds[kind].name, owner_id,
                   local_error != NULL ? local_error->message
                                       : "its size is wrong");
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  rfl_vector_index_set_approximate_threshold (index,
                                              RFL_VECTOR_INDEX_DEFAULT_THRESHOLD);

  entry = g_new0 (IndexEntry, 1);
  entry->index = g_steal_pointer (&index);
  if (in_transaction (self)
      && !(entry->suspects = read_suspects (self, tenant_id, kind, error)))
    {
      index_entry_free (entry);
      return NULL;
    }
  g_hash_table_insert (self->indexes,
                       g_memdup2 (&(gint64) { index_key (tenant_id, kind) },
                                  sizeof (gint64)),
                       entry);

  g_debug ("Loaded %" G_GINT64_FORMAT " %s vectors of tenant %"
           G_GINT64_FORMAT, count, kinds[kind].name, tenant_id);

  return entry;
}

/* The index of (@tenant_id, @kind), up to date with what was committed. */
static RflVectorIndex *
ensure_index (RflVectorStore  *self,
              gint64           tenant_id,
              RflVectorKind    kind,
              GError         **error)
{
  IndexEntry *entry;

  if (!rfl_vector_store_sync (self, error))
    return NULL;

  entry = lookup_entry (self, tenant_id, kind);
  if (entry == NULL)
    entry = load_index (self, tenant_id, kind, error);

  return entry != NULL ? entry->index : NULL;
}

gboolean
rfl_vector_store_load_all (RflVectorStore  *self,
                           GError         **error)
{
  g_autoptr(GArray) pairs = g_array_new (FALSE, FALSE, sizeof (RowKey));
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);

  if (!rfl_vector_store_sync (self, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, load_all_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, self->embedder->id, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RowKey pair = { sqlite3_column_int64 (stmt, 0), 0, 0 };

      if (rfl_vector_kind_from_string ((const char *) sqlite3_column_text (stmt, 1),
                                       &pair.kind))
        g_array_append_val (pairs, pair);
    }
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  _rfl_cached_stmt_release (g_steal_pointer (&stmt));

  for (guint i = 0; i < pairs->len; i++)
    {
      const RowKey *pair = &g_array_index (pairs, RowKey, i);

      if (ensure_index (self, pair->tenant_id, pair->kind, error) == NULL)
        return FALSE;
    }

  return TRUE;
}

void
rfl_vector_store_set_embedder (RflVectorStore    *self,
                               RflVectorEmbedder *embedder)
{
  g_return_if_fail (RFL_IS_VECTOR_STORE (self));
  g_return_if_fail (embedder != NULL);

  if (embedder == self->embedder)
    return;

  if (self->job_cancellable != NULL)
    {
      g_cancellable_cancel (self->job_cancellable);
      g_clear_object (&self->job_cancellable);
      /* What the cancelled job still reports is not progress any more. */
      g_mutex_lock (&self->job_lock);
      self->job_generation++;
      g_mutex_unlock (&self->job_lock);
      g_object_notify_by_pspec (G_OBJECT (self),
                                properties[PROP_REEMBEDDING]);
    }

  g_clear_pointer (&self->embedder, rfl_vector_embedder_unref);
  self->embedder = rfl_vector_embedder_ref (embedder);
  g_hash_table_remove_all (self->indexes);
  forget_written (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EMBEDDER]);
}

/* Transactions ---------------------------------------------------------- */

gboolean
rfl_vector_store_begin (RflVectorStore  *self,
                        GError         **error)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);

  if (in_transaction (self))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("A transaction is already open"));
      return FALSE;
    }

  return _rfl_database_exec (self->db, "BEGIN IMMEDIATE", error);
}

gboolean
rfl_vector_store_commit (RflVectorStore  *self,
                         GError         **error)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);

  if (!in_transaction (self))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("No transaction is open"));
      return FALSE;
    }

  if (!_rfl_database_exec (self->db, "COMMIT", error))
    {
      rfl_vector_store_rollback (self);
      return FALSE;
    }

  _rfl_vector_store_after_write (self);
  return TRUE;
}

void
rfl_vector_store_rollback (RflVectorStore *self)
{
  g_return_if_fail (RFL_IS_VECTOR_STORE (self));

  if (in_transaction (self))
    _rfl_database_exec (self->db, "ROLLBACK", NULL);

  /* Indexes loaded inside the transaction forget what it wrote. */
  _rfl_vector_store_after_write (self);
}

/* Writes ---------------------------------------------------------------- */

gboolean
rfl_vector_store_put (RflVectorStore  *self,
                      gint64           tenant_id,
                      RflVectorKind    kind,
                      gint64           owner_id,
                      const float     *vector,
                      guint            n_dims,
                      GError         **error)
{
  gboolean zero;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);
  g_return_val_if_fail (vector != NULL || n_dims == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_kind (kind, error)
      || !check_vector (self, vector, n_dims, &zero, error)
      || !check_owner (self, tenant_id, kind, owner_id, error)
      || !write_row (self, tenant_id, kind, owner_id, zero ? NULL : vector,
                     error))
    return FALSE;

  _rfl_vector_store_after_write (self);
  return TRUE;
}

gboolean
rfl_vector_store_delete (RflVectorStore  *self,
                         gint64           tenant_id,
                         RflVectorKind    kind,
                         gint64           owner_id,
                         GError         **error)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_kind (kind, error)
      || !delete_row (self, tenant_id, kind, owner_id, error))
    return FALSE;

  _rfl_vector_store_after_write (self);
  return TRUE;
}

gboolean
_rfl_vector_store_put_text (RflVectorStore  *self,
                            gint64           tenant_id,
                            RflVectorKind    kind,
                            gint64           owner_id,
                            const char      *text,
                            GError         **error)
{
  return _rfl_vector_store_put_texts (self, tenant_id, kind, &owner_id,
                                      &text, 1, error);
}

/* Batches at least this large are embedded on a thread of their own
 * while the caller writes its rows; the caller helps once it is done. */
#define EMBED_THREAD_MIN 64
/* Texts embedded at a time by either thread. */
#define EMBED_CHUNK 16

struct _RflEmbedTask
{
  RflVectorEmbedder   *embedder;   /* owned */
  const char * const  *texts;      /* borrowed */
  guint                n;
  float               *vectors;    /* owned: n × dims */
  GThread             *thread;     /* owned while it runs */
  gint                 next;       /* atomic: the first text not taken */
  GMutex               lock;
  GError              *error;      /* owned, under lock: the first error */
};

/* Embeds chunks of texts until none is left; both threads run it. */
static gpointer
embed_task_run (gpointer data)
{
  RflEmbedTask *task = data;
  guint dims = task->embedder->dims;
  gint start;

  while ((start = g_atomic_int_add (&task->next, EMBED_CHUNK)) < (gint) task->n)
    {
      guint count = MIN (EMBED_CHUNK, task->n - (guint) start);
      GError *error = NULL;

      if (!rfl_vector_embedder_embed (task->embedder, task->texts + start,
                                      count,
                                      task->vectors + (gsize) start * dims,
                                      NULL, &error))
        {
          g_mutex_lock (&task->lock);
          if (task->error == NULL)
            task->error = g_steal_pointer (&error);
          g_mutex_unlock (&task->lock);
          g_clear_error (&error);
          g_atomic_int_set (&task->next, (gint) task->n);
        }
    }

  return NULL;
}

static void
embed_task_wait (RflEmbedTask *task)
{
  if (task->thread == NULL)
    return;

  embed_task_run (task);
  g_thread_join (g_steal_pointer (&task->thread));
}

void
_rfl_embed_task_free (RflEmbedTask *task)
{
  if (task == NULL)
    return;

  /* Nothing more is taken; the thread finishes its chunk. */
  g_atomic_int_set (&task->next, (gint) task->n);
  embed_task_wait (task);
  rfl_vector_embedder_unref (task->embedder);
  g_clear_error (&task->error);
  g_mutex_clear (&task->lock);
  g_free (task->vectors);
  g_free (task);
}

RflEmbedTask *
_rfl_vector_store_embed_start (RflVectorStore      *self,
                               const char * const  *texts,
                               guint                n)
{
  RflEmbedTask *task;

  if (!self->embedder->local || n == 0)
    return NULL;

  task = g_new0 (RflEmbedTask, 1);
  task->embedder = rfl_vector_embedder_ref (self->embedder);
  task->texts = texts;
  task->n = n;
  task->vectors = g_new (float, (gsize) n * self->embedder->dims);
  g_mutex_init (&task->lock);

  /* The embedder is thread-safe and the texts are not touched by anyone
   * until the task is finished; no SQLite object leaves this thread. */
  if (n >= EMBED_THREAD_MIN)
    task->thread = g_thread_try_new ("rfl-embed", embed_task_run, task, NULL);
  if (task->thread == NULL)
    embed_task_run (task);

  return task;
}

gboolean
_rfl_vector_store_embed_finish (RflVectorStore  *self,
                                RflEmbedTask    *task,
                                gint64           tenant_id,
                                RflVectorKind    kind,
                                const gint64    *owner_ids,
                                GError         **error)
{
  g_autoptr(RflEmbedTask) owned = task;

  embed_task_wait (task);
  if (task->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&task->error));
      return FALSE;
    }

  /* The embedder cannot change on this thread while a write is under way;
   * if it did, these vectors would not be of it. */
  g_return_val_if_fail (task->embedder == self->embedder, FALSE);

  return write_rows (self, tenant_id, kind, owner_ids, task->vectors,
                     task->n, error);
}

gboolean
_rfl_vector_store_put_texts (RflVectorStore      *self,
                             gint64               tenant_id,
                             RflVectorKind        kind,
                             const gint64        *owner_ids,
                             const char * const  *texts,
                             guint                n,
                             GError             **error)
{
  RflEmbedTask *task;

  /* A remote embedder is too slow to wait for here: a vector it made of
   * an earlier text would be wrong now, so it goes, and the embedding job
   * makes the new one. */
  if (!self->embedder->local)
    {
      for (guint i = 0; i < n; i++)
        {
          if (!delete_row (self, tenant_id, kind, owner_ids[i], error))
            return FALSE;
        }
      return TRUE;
    }

  task = _rfl_vector_store_embed_start (self, texts, n);
  if (task == NULL)
    return TRUE;

  return _rfl_vector_store_embed_finish (self, task, tenant_id, kind,
                                         owner_ids, error);
}

/* Reads ----------------------------------------------------------------- */

gboolean
rfl_vector_store_get (RflVectorStore  *self,
                      gint64           tenant_id,
                      RflVectorKind    kind,
                      gint64           owner_id,
                      float          **out_vector,
                      guint           *out_dims,
                      char           **out_embedder_id,
                      GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree float *vector = NULL;
  guint dims;
  int rc;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_kind (kind, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, row_read_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, kinds[kind].name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, owner_id);

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  if (rc == SQLITE_ROW)
    {
      dims = (guint) CLAMP (sqlite3_column_int64 (stmt, 1), 0, MAX_DIMS);
      if (out_embedder_id != NULL)
        *out_embedder_id = _rfl_store_dup_column_text (stmt, 0);
      vector = g_new (float, MAX (dims, 1));
      if (read_vector (stmt, 2, dims, vector))
        {
          if (out_dims != NULL)
            *out_dims = dims;
          if (out_vector != NULL)
            *out_vector = g_steal_pointer (&vector);
          return TRUE;
        }
    }

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("There is no vector for this item"));
  return FALSE;
}

gsize
rfl_vector_store_count (RflVectorStore  *self,
                        gint64           tenant_id,
                        RflVectorKind    kind,
                        GError         **error)
{
  RflVectorIndex *index;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), 0);

  if (!check_kind (kind, error)
      || !(index = ensure_index (self, tenant_id, kind, error)))
    return 0;

  return rfl_vector_index_get_count (index);
}

guint64
rfl_vector_store_count_pending (RflVectorStore  *self,
                                gint64           tenant_id,
                                RflVectorKind    kind,
                                GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gint64 count;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), 0);

  if (!check_kind (kind, error))
    return 0;

  stmt = _rfl_database_prepare (self->db, kinds[kind].count_pending_sql,
                                error);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, self->embedder->id, -1, SQLITE_STATIC);

  if (!query_count (self->db, stmt, &count, error))
    return 0;

  return (guint64) count;
}

/* Search ---------------------------------------------------------------- */

static void
free_int64 (gpointer data)
{
  g_free (data);
}

/* The ids among @hits that are rows of @tenant_id (and @user_id) that
 * searches may show. */
/* The word index of @tenant_id's memories, built from the database on
 * first use. Inside a transaction the rows may yet be rolled back, and
 * a tenant with very many memories is better served by FTS5: then there
 * is none and the caller asks SQL (NULL without an error). */
static RflTextIndex *
ensure_memory_words (RflVectorStore  *self,
                     gint64           tenant_id,
                     GError         **error)
{
  g_autoptr(RflTextIndex) words = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  RflTextIndex *cached;
  gint64 started;
  int rc;

  RflVectorIndex *vectors;

  if (in_transaction (self))
    return NULL;

  cached = g_hash_table_lookup (self->memory_words, &tenant_id);
  if (cached != NULL)
    return cached;

  /* A change makes the next search build it again: past a size that
   * takes longer than FTS5 would take for many searches. */
  vectors = ensure_index (self, tenant_id, RFL_VECTOR_KIND_MEMORY, error);
  if (vectors == NULL
      || rfl_vector_index_get_count (vectors) > MAX_MEMORY_WORDS)
    return NULL;

  stmt = _rfl_database_prepare (self->db, memory_words_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  started = g_get_monotonic_time ();
  words = rfl_text_index_new ();
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    rfl_text_index_add (words, sqlite3_column_int64 (stmt, 0),
                        sqlite3_column_int64 (stmt, 1),
                        (const char *) sqlite3_column_text (stmt, 2));

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  g_debug ("Word index of tenant %" G_GINT64_FORMAT ": %u memories,"
           " %" G_GSIZE_FORMAT " KiB, built in %.1f ms", tenant_id,
           rfl_text_index_get_count (words),
           rfl_text_index_get_size (words) / 1024,
           (g_get_monotonic_time () - started) / 1000.0);

  cached = g_steal_pointer (&words);
  g_hash_table_insert (self->memory_words,
                       g_memdup2 (&tenant_id, sizeof tenant_id), cached);

  return cached;
}

/* Sets @keep[i] for the hits that are @user_id's (any user's for 0) and
 * of the tenant: from @words when given (then @self may be NULL and any
 * thread may ask), else from the database. */
static gboolean
filter_ids (RflVectorStore      *self,
            RflTextIndex        *words,
            gint64               tenant_id,
            RflVectorKind        kind,
            gint64               user_id,
            const RflVectorHit  *hits,
            guint                n_hits,
            gboolean            *keep,
            GError             **error)
{
  g_autoptr(GHashTable) positions = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GString) json = NULL;
  int rc;

  memset (keep, 0, n_hits * sizeof (gboolean));

  if (words == NULL && kind == RFL_VECTOR_KIND_MEMORY)
    {
      g_autoptr(GError) local_error = NULL;

      words = ensure_memory_words (self, tenant_id, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }

  if (words != NULL)
    {
      for (guint i = 0; i < n_hits; i++)
        {
          gint64 owner;

          keep[i] = rfl_text_index_lookup (words, hits[i].id, &owner)
                    && (user_id == 0 || owner == user_id);
        }
      return TRUE;
    }

  json = g_string_new ("[");
  for (guint i = 0; i < n_hits; i++)
    g_string_append_printf (json, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                            hits[i].id);
  g_string_append_c (json, ']');

  stmt = _rfl_database_prepare (self->db, kinds[kind].filter_sql, error);
  if (stmt == NULL)
    return FALSE;

  /* Ids are unique among the hits. */
  positions = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < n_hits; i++)
    g_hash_table_insert (positions, (gpointer) &hits[i].id,
                         GUINT_TO_POINTER (i));

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_text (stmt, 3, json->str, json->len, SQLITE_STATIC);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      gpointer position;

      if (g_hash_table_lookup_extended (positions, &id, NULL, &position))
        keep[GPOINTER_TO_UINT (position)] = TRUE;
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  return TRUE;
}

/* Fills @out with up to @limit hits that pass the filter. The index knows
 * tenants, not users or deleted conversations, so it is asked for more
 * candidates than needed, and for more again while too few pass. */
static gboolean
search_filtered (RflVectorStore  *self,
                 RflTextIndex    *words,
                 RflVectorIndex  *index,
                 gint64           tenant_id,
                 RflVectorKind    kind,
                 gint64           user_id,
                 const float     *query,
                 guint            limit,
                 GArray          *out,
                 GError         **error)
{
  gsize count = rfl_vector_index_get_count (index);
  guint dims = rfl_vector_index_get_dims (index);
  RflVectorSearchMode mode = RFL_VECTOR_SEARCH_AUTO;
  guint k;

  if (count == 0 || limit == 0)
    return TRUE;

  /* Ask for enough rows that @limit of them are likely the user's: four
   * times as many, or in proportion to the user's share of the memories
   * when that is known. */
  k = (guint) MIN (count, MAX ((gsize) limit * 4, MIN_CANDIDATES));
  if (words == NULL && self != NULL && kind == RFL_VECTOR_KIND_MEMORY
      && !in_transaction (self))
    words = g_hash_table_lookup (self->memory_words, &tenant_id);
  if (words != NULL)
    {
      guint owned = rfl_text_index_count_user (words, user_id);

      /* Every row is the user's: none will be filtered out. */
      if (owned == count && user_id != 0)
        k = (guint) MIN (count, limit);
      else if (owned > 0)
        k = (guint) MIN (count, MAX ((gsize) limit * 5 * count / (4 * owned),
                                     MIN_CANDIDATES));
    }

  for (;;)
    {
      g_autofree RflVectorHit *hits = g_new (RflVectorHit, k);
      g_autofree gboolean *keep = g_new (gboolean, k);
      guint n_hits = 0;

      if (!rfl_vector_index_search (index, query, dims, k, mode, hits,
                                    &n_hits, error)
          || !filter_ids (self, words, tenant_id, kind, user_id, hits, n_hits,
                          keep, error))
        return FALSE;

      g_array_set_size (out, 0);
      for (guint i = 0; i < n_hits && out->len < limit; i++)
        {
          if (keep[i])
            g_array_append_val (out, hits[i]);
        }

      if (out->len >= limit || k >= count)
        return TRUE;

      /* The approximate index probes a few lists only. */
      if (n_hits < k)
        mode = RFL_VECTOR_SEARCH_EXACT;
      k = (guint) MIN (count, (gsize) k * 4);
    }
}

GArray *
rfl_vector_store_search (RflVectorStore  *self,
                         gint64           tenant_id,
                         RflVectorKind    kind,
                         gint64           user_id,
                         const float     *query,
                         guint            n_dims,
                         guint            limit,
                         GError         **error)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (RflVectorHit));
  RflVectorIndex *index;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), NULL);
  g_return_val_if_fail (query != NULL || n_dims == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_kind (kind, error)
      || !check_vector (self, query, n_dims, NULL, error)
      || !(index = ensure_index (self, tenant_id, kind, error))
      || !search_filtered (self, NULL, index, tenant_id, kind, user_id, query,
                           limit, hits, error))
    return NULL;

  return g_steal_pointer (&hits);
}

/* The ids of the best @limit rows for the words of @text, by bm25. */
static GArray *
search_text (RflVectorStore  *self,
             gint64           tenant_id,
             RflVectorKind    kind,
             gint64           user_id,
             const char      *text,
             guint            limit,
             GError         **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *query = _rfl_store_fts_query (text, RFL_FTS_MATCH_ANY);
  int rc;

  if (query == NULL)
    return g_steal_pointer (&ids);

  stmt = _rfl_database_prepare (self->db, kinds[kind].fts_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_text (stmt, 1, query, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, tenant_id);
  sqlite3_bind_int64 (stmt, 3, user_id);
  sqlite3_bind_int64 (stmt, 4, limit);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (ids, id);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&ids);
}

/* The hit of @id in @fused, added when new. @positions maps ids to
 * places in @fused; without it, as for the short lists of most searches,
 * @fused is looked through. */
static RflHybridHit *
fuse_hit (GArray     *fused,
          GHashTable *positions,
          gint64      id)
{
  gpointer position;
  RflHybridHit hit = { id, 0.0, 0, 0, 0.0f };

  if (positions == NULL)
    {
      for (guint i = 0; i < fused->len; i++)
        if (g_array_index (fused, RflHybridHit, i).id == id)
          return &g_array_index (fused, RflHybridHit, i);
    }
  else if (g_hash_table_lookup_extended (positions, &id, NULL, &position))
    {
      return &g_array_index (fused, RflHybridHit, GPOINTER_TO_UINT (position));
    }

  g_array_append_val (fused, hit);
  if (positions != NULL)
    g_hash_table_insert (positions, g_memdup2 (&id, sizeof id),
                         GUINT_TO_POINTER (fused->len - 1));

  return &g_array_index (fused, RflHybridHit, fused->len - 1);
}

static int
compare_hybrid (gconstpointer a,
                gconstpointer b)
{
  const RflHybridHit *ha = a;
  const RflHybridHit *hb = b;

  if (ha->score != hb->score)
    return ha->score > hb->score ? -1 : 1;

  return (ha->id > hb->id) - (ha->id < hb->id);
}

/* The vector of a search's @text when the embedder is local: NULL in
 * @out when there is none to make, or it came out zero (no words). */
static gboolean
embed_query (RflVectorEmbedder  *embedder,
             const char         *text,
             float             **out,
             GError            **error)
{
  g_autofree float *vector = NULL;

  *out = NULL;
  if (text == NULL || !embedder->local)
    return TRUE;

  vector = g_new (float, embedder->dims);
  if (!rfl_vector_embedder_embed (embedder, &text, 1, vector, NULL, error))
    return FALSE;
  if (!is_zero (vector, embedder->dims))
    *out = g_steal_pointer (&vector);
  return TRUE;
}

/* Both rankings fused by reciprocal rank, the best @limit. */
static GArray *
fuse_rankings (GArray *vector_hits,
               GArray *text_ids,
               guint   limit)
{
  g_autoptr(GArray) fused = g_array_new (FALSE, FALSE, sizeof (RflHybridHit));
  g_autoptr(GHashTable) positions = NULL;

  if (vector_hits->len + text_ids->len > FUSE_LINEAR_MAX)
    positions = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                       free_int64, NULL);

  for (guint i = 0; i < vector_hits->len; i++)
    {
      const RflVectorHit *vhit = &g_array_index (vector_hits, RflVectorHit, i);
      RflHybridHit *hit = fuse_hit (fused, positions, vhit->id);

      hit->vector_rank = i + 1;
      hit->similarity = vhit->score;
      hit->score += 1.0 / (RFL_VECTOR_STORE_RRF_K + i + 1);
    }

  for (guint i = 0; i < text_ids->len; i++)
    {
      RflHybridHit *hit = fuse_hit (fused, positions,
                                    g_array_index (text_ids, gint64, i));

      hit->text_rank = i + 1;
      hit->score += 1.0 / (RFL_VECTOR_STORE_RRF_K + i + 1);
    }

  g_array_sort (fused, compare_hybrid);
  if (fused->len > limit)
    g_array_set_size (fused, limit);

  return g_steal_pointer (&fused);
}

/* A hybrid search of memories against the tenant's word index: it reads
 * nothing but @index, @words and @embedder, so it runs on any thread. */
static GArray *
search_memories_with_words (RflVectorIndex     *index,
                            RflTextIndex       *words,
                            RflVectorEmbedder  *embedder,
                            gint64              tenant_id,
                            gint64              user_id,
                            const char         *text,
                            const float        *query,
                            guint               limit,
                            GError            **error)
{
  g_autoptr(GArray) vector_hits = g_array_new (FALSE, FALSE,
                                               sizeof (RflVectorHit));
  g_autoptr(GArray) text_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree float *embedded = NULL;
  guint n = MAX (limit * 2, 20);

  if (query == NULL)
    {
      if (!embed_query (embedder, text, &embedded, error))
        return NULL;
      query = embedded;
    }

  if (text != NULL)
    {
      g_array_set_size (text_ids, n);
      g_array_set_size (text_ids, rfl_text_index_search (words, text, user_id,
                                                         n,
                                                         (gint64 *) text_ids->data));
    }

  if (query != NULL
      && !search_filtered (NULL, words, index, tenant_id,
                           RFL_VECTOR_KIND_MEMORY, user_id, query, n,
                           vector_hits, error))
    return NULL;

  return fuse_rankings (vector_hits, text_ids, limit);
}

struct _RflMemorySearch
{
  RflVectorIndex    *index;      /* owned */
  RflTextIndex      *words;      /* owned */
  RflVectorEmbedder *embedder;   /* owned */
  gint64             tenant_id;
};

void
rfl_memory_search_free (RflMemorySearch *search)
{
  if (search == NULL)
    return;

  rfl_vector_index_unref (search->index);
  rfl_text_index_unref (search->words);
  rfl_vector_embedder_unref (search->embedder);
  g_free (search);
}

RflMemorySearch *
rfl_vector_store_prepare_memory_search (RflVectorStore  *self,
                                        gint64           tenant_id,
                                        GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  RflMemorySearch *search;
  RflVectorIndex *index;
  RflTextIndex *words;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A remote embedder makes the query vector over the network: the
   * caller's thread is no worse a place for that. */
  if (!self->embedder->local)
    return NULL;

  words = ensure_memory_words (self, tenant_id, &local_error);
  if (words == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (!(index = ensure_index (self, tenant_id, RFL_VECTOR_KIND_MEMORY, error)))
    return NULL;

  search = g_new0 (RflMemorySearch, 1);
  search->index = rfl_vector_index_ref (index);
  search->words = rfl_text_index_ref (words);
  search->embedder = rfl_vector_embedder_ref (self->embedder);
  search->tenant_id = tenant_id;
  return search;
}

GArray *
rfl_memory_search_run (RflMemorySearch  *search,
                       gint64            user_id,
                       const char       *text,
                       guint             limit,
                       GError          **error)
{
  g_return_val_if_fail (search != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (limit == 0)
    return g_array_new (FALSE, FALSE, sizeof (RflHybridHit));

  return search_memories_with_words (search->index, search->words,
                                     search->embedder, search->tenant_id,
                                     user_id, text, NULL, limit, error);
}

GArray *
rfl_vector_store_search_hybrid (RflVectorStore  *self,
                                gint64           tenant_id,
                                RflVectorKind    kind,
                                gint64           user_id,
                                const char      *text,
                                const float     *query,
                                guint            n_dims,
                                guint            limit,
                                GError         **error)
{
  g_autoptr(GArray) fused = g_array_new (FALSE, FALSE, sizeof (RflHybridHit));
  g_autoptr(GArray) vector_hits = g_array_new (FALSE, FALSE,
                                               sizeof (RflVectorHit));
  g_autoptr(GArray) text_ids = NULL;
  g_autofree float *embedded = NULL;
  guint n = MAX (limit * 2, 20);
  RflVectorIndex *index;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), NULL);
  g_return_val_if_fail (query != NULL || n_dims == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_kind (kind, error))
    return NULL;
  if (query != NULL && !check_vector (self, query, n_dims, NULL, error))
    return NULL;

  if (limit == 0)
    return g_steal_pointer (&fused);

  /* Memories with a word index: the same search a worker runs. */
  if (kind == RFL_VECTOR_KIND_MEMORY)
    {
      g_autoptr(GError) local_error = NULL;
      RflTextIndex *words = ensure_memory_words (self, tenant_id, &local_error);

      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (words != NULL)
        {
          if (!(index = ensure_index (self, tenant_id, kind, error)))
            return NULL;
          return search_memories_with_words (index, words, self->embedder,
                                             tenant_id, user_id, text, query,
                                             limit, error);
        }
    }

  if (query == NULL)
    {
      if (!embed_query (self->embedder, text, &embedded, error))
        return NULL;
      query = embedded;
    }

  if (!(text_ids = search_text (self, tenant_id, kind, user_id, text, n,
                                error)))
    return NULL;
  if (!(index = ensure_index (self, tenant_id, kind, error)))
    return NULL;
  if (query != NULL
      && !search_filtered (self, NULL, index, tenant_id, kind, user_id, query,
                           n, vector_hits, error))
    return NULL;

  return fuse_rankings (vector_hits, text_ids, limit);
}

/* The embedding job ----------------------------------------------------- */

typedef struct
{
  char              *path;
  RflVectorEmbedder *embedder;
  guint              batch_size;
  guint              generation;
  guint64            n_embedded;
} Job;

typedef struct
{
  GCancellable *cancellable;   /* the caller's, owned */
  gulong        handler_id;
} JobCaller;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_free (job->path);
  rfl_vector_embedder_unref (job->embedder);
  g_free (job);
}

static void
job_caller_free (gpointer data)
{
  JobCaller *caller = data;

  if (caller->cancellable != NULL)
    {
      g_cancellable_disconnect (caller->cancellable, caller->handler_id);
      g_object_unref (caller->cancellable);
    }
  g_free (caller);
}

static void
show_progress (RflVectorStore *self)
{
  guint64 done, total;

  g_mutex_lock (&self->job_lock);
  done = self->job_done;
  total = self->job_total;
  g_mutex_unlock (&self->job_lock);

  if (done != self->shown_done)
    {
      self->shown_done = done;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REEMBED_DONE]);
    }

  if (total != self->shown_total)
    {
      self->shown_total = total;
      g_object_notify_by_pspec (G_OBJECT (self),
                                properties[PROP_REEMBED_TOTAL]);
    }
}

static gboolean
job_idle_cb (gpointer user_data)
{
  RflVectorStore *self = user_data;

  g_mutex_lock (&self->job_lock);
  self->job_idle_pending = FALSE;
  g_mutex_unlock (&self->job_lock);

  _rfl_vector_store_after_write (self);
  show_progress (self);

  return G_SOURCE_REMOVE;
}

/* Worker thread: hands written rows and progress to the store's thread. */
static void
job_report (RflVectorStore *self,
            Job            *job,
            const GArray   *keys,
            guint64         n_done,
            gint64          total)
{
  gboolean schedule = FALSE;

  g_mutex_lock (&self->job_lock);
  if (keys != NULL && keys->len > 0)
    g_array_append_vals (self->job_keys, keys->data, keys->len);
  if (job->generation == self->job_generation)
    {
      self->job_done += n_done;
      if (total >= 0)
        self->job_total = (guint64) total;
    }
  if (!self->job_idle_pending)
    {
      self->job_idle_pending = TRUE;
      schedule = TRUE;
    }
  g_mutex_unlock (&self->job_lock);

  if (schedule)
    g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
                                job_idle_cb, g_object_ref (self),
                                g_object_unref);
}

static gboolean
count_all_pending (RflDatabase  *db,
                   Job          *job,
                   gint64       *out,
                   GError      **error)
{
  *out = 0;

  for (guint kind = 0; kind < RFL_VECTOR_N_KINDS; kind++)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;
      gint64 count;

      stmt = _rfl_database_prepare (db, kinds[kind].count_all_sql, error);
      if (stmt == NULL)
        return FALSE;

      sqlite3_bind_text (stmt, 2, job->embedder->id, -1, SQLITE_STATIC);
      if (!query_count (db, stmt, &count, error))
        return FALSE;
      *out += count;
    }

  return TRUE;
}

typedef struct
{
  GArray    *ids;       /* gint64 */
  GArray    *tenants;   /* gint64 */
  GPtrArray *texts;     /* char * */
} Batch;

static void
batch_clear (Batch *batch)
{
  g_clear_pointer (&batch->ids, g_array_unref);
  g_clear_pointer (&batch->tenants, g_array_unref);
  g_clear_pointer (&batch->texts, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Batch, batch_clear)

static gboolean
read_batch (RflDatabase    *db,
            Job            *job,
            RflVectorKind   kind,
            gint64          after_id,
            Batch          *batch,
            GError        **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  batch->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  batch->tenants = g_array_new (FALSE, FALSE, sizeof (gint64));
  batch->texts = g_ptr_array_new_with_free_func (g_free);

  stmt = _rfl_database_prepare (db, kinds[kind].pending_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, after_id);
  sqlite3_bind_text (stmt, 2, job->embedder->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, job->batch_size);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      gint64 tenant_id = sqlite3_column_int64 (stmt, 1);

      g_array_append_val (batch->ids, id);
      g_array_append_val (batch->tenants, tenant_id);
      g_ptr_array_add (batch->texts, _rfl_store_dup_column_text (stmt, 2));
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (db, rc, error);

  return TRUE;
}

/* Writes the vectors of one batch in one short transaction; @keys gets
 * the rows that were written (those still holding the embedded text). */
static gboolean
write_batch (RflDatabase    *db,
             Job            *job,
             RflVectorKind   kind,
             const Batch    *batch,
             const float    *vectors,
             GArray         *keys,
             GError        **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  guint dims = job->embedder->dims;
  gint64 now = _rfl_store_now_ms ();

  if (!_rfl_store_txn_begin (&txn, db, error))
    return FALSE;

  for (guint i = 0; i < batch->ids->len; i++)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;
      const float *vector = vectors + (gsize) i * dims;
      RowKey key = {
        g_array_index (batch->tenants, gint64, i), kind,
        g_array_index (batch->ids, gint64, i)
      };

      stmt = _rfl_database_prepare (db, kinds[kind].write_sql, error);
      if (stmt == NULL)
        return FALSE;

      sqlite3_bind_int64 (stmt, 1, key.tenant_id);
      sqlite3_bind_text (stmt, 2, kinds[kind].name, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, key.owner_id);
      sqlite3_bind_text (stmt, 4, job->embedder->id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 5, dims);
      if (is_zero (vector, dims))
        sqlite3_bind_null (stmt, 6);
      else
        sqlite3_bind_blob (stmt, 6, vector, dims * sizeof (float),
                           SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 7, now);
      sqlite3_bind_text (stmt, 8, g_ptr_array_index (batch->texts, i), -1,
                         SQLITE_STATIC);

      if (!_rfl_store_step_done (db, stmt, error))
        return FALSE;

      if (sqlite3_changes (_rfl_database_get_handle (db)) > 0)
        g_array_append_val (keys, key);
    }

  return _rfl_store_txn_commit (&txn, error);
}

static gboolean
reembed_kind (RflVectorStore  *self,
              Job             *job,
              RflDatabase     *db,
              RflVectorKind    kind,
              GCancellable    *cancellable,
              GError         **error)
{
  gint64 cursor = 0;

  for (;;)
    {
      g_auto(Batch) batch = { NULL };
      g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (RowKey));
      g_autofree float *vectors = NULL;
      guint n;

      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || !read_batch (db, job, kind, cursor, &batch, error))
        return FALSE;

      n = batch.ids->len;
      if (n == 0)
        return TRUE;
      cursor = g_array_index (batch.ids, gint64, n - 1);

      vectors = g_new (float, (gsize) n * job->embedder->dims);
      if (!rfl_vector_embedder_embed (job->embedder,
                                      (const char * const *) batch.texts->pdata,
                                      n, vectors, cancellable, error)
          || !write_batch (db, job, kind, &batch, vectors, keys, error))
        return FALSE;

      job->n_embedded += keys->len;
      job_report (self, job, keys, n, -1);
    }
}

static void
reembed_worker (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  RflVectorStore *self = source_object;
  Job *job = task_data;
  g_autoptr(RflDatabase) db = NULL;
  GError *error = NULL;
  gint64 total;

  /* A connection of its own, opened and closed on this thread. */
  db = rfl_database_open (job->path, &error);
  if (db == NULL || !count_all_pending (db, job, &total, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  job_report (self, job, NULL, 0, total);

  for (guint kind = 0; kind < RFL_VECTOR_N_KINDS; kind++)
    {
      if (!reembed_kind (self, job, db, kind, cancellable, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  g_task_return_boolean (task, TRUE);
}

static void
reembed_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  RflVectorStore *self = RFL_VECTOR_STORE (object);
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (self->job_cancellable == g_task_get_cancellable (G_TASK (result)))
    {
      g_clear_object (&self->job_cancellable);
      g_object_notify_by_pspec (G_OBJECT (self),
                                properties[PROP_REEMBEDDING]);
    }

  /* Everything the worker wrote reaches the indexes before the caller
   * hears of the end. */
  _rfl_vector_store_after_write (self);
  show_progress (self);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_int (task, (gssize) MIN (job->n_embedded, G_MAXSSIZE));
}

static void
cancel_job_cb (GCancellable *cancellable,
               gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

void
rfl_vector_store_reembed_async (RflVectorStore      *self,
                                guint                batch_size,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) worker = NULL;
  JobCaller *caller;
  Job *job;

  g_return_if_fail (RFL_IS_VECTOR_STORE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_vector_store_reembed_async);

  if (self->job_cancellable != NULL)
    {
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_EXISTS,
                               _("The embedding job is already running"));
      return;
    }

  self->job_cancellable = g_cancellable_new ();

  caller = g_new0 (JobCaller, 1);
  if (cancellable != NULL)
    {
      caller->cancellable = g_object_ref (cancellable);
      caller->handler_id = g_cancellable_connect (cancellable,
                                                  G_CALLBACK (cancel_job_cb),
                                                  g_object_ref (self->job_cancellable),
                                                  g_object_unref);
    }
  g_task_set_task_data (task, caller, job_caller_free);

  job = g_new0 (Job, 1);
  job->path = g_strdup (rfl_database_get_path (self->db));
  job->embedder = rfl_vector_embedder_ref (self->embedder);
  job->batch_size = batch_size > 0 ? batch_size : DEFAULT_BATCH;

  g_mutex_lock (&self->job_lock);
  job->generation = ++self->job_generation;
  self->job_done = 0;
  self->job_total = 0;
  g_mutex_unlock (&self->job_lock);
  show_progress (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REEMBEDDING]);

  worker = g_task_new (self, self->job_cancellable, reembed_done_cb,
                       g_steal_pointer (&task));
  g_task_set_source_tag (worker, reembed_worker);
  g_task_set_task_data (worker, job, job_free);
  g_task_set_return_on_cancel (worker, FALSE);
  g_task_run_in_thread (worker, reembed_worker);
}

gboolean
rfl_vector_store_reembed_finish (RflVectorStore  *self,
                                 GAsyncResult    *result,
                                 guint64         *n_embedded,
                                 GError         **error)
{
  gssize n;

  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_vector_store_reembed_async, FALSE);

  n = g_task_propagate_int (G_TASK (result), error);
  if (n < 0)
    return FALSE;

  if (n_embedded != NULL)
    *n_embedded = (guint64) n;
  return TRUE;
}

gboolean
rfl_vector_store_is_reembedding (RflVectorStore *self)
{
  g_return_val_if_fail (RFL_IS_VECTOR_STORE (self), FALSE);

  return self->job_cancellable != NULL;
}

void
rfl_vector_store_get_reembed_progress (RflVectorStore *self,
                                       guint64        *done,
                                       guint64        *total)
{
  g_return_if_fail (RFL_IS_VECTOR_STORE (self));

  g_mutex_lock (&self->job_lock);
  if (done != NULL)
    *done = self->job_done;
  if (total != NULL)
    *total = self->job_total;
  g_mutex_unlock (&self->job_lock);
}
