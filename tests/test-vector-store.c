/* test-vector-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <math.h>
#include <sqlite3.h>

#include "core/rfl-error.h"
#include "llm/rfl-hash-embedder.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"
#include "store/rfl-memory-store.h"
#include "store/rfl-vector-store.h"

/* Helpers */

typedef struct
{
  char           *path;
  RflDatabase    *db;
  RflVectorStore *vectors;
  RflChatStore   *chat;
  gint64          tenant;
  gint64          user;
  gint64          conversation;
} Fixture;

static gint64
query_int (RflDatabase *db,
           const char  *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (db), sql, -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static void
exec_sql (RflDatabase *db,
          const char  *sql)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (_rfl_database_exec (db, sql, &error));
  g_assert_no_error (error);
}

static gint64
add_tenant (RflDatabase *db,
            const char  *name)
{
  g_autoptr(GError) error = NULL;
  gint64 id = rfl_database_create_tenant (db, name, "privacy", &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

/* Users are inserted directly: hashing a password takes a while. */
static gint64
add_user (RflDatabase *db,
          gint64       tenant,
          const char  *email)
{
  g_autofree char *sql = NULL;

  sql = g_strdup_printf ("INSERT INTO users (tenant_id, email, password_hash)"
                         " VALUES (%" G_GINT64_FORMAT ", '%s', 'x')",
                         tenant, email);
  exec_sql (db, sql);
  return sqlite3_last_insert_rowid (_rfl_database_get_handle (db));
}

static gint64
add_conversation (Fixture *fixture,
                  gint64   tenant,
                  gint64   user)
{
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = rfl_chat_store_create_conversation (fixture->chat, tenant, user,
                                           "Talk", &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
add_message (Fixture    *fixture,
             gint64      tenant,
             gint64      conversation,
             const char *content)
{
  g_autoptr(RflMessage) message = rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                                   content);
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = rfl_chat_store_append_message (fixture->chat, tenant, conversation,
                                      message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static void
open_stores (Fixture           *fixture,
             RflVectorEmbedder *embedder)
{
  g_autoptr(GError) error = NULL;

  fixture->db = rfl_database_open (fixture->path, &error);
  g_assert_no_error (error);
  fixture->vectors = rfl_vector_store_new (fixture->db, embedder, &error);
  g_assert_no_error (error);
  fixture->chat = rfl_chat_store_new (fixture->db, fixture->vectors);
}

static void
close_stores (Fixture *fixture)
{
  g_clear_object (&fixture->chat);
  g_clear_object (&fixture->vectors);
  g_clear_object (&fixture->db);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) embedder = rfl_vector_embedder_new_hash ();

  fixture->path = g_build_filename (g_get_user_data_dir (), "reflection",
                                    "reflection.db", NULL);
  open_stores (fixture, embedder);
  fixture->tenant = add_tenant (fixture->db, "Alpha");
  fixture->user = add_user (fixture->db, fixture->tenant, "a@example.org");
  fixture->conversation = add_conversation (fixture, fixture->tenant,
                                            fixture->user);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  close_stores (fixture);
  g_free (fixture->path);
}

static gsize
count (Fixture *fixture,
       gint64   tenant)
{
  g_autoptr(GError) error = NULL;
  gsize n = rfl_vector_store_count (fixture->vectors, tenant,
                                    RFL_VECTOR_KIND_MESSAGE, &error);

  g_assert_no_error (error);
  return n;
}

static void
embed (const char *text,
       float      *out)
{
  g_assert_true (rfl_hash_embedder_embed (text, -1, out));
}

/* The ids the vector search finds for @text, best first. */
static GArray *
search (Fixture    *fixture,
        gint64      tenant,
        gint64      user,
        const char *text,
        guint       limit)
{
  float query[RFL_HASH_EMBEDDER_DIMS];
  g_autoptr(GError) error = NULL;
  GArray *hits;

  embed (text, query);
  hits = rfl_vector_store_search (fixture->vectors, tenant,
                                  RFL_VECTOR_KIND_MESSAGE, user, query,
                                  RFL_HASH_EMBEDDER_DIMS, limit, &error);
  g_assert_no_error (error);
  g_assert_nonnull (hits);
  return hits;
}

static gboolean
hits_contain (GArray *hits,
              gint64  id)
{
  for (guint i = 0; i < hits->len; i++)
    {
      if (g_array_index (hits, RflVectorHit, i).id == id)
        return TRUE;
    }

  return FALSE;
}

/* A test embedder: the first four numbers of the text are the vector. */
static gboolean
numbers_embed (const char * const  *texts,
               guint                n_texts,
               float               *vectors,
               gpointer             user_data,
               GCancellable        *cancellable,
               GError             **error)
{
  guint *calls = user_data;

  if (calls != NULL)
    g_atomic_int_inc (calls);

  for (guint i = 0; i < n_texts; i++)
    {
      const char *p = texts[i];

      for (guint d = 0; d < 4; d++)
        {
          char *end = NULL;
          double value = g_ascii_strtod (p, &end);

          vectors[i * 4 + d] = end != p ? (float) value : 0.0f;
          p = end;
        }
    }

  return TRUE;
}

/* Kinds and embedders */

static void
test_kinds (void)
{
  RflVectorKind kind;
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  float vectors[2 * RFL_HASH_EMBEDDER_DIMS];
  const char *texts[] = { "green tea", "" };
  g_autoptr(GError) error = NULL;

  g_assert_cmpstr (rfl_vector_kind_to_string (RFL_VECTOR_KIND_MESSAGE), ==,
                   "message");
  g_assert_cmpstr (rfl_vector_kind_to_string (RFL_VECTOR_KIND_MEMORY), ==,
                   "memory");
  g_assert_true (rfl_vector_kind_from_string ("memory", &kind));
  g_assert_cmpint (kind, ==, RFL_VECTOR_KIND_MEMORY);
  g_assert_false (rfl_vector_kind_from_string ("episode", &kind));
  g_assert_false (rfl_vector_kind_from_string (NULL, &kind));

  g_assert_cmpstr (rfl_vector_embedder_get_id (hash), ==, RFL_HASH_EMBEDDER_ID);
  g_assert_cmpuint (rfl_vector_embedder_get_dims (hash), ==,
                    RFL_HASH_EMBEDDER_DIMS);
  g_assert_true (rfl_vector_embedder_is_local (hash));
  g_assert_true (rfl_vector_embedder_embed (hash, texts, 2, vectors, NULL,
                                            &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabsf (vectors[0]) + fabsf (vectors[1]) + fabsf (vectors[7]),
                     >=, 0.0f);
  for (guint i = 0; i < RFL_HASH_EMBEDDER_DIMS; i++)
    g_assert_cmpfloat (vectors[RFL_HASH_EMBEDDER_DIMS + i], ==, 0.0f);
}

/* Put, get, delete */

static void
test_put_get (Fixture       *fixture,
              gconstpointer  data)
{
  float vector[RFL_HASH_EMBEDDER_DIMS];
  g_autofree float *stored = NULL;
  g_autofree char *embedder_id = NULL;
  g_autoptr(GError) error = NULL;
  guint dims = 0;
  gint64 message;

  message = add_message (fixture, fixture->tenant, fixture->conversation,
                         "The quick brown fox");

  /* Appending a message gave it a vector of the hash embedder. */
  g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, message,
                                       &stored, &dims, &embedder_id, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dims, ==, RFL_HASH_EMBEDDER_DIMS);
  g_assert_cmpstr (embedder_id, ==, RFL_HASH_EMBEDDER_ID);
  embed ("The quick brown fox", vector);
  for (guint i = 0; i < dims; i++)
    g_assert_cmpfloat (stored[i], ==, vector[i]);
  g_clear_pointer (&stored, g_free);
  g_clear_pointer (&embedder_id, g_free);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);

  /* Replacing it. */
  embed ("something else entirely", vector);
  g_assert_true (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, message,
                                       vector, RFL_HASH_EMBEDDER_DIMS,
                                       &error));
  g_assert_no_error (error);
  g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, message,
                                       &stored, &dims, NULL, &error));
  g_assert_cmpfloat (stored[3], ==, vector[3]);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 1);

  /* Deleting it, twice. */
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->tenant,
                                          RFL_VECTOR_KIND_MESSAGE, message,
                                          &error));
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->tenant,
                                          RFL_VECTOR_KIND_MESSAGE, message,
                                          &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 0);
  g_assert_false (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MESSAGE, message,
                                        NULL, NULL, NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
}

