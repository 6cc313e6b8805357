/* rfl-database.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define RFL_TYPE_DATABASE (rfl_database_get_type ())
G_DECLARE_FINAL_TYPE (RflDatabase, rfl_database, RFL, DATABASE, GObject)

typedef enum
{
  RFL_ROLE_SYSTEM_ADMIN,
  RFL_ROLE_TENANT_ADMIN,
  RFL_ROLE_MEMBER,
} RflRole;

/* Opens or creates the database at @path: WAL journal, foreign keys on,
 * migrations from resource:///org/reflection/Reflection/sql/ applied under
 * PRAGMA user_version in one transaction each. Never changes an existing
 * file that is not a Reflection database: a corrupt or foreign file fails
 * with RFL_ERROR_DATABASE_CORRUPT, a newer schema with
 * RFL_ERROR_DATABASE_TOO_NEW, an unwritable place with
 * RFL_ERROR_NOT_WRITABLE. The object belongs to the thread that opened it. */
RflDatabase *rfl_database_open              (const char   *path,
                                             GError      **error);

const char  *rfl_database_get_path          (RflDatabase  *self);
int          rfl_database_get_schema_version (RflDatabase *self);

/* Tenants. @slug is derived from the name when NULL. Names must be 1–80
 * characters after trimming; a duplicate name fails with RFL_ERROR_EXISTS. */
gint64       rfl_database_create_tenant     (RflDatabase  *self,
                                             const char   *name,
                                             const char   *use_case,
                                             GError      **error);
guint        rfl_database_count_tenants     (RflDatabase  *self,
                                             GError      **error);
/* 0 when there is none. */
gint64       rfl_database_find_tenant       (RflDatabase  *self,
                                             const char   *name,
                                             GError      **error);

/* Users. @email is validated and lower-cased; @password must be at least 8
 * characters and is stored only as an argon2id hash. */
gint64       rfl_database_create_user       (RflDatabase  *self,
                                             gint64        tenant_id,
                                             const char   *email,
                                             const char   *display_name,
                                             const char   *password,
                                             RflRole       role,
                                             GError      **error);
/* TRUE when the password matches; FALSE with no error when it does not. */
gboolean     rfl_database_check_password    (RflDatabase  *self,
                                             gint64        tenant_id,
                                             const char   *email,
                                             const char   *password,
                                             GError      **error);
guint        rfl_database_count_users       (RflDatabase  *self,
                                             gint64        tenant_id,
                                             GError      **error);

/* Installation-wide key/value settings kept in the database. */
gboolean     rfl_database_set_setting       (RflDatabase  *self,
                                             const char   *key,
                                             const char   *value,
                                             GError      **error);
char        *rfl_database_dup_setting       (RflDatabase  *self,
                                             const char   *key,
                                             GError      **error);

/* What the setup wizard's last page does, in one transaction, on a worker
 * thread: open or create the database under @data_dir, then create the
 * tenant and its administrator unless a tenant of that name exists (a
 * re-run never loses data: an existing tenant is kept and reported). */
typedef struct
{
  char *data_dir;
  char *tenant_name;
  char *use_case;
  char *admin_email;
  char *admin_name;
  char *admin_password;
} RflSetupRequest;

typedef struct
{
  char    *database_path;
  gint64   tenant_id;
  gint64   admin_user_id;
  gboolean tenant_existed;   /* TRUE when a re-run found the tenant */
} RflSetupResult;

void            rfl_database_setup_async    (const RflSetupRequest *request,
                                             GCancellable          *cancellable,
                                             GAsyncReadyCallback    callback,
                                             gpointer               user_data);
RflSetupResult *rfl_database_setup_finish   (GAsyncResult          *result,
                                             GError               **error);
void            rfl_setup_result_free       (RflSetupResult        *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSetupResult, rfl_setup_result_free)

G_END_DECLS
