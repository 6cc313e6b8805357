/* rfl-error.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RFL_ERROR (rfl_error_quark ())

/* Errors of Reflection's own layers. Messages carried with them are
 * translated, specific and safe to show to the user as they are. */
typedef enum
{
  RFL_ERROR_FAILED,
  RFL_ERROR_INVALID_INPUT,      /* a value the user typed is not acceptable */
  RFL_ERROR_NOT_FOUND,
  RFL_ERROR_EXISTS,             /* a unique name or e-mail is already taken */
  RFL_ERROR_DATABASE,           /* SQLite failed for another reason */
  RFL_ERROR_DATABASE_CORRUPT,   /* the file is not a usable database */
  RFL_ERROR_DATABASE_TOO_NEW,   /* written by a newer Reflection */
  RFL_ERROR_NOT_WRITABLE,       /* the data directory cannot be written */
  RFL_ERROR_UNREACHABLE,        /* the provider cannot be reached */
  RFL_ERROR_UNAUTHORIZED,       /* the provider refused the credentials */
  RFL_ERROR_PROVIDER,           /* the provider answered with an error */
  RFL_ERROR_PROTOCOL,           /* the provider's answer could not be parsed */
  RFL_ERROR_NO_SECRET_SERVICE,  /* no keyring is available on the session */
  RFL_ERROR_SECRET,             /* the keyring refused or failed */
  RFL_ERROR_QUOTA_EXCEEDED,     /* a tenant's quota refused the request */
} RflError;

GQuark rfl_error_quark (void);

G_END_DECLS
