/* rfl-chat-store.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "rfl-database.h"
#include "rfl-vector-store.h"

G_BEGIN_DECLS

/* Conversations, their messages, token usage and tool permissions.
 *
 * Every function takes the tenant and only ever sees that tenant's rows: a
 * conversation of another tenant is "not found". Times are Unix time in
 * milliseconds. The store belongs to the thread of its database. */

/* In the order of RflChatRole (src/llm/rfl-chat-types.h). */
typedef enum
{
  RFL_MESSAGE_ROLE_SYSTEM,
  RFL_MESSAGE_ROLE_USER,
  RFL_MESSAGE_ROLE_ASSISTANT,
  RFL_MESSAGE_ROLE_TOOL,
} RflMessageRole;

typedef enum
{
  RFL_MESSAGE_STATUS_COMPLETE,
  RFL_MESSAGE_STATUS_STREAMING,    /* an answer still arriving */
  RFL_MESSAGE_STATUS_INTERRUPTED,  /* cut off: crash, cancel; content kept */
  RFL_MESSAGE_STATUS_ERROR,        /* the provider failed; see error */
} RflMessageStatus;

/* "system", "user", "assistant", "tool". */
const char *rfl_message_role_to_string     (RflMessageRole     role);
gboolean    rfl_message_role_from_string   (const char        *str,
                                            RflMessageRole    *out);
/* "complete", "streaming", "interrupted", "error". */
const char *rfl_message_status_to_string   (RflMessageStatus   status);
gboolean    rfl_message_status_from_string (const char        *str,
                                            RflMessageStatus  *out);

/* Records ------------------------------------------------------------- */

typedef struct
{
  gint64  id;
  gint64  tenant_id;
  gint64  user_id;
  char   *title;        /* "" when it has none */
  gint64  created_at;
  gint64  updated_at;   /* the last message, rename or restore */
  gint64  deleted_at;   /* 0 unless deleted (and not yet purged) */
  guint   n_messages;
  char   *preview;      /* the first 200 characters of the last message */
} RflConversation;

typedef struct
{
  gint64            id;
  gint64            tenant_id;
  gint64            conversation_id;
  RflMessageRole    role;
  RflMessageStatus  status;
  char             *content;
  char             *model;        /* NULL unless a model wrote it */
  guint             tokens_in;
  guint             tokens_out;
  char             *metadata;     /* a JSON object (tool calls…), or NULL */
  char             *error;        /* why it failed, or NULL */
  gint64            created_at;
  gint64            updated_at;
} RflMessage;

/* One row of usage to record. Strings are borrowed. */
typedef struct
{
  gint64      user_id;            /* 0: no user (an API key, a job) */
  gint64      conversation_id;    /* 0: none */
  const char *model;
  const char *provider;
  guint       tokens_in;
  guint       tokens_out;
  guint       latency_ms;
  gint64      created_at;         /* 0: now */
  gint64      api_key_id;         /* 0: not made with an API key */
  gboolean    priced;             /* FALSE: no price known for the model */
  guint64     cost_micro_usd;     /* when priced */
} RflUsageRecord;

/* Usage summed per day (UTC), provider and model. */
typedef struct
{
  char    *day;                   /* "2026-01-31" */
  char    *provider;
  char    *model;
  guint64  n_calls;
  guint64  tokens_in;
  guint64  tokens_out;
  guint64  latency_ms;            /* the sum; divide by n_calls */
  guint64  cost_micro_usd;        /* of the priced calls */
  guint64  n_unpriced;            /* calls without a price */
} RflUsageSum;

/* What usage is broken down by. */
typedef enum
{
  RFL_USAGE_BY_DAY,
  RFL_USAGE_BY_MODEL,
  RFL_USAGE_BY_USER,
  RFL_USAGE_BY_KEY,
} RflUsageGroup;

/* Usage summed per group: @label is the day ("2026-01-31"), the model,
 * the user's email or the API key's name; @id the user's or key's id (0
 * for calls without one, whose @label is ""); @detail the provider of a
 * model or the first characters of a key ("rfl_AbCd"), else NULL. */
