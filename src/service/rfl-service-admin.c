/* rfl-service-admin.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service-admin.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"
#include "core/rfl-password.h"
#include "core/rfl-use-case.h"
#include "rfl-service-private.h"
#include "store/rfl-database-private.h"
#include "store/rfl-store-private.h"

#define MAX_TENANT_NAME 80

void
rfl_admin_tenant_free (RflAdminTenant *tenant)
{
  if (tenant == NULL)
    return;

  g_free (tenant->name);
  g_free (tenant->use_case);
  g_free (tenant->status);
  g_free (tenant);
}

void
rfl_admin_user_free (RflAdminUser *user)
{
  if (user == NULL)
    return;

  g_free (user->email);
  g_free (user->display_name);
  g_free (user->status);
  g_free (user);
}

void
rfl_admin_rejections_free (RflAdminRejections *rejections)
{
  if (rejections == NULL)
    return;

  g_free (rejections->day);
  g_free (rejections->limit);
  g_free (rejections);
}

void
rfl_admin_result_free (RflAdminResult *result)
{
  if (result == NULL)
    return;

  g_clear_pointer (&result->items, g_ptr_array_unref);
  g_clear_pointer (&result->rejections, g_ptr_array_unref);
  if (result->secret != NULL)
    memset (result->secret, 0, strlen (result->secret));
  g_free (result->secret);
  g_free (result->text);
  g_free (result);
}

/* The call's input: a copy of the request owning its strings. */
typedef struct
{
  RflIdentity      identity;
  RflAdminRequest  request;
  char            *name;
  char            *use_case;
  char            *email;
  char            *password;
  char            *search;
  char            *path;
  char            *text;
} AdminInput;

static void
admin_input_free (AdminInput *input)
{
  g_free (input->name);
  g_free (input->use_case);
  g_free (input->email);
  if (input->password != NULL)
    memset (input->password, 0, strlen (input->password));
  g_free (input->password);
  g_free (input->search);
  g_free (input->path);
  g_free (input->text);
  g_free (input);
}

/* Who is calling, as far as administration is concerned. */
typedef struct
{
  RflServiceCore *core;
  RflIdentity     identity;
  RflAuditActor   actor;
  gboolean        system;
  RflAuditLog    *audit;
} Caller;

static const char *
text_column (sqlite3_stmt *stmt,
             int           column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  return text != NULL ? text : "";
}

static gboolean
audit (Caller      *caller,
       gint64       tenant_id,
       const char  *action,
       const char  *target,
       const char  *detail,
       GError     **error)
{
  return rfl_audit_log_append (caller->audit, tenant_id, &caller->actor,
                               action, target, detail, error) != 0;
}

/* Tenants ---------------------------------------------------------------- */

static const char tenants_sql[] =
  "SELECT t.id, t.name, t.use_case, t.status, t.created_at, "
  "       (SELECT count (*) FROM users u WHERE u.tenant_id = t.id) "
  "FROM tenants t WHERE ?1 = 0 OR t.id = ?1 "
  "ORDER BY t.name COLLATE NOCASE";

static GPtrArray *
list_tenants (Caller  *caller,
              GError **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) tenants = NULL;
  int rc;

  if (!(stmt = _rfl_database_prepare (caller->core->db, tenants_sql, error)))
    return NULL;

  sqlite3_bind_int64 (stmt, 1, caller->system ? 0 : caller->identity.tenant_id);
  tenants = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_admin_tenant_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflAdminTenant *tenant = g_new0 (RflAdminTenant, 1);

      tenant->id = sqlite3_column_int64 (stmt, 0);
      tenant->name = g_strdup (text_column (stmt, 1));
      tenant->use_case = g_strdup (text_column (stmt, 2));
      tenant->status = g_strdup (text_column (stmt, 3));
      tenant->created_at = sqlite3_column_int64 (stmt, 4);
      tenant->n_users = sqlite3_column_int (stmt, 5);
      g_ptr_array_add (tenants, tenant);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (caller->core->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&tenants);
}

