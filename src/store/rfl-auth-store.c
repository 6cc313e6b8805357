/* rfl-auth-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-auth-store.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>

#include "core/rfl-error.h"
#include "core/rfl-jwt.h"
#include "core/rfl-password.h"
#include "rfl-store-private.h"

#define SECRET_BYTES         32
#define SECRET_TEXT_LENGTH   43      /* base64url of SECRET_BYTES */
#define SESSION_ID_BYTES     16
#define MAX_KEY_NAME         80
#define MAX_EMAIL_BYTES      254
#define MAX_PASSWORD_BYTES   4096
/* Accounts with the same address in several tenants that one sign-in
 * without a tenant tries. */
#define MAX_LOGIN_CANDIDATES 8

struct _RflAuthStore
{
  GObject        parent_instance;

  RflDatabase   *db;      /* owned */
  RflSigningKey *key;     /* owned */
  RflAuditLog   *audit;   /* owned */
};

G_DEFINE_FINAL_TYPE (RflAuthStore, rfl_auth_store, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (RflApiKey, rfl_api_key, rfl_api_key_copy,
                     rfl_api_key_free)
G_DEFINE_BOXED_TYPE (RflAuthTokens, rfl_auth_tokens, rfl_auth_tokens_copy,
                     rfl_auth_tokens_free)
G_DEFINE_BOXED_TYPE (RflAuthPrincipal, rfl_auth_principal,
                     rfl_auth_principal_copy, rfl_auth_principal_free)

static const char * const scope_names[] = {
  "chat", "publish", "read", "admin",
};

static const char * const role_names[] = {
  [RFL_ROLE_SYSTEM_ADMIN] = RFL_JWT_ROLE_SYSTEM_ADMIN,
  [RFL_ROLE_TENANT_ADMIN] = RFL_JWT_ROLE_TENANT_ADMIN,
  [RFL_ROLE_MEMBER] = RFL_JWT_ROLE_MEMBER,
};

static const char api_key_columns[] =
  "id, tenant_id, name, prefix, scopes, created_by, created_at, "
  "last_used_at, revoked_at, revoked_by";

/* A presented key with the status of its tenant, in one statement: NULL
 * when the tenant row is gone. */
static const char authenticate_key_sql[] =
  "SELECT k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.created_by, "
  "k.created_at, k.last_used_at, k.revoked_at, k.revoked_by, t.status "
  "FROM api_keys AS k LEFT JOIN tenants AS t ON t.id = k.tenant_id "
  "WHERE k.key_hash = ?1";

/* The column of authenticate_key_sql after those of read_api_key(). */
#define AUTHENTICATE_KEY_STATUS 10

/* Scopes and roles */

gboolean
rfl_api_scopes_parse (const char    *text,
                      RflApiScopes  *out_scopes,
                      GError       **error)
{
  g_auto(GStrv) words = NULL;
  guint scopes = 0;

  g_return_val_if_fail (out_scopes != NULL, FALSE);

  *out_scopes = 0;

  if (text != NULL && g_utf8_validate (text, -1, NULL))
    words = g_strsplit_set (text, ", \t\n", -1);

  for (guint i = 0; words != NULL && words[i] != NULL; i++)
    {
      gboolean known = FALSE;

      if (*words[i] == '\0')
        continue;

      for (guint j = 0; j < G_N_ELEMENTS (scope_names); j++)
        {
          if (g_str_equal (words[i], scope_names[j]))
            {
              scopes |= 1u << j;
              known = TRUE;
            }
        }

      if (!known)
        {
          g_autofree char *shown = g_utf8_substring (words[i], 0,
                                                    MIN (g_utf8_strlen (words[i], -1), 40));

          g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("“%s” is not a scope of API keys; the scopes are "
                         "chat, publish, read and admin"),
                       shown);
          return FALSE;
        }
    }

  if (scopes == 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("An API key needs at least one scope: chat, "
                             "publish, read or admin"));
      return FALSE;
    }

  *out_scopes = scopes;
  return TRUE;
}

char *
rfl_api_scopes_to_string (RflApiScopes scopes)
{
  GString *text = g_string_new (NULL);

  for (guint j = 0; j < G_N_ELEMENTS (scope_names); j++)
    {
      if ((scopes & (1u << j)) == 0)
        continue;
      if (text->len > 0)
        g_string_append_c (text, ',');
      g_string_append (text, scope_names[j]);
    }

  return g_string_free (text, FALSE);
}

const char *
rfl_role_to_string (RflRole role)
{
  g_return_val_if_fail (role <= RFL_ROLE_MEMBER, NULL);

  return role_names[role];
}

gboolean
rfl_role_from_string (const char *text,
                      RflRole    *out_role)
{
  g_return_val_if_fail (out_role != NULL, FALSE);

  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (role_names); i++)
    {
      if (g_str_equal (text, role_names[i]))
        {
          *out_role = (RflRole) i;
          return TRUE;
        }
    }

  return FALSE;
}

static RflApiScopes
scopes_for_role (RflRole role)
{
  if (role == RFL_ROLE_MEMBER)
    return RFL_API_SCOPE_CHAT | RFL_API_SCOPE_PUBLISH | RFL_API_SCOPE_READ;

  return RFL_API_SCOPES_ALL;
}

/* Records */

RflApiKey *
rfl_api_key_copy (const RflApiKey *key)
{
  RflApiKey *copy;

  g_return_val_if_fail (key != NULL, NULL);

  copy = g_memdup2 (key, sizeof *key);
  copy->name = g_strdup (key->name);
  copy->prefix = g_strdup (key->prefix);

  return copy;
}

void
rfl_api_key_free (RflApiKey *key)
{
  if (key == NULL)
    return;

  g_free (key->name);
  g_free (key->prefix);
  g_free (key);
}

static void
wipe_free (char *secret)
{
  if (secret == NULL)
    return;

  sodium_memzero (secret, strlen (secret));
  g_free (secret);
}

RflAuthTokens *
rfl_auth_tokens_copy (const RflAuthTokens *tokens)
{
  RflAuthTokens *copy;

  g_return_val_if_fail (tokens != NULL, NULL);

  copy = g_memdup2 (tokens, sizeof *tokens);
  copy->access_token = g_strdup (tokens->access_token);
  copy->refresh_token = g_strdup (tokens->refresh_token);
  copy->session_id = g_strdup (tokens->session_id);

  return copy;
}

void
rfl_auth_tokens_free (RflAuthTokens *tokens)
{
  if (tokens == NULL)
    return;

  wipe_free (tokens->access_token);
  wipe_free (tokens->refresh_token);
  g_free (tokens->session_id);
  g_free (tokens);
}

RflAuthPrincipal *
rfl_auth_principal_copy (const RflAuthPrincipal *principal)
{
  RflAuthPrincipal *copy;

  g_return_val_if_fail (principal != NULL, NULL);

  copy = g_memdup2 (principal, sizeof *principal);
  copy->session_id = g_strdup (principal->session_id);

  return copy;
}

void
rfl_auth_principal_free (RflAuthPrincipal *principal)
{
  if (principal == NULL)
    return;

  g_free (principal->session_id);
  g_free (principal);
}