typedef struct
{
  char    *label;
  gint64   id;
  char    *detail;
  guint64  n_calls;
  guint64  tokens_in;
  guint64  tokens_out;
  guint64  latency_ms;            /* the sum; divide by n_calls */
  guint64  cost_micro_usd;        /* of the priced calls */
  guint64  n_unpriced;            /* calls without a price */
} RflUsageBreakdown;

void               rfl_usage_breakdown_free     (RflUsageBreakdown       *self);
gboolean           rfl_usage_group_from_string  (const char              *str,
                                                 RflUsageGroup           *out);
const char        *rfl_usage_group_to_string    (RflUsageGroup            group);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflUsageBreakdown, rfl_usage_breakdown_free)

typedef struct
{
  char     *tool;
  gboolean  enabled;
  gboolean  is_default;           /* no choice of the tenant's: the default */
} RflToolPermission;

#define RFL_TYPE_CONVERSATION    (rfl_conversation_get_type ())
#define RFL_TYPE_MESSAGE         (rfl_message_get_type ())
#define RFL_TYPE_USAGE_SUM       (rfl_usage_sum_get_type ())
#define RFL_TYPE_TOOL_PERMISSION (rfl_tool_permission_get_type ())

GType              rfl_conversation_get_type    (void) G_GNUC_CONST;
RflConversation   *rfl_conversation_copy        (const RflConversation   *self);
void               rfl_conversation_free        (RflConversation         *self);

GType              rfl_message_get_type         (void) G_GNUC_CONST;
/* A message to append: @content is copied; other fields start empty. */
RflMessage        *rfl_message_new              (RflMessageRole           role,
                                                 const char              *content);
RflMessage        *rfl_message_copy             (const RflMessage        *self);
void               rfl_message_free             (RflMessage              *self);

GType              rfl_usage_sum_get_type       (void) G_GNUC_CONST;
RflUsageSum       *rfl_usage_sum_copy           (const RflUsageSum       *self);
void               rfl_usage_sum_free           (RflUsageSum             *self);

GType              rfl_tool_permission_get_type (void) G_GNUC_CONST;
RflToolPermission *rfl_tool_permission_copy     (const RflToolPermission *self);
void               rfl_tool_permission_free     (RflToolPermission       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflConversation, rfl_conversation_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflMessage, rfl_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflUsageSum, rfl_usage_sum_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflToolPermission, rfl_tool_permission_free)

/* The store ----------------------------------------------------------- */

#define RFL_TYPE_CHAT_STORE (rfl_chat_store_get_type ())
G_DECLARE_FINAL_TYPE (RflChatStore, rfl_chat_store, RFL, CHAT_STORE, GObject)

/* Limits of what is accepted (RFL_ERROR_INVALID_INPUT beyond). */
#define RFL_CHAT_STORE_MAX_TITLE          200      /* characters */
#define RFL_CHAT_STORE_MAX_CONTENT_BYTES  (4 * 1024 * 1024)
#define RFL_CHAT_STORE_MAX_MODEL          200      /* characters */
#define RFL_CHAT_STORE_MAX_BATCH          10000    /* messages per call */
/* How long a deleted conversation stays restorable by default: what the
 * caller passes to rfl_chat_store_purge_expired() as now − retention. */
#define RFL_CHAT_STORE_DEFAULT_RETENTION_MS (30 * G_GINT64_CONSTANT (86400000))

/* @vectors (may be NULL) must use the same database; with it, user and
 * assistant messages get vectors as they complete (see RflVectorStore). */
RflChatStore   *rfl_chat_store_new                    (RflDatabase      *db,
                                                       RflVectorStore   *vectors);
RflDatabase    *rfl_chat_store_get_database           (RflChatStore     *self);

/* Run once at start, before any answer streams: every message still
 * 'streaming' was cut off by the end of the last run, and becomes
 * 'interrupted' with the content it had. Installation-wide (the one
 * function without a tenant: it returns no rows). */
gboolean        rfl_chat_store_recover_interrupted    (RflChatStore     *self,
                                                       guint            *n_recovered,
                                                       GError          **error);

/* Conversations ------------------------------------------------------- */