static void
test_put_invalid (Fixture       *fixture,
                  gconstpointer  data)
{
  float vector[RFL_HASH_EMBEDDER_DIMS];
  g_autoptr(GError) error = NULL;
  gint64 other_tenant, other_user, other_conversation, other_message;
  gint64 message;

  message = add_message (fixture, fixture->tenant, fixture->conversation,
                         "hello");
  other_tenant = add_tenant (fixture->db, "Beta");
  other_user = add_user (fixture->db, other_tenant, "b@example.org");
  other_conversation = add_conversation (fixture, other_tenant, other_user);
  other_message = add_message (fixture, other_tenant, other_conversation,
                               "hello");
  embed ("a new vector", vector);

  /* Wrong dimension. */
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MESSAGE, message,
                                        vector, 12, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Not a number. */
  vector[5] = NAN;
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MESSAGE, message,
                                        vector, RFL_HASH_EMBEDDER_DIMS,
                                        &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  embed ("a new vector", vector);

  /* An owner of another tenant, or none. */
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MESSAGE, other_message,
                                        vector, RFL_HASH_EMBEDDER_DIMS,
                                        &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MEMORY, message,
                                        vector, RFL_HASH_EMBEDDER_DIMS,
                                        &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* An unknown kind. */
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                        (RflVectorKind) 7, message,
                                        vector, RFL_HASH_EMBEDDER_DIMS,
                                        &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Nothing changed. */
  {
    g_autofree float *stored = NULL;
    float original[RFL_HASH_EMBEDDER_DIMS];

    embed ("hello", original);
    g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MESSAGE, message,
                                         &stored, NULL, NULL, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < RFL_HASH_EMBEDDER_DIMS; i++)
      g_assert_cmpfloat (stored[i], ==, original[i]);
  }
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 2);

  /* A second store on one connection is refused. */
  {
    g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
    g_autoptr(RflVectorStore) second = NULL;

    second = rfl_vector_store_new (fixture->db, hash, &error);
    g_assert_null (second);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
  }
}

