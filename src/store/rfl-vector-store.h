/* rfl-vector-store.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "rfl-database.h"
#include "rfl-vector-index.h"

G_BEGIN_DECLS

/* What a vector was made from: the row of the owner table it belongs to. */
typedef enum
{
  RFL_VECTOR_KIND_MESSAGE,   /* messages.content */
  RFL_VECTOR_KIND_MEMORY,    /* memories.key || ': ' || memories.value */
} RflVectorKind;

#define RFL_VECTOR_N_KINDS (RFL_VECTOR_KIND_MEMORY + 1)

/* "message", "memory": the values of embeddings.kind. */
const char *rfl_vector_kind_to_string   (RflVectorKind   kind);
gboolean    rfl_vector_kind_from_string (const char     *str,
                                         RflVectorKind  *out);

/* Embedders ---------------------------------------------------------- */

/* Writes @n_texts × dims floats into @vectors, row after row. A text with
 * nothing to embed gets a row of zeros. Called from the store's thread and
 * from the embedding job's worker thread, possibly at the same time, so it
 * must be thread-safe; a remote embedder blocks (it runs on workers only). */
typedef gboolean (*RflVectorEmbedFunc) (const char * const *texts,
                                        guint               n_texts,
                                        float              *vectors,
                                        gpointer            user_data,
                                        GCancellable       *cancellable,
                                        GError            **error);

/* An embedder: its id (stored with every vector it makes), its dimension,
 * and whether it is local — fast and in-process, so that rows are embedded
 * as they are written. Vectors of a remote embedder are made by the
 * embedding job (rfl_vector_store_reembed_async()). Immutable, ref-counted,
 * thread-safe. */
typedef struct _RflVectorEmbedder RflVectorEmbedder;

#define RFL_TYPE_VECTOR_EMBEDDER (rfl_vector_embedder_get_type ())

GType              rfl_vector_embedder_get_type  (void) G_GNUC_CONST;
/* @id: 1–200 printable characters ("ollama:nomic-embed-text"); @dims:
 * 1–65536. */
RflVectorEmbedder *rfl_vector_embedder_new       (const char          *id,
                                                  guint                dims,
                                                  gboolean             local,
                                                  RflVectorEmbedFunc   func,
                                                  gpointer             user_data,
                                                  GDestroyNotify       destroy);
/* The built-in hashing embedder (RFL_HASH_EMBEDDER_ID), local. */
RflVectorEmbedder *rfl_vector_embedder_new_hash  (void);
RflVectorEmbedder *rfl_vector_embedder_ref       (RflVectorEmbedder   *self);
void               rfl_vector_embedder_unref     (RflVectorEmbedder   *self);
const char        *rfl_vector_embedder_get_id    (RflVectorEmbedder   *self);
guint              rfl_vector_embedder_get_dims  (RflVectorEmbedder   *self);
gboolean           rfl_vector_embedder_is_local  (RflVectorEmbedder   *self);
gboolean           rfl_vector_embedder_embed     (RflVectorEmbedder   *self,
                                                  const char * const  *texts,
                                                  guint                n_texts,
                                                  float               *vectors,
                                                  GCancellable        *cancellable,
                                                  GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflVectorEmbedder, rfl_vector_embedder_unref)

/* The store ---------------------------------------------------------- */

/* Vectors of messages and memories: float32 BLOBs in the embeddings table,
 * and one RflVectorIndex per (tenant, kind) in memory, loaded from the
 * table the first time it is needed (or all at once by
 * rfl_vector_store_load_all() at start). Only vectors of the configured
 * embedder are in the indexes; rows of another embedder wait for the
 * embedding job.
 *
 * The database is the truth and the indexes follow it: every change to
 * the embeddings table — by this store, by the chat and memory stores, by a
 * cascade when a conversation or a tenant is deleted — is noted in a
 * temporary table of the connection inside the same transaction, and
 * applied to the indexes once committed: right after the commit of a store
 * function or of rfl_vector_store_commit(), and in any case before the next
 * search. A rollback takes the notes with it, so an index is never ahead
 * of the database.
 *
 * One vector store per RflDatabase; it belongs to the database's thread.
 * Every function that reads rows takes the tenant. */
#define RFL_TYPE_VECTOR_STORE (rfl_vector_store_get_type ())
G_DECLARE_FINAL_TYPE (RflVectorStore, rfl_vector_store, RFL, VECTOR_STORE, GObject)

/* The result of a hybrid search: an owner id, its fused score and where it
 * stood in each ranking (1 is first; 0 when absent). */
typedef struct
{
  gint64 id;
  double score;        /* Σ 1 / (60 + rank) over both rankings */
  guint  vector_rank;
  guint  text_rank;
  float  similarity;   /* cosine, when vector_rank > 0 */
} RflHybridHit;

/* The RRF constant k. */
#define RFL_VECTOR_STORE_RRF_K 60

RflVectorStore    *rfl_vector_store_new            (RflDatabase         *db,
                                                    RflVectorEmbedder   *embedder,
                                                    GError             **error);
RflDatabase       *rfl_vector_store_get_database   (RflVectorStore      *self);
RflVectorEmbedder *rfl_vector_store_get_embedder   (RflVectorStore      *self);
/* Switches to another embedder: a running embedding job is cancelled and
 * the indexes are reloaded with the vectors the new embedder made. Start
 * rfl_vector_store_reembed_async() to embed the rest. */
void               rfl_vector_store_set_embedder   (RflVectorStore      *self,
                                                    RflVectorEmbedder   *embedder);

/* Loads the index of every (tenant, kind) that has vectors: the rebuild at
 * start. */
