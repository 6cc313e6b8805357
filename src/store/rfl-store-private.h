/* rfl-store-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <sqlite3.h>

#include "rfl-database-private.h"
#include "rfl-vector-store.h"

G_BEGIN_DECLS

/* Helpers shared by the repositories of the store layer (chat, memories,
 * vectors). */

/* Called by the stores' constructors: keeps glibc from giving the heap top
 * back to the system after every row SQLite writes (see the .c file). */
void     _rfl_store_tune_allocator    (void);

/* Unix time in milliseconds. Successive calls in the process never return
 * the same value twice, so rows touched one after the other sort in that
 * order even within one millisecond. */
gint64   _rfl_store_now_ms            (void);

/* A transaction that nests: BEGIN IMMEDIATE when none is open on the
 * connection, a savepoint inside the caller's transaction otherwise.
 * Declare it with g_auto(RflStoreTxn) txn = { 0 }: one that is neither
 * committed nor rolled back is rolled back when it goes out of scope. */
typedef struct
{
  RflDatabase *db;       /* borrowed */
  gboolean     outer;    /* TRUE when it began the transaction */
  gboolean     active;
} RflStoreTxn;

gboolean _rfl_store_txn_begin         (RflStoreTxn   *txn,
                                       RflDatabase   *db,
                                       GError       **error);
/* On failure the transaction is rolled back. */
gboolean _rfl_store_txn_commit        (RflStoreTxn   *txn,
                                       GError       **error);
void     _rfl_store_txn_rollback      (RflStoreTxn   *txn);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RflStoreTxn, _rfl_store_txn_rollback)

/* Steps a statement that returns no row. */
gboolean _rfl_store_step_done         (RflDatabase   *db,
                                       sqlite3_stmt  *stmt,
                                       GError       **error);
/* Writing many rows: one INSERT of several rows costs about what one of a
 * single row does (each statement opens a savepoint, and FTS5 writes its
 * pending terms out at every savepoint), so batches go in statements of
 * up to RFL_STORE_MAX_ROWS rows: the most rows (a power of two) for
 * @remaining rows. */
#define RFL_STORE_MAX_ROWS 64

guint    _rfl_store_chunk_rows        (guint          remaining);
/* @head followed by @n_rows copies of @row separated by commas, then
 * @tail. */
char    *_rfl_store_multi_row_sql     (const char    *head,
                                       const char    *row,
                                       const char    *tail,
                                       guint          n_rows);

/* Binds @text, or NULL when @text is NULL. */
void     _rfl_store_bind_text         (sqlite3_stmt  *stmt,
                                       int            index,
                                       const char    *text);
char    *_rfl_store_dup_column_text   (sqlite3_stmt  *stmt,
                                       int            column);

/* Fails with RFL_ERROR_NOT_FOUND when @user_id is not a user of
 * @tenant_id. */
gboolean _rfl_store_check_user        (RflDatabase   *db,
                                       gint64         tenant_id,
                                       gint64         user_id,
                                       GError       **error);

typedef enum
{
  RFL_FTS_MATCH_ALL,       /* every word; the last may be a prefix */
  RFL_FTS_MATCH_ANY,       /* any word, for ranking */
} RflFtsMatch;

/* An FTS5 query for what a person typed: each word quoted, so that no
 * input is taken for query syntax. NULL when the text holds no word. */
char    *_rfl_store_fts_query         (const char    *text,
                                       RflFtsMatch    match);

/* What the text checks of the repositories found. */
typedef enum
{
  RFL_TEXT_OK,
  RFL_TEXT_MISSING,        /* NULL, or empty after trimming */
  RFL_TEXT_NOT_UTF8,
  RFL_TEXT_TOO_LONG,
  RFL_TEXT_CONTROL,        /* a control character other than \n, \r, \t */
} RflTextProblem;

/* @max_chars counts characters; @multiline allows \n, \r and \t. */
RflTextProblem _rfl_store_check_text  (const char    *text,
                                       gsize          max_chars,
                                       gboolean       multiline);

/* For the chat and memory stores, which write rows that have vectors. */

/* Applies what was committed to the in-memory indexes; does nothing while
 * a transaction is open. Logs, and does not fail: the indexes are reloaded
 * from the database when they cannot be brought up to date. */
void     _rfl_vector_store_after_write (RflVectorStore *self);

/* Embeds @text with the configured embedder when it is local, and stores
 * the vector for @owner_id; does nothing for a remote embedder (the
 * embedding job fills the row in later). Part of the caller's
 * transaction. */
gboolean _rfl_vector_store_put_text    (RflVectorStore *self,
                                        gint64          tenant_id,
                                        RflVectorKind   kind,
                                        gint64          owner_id,
                                        const char     *text,
                                        GError        **error);

/* Embedding a batch while the caller writes its rows: starts embedding
 * @texts (borrowed: they must stay valid until the task is finished or
 * freed) with the configured embedder, on a thread of its own for a large
 * batch. NULL when the embedder is not local: nothing is embedded then. */
typedef struct _RflEmbedTask RflEmbedTask;

RflEmbedTask *_rfl_vector_store_embed_start (RflVectorStore      *self,
                                             const char * const  *texts,
                                             guint                n);
/* Waits for the vectors and stores them for @owner_ids (in the order of
 * the texts), in the caller's transaction; frees @task. */
gboolean _rfl_vector_store_embed_finish (RflVectorStore  *self,
                                         RflEmbedTask    *task,
                                         gint64           tenant_id,
                                         RflVectorKind    kind,
                                         const gint64    *owner_ids,
                                         GError         **error);
/* Waits for the task and drops it. */
void     _rfl_embed_task_free           (RflEmbedTask    *task);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflEmbedTask, _rfl_embed_task_free)

/* Embeds and stores many texts at once for rows the caller has just
 * inserted and knows to exist. Part of the caller's transaction. */
gboolean _rfl_vector_store_put_texts   (RflVectorStore     *self,
                                        gint64              tenant_id,
                                        RflVectorKind       kind,
                                        const gint64       *owner_ids,
                                        const char * const *texts,
                                        guint               n,
                                        GError            **error);

G_END_DECLS
