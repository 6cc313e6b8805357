/* bench-api.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

/* Helpers for benchmarking `reflection serve`:
 *
 *   bench-api seed DATA-DIR [N]
 *     Creates the database of DATA-DIR (as `reflection serve --data-dir`
 *     opens it) with a tenant, a member, an API key with every scope and N
 *     memories of that member (default 10000; hashing embedder, in batches
 *     of 1000 per transaction). Prints "api_key=…", "user_id=…",
 *     "tenant_id=…" and "memories=…", one a line.
 *
 *   bench-api relay REFLECTION [TOKENS [DELAY-MS [RUNS]]]
 *     Streams a chat answer of TOKENS tokens (default 50), one every
 *     DELAY-MS milliseconds (default 5), RUNS times (default 20, after one
 *     warm-up run each), (a) straight from an in-process OpenAI-compatible
 *     token source and (b) through `REFLECTION serve` configured with that
 *     source as its provider (POST /v1/chat/completions, "stream": true,
 *     each over its own kept-alive connection, the runs interleaved). The
 *     source writes into every token the monotonic time at which it hands
 *     the chunk to its connection; the client takes the arrival time, so
 *     each token event has a latency on one clock, with no drift of the
 *     source's timer in it. Prints the median, p90, p99 and maximum
 *     latency per token event both ways, and of the difference between the
 *     two paired by run and token: what the relay adds. Fails unless every
 *     run brings every token once and in order. */

#include "config.h"

#include <curl/curl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rfl-paths.h"
#include "core/rfl-signing-key.h"
#include <libsoup/soup.h>
#include "store/rfl-auth-store.h"
#include "store/rfl-database.h"
#include "store/rfl-memory-store.h"
#include "store/rfl-vector-store.h"

#define SIGNING_KEY_FILE "jwt-signing-key"
#define FAKE_MODEL       "gpt-4o-mini"

