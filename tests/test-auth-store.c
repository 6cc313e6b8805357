/* test-auth-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "core/rfl-error.h"
#include "core/rfl-jwt.h"
#include "store/rfl-audit-log.h"
#include "store/rfl-auth-store.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"

#define PASSWORD_A "correct horse battery"
#define PASSWORD_B "another long password"
#define WRONG_LOGIN "Wrong e-mail address or password"

typedef struct
{
  RflDatabase   *db;
  RflSigningKey *key;
  RflAuthStore  *store;
  gint64         tenant_a;
  gint64         tenant_b;
  gint64         admin_a;     /* tenant administrator of A */
  gint64         user_b;      /* member of B */
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (),
                                            "reflection", "reflection.db",
                                            NULL);
  g_autoptr(GError) error = NULL;

  fixture->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->key = rfl_signing_key_new_random ();
  fixture->store = rfl_auth_store_new (fixture->db, fixture->key);

  fixture->tenant_a = rfl_database_create_tenant (fixture->db, "Alpha",
                                                  "business", &error);
  g_assert_no_error (error);
  fixture->tenant_b = rfl_database_create_tenant (fixture->db, "Beta",
                                                  "privacy", &error);
  g_assert_no_error (error);

  fixture->admin_a = rfl_database_create_user (fixture->db, fixture->tenant_a,
                                               "ann@example.org", "Ann",
                                               PASSWORD_A,
                                               RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
  fixture->user_b = rfl_database_create_user (fixture->db, fixture->tenant_b,
                                              "bob@example.org", "Bob",
                                              PASSWORD_B, RFL_ROLE_MEMBER,
                                              &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->store);
  g_clear_pointer (&fixture->key, rfl_signing_key_unref);
  g_clear_object (&fixture->db);
}

static void
exec_sql (Fixture    *fixture,
          const char *sql)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (_rfl_database_exec (fixture->db, sql, &error));
  g_assert_no_error (error);
}

static gint64
query_int (Fixture    *fixture,
           const char *sql)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (fixture->db),
                                       sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

/* Runs a count query with @text bound to ?1. */
static gint64
count_containing (Fixture    *fixture,
                  const char *sql,
                  const char *text)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (fixture->db),
                                       sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, text, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

static guint
count_audit (Fixture    *fixture,
             const char *action)
{
  RflAuditLog *log = rfl_auth_store_get_audit_log (fixture->store);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;

  entries = rfl_audit_log_list (log, &(RflAuditFilter) { .action = action,
                                                         .limit = 1000 },
                                &error);
  g_assert_no_error (error);
  return entries->len;
}

/* The newest audit entry with @action. */
static RflAuditEntry *
last_audit (Fixture    *fixture,
            const char *action)
{
  RflAuditLog *log = rfl_auth_store_get_audit_log (fixture->store);
  g_autoptr(GPtrArray) entries = NULL;

  entries = rfl_audit_log_list (log, &(RflAuditFilter) { .action = action,
                                                         .limit = 1 },
                                NULL);
  g_assert_nonnull (entries);
  g_assert_cmpuint (entries->len, ==, 1);
  return rfl_audit_entry_copy (g_ptr_array_index (entries, 0));
}

