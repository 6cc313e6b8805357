/* rfl-service.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-hash-embedder.h"
#include "rfl-service-private.h"
#include "store/rfl-database-private.h"

/* The service thread. RflService is a handle that any thread may use; the
 * state it works on (the database and the stores) lives in an
 * RflServiceCore that only the service thread touches, apart from the
 * few fields under its lock. A call becomes a GTask on the caller's
 * context and a source on the service thread's context; its result comes
 * back as an idle on the caller's context, so that the caller's callback —
 * and the last reference to its task — stay on the caller's thread. */

struct _RflService
{
  GObject          parent_instance;

  RflServiceCore  *core;      /* owned, shared with the thread */
  GThread         *thread;    /* owned until joined */
};

G_DEFINE_FINAL_TYPE (RflService, rfl_service, G_TYPE_OBJECT)

static const char identity_sql[] =
  "SELECT t.name, t.use_case, u.role"
  " FROM users u JOIN tenants t ON t.id = u.tenant_id"
  " WHERE u.tenant_id = ?1 AND u.id = ?2"
  "   AND t.status = 'active' AND u.status = 'active'";

static const char identities_sql[] =
  "SELECT t.id, t.name, u.id, u.email, u.display_name, u.role"
  " FROM users u JOIN tenants t ON t.id = u.tenant_id"
  " WHERE t.status = 'active' AND u.status = 'active'"
  " ORDER BY t.name COLLATE NOCASE, t.id,"
  "   CASE WHEN u.display_name <> '' THEN u.display_name ELSE u.email END"
  "   COLLATE NOCASE, u.id";

static GError *
new_stopped_error (void)
{
  return g_error_new_literal (RFL_ERROR, RFL_ERROR_FAILED,
                              _("The service has stopped"));
}

/* Provider snapshots ------------------------------------------------------ */

RflProviderSnapshot *
_rfl_provider_snapshot_copy (const RflProviderSnapshot *snapshot)
{
  RflProviderSnapshot *copy;

  if (snapshot == NULL)
    return NULL;

  copy = g_new0 (RflProviderSnapshot, 1);
  copy->kind = snapshot->kind;
  copy->url = g_strdup (snapshot->url);
  copy->api_key = g_strdup (snapshot->api_key);
  copy->model = g_strdup (snapshot->model);
  copy->embedding_model = g_strdup (snapshot->embedding_model);
  return copy;
}

void
_rfl_provider_snapshot_free (RflProviderSnapshot *snapshot)
{
  if (snapshot == NULL)
    return;

  g_free (snapshot->url);
  if (snapshot->api_key != NULL)
    explicit_bzero (snapshot->api_key, strlen (snapshot->api_key));
  g_free (snapshot->api_key);
  g_free (snapshot->model);
  g_free (snapshot->embedding_model);
  g_free (snapshot);
}

/* Core ------------------------------------------------------------------- */

static void
core_clear (RflServiceCore *core)
{
  g_assert (core->db == NULL);
  g_assert (core->jobs.length == 0);

  g_mutex_clear (&core->lock);
  g_clear_pointer (&core->provider, _rfl_provider_snapshot_free);
  g_clear_pointer (&core->embedder_key, g_free);
  g_clear_pointer (&core->database_path, g_free);
  g_clear_pointer (&core->loop, g_main_loop_unref);
  g_clear_pointer (&core->context, g_main_context_unref);
  g_clear_object (&core->cancellable);
  g_clear_object (&core->quota);
}

RflServiceCore *
_rfl_service_core_ref (RflServiceCore *core)
{
  return g_atomic_rc_box_acquire (core);
}

void
_rfl_service_core_unref (RflServiceCore *core)
{
  g_atomic_rc_box_release_full (core, (GDestroyNotify) core_clear);
}

/* Returning to the caller -------------------------------------------------- */

typedef struct
{
  GTask          *task;
  gpointer        value;
  GDestroyNotify  value_free;
  GError         *error;
  GFunc           before;
  gpointer        before_data;
  GDestroyNotify  before_free;
} Completion;

static void
completion_free (Completion *completion)
{
  if (completion->value != NULL && completion->value_free != NULL)
    completion->value_free (completion->value);
  if (completion->before_data != NULL && completion->before_free != NULL)
    completion->before_free (completion->before_data);
  g_clear_error (&completion->error);
  g_object_unref (completion->task);
  g_free (completion);
}

static gboolean
completion_cb (gpointer data)
{
  Completion *completion = data;

  if (completion->before != NULL)
    completion->before (completion->before_data, NULL);

  if (completion->error != NULL)
    g_task_return_error (completion->task,
                         g_steal_pointer (&completion->error));
  else
    g_task_return_pointer (completion->task,
                           g_steal_pointer (&completion->value),
                           completion->value_free);

  return G_SOURCE_REMOVE;
}

