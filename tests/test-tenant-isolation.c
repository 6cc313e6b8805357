/* test-tenant-isolation.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

/* Two tenants hold the same words, users, conversations, messages,
 * memories, vectors, usage and tool choices. Every public function of the
 * chat, memory and vector stores is called as tenant A and must never
 * return, or change, a row of tenant B.
 *
 * The functions are listed explicitly below, each with its check or with
 * the reason it needs none; a test reads the public headers and fails when
 * a function is in neither list, so a new function must be added here. */

#include "config.h"

#include <sqlite3.h>

#include "core/rfl-error.h"
#include "llm/rfl-hash-embedder.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"
#include "store/rfl-memory-store.h"
#include "store/rfl-vector-store.h"

/* Data */

typedef struct
{
  gint64 tenant;
  gint64 user;
  gint64 user2;
  gint64 conversation;
  gint64 deleted;          /* a soft-deleted conversation */
  gint64 streaming_conversation;
  gint64 streaming;        /* a message still streaming */
  gint64 messages[3];      /* user, assistant, tool */
  gint64 memory;
  gint64 memory2;          /* of user2 */
  gint64 api_key;
} Side;

typedef struct
{
  RflDatabase    *db;
  RflVectorStore *vectors;
  RflChatStore   *chat;
  RflMemoryStore *memories;
  Side            a;
  Side            b;
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

/* Runs @sql with ?1 bound to tenant B; returns its statement on the first
 * row. */
static sqlite3_stmt *
query_b (Fixture    *fixture,
         const char *sql)
{
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (fixture->db),
                                       sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, fixture->b.tenant);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return stmt;
}

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

static gint64
add_message (Fixture          *fixture,
             gint64            tenant,
             gint64            conversation,
             RflMessageRole    role,
             RflMessageStatus  status,
             const char       *content)
{
  g_autoptr(RflMessage) message = rfl_message_new (role, content);
  g_autoptr(GError) error = NULL;
  gint64 id;

  message->status = status;
  id = rfl_chat_store_append_message (fixture->chat, tenant, conversation,
                                      message, &error);
  g_assert_no_error (error);
  return id;
}

static gint64
add_memory (Fixture    *fixture,
            gint64      tenant,
            gint64      user,
            const char *key,
            const char *value)
{
  g_autoptr(RflMemory) memory = rfl_memory_new (RFL_MEMORY_KIND_FACT, key,
                                                value);
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = rfl_memory_store_upsert (fixture->memories, tenant, user, memory, NULL,
                                0, NULL, &error);
  g_assert_no_error (error);
  return id;
}

static void
fill_side (Fixture    *fixture,
           Side       *side,
           const char *name,
           const char *model,
           guint       tokens)
{
  g_autofree char *email = g_strdup_printf ("one@%s.example.org", name);
  g_autofree char *email2 = g_strdup_printf ("two@%s.example.org", name);
  RflUsageRecord usage = { 0 };
  g_autoptr(GError) error = NULL;
  RflChatStore *chat = fixture->chat;

  side->tenant = rfl_database_create_tenant (fixture->db, name, "privacy",
                                             &error);
  g_assert_no_error (error);
  side->user = add_user (fixture->db, side->tenant, email);
  side->user2 = add_user (fixture->db, side->tenant, email2);

  side->conversation = rfl_chat_store_create_conversation (chat, side->tenant,
                                                           side->user,
                                                           "Shared tulips",
                                                           &error);
  side->messages[0] = add_message (fixture, side->tenant, side->conversation,
                                   RFL_MESSAGE_ROLE_USER,
                                   RFL_MESSAGE_STATUS_COMPLETE,
                                   "shared question about tulips");
  side->messages[1] = add_message (fixture, side->tenant, side->conversation,
                                   RFL_MESSAGE_ROLE_ASSISTANT,
                                   RFL_MESSAGE_STATUS_COMPLETE,
                                   "shared answer about tulips");
  side->messages[2] = add_message (fixture, side->tenant, side->conversation,
                                   RFL_MESSAGE_ROLE_TOOL,
                                   RFL_MESSAGE_STATUS_COMPLETE,
                                   "shared tool result tulips");

  side->deleted = rfl_chat_store_create_conversation (chat, side->tenant,
                                                      side->user,
                                                      "Shared deleted tulips",
                                                      &error);
  add_message (fixture, side->tenant, side->deleted, RFL_MESSAGE_ROLE_USER,
               RFL_MESSAGE_STATUS_COMPLETE, "shared deleted tulips");
  g_assert_true (rfl_chat_store_delete_conversation (chat, side->tenant,
                                                     side->deleted, &error));

  side->streaming_conversation =
    rfl_chat_store_create_conversation (chat, side->tenant, side->user,
                                        "Shared streaming", &error);
  side->streaming = add_message (fixture, side->tenant,
                                 side->streaming_conversation,
                                 RFL_MESSAGE_ROLE_ASSISTANT,
                                 RFL_MESSAGE_STATUS_STREAMING, "");
  g_assert_true (rfl_chat_store_append_delta (chat, side->tenant,
                                              side->streaming,
                                              "shared partial tulips",
                                              &error));

  side->memory = add_memory (fixture, side->tenant, side->user, "flower",
                             "loves shared tulips");
  side->memory2 = add_memory (fixture, side->tenant, side->user2, "flower",
                              "loves shared tulips too");

  {
    g_autofree char *sql = NULL;

    sql = g_strdup_printf ("INSERT INTO api_keys (tenant_id, name, prefix,"
                           " key_hash, scopes, created_at)"
                           " VALUES (%" G_GINT64_FORMAT ", 'key of %s',"
                           " 'rfl_%s000', '%064" G_GINT64_MODIFIER "d', 1, 1)",
                           side->tenant, model, model + 6, side->tenant);
    g_assert_true (_rfl_database_exec (fixture->db, sql, &error));
    side->api_key = sqlite3_last_insert_rowid (_rfl_database_get_handle (fixture->db));
  }

  usage.user_id = side->user;
  usage.api_key_id = side->api_key;
  usage.priced = TRUE;
  usage.cost_micro_usd = tokens;
  usage.conversation_id = side->conversation;
  usage.model = model;
  usage.provider = "ollama";
  usage.tokens_in = tokens;
  usage.tokens_out = tokens;
  usage.latency_ms = tokens;
  g_assert_true (rfl_chat_store_record_usage (chat, side->tenant, &usage,
                                              &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  path = g_build_filename (g_get_user_data_dir (), "reflection",
                           "reflection.db", NULL);
  fixture->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->vectors = rfl_vector_store_new (fixture->db, hash, &error);
  fixture->chat = rfl_chat_store_new (fixture->db, fixture->vectors);
  fixture->memories = rfl_memory_store_new (fixture->db, fixture->vectors);

  fill_side (fixture, &fixture->a, "Alpha", "model-a", 1);
  fill_side (fixture, &fixture->b, "Beta", "model-b", 1000);

  /* Tenant B's own choices and one message of B waiting for a vector. */
  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  fixture->b.tenant,
                                                  "only_in_b", TRUE, &error));
  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  fixture->b.tenant,
                                                  "calculator", FALSE,
                                                  &error));
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->b.tenant,
                                          RFL_VECTOR_KIND_MESSAGE,
                                          fixture->b.messages[0], &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->memories);
  g_clear_object (&fixture->chat);
  g_clear_object (&fixture->vectors);
  g_clear_object (&fixture->db);
}

