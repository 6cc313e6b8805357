/* test-http-api.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "core/rfl-price-table.h"

#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "core/rfl-jwt.h"
#include "core/rfl-quota.h"
#include "core/rfl-signing-key.h"
#include "service/rfl-service-http.h"
#include "service/rfl-service.h"
#include "store/rfl-auth-store.h"
#include "store/rfl-database.h"
#include "rfl-fake-llm.h"

#define PASSWORD_A "a long password for ann"
#define PASSWORD_B "another long password"
#define FAKE_API_KEY "sk-fake-provider-key"

typedef struct
{
  RflDatabase   *db;          /* the test's own connection */
  RflSigningKey *key;
  RflAuthStore  *auth;        /* on the test's connection */
  RflService    *service;
  RflFakeLlm    *fake;
  SoupSession   *session;
  char          *url;
  gint64         tenant_a;
  gint64         tenant_b;
  gint64         user_a;
  gint64         user_b;
  char          *key_a;       /* API key of tenant A */
  gint64         key_a_id;
  char          *key_b;       /* API key of tenant B */
  char          *key_b_chat;  /* API key of tenant B, chat scope only */
} Fixture;

typedef struct
{
  guint     status;
  char     *body;
  JsonNode *json;
  char     *retry_after;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->body, g_free);
  g_clear_pointer (&response->json, json_node_unref);
  g_clear_pointer (&response->retry_after, g_free);
  response->status = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (),
                                            "reflection", "reflection.db",
                                            NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflApiKey) key = NULL;

  f->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  f->key = rfl_signing_key_new_random ();
  f->auth = rfl_auth_store_new (f->db, f->key);

  f->tenant_a = rfl_database_create_tenant (f->db, "Alpha", "business", &error);
  g_assert_no_error (error);
  f->tenant_b = rfl_database_create_tenant (f->db, "Beta", "privacy", &error);
  g_assert_no_error (error);
  f->user_a = rfl_database_create_user (f->db, f->tenant_a, "ann@example.org", "Ann",
                                        PASSWORD_A, RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);
  f->user_b = rfl_database_create_user (f->db, f->tenant_b, "bob@example.org", "Bob",
                                        PASSWORD_B, RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);

  f->key_a = rfl_auth_store_create_api_key (f->auth, f->tenant_a, "Alpha key",
                                            RFL_API_SCOPE_CHAT | RFL_API_SCOPE_READ,
                                            NULL, &key, &error);
  g_assert_no_error (error);
  f->key_a_id = key->id;
  f->key_b = rfl_auth_store_create_api_key (f->auth, f->tenant_b, "Beta key",
                                            RFL_API_SCOPE_CHAT | RFL_API_SCOPE_READ,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  f->key_b_chat = rfl_auth_store_create_api_key (f->auth, f->tenant_b, "Beta chat key",
                                                 RFL_API_SCOPE_CHAT, NULL, NULL, &error);
  g_assert_no_error (error);

  f->service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_service_start_http (f->service, "127.0.0.1", 0, f->key,
                                         NULL, NULL, &error));
  g_assert_no_error (error);
  f->url = rfl_service_dup_http_url (f->service);
  g_assert_nonnull (f->url);
  g_assert_true (g_str_has_prefix (f->url, "http://127.0.0.1:"));

  f->session = soup_session_new ();
  soup_session_set_proxy_resolver (f->session, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *url = NULL;

  rfl_service_stop_http (f->service);
  url = rfl_service_dup_http_url (f->service);
  g_assert_null (url);
  /* Stopping twice is harmless. */
  rfl_service_stop_http (f->service);

  g_clear_object (&f->session);
  g_clear_object (&f->service);
  g_clear_pointer (&f->fake, rfl_fake_llm_free);
  g_clear_object (&f->auth);
  g_clear_pointer (&f->key, rfl_signing_key_unref);
  g_clear_object (&f->db);
  g_clear_pointer (&f->url, g_free);
  g_clear_pointer (&f->key_a, g_free);
  g_clear_pointer (&f->key_b, g_free);
  g_clear_pointer (&f->key_b_chat, g_free);
}

static void
request (Fixture    *f,
         const char *method,
         const char *path,
         const char *credential,
         const char *body,
         Response   *response)
{
  g_autofree char *uri = g_strconcat (f->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char *content_type;
  gsize size;

  response_clear (response);
  if (credential != NULL)
    {
      g_autofree char *header = g_strconcat ("Bearer ", credential, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg),
                                    "Authorization", header);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request_body = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", request_body);
    }

  bytes = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);

  response->status = soup_message_get_status (msg);
  response->body = g_strndup (g_bytes_get_data (bytes, &size), g_bytes_get_size (bytes));
  response->retry_after = g_strdup (soup_message_headers_get_one (
    soup_message_get_response_headers (msg), "Retry-After"));
  content_type = soup_message_headers_get_content_type (
    soup_message_get_response_headers (msg), NULL);
  if (g_strcmp0 (content_type, "application/json") == 0)
    {
      response->json = json_from_string (response->body, &error);
      g_assert_no_error (error);
    }
}

static JsonObject *
get_object (Response *response)
{
  g_assert_nonnull (response->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (response->json));
  return json_node_get_object (response->json);
}

static const char *
get_error_code (Response *response)
{
  JsonObject *error = json_object_get_object_member (get_object (response), "error");

  g_assert_nonnull (error);
  g_assert_nonnull (json_object_get_string_member (error, "message"));
  return json_object_get_string_member (error, "code");
}

static void
assert_unauthorized (Fixture    *f,
                     const char *credential)
{
  g_auto(Response) response = { 0 };

  request (f, "GET", "/api/v1/me", credential, NULL, &response);
  g_assert_cmpuint (response.status, ==, 401);
  g_assert_cmpstr (get_error_code (&response), ==, "unauthorized");
}

