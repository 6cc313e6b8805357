/* rfl-database.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-database.h"
#include "rfl-database-private.h"

#include <glib/gi18n.h>
#include <sodium.h>
#include <string.h>

#include "core/rfl-error.h"
#include "core/rfl-password.h"
#include "core/rfl-paths.h"
#include "core/rfl-use-case.h"

#define MIGRATIONS_PATH     RESOURCE_PREFIX "/sql/"
#define MAX_TENANT_NAME     80
#define MAX_EMAIL_BYTES     254
#define MAX_DISPLAY_NAME    120
#define MAX_PASSWORD_BYTES  4096
#define MAX_SLUG_BASE       48

struct _RflDatabase
{
  GObject     parent_instance;

  char       *path;            /* owned */
  sqlite3    *db;              /* owned, used only by the opening thread */
  GHashTable *statements;      /* owned: SQL text → sqlite3_stmt */
  int         schema_version;
};

G_DEFINE_FINAL_TYPE (RflDatabase, rfl_database, G_TYPE_OBJECT)

typedef struct
{
  int   version;
  char *name;
} Migration;

static const char * const role_ids[] = {
  "system_admin", "tenant_admin", "member",
};

/* Object */

static void
finalize_stmt (gpointer data)
{
  sqlite3_finalize (data);
}

static void
rfl_database_finalize (GObject *object)
{
  RflDatabase *self = (RflDatabase *)object;

  /* Every statement must be finalized before the connection closes. */
  g_clear_pointer (&self->statements, g_hash_table_unref);
  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (rfl_database_parent_class)->finalize (object);
}

static void
rfl_database_class_init (RflDatabaseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_database_finalize;
}

static void
rfl_database_init (RflDatabase *self)
{
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal,
                                            g_free, finalize_stmt);
}

/* Statements and errors */

gboolean
_rfl_database_set_error (RflDatabase  *self,
                         int           rc,
                         GError      **error)
{
  RflError code = RFL_ERROR_DATABASE;

  switch (rc & 0xff)
    {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = RFL_ERROR_DATABASE_CORRUPT;
      break;
    case SQLITE_READONLY:
      code = RFL_ERROR_NOT_WRITABLE;
      break;
    default:
      break;
    }

  g_set_error (error, RFL_ERROR, code,
               _("The database “%s” reported an error: %s"),
               self->path,
               self->db != NULL ? sqlite3_errmsg (self->db)
                                : sqlite3_errstr (rc));
  return FALSE;
}

sqlite3 *
_rfl_database_get_handle (RflDatabase *self)
{
  g_return_val_if_fail (RFL_IS_DATABASE (self), NULL);

  return self->db;
}

RflCachedStmt *
_rfl_database_prepare (RflDatabase  *self,
                       const char   *sql,
                       GError      **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (self), NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  stmt = g_hash_table_lookup (self->statements, sql);
  if (stmt != NULL)
    return stmt;

  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      _rfl_database_set_error (self, rc, error);
      return NULL;
    }

  g_hash_table_insert (self->statements, g_strdup (sql), stmt);

  return stmt;
}

void
_rfl_cached_stmt_release (RflCachedStmt *stmt)
{
  if (stmt == NULL)
    return;

  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

gboolean
_rfl_database_exec (RflDatabase  *self,
                    const char   *sql,
                    GError      **error)
{
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);

  rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return _rfl_database_set_error (self, rc, error);

  return TRUE;
}

/* Steps a statement that returns no row. */
static gboolean
step_done (RflDatabase   *self,
           sqlite3_stmt  *stmt,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self, rc, error);

  return TRUE;
}

/* Steps a statement whose first column is an integer. *found tells whether
 * there was a row; *out is 0 when there was none. */
