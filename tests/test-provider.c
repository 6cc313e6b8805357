/* test-provider.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-provider.h"
#include "llm/rfl-transfer.h"
#include "rfl-fake-llm.h"

typedef struct
{
  RflFakeLlm *fake;
} Fixture;

typedef struct
{
  GAsyncResult *result;
  gint64        done_at;
} Waiter;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (fixture->fake, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->fake, rfl_fake_llm_free);
}

static void
waiter_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
  waiter->done_at = g_get_monotonic_time ();
}

static GPtrArray *
list_models (RflProviderKind   kind,
             const char       *url,
             const char       *key,
             GError          **error)
{
  Waiter waiter = { 0, };
  GPtrArray *models;

  rfl_provider_list_models_async (kind, url, key, NULL, waiter_cb, &waiter);
  while (waiter.result == NULL)
    g_main_context_iteration (NULL, TRUE);

  models = rfl_provider_list_models_finish (waiter.result, error);
  g_object_unref (waiter.result);
  return models;
}

static const char *
model_name (GPtrArray *models,
            guint      i)
{
  RflModelInfo *info = g_ptr_array_index (models, i);

  return info->name;
}

/* A port nothing listens on: bound, read back, closed. */
static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_assert_true (g_socket_close (socket, &error));

  return port;
}

static void
test_kinds (void)
{
  for (guint i = 0; i < RFL_N_PROVIDERS; i++)
    {
      const char *id = rfl_provider_kind_to_string (i);
      RflProviderKind kind;

      g_assert_nonnull (id);
      g_assert_true (rfl_provider_kind_from_string (id, &kind));
      g_assert_cmpint (kind, ==, i);
      g_assert_nonnull (rfl_provider_kind_get_title (i));
    }

  g_assert_cmpstr (rfl_provider_kind_to_string (RFL_PROVIDER_OLLAMA), ==,
                   "ollama");
  g_assert_cmpstr (rfl_provider_kind_to_string (RFL_PROVIDER_OPENAI_COMPATIBLE),
                   ==, "openai-compatible");
  g_assert_cmpstr (rfl_provider_kind_get_default_url (RFL_PROVIDER_OLLAMA), ==,
                   "http://127.0.0.1:11434");
  g_assert_cmpstr (rfl_provider_kind_get_default_url (RFL_PROVIDER_ANTHROPIC),
                   ==, "https://api.anthropic.com");
  g_assert_null (rfl_provider_kind_get_default_url (RFL_PROVIDER_OPENAI_COMPATIBLE));
  g_assert_false (rfl_provider_kind_needs_key (RFL_PROVIDER_OLLAMA));
  g_assert_true (rfl_provider_kind_needs_key (RFL_PROVIDER_OPENAI));
  g_assert_true (rfl_provider_kind_needs_key (RFL_PROVIDER_ANTHROPIC));

  {
    RflProviderKind kind = RFL_PROVIDER_ANTHROPIC;

    g_assert_false (rfl_provider_kind_from_string ("bogus", &kind));
    g_assert_false (rfl_provider_kind_from_string (NULL, &kind));
    g_assert_cmpint (kind, ==, RFL_PROVIDER_ANTHROPIC);
  }
}

