/* rfl-secrets.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-secrets.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <sodium.h>
#include <string.h>

#include "rfl-error.h"

/* Session keys: kept in memory for the life of the process, never written
 * anywhere. Keys are "provider\nurl". */
static GMutex session_lock;
static GHashTable *session_keys;

static const SecretSchema *
get_schema (void)
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

  return &schema;
}

/* "https://api.example.org/v1/" and "https://api.example.org/v1" name the
 * same endpoint; store both under the second. */
static char *
normalize_url (const char *base_url)
{
  g_autofree char *url = g_strstrip (g_strdup (base_url != NULL ? base_url
                                                                : ""));
  gsize len = strlen (url);

  while (len > 0 && url[len - 1] == '/')
    url[--len] = '\0';

  return g_steal_pointer (&url);
}

static void
wipe_free (gpointer data)
{
  char *secret = data;

  if (secret == NULL)
    return;

  sodium_memzero (secret, strlen (secret));
  g_free (secret);
}

static char *
make_session_key (const char *provider,
                  const char *url)
{
  return g_strconcat (provider, "\n", url, NULL);
}

static char *
dup_session_key (const char *provider,
                 const char *url)
{
  g_autofree char *key = make_session_key (provider, url);
  char *api_key = NULL;

  g_mutex_lock (&session_lock);
  if (session_keys != NULL)
    api_key = g_strdup (g_hash_table_lookup (session_keys, key));
  g_mutex_unlock (&session_lock);

  return api_key;
}

static void
remove_session_key_by_key (const char *key)
{
  g_mutex_lock (&session_lock);
  if (session_keys != NULL)
    g_hash_table_remove (session_keys, key);
  g_mutex_unlock (&session_lock);
}

static void
remove_session_key (const char *provider,
                    const char *url)
{
  g_autofree char *key = make_session_key (provider, url);

  remove_session_key_by_key (key);
}

void
rfl_secrets_set_session_key (const char *provider,
                             const char *base_url,
                             const char *api_key)
{
  g_autofree char *url = NULL;

  g_return_if_fail (provider != NULL);

  url = normalize_url (base_url);

  /* An empty or NULL key forgets the session key. */
  if (api_key == NULL || *api_key == '\0')
    {
      remove_session_key (provider, url);
      return;
    }

  g_mutex_lock (&session_lock);
  if (session_keys == NULL)
    session_keys = g_hash_table_new_full (g_str_hash, g_str_equal,
                                          g_free, wipe_free);
  g_hash_table_replace (session_keys, make_session_key (provider, url),
                        g_strdup (api_key));
  g_mutex_unlock (&session_lock);
}

/* Errors */