gboolean
rfl_auth_principal_has_scope (const RflAuthPrincipal *principal,
                              RflApiScopes            scope)
{
  g_return_val_if_fail (principal != NULL, FALSE);
  g_return_val_if_fail (scope != 0, FALSE);

  return (principal->scopes & scope) == scope;
}

RflAuditActor
rfl_auth_principal_get_actor (const RflAuthPrincipal *principal)
{
  RflAuditActor actor = { 0, 0 };

  g_return_val_if_fail (principal != NULL, actor);

  actor.user_id = principal->user_id;
  actor.api_key_id = principal->api_key_id;
  return actor;
}

/* Object */

static void
rfl_auth_store_finalize (GObject *object)
{
  RflAuthStore *self = (RflAuthStore *)object;

  g_clear_object (&self->audit);
  g_clear_object (&self->db);
  g_clear_pointer (&self->key, rfl_signing_key_unref);

  G_OBJECT_CLASS (rfl_auth_store_parent_class)->finalize (object);
}

static void
rfl_auth_store_class_init (RflAuthStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_auth_store_finalize;
}

static void
rfl_auth_store_init (RflAuthStore *self)
{
}

RflAuthStore *
rfl_auth_store_new (RflDatabase   *db,
                    RflSigningKey *key)
{
  RflAuthStore *self;

  g_return_val_if_fail (RFL_IS_DATABASE (db), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  self = g_object_new (RFL_TYPE_AUTH_STORE, NULL);
  self->db = g_object_ref (db);
  self->key = rfl_signing_key_ref (key);
  self->audit = rfl_audit_log_new (db);

  return self;
}

RflAuditLog *
rfl_auth_store_get_audit_log (RflAuthStore *self)
{
  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);

  return self->audit;
}

/* Helpers */

static gboolean
unauthorized (GError     **error,
              const char  *message)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED, message);
  return FALSE;
}

static gboolean
invalid (GError     **error,
         const char  *message)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT, message);
  return FALSE;
}

static gpointer
init_sodium_once (gpointer data)
{
  return GINT_TO_POINTER (sodium_init () >= 0);
}

/* libsodium is initialised once before its random generator is used. */
static void
ensure_sodium (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_sodium_once, NULL);
}

/* A new secret: SECRET_BYTES random bytes in base64url. */
static char *
make_secret (void)
{
  guint8 bytes[SECRET_BYTES];
  char *text;

  ensure_sodium ();
  randombytes_buf (bytes, sizeof bytes);
  text = rfl_jwt_base64url_encode (bytes, sizeof bytes);
  sodium_memzero (bytes, sizeof bytes);

  return text;
}

static char *
make_session_id (void)
{
  guint8 bytes[SESSION_ID_BYTES];

  ensure_sodium ();
  randombytes_buf (bytes, sizeof bytes);
  return rfl_jwt_base64url_encode (bytes, sizeof bytes);
}

/* TRUE when @text is SECRET_TEXT_LENGTH characters of canonical base64url
 * for SECRET_BYTES bytes. */
static gboolean
is_secret_text (const char *text)
{
  g_autofree guint8 *bytes = NULL;
  gsize size = 0;

  if (text == NULL || strnlen (text, SECRET_TEXT_LENGTH + 1)
                      != SECRET_TEXT_LENGTH)
    return FALSE;

  bytes = rfl_jwt_base64url_decode (text, SECRET_TEXT_LENGTH, &size);
  return bytes != NULL && size == SECRET_BYTES;
}

/* The lower-case hexadecimal SHA-256 of @text, as stored in key_hash and
 * token_hash. */
#define SECRET_HASH_LENGTH (crypto_hash_sha256_BYTES * 2)

static void
hash_secret_into (const char *text,
                  char        out[SECRET_HASH_LENGTH + 1])
{
  guint8 digest[crypto_hash_sha256_BYTES];

  ensure_sodium ();
  crypto_hash_sha256 (digest, (const guint8 *) text, strlen (text));
  sodium_bin2hex (out, SECRET_HASH_LENGTH + 1, digest, sizeof digest);
}

static char *
hash_secret (const char *text)
{
  char hash[SECRET_HASH_LENGTH + 1];

  hash_secret_into (text, hash);
  return g_strdup (hash);
}

static char *
format_time (gint64 unix_ms)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_ms / 1000);
  g_autoptr(GDateTime) local = NULL;

  if (utc == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, unix_ms);

  local = g_date_time_to_local (utc);
  return g_date_time_format (local != NULL ? local : utc, "%Y-%m-%d %H:%M");
}

static gint64
column_id (sqlite3_stmt *stmt,
           int           column)
{
  return sqlite3_column_type (stmt, column) == SQLITE_NULL
         ? 0 : sqlite3_column_int64 (stmt, column);
}

static gboolean
column_is (sqlite3_stmt *stmt,
           int           column,
           const char   *text)
{
  return g_strcmp0 ((const char *) sqlite3_column_text (stmt, column),
                    text) == 0;
}

static void
bind_id (sqlite3_stmt *stmt,
         int           index,
         gint64        id)
{
  if (id == 0)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, id);
}

/* Audit details: small JSON objects. */

static JsonBuilder *
detail_begin (void)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  return builder;
}