/* The tenant's status, or NULL with RFL_ERROR_NOT_FOUND. */
static char *
dup_tenant_status (Caller  *caller,
                   gint64   tenant_id,
                   GError **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (caller->core->db,
                                "SELECT status FROM tenants WHERE id = ?", error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return g_strdup (text_column (stmt, 0));
  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (caller->core->db, rc, error);
      return NULL;
    }

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("This tenant does not exist"));
  return NULL;
}

static gint64
create_tenant (Caller                *caller,
               const RflAdminRequest *request,
               GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autofree char *detail = NULL;
  gint64 id;

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return 0;

  id = rfl_database_create_tenant (caller->core->db, request->name,
                                   request->use_case, error);
  if (id == 0)
    return 0;

  detail = g_strdup_printf ("{\"use_case\":\"%s\"}",
                            request->use_case != NULL ? request->use_case
                                                      : "custom");
  if (!audit (caller, id, RFL_AUDIT_TENANT_CREATED, request->name, detail,
              error)
      || !_rfl_store_txn_commit (&txn, error))
    return 0;

  return id;
}

static gboolean
update_tenant (Caller                *caller,
               const RflAdminRequest *request,
               GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *name = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *key = NULL;
  RflUseCase use_case;
  int rc;

  if (request->name != NULL)
    {
      name = g_strstrip (g_strdup (request->name));
      if (*name == '\0' || g_utf8_strlen (name, -1) > MAX_TENANT_NAME)
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("The tenant name must be 1 to %d characters long"),
                       MAX_TENANT_NAME);
          return FALSE;
        }
      normalized = g_utf8_normalize (name, -1, G_NORMALIZE_NFKC);
      key = g_utf8_casefold (normalized, -1);
    }

  if (request->use_case != NULL
      && !rfl_use_case_from_string (request->use_case, &use_case))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The use case “%s” is unknown: choose healthcare, "
                     "business, privacy or custom"), request->use_case);
      return FALSE;
    }

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return FALSE;

  stmt = _rfl_database_prepare (caller->core->db,
                                "UPDATE tenants SET "
                                "name = coalesce (?1, name), "
                                "name_key = coalesce (?2, name_key), "
                                "use_case = coalesce (?3, use_case), "
                                "updated_at = unixepoch () WHERE id = ?4",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, request->use_case, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, request->tenant_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_CONSTRAINT)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("A tenant named “%s” already exists"), name);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (caller->core->db, rc, error);

  return audit (caller, request->tenant_id, "tenant_updated", name, NULL, error)
         && _rfl_store_txn_commit (&txn, error);
}

static gboolean
set_tenant_status (Caller      *caller,
                   gint64       tenant_id,
                   const char  *status,
                   const char  *action,
                   GError     **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;

  if (tenant_id == caller->identity.tenant_id)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("You cannot suspend or delete the tenant you "
                             "are signed in to"));
      return FALSE;
    }

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return FALSE;

  stmt = _rfl_database_prepare (caller->core->db,
                                "UPDATE tenants SET status = ?, "
                                "updated_at = unixepoch () WHERE id = ?",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_text (stmt, 1, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, tenant_id);
  return _rfl_store_step_done (caller->core->db, stmt, error)
         && audit (caller, tenant_id, action, NULL, NULL, error)
         && _rfl_store_txn_commit (&txn, error);
}

/* Users ------------------------------------------------------------------ */

static GPtrArray *
list_users (Caller  *caller,
            gint64   tenant_id,
            GError **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) users = NULL;
  int rc;

  stmt = _rfl_database_prepare (caller->core->db,
                                "SELECT id, email, display_name, role, status, "
                                "created_at FROM users WHERE tenant_id = ? "
                                "ORDER BY display_name COLLATE NOCASE, email",
                                error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  users = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_admin_user_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflAdminUser *user = g_new0 (RflAdminUser, 1);

      user->id = sqlite3_column_int64 (stmt, 0);
      user->tenant_id = tenant_id;
      user->email = g_strdup (text_column (stmt, 1));
      user->display_name = g_strdup (text_column (stmt, 2));
      if (!rfl_role_from_string (text_column (stmt, 3), &user->role))
        user->role = RFL_ROLE_MEMBER;
      user->status = g_strdup (text_column (stmt, 4));
      user->created_at = sqlite3_column_int64 (stmt, 5);
      g_ptr_array_add (users, user);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (caller->core->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&users);
}