/* Whether @id is a row of tenant A (in @table). */
static gboolean
is_of_a (Fixture    *fixture,
         const char *table,
         gint64      id)
{
  g_autofree char *sql = NULL;

  sql = g_strdup_printf ("SELECT count(*) FROM %s WHERE id = %"
                         G_GINT64_FORMAT " AND tenant_id = %" G_GINT64_FORMAT,
                         table, id, fixture->a.tenant);
  return query_int (fixture->db, sql) == 1;
}

static void
assert_not_found (GError **error)
{
  g_assert_error (*error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (error);
}

/* Reads ----------------------------------------------------------------- */

static void
read_get_conversation (Fixture *fixture)
{
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;

  conversation = rfl_chat_store_get_conversation (fixture->chat,
                                                  fixture->a.tenant,
                                                  fixture->a.conversation,
                                                  &error);
  g_assert_cmpint (conversation->tenant_id, ==, fixture->a.tenant);

  for (guint i = 0; i < 3; i++)
    {
      gint64 id = (gint64[]) { fixture->b.conversation, fixture->b.deleted,
                               fixture->b.streaming_conversation }[i];

      g_assert_null (rfl_chat_store_get_conversation (fixture->chat,
                                                      fixture->a.tenant, id,
                                                      &error));
      assert_not_found (&error);
    }
}

static void
read_list_conversations (Fixture *fixture)
{
  const char *searches[] = { NULL, "shared tulips", "tul" };

  for (guint s = 0; s < G_N_ELEMENTS (searches); s++)
    {
      for (guint which = 0; which < 2; which++)
        {
          g_autoptr(GPtrArray) mine = NULL;
          g_autoptr(GPtrArray) theirs = NULL;
          g_autoptr(GError) error = NULL;

          mine = rfl_chat_store_list_conversations (fixture->chat,
                                                    fixture->a.tenant,
                                                    fixture->a.user,
                                                    searches[s], which, 0,
                                                    100, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (mine->len, >=, 1);
          for (guint i = 0; i < mine->len; i++)
            {
              RflConversation *conversation = mine->pdata[i];

              g_assert_cmpint (conversation->tenant_id, ==, fixture->a.tenant);
              g_assert_true (is_of_a (fixture, "conversations",
                                      conversation->id));
            }

          /* B's user, asked as tenant A: nothing. */
          theirs = rfl_chat_store_list_conversations (fixture->chat,
                                                      fixture->a.tenant,
                                                      fixture->b.user,
                                                      searches[s], which, 0,
                                                      100, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (theirs->len, ==, 0);
        }
    }
}

static void
read_get_message (Fixture *fixture)
{
  g_autoptr(RflMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  message = rfl_chat_store_get_message (fixture->chat, fixture->a.tenant,
                                        fixture->a.messages[1], &error);
  g_assert_cmpint (message->tenant_id, ==, fixture->a.tenant);

  for (guint i = 0; i < G_N_ELEMENTS (fixture->b.messages); i++)
    {
      g_assert_null (rfl_chat_store_get_message (fixture->chat,
                                                 fixture->a.tenant,
                                                 fixture->b.messages[i],
                                                 &error));
      assert_not_found (&error);
    }
  g_assert_null (rfl_chat_store_get_message (fixture->chat, fixture->a.tenant,
                                             fixture->b.streaming, &error));
  assert_not_found (&error);
}

static void
read_list_messages (Fixture *fixture)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  /* Paging from an id of B's does not reach B's rows either. */
  messages = rfl_chat_store_list_messages (fixture->chat, fixture->a.tenant,
                                           fixture->a.conversation,
                                           fixture->b.messages[2] + 1000,
                                           100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);
  for (guint i = 0; i < messages->len; i++)
    g_assert_true (is_of_a (fixture, "messages",
                            ((RflMessage *) messages->pdata[i])->id));

  g_assert_null (rfl_chat_store_list_messages (fixture->chat,
                                               fixture->a.tenant,
                                               fixture->b.conversation, 0,
                                               100, &error));
  assert_not_found (&error);
}

static void
read_sum_usage (Fixture *fixture)
{
  g_autoptr(GPtrArray) sums = NULL;
  g_autoptr(GError) error = NULL;
  RflUsageSum *sum;

  sums = rfl_chat_store_sum_usage (fixture->chat, fixture->a.tenant, 0, 0,
                                   G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sums->len, ==, 1);
  sum = sums->pdata[0];
  g_assert_cmpstr (sum->model, ==, "model-a");
  g_assert_cmpuint (sum->tokens_in, ==, 1);
  g_clear_pointer (&sums, g_ptr_array_unref);

  sums = rfl_chat_store_sum_usage (fixture->chat, fixture->a.tenant,
                                   fixture->b.user, 0, G_MAXINT64, &error);
  g_assert_cmpuint (sums->len, ==, 0);
}

static void
read_usage_breakdown (Fixture *fixture)
{
  for (RflUsageGroup group = RFL_USAGE_BY_DAY; group <= RFL_USAGE_BY_KEY; group++)
    {
      g_autoptr(GPtrArray) rows = NULL;
      g_autoptr(GError) error = NULL;
      RflUsageBreakdown *row;

      rows = rfl_chat_store_usage_breakdown (fixture->chat, fixture->a.tenant,
                                             group, 0, G_MAXINT64, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (rows->len, ==, 1);
      row = rows->pdata[0];
      g_assert_cmpuint (row->n_calls, ==, 1);
      g_assert_cmpuint (row->tokens_in, ==, 1);
      g_assert_cmpuint (row->cost_micro_usd, ==, 1);
      if (group == RFL_USAGE_BY_USER)
        g_assert_cmpint (row->id, ==, fixture->a.user);
      if (group == RFL_USAGE_BY_KEY)
        g_assert_cmpint (row->id, ==, fixture->a.api_key);
      if (group == RFL_USAGE_BY_MODEL)
        g_assert_cmpstr (row->label, ==, "model-a");
    }
}

static void
read_get_tool_enabled (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  gboolean enabled;

  g_assert_true (rfl_chat_store_get_tool_enabled (fixture->chat,
                                                  fixture->a.tenant,
                                                  "only_in_b", &enabled,
                                                  &error));
  g_assert_false (enabled);
  g_assert_true (rfl_chat_store_get_tool_enabled (fixture->chat,
                                                  fixture->a.tenant,
                                                  "calculator", &enabled,
                                                  &error));
  g_assert_true (enabled);
}

static void
read_list_tool_permissions (Fixture *fixture)
{
  g_autoptr(GPtrArray) permissions = NULL;
  g_autoptr(GError) error = NULL;

  permissions = rfl_chat_store_list_tool_permissions (fixture->chat,
                                                      fixture->a.tenant,
                                                      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (permissions->len, >, 0);
  for (guint i = 0; i < permissions->len; i++)
    {
      RflToolPermission *permission = permissions->pdata[i];

      g_assert_cmpstr (permission->tool, !=, "only_in_b");
      g_assert_true (permission->is_default);
    }
}

static void
read_memory_get (Fixture *fixture)
{
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;

  memory = rfl_memory_store_get (fixture->memories, fixture->a.tenant,
                                 fixture->a.memory, &error);
  g_assert_cmpint (memory->tenant_id, ==, fixture->a.tenant);

  g_assert_null (rfl_memory_store_get (fixture->memories, fixture->a.tenant,
                                       fixture->b.memory, &error));
  assert_not_found (&error);
  g_assert_null (rfl_memory_store_get (fixture->memories, fixture->a.tenant,
                                       fixture->b.memory2, &error));
  assert_not_found (&error);
}

static void
read_memory_list (Fixture *fixture)
{
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(GPtrArray) theirs = NULL;
  g_autoptr(GError) error = NULL;

  mine = rfl_memory_store_list (fixture->memories, fixture->a.tenant,
                                fixture->a.user, TRUE, 0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mine->len, ==, 1);
  g_assert_cmpint (((RflMemory *) mine->pdata[0])->id, ==, fixture->a.memory);

  theirs = rfl_memory_store_list (fixture->memories, fixture->a.tenant,
                                  fixture->b.user, TRUE, 0, 0, 100, &error);
  g_assert_cmpuint (theirs->len, ==, 0);
}

static void
read_memory_search (Fixture *fixture)
{
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(GPtrArray) theirs = NULL;
  g_autoptr(GError) error = NULL;

  mine = rfl_memory_store_search (fixture->memories, fixture->a.tenant,
                                  fixture->a.user, "shared tulips", NULL, 0,
                                  10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mine->len, ==, 1);
  g_assert_cmpint (((RflMemoryHit *) mine->pdata[0])->memory->id, ==,
                   fixture->a.memory);

  theirs = rfl_memory_store_search (fixture->memories, fixture->a.tenant,
                                    fixture->b.user, "shared tulips", NULL, 0,
                                    10, &error);
  g_assert_cmpuint (theirs->len, ==, 0);
}

static void
read_vector_get (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *vector = NULL;

  g_assert_true (rfl_vector_store_get (fixture->vectors, fixture->a.tenant,
                                       RFL_VECTOR_KIND_MESSAGE,
                                       fixture->a.messages[0], &vector, NULL,
                                       NULL, &error));
  g_assert_false (rfl_vector_store_get (fixture->vectors, fixture->a.tenant,
                                        RFL_VECTOR_KIND_MESSAGE,
                                        fixture->b.messages[1], NULL, NULL,
                                        NULL, &error));
  assert_not_found (&error);
  g_assert_false (rfl_vector_store_get (fixture->vectors, fixture->a.tenant,
                                        RFL_VECTOR_KIND_MEMORY,
                                        fixture->b.memory, NULL, NULL, NULL,
                                        &error));
  assert_not_found (&error);
}

static void
read_vector_count (Fixture *fixture)
{
  /* A: user + assistant + deleted conversation's message; B lost one. */
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors,
                                            fixture->a.tenant,
                                            RFL_VECTOR_KIND_MESSAGE, NULL),
                    ==, 3);
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors,
                                            fixture->b.tenant,
                                            RFL_VECTOR_KIND_MESSAGE, NULL),
                    ==, 2);
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors,
                                            fixture->a.tenant,
                                            RFL_VECTOR_KIND_MEMORY, NULL),
                    ==, 2);
}

