/* test-secrets.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <libsecret/secret.h>

#include "core/rfl-error.h"
#include "core/rfl-secrets.h"

/* Async helpers */

typedef struct
{
  gboolean  done;
  gboolean  ok;
  char     *text;
  GError   *error;
} Wait;

static void
wait_for (Wait *wait)
{
  while (!wait->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
check_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Wait *wait = user_data;

  wait->ok = rfl_secrets_check_finish (result, &wait->error);
  wait->done = TRUE;
}

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Wait *wait = user_data;

  wait->ok = rfl_secrets_store_finish (result, &wait->error);
  wait->done = TRUE;
}

static void
lookup_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Wait *wait = user_data;

  wait->text = rfl_secrets_lookup_finish (result, &wait->error);
  wait->done = TRUE;
}

static gboolean
check_keyring (GError **error)
{
  Wait wait = { 0 };

  rfl_secrets_check_async (NULL, check_cb, &wait);
  wait_for (&wait);

  g_assert_true (wait.ok == (wait.error == NULL));
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);

  return wait.ok;
}

static char *
lookup_async (const char  *provider,
              const char  *url,
              GError     **error)
{
  Wait wait = { 0 };

  rfl_secrets_lookup_async (provider, url, NULL, lookup_cb, &wait);
  wait_for (&wait);

  if (wait.error != NULL)
    g_propagate_error (error, wait.error);

  return wait.text;
}

static gboolean
store_async (const char  *provider,
             const char  *url,
             const char  *key,
             GError     **error)
{
  Wait wait = { 0 };

  rfl_secrets_store_async (provider, url, key, NULL, store_cb, &wait);
  wait_for (&wait);

  if (wait.error != NULL)
    g_propagate_error (error, wait.error);

  return wait.ok;
}

/* The suite runner provides an unlocked keyring on a private bus. Without
 * one the keyring tests are skipped, unless the runner demands them. */
static gboolean
require_keyring (void)
{
  g_autoptr(GError) error = NULL;

  if (check_keyring (&error))
    return TRUE;

  g_assert_error (error, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE);

  if (g_strcmp0 (g_getenv ("RFL_TEST_REQUIRE_KEYRING"), "1") == 0)
    g_test_fail_printf ("No Secret Service, but RFL_TEST_REQUIRE_KEYRING=1: "
                        "%s", error->message);
  else
    g_test_skip_printf ("No Secret Service: %s", error->message);

  return FALSE;
}

/* An address no other run uses, so that the test never meets old items
 * and never touches a real key. */
static char *
make_test_url (void)
{
  return g_strdup_printf ("https://rfl-test-%08x%08x.invalid/v1",
                          g_random_int (), g_random_int ());
}