static gboolean
step_int64 (RflDatabase   *self,
            sqlite3_stmt  *stmt,
            gint64        *out,
            gboolean      *found,
            GError       **error)
{
  int rc = sqlite3_step (stmt);

  *out = 0;
  if (found != NULL)
    *found = FALSE;

  if (rc == SQLITE_ROW)
    {
      *out = sqlite3_column_int64 (stmt, 0);
      if (found != NULL)
        *found = TRUE;
      return TRUE;
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self, rc, error);

  return TRUE;
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* Reads an integer from a one-off statement such as a PRAGMA. */
static gboolean
query_int64 (RflDatabase  *self,
             const char   *sql,
             gint64       *out,
             GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return _rfl_database_set_error (self, rc, error);

  return step_int64 (self, stmt, out, NULL, error);
}

/* Migrations */

static void
migration_free (gpointer data)
{
  Migration *migration = data;

  g_free (migration->name);
  g_free (migration);
}

static int
migration_compare (gconstpointer a,
                   gconstpointer b)
{
  const Migration *ma = *(const Migration * const *)a;
  const Migration *mb = *(const Migration * const *)b;

  return (ma->version > mb->version) - (ma->version < mb->version);
}

/* Parses "NNN-name.sql" into its number; FALSE for any other name. */
static gboolean
parse_migration_name (const char *name,
                      int        *version)
{
  g_autofree char *digits = NULL;
  const char *dash;
  guint64 value;

  dash = strchr (name, '-');
  if (dash == NULL || dash == name || dash[1] == '\0'
      || !g_str_has_suffix (name, ".sql") || strlen (dash) <= 5)
    return FALSE;

  digits = g_strndup (name, dash - name);
  if (!g_ascii_string_to_unsigned (digits, 10, 1, G_MAXINT, &value, NULL))
    return FALSE;

  *version = (int) value;
  return TRUE;
}

static GPtrArray *
list_migrations (GError **error)
{
  g_autoptr(GPtrArray) migrations = NULL;
  g_auto(GStrv) names = NULL;
  GError *local_error = NULL;

  migrations = g_ptr_array_new_with_free_func (migration_free);

  names = g_resources_enumerate_children (MIGRATIONS_PATH,
                                          G_RESOURCE_LOOKUP_FLAGS_NONE,
                                          &local_error);
  if (names == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                   _("The database migrations are missing from the "
                     "application: %s"),
                   local_error->message);
      g_error_free (local_error);
      return NULL;
    }

  for (guint i = 0; names[i] != NULL; i++)
    {
      Migration *migration;
      int version;

      if (!parse_migration_name (names[i], &version))
        {
          g_debug ("Ignoring resource %s%s: not a migration",
                   MIGRATIONS_PATH, names[i]);
          continue;
        }

      migration = g_new0 (Migration, 1);
      migration->version = version;
      migration->name = g_strdup (names[i]);
      g_ptr_array_add (migrations, migration);
    }

  g_ptr_array_sort (migrations, migration_compare);

  for (guint i = 1; i < migrations->len; i++)
    {
      const Migration *prev = g_ptr_array_index (migrations, i - 1);
      const Migration *cur = g_ptr_array_index (migrations, i);

      if (prev->version == cur->version)
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                       _("Two database migrations have the number %d: "
                         "“%s” and “%s”"),
                       cur->version, prev->name, cur->name);
          return NULL;
        }
    }

  return g_steal_pointer (&migrations);
}

int
_rfl_database_get_latest_version (void)
{
  g_autoptr(GPtrArray) migrations = list_migrations (NULL);
  const Migration *last;

  if (migrations == NULL || migrations->len == 0)
    return 0;

  last = g_ptr_array_index (migrations, migrations->len - 1);
  return last->version;
}

gboolean
_rfl_database_apply_migration (RflDatabase  *self,
                               int           version,
                               const char   *name,
                               const char   *sql,
                               GError      **error)
{
  g_autofree char *set_version = NULL;
  g_autofree char *message = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (version > 0, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);

  set_version = g_strdup_printf ("PRAGMA user_version = %d", version);

  rc = sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, set_version, NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);

      if (rc != SQLITE_OK)
        {
          /* Keep the message: the rollback replaces it. */
          message = g_strdup (sqlite3_errmsg (self->db));
          if (!sqlite3_get_autocommit (self->db))
            sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
  else
    {
      message = g_strdup (sqlite3_errmsg (self->db));
    }

  if (rc != SQLITE_OK)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                   _("The database “%s” could not be updated: the migration "
                     "“%s” failed: %s"),
                   self->path, name, message);
      return FALSE;
    }

  g_debug ("Applied migration %s to %s", name, self->path);
  self->schema_version = version;

  return TRUE;
}