static void
read_vector_count_pending (Fixture *fixture)
{
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->a.tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL), ==, 0);
  g_assert_cmpuint (rfl_vector_store_count_pending (fixture->vectors,
                                                    fixture->b.tenant,
                                                    RFL_VECTOR_KIND_MESSAGE,
                                                    NULL), ==, 1);
}

static void
read_vector_search (Fixture *fixture)
{
  float query[RFL_HASH_EMBEDDER_DIMS];

  rfl_hash_embedder_embed ("shared tulips", -1, query);

  for (guint kind = 0; kind < RFL_VECTOR_N_KINDS; kind++)
    {
      g_autoptr(GArray) hits = NULL;
      g_autoptr(GError) error = NULL;

      hits = rfl_vector_store_search (fixture->vectors, fixture->a.tenant,
                                      kind, 0, query, RFL_HASH_EMBEDDER_DIMS,
                                      50, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (hits->len, ==, 2);
      for (guint i = 0; i < hits->len; i++)
        g_assert_true (is_of_a (fixture,
                                kind == RFL_VECTOR_KIND_MESSAGE ? "messages"
                                                                : "memories",
                                g_array_index (hits, RflVectorHit, i).id));
      g_clear_pointer (&hits, g_array_unref);

      hits = rfl_vector_store_search (fixture->vectors, fixture->a.tenant,
                                      kind, fixture->b.user, query,
                                      RFL_HASH_EMBEDDER_DIMS, 50, &error);
      g_assert_cmpuint (hits->len, ==, 0);
    }
}

static void
read_vector_search_hybrid (Fixture *fixture)
{
  for (guint kind = 0; kind < RFL_VECTOR_N_KINDS; kind++)
    {
      g_autoptr(GArray) hits = NULL;
      g_autoptr(GError) error = NULL;

      hits = rfl_vector_store_search_hybrid (fixture->vectors,
                                             fixture->a.tenant, kind, 0,
                                             "shared tulips", NULL, 0, 50,
                                             &error);
      g_assert_no_error (error);
      g_assert_cmpuint (hits->len, >=, 2);
      for (guint i = 0; i < hits->len; i++)
        g_assert_true (is_of_a (fixture,
                                kind == RFL_VECTOR_KIND_MESSAGE ? "messages"
                                                                : "memories",
                                g_array_index (hits, RflHybridHit, i).id));
      g_clear_pointer (&hits, g_array_unref);

      hits = rfl_vector_store_search_hybrid (fixture->vectors,
                                             fixture->a.tenant, kind,
                                             fixture->b.user, "shared tulips",
                                             NULL, 0, 50, &error);
      g_assert_cmpuint (hits->len, ==, 0);
    }
}

static void
search_async_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* The ids of the hits, as the answer of a search written on its worker. */
static gpointer
collect_hit_ids (GPtrArray *hits,
                 gpointer   user_data)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < hits->len; i++)
    g_array_append_val (ids, ((RflMemoryHit *) hits->pdata[i])->memory->id);

  return ids;
}

