/* rfl-ollama-pull.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-ollama-pull.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "core/rfl-error.h"
#include "llm/rfl-ndjson.h"
#include "llm/rfl-provider.h"
#include "llm/rfl-transfer.h"

#define CONNECT_MS 5000
/* Ollama says nothing while it verifies a large layer; minutes of silence
 * mean it is gone. */
#define STALL_SECONDS 300
#define SPEED_WINDOW_US (3 * G_USEC_PER_SEC)

typedef struct
{
  gint64  time;
  guint64 completed;
} Sample;

/* Shared by the worker, the progress idles and the completion; reference
 * counted with g_atomic_rc_box. */
typedef struct
{
  /* Set before the worker starts, then read-only. */
  char                *base_url;
  char                *model;
  GMainContext        *context;       /* owned: the caller's context */

  /* The caller's thread only. */
  RflPullProgressFunc  func;
  gpointer             func_data;
  GDestroyNotify       func_destroy;

  /* Shared, under lock. */
  GMutex               lock;
  char                *status;
  guint64              completed;
  guint64              total;
  double               bytes_per_second;
  gboolean             dirty;         /* newer than what was delivered */
  gboolean             idle_pending;

  /* The worker only. */
  gboolean             success;
  char                *digest;
  GArray              *samples;       /* Sample, the speed window */
  guint64              last_completed;
  guint64              last_total;
} PullState;

static void
pull_state_clear (gpointer data)
{
  PullState *state = data;

  g_assert (state->func_destroy == NULL);

  g_free (state->base_url);
  g_free (state->model);
  g_main_context_unref (state->context);
  g_mutex_clear (&state->lock);
  g_free (state->status);
  g_free (state->digest);
  g_array_unref (state->samples);
}

static void
pull_state_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, pull_state_clear);
}

/* Hands the newest progress to the caller; on the caller's thread. */
static void
deliver_progress (PullState *state)
{
  g_autofree char *status = NULL;
  RflPullProgress progress;

  g_mutex_lock (&state->lock);
  state->idle_pending = FALSE;
  if (!state->dirty)
    {
      g_mutex_unlock (&state->lock);
      return;
    }
  state->dirty = FALSE;
  status = g_strdup (state->status);
  progress.completed = state->completed;
  progress.total = state->total;
  progress.bytes_per_second = state->bytes_per_second;
  g_mutex_unlock (&state->lock);

  progress.status = status;
  if (state->func != NULL)
    state->func (&progress, state->func_data);
}

static gboolean
deliver_idle_cb (gpointer data)
{
  deliver_progress (data);
  return G_SOURCE_REMOVE;
}

/* On the worker: store the progress and make sure one idle will show it.
 * The idle has the priority of the task's completion and is attached
 * before it, so the caller sees the last progress first. */
static void
publish_progress (PullState  *state,
                  const char *status,
                  guint64     completed,
                  guint64     total,
                  double      bytes_per_second)
{
  gboolean schedule = FALSE;

  g_mutex_lock (&state->lock);
  g_free (state->status);
  state->status = g_strdup (status);
  state->completed = completed;
  state->total = total;
  state->bytes_per_second = bytes_per_second;
  state->dirty = TRUE;
  if (!state->idle_pending)
    state->idle_pending = schedule = TRUE;
  g_mutex_unlock (&state->lock);

  if (schedule)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, deliver_idle_cb,
                             g_atomic_rc_box_acquire (state),
                             pull_state_release);
      g_source_set_static_name (source, "[rfl] pull progress");
      g_source_attach (source, state->context);
      g_source_unref (source);
    }
}

/* Bytes per second over the last few seconds of one layer. */
static double
update_speed (PullState  *state,
              const char *digest,
              guint64     completed)
{
  Sample sample = { g_get_monotonic_time (), completed };
  Sample *first;
  Sample *last;
  double seconds;

  if (g_strcmp0 (digest, state->digest) != 0)
    {
      g_free (state->digest);
      state->digest = g_strdup (digest);
      g_array_set_size (state->samples, 0);
    }

  g_array_append_val (state->samples, sample);
  while (state->samples->len > 2
         && g_array_index (state->samples, Sample, 1).time
            <= sample.time - SPEED_WINDOW_US)
    g_array_remove_index (state->samples, 0);

  first = &g_array_index (state->samples, Sample, 0);
  last = &g_array_index (state->samples, Sample, state->samples->len - 1);
  seconds = (double) (last->time - first->time) / G_USEC_PER_SEC;
  if (seconds <= 0 || last->completed < first->completed)
    return 0;

  return (double) (last->completed - first->completed) / seconds;
}

static guint64
member_uint (JsonObject *object,
             const char *name,
             gboolean   *found)
{
  JsonNode *node = json_object_get_member (object, name);

  *found = node != NULL && json_node_get_value_type (node) == G_TYPE_INT64;
  if (!*found || json_node_get_int (node) < 0)
    return 0;

  return (guint64) json_node_get_int (node);
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);

  return NULL;
}

