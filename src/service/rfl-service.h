/* rfl-service.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "core/rfl-quota.h"
#include "llm/rfl-provider.h"
#include "store/rfl-chat-store.h"
#include "store/rfl-memory-store.h"

G_BEGIN_DECLS

/* The service thread (DESIGN.md): it owns its own GMainContext, the SQLite
 * writer connection, the chat, memory and vector stores and the background
 * jobs (memory extraction, re-embedding). Every call below is an
 * _async/_finish pair callable from any thread; the callback and any
 * progress run on the caller's thread-default main context. No call blocks
 * the caller on SQLite or the network. */

#define RFL_TYPE_SERVICE (rfl_service_get_type ())
G_DECLARE_FINAL_TYPE (RflService, rfl_service, RFL, SERVICE, GObject)

/* Who is asking: every call is scoped to one tenant and one user, and
 * made with an API key of the tenant or not (0), which usage records. */
typedef struct
{
  gint64 tenant_id;
  gint64 user_id;
  gint64 api_key_id;
} RflIdentity;

/* Which language model answers. @api_key is never written anywhere by the
 * service; @embedding_model NULL means the built-in hashing embedder. */
typedef struct
{
  RflProviderKind kind;
  const char     *url;
  const char     *api_key;
  const char     *model;
  const char     *embedding_model;
} RflProviderConfig;

/* Starts the thread, opens (creating and migrating) the database at
 * @database_path, marks answers cut off by a crash as interrupted and loads
 * the vector indexes; then the service is ready. */