/* The ids a search through a worker found: from the rows it returned, or
 * the answer written from them on the worker when @formatted. */
static GArray *
search_ids_async (Fixture  *fixture,
                  gint64    user,
                  gboolean  formatted)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  GArray *ids;

  if (formatted)
    rfl_memory_store_search_format_async (fixture->memories, fixture->a.tenant,
                                          user, "shared tulips", 50,
                                          collect_hit_ids, NULL,
                                          (GDestroyNotify) g_array_unref,
                                          NULL, search_async_done, &result);
  else
    rfl_memory_store_search_async (fixture->memories, fixture->a.tenant,
                                   user, "shared tulips", 50, NULL,
                                   search_async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  if (formatted)
    {
      ids = rfl_memory_store_search_format_finish (fixture->memories, result,
                                                   &error);
    }
  else
    {
      hits = rfl_memory_store_search_finish (fixture->memories, result, &error);
      ids = hits != NULL ? collect_hit_ids (hits, NULL) : NULL;
    }
  g_assert_no_error (error);

  return ids;
}

/* The search through a worker, with its answer written there or not:
 * tenant A's rows only, none for B's user. */
static void
read_memory_search_async (Fixture *fixture)
{
  for (guint formatted = 0; formatted < 2; formatted++)
    for (guint round = 0; round < 2; round++)
      {
        gint64 user = round == 0 ? 0 : fixture->b.user;
        g_autoptr(GArray) ids = search_ids_async (fixture, user, formatted);

        if (round == 1)
          {
            g_assert_cmpuint (ids->len, ==, 0);
            continue;
          }
        g_assert_cmpuint (ids->len, >=, 2);
        for (guint i = 0; i < ids->len; i++)
          g_assert_true (is_of_a (fixture, "memories",
                                  g_array_index (ids, gint64, i)));
      }
}

