/* test-service.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/rfl-error.h"
#include "llm/rfl-hash-embedder.h"
#include "rfl-fake-llm.h"
#include "service/rfl-service-admin.h"
#include "service/rfl-service.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-database-private.h"
#include "store/rfl-memory-store.h"
#include "store/rfl-vector-store.h"

#define API_KEY "sk-test-0123456789"
#define DEFAULT_REPLY "Hello! How can I help?"

/* An answer that takes a while to stream, for tests that act meanwhile. */
static const char * const long_reply[] = {
  "Once", " upon", " a", " time", " there", " was", " a", " small", " town",
  " by", " the", " sea", ",", " where", " every", " morning", " the",
  " fishermen", " sang", " as", " they", " mended", " their", " nets", ".",
  NULL
};
#define LONG_REPLY_TEXT "Once upon a time there was a small town by the sea, " \
  "where every morning the fishermen sang as they mended their nets."

/* One database with two tenants and three users, made once (hashing
 * passwords is slow on purpose) and copied for every test. */
static char *template_dir;
static char *template_path;
static RflIdentity alice;   /* Acme */
static RflIdentity bob;     /* Acme */
static RflIdentity carol;   /* Beta */

typedef struct
{
  RflFakeLlm      *fake;
  RflService      *service;
  char            *db_path;
  RflProviderKind  kind;
  const char      *model;

  /* The test's own connection, to look at and prepare the database. */
  RflDatabase     *db;
  RflVectorStore  *vectors;
  RflChatStore    *chat;
  RflMemoryStore  *memories;
} Fixture;

static void
make_template (void)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;
  gint64 acme, beta;

  template_dir = g_dir_make_tmp ("rfl-service-XXXXXX", &error);
  g_assert_no_error (error);
  template_path = g_build_filename (template_dir, "template.db", NULL);

  db = rfl_database_open (template_path, &error);
  g_assert_no_error (error);

  acme = rfl_database_create_tenant (db, "Acme", "business", &error);
  g_assert_no_error (error);
  beta = rfl_database_create_tenant (db, "Beta", "healthcare", &error);
  g_assert_no_error (error);

  alice.tenant_id = bob.tenant_id = acme;
  carol.tenant_id = beta;
  /* Made out of order, so that listing must sort. */
  bob.user_id = rfl_database_create_user (db, acme, "bob@acme.test", "Bob",
                                          "password-bob", RFL_ROLE_MEMBER,
                                          &error);
  g_assert_no_error (error);
  carol.user_id = rfl_database_create_user (db, beta, "carol@beta.test",
                                            "Carol", "password-carol",
                                            RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
  alice.user_id = rfl_database_create_user (db, acme, "alice@acme.test",
                                            "Alice", "password-alice",
                                            RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
}

static void
remove_template (void)
{
  g_autoptr(GDir) dir = g_dir_open (template_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (template_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (template_dir);
}

/* Waiting ------------------------------------------------------------- */

static gboolean
timeout_cb (gpointer data)
{
  g_error ("Timed out waiting for %s", (const char *) data);
  return G_SOURCE_REMOVE;
}

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static void
wait_for (GAsyncResult **slot,
          const char    *what)
{
  guint id = g_timeout_add_seconds (25, timeout_cb, (gpointer) what);

  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (id);
}

/* Fixture ------------------------------------------------------------ */

static const char *
model_for (RflProviderKind kind)
{
  switch (kind)
    {
    case RFL_PROVIDER_OLLAMA:
      return "llama3.2:3b";
    case RFL_PROVIDER_ANTHROPIC:
      return "claude-3-5-haiku-20241022";
    case RFL_PROVIDER_OPENAI:
    case RFL_PROVIDER_OPENAI_COMPATIBLE:
    default:
      return "gpt-4o-mini";
    }
}

static void
set_provider (Fixture    *fixture,
              const char *embedding_model)
{
  RflProviderConfig config = {
    fixture->kind, rfl_fake_llm_get_url (fixture->fake), API_KEY,
    fixture->model, embedding_model,
  };

  rfl_service_set_provider (fixture->service, &config);
}

static void
start_service (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  fixture->service = rfl_service_new_sync (fixture->db_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->service);
  g_assert_cmpstr (rfl_service_get_database_path (fixture->service), ==,
                   fixture->db_path);
}

static void
open_own (Fixture *fixture)
{
  g_autoptr(RflVectorEmbedder) embedder = rfl_vector_embedder_new_hash ();
  g_autoptr(GError) error = NULL;

  fixture->db = rfl_database_open (fixture->db_path, &error);
  g_assert_no_error (error);
  fixture->vectors = rfl_vector_store_new (fixture->db, embedder, &error);
  g_assert_no_error (error);
  fixture->chat = rfl_chat_store_new (fixture->db, fixture->vectors);
  fixture->memories = rfl_memory_store_new (fixture->db, fixture->vectors);
}

static void
close_own (Fixture *fixture)
{
  g_clear_object (&fixture->memories);
  g_clear_object (&fixture->chat);
  g_clear_object (&fixture->vectors);
  g_clear_object (&fixture->db);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GFile) source = NULL;
  g_autoptr(GFile) target = NULL;
  g_autoptr(GError) error = NULL;

  fixture->kind = (RflProviderKind) GPOINTER_TO_INT (data);
  fixture->model = model_for (fixture->kind);

  g_mkdir_with_parents (g_get_user_data_dir (), 0700);
  fixture->db_path = g_build_filename (g_get_user_data_dir (), "test.db",
                                       NULL);
  source = g_file_new_for_path (template_path);
  target = g_file_new_for_path (fixture->db_path);
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  fixture->fake = rfl_fake_llm_new ();
  rfl_fake_llm_set_api_key (fixture->fake, API_KEY);
  g_assert_true (rfl_fake_llm_start (fixture->fake, &error));
  g_assert_no_error (error);

  open_own (fixture);
  start_service (fixture);
  set_provider (fixture, NULL);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->service);
  close_own (fixture);
  g_clear_pointer (&fixture->fake, rfl_fake_llm_free);
  g_free (fixture->db_path);

  /* Nothing of the calls is left for the next test. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
restart_service (Fixture *fixture)
{
  g_clear_object (&fixture->service);
  start_service (fixture);
  set_provider (fixture, NULL);
}

/* Calls ------------------------------------------------------------- */

static gint64
create_conversation (Fixture     *fixture,
                     RflIdentity  identity,
                     const char  *title,
                     GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_create_conversation_async (fixture->service, identity, title,
                                         NULL, result_cb, &result);
  wait_for (&result, "create_conversation");
  return rfl_service_create_conversation_finish (fixture->service, result,
                                                 error);
}

static gint64
new_conversation (Fixture     *fixture,
                  RflIdentity  identity)
{
  g_autoptr(GError) error = NULL;
  gint64 id = create_conversation (fixture, identity, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

/* What one turn showed its caller. */
typedef struct
{
  GPtrArray    *texts;        /* each progress text */
  GArray       *ids;          /* its assistant message id */
  GPtrArray    *activities;
  guint         destroyed;
  gboolean      done;
  gboolean      destroyed_before_done;
  GCancellable *cancel_when_text;
  GAsyncResult *result;
} Progress;

static void
progress_init (Progress *progress)
{
  memset (progress, 0, sizeof *progress);
  progress->texts = g_ptr_array_new_with_free_func (g_free);
  progress->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  progress->activities = g_ptr_array_new_with_free_func (g_free);
}

static void
progress_clear (Progress *progress)
{
  g_ptr_array_unref (progress->texts);
  g_array_unref (progress->ids);
  g_ptr_array_unref (progress->activities);
  g_clear_object (&progress->result);
}

static void
progress_cb (const RflTurnProgress *update,
             gpointer               user_data)
{
  Progress *progress = user_data;

  g_assert_false (progress->done);
  g_assert_cmpuint (progress->destroyed, ==, 0);
  g_assert_cmpint (update->assistant_message_id, >, 0);
  g_assert_cmpuint (strlen (update->text), ==, update->text_len);

  g_ptr_array_add (progress->texts, g_strdup (update->text));
  g_array_append_val (progress->ids, update->assistant_message_id);
  if (update->activity != NULL)
    g_ptr_array_add (progress->activities, g_strdup (update->activity));

  if (progress->cancel_when_text != NULL && update->text_len > 0)
    g_cancellable_cancel (progress->cancel_when_text);
}

static void
progress_destroy (gpointer user_data)
{
  Progress *progress = user_data;

  progress->destroyed++;
  progress->destroyed_before_done = !progress->done;
}

static void
turn_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Progress *progress = user_data;

  g_assert_false (progress->done);
  progress->done = TRUE;
  progress->result = g_object_ref (result);
}

static void
start_send (Fixture      *fixture,
            RflIdentity   identity,
            gint64        conversation_id,
            const char   *text,
            Progress     *progress,
            GCancellable *cancellable)
{
  rfl_service_send_message_async (fixture->service, identity, conversation_id,
                                  text, NULL, progress_cb, progress,
                                  progress_destroy, cancellable, turn_cb,
                                  progress);
}

static RflTurn *
finish_turn (Fixture   *fixture,
             Progress  *progress,
             GError   **error)
{
  wait_for (&progress->result, "a turn");
  g_assert_cmpuint (progress->destroyed, ==, 1);
  g_assert_true (progress->destroyed_before_done);
  return rfl_service_send_message_finish (fixture->service, progress->result,
                                          error);
}

static RflTurn *
send (Fixture      *fixture,
      RflIdentity   identity,
      gint64        conversation_id,
      const char   *text,
      GError      **error)
{
  Progress progress;
  RflTurn *turn;

  progress_init (&progress);
  start_send (fixture, identity, conversation_id, text, &progress, NULL);
  turn = finish_turn (fixture, &progress, error);
  progress_clear (&progress);
  return turn;
}

static void
flush (Fixture *fixture)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rfl_service_flush_async (fixture->service, NULL, result_cb, &result);
  wait_for (&result, "flush");
  g_assert_true (rfl_service_flush_finish (fixture->service, result, &error));
  g_assert_no_error (error);
}

static GPtrArray *
list_messages (Fixture     *fixture,
               RflIdentity  identity,
               gint64       conversation_id,
               GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_list_messages_async (fixture->service, identity,
                                   conversation_id, NULL, result_cb, &result);
  wait_for (&result, "list_messages");
  return rfl_service_list_messages_finish (fixture->service, result, error);
}

static GPtrArray *
list_memories (Fixture     *fixture,
               RflIdentity  identity)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *memories;

  rfl_service_list_memories_async (fixture->service, identity, NULL,
                                   result_cb, &result);
  wait_for (&result, "list_memories");
  memories = rfl_service_list_memories_finish (fixture->service, result,
                                               &error);
  g_assert_no_error (error);
  return memories;
}

static GPtrArray *
list_conversations (Fixture     *fixture,
                    RflIdentity  identity,
                    const char  *search,
                    GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_list_conversations_async (fixture->service, identity, search,
                                        NULL, result_cb, &result);
  wait_for (&result, "list_conversations");
  return rfl_service_list_conversations_finish (fixture->service, result,
                                                error);
}

static gboolean
change_conversation (Fixture               *fixture,
                     RflIdentity            identity,
                     gint64                 conversation_id,
                     RflConversationChange  change,
                     const char            *title,
                     GError               **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_change_conversation_async (fixture->service, identity,
                                         conversation_id, change, title, NULL,
                                         result_cb, &result);
  wait_for (&result, "change_conversation");
  return rfl_service_change_conversation_finish (fixture->service, result,
                                                 error);
}

static gboolean
update_memory (Fixture     *fixture,
               RflIdentity  identity,
               gint64       memory_id,
               const char  *key,
               const char  *value,
               double       importance,
               GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_update_memory_async (fixture->service, identity, memory_id, key,
                                   value, importance, NULL, result_cb,
                                   &result);
  wait_for (&result, "update_memory");
  return rfl_service_memory_change_finish (fixture->service, result, error);
}

static gboolean
delete_memory (Fixture     *fixture,
               RflIdentity  identity,
               gint64       memory_id,
               GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_delete_memory_async (fixture->service, identity, memory_id,
                                   NULL, result_cb, &result);
  wait_for (&result, "delete_memory");
  return rfl_service_memory_change_finish (fixture->service, result, error);
}

static char *
greeting (Fixture     *fixture,
          RflIdentity  identity,
          GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_greeting_async (fixture->service, identity, NULL, result_cb,
                              &result);
  wait_for (&result, "greeting");
  return rfl_service_greeting_finish (fixture->service, result, error);
}

/* Every row of a conversation, through the test's own connection. */
static GPtrArray *
all_rows (Fixture *fixture,
          gint64   tenant_id,
          gint64   conversation_id)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  rows = rfl_chat_store_list_messages (fixture->chat, tenant_id,
                                       conversation_id, 0, 1000, &error);
  g_assert_no_error (error);
  return rows;
}