void
_rfl_service_return (GTask          *task,
                     gpointer        value,
                     GDestroyNotify  value_free,
                     GError         *error,
                     GFunc           before,
                     gpointer        before_data,
                     GDestroyNotify  before_free)
{
  Completion *completion;
  GSource *source;

  g_return_if_fail (G_IS_TASK (task));

  completion = g_new0 (Completion, 1);
  completion->task = g_object_ref (task);
  completion->value = value;
  completion->value_free = value_free;
  completion->error = error;
  completion->before = before;
  completion->before_data = before_data;
  completion->before_free = before_free;

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[rfl] service result");
  g_source_set_callback (source, completion_cb, completion,
                         (GDestroyNotify) completion_free);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

void
_rfl_service_return_error (GTask  *task,
                           GError *error)
{
  _rfl_service_return (task, NULL, NULL, error, NULL, NULL, NULL);
}

static void
return_boolean (GTask  *task,
                GError *error)
{
  _rfl_service_return (task, error == NULL ? GINT_TO_POINTER (TRUE) : NULL,
                       NULL, error, NULL, NULL, NULL);
}

static void
return_array (GTask     *task,
              GPtrArray *array,
              GError    *error)
{
  _rfl_service_return (task, array, (GDestroyNotify) g_ptr_array_unref,
                       error, NULL, NULL, NULL);
}

static void
return_id (GTask  *task,
           gint64  id,
           GError *error)
{
  _rfl_service_return (task, error == NULL ? g_memdup2 (&id, sizeof id) : NULL,
                       g_free, error, NULL, NULL, NULL);
}

/* Holding and stopping ------------------------------------------------------ */

void
_rfl_service_hold (RflServiceCore *core)
{
  core->n_holds++;
}

void
_rfl_service_release (RflServiceCore *core)
{
  g_assert (core->n_holds > 0);

  if (--core->n_holds == 0 && core->stopping)
    g_main_loop_quit (core->loop);
}

typedef struct
{
  GTask   *task;
  guint64  target;
} FlushWaiter;

static void
flush_waiter_free (FlushWaiter *waiter)
{
  g_object_unref (waiter->task);
  g_free (waiter);
}

static void
complete_flush_waiters (RflServiceCore *core,
                        gboolean        all)
{
  GList *keep = NULL;

  for (GList *l = core->flush_waiters; l != NULL; l = l->next)
    {
      FlushWaiter *waiter = l->data;

      /* Jobs may queue follow-ups (a re-embedding after an extraction):
       * a flush waits for those too. */
      if (waiter->target <= core->jobs_done && core->jobs.length == 0
          && !core->job_running)
        return_boolean (waiter->task, NULL);
      else if (all)
        return_boolean (waiter->task, new_stopped_error ());
      else
        {
          keep = g_list_prepend (keep, waiter);
          continue;
        }
      flush_waiter_free (waiter);
    }

  g_list_free (core->flush_waiters);
  core->flush_waiters = g_list_reverse (keep);
}

static gboolean
stop_cb (gpointer data)
{
  RflServiceCore *core = data;
  RflServiceJob *job;

  core->stopping = TRUE;
  g_cancellable_cancel (core->cancellable);

  /* Jobs that have not begun are dropped. */
  while ((job = g_queue_pop_head (&core->jobs)) != NULL)
    _rfl_service_job_free (job);

  if (core->n_holds == 0)
    g_main_loop_quit (core->loop);

  return G_SOURCE_REMOVE;
}

/* Dispatching to the service thread -------------------------------------- */

typedef struct
{
  RflServiceCore *core;
  GTask          *task;
  RflServiceFunc  func;
} Dispatch;

static void
dispatch_free (Dispatch *dispatch)
{
  _rfl_service_core_unref (dispatch->core);
  g_clear_object (&dispatch->task);
  g_free (dispatch);
}

static gboolean
dispatch_cb (gpointer data)
{
  Dispatch *dispatch = data;

  if (dispatch->core->stopping || dispatch->core->db == NULL)
    {
      if (dispatch->task != NULL)
        _rfl_service_return_error (dispatch->task, new_stopped_error ());
      return G_SOURCE_REMOVE;
    }

  dispatch->func (dispatch->core, dispatch->task);
  return G_SOURCE_REMOVE;
}

/* Runs @func on the service thread with @task (may be NULL for internal
 * work); when the service has stopped, @task fails at once. */
static void
dispatch (RflService     *self,
          GTask          *task,
          RflServiceFunc  func)
{
  RflServiceCore *core = self->core;
  Dispatch *data;
  GSource *source;

  g_mutex_lock (&core->lock);
  if (!core->accepting)
    {
      g_mutex_unlock (&core->lock);
      if (task != NULL)
        g_task_return_error (task, new_stopped_error ());
      return;
    }

  data = g_new0 (Dispatch, 1);
  data->core = _rfl_service_core_ref (core);
  data->task = task != NULL ? g_object_ref (task) : NULL;
  data->func = func;

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[rfl] service call");
  g_source_set_callback (source, dispatch_cb, data,
                         (GDestroyNotify) dispatch_free);
  g_source_attach (source, core->context);
  g_source_unref (source);
  g_mutex_unlock (&core->lock);
}

void
_rfl_service_dispatch (RflService     *self,
                       GTask          *task,
                       RflServiceFunc  func)
{
  g_return_if_fail (RFL_IS_SERVICE (self));

  dispatch (self, task, func);
}

/* The thread ----------------------------------------------------------- */

typedef struct
{
  GMutex          lock;
  GCond           cond;
  gboolean        done;
  GError         *error;
  RflServiceCore *core;
} Start;

/* Quotas ------------------------------------------------------------------- */

gboolean
_rfl_service_load_quotas (RflServiceCore  *core,
                          gint64           tenant_id,
                          GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gboolean found = FALSE;
  int rc;

  stmt = _rfl_database_prepare (core->db,
                                "SELECT tenant_id, requests_per_minute, "
                                "tokens_per_day, tokens_per_month, "
                                "max_concurrent FROM tenant_quotas "
                                "WHERE ?1 = 0 OR tenant_id = ?1", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflQuotaLimits limits = { 0 };

      limits.requests_per_minute = (guint) CLAMP (sqlite3_column_int64 (stmt, 1),
                                                  0, G_MAXUINT);
      limits.tokens_per_day = (guint64) MAX (sqlite3_column_int64 (stmt, 2), 0);
      limits.tokens_per_month = (guint64) MAX (sqlite3_column_int64 (stmt, 3), 0);
      limits.max_concurrent = (guint) CLAMP (sqlite3_column_int64 (stmt, 4),
                                             0, G_MAXUINT);
      rfl_quota_manager_set_limits (core->quota, sqlite3_column_int64 (stmt, 0),
                                    &limits);
      found = TRUE;
    }
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (core->db, rc, error);

  /* A tenant without a row of its own uses the defaults. */
  if (tenant_id != 0 && !found)
    rfl_quota_manager_set_limits (core->quota, tenant_id, NULL);

  return TRUE;
}

/* The start of the current UTC day or month, in Unix milliseconds. */
static gint64
utc_period_start_ms (gint64   now_us,
                     gboolean month)
{
  g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc (now_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) start = NULL;

  start = g_date_time_new_utc (g_date_time_get_year (now),
                               g_date_time_get_month (now),
                               month ? 1 : g_date_time_get_day_of_month (now),
                               0, 0, 0);
  return g_date_time_to_unix (start) * 1000;
}

/* The tokens each tenant has used this UTC day and month count against
 * its quota from the start. */
static gboolean
seed_quota_usage (RflServiceCore  *core,
                  GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gint64 now = g_get_real_time ();
  int rc;

  stmt = _rfl_database_prepare (core->db,
                                "SELECT tenant_id, "
                                "coalesce (sum (CASE WHEN created_at >= ?1 "
                                "THEN tokens_in + tokens_out ELSE 0 END), 0), "
                                "coalesce (sum (tokens_in + tokens_out), 0) "
                                "FROM usage WHERE created_at >= ?2 "
                                "GROUP BY tenant_id", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, utc_period_start_ms (now, FALSE));
  sqlite3_bind_int64 (stmt, 2, utc_period_start_ms (now, TRUE));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    rfl_quota_manager_seed_usage (core->quota, sqlite3_column_int64 (stmt, 0),
                                  (guint64) MAX (sqlite3_column_int64 (stmt, 1), 0),
                                  (guint64) MAX (sqlite3_column_int64 (stmt, 2), 0),
                                  now);
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (core->db, rc, error);

  return TRUE;
}

void
_rfl_service_record_rejection (RflServiceCore          *core,
                               gint64                   tenant_id,
                               gint64                   user_id,
                               const RflQuotaRejection *rejection)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  int rc;

  stmt = _rfl_database_prepare (core->db,
                                "INSERT INTO quota_rejections "
                                "(tenant_id, user_id, limit_name, created_at) "
                                "VALUES (?, ?, ?, ?)", &error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, tenant_id);
      if (user_id != 0)
        sqlite3_bind_int64 (stmt, 2, user_id);
      else
        sqlite3_bind_null (stmt, 2);
      sqlite3_bind_text (stmt, 3, rfl_quota_limit_to_string (rejection->limit),
                         -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 4, g_get_real_time () / 1000);
      if ((rc = sqlite3_step (stmt)) != SQLITE_DONE)
        _rfl_database_set_error (core->db, rc, &error);
    }

  if (error != NULL)
    g_warning ("Cannot record a request refused by the quota of tenant %"
               G_GINT64_FORMAT ": %s", tenant_id, error->message);
}

/* The thread ---------------------------------------------------------------- */

static gboolean
open_stores (RflServiceCore  *core,
             GError         **error)
{
  g_autoptr(RflVectorEmbedder) embedder = rfl_vector_embedder_new_hash ();

  core->db = rfl_database_open (core->database_path, error);
  if (core->db == NULL)
    return FALSE;

  core->vectors = rfl_vector_store_new (core->db, embedder, error);
  if (core->vectors == NULL)
    return FALSE;

  core->chat = rfl_chat_store_new (core->db, core->vectors);
  core->memories = rfl_memory_store_new (core->db, core->vectors);

  /* Answers cut off by the end of the last run are kept, interrupted. */
  return rfl_chat_store_recover_interrupted (core->chat, NULL, error)
         && _rfl_service_load_prices (core, error)
         && rfl_vector_store_load_all (core->vectors, error)
         && _rfl_service_load_quotas (core, 0, error)
         && seed_quota_usage (core, error);
}

