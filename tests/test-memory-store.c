/* test-memory-store.c
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
  RflDatabase    *db;
  RflVectorStore *vectors;
  RflMemoryStore *memories;
  gint64          tenant;
  gint64          user;
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

static gint64
add_tenant (RflDatabase *db,
            const char  *name)
{
  g_autoptr(GError) error = NULL;
  gint64 id = rfl_database_create_tenant (db, name, "business", &error);

  g_assert_no_error (error);
  return id;
}

/* Users are inserted directly: hashing a password takes a while. */
static gint64
add_user (RflDatabase *db,
          gint64       tenant,
          const char  *email)
{
  g_autofree char *sql = NULL;
  g_autoptr(GError) error = NULL;

  sql = g_strdup_printf ("INSERT INTO users (tenant_id, email, password_hash)"
                         " VALUES (%" G_GINT64_FORMAT ", '%s', 'x')",
                         tenant, email);
  g_assert_true (_rfl_database_exec (db, sql, &error));
  return sqlite3_last_insert_rowid (_rfl_database_get_handle (db));
}

static void
open_stores (Fixture           *fixture,
             RflVectorEmbedder *embedder)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  path = g_build_filename (g_get_user_data_dir (), "reflection",
                           "reflection.db", NULL);
  fixture->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->vectors = rfl_vector_store_new (fixture->db, embedder, &error);
  g_assert_no_error (error);
  fixture->memories = rfl_memory_store_new (fixture->db, fixture->vectors);
  fixture->tenant = add_tenant (fixture->db, "Alpha");
  fixture->user = add_user (fixture->db, fixture->tenant, "a@example.org");
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();

  open_stores (fixture, hash);
}

/* A remote embedder whose vectors the test gives: its function is never
 * called by the store in these tests. */
static gboolean
unused_embed (const char * const  *texts,
              guint                n_texts,
              float               *vectors,
              gpointer             user_data,
              GCancellable        *cancellable,
              GError             **error)
{
  g_assert_not_reached ();
  return FALSE;
}

static void
fixture_set_up_given (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) given = NULL;

  given = rfl_vector_embedder_new ("given-4", 4, FALSE, unused_embed, NULL,
                                   NULL);
  open_stores (fixture, given);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->memories);
  g_clear_object (&fixture->vectors);
  g_clear_object (&fixture->db);
}