static void
assert_invalid_url (const char *url,
                    const char *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (rfl_provider_validate_url (url, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
}

static void
test_validate_url (void)
{
  static const char *good[] = {
    "http://127.0.0.1:11434", "https://api.openai.com/", "HTTPS://Example.org",
    " http://localhost:8080/v1 ", "http://[::1]:11434", "https://host/api/v1/",
  };
  static const char scheme[] = "Enter a URL starting with http:// or https://";
  static const char host[] = "The URL has no host name";

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (rfl_provider_validate_url (good[i], &error));
      g_assert_no_error (error);
    }

  assert_invalid_url (NULL, scheme);
  assert_invalid_url ("", scheme);
  assert_invalid_url ("   ", scheme);
  assert_invalid_url ("localhost:11434", scheme);
  assert_invalid_url ("ftp://example.org", scheme);
  assert_invalid_url ("file:///etc/passwd", scheme);
  assert_invalid_url ("http://", host);
  assert_invalid_url ("https:///v1", host);
  assert_invalid_url ("http://:8080", host);
  assert_invalid_url ("http://exa mple.org", NULL);
  assert_invalid_url ("http://host:99999", NULL);
  assert_invalid_url ("http://host/v1?key=1", NULL);
  assert_invalid_url ("http://host/#top", NULL);
}

static void
test_invalid_url_async (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  models = list_models (RFL_PROVIDER_OLLAMA, "127.0.0.1:11434", NULL, &error);
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_cmpstr (error->message, ==,
                   "Enter a URL starting with http:// or https://");
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 0);
}