/* An all-zero vector records that there was nothing to embed. */
static void
test_nothing_to_embed (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *embedder_id = NULL;
  g_autoptr(GError) error = NULL;
  gint64 message;

  message = add_message (fixture, fixture->tenant, fixture->conversation,
                         "!!! ??? ...");
  g_assert_false (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MESSAGE, message,
                                        NULL, NULL, &embedder_id, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_cmpstr (embedder_id, ==, RFL_HASH_EMBEDDER_ID);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 0);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL), ==, 0);
}

/* The index and the database */

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GArray) hits = NULL;
  gint64 tea, coffee, stars;

  tea = add_message (fixture, fixture->tenant, fixture->conversation,
                     "I drink green tea every morning");
  coffee = add_message (fixture, fixture->tenant, fixture->conversation,
                        "Espresso coffee keeps me awake");
  stars = add_message (fixture, fixture->tenant, fixture->conversation,
                       "The stars were bright over the mountains");

  hits = search (fixture, fixture->tenant, 0, "green tea in the morning", 3);
  g_assert_cmpuint (hits->len, ==, 3);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, tea);
  g_assert_cmpfloat (g_array_index (hits, RflVectorHit, 0).score, >,
                     g_array_index (hits, RflVectorHit, 1).score);
  g_assert_true (hits_contain (hits, coffee));
  g_assert_true (hits_contain (hits, stars));
  g_clear_pointer (&hits, g_array_unref);

  hits = search (fixture, fixture->tenant, 0, "bright stars", 1);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, stars);
}