static gint64
upsert_full (Fixture         *fixture,
             gint64           tenant,
             gint64           user,
             RflMemoryKind    kind,
             const char      *key,
             const char      *value,
             double           importance,
             const float     *vector,
             RflMemoryUpsert *outcome)
{
  g_autoptr(RflMemory) memory = rfl_memory_new (kind, key, value);
  g_autoptr(GError) error = NULL;
  gint64 id;

  memory->importance = importance;
  id = rfl_memory_store_upsert (fixture->memories, tenant, user, memory,
                                vector, vector != NULL ? 4 : 0, outcome,
                                &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
upsert (Fixture         *fixture,
        RflMemoryKind    kind,
        const char      *key,
        const char      *value,
        RflMemoryUpsert *outcome)
{
  return upsert_full (fixture, fixture->tenant, fixture->user, kind, key,
                      value, 0.5, NULL, outcome);
}

static RflMemory *
get (Fixture *fixture,
     gint64   id)
{
  g_autoptr(GError) error = NULL;
  RflMemory *memory;

  memory = rfl_memory_store_get (fixture->memories, fixture->tenant, id,
                                 &error);
  g_assert_no_error (error);
  g_assert_nonnull (memory);
  return memory;
}

/* Keys and kinds */

static void
test_normalize (void)
{
  struct {
    const char *key;
    const char *normal;
  } cases[] = {
    { "Favourite colour", "favourite colour" },
    { "  FAVOURITE-colour!! ", "favourite colour" },
    { "favourite_colour", "favourite colour" },
    { "Ｆａｖｏｕｒｉｔｅ　Colour", "favourite colour" },
    { "Straße", "strasse" },
    { "Café", "café" },
    { "!!! ???", NULL },
    { "", NULL },
    { NULL, NULL },
    { "bad \xff", NULL },
  };
  RflMemoryKind kind;
  g_autofree char *text = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *normal = rfl_memory_normalize_key (cases[i].key);

      g_assert_cmpstr (normal, ==, cases[i].normal);
    }

  g_assert_cmpstr (rfl_memory_kind_to_string (RFL_MEMORY_KIND_RELATIONSHIP),
                   ==, "relationship");
  g_assert_true (rfl_memory_kind_from_string ("goal", &kind));
  g_assert_cmpint (kind, ==, RFL_MEMORY_KIND_GOAL);
  g_assert_false (rfl_memory_kind_from_string ("wish", &kind));

  text = rfl_memory_dup_embedding_text ("favourite colour", "green");
  g_assert_cmpstr (text, ==, "favourite colour: green");
}

/* Upsert and deduplication */

static void
test_insert_and_key_merge (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;
  RflMemoryUpsert outcome;
  gint64 id, again, other_kind;

  id = upsert_full (fixture, fixture->tenant, fixture->user,
                    RFL_MEMORY_KIND_PREFERENCE, "Favourite colour", "blue",
                    0.4, NULL, &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);

  memory = get (fixture, id);
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_PREFERENCE);
  g_assert_cmpstr (memory->key, ==, "Favourite colour");
  g_assert_cmpstr (memory->value, ==, "blue");
  g_assert_cmpfloat (memory->importance, ==, 0.4);
  g_assert_cmpfloat (memory->confidence, ==, 1.0);
  g_assert_cmpuint (memory->mentions, ==, 1);
  g_assert_cmpint (memory->last_used_at, ==, 0);
  g_assert_cmpint (memory->user_id, ==, fixture->user);
  g_clear_pointer (&memory, rfl_memory_free);

  /* The same key, written differently: merged; the new value wins. */
  {
    g_autoptr(RflMemory) update = rfl_memory_new (RFL_MEMORY_KIND_PREFERENCE,
                                                  "favourite-COLOUR",
                                                  "green, since 2025");

    update->importance = 0.9;
    update->confidence = 0.5;
    again = rfl_memory_store_upsert (fixture->memories, fixture->tenant,
                                     fixture->user, update, NULL, 0, &outcome,
                                     &error);
    g_assert_no_error (error);
  }
  g_assert_cmpint (again, ==, id);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_MERGED_KEY);
  memory = get (fixture, id);
  g_assert_cmpstr (memory->key, ==, "Favourite colour");
  g_assert_cmpstr (memory->value, ==, "green, since 2025");
  g_assert_cmpfloat (memory->importance, ==, 0.9);
  g_assert_cmpfloat (memory->confidence, ==, 1.0);
  g_assert_cmpuint (memory->mentions, ==, 2);
  g_assert_cmpint (memory->updated_at, >, memory->created_at);
  g_clear_pointer (&memory, rfl_memory_free);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM memories"),
                   ==, 1);

  /* Its vector follows the new value. */
  {
    g_autofree float *stored = NULL;
    float expected[RFL_HASH_EMBEDDER_DIMS];

    g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                         RFL_VECTOR_KIND_MEMORY, id, &stored,
                                         NULL, NULL, &error));
    rfl_hash_embedder_embed ("Favourite colour: green, since 2025", -1,
                             expected);
    for (guint i = 0; i < RFL_HASH_EMBEDDER_DIMS; i++)
      g_assert_cmpfloat (stored[i], ==, expected[i]);
  }

  /* Another kind with an unrelated value is another memory. */
  other_kind = upsert (fixture, RFL_MEMORY_KIND_GOAL, "favourite colour",
                       "learn to paint with ochre", &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);
  g_assert_cmpint (other_kind, !=, id);
}

static void
test_similar_merge (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflMemory) memory = NULL;
  RflMemoryUpsert outcome;
  gint64 id, same, different;

  id = upsert (fixture, RFL_MEMORY_KIND_FACT, "Coffee",
               "drinks it black, no sugar", &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);

  /* Another kind and key, the same words: the same memory. */
  same = upsert (fixture, RFL_MEMORY_KIND_PREFERENCE, "coffee",
                 "Drinks it black, no sugar.", &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_MERGED_SIMILAR);
  g_assert_cmpint (same, ==, id);
  memory = get (fixture, id);
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_FACT);
  g_assert_cmpstr (memory->key, ==, "Coffee");
  g_assert_cmpstr (memory->value, ==, "Drinks it black, no sugar.");
  g_assert_cmpuint (memory->mentions, ==, 2);

  different = upsert (fixture, RFL_MEMORY_KIND_PREFERENCE, "tea",
                      "green tea with jasmine", &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);
  g_assert_cmpint (different, !=, id);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM memories"),
                   ==, 2);
}