static void
assert_me (Fixture    *f,
           const char *credential,
           const char *kind,
           gint64      tenant_id,
           gint64      user_id)
{
  g_auto(Response) response = { 0 };
  JsonObject *me;

  request (f, "GET", "/api/v1/me", credential, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  me = get_object (&response);
  g_assert_cmpstr (json_object_get_string_member (me, "kind"), ==, kind);
  g_assert_cmpint (json_object_get_int_member (me, "tenant_id"), ==, tenant_id);
  if (user_id != 0)
    g_assert_cmpint (json_object_get_int_member (me, "user_id"), ==, user_id);
  else
    g_assert_true (json_object_get_null_member (me, "user_id"));
}

/* Signs in and returns the access and refresh tokens. */
static void
login (Fixture     *f,
       const char  *email,
       const char  *password,
       char       **access_token,
       char       **refresh_token)
{
  g_auto(Response) response = { 0 };
  g_autofree char *body = NULL;
  JsonObject *tokens;

  body = g_strdup_printf ("{\"email\": \"%s\", \"password\": \"%s\"}", email, password);
  request (f, "POST", "/api/v1/auth/login", NULL, body, &response);
  g_assert_cmpuint (response.status, ==, 200);
  tokens = get_object (&response);
  g_assert_cmpstr (json_object_get_string_member (tokens, "token_type"), ==, "Bearer");
  g_assert_cmpint (json_object_get_int_member (tokens, "expires_in"), >, 900 - 30);
  g_assert_cmpint (json_object_get_int_member (tokens, "expires_in"), <=, 900);
  g_assert_cmpint (json_object_get_int_member (tokens, "refresh_expires_in"), >,
                   30 * 24 * 3600 - 60);
  *access_token = g_strdup (json_object_get_string_member (tokens, "access_token"));
  *refresh_token = g_strdup (json_object_get_string_member (tokens, "refresh_token"));
  g_assert_nonnull (*access_token);
  g_assert_nonnull (*refresh_token);
}

static char *
refresh_body (const char *refresh_token)
{
  return g_strdup_printf ("{\"refresh_token\": \"%s\"}", refresh_token);
}

static void
test_login (Fixture       *f,
            gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *unknown = NULL;
  g_autofree char *wrong_message = NULL;

  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);
  assert_me (f, access, "user", f->tenant_a, f->user_a);

  /* A wrong password and an unknown address look the same. */
  request (f, "POST", "/api/v1/auth/login", NULL,
           "{\"email\": \"ann@example.org\", \"password\": \"not the password\"}",
           &response);
  g_assert_cmpuint (response.status, ==, 401);
  g_assert_cmpstr (get_error_code (&response), ==, "unauthorized");
  wrong_message = g_strdup (json_object_get_string_member (
    json_object_get_object_member (get_object (&response), "error"), "message"));
  request (f, "POST", "/api/v1/auth/login", NULL,
           "{\"email\": \"nobody@example.org\", \"password\": \"whatever it is\"}",
           &response);
  g_assert_cmpuint (response.status, ==, 401);
  g_assert_cmpstr (json_object_get_string_member (
    json_object_get_object_member (get_object (&response), "error"), "message"),
    ==, wrong_message);

  /* Ann is not a user of tenant B. */
  unknown = g_strdup_printf ("{\"email\": \"ann@example.org\", \"password\": \"%s\","
                             " \"tenant_id\": %" G_GINT64_FORMAT "}",
                             PASSWORD_A, f->tenant_b);
  request (f, "POST", "/api/v1/auth/login", NULL, unknown, &response);
  g_assert_cmpuint (response.status, ==, 401);

  /* Bad bodies are refused and name the problem. */
  request (f, "POST", "/api/v1/auth/login", NULL, "{\"email\": ", &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_cmpstr (get_error_code (&response), ==, "invalid_json");
  request (f, "POST", "/api/v1/auth/login", NULL, "{\"email\": \"ann@example.org\"}",
           &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_cmpstr (get_error_code (&response), ==, "invalid_request");
  request (f, "POST", "/api/v1/auth/login", NULL,
           "{\"email\": 5, \"password\": \"x\"}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_cmpstr (get_error_code (&response), ==, "invalid_request");

  /* The token still works after all that. */
  assert_me (f, access, "user", f->tenant_a, f->user_a);
}

static void
test_refresh_rotation (Fixture       *f,
                       gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *body = NULL;
  g_autofree char *second_body = NULL;
  g_autofree char *second_access = NULL;
  g_autofree char *other_access = NULL;
  g_autofree char *other_refresh = NULL;
  JsonObject *tokens;

  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);
  login (f, "ann@example.org", PASSWORD_A, &other_access, &other_refresh);

  body = refresh_body (refresh);
  request (f, "POST", "/api/v1/auth/refresh", NULL, body, &response);
  g_assert_cmpuint (response.status, ==, 200);
  tokens = get_object (&response);
  g_assert_cmpstr (json_object_get_string_member (tokens, "refresh_token"), !=, refresh);
  g_assert_cmpstr (json_object_get_string_member (tokens, "access_token"), !=, access);
  second_body = refresh_body (json_object_get_string_member (tokens, "refresh_token"));
  second_access = g_strdup (json_object_get_string_member (tokens, "access_token"));
  assert_me (f, second_access, "user", f->tenant_a, f->user_a);

  /* The first refresh token is used up: presenting it again signs the
   * whole session out. */
  request (f, "POST", "/api/v1/auth/refresh", NULL, body, &response);
  g_assert_cmpuint (response.status, ==, 401);
  g_assert_cmpstr (get_error_code (&response), ==, "unauthorized");
  request (f, "POST", "/api/v1/auth/refresh", NULL, second_body, &response);
  g_assert_cmpuint (response.status, ==, 401);
  assert_unauthorized (f, second_access);
  assert_unauthorized (f, access);

  /* Another login session is untouched. */
  assert_me (f, other_access, "user", f->tenant_a, f->user_a);
}

static void
test_logout (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *body = NULL;

  login (f, "bob@example.org", PASSWORD_B, &access, &refresh);
  assert_me (f, access, "user", f->tenant_b, f->user_b);

  body = refresh_body (refresh);
  request (f, "POST", "/api/v1/auth/logout", NULL, body, &response);
  g_assert_cmpuint (response.status, ==, 204);
  assert_unauthorized (f, access);
  request (f, "POST", "/api/v1/auth/refresh", NULL, body, &response);
  g_assert_cmpuint (response.status, ==, 401);

  /* Signing out twice succeeds; a made-up token does not. */
  request (f, "POST", "/api/v1/auth/logout", NULL, body, &response);
  g_assert_cmpuint (response.status, ==, 204);
  request (f, "POST", "/api/v1/auth/logout", NULL,
           "{\"refresh_token\": \"made-up\"}", &response);
  g_assert_cmpuint (response.status, ==, 401);
  request (f, "POST", "/api/v1/auth/logout", NULL, "{}", &response);
  g_assert_cmpuint (response.status, ==, 400);
}

static char *
sign (RflSigningKey *key,
      gint64         user_id,
      gint64         tenant_id,
      gint64         issued_at,
      gint64         lifetime)
{
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autoptr(GError) error = NULL;
  char *token;

  claims = rfl_jwt_claims_new (user_id, tenant_id, "member", NULL, issued_at, lifetime);
  token = rfl_jwt_sign (key, claims, &error);
  g_assert_no_error (error);
  return token;
}

static void
test_bad_tokens (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(RflSigningKey) other_key = rfl_signing_key_new_random ();
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *expired = NULL;
  g_autofree char *wrong_key = NULL;
  g_autofree char *forged = NULL;
  g_autofree char *alg_none = NULL;
  g_autofree char *header_none = NULL;
  g_autofree char *payload = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GString) text = NULL;
  gsize length;
  guint8 *decoded;

  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);
  parts = g_strsplit (access, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);

  /* The payload changed to tenant B, the signature kept. */
  decoded = rfl_jwt_base64url_decode (parts[1], strlen (parts[1]), &length);
  g_assert_nonnull (decoded);
  text = g_string_new_len ((const char *) decoded, length);
  g_free (decoded);
  {
    g_autofree char *from = g_strdup_printf ("\"tid\":%" G_GINT64_FORMAT, f->tenant_a);
    g_autofree char *to = g_strdup_printf ("\"tid\":%" G_GINT64_FORMAT, f->tenant_b);

    g_assert_cmpuint (g_string_replace (text, from, to, 1), ==, 1);
  }
  payload = rfl_jwt_base64url_encode ((const guint8 *) text->str, text->len);
  forged = g_strjoin (".", parts[0], payload, parts[2], NULL);

  header_none = rfl_jwt_base64url_encode ((const guint8 *) "{\"alg\":\"none\",\"typ\":\"JWT\"}",
                                          strlen ("{\"alg\":\"none\",\"typ\":\"JWT\"}"));
  alg_none = g_strjoin (".", header_none, parts[1], "", NULL);

  expired = sign (f->key, f->user_a, f->tenant_a, rfl_jwt_now () - 7200, 900);
  wrong_key = sign (other_key, f->user_a, f->tenant_a, rfl_jwt_now (), 900);

  assert_unauthorized (f, forged);
  assert_unauthorized (f, alg_none);
  assert_unauthorized (f, expired);
  assert_unauthorized (f, wrong_key);
  assert_unauthorized (f, "");
  assert_unauthorized (f, "not-a-token");
  assert_unauthorized (f, "rfl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assert_unauthorized (f, NULL);

  /* None of that harmed the real token. */
  assert_me (f, access, "user", f->tenant_a, f->user_a);
}

static void
test_api_keys (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  assert_me (f, f->key_a, "api_key", f->tenant_a, 0);
  assert_me (f, f->key_b, "api_key", f->tenant_b, 0);

  /* Revoking takes effect at the next request. */
  g_assert_true (rfl_auth_store_revoke_api_key (f->auth, f->tenant_a, f->key_a_id,
                                                NULL, &error));
  g_assert_no_error (error);
  assert_unauthorized (f, f->key_a);
  assert_me (f, f->key_b, "api_key", f->tenant_b, 0);
}

static void
test_bodies (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autoptr(GString) huge = g_string_new ("{\"email\": \"");

  /* Over the limit of the sign-in route. */
  for (guint i = 0; i < 64 * 1024; i++)
    g_string_append_c (huge, 'a');
  g_string_append (huge, "\", \"password\": \"x\"}");
  request (f, "POST", "/api/v1/auth/login", NULL, huge->str, &response);
  g_assert_cmpuint (response.status, ==, 413);
  g_assert_cmpstr (get_error_code (&response), ==, "payload_too_large");

  request (f, "POST", "/api/v1/auth/refresh", NULL, "[1, 2", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "POST", "/api/v1/auth/refresh", NULL, "\"a string\"", &response);
  g_assert_cmpuint (response.status, ==, 400);

  /* The server keeps serving. */
  request (f, "GET", "/readyz", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  assert_me (f, f->key_a, "api_key", f->tenant_a, 0);
}

static void
test_openapi (Fixture       *f,
              gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_auto(Response) probe = { 0 };
  JsonObject *paths;
  g_autoptr(GList) names = NULL;
  guint n_api = 0;

  request (f, "GET", "/api/openapi.json", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  paths = json_object_get_object_member (get_object (&response), "paths");
  g_assert_nonnull (paths);

  /* Every documented operation is served: none of them is "nothing here"
   * or "method not allowed", and every one that needs a credential
   * refuses a request without one. */
  names = json_object_get_members (paths);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *path = l->data;
      JsonObject *item = json_object_get_object_member (paths, path);
      g_autoptr(GList) methods = json_object_get_members (item);

      for (GList *m = methods; m != NULL; m = m->next)
        {
          g_autofree char *method = g_ascii_strup (m->data, -1);
          JsonObject *operation = json_object_get_object_member (item, m->data);
          const char *auth = json_object_get_string_member_with_default (operation,
                                                                         "x-reflection-auth",
                                                                         "none");

          if (!g_str_has_prefix (path, "/api/v1/") && !g_str_has_prefix (path, "/v1/"))
            continue;
          n_api++;

          request (f, method, path, NULL,
                   g_str_equal (method, "GET") ? NULL : "{}", &probe);
          g_assert_cmpuint (probe.status, !=, 404);
          g_assert_cmpuint (probe.status, !=, 405);
          if (!g_str_equal (auth, "none"))
            g_assert_cmpuint (probe.status, ==, 401);
        }
    }
  g_assert_cmpuint (n_api, >=, 18);
}

/* Signs in a tenant administrator of A, made for the test. */
static char *
login_admin_a (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *refresh = NULL;
  char *access = NULL;

  rfl_database_create_user (f->db, f->tenant_a, "ada@example.org", "Ada",
                            PASSWORD_A, RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
  login (f, "ada@example.org", PASSWORD_A, &access, &refresh);
  return access;
}

/* Creates an object through the API and returns its id. */
static gint64
create (Fixture    *f,
        const char *path,
        const char *credential,
        const char *body)
{
  g_auto(Response) response = { 0 };

  request (f, "POST", path, credential, body, &response);
  g_assert_cmpuint (response.status, ==, 201);
  return json_object_get_int_member (get_object (&response), "id");
}

static JsonArray *
get_data (Response *response)
{
  g_assert_cmpuint (response->status, ==, 200);
  return json_object_get_array_member (get_object (response), "data");
}

static void
test_memories (Fixture       *f,
               gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *path = NULL;
  g_autofree char *list_path = NULL;
  g_autofree char *body = NULL;
  JsonObject *memory;
  JsonArray *items;
  gint64 id;

  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);
  id = create (f, "/api/v1/memories", access,
               "{\"kind\": \"preference\", \"key\": \"favourite colour\","
               " \"value\": \"green\", \"importance\": 0.8}");
  path = g_strdup_printf ("/api/v1/memories/%" G_GINT64_FORMAT, id);

  request (f, "GET", "/api/v1/memories", access, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  memory = json_array_get_object_element (items, 0);
  g_assert_cmpint (json_object_get_int_member (memory, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (memory, "kind"), ==, "preference");
  g_assert_cmpstr (json_object_get_string_member (memory, "value"), ==, "green");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (memory, "importance"),
                                  0.8, 1e-9);

  request (f, "PATCH", path, access, "{\"value\": \"blue\"}", &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "value"), ==,
                   "blue");
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "key"), ==,
                   "favourite colour");

  request (f, "POST", "/api/v1/memories/search", access,
           "{\"query\": \"favourite colour\", \"k\": 3}", &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), >=, 1);
  memory = json_object_get_object_member (json_array_get_object_element (items, 0), "memory");
  g_assert_cmpint (json_object_get_int_member (memory, "id"), ==, id);

  /* Bad input names the field and changes nothing. */
  request (f, "PATCH", path, access, "{\"importance\": 2}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "PATCH", path, access, "{\"kind\": \"opinion\"}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "POST", "/api/v1/memories", access, "{\"key\": \"  \", \"value\": \"x\"}",
           &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "POST", "/api/v1/memories/search", access, "{\"query\": \"x\", \"k\": 0}",
           &response);
  g_assert_cmpuint (response.status, ==, 400);

  /* An API key names the user, who must be of its tenant. */
  request (f, "GET", "/api/v1/memories", f->key_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_cmpstr (get_error_code (&response), ==, "invalid_request");
  list_path = g_strdup_printf ("/api/v1/memories?user_id=%" G_GINT64_FORMAT, f->user_a);
  request (f, "GET", list_path, f->key_a, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0),
                                                  "value"), ==, "blue");
  g_clear_pointer (&list_path, g_free);
  list_path = g_strdup_printf ("/api/v1/memories?user_id=%" G_GINT64_FORMAT, f->user_b);
  request (f, "GET", list_path, f->key_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 404);

  /* A key without the read scope may not read. */
  g_clear_pointer (&list_path, g_free);
  list_path = g_strdup_printf ("/api/v1/memories?user_id=%" G_GINT64_FORMAT, f->user_b);
  request (f, "GET", list_path, f->key_b_chat, NULL, &response);
  g_assert_cmpuint (response.status, ==, 403);
  g_assert_cmpstr (get_error_code (&response), ==, "forbidden");
  body = g_strdup_printf ("{\"user_id\": %" G_GINT64_FORMAT ", \"key\": \"pet\","
                          " \"value\": \"a cat\"}", f->user_b);
  create (f, "/api/v1/memories", f->key_b_chat, body);

  request (f, "DELETE", path, access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 204);
  request (f, "DELETE", path, access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 404);
  request (f, "GET", "/api/v1/memories", access, NULL, &response);
  g_assert_cmpuint (json_array_get_length (get_data (&response)), ==, 0);
}