static gboolean
migrate (RflDatabase  *self,
         GError      **error)
{
  g_autoptr(GPtrArray) migrations = list_migrations (error);

  if (migrations == NULL)
    return FALSE;

  for (guint i = 0; i < migrations->len; i++)
    {
      const Migration *migration = g_ptr_array_index (migrations, i);
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *resource = NULL;
      g_autofree char *sql = NULL;
      gsize size;
      const char *data;

      if (migration->version <= self->schema_version)
        continue;

      resource = g_strconcat (MIGRATIONS_PATH, migration->name, NULL);
      bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE,
                                       NULL);
      if (bytes == NULL)
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                       _("The database migration “%s” cannot be read"),
                       migration->name);
          return FALSE;
        }

      data = g_bytes_get_data (bytes, &size);
      sql = g_strndup (data, size);

      if (!_rfl_database_apply_migration (self, migration->version,
                                          migration->name, sql, error))
        return FALSE;
    }

  return TRUE;
}

/* Opening */

static gboolean
set_corrupt_error (RflDatabase  *self,
                   const char   *reason,
                   GError      **error)
{
  g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE_CORRUPT,
               _("The file “%s” is not a usable Reflection database (%s). "
                 "It was left untouched: move it elsewhere to start with a "
                 "new database, or restore a backup."),
               self->path, reason);
  return FALSE;
}

/* The first read of the file. It only reads: a file that is not a
 * database, or a damaged one, must stay exactly as it was. */
static gboolean
check_integrity (RflDatabase  *self,
                 GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *problem = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, "PRAGMA quick_check (10)", -1, &stmt,
                           NULL);
  if (rc == SQLITE_OK)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const char *row = (const char *) sqlite3_column_text (stmt, 0);

          if (row == NULL || g_str_equal (row, "ok"))
            continue;

          g_debug ("Integrity check of %s: %s", self->path, row);
          /* A row may hold many lines; the first is enough for people. */
          if (problem == NULL)
            problem = g_strndup (row, strcspn (row, "\n"));
        }
    }

  if (problem != NULL)
    g_message ("The integrity check of %s failed: %s", self->path, problem);

  if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
    return set_corrupt_error (self, sqlite3_errstr (rc), error);

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self, rc, error);

  if (problem != NULL)
    return set_corrupt_error (self, problem, error);

  return TRUE;
}

/* Refuses a database of another program, or one written by a newer
 * Reflection, before anything is written to it. */
static gboolean
check_identity (RflDatabase  *self,
                GError      **error)
{
  gint64 application_id;
  gint64 version;
  gint64 n_objects;
  int latest;

  if (!query_int64 (self, "PRAGMA application_id", &application_id, error)
      || !query_int64 (self, "PRAGMA user_version", &version, error)
      || !query_int64 (self, "SELECT count(*) FROM sqlite_schema",
                       &n_objects, error))
    return FALSE;

  if (n_objects > 0 && application_id != RFL_DATABASE_APPLICATION_ID)
    return set_corrupt_error (self, _("it belongs to another program"), error);

  latest = _rfl_database_get_latest_version ();
  if (version > latest)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE_TOO_NEW,
                   _("The database “%s” was written by a newer version of "
                     "Reflection (schema %d; this version knows schemas up "
                     "to %d). It was left untouched: update Reflection to "
                     "use it."),
                   self->path, (int) version, latest);
      return FALSE;
    }

  if (sqlite3_db_readonly (self->db, "main") == 1)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   _("The database “%s” is read-only"), self->path);
      return FALSE;
    }

  self->schema_version = (int) version;

  return TRUE;
}

static gboolean
configure (RflDatabase  *self,
           GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const char *mode;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode = WAL", -1,
                           &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (self, rc, error);

  /* An in-memory database stays in "memory" mode; that is fine. */
  mode = (const char *) sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (mode, "wal") != 0)
    g_debug ("%s keeps journal mode %s", self->path, mode);

  return _rfl_database_exec (self,
                             "PRAGMA foreign_keys = ON;"
                             "PRAGMA busy_timeout = 5000;"
                             "PRAGMA synchronous = NORMAL;",
                             error);
}

