/* rfl-service-admin.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "core/rfl-quota.h"
#include "rfl-service.h"
#include "store/rfl-audit-log.h"
#include "store/rfl-auth-store.h"
#include "store/rfl-chat-store.h"

G_BEGIN_DECLS

/* Administration on the service thread. Every call is made as a user
 * (RflIdentity): a system administrator may act on every tenant, a tenant
 * administrator only on their own (other tenants are RFL_ERROR_NOT_FOUND,
 * as if they did not exist), and a member is refused with
 * RFL_ERROR_UNAUTHORIZED. Every change is written to the audit log with
 * the user as actor, in the same transaction as the change. */

typedef enum
{
  RFL_ADMIN_LIST_TENANTS,    /* items: RflAdminTenant*, by name */
  RFL_ADMIN_CREATE_TENANT,   /* name, use_case; id (system admins only) */
  RFL_ADMIN_UPDATE_TENANT,   /* tenant_id, name, use_case (NULL keeps) */
  RFL_ADMIN_SUSPEND_TENANT,  /* tenant_id */
  RFL_ADMIN_RESUME_TENANT,   /* tenant_id */
  RFL_ADMIN_DELETE_TENANT,   /* tenant_id; its data is kept until purged */
  RFL_ADMIN_LIST_USERS,      /* tenant_id; items: RflAdminUser* */
  RFL_ADMIN_CREATE_USER,     /* tenant_id, email, name, password, role; id */
  RFL_ADMIN_SET_ROLE,        /* tenant_id, target_id, role */
  RFL_ADMIN_RESET_PASSWORD,  /* tenant_id, target_id, password */
  RFL_ADMIN_LIST_API_KEYS,   /* tenant_id; items: RflApiKey* */
  RFL_ADMIN_CREATE_API_KEY,  /* tenant_id, name, scopes; id, secret */
  RFL_ADMIN_REVOKE_API_KEY,  /* tenant_id, target_id */
  RFL_ADMIN_GET_QUOTAS,      /* tenant_id; limits, day_used, month_used */
  RFL_ADMIN_SET_QUOTAS,      /* tenant_id, limits */
  RFL_ADMIN_LIST_TOOLS,      /* tenant_id; items: RflToolPermission* */
  RFL_ADMIN_SET_TOOL,        /* tenant_id, name (the tool), enabled */
  RFL_ADMIN_SUM_USAGE,       /* tenant_id, since, until; items: RflUsageSum*,
                              * rejections: RflAdminRejections* */
  RFL_ADMIN_LIST_AUDIT,      /* tenant_id (0: all, system admins), name (the
                              * action, NULL: any), since, until, search;
                              * items: RflAuditEntry*, newest first, at
                              * most 1000 */
  RFL_ADMIN_EXPORT_AUDIT,    /* the same filter and path: writes every
                              * matching entry to the file as CSV (see
                              * rfl_audit_log_export_csv()), replacing it;
                              * n_entries */
  RFL_ADMIN_USAGE_BREAKDOWN, /* tenant_id, since, until, group;
                              * items: RflUsageBreakdown* */
  RFL_ADMIN_GET_PRICES,      /* text: the price table calls are metered at,
                              * as JSON (see rfl_price_table_to_json()) */
  RFL_ADMIN_SET_PRICES,      /* text: a price table as JSON; replaces it
                              * (system admins only); text: as stored */
} RflAdminOp;

/* What to do. Strings are copied. Times are Unix milliseconds. */
typedef struct
{
  RflAdminOp      op;
  gint64          tenant_id;
  gint64          target_id;   /* a user or an API key */
  const char     *name;
  const char     *use_case;
  const char     *email;
  const char     *password;
  RflRole         role;
  RflApiScopes    scopes;
  gboolean        enabled;
  RflQuotaLimits  limits;
  gint64          since;
  gint64          until;       /* 0: now */
  const char     *search;      /* the audit log: see RflAuditFilter.search */
  const char     *path;        /* a local file */
  RflUsageGroup   group;
  const char     *text;        /* a price table */
} RflAdminRequest;

typedef struct
{
  gint64  id;
  char   *name;
  char   *use_case;
  char   *status;              /* "active", "suspended", "deleted" */
  gint64  created_at;          /* Unix seconds */
  guint   n_users;
} RflAdminTenant;

typedef struct
{
  gint64   id;
  gint64   tenant_id;
  char    *email;
  char    *display_name;
  RflRole  role;
  char    *status;             /* "active", "disabled" */
  gint64   created_at;         /* Unix seconds */
} RflAdminUser;

/* Requests refused by a quota, per UTC day and limit. */
typedef struct
{
  char    *day;                /* "2026-01-31" */
  char    *limit;              /* rfl_quota_limit_to_string() */
  guint64  count;
} RflAdminRejections;

typedef struct
{
  GPtrArray      *items;       /* NULL for calls that list nothing */
  GPtrArray      *rejections;  /* RFL_ADMIN_SUM_USAGE, by day then limit */
  gint64          id;          /* what was created */
  char           *secret;      /* a new API key: shown once, never again */
  RflQuotaLimits  limits;
  guint64         day_used;    /* tokens of the current UTC day */
  guint64         month_used;  /* tokens of the current UTC month */
  guint64         n_entries;   /* audit entries exported */
  char           *text;        /* the price table */
} RflAdminResult;

void            rfl_admin_tenant_free  (RflAdminTenant *tenant);
void            rfl_admin_user_free    (RflAdminUser   *user);
void            rfl_admin_result_free  (RflAdminResult *result);
void            rfl_admin_rejections_free (RflAdminRejections *rejections);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAdminTenant, rfl_admin_tenant_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAdminUser, rfl_admin_user_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAdminResult, rfl_admin_result_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAdminRejections, rfl_admin_rejections_free)

void            rfl_service_admin_async  (RflService            *self,
                                          RflIdentity            identity,
                                          const RflAdminRequest *request,
                                          GCancellable          *cancellable,
                                          GAsyncReadyCallback    callback,
                                          gpointer               user_data);
RflAdminResult *rfl_service_admin_finish (RflService            *self,
                                          GAsyncResult          *result,
                                          GError               **error);

G_END_DECLS
