/* rfl-text-index.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An in-memory word index over one tenant's rows of one kind, ranked by
 * BM25 exactly as SQLite's FTS5 bm25() ranks a query of words joined by
 * OR (k1 = 1.2, b = 0.75, one column of weight 1, IDF floored at 1e-6),
 * with words split, case-folded and stripped of diacritics as FTS5's
 * `unicode61 remove_diacritics 2` tokenizer does. It answers the word half
 * of a hybrid search without a SQL query, and tells which user owns a row.
 *
 * Rows are added by one thread while it builds the index; once built it
 * is only read, and searches may then run on any thread at once.
 * Reference-counted: a search holds the index it runs on even when a
 * change of the tenant's rows has replaced it meanwhile. */

typedef struct _RflTextIndex RflTextIndex;

RflTextIndex *rfl_text_index_new        (void);
RflTextIndex *rfl_text_index_ref        (RflTextIndex  *self);
void          rfl_text_index_unref      (RflTextIndex  *self);

void          rfl_text_index_add        (RflTextIndex  *self,
                                         gint64         id,
                                         gint64         user_id,
                                         const char    *text);
guint         rfl_text_index_get_count  (RflTextIndex  *self);
gsize         rfl_text_index_get_size   (RflTextIndex  *self);

/* How many rows @user_id owns; all rows for 0. */
guint         rfl_text_index_count_user (RflTextIndex  *self,
                                         gint64         user_id);

/* Whether row @id is in the index, and its user. */
gboolean      rfl_text_index_lookup     (RflTextIndex  *self,
                                         gint64         id,
                                         gint64        *user_id);

/* Writes the ids of the best @limit rows for any word of @query to @ids,
 * best first (ties by smaller id), keeping only @user_id's rows unless
 * it is 0, and returns how many it wrote. */
guint         rfl_text_index_search     (RflTextIndex  *self,
                                         const char    *query,
                                         gint64         user_id,
                                         guint          limit,
                                         gint64        *ids);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflTextIndex, rfl_text_index_unref)

G_END_DECLS
