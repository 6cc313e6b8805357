/* rfl-fake-llm.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-fake-llm.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_PROTOCOLS 3
#define HUGE_DEFAULT (10 * 1024 * 1024)
#define HUGE_TOKEN 1024
#define NEVER G_MAXUINT

typedef struct
{
  char    *name;
  guint64  size;
} FakeModel;

struct _RflFakeLlm
{
  GMutex        lock;
  GCond         cond;

  /* Configuration and records, under lock. */
  guint16       wanted_port;
  gboolean      log_requests;
  GPtrArray    *models[N_PROTOCOLS];   /* owned FakeModel* */
  char         *api_key;
  GStrv         reply;
  GQueue        queued_replies;        /* owned GStrv */
  GQueue        queued_tool_calls;     /* owned FakeToolCalls* */
  guint         token_delay;
  guint         embedding_dim;
  guint64       pull_total;
  guint         pull_steps;
  guint         pull_delay;
  GStrv         pullable;
  RflFakeLlmFault fault;
  guint         fault_param;
  guint         fault_remaining;       /* 0: until cleared */
  char         *fault_path;
  GPtrArray    *requests;              /* owned RflFakeLlmRequest* */
  guint         aborted;

  /* Set by the server thread before start returns. */
  GThread      *thread;
  GMainContext *context;               /* owned by the server thread */
  GMainLoop    *loop;                  /* owned by the server thread */
  gboolean      start_done;
  GError       *start_error;
  guint16       port;
  char         *url;

  /* Server thread only. */
  GList        *streams;               /* owned FakeStream* */
};

/* A streamed answer, or a plain answer held back by a delay. Lives on the
 * server thread. */
typedef struct
{
  RflFakeLlm        *self;             /* borrowed */
  SoupServerMessage *msg;              /* owned */
  GPtrArray         *chunks;           /* owned; NULL for a delayed answer */
  guint              next;
  guint              delay_ms;
  guint              cut_after;
  guint64            appended;
  guint64            written;
  GSource           *source;           /* owned */
  gulong             finished_id;
  gulong             wrote_id;
  gboolean           completed;
  gboolean           finished;
  char              *pulled_model;     /* added to the Ollama list at the end */
  guint64            pulled_size;
} FakeStream;

/* One request being answered, on the server thread. */
typedef struct
{
  RflFakeLlm         *self;
  SoupServerMessage  *msg;
  const char         *path;
  RflFakeLlmProtocol  protocol;
  RflFakeLlmFault     fault;
  guint               param;
  JsonNode           *root;            /* owned; NULL when not JSON */
  JsonObject         *object;          /* borrowed from root */
} Call;

static const char * const default_reply[] = {
  "Hello", "!", " How", " can", " I", " help", "?", NULL
};

/* ---------------------------------------------------------------- models */

static void
fake_model_free (gpointer data)
{
  FakeModel *model = data;

  g_free (model->name);
  g_free (model);
}

static char *
normalize_name (RflFakeLlmProtocol  protocol,
                const char         *name)
{
  if (protocol == RFL_FAKE_LLM_OLLAMA && strchr (name, ':') == NULL)
    return g_strconcat (name, ":latest", NULL);

  return g_strdup (name);
}

/* Called with the lock held. */
static FakeModel *
find_model_locked (RflFakeLlm         *self,
                   RflFakeLlmProtocol  protocol,
                   const char         *name)
{
  g_autofree char *wanted = normalize_name (protocol, name);
  GPtrArray *models = self->models[protocol];

  for (guint i = 0; i < models->len; i++)
    {
      FakeModel *model = g_ptr_array_index (models, i);
      g_autofree char *have = normalize_name (protocol, model->name);

      if (g_strcmp0 (have, wanted) == 0)
        return model;
    }

  return NULL;
}

static void
add_model_locked (RflFakeLlm         *self,
                  RflFakeLlmProtocol  protocol,
                  const char         *name,
                  guint64             size)
{
  FakeModel *model = find_model_locked (self, protocol, name);

  if (model != NULL)
    {
      model->size = size;
      return;
    }

  model = g_new0 (FakeModel, 1);
  model->name = g_strdup (name);
  model->size = size;
  g_ptr_array_add (self->models[protocol], model);
}

static gboolean
model_known (RflFakeLlm         *self,
             RflFakeLlmProtocol  protocol,
             const char         *name)
{
  gboolean known;

  g_mutex_lock (&self->lock);
  known = find_model_locked (self, protocol, name) != NULL;
  g_mutex_unlock (&self->lock);

  return known;
}

/* ------------------------------------------------------------ JSON bits */

static char *
object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  return json_to_string (node, FALSE);
}

static void
add_line (GPtrArray  *chunks,
          JsonObject *object)
{
  g_autofree char *json = object_to_string (object);

  g_ptr_array_add (chunks, g_strconcat (json, "\n", NULL));
}

static void
add_status_line (GPtrArray  *chunks,
                 const char *key,
                 const char *value)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_string_member (object, key, value);
  add_line (chunks, object);
}

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;

  node = json_object_get_member (object, name);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
get_bool_member (JsonObject *object,
                 const char *name,
                 gboolean    fallback)
{
  JsonNode *node;

  if (object == NULL)
    return fallback;

  node = json_object_get_member (object, name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;

  return json_node_get_boolean (node);
}

static char *
iso_now (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format_iso8601 (now);
}

/* ------------------------------------------------------------ responses */

static char *
error_body (RflFakeLlmProtocol  protocol,
            const char         *type,
            const char         *code,
            const char         *message)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonObject *inner;

  switch (protocol)
    {
    case RFL_FAKE_LLM_OLLAMA:
      json_object_set_string_member (object, "error", message);
      break;

    case RFL_FAKE_LLM_OPENAI:
      inner = json_object_new ();
      json_object_set_string_member (inner, "message", message);
      json_object_set_string_member (inner, "type", type);
      json_object_set_null_member (inner, "param");
      if (code != NULL)
        json_object_set_string_member (inner, "code", code);
      else
        json_object_set_null_member (inner, "code");
      json_object_set_object_member (object, "error", inner);
      break;

    case RFL_FAKE_LLM_ANTHROPIC:
    default:
      inner = json_object_new ();
      json_object_set_string_member (inner, "type", type);
      json_object_set_string_member (inner, "message", message);
      json_object_set_string_member (object, "type", "error");
      json_object_set_object_member (object, "error", inner);
      break;
    }

  return object_to_string (object);
}

static void
set_body (SoupServerMessage *msg,
          guint              status,
          const char        *content_type,
          char              *body)
{
  /* libsoup 3.2 has no reason phrase for 429. */
  soup_server_message_set_status (msg, status,
                                  status == 429 ? "Too Many Requests" : NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE,
                                    body, strlen (body));
}

static void
reply_error (Call       *call,
             guint       status,
             const char *type,
             const char *code,
             const char *message)
{
  set_body (call->msg, status, "application/json",
            error_body (call->protocol, type, code, message));
}

/* Cuts the connection under libsoup's feet: the next write fails, libsoup
 * finishes the message, the client sees the connection close. */