static void
detail_add_string (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
detail_add_int (JsonBuilder *builder,
                const char  *name,
                gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static char *
detail_end (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static gint64
audit (RflAuthStore         *self,
       gint64                tenant_id,
       const RflAuditActor  *actor,
       const char           *action,
       const char           *target,
       JsonBuilder          *detail,
       GError              **error)
{
  g_autofree char *text = detail != NULL ? detail_end (detail) : NULL;

  return rfl_audit_log_append (self->audit, tenant_id, actor, action, target,
                               text, error);
}

/* Audits an event that is recorded although the operation fails; a
 * failure to write it is logged, and the caller's error stands. */
static void
audit_failure (RflAuthStore         *self,
               gint64                tenant_id,
               const RflAuditActor  *actor,
               const char           *action,
               const char           *target,
               JsonBuilder          *detail)
{
  g_autoptr(GError) error = NULL;

  if (audit (self, tenant_id, actor, action, target, detail, &error) == 0)
    g_warning ("Cannot write the audit entry %s: %s", action, error->message);
}

/* Checks that the users and keys an actor names exist, so that an entry
 * never names an actor that is not there. */
static gboolean
check_actor (RflAuthStore         *self,
             const RflAuditActor  *actor,
             GError              **error)
{
  g_autoptr(RflCachedStmt) user_stmt = NULL;
  g_autoptr(RflCachedStmt) key_stmt = NULL;
  int rc;

  if (actor == NULL)
    return TRUE;

  if (actor->user_id < 0 || actor->api_key_id < 0)
    return invalid (error, _("The acting user or API key is not valid"));

  if (actor->user_id != 0)
    {
      user_stmt = _rfl_database_prepare (self->db,
                                         "SELECT 1 FROM users WHERE id = ?1",
                                         error);
      if (user_stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (user_stmt, 1, actor->user_id);
      rc = sqlite3_step (user_stmt);
      if (rc == SQLITE_DONE)
        return invalid (error, _("The acting user does not exist"));
      if (rc != SQLITE_ROW)
        return _rfl_database_set_error (self->db, rc, error);
    }

  if (actor->api_key_id != 0)
    {
      key_stmt = _rfl_database_prepare (self->db,
                                        "SELECT 1 FROM api_keys WHERE id = ?1",
                                        error);
      if (key_stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (key_stmt, 1, actor->api_key_id);
      rc = sqlite3_step (key_stmt);
      if (rc == SQLITE_DONE)
        return invalid (error, _("The acting API key does not exist"));
      if (rc != SQLITE_ROW)
        return _rfl_database_set_error (self->db, rc, error);
    }

  return TRUE;
}

/* Reads a tenant's status; RFL_ERROR_NOT_FOUND when there is no such
 * tenant or it was deleted. */
static char *
dup_tenant_status (RflAuthStore  *self,
                   gint64         tenant_id,
                   GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db,
                                "SELECT status FROM tenants WHERE id = ?1",
                                error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && !column_is (stmt, 0, "deleted"))
    return _rfl_store_dup_column_text (stmt, 0);

  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The tenant does not exist"));
  return NULL;
}

/* API keys */

static RflApiKey *
read_api_key (sqlite3_stmt *stmt)
{
  RflApiKey *key = g_new0 (RflApiKey, 1);

  key->id = sqlite3_column_int64 (stmt, 0);
  key->tenant_id = sqlite3_column_int64 (stmt, 1);
  key->name = _rfl_store_dup_column_text (stmt, 2);
  key->prefix = _rfl_store_dup_column_text (stmt, 3);
  key->scopes = (RflApiScopes) sqlite3_column_int64 (stmt, 4);
  key->created_by = column_id (stmt, 5);
  key->created_at = sqlite3_column_int64 (stmt, 6);
  key->last_used_at = column_id (stmt, 7);
  key->revoked_at = column_id (stmt, 8);
  key->revoked_by = column_id (stmt, 9);

  return key;
}

static char *
dup_key_name (const char  *name,
              GError     **error)
{
  switch (_rfl_store_check_text (name, MAX_KEY_NAME, FALSE))
    {
    case RFL_TEXT_OK:
      return g_strstrip (g_strdup (name));
    case RFL_TEXT_MISSING:
      invalid (error, _("The API key needs a name"));
      return NULL;
    case RFL_TEXT_NOT_UTF8:
      invalid (error, _("The name of the API key is not valid text"));
      return NULL;
    case RFL_TEXT_TOO_LONG:
      invalid (error, _("The name of the API key is too long: use at most "
                        "80 characters"));
      return NULL;
    case RFL_TEXT_CONTROL:
    default:
      invalid (error, _("The name of the API key must be a single line "
                        "without control characters"));
      return NULL;
    }
}

static gint64
insert_api_key (RflAuthStore         *self,
                gint64                tenant_id,
                const char           *name,
                const char           *prefix,
                const char           *hash,
                RflApiScopes          scopes,
                const RflAuditActor  *actor,
                GError              **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db,
                                "INSERT INTO api_keys (tenant_id, name, "
                                "prefix, key_hash, scopes, created_by, "
                                "created_at) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                error);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  _rfl_store_bind_text (stmt, 2, name);
  _rfl_store_bind_text (stmt, 3, prefix);
  _rfl_store_bind_text (stmt, 4, hash);
  sqlite3_bind_int64 (stmt, 5, scopes);
  bind_id (stmt, 6, actor != NULL ? actor->user_id : 0);
  sqlite3_bind_int64 (stmt, 7, _rfl_store_now_ms ());

  if (!_rfl_store_step_done (self->db, stmt, error))
    return 0;

  return sqlite3_last_insert_rowid (_rfl_database_get_handle (self->db));
}

static JsonBuilder *
key_detail (const char   *name,
            const char   *prefix,
            RflApiScopes  scopes)
{
  JsonBuilder *detail = detail_begin ();
  g_autofree char *scope_text = rfl_api_scopes_to_string (scopes);

  detail_add_string (detail, "name", name);
  detail_add_string (detail, "prefix", prefix);
  detail_add_string (detail, "scopes", scope_text);
  return detail;
}

char *
rfl_auth_store_create_api_key (RflAuthStore         *self,
                               gint64                tenant_id,
                               const char           *name,
                               RflApiScopes          scopes,
                               const RflAuditActor  *actor,
                               RflApiKey           **out_key,
                               GError              **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(JsonBuilder) detail = NULL;
  g_autofree char *clean_name = NULL;
  g_autofree char *status = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *plaintext = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *target = NULL;
  gint64 id;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_key != NULL)
    *out_key = NULL;

  if (!(clean_name = dup_key_name (name, error)))
    return NULL;

  if (scopes == 0 || (scopes & ~RFL_API_SCOPES_ALL) != 0)
    {
      invalid (error, _("An API key needs at least one scope: chat, "
                        "publish, read or admin"));
      return NULL;
    }

  if (!_rfl_store_txn_begin (&txn, self->db, error))
    return NULL;

  if (!(status = dup_tenant_status (self, tenant_id, error))
      || !check_actor (self, actor, error))
    return NULL;

  secret = make_secret ();
  plaintext = g_strconcat (RFL_API_KEY_PREFIX, secret, NULL);
  prefix = g_strndup (plaintext, RFL_API_KEY_DISPLAY_PREFIX_LENGTH);
  hash = hash_secret (plaintext);

  id = insert_api_key (self, tenant_id, clean_name, prefix, hash, scopes,
                       actor, error);
  if (id == 0)
    return NULL;

  target = g_strdup_printf ("api_key:%" G_GINT64_FORMAT, id);
  detail = key_detail (clean_name, prefix, scopes);
  if (audit (self, tenant_id, actor, RFL_AUDIT_API_KEY_CREATED, target,
             detail, error) == 0
      || !_rfl_store_txn_commit (&txn, error))
    return NULL;

  sodium_memzero (secret, strlen (secret));

  if (out_key != NULL)
    *out_key = rfl_auth_store_get_api_key (self, tenant_id, id, NULL);

  return g_steal_pointer (&plaintext);
}

static RflApiKey *
find_api_key (RflAuthStore  *self,
              const char    *sql,
              gint64         first,
              gint64         second,
              const char    *text,
              GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, sql, error);
  if (stmt == NULL)
    return NULL;

  if (text != NULL)
    _rfl_store_bind_text (stmt, 1, text);
  else
    {
      sqlite3_bind_int64 (stmt, 1, first);
      sqlite3_bind_int64 (stmt, 2, second);
    }

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return read_api_key (stmt);

  if (rc != SQLITE_DONE)
    _rfl_database_set_error (self->db, rc, error);

  return NULL;
}

RflApiKey *
rfl_auth_store_get_api_key (RflAuthStore  *self,
                            gint64         tenant_id,
                            gint64         key_id,
                            GError       **error)
{
  g_autofree char *sql = NULL;
  GError *local_error = NULL;
  RflApiKey *key;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sql = g_strdup_printf ("SELECT %s FROM api_keys "
                         "WHERE tenant_id = ?1 AND id = ?2",
                         api_key_columns);
  key = find_api_key (self, sql, tenant_id, key_id, NULL, &local_error);
  if (key == NULL && local_error == NULL)
    g_set_error_literal (&local_error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                         _("The API key does not exist in this tenant"));

  if (local_error != NULL)
    g_propagate_error (error, local_error);

  return key;
}

GPtrArray *
rfl_auth_store_list_api_keys (RflAuthStore  *self,
                              gint64         tenant_id,
                              GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autofree char *sql = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sql = g_strdup_printf ("SELECT %s FROM api_keys WHERE tenant_id = ?1 "
                         "ORDER BY id DESC",
                         api_key_columns);
  stmt = _rfl_database_prepare (self->db, sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);

  keys = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_api_key_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (keys, read_api_key (stmt));

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&keys);
}

gboolean
rfl_auth_store_revoke_api_key (RflAuthStore         *self,
                               gint64                tenant_id,
                               gint64                key_id,
                               const RflAuditActor  *actor,
                               GError              **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(JsonBuilder) detail = NULL;
  g_autofree char *target = NULL;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_rfl_store_txn_begin (&txn, self->db, error)
      || !(key = rfl_auth_store_get_api_key (self, tenant_id, key_id, error))
      || !check_actor (self, actor, error))
    return FALSE;

  if (key->revoked_at != 0)
    return TRUE;

  stmt = _rfl_database_prepare (self->db,
                                "UPDATE api_keys SET revoked_at = ?3, "
                                "revoked_by = ?4 "
                                "WHERE tenant_id = ?1 AND id = ?2 "
                                "AND revoked_at IS NULL",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, key_id);
  sqlite3_bind_int64 (stmt, 3, _rfl_store_now_ms ());
  bind_id (stmt, 4, actor != NULL ? actor->user_id : 0);

  if (!_rfl_store_step_done (self->db, stmt, error))
    return FALSE;

  target = g_strdup_printf ("api_key:%" G_GINT64_FORMAT, key_id);
  detail = key_detail (key->name, key->prefix, key->scopes);

  return audit (self, tenant_id, actor, RFL_AUDIT_API_KEY_REVOKED, target,
                detail, error) != 0
         && _rfl_store_txn_commit (&txn, error);
}