static void
test_conversations (Fixture       *f,
                    gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *path = NULL;
  g_autofree char *messages_path = NULL;
  JsonArray *items;
  gint64 id;

  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);
  id = create (f, "/api/v1/conversations", access, "{\"title\": \"Holidays\"}");
  path = g_strdup_printf ("/api/v1/conversations/%" G_GINT64_FORMAT, id);
  messages_path = g_strdup_printf ("%s/messages", path);

  request (f, "GET", path, access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "title"), ==,
                   "Holidays");
  g_assert_cmpint (json_object_get_int_member (get_object (&response), "user_id"), ==,
                   f->user_a);

  request (f, "PATCH", path, access, "{\"title\": \"Summer holidays\"}", &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "title"), ==,
                   "Summer holidays");
  request (f, "PATCH", path, access, "{\"title\": 3}", &response);
  g_assert_cmpuint (response.status, ==, 400);

  request (f, "GET", "/api/v1/conversations", access, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  request (f, "GET", messages_path, access, NULL, &response);
  g_assert_cmpuint (json_array_get_length (get_data (&response)), ==, 0);
  request (f, "GET", "/api/v1/conversations/not-a-number", access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 404);
  request (f, "GET", "/api/v1/conversations?limit=100000", access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 400);

  request (f, "DELETE", path, access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 204);
  request (f, "GET", path, access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 404);
  request (f, "GET", "/api/v1/conversations", access, NULL, &response);
  g_assert_cmpuint (json_array_get_length (get_data (&response)), ==, 0);
}