static void
cut_connection (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

/* --------------------------------------------------------------- streams */

static void
stream_free (FakeStream *stream)
{
  if (stream->source != NULL)
    {
      g_source_destroy (stream->source);
      g_clear_pointer (&stream->source, g_source_unref);
    }
  g_clear_signal_handler (&stream->finished_id, stream->msg);
  g_clear_signal_handler (&stream->wrote_id, stream->msg);
  g_clear_object (&stream->msg);
  g_clear_pointer (&stream->chunks, g_ptr_array_unref);
  g_free (stream->pulled_model);
  g_free (stream);
}

static gboolean
stream_free_idle_cb (gpointer data)
{
  stream_free (data);
  return G_SOURCE_REMOVE;
}

static void
stream_finished_cb (SoupServerMessage *msg,
                    FakeStream        *stream)
{
  RflFakeLlm *self = stream->self;
  GSource *idle;

  if (stream->finished)
    return;

  stream->finished = TRUE;
  if (!stream->completed)
    {
      g_mutex_lock (&self->lock);
      self->aborted++;
      g_mutex_unlock (&self->lock);
    }

  if (stream->source != NULL)
    {
      g_source_destroy (stream->source);
      g_clear_pointer (&stream->source, g_source_unref);
    }

  /* The message is still emitting: free the record from an idle. */
  self->streams = g_list_remove (self->streams, stream);
  idle = g_idle_source_new ();
  g_source_set_callback (idle, stream_free_idle_cb, stream, NULL);
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

static void
stream_wrote_cb (SoupServerMessage *msg,
                 guint              size,
                 FakeStream        *stream)
{
  stream->written += size;
}

static gboolean stream_tick_cb (gpointer data);

static void
stream_schedule (FakeStream *stream,
                 guint       delay_ms)
{
  g_assert (stream->source == NULL);

  if (delay_ms == 0)
    stream->source = g_idle_source_new ();
  else
    stream->source = g_timeout_source_new (delay_ms);
  g_source_set_callback (stream->source, stream_tick_cb, stream, NULL);
  g_source_attach (stream->source, stream->self->context);
}

static void
stream_complete (FakeStream *stream)
{
  RflFakeLlm *self = stream->self;

  stream->completed = TRUE;
  if (stream->pulled_model != NULL)
    {
      g_mutex_lock (&self->lock);
      add_model_locked (self, RFL_FAKE_LLM_OLLAMA, stream->pulled_model,
                        stream->pulled_size);
      g_mutex_unlock (&self->lock);
    }
}

static gboolean
stream_tick_cb (gpointer data)
{
  FakeStream *stream = data;
  SoupMessageBody *body;
  gboolean all;

  g_clear_pointer (&stream->source, g_source_unref);
  if (stream->finished)
    return G_SOURCE_REMOVE;

  body = soup_server_message_get_response_body (stream->msg);

  /* A delayed plain answer: its body is ready, let it go. */
  if (stream->chunks == NULL)
    {
      stream->completed = TRUE;
      soup_server_message_unpause (stream->msg);
      return G_SOURCE_REMOVE;
    }

  if (stream->next == stream->cut_after)
    {
      /* Cut only once the client has the lines before the cut. */
      if (stream->written < stream->appended)
        {
          stream_schedule (stream, 5);
          return G_SOURCE_REMOVE;
        }
      cut_connection (stream->msg);
      stream->completed = TRUE;
      soup_message_body_complete (body);
      soup_server_message_unpause (stream->msg);
      return G_SOURCE_REMOVE;
    }

  all = stream->delay_ms == 0;
  do
    {
      const char *chunk = g_ptr_array_index (stream->chunks, stream->next++);
      gsize len = strlen (chunk);

      soup_message_body_append (body, SOUP_MEMORY_COPY, chunk, len);
      stream->appended += len;
    }
  while (all && stream->next < stream->chunks->len
         && stream->next != stream->cut_after);

  if (stream->next == stream->chunks->len && stream->next != stream->cut_after)
    {
      soup_message_body_complete (body);
      stream_complete (stream);
    }
  else
    {
      /* More to send, or a cut to make once these lines are out. */
      stream_schedule (stream, stream->next == stream->cut_after
                               ? 0 : stream->delay_ms);
    }

  soup_server_message_unpause (stream->msg);
  return G_SOURCE_REMOVE;
}

static FakeStream *
stream_new (RflFakeLlm        *self,
            SoupServerMessage *msg)
{
  FakeStream *stream = g_new0 (FakeStream, 1);

  stream->self = self;
  stream->msg = g_object_ref (msg);
  stream->cut_after = NEVER;
  stream->finished_id = g_signal_connect (msg, "finished",
                                          G_CALLBACK (stream_finished_cb),
                                          stream);
  stream->wrote_id = g_signal_connect (msg, "wrote-body-data",
                                       G_CALLBACK (stream_wrote_cb), stream);
  self->streams = g_list_prepend (self->streams, stream);

  return stream;
}

static const char *
broken_chunk (RflFakeLlmProtocol protocol,
              gboolean           sse)
{
  if (!sse)
    return "{\"model\": \"broken\n";
  if (protocol == RFL_FAKE_LLM_ANTHROPIC)
    return "event: content_block_delta\ndata: {\"type\": \"content_bl\n\n";
  return "data: {\"id\": \"broken\n\n";
}

static const char *
wrong_shape_chunk (RflFakeLlmProtocol protocol,
                   gboolean           sse)
{
  if (!sse)
    return "{\"unexpected\":true}\n";
  if (protocol == RFL_FAKE_LLM_ANTHROPIC)
    return "event: content_block_delta\ndata: {\"unexpected\":true}\n\n";
  return "data: {\"unexpected\":true}\n\n";
}

/* Starts a streamed answer made of @chunks (taken). */
static FakeStream *
reply_stream (Call      *call,
              GPtrArray *chunks,
              guint      delay_ms)
{
  gboolean sse = call->protocol != RFL_FAKE_LLM_OLLAMA;
  SoupMessageHeaders *headers;
  FakeStream *stream;

  switch (call->fault)
    {
    case RFL_FAKE_LLM_FAULT_MALFORMED:
      if (call->param < chunks->len)
        {
          g_free (chunks->pdata[call->param]);
          chunks->pdata[call->param] =
            g_strdup (broken_chunk (call->protocol, sse));
        }
      break;

    case RFL_FAKE_LLM_FAULT_WRONG_SHAPE:
      if (call->param < chunks->len)
        {
          g_free (chunks->pdata[call->param]);
          chunks->pdata[call->param] =
            g_strdup (wrong_shape_chunk (call->protocol, sse));
        }
      break;

    case RFL_FAKE_LLM_FAULT_SLOW:
      delay_ms = call->param;
      break;

    case RFL_FAKE_LLM_FAULT_NONE:
    case RFL_FAKE_LLM_FAULT_DISCONNECT:
    case RFL_FAKE_LLM_FAULT_HTTP_429:
    case RFL_FAKE_LLM_FAULT_HTTP_500:
    case RFL_FAKE_LLM_FAULT_HUGE:
    default:
      break;
    }

  headers = soup_server_message_get_response_headers (call->msg);
  soup_server_message_set_status (call->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  if (sse)
    {
      soup_message_headers_set_content_type (headers, "text/event-stream",
                                             NULL);
      soup_message_headers_replace (headers, "Cache-Control", "no-cache");
    }
  else
    {
      soup_message_headers_set_content_type (headers, "application/x-ndjson",
                                             NULL);
    }

  /* The handler does not pause: libsoup sends the headers, finds no body
   * chunk and pauses by itself until the first tick appends one. */
  stream = stream_new (call->self, call->msg);
  stream->chunks = chunks;
  stream->delay_ms = delay_ms;
  if (call->fault == RFL_FAKE_LLM_FAULT_DISCONNECT)
    stream->cut_after = MIN (call->param, chunks->len);
  stream_schedule (stream, delay_ms);

  return stream;
}

/* A successful plain answer, subject to the faults that shape it. */
static void
reply_json (Call *call,
            char *body)
{
  FakeStream *stream;

  switch (call->fault)
    {
    case RFL_FAKE_LLM_FAULT_MALFORMED:
      g_free (body);
      body = g_strdup ("this is not JSON {\"models\": [");
      break;

    case RFL_FAKE_LLM_FAULT_WRONG_SHAPE:
      g_free (body);
      body = g_strdup ("{\"unexpected\":true}");
      break;

    case RFL_FAKE_LLM_FAULT_DISCONNECT:
      g_free (body);
      cut_connection (call->msg);
      soup_server_message_set_status (call->msg, SOUP_STATUS_OK, NULL);
      return;

    case RFL_FAKE_LLM_FAULT_NONE:
    case RFL_FAKE_LLM_FAULT_HTTP_429:
    case RFL_FAKE_LLM_FAULT_HTTP_500:
    case RFL_FAKE_LLM_FAULT_SLOW:
    case RFL_FAKE_LLM_FAULT_HUGE:
    default:
      break;
    }

  set_body (call->msg, SOUP_STATUS_OK, "application/json", body);

  if (call->fault == RFL_FAKE_LLM_FAULT_SLOW && call->param > 0)
    {
      /* Pausing in the handler holds the status line back. */
      soup_server_message_pause (call->msg);
      stream = stream_new (call->self, call->msg);
      stream_schedule (stream, call->param);
    }
}

/* -------------------------------------------------------------- requests */

void
rfl_fake_llm_request_free (RflFakeLlmRequest *request)
{
  if (request == NULL)
    return;

  g_free (request->method);
  g_free (request->path);
  g_free (request->query);
  g_clear_pointer (&request->headers, g_hash_table_unref);
  g_free (request->body);
  g_free (request);
}

static RflFakeLlmRequest *
request_copy (const RflFakeLlmRequest *request)
{
  RflFakeLlmRequest *copy = g_new0 (RflFakeLlmRequest, 1);
  GHashTableIter iter;
  gpointer key, value;

  copy->method = g_strdup (request->method);
  copy->path = g_strdup (request->path);
  copy->query = g_strdup (request->query);
  copy->body = g_strdup (request->body);
  copy->protocol = request->protocol;
  copy->status = request->status;
  copy->headers = g_hash_table_new_full (g_str_hash, g_str_equal,
                                         g_free, g_free);
  g_hash_table_iter_init (&iter, request->headers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->headers, g_strdup (key), g_strdup (value));

  return copy;
}

static void
collect_header_cb (const char *name,
                   const char *value,
                   gpointer    user_data)
{
  GHashTable *headers = user_data;
  char *key = g_ascii_strdown (name, -1);
  const char *old = g_hash_table_lookup (headers, key);

  if (old != NULL)
    g_hash_table_insert (headers, key, g_strconcat (old, ", ", value, NULL));
  else
    g_hash_table_insert (headers, key, g_strdup (value));
}

static RflFakeLlmRequest *
request_new (SoupServerMessage *msg,
             const char        *path)
{
  RflFakeLlmRequest *request = g_new0 (RflFakeLlmRequest, 1);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  GUri *uri = soup_server_message_get_uri (msg);
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  request->method = g_strdup (soup_server_message_get_method (msg));
  request->path = g_strdup (path);
  request->query = g_strdup (g_uri_get_query (uri));
  request->body = g_strndup (data != NULL ? data : "", size);
  request->headers = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            g_free, g_free);
  soup_message_headers_foreach (soup_server_message_get_request_headers (msg),
                                collect_header_cb, request->headers);

  return request;
}

static RflFakeLlmProtocol
detect_protocol (const RflFakeLlmRequest *request)
{
  /* Anything outside /v1 gets Ollama's answers, even a path it lacks. */
  if (!g_str_has_prefix (request->path, "/v1/")
      && !g_str_equal (request->path, "/v1"))
    return RFL_FAKE_LLM_OLLAMA;
  if (g_str_equal (request->path, "/v1/messages"))
    return RFL_FAKE_LLM_ANTHROPIC;
  if (g_str_has_prefix (request->path, "/v1/models")
      && (g_hash_table_contains (request->headers, "anthropic-version")
          || g_hash_table_contains (request->headers, "x-api-key")))
    return RFL_FAKE_LLM_ANTHROPIC;

  return RFL_FAKE_LLM_OPENAI;
}

/* Takes the fault that applies to a request to @path, counting it. */
static void
take_fault (RflFakeLlm      *self,
            const char      *path,
            RflFakeLlmFault *fault,
            guint           *param)
{
  *fault = RFL_FAKE_LLM_FAULT_NONE;
  *param = 0;

  g_mutex_lock (&self->lock);
  if (self->fault != RFL_FAKE_LLM_FAULT_NONE
      && (self->fault_path == NULL || g_str_equal (self->fault_path, path)))
    {
      *fault = self->fault;
      *param = self->fault_param;
      if (self->fault_remaining > 0 && --self->fault_remaining == 0)
        {
          self->fault = RFL_FAKE_LLM_FAULT_NONE;
          g_clear_pointer (&self->fault_path, g_free);
        }
    }
  g_mutex_unlock (&self->lock);
}

/* ------------------------------------------------------------------ auth */

static char *
mask_key (const char *key)
{
  gsize len = strlen (key);
  gsize head = MIN (len / 4, 3);
  gsize tail = MIN (len / 4, 4);

  return g_strdup_printf ("%.*s%s%s", (int) head, key,
                          "*****", key + len - tail);
}

/* FALSE when the request was answered with an authentication error. */
static gboolean
check_auth (Call                    *call,
            const RflFakeLlmRequest *request)
{
  RflFakeLlm *self = call->self;
  g_autofree char *key = NULL;
  const char *given;

  if (call->protocol == RFL_FAKE_LLM_OLLAMA)
    return TRUE;

  if (call->protocol == RFL_FAKE_LLM_ANTHROPIC
      && !g_hash_table_contains (request->headers, "anthropic-version"))
    {
      reply_error (call, 400, "invalid_request_error", NULL,
                   "anthropic-version: header is required");
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  key = g_strdup (self->api_key);
  g_mutex_unlock (&self->lock);

  if (key == NULL)
    return TRUE;

  if (call->protocol == RFL_FAKE_LLM_ANTHROPIC)
    {
      given = g_hash_table_lookup (request->headers, "x-api-key");
      if (given == NULL)
        reply_error (call, 401, "authentication_error", NULL,
                     "x-api-key header is required");
      else if (!g_str_equal (given, key))
        reply_error (call, 401, "authentication_error", NULL,
                     "invalid x-api-key");
      return given != NULL && g_str_equal (given, key);
    }

  given = g_hash_table_lookup (request->headers, "authorization");
  if (given == NULL || !g_str_has_prefix (given, "Bearer "))
    {
      reply_error (call, 401, "invalid_request_error", NULL,
                   "You didn't provide an API key. You need to provide your "
                   "API key in an Authorization header using Bearer auth "
                   "(i.e. Authorization: Bearer YOUR_KEY).");
      return FALSE;
    }

  given += strlen ("Bearer ");
  if (!g_str_equal (given, key))
    {
      g_autofree char *masked = mask_key (given);
      g_autofree char *message =
        g_strdup_printf ("Incorrect API key provided: %s. You can find your "
                         "API key at https://platform.openai.com/account/"
                         "api-keys.", masked);

      reply_error (call, 401, "invalid_request_error", "invalid_api_key",
                   message);
      return FALSE;
    }

  return TRUE;
}

/* FALSE when the request was answered by an HTTP error fault. */
static gboolean
apply_status_fault (Call *call)
{
  g_autofree char *retry = NULL;

  if (call->fault == RFL_FAKE_LLM_FAULT_HTTP_429)
    {
      retry = g_strdup_printf ("%u", call->param);
      soup_message_headers_replace (
        soup_server_message_get_response_headers (call->msg),
        "Retry-After", retry);
      if (call->protocol == RFL_FAKE_LLM_ANTHROPIC)
        reply_error (call, 429, "rate_limit_error", NULL,
                     "Number of requests has exceeded your rate limit. "
                     "Please try again later.");
      else if (call->protocol == RFL_FAKE_LLM_OPENAI)
        reply_error (call, 429, "requests", "rate_limit_exceeded",
                     "Rate limit reached for requests. Please try again "
                     "later.");
      else
        reply_error (call, 429, NULL, NULL, "server busy, please try again.");
      return FALSE;
    }

  if (call->fault == RFL_FAKE_LLM_FAULT_HTTP_500)
    {
      if (call->protocol == RFL_FAKE_LLM_ANTHROPIC)
        reply_error (call, 500, "api_error", NULL, "Internal server error");
      else if (call->protocol == RFL_FAKE_LLM_OPENAI)
        reply_error (call, 500, "server_error", NULL,
                     "The server had an error while processing your "
                     "request. Sorry about that!");
      else
        reply_error (call, 500, NULL, NULL,
                     "llama runner process has terminated: exit status 2");
      return FALSE;
    }

  return TRUE;
}

/* Parses the request body as a JSON object; FALSE when answered with 400. */
static gboolean
require_object (Call                    *call,
                const RflFakeLlmRequest *request)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (json_parser_load_from_data (parser, request->body, -1, &error)
      && (root = json_parser_get_root (parser)) != NULL
      && JSON_NODE_HOLDS_OBJECT (root))
    {
      call->root = json_node_copy (root);
      call->object = json_node_get_object (call->root);
      return TRUE;
    }

  if (call->protocol == RFL_FAKE_LLM_OLLAMA)
    reply_error (call, 400, NULL, NULL,
                 error != NULL ? error->message : "unexpected end of JSON input");
  else if (call->protocol == RFL_FAKE_LLM_OPENAI)
    reply_error (call, 400, "invalid_request_error", NULL,
                 "We could not parse the JSON body of your request.");
  else
    reply_error (call, 400, "invalid_request_error", NULL,
                 "There was an error parsing the body of your request.");

  return FALSE;
}

/* FALSE when the model is missing or unknown, answered accordingly. */
static gboolean
require_model (Call        *call,
               const char **out_model)
{
  const char *model = get_string_member (call->object, "model");
  g_autofree char *message = NULL;

  *out_model = model;
  if (model == NULL || *model == '\0')
    {
      if (call->protocol == RFL_FAKE_LLM_OLLAMA)
        reply_error (call, 400, NULL, NULL, "model is required");
      else if (call->protocol == RFL_FAKE_LLM_OPENAI)
        reply_error (call, 400, "invalid_request_error", NULL,
                     "you must provide a model parameter");
      else
        reply_error (call, 400, "invalid_request_error", NULL,
                     "model: Field required");
      return FALSE;
    }

  if (model_known (call->self, call->protocol, model))
    return TRUE;

  if (call->protocol == RFL_FAKE_LLM_OLLAMA)
    {
      message = g_strdup_printf ("model \"%s\" not found, try pulling it "
                                 "first", model);
      reply_error (call, 404, NULL, NULL, message);
    }
  else if (call->protocol == RFL_FAKE_LLM_OPENAI)
    {
      message = g_strdup_printf ("The model `%s` does not exist or you do not "
                                 "have access to it.", model);
      reply_error (call, 404, "invalid_request_error", "model_not_found",
                   message);
    }
  else
    {
      message = g_strdup_printf ("model: %s", model);
      reply_error (call, 404, "not_found_error", NULL, message);
    }

  return FALSE;
}

/* ---------------------------------------------------------------- models */

static void
handle_ollama_tags (Call *call)
{
  RflFakeLlm *self = call->self;
  g_autoptr(JsonObject) object = json_object_new ();
  g_autofree char *modified = iso_now ();
  JsonArray *array = json_array_new ();

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->models[RFL_FAKE_LLM_OLLAMA]->len; i++)
    {
      FakeModel *model = g_ptr_array_index (self->models[RFL_FAKE_LLM_OLLAMA], i);
      g_autofree char *name = normalize_name (RFL_FAKE_LLM_OLLAMA, model->name);
      g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                               name, -1);
      JsonObject *entry = json_object_new ();
      JsonObject *details = json_object_new ();
      JsonArray *families = json_array_new ();

      json_object_set_string_member (entry, "name", name);
      json_object_set_string_member (entry, "model", name);
      json_object_set_string_member (entry, "modified_at", modified);
      json_object_set_int_member (entry, "size", (gint64) model->size);
      json_object_set_string_member (entry, "digest", digest);
      json_array_add_string_element (families, "llama");
      json_object_set_string_member (details, "parent_model", "");
      json_object_set_string_member (details, "format", "gguf");
      json_object_set_string_member (details, "family", "llama");
      json_object_set_array_member (details, "families", families);
      json_object_set_string_member (details, "parameter_size", "3.2B");
      json_object_set_string_member (details, "quantization_level", "Q4_K_M");
      json_object_set_object_member (entry, "details", details);
      json_array_add_object_element (array, entry);
    }
  g_mutex_unlock (&self->lock);

  json_object_set_array_member (object, "models", array);
  reply_json (call, object_to_string (object));
}