static void
test_list_ollama (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *url = rfl_fake_llm_get_url (fixture->fake);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autofree char *path = NULL;
  g_autofree char *with_api = NULL;
  g_autofree char *with_slash = NULL;
  RflModelInfo *info;

  rfl_fake_llm_add_model (fixture->fake, RFL_FAKE_LLM_OLLAMA, "alpha:1b", 42);
  models = list_models (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (models);
  g_assert_cmpuint (models->len, ==, 3);
  g_assert_cmpstr (model_name (models, 0), ==, "alpha:1b");
  g_assert_cmpstr (model_name (models, 1), ==, "llama3.2:3b");
  g_assert_cmpstr (model_name (models, 2), ==, "nomic-embed-text:latest");
  info = g_ptr_array_index (models, 0);
  g_assert_cmpuint (info->size_bytes, ==, 42);
  info = g_ptr_array_index (models, 1);
  g_assert_cmpuint (info->size_bytes, ==, 2019393189);

  path = rfl_fake_llm_dup_last_request_path (fixture->fake);
  g_assert_cmpstr (path, ==, "/api/tags");

  /* A trailing slash or the "/api" prefix typed by the user is accepted. */
  with_slash = g_strconcat (url, "/", NULL);
  with_api = g_strconcat (url, "/api/", NULL);
  g_clear_pointer (&models, g_ptr_array_unref);
  models = list_models (RFL_PROVIDER_OLLAMA, with_slash, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 3);
  g_clear_pointer (&models, g_ptr_array_unref);
  models = list_models (RFL_PROVIDER_OLLAMA, with_api, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 3);
  g_assert_cmpuint (rfl_fake_llm_count_requests_for_path (fixture->fake,
                                                          "/api/tags"), ==, 3);
}

static void
test_list_empty (Fixture       *fixture,
                 gconstpointer  data)
{
  const char * const none[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  rfl_fake_llm_set_models (fixture->fake, RFL_FAKE_LLM_OLLAMA, none);
  models = list_models (RFL_PROVIDER_OLLAMA, rfl_fake_llm_get_url (fixture->fake),
                        NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (models);
  g_assert_cmpuint (models->len, ==, 0);
}

static void
test_list_openai (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *url = rfl_fake_llm_get_url (fixture->fake);
  const char *bases[] = { NULL, "/", "/v1", "/v1/" };

  rfl_fake_llm_set_api_key (fixture->fake, "sk-test-0123456789");

  for (guint i = 0; i < G_N_ELEMENTS (bases); i++)
    {
      g_autofree char *base = g_strconcat (url, bases[i], NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) models = NULL;
      g_autofree char *path = NULL;
      g_autofree char *auth = NULL;

      /* Pasted keys often come with a trailing newline. */
      models = list_models (RFL_PROVIDER_OPENAI, base, "sk-test-0123456789\n",
                            &error);
      g_assert_no_error (error);
      g_assert_cmpuint (models->len, ==, 2);
      g_assert_cmpstr (model_name (models, 0), ==, "gpt-4o-mini");
      g_assert_cmpstr (model_name (models, 1), ==, "text-embedding-3-small");

      path = rfl_fake_llm_dup_last_request_path (fixture->fake);
      g_assert_cmpstr (path, ==, "/v1/models");
      auth = rfl_fake_llm_dup_last_request_header (fixture->fake,
                                                   "Authorization");
      g_assert_cmpstr (auth, ==, "Bearer sk-test-0123456789");
    }
}

static void
test_list_compatible (Fixture       *fixture,
                      gconstpointer  data)
{
  const char * const names[] = { "zeta", "Qwen/Qwen2.5-7B", "mistral", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autofree char *auth = NULL;

  rfl_fake_llm_set_models (fixture->fake, RFL_FAKE_LLM_OPENAI, names);
  models = list_models (RFL_PROVIDER_OPENAI_COMPATIBLE,
                        rfl_fake_llm_get_url (fixture->fake), "", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 3);
  g_assert_cmpstr (model_name (models, 0), ==, "Qwen/Qwen2.5-7B");
  g_assert_cmpstr (model_name (models, 1), ==, "mistral");
  g_assert_cmpstr (model_name (models, 2), ==, "zeta");

  /* No key, no Authorization header. */
  auth = rfl_fake_llm_dup_last_request_header (fixture->fake, "authorization");
  g_assert_null (auth);
}

static void
test_list_anthropic (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autofree char *key = NULL;
  g_autofree char *version = NULL;
  g_autofree char *auth = NULL;

  rfl_fake_llm_set_api_key (fixture->fake, "sk-ant-right");
  models = list_models (RFL_PROVIDER_ANTHROPIC,
                        rfl_fake_llm_get_url (fixture->fake), "sk-ant-right",
                        &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 2);
  g_assert_cmpstr (model_name (models, 0), ==, "claude-3-5-haiku-20241022");
  g_assert_cmpstr (model_name (models, 1), ==, "claude-sonnet-4-20250514");

  key = rfl_fake_llm_dup_last_request_header (fixture->fake, "x-api-key");
  version = rfl_fake_llm_dup_last_request_header (fixture->fake,
                                                  "anthropic-version");
  auth = rfl_fake_llm_dup_last_request_header (fixture->fake, "authorization");
  g_assert_cmpstr (key, ==, "sk-ant-right");
  g_assert_cmpstr (version, ==, "2023-06-01");
  g_assert_null (auth);
}

static void
test_wrong_key (Fixture       *fixture,
                gconstpointer  data)
{
  const char *url = rfl_fake_llm_get_url (fixture->fake);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  rfl_fake_llm_set_api_key (fixture->fake, "sk-right-key-000000");

  models = list_models (RFL_PROVIDER_OPENAI, url, "sk-wrong-key-111111", &error);
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_true (g_str_has_prefix (error->message,
                                   "The provider refused the API key: "
                                   "Incorrect API key provided: "));
  /* The key the user typed is not echoed back in full. */
  g_assert_null (strstr (error->message, "sk-wrong-key-111111"));
  g_clear_error (&error);

  models = list_models (RFL_PROVIDER_OPENAI, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_nonnull (strstr (error->message, "You didn't provide an API key"));
  g_clear_error (&error);

  models = list_models (RFL_PROVIDER_ANTHROPIC, url, "sk-wrong", &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  g_assert_cmpstr (error->message, ==,
                   "The provider refused the API key: invalid x-api-key");
  g_clear_error (&error);

  /* The right key works right after. */
  models = list_models (RFL_PROVIDER_OPENAI, url, "sk-right-key-000000", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 2);
}

static void
test_bad_key_characters (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  models = list_models (RFL_PROVIDER_OPENAI, rfl_fake_llm_get_url (fixture->fake),
                        "sk-a\r\nX-Evil: 1", &error);
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 0);
}

static void
test_unreachable (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autofree char *expected = g_strdup_printf ("Cannot reach %s: Connection refused",
                                               url);
  g_autofree char *with_slash = g_strconcat (url, "/", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;

  models = list_models (RFL_PROVIDER_OLLAMA, with_slash, NULL, &error);
  elapsed = g_get_monotonic_time () - start;
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNREACHABLE);
  g_assert_cmpstr (error->message, ==, expected);
  g_test_message ("refused after %.1f ms", elapsed / 1000.0);
  g_assert_cmpint (elapsed, <, 2 * G_USEC_PER_SEC);
}

static void
test_host_not_found (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  /* ".invalid" never resolves (RFC 6761), without asking the network. */
  models = list_models (RFL_PROVIDER_OLLAMA, "http://reflection.invalid:11434",
                        NULL, &error);
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNREACHABLE);
  if (g_str_has_suffix (error->message, "Timed out"))
    {
      g_test_skip ("The resolver did not answer in time");
      return;
    }
  g_assert_cmpstr (error->message, ==,
                   "Cannot reach http://reflection.invalid:11434: Host not found");
}

static void
test_http_errors (Fixture       *fixture,
                  gconstpointer  data)
{
  const char *url = rfl_fake_llm_get_url (fixture->fake);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 1);
  models = list_models (RFL_PROVIDER_OPENAI_COMPATIBLE, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_cmpstr (error->message, ==,
                   "The provider answered HTTP 500: The server had an error "
                   "while processing your request. Sorry about that!");
  g_clear_error (&error);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_500, 0, 1);
  models = list_models (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_true (g_str_has_prefix (error->message,
                                   "The provider answered HTTP 500: llama "));
  g_clear_error (&error);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_HTTP_429, 7, 1);
  models = list_models (RFL_PROVIDER_ANTHROPIC, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_true (g_str_has_prefix (error->message,
                                   "The provider answered HTTP 429: Number of "
                                   "requests has exceeded"));
  g_clear_error (&error);

  /* The fault was for one request only. */
  models = list_models (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 2);
}

static void
test_not_found (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *url = g_strconcat (rfl_fake_llm_get_url (fixture->fake),
                                      "/somewhere", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  /* An Ollama answer without a JSON body: the status alone, plain text. */
  models = list_models (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROVIDER);
  g_assert_cmpstr (error->message, ==,
                   "The provider answered HTTP 404: 404 page not found");
}

static void
test_malformed (Fixture       *fixture,
                gconstpointer  data)
{
  const char *url = rfl_fake_llm_get_url (fixture->fake);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_MALFORMED, 0, 1);
  models = list_models (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "is not JSON"));
  g_assert_nonnull (strstr (error->message, "/api/tags"));
  g_clear_error (&error);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_WRONG_SHAPE, 0, 1);
  models = list_models (RFL_PROVIDER_OLLAMA, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "“models”"));
  g_clear_error (&error);

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_WRONG_SHAPE, 0, 1);
  models = list_models (RFL_PROVIDER_OPENAI, url, NULL, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "“data”"));
}