/* The id of tenant B's object that a route with a {param} addresses. */
static gint64
object_for_route (const char *pattern,
                  gint64      memory_b,
                  gint64      conversation_b,
                  gint64      tenant_b)
{
  if (g_str_has_prefix (pattern, "/api/v1/admin/tenants/{"))
    return tenant_b;
  if (g_str_has_prefix (pattern, "/api/v1/memories/{"))
    return memory_b;
  if (g_str_has_prefix (pattern, "/api/v1/conversations/{"))
    return conversation_b;

  g_test_message ("no object of tenant B for %s", pattern);
  g_assert_not_reached ();
}

static char *
fill_pattern (const char *pattern,
              gint64      id)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  g_autoptr(GString) path = g_string_new (NULL);
  const char *p = pattern;

  while (*p != '\0')
    {
      const char *open = strchr (p, '{');
      const char *close;

      if (open == NULL)
        {
          g_string_append (path, p);
          break;
        }
      close = strchr (open, '}');
      g_assert_nonnull (close);
      g_string_append_len (path, p, open - p);
      g_string_append (path, text);
      p = close + 1;
    }

  return g_strdup (path->str);
}

/* Every operation of the OpenAPI document that addresses an object by
 * {param} is asked for tenant B's object with tenant A's credentials: 404,
 * and B's objects are unchanged. */
static void
test_tenant_isolation (Fixture       *f,
                       gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_auto(Response) probe = { 0 };
  g_autofree char *access_a = NULL;
  g_autofree char *refresh_a = NULL;
  g_autofree char *access_b = NULL;
  g_autofree char *refresh_b = NULL;
  g_autofree char *admin_a = NULL;
  g_autofree char *access_b2 = NULL;
  g_autofree char *refresh_b2 = NULL;
  g_autofree char *body_b = NULL;
  g_autofree char *body_a = NULL;
  g_autofree char *query_a = NULL;
  g_autoptr(GList) names = NULL;
  const char *credentials[2];
  JsonObject *paths;
  JsonArray *items;
  gint64 memory_b, conversation_b;
  guint n_checked = 0;

  login (f, "ann@example.org", PASSWORD_A, &access_a, &refresh_a);
  login (f, "bob@example.org", PASSWORD_B, &access_b, &refresh_b);
  admin_a = login_admin_a (f);
  body_b = g_strdup_printf ("{\"user_id\": %" G_GINT64_FORMAT ", \"key\": \"secret\","
                            " \"value\": \"B's secret\"}", f->user_b);
  memory_b = create (f, "/api/v1/memories", f->key_b, body_b);
  conversation_b = create (f, "/api/v1/conversations", access_b,
                           "{\"title\": \"B's conversation\"}");
  /* A has objects too, so that a wrong lookup could find something. */
  create (f, "/api/v1/memories", access_a, "{\"key\": \"secret\", \"value\": \"A's\"}");
  create (f, "/api/v1/conversations", access_a, "{\"title\": \"A's conversation\"}");

  credentials[0] = access_a;
  credentials[1] = f->key_a;
  body_a = g_strdup_printf ("{\"user_id\": %" G_GINT64_FORMAT ", \"title\": \"taken\","
                            " \"key\": \"taken\", \"value\": \"taken\"}", f->user_a);
  query_a = g_strdup_printf ("?user_id=%" G_GINT64_FORMAT, f->user_a);

  request (f, "GET", "/api/openapi.json", NULL, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  paths = json_object_get_object_member (get_object (&response), "paths");
  names = json_object_get_members (paths);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *pattern = l->data;
      JsonObject *item = json_object_get_object_member (paths, pattern);
      g_autoptr(GList) methods = NULL;
      g_autofree char *path = NULL;

      if (strchr (pattern, '{') == NULL)
        continue;

      path = fill_pattern (pattern, object_for_route (pattern, memory_b, conversation_b,
                                                      f->tenant_b));
      methods = json_object_get_members (item);
      for (GList *m = methods; m != NULL; m = m->next)
        {
          g_autofree char *method = g_ascii_strup (m->data, -1);
          gboolean has_body = !g_str_equal (method, "GET") && !g_str_equal (method, "DELETE");

          /* Administration: A's tenant administrator is told B's tenant
           * does not exist, whatever the body; A's member and API key
           * (without the admin scope) are refused outright. */
          if (g_str_has_prefix (pattern, "/api/v1/admin/"))
            {
              request (f, method, path, admin_a, has_body ? body_a : NULL, &probe);
              if (probe.status != 404)
                g_test_message ("%s %s answered %u", method, path, probe.status);
              g_assert_cmpuint (probe.status, ==, 404);
              g_assert_cmpstr (get_error_code (&probe), ==, "not_found");
              for (guint c = 0; c < G_N_ELEMENTS (credentials); c++)
                {
                  request (f, method, path, credentials[c], has_body ? body_a : NULL,
                           &probe);
                  g_assert_cmpuint (probe.status, ==, 403);
                  g_assert_cmpstr (get_error_code (&probe), ==, "forbidden");
                }
              n_checked++;
              continue;
            }

          for (guint c = 0; c < G_N_ELEMENTS (credentials); c++)
            {
              g_autofree char *full = g_strconcat (path, c == 1 ? query_a : "", NULL);

              request (f, method, full, credentials[c], has_body ? body_a : NULL, &probe);
              if (probe.status != 404)
                g_test_message ("%s %s answered %u", method, full, probe.status);
              g_assert_cmpuint (probe.status, ==, 404);
              g_assert_cmpstr (get_error_code (&probe), ==, "not_found");
              n_checked++;
            }
        }
    }
  g_assert_cmpuint (n_checked, >=, 23);

  /* B's tenant is still active: its user signs in. */
  login (f, "bob@example.org", PASSWORD_B, &access_b2, &refresh_b2);

  /* B's objects are as they were. */
  request (f, "GET", "/api/v1/memories", access_b, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0),
                                                  "value"), ==, "B's secret");
  request (f, "GET", "/api/v1/conversations", access_b, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0),
                                                  "title"), ==, "B's conversation");

  /* Lists only ever hold A's own objects. */
  for (guint c = 0; c < G_N_ELEMENTS (credentials); c++)
    {
      const char *lists[] = { "/api/v1/memories", "/api/v1/conversations" };

      for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
        {
          g_autofree char *full = g_strconcat (lists[i], c == 1 ? query_a : "", NULL);

          request (f, "GET", full, credentials[c], NULL, &response);
          items = get_data (&response);
          g_assert_cmpuint (json_array_get_length (items), ==, 1);
          g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0),
                                                       "user_id"), ==, f->user_a);
        }
    }
}

/* The fake LLM server as the provider, answering with @tokens. */
static void
use_fake_provider (Fixture            *f,
                   const char * const *tokens)
{
  g_autoptr(GError) error = NULL;
  RflProviderConfig config = { RFL_PROVIDER_OPENAI_COMPATIBLE, NULL, FAKE_API_KEY,
                               "gpt-4o-mini", NULL };

  f->fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (f->fake, &error));
  g_assert_no_error (error);
  rfl_fake_llm_set_api_key (f->fake, FAKE_API_KEY);
  rfl_fake_llm_set_reply (f->fake, tokens);
  config.url = rfl_fake_llm_get_url (f->fake);
  rfl_service_set_provider (f->service, &config);
}

static const char * const reply[] = { "Hello", ",", " world", " from", " the", " fake", NULL };
#define REPLY_TEXT "Hello, world from the fake"