static void
handle_v1_models (Call *call)
{
  RflFakeLlm *self = call->self;
  g_autoptr(JsonObject) object = json_object_new ();
  JsonArray *array = json_array_new ();
  GPtrArray *models;

  g_mutex_lock (&self->lock);
  models = self->models[call->protocol];
  for (guint i = 0; i < models->len; i++)
    {
      FakeModel *model = g_ptr_array_index (models, i);
      JsonObject *entry = json_object_new ();

      if (call->protocol == RFL_FAKE_LLM_ANTHROPIC)
        {
          json_object_set_string_member (entry, "type", "model");
          json_object_set_string_member (entry, "id", model->name);
          json_object_set_string_member (entry, "display_name", model->name);
          json_object_set_string_member (entry, "created_at",
                                         "2025-02-19T00:00:00Z");
        }
      else
        {
          json_object_set_string_member (entry, "id", model->name);
          json_object_set_string_member (entry, "object", "model");
          json_object_set_int_member (entry, "created", 1686935002);
          json_object_set_string_member (entry, "owned_by", "system");
        }
      json_array_add_object_element (array, entry);
    }

  if (call->protocol == RFL_FAKE_LLM_ANTHROPIC)
    {
      json_object_set_array_member (object, "data", array);
      json_object_set_boolean_member (object, "has_more", FALSE);
      if (models->len > 0)
        {
          FakeModel *first = g_ptr_array_index (models, 0);
          FakeModel *last = g_ptr_array_index (models, models->len - 1);

          json_object_set_string_member (object, "first_id", first->name);
          json_object_set_string_member (object, "last_id", last->name);
        }
      else
        {
          json_object_set_null_member (object, "first_id");
          json_object_set_null_member (object, "last_id");
        }
    }
  else
    {
      json_object_set_string_member (object, "object", "list");
      json_object_set_array_member (object, "data", array);
    }
  g_mutex_unlock (&self->lock);

  reply_json (call, object_to_string (object));
}

/* ------------------------------------------------------------------ chat */

static guint
count_words (const char *text)
{
  guint n = 0;
  gboolean in_word = FALSE;

  for (const char *p = text; p != NULL && *p != '\0'; p++)
    {
      gboolean space = g_ascii_isspace (*p);

      if (!space && !in_word)
        n++;
      in_word = !space;
    }

  return n;
}

/* A rough token count of the prompt: words of every message's content. */
static guint
count_prompt_tokens (JsonObject *object)
{
  JsonNode *node = json_object_get_member (object, "messages");
  guint n = 0;

  n += count_words (get_string_member (object, "system"));
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return n;

  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *message = json_array_get_element (json_node_get_array (node), i);

      if (JSON_NODE_HOLDS_OBJECT (message))
        n += count_words (get_string_member (json_node_get_object (message),
                                             "content"));
    }

  return MAX (n, 1);
}

static GStrv
take_reply (Call *call)
{
  RflFakeLlm *self = call->self;
  GStrv tokens;

  if (call->fault == RFL_FAKE_LLM_FAULT_HUGE)
    {
      guint64 size = call->param > 0 ? call->param : HUGE_DEFAULT;
      guint n = (guint) ((size + HUGE_TOKEN - 1) / HUGE_TOKEN);
      static const char lorem[] = "lorem ipsum dolor sit amet ";

      tokens = g_new0 (char *, n + 1);
      for (guint i = 0; i < n; i++)
        {
          gsize len = MIN (HUGE_TOKEN, size - (guint64) i * HUGE_TOKEN);
          char *token = g_malloc (len + 1);

          for (gsize j = 0; j < len; j++)
            token[j] = lorem[j % (sizeof lorem - 1)];
          token[len] = '\0';
          tokens[i] = token;
        }
      return tokens;
    }

  g_mutex_lock (&self->lock);
  tokens = g_queue_pop_head (&self->queued_replies);
  if (tokens == NULL)
    tokens = g_strdupv (self->reply);
  g_mutex_unlock (&self->lock);

  return tokens;
}

static char *
join_tokens (GStrv tokens)
{
  return g_strjoinv ("", tokens);
}

static guint
get_token_delay (RflFakeLlm *self)
{
  guint delay;

  g_mutex_lock (&self->lock);
  delay = self->token_delay;
  g_mutex_unlock (&self->lock);

  return delay;
}

static void
ollama_set_final_stats (JsonObject *object,
                        guint       prompt_tokens,
                        guint       n_tokens)
{
  json_object_set_string_member (object, "done_reason", "stop");
  json_object_set_boolean_member (object, "done", TRUE);
  json_object_set_int_member (object, "total_duration", 4883583458);
  json_object_set_int_member (object, "load_duration", 1334875);
  json_object_set_int_member (object, "prompt_eval_count", prompt_tokens);
  json_object_set_int_member (object, "prompt_eval_duration", 342546000);
  json_object_set_int_member (object, "eval_count", n_tokens);
  json_object_set_int_member (object, "eval_duration", 4535599000);
}