static gint64
create_user (Caller                *caller,
             const RflAdminRequest *request,
             GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autofree char *detail = NULL;
  gint64 id;

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return 0;

  id = rfl_database_create_user (caller->core->db, request->tenant_id,
                                 request->email, request->name,
                                 request->password, request->role, error);
  if (id == 0)
    return 0;

  detail = g_strdup_printf ("{\"user_id\":%" G_GINT64_FORMAT ",\"role\":\"%s\"}",
                            id, rfl_role_to_string (request->role));
  if (!audit (caller, request->tenant_id, RFL_AUDIT_USER_CREATED,
              request->email, detail, error)
      || !_rfl_store_txn_commit (&txn, error))
    return 0;

  return id;
}

/* Sets one column of a user of the tenant and audits it. */
static gboolean
update_user (Caller      *caller,
             gint64       tenant_id,
             gint64       user_id,
             const char  *sql,
             const char  *value,
             const char  *action,
             const char  *detail,
             GError     **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *target = NULL;

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return FALSE;

  if (!(stmt = _rfl_database_prepare (caller->core->db, sql, error)))
    return FALSE;

  sqlite3_bind_text (stmt, 1, value, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, tenant_id);
  if (!_rfl_store_step_done (caller->core->db, stmt, error))
    return FALSE;

  if (sqlite3_changes (_rfl_database_get_handle (caller->core->db)) == 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("This user does not exist"));
      return FALSE;
    }

  target = g_strdup_printf ("user:%" G_GINT64_FORMAT, user_id);
  return audit (caller, tenant_id, action, target, detail, error)
         && _rfl_store_txn_commit (&txn, error);
}

static gboolean
set_role (Caller                *caller,
          const RflAdminRequest *request,
          GError               **error)
{
  g_autofree char *detail = NULL;

  if (request->target_id == caller->identity.user_id)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("You cannot change your own role"));
      return FALSE;
    }

  detail = g_strdup_printf ("{\"role\":\"%s\"}",
                            rfl_role_to_string (request->role));
  return update_user (caller, request->tenant_id, request->target_id,
                      "UPDATE users SET role = ?1, updated_at = unixepoch () "
                      "WHERE id = ?2 AND tenant_id = ?3",
                      rfl_role_to_string (request->role),
                      "user_role_changed", detail, error);
}

static RflAuthStore *
new_auth_store (Caller *caller)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();

  /* Only API keys and sessions are handled here; the signing key is never
   * used. */
  return rfl_auth_store_new (caller->core->db, key);
}

/* Sets the password and signs the user out everywhere, in one transaction:
 * refresh tokens and access tokens of the old sessions stop working. */
static gboolean
reset_password (Caller                *caller,
                const RflAdminRequest *request,
                GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflAuthStore) auth = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *detail = NULL;
  GError *local_error = NULL;
  guint n_revoked;

  if (request->password == NULL || g_utf8_strlen (request->password, -1) < 8)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The password must be at least 8 characters "
                             "long"));
      return FALSE;
    }

  if (!(hash = rfl_password_hash (request->password, error)))
    return FALSE;

  /* The sessions go first, to say how many went; a user that does not
   * exist rolls it all back. */
  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return FALSE;

  auth = new_auth_store (caller);
  n_revoked = rfl_auth_store_revoke_user_sessions (auth, request->tenant_id,
                                                   request->target_id,
                                                   &caller->actor,
                                                   &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  detail = g_strdup_printf ("{\"sessions_revoked\":%u}", n_revoked);
  return update_user (caller, request->tenant_id, request->target_id,
                      "UPDATE users SET password_hash = ?1, "
                      "updated_at = unixepoch () "
                      "WHERE id = ?2 AND tenant_id = ?3",
                      hash, "user_password_reset", detail, error)
         && _rfl_store_txn_commit (&txn, error);
}

/* Quotas ----------------------------------------------------------------- */

static gint64
start_of_utc_ms (gboolean month)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) start = NULL;

  start = g_date_time_new_utc (g_date_time_get_year (now),
                               g_date_time_get_month (now),
                               month ? 1 : g_date_time_get_day_of_month (now),
                               0, 0, 0);
  return g_date_time_to_unix (start) * 1000;
}