static gboolean
pull_line_cb (JsonObject  *object,
              gpointer     user_data,
              GError     **error)
{
  PullState *state = user_data;
  const char *message = member_string (object, "error");
  const char *status = member_string (object, "status");
  gboolean has_total;
  gboolean has_completed;
  guint64 total;
  guint64 completed;
  double speed = 0;

  if (message != NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                   _("Ollama could not download “%s”: %s"),
                   state->model, message);
      return FALSE;
    }

  if (status == NULL)
    return TRUE;

  if (g_str_equal (status, "success"))
    state->success = TRUE;

  /* Lines without sizes (verifying, writing) keep the last layer's, so a
   * progress bar stays full instead of jumping back to empty. */
  total = member_uint (object, "total", &has_total);
  completed = member_uint (object, "completed", &has_completed);
  if (has_total)
    {
      speed = update_speed (state, member_string (object, "digest"), completed);
      state->last_total = total;
      state->last_completed = MIN (completed, total);
    }

  publish_progress (state, status, state->last_completed, state->last_total,
                    speed);
  return TRUE;
}

static gboolean
pull_write_cb (const char  *data,
               gsize        len,
               gpointer     user_data,
               GError     **error)
{
  return rfl_ndjson_feed (user_data, data, len, error);
}

static char *
build_request (const char *model)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "model");
  json_builder_add_string_value (builder, model);
  json_builder_set_member_name (builder, "stream");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

static void
set_interrupted (GError **error)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                       _("The download was interrupted before it finished; "
                         "pulling again resumes it."));
}

static gboolean
run_pull (PullState     *state,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(RflTransfer) transfer = NULL;
  g_autoptr(RflNdjson) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *request = NULL;

  transfer = rfl_transfer_new (state->base_url, "/api/pull", error);
  if (transfer == NULL)
    return FALSE;

  /* No total limit: a model takes as long as it takes. */
  rfl_transfer_set_timeouts (transfer, CONNECT_MS, 0);
  rfl_transfer_set_stall_timeout (transfer, STALL_SECONDS);
  request = build_request (state->model);
  rfl_transfer_set_json_body (transfer, request);
  parser = rfl_ndjson_new (pull_line_cb, state);
  rfl_transfer_set_write_func (transfer, pull_write_cb, parser);

  if (!rfl_transfer_perform (transfer, cancellable, &local_error))
    {
      /* The stream had begun and the connection went away. */
      if (g_error_matches (local_error, RFL_ERROR, RFL_ERROR_UNREACHABLE)
          && rfl_transfer_get_status (transfer) == 200)
        {
          g_debug ("Pull of %s interrupted: %s", state->model,
                   local_error->message);
          set_interrupted (error);
          return FALSE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (!rfl_transfer_check_status (transfer, error))
    return FALSE;

  if (!rfl_ndjson_finish (parser, error))
    return FALSE;

  if (!state->success)
    {
      set_interrupted (error);
      return FALSE;
    }

  return TRUE;
}

static void
pull_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;

  if (run_pull (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
finish_progress (PullState *state)
{
  GDestroyNotify destroy = g_steal_pointer (&state->func_destroy);
  gpointer data = g_steal_pointer (&state->func_data);

  state->func = NULL;
  if (destroy != NULL)
    destroy (data);
}

/* On the caller's context: the last progress first, then the result. */
static void
pull_done_cb (GObject      *source_object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PullState *state = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  deliver_progress (state);
  finish_progress (state);

  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
rfl_ollama_pull_async (const char          *base_url,
                       const char          *model,
                       RflPullProgressFunc  progress_func,
                       gpointer             progress_data,
                       GDestroyNotify       progress_destroy,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) worker = NULL;
  g_autofree char *name = NULL;
  GError *error = NULL;
  PullState *state;

  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_ollama_pull_async);
  g_task_set_name (task, "rfl_ollama_pull");

  name = g_strstrip (g_strdup (model != NULL ? model : ""));
  if (*name == '\0')
    error = g_error_new_literal (RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                                 _("Enter the name of a model to download."));
  else
    rfl_provider_validate_url (base_url, &error);

  if (error != NULL)
    {
      if (progress_destroy != NULL)
        progress_destroy (progress_data);
      g_task_return_error (task, error);
      return;
    }

  state = g_atomic_rc_box_new0 (PullState);
  state->base_url = g_strdup (base_url);
  state->model = g_steal_pointer (&name);
  state->context = g_main_context_ref_thread_default ();
  state->func = progress_func;
  state->func_data = progress_data;
  state->func_destroy = progress_destroy;
  g_mutex_init (&state->lock);
  state->samples = g_array_new (FALSE, FALSE, sizeof (Sample));

  /* The worker task completes into pull_done_cb, which flushes the last
   * progress and only then completes the caller's task. */
  worker = g_task_new (NULL, cancellable, pull_done_cb, g_object_ref (task));
  g_task_set_source_tag (worker, pull_worker);
  g_task_set_task_data (worker, state, pull_state_release);
  g_task_run_in_thread (worker, pull_worker);
}

gboolean
rfl_ollama_pull_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_ollama_pull_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
