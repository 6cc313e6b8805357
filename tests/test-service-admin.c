/* test-service-admin.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "core/rfl-error.h"
#include "service/rfl-service-admin.h"
#include "store/rfl-database-private.h"

typedef struct
{
  char        *db_path;
  RflService  *service;
  RflIdentity  root;     /* system administrator of Operations */
  RflIdentity  alice;    /* tenant administrator of Acme */
  RflIdentity  bob;      /* member of Acme */
  gint64       beta;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;
  gint64 ops, acme;

  fixture->db_path = g_build_filename (g_get_user_data_dir (), "admin.db", NULL);
  db = rfl_database_open (fixture->db_path, &error);
  g_assert_no_error (error);

  ops = rfl_database_create_tenant (db, "Operations", "custom", &error);
  g_assert_no_error (error);
  acme = rfl_database_create_tenant (db, "Acme", "business", &error);
  g_assert_no_error (error);
  fixture->beta = rfl_database_create_tenant (db, "Beta", "healthcare", &error);
  g_assert_no_error (error);

  fixture->root.tenant_id = ops;
  fixture->root.user_id = rfl_database_create_user (db, ops, "root@ops.test",
                                                    "Root", "password-root",
                                                    RFL_ROLE_SYSTEM_ADMIN,
                                                    &error);
  g_assert_no_error (error);
  fixture->alice.tenant_id = fixture->bob.tenant_id = acme;
  fixture->alice.user_id = rfl_database_create_user (db, acme, "alice@acme.test",
                                                     "Alice", "password-alice",
                                                     RFL_ROLE_TENANT_ADMIN,
                                                     &error);
  g_assert_no_error (error);
  fixture->bob.user_id = rfl_database_create_user (db, acme, "bob@acme.test",
                                                   "Bob", "password-bob",
                                                   RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);
  g_clear_object (&db);

  fixture->service = rfl_service_new_sync (fixture->db_path, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  rfl_service_shutdown (fixture->service);
  g_clear_object (&fixture->service);
  g_free (fixture->db_path);
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Runs one call to the end. */
static RflAdminResult *
call (Fixture                *fixture,
      RflIdentity             identity,
      const RflAdminRequest  *request,
      GError                **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_service_admin_async (fixture->service, identity, request, NULL,
                           done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return rfl_service_admin_finish (fixture->service, result, error);
}

static void
test_roles (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  RflAdminRequest request = { RFL_ADMIN_LIST_TENANTS };
  RflAdminTenant *tenant;

  /* A member is refused. */
  result = call (fixture, fixture->bob, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_null (result);
  g_clear_error (&error);

  /* A tenant administrator sees only their tenant... */
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 1);
  tenant = g_ptr_array_index (result->items, 0);
  g_assert_cmpstr (tenant->name, ==, "Acme");
  g_assert_cmpuint (tenant->n_users, ==, 2);
  g_clear_pointer (&result, rfl_admin_result_free);

  /* ...and cannot reach another one, nor create tenants. */
  request.op = RFL_ADMIN_LIST_USERS;
  request.tenant_id = fixture->beta;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  request.op = RFL_ADMIN_CREATE_TENANT;
  request.name = "Gamma";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  /* A system administrator sees every tenant, by name. */
  request = (RflAdminRequest) { RFL_ADMIN_LIST_TENANTS };
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 3);
  tenant = g_ptr_array_index (result->items, 0);
  g_assert_cmpstr (tenant->name, ==, "Acme");
}

static void
test_tenant_lifecycle (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflAuditLog) log = NULL;
  g_autoptr(RflAuditVerifyResult) verify = NULL;
  RflAdminRequest request = { RFL_ADMIN_CREATE_TENANT };
  RflAuditEntry *entry;
  gint64 gamma;

  request.name = "Gamma";
  request.use_case = "privacy";
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  gamma = result->id;
  g_assert_cmpint (gamma, >, 0);
  g_clear_pointer (&result, rfl_admin_result_free);

  /* A duplicate changes nothing. */
  result = call (fixture, fixture->root, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
  g_clear_error (&error);

  request = (RflAdminRequest) { RFL_ADMIN_SUSPEND_TENANT, gamma };
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  request.op = RFL_ADMIN_DELETE_TENANT;
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  /* One's own tenant cannot be deleted. */
  request.tenant_id = fixture->root.tenant_id;
  result = call (fixture, fixture->root, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* The deleted tenant is kept, marked deleted. */
  request = (RflAdminRequest) { RFL_ADMIN_LIST_TENANTS };
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 4);
  g_assert_cmpstr (((RflAdminTenant *) g_ptr_array_index (result->items, 2))->status,
                   ==, "deleted");
  g_clear_pointer (&result, rfl_admin_result_free);

  /* Audited, newest first, with the administrator as actor. */
  request = (RflAdminRequest) { RFL_ADMIN_LIST_AUDIT, gamma };
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 3);
  entry = g_ptr_array_index (result->items, 0);
  g_assert_cmpstr (entry->action, ==, RFL_AUDIT_TENANT_DELETED);
  g_assert_cmpint (entry->actor_user_id, ==, fixture->root.user_id);
  entry = g_ptr_array_index (result->items, 1);
  g_assert_cmpstr (entry->action, ==, RFL_AUDIT_TENANT_SUSPENDED);
  entry = g_ptr_array_index (result->items, 2);
  g_assert_cmpstr (entry->action, ==, RFL_AUDIT_TENANT_CREATED);

  db = rfl_database_open (fixture->db_path, &error);
  g_assert_no_error (error);
  log = rfl_audit_log_new (db);
  verify = rfl_audit_log_verify (log, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (verify->broken_id, ==, 0);
  g_assert_cmpuint (verify->n_entries, ==, 3);
}

static void
test_users (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  RflAdminRequest request = { RFL_ADMIN_CREATE_USER };
  RflAdminUser *user;
  gint64 dana;

  request.tenant_id = fixture->alice.tenant_id;
  request.email = "Dana@Acme.test";
  request.name = "Dana";
  request.password = "password-dana";
  request.role = RFL_ROLE_SYSTEM_ADMIN;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  request.role = RFL_ROLE_MEMBER;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  dana = result->id;
  g_clear_pointer (&result, rfl_admin_result_free);

  request = (RflAdminRequest) { RFL_ADMIN_SET_ROLE, fixture->alice.tenant_id,
                                dana };
  request.role = RFL_ROLE_TENANT_ADMIN;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  request.op = RFL_ADMIN_RESET_PASSWORD;
  request.password = "short";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  request.password = "a-new-password";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  request = (RflAdminRequest) { RFL_ADMIN_LIST_USERS, fixture->alice.tenant_id };
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 3);
  user = g_ptr_array_index (result->items, 2);
  g_assert_cmpstr (user->email, ==, "dana@acme.test");
  g_assert_cmpint (user->role, ==, RFL_ROLE_TENANT_ADMIN);
}

