/* rfl-memory-store.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "rfl-database.h"
#include "rfl-vector-store.h"

G_BEGIN_DECLS

/* What the assistant knows about a user: facts, preferences, goals… each a
 * key and a value with an importance. A new memory that says what a known
 * one says is merged into it instead of being added: when its normalised
 * key is the same (same kind), or when its vector is at least
 * RFL_MEMORY_STORE_MERGE_SIMILARITY similar to one of the user's memories.
 *
 * Every function takes the tenant and only ever sees that tenant's rows.
 * Times are Unix time in milliseconds. The store belongs to the thread of
 * its database. */

typedef enum
{
  RFL_MEMORY_KIND_FACT,
  RFL_MEMORY_KIND_PREFERENCE,
  RFL_MEMORY_KIND_GOAL,
  RFL_MEMORY_KIND_EVENT,
  RFL_MEMORY_KIND_RELATIONSHIP,
  RFL_MEMORY_KIND_OTHER,
} RflMemoryKind;

#define RFL_MEMORY_N_KINDS (RFL_MEMORY_KIND_OTHER + 1)

/* "fact", "preference", "goal", "event", "relationship", "other". */
const char *rfl_memory_kind_to_string   (RflMemoryKind   kind);
gboolean    rfl_memory_kind_from_string (const char     *str,
                                         RflMemoryKind  *out);

typedef struct
{
  gint64         id;
  gint64         tenant_id;
  gint64         user_id;
  RflMemoryKind  kind;
  char          *key;                /* "favourite colour" */
  char          *value;              /* "green" */
  double         importance;         /* 0 … 1 */
  double         confidence;         /* 0 … 1 */
  guint          mentions;           /* times stated; merges count up */
  gint64         source_message_id;  /* 0: unknown */
  gint64         created_at;
  gint64         updated_at;
  gint64         last_used_at;       /* 0: never */
} RflMemory;

/* A search result. */
typedef struct
{
  RflMemory *memory;                 /* owned */
  double     score;                  /* fused (see RflHybridHit) */
  float      similarity;             /* cosine, when vector_rank > 0 */
  guint      vector_rank;            /* 1 is first; 0 when absent */
  guint      text_rank;
} RflMemoryHit;

#define RFL_TYPE_MEMORY     (rfl_memory_get_type ())
#define RFL_TYPE_MEMORY_HIT (rfl_memory_hit_get_type ())

GType         rfl_memory_get_type     (void) G_GNUC_CONST;
/* A memory to upsert: importance 0.5, confidence 1. */
RflMemory    *rfl_memory_new          (RflMemoryKind       kind,
                                       const char         *key,
                                       const char         *value);
RflMemory    *rfl_memory_copy         (const RflMemory    *self);
void          rfl_memory_free         (RflMemory          *self);

GType         rfl_memory_hit_get_type (void) G_GNUC_CONST;
RflMemoryHit *rfl_memory_hit_copy     (const RflMemoryHit *self);
void          rfl_memory_hit_free     (RflMemoryHit       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflMemory, rfl_memory_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflMemoryHit, rfl_memory_hit_free)

/* The key as deduplication compares it: NFKC, case-folded, every run of
 * blanks and punctuation one space, trimmed ("Favourite-Colour!" →
 * "favourite colour"). NULL when nothing is left. */
char         *rfl_memory_normalize_key (const char        *key);

/* The text a memory's vector is made of: "key: value". */
char         *rfl_memory_dup_embedding_text (const char   *key,
                                             const char   *value);

typedef enum
{
  RFL_MEMORY_UPSERT_INSERTED,
  RFL_MEMORY_UPSERT_MERGED_KEY,      /* same kind and normalised key */
  RFL_MEMORY_UPSERT_MERGED_SIMILAR,  /* a vector this similar */
} RflMemoryUpsert;

#define RFL_MEMORY_STORE_MERGE_SIMILARITY 0.92f

#define RFL_MEMORY_STORE_MAX_KEY    200    /* characters */
#define RFL_MEMORY_STORE_MAX_VALUE  4000   /* characters */

#define RFL_TYPE_MEMORY_STORE (rfl_memory_store_get_type ())
G_DECLARE_FINAL_TYPE (RflMemoryStore, rfl_memory_store, RFL, MEMORY_STORE, GObject)

/* @vectors holds the memories' vectors; it must use the same database. */
RflMemoryStore *rfl_memory_store_new      (RflDatabase        *db,
                                           RflVectorStore     *vectors);

