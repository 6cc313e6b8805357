/* rfl-llm-client.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-llm-client.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-llm-protocol-private.h"
#include "llm/rfl-transfer.h"

#define MAX_ANSWER (32 * 1024 * 1024)
#define MAX_BACKOFF_MS 10000
#define EMBED_BATCH 64

/* A wait before another attempt: none, or with backoff, or this many ms. */
#define NO_RETRY (-1)
#define RETRY_BACKOFF 0

struct _RflLlmClient
{
  GObject          parent_instance;

  RflProviderKind  kind;
  char            *base_url;       /* owned */
  char            *api_key;        /* owned, wiped when freed */

  GMutex           lock;           /* guards what follows */
  guint            connect_ms;
  guint            first_token_ms;
  guint            idle_ms;
  guint            max_attempts;
  guint            backoff_ms;
  guint            max_retry_after_ms;
};

G_DEFINE_FINAL_TYPE (RflLlmClient, rfl_llm_client, G_TYPE_OBJECT)

/* A copy of the client's settings for one call. */
typedef struct
{
  RflProviderKind  kind;
  RflLlmWire       wire;
  char            *base_url;
  char            *api_key;
  guint            connect_ms;
  guint            first_token_ms;
  guint            idle_ms;
  guint            max_attempts;
  guint            backoff_ms;
  guint            max_retry_after_ms;
} Settings;

static void
wipe_free (char *secret)
{
  if (secret != NULL)
    {
      memset (secret, 0, strlen (secret));
      g_free (secret);
    }
}

static void
settings_init (Settings     *settings,
               RflLlmClient *self)
{
  settings->kind = self->kind;
  settings->wire = _rfl_llm_wire_for_kind (self->kind);
  settings->base_url = g_strdup (self->base_url);
  settings->api_key = g_strdup (self->api_key);

  g_mutex_lock (&self->lock);
  settings->connect_ms = self->connect_ms;
  settings->first_token_ms = self->first_token_ms;
  settings->idle_ms = self->idle_ms;
  settings->max_attempts = self->max_attempts;
  settings->backoff_ms = self->backoff_ms;
  settings->max_retry_after_ms = self->max_retry_after_ms;
  g_mutex_unlock (&self->lock);
}

static void
settings_clear (Settings *settings)
{
  g_clear_pointer (&settings->base_url, g_free);
  g_clear_pointer (&settings->api_key, wipe_free);
}

/* ------------------------------------------------------------- watchdog */

/* Deadlines of one attempt: the first token and the silence between two
 * pieces of the answer. A shared thread watches them all and cancels the
 * attempt's own cancellable when one passes; the caller's cancellable
 * cancels it too. */

typedef enum
{
  FIRED_NONE,
  FIRED_FIRST_TOKEN,
  FIRED_IDLE,
} Fired;

typedef struct
{
  GMutex        lock;
  GCancellable *cancellable;       /* owned: what the transfer watches */
  GCancellable *outer;             /* owned: the caller's, or NULL */
  gulong        outer_handler;
  GSource      *source;            /* owned, NULL without deadlines */
  gint64        first_deadline;    /* monotonic µs; 0: none or passed */
  gint64        idle_us;           /* 0: no idle limit */
  gint64        last_activity;     /* 0 until the body begins */
  gint64        armed;             /* the source's ready time */
  Fired         fired;
} Watch;

static gpointer
watchdog_worker (gpointer data)
{
  GMainContext *context = data;

  for (;;)
    g_main_context_iteration (context, TRUE);

  return NULL;
}

static GMainContext *
watchdog_context (void)
{
  static GMainContext *context;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      context = g_main_context_new ();
      g_thread_unref (g_thread_new ("rfl-llm-watchdog", watchdog_worker,
                                    context));
      g_once_init_leave (&initialized, 1);
    }

  return context;
}

static gboolean
watch_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs watch_source_funcs = {
  NULL, NULL, watch_source_dispatch, NULL, NULL, NULL,
};

static void
watch_clear (gpointer data)
{
  Watch *watch = data;

  g_clear_object (&watch->cancellable);
  g_clear_object (&watch->outer);
  g_mutex_clear (&watch->lock);
}

static void
watch_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, watch_clear);
}

/* Called with the lock held. */
static gint64
watch_next_deadline (Watch *watch)
{
  gint64 next = -1;

  if (watch->first_deadline > 0)
    next = watch->first_deadline;
  if (watch->idle_us > 0 && watch->last_activity > 0)
    {
      gint64 idle = watch->last_activity + watch->idle_us;

      if (next < 0 || idle < next)
        next = idle;
    }

  return next;
}

static gboolean
watch_cb (gpointer data)
{
  Watch *watch = data;
  gint64 now = g_get_monotonic_time ();
  Fired fired = FIRED_NONE;

  g_mutex_lock (&watch->lock);
  if (watch->source == NULL)
    {
      /* Stopped meanwhile. */
      g_mutex_unlock (&watch->lock);
      return G_SOURCE_REMOVE;
    }

  if (watch->fired == FIRED_NONE)
    {
      if (watch->first_deadline > 0 && now >= watch->first_deadline)
        fired = FIRED_FIRST_TOKEN;
      else if (watch->idle_us > 0 && watch->last_activity > 0
               && now >= watch->last_activity + watch->idle_us)
        fired = FIRED_IDLE;
      watch->fired = fired;
    }

  if (fired == FIRED_NONE)
    {
      watch->armed = watch_next_deadline (watch);
      g_source_set_ready_time (watch->source, watch->armed);
    }
  g_mutex_unlock (&watch->lock);

  if (fired == FIRED_NONE)
    return G_SOURCE_CONTINUE;

  g_cancellable_cancel (watch->cancellable);
  return G_SOURCE_REMOVE;
}