static void
test_api_keys (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  RflAdminRequest request = { RFL_ADMIN_CREATE_API_KEY };
  g_autofree char *secret = NULL;
  RflApiKey *key;
  gint64 id;

  request.tenant_id = fixture->alice.tenant_id;
  request.name = "Website";
  request.scopes = RFL_API_SCOPE_CHAT;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (result->secret, RFL_API_KEY_PREFIX));
  secret = g_strdup (result->secret);
  id = result->id;
  g_clear_pointer (&result, rfl_admin_result_free);

  /* Listed without its secret: only the prefix. */
  request = (RflAdminRequest) { RFL_ADMIN_LIST_API_KEYS, fixture->alice.tenant_id };
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 1);
  key = g_ptr_array_index (result->items, 0);
  g_assert_cmpint (key->id, ==, id);
  g_assert_true (strncmp (key->prefix, secret, 8) == 0);
  g_assert_null (result->secret);
  g_assert_cmpint (key->revoked_at, ==, 0);
  g_clear_pointer (&result, rfl_admin_result_free);

  request = (RflAdminRequest) { RFL_ADMIN_REVOKE_API_KEY,
                                fixture->alice.tenant_id, id };
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  request.op = RFL_ADMIN_LIST_API_KEYS;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  key = g_ptr_array_index (result->items, 0);
  g_assert_cmpint (key->revoked_at, >, 0);
}