static JsonObject *
ollama_chunk_new (const char *model,
                  const char *created,
                  gboolean    generate,
                  const char *content)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "model", model);
  json_object_set_string_member (object, "created_at", created);
  if (generate)
    {
      json_object_set_string_member (object, "response", content);
    }
  else
    {
      JsonObject *message = json_object_new ();

      json_object_set_string_member (message, "role", "assistant");
      json_object_set_string_member (message, "content", content);
      json_object_set_object_member (object, "message", message);
    }

  return object;
}

static gboolean reply_tool_calls (Call       *call,
                                  const char *model,
                                  guint       prompt_tokens);

static void
handle_ollama_chat (Call     *call,
                    gboolean  generate)
{
  g_auto(GStrv) tokens = NULL;
  g_autofree char *created = iso_now ();
  const char *model;
  guint prompt_tokens;
  guint n;

  if (!require_model (call, &model))
    return;

  if (generate)
    prompt_tokens = MAX (count_words (get_string_member (call->object,
                                                         "prompt")), 1);
  else
    prompt_tokens = count_prompt_tokens (call->object);
  if (!generate && reply_tool_calls (call, model, prompt_tokens))
    return;
  tokens = take_reply (call);
  n = g_strv_length (tokens);

  if (get_bool_member (call->object, "stream", TRUE))
    {
      GPtrArray *chunks = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(JsonObject) last = NULL;

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(JsonObject) chunk =
            ollama_chunk_new (model, created, generate, tokens[i]);

          json_object_set_boolean_member (chunk, "done", FALSE);
          add_line (chunks, chunk);
        }
      last = ollama_chunk_new (model, created, generate, "");
      ollama_set_final_stats (last, prompt_tokens, n);
      add_line (chunks, last);
      reply_stream (call, chunks, get_token_delay (call->self));
    }
  else
    {
      g_autofree char *text = join_tokens (tokens);
      g_autoptr(JsonObject) object =
        ollama_chunk_new (model, created, generate, text);

      ollama_set_final_stats (object, prompt_tokens, n);
      reply_json (call, object_to_string (object));
    }
}

static JsonObject *
usage_new (const char *input_name,
           const char *output_name,
           guint       prompt_tokens,
           guint       n_tokens,
           gboolean    total)
{
  JsonObject *usage = json_object_new ();

  json_object_set_int_member (usage, input_name, prompt_tokens);
  json_object_set_int_member (usage, output_name, n_tokens);
  if (total)
    json_object_set_int_member (usage, "total_tokens", prompt_tokens + n_tokens);

  return usage;
}

static JsonObject *
openai_chunk_new (const char *id,
                  const char *model,
                  gint64      created,
                  const char *role,
                  const char *content,
                  const char *finish_reason,
                  gboolean    with_usage)
{
  JsonObject *object = json_object_new ();
  JsonObject *choice = json_object_new ();
  JsonObject *delta = json_object_new ();
  JsonArray *choices = json_array_new ();

  json_object_set_string_member (object, "id", id);
  json_object_set_string_member (object, "object", "chat.completion.chunk");
  json_object_set_int_member (object, "created", created);
  json_object_set_string_member (object, "model", model);
  json_object_set_string_member (object, "system_fingerprint", "fp_fake");

  if (role != NULL)
    json_object_set_string_member (delta, "role", role);
  if (content != NULL)
    json_object_set_string_member (delta, "content", content);
  json_object_set_int_member (choice, "index", 0);
  json_object_set_object_member (choice, "delta", delta);
  json_object_set_null_member (choice, "logprobs");
  if (finish_reason != NULL)
    json_object_set_string_member (choice, "finish_reason", finish_reason);
  else
    json_object_set_null_member (choice, "finish_reason");
  json_array_add_object_element (choices, choice);
  json_object_set_array_member (object, "choices", choices);
  if (with_usage)
    json_object_set_null_member (object, "usage");

  return object;
}

static void
add_sse (GPtrArray  *chunks,
         const char *event,
         JsonObject *object)
{
  g_autofree char *json = object_to_string (object);

  if (event != NULL)
    g_ptr_array_add (chunks, g_strdup_printf ("event: %s\ndata: %s\n\n",
                                              event, json));
  else
    g_ptr_array_add (chunks, g_strdup_printf ("data: %s\n\n", json));
}

static void
handle_openai_chat (Call *call)
{
  g_auto(GStrv) tokens = NULL;
  g_autofree char *id = NULL;
  gint64 created = g_get_real_time () / G_USEC_PER_SEC;
  const char *model;
  guint prompt_tokens;
  guint n;

  if (!require_model (call, &model))
    return;

  prompt_tokens = count_prompt_tokens (call->object);
  if (reply_tool_calls (call, model, prompt_tokens))
    return;
  tokens = take_reply (call);
  n = g_strv_length (tokens);
  id = g_strdup_printf ("chatcmpl-fake%08x", g_random_int ());

  if (get_bool_member (call->object, "stream", FALSE))
    {
      GPtrArray *chunks = g_ptr_array_new_with_free_func (g_free);
      JsonNode *options = json_object_get_member (call->object,
                                                  "stream_options");
      gboolean with_usage = FALSE;
      g_autoptr(JsonObject) first = NULL;
      g_autoptr(JsonObject) last = NULL;

      if (options != NULL && JSON_NODE_HOLDS_OBJECT (options))
        with_usage = get_bool_member (json_node_get_object (options),
                                      "include_usage", FALSE);

      first = openai_chunk_new (id, model, created, "assistant", "", NULL,
                                with_usage);
      add_sse (chunks, NULL, first);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(JsonObject) chunk =
            openai_chunk_new (id, model, created, NULL, tokens[i], NULL,
                              with_usage);

          add_sse (chunks, NULL, chunk);
        }
      last = openai_chunk_new (id, model, created, NULL, NULL, "stop",
                               with_usage);
      add_sse (chunks, NULL, last);
      if (with_usage)
        {
          g_autoptr(JsonObject) usage = openai_chunk_new (id, model, created,
                                                          NULL, NULL, NULL,
                                                          FALSE);

          json_object_set_array_member (usage, "choices", json_array_new ());
          json_object_set_object_member (usage, "usage",
                                         usage_new ("prompt_tokens",
                                                    "completion_tokens",
                                                    prompt_tokens, n, TRUE));
          add_sse (chunks, NULL, usage);
        }
      g_ptr_array_add (chunks, g_strdup ("data: [DONE]\n\n"));
      reply_stream (call, chunks, get_token_delay (call->self));
    }
  else
    {
      g_autoptr(JsonObject) object = json_object_new ();
      g_autofree char *text = join_tokens (tokens);
      JsonObject *choice = json_object_new ();
      JsonObject *message = json_object_new ();
      JsonArray *choices = json_array_new ();

      json_object_set_string_member (object, "id", id);
      json_object_set_string_member (object, "object", "chat.completion");
      json_object_set_int_member (object, "created", created);
      json_object_set_string_member (object, "model", model);
      json_object_set_string_member (message, "role", "assistant");
      json_object_set_string_member (message, "content", text);
      json_object_set_int_member (choice, "index", 0);
      json_object_set_object_member (choice, "message", message);
      json_object_set_null_member (choice, "logprobs");
      json_object_set_string_member (choice, "finish_reason", "stop");
      json_array_add_object_element (choices, choice);
      json_object_set_array_member (object, "choices", choices);
      json_object_set_object_member (object, "usage",
                                     usage_new ("prompt_tokens",
                                                "completion_tokens",
                                                prompt_tokens, n, TRUE));
      reply_json (call, object_to_string (object));
    }
}

static JsonObject *
anthropic_event_new (const char *type)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "type", type);
  return object;
}

static JsonObject *
anthropic_message_new (const char *id,
                       const char *model,
                       JsonArray  *content,
                       const char *stop_reason,
                       JsonObject *usage)
{
  JsonObject *message = anthropic_event_new ("message");

  json_object_set_string_member (message, "id", id);
  json_object_set_string_member (message, "role", "assistant");
  json_object_set_string_member (message, "model", model);
  json_object_set_array_member (message, "content", content);
  if (stop_reason != NULL)
    json_object_set_string_member (message, "stop_reason", stop_reason);
  else
    json_object_set_null_member (message, "stop_reason");
  json_object_set_null_member (message, "stop_sequence");
  json_object_set_object_member (message, "usage", usage);

  return message;
}

static void
anthropic_stream (Call       *call,
                  const char *id,
                  const char *model,
                  GStrv       tokens,
                  guint       prompt_tokens)
{
  GPtrArray *chunks = g_ptr_array_new_with_free_func (g_free);
  guint n = g_strv_length (tokens);
  g_autoptr(JsonObject) start = anthropic_event_new ("message_start");
  g_autoptr(JsonObject) block_start = anthropic_event_new ("content_block_start");
  g_autoptr(JsonObject) ping = anthropic_event_new ("ping");
  g_autoptr(JsonObject) block_stop = anthropic_event_new ("content_block_stop");
  g_autoptr(JsonObject) delta = anthropic_event_new ("message_delta");
  g_autoptr(JsonObject) stop = anthropic_event_new ("message_stop");
  JsonObject *block = anthropic_event_new ("text");
  JsonObject *stop_delta = json_object_new ();

  json_object_set_object_member (start, "message",
                                 anthropic_message_new (id, model,
                                                        json_array_new (), NULL,
                                                        usage_new ("input_tokens",
                                                                   "output_tokens",
                                                                   prompt_tokens,
                                                                   1, FALSE)));
  add_sse (chunks, "message_start", start);

  json_object_set_string_member (block, "text", "");
  json_object_set_int_member (block_start, "index", 0);
  json_object_set_object_member (block_start, "content_block", block);
  add_sse (chunks, "content_block_start", block_start);
  add_sse (chunks, "ping", ping);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(JsonObject) event = anthropic_event_new ("content_block_delta");
      JsonObject *text = anthropic_event_new ("text_delta");

      json_object_set_string_member (text, "text", tokens[i]);
      json_object_set_int_member (event, "index", 0);
      json_object_set_object_member (event, "delta", text);
      add_sse (chunks, "content_block_delta", event);
    }

  json_object_set_int_member (block_stop, "index", 0);
  add_sse (chunks, "content_block_stop", block_stop);

  json_object_set_string_member (stop_delta, "stop_reason", "end_turn");
  json_object_set_null_member (stop_delta, "stop_sequence");
  json_object_set_object_member (delta, "delta", stop_delta);
  json_object_set_object_member (delta, "usage",
                                 usage_new ("input_tokens", "output_tokens",
                                            prompt_tokens, n, FALSE));
  add_sse (chunks, "message_delta", delta);
  add_sse (chunks, "message_stop", stop);

  reply_stream (call, chunks, get_token_delay (call->self));
}