static void
close_stores (RflServiceCore *core)
{
  g_clear_pointer (&core->prices, rfl_price_table_unref);
  g_clear_object (&core->memories);
  g_clear_object (&core->chat);
  g_clear_object (&core->vectors);
  g_clear_object (&core->db);
}

static gpointer
service_thread (gpointer data)
{
  Start *start = data;
  RflServiceCore *core = start->core;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_main_context_push_thread_default (core->context);

  ok = open_stores (core, &error);

  g_mutex_lock (&start->lock);
  g_mutex_lock (&core->lock);
  core->accepting = ok;
  g_mutex_unlock (&core->lock);
  start->error = g_steal_pointer (&error);
  start->done = TRUE;
  g_cond_signal (&start->cond);
  g_mutex_unlock (&start->lock);
  /* @start belongs to the caller from here on. */

  if (ok)
    g_main_loop_run (core->loop);

  /* Calls that arrived meanwhile fail; then nothing else can arrive. */
  core->stopping = TRUE;
  g_mutex_lock (&core->lock);
  core->accepting = FALSE;
  g_mutex_unlock (&core->lock);
  while (g_main_context_iteration (core->context, FALSE))
    ;

  complete_flush_waiters (core, TRUE);
  close_stores (core);

  g_main_context_pop_thread_default (core->context);
  _rfl_service_core_unref (core);
  return NULL;
}

/* The object -------------------------------------------------------------- */

static void
rfl_service_dispose (GObject *object)
{
  RflService *self = RFL_SERVICE (object);

  rfl_service_shutdown (self);

  G_OBJECT_CLASS (rfl_service_parent_class)->dispose (object);
}

static void
rfl_service_finalize (GObject *object)
{
  RflService *self = RFL_SERVICE (object);

  g_clear_pointer (&self->core, _rfl_service_core_unref);

  G_OBJECT_CLASS (rfl_service_parent_class)->finalize (object);
}

static void
rfl_service_class_init (RflServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_service_dispose;
  object_class->finalize = rfl_service_finalize;
}

static void
rfl_service_init (RflService *self)
{
  RflServiceCore *core = g_atomic_rc_box_new0 (RflServiceCore);

  g_mutex_init (&core->lock);
  core->context = g_main_context_new ();
  core->loop = g_main_loop_new (core->context, FALSE);
  core->cancellable = g_cancellable_new ();
  core->quota = rfl_quota_manager_new ();
  g_queue_init (&core->jobs);
  self->core = core;
}

RflService *
rfl_service_new_sync (const char  *database_path,
                      GError     **error)
{
  g_autoptr(RflService) self = NULL;
  Start start = { 0 };

  g_return_val_if_fail (database_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (RFL_TYPE_SERVICE, NULL);
  self->core->database_path = g_strdup (database_path);

  g_mutex_init (&start.lock);
  g_cond_init (&start.cond);
  start.core = _rfl_service_core_ref (self->core);

  self->thread = g_thread_new ("rfl-service", service_thread, &start);

  g_mutex_lock (&start.lock);
  while (!start.done)
    g_cond_wait (&start.cond, &start.lock);
  g_mutex_unlock (&start.lock);

  g_mutex_clear (&start.lock);
  g_cond_clear (&start.cond);

  if (start.error != NULL)
    {
      g_propagate_error (error, start.error);
      return NULL;   /* dispose joins the thread, which has ended */
    }

  return g_steal_pointer (&self);
}

static void
new_worker (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;
  RflService *service;

  service = rfl_service_new_sync (task_data, &error);
  if (service == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, service, g_object_unref);
}

void
rfl_service_new_async (const char          *database_path,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (database_path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_service_new_async);
  g_task_set_task_data (task, g_strdup (database_path), g_free);
  g_task_run_in_thread (task, new_worker);
}

RflService *
rfl_service_new_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
rfl_service_shutdown (RflService *self)
{
  RflServiceCore *core;
  GSource *source;

  g_return_if_fail (RFL_IS_SERVICE (self));

  if (self->thread == NULL)
    return;

  core = self->core;
  g_mutex_lock (&core->lock);
  if (core->accepting)
    {
      source = g_idle_source_new ();
      g_source_set_priority (source, G_PRIORITY_HIGH);
      g_source_set_callback (source, stop_cb,
                             _rfl_service_core_ref (core),
                             (GDestroyNotify) _rfl_service_core_unref);
      g_source_attach (source, core->context);
      g_source_unref (source);
    }
  g_mutex_unlock (&core->lock);

  /* The last reference may go on the service thread itself: it then ends
   * on its own. */
  if (g_thread_self () == self->thread)
    g_thread_unref (g_steal_pointer (&self->thread));
  else
    g_thread_join (g_steal_pointer (&self->thread));
}

const char *
rfl_service_get_database_path (RflService *self)
{
  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);

  return self->core->database_path;
}

/* Identities ------------------------------------------------------------ */

void
_rfl_identity_check_clear (RflIdentityCheck *check)
{
  g_clear_pointer (&check->tenant_name, g_free);
  g_clear_pointer (&check->use_case, g_free);
  g_clear_pointer (&check->role, g_free);
}

gboolean
_rfl_service_check_identity (RflServiceCore    *core,
                             RflIdentity        identity,
                             RflIdentityCheck  *out,
                             GError           **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (core->db, identity_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, identity.tenant_id);
  sqlite3_bind_int64 (stmt, 2, identity.user_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The user does not exist or is not active"));
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (core->db, rc, error);

  if (out != NULL)
    {
      out->tenant_name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      out->use_case = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      out->role = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
    }

  return TRUE;
}

RflAssistantProfile *
_rfl_service_dup_profile (RflServiceCore         *core,
                          RflIdentity             identity,
                          const RflIdentityCheck *check)
{
  g_autofree char *name_key = NULL;
  g_autofree char *persona_key = NULL;
  g_autofree char *name = NULL;
  g_autofree char *persona = NULL;
  g_autoptr(GError) error = NULL;

  name_key = rfl_assistant_dup_setting_key (identity.tenant_id, "agent_name");
  persona_key = rfl_assistant_dup_setting_key (identity.tenant_id, "persona");

  name = rfl_database_dup_setting (core->db, name_key, &error);
  if (error == NULL)
    persona = rfl_database_dup_setting (core->db, persona_key, &error);
  if (error != NULL)
    g_warning ("Cannot read the assistant of tenant %" G_GINT64_FORMAT
               ": %s", identity.tenant_id, error->message);

  return rfl_assistant_profile_new (check->tenant_name, check->use_case,
                                    name, persona);
}

RflConversation *
_rfl_service_get_conversation (RflServiceCore  *core,
                               RflIdentity      identity,
                               gint64           conversation_id,
                               GError         **error)
{
  g_autoptr(RflConversation) conversation = NULL;

  conversation = rfl_chat_store_get_conversation (core->chat,
                                                  identity.tenant_id,
                                                  conversation_id, error);
  if (conversation == NULL)
    return NULL;

  /* Another user's conversation is as absent as another tenant's. */
  if (conversation->user_id != identity.user_id)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The conversation does not exist"));
      return NULL;
    }

  return g_steal_pointer (&conversation);
}