static void
assert_chain_intact (Fixture *fixture)
{
  RflAuditLog *log = rfl_auth_store_get_audit_log (fixture->store);
  g_autoptr(RflAuditVerifyResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_audit_log_verify (log, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->broken_id, ==, 0);
}

static void
assert_unauthorized (GError     *error,
                     const char *fragment)
{
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  if (strstr (error->message, fragment) == NULL)
    g_error ("Expected “%s” in the error “%s”", fragment, error->message);
}

static char *
create_key (Fixture      *fixture,
            gint64        tenant_id,
            const char   *name,
            RflApiScopes  scopes,
            RflApiKey   **out_key)
{
  RflAuditActor actor = { fixture->admin_a, 0 };
  g_autoptr(GError) error = NULL;
  char *plaintext;

  plaintext = rfl_auth_store_create_api_key (fixture->store, tenant_id, name,
                                             scopes, &actor, out_key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plaintext);
  return plaintext;
}

/* Scopes */

static void
test_scopes (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  RflApiScopes scopes = 0;

  g_assert_true (rfl_api_scopes_parse ("read, chat", &scopes, &error));
  g_assert_no_error (error);
  g_assert_cmpint (scopes, ==, RFL_API_SCOPE_CHAT | RFL_API_SCOPE_READ);
  text = rfl_api_scopes_to_string (scopes);
  g_assert_cmpstr (text, ==, "chat,read");

  g_assert_true (rfl_api_scopes_parse ("admin publish", &scopes, &error));
  g_assert_cmpint (scopes, ==, RFL_API_SCOPE_ADMIN | RFL_API_SCOPE_PUBLISH);

  g_assert_false (rfl_api_scopes_parse ("chat,root", &scopes, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "“root”"));
  g_clear_error (&error);

  g_assert_false (rfl_api_scopes_parse (" , ", &scopes, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_false (rfl_api_scopes_parse (NULL, &scopes, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

/* API keys */

static void
test_key_shown_once (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(RflApiKey) again = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;
  g_autofree char *plaintext = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *other = NULL;

  plaintext = create_key (fixture, fixture->tenant_a, "  CI pipeline ",
                          RFL_API_SCOPE_CHAT | RFL_API_SCOPE_READ, &key);

  g_assert_true (g_str_has_prefix (plaintext, "rfl_"));
  g_assert_cmpuint (strlen (plaintext), ==, 47);
  g_assert_cmpstr (key->name, ==, "CI pipeline");
  g_assert_cmpuint (strlen (key->prefix), ==, 8);
  g_assert_true (g_str_has_prefix (plaintext, key->prefix));
  g_assert_cmpint (key->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpint (key->created_by, ==, fixture->admin_a);
  g_assert_cmpint (key->last_used_at, ==, 0);
  g_assert_cmpint (key->revoked_at, ==, 0);
  g_assert_cmpint (key->created_at, >, 0);

  /* Keys are random. */
  other = create_key (fixture, fixture->tenant_a, "Other", RFL_API_SCOPE_READ,
                      NULL);
  g_assert_cmpstr (other, !=, plaintext);

  /* Only the SHA-256 is stored; no column holds the key. */
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, plaintext, -1);
  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (fixture->db),
                                       "SELECT key_hash, prefix, name "
                                       "FROM api_keys WHERE id = ?1",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, key->id);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, hash);
  g_assert_cmpint (count_containing (fixture,
                                     "SELECT count(*) FROM api_keys "
                                     "WHERE instr (key_hash || prefix || "
                                     "name, ?1) > 0",
                                     plaintext + 8), ==, 0);
  g_assert_cmpint (count_containing (fixture,
                                     "SELECT count(*) FROM audit_log "
                                     "WHERE instr (coalesce (target, '') || "
                                     "coalesce (detail, ''), ?1) > 0",
                                     plaintext + 8), ==, 0);

  /* Looking the key up again never gives the secret back. */
  again = rfl_auth_store_get_api_key (fixture->store, fixture->tenant_a,
                                      key->id, NULL);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->prefix, ==, key->prefix);
  g_assert_null (strstr (again->name, plaintext + 8));
  g_assert_cmpuint (strlen (again->prefix), <, strlen (plaintext));

  keys = rfl_auth_store_list_api_keys (fixture->store, fixture->tenant_a,
                                       NULL);
  g_assert_cmpuint (keys->len, ==, 2);
  for (guint i = 0; i < keys->len; i++)
    {
      RflApiKey *listed = g_ptr_array_index (keys, i);

      g_assert_null (strstr (listed->prefix, plaintext + 8));
      g_assert_cmpuint (strlen (listed->prefix), ==, 8);
    }
  /* Newest first. */
  g_assert_cmpstr (((RflApiKey *) keys->pdata[0])->name, ==, "Other");

  /* Audited, without the secret. */
  entry = last_audit (fixture, RFL_AUDIT_API_KEY_CREATED);
  g_assert_cmpint (entry->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpint (entry->actor_user_id, ==, fixture->admin_a);
  g_assert_null (strstr (entry->detail, other + 8));
  g_assert_nonnull (strstr (entry->detail, "\"scopes\":\"read\""));
}

static void
test_key_authenticate (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(RflApiKey) created = NULL;
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *plaintext = NULL;
  RflAuditActor actor;

  plaintext = create_key (fixture, fixture->tenant_a, "Publisher",
                          RFL_API_SCOPE_PUBLISH | RFL_API_SCOPE_READ,
                          &created);

  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_no_error (error);
  g_assert_cmpint (key->id, ==, created->id);
  g_assert_cmpint (key->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpint (key->scopes, ==, RFL_API_SCOPE_PUBLISH | RFL_API_SCOPE_READ);

  principal = rfl_auth_store_authenticate (fixture->store, plaintext, &error);
  g_assert_no_error (error);
  g_assert_cmpint (principal->kind, ==, RFL_PRINCIPAL_API_KEY);
  g_assert_cmpint (principal->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpint (principal->api_key_id, ==, created->id);
  g_assert_cmpint (principal->user_id, ==, 0);
  g_assert_true (rfl_auth_principal_has_scope (principal,
                                               RFL_API_SCOPE_PUBLISH));
  g_assert_false (rfl_auth_principal_has_scope (principal,
                                                RFL_API_SCOPE_CHAT));
  g_assert_false (rfl_auth_principal_has_scope (principal,
                                                RFL_API_SCOPE_ADMIN));
  g_assert_false (rfl_auth_principal_has_scope (principal,
                                                RFL_API_SCOPE_READ
                                                | RFL_API_SCOPE_ADMIN));
  actor = rfl_auth_principal_get_actor (principal);
  g_assert_cmpint (actor.api_key_id, ==, created->id);
  g_assert_cmpint (actor.user_id, ==, 0);
}

static void
test_key_bad_credentials (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *plaintext = NULL;
  g_autofree char *changed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflApiKey) key = NULL;
  const char * const malformed[] = {
    "rfl_", "rfl_short", "sk-0123456789abcdef0123456789abcdef0123456789a",
    "rfl_0123456789abcdef0123456789abcdef0123456789+",
    "rfl_0123456789abcdef0123456789abcdef0123456789ab",
  };

  plaintext = create_key (fixture, fixture->tenant_a, "CI",
                          RFL_API_SCOPE_CHAT, NULL);

  key = rfl_auth_store_authenticate_api_key (fixture->store, "", &error);
  g_assert_null (key);
  assert_unauthorized (error, "No API key");
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      key = rfl_auth_store_authenticate_api_key (fixture->store, malformed[i],
                                                 &error);
      g_assert_null (key);
      assert_unauthorized (error, "malformed");
      g_clear_error (&error);
    }

  /* Well-formed, but not a key anyone was given. */
  changed = g_strdup (plaintext);
  changed[10] = changed[10] == 'a' ? 'b' : 'a';
  key = rfl_auth_store_authenticate_api_key (fixture->store, changed, &error);
  g_assert_null (key);
  assert_unauthorized (error, "no such key");
}

static void
test_key_bad_input (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *long_name = g_strnfill (81, 'n');
  RflAuditActor ghost = { 999999, 0 };
  g_autoptr(GError) error = NULL;
  char *plaintext;
  const struct {
    const char   *name;
    RflApiScopes  scopes;
  } cases[] = {
    { NULL, RFL_API_SCOPE_CHAT },
    { "   ", RFL_API_SCOPE_CHAT },
    { "two\nlines", RFL_API_SCOPE_CHAT },
    { "\xff", RFL_API_SCOPE_CHAT },
    { long_name, RFL_API_SCOPE_CHAT },
    { "fine", 0 },
    { "fine", 1 << 4 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      plaintext = rfl_auth_store_create_api_key (fixture->store,
                                                 fixture->tenant_a,
                                                 cases[i].name,
                                                 cases[i].scopes, NULL, NULL,
                                                 &error);
      g_assert_null (plaintext);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_clear_error (&error);
    }

  plaintext = rfl_auth_store_create_api_key (fixture->store, 424242, "CI",
                                             RFL_API_SCOPE_CHAT, NULL, NULL,
                                             &error);
  g_assert_null (plaintext);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  plaintext = rfl_auth_store_create_api_key (fixture->store, fixture->tenant_a,
                                             "CI", RFL_API_SCOPE_CHAT, &ghost,
                                             NULL, &error);
  g_assert_null (plaintext);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);

  /* Nothing was written: no key, no audit entry. */
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM api_keys"), ==, 0);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM audit_log"), ==, 0);
}

static void
test_key_revoked (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RflApiKey) created = NULL;
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(RflApiKey) listed = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *plaintext = NULL;
  g_autofree char *target = NULL;
  RflAuditActor actor = { fixture->admin_a, 0 };

  plaintext = create_key (fixture, fixture->tenant_a, "CI",
                          RFL_API_SCOPE_CHAT, &created);
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext, NULL);
  g_assert_nonnull (key);
  g_clear_pointer (&key, rfl_api_key_free);

  g_assert_true (rfl_auth_store_revoke_api_key (fixture->store,
                                                fixture->tenant_a,
                                                created->id, &actor, &error));
  g_assert_no_error (error);

  /* The very next use fails. */
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_null (key);
  assert_unauthorized (error, "revoked");
  g_assert_nonnull (strstr (error->message, created->prefix));
  g_clear_error (&error);

  g_assert_null (rfl_auth_store_authenticate (fixture->store, plaintext,
                                              &error));
  assert_unauthorized (error, "revoked");
  g_clear_error (&error);

  listed = rfl_auth_store_get_api_key (fixture->store, fixture->tenant_a,
                                       created->id, NULL);
  g_assert_cmpint (listed->revoked_at, >, 0);
  g_assert_cmpint (listed->revoked_by, ==, fixture->admin_a);

  entry = last_audit (fixture, RFL_AUDIT_API_KEY_REVOKED);
  target = g_strdup_printf ("api_key:%" G_GINT64_FORMAT, created->id);
  g_assert_cmpstr (entry->target, ==, target);

  /* Revoking again changes nothing, and is not audited twice. */
  g_assert_true (rfl_auth_store_revoke_api_key (fixture->store,
                                                fixture->tenant_a,
                                                created->id, &actor, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_API_KEY_REVOKED), ==, 1);
  assert_chain_intact (fixture);
}