static void
test_openai_chat (Fixture       *f,
                  gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *sent = NULL;
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  JsonObject *completion;
  JsonObject *choice;
  JsonObject *usage;

  use_fake_provider (f, reply);

  request (f, "POST", "/v1/chat/completions", f->key_a,
           "{\"model\": \"gpt-4o-mini\", \"messages\": ["
           "{\"role\": \"system\", \"content\": \"Be brief.\"},"
           "{\"role\": \"user\", \"content\": [{\"type\": \"text\","
           " \"text\": \"Say hello\"}]}]}", &response);
  if (response.status != 200)
    g_test_message ("%s", response.body);
  g_assert_cmpuint (response.status, ==, 200);
  completion = get_object (&response);
  g_assert_cmpstr (json_object_get_string_member (completion, "object"), ==, "chat.completion");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (completion, "id"),
                                   "chatcmpl-"));
  g_assert_cmpstr (json_object_get_string_member (completion, "model"), ==, "gpt-4o-mini");
  choice = json_array_get_object_element (json_object_get_array_member (completion, "choices"),
                                          0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (choice,
                                                                                 "message"),
                                                  "content"), ==, REPLY_TEXT);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (choice,
                                                                                 "message"),
                                                  "role"), ==, "assistant");
  g_assert_cmpstr (json_object_get_string_member (choice, "finish_reason"), ==, "stop");
  usage = json_object_get_object_member (completion, "usage");
  g_assert_cmpint (json_object_get_int_member (usage, "completion_tokens"), >, 0);
  g_assert_cmpint (json_object_get_int_member (usage, "total_tokens"), ==,
                   json_object_get_int_member (usage, "prompt_tokens")
                   + json_object_get_int_member (usage, "completion_tokens"));

  /* The provider got the conversation as sent, with its own key. */
  sent = rfl_fake_llm_dup_last_request_body (f->fake);
  g_assert_nonnull (strstr (sent, "Say hello"));
  g_assert_nonnull (strstr (sent, "Be brief."));

  /* A signed-in user may call it too. */
  login (f, "bob@example.org", PASSWORD_B, &access, &refresh);
  request (f, "POST", "/v1/chat/completions", access,
           "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", &response);
  if (response.status != 200)
    g_test_message ("%s", response.body);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "model"), ==,
                   "gpt-4o-mini");

  /* Bad requests name the field. */
  request (f, "POST", "/v1/chat/completions", f->key_a, "{\"messages\": []}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "POST", "/v1/chat/completions", f->key_a,
           "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_nonnull (strstr (response.body, "messages[0].role"));
  request (f, "POST", "/v1/chat/completions", f->key_a, "{\"model\": 1}", &response);
  g_assert_cmpuint (response.status, ==, 400);
}

static void
test_openai_stream (Fixture       *f,
                    gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean saw_role = FALSE, saw_finish = FALSE, saw_usage = FALSE, saw_done = FALSE;
  guint n_content = 0;

  use_fake_provider (f, reply);

  request (f, "POST", "/v1/chat/completions", f->key_a,
           "{\"model\": \"gpt-4o-mini\", \"stream\": true,"
           " \"stream_options\": {\"include_usage\": true},"
           " \"messages\": [{\"role\": \"user\", \"content\": \"Say hello\"}]}",
           &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_null (response.json);

  lines = g_strsplit (response.body, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;
      JsonObject *chunk;
      JsonArray *choices;

      if (*lines[i] == '\0')
        continue;
      g_assert_true (g_str_has_prefix (lines[i], "data: "));
      g_assert_false (saw_done);
      if (g_str_equal (lines[i], "data: [DONE]"))
        {
          saw_done = TRUE;
          continue;
        }

      node = json_from_string (lines[i] + 6, &error);
      g_assert_no_error (error);
      chunk = json_node_get_object (node);
      g_assert_cmpstr (json_object_get_string_member (chunk, "object"), ==,
                       "chat.completion.chunk");
      choices = json_object_get_array_member (chunk, "choices");
      if (json_array_get_length (choices) == 0)
        {
          g_assert_true (saw_finish);
          g_assert_cmpint (json_object_get_int_member (
            json_object_get_object_member (chunk, "usage"), "completion_tokens"), >, 0);
          saw_usage = TRUE;
          continue;
        }
      {
        JsonObject *choice = json_array_get_object_element (choices, 0);
        JsonObject *delta = json_object_get_object_member (choice, "delta");

        if (json_object_has_member (delta, "role"))
          {
            g_assert_false (saw_role);
            g_assert_cmpuint (n_content, ==, 0);
            saw_role = TRUE;
          }
        if (!json_object_get_null_member (choice, "finish_reason"))
          {
            g_assert_cmpstr (json_object_get_string_member (choice, "finish_reason"), ==,
                             "stop");
            saw_finish = TRUE;
          }
        else if (json_object_has_member (delta, "content")
                 && !json_object_has_member (delta, "role"))
          {
            g_assert_false (saw_finish);
            g_string_append (text, json_object_get_string_member (delta, "content"));
            n_content++;
          }
      }
    }

  /* Every piece, in order; the stream ends properly. */
  g_assert_cmpstr (text->str, ==, REPLY_TEXT);
  g_assert_cmpuint (n_content, >=, 1);
  g_assert_true (saw_role);
  g_assert_true (saw_finish);
  g_assert_true (saw_usage);
  g_assert_true (saw_done);
}

static void
test_openai_models_embeddings (Fixture       *f,
                               gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  JsonArray *items;
  JsonArray *vector;
  double norm = 0;

  use_fake_provider (f, reply);

  request (f, "GET", "/v1/models", f->key_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "object"), ==,
                   "list");
  items = json_object_get_array_member (get_object (&response), "data");
  g_assert_cmpuint (json_array_get_length (items), >=, 1);
  g_assert_nonnull (json_object_get_string_member (json_array_get_object_element (items, 0),
                                                   "id"));

  request (f, "POST", "/v1/embeddings", f->key_a,
           "{\"model\": \"any\", \"input\": [\"green tea\", \"black coffee\"]}",
           &response);
  g_assert_cmpuint (response.status, ==, 200);
  items = json_object_get_array_member (get_object (&response), "data");
  g_assert_cmpuint (json_array_get_length (items), ==, 2);
  vector = json_object_get_array_member (json_array_get_object_element (items, 1),
                                         "embedding");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 1),
                                              "index"), ==, 1);
  g_assert_cmpuint (json_array_get_length (vector), ==, 384);
  for (guint i = 0; i < json_array_get_length (vector); i++)
    norm += json_array_get_double_element (vector, i) * json_array_get_double_element (vector, i);
  g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-3);

  request (f, "POST", "/v1/embeddings", f->key_a, "{\"input\": []}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "POST", "/v1/embeddings", f->key_a, "{\"input\": [1]}", &response);
  g_assert_cmpuint (response.status, ==, 400);
}