static void
handle_anthropic_messages (Call *call)
{
  g_auto(GStrv) tokens = NULL;
  g_autofree char *id = NULL;
  JsonNode *max_tokens;
  const char *model;
  guint prompt_tokens;

  if (!require_model (call, &model))
    return;

  max_tokens = json_object_get_member (call->object, "max_tokens");
  if (max_tokens == NULL || json_node_get_value_type (max_tokens) != G_TYPE_INT64)
    {
      reply_error (call, 400, "invalid_request_error", NULL,
                   "max_tokens: Field required");
      return;
    }

  prompt_tokens = count_prompt_tokens (call->object);
  if (reply_tool_calls (call, model, prompt_tokens))
    return;
  tokens = take_reply (call);
  id = g_strdup_printf ("msg_fake%08x", g_random_int ());

  if (get_bool_member (call->object, "stream", FALSE))
    {
      anthropic_stream (call, id, model, tokens, prompt_tokens);
    }
  else
    {
      g_autofree char *text = join_tokens (tokens);
      JsonArray *content = json_array_new ();
      JsonObject *block = anthropic_event_new ("text");
      g_autoptr(JsonObject) message = NULL;

      json_object_set_string_member (block, "text", text);
      json_array_add_object_element (content, block);
      message = anthropic_message_new (id, model, content, "end_turn",
                                       usage_new ("input_tokens",
                                                  "output_tokens",
                                                  prompt_tokens,
                                                  g_strv_length (tokens),
                                                  FALSE));
      reply_json (call, object_to_string (message));
    }
}

/* ------------------------------------------------------------ tool calls */

typedef struct
{
  GStrv names;
  GStrv arguments;     /* JSON object text, one per name */
} FakeToolCalls;

static void
fake_tool_calls_free (gpointer data)
{
  FakeToolCalls *calls = data;

  g_strfreev (calls->names);
  g_strfreev (calls->arguments);
  g_free (calls);
}

/* Anthropic's forced tool ({"tool_choice": {"type": "tool", "name": N}}):
 * its input is the reply text when that is a JSON object, else
 * {"answer": text}. */
static FakeToolCalls *
forced_tool_call (Call *call)
{
  JsonNode *choice = json_object_get_member (call->object, "tool_choice");
  const char *name;
  g_auto(GStrv) tokens = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  FakeToolCalls *calls;

  if (call->protocol != RFL_FAKE_LLM_ANTHROPIC || choice == NULL
      || !JSON_NODE_HOLDS_OBJECT (choice)
      || g_strcmp0 (get_string_member (json_node_get_object (choice), "type"),
                    "tool") != 0
      || (name = get_string_member (json_node_get_object (choice),
                                    "name")) == NULL)
    return NULL;

  tokens = take_reply (call);
  text = join_tokens (tokens);
  calls = g_new0 (FakeToolCalls, 1);
  calls->names = g_new0 (char *, 2);
  calls->names[0] = g_strdup (name);
  calls->arguments = g_new0 (char *, 2);

  if (json_parser_load_from_data (parser, text, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      calls->arguments[0] = g_steal_pointer (&text);
    }
  else
    {
      g_autoptr(JsonObject) object = json_object_new ();

      json_object_set_string_member (object, "answer", text);
      calls->arguments[0] = object_to_string (object);
    }

  return calls;
}

static FakeToolCalls *
take_tool_calls (Call *call)
{
  RflFakeLlm *self = call->self;
  FakeToolCalls *calls;

  g_mutex_lock (&self->lock);
  calls = g_queue_pop_head (&self->queued_tool_calls);
  g_mutex_unlock (&self->lock);

  if (calls == NULL)
    calls = forced_tool_call (call);

  return calls;
}

/* @text in pieces of a few characters, as models stream arguments. */
static GStrv
split_fragments (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *p = text;

  while (*p != '\0')
    {
      const char *end = p;
      g_autofree char *piece = NULL;

      for (guint i = 0; i < 5 && *end != '\0'; i++)
        end = g_utf8_next_char (end);
      piece = g_strndup (p, end - p);
      g_strv_builder_add (builder, piece);
      p = end;
    }

  return g_strv_builder_end (builder);
}

static JsonNode *
parse_arguments (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (json_parser_load_from_data (parser, text, -1, NULL)
      && (root = json_parser_get_root (parser)) != NULL
      && JSON_NODE_HOLDS_OBJECT (root))
    return json_node_copy (root);

  root = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (root, json_object_new ());
  return root;
}

static guint
count_fragments (FakeToolCalls *calls)
{
  guint n = 0;

  for (guint i = 0; calls->names[i] != NULL; i++)
    {
      g_auto(GStrv) pieces = split_fragments (calls->arguments[i]);

      n += g_strv_length (pieces);
    }

  return MAX (n, 1);
}

static void
ollama_tool_calls (Call          *call,
                   const char    *model,
                   FakeToolCalls *calls,
                   guint          prompt_tokens)
{
  g_autofree char *created = iso_now ();
  g_autoptr(JsonObject) object = ollama_chunk_new (model, created, FALSE, "");
  JsonObject *message = json_object_get_object_member (object, "message");
  JsonArray *array = json_array_new ();
  guint n = count_fragments (calls);

  for (guint i = 0; calls->names[i] != NULL; i++)
    {
      JsonObject *entry = json_object_new ();
      JsonObject *function = json_object_new ();

      json_object_set_string_member (function, "name", calls->names[i]);
      json_object_set_member (function, "arguments",
                              parse_arguments (calls->arguments[i]));
      json_object_set_object_member (entry, "function", function);
      json_array_add_object_element (array, entry);
    }
  json_object_set_array_member (message, "tool_calls", array);

  if (get_bool_member (call->object, "stream", TRUE))
    {
      GPtrArray *chunks = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(JsonObject) last = ollama_chunk_new (model, created, FALSE, "");

      json_object_set_boolean_member (object, "done", FALSE);
      add_line (chunks, object);
      ollama_set_final_stats (last, prompt_tokens, n);
      add_line (chunks, last);
      reply_stream (call, chunks, get_token_delay (call->self));
    }
  else
    {
      ollama_set_final_stats (object, prompt_tokens, n);
      reply_json (call, object_to_string (object));
    }
}

static JsonObject *
openai_tool_call_new (guint       index,
                      const char *id,
                      const char *name,
                      const char *arguments)
{
  JsonObject *entry = json_object_new ();
  JsonObject *function = json_object_new ();

  if (index != G_MAXUINT)
    json_object_set_int_member (entry, "index", index);
  if (id != NULL)
    {
      json_object_set_string_member (entry, "id", id);
      json_object_set_string_member (entry, "type", "function");
    }
  if (name != NULL)
    json_object_set_string_member (function, "name", name);
  json_object_set_string_member (function, "arguments", arguments);
  json_object_set_object_member (entry, "function", function);

  return entry;
}

/* A chunk whose delta carries @entry (taken) in "tool_calls". */
static JsonObject *
openai_tool_chunk_new (const char *id,
                       const char *model,
                       gint64      created,
                       gboolean    with_usage,
                       JsonObject *entry)
{
  JsonObject *chunk = openai_chunk_new (id, model, created, NULL, NULL, NULL,
                                        with_usage);
  JsonArray *choices = json_object_get_array_member (chunk, "choices");
  JsonObject *choice = json_array_get_object_element (choices, 0);
  JsonObject *delta = json_object_get_object_member (choice, "delta");
  JsonArray *array = json_array_new ();

  json_array_add_object_element (array, entry);
  json_object_set_array_member (delta, "tool_calls", array);

  return chunk;
}

static void
openai_tool_calls_stream (Call          *call,
                          const char    *id,
                          const char    *model,
                          FakeToolCalls *calls,
                          guint          prompt_tokens)
{
  GPtrArray *chunks = g_ptr_array_new_with_free_func (g_free);
  gint64 created = g_get_real_time () / G_USEC_PER_SEC;
  JsonNode *options = json_object_get_member (call->object, "stream_options");
  gboolean with_usage = FALSE;
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) last = NULL;

  if (options != NULL && JSON_NODE_HOLDS_OBJECT (options))
    with_usage = get_bool_member (json_node_get_object (options),
                                  "include_usage", FALSE);

  first = openai_chunk_new (id, model, created, "assistant", NULL, NULL,
                            with_usage);
  add_sse (chunks, NULL, first);

  for (guint i = 0; calls->names[i] != NULL; i++)
    {
      g_auto(GStrv) pieces = split_fragments (calls->arguments[i]);
      g_autofree char *call_id = g_strdup_printf ("call_fake%u%08x", i,
                                                  g_random_int ());
      g_autoptr(JsonObject) opening =
        openai_tool_chunk_new (id, model, created, with_usage,
                               openai_tool_call_new (i, call_id,
                                                     calls->names[i], ""));

      add_sse (chunks, NULL, opening);
      for (guint k = 0; pieces[k] != NULL; k++)
        {
          g_autoptr(JsonObject) piece =
            openai_tool_chunk_new (id, model, created, with_usage,
                                   openai_tool_call_new (i, NULL, NULL,
                                                         pieces[k]));

          add_sse (chunks, NULL, piece);
        }
    }

  last = openai_chunk_new (id, model, created, NULL, NULL, "tool_calls",
                           with_usage);
  add_sse (chunks, NULL, last);
  if (with_usage)
    {
      g_autoptr(JsonObject) usage = openai_chunk_new (id, model, created, NULL,
                                                      NULL, NULL, FALSE);

      json_object_set_array_member (usage, "choices", json_array_new ());
      json_object_set_object_member (usage, "usage",
                                     usage_new ("prompt_tokens",
                                                "completion_tokens",
                                                prompt_tokens,
                                                count_fragments (calls), TRUE));
      add_sse (chunks, NULL, usage);
    }
  g_ptr_array_add (chunks, g_strdup ("data: [DONE]\n\n"));
  reply_stream (call, chunks, get_token_delay (call->self));
}

static void
openai_tool_calls (Call          *call,
                   const char    *model,
                   FakeToolCalls *calls,
                   guint          prompt_tokens)
{
  g_autofree char *id = g_strdup_printf ("chatcmpl-fake%08x", g_random_int ());
  g_autoptr(JsonObject) object = NULL;
  JsonObject *choice;
  JsonObject *message;
  JsonArray *choices;
  JsonArray *array;

  if (get_bool_member (call->object, "stream", FALSE))
    {
      openai_tool_calls_stream (call, id, model, calls, prompt_tokens);
      return;
    }

  object = json_object_new ();
  choice = json_object_new ();
  message = json_object_new ();
  choices = json_array_new ();
  array = json_array_new ();
  for (guint i = 0; calls->names[i] != NULL; i++)
    {
      g_autofree char *call_id = g_strdup_printf ("call_fake%u%08x", i,
                                                  g_random_int ());

      json_array_add_object_element (array,
                                     openai_tool_call_new (G_MAXUINT, call_id,
                                                           calls->names[i],
                                                           calls->arguments[i]));
    }

  json_object_set_string_member (object, "id", id);
  json_object_set_string_member (object, "object", "chat.completion");
  json_object_set_int_member (object, "created",
                              g_get_real_time () / G_USEC_PER_SEC);
  json_object_set_string_member (object, "model", model);
  json_object_set_string_member (message, "role", "assistant");
  json_object_set_null_member (message, "content");
  json_object_set_array_member (message, "tool_calls", array);
  json_object_set_int_member (choice, "index", 0);
  json_object_set_object_member (choice, "message", message);
  json_object_set_null_member (choice, "logprobs");
  json_object_set_string_member (choice, "finish_reason", "tool_calls");
  json_array_add_object_element (choices, choice);
  json_object_set_array_member (object, "choices", choices);
  json_object_set_object_member (object, "usage",
                                 usage_new ("prompt_tokens", "completion_tokens",
                                            prompt_tokens,
                                            count_fragments (calls), TRUE));
  reply_json (call, object_to_string (object));
}