/* A prepared memory search, run on another thread, sees tenant A's
 * memories only. */
static gpointer
run_memory_search (gpointer data)
{
  RflMemorySearch *search = data;
  g_autoptr(GError) error = NULL;
  GArray *hits = rfl_memory_search_run (search, 0, "shared tulips", 50, &error);

  g_assert_no_error (error);
  return hits;
}

static void
read_prepared_memory_search (Fixture *fixture)
{
  g_autoptr(RflMemorySearch) search = NULL;
  g_autoptr(GArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;

  search = rfl_vector_store_prepare_memory_search (fixture->vectors,
                                                   fixture->a.tenant, &error);
  g_assert_no_error (error);
  g_assert_nonnull (search);

  thread = g_thread_new ("memory-search", run_memory_search, search);
  hits = g_thread_join (thread);
  g_assert_cmpuint (hits->len, >=, 2);
  for (guint i = 0; i < hits->len; i++)
    g_assert_true (is_of_a (fixture, "memories",
                            g_array_index (hits, RflHybridHit, i).id));
  g_clear_pointer (&hits, g_array_unref);

  hits = rfl_memory_search_run (search, fixture->b.user, "shared tulips", 50,
                                &error);
  g_assert_cmpuint (hits->len, ==, 0);
}

/* Writes ---------------------------------------------------------------- */

/* Tenant B's rows, all of them, as one text to compare before and after. */
static char *
dump_b (Fixture *fixture)
{
  const char *queries[] = {
    "SELECT group_concat (id || title || coalesce (deleted_at, '-')"
    " || updated_at) FROM conversations WHERE tenant_id = ?1",
    "SELECT group_concat (id || content || status || updated_at)"
    " FROM messages WHERE tenant_id = ?1",
    "SELECT group_concat (id || key || value || mentions"
    " || coalesce (last_used_at, '-')) FROM memories WHERE tenant_id = ?1",
    "SELECT group_concat (owner_id || hex (vector)) FROM embeddings"
    " WHERE tenant_id = ?1",
    "SELECT group_concat (id || tokens_in) FROM usage WHERE tenant_id = ?1",
    "SELECT group_concat (tool || enabled) FROM tool_permissions"
    " WHERE tenant_id = ?1",
  };
  g_autoptr(GString) dump = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(sqlite3_stmt) stmt = query_b (fixture, queries[i]);

      g_string_append_printf (dump, "%s\n",
                              (const char *) sqlite3_column_text (stmt, 0));
    }

  return g_string_free (g_steal_pointer (&dump), FALSE);
}

static void
write_conversations (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  guint n_purged;

  g_assert_cmpint (rfl_chat_store_create_conversation (fixture->chat,
                                                       fixture->a.tenant,
                                                       fixture->b.user, "x",
                                                       &error), ==, 0);
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_rename_conversation (fixture->chat,
                                                      fixture->a.tenant,
                                                      fixture->b.conversation,
                                                      "hijacked", &error));
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_delete_conversation (fixture->chat,
                                                      fixture->a.tenant,
                                                      fixture->b.conversation,
                                                      &error));
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_restore_conversation (fixture->chat,
                                                       fixture->a.tenant,
                                                       fixture->b.deleted,
                                                       &error));
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_purge_conversation (fixture->chat,
                                                     fixture->a.tenant,
                                                     fixture->b.conversation,
                                                     &error));
  assert_not_found (&error);
  g_assert_true (rfl_chat_store_purge_expired (fixture->chat,
                                               fixture->a.tenant, G_MAXINT64,
                                               &n_purged, &error));
  g_assert_cmpuint (n_purged, ==, 1);
}