RflDatabase *
rfl_database_open (const char  *path,
                   GError     **error)
{
  g_autoptr(RflDatabase) self = NULL;
  g_autofree char *dir = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dir = g_path_get_dirname (path);
  if (!rfl_paths_ensure_writable (dir, error))
    return NULL;

  self = g_object_new (RFL_TYPE_DATABASE, NULL);
  self->path = g_strdup (path);

  rc = sqlite3_open_v2 (path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                        | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                   _("The database “%s” cannot be opened: %s"),
                   path,
                   self->db != NULL ? sqlite3_errmsg (self->db)
                                    : sqlite3_errstr (rc));
      return NULL;
    }

  sqlite3_extended_result_codes (self->db, 1);
  /* Another process may hold a lock for a moment, even during the checks. */
  sqlite3_busy_timeout (self->db, 5000);

  if (!check_integrity (self, error)
      || !check_identity (self, error)
      || !configure (self, error)
      || !migrate (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
rfl_database_get_path (RflDatabase *self)
{
  g_return_val_if_fail (RFL_IS_DATABASE (self), NULL);

  return self->path;
}

int
rfl_database_get_schema_version (RflDatabase *self)
{
  g_return_val_if_fail (RFL_IS_DATABASE (self), 0);

  return self->schema_version;
}

/* Validation */

static gboolean
has_control_chars (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        return TRUE;
    }

  return FALSE;
}

/* Returns the trimmed name, or NULL with RFL_ERROR_INVALID_INPUT. */
static char *
normalize_tenant_name (const char  *name,
                       GError     **error)
{
  g_autofree char *trimmed = NULL;
  glong length;

  if (name != NULL && !g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The tenant name is not valid text"));
      return NULL;
    }

  trimmed = g_strstrip (g_strdup (name != NULL ? name : ""));
  length = g_utf8_strlen (trimmed, -1);

  if (length == 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The tenant name must not be empty"));
      return NULL;
    }

  if (length > MAX_TENANT_NAME)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The tenant name is too long: use at most %d "
                     "characters"),
                   MAX_TENANT_NAME);
      return NULL;
    }

  if (has_control_chars (trimmed))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The tenant name must not contain control "
                             "characters"));
      return NULL;
    }

  return g_steal_pointer (&trimmed);
}

/* The key under which tenant names are unique: "Ärzte", "ärzte" and
 * "ÄRZTE" are one tenant. @name is valid UTF-8. */
static char *
make_name_key (const char *name)
{
  g_autofree char *normalized = g_utf8_normalize (name, -1, G_NORMALIZE_NFKC);

  return g_utf8_casefold (normalized, -1);
}

/* A NULL use case means "custom", the schema's default. */
static gboolean
validate_use_case (const char  *use_case,
                   GError     **error)
{
  RflUseCase value;

  if (use_case == NULL || rfl_use_case_from_string (use_case, &value))
    return TRUE;

  g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               _("The use case “%s” is unknown: choose healthcare, business, "
                 "privacy or custom"),
               g_utf8_validate (use_case, -1, NULL) ? use_case : "?");
  return FALSE;
}

/* Returns the trimmed, lower-cased address, or NULL with
 * RFL_ERROR_INVALID_INPUT. */
static char *
normalize_email (const char  *email,
                 GError     **error)
{
  g_autofree char *trimmed = NULL;
  const char *at;
  const char *domain;

  if (email != NULL && !g_utf8_validate (email, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The e-mail address is not valid text"));
      return NULL;
    }

  trimmed = g_strstrip (g_strdup (email != NULL ? email : ""));

  if (*trimmed == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The e-mail address must not be empty"));
      return NULL;
    }

  if (strlen (trimmed) > MAX_EMAIL_BYTES)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The e-mail address is too long: use at most %d "
                     "characters"),
                   MAX_EMAIL_BYTES);
      return NULL;
    }

  for (const char *p = trimmed; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c))
        {
          g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               _("The e-mail address must not contain "
                                 "spaces"));
          return NULL;
        }
    }

  at = strchr (trimmed, '@');
  if (at == NULL || strchr (at + 1, '@') != NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The e-mail address “%s” must contain exactly one “@”"),
                   trimmed);
      return NULL;
    }

  if (at == trimmed)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The e-mail address “%s” has nothing before the “@”"),
                   trimmed);
      return NULL;
    }

  domain = at + 1;
  if (strchr (domain, '.') == NULL || *domain == '.'
      || g_str_has_suffix (domain, ".") || strstr (domain, "..") != NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The domain of the e-mail address “%s” is not valid: it "
                     "needs a dot, as in “example.org”"),
                   trimmed);
      return NULL;
    }

  return g_utf8_strdown (trimmed, -1);
}

static char *
normalize_display_name (const char  *display_name,
                        GError     **error)
{
  g_autofree char *trimmed = NULL;

  if (display_name != NULL && !g_utf8_validate (display_name, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The name is not valid text"));
      return NULL;
    }

  trimmed = g_strstrip (g_strdup (display_name != NULL ? display_name : ""));

  if (g_utf8_strlen (trimmed, -1) > MAX_DISPLAY_NAME)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The name is too long: use at most %d characters"),
                   MAX_DISPLAY_NAME);
      return NULL;
    }

  if (has_control_chars (trimmed))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The name must not contain control characters"));
      return NULL;
    }

  return g_steal_pointer (&trimmed);
}