typedef enum
{
  RFL_CONVERSATION_LIST_ACTIVE,    /* not deleted */
  RFL_CONVERSATION_LIST_DELETED,   /* deleted, still restorable */
} RflConversationList;

/* @title may be NULL or "" (no title yet). The user must belong to the
 * tenant (RFL_ERROR_NOT_FOUND). */
gint64           rfl_chat_store_create_conversation   (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            user_id,
                                                       const char       *title,
                                                       GError          **error);
/* Deleted ones too (see deleted_at); RFL_ERROR_NOT_FOUND otherwise. */
RflConversation *rfl_chat_store_get_conversation      (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       GError          **error);
/* The user's conversations, most recently updated first. @search (may be
 * NULL) keeps those whose title or any message holds all its words (the
 * last may be the start of a word), ignoring case and accents. Returns a
 * GPtrArray of RflConversation. */
GPtrArray       *rfl_chat_store_list_conversations    (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            user_id,
                                                       const char       *search,
                                                       RflConversationList which,
                                                       guint             offset,
                                                       guint             limit,
                                                       GError          **error);
gboolean         rfl_chat_store_rename_conversation   (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       const char       *title,
                                                       GError          **error);
/* Soft delete: sets deleted_at; the conversation leaves lists and
 * searches and can be restored until it is purged. Deleting a deleted
 * conversation changes nothing. */
gboolean         rfl_chat_store_delete_conversation   (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       GError          **error);
gboolean         rfl_chat_store_restore_conversation  (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       GError          **error);
/* Deletes the conversation for good, deleted or not, with its messages,
 * their vectors and full-text entries. Memories keep their content (their
 * source becomes unknown); usage rows stay (their conversation becomes
 * unknown). */
gboolean         rfl_chat_store_purge_conversation    (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       GError          **error);
/* Purges the conversations of @tenant_id deleted before @deleted_before. */
gboolean         rfl_chat_store_purge_expired         (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            deleted_before,
                                                       guint            *n_purged,
                                                       GError          **error);

/* Messages ------------------------------------------------------------ */

/* Appends @message (its id, tenant, conversation and times are ignored,
 * except created_at when not 0) to a conversation that is not deleted, and
 * makes it the conversation's latest activity. Returns the new id, or 0
 * with @error set. A 'streaming' message is better begun with
 * rfl_chat_store_begin_stream(). */
gint64           rfl_chat_store_append_message        (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       const RflMessage *message,
                                                       GError          **error);
/* Appends @n messages in one transaction (all or none); @out_ids (may be
 * NULL) receives their ids. */
gboolean         rfl_chat_store_append_messages       (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       RflMessage * const *messages,
                                                       guint             n,
                                                       gint64           *out_ids,
                                                       GError          **error);
RflMessage      *rfl_chat_store_get_message           (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            message_id,
                                                       GError          **error);
/* A page of a conversation, in order: the @limit messages just before
 * @before_id (0: the latest). Pass the first id of a page to get the page
 * before it. Returns a GPtrArray of RflMessage. */
GPtrArray       *rfl_chat_store_list_messages         (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       gint64            before_id,
                                                       guint             limit,
                                                       GError          **error);
/* Appends @delta to the content of a 'streaming' message, in its own small
 * transaction unless one is open (RFL_ERROR_NOT_FOUND when the message is
 * not streaming). */
gboolean         rfl_chat_store_append_delta          (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            message_id,
                                                       const char       *delta,
                                                       GError          **error);
/* Ends a 'streaming' message with @status (complete, interrupted or
 * error), its token counts and, for an error, @error_message. */
gboolean         rfl_chat_store_finish_message        (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            message_id,
                                                       RflMessageStatus  status,
                                                       guint             tokens_in,
                                                       guint             tokens_out,
                                                       const char       *error_message,
                                                       GError          **error);

/* Streaming answers --------------------------------------------------- */

/* Writes an answer as it arrives so that a crash loses at most the last
 * moment of it: the row exists from the start with status 'streaming',
 * and what arrives is appended to it in small transactions whenever
 * @interval_ms have passed since the last flush or @max_pending_bytes wait
 * (checked as deltas arrive; call rfl_chat_stream_flush() from a timer to
 * bound the delay when deltas stop). Freeing an unfinished stream marks
 * the answer interrupted. */