static void
test_rollback (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) hits = NULL;
  gint64 kept, rolled_back;

  kept = add_message (fixture, fixture->tenant, fixture->conversation,
                      "kept message about sailing");
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);

  /* A transaction that is rolled back leaves the index as it was, also
   * when the index is read inside it. */
  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  g_assert_no_error (error);
  rolled_back = add_message (fixture, fixture->tenant, fixture->conversation,
                             "rolled back message about sailing boats");
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->tenant,
                                          RFL_VECTOR_KIND_MESSAGE, kept,
                                          &error));
  hits = search (fixture, fixture->tenant, 0, "sailing boats", 5);
  g_clear_pointer (&hits, g_array_unref);
  rfl_vector_store_rollback (fixture->vectors);

  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM messages"),
                   ==, 1);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);
  hits = search (fixture, fixture->tenant, 0, "sailing boats", 5);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, kept);
  g_assert_false (hits_contain (hits, rolled_back));
  g_clear_pointer (&hits, g_array_unref);

  /* A committed one reaches the index at commit. */
  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  rolled_back = add_message (fixture, fixture->tenant, fixture->conversation,
                             "committed message about sailing boats");
  g_assert_false (rfl_vector_store_begin (fixture->vectors, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_true (rfl_vector_store_commit (fixture->vectors, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 2);
  hits = search (fixture, fixture->tenant, 0, "sailing boats", 1);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, rolled_back);

  g_assert_false (rfl_vector_store_commit (fixture->vectors, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
}

/* An index first loaded inside a transaction holds what the transaction
 * wrote; after a rollback it must not, after a commit it must. */
static void
test_load_in_transaction (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) hits = NULL;
  gint64 kept, undone, done;

  kept = add_message (fixture, fixture->tenant, fixture->conversation,
                      "kept before, about kites");
  close_stores (fixture);
  open_stores (fixture, hash);

  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  undone = add_message (fixture, fixture->tenant, fixture->conversation,
                        "undone later, about kites and wind");
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->tenant,
                                          RFL_VECTOR_KIND_MESSAGE, kept,
                                          &error));
  hits = search (fixture, fixture->tenant, 0, "kites and wind", 5);
  g_assert_true (hits_contain (hits, undone));
  g_assert_false (hits_contain (hits, kept));
  g_clear_pointer (&hits, g_array_unref);
  rfl_vector_store_rollback (fixture->vectors);

  hits = search (fixture, fixture->tenant, 0, "kites and wind", 5);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, kept);
  g_clear_pointer (&hits, g_array_unref);

  close_stores (fixture);
  open_stores (fixture, hash);
  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  done = add_message (fixture, fixture->tenant, fixture->conversation,
                      "committed, about kites and wind");
  hits = search (fixture, fixture->tenant, 0, "kites and wind", 5);
  g_clear_pointer (&hits, g_array_unref);
  g_assert_true (rfl_vector_store_commit (fixture->vectors, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 2);
  hits = search (fixture, fixture->tenant, 0, "kites and wind", 5);
  g_assert_true (hits_contain (hits, done));
  g_assert_true (hits_contain (hits, kept));
}

/* A failing statement inside a store function rolls back its savepoint
 * and leaves the caller's transaction usable. */
static void
test_savepoint (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflMessage) bad = rfl_message_new (RFL_MESSAGE_ROLE_USER, "x");
  RflMessage *batch[2];
  gint64 kept;

  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  kept = add_message (fixture, fixture->tenant, fixture->conversation,
                      "inside the transaction");

  /* A batch whose second message is refused by the database after the
   * first was written: the created_at of a row is not checked before. */
  batch[0] = rfl_message_new (RFL_MESSAGE_ROLE_USER, "first of the batch");
  batch[1] = bad;
  exec_sql (fixture->db,
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.messages"
            " WHEN new.content = 'x' BEGIN SELECT RAISE (ABORT, 'no'); END");
  g_assert_false (rfl_chat_store_append_messages (fixture->chat,
                                                  fixture->tenant,
                                                  fixture->conversation,
                                                  batch, 2, NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  rfl_message_free (batch[0]);
  exec_sql (fixture->db, "DROP TRIGGER temp.refuse");

  g_assert_true (rfl_vector_store_commit (fixture->vectors, NULL));
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM messages"),
                   ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 1);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT max (id) FROM messages"),
                   ==, kept);
}

/* A vector written and then undone by a rolled-back savepoint: the index
 * gets what was committed, not the last vector the store wrote. */