static void
test_quotas_and_tools (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  RflAdminRequest request = { RFL_ADMIN_SET_QUOTAS };
  gboolean found = FALSE;

  request.tenant_id = fixture->alice.tenant_id;
  request.limits.tokens_per_day = 5000;
  request.limits.tokens_per_month = 1000;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  request.limits.tokens_per_month = 100000;
  request.limits.requests_per_minute = 30;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  request.op = RFL_ADMIN_SET_TOOL;
  request.name = "web_fetch";
  request.enabled = TRUE;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  /* Both persist across a restart of the service. */
  rfl_service_shutdown (fixture->service);
  g_clear_object (&fixture->service);
  fixture->service = rfl_service_new_sync (fixture->db_path, &error);
  g_assert_no_error (error);

  request = (RflAdminRequest) { RFL_ADMIN_GET_QUOTAS, fixture->alice.tenant_id };
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->limits.tokens_per_day, ==, 5000);
  g_assert_cmpuint (result->limits.tokens_per_month, ==, 100000);
  g_assert_cmpuint (result->limits.requests_per_minute, ==, 30);
  g_clear_pointer (&result, rfl_admin_result_free);

  request.op = RFL_ADMIN_LIST_TOOLS;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < result->items->len; i++)
    {
      RflToolPermission *tool = g_ptr_array_index (result->items, i);

      if (g_strcmp0 (tool->tool, "web_fetch") == 0)
        {
          g_assert_true (tool->enabled);
          found = TRUE;
        }
    }
  g_assert_true (found);
}

static void
test_usage (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(RflDatabase) db = NULL;
  g_autofree char *sql = NULL;
  RflAdminRequest request = { RFL_ADMIN_SUM_USAGE };
  RflUsageSum *sum;
  gint64 day = G_GINT64_CONSTANT (1767225600000);   /* 2026-01-01 UTC */

  db = rfl_database_open (fixture->db_path, &error);
  g_assert_no_error (error);
  /* Two calls of m1 on the first day, one of m2 on the next, and one of
   * another tenant that must not be counted. */
  sql = g_strdup_printf ("INSERT INTO usage (tenant_id, model, provider, "
                         "tokens_in, tokens_out, latency_ms, created_at) "
                         "VALUES (%1$" G_GINT64_FORMAT ", 'm1', 'p', 10, 5, 1, "
                         "%2$" G_GINT64_FORMAT "), "
                         "(%1$" G_GINT64_FORMAT ", 'm1', 'p', 20, 5, 1, "
                         "%2$" G_GINT64_FORMAT " + 1000), "
                         "(%1$" G_GINT64_FORMAT ", 'm2', 'p', 7, 3, 1, "
                         "%2$" G_GINT64_FORMAT " + 86400000), "
                         "(%3$" G_GINT64_FORMAT ", 'm1', 'p', 99, 99, 1, "
                         "%2$" G_GINT64_FORMAT ")",
                         fixture->alice.tenant_id, day, fixture->beta);
  g_assert_true (_rfl_database_exec (db, sql, &error));
  g_assert_no_error (error);

  request.tenant_id = fixture->alice.tenant_id;
  request.since = day;
  request.until = day + 2 * 86400000;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 2);
  sum = g_ptr_array_index (result->items, 0);
  g_assert_cmpstr (sum->day, ==, "2026-01-01");
  g_assert_cmpuint (sum->n_calls, ==, 2);
  g_assert_cmpuint (sum->tokens_in, ==, 30);
  sum = g_ptr_array_index (result->items, 1);
  g_assert_cmpstr (sum->model, ==, "m2");
  g_assert_cmpuint (sum->tokens_out, ==, 3);
}

