/* test-crash-recovery.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

/* Kills a process for real in the middle of a streamed answer. The test
 * runs this program again as a child ("--crash-child PATH ROUND"), which
 * writes completed messages and then streams an answer forever; once some
 * of the answer is committed, the parent sends SIGKILL. At the next open
 * every completed message must be there, the partial answer must be kept
 * and marked interrupted, and PRAGMA integrity_check must say ok. */

#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "core/rfl-error.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"
#include "store/rfl-vector-store.h"

#define N_ROUNDS        3
#define N_COMPLETE      10      /* completed messages per round */
#define WAIT_FOR_BYTES  400     /* of the answer committed before the kill */
#define CHILD_LIFETIME  (30 * G_USEC_PER_SEC)

/* The answer the child streams: "w0 w1 w2 …". */
static char *
delta_text (guint i)
{
  return g_strdup_printf ("w%u ", i);
}

static char *
complete_text (guint round,
               guint i)
{
  return g_strdup_printf ("completed message %u of round %u", i, round);
}

/* The child ------------------------------------------------------------- */

static gint64
find_user (RflDatabase  *db,
           GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (db, "SELECT id FROM users "
                                    "WHERE email = 'crash@example.org'",
                                error);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return 0;

  return sqlite3_column_int64 (stmt, 0);
}

static gint64
child_setup (RflDatabase   *db,
             RflChatStore  *chat,
             GError       **error)
{
  gint64 tenant, user;

  tenant = rfl_database_find_tenant (db, "Crash", error);
  if (tenant == 0 && (tenant = rfl_database_create_tenant (db, "Crash",
                                                           "privacy",
                                                           error)) == 0)
    return 0;

  /* Inserted directly: hashing a password takes a while. */
  if (!_rfl_database_exec (db, "INSERT OR IGNORE INTO users (tenant_id, "
                                "email, password_hash) SELECT id, "
                                "'crash@example.org', 'x' FROM tenants",
                           error)
      || (user = find_user (db, error)) == 0)
    return 0;

  return rfl_chat_store_create_conversation (chat, tenant, user, "Crash",
                                             error);
}

static int
run_child (const char *path,
           guint       round)
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(RflChatStore) chat = NULL;
  g_autoptr(RflChatStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  gint64 tenant, conversation, start;

  if (!(db = rfl_database_open (path, &error))
      || !(vectors = rfl_vector_store_new (db, hash, &error)))
    goto fail;

  /* As every start does. */
  chat = rfl_chat_store_new (db, vectors);
  if (!rfl_chat_store_recover_interrupted (chat, NULL, &error))
    goto fail;

  conversation = child_setup (db, chat, &error);
  if (conversation == 0)
    goto fail;
  tenant = rfl_database_find_tenant (db, "Crash", &error);

  for (guint i = 0; i < N_COMPLETE; i++)
    {
      g_autofree char *text = complete_text (round, i);
      g_autoptr(RflMessage) message = NULL;

      message = rfl_message_new (i % 2 ? RFL_MESSAGE_ROLE_ASSISTANT
                                       : RFL_MESSAGE_ROLE_USER, text);
      if (rfl_chat_store_append_message (chat, tenant, conversation, message,
                                         &error) == 0)
        goto fail;
    }

  stream = rfl_chat_store_begin_stream (chat, tenant, conversation,
                                        "crash-model", &error);
  if (stream == NULL)
    goto fail;
  rfl_chat_stream_set_flush_policy (stream, 20, 64);

  /* Until killed; a child left behind stops by itself. */
  start = g_get_monotonic_time ();
  for (guint i = 0; g_get_monotonic_time () - start < CHILD_LIFETIME; i++)
    {
      g_autofree char *delta = delta_text (i);

      if (!rfl_chat_stream_append (stream, delta, &error))
        goto fail;
      g_usleep (500);
    }

  return 3;

fail:
  fprintf (stderr, "crash child: %s\n",
           error != NULL ? error->message : "failed");
  return 2;
}

/* The parent ------------------------------------------------------------ */

/* Bytes of the streaming answer committed so far, through a read-only
 * connection of its own; -1 while there is none. */
static gint64
committed_bytes (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 bytes = -1;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return -1;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
    {
      sqlite3_busy_timeout (db, 1000);
      if (sqlite3_prepare_v2 (db, "SELECT length (content) FROM messages "
                                  "WHERE status = 'streaming'",
                              -1, &stmt, NULL) == SQLITE_OK
          && sqlite3_step (stmt) == SQLITE_ROW)
        bytes = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
    }
  sqlite3_close (db);

  return bytes;
}