static gboolean
validate_password (const char  *password,
                   GError     **error)
{
  if (password != NULL && !g_utf8_validate (password, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The password is not valid text"));
      return FALSE;
    }

  if (rfl_password_get_strength (password) == RFL_PASSWORD_TOO_SHORT)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The password is too short: use at least 8 "
                             "characters"));
      return FALSE;
    }

  if (strlen (password) > MAX_PASSWORD_BYTES)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The password is too long: use at most %d characters"),
                   MAX_PASSWORD_BYTES);
      return FALSE;
    }

  return TRUE;
}

/* Validates and normalises what a new user is made of. */
static gboolean
validate_user (const char  *email,
               const char  *display_name,
               const char  *password,
               char       **out_email,
               char       **out_display_name,
               GError     **error)
{
  g_autofree char *norm_email = NULL;
  g_autofree char *norm_name = NULL;

  if (!(norm_email = normalize_email (email, error))
      || !(norm_name = normalize_display_name (display_name, error))
      || !validate_password (password, error))
    return FALSE;

  *out_email = g_steal_pointer (&norm_email);
  *out_display_name = g_steal_pointer (&norm_name);
  return TRUE;
}

/* Tenants */

static gboolean
find_tenant_by_key (RflDatabase  *self,
                    const char   *key,
                    gint64       *out_id,
                    GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self,
                                "SELECT id FROM tenants WHERE name_key = ?1",
                                error);
  if (stmt == NULL)
    return FALSE;

  bind_text (stmt, 1, key);
  return step_int64 (self, stmt, out_id, NULL, error);
}

static char *
make_slug_base (const char *name)
{
  g_autofree char *ascii = g_str_to_ascii (name, "C");
  GString *slug = g_string_new (NULL);
  gboolean separate = FALSE;

  for (const char *p = ascii; *p != '\0' && slug->len < MAX_SLUG_BASE; p++)
    {
      if (!g_ascii_isalnum (*p))
        {
          separate = TRUE;
          continue;
        }

      if (separate && slug->len > 0)
        g_string_append_c (slug, '-');
      separate = FALSE;
      g_string_append_c (slug, g_ascii_tolower (*p));
    }

  if (slug->len == 0)
    g_string_append (slug, "tenant");

  return g_string_free (slug, FALSE);
}

static char *
make_unique_slug (RflDatabase  *self,
                  const char   *name,
                  GError      **error)
{
  g_autofree char *base = make_slug_base (name);

  for (guint n = 1; ; n++)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;
      g_autofree char *candidate = NULL;
      gboolean taken;
      gint64 unused;

      candidate = n == 1 ? g_strdup (base) : g_strdup_printf ("%s-%u", base, n);

      stmt = _rfl_database_prepare (self,
                                    "SELECT 1 FROM tenants WHERE slug = ?1",
                                    error);
      if (stmt == NULL)
        return NULL;

      bind_text (stmt, 1, candidate);
      if (!step_int64 (self, stmt, &unused, &taken, error))
        return NULL;

      if (!taken)
        return g_steal_pointer (&candidate);
    }
}

gint64
rfl_database_create_tenant (RflDatabase  *self,
                            const char   *name,
                            const char   *use_case,
                            GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *trimmed = NULL;
  g_autofree char *key = NULL;
  g_autofree char *slug = NULL;
  gint64 existing;
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!(trimmed = normalize_tenant_name (name, error))
      || !validate_use_case (use_case, error))
    return 0;

  key = make_name_key (trimmed);
  if (!find_tenant_by_key (self, key, &existing, error))
    return 0;

  if (existing != 0)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("A tenant named “%s” already exists"), trimmed);
      return 0;
    }

  if (!(slug = make_unique_slug (self, trimmed, error)))
    return 0;

  stmt = _rfl_database_prepare (self,
                                "INSERT INTO tenants (name, name_key, slug, "
                                "use_case) VALUES (?1, ?2, ?3, ?4)",
                                error);
  if (stmt == NULL)
    return 0;

  bind_text (stmt, 1, trimmed);
  bind_text (stmt, 2, key);
  bind_text (stmt, 3, slug);
  bind_text (stmt, 4, use_case != NULL ? use_case : "custom");

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    {
      /* Another connection created it between the check and here. */
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("A tenant named “%s” already exists"), trimmed);
      return 0;
    }
  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self, rc, error);
      return 0;
    }

  return sqlite3_last_insert_rowid (self->db);
}