void         rfl_service_new_async      (const char           *database_path,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
RflService  *rfl_service_new_finish     (GAsyncResult         *result,
                                         GError              **error);
/* The same, blocking: for `reflection serve` and tests. */
RflService  *rfl_service_new_sync       (const char           *database_path,
                                         GError              **error);

/* Stops the thread after in-flight work: answers still streaming are
 * cancelled and kept as interrupted. Also done by dispose. */
void         rfl_service_shutdown       (RflService           *self);

const char  *rfl_service_get_database_path (RflService        *self);

/* The tenants' quotas, shared by the desktop chat and the HTTP API: the
 * limits come from tenant_quotas and the usage of the current UTC day and
 * month from the usage table. Thread-safe. */
RflQuotaManager *rfl_service_dup_quota   (RflService           *self);

/* Copied; takes effect for the next turn. */
void         rfl_service_set_provider   (RflService              *self,
                                         const RflProviderConfig *config);

/* ---- Identities (the tenant and user switcher) ---- */

typedef struct
{
  gint64  tenant_id;
  char   *tenant_name;
  gint64  user_id;
  char   *email;
  char   *display_name;
  char   *role;          /* "system_admin", "tenant_admin", "member" */
} RflIdentityInfo;

void         rfl_identity_info_free     (RflIdentityInfo      *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflIdentityInfo, rfl_identity_info_free)

/* Every active user of every active tenant, ordered by tenant then name. */
void         rfl_service_list_identities_async  (RflService          *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GPtrArray   *rfl_service_list_identities_finish (RflService          *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* ---- Conversations ---- */

/* A GPtrArray of RflConversation*, newest first; @search matches titles and
 * message text (FTS), NULL or "" for all. */
void         rfl_service_list_conversations_async  (RflService          *self,
                                                    RflIdentity          identity,
                                                    const char          *search,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
GPtrArray   *rfl_service_list_conversations_finish (RflService          *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

/* Returns the new conversation's id, 0 with @error set on failure. */
void         rfl_service_create_conversation_async  (RflService          *self,
                                                     RflIdentity          identity,
                                                     const char          *title,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gint64       rfl_service_create_conversation_finish (RflService          *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

typedef enum
{
  RFL_CONVERSATION_RENAME,
  RFL_CONVERSATION_DELETE,    /* soft: restorable until purged */
  RFL_CONVERSATION_RESTORE,
} RflConversationChange;

/* @title is used by RENAME only. */
void         rfl_service_change_conversation_async  (RflService            *self,
                                                     RflIdentity            identity,
                                                     gint64                 conversation_id,
                                                     RflConversationChange  change,
                                                     const char            *title,
                                                     GCancellable          *cancellable,
                                                     GAsyncReadyCallback    callback,
                                                     gpointer               user_data);
gboolean     rfl_service_change_conversation_finish (RflService            *self,
                                                     GAsyncResult          *result,
                                                     GError               **error);

/* A GPtrArray of RflMessage*, oldest first (system and tool messages left
 * out). */
void         rfl_service_list_messages_async  (RflService          *self,
                                               RflIdentity          identity,
                                               gint64               conversation_id,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
GPtrArray   *rfl_service_list_messages_finish (RflService          *self,
                                               GAsyncResult        *result,
                                               GError             **error);

/* ---- Turns ---- */

/* The answer so far, delivered on the caller's context as it streams,
 * coalesced: at most one pending. @text is the whole answer until now. */
typedef struct
{
  gint64      user_message_id;
  gint64      assistant_message_id;
  const char *text;
  gsize       text_len;
  const char *activity;   /* "Searching memories…" while a tool runs, else NULL */
} RflTurnProgress;

typedef void (*RflTurnProgressFunc) (const RflTurnProgress *progress,
                                     gpointer               user_data);

typedef struct
{
  gint64     user_message_id;
  gint64     assistant_message_id;
  char      *text;
  char      *model;
  GPtrArray *used_memories;   /* of RflMemory*: what the answer was given */
  guint      tokens_in;       /* summed over every call of the turn */
  guint      tokens_out;
  guint      latency_ms;
  guint      n_tool_calls;
} RflTurn;

void         rfl_turn_free              (RflTurn              *turn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflTurn, rfl_turn_free)

/* Stores @text as the user's message, answers it with the tenant's
 * assistant (system prompt, the user's relevant memories, recent messages,
 * the tools the tenant allows) and stores the answer as it streams. @model
 * NULL uses the configured one. Cancelling keeps the partial answer marked
 * interrupted and finishes with G_IO_ERROR_CANCELLED; a provider failure
 * keeps it marked as an error with the message. After a completed turn,
 * memories are extracted in the background. */
void         rfl_service_send_message_async  (RflService          *self,
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
RflTurn     *rfl_service_send_message_finish (RflService          *self,
                                              GAsyncResult        *result,
                                              GError             **error);

/* Answers the conversation's last user message again, replacing the last
 * answer (which is kept in history as superseded). Finish with
 * rfl_service_send_message_finish(). */
void         rfl_service_regenerate_async    (RflService          *self,
                                              RflIdentity          identity,
                                              gint64               conversation_id,
                                              const char          *model,
                                              RflTurnProgressFunc  progress_func,
                                              gpointer             progress_data,
                                              GDestroyNotify       progress_destroy,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);

/* The opening line of a new chat: picks up where the user's last
 * conversation left off, or welcomes a new user. */
void         rfl_service_greeting_async      (RflService          *self,
                                              RflIdentity          identity,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
char        *rfl_service_greeting_finish     (RflService          *self,
                                              GAsyncResult        *result,
                                              GError             **error);

/* ---- Memories ---- */

/* A GPtrArray of RflMemory*, most important first. */
void         rfl_service_list_memories_async  (RflService          *self,
                                               RflIdentity          identity,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
GPtrArray   *rfl_service_list_memories_finish (RflService          *self,
                                               GAsyncResult        *result,
                                               GError             **error);

/* @key/@value NULL keep the current ones; @importance < 0 keeps it. */
void         rfl_service_update_memory_async  (RflService          *self,
                                               RflIdentity          identity,
                                               gint64               memory_id,
                                               const char          *key,
                                               const char          *value,
                                               double               importance,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
void         rfl_service_delete_memory_async  (RflService          *self,
                                               RflIdentity          identity,
                                               gint64               memory_id,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
/* Finishes update and delete. */
gboolean     rfl_service_memory_change_finish (RflService          *self,
                                               GAsyncResult        *result,
                                               GError             **error);

/* ---- Models and background work ---- */

/* The configured provider's models: a GPtrArray of RflModelInfo*. */
void         rfl_service_list_models_async    (RflService          *self,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
GPtrArray   *rfl_service_list_models_finish   (RflService          *self,
                                               GAsyncResult        *result,
                                               GError             **error);

/* Completes when every background job queued so far (memory extraction,
 * re-embedding) has finished: for tests and an orderly shutdown. */
void         rfl_service_flush_async          (RflService          *self,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
gboolean     rfl_service_flush_finish         (RflService          *self,
                                               GAsyncResult        *result,
                                               GError             **error);

G_END_DECLS