static void
test_savepoint_vectors (Fixture       *fixture,
                        gconstpointer  data)
{
  float first[RFL_HASH_EMBEDDER_DIMS];
  float second[RFL_HASH_EMBEDDER_DIMS];
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) hits = NULL;
  gint64 message;

  message = add_message (fixture, fixture->tenant, fixture->conversation,
                         "original words");
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);
  embed ("first replacement", first);
  embed ("second replacement", second);

  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  g_assert_true (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, message, first,
                                       RFL_HASH_EMBEDDER_DIMS, &error));
  exec_sql (fixture->db, "SAVEPOINT inner_change");
  g_assert_true (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, message,
                                       second, RFL_HASH_EMBEDDER_DIMS,
                                       &error));
  exec_sql (fixture->db, "ROLLBACK TO inner_change; RELEASE inner_change");
  g_assert_true (rfl_vector_store_commit (fixture->vectors, &error));
  g_assert_no_error (error);

  hits = search (fixture, fixture->tenant, 0, "first replacement", 1);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpfloat (g_array_index (hits, RflVectorHit, 0).score, >, 0.999f);
  g_clear_pointer (&hits, g_array_unref);
  hits = search (fixture, fixture->tenant, 0, "second replacement", 1);
  g_assert_cmpfloat (g_array_index (hits, RflVectorHit, 0).score, <, 0.9f);
  g_clear_pointer (&hits, g_array_unref);

  /* Written then deleted in one transaction: gone. */
  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  g_assert_true (rfl_vector_store_put (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, message,
                                       second, RFL_HASH_EMBEDDER_DIMS,
                                       &error));
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->tenant,
                                          RFL_VECTOR_KIND_MESSAGE, message,
                                          &error));
  g_assert_true (rfl_vector_store_commit (fixture->vectors, &error));
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 0);
}

static void
test_cascade (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) hits = NULL;
  gint64 other_conversation, gone, beta, beta_user, beta_conversation;

  add_message (fixture, fixture->tenant, fixture->conversation,
               "a message about gardening");
  other_conversation = add_conversation (fixture, fixture->tenant,
                                         fixture->user);
  gone = add_message (fixture, fixture->tenant, other_conversation,
                      "a message about gardening tomatoes");
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 2);

  /* A deleted conversation's messages leave searches at once. */
  g_assert_true (rfl_chat_store_delete_conversation (fixture->chat,
                                                     fixture->tenant,
                                                     other_conversation,
                                                     &error));
  hits = search (fixture, fixture->tenant, 0, "gardening tomatoes", 5);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_false (hits_contain (hits, gone));
  g_clear_pointer (&hits, g_array_unref);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 2);

  /* Restored, they are back; purged, their vectors are gone. */
  g_assert_true (rfl_chat_store_restore_conversation (fixture->chat,
                                                      fixture->tenant,
                                                      other_conversation,
                                                      &error));
  hits = search (fixture, fixture->tenant, 0, "gardening tomatoes", 5);
  g_assert_true (hits_contain (hits, gone));
  g_clear_pointer (&hits, g_array_unref);

  g_assert_true (rfl_chat_store_purge_conversation (fixture->chat,
                                                    fixture->tenant,
                                                    other_conversation,
                                                    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 1);

  /* Deleting a whole tenant, by SQL, reaches the index too. */
  beta = add_tenant (fixture->db, "Beta");
  beta_user = add_user (fixture->db, beta, "b@example.org");
  beta_conversation = add_conversation (fixture, beta, beta_user);
  add_message (fixture, beta, beta_conversation, "beta gardening");
  add_message (fixture, beta, beta_conversation, "beta cooking");
  g_assert_cmpuint (count (fixture, beta), ==, 2);

  exec_sql (fixture->db, "DELETE FROM tenants WHERE name = 'Beta'");
  g_assert_cmpuint (count (fixture, beta), ==, 0);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 1);
}

static void
test_rebuild (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(GArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  gint64 ids[20];

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *text = g_strdup_printf ("message number %u about "
                                               "topic%u", i, i);

      ids[i] = add_message (fixture, fixture->tenant, fixture->conversation,
                            text);
    }

  close_stores (fixture);
  open_stores (fixture, hash);

  g_assert_true (rfl_vector_store_load_all (fixture->vectors, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, G_N_ELEMENTS (ids));

  hits = search (fixture, fixture->tenant, 0, "message about topic7", 1);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, ids[7]);
}

/* With many close rows of another user, the user's row is still found:
 * the search asks the index for more candidates until enough pass. */
