/* test-password.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "core/rfl-password.h"

static void
test_hash_format (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = rfl_password_hash ("correct horse", &error);

  g_assert_no_error (error);
  g_assert_nonnull (hash);
  g_assert_true (g_str_has_prefix (hash, "$argon2id$v=19$"));
  /* libsodium's interactive limits: 64 MiB, two passes. */
  g_assert_nonnull (strstr (hash, "m=65536,t=2,p=1$"));
  g_assert_null (strstr (hash, "correct horse"));
}

static void
test_verify (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = rfl_password_hash ("s3cret-Passphrase", &error);

  g_assert_no_error (error);
  g_assert_true (rfl_password_verify (hash, "s3cret-Passphrase"));
  g_assert_false (rfl_password_verify (hash, "s3cret-passphrase"));
  g_assert_false (rfl_password_verify (hash, "s3cret-Passphrase "));
  g_assert_false (rfl_password_verify (hash, ""));
  g_assert_false (rfl_password_verify (hash, NULL));
  g_assert_false (rfl_password_verify (NULL, "s3cret-Passphrase"));
  g_assert_false (rfl_password_verify ("", "s3cret-Passphrase"));
  g_assert_false (rfl_password_verify ("$argon2id$garbage", "x"));
}

static void
test_salted (void)
{
  g_autofree char *a = rfl_password_hash ("same password", NULL);
  g_autofree char *b = rfl_password_hash ("same password", NULL);

  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpstr (a, !=, b);
  g_assert_true (rfl_password_verify (a, "same password"));
  g_assert_true (rfl_password_verify (b, "same password"));
}

static void
test_unicode (void)
{
  g_autofree char *hash = rfl_password_hash ("Äpfel und Birnen ✓", NULL);

  g_assert_true (rfl_password_verify (hash, "Äpfel und Birnen ✓"));
  g_assert_false (rfl_password_verify (hash, "Apfel und Birnen ✓"));
}

static void
test_strength (void)
{
  static const struct {
    const char          *password;
    RflPasswordStrength  strength;
  } cases[] = {
    { NULL, RFL_PASSWORD_TOO_SHORT },
    { "", RFL_PASSWORD_TOO_SHORT },
    { "abc", RFL_PASSWORD_TOO_SHORT },
    { "Ab1!xyz", RFL_PASSWORD_TOO_SHORT },
    /* Seven characters in eight or more bytes is still too short. */
    { "äöüßäöü", RFL_PASSWORD_TOO_SHORT },
    { "password", RFL_PASSWORD_WEAK },
    { "12345678", RFL_PASSWORD_WEAK },
    { "abcdefgh1", RFL_PASSWORD_WEAK },
    { "aaaaaaaaaaaaaaaaaaaaaaaa", RFL_PASSWORD_WEAK },
    { "Aa1!Aa1!Aa1!Aa1!Aa1!", RFL_PASSWORD_WEAK },
    { "Password1", RFL_PASSWORD_FAIR },
    { "Tr0ub4dor&3", RFL_PASSWORD_FAIR },
    { "abcdefghijklmnop", RFL_PASSWORD_FAIR },
    { "aB3$eF7*gH9!", RFL_PASSWORD_STRONG },
    { "correct horse battery staple", RFL_PASSWORD_STRONG },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].password ? cases[i].password : "(null)");
      g_assert_cmpint (rfl_password_get_strength (cases[i].password), ==,
                       cases[i].strength);
    }
}

static void
test_hints (void)
{
  g_assert_cmpstr (rfl_password_strength_get_hint (RFL_PASSWORD_TOO_SHORT), ==,
                   "Too short: use at least 8 characters");
  g_assert_cmpstr (rfl_password_strength_get_hint (RFL_PASSWORD_WEAK), ==,
                   "Weak password");
  g_assert_cmpstr (rfl_password_strength_get_hint (RFL_PASSWORD_FAIR), ==,
                   "Fair password");
  g_assert_cmpstr (rfl_password_strength_get_hint (RFL_PASSWORD_STRONG), ==,
                   "Strong password");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/password/hash-format", test_hash_format);
  g_test_add_func ("/rfl/password/verify", test_verify);
  g_test_add_func ("/rfl/password/salted", test_salted);
  g_test_add_func ("/rfl/password/unicode", test_unicode);
  g_test_add_func ("/rfl/password/strength", test_strength);
  g_test_add_func ("/rfl/password/hints", test_hints);

  return g_test_run ();
}