static JsonObject *
anthropic_tool_use_new (guint       index,
                        const char *name,
                        JsonNode   *input)
{
  JsonObject *block = anthropic_event_new ("tool_use");
  g_autofree char *tool_id = g_strdup_printf ("toolu_fake%u%08x", index,
                                              g_random_int ());

  json_object_set_string_member (block, "id", tool_id);
  json_object_set_string_member (block, "name", name);
  json_object_set_member (block, "input", input);

  return block;
}

static void
anthropic_tool_calls_stream (Call          *call,
                             const char    *id,
                             const char    *model,
                             FakeToolCalls *calls,
                             guint          prompt_tokens)
{
  GPtrArray *chunks = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) start = anthropic_event_new ("message_start");
  g_autoptr(JsonObject) ping = anthropic_event_new ("ping");
  g_autoptr(JsonObject) delta = anthropic_event_new ("message_delta");
  g_autoptr(JsonObject) stop = anthropic_event_new ("message_stop");
  JsonObject *stop_delta = json_object_new ();

  json_object_set_object_member (start, "message",
                                 anthropic_message_new (id, model,
                                                        json_array_new (), NULL,
                                                        usage_new ("input_tokens",
                                                                   "output_tokens",
                                                                   prompt_tokens,
                                                                   1, FALSE)));
  add_sse (chunks, "message_start", start);
  add_sse (chunks, "ping", ping);

  for (guint i = 0; calls->names[i] != NULL; i++)
    {
      g_auto(GStrv) pieces = split_fragments (calls->arguments[i]);
      g_autoptr(JsonObject) block_start =
        anthropic_event_new ("content_block_start");
      g_autoptr(JsonObject) block_stop =
        anthropic_event_new ("content_block_stop");
      JsonNode *empty = json_node_new (JSON_NODE_OBJECT);

      json_node_take_object (empty, json_object_new ());
      json_object_set_int_member (block_start, "index", i);
      json_object_set_object_member (block_start, "content_block",
                                     anthropic_tool_use_new (i, calls->names[i],
                                                             empty));
      add_sse (chunks, "content_block_start", block_start);

      for (guint k = 0; pieces[k] != NULL; k++)
        {
          g_autoptr(JsonObject) event = anthropic_event_new ("content_block_delta");
          JsonObject *json = anthropic_event_new ("input_json_delta");

          json_object_set_string_member (json, "partial_json", pieces[k]);
          json_object_set_int_member (event, "index", i);
          json_object_set_object_member (event, "delta", json);
          add_sse (chunks, "content_block_delta", event);
        }

      json_object_set_int_member (block_stop, "index", i);
      add_sse (chunks, "content_block_stop", block_stop);
    }

  json_object_set_string_member (stop_delta, "stop_reason", "tool_use");
  json_object_set_null_member (stop_delta, "stop_sequence");
  json_object_set_object_member (delta, "delta", stop_delta);
  json_object_set_object_member (delta, "usage",
                                 usage_new ("input_tokens", "output_tokens",
                                            prompt_tokens,
                                            count_fragments (calls), FALSE));
  add_sse (chunks, "message_delta", delta);
  add_sse (chunks, "message_stop", stop);

  reply_stream (call, chunks, get_token_delay (call->self));
}

static void
anthropic_tool_calls (Call          *call,
                      const char    *model,
                      FakeToolCalls *calls,
                      guint          prompt_tokens)
{
  g_autofree char *id = g_strdup_printf ("msg_fake%08x", g_random_int ());
  g_autoptr(JsonObject) message = NULL;
  JsonArray *content;

  if (get_bool_member (call->object, "stream", FALSE))
    {
      anthropic_tool_calls_stream (call, id, model, calls, prompt_tokens);
      return;
    }

  content = json_array_new ();
  for (guint i = 0; calls->names[i] != NULL; i++)
    json_array_add_object_element (content,
                                   anthropic_tool_use_new (i, calls->names[i],
                                                           parse_arguments (calls->arguments[i])));
  message = anthropic_message_new (id, model, content, "tool_use",
                                   usage_new ("input_tokens", "output_tokens",
                                              prompt_tokens,
                                              count_fragments (calls), FALSE));
  reply_json (call, object_to_string (message));
}

/* TRUE when the request was answered with tool calls: queued ones, or the
 * tool an Anthropic request forces. */
static gboolean
reply_tool_calls (Call       *call,
                  const char *model,
                  guint       prompt_tokens)
{
  FakeToolCalls *calls = take_tool_calls (call);

  if (calls == NULL)
    return FALSE;

  switch (call->protocol)
    {
    case RFL_FAKE_LLM_OLLAMA:
      ollama_tool_calls (call, model, calls, prompt_tokens);
      break;
    case RFL_FAKE_LLM_OPENAI:
      openai_tool_calls (call, model, calls, prompt_tokens);
      break;
    case RFL_FAKE_LLM_ANTHROPIC:
    default:
      anthropic_tool_calls (call, model, calls, prompt_tokens);
      break;
    }

  fake_tool_calls_free (calls);
  return TRUE;
}

/* ------------------------------------------------------------ embeddings */

static guint64
fnv1a (const char *data,
       gsize       len)
{
  guint64 hash = G_GUINT64_CONSTANT (14695981039346656037);

  for (gsize i = 0; i < len; i++)
    {
      hash ^= (guchar) data[i];
      hash *= G_GUINT64_CONSTANT (1099511628211);
    }

  return hash;
}

void
rfl_fake_llm_embed_text (const char *text,
                         guint       dim,
                         float      *out)
{
  g_autofree char *lower = NULL;
  const char *p;
  double norm = 0;

  g_return_if_fail (dim > 0);
  g_return_if_fail (out != NULL);

  memset (out, 0, sizeof (float) * dim);
  lower = g_ascii_strdown (text != NULL ? text : "", -1);

  for (p = lower; *p != '\0';)
    {
      const char *start;
      guint64 hash;

      while (*p != '\0' && ((guchar) *p < 0x80) && !g_ascii_isalnum (*p))
        p++;
      start = p;
      while (*p != '\0' && (!((guchar) *p < 0x80) || g_ascii_isalnum (*p)))
        p++;
      if (p == start)
        continue;

      hash = fnv1a (start, p - start);
      out[hash % dim] += (hash >> 63) ? -1.0f : 1.0f;
      out[(hash >> 20) % dim] += (hash >> 62 & 1) ? -0.5f : 0.5f;
    }

  for (guint i = 0; i < dim; i++)
    norm += (double) out[i] * out[i];

  if (norm == 0)
    {
      out[0] = 1.0f;
      return;
    }

  norm = sqrt (norm);
  for (guint i = 0; i < dim; i++)
    out[i] = (float) (out[i] / norm);
}

static JsonArray *
embedding_array (const char *text,
                 guint       dim)
{
  g_autofree float *vector = g_new (float, dim);
  JsonArray *array = json_array_sized_new (dim);

  rfl_fake_llm_embed_text (text, dim, vector);
  for (guint i = 0; i < dim; i++)
    json_array_add_double_element (array, vector[i]);

  return array;
}

/* Collects "input" (or @other) as a list of strings; NULL when invalid. */
static GPtrArray *
collect_inputs (JsonObject *object,
                const char *name)
{
  JsonNode *node = json_object_get_member (object, name);
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();

  if (node == NULL)
    return NULL;

  if (json_node_get_value_type (node) == G_TYPE_STRING)
    {
      g_ptr_array_add (inputs, (gpointer) json_node_get_string (node));
      return g_steal_pointer (&inputs);
    }

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return NULL;

  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *element = json_array_get_element (json_node_get_array (node), i);

      if (json_node_get_value_type (element) != G_TYPE_STRING)
        return NULL;
      g_ptr_array_add (inputs, (gpointer) json_node_get_string (element));
    }

  return g_steal_pointer (&inputs);
}

static guint
get_embedding_dim (RflFakeLlm *self)
{
  guint dim;

  g_mutex_lock (&self->lock);
  dim = self->embedding_dim;
  g_mutex_unlock (&self->lock);

  return dim;
}

static void
handle_embed (Call     *call,
              gboolean  legacy)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(GPtrArray) inputs = NULL;
  guint dim = get_embedding_dim (call->self);
  const char *model;
  guint tokens = 0;

  if (!require_model (call, &model))
    return;

  inputs = collect_inputs (call->object, legacy ? "prompt" : "input");
  if (inputs == NULL)
    {
      if (call->protocol == RFL_FAKE_LLM_OLLAMA)
        reply_error (call, 400, NULL, NULL, "invalid input type");
      else
        reply_error (call, 400, "invalid_request_error", NULL,
                     "'input' is a required property");
      return;
    }

  for (guint i = 0; i < inputs->len; i++)
    tokens += MAX (count_words (g_ptr_array_index (inputs, i)), 1);

  if (legacy)
    {
      json_object_set_array_member (object, "embedding",
                                    embedding_array (g_ptr_array_index (inputs, 0),
                                                     dim));
    }
  else if (call->protocol == RFL_FAKE_LLM_OLLAMA)
    {
      JsonArray *embeddings = json_array_new ();

      for (guint i = 0; i < inputs->len; i++)
        json_array_add_array_element (embeddings,
                                      embedding_array (g_ptr_array_index (inputs, i),
                                                       dim));
      json_object_set_string_member (object, "model", model);
      json_object_set_array_member (object, "embeddings", embeddings);
      json_object_set_int_member (object, "total_duration", 14143917);
      json_object_set_int_member (object, "load_duration", 1019500);
      json_object_set_int_member (object, "prompt_eval_count", tokens);
    }
  else
    {
      JsonArray *data = json_array_new ();
      JsonObject *usage = json_object_new ();

      for (guint i = 0; i < inputs->len; i++)
        {
          JsonObject *entry = json_object_new ();

          json_object_set_string_member (entry, "object", "embedding");
          json_object_set_int_member (entry, "index", i);
          json_object_set_array_member (entry, "embedding",
                                        embedding_array (g_ptr_array_index (inputs, i),
                                                         dim));
          json_array_add_object_element (data, entry);
        }
      json_object_set_string_member (object, "object", "list");
      json_object_set_array_member (object, "data", data);
      json_object_set_string_member (object, "model", model);
      json_object_set_int_member (usage, "prompt_tokens", tokens);
      json_object_set_int_member (usage, "total_tokens", tokens);
      json_object_set_object_member (object, "usage", usage);
    }

  reply_json (call, object_to_string (object));
}