typedef struct _RflChatStream RflChatStream;

#define RFL_CHAT_STREAM_DEFAULT_INTERVAL_MS   200
#define RFL_CHAT_STREAM_DEFAULT_PENDING_BYTES 512

/* An assistant message written by @model (may be NULL). */
RflChatStream   *rfl_chat_store_begin_stream          (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            conversation_id,
                                                       const char       *model,
                                                       GError          **error);
gint64           rfl_chat_stream_get_message_id       (RflChatStream    *stream);
/* Everything appended so far, flushed or not. */
const char      *rfl_chat_stream_get_content          (RflChatStream    *stream);
void             rfl_chat_stream_set_flush_policy     (RflChatStream    *stream,
                                                       guint             interval_ms,
                                                       gsize             max_pending_bytes);
/* @delta must be valid UTF-8. */
gboolean         rfl_chat_stream_append               (RflChatStream    *stream,
                                                       const char       *delta,
                                                       GError          **error);
gboolean         rfl_chat_stream_flush                (RflChatStream    *stream,
                                                       GError          **error);
gboolean         rfl_chat_stream_finish               (RflChatStream    *stream,
                                                       guint             tokens_in,
                                                       guint             tokens_out,
                                                       GError          **error);
/* Keeps what arrived, as 'interrupted' (the user stopped it). */
gboolean         rfl_chat_stream_interrupt            (RflChatStream    *stream,
                                                       GError          **error);
/* Keeps what arrived, as 'error' with @error_message. */
gboolean         rfl_chat_stream_fail                 (RflChatStream    *stream,
                                                       const char       *error_message,
                                                       GError          **error);
void             rfl_chat_stream_free                 (RflChatStream    *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflChatStream, rfl_chat_stream_free)

/* Usage --------------------------------------------------------------- */

/* Records the token usage of one call. A user or conversation, when given,
 * must belong to the tenant (RFL_ERROR_NOT_FOUND). */
gboolean         rfl_chat_store_record_usage          (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       const RflUsageRecord *record,
                                                       GError          **error);
/* Sums of the calls in [@since, @until), of @user_id only unless it is 0,
 * per day, provider and model, in that order. Returns a GPtrArray of
 * RflUsageSum. */
GPtrArray       *rfl_chat_store_sum_usage             (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       gint64            user_id,
                                                       gint64            since,
                                                       gint64            until,
                                                       GError          **error);

/* Sums of the tenant's calls in [@since, @until) per @group: days in
 * order, the others most tokens first. Returns a GPtrArray of
 * RflUsageBreakdown. */
GPtrArray       *rfl_chat_store_usage_breakdown       (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       RflUsageGroup     group,
                                                       gint64            since,
                                                       gint64            until,
                                                       GError          **error);

/* Tool permissions ---------------------------------------------------- */

/* The tools known to Reflection and whether a tenant may use them until
 * it decides otherwise: calculator, current_time, memory_search and
 * memory_save are on; web_fetch and web_search are off. Any other tool is
 * off until the tenant turns it on. Tool names are 1–64 characters of
 * a–z, 0–9, '_', '.' and '-', starting with a letter. */
const char * const *rfl_chat_store_get_known_tools    (void);
gboolean         rfl_chat_store_get_tool_default      (const char       *tool);

gboolean         rfl_chat_store_set_tool_enabled      (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       const char       *tool,
                                                       gboolean          enabled,
                                                       GError          **error);
/* Forgets the tenant's choice: the default applies again. */
gboolean         rfl_chat_store_reset_tool            (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       const char       *tool,
                                                       GError          **error);
gboolean         rfl_chat_store_get_tool_enabled      (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       const char       *tool,
                                                       gboolean         *out_enabled,
                                                       GError          **error);
/* Every known tool, then every other tool the tenant chose, by name.
 * Returns a GPtrArray of RflToolPermission. */
GPtrArray       *rfl_chat_store_list_tool_permissions (RflChatStore     *self,
                                                       gint64            tenant_id,
                                                       GError          **error);

G_END_DECLS