static void
test_key_other_tenant (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(RflApiKey) key_b = NULL;
  g_autoptr(RflApiKey) found = NULL;
  g_autoptr(GPtrArray) keys_a = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *plaintext_b = NULL;
  g_autofree char *plaintext_a = NULL;
  RflAuditActor actor = { fixture->admin_a, 0 };

  plaintext_a = create_key (fixture, fixture->tenant_a, "A's key",
                            RFL_API_SCOPE_CHAT, NULL);
  plaintext_b = create_key (fixture, fixture->tenant_b, "B's key",
                            RFL_API_SCOPE_ADMIN, &key_b);

  /* From tenant A, B's key is not there at all. */
  g_assert_false (rfl_auth_store_revoke_api_key (fixture->store,
                                                 fixture->tenant_a,
                                                 key_b->id, &actor, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  found = rfl_auth_store_get_api_key (fixture->store, fixture->tenant_a,
                                      key_b->id, &error);
  g_assert_null (found);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  keys_a = rfl_auth_store_list_api_keys (fixture->store, fixture->tenant_a,
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpuint (keys_a->len, ==, 1);
  g_assert_cmpstr (((RflApiKey *) keys_a->pdata[0])->name, ==, "A's key");

  /* B's key still works, and still belongs to B. */
  found = rfl_auth_store_authenticate_api_key (fixture->store, plaintext_b,
                                               &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->tenant_id, ==, fixture->tenant_b);
  g_assert_cmpint (found->revoked_at, ==, 0);
  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_API_KEY_REVOKED), ==, 0);
}

static void
test_key_last_used (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflApiKey) created = NULL;
  g_autoptr(RflApiKey) listed = NULL;
  g_autofree char *plaintext = NULL;
  g_autofree char *sql = NULL;
  gint64 first_use, second_use;

  plaintext = create_key (fixture, fixture->tenant_a, "CI",
                          RFL_API_SCOPE_CHAT, &created);
  g_assert_cmpint (created->last_used_at, ==, 0);

  listed = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                                NULL);
  first_use = query_int (fixture, "SELECT last_used_at FROM api_keys");
  g_assert_cmpint (first_use, >, 0);
  g_assert_cmpint (listed->last_used_at, ==, first_use);

  /* Used again within the minute: not written again. */
  g_clear_pointer (&listed, rfl_api_key_free);
  listed = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                                NULL);
  g_assert_cmpint (query_int (fixture, "SELECT last_used_at FROM api_keys"),
                   ==, first_use);

  /* A minute and a bit later it is. */
  sql = g_strdup_printf ("UPDATE api_keys SET last_used_at = %"
                         G_GINT64_FORMAT, first_use - 61000);
  exec_sql (fixture, sql);
  g_clear_pointer (&listed, rfl_api_key_free);
  listed = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                                NULL);
  second_use = query_int (fixture, "SELECT last_used_at FROM api_keys");
  g_assert_cmpint (second_use, >=, first_use);

  g_clear_pointer (&listed, rfl_api_key_free);
  listed = rfl_auth_store_get_api_key (fixture->store, fixture->tenant_a,
                                       created->id, NULL);
  g_assert_cmpint (listed->last_used_at, ==, second_use);
}