static RflMemory *
get_memory (RflServiceCore  *core,
            RflIdentity      identity,
            gint64           memory_id,
            GError         **error)
{
  g_autoptr(RflMemory) memory = NULL;

  memory = rfl_memory_store_get (core->memories, identity.tenant_id,
                                 memory_id, error);
  if (memory == NULL)
    return NULL;

  if (memory->user_id != identity.user_id)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The memory does not exist"));
      return NULL;
    }

  return g_steal_pointer (&memory);
}

/* Providers and usage ------------------------------------------------------ */

static RflProviderSnapshot *
dup_provider_locked (RflServiceCore *core)
{
  RflProviderSnapshot *snapshot;

  g_mutex_lock (&core->lock);
  snapshot = _rfl_provider_snapshot_copy (core->provider);
  g_mutex_unlock (&core->lock);

  return snapshot;
}

RflProviderSnapshot *
_rfl_service_dup_provider (RflServiceCore  *core,
                           GError         **error)
{
  RflProviderSnapshot *snapshot = dup_provider_locked (core);

  if (snapshot == NULL || snapshot->model == NULL || *snapshot->model == '\0')
    {
      _rfl_provider_snapshot_free (snapshot);
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("No language model is configured: choose a "
                             "provider and a model in the preferences"));
      return NULL;
    }

  return snapshot;
}

RflLlmClient *
_rfl_service_new_client (const RflProviderSnapshot  *provider,
                         GError                    **error)
{
  return rfl_llm_client_new (provider->kind, provider->url, provider->api_key,
                             error);
}

#define PRICES_SETTING "prices"

gboolean
_rfl_service_load_prices (RflServiceCore  *core,
                          GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *json = NULL;
  RflPriceTable *prices = NULL;

  json = rfl_database_dup_setting (core->db, PRICES_SETTING, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (json != NULL)
    {
      prices = rfl_price_table_new_from_json (json, -1, &local_error);
      /* Only valid tables are kept; should one be damaged, the shipped
       * prices serve until the administrator saves new ones. */
      if (prices == NULL)
        g_warning ("The price table in the database is not valid (%s);"
                   " using the default prices", local_error->message);
    }
  if (prices == NULL)
    prices = rfl_price_table_new_default ();

  g_clear_pointer (&core->prices, rfl_price_table_unref);
  core->prices = prices;
  return TRUE;
}

gboolean
_rfl_service_set_prices (RflServiceCore  *core,
                         const char      *json,
                         GError         **error)
{
  g_autoptr(RflPriceTable) prices = NULL;
  g_autofree char *normal = NULL;

  prices = rfl_price_table_new_from_json (json, -1, error);
  if (prices == NULL)
    return FALSE;

  normal = rfl_price_table_to_json (prices);
  if (!rfl_database_set_setting (core->db, PRICES_SETTING, normal, error))
    return FALSE;

  g_clear_pointer (&core->prices, rfl_price_table_unref);
  core->prices = g_steal_pointer (&prices);
  return TRUE;
}

void
_rfl_service_record_usage (RflServiceCore            *core,
                           RflIdentity                identity,
                           gint64                     conversation_id,
                           const RflProviderSnapshot *provider,
                           const char                *model,
                           RflChatResult             *result,
                           gint64                     started_us)
{
  g_autoptr(GError) error = NULL;
  RflUsageRecord record = { 0 };
  gint64 latency_ms;

  if (result != NULL && rfl_chat_result_get_model (result) != NULL
      && *rfl_chat_result_get_model (result) != '\0')
    model = rfl_chat_result_get_model (result);

  latency_ms = result != NULL ? rfl_chat_result_get_latency_ms (result)
                              : (g_get_monotonic_time () - started_us) / 1000;

  record.user_id = identity.user_id;
  record.conversation_id = conversation_id;
  record.model = model != NULL ? model : "";
  record.provider = rfl_provider_kind_to_string (provider->kind);
  record.tokens_in = result != NULL ? rfl_chat_result_get_input_tokens (result)
                                    : 0;
  record.tokens_out = result != NULL
                        ? rfl_chat_result_get_output_tokens (result) : 0;
  record.latency_ms = (guint) CLAMP (latency_ms, 0, G_MAXUINT);
  record.api_key_id = identity.api_key_id;

  /* A local model costs nothing per token. */
  if (provider->kind == RFL_PROVIDER_OLLAMA)
    record.priced = TRUE;
  else if (core->prices != NULL)
    record.priced = rfl_price_table_estimate_cost (core->prices, record.model,
                                                   record.tokens_in,
                                                   record.tokens_out,
                                                   &record.cost_micro_usd);
  if (record.cost_micro_usd > G_MAXINT64)
    record.priced = FALSE;

  if (!rfl_chat_store_record_usage (core->chat, identity.tenant_id, &record,
                                    &error))
    g_warning ("Cannot record the usage of a call to %s: %s",
               record.model, error->message);
}

/* Embedders ------------------------------------------------------------- */

typedef struct
{
  RflLlmClient *client;
  char         *model;
  guint         dims;
} RemoteEmbedder;

static void
remote_embedder_free (RemoteEmbedder *remote)
{
  g_clear_object (&remote->client);
  g_free (remote->model);
  g_free (remote);
}

static gboolean
remote_embed (const char * const  *texts,
              guint                n_texts,
              float               *vectors,
              gpointer             user_data,
              GCancellable        *cancellable,
              GError             **error)
{
  RemoteEmbedder *remote = user_data;
  g_autoptr(RflEmbeddings) embeddings = NULL;
  g_autofree const char **list = g_new0 (const char *, n_texts + 1);

  for (guint i = 0; i < n_texts; i++)
    list[i] = texts[i];

  embeddings = rfl_llm_client_embed (remote->client, remote->model, list,
                                     cancellable, error);
  if (embeddings == NULL)
    return FALSE;

  if (embeddings->n_vectors != n_texts || embeddings->dims != remote->dims)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The embedding model answered with %u vectors of %u "
                     "numbers instead of %u of %u"),
                   embeddings->n_vectors, embeddings->dims, n_texts,
                   remote->dims);
      return FALSE;
    }

  /* Vectors are compared by cosine: store them normalised. */
  for (guint i = 0; i < n_texts; i++)
    {
      const float *in = rfl_embeddings_get_vector (embeddings, i);
      float *out = vectors + (gsize) i * remote->dims;
      double norm = 0;

      for (guint d = 0; d < remote->dims; d++)
        norm += (double) in[d] * in[d];
      norm = sqrt (norm);
      for (guint d = 0; d < remote->dims; d++)
        out[d] = norm > 0 && isfinite (norm) ? (float) (in[d] / norm) : 0.f;
    }

  return TRUE;
}

static char *
dup_embedder_key (const RflProviderSnapshot *provider)
{
  if (provider == NULL || provider->embedding_model == NULL
      || *provider->embedding_model == '\0')
    return g_strdup ("");

  return g_strdup_printf ("%s|%s|%s",
                          rfl_provider_kind_to_string (provider->kind),
                          provider->url != NULL ? provider->url : "",
                          provider->embedding_model);
}