static void
test_disconnect (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_DISCONNECT, 0, 1);
  models = list_models (RFL_PROVIDER_OLLAMA, rfl_fake_llm_get_url (fixture->fake),
                        NULL, &error);
  g_assert_null (models);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNREACHABLE);
  g_assert_true (g_str_has_prefix (error->message, "Cannot reach http://127.0.0.1:"));
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;
  Waiter waiter = { 0, };
  gint64 cancelled_at;
  gint64 elapsed;

  /* The server holds the answer back for 10 s. */
  rfl_fake_llm_set_fault (fixture->fake, RFL_FAKE_LLM_FAULT_SLOW, 10000, 1);
  rfl_provider_list_models_async (RFL_PROVIDER_OLLAMA,
                                  rfl_fake_llm_get_url (fixture->fake), NULL,
                                  cancellable, waiter_cb, &waiter);
  g_assert_true (rfl_fake_llm_wait_for_requests (fixture->fake, 1, 5000));
  g_usleep (50 * 1000);

  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  while (waiter.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  elapsed = waiter.done_at - cancelled_at;

  models = rfl_provider_list_models_finish (waiter.result, &error);
  g_object_unref (waiter.result);
  g_assert_null (models);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_test_message ("cancelled after %.1f ms", elapsed / 1000.0);
  g_assert_cmpint (elapsed, <, 100 * 1000);
}