static void
test_key_suspended_tenant (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *plaintext = NULL;
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(GError) error = NULL;

  plaintext = create_key (fixture, fixture->tenant_a, "CI",
                          RFL_API_SCOPE_CHAT, NULL);
  exec_sql (fixture, "UPDATE tenants SET status = 'suspended' "
                     "WHERE name = 'Alpha'");

  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_null (key);
  assert_unauthorized (error, "suspended");
  g_clear_error (&error);

  exec_sql (fixture, "UPDATE tenants SET status = 'active' "
                     "WHERE name = 'Alpha'");
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_no_error (error);
  g_assert_nonnull (key);
}

/* A deleted tenant, or one whose row is gone, refuses its keys like a
 * suspended one. */
static void
test_key_deleted_tenant (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *plaintext = NULL;
  g_autofree char *other = NULL;
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(GError) error = NULL;

  plaintext = create_key (fixture, fixture->tenant_a, "CI",
                          RFL_API_SCOPE_CHAT, NULL);
  other = create_key (fixture, fixture->tenant_b, "CI",
                      RFL_API_SCOPE_CHAT, NULL);

  exec_sql (fixture, "UPDATE tenants SET status = 'deleted' "
                     "WHERE name = 'Alpha'");
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_null (key);
  assert_unauthorized (error, "suspended or deleted");
  g_clear_error (&error);

  /* Without its tenant row (only possible with the foreign keys off). */
  exec_sql (fixture, "PRAGMA foreign_keys = OFF;"
                     "DELETE FROM tenants WHERE name = 'Alpha';"
                     "PRAGMA foreign_keys = ON;");
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM api_keys"),
                   ==, 2);
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_null (key);
  assert_unauthorized (error, "suspended or deleted");
  g_clear_error (&error);

  /* The other tenant's key is not affected. */
  key = rfl_auth_store_authenticate_api_key (fixture->store, other, &error);
  g_assert_no_error (error);
  g_assert_cmpint (key->tenant_id, ==, fixture->tenant_b);
}

/* What another connection commits (another process, say) counts for the
 * very next authentication: a revoked key, a suspended tenant, changed
 * scopes. */