guint
rfl_database_count_tenants (RflDatabase  *self,
                            GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gint64 count;

  g_return_val_if_fail (RFL_IS_DATABASE (self), 0);

  stmt = _rfl_database_prepare (self, "SELECT count(*) FROM tenants", error);
  if (stmt == NULL || !step_int64 (self, stmt, &count, NULL, error))
    return 0;

  return (guint) count;
}

gint64
rfl_database_find_tenant (RflDatabase  *self,
                          const char   *name,
                          GError      **error)
{
  g_autofree char *trimmed = NULL;
  g_autofree char *key = NULL;
  gint64 id;

  g_return_val_if_fail (RFL_IS_DATABASE (self), 0);
  g_return_val_if_fail (name != NULL, 0);

  /* A name that could not be created cannot be found either. */
  if (!g_utf8_validate (name, -1, NULL))
    return 0;

  trimmed = g_strstrip (g_strdup (name));
  key = make_name_key (trimmed);

  if (!find_tenant_by_key (self, key, &id, error))
    return 0;

  return id;
}

/* Users */

static gboolean
tenant_exists (RflDatabase  *self,
               gint64        tenant_id,
               GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gboolean found;
  gint64 unused;

  stmt = _rfl_database_prepare (self, "SELECT 1 FROM tenants WHERE id = ?1",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  if (!step_int64 (self, stmt, &unused, &found, error))
    return FALSE;

  if (!found)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The tenant does not exist"));
      return FALSE;
    }

  return TRUE;
}

/* *out_id is 0 when there is no such user. @email is normalised. */
static gboolean
find_user (RflDatabase  *self,
           gint64        tenant_id,
           const char   *email,
           gint64       *out_id,
           GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self,
                                "SELECT id FROM users "
                                "WHERE tenant_id = ?1 AND email = ?2",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  bind_text (stmt, 2, email);
  return step_int64 (self, stmt, out_id, NULL, error);
}

/* Checks that the user can be added, before the slow hashing. */
static gboolean
check_new_user (RflDatabase  *self,
                gint64        tenant_id,
                const char   *email,
                GError      **error)
{
  gint64 existing;

  if (!tenant_exists (self, tenant_id, error)
      || !find_user (self, tenant_id, email, &existing, error))
    return FALSE;

  if (existing != 0)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("A user with the e-mail address “%s” already exists in "
                     "this tenant"),
                   email);
      return FALSE;
    }

  return TRUE;
}

static gint64
insert_user (RflDatabase  *self,
             gint64        tenant_id,
             const char   *email,
             const char   *display_name,
             const char   *password_hash,
             RflRole       role,
             GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self,
                                "INSERT INTO users (tenant_id, email, "
                                "display_name, password_hash, role) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)",
                                error);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  bind_text (stmt, 2, email);
  bind_text (stmt, 3, display_name);
  bind_text (stmt, 4, password_hash);
  bind_text (stmt, 5, role_ids[role]);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("A user with the e-mail address “%s” already exists in "
                     "this tenant"),
                   email);
      return 0;
    }
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The tenant does not exist"));
      return 0;
    }
  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self, rc, error);
      return 0;
    }

  return sqlite3_last_insert_rowid (self->db);
}

gint64
rfl_database_create_user (RflDatabase  *self,
                          gint64        tenant_id,
                          const char   *email,
                          const char   *display_name,
                          const char   *password,
                          RflRole       role,
                          GError      **error)
{
  g_autofree char *norm_email = NULL;
  g_autofree char *norm_name = NULL;
  g_autofree char *hash = NULL;

  g_return_val_if_fail (RFL_IS_DATABASE (self), 0);
  g_return_val_if_fail (role <= RFL_ROLE_MEMBER, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!validate_user (email, display_name, password,
                      &norm_email, &norm_name, error)
      || !check_new_user (self, tenant_id, norm_email, error))
    return 0;

  if (!(hash = rfl_password_hash (password, error)))
    return 0;

  return insert_user (self, tenant_id, norm_email, norm_name, hash, role,
                      error);
}