static gboolean
sum_tokens_since (Caller   *caller,
                  gint64    tenant_id,
                  gint64    since,
                  guint64  *out,
                  GError  **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (caller->core->db,
                                "SELECT coalesce (sum (tokens_in + tokens_out), 0) "
                                "FROM usage WHERE tenant_id = ? "
                                "AND created_at >= ?", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, since);
  if ((rc = sqlite3_step (stmt)) != SQLITE_ROW)
    return _rfl_database_set_error (caller->core->db, rc, error);

  *out = (guint64) sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gboolean
get_quotas (Caller          *caller,
            gint64           tenant_id,
            RflAdminResult  *result,
            GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (caller->core->db,
                                "SELECT requests_per_minute, tokens_per_day, "
                                "tokens_per_month, max_concurrent "
                                "FROM tenant_quotas WHERE tenant_id = ?",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      result->limits.requests_per_minute = sqlite3_column_int64 (stmt, 0);
      result->limits.tokens_per_day = sqlite3_column_int64 (stmt, 1);
      result->limits.tokens_per_month = sqlite3_column_int64 (stmt, 2);
      result->limits.max_concurrent = sqlite3_column_int64 (stmt, 3);
    }
  else if (rc != SQLITE_DONE)
    return _rfl_database_set_error (caller->core->db, rc, error);

  return sum_tokens_since (caller, tenant_id, start_of_utc_ms (FALSE),
                           &result->day_used, error)
         && sum_tokens_since (caller, tenant_id, start_of_utc_ms (TRUE),
                              &result->month_used, error);
}

static gboolean
set_quotas (Caller                *caller,
            const RflAdminRequest *request,
            GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *detail = NULL;
  const RflQuotaLimits *limits = &request->limits;

  if (!rfl_quota_limits_validate (limits, error))
    return FALSE;

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return FALSE;

  stmt = _rfl_database_prepare (caller->core->db,
                                "INSERT OR REPLACE INTO tenant_quotas "
                                "(tenant_id, requests_per_minute, "
                                "tokens_per_day, tokens_per_month, "
                                "max_concurrent, updated_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, request->tenant_id);
  sqlite3_bind_int64 (stmt, 2, limits->requests_per_minute);
  sqlite3_bind_int64 (stmt, 3, (gint64) limits->tokens_per_day);
  sqlite3_bind_int64 (stmt, 4, (gint64) limits->tokens_per_month);
  sqlite3_bind_int64 (stmt, 5, limits->max_concurrent);
  sqlite3_bind_int64 (stmt, 6, _rfl_store_now_ms ());

  detail = g_strdup_printf ("{\"requests_per_minute\":%u,"
                            "\"tokens_per_day\":%" G_GUINT64_FORMAT ","
                            "\"tokens_per_month\":%" G_GUINT64_FORMAT ","
                            "\"max_concurrent\":%u}",
                            limits->requests_per_minute, limits->tokens_per_day,
                            limits->tokens_per_month, limits->max_concurrent);
  return _rfl_store_step_done (caller->core->db, stmt, error)
         && audit (caller, request->tenant_id, RFL_AUDIT_QUOTA_CHANGED, NULL,
                   detail, error)
         && _rfl_store_txn_commit (&txn, error);
}

/* Tools, keys and the rest ----------------------------------------------- */

static gboolean
set_tool (Caller                *caller,
          const RflAdminRequest *request,
          GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };

  if (!_rfl_store_txn_begin (&txn, caller->core->db, error))
    return FALSE;

  return rfl_chat_store_set_tool_enabled (caller->core->chat,
                                          request->tenant_id, request->name,
                                          request->enabled, error)
         && audit (caller, request->tenant_id,
                   request->enabled ? "tool_enabled" : "tool_disabled",
                   request->name, NULL, error)
         && _rfl_store_txn_commit (&txn, error);
}

static GPtrArray *
sum_rejections (Caller   *caller,
                gint64    tenant_id,
                gint64    since,
                gint64    until,
                GError  **error)
{
  g_autoptr(GPtrArray) sums = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (caller->core->db,
                                "SELECT strftime ('%Y-%m-%d', created_at / 1000, "
                                "'unixepoch') AS day, limit_name, count (*) "
                                "FROM quota_rejections WHERE tenant_id = ?1 "
                                "AND created_at >= ?2 AND created_at < ?3 "
                                "GROUP BY day, limit_name "
                                "ORDER BY day, limit_name", error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, until);

  sums = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_admin_rejections_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflAdminRejections *sum = g_new0 (RflAdminRejections, 1);

      sum->day = _rfl_store_dup_column_text (stmt, 0);
      sum->limit = _rfl_store_dup_column_text (stmt, 1);
      sum->count = (guint64) sqlite3_column_int64 (stmt, 2);
      g_ptr_array_add (sums, sum);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (caller->core->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&sums);
}

static void
audit_filter (Caller                *caller,
              const RflAdminRequest *request,
              RflAuditFilter        *filter)
{
  filter->tenant_id = caller->system ? request->tenant_id
                                     : caller->identity.tenant_id;
  filter->action = request->name;
  filter->since = request->since;
  filter->until = request->until;
  filter->search = request->search;
}

static GPtrArray *
list_audit (Caller                *caller,
            const RflAdminRequest *request,
            GError               **error)
{
  RflAuditFilter filter = { 0 };

  audit_filter (caller, request, &filter);
  filter.limit = 1000;
  return rfl_audit_log_list (caller->audit, &filter, error);
}

/* Writes the whole export to memory first, then replaces the file at
 * once: a failure leaves no half-written file behind. */
static gboolean
export_audit (Caller                *caller,
              const RflAdminRequest *request,
              RflAdminResult        *result,
              GError               **error)
{
  g_autoptr(GOutputStream) output = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *name = NULL;
  RflAuditFilter filter = { 0 };
  guint64 n_entries = 0;

  if (request->path == NULL || *request->path == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Choose a file to export the audit log to"));
      return FALSE;
    }

  audit_filter (caller, request, &filter);
  output = g_memory_output_stream_new_resizable ();
  if (!rfl_audit_log_export_csv_full (caller->audit, &filter, output,
                                      &n_entries, NULL, error)
      || !g_output_stream_close (output, NULL, error))
    return FALSE;

  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
  file = g_file_new_for_path (request->path);
  if (!g_file_replace_contents (file, g_bytes_get_data (bytes, NULL),
                                g_bytes_get_size (bytes), NULL, FALSE,
                                G_FILE_CREATE_PRIVATE, NULL, NULL,
                                &local_error))
    {
      name = g_file_get_parse_name (file);
      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   /* Translators: a file name, then why it failed */
                   _("The audit log cannot be saved to “%s”: %s"), name,
                   local_error->message);
      return FALSE;
    }

  result->n_entries = n_entries;
  return TRUE;
}