static void
test_key_other_connection (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflDatabase) other_db = NULL;
  g_autoptr(RflAuthStore) other_store = NULL;
  g_autoptr(RflApiKey) created = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;
  g_autoptr(RflApiKey) key = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *plaintext = NULL;
  RflAuditActor actor = { fixture->admin_a, 0 };

  other_db = rfl_database_open (rfl_database_get_path (fixture->db), &error);
  g_assert_no_error (error);
  other_store = rfl_auth_store_new (other_db, fixture->key);

  plaintext = create_key (fixture, fixture->tenant_a, "CI",
                          RFL_API_SCOPE_CHAT | RFL_API_SCOPE_READ, &created);
  principal = rfl_auth_store_authenticate (fixture->store, plaintext, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (principal->scopes, ==,
                    RFL_API_SCOPE_CHAT | RFL_API_SCOPE_READ);
  g_clear_pointer (&principal, rfl_auth_principal_free);

  g_assert_true (_rfl_database_exec (other_db,
                                     "UPDATE api_keys SET scopes = 4", &error));
  principal = rfl_auth_store_authenticate (fixture->store, plaintext, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (principal->scopes, ==, RFL_API_SCOPE_READ);
  g_clear_pointer (&principal, rfl_auth_principal_free);

  g_assert_true (_rfl_database_exec (other_db,
                                     "UPDATE tenants SET status = 'suspended' "
                                     "WHERE name = 'Alpha'", &error));
  g_assert_null (rfl_auth_store_authenticate (fixture->store, plaintext,
                                              &error));
  assert_unauthorized (error, "suspended");
  g_clear_error (&error);

  g_assert_true (_rfl_database_exec (other_db,
                                     "UPDATE tenants SET status = 'active' "
                                     "WHERE name = 'Alpha'", &error));
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_no_error (error);
  g_clear_pointer (&key, rfl_api_key_free);

  g_assert_true (rfl_auth_store_revoke_api_key (other_store,
                                                fixture->tenant_a,
                                                created->id, &actor, &error));
  g_assert_no_error (error);
  key = rfl_auth_store_authenticate_api_key (fixture->store, plaintext,
                                             &error);
  g_assert_null (key);
  assert_unauthorized (error, "revoked");
}

/* Sign-in */

static RflAuthTokens *
login_ok (Fixture    *fixture,
          gint64      tenant_id,
          const char *email,
          const char *password)
{
  g_autoptr(GError) error = NULL;
  RflAuthTokens *tokens;

  tokens = rfl_auth_store_login (fixture->store, tenant_id, email, password,
                                 &error);
  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  return tokens;
}

static char *
login_fails (Fixture    *fixture,
             gint64      tenant_id,
             const char *email,
             const char *password)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAuthTokens) tokens = NULL;

  tokens = rfl_auth_store_login (fixture->store, tenant_id, email, password,
                                 &error);
  g_assert_null (tokens);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  return g_strdup (error->message);
}

static void
test_login (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = rfl_jwt_now ();

  /* The address as typed, in any case and with blanks around it. */
  tokens = login_ok (fixture, 0, "  Ann@Example.ORG ", PASSWORD_A);
  g_assert_cmpint (tokens->user_id, ==, fixture->admin_a);
  g_assert_cmpint (tokens->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpint (tokens->role, ==, RFL_ROLE_TENANT_ADMIN);
  g_assert_cmpint (tokens->access_expires_at - now, >=, 15 * 60 - 2);
  g_assert_cmpint (tokens->access_expires_at - now, <=, 15 * 60 + 2);
  g_assert_cmpint (tokens->refresh_expires_at - g_get_real_time () / 1000,
                   >, RFL_REFRESH_TOKEN_LIFETIME_MS - 60000);
  g_assert_cmpuint (strlen (tokens->refresh_token), ==, 43);

  claims = rfl_jwt_verify (fixture->key, tokens->access_token, now, &error);
  g_assert_no_error (error);
  g_assert_cmpint (claims->user_id, ==, fixture->admin_a);
  g_assert_cmpint (claims->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpstr (claims->role, ==, "tenant_admin");
  g_assert_cmpstr (claims->session_id, ==, tokens->session_id);

  principal = rfl_auth_store_authenticate (fixture->store,
                                           tokens->access_token, &error);
  g_assert_no_error (error);
  g_assert_cmpint (principal->kind, ==, RFL_PRINCIPAL_USER);
  g_assert_cmpint (principal->user_id, ==, fixture->admin_a);
  g_assert_cmpint (principal->role, ==, RFL_ROLE_TENANT_ADMIN);
  g_assert_true (rfl_auth_principal_has_scope (principal, RFL_API_SCOPE_ADMIN));

  /* Only the hash of the refresh token is kept. */
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM refresh_tokens"),
                   ==, 1);
  {
    g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                           tokens->refresh_token,
                                                           -1);
    g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM "
                                            "refresh_tokens WHERE "
                                            "token_hash = '%s'", hash);

    g_assert_cmpint (query_int (fixture, sql), ==, 1);
  }

  entry = last_audit (fixture, RFL_AUDIT_LOGIN);
  g_assert_cmpint (entry->actor_user_id, ==, fixture->admin_a);
  g_assert_cmpint (entry->tenant_id, ==, fixture->tenant_a);
}

static void
test_login_failures (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *wrong = NULL;
  g_autofree char *unknown = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *other_tenant = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;

  wrong = login_fails (fixture, 0, "ann@example.org", "not the password");
  g_assert_cmpstr (wrong, ==, WRONG_LOGIN);
  entry = last_audit (fixture, RFL_AUDIT_FAILED_LOGIN);
  g_assert_cmpint (entry->tenant_id, ==, fixture->tenant_a);
  g_assert_cmpint (entry->actor_user_id, ==, 0);
  g_assert_cmpstr (entry->target, ==, "ann@example.org");
  g_assert_nonnull (strstr (entry->detail, "wrong_password"));
  g_clear_pointer (&entry, rfl_audit_entry_free);

  /* An unknown address reads exactly like a wrong password. */
  unknown = login_fails (fixture, 0, "nobody@example.org", PASSWORD_A);
  g_assert_cmpstr (unknown, ==, wrong);
  entry = last_audit (fixture, RFL_AUDIT_FAILED_LOGIN);
  g_assert_cmpint (entry->tenant_id, ==, 0);
  g_assert_nonnull (strstr (entry->detail, "unknown_email"));
  g_clear_pointer (&entry, rfl_audit_entry_free);

  empty = login_fails (fixture, 0, NULL, NULL);
  g_assert_cmpstr (empty, ==, wrong);

  /* The right password, but in the wrong tenant. */
  other_tenant = login_fails (fixture, fixture->tenant_b, "ann@example.org",
                              PASSWORD_A);
  g_assert_cmpstr (other_tenant, ==, wrong);

  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_FAILED_LOGIN), ==, 4);
  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_LOGIN), ==, 0);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM auth_sessions"),
                   ==, 0);
  assert_chain_intact (fixture);
}

