/* rfl-service-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "rfl-service.h"

#include "core/rfl-price-table.h"
#include "core/rfl-quota.h"
#include "llm/rfl-llm-client.h"
#include "rfl-assistant.h"
#include "store/rfl-vector-store.h"

G_BEGIN_DECLS

/* The most model calls of one turn, and the pause between flushes of a
 * streaming answer to the database. */
#define RFL_SERVICE_MAX_STEPS          6
#define RFL_SERVICE_FLUSH_INTERVAL_MS  200
#define RFL_SERVICE_FLUSH_BYTES        4096
/* Messages of a conversation given to the model as its history. */
#define RFL_SERVICE_HISTORY_MESSAGES   40

/* The provider configuration at one moment: what a call works with, so
 * that rfl_service_set_provider() affects only later calls. */
typedef struct
{
  RflProviderKind  kind;
  char            *url;
  char            *api_key;
  char            *model;
  char            *embedding_model;
} RflProviderSnapshot;

RflProviderSnapshot *_rfl_provider_snapshot_copy (const RflProviderSnapshot *snapshot);
void                 _rfl_provider_snapshot_free (RflProviderSnapshot       *snapshot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflProviderSnapshot, _rfl_provider_snapshot_free)

typedef struct _RflServiceCore RflServiceCore;

/* What runs on the service thread for a call: it owns nothing of @task
 * (take a reference to keep it) and ends it exactly once with
 * _rfl_service_return(). */
typedef void (*RflServiceFunc) (RflServiceCore *core,
                                GTask          *task);

/* Runs @func with @task on the service thread of @self; when the service
 * has stopped, @task fails at once. For calls defined in other files. */
void _rfl_service_dispatch (RflService     *self,
                            GTask          *task,
                            RflServiceFunc  func);

/* The background jobs, run one at a time in the order queued. */
typedef enum
{
  RFL_SERVICE_JOB_EXTRACT,     /* memories of a completed turn */
  RFL_SERVICE_JOB_EMBEDDER,    /* switch embedder, then re-embed */
  RFL_SERVICE_JOB_REEMBED,     /* embed what the embedder has not yet */
} RflServiceJobKind;

typedef struct
{
  RflServiceJobKind    kind;
  RflIdentity          identity;
  gint64               conversation_id;
  gint64               source_message_id;
  char                *user_text;
  char                *assistant_text;
  char                *model;
  RflProviderSnapshot *provider;       /* NULL: the hashing embedder */
} RflServiceJob;

void _rfl_service_job_free (RflServiceJob *job);

/* Shared by the RflService object (on any thread) and the service thread.
 * Fields marked "service thread" are touched only there. */
struct _RflServiceCore
{
  GMutex               lock;
  gboolean             accepting;         /* under lock */
  RflProviderSnapshot *provider;          /* under lock; NULL: none */
  char                *embedder_key;      /* under lock: last one asked;
                                           * NULL before the first */

  char                *database_path;     /* immutable */
  GMainContext        *context;           /* immutable: the thread's */
  GMainLoop           *loop;              /* immutable */
  RflQuotaManager     *quota;             /* immutable, thread-safe: the
                                           * tenants' quotas for the desktop
                                           * chat and HTTP alike */

  /* Service thread. */
  RflDatabase         *db;
  RflVectorStore      *vectors;
  RflChatStore        *chat;
  RflMemoryStore      *memories;
  RflPriceTable       *prices;            /* what calls cost */
  GCancellable        *cancellable;       /* cancelled when stopping */
  gboolean             stopping;
  guint                n_holds;           /* work that must end first */
  GQueue               jobs;              /* RflServiceJob*, waiting */
  gboolean             job_running;
  gboolean             reembed_queued;
  guint64              jobs_queued;
  guint64              jobs_done;
  GList               *flush_waiters;     /* FlushWaiter* */
};

/* The core of @self, for code that runs on the service thread. */
RflServiceCore *_rfl_service_get_core     (RflService     *self);
RflServiceCore *_rfl_service_core_ref     (RflServiceCore *core);
void            _rfl_service_core_unref   (RflServiceCore *core);

/* Ends @task on its own context. Takes @error, or @value with
 * @value_free. @before (may be NULL) runs on that context just before the
 * callback, with @before_data, which @before_free then frees. */
void            _rfl_service_return       (GTask          *task,
                                           gpointer        value,
                                           GDestroyNotify  value_free,
                                           GError         *error,
                                           GFunc           before,
                                           gpointer        before_data,
                                           GDestroyNotify  before_free);
void            _rfl_service_return_error (GTask          *task,
                                           GError         *error);

/* Work in flight that stopping must wait for. */
void            _rfl_service_hold         (RflServiceCore *core);
void            _rfl_service_release      (RflServiceCore *core);

/* What the service knows of a caller: the tenant and user exist and are
 * active; otherwise RFL_ERROR_NOT_FOUND. */
typedef struct
{
  char *tenant_name;
  char *use_case;
  char *role;
} RflIdentityCheck;

gboolean        _rfl_service_check_identity (RflServiceCore   *core,
                                             RflIdentity       identity,
                                             RflIdentityCheck *out,
                                             GError          **error);
void            _rfl_identity_check_clear   (RflIdentityCheck *check);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RflIdentityCheck, _rfl_identity_check_clear)

