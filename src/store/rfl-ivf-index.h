/* rfl-ivf-index.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "rfl-vector-kernels.h"

G_BEGIN_DECLS

/* An inverted-file index: the vectors are split into lists around centroids
 * found by spherical k-means, and a search scans the int8 codes of the few
 * lists whose centroids are closest to the query. It holds ids, int8 codes
 * and scales; the float rows for the exact re-rank stay in the
 * RflVectorIndex that owns it. It has no lock of its own: its owner guards
 * it, or it is private to the thread that builds it. */
typedef struct _RflIvfIndex RflIvfIndex;

/* How many lists suit @count vectors: about √count. */
guint        rfl_ivf_index_suggest_n_lists (gsize          count);
/* How many lists a search probes by default: a 32nd of them, at least 8. */
guint        rfl_ivf_index_suggest_n_probe (guint          n_lists);

/* Trains the centroids on @n_sample normalised, padded float rows. The
 * result is deterministic for the same sample. Returns NULL only when
 * @cancellable is cancelled. */
RflIvfIndex *rfl_ivf_index_train           (guint          dims,
                                            const float   *sample,
                                            gsize          n_sample,
                                            guint          n_lists,
                                            GCancellable  *cancellable);
void         rfl_ivf_index_free            (RflIvfIndex   *self);

guint        rfl_ivf_index_get_n_lists     (RflIvfIndex   *self);
gsize        rfl_ivf_index_get_count       (RflIvfIndex   *self);
gboolean     rfl_ivf_index_contains        (RflIvfIndex   *self,
                                            gint64         id);

/* The list whose centroid is nearest to a normalised, padded row, given
 * with its int8 code: an int8 pass over all centroids, then the float rows
 * of the best few. */
guint        rfl_ivf_index_assign          (RflIvfIndex   *self,
                                            const float   *row,
                                            const gint8   *code);
/* Adds @id to @list, moving it there if it is in another list already.
 * @code is a padded int8 row. */
void         rfl_ivf_index_add             (RflIvfIndex   *self,
                                            guint          list,
                                            gint64         id,
                                            const gint8   *code,
                                            float          scale);
gboolean     rfl_ivf_index_remove          (RflIvfIndex   *self,
                                            gint64         id);

/* Offers the ids of the @n_probe lists nearest to @query, scored by the
 * int8 dot product times the row's scale, to @heap. Returns the number of
 * rows scanned. */
gsize        rfl_ivf_index_search          (RflIvfIndex   *self,
                                            const float   *query,
                                            const gint8   *query_code,
                                            guint          n_probe,
                                            RflVectorHeap *heap);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflIvfIndex, rfl_ivf_index_free)

G_END_DECLS