static RflMessage *
row (GPtrArray *rows,
     guint      index)
{
  g_assert_cmpuint (index, <, rows->len);
  return g_ptr_array_index (rows, index);
}

static guint64
count_usage (Fixture *fixture,
             gint64   tenant_id)
{
  g_autoptr(GPtrArray) sums = NULL;
  g_autoptr(GError) error = NULL;
  guint64 n = 0;

  sums = rfl_chat_store_sum_usage (fixture->chat, tenant_id, 0, 0,
                                   G_MAXINT64, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < sums->len; i++)
    n += ((RflUsageSum *) sums->pdata[i])->n_calls;

  return n;
}

static char *
request_body (Fixture *fixture,
              guint    index)
{
  g_autoptr(RflFakeLlmRequest) request = NULL;

  request = rfl_fake_llm_dup_request (fixture->fake, index);
  g_assert_nonnull (request);
  return g_strdup (request->body);
}

static guint
count_chat_requests (Fixture *fixture)
{
  return rfl_fake_llm_count_requests_for_path (fixture->fake, "/api/chat")
         + rfl_fake_llm_count_requests_for_path (fixture->fake,
                                                 "/v1/chat/completions")
         + rfl_fake_llm_count_requests_for_path (fixture->fake,
                                                 "/v1/messages");
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (json);
  node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static void
queue_text (Fixture    *fixture,
            const char *text)
{
  rfl_fake_llm_queue_reply (fixture->fake, (const char *[]) { text, NULL });
}

static void
queue_call (Fixture    *fixture,
            const char *name,
            const char *arguments)
{
  rfl_fake_llm_queue_tool_call_reply (fixture->fake,
                                      (const char *[]) { name, NULL },
                                      (const char *[]) { arguments, NULL });
}

/* Turns -------------------------------------------------------------- */

static void
test_send_message (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  Progress progress;
  RflMessage *message;
  gint64 conversation;
  const char *previous = "";

  rfl_fake_llm_set_token_delay (fixture->fake, 40);
  conversation = new_conversation (fixture, alice);

  progress_init (&progress);
  start_send (fixture, alice, conversation, "  Hi there, who are you?\n",
              &progress, NULL);
  turn = finish_turn (fixture, &progress, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (turn->text, ==, DEFAULT_REPLY);
  g_assert_cmpstr (turn->model, ==, fixture->model);
  g_assert_cmpint (turn->user_message_id, >, 0);
  g_assert_cmpint (turn->assistant_message_id, >, turn->user_message_id);
  g_assert_nonnull (turn->used_memories);
  g_assert_cmpuint (turn->n_tool_calls, ==, 0);
  g_assert_cmpuint (turn->tokens_out, >, 0);

  /* Progress grew in order, for one answer, to the whole text. */
  g_assert_cmpuint (progress.texts->len, >=, 2);
  for (guint i = 0; i < progress.texts->len; i++)
    {
      const char *text = progress.texts->pdata[i];

      g_assert_true (g_str_has_prefix (text, previous));
      g_assert_cmpint (g_array_index (progress.ids, gint64, i), ==,
                       turn->assistant_message_id);
      previous = text;
    }
  g_assert_cmpstr (previous, ==, DEFAULT_REPLY);
  progress_clear (&progress);

  messages = list_messages (fixture, alice, conversation, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  message = messages->pdata[0];
  g_assert_cmpint (message->id, ==, turn->user_message_id);
  g_assert_cmpint (message->role, ==, RFL_MESSAGE_ROLE_USER);
  g_assert_cmpstr (message->content, ==, "Hi there, who are you?");
  message = messages->pdata[1];
  g_assert_cmpint (message->id, ==, turn->assistant_message_id);
  g_assert_cmpint (message->role, ==, RFL_MESSAGE_ROLE_ASSISTANT);
  g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_COMPLETE);
  g_assert_cmpstr (message->content, ==, DEFAULT_REPLY);
  g_assert_cmpstr (message->model, ==, fixture->model);
  g_assert_null (message->error);

  /* The conversation took its title from the first message. */
  conversations = list_conversations (fixture, alice, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 1);
  g_assert_cmpstr (((RflConversation *) conversations->pdata[0])->title, ==,
                   "Hi there, who are you?");

  /* The model was told who it is, and got the message. */
  {
    g_autofree char *body = request_body (fixture, 0);

    g_assert_nonnull (strstr (body, "You are Reflection"));
    g_assert_nonnull (strstr (body, "Hi there, who are you?"));
    g_assert_nonnull (strstr (body, "calculator"));
  }

  /* The answer, then the memory extraction: one usage row each. */
  flush (fixture);
  g_assert_cmpuint (count_chat_requests (fixture), ==, 2);
  g_assert_cmpuint (count_usage (fixture, alice.tenant_id), ==, 2);
}

static void
test_history (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(RflTurn) first = NULL;
  g_autoptr(RflTurn) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  gint64 conversation = new_conversation (fixture, alice);
  guint before;

  queue_text (fixture, "Paris is the capital of France.");
  first = send (fixture, alice, conversation, "What is the capital of France?",
                &error);
  g_assert_no_error (error);
  flush (fixture);

  before = rfl_fake_llm_get_request_count (fixture->fake);
  second = send (fixture, alice, conversation, "And of Italy?", &error);
  g_assert_no_error (error);

  /* The second call carries the first exchange. */
  body = request_body (fixture, before);
  g_assert_nonnull (strstr (body, "What is the capital of France?"));
  g_assert_nonnull (strstr (body, "Paris is the capital of France."));
  g_assert_nonnull (strstr (body, "And of Italy?"));
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  Progress progress;
  RflMessage *answer;
  gint64 conversation = new_conversation (fixture, alice);

  rfl_fake_llm_set_token_delay (fixture->fake, 100);
  rfl_fake_llm_set_reply (fixture->fake, long_reply);
  progress_init (&progress);
  progress.cancel_when_text = cancellable;
  start_send (fixture, alice, conversation, "Tell me a long story",
              &progress, cancellable);
  turn = finish_turn (fixture, &progress, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (turn);
  g_assert_cmpuint (progress.texts->len, >=, 1);
  progress_clear (&progress);

  messages = list_messages (fixture, alice, conversation, NULL);
  g_assert_cmpuint (messages->len, ==, 2);
  answer = messages->pdata[1];
  g_assert_cmpint (answer->status, ==, RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpstr (answer->content, !=, "");
  g_assert_true (g_str_has_prefix (LONG_REPLY_TEXT, answer->content));
  g_assert_cmpstr (answer->content, !=, LONG_REPLY_TEXT);

  /* No memories are extracted from an interrupted turn. */
  flush (fixture);
  g_assert_cmpuint (count_chat_requests (fixture), ==, 1);
}

static void
test_provider_error (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  RflMessage *answer;
  gint64 conversation = new_conversation (fixture, alice);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 0);
  turn = send (fixture, alice, conversation, "Hello?", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);

  /* Retried, then given up. */
  g_assert_cmpuint (count_chat_requests (fixture), ==, 3);

  messages = list_messages (fixture, alice, conversation, NULL);
  g_assert_cmpuint (messages->len, ==, 2);
  answer = messages->pdata[1];
  g_assert_cmpint (answer->status, ==, RFL_MESSAGE_STATUS_ERROR);
  g_assert_cmpstr (answer->error, ==, error->message);
  g_assert_cmpstr (answer->content, ==, "");

  flush (fixture);
  g_assert_cmpuint (count_usage (fixture, alice.tenant_id), ==, 1);
}

static void
test_cut_off (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  RflMessage *answer;
  gint64 conversation = new_conversation (fixture, alice);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_DISCONNECT, 3, 0);
  turn = send (fixture, alice, conversation, "Hello?", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_nonnull (strstr (error->message, "cut off"));

  messages = list_messages (fixture, alice, conversation, NULL);
  answer = messages->pdata[1];
  g_assert_cmpint (answer->status, ==, RFL_MESSAGE_STATUS_ERROR);
  g_assert_cmpstr (answer->error, ==, error->message);
  g_assert_cmpstr (answer->content, !=, "");
  g_assert_true (g_str_has_prefix (DEFAULT_REPLY, answer->content));
}

static void
test_malformed (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  RflMessage *answer;
  gint64 conversation = new_conversation (fixture, alice);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_MALFORMED, 2, 0);
  turn = send (fixture, alice, conversation, "Hello?", &error);
  g_assert_null (turn);
  g_assert_nonnull (error);
  g_assert_true (error->domain == RFL_ERROR);
  g_assert_cmpstr (error->message, !=, "");

  messages = list_messages (fixture, alice, conversation, NULL);
  answer = messages->pdata[1];
  g_assert_cmpint (answer->status, ==, RFL_MESSAGE_STATUS_ERROR);
  g_assert_cmpstr (answer->error, ==, error->message);
}

static void
test_bad_input (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  RflTurn *turn;
  gint64 conversation = new_conversation (fixture, alice);

  turn = send (fixture, alice, conversation, "   \n ", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  turn = send (fixture, alice, conversation, "bad \xff text", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  turn = send (fixture, alice, 999999, "Hello", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A deleted conversation takes no message. */
  g_assert_true (change_conversation (fixture, alice, conversation,
                                      RFL_CONVERSATION_DELETE, NULL, &error));
  turn = send (fixture, alice, conversation, "Hello", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  rows = all_rows (fixture, alice.tenant_id, conversation);
  g_assert_cmpuint (rows->len, ==, 0);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 0);
}

static void
test_no_provider (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *line = NULL;
  RflTurn *turn;
  gint64 conversation;

  g_clear_object (&fixture->service);
  start_service (fixture);
  conversation = new_conversation (fixture, alice);

  turn = send (fixture, alice, conversation, "Hello", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  rows = all_rows (fixture, alice.tenant_id, conversation);
  g_assert_cmpuint (rows->len, ==, 0);

  /* A greeting still comes. */
  line = greeting (fixture, alice, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (line, "Reflection"));

  rfl_service_list_models_async (fixture->service, NULL, result_cb, &result);
  wait_for (&result, "list_models");
  g_assert_null (rfl_service_list_models_finish (fixture->service, result,
                                                 &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

static void
test_protocols (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  gint64 conversation = new_conversation (fixture, alice);
  gboolean found = FALSE;

  rfl_fake_llm_set_token_delay (fixture->fake, 5);
  turn = send (fixture, alice, conversation, "Hi", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (turn->text, ==, DEFAULT_REPLY);

  rfl_service_list_models_async (fixture->service, NULL, result_cb, &result);
  wait_for (&result, "list_models");
  models = rfl_service_list_models_finish (fixture->service, result, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < models->len; i++)
    found |= g_str_equal (((RflModelInfo *) models->pdata[i])->name,
                          fixture->model);
  g_assert_true (found);
}

static void
test_regenerate (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(RflTurn) first = NULL;
  g_autoptr(RflTurn) second = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) metadata = NULL;
  g_autofree char *body = NULL;
  Progress progress;
  JsonArray *supersedes;
  gint64 conversation = new_conversation (fixture, alice);
  guint before;

  first = send (fixture, alice, conversation, "Pick a number", &error);
  g_assert_no_error (error);
  flush (fixture);

  before = rfl_fake_llm_get_request_count (fixture->fake);
  queue_text (fixture, "Seven.");
  progress_init (&progress);
  rfl_service_regenerate_async (fixture->service, alice, conversation, NULL,
                                progress_cb, &progress, progress_destroy,
                                NULL, turn_cb, &progress);
  second = finish_turn (fixture, &progress, &error);
  g_assert_no_error (error);
  progress_clear (&progress);
  g_assert_cmpstr (second->text, ==, "Seven.");
  g_assert_cmpint (second->user_message_id, ==, first->user_message_id);

  /* The earlier answer is not shown and not given to the model again. */
  body = request_body (fixture, before);
  g_assert_nonnull (strstr (body, "Pick a number"));
  g_assert_null (strstr (body, DEFAULT_REPLY));

  messages = list_messages (fixture, alice, conversation, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (((RflMessage *) messages->pdata[1])->content, ==, "Seven.");

  /* But it is kept. */
  rows = all_rows (fixture, alice.tenant_id, conversation);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (row (rows, 1)->content, ==, DEFAULT_REPLY);
  metadata = parse_object (row (rows, 2)->metadata);
  supersedes = json_object_get_array_member (metadata, "supersedes");
  g_assert_cmpuint (json_array_get_length (supersedes), ==, 1);
  g_assert_cmpint (json_array_get_int_element (supersedes, 0), ==,
                   first->assistant_message_id);

  /* A conversation without a message cannot be answered again. */
  {
    gint64 empty = new_conversation (fixture, alice);
    RflTurn *none;

    progress_init (&progress);
    rfl_service_regenerate_async (fixture->service, alice, empty, NULL,
                                  progress_cb, &progress, progress_destroy,
                                  NULL, turn_cb, &progress);
    none = finish_turn (fixture, &progress, &error);
    g_assert_null (none);
    g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
    progress_clear (&progress);
  }
}

static gboolean
row_has_text (Fixture *fixture,
              gint64   message_id,
              char   **status)
{
  g_autoptr(RflMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  message = rfl_chat_store_get_message (fixture->chat, alice.tenant_id,
                                        message_id, &error);
  g_assert_no_error (error);
  *status = g_strdup (rfl_message_status_to_string (message->status));
  return *message->content != '\0';
}

static void
test_flushed_while_streaming (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Progress progress;
  RflTurn *turn;
  gint64 conversation = new_conversation (fixture, alice);
  gint64 answer_id = 0;
  gboolean seen = FALSE;
  gint64 deadline;

  rfl_fake_llm_set_token_delay (fixture->fake, 150);
  rfl_fake_llm_set_reply (fixture->fake, long_reply);
  progress_init (&progress);
  start_send (fixture, alice, conversation, "Go slowly", &progress,
              cancellable);

  /* While the answer still streams, what arrived is already in the
   * database, for a crash to find. */
  deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (!seen && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
      if (progress.ids->len > 0)
        {
          g_autofree char *status = NULL;

          answer_id = g_array_index (progress.ids, gint64, 0);
          seen = row_has_text (fixture, answer_id, &status);
          g_assert_cmpstr (status, ==, "streaming");
        }
    }
  g_assert_true (seen);
  g_assert_false (progress.done);

  g_cancellable_cancel (cancellable);
  turn = finish_turn (fixture, &progress, &error);
  g_assert_null (turn);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  progress_clear (&progress);
}

static void
test_shutdown_mid_stream (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  Progress progress;
  RflTurn *turn;
  gint64 conversation = new_conversation (fixture, alice);

  rfl_fake_llm_set_token_delay (fixture->fake, 100);
  rfl_fake_llm_set_reply (fixture->fake, long_reply);
  progress_init (&progress);
  start_send (fixture, alice, conversation, "Go on", &progress, NULL);
  while (progress.texts->len == 0
         || *(const char *) g_ptr_array_index (progress.texts,
                                               progress.texts->len - 1) == '\0')
    g_main_context_iteration (NULL, TRUE);

  rfl_service_shutdown (fixture->service);
  turn = finish_turn (fixture, &progress, &error);
  g_assert_null (turn);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  progress_clear (&progress);

  rows = all_rows (fixture, alice.tenant_id, conversation);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpint (row (rows, 1)->status, ==, RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpstr (row (rows, 1)->content, !=, "");

  /* Calls after shutdown fail at once. */
  rfl_service_list_identities_async (fixture->service, NULL, result_cb,
                                     &result);
  wait_for (&result, "list_identities");
  g_assert_null (rfl_service_list_identities_finish (fixture->service, result,
                                                     &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
}

/* Memories ------------------------------------------------------------- */

#define EXTRACTED_NAME \
  "{\"memories\": [{\"kind\": \"fact\", \"key\": \"name\", \"value\": \"Ada\"," \
  " \"importance\": 0.9}]}"
#define EXTRACTED_NAME_AGAIN \
  "{\"memories\": [{\"kind\": \"fact\", \"key\": \"Name\", \"value\": \"Ada\"," \
  " \"importance\": 0.7}]}"

static void
test_extraction (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(RflTurn) first = NULL;
  g_autoptr(RflTurn) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  RflMemory *memory;
  gint64 conversation = new_conversation (fixture, alice);

  queue_text (fixture, "Nice to meet you, Ada!");
  queue_text (fixture, EXTRACTED_NAME);
  first = send (fixture, alice, conversation, "Hi, my name is Ada.", &error);
  g_assert_no_error (error);
  flush (fixture);

  /* The extraction asked for structured output about that exchange. */
  body = request_body (fixture, 1);
  g_assert_nonnull (strstr (body, "\"format\""));
  g_assert_nonnull (strstr (body, "Hi, my name is Ada."));
  g_assert_nonnull (strstr (body, "Nice to meet you, Ada!"));

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 1);
  memory = memories->pdata[0];
  g_assert_cmpstr (memory->key, ==, "name");
  g_assert_cmpstr (memory->value, ==, "Ada");
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_FACT);
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.9, 1e-9);
  g_assert_cmpuint (memory->mentions, ==, 1);
  g_assert_cmpint (memory->source_message_id, ==, first->user_message_id);
  g_clear_pointer (&memories, g_ptr_array_unref);

  /* The same fact again is merged, not added; the prompt listed it. */
  queue_text (fixture, "Yes, I remember.");
  queue_text (fixture, EXTRACTED_NAME_AGAIN);
  second = send (fixture, alice, conversation, "I'm Ada, remember?", &error);
  g_assert_no_error (error);
  flush (fixture);

  g_clear_pointer (&body, g_free);
  body = request_body (fixture, 3);
  g_assert_nonnull (strstr (body, "fact | name: Ada"));

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 1);
  memory = memories->pdata[0];
  g_assert_cmpuint (memory->mentions, ==, 2);
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.9, 1e-9);

  /* Another user knows nothing of it. */
  g_clear_pointer (&memories, g_ptr_array_unref);
  memories = list_memories (fixture, bob);
  g_assert_cmpuint (memories->len, ==, 0);

  g_assert_cmpuint (count_usage (fixture, alice.tenant_id), ==, 4);
}

static void
test_extraction_garbage (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  gint64 conversation = new_conversation (fixture, alice);

  queue_text (fixture, "Sure.");
  queue_text (fixture, "I am not JSON at all");
  turn = send (fixture, alice, conversation, "I like tea.", &error);
  g_assert_no_error (error);
  flush (fixture);

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 0);
}

static gint64
seed_memory (Fixture       *fixture,
             RflIdentity    identity,
             RflMemoryKind  kind,
             const char    *key,
             const char    *value,
             double         importance)
{
  g_autoptr(RflMemory) memory = rfl_memory_new (kind, key, value);
  g_autoptr(GError) error = NULL;
  gint64 id;

  memory->importance = importance;
  id = rfl_memory_store_upsert (fixture->memories, identity.tenant_id,
                                identity.user_id, memory, NULL, 0, NULL,
                                &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static void
test_retrieval (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(JsonObject) metadata = NULL;
  g_autofree char *body = NULL;
  JsonArray *used;
  gint64 colour, conversation;
  gboolean found = FALSE;

  /* Memories written before the service starts, as a previous run
   * would have left them. */
  g_clear_object (&fixture->service);
  colour = seed_memory (fixture, alice, RFL_MEMORY_KIND_PREFERENCE,
                        "favourite colour", "green", 0.8);
  seed_memory (fixture, alice, RFL_MEMORY_KIND_FACT, "job", "nurse", 0.9);
  seed_memory (fixture, bob, RFL_MEMORY_KIND_PREFERENCE, "favourite colour",
               "purple", 0.9);
  restart_service (fixture);

  conversation = new_conversation (fixture, alice);
  turn = send (fixture, alice, conversation, "What is my favourite colour?",
               &error);
  g_assert_no_error (error);

  for (guint i = 0; i < turn->used_memories->len; i++)
    {
      RflMemory *memory = turn->used_memories->pdata[i];

      g_assert_cmpint (memory->user_id, ==, alice.user_id);
      found |= memory->id == colour;
    }
  g_assert_true (found);
  g_assert_cmpint (((RflMemory *) turn->used_memories->pdata[0])->id, ==,
                   colour);

  /* The model was given the memory, and not Bob's. */
  body = request_body (fixture, 0);
  g_assert_nonnull (strstr (body, "favourite colour: green"));
  g_assert_null (strstr (body, "purple"));

  /* The answer says which memories it used. */
  messages = list_messages (fixture, alice, conversation, &error);
  g_assert_no_error (error);
  metadata = parse_object (((RflMessage *) messages->pdata[1])->metadata);
  used = json_object_get_array_member (metadata, "memories");
  g_assert_nonnull (used);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (used, 0), "id"),
                   ==, colour);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (used, 0), "value"),
                   ==, "green");

  /* Using a memory marks it. */
  {
    g_autoptr(RflMemory) memory = rfl_memory_store_get (fixture->memories,
                                                        alice.tenant_id,
                                                        colour, &error);
    g_assert_no_error (error);
    g_assert_cmpint (memory->last_used_at, >, 0);
  }
}

static void
test_memory_api (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GError) error = NULL;
  RflMemory *memory;
  gint64 drink, city;

  g_clear_object (&fixture->service);
  drink = seed_memory (fixture, alice, RFL_MEMORY_KIND_PREFERENCE, "drink",
                       "coffee", 0.4);
  city = seed_memory (fixture, alice, RFL_MEMORY_KIND_FACT, "city", "Lyon",
                      0.8);
  restart_service (fixture);

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 2);
  g_assert_cmpint (((RflMemory *) memories->pdata[0])->id, ==, city);
  g_clear_pointer (&memories, g_ptr_array_unref);

  g_assert_true (update_memory (fixture, alice, drink, NULL, "tea", -1,
                                &error));
  g_assert_no_error (error);
  g_assert_true (update_memory (fixture, alice, drink, "hot drink", NULL,
                                0.95, &error));
  g_assert_no_error (error);

  memories = list_memories (fixture, alice);
  memory = memories->pdata[0];
  g_assert_cmpint (memory->id, ==, drink);
  g_assert_cmpstr (memory->key, ==, "hot drink");
  g_assert_cmpstr (memory->value, ==, "tea");
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.95, 1e-9);
  g_clear_pointer (&memories, g_ptr_array_unref);

  /* Bad values change nothing. */
  g_assert_false (update_memory (fixture, alice, drink, NULL, NULL, 1.5,
                                 &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (update_memory (fixture, alice, drink, "", NULL, -1,
                                 &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (update_memory (fixture, alice, 424242, "x", NULL, -1,
                                 &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (delete_memory (fixture, alice, city, &error));
  g_assert_no_error (error);
  g_assert_false (delete_memory (fixture, alice, city, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 1);
  memory = memories->pdata[0];
  g_assert_cmpstr (memory->key, ==, "hot drink");
}

static void
test_remote_embedder (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *vector = NULL;
  g_autofree char *embedder_id = NULL;
  gint64 conversation;
  guint dims = 0;

  set_provider (fixture, "nomic-embed-text");
  flush (fixture);
  g_assert_cmpuint (rfl_fake_llm_count_requests_for_path (fixture->fake,
                                                          "/api/embed"),
                    >=, 1);

  conversation = new_conversation (fixture, alice);
  queue_text (fixture, "Nice to meet you, Ada!");
  queue_text (fixture, EXTRACTED_NAME);
  turn = send (fixture, alice, conversation, "Hi, my name is Ada.", &error);
  g_assert_no_error (error);
  flush (fixture);

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 1);

  /* The memory's vector was made by the provider's model. */
  g_assert_true (rfl_vector_store_get (fixture->vectors, alice.tenant_id,
                                       RFL_VECTOR_KIND_MEMORY,
                                       ((RflMemory *) memories->pdata[0])->id,
                                       &vector, &dims, &embedder_id, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (embedder_id, ==, "ollama:nomic-embed-text");
  g_assert_cmpuint (dims, ==, 64);

  /* And back to the built-in embedder. */
  set_provider (fixture, NULL);
  flush (fixture);
  g_clear_pointer (&vector, g_free);
  g_clear_pointer (&embedder_id, g_free);
  g_assert_true (rfl_vector_store_get (fixture->vectors, alice.tenant_id,
                                       RFL_VECTOR_KIND_MEMORY,
                                       ((RflMemory *) memories->pdata[0])->id,
                                       &vector, &dims, &embedder_id, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (embedder_id, ==, RFL_HASH_EMBEDDER_ID);
}

/* Tools -------------------------------------------------------------- */

static GPtrArray *
tool_rows (GPtrArray *rows)
{
  GPtrArray *tools = g_ptr_array_new ();

  for (guint i = 0; i < rows->len; i++)
    if (row (rows, i)->role == RFL_MESSAGE_ROLE_TOOL)
      g_ptr_array_add (tools, rows->pdata[i]);

  return tools;
}

static void
test_tool_calculator (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(JsonObject) metadata = NULL;
  g_autofree char *body = NULL;
  JsonArray *calls;
  JsonObject *call;
  gint64 conversation = new_conversation (fixture, alice);

  queue_call (fixture, "calculator", "{\"expression\": \"1234 * 5678\"}");
  queue_text (fixture, "That makes 7006652.");
  turn = send (fixture, alice, conversation, "What is 1234 times 5678?",
               &error);
  g_assert_no_error (error);
  g_assert_cmpstr (turn->text, ==, "That makes 7006652.");
  g_assert_cmpuint (turn->n_tool_calls, ==, 1);

  /* The second call carries the tool's result. */
  body = request_body (fixture, 1);
  g_assert_nonnull (strstr (body, "7006652"));

  /* Stored: the step that called the tool, its result, the answer. */
  rows = all_rows (fixture, alice.tenant_id, conversation);
  g_assert_cmpuint (rows->len, ==, 4);
  g_assert_cmpint (row (rows, 1)->role, ==, RFL_MESSAGE_ROLE_ASSISTANT);
  g_assert_cmpint (row (rows, 1)->status, ==, RFL_MESSAGE_STATUS_COMPLETE);
  g_assert_cmpint (row (rows, 2)->role, ==, RFL_MESSAGE_ROLE_TOOL);
  g_assert_cmpstr (row (rows, 2)->content, ==, "7006652");
  g_assert_cmpint (row (rows, 3)->id, ==, turn->assistant_message_id);

  /* Shown: the question and the answer, which tells what it used. */
  messages = list_messages (fixture, alice, conversation, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  metadata = parse_object (((RflMessage *) messages->pdata[1])->metadata);
  calls = json_object_get_array_member (metadata, "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 1);
  call = json_array_get_object_element (calls, 0);
  g_assert_cmpstr (json_object_get_string_member (call, "name"), ==,
                   "calculator");
  g_assert_cmpstr (json_object_get_string_member (call, "result"), ==,
                   "7006652");
  g_assert_true (json_object_get_boolean_member (call, "allowed"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (call, "arguments"),
                                                  "expression"),
                   ==, "1234 * 5678");

  /* Two calls for the answer, one for the extraction. */
  flush (fixture);
  g_assert_cmpuint (count_usage (fixture, alice.tenant_id), ==, 3);
}

static void
test_tool_progress (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Progress progress;
  RflTurn *turn;
  gint64 conversation = new_conversation (fixture, alice);
  gint64 last_id;

  rfl_fake_llm_set_token_delay (fixture->fake, 30);
  queue_call (fixture, "calculator", "{\"expression\": \"2 + 2\"}");
  queue_text (fixture, "It is 4.");
  progress_init (&progress);
  start_send (fixture, alice, conversation, "2 + 2?", &progress, NULL);
  turn = finish_turn (fixture, &progress, &error);
  g_assert_no_error (error);

  /* The final answer streamed into a row of its own. */
  last_id = g_array_index (progress.ids, gint64, progress.ids->len - 1);
  g_assert_cmpint (last_id, ==, turn->assistant_message_id);
  g_assert_cmpint (g_array_index (progress.ids, gint64, 0), <, last_id);
  g_assert_cmpstr (progress.texts->pdata[progress.texts->len - 1], ==,
                   "It is 4.");

  rfl_turn_free (turn);
  progress_clear (&progress);
}

static void
test_tool_memory (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RflTurn) saved = NULL;
  g_autoptr(RflTurn) searched = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autofree char *body = NULL;
  RflMemory *memory;
  gint64 conversation = new_conversation (fixture, alice);
  guint before;

  queue_call (fixture, "memory_save",
              "{\"key\": \"favourite food\", \"value\": \"pasta\","
              " \"kind\": \"preference\", \"importance\": 0.7}");
  queue_text (fixture, "I will remember that.");
  queue_text (fixture, "{\"memories\": []}");
  saved = send (fixture, alice, conversation,
                "Remember that my favourite food is pasta.", &error);
  g_assert_no_error (error);
  flush (fixture);

  memories = list_memories (fixture, alice);
  g_assert_cmpuint (memories->len, ==, 1);
  memory = memories->pdata[0];
  g_assert_cmpstr (memory->key, ==, "favourite food");
  g_assert_cmpstr (memory->value, ==, "pasta");
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_PREFERENCE);
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.7, 1e-9);
  g_assert_cmpint (memory->source_message_id, ==, saved->user_message_id);

  before = rfl_fake_llm_get_request_count (fixture->fake);
  queue_call (fixture, "memory_search", "{\"query\": \"food\"}");
  queue_text (fixture, "You like pasta.");
  searched = send (fixture, alice, conversation, "What food do I like?",
                   &error);
  g_assert_no_error (error);
  g_assert_cmpstr (searched->text, ==, "You like pasta.");

  body = request_body (fixture, before + 1);
  g_assert_nonnull (strstr (body, "pasta"));

  rows = all_rows (fixture, alice.tenant_id, conversation);
  tools = tool_rows (rows);
  g_assert_cmpuint (tools->len, ==, 2);
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[0])->content,
                            "favourite food"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[1])->content,
                            "\"value\":\"pasta\""));
}

static void
test_tool_disabled (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(JsonObject) metadata = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  RflMessage *tool;
  gint64 conversation = new_conversation (fixture, alice);

  queue_call (fixture, "shell_run", "{\"command\": \"touch pwned\"}");
  queue_text (fixture, "I am not allowed to run commands.");
  turn = send (fixture, alice, conversation, "Run touch pwned", &error);
  g_assert_no_error (error);

  /* It was not offered, and it was refused. */
  first = request_body (fixture, 0);
  g_assert_null (strstr (first, "shell_run"));
  g_assert_nonnull (strstr (first, "memory_search"));

  rows = all_rows (fixture, alice.tenant_id, conversation);
  tools = tool_rows (rows);
  g_assert_cmpuint (tools->len, ==, 1);
  tool = tools->pdata[0];
  g_assert_nonnull (strstr (tool->content, "not allowed"));
  metadata = parse_object (tool->metadata);
  g_assert_false (json_object_get_boolean_member (metadata, "allowed"));
  g_assert_cmpstr (json_object_get_string_member (metadata, "name"), ==,
                   "shell_run");

  second = request_body (fixture, 1);
  g_assert_nonnull (strstr (second, "not allowed"));

  {
    g_autofree char *pwned = g_build_filename (g_get_home_dir (), "pwned",
                                               NULL);
    g_assert_false (g_file_test (pwned, G_FILE_TEST_EXISTS));
  }

  /* An unknown tool is refused the same way (once the first turn's
   * extraction has had its reply). */
  flush (fixture);
  {
    g_autoptr(RflTurn) other = NULL;
    g_autoptr(GPtrArray) more = NULL;
    g_autoptr(GPtrArray) more_tools = NULL;

    queue_call (fixture, "format_disk", "{}");
    queue_text (fixture, "No.");
    other = send (fixture, alice, conversation, "Format the disk", &error);
    g_assert_no_error (error);
    more = all_rows (fixture, alice.tenant_id, conversation);
    more_tools = tool_rows (more);
    g_assert_cmpuint (more_tools->len, ==, 2);
    g_assert_nonnull (strstr (((RflMessage *) more_tools->pdata[1])->content,
                              "no tool named"));
  }
}

static void
enable_tool (Fixture    *fixture,
             const char *tool)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rfl_chat_store_set_tool_enabled (fixture->chat,
                                                  alice.tenant_id, tool, TRUE,
                                                  &error));
  g_assert_no_error (error);
}

static void
test_tool_enabled (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  g_autofree char *notes = NULL;
  g_autofree char *version_url = NULL;
  g_autofree char *fetch_ok = NULL;
  g_autofree char *first = NULL;
  gint64 conversation = new_conversation (fixture, alice);

  enable_tool (fixture, "file_read");
  enable_tool (fixture, "shell_run");
  enable_tool (fixture, "web_fetch");

  notes = g_build_filename (g_get_home_dir (), "notes.txt", NULL);
  g_mkdir_with_parents (g_get_home_dir (), 0700);
  g_assert_true (g_file_set_contents (notes, "The secret word is aubergine.",
                                      -1, NULL));
  version_url = g_strconcat (rfl_fake_llm_get_url (fixture->fake),
                             "/api/version", NULL);
  fetch_ok = g_strdup_printf ("{\"url\": \"%s\"}", version_url);

  rfl_fake_llm_queue_tool_call_reply (fixture->fake,
    (const char *[]) { "file_read", "file_read", "shell_run", "web_fetch",
                       "web_fetch", NULL },
    (const char *[]) { "{\"path\": \"notes.txt\"}",
                       "{\"path\": \"/etc/hostname\"}",
                       "{\"command\": \"echo visible; echo \\\"[$RFL_TEST_SECRET]\\\"\"}",
                       fetch_ok,
                       "{\"url\": \"file:///etc/passwd\"}",
                       NULL });
  queue_text (fixture, "Done.");
  turn = send (fixture, alice, conversation, "Use your tools", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (turn->n_tool_calls, ==, 5);

  first = request_body (fixture, 0);
  g_assert_nonnull (strstr (first, "shell_run"));

  rows = all_rows (fixture, alice.tenant_id, conversation);
  tools = tool_rows (rows);
  g_assert_cmpuint (tools->len, ==, 5);
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[0])->content,
                            "aubergine"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[1])->content,
                            "outside the home folder"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[2])->content,
                            "visible"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[2])->content, "[]"));
  g_assert_null (strstr (((RflMessage *) tools->pdata[2])->content,
                         "hunter2"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[3])->content,
                            "0.5.7"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[4])->content,
                            "not an http"));
}