static void
write_messages (Fixture *fixture)
{
  g_autoptr(RflMessage) message = rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                                   "hijack");
  RflMessage *batch[] = { message };
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->a.tenant,
                                                  fixture->b.conversation,
                                                  message, &error), ==, 0);
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_append_messages (fixture->chat,
                                                  fixture->a.tenant,
                                                  fixture->b.conversation,
                                                  batch, 1, NULL, &error));
  assert_not_found (&error);
  g_assert_null (rfl_chat_store_begin_stream (fixture->chat,
                                              fixture->a.tenant,
                                              fixture->b.conversation, NULL,
                                              &error));
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_append_delta (fixture->chat,
                                               fixture->a.tenant,
                                               fixture->b.streaming, "hijack",
                                               &error));
  assert_not_found (&error);
  g_assert_false (rfl_chat_store_finish_message (fixture->chat,
                                                 fixture->a.tenant,
                                                 fixture->b.streaming,
                                                 RFL_MESSAGE_STATUS_COMPLETE,
                                                 0, 0, NULL, &error));
  assert_not_found (&error);
}

static void
write_usage_and_tools (Fixture *fixture)
{
  RflUsageRecord usage = { .model = "m", .provider = "p" };
  g_autoptr(GError) error = NULL;

  usage.user_id = fixture->b.user;
  g_assert_false (rfl_chat_store_record_usage (fixture->chat,
                                               fixture->a.tenant, &usage,
                                               &error));
  assert_not_found (&error);
  usage.user_id = 0;
  usage.conversation_id = fixture->b.conversation;
  g_assert_false (rfl_chat_store_record_usage (fixture->chat,
                                               fixture->a.tenant, &usage,
                                               &error));
  assert_not_found (&error);
  usage.conversation_id = 0;
  usage.api_key_id = fixture->b.api_key;
  g_assert_false (rfl_chat_store_record_usage (fixture->chat,
                                               fixture->a.tenant, &usage,
                                               &error));
  assert_not_found (&error);

  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  fixture->a.tenant,
                                                  "only_in_b", FALSE, &error));
  g_assert_true (rfl_chat_store_reset_tool (fixture->chat, fixture->a.tenant,
                                            "calculator", &error));
  g_assert_no_error (error);
}

static void
write_memories (Fixture *fixture)
{
  g_autoptr(RflMemory) memory = rfl_memory_new (RFL_MEMORY_KIND_FACT,
                                                "flower", "hijack");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (rfl_memory_store_upsert (fixture->memories,
                                            fixture->a.tenant,
                                            fixture->b.user, memory, NULL, 0,
                                            NULL, &error), ==, 0);
  assert_not_found (&error);

  memory->id = fixture->b.memory;
  g_assert_false (rfl_memory_store_edit (fixture->memories, fixture->a.tenant,
                                         memory, NULL, 0, &error));
  assert_not_found (&error);
  g_assert_false (rfl_memory_store_delete (fixture->memories,
                                           fixture->a.tenant,
                                           fixture->b.memory, &error));
  assert_not_found (&error);
  g_assert_true (rfl_memory_store_mark_used (fixture->memories,
                                             fixture->a.tenant,
                                             &fixture->b.memory, 1, &error));
  g_assert_no_error (error);
}

static void
write_vectors (Fixture *fixture)
{
  float vector[RFL_HASH_EMBEDDER_DIMS];
  g_autoptr(GError) error = NULL;

  rfl_hash_embedder_embed ("hijack", -1, vector);
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->a.tenant,
                                        RFL_VECTOR_KIND_MESSAGE,
                                        fixture->b.messages[1], vector,
                                        RFL_HASH_EMBEDDER_DIMS, &error));
  assert_not_found (&error);
  g_assert_false (rfl_vector_store_put (fixture->vectors, fixture->a.tenant,
                                        RFL_VECTOR_KIND_MEMORY,
                                        fixture->b.memory, vector,
                                        RFL_HASH_EMBEDDER_DIMS, &error));
  assert_not_found (&error);
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->a.tenant,
                                          RFL_VECTOR_KIND_MESSAGE,
                                          fixture->b.messages[1], &error));
  g_assert_true (rfl_vector_store_delete (fixture->vectors, fixture->a.tenant,
                                          RFL_VECTOR_KIND_MEMORY,
                                          fixture->b.memory, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rfl_vector_store_count (fixture->vectors,
                                            fixture->b.tenant,
                                            RFL_VECTOR_KIND_MESSAGE, NULL),
                    ==, 2);
}

/* The lists ------------------------------------------------------------- */

typedef void (*Check) (Fixture *fixture);

typedef struct
{
  const char *function;
  Check       check;
} Entry;