static void
test_login_inactive (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *suspended = NULL;
  g_autofree char *disabled = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;
  g_autoptr(RflAuthTokens) tokens = NULL;

  exec_sql (fixture, "UPDATE tenants SET status = 'suspended' "
                     "WHERE name = 'Alpha'");
  suspended = login_fails (fixture, 0, "ann@example.org", PASSWORD_A);
  g_assert_cmpstr (suspended, ==, WRONG_LOGIN);
  entry = last_audit (fixture, RFL_AUDIT_FAILED_LOGIN);
  g_assert_nonnull (strstr (entry->detail, "tenant_suspended"));
  g_clear_pointer (&entry, rfl_audit_entry_free);

  exec_sql (fixture, "UPDATE tenants SET status = 'active' "
                     "WHERE name = 'Alpha'");
  exec_sql (fixture, "UPDATE users SET status = 'disabled' "
                     "WHERE email = 'ann@example.org'");
  disabled = login_fails (fixture, 0, "ann@example.org", PASSWORD_A);
  g_assert_cmpstr (disabled, ==, WRONG_LOGIN);
  entry = last_audit (fixture, RFL_AUDIT_FAILED_LOGIN);
  g_assert_nonnull (strstr (entry->detail, "user_disabled"));

  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM auth_sessions"),
                   ==, 0);

  /* Enabled again, the same password works. */
  exec_sql (fixture, "UPDATE users SET status = 'active' "
                     "WHERE email = 'ann@example.org'");
  tokens = login_ok (fixture, fixture->tenant_a, "ann@example.org",
                     PASSWORD_A);
  g_assert_cmpint (tokens->user_id, ==, fixture->admin_a);
}

static void
test_login_same_address (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAuthTokens) in_b = NULL;
  g_autoptr(RflAuthTokens) in_a = NULL;
  gint64 ann_b;

  /* Ann also has an account in B, with another password. */
  ann_b = rfl_database_create_user (fixture->db, fixture->tenant_b,
                                    "ann@example.org", "Ann B", PASSWORD_B,
                                    RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);

  in_b = login_ok (fixture, 0, "ann@example.org", PASSWORD_B);
  g_assert_cmpint (in_b->user_id, ==, ann_b);
  g_assert_cmpint (in_b->tenant_id, ==, fixture->tenant_b);
  g_assert_cmpint (in_b->role, ==, RFL_ROLE_MEMBER);

  in_a = login_ok (fixture, 0, "ann@example.org", PASSWORD_A);
  g_assert_cmpint (in_a->user_id, ==, fixture->admin_a);

  g_free (login_fails (fixture, fixture->tenant_a, "ann@example.org",
                       PASSWORD_B));
}

/* Refresh tokens */

static RflAuthTokens *
refresh_ok (Fixture    *fixture,
            const char *token)
{
  g_autoptr(GError) error = NULL;
  RflAuthTokens *tokens;

  tokens = rfl_auth_store_refresh (fixture->store, token, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  return tokens;
}

static void
refresh_fails (Fixture    *fixture,
               const char *token,
               const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAuthTokens) tokens = NULL;

  tokens = rfl_auth_store_refresh (fixture->store, token, &error);
  g_assert_null (tokens);
  assert_unauthorized (error, fragment);
}

static void
access_fails (Fixture    *fixture,
              const char *access_token,
              const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;

  principal = rfl_auth_store_authenticate (fixture->store, access_token,
                                           &error);
  g_assert_null (principal);
  assert_unauthorized (error, fragment);
}

static void
test_refresh_rotates (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(RflAuthTokens) first = NULL;
  g_autoptr(RflAuthTokens) second = NULL;
  g_autoptr(RflAuthTokens) third = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;

  first = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  second = refresh_ok (fixture, first->refresh_token);
  third = refresh_ok (fixture, second->refresh_token);

  g_assert_cmpstr (first->refresh_token, !=, second->refresh_token);
  g_assert_cmpstr (second->refresh_token, !=, third->refresh_token);
  g_assert_cmpstr (first->access_token, !=, third->access_token);
  g_assert_cmpstr (first->session_id, ==, second->session_id);
  g_assert_cmpstr (second->session_id, ==, third->session_id);
  g_assert_cmpint (third->user_id, ==, fixture->user_b);
  g_assert_cmpint (third->tenant_id, ==, fixture->tenant_b);
  g_assert_cmpint (third->role, ==, RFL_ROLE_MEMBER);

  principal = rfl_auth_store_authenticate (fixture->store,
                                           third->access_token, NULL);
  g_assert_nonnull (principal);
  g_assert_false (rfl_auth_principal_has_scope (principal,
                                                RFL_API_SCOPE_ADMIN));
  g_assert_true (rfl_auth_principal_has_scope (principal,
                                               RFL_API_SCOPE_CHAT));

  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM refresh_tokens "
                                       "WHERE used_at IS NOT NULL"), ==, 2);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM auth_sessions"),
                   ==, 1);
}