static gpointer
make_dummy_hash (gpointer data)
{
  guint8 random[16];
  g_autofree char *secret = NULL;

  randombytes_buf (random, sizeof random);
  secret = g_base64_encode (random, sizeof random);

  return rfl_password_hash (secret, NULL);
}

/* A hash no password matches, made with the same parameters as real ones,
 * so that checking an unknown user costs as much as checking a known one
 * and does not tell which e-mail addresses exist. */
static const char *
get_dummy_hash (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, make_dummy_hash, NULL);
}

gboolean
rfl_database_check_password (RflDatabase  *self,
                             gint64        tenant_id,
                             const char   *email,
                             const char   *password,
                             GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *trimmed = NULL;
  g_autofree char *norm_email = NULL;
  g_autofree char *hash = NULL;
  gboolean active = FALSE;
  gboolean matches;
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (email != NULL && g_utf8_validate (email, -1, NULL))
    {
      trimmed = g_strstrip (g_strdup (email));
      norm_email = g_utf8_strdown (trimmed, -1);
    }

  if (norm_email != NULL)
    {
      stmt = _rfl_database_prepare (self,
                                    "SELECT password_hash, status FROM users "
                                    "WHERE tenant_id = ?1 AND email = ?2",
                                    error);
      if (stmt == NULL)
        return FALSE;

      sqlite3_bind_int64 (stmt, 1, tenant_id);
      bind_text (stmt, 2, norm_email);

      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          hash = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          active = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 1),
                              "active") == 0;
        }
      else if (rc != SQLITE_DONE)
        {
          return _rfl_database_set_error (self, rc, error);
        }
    }

  if (hash == NULL)
    {
      rfl_password_verify (get_dummy_hash (), password != NULL ? password : "");
      return FALSE;
    }

  matches = rfl_password_verify (hash, password);

  return matches && active;
}

static gboolean
count_rows (RflDatabase  *self,
            const char   *sql,
            gint64        tenant_id,
            guint        *out,
            GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gint64 count;

  *out = 0;

  stmt = _rfl_database_prepare (self, sql, error);
  if (stmt == NULL)
    return FALSE;

  if (tenant_id != 0)
    sqlite3_bind_int64 (stmt, 1, tenant_id);

  if (!step_int64 (self, stmt, &count, NULL, error))
    return FALSE;

  *out = (guint) count;
  return TRUE;
}

guint
rfl_database_count_users (RflDatabase  *self,
                          gint64        tenant_id,
                          GError      **error)
{
  guint count;

  g_return_val_if_fail (RFL_IS_DATABASE (self), 0);

  count_rows (self, "SELECT count(*) FROM users WHERE tenant_id = ?1",
              tenant_id, &count, error);
  return count;
}

/* Settings */

gboolean
rfl_database_set_setting (RflDatabase  *self,
                          const char   *key,
                          const char   *value,
                          GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_DATABASE (self), FALSE);
  g_return_val_if_fail (key != NULL && *key != '\0', FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  stmt = _rfl_database_prepare (self,
                                "INSERT INTO settings (key, value) "
                                "VALUES (?1, ?2) "
                                "ON CONFLICT (key) DO UPDATE "
                                "SET value = excluded.value, "
                                "updated_at = unixepoch ()",
                                error);
  if (stmt == NULL)
    return FALSE;

  bind_text (stmt, 1, key);
  bind_text (stmt, 2, value);

  return step_done (self, stmt, error);
}

char *
rfl_database_dup_setting (RflDatabase  *self,
                          const char   *key,
                          GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_DATABASE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  stmt = _rfl_database_prepare (self,
                                "SELECT value FROM settings WHERE key = ?1",
                                error);
  if (stmt == NULL)
    return NULL;

  bind_text (stmt, 1, key);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  if (rc != SQLITE_DONE)
    _rfl_database_set_error (self, rc, error);

  return NULL;
}

/* Setup */

static void
wipe_free (char *secret)
{
  if (secret == NULL)
    return;

  sodium_memzero (secret, strlen (secret));
  g_free (secret);
}

static void
setup_request_free (RflSetupRequest *request)
{
  g_free (request->data_dir);
  g_free (request->tenant_name);
  g_free (request->use_case);
  g_free (request->admin_email);
  g_free (request->admin_name);
  wipe_free (request->admin_password);
  g_free (request);
}