static void
outer_cancelled_cb (GCancellable *outer,
                    GCancellable *inner)
{
  g_cancellable_cancel (inner);
}

static Watch *
watch_new (guint         first_token_ms,
           guint         idle_ms,
           GCancellable *outer)
{
  Watch *watch = g_atomic_rc_box_new0 (Watch);
  gint64 now = g_get_monotonic_time ();

  g_mutex_init (&watch->lock);
  watch->cancellable = g_cancellable_new ();
  if (first_token_ms > 0)
    watch->first_deadline = now + (gint64) first_token_ms * 1000;
  watch->idle_us = (gint64) idle_ms * 1000;
  watch->armed = -1;

  if (outer != NULL)
    {
      watch->outer = g_object_ref (outer);
      watch->outer_handler = g_cancellable_connect (outer,
                                                    G_CALLBACK (outer_cancelled_cb),
                                                    watch->cancellable, NULL);
    }

  if (first_token_ms > 0 || idle_ms > 0)
    {
      watch->source = g_source_new (&watch_source_funcs, sizeof (GSource));
      g_source_set_static_name (watch->source, "[rfl] llm deadline");
      g_source_set_callback (watch->source, watch_cb,
                             g_atomic_rc_box_acquire (watch), watch_release);
      watch->armed = watch_next_deadline (watch);
      g_source_set_ready_time (watch->source, watch->armed);
      g_source_attach (watch->source, watchdog_context ());
    }

  return watch;
}

/* Bytes arrived. */
static void
watch_activity (Watch *watch)
{
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&watch->lock);
  if (watch->last_activity == 0 && watch->idle_us > 0 && watch->source != NULL)
    {
      gint64 idle = now + watch->idle_us;

      if (watch->armed < 0 || idle < watch->armed)
        {
          watch->armed = idle;
          g_source_set_ready_time (watch->source, idle);
        }
    }
  watch->last_activity = now;
  g_mutex_unlock (&watch->lock);
}

/* The first text or tool call arrived. */
static void
watch_token (Watch *watch)
{
  g_mutex_lock (&watch->lock);
  watch->first_deadline = 0;
  g_mutex_unlock (&watch->lock);
}

/* Stops watching; says which deadline passed, if one did. */
static Fired
watch_stop (Watch *watch)
{
  GSource *source;
  Fired fired;

  if (watch->outer_handler != 0)
    g_cancellable_disconnect (watch->outer, watch->outer_handler);
  watch->outer_handler = 0;

  /* The watchdog may be looking at the source right now. */
  g_mutex_lock (&watch->lock);
  source = g_steal_pointer (&watch->source);
  fired = watch->fired;
  g_mutex_unlock (&watch->lock);

  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }

  watch_release (watch);
  return fired;
}

/* --------------------------------------------------------------- retries */

static char *
format_duration (guint ms)
{
  if (ms >= 1000 && ms % 1000 == 0)
    return g_strdup_printf (ngettext ("%u second", "%u seconds", ms / 1000),
                            ms / 1000);

  return g_strdup_printf (_("%u ms"), ms);
}

static guint
backoff_delay (const Settings *settings,
               guint           attempt)
{
  guint64 delay = (guint64) settings->backoff_ms << MIN (attempt - 1, 16);

  delay = MIN (delay, MAX_BACKOFF_MS);
  /* Jitter spreads the clients a failure hit at once. */
  if (delay > 1)
    delay += g_random_int_range (0, (gint32) (delay / 2) + 1);

  return (guint) delay;
}

/* The wait the provider asks for, in ms, or -1 when it says nothing. */
static gint64
retry_after (RflTransfer *transfer)
{
  g_autofree char *ms = rfl_transfer_dup_header (transfer, "retry-after-ms");
  g_autofree char *value = rfl_transfer_dup_header (transfer, "Retry-After");
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GDateTime) now = NULL;
  guint64 number;

  if (ms != NULL
      && g_ascii_string_to_unsigned (g_strstrip (ms), 10, 0, G_MAXUINT32,
                                     &number, NULL))
    return (gint64) number;

  if (value == NULL)
    return -1;

  g_strstrip (value);
  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT32, &number, NULL))
    return (gint64) number * 1000;

  date = soup_date_time_new_from_http_string (value);
  if (date == NULL)
    return -1;

  now = g_date_time_new_now_utc ();
  return MAX (g_date_time_difference (date, now) / 1000, 0);
}

/* How an answer with a failing HTTP status may be retried. */
static gint64
retry_for_status (RflTransfer    *transfer,
                  const Settings *settings)
{
  long status = rfl_transfer_get_status (transfer);

  if (status == 429)
    {
      gint64 wait = retry_after (transfer);

      if (wait < 0)
        return RETRY_BACKOFF;
      return MAX (MIN (wait, (gint64) settings->max_retry_after_ms), 1);
    }

  if (status >= 500 && status < 600)
    return RETRY_BACKOFF;

  return NO_RETRY;
}

static gboolean
wait_ms (guint          ms,
         GCancellable  *cancellable,
         GError       **error)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  GPollFD fd;

  if (cancellable == NULL || !g_cancellable_make_pollfd (cancellable, &fd))
    {
      g_usleep ((gulong) ms * 1000);
      return !g_cancellable_set_error_if_cancelled (cancellable, error);
    }

  for (;;)
    {
      gint64 left = end - g_get_monotonic_time ();

      if (left <= 0 || g_cancellable_is_cancelled (cancellable))
        break;
      g_poll (&fd, 1, (gint) ((left + 999) / 1000));
    }
  g_cancellable_release_fd (cancellable);

  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static void