static const char * const vocabulary[] = {
  "garden", "tomato", "recipe", "train", "ticket", "meeting", "doctor",
  "appointment", "holiday", "mountain", "river", "coffee", "tea", "bread",
  "bicycle", "project", "deadline", "invoice", "contract", "birthday",
  "sister", "brother", "daughter", "music", "piano", "guitar", "running",
  "marathon", "knee", "medicine", "allergy", "peanuts", "weather", "snow",
  "summer", "winter", "library", "novel", "poem", "museum", "painting",
  "kitchen", "oven", "dinner", "breakfast", "café", "Zürich", "lake",
  "forest", "island", "harbour", "violin", "chess", "football", "tennis",
  "swimming", "yoga", "cat", "dog", "horse", "parrot", "apple", "pear",
  "cherry", "lemon", "olive", "cheese", "soup", "pasta", "rice", "curry",
  "spanish", "german", "french", "japanese", "physics", "history",
  "algebra", "poetry", "photography", "camera", "telescope", "planet",
  "moon", "sunrise", "morning", "evening", "monday", "friday", "weekend",
  "office", "school", "hospital", "station", "airport", "bridge", "tower",
  "castle", "village", "city", "market", "bakery", "pharmacy", "dentist",
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
make_text (Rng  *rng,
           guint min_words,
           guint max_words)
{
  GString *text = g_string_new (NULL);
  guint n_words = min_words + (guint) (rng_next (rng) % (max_words - min_words + 1));

  for (guint i = 0; i < n_words; i++)
    {
      if (i > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, vocabulary[rng_next (rng) % G_N_ELEMENTS (vocabulary)]);
    }

  return g_string_free (text, FALSE);
}

/* seed ---------------------------------------------------------------- */

static int
seed_main (const char *data_dir,
           guint       n_memories)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db_path = rfl_paths_dup_database_path (data_dir);
  g_autofree char *key_path = g_build_filename (data_dir, SIGNING_KEY_FILE, NULL);
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflSigningKey) key = NULL;
  g_autoptr(RflAuthStore) auth = NULL;
  g_autoptr(RflVectorEmbedder) embedder = NULL;
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(RflMemoryStore) memories = NULL;
  g_autofree char *api_key = NULL;
  gint64 tenant_id;
  gint64 user_id;
  guint inserted = 0;
  gint64 start;
  Rng rng = { 42 };

  if (!rfl_paths_ensure_writable (data_dir, &error))
    goto fail;

  db = rfl_database_open (db_path, &error);
  if (db == NULL)
    goto fail;
  key = rfl_signing_key_load_or_create_file (key_path, &error);
  if (key == NULL)
    goto fail;

  tenant_id = rfl_database_create_tenant (db, "Bench", NULL, &error);
  if (tenant_id == 0)
    goto fail;
  user_id = rfl_database_create_user (db, tenant_id, "bench@example.com", "Bench",
                                      "bench-password", RFL_ROLE_MEMBER, &error);
  if (user_id == 0)
    goto fail;

  auth = rfl_auth_store_new (db, key);
  api_key = rfl_auth_store_create_api_key (auth, tenant_id, "bench", RFL_API_SCOPES_ALL,
                                           NULL, NULL, &error);
  if (api_key == NULL)
    goto fail;

  embedder = rfl_vector_embedder_new_hash ();
  vectors = rfl_vector_store_new (db, embedder, &error);
  if (vectors == NULL)
    goto fail;
  memories = rfl_memory_store_new (db, vectors);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n_memories; i++)
    {
      g_autofree char *mem_key = NULL;
      g_autofree char *value = NULL;
      g_autoptr(RflMemory) memory = NULL;
      RflMemoryUpsert outcome;

      if (i % 1000 == 0 && !rfl_vector_store_begin (vectors, &error))
        goto fail;

      mem_key = g_strdup_printf ("note %u %s", i, vocabulary[rng_next (&rng) % G_N_ELEMENTS (vocabulary)]);
      value = make_text (&rng, 8, 20);
      memory = rfl_memory_new ((RflMemoryKind) (rng_next (&rng) % RFL_MEMORY_N_KINDS),
                               mem_key, value);
      if (rfl_memory_store_upsert (memories, tenant_id, user_id, memory, NULL, 0,
                                   &outcome, &error) == 0)
        {
          rfl_vector_store_rollback (vectors);
          goto fail;
        }
      if (outcome == RFL_MEMORY_UPSERT_INSERTED)
        inserted++;

      if ((i % 1000 == 999 || i + 1 == n_memories)
          && !rfl_vector_store_commit (vectors, &error))
        goto fail;
    }

  printf ("api_key=%s\n", api_key);
  printf ("user_id=%" G_GINT64_FORMAT "\n", user_id);
  printf ("tenant_id=%" G_GINT64_FORMAT "\n", tenant_id);
  printf ("memories=%u\n", inserted);
  g_printerr ("bench-api: seeded %u memories (%u inserted) in %.1f s\n", n_memories,
              inserted, (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  return EXIT_SUCCESS;

fail:
  g_printerr ("bench-api: %s\n", error->message);
  return EXIT_FAILURE;
}

/* relay: the token source --------------------------------------------- */

/* A minimal OpenAI-compatible streaming server on its own thread: every
 * POST /v1/chat/completions gets n_tokens chunks, one every delay_ms, each
 * chunk's content "tN@T" where T is the monotonic time (µs) at which it was
 * handed to the connection. */
typedef struct
{
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  char         *url;
  guint         n_tokens;
  guint         delay_ms;
  GMutex        lock;
  GCond         cond;
  gboolean      ready;
} Source;

typedef struct
{
  Source            *source;
  SoupServerMessage *msg;
  GSource           *timer;
  guint              next;
  gboolean           finished;
} SourceStream;

static void
source_stream_free (SourceStream *stream)
{
  if (stream->timer != NULL)
    {
      g_source_destroy (stream->timer);
      g_source_unref (stream->timer);
    }
  g_object_unref (stream->msg);
  g_free (stream);
}

static gboolean source_tick_cb (gpointer data);

static void
source_schedule (SourceStream *stream)
{
  stream->timer = g_timeout_source_new (stream->source->delay_ms);
  g_source_set_callback (stream->timer, source_tick_cb, stream, NULL);
  g_source_attach (stream->timer, stream->source->context);
}

static void
source_finished_cb (SoupServerMessage *msg,
                    gpointer           data)
{
  SourceStream *stream = data;

  stream->finished = TRUE;
  if (stream->timer != NULL)
    {
      g_source_destroy (stream->timer);
      g_clear_pointer (&stream->timer, g_source_unref);
    }
}

static gboolean
source_tick_cb (gpointer data)
{
  SourceStream *stream = data;
  SoupMessageBody *body = soup_server_message_get_response_body (stream->msg);
  g_autofree char *chunk = NULL;

  g_clear_pointer (&stream->timer, g_source_unref);
  if (stream->finished)
    return G_SOURCE_REMOVE;

  if (stream->next < stream->source->n_tokens)
    {
      chunk = g_strdup_printf ("data: {\"id\":\"chatcmpl-bench\",\"object\":"
                               "\"chat.completion.chunk\",\"created\":1,\"model\":\""
                               FAKE_MODEL "\",\"choices\":[{\"index\":0,\"delta\":"
                               "{\"content\":\"%st%u@%" G_GINT64_FORMAT "\"},"
                               "\"finish_reason\":null}]}\n\n",
                               stream->next == 0 ? "" : " ", stream->next,
                               g_get_monotonic_time ());
      gsize length = strlen (chunk);

      stream->next++;
      soup_message_body_append (body, SOUP_MEMORY_TAKE, g_steal_pointer (&chunk), length);
    }
  else
    {
      static const char end[] =
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
        "\"created\":1,\"model\":\"" FAKE_MODEL "\",\"choices\":[{\"index\":0,"
        "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

      soup_message_body_append (body, SOUP_MEMORY_STATIC, end, strlen (end));
      soup_message_body_complete (body);
      soup_server_message_unpause (stream->msg);
      return G_SOURCE_REMOVE;
    }

  source_schedule (stream);
  soup_server_message_unpause (stream->msg);
  return G_SOURCE_REMOVE;
}

static void
source_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           data)
{
  Source *source = data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SourceStream *stream;

  if (g_strcmp0 (soup_server_message_get_method (msg), "POST") != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);

  stream = g_new0 (SourceStream, 1);
  stream->source = source;
  stream->msg = g_object_ref (msg);
  g_signal_connect (msg, "finished", G_CALLBACK (source_finished_cb), stream);
  g_object_set_data_full (G_OBJECT (msg), "bench-stream", stream,
                          (GDestroyNotify) source_stream_free);
  soup_server_message_pause (msg);
  source_schedule (stream);
}