/* The threshold, with vectors given by the caller. */
static void
test_similar_threshold (Fixture       *fixture,
                        gconstpointer  data)
{
  const float base[4] = { 1, 0, 0, 0 };
  const float close[4] = { 0.95f, 0.3f, 0, 0 };    /* cos 0.954 with base */
  const float apart[4] = { 0.6f, 0.8f, 0, 0 };     /* cos 0.81 with close */
  g_autofree float *stored = NULL;
  g_autoptr(GError) error = NULL;
  RflMemoryUpsert outcome;
  gint64 id, merged, separate;

  id = upsert_full (fixture, fixture->tenant, fixture->user,
                    RFL_MEMORY_KIND_FACT, "home", "Berlin", 0.5, base,
                    &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);

  merged = upsert_full (fixture, fixture->tenant, fixture->user,
                        RFL_MEMORY_KIND_FACT, "city of residence",
                        "Berlin, Germany", 0.5, close, &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_MERGED_SIMILAR);
  g_assert_cmpint (merged, ==, id);
  g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                       RFL_VECTOR_KIND_MEMORY, id, &stored,
                                       NULL, NULL, &error));
  g_assert_cmpfloat (stored[1], ==, 0.3f);

  separate = upsert_full (fixture, fixture->tenant, fixture->user,
                          RFL_MEMORY_KIND_FACT, "work", "Berlin office", 0.5,
                          apart, &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);
  g_assert_cmpint (separate, !=, id);

  /* Without a vector (a remote embedder), only keys are compared and the
   * memory waits for the embedding job. */
  separate = upsert_full (fixture, fixture->tenant, fixture->user,
                          RFL_MEMORY_KIND_FACT, "Home", "Berlin-Mitte", 0.5,
                          NULL, &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_MERGED_KEY);
  g_assert_cmpint (separate, ==, id);
  g_assert_false (rfl_vector_store_get (fixture->vectors, fixture->tenant,
                                        RFL_VECTOR_KIND_MEMORY, id, NULL,
                                        NULL, NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->tenant,
                                                    RFL_VECTOR_KIND_MEMORY,
                                                    NULL), ==, 1);
}

/* Deduplication never looks at another user's or tenant's memories. */
static void
test_dedup_isolation (Fixture       *fixture,
                      gconstpointer  data)
{
  gint64 beta = add_tenant (fixture->db, "Beta");
  gint64 beta_user = add_user (fixture->db, beta, "b@example.org");
  gint64 neighbour = add_user (fixture->db, fixture->tenant, "n@example.org");
  RflMemoryUpsert outcome;
  gint64 mine, theirs, next_door;

  theirs = upsert_full (fixture, beta, beta_user, RFL_MEMORY_KIND_FACT,
                        "dog", "has a dog called Rex", 0.5, NULL, &outcome);
  next_door = upsert_full (fixture, fixture->tenant, neighbour,
                           RFL_MEMORY_KIND_FACT, "dog",
                           "has a dog called Rex", 0.5, NULL, &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);
  mine = upsert (fixture, RFL_MEMORY_KIND_FACT, "dog", "has a dog called Rex",
                 &outcome);
  g_assert_cmpint (outcome, ==, RFL_MEMORY_UPSERT_INSERTED);
  g_assert_cmpint (mine, !=, theirs);
  g_assert_cmpint (mine, !=, next_door);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM memories"),
                   ==, 3);
}