add_headers (RflTransfer    *transfer,
             const Settings *settings,
             gboolean        stream)
{
  const char *accept = "application/json";

  if (stream)
    accept = settings->wire == RFL_LLM_WIRE_OLLAMA ? "application/x-ndjson"
                                                   : "text/event-stream";
  rfl_transfer_add_header (transfer, "Accept", accept);

  if (settings->wire == RFL_LLM_WIRE_ANTHROPIC)
    {
      rfl_transfer_add_header (transfer, "anthropic-version",
                               RFL_ANTHROPIC_VERSION);
      if (*settings->api_key != '\0')
        rfl_transfer_add_header (transfer, "x-api-key", settings->api_key);
    }
  else if (*settings->api_key != '\0')
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", settings->api_key, NULL);

      rfl_transfer_add_header (transfer, "Authorization", bearer);
    }
}

/* ------------------------------------------------------------------ chat */

typedef struct
{
  guint    index;
  char    *id;
  char    *name;
  GString *arguments;
} ToolBuilder;

static void
tool_builder_free (gpointer data)
{
  ToolBuilder *builder = data;

  g_free (builder->id);
  g_free (builder->name);
  g_string_free (builder->arguments, TRUE);
  g_free (builder);
}

/* One chat call, shared by the worker, the delta idles and the caller;
 * reference counted with g_atomic_rc_box. */
typedef struct
{
  /* Set before the call starts, then read-only. */
  Settings          settings;
  char             *path;
  char             *body;
  char             *json_tool;
  char             *model;
  gboolean          stream;
  gboolean          direct;         /* deltas on the worker, not coalesced */
  GMainContext     *context;        /* owned: the caller's, for deltas */
  GCancellable     *cancellable;    /* owned, or NULL */
  gint64            started;

  /* The caller's thread only (or the worker's, when direct). */
  RflChatDeltaFunc  func;
  gpointer          func_data;
  GDestroyNotify    func_destroy;

  /* Shared, under lock. */
  GMutex            lock;
  GString          *pending;
  guint             pending_tool_calls;
  gboolean          dirty;
  gboolean          idle_pending;

  /* The worker only. */
  Watch            *watch;          /* the current attempt's */
  RflLlmStream     *parser;
  GByteArray       *answer;         /* a whole answer's body */
  GString          *text;
  GPtrArray        *tools;          /* ToolBuilder* */
  RflFinishReason   finish;
  char             *answer_model;
  gboolean          has_input;
  gboolean          has_output;
  guint             input_tokens;
  guint             output_tokens;
  gboolean          shown;          /* text or a tool call was delivered */
  gint64            first_token_at;
  guint             attempts;

  /* Set by the worker when it fails, read by the caller afterwards. */
  RflChatResult    *partial;
} ChatState;

static void
chat_state_clear (gpointer data)
{
  ChatState *state = data;

  g_assert (state->func_destroy == NULL);

  settings_clear (&state->settings);
  g_free (state->path);
  g_free (state->body);
  g_free (state->json_tool);
  g_free (state->model);
  g_clear_pointer (&state->context, g_main_context_unref);
  g_clear_object (&state->cancellable);
  g_mutex_clear (&state->lock);
  g_string_free (state->pending, TRUE);
  g_clear_pointer (&state->answer, g_byte_array_unref);
  g_string_free (state->text, TRUE);
  g_ptr_array_unref (state->tools);
  g_free (state->answer_model);
  g_clear_pointer (&state->partial, rfl_chat_result_unref);
}

static ChatState *
chat_state_ref (ChatState *state)
{
  return g_atomic_rc_box_acquire (state);
}

static void
chat_state_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, chat_state_clear);
}

static char *
build_chat_body (const Settings  *settings,
                 RflChatRequest  *request,
                 GError         **error)
{
  switch (settings->wire)
    {
    case RFL_LLM_WIRE_OLLAMA:
      return _rfl_ollama_build_chat (request, error);
    case RFL_LLM_WIRE_ANTHROPIC:
      return _rfl_anthropic_build_chat (request, error);
    case RFL_LLM_WIRE_OPENAI:
    default:
      return _rfl_openai_build_chat (request, settings->kind, error);
    }
}

static const char *
chat_path (RflLlmWire wire)
{
  switch (wire)
    {
    case RFL_LLM_WIRE_OLLAMA:
      return "/api/chat";
    case RFL_LLM_WIRE_ANTHROPIC:
      return "/v1/messages";
    case RFL_LLM_WIRE_OPENAI:
    default:
      return "/v1/chat/completions";
    }
}

static ChatState *
chat_state_new (RflLlmClient    *self,
                RflChatRequest  *request,
                GCancellable    *cancellable,
                GError         **error)
{
  g_autofree char *body = NULL;
  Settings settings = { 0, };
  ChatState *state;

  settings_init (&settings, self);
  body = build_chat_body (&settings, request, error);
  if (body == NULL)
    {
      settings_clear (&settings);
      return NULL;
    }

  state = g_atomic_rc_box_new0 (ChatState);
  state->settings = settings;
  state->path = g_strdup (chat_path (settings.wire));
  state->body = g_steal_pointer (&body);
  if (settings.wire == RFL_LLM_WIRE_ANTHROPIC)
    state->json_tool = _rfl_anthropic_json_tool (request);
  state->model = g_strdup (rfl_chat_request_get_model (request));
  state->stream = rfl_chat_request_get_stream (request);
  state->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  state->started = g_get_monotonic_time ();
  g_mutex_init (&state->lock);
  state->pending = g_string_new (NULL);
  state->text = g_string_new (NULL);
  state->tools = g_ptr_array_new_with_free_func (tool_builder_free);

  return state;
}