static gpointer
source_thread (gpointer data)
{
  Source *source = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (source->context);
  source->server = soup_server_new ("server-header", "bench", NULL);
  soup_server_add_handler (source->server, "/v1/chat/completions", source_handler,
                           source, NULL);
  if (!soup_server_listen_local (source->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("bench-api: cannot listen: %s", error->message);
  uris = soup_server_get_uris (source->server);
  source->url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_mutex_lock (&source->lock);
  source->ready = TRUE;
  g_cond_signal (&source->cond);
  g_mutex_unlock (&source->lock);

  g_main_loop_run (source->loop);

  soup_server_disconnect (source->server);
  g_clear_object (&source->server);
  g_main_context_pop_thread_default (source->context);
  return NULL;
}

static Source *
source_start (guint n_tokens,
              guint delay_ms)
{
  Source *source = g_new0 (Source, 1);

  source->n_tokens = n_tokens;
  source->delay_ms = delay_ms;
  source->context = g_main_context_new ();
  source->loop = g_main_loop_new (source->context, FALSE);
  g_mutex_init (&source->lock);
  g_cond_init (&source->cond);
  source->thread = g_thread_new ("bench-source", source_thread, source);

  g_mutex_lock (&source->lock);
  while (!source->ready)
    g_cond_wait (&source->cond, &source->lock);
  g_mutex_unlock (&source->lock);
  return source;
}

static gboolean
quit_loop_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
source_stop (Source *source)
{
  g_main_context_invoke (source->context, quit_loop_cb, source->loop);
  g_thread_join (source->thread);
  g_main_loop_unref (source->loop);
  g_main_context_unref (source->context);
  g_mutex_clear (&source->lock);
  g_cond_clear (&source->cond);
  g_free (source->url);
  g_free (source);
}

/* relay: the client ---------------------------------------------------- */

typedef struct
{
  GString *pending;     /* bytes after the last complete line */
  GArray  *latencies;   /* gint64 µs from hand-over to arrival, per event */
  guint    next;        /* the token number expected next */
  gboolean in_order;
  gboolean done;        /* saw "data: [DONE]" */
} Stream;

static void
stream_line (Stream     *stream,
             const char *line,
             gint64      now)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonArray *choices;
  JsonObject *delta;
  const char *content;
  guint64 number;
  gint64 stamp;
  char *end;

  if (!g_str_has_prefix (line, "data: "))
    return;
  line += strlen ("data: ");
  if (g_str_equal (line, "[DONE]"))
    {
      stream->done = TRUE;
      return;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return;
  object = json_node_get_object (root);
  if (!json_object_has_member (object, "choices"))
    return;
  choices = json_object_get_array_member (object, "choices");
  if (choices == NULL || json_array_get_length (choices) == 0)
    return;
  delta = json_object_get_object_member (json_array_get_object_element (choices, 0), "delta");
  if (delta == NULL || !json_object_has_member (delta, "content"))
    return;
  content = json_object_get_string_member_with_default (delta, "content", NULL);
  if (content == NULL || *content == '\0')
    return;

  /* "tN@T", with a space before every token but the first; a chunk may
   * carry several tokens. */
  while (*content != '\0')
    {
      if (*content == ' ')
        content++;
      if (*content != 't')
        break;
      number = g_ascii_strtoull (content + 1, &end, 10);
      if (*end != '@')
        break;
      stamp = g_ascii_strtoll (end + 1, &end, 10);
      content = end;

      if (number != stream->next)
        stream->in_order = FALSE;
      stream->next = (guint) number + 1;
      stamp = now - stamp;
      g_array_append_val (stream->latencies, stamp);
    }
  if (*content != '\0')
    stream->in_order = FALSE;
}

static size_t
write_cb (char   *data,
          size_t  size,
          size_t  n_items,
          void   *user_data)
{
  Stream *stream = user_data;
  gint64 now = g_get_monotonic_time ();
  size_t length = size * n_items;
  char *newline;

  g_string_append_len (stream->pending, data, (gssize) length);
  while ((newline = memchr (stream->pending->str, '\n', stream->pending->len)) != NULL)
    {
      gsize line_length = (gsize) (newline - stream->pending->str);
      g_autofree char *line = g_strndup (stream->pending->str, line_length);

      g_strchomp (line);
      stream_line (stream, line, now);
      g_string_erase (stream->pending, 0, (gssize) line_length + 1);
    }

  return length;
}

/* One streamed completion on @curl (kept alive between calls): checks
 * that all @n_tokens tokens came in order and adds their latencies to @all
 * (unless NULL: a warm-up). */
static gboolean
measure (CURL       *curl,
         const char *url,
         const char *api_key,
         guint       n_tokens,
         GArray     *all)
{
  struct curl_slist *headers = NULL;
  g_autofree char *auth = NULL;
  const char *body =
    "{\"model\": \"" FAKE_MODEL "\", \"stream\": true, "
    "\"messages\": [{\"role\": \"user\", \"content\": \"Tell me something.\"}]}";
  Stream stream = { 0 };
  CURLcode code;
  long status = 0;
  gboolean ok;

  headers = curl_slist_append (headers, "Content-Type: application/json");
  if (api_key != NULL)
    {
      auth = g_strdup_printf ("Authorization: Bearer %s", api_key);
      headers = curl_slist_append (headers, auth);
    }

  stream.pending = g_string_new (NULL);
  stream.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  stream.in_order = TRUE;

  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &stream);
  curl_easy_setopt (curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt (curl, CURLOPT_TIMEOUT, 30L);

  code = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all (headers);
  g_string_free (stream.pending, TRUE);

  ok = code == CURLE_OK && status == 200 && stream.done;
  if (!ok)
    g_printerr ("bench-api: %s: %s, HTTP %ld%s\n", url, curl_easy_strerror (code),
                status, stream.done ? "" : ", no [DONE]");
  else if (!stream.in_order || stream.latencies->len != n_tokens)
    {
      g_printerr ("bench-api: %s: %u of %u tokens, %s\n", url, stream.latencies->len,
                  n_tokens, stream.in_order ? "in order" : "NOT in order");
      ok = FALSE;
    }
  else if (all != NULL)
    g_array_append_vals (all, stream.latencies->data, stream.latencies->len);

  g_array_unref (stream.latencies);
  return ok;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static double
percentile_ms (GArray *sorted,
               double  p)
{
  gsize index;

  if (sorted->len == 0)
    return 0;
  index = (gsize) (p * (double) (sorted->len - 1) + 0.5);
  return (double) g_array_index (sorted, gint64, index) / 1000.0;
}

static void
print_row (const char *name,
           GArray     *values)
{
  g_array_sort (values, compare_gint64);
  printf ("%-34s %7u %9.3f %9.3f %9.3f %9.3f\n", name, values->len,
          percentile_ms (values, 0.5), percentile_ms (values, 0.9),
          percentile_ms (values, 0.99), percentile_ms (values, 1.0));
}

static char *
wait_for_url (const char  *log_path,
              GSubprocess *process)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *contents = NULL;

      if (g_file_get_contents (log_path, &contents, NULL, NULL)
          && g_str_has_prefix (contents, "listening on ")
          && strchr (contents, '\n') != NULL)
        {
          *strchr (contents, '\n') = '\0';
          return g_strdup (contents + strlen ("listening on "));
        }
      if (g_subprocess_get_identifier (process) == NULL)
        return NULL;
      g_usleep (50000);
    }

  return NULL;
}

static gboolean
parse_seed_output (const char  *path,
                   char       **out_api_key)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "api_key="))
      {
        *out_api_key = g_strdup (lines[i] + strlen ("api_key="));
        return TRUE;
      }

  return FALSE;
}

