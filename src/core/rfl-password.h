/* rfl-password.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  RFL_PASSWORD_TOO_SHORT,  /* under 8 characters: refused */
  RFL_PASSWORD_WEAK,
  RFL_PASSWORD_FAIR,
  RFL_PASSWORD_STRONG,
} RflPasswordStrength;

/* An argon2id hash in libsodium's encoded form ("$argon2id$v=19$…"). */
char               *rfl_password_hash          (const char  *password,
                                                GError     **error);
gboolean            rfl_password_verify        (const char  *encoded_hash,
                                                const char  *password);
RflPasswordStrength rfl_password_get_strength  (const char  *password);
/* A translated hint for the strength, e.g. "Strong password". */
const char         *rfl_password_strength_get_hint (RflPasswordStrength strength);

G_END_DECLS