/* ------------------------------------------------------------ delivery */

/* On the caller's thread: hands over what arrived since the last call. */
static void
deliver_pending (ChatState *state)
{
  g_autoptr(GString) text = NULL;
  RflChatDelta delta;

  g_mutex_lock (&state->lock);
  state->idle_pending = FALSE;
  if (!state->dirty)
    {
      g_mutex_unlock (&state->lock);
      return;
    }
  state->dirty = FALSE;
  text = g_steal_pointer (&state->pending);
  state->pending = g_string_new (NULL);
  delta.n_tool_calls = state->pending_tool_calls;
  g_mutex_unlock (&state->lock);

  if (state->func == NULL || g_cancellable_is_cancelled (state->cancellable))
    return;

  delta.text = text->str;
  delta.text_len = text->len;
  state->func (&delta, state->func_data);
}

static gboolean
deliver_idle_cb (gpointer data)
{
  deliver_pending (data);
  return G_SOURCE_REMOVE;
}

/* On the worker. The idle has the priority of the task's completion and
 * is attached before it, so the caller sees the last text first. */
static void
publish (ChatState  *state,
         const char *text,
         gsize       len,
         guint       n_tool_calls)
{
  gboolean schedule = FALSE;

  if (state->direct)
    {
      RflChatDelta delta = { text != NULL ? text : "", len, n_tool_calls };

      if (state->func != NULL)
        state->func (&delta, state->func_data);
      return;
    }

  g_mutex_lock (&state->lock);
  if (len > 0)
    g_string_append_len (state->pending, text, len);
  state->pending_tool_calls = n_tool_calls;
  state->dirty = TRUE;
  if (!state->idle_pending)
    state->idle_pending = schedule = TRUE;
  g_mutex_unlock (&state->lock);

  if (schedule)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, deliver_idle_cb, chat_state_ref (state),
                             chat_state_release);
      g_source_set_static_name (source, "[rfl] chat delta");
      g_source_attach (source, state->context);
      g_source_unref (source);
    }
}

/* ----------------------------------------------------------- accumulate */

static void
mark_shown (ChatState *state)
{
  if (state->shown)
    return;

  state->shown = TRUE;
  state->first_token_at = g_get_monotonic_time ();
  if (state->watch != NULL)
    watch_token (state->watch);
}

static ToolBuilder *
find_tool (ChatState *state,
           guint      index,
           gboolean  *created)
{
  ToolBuilder *builder;

  *created = FALSE;
  for (guint i = 0; i < state->tools->len; i++)
    {
      builder = g_ptr_array_index (state->tools, i);
      if (builder->index == index)
        return builder;
    }

  builder = g_new0 (ToolBuilder, 1);
  builder->index = index;
  builder->arguments = g_string_new (NULL);
  g_ptr_array_add (state->tools, builder);
  *created = TRUE;

  return builder;
}

