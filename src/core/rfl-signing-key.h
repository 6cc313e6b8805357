/* rfl-signing-key.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The secret key that signs access tokens (HMAC-SHA256): 32 random bytes.
 * The desktop keeps it in the keyring; a headless server keeps it in a
 * file of its own that only its owner may read (mode 0600). A key is
 * immutable and may be shared between threads. */

#define RFL_SIGNING_KEY_SIZE 32

/* The name of the key in the keyring (see rfl_secrets_store_named_sync). */
#define RFL_SIGNING_KEY_SECRET_NAME "jwt-signing-key"

#define RFL_TYPE_SIGNING_KEY (rfl_signing_key_get_type ())

typedef struct _RflSigningKey RflSigningKey;

GType          rfl_signing_key_get_type          (void) G_GNUC_CONST;

/* A new key from the operating system's random generator. */
RflSigningKey *rfl_signing_key_new_random        (void);
/* Exactly RFL_SIGNING_KEY_SIZE bytes, or RFL_ERROR_INVALID_INPUT. */
RflSigningKey *rfl_signing_key_new_from_data     (const guint8   *data,
                                                  gsize           size,
                                                  GError        **error);

RflSigningKey *rfl_signing_key_ref               (RflSigningKey  *self);
void           rfl_signing_key_unref             (RflSigningKey  *self);

/* The RFL_SIGNING_KEY_SIZE bytes of the key. */
const guint8  *rfl_signing_key_get_data          (RflSigningKey  *self);
gboolean       rfl_signing_key_equal             (RflSigningKey  *a,
                                                  RflSigningKey  *b);

/* Reads the key from @path, which must be a regular file (not a symbolic
 * link) owned by the current user and readable by nobody else: a file that
 * its group or other users may read or write is refused with RFL_ERROR_SECRET
 * and a message saying how to fix it. A missing file fails with
 * RFL_ERROR_NOT_FOUND; a file that does not hold a key with
 * RFL_ERROR_INVALID_INPUT. */
RflSigningKey *rfl_signing_key_load_file         (const char     *path,
                                                  GError        **error);

/* Reads the key from @path, or creates the file (and its directory, 0700)
 * with a new random key when it does not exist: O_CREAT | O_EXCL, mode
 * 0600, synced to disk before it is used. */
RflSigningKey *rfl_signing_key_load_or_create_file (const char   *path,
                                                    GError      **error);

/* The same through the keyring; blocking, for worker threads and
 * `reflection serve`. Fails with RFL_ERROR_NO_SECRET_SERVICE when no
 * keyring is available, and with RFL_ERROR_SECRET when the stored value is
 * not a key. */
RflSigningKey *rfl_signing_key_load_or_create_keyring_sync (GCancellable  *cancellable,
                                                            GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSigningKey, rfl_signing_key_unref)

G_END_DECLS