/* A password reset signs the user out everywhere, in the same change. */
static void
test_reset_ends_sessions (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflAuthStore) auth = NULL;
  g_autoptr(RflAuthTokens) first = NULL;
  g_autoptr(RflAuthTokens) second = NULL;
  g_autoptr(RflAuthTokens) fresh = NULL;
  g_autoptr(RflAuthTokens) refused = NULL;
  g_autoptr(RflAuthPrincipal) principal = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;
  RflAdminRequest request = { RFL_ADMIN_RESET_PASSWORD };
  RflAuditEntry *entry;
  gint64 acme = fixture->bob.tenant_id;

  db = rfl_database_open (fixture->db_path, &error);
  g_assert_no_error (error);
  auth = rfl_auth_store_new (db, key);

  /* Bob is signed in twice; both sessions work. */
  first = rfl_auth_store_login (auth, acme, "bob@acme.test", "password-bob",
                                &error);
  g_assert_no_error (error);
  second = rfl_auth_store_login (auth, acme, "bob@acme.test", "password-bob",
                                 &error);
  g_assert_no_error (error);
  principal = rfl_auth_store_authenticate (auth, first->access_token, &error);
  g_assert_no_error (error);
  g_clear_pointer (&principal, rfl_auth_principal_free);

  /* A failed reset changes nothing. */
  request.tenant_id = acme;
  request.target_id = fixture->bob.user_id;
  request.password = "short";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  principal = rfl_auth_store_authenticate (auth, second->access_token, &error);
  g_assert_no_error (error);
  g_clear_pointer (&principal, rfl_auth_principal_free);

  request.password = "a-brand-new-password";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  /* Old refresh tokens and access tokens of both sessions are refused. */
  refused = rfl_auth_store_refresh (auth, first->refresh_token, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_null (refused);
  g_clear_error (&error);
  refused = rfl_auth_store_refresh (auth, second->refresh_token, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_clear_error (&error);
  principal = rfl_auth_store_authenticate (auth, first->access_token, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_null (principal);
  g_clear_error (&error);
  principal = rfl_auth_store_authenticate (auth, second->access_token, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  /* The old password no longer works, the new one does. */
  refused = rfl_auth_store_login (auth, acme, "bob@acme.test", "password-bob",
                                  &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_clear_error (&error);
  fresh = rfl_auth_store_login (auth, acme, "bob@acme.test",
                                "a-brand-new-password", &error);
  g_assert_no_error (error);
  principal = rfl_auth_store_authenticate (auth, fresh->access_token, &error);
  g_assert_no_error (error);
  g_assert_cmpint (principal->user_id, ==, fixture->bob.user_id);

  /* Audited with the number of sessions ended. */
  request = (RflAdminRequest) { RFL_ADMIN_LIST_AUDIT, acme };
  request.name = "user_password_reset";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 1);
  entry = g_ptr_array_index (result->items, 0);
  g_assert_cmpint (entry->actor_user_id, ==, fixture->alice.user_id);
  g_assert_cmpstr (entry->detail, ==, "{\"sessions_revoked\":2}");
  g_clear_pointer (&result, rfl_admin_result_free);

  /* A reset without sessions says so. */
  request = (RflAdminRequest) { RFL_ADMIN_RESET_PASSWORD, acme,
                                fixture->alice.user_id };
  request.password = "another-password";
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);
  request = (RflAdminRequest) { RFL_ADMIN_LIST_AUDIT, acme };
  request.name = "user_password_reset";
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  entry = g_ptr_array_index (result->items, 0);
  g_assert_cmpstr (entry->detail, ==, "{\"sessions_revoked\":0}");
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
test_audit_export (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (),
                                            "audit.csv", NULL);
  g_autofree char *bad = g_build_filename (g_get_user_data_dir (), "missing",
                                           "audit.csv", NULL);
  g_autofree char *csv = NULL;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  RflAdminRequest request = { RFL_ADMIN_CREATE_USER };
  const char * const emails[] = { "carol@acme.test", "dave@acme.test",
                                  "erin@acme.test" };
  gint64 acme = fixture->alice.tenant_id;

  for (guint i = 0; i < G_N_ELEMENTS (emails); i++)
    {
      request = (RflAdminRequest) { RFL_ADMIN_CREATE_USER, acme };
      request.email = emails[i];
      request.name = "Someone";
      request.password = "password-someone";
      request.role = RFL_ROLE_MEMBER;
      result = call (fixture, fixture->alice, &request, &error);
      g_assert_no_error (error);
      g_clear_pointer (&result, rfl_admin_result_free);
    }
  request = (RflAdminRequest) { RFL_ADMIN_CREATE_USER, fixture->beta };
  request.email = "carol@beta.test";
  request.password = "password-someone";
  result = call (fixture, fixture->root, &request, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, rfl_admin_result_free);

  /* Listing and exporting agree on the filter. */
  request = (RflAdminRequest) { RFL_ADMIN_LIST_AUDIT, acme };
  request.search = "CAROL";
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->items->len, ==, 1);
  g_clear_pointer (&result, rfl_admin_result_free);

  request.op = RFL_ADMIN_EXPORT_AUDIT;
  request.path = path;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->n_entries, ==, 1);
  g_clear_pointer (&result, rfl_admin_result_free);
  csv = read_text (path);
  lines = g_strsplit (csv, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_nonnull (strstr (lines[1], ",user_created,carol@acme.test,"));
  g_clear_pointer (&lines, g_strfreev);
  g_clear_pointer (&csv, g_free);

  /* A tenant administrator exports only their tenant, whatever is asked;
   * the time range applies. */
  request = (RflAdminRequest) { RFL_ADMIN_EXPORT_AUDIT, fixture->beta };
  request.path = path;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->n_entries, ==, 3);
  g_clear_pointer (&result, rfl_admin_result_free);
  request.since = g_get_real_time () / 1000 + 60000;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->n_entries, ==, 0);
  g_clear_pointer (&result, rfl_admin_result_free);
  csv = read_text (path);
  g_assert_cmpstr (csv, ==, "id,time,tenant_id,actor_user_id,"
                            "actor_api_key_id,action,target,detail,"
                            "prev_hash,hash\r\n");
  g_clear_pointer (&csv, g_free);

  /* Errors are specific and leave the file alone. */
  request = (RflAdminRequest) { RFL_ADMIN_EXPORT_AUDIT, acme };
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  request.path = bad;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE);
  g_assert_nonnull (strstr (error->message, "audit.csv"));
  g_clear_error (&error);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  request.path = path;
  request.since = 20;
  request.until = 10;
  result = call (fixture, fixture->alice, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  csv = read_text (path);
  g_assert_true (g_str_has_prefix (csv, "id,time,"));
  g_assert_cmpuint (strlen (csv), ==, strlen ("id,time,tenant_id,"
                                              "actor_user_id,"
                                              "actor_api_key_id,action,"
                                              "target,detail,prev_hash,"
                                              "hash\r\n"));

  /* Members cannot export. */
  request.since = request.until = 0;
  result = call (fixture, fixture->bob, &request, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/rfl/service-admin/" path, Fixture, NULL, fixture_set_up, \
              func, fixture_tear_down)
  ADD ("roles", test_roles);
  ADD ("tenant-lifecycle", test_tenant_lifecycle);
  ADD ("users", test_users);
  ADD ("api-keys", test_api_keys);
  ADD ("quotas-and-tools", test_quotas_and_tools);
  ADD ("usage", test_usage);
  ADD ("reset-ends-sessions", test_reset_ends_sessions);
  ADD ("audit-export", test_audit_export);
#undef ADD

  return g_test_run ();
}