static int
relay_main (const char *self_path,
            const char *reflection,
            guint       n_tokens,
            guint       delay_ms,
            guint       runs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) direct = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) relayed = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) added = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) seed = NULL;
  g_autoptr(GSubprocess) serve = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *seed_path = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *api_key = NULL;
  g_autofree char *serve_url = NULL;
  g_autofree char *direct_url = NULL;
  g_autofree char *relay_url = NULL;
  Source *source;
  CURL *curl_direct = NULL;
  CURL *curl_relay = NULL;
  gboolean ok = FALSE;

  source = source_start (n_tokens, delay_ms);

  tmp = g_dir_make_tmp ("rfl-bench-api-XXXXXX", &error);
  if (tmp == NULL)
    {
      g_printerr ("bench-api: %s\n", error->message);
      source_stop (source);
      return EXIT_FAILURE;
    }
  data_dir = g_build_filename (tmp, "data", NULL);
  seed_path = g_build_filename (tmp, "seed", NULL);
  log_path = g_build_filename (tmp, "log", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  g_subprocess_launcher_setenv (launcher, "REFLECTION_PROVIDER_API_KEY", "bench", TRUE);
  g_subprocess_launcher_set_stdout_file_path (launcher, seed_path);
  seed = g_subprocess_launcher_spawn (launcher, &error, self_path, "seed", data_dir, "0", NULL);
  if (seed == NULL || !g_subprocess_wait_check (seed, NULL, &error)
      || !parse_seed_output (seed_path, &api_key))
    {
      g_printerr ("bench-api: seeding failed%s%s\n", error != NULL ? ": " : "",
                  error != NULL ? error->message : "");
      goto out;
    }

  g_subprocess_launcher_set_stdout_file_path (launcher, log_path);
  serve = g_subprocess_launcher_spawn (launcher, &error, reflection, "serve",
                                       "--port", "0", "--data-dir", data_dir,
                                       "--provider", "openai-compatible",
                                       "--provider-url", source->url,
                                       "--model", FAKE_MODEL, NULL);
  if (serve == NULL)
    {
      g_printerr ("bench-api: %s\n", error->message);
      goto out;
    }
  serve_url = wait_for_url (log_path, serve);
  if (serve_url == NULL)
    {
      g_printerr ("bench-api: %s serve did not start\n", reflection);
      goto out;
    }

  direct_url = g_strdup_printf ("%s/v1/chat/completions", source->url);
  relay_url = g_strdup_printf ("%s/v1/chat/completions", serve_url);

  /* One warm-up each, then interleaved, so that both see the same
   * machine; each side keeps its connection alive. */
  curl_direct = curl_easy_init ();
  curl_relay = curl_easy_init ();
  for (guint round = 0; round <= runs; round++)
    {
      if (!measure (curl_direct, direct_url, NULL, n_tokens, round == 0 ? NULL : direct)
          || !measure (curl_relay, relay_url, api_key, n_tokens,
                       round == 0 ? NULL : relayed))
        goto out;
    }

  /* Paired by run and token. */
  for (guint i = 0; i < direct->len; i++)
    {
      gint64 difference = g_array_index (relayed, gint64, i) - g_array_index (direct, gint64, i);

      g_array_append_val (added, difference);
    }

  printf ("token source %s; reflection serve %s (provider openai-compatible)\n",
          source->url, serve_url);
  printf ("%u tokens, one every %u ms, %u runs each way (+1 warm-up), %u cores; "
          "every run relayed all tokens in order\n",
          n_tokens, delay_ms, runs, g_get_num_processors ());
  printf ("%-34s %7s %9s %9s %9s %9s\n", "ms per token event", "events", "p50", "p90",
          "p99", "max");
  print_row ("latency straight from the source", direct);
  print_row ("latency through reflection serve", relayed);
  print_row ("added by the relay (paired)", added);
  ok = TRUE;

out:
  if (curl_direct != NULL)
    curl_easy_cleanup (curl_direct);
  if (curl_relay != NULL)
    curl_easy_cleanup (curl_relay);
  if (serve != NULL)
    {
      g_subprocess_send_signal (serve, SIGTERM);
      g_subprocess_wait (serve, NULL, NULL);
    }
  source_stop (source);
  if (tmp != NULL)
    {
      g_autofree char *command = g_strdup_printf ("rm -rf '%s'", tmp);

      if (!g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL))
        g_printerr ("bench-api: could not remove %s\n", tmp);
    }
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