/* The administration routes, as A's tenant administrator. */
static void
test_admin (Fixture       *f,
            gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *admin_a = login_admin_a (f);
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *tenant = g_strdup_printf ("/api/v1/admin/tenants/%" G_GINT64_FORMAT,
                                             f->tenant_a);
  g_autofree char *quotas = g_strconcat (tenant, "/quotas", NULL);
  g_autofree char *keys = g_strconcat (tenant, "/keys", NULL);
  g_autofree char *users = g_strconcat (tenant, "/users", NULL);
  g_autofree char *suspend = g_strconcat (tenant, "/suspend", NULL);
  g_autofree char *key_path = NULL;
  const char *embed = "{\"model\": \"any\", \"input\": [\"green tea\"]}";
  JsonObject *object;
  JsonArray *items;
  gint64 key_id, user_id;

  /* Only their own tenant is listed. */
  request (f, "GET", "/api/v1/admin/tenants", admin_a, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (items, 0),
                                               "id"), ==, f->tenant_a);
  request (f, "GET", tenant, admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_object (&response), "name"), ==,
                   "Alpha");

  /* Tenants are made and changed by system administrators only; members
   * do not administer at all. */
  request (f, "POST", "/api/v1/admin/tenants", admin_a,
           "{\"name\": \"Gamma\", \"use_case\": \"business\"}", &response);
  g_assert_cmpuint (response.status, ==, 403);
  request (f, "POST", suspend, admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 403);
  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);
  request (f, "GET", "/api/v1/admin/tenants", access, NULL, &response);
  g_assert_cmpuint (response.status, ==, 403);
  g_assert_cmpstr (get_error_code (&response), ==, "forbidden");

  /* Quotas set over HTTP admit the API's next request at once. */
  request (f, "PUT", quotas, admin_a,
           "{\"requests_per_minute\": 1, \"tokens_per_day\": 0,"
           " \"tokens_per_month\": 0, \"max_concurrent\": 0}", &response);
  g_assert_cmpuint (response.status, ==, 204);
  request (f, "PUT", quotas, admin_a,
           "{\"requests_per_minute\": 1, \"tokens_per_day\": 10,"
           " \"tokens_per_month\": 5, \"max_concurrent\": 0}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "PUT", quotas, admin_a, "{\"requests_per_minute\": -1}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "GET", quotas, admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  object = get_object (&response);
  g_assert_cmpint (json_object_get_int_member (object, "requests_per_minute"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "tokens_per_month"), ==, 0);

  request (f, "POST", "/v1/embeddings", f->key_a, embed, &response);
  g_assert_cmpuint (response.status, ==, 200);
  request (f, "POST", "/v1/embeddings", f->key_a, embed, &response);
  g_assert_cmpuint (response.status, ==, 429);

  /* The refusal is in the usage report. */
  request (f, "GET", "/api/v1/admin/usage", admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  items = json_object_get_array_member (get_object (&response), "rejections");
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  object = json_array_get_object_element (items, 0);
  g_assert_cmpstr (json_object_get_string_member (object, "limit"), ==,
                   "requests_per_minute");
  g_assert_cmpint (json_object_get_int_member (object, "count"), ==, 1);
  request (f, "GET", "/api/v1/admin/usage?since=x", admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 400);

  /* Users and API keys. */
  user_id = create (f, users, admin_a,
                    "{\"email\": \"cy@example.org\", \"password\": \"a long password 1\","
                    " \"display_name\": \"Cy\"}");
  request (f, "GET", users, admin_a, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 3);
  request (f, "POST", users, admin_a,
           "{\"email\": \"dee@example.org\", \"password\": \"a long password 1\","
           " \"role\": \"boss\"}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_cmpint (user_id, >, 0);

  request (f, "POST", keys, admin_a, "{\"name\": \"CI\", \"scopes\": \"read\"}", &response);
  g_assert_cmpuint (response.status, ==, 201);
  object = get_object (&response);
  key_id = json_object_get_int_member (object, "id");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (object, "key"), "rfl_"));
  request (f, "POST", keys, admin_a, "{\"name\": \"CI\", \"scopes\": \"root\"}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "GET", keys, admin_a, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 2);
  g_assert_null (strstr (response.body, "\"key\""));
  key_path = g_strdup_printf ("%s/%" G_GINT64_FORMAT, keys, key_id);
  request (f, "DELETE", key_path, admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 204);
  g_free (key_path);
  key_path = g_strdup_printf ("%s/%" G_GINT64_FORMAT, keys, key_id + 1000);
  request (f, "DELETE", key_path, admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 404);

  /* Every change is in the audit log, as JSON or CSV. */
  request (f, "GET", "/api/v1/admin/audit?action=quota_changed", admin_a, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  request (f, "GET", "/api/v1/admin/audit?format=csv", admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_true (g_str_has_prefix (response.body, "id,time,tenant_id,"));
  g_assert_nonnull (strstr (response.body, "api_key_revoked"));
  g_assert_nonnull (strstr (response.body, "user_created"));
  request (f, "GET", "/api/v1/admin/audit?format=xml", admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 400);

  /* ?q= searches targets and actors, the same in JSON and CSV. */
  request (f, "GET", "/api/v1/admin/audit?q=API_KEY", admin_a, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), >, 0);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *entry = json_array_get_object_element (items, i);

      g_assert_nonnull (strstr (json_object_get_string_member (entry, "target"),
                                "api_key"));
    }
  {
    guint n_json = json_array_get_length (items);
    g_auto(GStrv) lines = NULL;

    request (f, "GET", "/api/v1/admin/audit?format=csv&q=api_key", admin_a,
             NULL, &response);
    g_assert_cmpuint (response.status, ==, 200);
    lines = g_strsplit (response.body, "\r\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, n_json + 2);
  }
  request (f, "GET", "/api/v1/admin/audit?q=nothing-like-it", admin_a, NULL,
           &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 0);

  /* Another tenant's usage and log, or all tenants', are not theirs. */
  for (guint i = 0; i < 3; i++)
    {
      const char *routes[] = { "/api/v1/admin/usage", "/api/v1/admin/audit",
                               "/api/v1/admin/audit?format=csv&" };
      g_autofree char *other = g_strdup_printf ("%s%stenant_id=%" G_GINT64_FORMAT,
                                                routes[i], i == 2 ? "" : "?",
                                                f->tenant_b);
      g_autofree char *all = g_strdup_printf ("%s%stenant_id=0", routes[i],
                                              i == 2 ? "" : "?");

      request (f, "GET", other, admin_a, NULL, &response);
      g_assert_cmpuint (response.status, ==, 404);
      g_assert_cmpstr (get_error_code (&response), ==, "not_found");
      request (f, "GET", all, admin_a, NULL, &response);
      g_assert_cmpuint (response.status, ==, 404);
    }
}

static void
test_quota (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(RflQuotaManager) quota = rfl_service_dup_http_quota (f->service);
  g_auto(Response) response = { 0 };
  const char *body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}";
  RflQuotaLimits limits = { 2, 0, 0, 0 };
  JsonObject *error;
  guint calls_before;

  use_fake_provider (f, reply);
  g_assert_nonnull (quota);
  rfl_quota_manager_set_limits (quota, f->tenant_a, &limits);

  for (guint i = 0; i < 2; i++)
    {
      request (f, "POST", "/v1/chat/completions", f->key_a, body, &response);
      g_assert_cmpuint (response.status, ==, 200);
    }

  calls_before = rfl_fake_llm_get_request_count (f->fake);
  request (f, "POST", "/v1/chat/completions", f->key_a, body, &response);
  g_assert_cmpuint (response.status, ==, 429);
  g_assert_nonnull (response.retry_after);
  g_assert_cmpint (atoi (response.retry_after), >=, 1);
  g_assert_cmpint (atoi (response.retry_after), <=, 30);
  g_assert_cmpstr (get_error_code (&response), ==, "quota_exceeded");
  error = json_object_get_object_member (get_object (&response), "error");
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"),
                            "requests per minute"));
  /* Refused before the provider was asked. */
  g_assert_cmpuint (rfl_fake_llm_get_request_count (f->fake), ==, calls_before);

  /* Embeddings count against the same quota; another tenant does not. */
  request (f, "POST", "/v1/embeddings", f->key_a, "{\"input\": \"x\"}", &response);
  g_assert_cmpuint (response.status, ==, 429);
  request (f, "POST", "/v1/chat/completions", f->key_b, body, &response);
  g_assert_cmpuint (response.status, ==, 200);

  request (f, "GET", "/metrics", NULL, NULL, &response);
  g_assert_nonnull (strstr (response.body,
                            "reflection_rate_limit_rejections_total{limit=\"requests\"} 2"));

  /* A token budget the estimate alone exceeds: waiting will not help. */
  limits = (RflQuotaLimits) { 0, 100, 0, 0 };
  rfl_quota_manager_set_limits (quota, f->tenant_b, &limits);
  request (f, "POST", "/v1/chat/completions", f->key_b, body, &response);
  g_assert_cmpuint (response.status, ==, 429);
  g_assert_nonnull (strstr (response.body, "tokens per day"));
}