/* Roles and scope -------------------------------------------------------- */

static gboolean
op_needs_tenant (RflAdminOp op)
{
  return op != RFL_ADMIN_LIST_TENANTS && op != RFL_ADMIN_CREATE_TENANT
         && op != RFL_ADMIN_LIST_AUDIT && op != RFL_ADMIN_EXPORT_AUDIT
         && op != RFL_ADMIN_GET_PRICES && op != RFL_ADMIN_SET_PRICES;
}

static gboolean
op_is_system_only (RflAdminOp op)
{
  return op == RFL_ADMIN_CREATE_TENANT || op == RFL_ADMIN_UPDATE_TENANT
         || op == RFL_ADMIN_SUSPEND_TENANT || op == RFL_ADMIN_RESUME_TENANT
         || op == RFL_ADMIN_DELETE_TENANT;
}

/* Prices ------------------------------------------------------------------ */

/* The price table is the installation's: every administrator reads it,
 * only a system administrator changes it. */
static gboolean
set_prices (Caller                *caller,
            const RflAdminRequest *request,
            GError               **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflPriceTable) before = NULL;
  g_autofree char *detail = NULL;

  if (!caller->system)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                           _("Only system administrators can change the "
                             "prices of models"));
      return FALSE;
    }
  if (request->text == NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("No price table was given"));
      return FALSE;
    }

  before = rfl_price_table_ref (caller->core->prices);
  if (!_rfl_store_txn_begin (&txn, caller->core->db, error)
      || !_rfl_service_set_prices (caller->core, request->text, error))
    return FALSE;

  detail = g_strdup_printf ("{\"models_before\":%u,\"models\":%u}",
                            rfl_price_table_get_n_prices (before),
                            rfl_price_table_get_n_prices (caller->core->prices));
  if (!audit (caller, 0, RFL_AUDIT_PRICES_CHANGED, "prices", detail, error)
      || !_rfl_store_txn_commit (&txn, error))
    {
      /* The table in force goes with the database. */
      g_clear_pointer (&caller->core->prices, rfl_price_table_unref);
      caller->core->prices = g_steal_pointer (&before);
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_caller (Caller                *caller,
              const RflAdminRequest *request,
              const char            *role,
              GError               **error)
{
  g_autofree char *status = NULL;

  caller->system = g_strcmp0 (role, "system_admin") == 0;
  if (!caller->system && g_strcmp0 (role, "tenant_admin") != 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                           _("Only administrators can manage tenants"));
      return FALSE;
    }

  if (!caller->system && op_needs_tenant (request->op)
      && request->tenant_id != caller->identity.tenant_id)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("This tenant does not exist"));
      return FALSE;
    }

  if (!caller->system && op_is_system_only (request->op))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                           _("Only system administrators can create, change, "
                             "suspend or delete tenants"));
      return FALSE;
    }

  if (!caller->system && request->role == RFL_ROLE_SYSTEM_ADMIN
      && (request->op == RFL_ADMIN_CREATE_USER
          || request->op == RFL_ADMIN_SET_ROLE))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                           _("Only system administrators can make system "
                             "administrators"));
      return FALSE;
    }

  if (op_needs_tenant (request->op)
      && !(status = dup_tenant_status (caller, request->tenant_id, error)))
    return FALSE;

  return TRUE;
}