static void
probe_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  const RflProviderSnapshot *provider = task_data;
  g_autoptr(RflLlmClient) client = NULL;
  g_autoptr(RflEmbeddings) probe = NULL;
  g_autofree char *id = NULL;
  RemoteEmbedder *remote;
  GError *error = NULL;

  client = _rfl_service_new_client (provider, &error);
  if (client != NULL)
    probe = rfl_llm_client_embed (client, provider->embedding_model,
                                  (const char *[]) { "dimension probe", NULL },
                                  cancellable, &error);
  if (probe == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (probe->dims == 0 || probe->dims > 65536)
    {
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_PROTOCOL,
                               _("The embedding model answered with %u "
                                 "numbers per vector"), probe->dims);
      return;
    }

  remote = g_new0 (RemoteEmbedder, 1);
  remote->client = g_steal_pointer (&client);
  remote->model = g_strdup (provider->embedding_model);
  remote->dims = probe->dims;

  id = g_strdup_printf ("%s:%s", rfl_provider_kind_to_string (provider->kind),
                        provider->embedding_model);
  g_task_return_pointer (task,
                         rfl_vector_embedder_new (id, remote->dims, FALSE,
                                                  remote_embed, remote,
                                                  (GDestroyNotify) remote_embedder_free),
                         (GDestroyNotify) rfl_vector_embedder_unref);
}

static void
reembed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  RflServiceCore *core = user_data;
  g_autoptr(GError) error = NULL;
  guint64 n = 0;

  if (!rfl_vector_store_reembed_finish (RFL_VECTOR_STORE (source), result, &n,
                                        &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Re-embedding stopped: %s", error->message);
    }
  else if (n > 0)
    {
      RflVectorEmbedder *embedder;

      embedder = rfl_vector_store_get_embedder (RFL_VECTOR_STORE (source));
      g_debug ("Re-embedded %" G_GUINT64_FORMAT " rows with %s", n,
               rfl_vector_embedder_get_id (embedder));
    }

  _rfl_service_job_done (core);
}

static void
start_reembed (RflServiceCore *core)
{
  rfl_vector_store_reembed_async (core->vectors, 0, core->cancellable,
                                  reembed_cb, core);
}

static void
probe_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  RflServiceCore *core = user_data;
  g_autoptr(RflVectorEmbedder) embedder = NULL;
  g_autoptr(GError) error = NULL;
  RflVectorEmbedder *current;

  embedder = g_task_propagate_pointer (G_TASK (result), &error);
  if (embedder == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("The embedding model cannot be used, keeping %s: %s",
                   rfl_vector_embedder_get_id (rfl_vector_store_get_embedder (core->vectors)),
                   error->message);
      _rfl_service_job_done (core);
      return;
    }

  current = rfl_vector_store_get_embedder (core->vectors);
  if (g_strcmp0 (rfl_vector_embedder_get_id (current),
                 rfl_vector_embedder_get_id (embedder)) != 0
      || rfl_vector_embedder_get_dims (current)
         != rfl_vector_embedder_get_dims (embedder)
      || !rfl_vector_embedder_is_local (current))
    rfl_vector_store_set_embedder (core->vectors, embedder);

  start_reembed (core);
}

static void
run_embedder_job (RflServiceCore *core,
                  RflServiceJob  *job)
{
  RflVectorEmbedder *current = rfl_vector_store_get_embedder (core->vectors);
  g_autoptr(GTask) task = NULL;

  if (job->provider == NULL)
    {
      if (g_strcmp0 (rfl_vector_embedder_get_id (current),
                     RFL_HASH_EMBEDDER_ID) != 0)
        {
          g_autoptr(RflVectorEmbedder) hash = rfl_vector_embedder_new_hash ();

          rfl_vector_store_set_embedder (core->vectors, hash);
        }

      /* Rows a provider's model embedded in an earlier run get vectors of
       * the built-in embedder; with nothing to do this is quick. */
      start_reembed (core);
      return;
    }

  task = g_task_new (NULL, core->cancellable, probe_cb, core);
  g_task_set_source_tag (task, run_embedder_job);
  g_task_set_task_data (task, _rfl_provider_snapshot_copy (job->provider),
                        (GDestroyNotify) _rfl_provider_snapshot_free);
  g_task_run_in_thread (task, probe_worker);
}

typedef struct
{
  RflVectorEmbedder *embedder;
  char              *text;
} QueryEmbedding;

static void
query_embedding_free (QueryEmbedding *query)
{
  rfl_vector_embedder_unref (query->embedder);
  g_free (query->text);
  g_free (query);
}

static void
embed_query_worker (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  QueryEmbedding *query = task_data;
  g_autoptr(GError) error = NULL;
  guint dims = rfl_vector_embedder_get_dims (query->embedder);
  g_autofree float *vector = g_new0 (float, dims);
  const char *texts[] = { query->text, NULL };

  if (!rfl_vector_embedder_embed (query->embedder, texts, 1, vector,
                                  cancellable, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_debug ("Searching by words only: %s", error->message);
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&vector), g_free);
}

void
_rfl_service_embed_query_async (RflServiceCore      *core,
                                const char          *text,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RflVectorEmbedder *embedder = rfl_vector_store_get_embedder (core->vectors);
  QueryEmbedding *query;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, _rfl_service_embed_query_async);

  if (rfl_vector_embedder_is_local (embedder))
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  query = g_new0 (QueryEmbedding, 1);
  query->embedder = rfl_vector_embedder_ref (embedder);
  query->text = g_strdup (text);
  g_task_set_task_data (task, query, (GDestroyNotify) query_embedding_free);
  g_task_run_in_thread (task, embed_query_worker);
}