static gboolean
chat_event_cb (const RflLlmEvent  *event,
               gpointer            user_data,
               GError            **error)
{
  ChatState *state = user_data;
  ToolBuilder *builder;
  gboolean created;

  switch (event->kind)
    {
    case RFL_LLM_EVENT_TEXT:
      g_string_append_len (state->text, event->text, event->text_len);
      mark_shown (state);
      publish (state, event->text, event->text_len, state->tools->len);
      break;

    case RFL_LLM_EVENT_TOOL_CALL:
      builder = find_tool (state, event->index, &created);
      if (builder->id == NULL && event->id != NULL && *event->id != '\0')
        builder->id = g_strdup (event->id);
      if (builder->name == NULL && event->name != NULL && *event->name != '\0')
        builder->name = g_strdup (event->name);
      mark_shown (state);
      if (created)
        publish (state, NULL, 0, state->tools->len);
      break;

    case RFL_LLM_EVENT_TOOL_ARGUMENTS:
      builder = find_tool (state, event->index, &created);
      g_string_append_len (builder->arguments, event->text, event->text_len);
      break;

    case RFL_LLM_EVENT_USAGE:
      if (event->input_tokens >= 0)
        {
          state->has_input = TRUE;
          state->input_tokens = (guint) MIN (event->input_tokens, G_MAXUINT);
        }
      if (event->output_tokens >= 0)
        {
          state->has_output = TRUE;
          state->output_tokens = (guint) MIN (event->output_tokens, G_MAXUINT);
        }
      break;

    case RFL_LLM_EVENT_FINISH:
      state->finish = event->finish;
      break;

    case RFL_LLM_EVENT_MODEL:
      g_free (state->answer_model);
      state->answer_model = g_strndup (event->text, event->text_len);
      break;

    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

static void
reset_answer (ChatState *state)
{
  g_string_truncate (state->text, 0);
  g_ptr_array_set_size (state->tools, 0);
  state->finish = RFL_FINISH_REASON_NONE;
  g_clear_pointer (&state->answer_model, g_free);
  state->has_input = state->has_output = FALSE;
  state->input_tokens = state->output_tokens = 0;
}

static RflChatResult *
build_result (ChatState *state,
              gboolean   complete)
{
  RflChatResult *result = rfl_chat_result_new ();
  RflFinishReason finish = complete ? state->finish : RFL_FINISH_REASON_NONE;
  gint64 now = g_get_monotonic_time ();

  rfl_chat_result_append_text (result, state->text->str, state->text->len);
  for (guint i = 0; i < state->tools->len; i++)
    {
      ToolBuilder *builder = g_ptr_array_index (state->tools, i);
      g_autofree char *id = NULL;

      if (builder->id == NULL)
        id = g_strdup_printf ("call_%u", i);
      rfl_chat_result_take_tool_call (result,
                                      rfl_tool_call_new (builder->id != NULL
                                                         ? builder->id : id,
                                                         builder->name,
                                                         builder->arguments->str));
    }

  /* Ollama says "stop" after calling tools. */
  if (finish == RFL_FINISH_REASON_STOP && state->tools->len > 0)
    finish = RFL_FINISH_REASON_TOOL_CALLS;
  rfl_chat_result_set_finish_reason (result, finish);
  rfl_chat_result_set_model (result, state->answer_model != NULL
                                     ? state->answer_model : state->model);
  if (state->has_input || state->has_output)
    rfl_chat_result_set_usage (result, state->input_tokens, state->output_tokens);
  rfl_chat_result_set_timing (result, (now - state->started) / 1000,
                              state->shown
                              ? (state->first_token_at - state->started) / 1000
                              : -1,
                              state->attempts);

  return result;
}

/* --------------------------------------------------------------- attempt */

static gboolean
chat_write_cb (const char  *data,
               gsize        len,
               gpointer     user_data,
               GError     **error)
{
  ChatState *state = user_data;

  watch_activity (state->watch);

  if (state->stream)
    return _rfl_llm_stream_feed (state->parser, data, len, error);

  /* A whole answer is being received: it has begun. */
  watch_token (state->watch);

  if (state->answer->len + len > MAX_ANSWER)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The answer from the provider is larger than %d MiB."),
                   MAX_ANSWER / (1024 * 1024));
      return FALSE;
    }

  g_byte_array_append (state->answer, (const guint8 *) data, len);
  return TRUE;
}

/* Replaces @error by "The answer was cut off: …" once something was
 * shown, keeping its domain and code. */
static void
prefix_cut_off (ChatState  *state,
                GError    **error)
{
  if (state->shown && error != NULL && *error != NULL)
    g_prefix_error (error, _("The answer was cut off: "));
}

static void
set_timeout_error (ChatState  *state,
                   Fired       fired,
                   GError    **error)
{
  g_autofree char *duration = NULL;

  if (fired == FIRED_FIRST_TOKEN)
    {
      duration = format_duration (state->settings.first_token_ms);
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                   _("The provider did not start answering within %s."),
                   duration);
      return;
    }

  duration = format_duration (state->settings.idle_ms);
  if (state->shown)
    g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                 _("The answer was cut off: the provider sent nothing for %s."),
                 duration);
  else
    g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                 _("The provider stopped answering: nothing arrived for %s."),
                 duration);
}

/* A transfer that did not complete. */
static gboolean
transfer_failed (ChatState  *state,
                 RflTransfer *transfer,
                 Fired        fired,
                 GError      *local_error,
                 gint64      *retry,
                 GError     **error)
{
  if (fired != FIRED_NONE
      && !g_cancellable_is_cancelled (state->cancellable))
    {
      g_debug ("Chat with %s timed out (%d)", rfl_transfer_get_url (transfer),
               fired);
      set_timeout_error (state, fired, error);
      return FALSE;
    }

  if (g_error_matches (local_error, RFL_ERROR, RFL_ERROR_UNREACHABLE))
    {
      g_debug ("Chat with %s failed: %s", rfl_transfer_get_url (transfer),
               local_error->message);
      if (!state->shown)
        {
          *retry = RETRY_BACKOFF;
          g_propagate_error (error, g_error_copy (local_error));
          return FALSE;
        }
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                           _("The answer was cut off: the connection to the "
                             "provider was lost."));
      return FALSE;
    }

  g_propagate_error (error, g_error_copy (local_error));
  if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    prefix_cut_off (state, error);
  return FALSE;
}

/* One request. On failure, @retry says whether and when another attempt
 * may follow (if nothing was shown). */
static gboolean
run_attempt (ChatState  *state,
             gint64     *retry,
             GError    **error)
{
  g_autoptr(RflTransfer) transfer = NULL;
  g_autoptr(GError) local_error = NULL;
  Settings *settings = &state->settings;
  gboolean ok;
  Fired fired;

  *retry = NO_RETRY;
  transfer = rfl_transfer_new (settings->base_url, state->path, error);
  if (transfer == NULL)
    return FALSE;

  rfl_transfer_set_timeouts (transfer, settings->connect_ms, 0);
  add_headers (transfer, settings, state->stream);
  rfl_transfer_set_json_body (transfer, state->body);
  rfl_transfer_set_write_func (transfer, chat_write_cb, state);

  g_clear_pointer (&state->parser, _rfl_llm_stream_free);
  state->parser = _rfl_llm_stream_new (settings->wire, state->json_tool,
                                       chat_event_cb, state);
  g_byte_array_set_size (state->answer, 0);

  state->watch = watch_new (settings->first_token_ms, settings->idle_ms,
                            state->cancellable);
  ok = rfl_transfer_perform (transfer, state->watch->cancellable,
                             &local_error);
  fired = watch_stop (g_steal_pointer (&state->watch));

  if (!ok)
    return transfer_failed (state, transfer, fired, local_error, retry, error);

  if (!rfl_transfer_check_status (transfer, error))
    {
      *retry = retry_for_status (transfer, settings);
      return FALSE;
    }

  if (state->stream)
    {
      if (_rfl_llm_stream_end (state->parser, &local_error))
        return TRUE;
      if (!state->shown)
        *retry = RETRY_BACKOFF;
      g_propagate_error (error, g_steal_pointer (&local_error));
      prefix_cut_off (state, error);
      return FALSE;
    }

  return _rfl_llm_stream_parse_answer (state->parser,
                                       (const char *) state->answer->data,
                                       state->answer->len, error);
}