/* Writes last_used_at, at most once a minute: a key used in a tight loop
 * does not turn every request into a write. */
static void
touch_api_key (RflAuthStore *self,
               RflApiKey    *key)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = _rfl_store_now_ms ();

  if (key->last_used_at != 0
      && now - key->last_used_at < RFL_API_KEY_TOUCH_INTERVAL_MS)
    return;

  stmt = _rfl_database_prepare (self->db,
                                "UPDATE api_keys SET last_used_at = ?2 "
                                "WHERE id = ?1 AND (last_used_at IS NULL "
                                "OR last_used_at <= ?2 - ?3)",
                                &error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, key->id);
      sqlite3_bind_int64 (stmt, 2, now);
      sqlite3_bind_int64 (stmt, 3, RFL_API_KEY_TOUCH_INTERVAL_MS);
      if (_rfl_store_step_done (self->db, stmt, &error))
        key->last_used_at = now;
    }

  if (error != NULL)
    g_warning ("Cannot record the use of API key %" G_GINT64_FORMAT ": %s",
               key->id, error->message);
}

/* Looks the key of @hash up with its tenant's status: one statement, so
 * that an authentication costs one read of the database. *tenant_active
 * is FALSE when the tenant is suspended, deleted or gone. NULL with no
 * error when there is no such key. */
static RflApiKey *
find_key_with_tenant (RflAuthStore  *self,
                      const char    *hash,
                      gboolean      *tenant_active,
                      GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  *tenant_active = FALSE;

  stmt = _rfl_database_prepare (self->db, authenticate_key_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_text (stmt, 1, hash, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *tenant_active = column_is (stmt, AUTHENTICATE_KEY_STATUS, "active");
      return read_api_key (stmt);
    }

  if (rc != SQLITE_DONE)
    _rfl_database_set_error (self->db, rc, error);

  return NULL;
}

RflApiKey *
rfl_auth_store_authenticate_api_key (RflAuthStore  *self,
                                     const char    *key,
                                     GError       **error)
{
  g_autoptr(RflApiKey) found = NULL;
  char hash[SECRET_HASH_LENGTH + 1];
  gboolean tenant_active;
  GError *local_error = NULL;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (key == NULL || *key == '\0')
    {
      unauthorized (error, _("No API key was given"));
      return NULL;
    }

  if (!g_str_has_prefix (key, RFL_API_KEY_PREFIX)
      || !is_secret_text (key + strlen (RFL_API_KEY_PREFIX)))
    {
      unauthorized (error, _("The API key is malformed: it must be “rfl_” "
                             "followed by 43 letters, digits, “-” or “_”"));
      return NULL;
    }

  hash_secret_into (key, hash);
  found = find_key_with_tenant (self, hash, &tenant_active, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  if (found == NULL)
    {
      unauthorized (error, _("The API key is not valid: no such key exists"));
      return NULL;
    }

  if (found->revoked_at != 0)
    {
      g_autofree char *when = format_time (found->revoked_at);

      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The API key “%s…” was revoked on %s"),
                   found->prefix, when);
      return NULL;
    }

  if (!tenant_active)
    {
      unauthorized (error, _("The API key is refused: its tenant is "
                             "suspended or deleted"));
      return NULL;
    }

  touch_api_key (self, found);

  return g_steal_pointer (&found);
}

/* Sessions and refresh tokens */

static gint64
insert_session (RflAuthStore  *self,
                gint64         tenant_id,
                gint64         user_id,
                const char    *public_id,
                gint64         now,
                GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db,
                                "INSERT INTO auth_sessions (public_id, "
                                "tenant_id, user_id, created_at, "
                                "last_used_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                                error);
  if (stmt == NULL)
    return 0;

  _rfl_store_bind_text (stmt, 1, public_id);
  sqlite3_bind_int64 (stmt, 2, tenant_id);
  sqlite3_bind_int64 (stmt, 3, user_id);
  sqlite3_bind_int64 (stmt, 4, now);

  if (!_rfl_store_step_done (self->db, stmt, error))
    return 0;

  return sqlite3_last_insert_rowid (_rfl_database_get_handle (self->db));
}

/* Stores a new refresh token of @session and returns its plaintext. */
static char *
insert_refresh_token (RflAuthStore  *self,
                      gint64         session,
                      gint64         now,
                      gint64        *out_expires_at,
                      GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *token = make_secret ();
  g_autofree char *hash = hash_secret (token);

  stmt = _rfl_database_prepare (self->db,
                                "INSERT INTO refresh_tokens (session_id, "
                                "token_hash, created_at, expires_at) "
                                "VALUES (?1, ?2, ?3, ?4)",
                                error);
  if (stmt == NULL)
    return NULL;

  *out_expires_at = now + RFL_REFRESH_TOKEN_LIFETIME_MS;

  sqlite3_bind_int64 (stmt, 1, session);
  _rfl_store_bind_text (stmt, 2, hash);
  sqlite3_bind_int64 (stmt, 3, now);
  sqlite3_bind_int64 (stmt, 4, *out_expires_at);

  if (!_rfl_store_step_done (self->db, stmt, error))
    return NULL;

  return g_steal_pointer (&token);
}

/* Ends a session; the caller audits why. */
static gboolean
revoke_session (RflAuthStore  *self,
                gint64         session,
                const char    *reason,
                GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db,
                                "UPDATE auth_sessions SET revoked_at = ?2, "
                                "revoked_reason = ?3 "
                                "WHERE id = ?1 AND revoked_at IS NULL",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, session);
  sqlite3_bind_int64 (stmt, 2, _rfl_store_now_ms ());
  _rfl_store_bind_text (stmt, 3, reason);

  return _rfl_store_step_done (self->db, stmt, error);
}