/* ------------------------------------------------------------------ pull */

static gboolean
pullable (RflFakeLlm *self,
          const char *name)
{
  g_autofree char *wanted = normalize_name (RFL_FAKE_LLM_OLLAMA, name);
  gboolean found;

  g_mutex_lock (&self->lock);
  found = self->pullable == NULL;
  for (guint i = 0; !found && self->pullable[i] != NULL; i++)
    {
      g_autofree char *have = normalize_name (RFL_FAKE_LLM_OLLAMA,
                                              self->pullable[i]);

      found = g_str_equal (have, wanted);
    }
  g_mutex_unlock (&self->lock);

  return found;
}

static void
handle_pull (Call *call)
{
  RflFakeLlm *self = call->self;
  const char *name = get_string_member (call->object, "model");
  static const char missing[] = "pull model manifest: file does not exist";
  g_autofree char *model = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *status = NULL;
  g_autofree char *full_digest = NULL;
  GPtrArray *chunks;
  FakeStream *stream;
  guint64 total;
  guint steps;
  guint delay;

  if (name == NULL)
    name = get_string_member (call->object, "name");
  if (name == NULL || *name == '\0')
    {
      reply_error (call, 400, NULL, NULL, "invalid model name");
      return;
    }

  model = normalize_name (RFL_FAKE_LLM_OLLAMA, name);
  g_mutex_lock (&self->lock);
  total = self->pull_total;
  steps = MAX (self->pull_steps, 1);
  delay = self->pull_delay;
  g_mutex_unlock (&self->lock);

  if (!get_bool_member (call->object, "stream", TRUE))
    {
      if (!pullable (self, name))
        {
          reply_error (call, 500, NULL, NULL, missing);
          return;
        }
      g_mutex_lock (&self->lock);
      add_model_locked (self, RFL_FAKE_LLM_OLLAMA, model, total);
      g_mutex_unlock (&self->lock);
      reply_json (call, g_strdup ("{\"status\":\"success\"}"));
      return;
    }

  chunks = g_ptr_array_new_with_free_func (g_free);
  add_status_line (chunks, "status", "pulling manifest");
  if (!pullable (self, name))
    {
      add_status_line (chunks, "error", missing);
      reply_stream (call, chunks, delay);
      return;
    }

  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, model, -1);
  full_digest = g_strconcat ("sha256:", digest, NULL);
  status = g_strdup_printf ("pulling %.12s", digest);
  for (guint k = 0; k <= steps; k++)
    {
      g_autoptr(JsonObject) line = json_object_new ();

      json_object_set_string_member (line, "status", status);
      json_object_set_string_member (line, "digest", full_digest);
      json_object_set_int_member (line, "total", (gint64) total);
      /* Ollama leaves "completed" out of the first line of a layer. */
      if (k > 0)
        json_object_set_int_member (line, "completed",
                                    (gint64) (total * k / steps));
      add_line (chunks, line);
    }
  add_status_line (chunks, "status", "verifying sha256 digest");
  add_status_line (chunks, "status", "writing manifest");
  add_status_line (chunks, "status", "success");

  stream = reply_stream (call, chunks, delay);
  stream->pulled_model = g_steal_pointer (&model);
  stream->pulled_size = total;
}

/* --------------------------------------------------------------- routing */

typedef enum
{
  ROUTE_NONE,
  ROUTE_ROOT,
  ROUTE_VERSION,
  ROUTE_TAGS,
  ROUTE_OLLAMA_CHAT,
  ROUTE_OLLAMA_GENERATE,
  ROUTE_OLLAMA_EMBED,
  ROUTE_OLLAMA_EMBEDDINGS,
  ROUTE_PULL,
  ROUTE_V1_MODELS,
  ROUTE_OPENAI_CHAT,
  ROUTE_OPENAI_EMBEDDINGS,
  ROUTE_ANTHROPIC_MESSAGES,
} Route;

static const struct
{
  const char *method;
  const char *path;
  Route       route;
} routes[] = {
  { "GET", "/", ROUTE_ROOT },
  { "GET", "/api/version", ROUTE_VERSION },
  { "GET", "/api/tags", ROUTE_TAGS },
  { "POST", "/api/chat", ROUTE_OLLAMA_CHAT },
  { "POST", "/api/generate", ROUTE_OLLAMA_GENERATE },
  { "POST", "/api/embed", ROUTE_OLLAMA_EMBED },
  { "POST", "/api/embeddings", ROUTE_OLLAMA_EMBEDDINGS },
  { "POST", "/api/pull", ROUTE_PULL },
  { "GET", "/v1/models", ROUTE_V1_MODELS },
  { "POST", "/v1/chat/completions", ROUTE_OPENAI_CHAT },
  { "POST", "/v1/embeddings", ROUTE_OPENAI_EMBEDDINGS },
  { "POST", "/v1/messages", ROUTE_ANTHROPIC_MESSAGES },
};

/* ROUTE_NONE with *@wrong_method set when only the method differs. */
static Route
find_route (const char *method,
            const char *path,
            gboolean   *wrong_method)
{
  *wrong_method = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      if (!g_str_equal (routes[i].path, path))
        continue;
      if (g_str_equal (routes[i].method, method))
        return routes[i].route;
      *wrong_method = TRUE;
    }

  return ROUTE_NONE;
}

static void
reply_not_found (Call       *call,
                 const char *method,
                 gboolean    wrong_method)
{
  g_autofree char *message = NULL;

  if (call->protocol == RFL_FAKE_LLM_OLLAMA)
    {
      set_body (call->msg, wrong_method ? 405 : 404, "text/plain",
                g_strdup (wrong_method ? "405 method not allowed"
                                       : "404 page not found"));
      return;
    }

  message = g_strdup_printf ("Unknown request URL: %s %s.", method,
                             call->path);
  reply_error (call, wrong_method ? 405 : 404, "invalid_request_error",
               "unknown_url", message);
}

static void
dispatch (Call                    *call,
          const RflFakeLlmRequest *request)
{
  gboolean wrong_method;
  Route route = find_route (request->method, request->path, &wrong_method);

  if (route == ROUTE_NONE)
    {
      reply_not_found (call, request->method, wrong_method);
      return;
    }

  if (!check_auth (call, request) || !apply_status_fault (call))
    return;

  if (g_str_equal (request->method, "POST") && !require_object (call, request))
    return;

  switch (route)
    {
    case ROUTE_ROOT:
      set_body (call->msg, 200, "text/plain", g_strdup ("Ollama is running"));
      break;

    case ROUTE_VERSION:
      reply_json (call, g_strdup ("{\"version\":\"0.5.7\"}"));
      break;

    case ROUTE_TAGS:
      handle_ollama_tags (call);
      break;

    case ROUTE_OLLAMA_CHAT:
      handle_ollama_chat (call, FALSE);
      break;

    case ROUTE_OLLAMA_GENERATE:
      handle_ollama_chat (call, TRUE);
      break;

    case ROUTE_OLLAMA_EMBED:
      handle_embed (call, FALSE);
      break;

    case ROUTE_OLLAMA_EMBEDDINGS:
      handle_embed (call, TRUE);
      break;

    case ROUTE_PULL:
      handle_pull (call);
      break;

    case ROUTE_V1_MODELS:
      handle_v1_models (call);
      break;

    case ROUTE_OPENAI_CHAT:
      handle_openai_chat (call);
      break;

    case ROUTE_OPENAI_EMBEDDINGS:
      handle_embed (call, FALSE);
      break;

    case ROUTE_ANTHROPIC_MESSAGES:
      handle_anthropic_messages (call);
      break;

    case ROUTE_NONE:
    default:
      g_assert_not_reached ();
    }
}

static void
server_cb (SoupServer        *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  RflFakeLlm *self = user_data;
  RflFakeLlmRequest *request = request_new (msg, path);
  Call call = { 0, };
  gboolean log;

  call.self = self;
  call.msg = msg;
  call.path = request->path;
  call.protocol = request->protocol = detect_protocol (request);
  take_fault (self, path, &call.fault, &call.param);

  dispatch (&call, request);
  g_clear_pointer (&call.root, json_node_unref);

  request->status = soup_server_message_get_status (msg);
  g_mutex_lock (&self->lock);
  log = self->log_requests;
  g_ptr_array_add (self->requests, request);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (log)
    {
      g_print ("%s %s -> %u\n", soup_server_message_get_method (msg), path,
               soup_server_message_get_status (msg));
      fflush (stdout);
    }
}

/* ---------------------------------------------------------------- thread */

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
signal_started (RflFakeLlm *self,
                GError     *error,
                guint16     port)
{
  g_mutex_lock (&self->lock);
  self->start_error = error;
  self->port = port;
  if (error == NULL)
    self->url = g_strdup_printf ("http://127.0.0.1:%u", port);
  self->start_done = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static gpointer
server_worker (gpointer data)
{
  RflFakeLlm *self = data;
  GMainContext *context = self->context;
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  GError *error = NULL;
  GSList *uris;
  guint16 port = 0;

  g_main_context_push_thread_default (context);

  server = soup_server_new ("server-header", "rfl-fake-llm ", NULL);
  soup_server_add_handler (server, NULL, server_cb, self, NULL);
  address = g_inet_socket_address_new_from_string ("127.0.0.1",
                                                   self->wanted_port);
  if (!soup_server_listen (server, address, 0, &error))
    {
      soup_server_disconnect (server);
      g_clear_object (&server);
      g_main_context_pop_thread_default (context);
      signal_started (self, error, 0);
      return NULL;
    }

  uris = soup_server_get_uris (server);
  if (uris != NULL)
    port = (guint16) g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  signal_started (self, NULL, port);

  g_main_loop_run (self->loop);

  /* Drop the streams first: they hold messages the server would finish. */
  while (self->streams != NULL)
    {
      FakeStream *stream = self->streams->data;

      self->streams = g_list_delete_link (self->streams, self->streams);
      stream_free (stream);
    }
  soup_server_disconnect (server);
  g_clear_object (&server);
  while (g_main_context_pending (context))
    g_main_context_iteration (context, FALSE);
  while (self->streams != NULL)
    {
      FakeStream *stream = self->streams->data;

      self->streams = g_list_delete_link (self->streams, self->streams);
      stream_free (stream);
    }

  g_main_context_pop_thread_default (context);
  return NULL;
}

/* ------------------------------------------------------------ public API */

static GPtrArray *
models_from_names (const char * const *names,
                   const guint64      *sizes)
{
  GPtrArray *models = g_ptr_array_new_with_free_func (fake_model_free);

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      FakeModel *model = g_new0 (FakeModel, 1);

      model->name = g_strdup (names[i]);
      model->size = sizes != NULL ? sizes[i] : 0;
      g_ptr_array_add (models, model);
    }

  return models;
}

