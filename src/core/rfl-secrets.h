/* rfl-secrets.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* API keys live in the Secret Service (libsecret), keyed by provider id
 * ("openai", "anthropic", "openai-compatible") and base URL. When no Secret
 * Service is available the caller may keep a key for the session only with
 * rfl_secrets_set_session_key(); it is never written anywhere. */

/* Checks that a Secret Service answers on the session bus. Fails with
 * RFL_ERROR_NO_SECRET_SERVICE (translated message) otherwise, quickly. */
void     rfl_secrets_check_async      (GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
gboolean rfl_secrets_check_finish     (GAsyncResult         *result,
                                       GError              **error);

void     rfl_secrets_store_async      (const char           *provider,
                                       const char           *base_url,
                                       const char           *api_key,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
gboolean rfl_secrets_store_finish     (GAsyncResult         *result,
                                       GError              **error);

/* Returns NULL with no error when no key is stored. Session keys are
 * looked up first. */
void     rfl_secrets_lookup_async     (const char           *provider,
                                       const char           *base_url,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
char    *rfl_secrets_lookup_finish    (GAsyncResult         *result,
                                       GError              **error);

/* Blocking variants for worker threads and tests. */
gboolean rfl_secrets_store_sync       (const char           *provider,
                                       const char           *base_url,
                                       const char           *api_key,
                                       GCancellable         *cancellable,
                                       GError              **error);
char    *rfl_secrets_lookup_sync      (const char           *provider,
                                       const char           *base_url,
                                       GCancellable         *cancellable,
                                       GError              **error);
gboolean rfl_secrets_clear_sync       (const char           *provider,
                                       const char           *base_url,
                                       GCancellable         *cancellable,
                                       GError              **error);

void     rfl_secrets_set_session_key  (const char           *provider,
                                       const char           *base_url,
                                       const char           *api_key);

/* Secrets of Reflection itself, such as the key that signs access tokens,
 * kept in the keyring under @name. @label is what keyring managers show.
 * Blocking, for worker threads and `reflection serve`. */
gboolean rfl_secrets_store_named_sync  (const char          *name,
                                        const char          *label,
                                        const char          *secret,
                                        GCancellable        *cancellable,
                                        GError             **error);
/* Returns NULL with no error when nothing is stored under @name. */
char    *rfl_secrets_lookup_named_sync (const char          *name,
                                        GCancellable        *cancellable,
                                        GError             **error);
/* Succeeds also when nothing was stored. */
gboolean rfl_secrets_clear_named_sync  (const char          *name,
                                        GCancellable        *cancellable,
                                        GError             **error);

G_END_DECLS