float *
_rfl_service_embed_query_finish (GAsyncResult  *result,
                                 guint         *n_dims,
                                 GError       **error)
{
  QueryEmbedding *query = g_task_get_task_data (G_TASK (result));

  *n_dims = query != NULL ? rfl_vector_embedder_get_dims (query->embedder) : 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Jobs ------------------------------------------------------------------ */

void
_rfl_service_job_free (RflServiceJob *job)
{
  g_free (job->user_text);
  g_free (job->assistant_text);
  g_free (job->model);
  _rfl_provider_snapshot_free (job->provider);
  g_free (job);
}

static void
run_next_job (RflServiceCore *core)
{
  RflServiceJob *job;

  if (core->job_running || core->stopping)
    return;

  job = g_queue_pop_head (&core->jobs);
  if (job == NULL)
    return;

  core->job_running = TRUE;
  _rfl_service_hold (core);

  switch (job->kind)
    {
    case RFL_SERVICE_JOB_EXTRACT:
      _rfl_service_run_extract (core, job);
      break;

    case RFL_SERVICE_JOB_EMBEDDER:
      run_embedder_job (core, job);
      break;

    case RFL_SERVICE_JOB_REEMBED:
      core->reembed_queued = FALSE;
      start_reembed (core);
      break;

    default:
      g_assert_not_reached ();
    }

  _rfl_service_job_free (job);
}

static gboolean
run_next_job_cb (gpointer data)
{
  run_next_job (data);
  return G_SOURCE_REMOVE;
}

void
_rfl_service_job_done (RflServiceCore *core)
{
  GSource *source;

  g_assert (core->job_running);

  core->job_running = FALSE;
  core->jobs_done++;
  complete_flush_waiters (core, FALSE);

  /* The next job starts from the main loop, not from inside the callback
   * that ended this one. */
  if (core->jobs.length > 0 && !core->stopping)
    {
      source = g_idle_source_new ();
      g_source_set_callback (source, run_next_job_cb,
                             _rfl_service_core_ref (core),
                             (GDestroyNotify) _rfl_service_core_unref);
      g_source_attach (source, core->context);
      g_source_unref (source);
    }

  _rfl_service_release (core);
}

void
_rfl_service_queue_job (RflServiceCore *core,
                        RflServiceJob  *job)
{
  if (core->stopping)
    {
      _rfl_service_job_free (job);
      return;
    }

  core->jobs_queued++;
  g_queue_push_tail (&core->jobs, job);
  run_next_job (core);
}

void
_rfl_service_queue_reembed (RflServiceCore *core)
{
  RflServiceJob *job;

  if (core->reembed_queued
      || rfl_vector_embedder_is_local (rfl_vector_store_get_embedder (core->vectors)))
    return;

  job = g_new0 (RflServiceJob, 1);
  job->kind = RFL_SERVICE_JOB_REEMBED;
  core->reembed_queued = TRUE;
  _rfl_service_queue_job (core, job);
}

/* Provider -------------------------------------------------------------- */

static void
queue_embedder_job_func (RflServiceCore *core,
                         GTask          *task)
{
  RflServiceJob *job = g_new0 (RflServiceJob, 1);
  g_autoptr(RflProviderSnapshot) provider = dup_provider_locked (core);

  job->kind = RFL_SERVICE_JOB_EMBEDDER;
  if (provider != NULL && provider->embedding_model != NULL
      && *provider->embedding_model != '\0')
    job->provider = g_steal_pointer (&provider);

  _rfl_service_queue_job (core, job);
}

void
rfl_service_set_provider (RflService              *self,
                          const RflProviderConfig *config)
{
  RflServiceCore *core;
  RflProviderSnapshot snapshot = { 0 };
  g_autofree char *key = NULL;
  gboolean embedder_changed;

  g_return_if_fail (RFL_IS_SERVICE (self));
  g_return_if_fail (config != NULL);

  core = self->core;
  snapshot.kind = config->kind;
  snapshot.url = (char *) (config->url != NULL && *config->url != '\0'
                             ? config->url : NULL);
  snapshot.api_key = (char *) (config->api_key != NULL
                               && *config->api_key != '\0'
                                 ? config->api_key : NULL);
  snapshot.model = (char *) (config->model != NULL && *config->model != '\0'
                               ? config->model : NULL);
  snapshot.embedding_model = (char *) (config->embedding_model != NULL
                                       && *config->embedding_model != '\0'
                                         ? config->embedding_model : NULL);
  key = dup_embedder_key (&snapshot);

  g_mutex_lock (&core->lock);
  g_clear_pointer (&core->provider, _rfl_provider_snapshot_free);
  core->provider = _rfl_provider_snapshot_copy (&snapshot);
  /* The first configuration always settles the embedder: the database
   * may hold vectors of another one from an earlier run. */
  embedder_changed = g_strcmp0 (core->embedder_key, key) != 0;
  if (embedder_changed)
    {
      g_free (core->embedder_key);
      core->embedder_key = g_steal_pointer (&key);
    }
  g_mutex_unlock (&core->lock);

  if (embedder_changed)
    dispatch (self, NULL, queue_embedder_job_func);
}

/* Identities ------------------------------------------------------------ */

void
rfl_identity_info_free (RflIdentityInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->tenant_name);
  g_free (info->email);
  g_free (info->display_name);
  g_free (info->role);
  g_free (info);
}

static void
list_identities_func (RflServiceCore *core,
                      GTask          *task)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) identities = NULL;
  GError *error = NULL;
  int rc;

  stmt = _rfl_database_prepare (core->db, identities_sql, &error);
  if (stmt == NULL)
    {
      return_array (task, NULL, error);
      return;
    }

  identities = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_identity_info_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflIdentityInfo *info = g_new0 (RflIdentityInfo, 1);

      info->tenant_id = sqlite3_column_int64 (stmt, 0);
      info->tenant_name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      info->user_id = sqlite3_column_int64 (stmt, 2);
      info->email = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      info->display_name = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      info->role = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      g_ptr_array_add (identities, info);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (core->db, rc, &error);
      return_array (task, NULL, error);
      return;
    }

  return_array (task, g_steal_pointer (&identities), NULL);
}

static GTask *
new_task (RflService          *self,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data,
          gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

void
rfl_service_list_identities_async (RflService          *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_task (self, cancellable, callback, user_data,
                   rfl_service_list_identities_async);
  dispatch (self, task, list_identities_func);
}

static gpointer
propagate_pointer (RflService    *self,
                   GAsyncResult  *result,
                   gpointer       source_tag,
                   GError       **error)
{
  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
propagate_boolean (RflService    *self,
                   GAsyncResult  *result,
                   GError       **error)
{
  g_return_val_if_fail (RFL_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_pointer (G_TASK (result), error) != NULL;
}

GPtrArray *
rfl_service_list_identities_finish (RflService    *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return propagate_pointer (self, result, rfl_service_list_identities_async,
                            error);
}

/* Conversations ---------------------------------------------------------- */

/* The input of the calls on conversations and memories. */
typedef struct
{
  RflIdentity           identity;
  gint64                id;
  char                 *text;
  char                 *value;
  double                importance;
  RflConversationChange change;
} Request;

static void
request_free (Request *request)
{
  g_free (request->text);
  g_free (request->value);
  g_free (request);
}

RflIdentity
_rfl_service_task_get_identity (GTask *task)
{
  Request *request = g_task_get_task_data (task);

  return request->identity;
}

static GTask *
new_request_task (RflService          *self,
                  RflIdentity          identity,
                  gint64               id,
                  const char          *text,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data,
                  gpointer             source_tag)
{
  GTask *task = new_task (self, cancellable, callback, user_data, source_tag);
  Request *request = g_new0 (Request, 1);

  request->identity = identity;
  request->id = id;
  request->text = g_strdup (text);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  return task;
}

static void
list_conversations_func (RflServiceCore *core,
                         GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  GPtrArray *conversations = NULL;
  GError *error = NULL;

  if (_rfl_service_check_identity (core, request->identity, NULL, &error))
    conversations = rfl_chat_store_list_conversations (core->chat,
                                                       request->identity.tenant_id,
                                                       request->identity.user_id,
                                                       request->text,
                                                       RFL_CONVERSATION_LIST_ACTIVE,
                                                       0, 1000, &error);

  return_array (task, conversations, error);
}

void
rfl_service_list_conversations_async (RflService          *self,
                                      RflIdentity          identity,
                                      const char          *search,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, 0,
                           search != NULL && *search != '\0' ? search : NULL,
                           cancellable, callback, user_data,
                           rfl_service_list_conversations_async);
  dispatch (self, task, list_conversations_func);
}

GPtrArray *
rfl_service_list_conversations_finish (RflService    *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return propagate_pointer (self, result, rfl_service_list_conversations_async,
                            error);
}

static void
create_conversation_func (RflServiceCore *core,
                          GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;
  gint64 id = 0;

  if (_rfl_service_check_identity (core, request->identity, NULL, &error))
    id = rfl_chat_store_create_conversation (core->chat,
                                             request->identity.tenant_id,
                                             request->identity.user_id,
                                             request->text, &error);

  return_id (task, id, error);
}

void
rfl_service_create_conversation_async (RflService          *self,
                                       RflIdentity          identity,
                                       const char          *title,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, 0, title, cancellable, callback,
                           user_data, rfl_service_create_conversation_async);
  dispatch (self, task, create_conversation_func);
}

gint64
rfl_service_create_conversation_finish (RflService    *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  g_autofree gint64 *id = NULL;

  g_return_val_if_fail (RFL_IS_SERVICE (self), 0);
  g_return_val_if_fail (g_task_is_valid (result, self), 0);

  id = g_task_propagate_pointer (G_TASK (result), error);
  return id != NULL ? *id : 0;
}

static void
change_conversation_func (RflServiceCore *core,
                          GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  g_autoptr(RflConversation) conversation = NULL;
  GError *error = NULL;
  gint64 tenant_id = request->identity.tenant_id;

  if (!_rfl_service_check_identity (core, request->identity, NULL, &error)
      || (conversation = _rfl_service_get_conversation (core,
                                                        request->identity,
                                                        request->id,
                                                        &error)) == NULL)
    {
      return_boolean (task, error);
      return;
    }

  switch (request->change)
    {
    case RFL_CONVERSATION_RENAME:
      rfl_chat_store_rename_conversation (core->chat, tenant_id, request->id,
                                          request->text, &error);
      break;

    case RFL_CONVERSATION_DELETE:
      rfl_chat_store_delete_conversation (core->chat, tenant_id, request->id,
                                          &error);
      break;

    case RFL_CONVERSATION_RESTORE:
      rfl_chat_store_restore_conversation (core->chat, tenant_id, request->id,
                                           &error);
      break;

    default:
      g_set_error (&error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The change %d of a conversation is unknown"),
                   (int) request->change);
      break;
    }

  return_boolean (task, error);
}

void
rfl_service_change_conversation_async (RflService            *self,
                                       RflIdentity            identity,
                                       gint64                 conversation_id,
                                       RflConversationChange  change,
                                       const char            *title,
                                       GCancellable          *cancellable,
                                       GAsyncReadyCallback    callback,
                                       gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, conversation_id, title,
                           cancellable, callback, user_data,
                           rfl_service_change_conversation_async);
  request = g_task_get_task_data (task);
  request->change = change;
  dispatch (self, task, change_conversation_func);
}