static RflChatResult *
run_chat (ChatState  *state,
          GError    **error)
{
  g_autoptr(GError) local_error = NULL;

  state->answer = g_byte_array_new ();

  for (guint attempt = 1; ; attempt++)
    {
      gint64 retry;
      guint delay;

      state->attempts = attempt;
      reset_answer (state);
      g_clear_error (&local_error);

      if (run_attempt (state, &retry, &local_error))
        break;

      if (retry == NO_RETRY || state->shown
          || attempt >= state->settings.max_attempts)
        {
          g_clear_pointer (&state->parser, _rfl_llm_stream_free);
          if (state->shown)
            state->partial = build_result (state, FALSE);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }

      delay = retry == RETRY_BACKOFF ? backoff_delay (&state->settings, attempt)
                                     : (guint) retry;
      g_debug ("Chat attempt %u failed (%s); retrying in %u ms", attempt,
               local_error->message, delay);
      if (!wait_ms (delay, state->cancellable, error))
        {
          g_clear_pointer (&state->parser, _rfl_llm_stream_free);
          return NULL;
        }
    }

  g_clear_pointer (&state->parser, _rfl_llm_stream_free);
  return build_result (state, TRUE);
}

static void
chat_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  RflChatResult *result = run_chat (task_data, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) rfl_chat_result_unref);
}

static void
finish_delta (ChatState *state)
{
  GDestroyNotify destroy = g_steal_pointer (&state->func_destroy);
  gpointer data = g_steal_pointer (&state->func_data);

  state->func = NULL;
  if (destroy != NULL)
    destroy (data);
}

/* On the caller's context: the last delta first, then the result. */
static void
chat_done_cb (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ChatState *state = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;
  RflChatResult *chat_result;

  deliver_pending (state);
  finish_delta (state);

  chat_result = g_task_propagate_pointer (G_TASK (result), &error);
  if (chat_result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, chat_result,
                           (GDestroyNotify) rfl_chat_result_unref);
}

void
rfl_llm_client_chat_stream_async (RflLlmClient        *self,
                                  RflChatRequest      *request,
                                  RflChatDeltaFunc     delta_func,
                                  gpointer             delta_data,
                                  GDestroyNotify       delta_destroy,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) worker = NULL;
  GError *error = NULL;
  ChatState *state;

  g_return_if_fail (RFL_IS_LLM_CLIENT (self));
  g_return_if_fail (request != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_llm_client_chat_stream_async);
  g_task_set_name (task, "rfl_llm_client_chat_stream");

  state = chat_state_new (self, request, cancellable, &error);
  if (state == NULL)
    {
      if (delta_destroy != NULL)
        delta_destroy (delta_data);
      g_task_return_error (task, error);
      return;
    }

  state->context = g_main_context_ref_thread_default ();
  state->func = delta_func;
  state->func_data = delta_data;
  state->func_destroy = delta_destroy;
  g_task_set_task_data (task, chat_state_ref (state), chat_state_release);

  /* The worker task completes into chat_done_cb, which flushes the last
   * delta and only then completes the caller's task. */
  worker = g_task_new (self, cancellable, chat_done_cb, g_object_ref (task));
  g_task_set_source_tag (worker, chat_worker);
  g_task_set_task_data (worker, state, chat_state_release);
  g_task_run_in_thread (worker, chat_worker);
}

RflChatResult *
rfl_llm_client_chat_stream_finish (RflLlmClient   *self,
                                   GAsyncResult   *result,
                                   RflChatResult **partial,
                                   GError        **error)
{
  ChatState *state;
  RflChatResult *chat_result;

  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_llm_client_chat_stream_async, NULL);

  state = g_task_get_task_data (G_TASK (result));
  chat_result = g_task_propagate_pointer (G_TASK (result), error);

  if (partial != NULL)
    *partial = chat_result == NULL && state != NULL && state->partial != NULL
               ? rfl_chat_result_ref (state->partial) : NULL;

  return chat_result;
}

RflChatResult *
rfl_llm_client_chat (RflLlmClient      *self,
                     RflChatRequest    *request,
                     RflChatDeltaFunc   delta_func,
                     gpointer           delta_data,
                     RflChatResult    **partial,
                     GCancellable      *cancellable,
                     GError           **error)
{
  ChatState *state;
  RflChatResult *result;

  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), NULL);

  if (partial != NULL)
    *partial = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  state = chat_state_new (self, request, cancellable, error);
  if (state == NULL)
    return NULL;

  state->direct = TRUE;
  state->func = delta_func;
  state->func_data = delta_data;

  result = run_chat (state, error);
  if (result == NULL && partial != NULL && state->partial != NULL)
    *partial = rfl_chat_result_ref (state->partial);

  state->func = NULL;
  chat_state_release (state);
  return result;
}

/* ------------------------------------------------------------ embeddings */

