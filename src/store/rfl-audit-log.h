/* rfl-audit-log.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "rfl-database.h"

G_BEGIN_DECLS

/* The audit log: an append-only record of every administrative action and
 * authentication event. Each entry holds the SHA-256 of the entry before it
 * and its own hash over that and its content, so that changing, removing or
 * reordering entries is found by rfl_audit_log_verify(). There is no API to
 * change or delete an entry, and the database refuses both (triggers).
 *
 * Times are Unix milliseconds. Use the object on the thread that opened
 * the database. */

/* Actions. Any name of lower-case letters, digits, "_" and "." works; these
 * are the ones Reflection writes. */
#define RFL_AUDIT_LOGIN               "login"
#define RFL_AUDIT_FAILED_LOGIN        "failed_login"
#define RFL_AUDIT_LOGOUT              "logout"
#define RFL_AUDIT_REFRESH_TOKEN_REUSED "refresh_token_reused"
#define RFL_AUDIT_SESSIONS_REVOKED    "sessions_revoked"
#define RFL_AUDIT_API_KEY_CREATED     "api_key_created"
#define RFL_AUDIT_API_KEY_REVOKED     "api_key_revoked"
#define RFL_AUDIT_QUOTA_CHANGED       "quota_changed"
#define RFL_AUDIT_TENANT_CREATED      "tenant_created"
#define RFL_AUDIT_TENANT_SUSPENDED    "tenant_suspended"
#define RFL_AUDIT_TENANT_RESUMED      "tenant_resumed"
#define RFL_AUDIT_TENANT_DELETED      "tenant_deleted"
#define RFL_AUDIT_USER_CREATED        "user_created"
#define RFL_AUDIT_USER_DISABLED       "user_disabled"
#define RFL_AUDIT_PRICES_CHANGED      "prices_changed"

/* Who did it: a user, an API key, or neither (NULL actor) for the
 * application itself and for anonymous events such as a failed login. */
typedef struct
{
  gint64 user_id;      /* 0 when not a user */
  gint64 api_key_id;   /* 0 when not an API key */
} RflAuditActor;

#define RFL_TYPE_AUDIT_ENTRY (rfl_audit_entry_get_type ())

typedef struct
{
  gint64  id;
  gint64  created_at;        /* Unix milliseconds */
  gint64  tenant_id;         /* 0 when the event concerns no tenant */
  gint64  actor_user_id;     /* 0 when none */
  gint64  actor_api_key_id;  /* 0 when none */
  char   *action;
  char   *target;            /* what was acted on, or NULL */
  char   *detail;            /* a JSON object as text, or NULL */
  char   *prev_hash;         /* hex SHA-256 of the entry before */
  char   *hash;              /* hex SHA-256 of this entry */
} RflAuditEntry;

GType          rfl_audit_entry_get_type (void) G_GNUC_CONST;
RflAuditEntry *rfl_audit_entry_copy     (const RflAuditEntry *entry);
void           rfl_audit_entry_free     (RflAuditEntry       *entry);

/* What to list or export. Zero fields and NULL match everything. */
typedef struct
{
  gint64      tenant_id;         /* 0: every tenant (system administrators) */
  const char *action;
  gint64      actor_user_id;
  gint64      actor_api_key_id;
  gint64      since;             /* Unix ms, inclusive */
  gint64      until;             /* Unix ms, exclusive */
  guint       offset;
  guint       limit;             /* list: 0 means 100, at most 1000;
                                  * export: 0 means every entry */
  const char *search;            /* NULL or "": any; else at most 200
                                  * characters found, ignoring ASCII case,
                                  * in the target or the acting user's
                                  * e-mail, or equal to the acting user's
                                  * or API key's id */
} RflAuditFilter;

/* The result of rfl_audit_log_verify(). */
typedef struct
{
  guint64  n_entries;   /* entries checked */
  gint64   broken_id;   /* the first entry that fails, 0 when intact */
  char    *problem;     /* translated, NULL when intact */
  gint64   last_id;     /* the last entry, 0 when the log is empty */
  char    *last_hash;   /* its hash: keep it elsewhere to notice entries
                         * removed from the end, which no chain can show */
} RflAuditVerifyResult;

void rfl_audit_verify_result_free (RflAuditVerifyResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAuditEntry, rfl_audit_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAuditVerifyResult, rfl_audit_verify_result_free)

#define RFL_TYPE_AUDIT_LOG (rfl_audit_log_get_type ())
G_DECLARE_FINAL_TYPE (RflAuditLog, rfl_audit_log, RFL, AUDIT_LOG, GObject)

RflAuditLog          *rfl_audit_log_new        (RflDatabase          *db);

/* Appends an entry in one transaction (a savepoint inside the caller's
 * transaction, so that the entry is written with the change it records, or
 * not at all). @tenant_id is 0 when the event concerns no tenant. @action
 * is 1–64 of [a-z0-9_.] starting with a letter; @target is at most 1024
 * characters; @detail is NULL or a JSON object. Bad input fails with
 * RFL_ERROR_INVALID_INPUT and writes nothing. Returns the entry's id, or 0
 * on failure. */
gint64                rfl_audit_log_append     (RflAuditLog          *self,
                                                gint64                tenant_id,
                                                const RflAuditActor  *actor,
                                                const char           *action,
                                                const char           *target,
                                                const char           *detail,
                                                GError              **error);

/* Entries matching @filter (NULL: every entry), newest first. */
GPtrArray            *rfl_audit_log_list       (RflAuditLog          *self,
                                                const RflAuditFilter *filter,
                                                GError              **error);

/* Writes the entries matching @filter, oldest first, as CSV (RFC 4180:
 * CRLF line ends, fields quoted when they hold a comma, a quote or a line
 * break, quotes doubled) with a header line: id, time (ISO 8601 UTC with
 * milliseconds), tenant_id, actor_user_id, actor_api_key_id, action,
 * target, detail, prev_hash, hash. Empty fields stand for none. */
gboolean              rfl_audit_log_export_csv (RflAuditLog          *self,
                                                const RflAuditFilter *filter,
                                                GOutputStream        *output,
                                                GCancellable         *cancellable,
                                                GError              **error);

/* The same, and the number of entries written in @out_n_entries. */
gboolean              rfl_audit_log_export_csv_full (RflAuditLog          *self,
                                                     const RflAuditFilter *filter,
                                                     GOutputStream        *output,
                                                     guint64              *out_n_entries,
                                                     GCancellable         *cancellable,
                                                     GError              **error);

/* Recomputes the chain from the first entry. NULL with an error only when
 * the log cannot be read; a broken chain is a result, not an error. */
RflAuditVerifyResult *rfl_audit_log_verify     (RflAuditLog          *self,
                                                GCancellable         *cancellable,
                                                GError              **error);

G_END_DECLS