static gboolean
run_request (Caller                *caller,
             const RflAdminRequest *request,
             RflAdminResult        *result,
             GError               **error)
{
  g_autoptr(RflAuthStore) auth = NULL;
  gint64 tenant = request->tenant_id;
  gint64 until = request->until != 0 ? request->until : _rfl_store_now_ms () + 1;

  switch (request->op)
    {
    case RFL_ADMIN_LIST_TENANTS:
      return (result->items = list_tenants (caller, error)) != NULL;
    case RFL_ADMIN_CREATE_TENANT:
      return (result->id = create_tenant (caller, request, error)) != 0;
    case RFL_ADMIN_UPDATE_TENANT:
      return update_tenant (caller, request, error);
    case RFL_ADMIN_SUSPEND_TENANT:
      return set_tenant_status (caller, tenant, "suspended",
                                RFL_AUDIT_TENANT_SUSPENDED, error);
    case RFL_ADMIN_RESUME_TENANT:
      return set_tenant_status (caller, tenant, "active",
                                RFL_AUDIT_TENANT_RESUMED, error);
    case RFL_ADMIN_DELETE_TENANT:
      if (!set_tenant_status (caller, tenant, "deleted",
                              RFL_AUDIT_TENANT_DELETED, error))
        return FALSE;
      rfl_quota_manager_forget_tenant (caller->core->quota, tenant);
      return TRUE;
    case RFL_ADMIN_LIST_USERS:
      return (result->items = list_users (caller, tenant, error)) != NULL;
    case RFL_ADMIN_CREATE_USER:
      return (result->id = create_user (caller, request, error)) != 0;
    case RFL_ADMIN_SET_ROLE:
      return set_role (caller, request, error);
    case RFL_ADMIN_RESET_PASSWORD:
      return reset_password (caller, request, error);
    case RFL_ADMIN_LIST_API_KEYS:
      auth = new_auth_store (caller);
      return (result->items = rfl_auth_store_list_api_keys (auth, tenant,
                                                            error)) != NULL;
    case RFL_ADMIN_CREATE_API_KEY:
      {
        g_autoptr(RflApiKey) key = NULL;

        auth = new_auth_store (caller);
        result->secret = rfl_auth_store_create_api_key (auth, tenant,
                                                        request->name,
                                                        request->scopes,
                                                        &caller->actor, &key,
                                                        error);
        if (result->secret != NULL)
          result->id = key->id;
        return result->secret != NULL;
      }
    case RFL_ADMIN_REVOKE_API_KEY:
      auth = new_auth_store (caller);
      return rfl_auth_store_revoke_api_key (auth, tenant, request->target_id,
                                            &caller->actor, error);
    case RFL_ADMIN_GET_QUOTAS:
      return get_quotas (caller, tenant, result, error);
    case RFL_ADMIN_SET_QUOTAS:
      /* The next admission, from the desktop or HTTP, uses them. */
      return set_quotas (caller, request, error)
             && _rfl_service_load_quotas (caller->core, tenant, error);
    case RFL_ADMIN_LIST_TOOLS:
      return (result->items = rfl_chat_store_list_tool_permissions (
                caller->core->chat, tenant, error)) != NULL;
    case RFL_ADMIN_SET_TOOL:
      return set_tool (caller, request, error);
    case RFL_ADMIN_SUM_USAGE:
      return (result->items = rfl_chat_store_sum_usage (caller->core->chat,
                                                        tenant, 0,
                                                        request->since, until,
                                                        error)) != NULL
             && (result->rejections = sum_rejections (caller, tenant,
                                                      request->since, until,
                                                      error)) != NULL;
    case RFL_ADMIN_LIST_AUDIT:
      return (result->items = list_audit (caller, request, error)) != NULL;
    case RFL_ADMIN_EXPORT_AUDIT:
      return export_audit (caller, request, result, error);
    case RFL_ADMIN_USAGE_BREAKDOWN:
      return (result->items = rfl_chat_store_usage_breakdown (caller->core->chat,
                                                              tenant,
                                                              request->group,
                                                              request->since,
                                                              until,
                                                              error)) != NULL;
    case RFL_ADMIN_GET_PRICES:
      result->text = rfl_price_table_to_json (caller->core->prices);
      return TRUE;
    case RFL_ADMIN_SET_PRICES:
      if (!set_prices (caller, request, error))
        return FALSE;
      result->text = rfl_price_table_to_json (caller->core->prices);
      return TRUE;
    default:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("This administration request is unknown"));
      return FALSE;
    }
}