/* Makes the tokens of a session: a signed access token and @refresh. */
static RflAuthTokens *
make_tokens (RflAuthStore  *self,
             gint64         tenant_id,
             gint64         user_id,
             RflRole        role,
             const char    *session_id,
             char          *refresh,
             gint64         refresh_expires_at,
             GError       **error)
{
  g_autoptr(RflAuthTokens) tokens = g_new0 (RflAuthTokens, 1);
  g_autoptr(RflJwtClaims) claims = NULL;

  claims = rfl_jwt_claims_new (user_id, tenant_id, rfl_role_to_string (role),
                               session_id, rfl_jwt_now (),
                               RFL_JWT_ACCESS_LIFETIME);

  tokens->refresh_token = refresh;
  tokens->access_token = rfl_jwt_sign (self->key, claims, error);
  if (tokens->access_token == NULL)
    return NULL;

  tokens->access_expires_at = claims->expires_at;
  tokens->refresh_expires_at = refresh_expires_at;
  tokens->session_id = g_strdup (session_id);
  tokens->tenant_id = tenant_id;
  tokens->user_id = user_id;
  tokens->role = role;

  return g_steal_pointer (&tokens);
}

static char *
user_target (gint64 user_id)
{
  return g_strdup_printf ("user:%" G_GINT64_FORMAT, user_id);
}

/* Sign-in */

typedef struct
{
  gint64    user_id;
  gint64    tenant_id;
  char     *password_hash;
  gboolean  user_active;
  char     *tenant_status;
  RflRole   role;
} Candidate;

static void
candidate_free (gpointer data)
{
  Candidate *candidate = data;

  g_free (candidate->password_hash);
  g_free (candidate->tenant_status);
  g_free (candidate);
}

/* The accounts @email may sign in to. */
static GPtrArray *
find_candidates (RflAuthStore  *self,
                 gint64         tenant_id,
                 const char    *email,
                 GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  int rc;

  candidates = g_ptr_array_new_with_free_func (candidate_free);
  if (email == NULL)
    return g_steal_pointer (&candidates);

  stmt = _rfl_database_prepare (self->db,
                                "SELECT u.id, u.tenant_id, u.password_hash, "
                                "u.status, u.role, t.status "
                                "FROM users u JOIN tenants t "
                                "ON t.id = u.tenant_id "
                                "WHERE u.email = ?1 "
                                "AND (?2 = 0 OR u.tenant_id = ?2) "
                                "AND t.status <> 'deleted' "
                                "ORDER BY u.id LIMIT ?3",
                                error);
  if (stmt == NULL)
    return NULL;

  _rfl_store_bind_text (stmt, 1, email);
  sqlite3_bind_int64 (stmt, 2, tenant_id);
  sqlite3_bind_int (stmt, 3, MAX_LOGIN_CANDIDATES);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Candidate *candidate = g_new0 (Candidate, 1);

      candidate->user_id = sqlite3_column_int64 (stmt, 0);
      candidate->tenant_id = sqlite3_column_int64 (stmt, 1);
      candidate->password_hash = _rfl_store_dup_column_text (stmt, 2);
      candidate->user_active = column_is (stmt, 3, "active");
      if (!rfl_role_from_string ((const char *) sqlite3_column_text (stmt, 4),
                                 &candidate->role))
        candidate->role = RFL_ROLE_MEMBER;
      candidate->tenant_status = _rfl_store_dup_column_text (stmt, 5);
      g_ptr_array_add (candidates, candidate);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&candidates);
}

static gpointer
make_dummy_hash (gpointer data)
{
  guint8 random[16];
  g_autofree char *secret = NULL;

  ensure_sodium ();
  randombytes_buf (random, sizeof random);
  secret = g_base64_encode (random, sizeof random);

  return rfl_password_hash (secret, NULL);
}

/* A hash no password matches, made like the real ones, so that an unknown
 * address costs as much time as a known one. */
static const char *
get_dummy_hash (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, make_dummy_hash, NULL);
}

/* The address as stored (trimmed, lower case), or NULL when no account
 * can have it. */
static char *
normalize_email (const char *email)
{
  g_autofree char *trimmed = NULL;

  if (email == NULL || !g_utf8_validate (email, -1, NULL))
    return NULL;

  trimmed = g_strstrip (g_strdup (email));
  if (*trimmed == '\0' || strlen (trimmed) > MAX_EMAIL_BYTES)
    return NULL;

  return g_utf8_strdown (trimmed, -1);
}

/* What a failed sign-in names as its target: the address as typed, made
 * valid and cut to a sane length. */
static char *
dup_login_target (const char *email)
{
  g_autofree char *valid = NULL;
  g_autofree char *trimmed = NULL;
  const char *end;

  if (email == NULL)
    return NULL;

  valid = g_utf8_make_valid (email, -1);
  trimmed = g_strstrip (g_strdup (valid));

  if (g_utf8_strlen (trimmed, -1) <= MAX_EMAIL_BYTES)
    return g_steal_pointer (&trimmed);

  end = g_utf8_offset_to_pointer (trimmed, MAX_EMAIL_BYTES);
  return g_strndup (trimmed, end - trimmed);
}

static void
audit_failed_login (RflAuthStore    *self,
                    gint64           tenant_id,
                    const char      *email,
                    const Candidate *candidate,
                    const char      *reason)
{
  g_autoptr(JsonBuilder) detail = detail_begin ();
  g_autofree char *target = dup_login_target (email);

  detail_add_string (detail, "reason", reason);
  if (candidate != NULL)
    {
      detail_add_int (detail, "user_id", candidate->user_id);
      tenant_id = candidate->tenant_id;
    }

  audit_failure (self, tenant_id, NULL, RFL_AUDIT_FAILED_LOGIN, target,
                 detail);
}

/* Checks the password against every candidate. Returns the one it matches,
 * or NULL with @reason saying why there is none. */
static const Candidate *
match_password (GPtrArray   *candidates,
                const char  *password,
                const char **reason)
{
  if (candidates->len == 0)
    {
      rfl_password_verify (get_dummy_hash (), password);
      *reason = "unknown_email";
      return NULL;
    }

  for (guint i = 0; i < candidates->len; i++)
    {
      const Candidate *candidate = g_ptr_array_index (candidates, i);

      if (rfl_password_verify (candidate->password_hash, password))
        return candidate;
    }

  *reason = "wrong_password";
  return NULL;
}