/* Functions that read rows: each is called as tenant A on data of both. */
static const Entry reads[] = {
  { "rfl_chat_store_get_conversation", read_get_conversation },
  { "rfl_chat_store_list_conversations", read_list_conversations },
  { "rfl_chat_store_get_message", read_get_message },
  { "rfl_chat_store_list_messages", read_list_messages },
  { "rfl_chat_store_sum_usage", read_sum_usage },
  { "rfl_chat_store_usage_breakdown", read_usage_breakdown },
  { "rfl_chat_store_get_tool_enabled", read_get_tool_enabled },
  { "rfl_chat_store_list_tool_permissions", read_list_tool_permissions },
  { "rfl_memory_store_get", read_memory_get },
  { "rfl_memory_store_list", read_memory_list },
  { "rfl_memory_store_search", read_memory_search },
  { "rfl_memory_store_search_async", read_memory_search_async },
  { "rfl_memory_store_search_finish", read_memory_search_async },
  { "rfl_memory_store_search_format_async", read_memory_search_async },
  { "rfl_memory_store_search_format_finish", read_memory_search_async },
  { "rfl_vector_store_get", read_vector_get },
  { "rfl_vector_store_count", read_vector_count },
  { "rfl_vector_store_count_pending", read_vector_count_pending },
  { "rfl_vector_store_search", read_vector_search },
  { "rfl_vector_store_search_hybrid", read_vector_search_hybrid },
  { "rfl_vector_store_prepare_memory_search", read_prepared_memory_search },
  { "rfl_memory_search_run", read_prepared_memory_search },
};

/* Functions that write rows by tenant and id: called as tenant A on B's
 * ids, they must fail or do nothing to B. */
static const Entry writes[] = {
  { "rfl_chat_store_create_conversation", write_conversations },
  { "rfl_chat_store_rename_conversation", write_conversations },
  { "rfl_chat_store_delete_conversation", write_conversations },
  { "rfl_chat_store_restore_conversation", write_conversations },
  { "rfl_chat_store_purge_conversation", write_conversations },
  { "rfl_chat_store_purge_expired", write_conversations },
  { "rfl_chat_store_append_message", write_messages },
  { "rfl_chat_store_append_messages", write_messages },
  { "rfl_chat_store_begin_stream", write_messages },
  { "rfl_chat_store_append_delta", write_messages },
  { "rfl_chat_store_finish_message", write_messages },
  { "rfl_chat_store_record_usage", write_usage_and_tools },
  { "rfl_chat_store_set_tool_enabled", write_usage_and_tools },
  { "rfl_chat_store_reset_tool", write_usage_and_tools },
  { "rfl_memory_store_upsert", write_memories },
  { "rfl_memory_store_edit", write_memories },
  { "rfl_memory_store_delete", write_memories },
  { "rfl_memory_store_mark_used", write_memories },
  { "rfl_vector_store_put", write_vectors },
  { "rfl_vector_store_delete", write_vectors },
};

/* Functions that read or write no tenant's rows. */
static const char * const no_rows[] = {
  /* Types, records and enumerations. */
  "rfl_chat_store_get_type", "rfl_memory_store_get_type",
  "rfl_vector_store_get_type", "rfl_vector_embedder_get_type",
  "rfl_conversation_get_type", "rfl_conversation_copy",
  "rfl_conversation_free", "rfl_message_get_type", "rfl_message_new",
  "rfl_message_copy", "rfl_message_free", "rfl_usage_sum_get_type",
  "rfl_usage_sum_copy", "rfl_usage_sum_free", "rfl_usage_breakdown_free",
  "rfl_usage_group_from_string", "rfl_usage_group_to_string",
  "rfl_memory_search_free",
  "rfl_tool_permission_get_type",
  "rfl_tool_permission_copy", "rfl_tool_permission_free",
  "rfl_memory_get_type", "rfl_memory_new", "rfl_memory_copy",
  "rfl_memory_free", "rfl_memory_hit_get_type", "rfl_memory_hit_copy",
  "rfl_memory_hit_free", "rfl_message_role_to_string",
  "rfl_message_role_from_string", "rfl_message_status_to_string",
  "rfl_message_status_from_string", "rfl_memory_kind_to_string",
  "rfl_memory_kind_from_string", "rfl_vector_kind_to_string",
  "rfl_vector_kind_from_string", "rfl_memory_normalize_key",
  "rfl_memory_dup_embedding_text",
  /* Constants of the code. */
  "rfl_chat_store_get_known_tools", "rfl_chat_store_get_tool_default",
  /* Embedders. */
  "rfl_vector_embedder_new", "rfl_vector_embedder_new_hash",
  "rfl_vector_embedder_ref", "rfl_vector_embedder_unref",
  "rfl_vector_embedder_get_id", "rfl_vector_embedder_get_dims",
  "rfl_vector_embedder_is_local", "rfl_vector_embedder_embed",
  /* The stores themselves and their connection. */
  "rfl_chat_store_new", "rfl_chat_store_get_database",
  "rfl_memory_store_new", "rfl_vector_store_new",
  "rfl_vector_store_get_database", "rfl_vector_store_get_embedder",
  "rfl_vector_store_set_embedder", "rfl_vector_store_begin",
  "rfl_vector_store_commit", "rfl_vector_store_rollback",
  /* Installation-wide maintenance at start: returns counts, no rows. */
  "rfl_chat_store_recover_interrupted", "rfl_vector_store_load_all",
  "rfl_vector_store_sync", "rfl_vector_store_reembed_async",
  "rfl_vector_store_reembed_finish", "rfl_vector_store_is_reembedding",
  "rfl_vector_store_get_reembed_progress",
  /* A stream belongs to the message it was begun for (checked by
   * rfl_chat_store_begin_stream) and holds its tenant. */
  "rfl_chat_stream_get_message_id", "rfl_chat_stream_get_content",
  "rfl_chat_stream_set_flush_policy", "rfl_chat_stream_append",
  "rfl_chat_stream_flush", "rfl_chat_stream_finish",
  "rfl_chat_stream_interrupt", "rfl_chat_stream_fail",
  "rfl_chat_stream_free",
};