const float *
rfl_embeddings_get_vector (const RflEmbeddings *embeddings,
                           guint                index)
{
  g_return_val_if_fail (embeddings != NULL, NULL);
  g_return_val_if_fail (index < embeddings->n_vectors, NULL);

  return embeddings->data + (gsize) index * embeddings->dims;
}

void
rfl_embeddings_free (RflEmbeddings *embeddings)
{
  if (embeddings == NULL)
    return;

  g_free (embeddings->data);
  g_free (embeddings);
}

/* One plain JSON request with retries; the parsed answer. */
static JsonNode *
request_json (const Settings  *settings,
              const char      *path,
              const char      *body,
              GCancellable    *cancellable,
              GError         **error)
{
  for (guint attempt = 1; ; attempt++)
    {
      g_autoptr(RflTransfer) transfer = NULL;
      g_autoptr(GError) local_error = NULL;
      const char *answer;
      gsize len;
      gint64 retry = NO_RETRY;
      JsonNode *root;

      transfer = rfl_transfer_new (settings->base_url, path, error);
      if (transfer == NULL)
        return NULL;

      rfl_transfer_set_timeouts (transfer, settings->connect_ms,
                                 settings->first_token_ms);
      add_headers (transfer, settings, FALSE);
      rfl_transfer_set_json_body (transfer, body);

      if (!rfl_transfer_perform (transfer, cancellable, &local_error))
        {
          if (g_error_matches (local_error, RFL_ERROR, RFL_ERROR_UNREACHABLE))
            retry = RETRY_BACKOFF;
        }
      else if (!rfl_transfer_check_status (transfer, &local_error))
        {
          retry = retry_for_status (transfer, settings);
        }
      else
        {
          answer = rfl_transfer_get_body (transfer, &len);
          root = _rfl_json_parse_object (answer, (gssize) len);
          if (root == NULL)
            _rfl_llm_protocol_error (error, _("a JSON object"), answer, len);
          return root;
        }

      if (retry == NO_RETRY || attempt >= settings->max_attempts)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }

      g_debug ("Request to %s failed (%s); retrying", path,
               local_error->message);
      if (!wait_ms (retry == RETRY_BACKOFF ? backoff_delay (settings, attempt)
                                           : (guint) retry,
                    cancellable, error))
        return NULL;
    }
}

static RflEmbeddings *
run_embed (const Settings      *settings,
           const char          *model,
           const char * const  *texts,
           GCancellable        *cancellable,
           GError             **error)
{
  gboolean ollama = settings->wire == RFL_LLM_WIRE_OLLAMA;
  g_autoptr(GArray) vectors = g_array_new (FALSE, FALSE, sizeof (float));
  guint n_texts = texts != NULL ? g_strv_length ((char **) texts) : 0;
  RflEmbeddings *embeddings;
  guint dims = 0;
  guint tokens = 0;

  if (settings->wire == RFL_LLM_WIRE_ANTHROPIC)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Anthropic offers no embedding models; choose "
                             "another provider for embeddings."));
      return NULL;
    }

  if (model == NULL || *model == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Choose an embedding model."));
      return NULL;
    }

  for (guint start = 0; start < n_texts; start += EMBED_BATCH)
    {
      guint count = MIN (EMBED_BATCH, n_texts - start);
      g_autofree char *body = NULL;
      g_autoptr(JsonNode) root = NULL;
      gboolean ok;

      body = ollama ? _rfl_ollama_build_embed (model, texts + start, count)
                    : _rfl_openai_build_embed (model, texts + start, count);
      root = request_json (settings, ollama ? "/api/embed" : "/v1/embeddings",
                           body, cancellable, error);
      if (root == NULL)
        return NULL;

      if (ollama)
        ok = _rfl_ollama_parse_embed (json_node_get_object (root), count,
                                      vectors, &dims, &tokens, error);
      else
        ok = _rfl_openai_parse_embed (json_node_get_object (root), count,
                                      vectors, &dims, &tokens, error);
      if (!ok)
        return NULL;
    }

  embeddings = g_new0 (RflEmbeddings, 1);
  embeddings->n_vectors = n_texts;
  embeddings->dims = dims;
  embeddings->input_tokens = tokens;
  embeddings->data = (float *) g_array_free (g_steal_pointer (&vectors), FALSE);

  return embeddings;
}

RflEmbeddings *
rfl_llm_client_embed (RflLlmClient        *self,
                      const char          *model,
                      const char * const  *texts,
                      GCancellable        *cancellable,
                      GError             **error)
{
  Settings settings = { 0, };
  RflEmbeddings *embeddings;

  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), NULL);

  settings_init (&settings, self);
  embeddings = run_embed (&settings, model, texts, cancellable, error);
  settings_clear (&settings);

  return embeddings;
}

typedef struct
{
  Settings  settings;
  char     *model;
  GStrv     texts;
} EmbedState;

static void
embed_state_free (gpointer data)
{
  EmbedState *state = data;

  settings_clear (&state->settings);
  g_free (state->model);
  g_strfreev (state->texts);
  g_free (state);
}

static void
embed_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  EmbedState *state = task_data;
  GError *error = NULL;
  RflEmbeddings *embeddings;

  embeddings = run_embed (&state->settings, state->model,
                          (const char * const *) state->texts, cancellable,
                          &error);
  if (embeddings == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, embeddings,
                           (GDestroyNotify) rfl_embeddings_free);
}

