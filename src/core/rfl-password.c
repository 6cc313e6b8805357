/* rfl-password.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-password.h"

#include <glib/gi18n.h>
#include <sodium.h>
#include <string.h>

#include "rfl-error.h"

#define MIN_LENGTH 8

static gpointer
init_sodium_once (gpointer data)
{
  /* sodium_init() returns 1 when already initialised, -1 on failure. */
  return GINT_TO_POINTER (sodium_init () >= 0);
}

static gboolean
ensure_sodium (void)
{
  static GOnce once = G_ONCE_INIT;

  return GPOINTER_TO_INT (g_once (&once, init_sodium_once, NULL));
}

char *
rfl_password_hash (const char  *password,
                   GError     **error)
{
  char out[crypto_pwhash_STRBYTES] = { 0 };

  g_return_val_if_fail (password != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!ensure_sodium ())
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The password cannot be protected: the "
                             "cryptography library failed to start"));
      return NULL;
    }

  /* crypto_pwhash_str() uses argon2id, libsodium's default algorithm. It
   * only fails when the memory limit cannot be allocated. */
  if (crypto_pwhash_str (out, password, strlen (password),
                         crypto_pwhash_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The password cannot be protected: not enough "
                             "memory"));
      return NULL;
    }

  g_assert (g_str_has_prefix (out, "$argon2id$"));

  return g_strdup (out);
}

gboolean
rfl_password_verify (const char *encoded_hash,
                     const char *password)
{
  char buffer[crypto_pwhash_STRBYTES] = { 0 };
  gsize len;

  if (encoded_hash == NULL || password == NULL || !ensure_sodium ())
    return FALSE;

  /* libsodium reads the encoded hash as a crypto_pwhash_STRBYTES array;
   * copy it so that a short string never leads to an over-read. */
  len = strlen (encoded_hash);
  if (len == 0 || len >= sizeof buffer)
    return FALSE;
  memcpy (buffer, encoded_hash, len);

  return crypto_pwhash_str_verify (buffer, password, strlen (password)) == 0;
}

/* Scores length and the variety of characters. A password made of only a
 * few distinct characters ("aaaaaaaaaaaa", "abababab…") is weak whatever
 * its length. */
RflPasswordStrength
rfl_password_get_strength (const char *password)
{
  g_autoptr(GHashTable) distinct = NULL;
  gboolean lower = FALSE, upper = FALSE, digit = FALSE, other = FALSE;
  glong length;
  guint classes;
  guint score = 0;

  if (password == NULL || !g_utf8_validate (password, -1, NULL))
    return RFL_PASSWORD_TOO_SHORT;

  length = g_utf8_strlen (password, -1);
  if (length < MIN_LENGTH)
    return RFL_PASSWORD_TOO_SHORT;

  distinct = g_hash_table_new (NULL, NULL);

  for (const char *p = password; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_hash_table_add (distinct, GUINT_TO_POINTER (c));

      if (g_unichar_islower (c))
        lower = TRUE;
      else if (g_unichar_isupper (c))
        upper = TRUE;
      else if (g_unichar_isdigit (c))
        digit = TRUE;
      else
        other = TRUE;
    }

  classes = (guint) lower + (guint) upper + (guint) digit + (guint) other;

  score += length >= 12;
  score += length >= 16;
  score += length >= 20;
  score += classes >= 2;
  score += classes >= 3;
  score += classes >= 4;

  if (score <= 1 || g_hash_table_size (distinct) < 5)
    return RFL_PASSWORD_WEAK;
  if (score <= 3)
    return RFL_PASSWORD_FAIR;
  return RFL_PASSWORD_STRONG;
}

const char *
rfl_password_strength_get_hint (RflPasswordStrength strength)
{
  switch (strength)
    {
    case RFL_PASSWORD_TOO_SHORT:
      return _("Too short: use at least 8 characters");
    case RFL_PASSWORD_WEAK:
      return _("Weak password");
    case RFL_PASSWORD_FAIR:
      return _("Fair password");
    case RFL_PASSWORD_STRONG:
      return _("Strong password");
    default:
      g_return_val_if_reached (NULL);
    }
}