static void
test_refresh_reuse (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflAuthTokens) first = NULL;
  g_autoptr(RflAuthTokens) second = NULL;
  g_autoptr(RflAuthTokens) other_login = NULL;
  g_autoptr(RflAuthTokens) other_next = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;
  g_autofree char *target = NULL;

  first = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  other_login = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  second = refresh_ok (fixture, first->refresh_token);

  /* The old token comes back: the whole session ends. */
  refresh_fails (fixture, first->refresh_token, "Reused refresh token");
  refresh_fails (fixture, second->refresh_token, "signed out");
  access_fails (fixture, second->access_token, "signed out");
  access_fails (fixture, first->access_token, "signed out");

  entry = last_audit (fixture, RFL_AUDIT_REFRESH_TOKEN_REUSED);
  target = g_strdup_printf ("user:%" G_GINT64_FORMAT, fixture->user_b);
  g_assert_cmpint (entry->tenant_id, ==, fixture->tenant_b);
  g_assert_cmpstr (entry->target, ==, target);
  g_assert_nonnull (strstr (entry->detail, first->session_id));

  /* Another sign-in of the same user is another session. */
  other_next = refresh_ok (fixture, other_login->refresh_token);
  g_assert_cmpstr (other_next->session_id, !=, first->session_id);

  /* Presenting the old token again changes nothing more. */
  refresh_fails (fixture, first->refresh_token, "signed out");
  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_REFRESH_TOKEN_REUSED), ==, 1);
  assert_chain_intact (fixture);
}

static void
test_refresh_expired (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(RflAuthTokens) next = NULL;

  tokens = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  exec_sql (fixture, "UPDATE refresh_tokens "
                     "SET created_at = created_at - 31 * 86400000, "
                     "expires_at = expires_at - 31 * 86400000");

  refresh_fails (fixture, tokens->refresh_token, "expired");
  /* Refused without being used up. */
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM refresh_tokens "
                                       "WHERE used_at IS NOT NULL"), ==, 0);
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM refresh_tokens"),
                   ==, 1);

  /* Just before the end it still works. */
  exec_sql (fixture, "UPDATE refresh_tokens "
                     "SET expires_at = (unixepoch () + 60) * 1000");
  next = refresh_ok (fixture, tokens->refresh_token);
  g_assert_nonnull (next);
}

static void
test_refresh_bad_tokens (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autofree char *changed = NULL;

  tokens = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);

  refresh_fails (fixture, NULL, "No refresh token");
  refresh_fails (fixture, "", "No refresh token");
  refresh_fails (fixture, "short", "malformed");
  refresh_fails (fixture, tokens->access_token, "malformed");

  changed = g_strdup (tokens->refresh_token);
  changed[0] = changed[0] == 'a' ? 'b' : 'a';
  refresh_fails (fixture, changed, "no such token");

  /* None of it touched the real token. */
  g_assert_cmpint (query_int (fixture, "SELECT count(*) FROM refresh_tokens "
                                       "WHERE used_at IS NOT NULL"), ==, 0);
}

static void
test_refresh_inactive_user (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;

  tokens = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  exec_sql (fixture, "UPDATE users SET status = 'disabled' "
                     "WHERE email = 'bob@example.org'");

  access_fails (fixture, tokens->access_token, "no longer active");
  refresh_fails (fixture, tokens->refresh_token, "no longer active");

  /* The session ended for good: enabling the user does not bring it back. */
  exec_sql (fixture, "UPDATE users SET status = 'active' "
                     "WHERE email = 'bob@example.org'");
  refresh_fails (fixture, tokens->refresh_token, "signed out");
}

static void
test_logout (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(RflAuthTokens) next = NULL;
  g_autoptr(RflAuditEntry) entry = NULL;
  g_autoptr(GError) error = NULL;

  tokens = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  next = refresh_ok (fixture, tokens->refresh_token);

  g_assert_true (rfl_auth_store_logout (fixture->store, next->refresh_token,
                                        &error));
  g_assert_no_error (error);

  refresh_fails (fixture, next->refresh_token, "signed out");
  access_fails (fixture, next->access_token, "signed out");

  entry = last_audit (fixture, RFL_AUDIT_LOGOUT);
  g_assert_cmpint (entry->actor_user_id, ==, fixture->user_b);
  g_assert_cmpint (entry->tenant_id, ==, fixture->tenant_b);

  /* Signing out twice is fine and writes nothing more. */
  g_assert_true (rfl_auth_store_logout (fixture->store, next->refresh_token,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_LOGOUT), ==, 1);

  g_assert_false (rfl_auth_store_logout (fixture->store, "nonsense", &error));
  assert_unauthorized (error, "malformed");
}

