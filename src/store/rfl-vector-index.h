/* rfl-vector-index.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The in-memory index of one tenant's vectors of one kind, all made by one
 * embedder and of one dimension. The store loads it from its BLOBs at start
 * and mirrors every insert, update and delete into it.
 *
 * Vectors are kept L2-normalised, so a score is the cosine similarity. The
 * rows live in contiguous arrays: the float32 rows and, beside them, an int8
 * quantisation of each row (with its own scale). An exact search scans the
 * int8 rows, keeps the best max (4 × k, 40) candidates and re-ranks them
 * with the float rows. Past a size threshold an approximate index (IVF:
 * k-means lists of int8 rows) is built on a background thread and answers
 * searches from then on; inserts, updates and deletes keep it current.
 *
 * Thread-safe: searches run concurrently with each other, writes are
 * exclusive. Ids are the store's row ids; every gint64 is allowed. */
typedef struct _RflVectorIndex RflVectorIndex;

#define RFL_TYPE_VECTOR_INDEX (rfl_vector_index_get_type ())

/* The count at which an approximate index is built when nothing else is
 * said (see rfl_vector_index_set_approximate_threshold()). */
#define RFL_VECTOR_INDEX_DEFAULT_THRESHOLD 50000

typedef struct
{
  gint64 id;
  float  score;      /* cosine similarity, −1 … 1 */
} RflVectorHit;

typedef enum
{
  RFL_VECTOR_SEARCH_AUTO,   /* the approximate index once built, else exact */
  RFL_VECTOR_SEARCH_EXACT,  /* every vector: int8 pass, exact re-rank */
} RflVectorSearchMode;

GType           rfl_vector_index_get_type          (void) G_GNUC_CONST;

/* @dims is at least 1 and at most 65536; @embedder_id names what made the
 * vectors ("hash-384-v1", "ollama:nomic-embed-text", …). */
RflVectorIndex *rfl_vector_index_new               (guint                dims,
                                                    const char          *embedder_id);
RflVectorIndex *rfl_vector_index_ref               (RflVectorIndex      *self);
void            rfl_vector_index_unref             (RflVectorIndex      *self);

guint           rfl_vector_index_get_dims          (RflVectorIndex      *self);
const char     *rfl_vector_index_get_embedder_id   (RflVectorIndex      *self);
gsize           rfl_vector_index_get_count         (RflVectorIndex      *self);
gboolean        rfl_vector_index_contains          (RflVectorIndex      *self,
                                                    gint64               id);
/* Makes room for @count vectors, for a load whose size is known. */
void            rfl_vector_index_reserve           (RflVectorIndex      *self,
                                                    gsize                count);

/* @n_dims must equal the index's dimension. A vector that is all zeros or
 * holds a NaN or an infinity is refused (RFL_ERROR_INVALID_INPUT), and so is
 * an id already present (RFL_ERROR_EXISTS); nothing changes then. */
gboolean        rfl_vector_index_insert            (RflVectorIndex      *self,
                                                    gint64               id,
                                                    const float         *vector,
                                                    guint                n_dims,
                                                    GError             **error);
/* Replaces the vector of @id; RFL_ERROR_NOT_FOUND when it is absent. */
gboolean        rfl_vector_index_update            (RflVectorIndex      *self,
                                                    gint64               id,
                                                    const float         *vector,
                                                    guint                n_dims,
                                                    GError             **error);
/* TRUE when @id was present. */
gboolean        rfl_vector_index_remove            (RflVectorIndex      *self,
                                                    gint64               id);
/* Copies the stored (normalised) vector of @id into @out (dims floats). */
gboolean        rfl_vector_index_get_vector        (RflVectorIndex      *self,
                                                    gint64               id,
                                                    float               *out);

/* Fills @hits (room for @k) with the nearest vectors to @query, best first,
 * ties by id, and sets @n_hits (fewer than @k when the index holds fewer).
 * A zero query matches nothing (no error). A query of the wrong dimension
 * or with a value that is not finite fails with RFL_ERROR_INVALID_INPUT. */
gboolean        rfl_vector_index_search            (RflVectorIndex      *self,
                                                    const float         *query,
                                                    guint                n_dims,
                                                    guint                k,
                                                    RflVectorSearchMode  mode,
                                                    RflVectorHit        *hits,
                                                    guint               *n_hits,
                                                    GError             **error);

/* The count from which an approximate index is built on a background
 * thread, and rebuilt whenever the count has doubled since the last build;
 * 0 turns automatic builds off (during a load, say). Setting it starts a
 * build at once when the count is already past it. */
void            rfl_vector_index_set_approximate_threshold (RflVectorIndex *self,
                                                            gsize           threshold);
gsize           rfl_vector_index_get_approximate_threshold (RflVectorIndex *self);
/* Lists probed per search; 0 (the default) picks one for the list count. */
void            rfl_vector_index_set_n_probe       (RflVectorIndex      *self,
                                                    guint                n_probe);
guint           rfl_vector_index_get_n_probe       (RflVectorIndex      *self);
/* TRUE once an approximate index answers AUTO searches. */
gboolean        rfl_vector_index_has_approximate   (RflVectorIndex      *self);
gboolean        rfl_vector_index_is_building       (RflVectorIndex      *self);
/* The number of lists of the approximate index, 0 when there is none. */
guint           rfl_vector_index_get_n_lists       (RflVectorIndex      *self);

/* Builds (or rebuilds) the approximate index on the calling thread while
 * searches and writes go on; exact searches answer until it is in place.
 * Builds are serialised. Fails with G_IO_ERROR_CANCELLED when @cancellable
 * or rfl_vector_index_cancel_build() stops it, and with
 * RFL_ERROR_INVALID_INPUT when the index is empty. */
gboolean        rfl_vector_index_build_approximate (RflVectorIndex      *self,
                                                    GCancellable        *cancellable,
                                                    GError             **error);
void            rfl_vector_index_build_approximate_async  (RflVectorIndex      *self,
                                                           GCancellable        *cancellable,
                                                           GAsyncReadyCallback  callback,
                                                           gpointer             user_data);
gboolean        rfl_vector_index_build_approximate_finish (RflVectorIndex      *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
/* Stops a build in progress, automatic or not; for shutting down. */
void            rfl_vector_index_cancel_build      (RflVectorIndex      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflVectorIndex, rfl_vector_index_unref)

G_END_DECLS