static void
test_invalid (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *long_key = g_strnfill (RFL_MEMORY_STORE_MAX_KEY + 1, 'k');
  g_autofree char *long_value = g_strnfill (RFL_MEMORY_STORE_MAX_VALUE + 1,
                                            'v');
  gint64 beta = add_tenant (fixture->db, "Beta");
  gint64 beta_user = add_user (fixture->db, beta, "b@example.org");
  g_autoptr(GError) error = NULL;
  struct {
    RflMemoryKind  kind;
    const char    *key;
    const char    *value;
    double         importance;
    double         confidence;
    gint64         source;
  } cases[] = {
    { RFL_MEMORY_KIND_FACT, NULL, "v", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "  ", "v", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "!!", "v", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, long_key, "v", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "two\nlines", "v", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "k", "", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "k", long_value, 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "k", "bad \xff", 0.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "k", "v", 1.5, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "k", "v", NAN, 1, 0 },
    { RFL_MEMORY_KIND_FACT, "k", "v", 0.5, -0.1, 0 },
    { (RflMemoryKind) 42, "k", "v", 0.5, 1, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(RflMemory) memory = rfl_memory_new (cases[i].kind,
                                                    cases[i].key,
                                                    cases[i].value);

      memory->importance = cases[i].importance;
      memory->confidence = cases[i].confidence;
      g_assert_cmpint (rfl_memory_store_upsert (fixture->memories,
                                                fixture->tenant, fixture->user,
                                                memory, NULL, 0, NULL, &error),
                       ==, 0);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_clear_error (&error);
    }

  /* A user or a source message of another tenant. */
  {
    g_autoptr(RflMemory) memory = rfl_memory_new (RFL_MEMORY_KIND_FACT, "k",
                                                  "v");
    g_autoptr(RflChatStore) chat = rfl_chat_store_new (fixture->db, NULL);
    g_autoptr(RflMessage) message = rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                                     "hi");
    float vector[3] = { 1, 2, 3 };
    gint64 conversation;

    g_assert_cmpint (rfl_memory_store_upsert (fixture->memories,
                                              fixture->tenant, beta_user,
                                              memory, NULL, 0, NULL, &error),
                     ==, 0);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
    g_clear_error (&error);

    conversation = rfl_chat_store_create_conversation (chat, beta, beta_user,
                                                       "x", &error);
    memory->source_message_id = rfl_chat_store_append_message (chat, beta,
                                                               conversation,
                                                               message,
                                                               &error);
    g_assert_no_error (error);
    g_assert_cmpint (rfl_memory_store_upsert (fixture->memories,
                                              fixture->tenant, fixture->user,
                                              memory, NULL, 0, NULL, &error),
                     ==, 0);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
    g_clear_error (&error);

    /* A vector of the wrong size. */
    memory->source_message_id = 0;
    g_assert_cmpint (rfl_memory_store_upsert (fixture->memories,
                                              fixture->tenant, fixture->user,
                                              memory, vector, 3, NULL, &error),
                     ==, 0);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
    g_clear_error (&error);
  }

  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM memories"),
                   ==, 0);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"
                                           " WHERE kind = 'memory'"), ==, 0);
}

/* List, edit, delete */