static void
test_cancelled_before (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  g_cancellable_cancel (cancellable);
  models = rfl_provider_list_models (RFL_PROVIDER_OLLAMA,
                                     rfl_fake_llm_get_url (fixture->fake), NULL,
                                     cancellable, &error);
  g_assert_null (models);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (rfl_fake_llm_get_request_count (fixture->fake), ==, 0);
}

static void
test_sync (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = NULL;

  models = rfl_provider_list_models (RFL_PROVIDER_OLLAMA,
                                     rfl_fake_llm_get_url (fixture->fake), NULL,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 2);
}

static void
assert_message (const char *body,
                const char *expected)
{
  g_autofree char *message =
    rfl_transfer_dup_error_message (body, body != NULL ? strlen (body) : 0);

  g_assert_cmpstr (message, ==, expected);
}

static void
test_error_message (void)
{
  g_autofree char *long_text = g_strnfill (400, 'x');
  g_autofree char *long_body = g_strdup_printf ("{\"error\":\"%s\"}", long_text);
  g_autofree char *message =
    rfl_transfer_dup_error_message (long_body, strlen (long_body));

  assert_message ("{\"error\":\"model not found\"}", "model not found");
  assert_message ("{\"error\":{\"message\":\"Bad key\",\"type\":\"x\"}}", "Bad key");
  assert_message ("{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                  "\"message\":\"invalid x-api-key\"}}", "invalid x-api-key");
  assert_message ("{\"detail\":\"Not Found\"}", "Not Found");
  assert_message ("{\"message\":\" spaced \"}", "spaced");
  assert_message ("  Bad Gateway\n", "Bad Gateway");
  assert_message ("<html><body>502</body></html>", NULL);
  assert_message ("{\"other\":1}", NULL);
  assert_message ("", NULL);
  assert_message (NULL, NULL);

  g_assert_cmpuint (g_utf8_strlen (message, -1), ==, 301);
  g_assert_true (g_str_has_suffix (message, "…"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* A proxy in the environment is never used for loopback, nor for the
   * hosts no_proxy names. */
  g_setenv ("http_proxy", "http://127.0.0.1:9", TRUE);
  g_setenv ("no_proxy", "reflection.invalid", TRUE);

  g_test_add_func ("/rfl/provider/kinds", test_kinds);
  g_test_add_func ("/rfl/provider/validate-url", test_validate_url);
  g_test_add_func ("/rfl/provider/error-message", test_error_message);
  g_test_add_func ("/rfl/provider/unreachable", test_unreachable);
  g_test_add_func ("/rfl/provider/host-not-found", test_host_not_found);
#define ADD(path, func) \
  g_test_add ("/rfl/provider/" path, Fixture, NULL, fixture_setup, func, \
              fixture_teardown)
  ADD ("invalid-url", test_invalid_url_async);
  ADD ("list-ollama", test_list_ollama);
  ADD ("list-empty", test_list_empty);
  ADD ("list-openai", test_list_openai);
  ADD ("list-compatible", test_list_compatible);
  ADD ("list-anthropic", test_list_anthropic);
  ADD ("wrong-key", test_wrong_key);
  ADD ("bad-key-characters", test_bad_key_characters);
  ADD ("http-errors", test_http_errors);
  ADD ("not-found", test_not_found);
  ADD ("malformed", test_malformed);
  ADD ("disconnect", test_disconnect);
  ADD ("cancel", test_cancel);
  ADD ("cancelled-before", test_cancelled_before);
  ADD ("sync", test_sync);
#undef ADD

  return g_test_run ();
}