/* Adds what @memory says (kind, key, value, importance, confidence,
 * source_message_id; the rest is ignored) to what is known of @user_id, or
 * merges it into the memory that already says it. A merge keeps the known
 * memory's id, kind and key, takes the new value, the higher importance,
 * the combined confidence 1 − (1 − a)(1 − b) and the newer source, and
 * counts a mention.
 *
 * @vector (may be NULL) is @memory's vector made by the store's embedder
 * from rfl_memory_dup_embedding_text(); with a local embedder the store
 * makes it itself when it is NULL. Without a vector only keys are
 * compared. Returns the id of the memory added or merged into, or 0 with
 * @error set; @out_outcome (may be NULL) says which. */
gint64          rfl_memory_store_upsert   (RflMemoryStore     *self,
                                           gint64              tenant_id,
                                           gint64              user_id,
                                           const RflMemory    *memory,
                                           const float        *vector,
                                           guint               n_dims,
                                           RflMemoryUpsert    *out_outcome,
                                           GError            **error);
RflMemory      *rfl_memory_store_get      (RflMemoryStore     *self,
                                           gint64              tenant_id,
                                           gint64              memory_id,
                                           GError            **error);
/* The user's memories, most important first, then most recently updated;
 * of @kind only unless @all_kinds. Returns a GPtrArray of RflMemory. */
GPtrArray      *rfl_memory_store_list     (RflMemoryStore     *self,
                                           gint64              tenant_id,
                                           gint64              user_id,
                                           gboolean            all_kinds,
                                           RflMemoryKind       kind,
                                           guint               offset,
                                           guint               limit,
                                           GError            **error);
/* Replaces kind, key, value, importance and confidence of the memory
 * @memory->id. Another memory of the user with that kind and normalised
 * key: RFL_ERROR_EXISTS. Its vector is made again (see upsert). */
gboolean        rfl_memory_store_edit     (RflMemoryStore     *self,
                                           gint64              tenant_id,
                                           const RflMemory    *memory,
                                           const float        *vector,
                                           guint               n_dims,
                                           GError            **error);
gboolean        rfl_memory_store_delete   (RflMemoryStore     *self,
                                           gint64              tenant_id,
                                           gint64              memory_id,
                                           GError            **error);
/* Hybrid search of the user's memories (see
 * rfl_vector_store_search_hybrid()). Returns a GPtrArray of RflMemoryHit,
 * best first. */
GPtrArray      *rfl_memory_store_search   (RflMemoryStore     *self,
                                           gint64              tenant_id,
                                           gint64              user_id,
                                           const char         *text,
                                           const float        *vector,
                                           guint               n_dims,
                                           guint               limit,
                                           GError            **error);
/* rfl_memory_store_search() of @text without a vector, with the ranking
 * done on a worker thread when the store can hand it over (see
 * rfl_vector_store_prepare_memory_search()); that worker also reads the
 * rows when they fit one statement, else _finish() reads them on the
 * store's thread, where the callback runs. */
void            rfl_memory_store_search_async  (RflMemoryStore      *self,
                                                gint64               tenant_id,
                                                gint64               user_id,
                                                const char          *text,
                                                guint                limit,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
GPtrArray      *rfl_memory_store_search_finish (RflMemoryStore      *self,
                                                GAsyncResult        *result,
                                                GError             **error);
/* Turns the hits of a search (a GPtrArray of RflMemoryHit, best first)
 * into what its caller answers with, such as the text of a reply; never
 * NULL. It runs on the worker that read the rows, or in _finish() when
 * they were read on the store's thread, so it touches nothing but @hits
 * and @user_data. */
typedef gpointer (*RflMemoryHitsFormatFunc) (GPtrArray *hits,
                                             gpointer   user_data);

/* rfl_memory_store_search_async() whose result is what @format made of
 * the hits, freed with @result_free if nobody takes it: the answer of a
 * search is written off the store's thread too. */
void            rfl_memory_store_search_format_async  (RflMemoryStore          *self,
                                                       gint64                   tenant_id,
                                                       gint64                   user_id,
                                                       const char              *text,
                                                       guint                    limit,
                                                       RflMemoryHitsFormatFunc  format,
                                                       gpointer                 format_data,
                                                       GDestroyNotify           result_free,
                                                       GCancellable            *cancellable,
                                                       GAsyncReadyCallback      callback,
                                                       gpointer                 user_data);
gpointer        rfl_memory_store_search_format_finish (RflMemoryStore          *self,
                                                       GAsyncResult            *result,
                                                       GError                 **error);
/* Sets last_used_at of the tenant's memories @ids to now. */
gboolean        rfl_memory_store_mark_used (RflMemoryStore    *self,
                                            gint64             tenant_id,
                                            const gint64      *ids,
                                            guint              n_ids,
                                            GError           **error);

G_END_DECLS