static void
test_user_filter (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GArray) hits = NULL;
  gint64 other_user, other_conversation, mine;

  other_user = add_user (fixture->db, fixture->tenant, "o@example.org");
  other_conversation = add_conversation (fixture, fixture->tenant, other_user);

  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *text = g_strdup_printf ("walking the dog in the park "
                                               "%u", i);

      add_message (fixture, fixture->tenant, other_conversation, text);
    }
  mine = add_message (fixture, fixture->tenant, fixture->conversation,
                      "a quiet evening reading books");

  hits = search (fixture, fixture->tenant, fixture->user,
                 "walking the dog in the park", 5);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, mine);
  g_clear_pointer (&hits, g_array_unref);

  hits = search (fixture, fixture->tenant, other_user,
                 "walking the dog in the park", 5);
  g_assert_cmpuint (hits->len, ==, 5);
  g_assert_false (hits_contain (hits, mine));
}

static void
test_hybrid (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  gint64 both, words_only, other;
  float query[RFL_HASH_EMBEDDER_DIMS];
  const RflHybridHit *first;

  both = add_message (fixture, fixture->tenant, fixture->conversation,
                      "Zebra crossings near the school");
  words_only = add_message (fixture, fixture->tenant, fixture->conversation,
                            "Une zèbre au zoo");
  other = add_message (fixture, fixture->tenant, fixture->conversation,
                       "Crossings of rivers by ferry");

  /* Words: accents are ignored ("zebre" finds "zèbre"). */
  hits = rfl_vector_store_search_hybrid (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MESSAGE, 0,
                                         "zebra crossings school", NULL, 0,
                                         10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 3);
  first = &g_array_index (hits, RflHybridHit, 0);
  g_assert_cmpint (first->id, ==, both);
  g_assert_cmpuint (first->vector_rank, ==, 1);
  g_assert_cmpuint (first->text_rank, ==, 1);
  g_assert_cmpfloat_with_epsilon (first->score, 2.0 / (RFL_VECTOR_STORE_RRF_K + 1),
                                  1e-12);
  for (guint i = 1; i < hits->len; i++)
    {
      const RflHybridHit *hit = &g_array_index (hits, RflHybridHit, i);
      double expected = 0.0;

      if (hit->vector_rank > 0)
        expected += 1.0 / (RFL_VECTOR_STORE_RRF_K + hit->vector_rank);
      if (hit->text_rank > 0)
        expected += 1.0 / (RFL_VECTOR_STORE_RRF_K + hit->text_rank);
      g_assert_cmpfloat_with_epsilon (hit->score, expected, 1e-12);
      g_assert_cmpfloat (hit->score, <=,
                         g_array_index (hits, RflHybridHit, i - 1).score);
    }
  g_clear_pointer (&hits, g_array_unref);

  /* Only the words count without a vector for the query… */
  hits = rfl_vector_store_search_hybrid (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MESSAGE, 0, NULL,
                                         NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 0);
  g_clear_pointer (&hits, g_array_unref);

  hits = rfl_vector_store_search_hybrid (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MESSAGE, 0, "zebre",
                                         NULL, 0, 1, &error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (g_array_index (hits, RflHybridHit, 0).id, ==, words_only);
  g_clear_pointer (&hits, g_array_unref);

  /* …and only the vector without words. */
  embed ("ferry over the rivers", query);
  hits = rfl_vector_store_search_hybrid (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MESSAGE, 0, NULL,
                                         query, RFL_HASH_EMBEDDER_DIMS, 1,
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, 1);
  first = &g_array_index (hits, RflHybridHit, 0);
  g_assert_cmpint (first->id, ==, other);
  g_assert_cmpuint (first->text_rank, ==, 0);
  g_assert_cmpfloat (first->similarity, >, 0.3f);
  g_clear_pointer (&hits, g_array_unref);

  /* Query syntax in the text is taken as words. */
  hits = rfl_vector_store_search_hybrid (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MESSAGE, 0,
                                         "\"zebra* OR NEAR( content:",
                                         NULL, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_true (hits->len >= 1);
  g_assert_cmpint (g_array_index (hits, RflHybridHit, 0).id, ==, both);
}

/* Embedders and the embedding job */

static void
progress_cb (GObject    *object,
             GParamSpec *pspec,
             gpointer    user_data)
{
  guint *n_notifies = user_data;

  (*n_notifies)++;
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  guint64   n_embedded;
  GError   *error;
} JobWait;

static void
job_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  JobWait *wait = user_data;

  wait->ok = rfl_vector_store_reembed_finish (RFL_VECTOR_STORE (object),
                                              result, &wait->n_embedded,
                                              &wait->error);
  wait->done = TRUE;
}

static void
wait_job (JobWait *wait)
{
  while (!wait->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_reembed (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) numbers = NULL;
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) hits = NULL;
  g_autofree float *stored = NULL;
  g_autofree char *embedder_id = NULL;
  JobWait wait = { 0 };
  guint n_notifies = 0;
  guint calls = 0;
  guint64 done, total;
  float query[4] = { 0, 0, 1, 0 };
  gint64 ids[10];

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *text = g_strdup_printf ("%u %u %u 0 message", i % 2,
                                               (i + 1) % 2, i == 7 ? 9 : 0);

      ids[i] = add_message (fixture, fixture->tenant, fixture->conversation,
                            text);
    }
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 10);

  /* Another embedder: nothing in its index, everything pending. */
  numbers = rfl_vector_embedder_new ("numbers-4", 4, FALSE, numbers_embed,
                                     &calls, NULL);
  rfl_vector_store_set_embedder (fixture->vectors, numbers);
  g_assert_true (rfl_vector_store_get_embedder (fixture->vectors) == numbers);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 0);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    &error), ==, 10);

  g_signal_connect (fixture->vectors, "notify::reembed-done",
                    G_CALLBACK (progress_cb), &n_notifies);
  rfl_vector_store_reembed_async (fixture->vectors, 3, NULL, job_done_cb,
                                  &wait);
  g_assert_true (rfl_vector_store_is_reembedding (fixture->vectors));
  wait_job (&wait);
  g_assert_no_error (wait.error);
  g_assert_true (wait.ok);
  g_assert_cmpuint (wait.n_embedded, ==, 10);
  g_assert_false (rfl_vector_store_is_reembedding (fixture->vectors));
  g_assert_cmpuint (calls, ==, 4);   /* batches of 3 */

  rfl_vector_store_get_reembed_progress (fixture->vectors, &done, &total);
  g_assert_cmpuint (done, ==, 10);
  g_assert_cmpuint (total, ==, 10);
  g_assert_cmpuint (n_notifies, >=, 1);

  /* The vectors remember their embedder, and the index has them. */
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 10);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL), ==, 0);
  g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MESSAGE, ids[7],
                                       &stored, NULL, &embedder_id, &error));
  g_assert_cmpstr (embedder_id, ==, "numbers-4");
  g_assert_cmpfloat (stored[2], ==, 9.0f);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings "
                                           "WHERE embedder_id = 'numbers-4'"),
                   ==, 10);
  hits = rfl_vector_store_search (fixture->vectors, fixture->tenant,
                                  RFL_VECTOR_KIND_MESSAGE, 0, query, 4, 1,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_array_index (hits, RflVectorHit, 0).id, ==, ids[7]);

  /* A remote embedder does not embed as rows are written. */
  add_message (fixture, fixture->tenant, fixture->conversation, "1 1 1 1");
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL), ==, 1);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 10);

  /* Switching back: the job replaced the hash vectors, so every row
   * waits for the next job. */
  rfl_vector_store_set_embedder (fixture->vectors, hash);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 0);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL), ==, 11);
}