static void
admin_func (RflServiceCore *core,
            GTask          *task)
{
  AdminInput *input = g_task_get_task_data (task);
  g_auto(RflIdentityCheck) check = { 0 };
  g_autoptr(RflAdminResult) result = g_new0 (RflAdminResult, 1);
  g_autoptr(RflAuditLog) audit_log = rfl_audit_log_new (core->db);
  Caller caller = { 0 };
  GError *error = NULL;

  caller.core = core;
  caller.identity = input->identity;
  caller.actor.user_id = input->identity.user_id;
  caller.audit = audit_log;

  if (!_rfl_service_check_identity (core, input->identity, &check, &error)
      || !check_caller (&caller, &input->request, check.role, &error)
      || !run_request (&caller, &input->request, result, &error))
    {
      _rfl_service_return_error (task, error);
      return;
    }

  _rfl_service_return (task, g_steal_pointer (&result),
                       (GDestroyNotify) rfl_admin_result_free, NULL,
                       NULL, NULL, NULL);
}

void
rfl_service_admin_async (RflService            *self,
                         RflIdentity            identity,
                         const RflAdminRequest *request,
                         GCancellable          *cancellable,
                         GAsyncReadyCallback    callback,
                         gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  AdminInput *input;

  g_return_if_fail (RFL_IS_SERVICE (self));
  g_return_if_fail (request != NULL);

  input = g_new0 (AdminInput, 1);
  input->identity = identity;
  input->request = *request;
  input->request.name = input->name = g_strdup (request->name);
  input->request.use_case = input->use_case = g_strdup (request->use_case);
  input->request.email = input->email = g_strdup (request->email);
  input->request.password = input->password = g_strdup (request->password);
  input->request.search = input->search = g_strdup (request->search);
  input->request.path = input->path = g_strdup (request->path);
  input->request.text = input->text = g_strdup (request->text);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_service_admin_async);
  g_task_set_task_data (task, input, (GDestroyNotify) admin_input_free);
  _rfl_service_dispatch (self, task, admin_func);
}

RflAdminResult *
rfl_service_admin_finish (RflService    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