static void
test_tool_shell_timeout (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  gint64 conversation = new_conversation (fixture, alice);
  gint64 started;

  enable_tool (fixture, "shell_run");
  g_mkdir_with_parents (g_get_home_dir (), 0700);

  queue_call (fixture, "shell_run",
              "{\"command\": \"echo started; sleep 30; echo never\"}");
  queue_text (fixture, "It took too long.");
  started = g_get_monotonic_time ();
  turn = send (fixture, alice, conversation, "Sleep", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 15 * G_USEC_PER_SEC);

  rows = all_rows (fixture, alice.tenant_id, conversation);
  tools = tool_rows (rows);
  g_assert_cmpuint (tools->len, ==, 1);
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[0])->content,
                            "stopped after 5 seconds"));
  g_assert_nonnull (strstr (((RflMessage *) tools->pdata[0])->content,
                            "started"));
  g_assert_null (strstr (((RflMessage *) tools->pdata[0])->content, "never"));
}

static void
test_step_limit (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  RflMessage *last;
  gint64 conversation = new_conversation (fixture, alice);

  for (guint i = 1; i <= 8; i++)
    {
      g_autofree char *arguments = NULL;

      arguments = g_strdup_printf ("{\"expression\": \"1 + %u\"}", i);
      queue_call (fixture, "calculator", arguments);
    }

  turn = send (fixture, alice, conversation, "Count forever", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "6 steps"));
  g_assert_cmpuint (count_chat_requests (fixture), ==, 6);

  rows = all_rows (fixture, alice.tenant_id, conversation);
  last = row (rows, rows->len - 1);
  g_assert_cmpint (last->role, ==, RFL_MESSAGE_ROLE_ASSISTANT);
  g_assert_cmpint (last->status, ==, RFL_MESSAGE_STATUS_ERROR);
  g_assert_cmpstr (last->error, ==, error->message);

  /* Five tools ran; the sixth call's was not. */
  {
    g_autoptr(GPtrArray) tools = tool_rows (rows);

    g_assert_cmpuint (tools->len, ==, 5);
  }

  flush (fixture);
  g_assert_cmpuint (count_usage (fixture, alice.tenant_id), ==, 6);
}