gboolean
rfl_service_change_conversation_finish (RflService    *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  return propagate_boolean (self, result, error);
}

/* Messages ------------------------------------------------------------- */

GHashTable *
_rfl_service_find_superseded (GPtrArray *messages)
{
  GHashTable *superseded = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                  g_free, NULL);

  for (guint i = 0; i < messages->len; i++)
    {
      const RflMessage *message = g_ptr_array_index (messages, i);
      g_autoptr(JsonParser) parser = NULL;
      JsonNode *root;
      JsonNode *list;

      if (message->role != RFL_MESSAGE_ROLE_ASSISTANT
          || message->metadata == NULL
          || strstr (message->metadata, "\"supersedes\"") == NULL)
        continue;

      parser = json_parser_new ();
      if (!json_parser_load_from_data (parser, message->metadata, -1, NULL)
          || (root = json_parser_get_root (parser)) == NULL
          || !JSON_NODE_HOLDS_OBJECT (root))
        continue;

      list = json_object_get_member (json_node_get_object (root),
                                     "supersedes");
      if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
        continue;

      for (guint j = 0; j < json_array_get_length (json_node_get_array (list));
           j++)
        {
          JsonNode *node = json_array_get_element (json_node_get_array (list), j);
          gint64 id;

          if (!JSON_NODE_HOLDS_VALUE (node)
              || json_node_get_value_type (node) != G_TYPE_INT64)
            continue;
          id = json_node_get_int (node);
          g_hash_table_add (superseded, g_memdup2 (&id, sizeof id));
        }
    }

  return superseded;
}

gboolean
_rfl_service_is_tool_step (GPtrArray *messages,
                           guint      index)
{
  const RflMessage *message = g_ptr_array_index (messages, index);
  const RflMessage *next;

  if (message->role != RFL_MESSAGE_ROLE_ASSISTANT || index + 1 >= messages->len)
    return FALSE;

  next = g_ptr_array_index (messages, index + 1);
  return next->role == RFL_MESSAGE_ROLE_TOOL;
}

static gboolean
is_blank (const char *text)
{
  for (; text != NULL && *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;

  return TRUE;
}

static GPtrArray *
list_all_messages (RflServiceCore  *core,
                   gint64           tenant_id,
                   gint64           conversation_id,
                   GError         **error)
{
  g_autoptr(GPtrArray) all = NULL;
  gint64 before = 0;

  all = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_message_free);

  /* Pages come newest first; each is in order. */
  for (;;)
    {
      g_autoptr(GPtrArray) page = NULL;
      gboolean full;
      gint64 first;

      page = rfl_chat_store_list_messages (core->chat, tenant_id,
                                           conversation_id, before, 1000,
                                           error);
      if (page == NULL)
        return NULL;
      if (page->len == 0)
        break;

      first = ((RflMessage *) g_ptr_array_index (page, 0))->id;
      full = page->len == 1000;
      g_ptr_array_extend_and_steal (page, g_steal_pointer (&all));
      all = g_steal_pointer (&page);

      if (!full)
        break;
      before = first;
    }

  return g_steal_pointer (&all);
}

static void
list_messages_func (RflServiceCore *core,
                    GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GHashTable) superseded = NULL;
  g_autoptr(GPtrArray) shown = NULL;
  GError *error = NULL;

  if (!_rfl_service_check_identity (core, request->identity, NULL, &error)
      || (conversation = _rfl_service_get_conversation (core,
                                                        request->identity,
                                                        request->id,
                                                        &error)) == NULL
      || (all = list_all_messages (core, request->identity.tenant_id,
                                   request->id, &error)) == NULL)
    {
      return_array (task, NULL, error);
      return;
    }

  superseded = _rfl_service_find_superseded (all);
  shown = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_message_free);

  for (guint i = 0; i < all->len; i++)
    {
      RflMessage *message = g_ptr_array_index (all, i);

      if (message->role == RFL_MESSAGE_ROLE_SYSTEM
          || message->role == RFL_MESSAGE_ROLE_TOOL
          || g_hash_table_contains (superseded, &message->id)
          || (_rfl_service_is_tool_step (all, i)
              && message->status == RFL_MESSAGE_STATUS_COMPLETE
              && is_blank (message->content)))
        continue;

      g_ptr_array_add (shown, rfl_message_copy (message));
    }

  return_array (task, g_steal_pointer (&shown), NULL);
}

void
rfl_service_list_messages_async (RflService          *self,
                                 RflIdentity          identity,
                                 gint64               conversation_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, conversation_id, NULL, cancellable,
                           callback, user_data,
                           rfl_service_list_messages_async);
  dispatch (self, task, list_messages_func);
}

GPtrArray *
rfl_service_list_messages_finish (RflService    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return propagate_pointer (self, result, rfl_service_list_messages_async,
                            error);
}

/* Turns ------------------------------------------------------------------ */

void
rfl_turn_free (RflTurn *turn)
{
  if (turn == NULL)
    return;

  g_free (turn->text);
  g_free (turn->model);
  g_clear_pointer (&turn->used_memories, g_ptr_array_unref);
  g_free (turn);
}

static void
start_turn (RflService          *self,
            gboolean             admitted,
            RflIdentity          identity,
            gint64               conversation_id,
            const char          *text,
            const char          *model,
            RflTurnProgressFunc  progress_func,
            gpointer             progress_data,
            GDestroyNotify       progress_destroy,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RflTurnInput *input;

  task = new_task (self, cancellable, callback, user_data,
                   rfl_service_send_message_async);
  /* The result is the turn: its cancellation is reported by the turn
   * itself, after the partial answer was kept. */
  g_task_set_check_cancellable (task, FALSE);

  input = g_new0 (RflTurnInput, 1);
  input->identity = identity;
  input->conversation_id = conversation_id;
  input->text = g_strdup (text);
  input->admitted = admitted;
  input->model = model != NULL && *model != '\0' ? g_strdup (model) : NULL;
  if (progress_func != NULL)
    input->relay = _rfl_progress_relay_new (progress_func, progress_data,
                                            progress_destroy);
  else if (progress_destroy != NULL)
    progress_destroy (progress_data);
  g_task_set_task_data (task, input, (GDestroyNotify) _rfl_turn_input_free);

  dispatch (self, task, _rfl_service_send_message);
}