static void
test_list_edit_delete (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;
  gint64 low, high, goal, gone;

  low = upsert_full (fixture, fixture->tenant, fixture->user,
                     RFL_MEMORY_KIND_FACT, "shoe size", "43", 0.1, NULL, NULL);
  high = upsert_full (fixture, fixture->tenant, fixture->user,
                      RFL_MEMORY_KIND_RELATIONSHIP, "sister", "Anna", 0.9,
                      NULL, NULL);
  goal = upsert_full (fixture, fixture->tenant, fixture->user,
                      RFL_MEMORY_KIND_GOAL, "marathon", "run one in 2026",
                      0.5, NULL, NULL);

  memories = rfl_memory_store_list (fixture->memories, fixture->tenant,
                                    fixture->user, TRUE, 0, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (memories->len, ==, 3);
  g_assert_cmpint (((RflMemory *) memories->pdata[0])->id, ==, high);
  g_assert_cmpint (((RflMemory *) memories->pdata[1])->id, ==, goal);
  g_assert_cmpint (((RflMemory *) memories->pdata[2])->id, ==, low);
  g_clear_pointer (&memories, g_ptr_array_unref);

  memories = rfl_memory_store_list (fixture->memories, fixture->tenant,
                                    fixture->user, FALSE, RFL_MEMORY_KIND_GOAL,
                                    0, 10, &error);
  g_assert_cmpuint (memories->len, ==, 1);
  g_assert_cmpint (((RflMemory *) memories->pdata[0])->id, ==, goal);
  g_clear_pointer (&memories, g_ptr_array_unref);

  /* Edit. */
  memory = get (fixture, low);
  g_free (memory->value);
  memory->value = g_strdup ("44");
  memory->importance = 0.95;
  g_assert_true (rfl_memory_store_edit (fixture->memories, fixture->tenant,
                                        memory, NULL, 0, &error));
  g_assert_no_error (error);
  g_clear_pointer (&memory, rfl_memory_free);
  memory = get (fixture, low);
  g_assert_cmpstr (memory->value, ==, "44");
  g_assert_cmpfloat (memory->importance, ==, 0.95);

  /* An edit onto another memory's key is refused. */
  g_free (memory->key);
  memory->key = g_strdup ("Sister");
  memory->kind = RFL_MEMORY_KIND_RELATIONSHIP;
  g_assert_false (rfl_memory_store_edit (fixture->memories, fixture->tenant,
                                         memory, NULL, 0, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
  g_clear_error (&error);
  g_clear_pointer (&memory, rfl_memory_free);
  memory = get (fixture, low);
  g_assert_cmpstr (memory->key, ==, "shoe size");

  /* An edit of an unknown memory. */
  memory->id = 4242;
  g_assert_false (rfl_memory_store_edit (fixture->memories, fixture->tenant,
                                         memory, NULL, 0, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Mark used. */
  g_assert_true (rfl_memory_store_mark_used (fixture->memories,
                                             fixture->tenant,
                                             (gint64[]) { goal, high }, 2,
                                             &error));
  g_clear_pointer (&memory, rfl_memory_free);
  memory = get (fixture, goal);
  g_assert_cmpint (memory->last_used_at, >, 0);
  g_clear_pointer (&memory, rfl_memory_free);

  /* Delete, with its vector. */
  gone = high;
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors, fixture->tenant,
                                            RFL_VECTOR_KIND_MEMORY, NULL),
                    ==, 3);
  g_assert_true (rfl_memory_store_delete (fixture->memories, fixture->tenant,
                                          gone, &error));
  g_assert_no_error (error);
  g_assert_false (rfl_memory_store_delete (fixture->memories, fixture->tenant,
                                           gone, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (rfl_memory_store_get (fixture->memories, fixture->tenant,
                                       gone, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors, fixture->tenant,
                                            RFL_VECTOR_KIND_MEMORY, NULL),
                    ==, 2);
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  gint64 neighbour = add_user (fixture->db, fixture->tenant, "n@example.org");
  RflMemoryHit *hit;
  gint64 allergy, sister, theirs;

  allergy = upsert (fixture, RFL_MEMORY_KIND_FACT, "allergy",
                    "allergic to peanuts and cashews", NULL);
  sister = upsert (fixture, RFL_MEMORY_KIND_RELATIONSHIP, "sister",
                   "Anna lives in Vienna", NULL);
  upsert (fixture, RFL_MEMORY_KIND_GOAL, "fitness", "run a marathon", NULL);
  theirs = upsert_full (fixture, fixture->tenant, neighbour,
                        RFL_MEMORY_KIND_FACT, "allergy",
                        "allergic to peanuts", 0.5, NULL, NULL);

  hits = rfl_memory_store_search (fixture->memories, fixture->tenant,
                                  fixture->user, "peanuts allergy", NULL, 0,
                                  5, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, >=, 1);
  hit = g_ptr_array_index (hits, 0);
  g_assert_cmpint (hit->memory->id, ==, allergy);
  g_assert_cmpuint (hit->text_rank, ==, 1);
  g_assert_cmpuint (hit->vector_rank, ==, 1);
  g_assert_cmpfloat (hit->score, >, 0.0);
  for (guint i = 0; i < hits->len; i++)
    g_assert_cmpint (((RflMemoryHit *) hits->pdata[i])->memory->id, !=,
                     theirs);
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* The words of the key count, and the limit holds. */
  hits = rfl_memory_store_search (fixture->memories, fixture->tenant,
                                  fixture->user, "sister", NULL, 0, 1,
                                  &error);
  g_assert_cmpuint (hits->len, ==, 1);
  g_assert_cmpint (((RflMemoryHit *) hits->pdata[0])->memory->id, ==, sister);
}

static gboolean
search_finds (Fixture    *fixture,
              gint64      user,
              const char *text,
              gint64      id)
{
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) error = NULL;

  hits = rfl_memory_store_search (fixture->memories, fixture->tenant, user,
                                  text, NULL, 0, 5, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < hits->len; i++)
    {
      RflMemoryHit *hit = g_ptr_array_index (hits, i);

      if (hit->memory->id == id && hit->text_rank > 0)
        return TRUE;
    }

  return FALSE;
}

static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GPtrArray *
search_async (Fixture    *fixture,
              gint64      user,
              const char *text,
              guint       limit,
              GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_memory_store_search_async (fixture->memories, fixture->tenant, user,
                                 text, limit, NULL, async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return rfl_memory_store_search_finish (fixture->memories, result, error);
}

/* Where a search's answer was written, and how often. */
typedef struct
{
  GThread *thread;
  guint    calls;
} FormatLog;

static gpointer
format_hits_text (GPtrArray *hits,
                  gpointer   user_data)
{
  FormatLog *log = user_data;
  GString *text = g_string_new (NULL);

  if (log != NULL)
    {
      log->thread = g_thread_self ();
      log->calls++;
    }
  for (guint i = 0; i < hits->len; i++)
    {
      RflMemoryHit *hit = hits->pdata[i];

      g_string_append_printf (text, "%" G_GINT64_FORMAT " %s=%s %.17g|",
                              hit->memory->id, hit->memory->key,
                              hit->memory->value, hit->score);
    }

  return g_string_free (text, FALSE);
}

static char *
search_format_async (Fixture    *fixture,
                     const char *text,
                     guint       limit,
                     FormatLog  *log,
                     GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_memory_store_search_format_async (fixture->memories, fixture->tenant,
                                        fixture->user, text, limit,
                                        format_hits_text, log, g_free, NULL,
                                        async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return rfl_memory_store_search_format_finish (fixture->memories, result, error);
}

/* The search handed to a worker answers as the blocking one, also inside
 * a transaction (where it stays on the store's thread), and refuses what
 * the blocking one refuses. */
static void
test_search_async (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *queries[] = { "peanuts", "sister Vienna", "marathon run",
                            "nothing matches this", "" };
  g_autoptr(GError) error = NULL;
  GPtrArray *hits;

  upsert (fixture, RFL_MEMORY_KIND_FACT, "allergy",
          "allergic to peanuts and cashews", NULL);
  upsert (fixture, RFL_MEMORY_KIND_RELATIONSHIP, "sister",
          "Anna lives in Vienna", NULL);
  upsert (fixture, RFL_MEMORY_KIND_GOAL, "fitness", "run a marathon", NULL);

  for (guint transaction = 0; transaction < 2; transaction++)
    {
      if (transaction == 1)
        g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));

      for (guint q = 0; q < G_N_ELEMENTS (queries); q++)
        {
          g_autoptr(GPtrArray) expected = NULL;
          g_autoptr(GPtrArray) got = NULL;

          expected = rfl_memory_store_search (fixture->memories, fixture->tenant,
                                              fixture->user, queries[q], NULL, 0,
                                              5, &error);
          g_assert_no_error (error);
          got = search_async (fixture, fixture->user, queries[q], 5, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (got->len, ==, expected->len);
          for (guint i = 0; i < got->len; i++)
            {
              RflMemoryHit *a = got->pdata[i];
              RflMemoryHit *b = expected->pdata[i];

              g_assert_cmpint (a->memory->id, ==, b->memory->id);
              g_assert_cmpint (a->memory->user_id, ==, b->memory->user_id);
              g_assert_cmpint (a->memory->kind, ==, b->memory->kind);
              g_assert_cmpstr (a->memory->key, ==, b->memory->key);
              g_assert_cmpstr (a->memory->value, ==, b->memory->value);
              g_assert_cmpfloat (a->memory->importance, ==, b->memory->importance);
              g_assert_cmpint (a->memory->updated_at, ==, b->memory->updated_at);
              g_assert_cmpfloat (a->score, ==, b->score);
              g_assert_cmpuint (a->text_rank, ==, b->text_rank);
              g_assert_cmpuint (a->vector_rank, ==, b->vector_rank);
            }

          /* The answer written from the rows: on the worker that read
           * them, or here inside a transaction; once either way. */
          {
            g_autofree char *want = format_hits_text (expected, NULL);
            g_autofree char *text = NULL;
            FormatLog log = { NULL, 0 };

            text = search_format_async (fixture, queries[q], 5, &log, &error);
            g_assert_no_error (error);
            g_assert_cmpstr (text, ==, want);
            g_assert_cmpuint (log.calls, ==, 1);
            if (transaction == 1)
              g_assert_true (log.thread == g_thread_self ());
            else
              g_assert_true (log.thread != g_thread_self ());
          }
        }

      if (transaction == 1)
        rfl_vector_store_rollback (fixture->vectors);
    }

  hits = search_async (fixture, fixture->user, "peanuts", 100000, &error);
  g_assert_null (hits);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  {
    FormatLog log = { NULL, 0 };

    g_assert_null (search_format_async (fixture, "peanuts", 100000, &log, &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
    g_assert_cmpuint (log.calls, ==, 0);
  }
}

static void
assert_hits_match (Fixture   *fixture,
                   GPtrArray *got,
                   GArray    *ranking,
                   GHashTable *deleted)
{
  guint next = 0;

  for (guint i = 0; i < ranking->len; i++)
    {
      const RflHybridHit *want = &g_array_index (ranking, RflHybridHit, i);
      g_autoptr(RflMemory) stored = NULL;
      RflMemoryHit *hit;

      if (deleted != NULL && g_hash_table_contains (deleted, &want->id))
        continue;

      g_assert_cmpuint (next, <, got->len);
      hit = g_ptr_array_index (got, next++);
      g_assert_cmpint (hit->memory->id, ==, want->id);
      g_assert_cmpfloat (hit->score, ==, want->score);
      g_assert_cmpfloat (hit->similarity, ==, want->similarity);
      g_assert_cmpuint (hit->vector_rank, ==, want->vector_rank);
      g_assert_cmpuint (hit->text_rank, ==, want->text_rank);

      stored = get (fixture, want->id);
      g_assert_cmpint (hit->memory->tenant_id, ==, fixture->tenant);
      g_assert_cmpint (hit->memory->user_id, ==, stored->user_id);
      g_assert_cmpint (hit->memory->kind, ==, stored->kind);
      g_assert_cmpstr (hit->memory->key, ==, stored->key);
      g_assert_cmpstr (hit->memory->value, ==, stored->value);
      g_assert_cmpfloat (hit->memory->importance, ==, stored->importance);
      g_assert_cmpint (hit->memory->created_at, ==, stored->created_at);
    }

  g_assert_cmpuint (next, ==, got->len);
}

/* Many hits are read back in the order of the ranking, over more than one
 * statement; rows deleted after the ranking are left out; no transaction
 * stays open afterwards, and inside the caller's one the reads are part of
 * it. */
static void
test_search_rows (Fixture       *fixture,
                  gconstpointer  data)
{
  const guint n_memories = 150;
  const guint limit = 140;
  sqlite3 *handle = _rfl_database_get_handle (fixture->db);
  g_autoptr(GHashTable) deleted = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GArray) ranking = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) sql = NULL;
  const guint gone[] = { 0, 63, 64, 65, 127, 128, 139 };

  for (guint i = 0; i < n_memories; i++)
    {
      g_autofree char *key = g_strdup_printf ("plant %u", i);
      g_autofree char *value = g_strdup_printf ("waters garden plant %u "
                                                "every %u days", i, i % 7 + 1);

      upsert_full (fixture, fixture->tenant, fixture->user,
                   RFL_MEMORY_KIND_FACT, key, value, (i % 10) / 10.0,
                   NULL, NULL);
    }

  ranking = rfl_vector_store_search_hybrid (fixture->vectors, fixture->tenant,
                                            RFL_VECTOR_KIND_MEMORY,
                                            fixture->user, "garden plant",
                                            NULL, 0, limit, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranking->len, ==, limit);

  /* Few and many: one statement, and several. */
  for (guint n = 1; n <= limit; n = n < 9 ? n + 1 : MIN (n * 2 + 1, limit))
    {
      g_autoptr(GArray) expected = NULL;

      expected = rfl_vector_store_search_hybrid (fixture->vectors,
                                                 fixture->tenant,
                                                 RFL_VECTOR_KIND_MEMORY,
                                                 fixture->user, "garden plant",
                                                 NULL, 0, n, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (expected->len, ==, n);
      hits = rfl_memory_store_search (fixture->memories, fixture->tenant,
                                      fixture->user, "garden plant", NULL, 0,
                                      n, &error);
      g_assert_no_error (error);
      assert_hits_match (fixture, hits, expected, NULL);
      g_assert_true (sqlite3_get_autocommit (handle));
      g_clear_pointer (&hits, g_ptr_array_unref);

      if (n == limit)
        break;
    }

  /* Ranked on the worker, then rows go before they are read. */
  rfl_memory_store_search_async (fixture->memories, fixture->tenant,
                                 fixture->user, "garden plant", limit, NULL,
                                 async_done, &result);
  deleted = g_hash_table_new (g_int64_hash, g_int64_equal);
  sql = g_string_new ("DELETE FROM memories WHERE id IN (");
  for (guint i = 0; i < G_N_ELEMENTS (gone); i++)
    {
      RflHybridHit *hit = &g_array_index (ranking, RflHybridHit, gone[i]);

      g_hash_table_add (deleted, &hit->id);
      g_string_append_printf (sql, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "",
                              hit->id);
    }
  g_string_append_c (sql, ')');
  g_assert_true (_rfl_database_exec (fixture->db, sql->str, &error));
  g_assert_no_error (error);

  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  hits = rfl_memory_store_search_finish (fixture->memories, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, limit - G_N_ELEMENTS (gone));
  assert_hits_match (fixture, hits, ranking, deleted);
  g_assert_true (sqlite3_get_autocommit (handle));
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Inside the caller's transaction, which stays open. */
  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  hits = rfl_memory_store_search (fixture->memories, fixture->tenant,
                                  fixture->user, "garden plant", NULL, 0,
                                  limit, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hits->len, ==, limit);
  g_assert_false (sqlite3_get_autocommit (handle));
  g_assert_true (rfl_vector_store_commit (fixture->vectors, &error));
  g_assert_no_error (error);
}

/* The words of memories are searched from memory: every change, also one
 * made by a cascade or rolled back, shows in the next search. */
static void
test_search_after_changes (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;
  gint64 other = add_user (fixture->db, fixture->tenant, "o@example.org");
  gint64 bike, theirs, ghost;

  bike = upsert (fixture, RFL_MEMORY_KIND_FACT, "bike", "rides a red tandem",
                 NULL);
  theirs = upsert_full (fixture, fixture->tenant, other, RFL_MEMORY_KIND_FACT,
                        "boat", "sails a blue catamaran", 0.5, NULL, NULL);
  g_assert_true (search_finds (fixture, fixture->user, "tandem", bike));
  g_assert_false (search_finds (fixture, fixture->user, "catamaran", theirs));
  g_assert_true (search_finds (fixture, other, "catamaran", theirs));

  /* Edited words replace the old ones. */
  memory = get (fixture, bike);
  g_free (memory->value);
  memory->value = g_strdup ("rides a green unicycle");
  g_assert_true (rfl_memory_store_edit (fixture->memories, fixture->tenant,
                                        memory, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_false (search_finds (fixture, fixture->user, "tandem", bike));
  g_assert_true (search_finds (fixture, fixture->user, "unicycle", bike));

  /* Deleted: gone. */
  g_assert_true (rfl_memory_store_delete (fixture->memories, fixture->tenant,
                                          bike, &error));
  g_assert_false (search_finds (fixture, fixture->user, "unicycle", bike));

  /* Deleted by a cascade: gone too. */
  {
    g_autofree char *sql = g_strdup_printf ("DELETE FROM users WHERE id = %"
                                            G_GINT64_FORMAT, other);

    g_assert_true (_rfl_database_exec (fixture->db, sql, &error));
  }
  g_assert_false (search_finds (fixture, other, "catamaran", theirs));

  /* Inside a transaction the search sees its rows; after a rollback they
   * are gone. */
  g_assert_true (rfl_vector_store_begin (fixture->vectors, &error));
  ghost = upsert (fixture, RFL_MEMORY_KIND_FACT, "ghost",
                  "plays the theremin", NULL);
  g_assert_true (search_finds (fixture, fixture->user, "theremin", ghost));
  rfl_vector_store_rollback (fixture->vectors);
  g_assert_false (search_finds (fixture, fixture->user, "theremin", ghost));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/rfl/memory-store/" path, Fixture, NULL, fixture_set_up, \
              func, fixture_tear_down)

  g_test_add_func ("/rfl/memory-store/normalize", test_normalize);
  ADD ("insert-and-key-merge", test_insert_and_key_merge);
  ADD ("similar-merge", test_similar_merge);
  g_test_add ("/rfl/memory-store/similar-threshold", Fixture, NULL,
              fixture_set_up_given, test_similar_threshold,
              fixture_tear_down);
  ADD ("dedup-isolation", test_dedup_isolation);
  ADD ("invalid", test_invalid);
  ADD ("list-edit-delete", test_list_edit_delete);
  ADD ("search", test_search);
  ADD ("search-after-changes", test_search_after_changes);
  ADD ("search-async", test_search_async);
  ADD ("search-rows", test_search_rows);

#undef ADD

  return g_test_run ();
}