static void
test_repeated_call (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  RflMessage *last;
  gint64 conversation = new_conversation (fixture, alice);

  queue_call (fixture, "calculator", "{\"expression\": \"2+2\"}");
  queue_call (fixture, "calculator", "{ \"expression\" : \"2+2\" }");
  queue_text (fixture, "never used");

  turn = send (fixture, alice, conversation, "Loop", &error);
  g_assert_null (turn);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "calculator"));
  g_assert_nonnull (strstr (error->message, "same arguments"));
  g_assert_cmpuint (count_chat_requests (fixture), ==, 2);

  rows = all_rows (fixture, alice.tenant_id, conversation);
  tools = tool_rows (rows);
  g_assert_cmpuint (tools->len, ==, 1);
  last = row (rows, rows->len - 1);
  g_assert_cmpint (last->status, ==, RFL_MESSAGE_STATUS_ERROR);
}

/* Greeting ------------------------------------------------------------- */

static void
test_greeting_new_user (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *named = NULL;

  /* An empty chat is no history. */
  new_conversation (fixture, alice);
  line = greeting (fixture, alice, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (line, "Reflection"));
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 0);

  /* The tenant's own name for its assistant. */
  g_assert_true (rfl_database_set_setting (fixture->db, "tenant.1.agent_name",
                                           "Max", &error));
  g_assert_no_error (error);
  g_assert_cmpint (alice.tenant_id, ==, 1);
  named = greeting (fixture, alice, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (named, "Max"));
}

