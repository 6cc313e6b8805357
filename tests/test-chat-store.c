/* test-chat-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "core/rfl-error.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"
#include "store/rfl-vector-store.h"

#define DAY_MS G_GINT64_CONSTANT (86400000)

/* Helpers */

typedef struct
{
  RflDatabase    *db;
  RflVectorStore *vectors;
  RflChatStore   *chat;
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

static char *
query_text (RflDatabase *db,
            const char  *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (db), sql, -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
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
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = NULL;
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(GError) error = NULL;

  path = g_build_filename (g_get_user_data_dir (), "reflection",
                           "reflection.db", NULL);
  fixture->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->vectors = rfl_vector_store_new (fixture->db, hash, &error);
  g_assert_no_error (error);
  fixture->chat = rfl_chat_store_new (fixture->db, fixture->vectors);
  fixture->tenant = add_tenant (fixture->db, "Alpha");
  fixture->user = add_user (fixture->db, fixture->tenant, "a@example.org");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->chat);
  g_clear_object (&fixture->vectors);
  g_clear_object (&fixture->db);
}

static gint64
new_conversation (Fixture    *fixture,
                  const char *title)
{
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = rfl_chat_store_create_conversation (fixture->chat, fixture->tenant,
                                           fixture->user, title, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
append (Fixture        *fixture,
        gint64          conversation,
        RflMessageRole  role,
        const char     *content)
{
  g_autoptr(RflMessage) message = rfl_message_new (role, content);
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = rfl_chat_store_append_message (fixture->chat, fixture->tenant,
                                      conversation, message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static GPtrArray *
list (Fixture             *fixture,
      const char          *search,
      RflConversationList  which)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *conversations;

  conversations = rfl_chat_store_list_conversations (fixture->chat,
                                                     fixture->tenant,
                                                     fixture->user, search,
                                                     which, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_nonnull (conversations);
  return conversations;
}

static gint64
conversation_id (GPtrArray *conversations,
                 guint      index)
{
  return ((RflConversation *) g_ptr_array_index (conversations, index))->id;
}

static RflMessage *
get_message (Fixture *fixture,
             gint64   id)
{
  g_autoptr(GError) error = NULL;
  RflMessage *message;

  message = rfl_chat_store_get_message (fixture->chat, fixture->tenant, id,
                                        &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

static gint64
count_fts (Fixture    *fixture,
           const char *word)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM messages_fts "
                                          "WHERE messages_fts MATCH '%s'",
                                          word);

  return query_int (fixture->db, sql);
}

/* Enumerations */

static void
test_enums (void)
{
  RflMessageRole role;
  RflMessageStatus status;

  g_assert_cmpstr (rfl_message_role_to_string (RFL_MESSAGE_ROLE_ASSISTANT),
                   ==, "assistant");
  g_assert_true (rfl_message_role_from_string ("tool", &role));
  g_assert_cmpint (role, ==, RFL_MESSAGE_ROLE_TOOL);
  g_assert_false (rfl_message_role_from_string ("robot", &role));
  g_assert_cmpstr (rfl_message_status_to_string (RFL_MESSAGE_STATUS_INTERRUPTED),
                   ==, "interrupted");
  g_assert_true (rfl_message_status_from_string ("streaming", &status));
  g_assert_cmpint (status, ==, RFL_MESSAGE_STATUS_STREAMING);
  g_assert_false (rfl_message_status_from_string (NULL, &status));
}

/* Conversations */

static void
test_conversations (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GError) error = NULL;
  gint64 first, second, untitled;

  first = new_conversation (fixture, "  Holiday plans  ");
  second = new_conversation (fixture, "Work");
  untitled = new_conversation (fixture, NULL);

  conversation = rfl_chat_store_get_conversation (fixture->chat,
                                                  fixture->tenant, first,
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (conversation->title, ==, "Holiday plans");
  g_assert_cmpint (conversation->user_id, ==, fixture->user);
  g_assert_cmpint (conversation->tenant_id, ==, fixture->tenant);
  g_assert_cmpint (conversation->deleted_at, ==, 0);
  g_assert_cmpuint (conversation->n_messages, ==, 0);
  g_assert_cmpstr (conversation->preview, ==, "");
  g_assert_cmpint (conversation->created_at, >, 1700000000000);
  g_clear_pointer (&conversation, rfl_conversation_free);

  /* Newest first; a message makes a conversation the newest. */
  conversations = list (fixture, NULL, RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (conversations->len, ==, 3);
  g_assert_cmpint (conversation_id (conversations, 0), ==, untitled);
  g_assert_cmpint (conversation_id (conversations, 2), ==, first);
  g_clear_pointer (&conversations, g_ptr_array_unref);

  append (fixture, first, RFL_MESSAGE_ROLE_USER, "Where should we go?");
  append (fixture, first, RFL_MESSAGE_ROLE_ASSISTANT, "Lisbon is lovely in May.");
  conversations = list (fixture, NULL, RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpint (conversation_id (conversations, 0), ==, first);
  conversation = g_ptr_array_index (conversations, 0);
  g_assert_cmpuint (conversation->n_messages, ==, 2);
  g_assert_cmpstr (conversation->preview, ==, "Lisbon is lovely in May.");
  g_assert_cmpint (conversation->updated_at, >, conversation->created_at);
  conversation = NULL;
  g_clear_pointer (&conversations, g_ptr_array_unref);

  /* Renaming also makes it the newest. */
  g_assert_true (rfl_chat_store_rename_conversation (fixture->chat,
                                                     fixture->tenant, second,
                                                     "Work, 2026", &error));
  g_assert_no_error (error);
  conversations = list (fixture, NULL, RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpint (conversation_id (conversations, 0), ==, second);
  g_assert_cmpstr (((RflConversation *) g_ptr_array_index (conversations, 0))->title,
                   ==, "Work, 2026");
  g_clear_pointer (&conversations, g_ptr_array_unref);

  /* Pages. */
  conversations = rfl_chat_store_list_conversations (fixture->chat,
                                                     fixture->tenant,
                                                     fixture->user, NULL,
                                                     RFL_CONVERSATION_LIST_ACTIVE,
                                                     1, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 1);
  g_assert_cmpint (conversation_id (conversations, 0), ==, first);
  g_clear_pointer (&conversations, g_ptr_array_unref);

  /* Another user of the tenant sees none of them. */
  conversations = rfl_chat_store_list_conversations (fixture->chat,
                                                     fixture->tenant,
                                                     add_user (fixture->db,
                                                               fixture->tenant,
                                                               "b@example.org"),
                                                     NULL,
                                                     RFL_CONVERSATION_LIST_ACTIVE,
                                                     0, 100, &error);
  g_assert_cmpuint (conversations->len, ==, 0);
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GPtrArray) found = NULL;
  gint64 cooking, travel, empty;

  cooking = new_conversation (fixture, "Crème brûlée");
  travel = new_conversation (fixture, "Trip");
  empty = new_conversation (fixture, "Nothing here");
  append (fixture, cooking, RFL_MESSAGE_ROLE_USER, "How long do I bake it?");
  append (fixture, travel, RFL_MESSAGE_ROLE_USER,
          "Trains from Zürich to Milano");
  append (fixture, travel, RFL_MESSAGE_ROLE_ASSISTANT,
          "The Gotthard route takes three hours.");

  /* Titles, accents and case. */
  found = list (fixture, "creme BRULEE", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (conversation_id (found, 0), ==, cooking);
  g_clear_pointer (&found, g_ptr_array_unref);

  /* Message text, all words, the last one as a prefix. */
  found = list (fixture, "zurich mil", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (conversation_id (found, 0), ==, travel);
  g_clear_pointer (&found, g_ptr_array_unref);

  found = list (fixture, "gotthard bake", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 0);
  g_clear_pointer (&found, g_ptr_array_unref);

  /* Text that is query syntax, or no word at all. */
  found = list (fixture, "\"bake\" OR NOT( *", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 0);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = list (fixture, " ?! ", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 3);
  g_clear_pointer (&found, g_ptr_array_unref);

  /* A deleted conversation is not found. */
  g_assert_true (rfl_chat_store_delete_conversation (fixture->chat,
                                                     fixture->tenant, travel,
                                                     NULL));
  found = list (fixture, "zurich", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 0);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = list (fixture, "zurich", RFL_CONVERSATION_LIST_DELETED);
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_ptr_array_unref);

  /* A renamed one is found by its new title only. */
  g_assert_true (rfl_chat_store_rename_conversation (fixture->chat,
                                                     fixture->tenant, empty,
                                                     "Garden", NULL));
  found = list (fixture, "nothing", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 0);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = list (fixture, "garden", RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 1);
}

static void
test_delete_restore_purge (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(RflMessage) message = rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                                   "late");
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GError) error = NULL;
  gint64 kept, gone, old, deleted_at;
  guint n_purged = 99;

  kept = new_conversation (fixture, "Kept");
  gone = new_conversation (fixture, "Gone");
  old = new_conversation (fixture, "Old");
  append (fixture, gone, RFL_MESSAGE_ROLE_USER, "unique-word-alpha");
  append (fixture, gone, RFL_MESSAGE_ROLE_ASSISTANT, "unique-word-beta");

  g_assert_true (rfl_chat_store_delete_conversation (fixture->chat,
                                                     fixture->tenant, gone,
                                                     &error));
  g_assert_no_error (error);
  /* Twice is fine. */
  g_assert_true (rfl_chat_store_delete_conversation (fixture->chat,
                                                     fixture->tenant, gone,
                                                     &error));
  g_assert_no_error (error);

  conversation = rfl_chat_store_get_conversation (fixture->chat,
                                                  fixture->tenant, gone,
                                                  &error);
  g_assert_cmpint (conversation->deleted_at, >, 0);
  deleted_at = conversation->deleted_at;
  g_clear_pointer (&conversation, rfl_conversation_free);

  found = list (fixture, NULL, RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 2);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = list (fixture, NULL, RFL_CONVERSATION_LIST_DELETED);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (conversation_id (found, 0), ==, gone);
  g_clear_pointer (&found, g_ptr_array_unref);

  /* Nothing is added to a deleted conversation. */
  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->tenant, gone,
                                                  message, &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Undo. */
  g_assert_true (rfl_chat_store_restore_conversation (fixture->chat,
                                                      fixture->tenant, gone,
                                                      &error));
  g_assert_no_error (error);
  found = list (fixture, NULL, RFL_CONVERSATION_LIST_ACTIVE);
  g_assert_cmpuint (found->len, ==, 3);
  g_assert_cmpint (conversation_id (found, 0), ==, gone);
  g_clear_pointer (&found, g_ptr_array_unref);

  /* Expiry: only what was deleted before the cut-off goes. */
  g_assert_true (rfl_chat_store_delete_conversation (fixture->chat,
                                                     fixture->tenant, gone,
                                                     NULL));
  g_assert_true (rfl_chat_store_delete_conversation (fixture->chat,
                                                     fixture->tenant, old,
                                                     NULL));
  g_assert_true (rfl_chat_store_purge_expired (fixture->chat, fixture->tenant,
                                               deleted_at - DAY_MS, &n_purged,
                                               &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_purged, ==, 0);
  g_assert_true (rfl_chat_store_purge_expired (fixture->chat, fixture->tenant,
                                               deleted_at + DAY_MS, &n_purged,
                                               &error));
  g_assert_cmpuint (n_purged, ==, 2);

  /* Gone for good, with messages, full text and vectors. */
  conversation = rfl_chat_store_get_conversation (fixture->chat,
                                                  fixture->tenant, gone,
                                                  &error);
  g_assert_null (conversation);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_restore_conversation (fixture->chat,
                                                       fixture->tenant, gone,
                                                       &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM messages"),
                   ==, 0);
  g_assert_cmpint (count_fts (fixture, "alpha"), ==, 0);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 0);

  /* Purge at once, deleted or not. */
  g_assert_true (rfl_chat_store_purge_conversation (fixture->chat,
                                                    fixture->tenant, kept,
                                                    &error));
  g_assert_no_error (error);
  g_assert_false (rfl_chat_store_purge_conversation (fixture->chat,
                                                     fixture->tenant, kept,
                                                     &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM "
                                           "conversations"), ==, 0);
}

static void
test_invalid_conversations (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autofree char *long_title = g_strnfill (RFL_CHAT_STORE_MAX_TITLE + 1, 'a');
  g_autoptr(GError) error = NULL;
  gint64 other_tenant, other_user, conversation;
  const char *bad_titles[] = {
    long_title, "two\nlines", "tab\there", "bad \xff utf8",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_titles); i++)
    {
      g_assert_cmpint (rfl_chat_store_create_conversation (fixture->chat,
                                                           fixture->tenant,
                                                           fixture->user,
                                                           bad_titles[i],
                                                           &error), ==, 0);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_clear_error (&error);
    }

  /* A user of another tenant, or none. */
  other_tenant = add_tenant (fixture->db, "Beta");
  other_user = add_user (fixture->db, other_tenant, "b@example.org");
  g_assert_cmpint (rfl_chat_store_create_conversation (fixture->chat,
                                                       fixture->tenant,
                                                       other_user, "x",
                                                       &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (rfl_chat_store_create_conversation (fixture->chat,
                                                       fixture->tenant, 9999,
                                                       "x", &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM "
                                           "conversations"), ==, 0);

  /* A bad rename changes nothing. */
  conversation = new_conversation (fixture, "Good");
  g_assert_false (rfl_chat_store_rename_conversation (fixture->chat,
                                                      fixture->tenant,
                                                      conversation,
                                                      "bad\x01title", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  {
    g_autofree char *title = query_text (fixture->db,
                                         "SELECT title FROM conversations");

    g_assert_cmpstr (title, ==, "Good");
  }

  /* Pages of no item or too many. */
  g_assert_null (rfl_chat_store_list_conversations (fixture->chat,
                                                    fixture->tenant,
                                                    fixture->user, NULL,
                                                    RFL_CONVERSATION_LIST_ACTIVE,
                                                    0, 0, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_null (rfl_chat_store_list_messages (fixture->chat, fixture->tenant,
                                               conversation, 0, 100000,
                                               &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Unknown ids. */
  g_assert_false (rfl_chat_store_rename_conversation (fixture->chat,
                                                      fixture->tenant, 4242,
                                                      "x", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_delete_conversation (fixture->chat,
                                                      fixture->tenant, 4242,
                                                      &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
}

/* Messages */

static void
test_messages (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(RflMessage) input = NULL;
  g_autoptr(RflMessage) message = NULL;
  g_autoptr(RflMessage) copy = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;
  gint64 conversation, ids[7], id;

  conversation = new_conversation (fixture, "Paging");
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);

      ids[i] = append (fixture, conversation,
                       i % 2 ? RFL_MESSAGE_ROLE_ASSISTANT
                             : RFL_MESSAGE_ROLE_USER, text);
    }

  /* The latest page, in order, then the one before it. */
  page = rfl_chat_store_list_messages (fixture->chat, fixture->tenant,
                                       conversation, 0, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_cmpint (((RflMessage *) page->pdata[0])->id, ==, ids[4]);
  g_assert_cmpint (((RflMessage *) page->pdata[2])->id, ==, ids[6]);
  g_assert_cmpstr (((RflMessage *) page->pdata[2])->content, ==, "message 6");
  id = ((RflMessage *) page->pdata[0])->id;
  g_clear_pointer (&page, g_ptr_array_unref);

  page = rfl_chat_store_list_messages (fixture->chat, fixture->tenant,
                                       conversation, id, 3, &error);
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_cmpint (((RflMessage *) page->pdata[0])->id, ==, ids[1]);
  id = ((RflMessage *) page->pdata[0])->id;
  g_clear_pointer (&page, g_ptr_array_unref);

  page = rfl_chat_store_list_messages (fixture->chat, fixture->tenant,
                                       conversation, id, 3, &error);
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_cmpint (((RflMessage *) page->pdata[0])->id, ==, ids[0]);
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Every field comes back. */
  input = rfl_message_new (RFL_MESSAGE_ROLE_TOOL, "{\"temp\": 21}");
  input->model = g_strdup (" llama3.2:3b ");
  input->tokens_in = 12;
  input->tokens_out = 34;
  input->metadata = g_strdup ("{\"tool_call_id\": \"call_1\"}");
  input->created_at = 1767225600000;
  id = rfl_chat_store_append_message (fixture->chat, fixture->tenant,
                                      conversation, input, &error);
  g_assert_no_error (error);

  message = get_message (fixture, id);
  g_assert_cmpint (message->id, ==, id);
  g_assert_cmpint (message->tenant_id, ==, fixture->tenant);
  g_assert_cmpint (message->conversation_id, ==, conversation);
  g_assert_cmpint (message->role, ==, RFL_MESSAGE_ROLE_TOOL);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_COMPLETE);
  g_assert_cmpstr (message->content, ==, "{\"temp\": 21}");
  g_assert_cmpstr (message->model, ==, "llama3.2:3b");
  g_assert_cmpuint (message->tokens_in, ==, 12);
  g_assert_cmpuint (message->tokens_out, ==, 34);
  g_assert_cmpstr (message->metadata, ==, "{\"tool_call_id\": \"call_1\"}");
  g_assert_null (message->error);
  g_assert_cmpint (message->created_at, ==, 1767225600000);
  g_assert_cmpint (message->updated_at, >, message->created_at);

  copy = rfl_message_copy (message);
  g_assert_cmpstr (copy->metadata, ==, message->metadata);
  g_assert_true (copy->content != message->content);

  /* Tool and system messages get no vector; user and assistant ones do. */
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 7);
}

static void
test_invalid_messages (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflMessage) good = rfl_message_new (RFL_MESSAGE_ROLE_USER, "fine");
  g_autoptr(RflMessage) bad = NULL;
  RflMessage *batch[3];
  gint64 conversation, ids[3] = { 0 };

  conversation = new_conversation (fixture, "Checks");

  bad = rfl_message_new (RFL_MESSAGE_ROLE_USER, NULL);
  g_free (bad->content);
  bad->content = g_strdup ("bad \xc3\x28 text");
  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->tenant,
                                                  conversation, bad, &error),
                   ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_clear_pointer (&bad, rfl_message_free);

  bad = rfl_message_new (RFL_MESSAGE_ROLE_USER, "x");
  bad->metadata = g_strdup ("[1, 2]");
  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->tenant,
                                                  conversation, bad, &error),
                   ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "JSON"));
  g_clear_error (&error);
  g_clear_pointer (&bad, rfl_message_free);

  bad = rfl_message_new ((RflMessageRole) 9, "x");
  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->tenant,
                                                  conversation, bad, &error),
                   ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_clear_pointer (&bad, rfl_message_free);

  bad = rfl_message_new (RFL_MESSAGE_ROLE_USER, "x");
  bad->model = g_strdup ("line\nbreak");
  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->tenant,
                                                  conversation, bad, &error),
                   ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* A batch with one bad message writes nothing. */
  batch[0] = good;
  batch[1] = bad;
  batch[2] = good;
  g_assert_false (rfl_chat_store_append_messages (fixture->chat,
                                                  fixture->tenant,
                                                  conversation, batch, 3, ids,
                                                  &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_cmpint (ids[0], ==, 0);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM messages"),
                   ==, 0);

  /* A good batch writes all. */
  batch[1] = good;
  g_assert_true (rfl_chat_store_append_messages (fixture->chat,
                                                 fixture->tenant,
                                                 conversation, batch, 3, ids,
                                                 &error));
  g_assert_no_error (error);
  g_assert_cmpint (ids[0], <, ids[1]);
  g_assert_cmpint (ids[1], <, ids[2]);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM messages"),
                   ==, 3);

  /* No such conversation. */
  g_assert_cmpint (rfl_chat_store_append_message (fixture->chat,
                                                  fixture->tenant, 777, good,
                                                  &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (rfl_chat_store_list_messages (fixture->chat, fixture->tenant,
                                               777, 0, 10, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
}

/* Many rows written at once do not move the store's clock ahead of the
 * real one. */
static void
test_clock (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_message_free);
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id, now;

  id = new_conversation (fixture, "Clock");
  for (guint i = 0; i < 2000; i++)
    g_ptr_array_add (batch, rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                             "tick tock"));
  for (guint i = 0; i < 3; i++)
    g_assert_true (rfl_chat_store_append_messages (fixture->chat,
                                                   fixture->tenant, id,
                                                   (RflMessage **) batch->pdata,
                                                   batch->len, NULL, &error));
  g_assert_no_error (error);

  conversation = rfl_chat_store_get_conversation (fixture->chat,
                                                  fixture->tenant, id,
                                                  &error);
  now = g_get_real_time () / 1000;
  g_assert_cmpuint (conversation->n_messages, ==, 6000);
  g_assert_cmpint (conversation->updated_at, <=, now + 100);
  g_assert_cmpint (query_int (fixture->db, "SELECT max (updated_at) FROM "
                                           "embeddings"), <=, now + 100);
}

/* Streaming */

static char *
stored_content (Fixture *fixture,
                gint64   id)
{
  g_autoptr(RflMessage) message = get_message (fixture, id);

  return g_strdup (message->content);
}

static void
test_stream (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(RflChatStream) stream = NULL;
  g_autoptr(RflMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gint64 conversation, id;
  char *content;

  conversation = new_conversation (fixture, "Stream");
  append (fixture, conversation, RFL_MESSAGE_ROLE_USER, "Tell me a story");

  stream = rfl_chat_store_begin_stream (fixture->chat, fixture->tenant,
                                        conversation, "fake-model", &error);
  g_assert_no_error (error);
  id = rfl_chat_stream_get_message_id (stream);

  /* The row exists at once. */
  message = get_message (fixture, id);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_STREAMING);
  g_assert_cmpint (message->role, ==, RFL_MESSAGE_ROLE_ASSISTANT);
  g_assert_cmpstr (message->model, ==, "fake-model");
  g_assert_cmpstr (message->content, ==, "");
  g_clear_pointer (&message, rfl_message_free);

  /* Flushed once 10 bytes wait (the interval being an hour). */
  rfl_chat_stream_set_flush_policy (stream, 3600 * 1000, 10);
  g_assert_true (rfl_chat_stream_append (stream, "Once ", &error));
  content = stored_content (fixture, id);
  g_assert_cmpstr (content, ==, "");
  g_free (content);
  g_assert_true (rfl_chat_stream_append (stream, "upon a ", &error));
  content = stored_content (fixture, id);
  g_assert_cmpstr (content, ==, "Once upon a ");
  g_free (content);
  g_assert_true (rfl_chat_stream_append (stream, "tîme", &error));
  g_assert_cmpstr (rfl_chat_stream_get_content (stream), ==,
                   "Once upon a tîme");
  content = stored_content (fixture, id);
  g_assert_cmpstr (content, ==, "Once upon a ");
  g_free (content);

  /* Flushed at each delta with no interval. */
  rfl_chat_stream_set_flush_policy (stream, 0, 1 << 20);
  g_assert_true (rfl_chat_stream_append (stream, ", a dragón", &error));
  content = stored_content (fixture, id);
  g_assert_cmpstr (content, ==, "Once upon a tîme, a dragón");
  g_free (content);

  /* Not searchable nor embedded while streaming. */
  g_assert_cmpint (count_fts (fixture, "dragon"), ==, 0);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 1);

  /* Invalid text is refused and changes nothing. */
  g_assert_false (rfl_chat_stream_append (stream, "\xff", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  rfl_chat_stream_set_flush_policy (stream, 3600 * 1000, 1 << 20);
  g_assert_true (rfl_chat_stream_append (stream, " slept.", &error));
  g_assert_true (rfl_chat_stream_finish (stream, 11, 22, &error));
  g_assert_no_error (error);

  message = get_message (fixture, id);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_COMPLETE);
  g_assert_cmpstr (message->content, ==, "Once upon a tîme, a dragón slept.");
  g_assert_cmpuint (message->tokens_in, ==, 11);
  g_assert_cmpuint (message->tokens_out, ==, 22);
  g_assert_cmpint (count_fts (fixture, "dragon"), ==, 1);
  g_assert_cmpint (count_fts (fixture, "time"), ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 2);

  /* Ended is ended. */
  g_assert_false (rfl_chat_stream_append (stream, "more", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rfl_chat_stream_finish (stream, 0, 0, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
}

static void
test_stream_ends (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RflMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  RflChatStream *stream;
  gint64 conversation, stopped, failed, dropped;

  conversation = new_conversation (fixture, "Ends");

  /* The user stops it. */
  stream = rfl_chat_store_begin_stream (fixture->chat, fixture->tenant,
                                        conversation, NULL, &error);
  stopped = rfl_chat_stream_get_message_id (stream);
  g_assert_true (rfl_chat_stream_append (stream, "half an answer", &error));
  g_assert_true (rfl_chat_stream_interrupt (stream, &error));
  g_assert_no_error (error);
  rfl_chat_stream_free (stream);
  message = get_message (fixture, stopped);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpstr (message->content, ==, "half an answer");
  g_assert_null (message->model);
  g_clear_pointer (&message, rfl_message_free);

  /* The provider fails. */
  stream = rfl_chat_store_begin_stream (fixture->chat, fixture->tenant,
                                        conversation, "m", &error);
  failed = rfl_chat_stream_get_message_id (stream);
  g_assert_true (rfl_chat_stream_append (stream, "partial", &error));
  g_assert_true (rfl_chat_stream_fail (stream, "The provider went away",
                                       &error));
  rfl_chat_stream_free (stream);
  message = get_message (fixture, failed);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_ERROR);
  g_assert_cmpstr (message->content, ==, "partial");
  g_assert_cmpstr (message->error, ==, "The provider went away");
  g_clear_pointer (&message, rfl_message_free);

  /* Dropped without an end: interrupted, with what it had. */
  stream = rfl_chat_store_begin_stream (fixture->chat, fixture->tenant,
                                        conversation, "m", &error);
  dropped = rfl_chat_stream_get_message_id (stream);
  rfl_chat_stream_set_flush_policy (stream, 3600 * 1000, 1 << 20);
  g_assert_true (rfl_chat_stream_append (stream, "never flushed", &error));
  rfl_chat_stream_free (stream);
  message = get_message (fixture, dropped);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpstr (message->content, ==, "never flushed");
  g_clear_pointer (&message, rfl_message_free);

  /* The low-level calls refuse what is not streaming. */
  g_assert_false (rfl_chat_store_append_delta (fixture->chat, fixture->tenant,
                                               stopped, "x", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_finish_message (fixture->chat,
                                                 fixture->tenant, stopped,
                                                 RFL_MESSAGE_STATUS_COMPLETE,
                                                 0, 0, NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_finish_message (fixture->chat,
                                                 fixture->tenant, stopped,
                                                 RFL_MESSAGE_STATUS_STREAMING,
                                                 0, 0, NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Interrupted answers are embedded; failed ones are not. */
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 2);
}

static void
test_recover (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(RflMessage) streaming = NULL;
  g_autoptr(RflMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gint64 conversation, complete, cut;
  guint n = 99;

  conversation = new_conversation (fixture, "Crash");
  complete = append (fixture, conversation, RFL_MESSAGE_ROLE_USER, "Question");
  streaming = rfl_message_new (RFL_MESSAGE_ROLE_ASSISTANT, "");
  streaming->status = RFL_MESSAGE_STATUS_STREAMING;
  cut = rfl_chat_store_append_message (fixture->chat, fixture->tenant,
                                       conversation, streaming, &error);
  g_assert_true (rfl_chat_store_append_delta (fixture->chat, fixture->tenant,
                                              cut, "The answer was cut",
                                              &error));
  g_assert_no_error (error);

  g_assert_true (rfl_chat_store_recover_interrupted (fixture->chat, &n,
                                                     &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);

  message = get_message (fixture, cut);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpstr (message->content, ==, "The answer was cut");
  g_clear_pointer (&message, rfl_message_free);
  message = get_message (fixture, complete);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_COMPLETE);

  /* Now searchable and embedded. */
  g_assert_cmpint (count_fts (fixture, "cut"), ==, 1);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 2);

  g_assert_true (rfl_chat_store_recover_interrupted (fixture->chat, &n,
                                                     &error));
  g_assert_cmpuint (n, ==, 0);
}

/* Usage */

static void
record (Fixture    *fixture,
        gint64      user,
        const char *model,
        guint       tokens_in,
        guint       tokens_out,
        gint64      created_at)
{
  RflUsageRecord usage = {
    .user_id = user,
    .model = model,
    .provider = "ollama",
    .tokens_in = tokens_in,
    .tokens_out = tokens_out,
    .latency_ms = 100,
    .created_at = created_at,
  };
  g_autoptr(GError) error = NULL;

  g_assert_true (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                              &usage, &error));
  g_assert_no_error (error);
}

static void
record_keyed (Fixture    *fixture,
              gint64      user,
              gint64      api_key,
              const char *provider,
              const char *model,
              guint       tokens,
              gint64      cost,      /* -1: unpriced */
              gint64      created_at)
{
  RflUsageRecord usage = {
    .user_id = user,
    .model = model,
    .provider = provider,
    .tokens_in = tokens,
    .tokens_out = tokens,
    .latency_ms = 50,
    .created_at = created_at,
    .api_key_id = api_key,
    .priced = cost >= 0,
    .cost_micro_usd = cost >= 0 ? (guint64) cost : 0,
  };
  g_autoptr(GError) error = NULL;

  g_assert_true (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                              &usage, &error));
  g_assert_no_error (error);
}

static GPtrArray *
breakdown (Fixture       *fixture,
           RflUsageGroup  group,
           gint64         since,
           gint64         until)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  rows = rfl_chat_store_usage_breakdown (fixture->chat, fixture->tenant,
                                         group, since, until, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rows);
  return rows;
}

static void
test_usage_breakdown (Fixture       *fixture,
                      gconstpointer  data)
{
  gint64 day1 = 1767225600000;   /* 2026-01-01T00:00:00Z */
  gint64 other_user = add_user (fixture->db, fixture->tenant, "o@example.org");
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  RflUsageBreakdown *row;
  RflUsageGroup group;
  gint64 key;

  g_assert_true (_rfl_database_exec (fixture->db,
                                     "INSERT INTO api_keys (tenant_id, name,"
                                     " prefix, key_hash, scopes, created_at)"
                                     " SELECT id, 'Reporting', 'rfl_AbCd',"
                                     " printf ('%064d', 7), 1, 1"
                                     " FROM tenants WHERE name = 'Alpha'",
                                     &error));
  g_assert_no_error (error);
  key = query_int (fixture->db, "SELECT max (id) FROM api_keys");

  record_keyed (fixture, fixture->user, 0, "openai", "gpt-4o", 100, 1250, day1);
  record_keyed (fixture, fixture->user, key, "openai", "gpt-4o", 10, 125, day1 + DAY_MS);
  record_keyed (fixture, other_user, key, "ollama", "llama3", 1000, 0, day1 + DAY_MS);
  record_keyed (fixture, 0, key, "openai", "mystery", 1, -1, day1 + DAY_MS);
  /* Outside the range. */
  record_keyed (fixture, fixture->user, 0, "openai", "gpt-4o", 5, 5, day1 + 5 * DAY_MS);

  rows = breakdown (fixture, RFL_USAGE_BY_DAY, day1, day1 + 2 * DAY_MS);
  g_assert_cmpuint (rows->len, ==, 2);
  row = rows->pdata[0];
  g_assert_cmpstr (row->label, ==, "2026-01-01");
  g_assert_cmpuint (row->n_calls, ==, 1);
  g_assert_cmpuint (row->cost_micro_usd, ==, 1250);
  row = rows->pdata[1];
  g_assert_cmpstr (row->label, ==, "2026-01-02");
  g_assert_cmpuint (row->n_calls, ==, 3);
  g_assert_cmpuint (row->tokens_in, ==, 1011);
  g_assert_cmpuint (row->cost_micro_usd, ==, 125);
  g_assert_cmpuint (row->n_unpriced, ==, 1);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Models: most tokens first, with their provider. */
  rows = breakdown (fixture, RFL_USAGE_BY_MODEL, day1, day1 + 2 * DAY_MS);
  g_assert_cmpuint (rows->len, ==, 3);
  row = rows->pdata[0];
  g_assert_cmpstr (row->label, ==, "llama3");
  g_assert_cmpstr (row->detail, ==, "ollama");
  g_assert_cmpuint (row->cost_micro_usd, ==, 0);
  g_assert_cmpuint (row->n_unpriced, ==, 0);
  row = rows->pdata[1];
  g_assert_cmpstr (row->label, ==, "gpt-4o");
  g_assert_cmpuint (row->n_calls, ==, 2);
  g_assert_cmpuint (row->cost_micro_usd, ==, 1375);
  row = rows->pdata[2];
  g_assert_cmpstr (row->label, ==, "mystery");
  g_assert_cmpuint (row->n_unpriced, ==, 1);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Users, by email; calls without a user together. */
  rows = breakdown (fixture, RFL_USAGE_BY_USER, 0, G_MAXINT64);
  g_assert_cmpuint (rows->len, ==, 3);
  row = rows->pdata[0];
  g_assert_cmpstr (row->label, ==, "o@example.org");
  g_assert_cmpint (row->id, ==, other_user);
  row = rows->pdata[1];
  g_assert_cmpstr (row->label, ==, "a@example.org");
  g_assert_cmpuint (row->n_calls, ==, 3);
  g_assert_cmpuint (row->cost_micro_usd, ==, 1380);
  row = rows->pdata[2];
  g_assert_cmpstr (row->label, ==, "");
  g_assert_cmpint (row->id, ==, 0);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Keys, by name and prefix. */
  rows = breakdown (fixture, RFL_USAGE_BY_KEY, 0, G_MAXINT64);
  g_assert_cmpuint (rows->len, ==, 2);
  row = rows->pdata[0];
  g_assert_cmpstr (row->label, ==, "Reporting");
  g_assert_cmpstr (row->detail, ==, "rfl_AbCd");
  g_assert_cmpint (row->id, ==, key);
  g_assert_cmpuint (row->n_calls, ==, 3);
  row = rows->pdata[1];
  g_assert_cmpint (row->id, ==, 0);
  g_assert_cmpuint (row->n_calls, ==, 2);
  g_clear_pointer (&rows, g_ptr_array_unref);

  /* Names of the groups. */
  g_assert_true (rfl_usage_group_from_string ("key", &group));
  g_assert_cmpint (group, ==, RFL_USAGE_BY_KEY);
  g_assert_cmpstr (rfl_usage_group_to_string (RFL_USAGE_BY_USER), ==, "user");
  g_assert_false (rfl_usage_group_from_string ("tenant", &group));
  g_assert_false (rfl_usage_group_from_string (NULL, &group));
}

static void
test_usage (Fixture       *fixture,
            gconstpointer  data)
{
  gint64 day1 = 1767225600000;   /* 2026-01-01T00:00:00Z */
  gint64 other_user = add_user (fixture->db, fixture->tenant, "o@example.org");
  gint64 other_tenant = add_tenant (fixture->db, "Beta");
  gint64 foreign_user = add_user (fixture->db, other_tenant, "f@example.org");
  gint64 conversation = new_conversation (fixture, "Usage");
  g_autoptr(GPtrArray) sums = NULL;
  g_autoptr(GError) error = NULL;
  RflUsageSum *sum;
  RflUsageRecord usage = { 0 };

  record (fixture, fixture->user, "llama3", 10, 20, day1 + 1000);
  record (fixture, fixture->user, "llama3", 1, 2, day1 + DAY_MS - 1);
  record (fixture, other_user, "qwen", 5, 5, day1 + 3600000);
  record (fixture, fixture->user, "llama3", 7, 7, day1 + DAY_MS);
  record (fixture, 0, "llama3", 100, 100, day1 + 3 * DAY_MS);

  sums = rfl_chat_store_sum_usage (fixture->chat, fixture->tenant, 0, day1,
                                   day1 + 2 * DAY_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sums->len, ==, 3);
  sum = g_ptr_array_index (sums, 0);
  g_assert_cmpstr (sum->day, ==, "2026-01-01");
  g_assert_cmpstr (sum->model, ==, "llama3");
  g_assert_cmpstr (sum->provider, ==, "ollama");
  g_assert_cmpuint (sum->n_calls, ==, 2);
  g_assert_cmpuint (sum->tokens_in, ==, 11);
  g_assert_cmpuint (sum->tokens_out, ==, 22);
  g_assert_cmpuint (sum->latency_ms, ==, 200);
  sum = g_ptr_array_index (sums, 1);
  g_assert_cmpstr (sum->day, ==, "2026-01-01");
  g_assert_cmpstr (sum->model, ==, "qwen");
  sum = g_ptr_array_index (sums, 2);
  g_assert_cmpstr (sum->day, ==, "2026-01-02");
  g_assert_cmpuint (sum->tokens_in, ==, 7);
  g_clear_pointer (&sums, g_ptr_array_unref);

  /* One user's. */
  sums = rfl_chat_store_sum_usage (fixture->chat, fixture->tenant,
                                   other_user, 0, G_MAXINT64, &error);
  g_assert_cmpuint (sums->len, ==, 1);
  g_assert_cmpstr (((RflUsageSum *) sums->pdata[0])->model, ==, "qwen");
  g_clear_pointer (&sums, g_ptr_array_unref);

  /* With a conversation; it is kept when the conversation goes. */
  usage.user_id = fixture->user;
  usage.conversation_id = conversation;
  usage.model = "llama3";
  usage.provider = "ollama";
  usage.tokens_in = 1;
  g_assert_true (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                              &usage, &error));
  g_assert_true (rfl_chat_store_purge_conversation (fixture->chat,
                                                    fixture->tenant,
                                                    conversation, &error));
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM usage"),
                   ==, 6);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM usage "
                                           "WHERE conversation_id IS NULL"),
                   ==, 6);

  /* Refused: a user or conversation of another tenant, no model. */
  usage.conversation_id = 0;
  usage.user_id = foreign_user;
  g_assert_false (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                               &usage, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  usage.user_id = 0;
  usage.conversation_id = conversation;
  g_assert_false (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                               &usage, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  usage.conversation_id = 0;
  usage.model = "  ";
  g_assert_false (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                               &usage, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  usage.model = "m";
  usage.provider = NULL;
  g_assert_false (rfl_chat_store_record_usage (fixture->chat, fixture->tenant,
                                               &usage, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  usage.provider = "p";
  g_assert_false (rfl_chat_store_record_usage (fixture->chat, 4242, &usage,
                                               &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM usage"),
                   ==, 6);
}

/* Tool permissions */

static gboolean
tool_enabled (Fixture    *fixture,
              const char *tool)
{
  g_autoptr(GError) error = NULL;
  gboolean enabled = 42;

  g_assert_true (rfl_chat_store_get_tool_enabled (fixture->chat,
                                                  fixture->tenant, tool,
                                                  &enabled, &error));
  g_assert_no_error (error);
  return enabled;
}

static void
test_tools (Fixture       *fixture,
            gconstpointer  data)
{
  const char * const *known = rfl_chat_store_get_known_tools ();
  g_autoptr(GPtrArray) permissions = NULL;
  g_autoptr(GError) error = NULL;
  RflToolPermission *permission;
  gboolean enabled;

  g_assert_true (g_strv_contains (known, "web_fetch"));
  g_assert_true (g_strv_contains (known, "memory_search"));
  g_assert_true (rfl_chat_store_get_tool_default ("calculator"));
  g_assert_false (rfl_chat_store_get_tool_default ("web_search"));
  g_assert_false (rfl_chat_store_get_tool_default ("unknown_tool"));

  /* Defaults. */
  g_assert_true (tool_enabled (fixture, "memory_search"));
  g_assert_false (tool_enabled (fixture, "web_fetch"));
  g_assert_false (tool_enabled (fixture, "shell.exec"));

  /* Choices. */
  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  fixture->tenant,
                                                  "web_fetch", TRUE, &error));
  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  fixture->tenant,
                                                  "calculator", FALSE, &error));
  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  fixture->tenant,
                                                  "weather.lookup", TRUE,
                                                  &error));
  g_assert_no_error (error);
  g_assert_true (tool_enabled (fixture, "web_fetch"));
  g_assert_false (tool_enabled (fixture, "calculator"));
  g_assert_true (tool_enabled (fixture, "weather.lookup"));

  permissions = rfl_chat_store_list_tool_permissions (fixture->chat,
                                                      fixture->tenant, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (permissions->len, ==, g_strv_length ((char **) known) + 1);
  for (guint i = 0; known[i] != NULL; i++)
    {
      permission = g_ptr_array_index (permissions, i);
      g_assert_cmpstr (permission->tool, ==, known[i]);
      if (g_str_equal (known[i], "web_fetch") || g_str_equal (known[i], "calculator"))
        g_assert_false (permission->is_default);
      else
        g_assert_true (permission->is_default);
    }
  permission = g_ptr_array_index (permissions, permissions->len - 1);
  g_assert_cmpstr (permission->tool, ==, "weather.lookup");
  g_assert_true (permission->enabled);
  g_assert_false (permission->is_default);
  g_clear_pointer (&permissions, g_ptr_array_unref);

  /* Reset. */
  g_assert_true (rfl_chat_store_reset_tool (fixture->chat, fixture->tenant,
                                            "calculator", &error));
  g_assert_true (tool_enabled (fixture, "calculator"));

  /* Bad names change nothing. */
  g_assert_false (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                   fixture->tenant,
                                                   "Web Fetch", TRUE, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                   fixture->tenant, "", TRUE,
                                                   &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_get_tool_enabled (fixture->chat,
                                                   fixture->tenant, "1abc",
                                                   &enabled, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_chat_store_set_tool_enabled (fixture->chat, 4242,
                                                   "web_fetch", TRUE, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM "
                                           "tool_permissions"), ==, 2);
}

/* Without a vector store nothing is embedded, and everything else
 * works. */
static void
test_without_vectors (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(RflChatStore) plain = rfl_chat_store_new (fixture->db, NULL);
  g_autoptr(RflMessage) message = rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                                   "no vector for me");
  g_autoptr(GError) error = NULL;
  gint64 conversation;

  conversation = rfl_chat_store_create_conversation (plain, fixture->tenant,
                                                     fixture->user, "Plain",
                                                     &error);
  g_assert_no_error (error);
  g_assert_cmpint (rfl_chat_store_append_message (plain, fixture->tenant,
                                                  conversation, message,
                                                  &error), >, 0);
  g_assert_no_error (error);
  g_assert_true (rfl_chat_store_get_database (plain) == fixture->db);
  g_assert_cmpint (query_int (fixture->db, "SELECT count(*) FROM embeddings"),
                   ==, 0);
  g_assert_cmpint (count_fts (fixture, "vector"), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/rfl/chat-store/" path, Fixture, NULL, fixture_set_up, \
              func, fixture_tear_down)

  g_test_add_func ("/rfl/chat-store/enums", test_enums);
  ADD ("conversations", test_conversations);
  ADD ("search", test_search);
  ADD ("delete-restore-purge", test_delete_restore_purge);
  ADD ("invalid-conversations", test_invalid_conversations);
  ADD ("messages", test_messages);
  ADD ("invalid-messages", test_invalid_messages);
  ADD ("clock", test_clock);
  ADD ("stream", test_stream);
  ADD ("stream-ends", test_stream_ends);
  ADD ("recover", test_recover);
  ADD ("usage", test_usage);
  ADD ("usage-breakdown", test_usage_breakdown);
  ADD ("tools", test_tools);
  ADD ("without-vectors", test_without_vectors);

#undef ADD

  return g_test_run ();
}