RflFakeLlm *
rfl_fake_llm_new (void)
{
  static const char * const ollama[] = {
    "llama3.2:3b", "nomic-embed-text:latest", NULL
  };
  static const guint64 ollama_sizes[] = { 2019393189, 274302450 };
  static const char * const openai[] = {
    "gpt-4o-mini", "text-embedding-3-small", NULL
  };
  static const char * const anthropic[] = {
    "claude-3-5-haiku-20241022", "claude-sonnet-4-20250514", NULL
  };
  RflFakeLlm *self = g_new0 (RflFakeLlm, 1);

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->models[RFL_FAKE_LLM_OLLAMA] = models_from_names (ollama, ollama_sizes);
  self->models[RFL_FAKE_LLM_OPENAI] = models_from_names (openai, NULL);
  self->models[RFL_FAKE_LLM_ANTHROPIC] = models_from_names (anthropic, NULL);
  self->reply = g_strdupv ((char **) default_reply);
  g_queue_init (&self->queued_replies);
  g_queue_init (&self->queued_tool_calls);
  self->embedding_dim = 64;
  self->pull_total = 100000000;
  self->pull_steps = 10;
  self->pull_delay = 10;
  self->requests = g_ptr_array_new_with_free_func (
    (GDestroyNotify) rfl_fake_llm_request_free);

  return self;
}

gboolean
rfl_fake_llm_start (RflFakeLlm  *self,
                    GError     **error)
{
  GError *start_error;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->thread == NULL, FALSE);

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);

  g_mutex_lock (&self->lock);
  self->start_done = FALSE;
  self->thread = g_thread_new ("rfl-fake-llm", server_worker, self);
  while (!self->start_done)
    g_cond_wait (&self->cond, &self->lock);
  start_error = g_steal_pointer (&self->start_error);
  g_mutex_unlock (&self->lock);

  if (start_error != NULL)
    {
      g_thread_join (g_steal_pointer (&self->thread));
      g_clear_pointer (&self->loop, g_main_loop_unref);
      g_clear_pointer (&self->context, g_main_context_unref);
      g_propagate_error (error, start_error);
      return FALSE;
    }

  return TRUE;
}

const char *
rfl_fake_llm_get_url (RflFakeLlm *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->url;
}

guint16
rfl_fake_llm_get_port (RflFakeLlm *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->port;
}

void
rfl_fake_llm_stop (RflFakeLlm *self)
{
  GSource *source;

  g_return_if_fail (self != NULL);

  if (self->thread == NULL)
    return;

  source = g_idle_source_new ();
  g_source_set_callback (source, quit_cb, self->loop, NULL);
  g_source_attach (source, self->context);
  g_source_unref (source);

  g_thread_join (g_steal_pointer (&self->thread));
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
}

void
rfl_fake_llm_free (RflFakeLlm *self)
{
  if (self == NULL)
    return;

  rfl_fake_llm_stop (self);

  for (guint i = 0; i < N_PROTOCOLS; i++)
    g_ptr_array_unref (self->models[i]);
  g_free (self->api_key);
  g_strfreev (self->reply);
  g_queue_clear_full (&self->queued_replies, (GDestroyNotify) g_strfreev);
  g_queue_clear_full (&self->queued_tool_calls, fake_tool_calls_free);
  g_strfreev (self->pullable);
  g_free (self->fault_path);
  g_ptr_array_unref (self->requests);
  g_clear_error (&self->start_error);
  g_free (self->url);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

void
rfl_fake_llm_set_port (RflFakeLlm *self,
                       guint16     port)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->thread == NULL);

  self->wanted_port = port;
}

void
rfl_fake_llm_set_log_requests (RflFakeLlm *self,
                               gboolean    log)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->log_requests = !!log;
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_models (RflFakeLlm         *self,
                         RflFakeLlmProtocol  protocol,
                         const char * const *names)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (protocol < N_PROTOCOLS);

  g_mutex_lock (&self->lock);
  g_ptr_array_unref (self->models[protocol]);
  self->models[protocol] = models_from_names (names, NULL);
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_add_model (RflFakeLlm         *self,
                        RflFakeLlmProtocol  protocol,
                        const char         *name,
                        guint64             size_bytes)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (protocol < N_PROTOCOLS);
  g_return_if_fail (name != NULL);

  g_mutex_lock (&self->lock);
  add_model_locked (self, protocol, name, size_bytes);
  g_mutex_unlock (&self->lock);
}

GStrv
rfl_fake_llm_dup_models (RflFakeLlm         *self,
                         RflFakeLlmProtocol  protocol)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (protocol < N_PROTOCOLS, NULL);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->models[protocol]->len; i++)
    {
      FakeModel *model = g_ptr_array_index (self->models[protocol], i);

      g_strv_builder_add (builder, model->name);
    }
  g_mutex_unlock (&self->lock);

  return g_strv_builder_end (builder);
}

void
rfl_fake_llm_set_api_key (RflFakeLlm *self,
                          const char *api_key)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  g_free (self->api_key);
  self->api_key = g_strdup (api_key);
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_reply (RflFakeLlm         *self,
                        const char * const *tokens)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (tokens != NULL);

  g_mutex_lock (&self->lock);
  g_strfreev (self->reply);
  self->reply = g_strdupv ((char **) tokens);
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_queue_reply (RflFakeLlm         *self,
                          const char * const *tokens)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (tokens != NULL);

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->queued_replies, g_strdupv ((char **) tokens));
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_queue_tool_call_reply (RflFakeLlm         *self,
                                    const char * const *names,
                                    const char * const *arguments)
{
  FakeToolCalls *calls;

  g_return_if_fail (self != NULL);
  g_return_if_fail (names != NULL && names[0] != NULL);
  g_return_if_fail (arguments != NULL);
  g_return_if_fail (g_strv_length ((char **) names)
                    == g_strv_length ((char **) arguments));

  calls = g_new0 (FakeToolCalls, 1);
  calls->names = g_strdupv ((char **) names);
  calls->arguments = g_strdupv ((char **) arguments);

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->queued_tool_calls, calls);
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_token_delay (RflFakeLlm *self,
                              guint       delay_ms)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->token_delay = delay_ms;
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_embedding_dim (RflFakeLlm *self,
                                guint       dim)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (dim > 0);

  g_mutex_lock (&self->lock);
  self->embedding_dim = dim;
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_pull (RflFakeLlm *self,
                       guint64     total_bytes,
                       guint       steps,
                       guint       delay_ms)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->pull_total = total_bytes;
  self->pull_steps = steps;
  self->pull_delay = delay_ms;
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_pullable (RflFakeLlm         *self,
                           const char * const *names)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  g_strfreev (self->pullable);
  self->pullable = g_strdupv ((char **) names);
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_fault_for_path (RflFakeLlm      *self,
                                 const char      *path,
                                 RflFakeLlmFault  fault,
                                 guint            param,
                                 guint            n_requests)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->fault = fault;
  self->fault_param = param;
  self->fault_remaining = n_requests;
  g_free (self->fault_path);
  self->fault_path = g_strdup (path);
  g_mutex_unlock (&self->lock);
}

void
rfl_fake_llm_set_fault (RflFakeLlm      *self,
                        RflFakeLlmFault  fault,
                        guint            param,
                        guint            n_requests)
{
  rfl_fake_llm_set_fault_for_path (self, NULL, fault, param, n_requests);
}

void
rfl_fake_llm_clear_fault (RflFakeLlm *self)
{
  rfl_fake_llm_set_fault_for_path (self, NULL, RFL_FAKE_LLM_FAULT_NONE, 0, 0);
}

guint
rfl_fake_llm_get_request_count (RflFakeLlm *self)
{
  guint count;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->lock);
  count = self->requests->len;
  g_mutex_unlock (&self->lock);

  return count;
}

guint
rfl_fake_llm_count_requests_for_path (RflFakeLlm *self,
                                      const char *path)
{
  guint count = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (path != NULL, 0);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->requests->len; i++)
    {
      RflFakeLlmRequest *request = g_ptr_array_index (self->requests, i);

      if (g_str_equal (request->path, path))
        count++;
    }
  g_mutex_unlock (&self->lock);

  return count;
}

RflFakeLlmRequest *
rfl_fake_llm_dup_request (RflFakeLlm *self,
                          guint       index)
{
  RflFakeLlmRequest *copy = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  g_mutex_lock (&self->lock);
  if (index < self->requests->len)
    copy = request_copy (g_ptr_array_index (self->requests, index));
  g_mutex_unlock (&self->lock);

  return copy;
}

RflFakeLlmRequest *
rfl_fake_llm_dup_last_request (RflFakeLlm *self)
{
  RflFakeLlmRequest *copy = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  g_mutex_lock (&self->lock);
  if (self->requests->len > 0)
    copy = request_copy (g_ptr_array_index (self->requests,
                                            self->requests->len - 1));
  g_mutex_unlock (&self->lock);

  return copy;
}

char *
rfl_fake_llm_dup_last_request_body (RflFakeLlm *self)
{
  g_autoptr(RflFakeLlmRequest) request = rfl_fake_llm_dup_last_request (self);

  return request != NULL ? g_steal_pointer (&request->body) : NULL;
}

char *
rfl_fake_llm_dup_last_request_path (RflFakeLlm *self)
{
  g_autoptr(RflFakeLlmRequest) request = rfl_fake_llm_dup_last_request (self);

  return request != NULL ? g_steal_pointer (&request->path) : NULL;
}

char *
rfl_fake_llm_dup_last_request_header (RflFakeLlm *self,
                                      const char *name)
{
  g_autoptr(RflFakeLlmRequest) request = rfl_fake_llm_dup_last_request (self);
  g_autofree char *key = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  if (request == NULL)
    return NULL;

  key = g_ascii_strdown (name, -1);
  return g_strdup (g_hash_table_lookup (request->headers, key));
}

void
rfl_fake_llm_clear_requests (RflFakeLlm *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  g_ptr_array_set_size (self->requests, 0);
  self->aborted = 0;
  g_mutex_unlock (&self->lock);
}

gboolean
rfl_fake_llm_wait_for_requests (RflFakeLlm *self,
                                guint       count,
                                guint       timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean reached;

  g_return_val_if_fail (self != NULL, FALSE);

  g_mutex_lock (&self->lock);
  while (self->requests->len < count
         && g_cond_wait_until (&self->cond, &self->lock, end))
    ;
  reached = self->requests->len >= count;
  g_mutex_unlock (&self->lock);

  return reached;
}

guint
rfl_fake_llm_get_aborted_count (RflFakeLlm *self)
{
  guint count;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->lock);
  count = self->aborted;
  g_mutex_unlock (&self->lock);

  return count;
}