static void
test_greeting_history (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(RflTurn) turn = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *fallback = NULL;
  g_autofree char *body = NULL;
  gint64 conversation = new_conversation (fixture, alice);
  guint before;

  queue_text (fixture, "Good luck with the exam!");
  queue_text (fixture, EXTRACTED_NAME);
  turn = send (fixture, alice, conversation, "My exam is on Friday", &error);
  g_assert_no_error (error);
  flush (fixture);
  new_conversation (fixture, alice);

  before = rfl_fake_llm_get_request_count (fixture->fake);
  queue_text (fixture, "\"Welcome back, Ada! How did the exam go?\"");
  line = greeting (fixture, alice, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "Welcome back, Ada! How did the exam go?");

  body = request_body (fixture, before);
  g_assert_nonnull (strstr (body, "My exam is on Friday"));
  g_assert_nonnull (strstr (body, "name: Ada"));

  /* A provider failure falls back to the template, never to an error. */
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 0);
  fallback = greeting (fixture, alice, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (fallback, "“My exam is on Friday”"));

  flush (fixture);
  g_assert_cmpuint (count_usage (fixture, alice.tenant_id), ==, 4);
}

/* Scoping -------------------------------------------------------------- */

static void
assert_not_found (GError **error)
{
  g_assert_error (*error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (error);
}

static void
test_tenant_scoping (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) carols = NULL;
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(RflTurn) turn = NULL;
  RflIdentity forged = { carol.tenant_id, alice.user_id };
  RflIdentity nobody = { alice.tenant_id, 424242 };
  RflIdentity others[] = { carol, bob };
  gint64 memory, chat;
  RflTurn *none;

  g_clear_object (&fixture->service);
  memory = seed_memory (fixture, alice, RFL_MEMORY_KIND_FACT, "name", "Ada",
                        0.9);
  restart_service (fixture);

  chat = create_conversation (fixture, alice, "Private", &error);
  g_assert_no_error (error);
  turn = send (fixture, alice, chat, "Hello", &error);
  g_assert_no_error (error);
  flush (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      RflIdentity other = others[i];
      g_autoptr(GPtrArray) lists = NULL;
      g_autoptr(GPtrArray) memories = NULL;
      g_autoptr(GPtrArray) messages = NULL;
      Progress progress;

      messages = list_messages (fixture, other, chat, &error);
      g_assert_null (messages);
      assert_not_found (&error);

      g_assert_false (change_conversation (fixture, other, chat,
                                           RFL_CONVERSATION_RENAME, "Mine",
                                           &error));
      assert_not_found (&error);
      g_assert_false (change_conversation (fixture, other, chat,
                                           RFL_CONVERSATION_DELETE, NULL,
                                           &error));
      assert_not_found (&error);

      none = send (fixture, other, chat, "Let me in", &error);
      g_assert_null (none);
      assert_not_found (&error);

      progress_init (&progress);
      rfl_service_regenerate_async (fixture->service, other, chat, NULL,
                                    progress_cb, &progress, progress_destroy,
                                    NULL, turn_cb, &progress);
      none = finish_turn (fixture, &progress, &error);
      g_assert_null (none);
      assert_not_found (&error);
      progress_clear (&progress);

      lists = list_conversations (fixture, other, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (lists->len, ==, 0);

      memories = list_memories (fixture, other);
      for (guint j = 0; j < memories->len; j++)
        g_assert_cmpint (((RflMemory *) memories->pdata[j])->id, !=, memory);

      g_assert_false (update_memory (fixture, other, memory, "name", "Eve",
                                     -1, &error));
      assert_not_found (&error);
      g_assert_false (delete_memory (fixture, other, memory, &error));
      assert_not_found (&error);
    }

  /* An identity that mixes tenants, or names no user, is no one. */
  g_assert_null (list_conversations (fixture, forged, NULL, &error));
  assert_not_found (&error);
  g_assert_null (list_conversations (fixture, nobody, NULL, &error));
  assert_not_found (&error);
  g_assert_null (list_messages (fixture, forged, chat, &error));
  assert_not_found (&error);
  g_assert_cmpint (create_conversation (fixture, forged, NULL, &error), ==, 0);
  assert_not_found (&error);
  {
    g_autofree char *line = greeting (fixture, forged, &error);

    g_assert_null (line);
    assert_not_found (&error);
  }

  /* Nothing changed. */
  conversation = rfl_chat_store_get_conversation (fixture->chat,
                                                  alice.tenant_id, chat,
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (conversation->title, ==, "Private");
  g_assert_cmpint (conversation->deleted_at, ==, 0);
  rows = all_rows (fixture, alice.tenant_id, chat);
  g_assert_cmpuint (rows->len, ==, 2);

  mine = list_memories (fixture, alice);
  g_assert_cmpuint (mine->len, >=, 1);
  for (guint j = 0; j < mine->len; j++)
    if (((RflMemory *) mine->pdata[j])->id == memory)
      g_assert_cmpstr (((RflMemory *) mine->pdata[j])->value, ==, "Ada");

  carols = list_conversations (fixture, carol, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (carols->len, ==, 0);
}

static void
test_list_identities (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) identities = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentityInfo *info;

  rfl_service_list_identities_async (fixture->service, NULL, result_cb,
                                     &result);
  wait_for (&result, "list_identities");
  identities = rfl_service_list_identities_finish (fixture->service, result,
                                                   &error);
  g_assert_no_error (error);
  g_assert_cmpuint (identities->len, ==, 3);

  info = identities->pdata[0];
  g_assert_cmpint (info->tenant_id, ==, alice.tenant_id);
  g_assert_cmpstr (info->tenant_name, ==, "Acme");
  g_assert_cmpint (info->user_id, ==, alice.user_id);
  g_assert_cmpstr (info->email, ==, "alice@acme.test");
  g_assert_cmpstr (info->display_name, ==, "Alice");
  g_assert_cmpstr (info->role, ==, "tenant_admin");

  info = identities->pdata[1];
  g_assert_cmpint (info->user_id, ==, bob.user_id);
  g_assert_cmpstr (info->role, ==, "member");

  info = identities->pdata[2];
  g_assert_cmpint (info->tenant_id, ==, carol.tenant_id);
  g_assert_cmpstr (info->tenant_name, ==, "Beta");
  g_assert_cmpint (info->user_id, ==, carol.user_id);
}

static void
test_conversations (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *long_title = g_strnfill (300, 'x');
  gint64 garden, taxes;

  garden = create_conversation (fixture, alice, "Garden plans", &error);
  g_assert_no_error (error);
  taxes = create_conversation (fixture, alice, "Taxes", &error);
  g_assert_no_error (error);

  g_assert_cmpint (create_conversation (fixture, alice, long_title, &error),
                   ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  all = list_conversations (fixture, alice, "", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_cmpint (((RflConversation *) all->pdata[0])->id, ==, taxes);

  found = list_conversations (fixture, alice, "gard", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (((RflConversation *) found->pdata[0])->id, ==, garden);

  g_assert_true (change_conversation (fixture, alice, garden,
                                      RFL_CONVERSATION_RENAME, "Vegetables",
                                      &error));
  g_assert_no_error (error);
  g_assert_false (change_conversation (fixture, alice, garden,
                                       RFL_CONVERSATION_RENAME, long_title,
                                       &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_true (change_conversation (fixture, alice, taxes,
                                      RFL_CONVERSATION_DELETE, NULL, &error));
  g_assert_no_error (error);
  after = list_conversations (fixture, alice, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, 1);
  g_assert_cmpstr (((RflConversation *) after->pdata[0])->title, ==,
                   "Vegetables");
  g_clear_pointer (&after, g_ptr_array_unref);

  g_assert_true (change_conversation (fixture, alice, taxes,
                                      RFL_CONVERSATION_RESTORE, NULL, &error));
  g_assert_no_error (error);
  after = list_conversations (fixture, alice, NULL, &error);
  g_assert_cmpuint (after->len, ==, 2);
}

/* Crash -------------------------------------------------------------- */

/* The database of the crash test: the child knows it by its parent. */
static char *
dup_crash_path (void)
{
  return g_strdup_printf ("%s/rfl-service-crash-%d.db", g_get_tmp_dir (),
                          (int) (g_test_subprocess () ? getppid ()
                                                      : getpid ()));
}

static void
crash_child (void)
{
  g_autofree char *path = dup_crash_path ();
  g_autoptr(RflFakeLlm) fake = rfl_fake_llm_new ();
  g_autoptr(RflService) service = NULL;
  g_autoptr(GPtrArray) identities = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;
  RflProviderConfig config = { RFL_PROVIDER_OLLAMA, NULL, NULL,
                               "llama3.2:3b", NULL };
  RflIdentity user = { 0 };
  Progress progress;
  gint64 conversation;

  g_assert_true (rfl_fake_llm_start (fake, &error));
  rfl_fake_llm_set_token_delay (fake, 100);
  rfl_fake_llm_set_reply (fake, long_reply);

  service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);
  config.url = rfl_fake_llm_get_url (fake);
  rfl_service_set_provider (service, &config);

  rfl_service_list_identities_async (service, NULL, result_cb, &result);
  wait_for (&result, "list_identities");
  identities = rfl_service_list_identities_finish (service, result, &error);
  g_assert_no_error (error);
  user.tenant_id = ((RflIdentityInfo *) identities->pdata[0])->tenant_id;
  user.user_id = ((RflIdentityInfo *) identities->pdata[0])->user_id;
  g_clear_object (&result);

  rfl_service_create_conversation_async (service, user, "Crash", NULL,
                                         result_cb, &result);
  wait_for (&result, "create_conversation");
  conversation = rfl_service_create_conversation_finish (service, result,
                                                         &error);
  g_assert_no_error (error);

  progress_init (&progress);
  rfl_service_send_message_async (service, user, conversation, "Tell me",
                                  NULL, progress_cb, &progress,
                                  progress_destroy, NULL, turn_cb, &progress);

  /* Some of the answer has arrived and had time to be flushed; then the
   * process dies without any chance to clean up. */
  while (progress.texts->len == 0
         || strlen (progress.texts->pdata[progress.texts->len - 1]) < 8)
    g_main_context_iteration (NULL, TRUE);
  g_usleep (400 * 1000);
  g_assert_false (progress.done);

  raise (SIGKILL);
}

static void
test_crash (void)
{
  g_autofree char *path = NULL;
  g_autofree char *wal = NULL;
  g_autofree char *shm = NULL;
  g_autoptr(GFile) source = NULL;
  g_autoptr(GFile) target = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflService) service = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) after = NULL;
  Fixture own = { 0 };
  RflMessage *answer;
  gint64 conversation;

  if (g_test_subprocess ())
    {
      crash_child ();
      return;
    }

  path = dup_crash_path ();
  wal = g_strconcat (path, "-wal", NULL);
  shm = g_strconcat (path, "-shm", NULL);
  source = g_file_new_for_path (template_path);
  target = g_file_new_for_path (path);
  g_file_copy (source, target, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL,
               &error);
  g_assert_no_error (error);

  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  /* As the crash left it: the answer still "streaming", with what had
   * been flushed. */
  own.db_path = path;
  open_own (&own);
  conversations = rfl_chat_store_list_conversations (own.chat,
                                                     alice.tenant_id,
                                                     alice.user_id, NULL,
                                                     RFL_CONVERSATION_LIST_ACTIVE,
                                                     0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, 1);
  conversation = ((RflConversation *) conversations->pdata[0])->id;

  rows = all_rows (&own, alice.tenant_id, conversation);
  g_assert_cmpuint (rows->len, ==, 2);
  g_assert_cmpint (row (rows, 0)->status, ==, RFL_MESSAGE_STATUS_COMPLETE);
  g_assert_cmpstr (row (rows, 0)->content, ==, "Tell me");
  answer = row (rows, 1);
  g_assert_cmpint (answer->status, ==, RFL_MESSAGE_STATUS_STREAMING);
  g_assert_cmpuint (strlen (answer->content), >=, 8);
  g_assert_true (g_str_has_prefix (LONG_REPLY_TEXT, answer->content));
  g_assert_cmpstr (answer->content, !=, LONG_REPLY_TEXT);

  /* The next start keeps it, marked interrupted. */
  service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);
  after = all_rows (&own, alice.tenant_id, conversation);
  g_assert_cmpint (row (after, 1)->status, ==,
                   RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpstr (row (after, 1)->content, ==, answer->content);

  g_clear_object (&service);
  close_own (&own);
  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
}

/* Quotas ----------------------------------------------------------- */

static void
set_quotas (Fixture              *fixture,
            RflIdentity           identity,
            const RflQuotaLimits *limits)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RflAdminResult) admin = NULL;
  g_autoptr(GError) error = NULL;
  RflAdminRequest request = { 0 };

  request.op = RFL_ADMIN_SET_QUOTAS;
  request.tenant_id = identity.tenant_id;
  request.limits = *limits;
  rfl_service_admin_async (fixture->service, identity, &request, NULL,
                           result_cb, &result);
  wait_for (&result, "set quotas");
  admin = rfl_service_admin_finish (fixture->service, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (admin);
}

static gint64
count_rows (Fixture    *fixture,
            const char *sql)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GError) error = NULL;

  stmt = _rfl_database_prepare (fixture->db, sql, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static void
test_quota_limits (Fixture       *fixture,
                   gconstpointer  data)
{
  RflQuotaLimits limits = { 0, 100, 0, 0 };
  RflQuotaLimits unlimited = { 0 };
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflTurn) answer = NULL;
  g_autoptr(GError) error = NULL;
  gint64 conversation = new_conversation (fixture, alice);
  gint64 other = new_conversation (fixture, carol);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RflAdminResult) report = NULL;
  RflAdminRequest request = { 0 };
  const RflAdminRejections *rejections;
  guint n_requests;

  /* Set in the console: the next desktop turn is refused, before the
   * model is asked and before anything is stored. */
  set_quotas (fixture, alice, &limits);
  answer = send (fixture, alice, conversation, "What is the capital of France?",
                 &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_QUOTA_EXCEEDED);
  g_assert_null (answer);
  g_assert_nonnull (strstr (error->message, "100 tokens per day"));
  g_clear_error (&error);
  g_assert_cmpuint (count_chat_requests (fixture), ==, 0);
  messages = list_messages (fixture, alice, conversation, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 0);
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* Another tenant has its own quota. */
  answer = send (fixture, carol, other, "Hello", &error);
  g_assert_no_error (error);
  g_assert_nonnull (answer);
  g_clear_pointer (&answer, rfl_turn_free);
  flush (fixture);
  n_requests = count_chat_requests (fixture);
  g_assert_cmpuint (n_requests, >, 0);

  /* The limits come back from tenant_quotas after a restart. */
  restart_service (fixture);
  answer = send (fixture, bob, new_conversation (fixture, bob), "Hello",
                 &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_QUOTA_EXCEEDED);
  g_assert_nonnull (strstr (error->message, "100 tokens per day"));
  g_clear_error (&error);
  g_assert_null (answer);
  g_assert_cmpuint (count_chat_requests (fixture), ==, n_requests);

  /* Both refusals are recorded for the usage report. */
  g_assert_cmpint (count_rows (fixture,
                               "SELECT count (*) FROM quota_rejections "
                               "WHERE limit_name = 'tokens_per_day'"), ==, 2);

  /* The usage report counts them per day and limit. */
  request.op = RFL_ADMIN_SUM_USAGE;
  request.tenant_id = alice.tenant_id;
  rfl_service_admin_async (fixture->service, alice, &request, NULL,
                           result_cb, &result);
  wait_for (&result, "sum usage");
  report = rfl_service_admin_finish (fixture->service, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (report->rejections);
  g_assert_cmpuint (report->rejections->len, ==, 1);
  rejections = g_ptr_array_index (report->rejections, 0);
  g_assert_cmpstr (rejections->limit, ==, "tokens_per_day");
  g_assert_cmpuint (rejections->count, ==, 2);
  g_assert_cmpuint (strlen (rejections->day), ==, 10);

  /* Lifting the limit takes effect at once. */
  set_quotas (fixture, alice, &unlimited);
  answer = send (fixture, alice, conversation, "Hello", &error);
  g_assert_no_error (error);
  g_assert_nonnull (answer);
  g_assert_cmpint (count_rows (fixture,
                               "SELECT count (*) FROM quota_rejections"),
                   ==, 2);
}

static void
test_quota_seeded (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(RflQuotaManager) quota = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) month = NULL;
  g_autoptr(RflTurn) answer = NULL;
  g_autoptr(GError) error = NULL;
  RflUsageRecord record = { 0 };
  RflQuotaUsage usage = { 0 };
  guint64 month_only = 0;
  gint64 month_start;

  month = g_date_time_new_utc (g_date_time_get_year (now),
                               g_date_time_get_month (now), 1, 0, 0, 0);
  month_start = g_date_time_to_unix (month) * 1000;

  record.user_id = alice.user_id;
  record.model = "llama3.2:3b";
  record.provider = "ollama";

  /* Today. */
  record.tokens_in = 300;
  record.tokens_out = 200;
  g_assert_true (rfl_chat_store_record_usage (fixture->chat, alice.tenant_id,
                                              &record, &error));
  g_assert_no_error (error);
  /* Last month: not counted. */
  record.tokens_in = 5000;
  record.created_at = month_start - 1000;
  g_assert_true (rfl_chat_store_record_usage (fixture->chat, alice.tenant_id,
                                              &record, &error));
  /* Earlier this month, when today is not the first. */
  if (g_date_time_get_day_of_month (now) > 1)
    {
      record.tokens_in = 40;
      record.tokens_out = 2;
      record.created_at = month_start;
      month_only = 42;
      g_assert_true (rfl_chat_store_record_usage (fixture->chat,
                                                  alice.tenant_id, &record,
                                                  &error));
    }
  g_assert_no_error (error);

  restart_service (fixture);
  quota = rfl_service_dup_quota (fixture->service);
  rfl_quota_manager_get_usage (quota, alice.tenant_id, g_get_real_time (),
                               &usage);
  g_assert_cmpuint (usage.day_used, ==, 500);
  g_assert_cmpuint (usage.month_used, ==, 500 + month_only);
  rfl_quota_manager_get_usage (quota, carol.tenant_id, g_get_real_time (),
                               &usage);
  g_assert_cmpuint (usage.day_used, ==, 0);

  /* A desktop turn is settled with the tokens it used. */
  answer = send (fixture, alice, new_conversation (fixture, alice), "Hello",
                 &error);
  g_assert_no_error (error);
  g_assert_cmpuint (answer->tokens_in + answer->tokens_out, >, 0);
  rfl_quota_manager_get_usage (quota, alice.tenant_id, g_get_real_time (),
                               &usage);
  g_assert_cmpuint (usage.day_used, ==,
                    500 + answer->tokens_in + answer->tokens_out);
  g_assert_cmpuint (usage.day_reserved, ==, 0);
  g_assert_cmpuint (usage.in_flight, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  static const struct { const char *name; RflProviderKind kind; } protocols[] = {
    { "ollama", RFL_PROVIDER_OLLAMA },
    { "openai", RFL_PROVIDER_OPENAI },
    { "anthropic", RFL_PROVIDER_ANTHROPIC },
  };
  static const struct
  {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } cases[] = {
    { "send-message", test_send_message },
    { "history", test_history },
    { "cancel", test_cancel },
    { "provider-error", test_provider_error },
    { "cut-off", test_cut_off },
    { "malformed", test_malformed },
    { "bad-input", test_bad_input },
    { "no-provider", test_no_provider },
    { "regenerate", test_regenerate },
    { "flushed-while-streaming", test_flushed_while_streaming },
    { "shutdown-mid-stream", test_shutdown_mid_stream },
    { "extraction", test_extraction },
    { "extraction-garbage", test_extraction_garbage },
    { "retrieval", test_retrieval },
    { "memory-api", test_memory_api },
    { "remote-embedder", test_remote_embedder },
    { "tool-calculator", test_tool_calculator },
    { "tool-progress", test_tool_progress },
    { "tool-memory", test_tool_memory },
    { "tool-disabled", test_tool_disabled },
    { "tool-enabled", test_tool_enabled },
    { "tool-shell-timeout", test_tool_shell_timeout },
    { "step-limit", test_step_limit },
    { "repeated-call", test_repeated_call },
    { "greeting-new-user", test_greeting_new_user },
    { "greeting-history", test_greeting_history },
    { "tenant-scoping", test_tenant_scoping },
    { "list-identities", test_list_identities },
    { "conversations", test_conversations },
    { "quota-limits", test_quota_limits },
    { "quota-seeded", test_quota_seeded },
  };
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* What the shell tool must not pass on to commands; set before any
   * thread starts. */
  g_setenv ("RFL_TEST_SECRET", "hunter2", TRUE);
  /* The crash test's child runs on its parent's database. */
  if (!g_test_subprocess ())
    make_template ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rfl/service/%s",
                                               cases[i].name);

      g_test_add (path, Fixture, GINT_TO_POINTER (RFL_PROVIDER_OLLAMA),
                  fixture_setup, cases[i].func, fixture_teardown);
    }

  /* The other wire protocols, end to end. */
  for (guint i = 1; i < G_N_ELEMENTS (protocols); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rfl/service/protocol-%s",
                                               protocols[i].name);

      g_test_add (path, Fixture, GINT_TO_POINTER (protocols[i].kind),
                  fixture_setup, test_protocols, fixture_teardown);
    }
  {
    g_autofree char *path = g_strdup ("/rfl/service/protocol-anthropic-tools");

    g_test_add (path, Fixture, GINT_TO_POINTER (RFL_PROVIDER_ANTHROPIC),
                fixture_setup, test_tool_calculator, fixture_teardown);
  }

  g_test_add_func ("/rfl/service/crash", test_crash);

  status = g_test_run ();
  if (template_dir != NULL)
    remove_template ();
  return status;
}
