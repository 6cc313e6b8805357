/* bench-ingest.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

/* Message ingest through RflChatStore, in batches (one transaction each),
 * into a fresh database in a temporary directory:
 *
 *   embed only   the hash embedder alone on the same texts (no database)
 *   rows + fts   messages and their full-text entries, no vectors
 *   full         messages, full-text entries, hash embeddings, vector rows
 *                and the in-memory index, each batch committed and applied
 *                to the index before the next
 *   full, single the same, one message per transaction (as a chat does),
 *                for the first min (N, 5000) messages
 *
 *   bench-ingest [N [BATCH]]     (default: 100000 messages, batches of 1000)
 *
 * Texts are 8–40 words drawn from a fixed vocabulary with a fixed seed.
 * Prints one table row per phase: messages, seconds, messages per second;
 * then the database size and a hybrid search over the result. */

#include "config.h"

#include <glib/gstdio.h>
#include <stdio.h>

#include "llm/rfl-hash-embedder.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"
#include "store/rfl-vector-store.h"

static const char * const vocabulary[] = {
  "the", "a", "of", "and", "to", "in", "is", "it", "that", "for", "on",
  "with", "as", "was", "at", "by", "this", "from", "or", "but", "not",
  "what", "all", "were", "when", "we", "there", "can", "an", "your",
  "which", "their", "said", "if", "do", "will", "each", "about", "how",
  "up", "out", "them", "then", "she", "many", "some", "so", "these",
  "would", "other", "into", "has", "more", "her", "two", "like", "him",
  "see", "time", "could", "no", "make", "than", "first", "been", "its",
  "who", "now", "people", "my", "made", "over", "did", "down", "only",
  "way", "find", "use", "may", "water", "long", "little", "very", "after",
  "words", "called", "just", "where", "most", "know", "garden", "tomato",
  "recipe", "train", "ticket", "meeting", "doctor", "appointment",
  "holiday", "mountain", "river", "coffee", "tea", "bread", "bicycle",
  "project", "deadline", "invoice", "contract", "birthday", "sister",
  "brother", "daughter", "music", "piano", "guitar", "running",
  "marathon", "knee", "medicine", "allergy", "peanuts", "weather",
  "snow", "summer", "winter", "library", "novel", "poem", "museum",
  "painting", "kitchen", "oven", "recipe", "dinner", "breakfast",
  "café", "naïve", "Zürich", "Ärzte", "São", "Paulo", "東京", "データ",
};

typedef struct
{
  guint64 state;
} Rng;

static guint64
rng_next (Rng *rng)
{
  guint64 z = (rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static char *
make_text (Rng *rng)
{
  GString *text = g_string_new (NULL);
  guint n_words = 8 + rng_next (rng) % 33;

  for (guint i = 0; i < n_words; i++)
    {
      if (i > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, vocabulary[rng_next (rng)
                                        % G_N_ELEMENTS (vocabulary)]);
    }
  g_string_append_c (text, '.');

  return g_string_free (text, FALSE);
}

static void
print_row (const char *phase,
           guint       n,
           double      seconds)
{
  printf ("| %-12s | %9u | %8.2f | %12.0f |\n", phase, n, seconds,
          n / seconds);
  fflush (stdout);
}

static gint64
add_user (RflDatabase *db,
          gint64       tenant)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL;

  sql = g_strdup_printf ("INSERT INTO users (tenant_id, email, password_hash)"
                         " VALUES (%" G_GINT64_FORMAT ", 'bench@example.org',"
                         " 'x')", tenant);
  if (!_rfl_database_exec (db, sql, &error))
    g_error ("%s", error->message);
  return sqlite3_last_insert_rowid (_rfl_database_get_handle (db));
}

/* Ingests @messages into a new database at @path, @batch to a
 * conversation, @batch_size per transaction; with @embedder, as the
 * application does, with vectors and the index. */
static double
ingest (const char        *path,
        RflMessage       **messages,
        guint              n,
        guint              batch,
        guint              batch_size,
        RflVectorEmbedder *embedder,
        gint64            *out_tenant)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(RflChatStore) chat = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = NULL;
  g_autofree gint64 *ids = g_new (gint64, batch);
  gint64 tenant, user;

  db = rfl_database_open (path, &error);
  if (db == NULL)
    g_error ("%s", error->message);
  if (embedder != NULL)
    {
      vectors = rfl_vector_store_new (db, embedder, &error);
      /* The index exists from the start, as in the running service. */
      rfl_vector_store_load_all (vectors, &error);
    }
  chat = rfl_chat_store_new (db, vectors);

  tenant = rfl_database_create_tenant (db, "Bench", "business", &error);
  user = add_user (db, tenant);
  if (vectors != NULL)
    rfl_vector_store_count (vectors, tenant, RFL_VECTOR_KIND_MESSAGE, &error);
  if (error != NULL)
    g_error ("%s", error->message);

  timer = g_timer_new ();
  for (guint done = 0; done < n; done += batch)
    {
      guint count = MIN (batch, n - done);
      gint64 conversation;

      conversation = rfl_chat_store_create_conversation (chat, tenant, user,
                                                         "Bench", &error);
      if (conversation == 0)
        g_error ("%s", error->message);

      for (guint i = 0; i < count; i += batch_size)
        {
          if (!rfl_chat_store_append_messages (chat, tenant, conversation,
                                               messages + done + i,
                                               MIN (batch_size, count - i),
                                               ids, &error))
            g_error ("%s", error->message);
        }
    }
  g_timer_stop (timer);

  if (vectors != NULL
      && rfl_vector_store_count (vectors, tenant, RFL_VECTOR_KIND_MESSAGE,
                                 NULL) != n)
    g_error ("the index holds %zu vectors, not %u",
             rfl_vector_store_count (vectors, tenant, RFL_VECTOR_KIND_MESSAGE,
                                     NULL), n);

  if (out_tenant != NULL)
    *out_tenant = tenant;
  return g_timer_elapsed (timer, NULL);
}