static void
test_logout_session (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;

  tokens = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);

  /* Another tenant cannot end it. */
  g_assert_false (rfl_auth_store_logout_session (fixture->store,
                                                 fixture->tenant_a,
                                                 tokens->session_id, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_nonnull (rfl_auth_store_authenticate (fixture->store,
                                                 tokens->access_token, NULL));

  g_assert_true (rfl_auth_store_logout_session (fixture->store,
                                                fixture->tenant_b,
                                                tokens->session_id, &error));
  g_assert_no_error (error);
  access_fails (fixture, tokens->access_token, "signed out");
  refresh_fails (fixture, tokens->refresh_token, "signed out");
}

static void
test_revoke_user_sessions (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflAuthTokens) one = NULL;
  g_autoptr(RflAuthTokens) two = NULL;
  g_autoptr(RflAuthTokens) ann = NULL;
  g_autoptr(GError) error = NULL;
  RflAuditActor actor = { fixture->admin_a, 0 };
  guint n;

  one = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  two = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);
  ann = login_ok (fixture, 0, "ann@example.org", PASSWORD_A);

  /* Bob is not a user of tenant A. */
  n = rfl_auth_store_revoke_user_sessions (fixture->store, fixture->tenant_a,
                                           fixture->user_b, &actor, &error);
  g_assert_cmpuint (n, ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  n = rfl_auth_store_revoke_user_sessions (fixture->store, fixture->tenant_b,
                                           fixture->user_b, &actor, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);

  access_fails (fixture, one->access_token, "signed out");
  refresh_fails (fixture, two->refresh_token, "signed out");
  g_assert_nonnull (rfl_auth_store_authenticate (fixture->store,
                                                 ann->access_token, NULL));
  g_assert_cmpuint (count_audit (fixture, RFL_AUDIT_SESSIONS_REVOKED), ==, 1);
}

static void
test_access_token_checks (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(RflSigningKey) other_key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autofree char *foreign = NULL;
  g_autofree char *no_session = NULL;
  g_autofree char *wrong_tenant = NULL;

  tokens = login_ok (fixture, 0, "bob@example.org", PASSWORD_B);

  access_fails (fixture, NULL, "No credentials");
  access_fails (fixture, "", "No credentials");
  access_fails (fixture, "garbage", "three parts");

  /* Signed with another key. */
  claims = rfl_jwt_claims_new (fixture->user_b, fixture->tenant_b, "member",
                               tokens->session_id, rfl_jwt_now (), 900);
  foreign = rfl_jwt_sign (other_key, claims, NULL);
  access_fails (fixture, foreign, "signature does not match");

  /* Signed with the right key, but naming no session or another tenant. */
  g_clear_pointer (&claims->session_id, g_free);
  no_session = rfl_jwt_sign (fixture->key, claims, NULL);
  access_fails (fixture, no_session, "names no session");

  claims->session_id = g_strdup (tokens->session_id);
  claims->tenant_id = fixture->tenant_a;
  wrong_tenant = rfl_jwt_sign (fixture->key, claims, NULL);
  access_fails (fixture, wrong_tenant, "does not exist");
}

static void
test_role_change (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;

  tokens = login_ok (fixture, 0, "ann@example.org", PASSWORD_A);
  exec_sql (fixture, "UPDATE users SET role = 'member' "
                     "WHERE email = 'ann@example.org'");

  /* The token still says tenant_admin; the database has the last word. */
  principal = rfl_auth_store_authenticate (fixture->store,
                                           tokens->access_token, NULL);
  g_assert_nonnull (principal);
  g_assert_cmpint (principal->role, ==, RFL_ROLE_MEMBER);
  g_assert_false (rfl_auth_principal_has_scope (principal,
                                                RFL_API_SCOPE_ADMIN));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/auth-store/scopes", test_scopes);

#define ADD(path, func) \
  g_test_add ("/rfl/auth-store/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("key-shown-once", test_key_shown_once);
  ADD ("key-authenticate", test_key_authenticate);
  ADD ("key-bad-credentials", test_key_bad_credentials);
  ADD ("key-bad-input", test_key_bad_input);
  ADD ("key-revoked", test_key_revoked);
  ADD ("key-other-tenant", test_key_other_tenant);
  ADD ("key-last-used", test_key_last_used);
  ADD ("key-suspended-tenant", test_key_suspended_tenant);
  ADD ("key-deleted-tenant", test_key_deleted_tenant);
  ADD ("key-other-connection", test_key_other_connection);
  ADD ("login", test_login);
  ADD ("login-failures", test_login_failures);
  ADD ("login-inactive", test_login_inactive);
  ADD ("login-same-address", test_login_same_address);
  ADD ("refresh-rotates", test_refresh_rotates);
  ADD ("refresh-reuse", test_refresh_reuse);
  ADD ("refresh-expired", test_refresh_expired);
  ADD ("refresh-bad-tokens", test_refresh_bad_tokens);
  ADD ("refresh-inactive-user", test_refresh_inactive_user);
  ADD ("logout", test_logout);
  ADD ("logout-session", test_logout_session);
  ADD ("revoke-user-sessions", test_revoke_user_sessions);
  ADD ("access-token-checks", test_access_token_checks);
  ADD ("role-change", test_role_change);

#undef ADD

  return g_test_run ();
}