/* The identity a call on conversations or memories was made for. */
RflIdentity     _rfl_service_task_get_identity (GTask          *task);

/* The tenant's assistant, for a checked identity. */
RflAssistantProfile *_rfl_service_dup_profile (RflServiceCore         *core,
                                               RflIdentity             identity,
                                               const RflIdentityCheck *check);

/* The conversation of @identity's user; RFL_ERROR_NOT_FOUND for one of
 * another user or tenant. */
RflConversation *_rfl_service_get_conversation (RflServiceCore  *core,
                                                RflIdentity      identity,
                                                gint64           conversation_id,
                                                GError         **error);

/* A copy of the provider configuration, or NULL with
 * RFL_ERROR_INVALID_INPUT when none is set. */
RflProviderSnapshot *_rfl_service_dup_provider (RflServiceCore  *core,
                                                GError         **error);
RflLlmClient        *_rfl_service_new_client   (const RflProviderSnapshot *provider,
                                                GError                   **error);

/* The prices calls are metered at: the administrator's table kept in
 * the database (setting "prices"), else the one shipped. Service thread. */
gboolean        _rfl_service_load_prices  (RflServiceCore  *core,
                                           GError         **error);
/* Validates @json (see rfl_price_table_new_from_json()), keeps it and
 * meters the next calls with it. */
gboolean        _rfl_service_set_prices   (RflServiceCore  *core,
                                           const char      *json,
                                           GError         **error);

/* Records one call's usage, with its cost at the current prices (none
 * for a local Ollama model); failures are logged. */
void            _rfl_service_record_usage (RflServiceCore            *core,
                                           RflIdentity                identity,
                                           gint64                     conversation_id,
                                           const RflProviderSnapshot *provider,
                                           const char                *model,
                                           RflChatResult             *result,
                                           gint64                     started_us);

/* Tokens a turn is admitted with besides its text: the answer and the
 * history the model is given. */
#define RFL_SERVICE_TURN_TOKEN_ESTIMATE 4096

/* Records a request refused by @tenant_id's quota; failures are logged
 * (service thread). */
void            _rfl_service_record_rejection (RflServiceCore          *core,
                                               gint64                   tenant_id,
                                               gint64                   user_id,
                                               const RflQuotaRejection *rejection);
/* Loads the limits of @tenant_id (0: every tenant) from tenant_quotas into
 * the quota manager (service thread). */
gboolean        _rfl_service_load_quotas      (RflServiceCore  *core,
                                               gint64           tenant_id,
                                               GError         **error);

/* Queues a background job (service thread). */
void            _rfl_service_queue_job    (RflServiceCore *core,
                                           RflServiceJob  *job);
/* Queues a re-embedding when the embedder is remote and rows wait. */
void            _rfl_service_queue_reembed (RflServiceCore *core);
/* Ends the running job and starts the next (service thread). */
void            _rfl_service_job_done     (RflServiceCore *core);

/* The vector of @text for a search: with a remote embedder it is made on
 * a worker; with the local one (or when the provider fails) the result is
 * NULL and the store embeds or matches words itself. Never fails but for
 * cancellation. */
void            _rfl_service_embed_query_async  (RflServiceCore       *core,
                                                 const char           *text,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
float          *_rfl_service_embed_query_finish (GAsyncResult         *result,
                                                 guint                *n_dims,
                                                 GError              **error);

/* rfl-service-turn.c */
void            _rfl_service_send_message (RflServiceCore *core,
                                           GTask          *task);
void            _rfl_service_greeting     (RflServiceCore *core,
                                           GTask          *task);
void            _rfl_service_run_extract  (RflServiceCore *core,
                                           RflServiceJob  *job);

/* The input of a turn, kept as the task data. */
typedef struct _RflProgressRelay RflProgressRelay;

typedef struct
{
  RflIdentity       identity;
  gint64            conversation_id;
  char             *text;          /* NULL: regenerate */
  char             *model;
  RflProgressRelay *relay;         /* NULL without a progress func */
  gboolean          admitted;      /* the caller admitted it by the quota */
} RflTurnInput;

RflProgressRelay *_rfl_progress_relay_new   (RflTurnProgressFunc  func,
                                             gpointer             data,
                                             GDestroyNotify       destroy);
void              _rfl_turn_input_free      (RflTurnInput        *input);

/* rfl_service_send_message_async() for a turn the caller has already
 * admitted by the tenant's quota (the HTTP API); finish it with
 * rfl_service_send_message_finish(). */
void              _rfl_service_send_admitted_async (RflService          *self,
                                                    RflIdentity          identity,
                                                    gint64               conversation_id,
                                                    const char          *text,
                                                    const char          *model,
                                                    RflTurnProgressFunc  progress_func,
                                                    gpointer             progress_data,
                                                    GDestroyNotify       progress_destroy,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);

/* Assistant messages superseded by a regenerate, from the "supersedes"
 * lists in the metadata of @messages (RflMessage*). */
GHashTable       *_rfl_service_find_superseded (GPtrArray *messages);
/* Whether @messages[@index] is an assistant step that only called tools. */
gboolean          _rfl_service_is_tool_step    (GPtrArray *messages,
                                                guint      index);

G_END_DECLS