/* Creates the session of a sign-in and its first tokens, audited. */
static RflAuthTokens *
start_session (RflAuthStore     *self,
               const Candidate  *candidate,
               GError          **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(JsonBuilder) detail = NULL;
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autofree char *public_id = make_session_id ();
  g_autofree char *target = user_target (candidate->user_id);
  RflAuditActor actor = { candidate->user_id, 0 };
  gint64 now = _rfl_store_now_ms ();
  gint64 session, expires_at = 0;
  char *refresh;

  if (!_rfl_store_txn_begin (&txn, self->db, error))
    return NULL;

  session = insert_session (self, candidate->tenant_id, candidate->user_id,
                            public_id, now, error);
  if (session == 0)
    return NULL;

  refresh = insert_refresh_token (self, session, now, &expires_at, error);
  if (refresh == NULL)
    return NULL;

  tokens = make_tokens (self, candidate->tenant_id, candidate->user_id,
                        candidate->role, public_id, refresh, expires_at,
                        error);
  if (tokens == NULL)
    return NULL;

  detail = detail_begin ();
  detail_add_string (detail, "session", public_id);

  if (audit (self, candidate->tenant_id, &actor, RFL_AUDIT_LOGIN, target,
             detail, error) == 0
      || !_rfl_store_txn_commit (&txn, error))
    return NULL;

  return g_steal_pointer (&tokens);
}