static gboolean
slow_embed (const char * const  *texts,
            guint                n_texts,
            float               *vectors,
            gpointer             user_data,
            GCancellable        *cancellable,
            GError             **error)
{
  g_usleep (20 * 1000);
  return numbers_embed (texts, n_texts, vectors, user_data, cancellable,
                        error);
}

/* Cancels the job once a few batches are done. */
static void
cancel_after_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint64 done;

  rfl_vector_store_get_reembed_progress (RFL_VECTOR_STORE (object), &done,
                                         NULL);
  if (done >= 4)
    g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
test_reembed_cancel (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) slow = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  JobWait wait = { 0 };
  JobWait again = { 0 };
  JobWait second = { 0 };
  guint calls = 0;
  guint64 embedded_first;

  for (guint i = 0; i < 40; i++)
    add_message (fixture, fixture->tenant, fixture->conversation, "1 2 3 4");

  slow = rfl_vector_embedder_new ("slow-4", 4, FALSE, slow_embed, &calls,
                                  NULL);
  rfl_vector_store_set_embedder (fixture->vectors, slow);

  rfl_vector_store_reembed_async (fixture->vectors, 2, cancellable,
                                  job_done_cb, &wait);
  /* One job at a time. */
  rfl_vector_store_reembed_async (fixture->vectors, 2, NULL, job_done_cb,
                                  &second);
  wait_job (&second);
  g_assert_error (second.error, RFL_ERROR, RFL_ERROR_EXISTS);
  g_clear_error (&second.error);

  g_signal_connect (fixture->vectors, "notify::reembed-done",
                    G_CALLBACK (cancel_after_cb), cancellable);
  wait_job (&wait);
  g_signal_handlers_disconnect_by_func (fixture->vectors, cancel_after_cb,
                                        cancellable);
  g_assert_false (wait.ok);
  g_assert_error (wait.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&wait.error);

  /* What was done is kept, and visible in the index. */
  embedded_first = rfl_vector_store_count (fixture->vectors, fixture->tenant,
                                           RFL_VECTOR_KIND_MESSAGE, NULL);
  g_assert_cmpuint (embedded_first, >=, 4);
  g_assert_cmpuint (embedded_first, <, 40);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL),
                    ==, 40 - embedded_first);

  /* A later job does the rest. */
  rfl_vector_store_reembed_async (fixture->vectors, 16, NULL, job_done_cb,
                                  &again);
  wait_job (&again);
  g_assert_no_error (again.error);
  g_assert_cmpuint (again.n_embedded, ==, 40 - embedded_first);
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors, fixture->tenant,
                                            RFL_VECTOR_KIND_MESSAGE, NULL),
                    ==, 40);
}