static gboolean
entries_contain (const Entry *entries,
                 gsize        n,
                 const char  *function)
{
  for (gsize i = 0; i < n; i++)
    {
      if (g_str_equal (entries[i].function, function))
        return TRUE;
    }

  return FALSE;
}

/* The functions the public headers declare. */
static GHashTable *
read_declared (void)
{
  const char *headers[] = {
    "rfl-chat-store.h", "rfl-memory-store.h", "rfl-vector-store.h",
  };
  g_autoptr(GRegex) comments = NULL;
  g_autoptr(GRegex) calls = NULL;
  GHashTable *declared = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                g_free, NULL);

  comments = g_regex_new ("/\\*.*?\\*/", G_REGEX_DOTALL, 0, NULL);
  calls = g_regex_new ("\\b(rfl_[a-z0-9_]+)\\s*\\(", 0, 0, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;
      g_autofree char *code = NULL;
      g_autoptr(GMatchInfo) match = NULL;
      g_autoptr(GError) error = NULL;

      path = g_test_build_filename (G_TEST_DIST, "..", "src", "store",
                                    headers[i], NULL);
      g_assert_true (g_file_get_contents (path, &text, NULL, &error));
      g_assert_no_error (error);
      code = g_regex_replace_literal (comments, text, -1, 0, "", 0, NULL);

      g_regex_match (calls, code, 0, &match);
      while (g_match_info_matches (match))
        {
          g_hash_table_add (declared, g_match_info_fetch (match, 1));
          g_match_info_next (match, NULL);
        }
    }

  return declared;
}

static void
test_complete (void)
{
  g_autoptr(GHashTable) declared = read_declared ();
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  const char *function;

  g_assert_cmpuint (g_hash_table_size (declared), >, 50);

  for (guint i = 0; i < G_N_ELEMENTS (reads); i++)
    g_hash_table_add (listed, (gpointer) reads[i].function);
  for (guint i = 0; i < G_N_ELEMENTS (writes); i++)
    g_hash_table_add (listed, (gpointer) writes[i].function);
  for (guint i = 0; i < G_N_ELEMENTS (no_rows); i++)
    {
      g_assert_false (entries_contain (reads, G_N_ELEMENTS (reads),
                                       no_rows[i]));
      g_assert_false (entries_contain (writes, G_N_ELEMENTS (writes),
                                       no_rows[i]));
      g_hash_table_add (listed, (gpointer) no_rows[i]);
    }

  /* Every declared function is listed… */
  g_hash_table_iter_init (&iter, declared);
  while (g_hash_table_iter_next (&iter, (gpointer *) &function, NULL))
    {
      if (!g_hash_table_contains (listed, function))
        g_error ("%s is not in the lists of test-tenant-isolation.c: add "
                 "a check that it never returns or changes another "
                 "tenant's rows, or say why it needs none", function);
    }

  /* …and every listed function exists. */
  g_hash_table_iter_init (&iter, listed);
  while (g_hash_table_iter_next (&iter, (gpointer *) &function, NULL))
    {
      if (!g_hash_table_contains (declared, function))
        g_error ("%s is listed but not declared", function);
    }
}

static void
test_reads (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *before = dump_b (fixture);
  g_autofree char *after = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (reads); i++)
    {
      g_test_message ("%s", reads[i].function);
      reads[i].check (fixture);
    }

  after = dump_b (fixture);
  g_assert_cmpstr (after, ==, before);
}

static void
test_writes (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *before = dump_b (fixture);
  g_autofree char *after = NULL;
  Check done[G_N_ELEMENTS (writes)] = { NULL };
  guint n_done = 0;

  for (guint i = 0; i < G_N_ELEMENTS (writes); i++)
    {
      gboolean seen = FALSE;

      for (guint j = 0; j < n_done; j++)
        seen |= done[j] == writes[i].check;
      if (seen)
        continue;

      g_test_message ("%s", writes[i].function);
      writes[i].check (fixture);
      done[n_done++] = writes[i].check;
    }

  after = dump_b (fixture);
  g_assert_cmpstr (after, ==, before);
  {
    g_autoptr(sqlite3_stmt) stmt = NULL;

    stmt = query_b (fixture, "SELECT count(*) FROM conversations"
                             " WHERE tenant_id = ?1 AND deleted_at IS NOT NULL");
    g_assert_cmpint (sqlite3_column_int64 (stmt, 0), ==, 1);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/tenant-isolation/complete", test_complete);
  g_test_add ("/rfl/tenant-isolation/reads", Fixture, NULL, fixture_set_up,
              test_reads, fixture_tear_down);
  g_test_add ("/rfl/tenant-isolation/writes", Fixture, NULL, fixture_set_up,
              test_writes, fixture_tear_down);

  return g_test_run ();
}