static double
embed_only (RflMessage **messages,
            guint        n)
{
  g_autoptr(GTimer) timer = g_timer_new ();
  float vector[RFL_HASH_EMBEDDER_DIMS];

  for (guint i = 0; i < n; i++)
    rfl_hash_embedder_embed (messages[i]->content, -1, vector);

  return g_timer_elapsed (timer, NULL);
}

static goffset
file_size (const char *path)
{
  GStatBuf buf;
  goffset total = 0;
  const char *suffixes[] = { "", "-wal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *name = g_strconcat (path, suffixes[i], NULL);

      if (g_stat (name, &buf) == 0)
        total += buf.st_size;
    }

  return total;
}

static void
remove_database (const char *path)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *name = g_strconcat (path, suffixes[i], NULL);

      g_unlink (name);
    }
}

static void
search_after (const char        *path,
              RflVectorEmbedder *embedder,
              gint64             tenant)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = NULL;
  const char *queries[] = {
    "doctor appointment knee", "train ticket to Zürich", "tomato recipe",
    "sister birthday dinner", "marathon running winter",
  };
  double load;

  db = rfl_database_open (path, &error);
  vectors = rfl_vector_store_new (db, embedder, &error);

  timer = g_timer_new ();
  if (!rfl_vector_store_load_all (vectors, &error))
    g_error ("%s", error->message);
  load = g_timer_elapsed (timer, NULL);
  printf ("\nindex rebuilt at start: %zu vectors in %.2f s\n",
          rfl_vector_store_count (vectors, tenant, RFL_VECTOR_KIND_MESSAGE,
                                  NULL), load);

  g_timer_start (timer);
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(GArray) hits = NULL;

      hits = rfl_vector_store_search_hybrid (vectors, tenant,
                                             RFL_VECTOR_KIND_MESSAGE, 0,
                                             queries[i], NULL, 0, 10, &error);
      if (hits == NULL)
        g_error ("%s", error->message);
    }
  printf ("hybrid search (vector top-20 + bm25 top-20, RRF): %.1f ms per "
          "query\n",
          g_timer_elapsed (timer, NULL) * 1000 / G_N_ELEMENTS (queries));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *plain_path = NULL;
  g_autofree char *full_path = NULL;
  RflMessage **messages;
  Rng rng = { 0x7265666c };
  guint n = 100000;
  guint batch = 1000;
  gint64 tenant = 0;
  double seconds;

  if (argc > 1)
    n = (guint) g_ascii_strtoull (argv[1], NULL, 10);
  if (argc > 2)
    batch = (guint) g_ascii_strtoull (argv[2], NULL, 10);
  if (n == 0 || batch == 0 || batch > RFL_CHAT_STORE_MAX_BATCH)
    {
      fprintf (stderr, "usage: bench-ingest [N [BATCH (1–%d)]]\n",
               RFL_CHAT_STORE_MAX_BATCH);
      return 2;
    }

  dir = g_dir_make_tmp ("rfl-bench-ingest-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  plain_path = g_build_filename (dir, "plain.db", NULL);
  full_path = g_build_filename (dir, "full.db", NULL);

  messages = g_new (RflMessage *, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = make_text (&rng);

      messages[i] = rfl_message_new (i % 2 ? RFL_MESSAGE_ROLE_ASSISTANT
                                           : RFL_MESSAGE_ROLE_USER, text);
    }

  printf ("Ingest of %u messages in batches of %u (SQLite %s)\n\n", n, batch,
          sqlite3_libversion ());
  printf ("| %-12s | %9s | %8s | %12s |\n", "phase", "messages", "seconds",
          "messages/s");
  printf ("|--------------|-----------|----------|--------------|\n");

  print_row ("embed only", n, embed_only (messages, n));

  seconds = ingest (plain_path, messages, n, batch, batch, NULL, NULL);
  print_row ("rows + fts", n, seconds);
  remove_database (plain_path);

  seconds = ingest (plain_path, messages, MIN (n, 5000), batch, 1, hash,
                    NULL);
  print_row ("full, single", MIN (n, 5000), seconds);
  remove_database (plain_path);

  seconds = ingest (full_path, messages, n, batch, batch, hash, &tenant);
  print_row ("full", n, seconds);

  printf ("\ndatabase with vectors: %.1f MiB\n",
          file_size (full_path) / (1024.0 * 1024.0));
  search_after (full_path, hash, tenant);

  for (guint i = 0; i < n; i++)
    rfl_message_free (messages[i]);
  g_free (messages);
  remove_database (full_path);
  g_rmdir (dir);

  return 0;
}