void
rfl_service_send_message_async (RflService          *self,
                                RflIdentity          identity,
                                gint64               conversation_id,
                                const char          *text,
                                const char          *model,
                                RflTurnProgressFunc  progress_func,
                                gpointer             progress_data,
                                GDestroyNotify       progress_destroy,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (RFL_IS_SERVICE (self));

  start_turn (self, FALSE, identity, conversation_id, text != NULL ? text : "",
              model, progress_func, progress_data, progress_destroy,
              cancellable, callback, user_data);
}

void
_rfl_service_send_admitted_async (RflService          *self,
                                  RflIdentity          identity,
                                  gint64               conversation_id,
                                  const char          *text,
                                  const char          *model,
                                  RflTurnProgressFunc  progress_func,
                                  gpointer             progress_data,
                                  GDestroyNotify       progress_destroy,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (RFL_IS_SERVICE (self));

  start_turn (self, TRUE, identity, conversation_id, text != NULL ? text : "",
              model, progress_func, progress_data, progress_destroy,
              cancellable, callback, user_data);
}

RflQuotaManager *
rfl_service_dup_quota (RflService *self)
{
  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);

  return g_object_ref (self->core->quota);
}

void
rfl_service_regenerate_async (RflService          *self,
                              RflIdentity          identity,
                              gint64               conversation_id,
                              const char          *model,
                              RflTurnProgressFunc  progress_func,
                              gpointer             progress_data,
                              GDestroyNotify       progress_destroy,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (RFL_IS_SERVICE (self));

  start_turn (self, FALSE, identity, conversation_id, NULL, model, progress_func,
              progress_data, progress_destroy, cancellable, callback,
              user_data);
}

RflTurn *
rfl_service_send_message_finish (RflService    *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return propagate_pointer (self, result, rfl_service_send_message_async,
                            error);
}

void
rfl_service_greeting_async (RflService          *self,
                            RflIdentity          identity,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, 0, NULL, cancellable, callback,
                           user_data, rfl_service_greeting_async);
  dispatch (self, task, _rfl_service_greeting);
}

char *
rfl_service_greeting_finish (RflService    *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return propagate_pointer (self, result, rfl_service_greeting_async, error);
}

/* Memories ------------------------------------------------------------- */

static void
list_memories_func (RflServiceCore *core,
                    GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  GPtrArray *memories = NULL;
  GError *error = NULL;

  if (_rfl_service_check_identity (core, request->identity, NULL, &error))
    memories = rfl_memory_store_list (core->memories,
                                      request->identity.tenant_id,
                                      request->identity.user_id, TRUE,
                                      RFL_MEMORY_KIND_FACT, 0, 1000, &error);

  return_array (task, memories, error);
}

void
rfl_service_list_memories_async (RflService          *self,
                                 RflIdentity          identity,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, 0, NULL, cancellable, callback,
                           user_data, rfl_service_list_memories_async);
  dispatch (self, task, list_memories_func);
}

GPtrArray *
rfl_service_list_memories_finish (RflService    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return propagate_pointer (self, result, rfl_service_list_memories_async,
                            error);
}

static void
update_memory_func (RflServiceCore *core,
                    GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  g_autoptr(RflMemory) memory = NULL;
  GError *error = NULL;

  if (!_rfl_service_check_identity (core, request->identity, NULL, &error)
      || (memory = get_memory (core, request->identity, request->id,
                               &error)) == NULL)
    {
      return_boolean (task, error);
      return;
    }

  if (request->importance >= 0)
    {
      if (!isfinite (request->importance) || request->importance > 1)
        {
          return_boolean (task,
                          g_error_new_literal (RFL_ERROR,
                                               RFL_ERROR_INVALID_INPUT,
                                               _("The importance must be "
                                                 "between 0 and 1")));
          return;
        }
      memory->importance = request->importance;
    }

  if (request->text != NULL)
    {
      g_free (memory->key);
      memory->key = g_strdup (request->text);
    }
  if (request->value != NULL)
    {
      g_free (memory->value);
      memory->value = g_strdup (request->value);
    }

  if (rfl_memory_store_edit (core->memories, request->identity.tenant_id,
                             memory, NULL, 0, &error))
    _rfl_service_queue_reembed (core);

  return_boolean (task, error);
}

void
rfl_service_update_memory_async (RflService          *self,
                                 RflIdentity          identity,
                                 gint64               memory_id,
                                 const char          *key,
                                 const char          *value,
                                 double               importance,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, memory_id, key, cancellable,
                           callback, user_data,
                           rfl_service_update_memory_async);
  request = g_task_get_task_data (task);
  request->value = g_strdup (value);
  request->importance = isnan (importance) ? 2 : importance;
  dispatch (self, task, update_memory_func);
}

static void
delete_memory_func (RflServiceCore *core,
                    GTask          *task)
{
  Request *request = g_task_get_task_data (task);
  g_autoptr(RflMemory) memory = NULL;
  GError *error = NULL;

  if (_rfl_service_check_identity (core, request->identity, NULL, &error)
      && (memory = get_memory (core, request->identity, request->id,
                               &error)) != NULL)
    rfl_memory_store_delete (core->memories, request->identity.tenant_id,
                             request->id, &error);

  return_boolean (task, error);
}

void
rfl_service_delete_memory_async (RflService          *self,
                                 RflIdentity          identity,
                                 gint64               memory_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_request_task (self, identity, memory_id, NULL, cancellable,
                           callback, user_data,
                           rfl_service_delete_memory_async);
  dispatch (self, task, delete_memory_func);
}

gboolean
rfl_service_memory_change_finish (RflService    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  return propagate_boolean (self, result, error);
}

/* Models and flushing ---------------------------------------------------- */

static void
list_models_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GPtrArray *models;

  models = rfl_llm_client_list_models_finish (RFL_LLM_CLIENT (source), result,
                                              &error);
  if (models == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, models, (GDestroyNotify) g_ptr_array_unref);
}

void
rfl_service_list_models_async (RflService          *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(RflProviderSnapshot) provider = NULL;
  g_autoptr(RflLlmClient) client = NULL;
  GError *error = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_task (self, cancellable, callback, user_data,
                   rfl_service_list_models_async);

  /* Nothing of the database is needed: the call goes from here to a
   * worker of the client. */
  provider = dup_provider_locked (self->core);
  if (provider == NULL)
    {
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               "%s", _("No language model provider is "
                                       "configured"));
      return;
    }

  client = _rfl_service_new_client (provider, &error);
  if (client == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  rfl_llm_client_list_models_async (client, cancellable, list_models_cb,
                                    g_steal_pointer (&task));
}

GPtrArray *
rfl_service_list_models_finish (RflService    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return propagate_pointer (self, result, rfl_service_list_models_async, error);
}

static void
flush_func (RflServiceCore *core,
            GTask          *task)
{
  FlushWaiter *waiter;

  if (core->jobs_done >= core->jobs_queued)
    {
      return_boolean (task, NULL);
      return;
    }

  waiter = g_new0 (FlushWaiter, 1);
  waiter->task = g_object_ref (task);
  waiter->target = core->jobs_queued;
  core->flush_waiters = g_list_append (core->flush_waiters, waiter);
}

void
rfl_service_flush_async (RflService          *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = new_task (self, cancellable, callback, user_data,
                   rfl_service_flush_async);
  dispatch (self, task, flush_func);
}

gboolean
rfl_service_flush_finish (RflService    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  return propagate_boolean (self, result, error);
}

RflServiceCore *
_rfl_service_get_core (RflService *self)
{
  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);

  return self->core;
}