static void
test_chat (Fixture       *f,
           gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *access_b = NULL;
  g_autofree char *refresh_b = NULL;
  g_autofree char *messages_path = NULL;
  g_autofree char *body = NULL;
  g_autofree char *foreign = NULL;
  g_autoptr(GString) streamed = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  JsonObject *answer;
  JsonArray *items;
  gint64 conversation, conversation_b;
  gboolean saw_done = FALSE, saw_end = FALSE;

  use_fake_provider (f, reply);
  login (f, "ann@example.org", PASSWORD_A, &access, &refresh);

  request (f, "POST", "/api/v1/chat/completions", access,
           "{\"message\": \"Hello there\"}", &response);
  if (response.status != 200)
    g_test_message ("%s", response.body);
  g_assert_cmpuint (response.status, ==, 200);
  answer = get_object (&response);
  g_assert_cmpstr (json_object_get_string_member (answer, "content"), ==, REPLY_TEXT);
  conversation = json_object_get_int_member (answer, "conversation_id");
  g_assert_cmpint (conversation, >, 0);
  g_assert_cmpint (json_object_get_int_member (
    json_object_get_object_member (answer, "usage"), "completion_tokens"), >, 0);

  /* Both messages are stored in the new conversation. */
  messages_path = g_strdup_printf ("/api/v1/conversations/%" G_GINT64_FORMAT "/messages",
                                   conversation);
  request (f, "GET", messages_path, access, NULL, &response);
  items = get_data (&response);
  g_assert_cmpuint (json_array_get_length (items), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0),
                                                  "content"), ==, "Hello there");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 1),
                                                  "content"), ==, REPLY_TEXT);

  /* Streamed: the pieces in order, then the whole answer, then [DONE]. */
  body = g_strdup_printf ("{\"message\": \"Once more\", \"stream\": true,"
                          " \"conversation_id\": %" G_GINT64_FORMAT "}", conversation);
  request (f, "POST", "/api/v1/chat/completions", access, body, &response);
  g_assert_cmpuint (response.status, ==, 200);
  lines = g_strsplit (response.body, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;
      JsonObject *event;

      if (*lines[i] == '\0')
        continue;
      g_assert_true (g_str_has_prefix (lines[i], "data: "));
      g_assert_false (saw_end);
      if (g_str_equal (lines[i], "data: [DONE]"))
        {
          saw_end = TRUE;
          continue;
        }
      node = json_from_string (lines[i] + 6, &error);
      g_assert_no_error (error);
      event = json_node_get_object (node);
      g_assert_cmpint (json_object_get_int_member (event, "conversation_id"), ==,
                       conversation);
      if (g_str_equal (json_object_get_string_member (event, "type"), "delta"))
        {
          g_assert_false (saw_done);
          g_string_append (streamed, json_object_get_string_member (event, "content"));
        }
      else
        {
          g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "done");
          g_assert_cmpstr (json_object_get_string_member (event, "content"), ==, REPLY_TEXT);
          saw_done = TRUE;
        }
    }
  g_assert_cmpstr (streamed->str, ==, REPLY_TEXT);
  g_assert_true (saw_done);
  g_assert_true (saw_end);
  request (f, "GET", messages_path, access, NULL, &response);
  g_assert_cmpuint (json_array_get_length (get_data (&response)), ==, 4);

  /* Another tenant's conversation does not exist for A; nothing is stored. */
  login (f, "bob@example.org", PASSWORD_B, &access_b, &refresh_b);
  conversation_b = create (f, "/api/v1/conversations", access_b, "{\"title\": \"B\"}");
  foreign = g_strdup_printf ("{\"message\": \"Hi\", \"user_id\": %" G_GINT64_FORMAT ","
                             " \"conversation_id\": %" G_GINT64_FORMAT "}",
                             f->user_a, conversation_b);
  request (f, "POST", "/api/v1/chat/completions", f->key_a, foreign, &response);
  g_assert_cmpuint (response.status, ==, 404);
  request (f, "POST", "/api/v1/chat/completions", access, foreign, &response);
  g_assert_cmpuint (response.status, ==, 404);
  g_clear_pointer (&messages_path, g_free);
  messages_path = g_strdup_printf ("/api/v1/conversations/%" G_GINT64_FORMAT "/messages",
                                   conversation_b);
  request (f, "GET", messages_path, access_b, NULL, &response);
  g_assert_cmpuint (json_array_get_length (get_data (&response)), ==, 0);

  request (f, "POST", "/api/v1/chat/completions", f->key_a, "{\"message\": \"Hi\"}",
           &response);
  g_assert_cmpuint (response.status, ==, 400);
  request (f, "POST", "/api/v1/chat/completions", access, "{\"message\": \"\"}",
           &response);
  g_assert_cmpuint (response.status, ==, 400);
}

#define N_CLIENTS 200
#define RPM       60

typedef struct
{
  Fixture *f;
  GMutex   lock;
  GCond    cond;
  gboolean go;
  guint    n_ok;
  guint    n_limited;
  guint    n_other;
} Race;

static gpointer
race_worker (gpointer data)
{
  Race *race = data;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (race->f->url, "/v1/embeddings", NULL);
  g_autofree char *header = g_strconcat ("Bearer ", race->f->key_a, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"input\": \"a race\"}", 19);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  guint status;

  soup_session_set_proxy_resolver (session, NULL);
  soup_session_set_timeout (session, 60);
  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                "Authorization", header);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);

  g_mutex_lock (&race->lock);
  while (!race->go)
    g_cond_wait (&race->cond, &race->lock);
  g_mutex_unlock (&race->lock);

  answer = soup_session_send_and_read (session, msg, NULL, &error);
  status = error == NULL ? soup_message_get_status (msg) : 0;

  g_mutex_lock (&race->lock);
  if (status == 200)
    race->n_ok++;
  else if (status == 429)
    race->n_limited++;
  else
    {
      race->n_other++;
      g_test_message ("status %u: %s", status, error != NULL ? error->message : "");
    }
  g_mutex_unlock (&race->lock);

  return NULL;
}

/* 200 clients at once against 60 requests a minute: exactly the bucket is
 * admitted, plus what refills while they run (one a second). */
static void
test_rate_limit_race (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(RflQuotaManager) quota = rfl_service_dup_http_quota (f->service);
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  RflQuotaLimits limits = { RPM, 0, 0, 0 };
  Race race = { 0 };
  gint64 started, elapsed_us;
  guint refilled;

  rfl_quota_manager_set_limits (quota, f->tenant_a, &limits);
  race.f = f;
  g_mutex_init (&race.lock);
  g_cond_init (&race.cond);

  for (guint i = 0; i < N_CLIENTS; i++)
    g_ptr_array_add (threads, g_thread_new ("race", race_worker, &race));

  started = g_get_monotonic_time ();
  g_mutex_lock (&race.lock);
  race.go = TRUE;
  g_cond_broadcast (&race.cond);
  g_mutex_unlock (&race.lock);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));
  elapsed_us = g_get_monotonic_time () - started;

  refilled = (guint) (elapsed_us * RPM / (60 * G_USEC_PER_SEC));
  g_test_message ("%u admitted, %u refused in %.3f s", race.n_ok, race.n_limited,
                  elapsed_us / 1e6);
  g_assert_cmpuint (race.n_other, ==, 0);
  g_assert_cmpuint (race.n_ok + race.n_limited, ==, N_CLIENTS);
  g_assert_cmpuint (race.n_ok, >=, RPM - 1);
  g_assert_cmpuint (race.n_ok, <=, RPM + 1 + refilled);

  g_mutex_clear (&race.lock);
  g_cond_clear (&race.cond);
}

static gint64
get_int (JsonObject *object,
         const char *member)
{
  return json_object_get_int_member (object, member);
}

/* The row of a usage breakdown whose label is @label. */
static JsonObject *
find_row (JsonArray  *rows,
          const char *label)
{
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *row = json_array_get_object_element (rows, i);

      if (g_strcmp0 (json_object_get_string_member (row, "label"), label) == 0)
        return row;
    }
  return NULL;
}

/* One call through the OpenAI-compatible API with A's key; its usage. */
static void
call_with_key (Fixture *f,
               gint64  *tokens_in,
               gint64  *tokens_out)
{
  g_auto(Response) response = { 0 };
  JsonObject *usage;

  request (f, "POST", "/v1/chat/completions", f->key_a,
           "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}", &response);
  g_assert_cmpuint (response.status, ==, 200);
  usage = json_object_get_object_member (get_object (&response), "usage");
  *tokens_in = get_int (usage, "prompt_tokens");
  *tokens_out = get_int (usage, "completion_tokens");
  g_assert_cmpint (*tokens_in + *tokens_out, >, 0);
}