static const char *
describe_missing_service (const GError *error)
{
  if (error->domain == G_IO_ERROR)
    return _("the session bus cannot be reached");

  if (g_error_matches (error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    return _("the default keyring is locked");

  if (g_error_matches (error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
    return _("there is no default keyring");

  if (error->domain == G_DBUS_ERROR)
    {
      switch (error->code)
        {
        case G_DBUS_ERROR_SERVICE_UNKNOWN:
        case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
        case G_DBUS_ERROR_NO_SERVER:
        case G_DBUS_ERROR_NO_REPLY:
        case G_DBUS_ERROR_TIMEOUT:
        case G_DBUS_ERROR_TIMED_OUT:
        case G_DBUS_ERROR_DISCONNECTED:
        case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
        case G_DBUS_ERROR_SPAWN_FORK_FAILED:
        case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
        case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
        case G_DBUS_ERROR_SPAWN_FAILED:
        case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
        case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
        case G_DBUS_ERROR_SPAWN_NO_MEMORY:
          return _("no Secret Service is running");
        default:
          break;
        }
    }

  return NULL;
}

/* Takes @error and returns an RFL_ERROR with a message for the user.
 * Cancellation passes through unchanged. */
static GError *
translate_error (GError     *error,
                 const char *action)
{
  GError *translated;
  const char *reason;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;

  /* The message comes from the keyring, never from the key itself. */
  g_debug ("Secret Service: %s: %s (%s, %d)", action, error->message,
           g_quark_to_string (error->domain), error->code);

  reason = describe_missing_service (error);
  if (reason != NULL)
    translated = g_error_new (RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE,
                              _("No keyring is available: %s"), reason);
  else
    translated = g_error_new (RFL_ERROR, RFL_ERROR_SECRET,
                              _("The keyring failed: %s"), error->message);

  g_error_free (error);
  return translated;
}

static gboolean
validate_provider (const char  *provider,
                   GError     **error)
{
  if (provider != NULL && *provider != '\0')
    return TRUE;

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("No provider was given for the API key"));
  return FALSE;
}

static gboolean
validate_key (const char  *api_key,
              GError     **error)
{
  if (api_key != NULL && *api_key != '\0')
    return TRUE;

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("The API key must not be empty"));
  return FALSE;
}

static char *
make_label (const char *provider,
            const char *url)
{
  /* Translators: the label of the keyring entry, e.g. "Reflection API key
   * for openai (https://api.openai.com/v1)". */
  return g_strdup_printf (_("Reflection API key for %s (%s)"), provider, url);
}

/* Check */

static void
check_collection_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(SecretCollection) collection = NULL;
  GError *error = NULL;

  collection = secret_collection_for_alias_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, translate_error (error, "read alias"));
      return;
    }

  if (collection == NULL)
    {
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE,
                               _("No keyring is available: %s"),
                               _("there is no default keyring"));
      return;
    }

  if (secret_collection_get_locked (collection))
    {
      g_task_return_new_error (task, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE,
                               _("No keyring is available: %s"),
                               _("the default keyring is locked"));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
check_service_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(SecretService) service = NULL;
  GError *error = NULL;

  service = secret_service_get_finish (result, &error);
  if (service == NULL)
    {
      g_task_return_error (task, translate_error (error, "connect"));
      return;
    }

  /* Reading the default alias is a real round trip to the service: it
   * fails when nothing owns the name, and tells whether there is an
   * unlocked default keyring to store into. */
  secret_collection_for_alias (service, SECRET_COLLECTION_DEFAULT,
                               SECRET_COLLECTION_NONE,
                               g_task_get_cancellable (task),
                               check_collection_cb,
                               g_object_ref (task));
}

void
rfl_secrets_check_async (GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_secrets_check_async);

  secret_service_get (SECRET_SERVICE_NONE, cancellable, check_service_cb,
                      g_object_ref (task));
}

gboolean
rfl_secrets_check_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_secrets_check_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Store */

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      g_task_return_error (task, translate_error (error, "store"));
      return;
    }

  /* The stored key replaces a key kept for the session. */
  remove_session_key_by_key (g_task_get_task_data (task));
  g_task_return_boolean (task, TRUE);
}

void
rfl_secrets_store_async (const char          *provider,
                         const char          *base_url,
                         const char          *api_key,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *url = NULL;
  g_autofree char *label = NULL;
  GError *error = NULL;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_secrets_store_async);

  if (!validate_provider (provider, &error) || !validate_key (api_key, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  url = normalize_url (base_url);
  label = make_label (provider, url);
  g_task_set_task_data (task, make_session_key (provider, url), g_free);

  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label,
                         api_key, cancellable, store_cb, g_object_ref (task),
                         "provider", provider,
                         "url", url,
                         NULL);
}

gboolean
rfl_secrets_store_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_secrets_store_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
rfl_secrets_store_sync (const char    *provider,
                        const char    *base_url,
                        const char    *api_key,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autofree char *url = NULL;
  g_autofree char *label = NULL;
  GError *local_error = NULL;

  if (!validate_provider (provider, error) || !validate_key (api_key, error))
    return FALSE;

  url = normalize_url (base_url);
  label = make_label (provider, url);

  if (!secret_password_store_sync (get_schema (), SECRET_COLLECTION_DEFAULT,
                                   label, api_key, cancellable, &local_error,
                                   "provider", provider,
                                   "url", url,
                                   NULL))
    {
      g_propagate_error (error, translate_error (local_error, "store"));
      return FALSE;
    }

  remove_session_key (provider, url);
  return TRUE;
}

/* Lookup */

/* Copies a libsecret password into GLib memory and wipes the original. */
static char *
steal_password (char *password)
{
  char *copy = g_strdup (password);

  secret_password_free (password);
  return copy;
}

static void
lookup_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *password;

  password = secret_password_lookup_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, translate_error (error, "lookup"));
  else
    g_task_return_pointer (task, steal_password (password), wipe_free);
}