RflAuthTokens *
rfl_auth_store_login (RflAuthStore  *self,
                      gint64         tenant_id,
                      const char    *email,
                      const char    *password,
                      GError       **error)
{
  g_autoptr(GPtrArray) candidates = NULL;
  g_autofree char *norm_email = NULL;
  const Candidate *match;
  const char *reason = NULL;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (tenant_id >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  norm_email = normalize_email (email);
  candidates = find_candidates (self, tenant_id, norm_email, error);
  if (candidates == NULL)
    return NULL;

  if (password == NULL || strlen (password) > MAX_PASSWORD_BYTES)
    password = "";

  match = match_password (candidates, password, &reason);

  if (match != NULL && !match->user_active)
    reason = "user_disabled";
  else if (match != NULL && g_strcmp0 (match->tenant_status, "active") != 0)
    reason = "tenant_suspended";

  if (reason != NULL)
    {
      audit_failed_login (self, tenant_id, email,
                          match != NULL ? match
                          : candidates->len == 1
                          ? g_ptr_array_index (candidates, 0) : NULL,
                          reason);
      unauthorized (error, _("Wrong e-mail address or password"));
      return NULL;
    }

  return start_session (self, match, error);
}

/* A sign-in in three steps, so that the password check can leave the
 * database thread. */
struct _RflLoginAttempt
{
  gint64      tenant_id;    /* as asked; 0: any tenant */
  char       *email;        /* owned: as typed */
  char       *password;     /* owned: wiped on free */
  GPtrArray  *candidates;   /* owned, of Candidate */
  const Candidate *match;   /* borrowed from candidates */
  const char *reason;       /* static; NULL when the password matched */
  gboolean    verified;
};

void
rfl_login_attempt_free (RflLoginAttempt *attempt)
{
  if (attempt == NULL)
    return;

  if (attempt->password != NULL)
    sodium_memzero (attempt->password, strlen (attempt->password));
  g_free (attempt->password);
  g_free (attempt->email);
  g_clear_pointer (&attempt->candidates, g_ptr_array_unref);
  g_free (attempt);
}

RflLoginAttempt *
rfl_auth_store_begin_login (RflAuthStore  *self,
                            gint64         tenant_id,
                            const char    *email,
                            const char    *password,
                            GError       **error)
{
  g_autoptr(RflLoginAttempt) attempt = NULL;
  g_autofree char *norm_email = NULL;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (tenant_id >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  attempt = g_new0 (RflLoginAttempt, 1);
  attempt->tenant_id = tenant_id;
  attempt->email = g_strdup (email);
  norm_email = normalize_email (email);
  attempt->candidates = find_candidates (self, tenant_id, norm_email, error);
  if (attempt->candidates == NULL)
    return NULL;

  if (password == NULL || strlen (password) > MAX_PASSWORD_BYTES)
    password = "";
  attempt->password = g_strdup (password);

  /* The dummy hash is made here, on the caller's thread, once. */
  if (attempt->candidates->len == 0)
    get_dummy_hash ();

  return g_steal_pointer (&attempt);
}

void
rfl_login_attempt_verify (RflLoginAttempt *attempt)
{
  g_return_if_fail (attempt != NULL);
  g_return_if_fail (!attempt->verified);

  attempt->match = match_password (attempt->candidates, attempt->password,
                                   &attempt->reason);
  attempt->verified = TRUE;
}

gint64
rfl_login_attempt_get_tenant_id (RflLoginAttempt *attempt)
{
  g_return_val_if_fail (attempt != NULL, 0);

  if (attempt->match != NULL)
    return attempt->match->tenant_id;
  if (attempt->candidates->len == 1)
    return ((const Candidate *) g_ptr_array_index (attempt->candidates, 0))->tenant_id;
  return attempt->tenant_id;
}

RflAuthTokens *
rfl_auth_store_finish_login (RflAuthStore     *self,
                             RflLoginAttempt  *attempt,
                             GError          **error)
{
  const Candidate *match;
  const char *reason;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (attempt != NULL && attempt->verified, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  match = attempt->match;
  reason = attempt->reason;
  if (match != NULL && !match->user_active)
    reason = "user_disabled";
  else if (match != NULL && g_strcmp0 (match->tenant_status, "active") != 0)
    reason = "tenant_suspended";

  if (reason != NULL)
    {
      audit_failed_login (self, attempt->tenant_id, attempt->email,
                          match != NULL ? match
                          : attempt->candidates->len == 1
                          ? g_ptr_array_index (attempt->candidates, 0) : NULL,
                          reason);
      unauthorized (error, _("Wrong e-mail address or password"));
      return NULL;
    }

  return start_session (self, match, error);
}

void
rfl_auth_store_audit_login_locked (RflAuthStore    *self,
                                   RflLoginAttempt *attempt,
                                   const char      *limit,
                                   const char      *client,
                                   guint            failures,
                                   guint            window_s)
{
  g_autoptr(JsonBuilder) detail = detail_begin ();
  g_autofree char *target = NULL;

  g_return_if_fail (RFL_IS_AUTH_STORE (self));
  g_return_if_fail (attempt != NULL);
  g_return_if_fail (limit != NULL);

  target = dup_login_target (attempt->email);
  detail_add_string (detail, "limit", limit);
  if (client != NULL)
    detail_add_string (detail, "client", client);
  detail_add_int (detail, "failures", failures);
  detail_add_int (detail, "window_seconds", window_s);
  audit_failure (self, rfl_login_attempt_get_tenant_id (attempt), NULL,
                 RFL_AUDIT_LOGIN_LOCKED, target, detail);
}

/* Refreshing */

typedef struct
{
  gint64    token_row;
  gint64    expires_at;
  gboolean  used;
  gint64    session;
  char     *public_id;
  gint64    tenant_id;
  gint64    user_id;
  gboolean  revoked;
  gboolean  active;     /* user and tenant */
  RflRole   role;
} RefreshState;

static void
refresh_state_clear (RefreshState *state)
{
  g_clear_pointer (&state->public_id, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RefreshState, refresh_state_clear)

/* Looks a refresh token up with its session. FALSE with an error only when
 * the database fails; *found tells whether the token is known. */
static gboolean
find_refresh_token (RflAuthStore  *self,
                    const char    *token,
                    RefreshState  *state,
                    gboolean      *found,
                    GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *hash = hash_secret (token);
  int rc;

  *found = FALSE;

  stmt = _rfl_database_prepare (self->db,
                                "SELECT r.id, r.expires_at, r.used_at, s.id, "
                                "s.public_id, s.tenant_id, s.user_id, "
                                "s.revoked_at, u.status, u.role, t.status "
                                "FROM refresh_tokens r "
                                "JOIN auth_sessions s ON s.id = r.session_id "
                                "JOIN users u ON u.tenant_id = s.tenant_id "
                                "AND u.id = s.user_id "
                                "JOIN tenants t ON t.id = s.tenant_id "
                                "WHERE r.token_hash = ?1",
                                error);
  if (stmt == NULL)
    return FALSE;

  _rfl_store_bind_text (stmt, 1, hash);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return TRUE;
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (self->db, rc, error);

  *found = TRUE;
  state->token_row = sqlite3_column_int64 (stmt, 0);
  state->expires_at = sqlite3_column_int64 (stmt, 1);
  state->used = sqlite3_column_type (stmt, 2) != SQLITE_NULL;
  state->session = sqlite3_column_int64 (stmt, 3);
  state->public_id = _rfl_store_dup_column_text (stmt, 4);
  state->tenant_id = sqlite3_column_int64 (stmt, 5);
  state->user_id = sqlite3_column_int64 (stmt, 6);
  state->revoked = sqlite3_column_type (stmt, 7) != SQLITE_NULL;
  state->active = column_is (stmt, 8, "active") && column_is (stmt, 10,
                                                              "active");
  if (!rfl_role_from_string ((const char *) sqlite3_column_text (stmt, 9),
                             &state->role))
    state->role = RFL_ROLE_MEMBER;

  return TRUE;
}

/* Opens a transaction and finds @token in it. On FALSE the error says why
 * the token is refused. */
static gboolean
begin_with_refresh_token (RflAuthStore  *self,
                          RflStoreTxn   *txn,
                          const char    *token,
                          RefreshState  *state,
                          GError       **error)
{
  gboolean found;

  if (token == NULL || *token == '\0')
    return unauthorized (error, _("No refresh token was given"));

  if (!is_secret_text (token))
    return unauthorized (error, _("The refresh token is malformed"));

  if (!_rfl_store_txn_begin (txn, self->db, error)
      || !find_refresh_token (self, token, state, &found, error))
    return FALSE;

  if (!found)
    return unauthorized (error, _("The refresh token is not valid: no such "
                                  "token exists"));

  return TRUE;
}

/* A used token came back: whoever holds the tokens of this session, it is
 * not only its rightful owner. The session ends everywhere. */
static void
handle_reuse (RflAuthStore  *self,
              RflStoreTxn   *txn,
              RefreshState  *state,
              GError       **error)
{
  g_autoptr(JsonBuilder) detail = detail_begin ();
  g_autofree char *target = user_target (state->user_id);
  g_autoptr(GError) local_error = NULL;

  detail_add_string (detail, "session", state->public_id);

  if (!revoke_session (self, state->session, "reuse", &local_error)
      || audit (self, state->tenant_id, NULL, RFL_AUDIT_REFRESH_TOKEN_REUSED,
                target, detail, &local_error) == 0
      || !_rfl_store_txn_commit (txn, &local_error))
    g_warning ("Cannot end the session of a reused refresh token: %s",
               local_error->message);

  unauthorized (error, _("Reused refresh token: all sessions of this login "
                         "were signed out. Please sign in again."));
}

static gboolean
check_refresh_state (RflAuthStore  *self,
                     RflStoreTxn   *txn,
                     RefreshState  *state,
                     gint64         now,
                     GError       **error)
{
  if (state->revoked)
    return unauthorized (error, _("This sign-in has ended: the refresh "
                                  "token belongs to a session that was "
                                  "signed out"));

  if (state->used)
    {
      handle_reuse (self, txn, state, error);
      return FALSE;
    }

  if (now >= state->expires_at)
    {
      g_autofree char *when = format_time (state->expires_at);

      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The refresh token expired on %s: please sign in again"),
                   when);
      return FALSE;
    }

  if (!state->active)
    {
      g_autoptr(GError) local_error = NULL;

      if (!revoke_session (self, state->session, "inactive", &local_error)
          || !_rfl_store_txn_commit (txn, &local_error))
        g_warning ("Cannot end a session of an inactive account: %s",
                   local_error->message);

      return unauthorized (error, _("The user account or its tenant is no "
                                    "longer active"));
    }

  return TRUE;
}

static gboolean
use_refresh_token (RflAuthStore  *self,
                   RefreshState  *state,
                   gint64         now,
                   GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(RflCachedStmt) session_stmt = NULL;

  stmt = _rfl_database_prepare (self->db,
                                "UPDATE refresh_tokens SET used_at = ?2 "
                                "WHERE id = ?1 AND used_at IS NULL",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, state->token_row);
  sqlite3_bind_int64 (stmt, 2, now);
  if (!_rfl_store_step_done (self->db, stmt, error))
    return FALSE;

  session_stmt = _rfl_database_prepare (self->db,
                                        "UPDATE auth_sessions "
                                        "SET last_used_at = ?2 WHERE id = ?1",
                                        error);
  if (session_stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (session_stmt, 1, state->session);
  sqlite3_bind_int64 (session_stmt, 2, now);
  return _rfl_store_step_done (self->db, session_stmt, error);
}

RflAuthTokens *
rfl_auth_store_refresh (RflAuthStore  *self,
                        const char    *refresh_token,
                        GError       **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_auto(RefreshState) state = { 0 };
  g_autoptr(RflAuthTokens) tokens = NULL;
  gint64 now = _rfl_store_now_ms ();
  gint64 expires_at = 0;
  char *next;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!begin_with_refresh_token (self, &txn, refresh_token, &state, error)
      || !check_refresh_state (self, &txn, &state, now, error)
      || !use_refresh_token (self, &state, now, error))
    return NULL;

  next = insert_refresh_token (self, state.session, now, &expires_at, error);
  if (next == NULL)
    return NULL;

  tokens = make_tokens (self, state.tenant_id, state.user_id, state.role,
                        state.public_id, next, expires_at, error);
  if (tokens == NULL || !_rfl_store_txn_commit (&txn, error))
    return NULL;

  return g_steal_pointer (&tokens);
}

/* Signing out */

static gboolean
end_session (RflAuthStore  *self,
             RflStoreTxn   *txn,
             gint64         tenant_id,
             gint64         user_id,
             gint64         session,
             const char    *public_id,
             GError       **error)
{
  g_autoptr(JsonBuilder) detail = detail_begin ();
  g_autofree char *target = user_target (user_id);
  RflAuditActor actor = { user_id, 0 };

  detail_add_string (detail, "session", public_id);

  return revoke_session (self, session, "logout", error)
         && audit (self, tenant_id, &actor, RFL_AUDIT_LOGOUT, target, detail,
                   error) != 0
         && _rfl_store_txn_commit (txn, error);
}

gboolean
rfl_auth_store_logout (RflAuthStore  *self,
                       const char    *refresh_token,
                       GError       **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_auto(RefreshState) state = { 0 };

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!begin_with_refresh_token (self, &txn, refresh_token, &state, error))
    return FALSE;

  /* A used or expired token still names its session: signing out with it
   * ends the session all the same. */
  if (state.revoked)
    return TRUE;

  return end_session (self, &txn, state.tenant_id, state.user_id,
                      state.session, state.public_id, error);
}

gboolean
rfl_auth_store_logout_session (RflAuthStore  *self,
                               gint64         tenant_id,
                               const char    *session_id,
                               GError       **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  gint64 session, user_id;
  gboolean revoked;
  int rc;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_rfl_store_txn_begin (&txn, self->db, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db,
                                "SELECT id, user_id, revoked_at "
                                "FROM auth_sessions "
                                "WHERE public_id = ?1 AND tenant_id = ?2",
                                error);
  if (stmt == NULL)
    return FALSE;

  _rfl_store_bind_text (stmt, 1, session_id != NULL ? session_id : "");
  sqlite3_bind_int64 (stmt, 2, tenant_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The session does not exist in this tenant"));
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (self->db, rc, error);

  session = sqlite3_column_int64 (stmt, 0);
  user_id = sqlite3_column_int64 (stmt, 1);
  revoked = sqlite3_column_type (stmt, 2) != SQLITE_NULL;
  g_clear_pointer (&stmt, _rfl_cached_stmt_release);

  if (revoked)
    return TRUE;

  return end_session (self, &txn, tenant_id, user_id, session, session_id,
                      error);
}

guint
rfl_auth_store_revoke_user_sessions (RflAuthStore         *self,
                                     gint64                tenant_id,
                                     gint64                user_id,
                                     const RflAuditActor  *actor,
                                     GError              **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(JsonBuilder) detail = NULL;
  g_autofree char *target = NULL;
  int n_revoked;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!_rfl_store_txn_begin (&txn, self->db, error)
      || !_rfl_store_check_user (self->db, tenant_id, user_id, error)
      || !check_actor (self, actor, error))
    return 0;

  stmt = _rfl_database_prepare (self->db,
                                "UPDATE auth_sessions SET revoked_at = ?3, "
                                "revoked_reason = 'admin' "
                                "WHERE tenant_id = ?1 AND user_id = ?2 "
                                "AND revoked_at IS NULL",
                                error);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, _rfl_store_now_ms ());
  if (!_rfl_store_step_done (self->db, stmt, error))
    return 0;

  n_revoked = sqlite3_changes (_rfl_database_get_handle (self->db));
  if (n_revoked == 0)
    {
      _rfl_store_txn_commit (&txn, NULL);
      return 0;
    }

  target = user_target (user_id);
  detail = detail_begin ();
  detail_add_int (detail, "sessions", n_revoked);

  if (audit (self, tenant_id, actor, RFL_AUDIT_SESSIONS_REVOKED, target,
             detail, error) == 0
      || !_rfl_store_txn_commit (&txn, error))
    return 0;

  return (guint) n_revoked;
}

/* Requests */

static RflAuthPrincipal *
authenticate_access_token (RflAuthStore  *self,
                           const char    *token,
                           GError       **error)
{
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;
  int rc;

  claims = rfl_jwt_verify (self->key, token, rfl_jwt_now (), error);
  if (claims == NULL)
    return NULL;

  if (claims->session_id == NULL)
    {
      unauthorized (error, _("The access token names no session"));
      return NULL;
    }

  stmt = _rfl_database_prepare (self->db,
                                "SELECT s.revoked_at, u.status, u.role, "
                                "t.status FROM auth_sessions s "
                                "JOIN users u ON u.tenant_id = s.tenant_id "
                                "AND u.id = s.user_id "
                                "JOIN tenants t ON t.id = s.tenant_id "
                                "WHERE s.public_id = ?1 AND s.tenant_id = ?2 "
                                "AND s.user_id = ?3",
                                error);
  if (stmt == NULL)
    return NULL;

  _rfl_store_bind_text (stmt, 1, claims->session_id);
  sqlite3_bind_int64 (stmt, 2, claims->tenant_id);
  sqlite3_bind_int64 (stmt, 3, claims->user_id);

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  if (rc == SQLITE_DONE)
    {
      unauthorized (error, _("The session of the access token does not "
                             "exist"));
      return NULL;
    }

  if (sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    {
      unauthorized (error, _("The session of the access token was signed "
                             "out"));
      return NULL;
    }

  if (!column_is (stmt, 1, "active") || !column_is (stmt, 3, "active"))
    {
      unauthorized (error, _("The user account or its tenant is no longer "
                             "active"));
      return NULL;
    }

  principal = g_new0 (RflAuthPrincipal, 1);
  principal->kind = RFL_PRINCIPAL_USER;
  principal->tenant_id = claims->tenant_id;
  principal->user_id = claims->user_id;
  /* The role as it is now, not as it was when the token was made. */
  if (!rfl_role_from_string ((const char *) sqlite3_column_text (stmt, 2),
                             &principal->role))
    principal->role = RFL_ROLE_MEMBER;
  principal->scopes = scopes_for_role (principal->role);
  principal->session_id = g_strdup (claims->session_id);

  return g_steal_pointer (&principal);
}

RflAuthPrincipal *
rfl_auth_store_authenticate (RflAuthStore  *self,
                             const char    *credential,
                             GError       **error)
{
  g_autoptr(RflApiKey) key = NULL;
  RflAuthPrincipal *principal;

  g_return_val_if_fail (RFL_IS_AUTH_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (credential == NULL || *credential == '\0')
    {
      unauthorized (error, _("No credentials were given: send an API key or "
                             "an access token"));
      return NULL;
    }

  if (!g_str_has_prefix (credential, RFL_API_KEY_PREFIX))
    return authenticate_access_token (self, credential, error);

  key = rfl_auth_store_authenticate_api_key (self, credential, error);
  if (key == NULL)
    return NULL;

  principal = g_new0 (RflAuthPrincipal, 1);
  principal->kind = RFL_PRINCIPAL_API_KEY;
  principal->tenant_id = key->tenant_id;
  principal->api_key_id = key->id;
  principal->role = RFL_ROLE_MEMBER;
  principal->scopes = key->scopes;

  return principal;
}