/* Usage is metered per API key with its cost; the administrator reads it
 * per day, model, user and key, and the system administrator sets the
 * prices. Tools are allowed and forbidden over HTTP too. */
static void
test_usage_cost (Fixture       *f,
                 gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autofree char *admin_a = login_admin_a (f);
  g_autofree char *root = NULL;
  g_autofree char *root_refresh = NULL;
  g_autofree char *tools = g_strdup_printf ("/api/v1/admin/tenants/%" G_GINT64_FORMAT
                                            "/tools", f->tenant_a);
  g_autofree char *web_fetch = g_strconcat (tools, "/web_fetch", NULL);
  g_autoptr(RflPriceTable) shipped = rfl_price_table_new_default ();
  g_autoptr(GError) error = NULL;
  guint64 expected = 0, second = 0;
  gint64 in, out, in2, out2;
  JsonArray *rows;
  JsonObject *row;

  rfl_database_create_user (f->db, f->tenant_a, "root@example.org", "Root",
                            PASSWORD_A, RFL_ROLE_SYSTEM_ADMIN, &error);
  g_assert_no_error (error);
  login (f, "root@example.org", PASSWORD_A, &root, &root_refresh);

  use_fake_provider (f, reply);
  call_with_key (f, &in, &out);
  g_assert_true (rfl_price_table_estimate_cost (shipped, "gpt-4o-mini", in, out,
                                                &expected));

  /* Per key: A's key, with its first characters and the call's cost. */
  request (f, "GET", "/api/v1/admin/usage/breakdown?group_by=key", admin_a, NULL,
           &response);
  g_assert_cmpuint (response.status, ==, 200);
  rows = get_data (&response);
  g_assert_cmpuint (json_array_get_length (rows), ==, 1);
  row = find_row (rows, "Alpha key");
  g_assert_nonnull (row);
  g_assert_false (json_object_get_null_member (row, "id"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (row, "detail"), "rfl_"));
  g_assert_true (g_str_has_prefix (f->key_a, json_object_get_string_member (row, "detail")));
  g_assert_cmpint (get_int (row, "calls"), ==, 1);
  g_assert_cmpint (get_int (row, "cost_micro_usd"), ==, (gint64) expected);
  g_assert_cmpint (get_int (row, "unpriced_calls"), ==, 0);

  /* Per model, and the daily report has the cost too. */
  request (f, "GET", "/api/v1/admin/usage/breakdown?group_by=model", admin_a, NULL,
           &response);
  row = find_row (get_data (&response), "gpt-4o-mini");
  g_assert_nonnull (row);
  g_assert_cmpint (get_int (row, "tokens_in"), ==, in);
  g_assert_cmpint (get_int (row, "tokens_out"), ==, out);
  request (f, "GET", "/api/v1/admin/usage", admin_a, NULL, &response);
  row = json_array_get_object_element (get_data (&response), 0);
  g_assert_cmpint (get_int (row, "cost_micro_usd"), ==, (gint64) expected);

  /* A call with a key has no user. */
  request (f, "GET", "/api/v1/admin/usage/breakdown?group_by=user", admin_a, NULL,
           &response);
  row = find_row (get_data (&response), "");
  g_assert_nonnull (row);
  g_assert_true (json_object_get_null_member (row, "id"));

  request (f, "GET", "/api/v1/admin/usage/breakdown?group_by=tenant", admin_a, NULL,
           &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_nonnull (strstr (response.body, "group_by"));
  request (f, "GET", "/api/v1/admin/usage/breakdown", admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 400);

  /* Prices: every administrator reads them, the system administrator
   * alone changes them, and a bad table changes nothing. */
  request (f, "GET", "/api/v1/admin/prices", admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (get_object (&response),
                                                                         "models")),
                    ==, rfl_price_table_get_n_prices (shipped));
  request (f, "PUT", "/api/v1/admin/prices", admin_a,
           "{\"models\": [{\"model\": \"gpt-4o-mini\", \"input\": 1, \"output\": 2}]}",
           &response);
  g_assert_cmpuint (response.status, ==, 403);
  request (f, "PUT", "/api/v1/admin/prices", root,
           "{\"models\": [{\"model\": \"a\", \"input\": 1, \"output\": 2},"
           " {\"model\": \"gpt-4o-mini\", \"input\": \"cheap\", \"output\": 2}]}",
           &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_nonnull (strstr (response.body, "2"));
  request (f, "GET", "/api/v1/admin/prices", root, NULL, &response);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (get_object (&response),
                                                                         "models")),
                    ==, rfl_price_table_get_n_prices (shipped));

  request (f, "PUT", "/api/v1/admin/prices", root,
           "{\"models\": [{\"model\": \"gpt-4o-mini\", \"input\": \"1\", \"output\": 2}]}",
           &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (get_object (&response),
                                                                         "models")), ==, 1);

  /* The next call is metered at the new prices; the first keeps its cost. */
  call_with_key (f, &in2, &out2);
  second = (guint64) in2 + 2 * (guint64) out2;
  request (f, "GET", "/api/v1/admin/usage/breakdown?group_by=key", admin_a, NULL,
           &response);
  row = find_row (get_data (&response), "Alpha key");
  g_assert_cmpint (get_int (row, "calls"), ==, 2);
  g_assert_cmpint (get_int (row, "cost_micro_usd"), ==, (gint64) (expected + second));

  request (f, "GET", "/api/v1/admin/audit?tenant_id=0&action=prices_changed", root,
           NULL, &response);
  g_assert_cmpuint (json_array_get_length (get_data (&response)), ==, 1);

  /* Tools. */
  request (f, "GET", tools, admin_a, NULL, &response);
  g_assert_cmpuint (response.status, ==, 200);
  row = NULL;
  rows = get_data (&response);
  for (guint i = 0; i < json_array_get_length (rows); i++)
    if (g_str_equal (json_object_get_string_member (json_array_get_object_element (rows, i),
                                                    "tool"), "web_fetch"))
      row = json_array_get_object_element (rows, i);
  g_assert_nonnull (row);
  g_assert_false (json_object_get_boolean_member (row, "enabled"));
  g_assert_true (json_object_get_boolean_member (row, "default"));

  request (f, "PUT", web_fetch, admin_a, "{\"enabled\": true}", &response);
  g_assert_cmpuint (response.status, ==, 204);
  request (f, "GET", tools, admin_a, NULL, &response);
  rows = get_data (&response);
  for (guint i = 0; i < json_array_get_length (rows); i++)
    if (g_str_equal (json_object_get_string_member (json_array_get_object_element (rows, i),
                                                    "tool"), "web_fetch"))
      row = json_array_get_object_element (rows, i);
  g_assert_true (json_object_get_boolean_member (row, "enabled"));
  g_assert_false (json_object_get_boolean_member (row, "default"));

  request (f, "PUT", web_fetch, admin_a, "{\"enabled\": \"yes\"}", &response);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_nonnull (strstr (response.body, "enabled"));
  {
    g_autofree char *bad = g_strconcat (tools, "/Not%20A%20Tool", NULL);

    request (f, "PUT", bad, admin_a, "{\"enabled\": true}", &response);
    g_assert_cmpuint (response.status, ==, 400);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(name, func) \
  g_test_add ("/rfl/http-api/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("login", test_login);
  ADD ("admin", test_admin);
  ADD ("usage-cost", test_usage_cost);
  ADD ("refresh-rotation", test_refresh_rotation);
  ADD ("logout", test_logout);
  ADD ("bad-tokens", test_bad_tokens);
  ADD ("api-keys", test_api_keys);
  ADD ("bodies", test_bodies);
  ADD ("openapi", test_openapi);
  ADD ("memories", test_memories);
  ADD ("conversations", test_conversations);
  ADD ("tenant-isolation", test_tenant_isolation);
  ADD ("openai-chat", test_openai_chat);
  ADD ("openai-stream", test_openai_stream);
  ADD ("openai-models-embeddings", test_openai_models_embeddings);
  ADD ("quota", test_quota);
  ADD ("chat", test_chat);
  ADD ("rate-limit-race", test_rate_limit_race);

#undef ADD

  return g_test_run ();
}