gboolean           rfl_vector_store_load_all       (RflVectorStore      *self,
                                                    GError             **error);
/* Applies committed changes to the indexes now (the store does so by
 * itself before it searches). Does nothing while a transaction is open. */
gboolean           rfl_vector_store_sync           (RflVectorStore      *self,
                                                    GError             **error);

/* A transaction over the shared connection, for writes that span stores
 * (a message and its memories, say). Inside it the store functions use
 * savepoints. Commit applies the changes to the indexes; rollback leaves
 * them as they were. */
gboolean           rfl_vector_store_begin          (RflVectorStore      *self,
                                                    GError             **error);
gboolean           rfl_vector_store_commit         (RflVectorStore      *self,
                                                    GError             **error);
void               rfl_vector_store_rollback       (RflVectorStore      *self);

/* Stores the vector of @owner_id made by the configured embedder
 * (@n_dims must be its dimension; an all-zero vector records "nothing to
 * embed"). The owner row must exist in @tenant_id (RFL_ERROR_NOT_FOUND); a
 * vector that is not finite is refused (RFL_ERROR_INVALID_INPUT). */
gboolean           rfl_vector_store_put            (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    gint64               owner_id,
                                                    const float         *vector,
                                                    guint                n_dims,
                                                    GError             **error);
/* Deleting a vector that is not there is not an error. */
gboolean           rfl_vector_store_delete         (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    gint64               owner_id,
                                                    GError             **error);
/* The stored vector (dims floats in @out_vector, free with g_free) and the
 * id of its embedder; RFL_ERROR_NOT_FOUND when there is none, or when it
 * records "nothing to embed" (then @out_embedder_id is still set). */
gboolean           rfl_vector_store_get            (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    gint64               owner_id,
                                                    float              **out_vector,
                                                    guint               *out_dims,
                                                    char               **out_embedder_id,
                                                    GError             **error);
/* Vectors of the configured embedder in the index of (@tenant_id, @kind). */
gsize              rfl_vector_store_count          (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    GError             **error);
/* Owner rows of @tenant_id with no vector of the configured embedder yet. */
guint64            rfl_vector_store_count_pending  (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    GError             **error);

/* The @limit nearest owners to @query (cosine, best first) among the rows
 * of @tenant_id — of @user_id only when it is not 0. Messages of deleted
 * conversations and streaming answers are left out. Returns a GArray of
 * RflVectorHit (id: the owner id). */
GArray            *rfl_vector_store_search         (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    gint64               user_id,
                                                    const float         *query,
                                                    guint                n_dims,
                                                    guint                limit,
                                                    GError             **error);
/* Vector top-N and FTS5 (bm25) top-N over the same rows, merged by
 * reciprocal rank fusion (k = 60); N is max (2 × @limit, 20). @query may be
 * NULL: the text is then embedded when the embedder is local, and only the
 * words count when it is not. Returns a GArray of RflHybridHit, best
 * first, at most @limit. */
GArray            *rfl_vector_store_search_hybrid  (RflVectorStore      *self,
                                                    gint64               tenant_id,
                                                    RflVectorKind        kind,
                                                    gint64               user_id,
                                                    const char          *text,
                                                    const float         *query,
                                                    guint                n_dims,
                                                    guint                limit,
                                                    GError             **error);

/* A hybrid search of one tenant's memories (RFL_VECTOR_KIND_MEMORY) that
 * runs on any thread: it holds the tenant's vector and word indexes as
 * they are when it is prepared, and reads nothing else. Prepared on the
 * store's thread; NULL without an error when the search has to stay
 * there (inside a transaction, a tenant with more memories than the word
 * index takes, a remote embedder): then use
 * rfl_vector_store_search_hybrid(). The result of rfl_memory_search_run()
 * is what that function returns for the same arguments, of the rows as
 * they were when it was prepared. */
typedef struct _RflMemorySearch RflMemorySearch;

RflMemorySearch   *rfl_vector_store_prepare_memory_search (RflVectorStore   *self,
                                                           gint64            tenant_id,
                                                           GError          **error);
GArray            *rfl_memory_search_run           (RflMemorySearch     *search,
                                                    gint64               user_id,
                                                    const char          *text,
                                                    guint                limit,
                                                    GError             **error);
void               rfl_memory_search_free          (RflMemorySearch     *search);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflMemorySearch, rfl_memory_search_free)

/* The embedding job: embeds, with the configured embedder and on a worker
 * thread with its own connection, every row of every tenant that has no
 * vector of that embedder (made by another, or none yet), in batches of
 * @batch_size (0: 64), each in its own short transaction. Finished batches
 * reach the indexes on the store's thread. Progress is in the properties
 * "reembed-done" and "reembed-total", notified on the store's thread.
 * Cancelling keeps the batches done so far; a later job goes on from
 * there. One job at a time (RFL_ERROR_EXISTS otherwise). */
void               rfl_vector_store_reembed_async  (RflVectorStore      *self,
                                                    guint                batch_size,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* @n_embedded: rows embedded by the job. */
gboolean           rfl_vector_store_reembed_finish (RflVectorStore      *self,
                                                    GAsyncResult        *result,
                                                    guint64             *n_embedded,
                                                    GError             **error);
gboolean           rfl_vector_store_is_reembedding (RflVectorStore      *self);
/* Rows embedded so far by the running (or last) job, and how many it
 * found to do when it started. */
void               rfl_vector_store_get_reembed_progress (RflVectorStore *self,
                                                          guint64        *done,
                                                          guint64        *total);

G_END_DECLS