/* The worker gets this copy: trimmed and normalised, already validated. */
static RflSetupRequest *
setup_request_validate (const RflSetupRequest  *request,
                        GError                **error)
{
  RflSetupRequest *copy = g_new0 (RflSetupRequest, 1);

  copy->data_dir = g_strdup (request->data_dir);
  copy->use_case = g_strdup (request->use_case);
  copy->admin_password = g_strdup (request->admin_password);

  if (!(copy->tenant_name = normalize_tenant_name (request->tenant_name,
                                                   error))
      || !validate_use_case (request->use_case, error)
      || !validate_user (request->admin_email, request->admin_name,
                         request->admin_password, &copy->admin_email,
                         &copy->admin_name, error))
    {
      setup_request_free (copy);
      return NULL;
    }

  return copy;
}

/* Everything the setup writes; the caller wraps it in one transaction. */
static gboolean
setup_in_transaction (RflDatabase            *self,
                      const RflSetupRequest  *request,
                      const char             *password_hash,
                      RflSetupResult         *result,
                      GCancellable           *cancellable,
                      GError                **error)
{
  g_autofree char *key = make_name_key (request->tenant_name);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *completed_at = g_date_time_format_iso8601 (now);

  if (!find_tenant_by_key (self, key, &result->tenant_id, error))
    return FALSE;

  if (result->tenant_id != 0)
    {
      result->tenant_existed = TRUE;
    }
  else
    {
      result->tenant_id = rfl_database_create_tenant (self,
                                                      request->tenant_name,
                                                      request->use_case,
                                                      error);
      if (result->tenant_id == 0)
        return FALSE;
    }

  /* A re-run never replaces the password of an existing administrator. */
  if (!find_user (self, result->tenant_id, request->admin_email,
                  &result->admin_user_id, error))
    return FALSE;

  if (result->admin_user_id == 0)
    {
      guint n_users;
      RflRole role;

      if (!count_rows (self, "SELECT count(*) FROM users", 0, &n_users, error))
        return FALSE;

      /* The first account of the installation administers all of it. */
      role = n_users == 0 ? RFL_ROLE_SYSTEM_ADMIN : RFL_ROLE_TENANT_ADMIN;
      result->admin_user_id = insert_user (self, result->tenant_id,
                                           request->admin_email,
                                           request->admin_name,
                                           password_hash, role, error);
      if (result->admin_user_id == 0)
        return FALSE;
    }

  if (!rfl_database_set_setting (self, "setup-completed-at", completed_at,
                                 error))
    return FALSE;

  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static void
setup_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  const RflSetupRequest *request = task_data;
  g_autoptr(RflSetupResult) result = g_new0 (RflSetupResult, 1);
  g_autoptr(RflDatabase) self = NULL;
  g_autofree char *data_dir = NULL;
  char *hash = NULL;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;

  /* Hashing takes a while; do it before the write lock is taken. */
  hash = rfl_password_hash (request->admin_password, &error);
  if (hash == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  data_dir = rfl_paths_dup_data_dir (request->data_dir);
  result->database_path = rfl_paths_dup_database_path (data_dir);

  self = rfl_database_open (result->database_path, &error);

  if (self != NULL && _rfl_database_exec (self, "BEGIN IMMEDIATE", &error))
    {
      if (!setup_in_transaction (self, request, hash, result, cancellable,
                                 &error)
          || !_rfl_database_exec (self, "COMMIT", &error))
        {
          if (!sqlite3_get_autocommit (self->db))
            sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }

  wipe_free (hash);

  /* The connection belongs to this thread: close it here. */
  g_clear_object (&self);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&result),
                           (GDestroyNotify) rfl_setup_result_free);
}

void
rfl_database_setup_async (const RflSetupRequest *request,
                          GCancellable          *cancellable,
                          GAsyncReadyCallback    callback,
                          gpointer               user_data)
{
  g_autoptr(GTask) task = NULL;
  RflSetupRequest *copy;
  GError *error = NULL;

  g_return_if_fail (request != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_database_setup_async);
  /* Once committed, the result stands even if the caller cancelled late. */
  g_task_set_check_cancellable (task, FALSE);

  /* Bad input is refused before anything is opened or created. */
  copy = setup_request_validate (request, &error);
  if (copy == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_set_task_data (task, copy, (GDestroyNotify) setup_request_free);
  g_task_run_in_thread (task, setup_worker);
}

RflSetupResult *
rfl_database_setup_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_database_setup_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
rfl_setup_result_free (RflSetupResult *result)
{
  if (result == NULL)
    return;

  g_free (result->database_path);
  g_free (result);
}