static char *
dup_label (const char *provider,
           const char *url)
{
  static const SecretSchema schema = {
    "org.reflection.Reflection.ApiKey",
    SECRET_SCHEMA_NONE,
    {
      { "provider", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "url", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretService) service = NULL;
  GList *items;
  char *label = NULL;

  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);

  attributes = secret_attributes_build (&schema,
                                        "provider", provider,
                                        "url", url,
                                        NULL);
  items = secret_service_search_sync (service, &schema, attributes,
                                      SECRET_SEARCH_ALL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  label = secret_item_get_label (items->data);
  g_list_free_full (items, g_object_unref);

  return label;
}

/* Tests */

static void
test_round_trip (void)
{
  g_autofree char *url = make_test_url ();
  g_autofree char *slash_url = g_strconcat (url, "/", NULL);
  g_autofree char *expected_label = NULL;
  g_autofree char *label = NULL;
  g_autofree char *key = NULL;
  g_autoptr(GError) error = NULL;

  if (!require_keyring ())
    return;

  g_assert_true (rfl_secrets_store_sync ("openai", slash_url, "sk-test-one",
                                         NULL, &error));
  g_assert_no_error (error);

  /* The URL is normalised: a trailing slash names the same endpoint. */
  key = rfl_secrets_lookup_sync ("openai", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "sk-test-one");
  g_clear_pointer (&key, g_free);

  key = lookup_async ("openai", slash_url, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "sk-test-one");
  g_clear_pointer (&key, g_free);

  expected_label = g_strdup_printf ("Reflection API key for openai (%s)", url);
  label = dup_label ("openai", url);
  g_assert_cmpstr (label, ==, expected_label);

  /* Provider and URL both key the item. */
  key = rfl_secrets_lookup_sync ("anthropic", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (key);

  /* Storing again replaces the key. */
  g_assert_true (store_async ("openai", url, "sk-test-two", &error));
  g_assert_no_error (error);
  key = rfl_secrets_lookup_sync ("openai", url, NULL, &error);
  g_assert_cmpstr (key, ==, "sk-test-two");
  g_clear_pointer (&key, g_free);

  g_assert_true (rfl_secrets_clear_sync ("openai", url, NULL, &error));
  g_assert_no_error (error);
  key = rfl_secrets_lookup_sync ("openai", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (key);

  /* Clearing what is not there is not an error. */
  g_assert_true (rfl_secrets_clear_sync ("openai", url, NULL, &error));
  g_assert_no_error (error);
}

static void
test_missing (void)
{
  g_autofree char *url = make_test_url ();
  g_autofree char *key = NULL;
  g_autoptr(GError) error = NULL;

  if (!require_keyring ())
    return;

  key = rfl_secrets_lookup_sync ("openai-compatible", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (key);

  key = lookup_async ("openai-compatible", url, &error);
  g_assert_no_error (error);
  g_assert_null (key);
}

static void
test_session_over_stored (void)
{
  g_autofree char *url = make_test_url ();
  g_autofree char *key = NULL;
  g_autoptr(GError) error = NULL;

  if (!require_keyring ())
    return;

  g_assert_true (rfl_secrets_store_sync ("anthropic", url, "sk-stored", NULL,
                                         &error));
  g_assert_no_error (error);

  /* A session key is looked up first... */
  rfl_secrets_set_session_key ("anthropic", url, "sk-session");
  key = rfl_secrets_lookup_sync ("anthropic", url, NULL, &error);
  g_assert_cmpstr (key, ==, "sk-session");
  g_clear_pointer (&key, g_free);

  /* ...until it is forgotten. */
  rfl_secrets_set_session_key ("anthropic", url, NULL);
  key = rfl_secrets_lookup_sync ("anthropic", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "sk-stored");
  g_clear_pointer (&key, g_free);

  /* Storing a key replaces the one kept for the session. */
  rfl_secrets_set_session_key ("anthropic", url, "sk-session");
  g_assert_true (store_async ("anthropic", url, "sk-stored-2", &error));
  g_assert_no_error (error);
  key = lookup_async ("anthropic", url, &error);
  g_assert_cmpstr (key, ==, "sk-stored-2");
  g_clear_pointer (&key, g_free);

  g_assert_true (rfl_secrets_clear_sync ("anthropic", url, NULL, &error));
  g_assert_no_error (error);
}

static void
test_session (void)
{
  g_autofree char *url = make_test_url ();
  g_autofree char *slash_url = g_strconcat (url, "/", NULL);
  g_autofree char *key = NULL;
  g_autoptr(GError) error = NULL;

  /* Session keys need no keyring at all. */
  rfl_secrets_set_session_key ("openai", slash_url, "sk-session-one");

  key = rfl_secrets_lookup_sync ("openai", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "sk-session-one");
  g_clear_pointer (&key, g_free);

  rfl_secrets_set_session_key ("openai", url, "sk-session-two");
  key = lookup_async ("openai", url, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "sk-session-two");
  g_clear_pointer (&key, g_free);

  /* Forgotten, the lookup goes to the keyring, which has no such key; a
   * keyring that cannot be used says so. */
  rfl_secrets_set_session_key ("openai", url, "");
  key = rfl_secrets_lookup_sync ("openai", url, NULL, &error);
  g_assert_null (key);
  if (error != NULL)
    g_assert_error (error, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE);
}

static void
test_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;

  g_assert_false (rfl_secrets_store_sync ("openai", "https://x.invalid", "",
                                          NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_false (rfl_secrets_store_sync ("openai", "https://x.invalid", NULL,
                                          NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_false (store_async ("", "https://x.invalid", "sk", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  key = rfl_secrets_lookup_sync ("", "https://x.invalid", NULL, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

/* Runs in a child whose session bus cannot be reached. */
static void
check_no_service (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_false (check_keyring (&error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE);
  g_assert_true (g_str_has_prefix (error->message,
                                   "No keyring is available: "));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* Quickly: the wizard waits for this answer. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);

  g_assert_false (rfl_secrets_store_sync ("openai", "https://x.invalid",
                                          "sk-test", NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE);
  g_clear_error (&error);

  key = rfl_secrets_lookup_sync ("openai", "https://x.invalid", NULL, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE);
  g_clear_error (&error);

  /* The session key still works without a keyring. */
  rfl_secrets_set_session_key ("openai", "https://x.invalid", "sk-session");
  key = lookup_async ("openai", "https://x.invalid", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "sk-session");
}

static void
test_no_bus (void)
{
  if (g_test_subprocess ())
    {
      /* Before any libsecret or GDBus call in this process. */
      g_setenv ("DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/reflection-test-bus", TRUE);
      g_unsetenv ("DISPLAY");
      check_no_service ();
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_no_autolaunch (void)
{
  if (g_test_subprocess ())
    {
      /* No address, no display: GDBus cannot autolaunch a bus. The
       * isolated XDG_RUNTIME_DIR holds no "bus" socket either. */
      g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
      g_unsetenv ("DISPLAY");
      check_no_service ();
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/secrets/invalid", test_invalid);
  g_test_add_func ("/rfl/secrets/session", test_session);
  g_test_add_func ("/rfl/secrets/no-bus", test_no_bus);
  g_test_add_func ("/rfl/secrets/no-autolaunch", test_no_autolaunch);
  g_test_add_func ("/rfl/secrets/round-trip", test_round_trip);
  g_test_add_func ("/rfl/secrets/missing", test_missing);
  g_test_add_func ("/rfl/secrets/session-over-stored",
                   test_session_over_stored);

  return g_test_run ();
}