void
rfl_llm_client_embed_async (RflLlmClient        *self,
                            const char          *model,
                            const char * const  *texts,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  EmbedState *state;

  g_return_if_fail (RFL_IS_LLM_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_llm_client_embed_async);
  g_task_set_name (task, "rfl_llm_client_embed");

  state = g_new0 (EmbedState, 1);
  settings_init (&state->settings, self);
  state->model = g_strdup (model);
  state->texts = g_strdupv ((char **) texts);
  g_task_set_task_data (task, state, embed_state_free);

  g_task_run_in_thread (task, embed_worker);
}

RflEmbeddings *
rfl_llm_client_embed_finish (RflLlmClient  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_llm_client_embed_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
rfl_llm_client_dup_embedder_id (RflLlmClient *self,
                                const char   *model)
{
  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);
  g_return_val_if_fail (model != NULL, NULL);

  return g_strconcat (rfl_provider_kind_to_string (self->kind), ":", model,
                      NULL);
}

/* ---------------------------------------------------------------- models */

static void
list_models_cb (GObject      *source_object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GPtrArray *models = rfl_provider_list_models_finish (result, &error);

  if (models == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, models, (GDestroyNotify) g_ptr_array_unref);
}

void
rfl_llm_client_list_models_async (RflLlmClient        *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (RFL_IS_LLM_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_llm_client_list_models_async);
  rfl_provider_list_models_async (self->kind, self->base_url, self->api_key,
                                  cancellable, list_models_cb, task);
}

GPtrArray *
rfl_llm_client_list_models_finish (RflLlmClient  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------- object */

static void
rfl_llm_client_finalize (GObject *object)
{
  RflLlmClient *self = RFL_LLM_CLIENT (object);

  g_free (self->base_url);
  g_clear_pointer (&self->api_key, wipe_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (rfl_llm_client_parent_class)->finalize (object);
}

static void
rfl_llm_client_class_init (RflLlmClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_llm_client_finalize;
}

static void
rfl_llm_client_init (RflLlmClient *self)
{
  g_mutex_init (&self->lock);
  self->connect_ms = RFL_LLM_DEFAULT_CONNECT_MS;
  self->first_token_ms = RFL_LLM_DEFAULT_FIRST_TOKEN_MS;
  self->idle_ms = RFL_LLM_DEFAULT_IDLE_MS;
  self->max_attempts = RFL_LLM_DEFAULT_MAX_ATTEMPTS;
  self->backoff_ms = RFL_LLM_DEFAULT_BACKOFF_MS;
  self->max_retry_after_ms = RFL_LLM_DEFAULT_MAX_RETRY_AFTER_MS;
}

/* Keys are pasted: surrounding blanks are dropped, control characters
 * (which would end the HTTP header) refused. */
static char *
clean_key (const char  *api_key,
           GError     **error)
{
  g_autofree char *key = g_strstrip (g_strdup (api_key != NULL ? api_key : ""));

  for (const char *p = key; *p != '\0'; p++)
    {
      if (g_ascii_iscntrl (*p))
        {
          g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               _("The API key contains characters that are "
                                 "not allowed, such as a line break."));
          wipe_free (g_steal_pointer (&key));
          return NULL;
        }
    }

  return g_steal_pointer (&key);
}

RflLlmClient *
rfl_llm_client_new (RflProviderKind   kind,
                    const char       *base_url,
                    const char       *api_key,
                    GError          **error)
{
  g_autofree char *url = NULL;
  RflLlmClient *self;
  char *key;

  g_return_val_if_fail (kind < RFL_N_PROVIDERS, NULL);

  url = g_strstrip (g_strdup (base_url != NULL ? base_url : ""));
  if (*url == '\0')
    {
      g_free (url);
      url = g_strdup (rfl_provider_kind_get_default_url (kind));
    }

  if (url == NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Enter the URL of the OpenAI-compatible server."));
      return NULL;
    }

  if (!rfl_provider_validate_url (url, error))
    return NULL;

  if ((key = clean_key (api_key, error)) == NULL)
    return NULL;

  self = g_object_new (RFL_TYPE_LLM_CLIENT, NULL);
  self->kind = kind;
  self->base_url = g_steal_pointer (&url);
  self->api_key = key;

  return self;
}

RflProviderKind
rfl_llm_client_get_kind (RflLlmClient *self)
{
  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), RFL_PROVIDER_OLLAMA);

  return self->kind;
}

const char *
rfl_llm_client_get_base_url (RflLlmClient *self)
{
  g_return_val_if_fail (RFL_IS_LLM_CLIENT (self), NULL);

  return self->base_url;
}

void
rfl_llm_client_set_timeouts (RflLlmClient *self,
                             guint         connect_ms,
                             guint         first_token_ms,
                             guint         idle_ms)
{
  g_return_if_fail (RFL_IS_LLM_CLIENT (self));

  g_mutex_lock (&self->lock);
  self->connect_ms = connect_ms;
  self->first_token_ms = first_token_ms;
  self->idle_ms = idle_ms;
  g_mutex_unlock (&self->lock);
}

void
rfl_llm_client_set_retries (RflLlmClient *self,
                            guint         max_attempts,
                            guint         backoff_ms,
                            guint         max_retry_after_ms)
{
  g_return_if_fail (RFL_IS_LLM_CLIENT (self));
  g_return_if_fail (max_attempts >= 1);

  g_mutex_lock (&self->lock);
  self->max_attempts = max_attempts;
  self->backoff_ms = backoff_ms;
  self->max_retry_after_ms = max_retry_after_ms;
  g_mutex_unlock (&self->lock);
}