void
rfl_secrets_lookup_async (const char          *provider,
                          const char          *base_url,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *url = NULL;
  char *session_key;
  GError *error = NULL;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_secrets_lookup_async);

  if (!validate_provider (provider, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  url = normalize_url (base_url);

  session_key = dup_session_key (provider, url);
  if (session_key != NULL)
    {
      g_task_return_pointer (task, session_key, wipe_free);
      return;
    }

  secret_password_lookup (get_schema (), cancellable, lookup_cb,
                          g_object_ref (task),
                          "provider", provider,
                          "url", url,
                          NULL);
}

char *
rfl_secrets_lookup_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_secrets_lookup_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
rfl_secrets_lookup_sync (const char    *provider,
                         const char    *base_url,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autofree char *url = NULL;
  GError *local_error = NULL;
  char *session_key;
  char *password;

  if (!validate_provider (provider, error))
    return NULL;

  url = normalize_url (base_url);

  session_key = dup_session_key (provider, url);
  if (session_key != NULL)
    return session_key;

  password = secret_password_lookup_sync (get_schema (), cancellable,
                                          &local_error,
                                          "provider", provider,
                                          "url", url,
                                          NULL);
  if (local_error != NULL)
    {
      g_propagate_error (error, translate_error (local_error, "lookup"));
      return NULL;
    }

  return password != NULL ? steal_password (password) : NULL;
}

/* Clear */

/* Forgets the session key and removes the stored key. Succeeds also when
 * there was nothing to remove. */
gboolean
rfl_secrets_clear_sync (const char    *provider,
                        const char    *base_url,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autofree char *url = NULL;
  GError *local_error = NULL;

  if (!validate_provider (provider, error))
    return FALSE;

  url = normalize_url (base_url);
  remove_session_key (provider, url);

  secret_password_clear_sync (get_schema (), cancellable, &local_error,
                              "provider", provider,
                              "url", url,
                              NULL);
  if (local_error != NULL)
    {
      g_propagate_error (error, translate_error (local_error, "clear"));
      return FALSE;
    }

  return TRUE;
}

/* Named secrets of Reflection itself */

static const SecretSchema *
get_named_schema (void)
{
  static const SecretSchema schema = {
    "org.reflection.Reflection.Secret",
    SECRET_SCHEMA_NONE,
    {
      { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

static gboolean
validate_name (const char  *name,
               GError     **error)
{
  if (name != NULL && *name != '\0')
    return TRUE;

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("No name was given for the secret"));
  return FALSE;
}

gboolean
rfl_secrets_store_named_sync (const char    *name,
                              const char    *label,
                              const char    *secret,
                              GCancellable  *cancellable,
                              GError       **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (label != NULL, FALSE);

  if (!validate_name (name, error))
    return FALSE;

  if (secret == NULL || *secret == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The secret must not be empty"));
      return FALSE;
    }

  if (!secret_password_store_sync (get_named_schema (),
                                   SECRET_COLLECTION_DEFAULT, label, secret,
                                   cancellable, &local_error,
                                   "name", name,
                                   NULL))
    {
      g_propagate_error (error, translate_error (local_error, "store named"));
      return FALSE;
    }

  return TRUE;
}

char *
rfl_secrets_lookup_named_sync (const char    *name,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GError *local_error = NULL;
  char *password;

  if (!validate_name (name, error))
    return NULL;

  password = secret_password_lookup_sync (get_named_schema (), cancellable,
                                          &local_error,
                                          "name", name,
                                          NULL);
  if (local_error != NULL)
    {
      g_propagate_error (error, translate_error (local_error, "lookup named"));
      return NULL;
    }

  return password != NULL ? steal_password (password) : NULL;
}

gboolean
rfl_secrets_clear_named_sync (const char    *name,
                              GCancellable  *cancellable,
                              GError       **error)
{
  GError *local_error = NULL;

  if (!validate_name (name, error))
    return FALSE;

  secret_password_clear_sync (get_named_schema (), cancellable, &local_error,
                              "name", name,
                              NULL);
  if (local_error != NULL)
    {
      g_propagate_error (error, translate_error (local_error, "clear named"));
      return FALSE;
    }

  return TRUE;
}