static GPid
spawn_child (const char *path,
             guint       round)
{
  g_autofree char *self = NULL;
  g_autofree char *round_arg = g_strdup_printf ("%u", round);
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  self = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);

  {
    const char *argv[] = { self, "--crash-child", path, round_arg, NULL };

    g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                   NULL, NULL, &pid, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpint (pid, >, 0);

  return pid;
}

/* Waits until the child has committed part of its answer, then kills it.
 * Returns how many bytes were committed before the kill. */
static gint64
kill_mid_answer (const char *path,
                 GPid        pid)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  gint64 bytes;
  int status = 0;

  while ((bytes = committed_bytes (path)) < WAIT_FOR_BYTES)
    {
      /* The child must not have ended on its own. */
      g_assert_cmpint (waitpid (pid, &status, WNOHANG), ==, 0);
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          g_error ("the child committed no answer in time");
        }
      g_usleep (5 * 1000);
    }

  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  g_spawn_close_pid (pid);

  return bytes;
}

static char *
integrity (RflDatabase *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (db),
                                       "PRAGMA integrity_check", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
}

static void
check_after_crash (const char *path,
                   guint       round,
                   gint64      committed)
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(RflChatStore) chat = NULL;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *check = NULL;
  RflConversation *conversation;
  RflMessage *partial;
  gint64 tenant;
  guint n_recovered = 0;

  db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  check = integrity (db);
  g_assert_cmpstr (check, ==, "ok");

  vectors = rfl_vector_store_new (db, hash, &error);
  chat = rfl_chat_store_new (db, vectors);
  g_assert_true (rfl_chat_store_recover_interrupted (chat, &n_recovered,
                                                     &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_recovered, ==, 1);

  tenant = rfl_database_find_tenant (db, "Crash", &error);
  conversations = rfl_chat_store_list_conversations (chat, tenant,
                                                     find_user (db, NULL), NULL,
                                                     RFL_CONVERSATION_LIST_ACTIVE,
                                                     0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (conversations->len, ==, round + 1);

  /* The conversation of this round: the newest. */
  conversation = conversations->pdata[0];
  g_assert_cmpuint (conversation->n_messages, ==, N_COMPLETE + 1);
  messages = rfl_chat_store_list_messages (chat, tenant, conversation->id, 0,
                                           100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, N_COMPLETE + 1);

  /* Every completed message, complete. */
  for (guint i = 0; i < N_COMPLETE; i++)
    {
      RflMessage *message = messages->pdata[i];
      g_autofree char *text = complete_text (round, i);

      g_assert_cmpint (message->status, ==, RFL_MESSAGE_STATUS_COMPLETE);
      g_assert_cmpstr (message->content, ==, text);
    }

  /* The partial answer: kept, interrupted, at least what was seen
   * committed, and exactly the start of what was streamed. */
  partial = messages->pdata[N_COMPLETE];
  g_assert_cmpint (partial->status, ==, RFL_MESSAGE_STATUS_INTERRUPTED);
  g_assert_cmpint (partial->role, ==, RFL_MESSAGE_ROLE_ASSISTANT);
  g_assert_cmpstr (partial->model, ==, "crash-model");
  g_assert_cmpint ((gint64) strlen (partial->content), >=, committed);
  for (guint i = 0; expected->len < strlen (partial->content); i++)
    {
      g_autofree char *delta = delta_text (i);

      g_string_append (expected, delta);
    }
  g_assert_true (g_str_has_prefix (expected->str, partial->content));

  /* Searchable and embedded now that it stopped streaming. */
  {
    g_autoptr(GArray) hits = NULL;
    gboolean found = FALSE;

    hits = rfl_vector_store_search_hybrid (vectors, tenant,
                                           RFL_VECTOR_KIND_MESSAGE, 0,
                                           "w1 w2 w3", NULL, 0, 50, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < hits->len; i++)
      found |= g_array_index (hits, RflHybridHit, i).id == partial->id;
    g_assert_true (found);
  }

  /* Still consistent after the recovery. */
  g_clear_pointer (&check, g_free);
  check = integrity (db);
  g_assert_cmpstr (check, ==, "ok");
}

static void
test_sigkill (void)
{
  g_autofree char *path = NULL;

  path = g_build_filename (g_get_user_data_dir (), "reflection",
                           "reflection.db", NULL);

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      GPid pid = spawn_child (path, round);
      gint64 committed = kill_mid_answer (path, pid);

      g_test_message ("round %u: killed with %" G_GINT64_FORMAT " bytes of "
                      "the answer committed", round, committed);
      check_after_crash (path, round, committed);
    }
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && g_str_equal (argv[1], "--crash-child"))
    return run_child (argv[2], (guint) g_ascii_strtoull (argv[3], NULL, 10));

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/crash-recovery/sigkill", test_sigkill);

  return g_test_run ();
}