/* A row deleted while the job works on it stays deleted, also in the
 * index. */
static void
test_reembed_concurrent_delete (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) slow = NULL;
  g_autoptr(GError) error = NULL;
  JobWait wait = { 0 };
  guint calls = 0;
  gint64 other;

  for (guint i = 0; i < 20; i++)
    add_message (fixture, fixture->tenant, fixture->conversation, "1 0 0 0");
  other = add_conversation (fixture, fixture->tenant, fixture->user);
  for (guint i = 0; i < 20; i++)
    add_message (fixture, fixture->tenant, other, "0 1 0 0");

  slow = rfl_vector_embedder_new ("slow-4", 4, FALSE, slow_embed, &calls,
                                  NULL);
  rfl_vector_store_set_embedder (fixture->vectors, slow);
  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 0);

  rfl_vector_store_reembed_async (fixture->vectors, 4, NULL, job_done_cb,
                                  &wait);
  g_usleep (50 * 1000);
  g_assert_true (rfl_chat_store_purge_conversation (fixture->chat,
                                                    fixture->tenant, other,
                                                    &error));
  g_assert_no_error (error);
  wait_job (&wait);
  g_assert_no_error (wait.error);

  g_assert_cmpuint (count (fixture, fixture->tenant), ==, 20);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 20);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/rfl/vector-store/" path, Fixture, NULL, fixture_set_up, \
              func, fixture_tear_down)

  g_test_add_func ("/rfl/vector-store/kinds", test_kinds);
  ADD ("put-get", test_put_get);
  ADD ("put-invalid", test_put_invalid);
  ADD ("nothing-to-embed", test_nothing_to_embed);
  ADD ("search", test_search);
  ADD ("rollback", test_rollback);
  ADD ("load-in-transaction", test_load_in_transaction);
  ADD ("savepoint", test_savepoint);
  ADD ("savepoint-vectors", test_savepoint_vectors);
  ADD ("cascade", test_cascade);
  ADD ("rebuild", test_rebuild);
  ADD ("user-filter", test_user_filter);
  ADD ("hybrid", test_hybrid);
  ADD ("reembed", test_reembed);
  ADD ("reembed-cancel", test_reembed_cancel);
  ADD ("reembed-concurrent-delete", test_reembed_concurrent_delete);

#undef ADD

  return g_test_run ();
}