static gboolean
parse_uint (const char *text,
            guint       min,
            guint       max,
            guint      *out)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    {
      g_printerr ("bench-api: “%s” is not a number from %u to %u\n", text, min, max);
      return FALSE;
    }
  *out = (guint) value;
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  setvbuf (stdout, NULL, _IOLBF, 0);

  if (argc >= 3 && argc <= 4 && g_str_equal (argv[1], "seed"))
    {
      guint n = 10000;

      if (argc == 4 && !parse_uint (argv[3], 0, 10000000, &n))
        return EXIT_FAILURE;
      return seed_main (argv[2], n);
    }

  if (argc >= 3 && argc <= 6 && g_str_equal (argv[1], "relay"))
    {
      guint n_tokens = 50;
      guint delay_ms = 5;
      guint runs = 20;
      int status;

      if ((argc > 3 && !parse_uint (argv[3], 1, 10000, &n_tokens))
          || (argc > 4 && !parse_uint (argv[4], 0, 10000, &delay_ms))
          || (argc > 5 && !parse_uint (argv[5], 1, 10000, &runs)))
        return EXIT_FAILURE;
      curl_global_init (CURL_GLOBAL_DEFAULT);
      status = relay_main (argv[0], argv[2], n_tokens, delay_ms, runs);
      curl_global_cleanup ();
      return status;
    }

  g_printerr ("Usage: bench-api seed DATA-DIR [N]\n"
              "       bench-api relay REFLECTION [TOKENS [DELAY-MS [RUNS]]]\n");
  return EXIT_FAILURE;
}
