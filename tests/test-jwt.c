/* test-jwt.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rfl-error.h"
#include "core/rfl-jwt.h"
#include "core/rfl-secrets.h"
#include "core/rfl-signing-key.h"

#define NOW G_GINT64_CONSTANT (1767225600)   /* 2026-01-01 00:00:00 UTC */

/* Helpers */

static RflSigningKey *
make_key (guint8 fill)
{
  guint8 data[RFL_SIGNING_KEY_SIZE];
  g_autoptr(GError) error = NULL;
  RflSigningKey *key;

  memset (data, fill, sizeof data);
  key = rfl_signing_key_new_from_data (data, sizeof data, &error);
  g_assert_no_error (error);
  return key;
}

static char *
b64url (const char *text)
{
  return rfl_jwt_base64url_encode ((const guint8 *) text, strlen (text));
}

/* A token made here, independently of rfl_jwt_sign(): any header, any
 * payload, signed with HMAC over @checksum (or not signed at all when
 * @key is NULL). */
static char *
craft_token_with (RflSigningKey *key,
                  GChecksumType  checksum,
                  const char    *header,
                  const char    *payload)
{
  g_autofree char *h = b64url (header);
  g_autofree char *p = b64url (payload);
  g_autofree char *input = g_strconcat (h, ".", p, NULL);
  g_autoptr(GHmac) hmac = NULL;
  g_autofree char *sig = NULL;
  guint8 digest[64];
  gsize size = sizeof digest;

  if (key == NULL)
    return g_strconcat (input, ".", NULL);

  hmac = g_hmac_new (checksum, rfl_signing_key_get_data (key),
                     RFL_SIGNING_KEY_SIZE);
  g_hmac_update (hmac, (const guchar *) input, -1);
  g_hmac_get_digest (hmac, digest, &size);
  sig = rfl_jwt_base64url_encode (digest, size);

  return g_strconcat (input, ".", sig, NULL);
}

static char *
craft_token (RflSigningKey *key,
             const char    *header,
             const char    *payload)
{
  return craft_token_with (key, G_CHECKSUM_SHA256, header, payload);
}

static const char good_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static char *
good_payload (void)
{
  return g_strdup_printf ("{\"sub\":\"7\",\"tid\":3,\"role\":\"member\","
                          "\"jti\":\"abc123\",\"sid\":\"session-0001-xyz\","
                          "\"iat\":%" G_GINT64_FORMAT ",\"nbf\":%"
                          G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT "}",
                          NOW, NOW, NOW + 900);
}

/* Asserts that @token is refused with RFL_ERROR_UNAUTHORIZED and a message
 * containing @fragment. */
static void
assert_refused (RflSigningKey *key,
                const char    *token,
                gint64         now,
                const char    *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflJwtClaims) claims = NULL;

  claims = rfl_jwt_verify (key, token, now, &error);
  g_assert_null (claims);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED);
  if (strstr (error->message, fragment) == NULL)
    g_error ("Expected “%s” in the error “%s”", fragment, error->message);
}

/* JWT */

static void
test_round_trip (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autoptr(RflJwtClaims) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_auto(GStrv) parts = NULL;

  claims = rfl_jwt_claims_new (42, 9, RFL_JWT_ROLE_TENANT_ADMIN, "sid-abcdef",
                               NOW, RFL_JWT_ACCESS_LIFETIME);
  g_assert_cmpint (claims->expires_at, ==, NOW + 15 * 60);
  g_assert_nonnull (claims->jti);

  token = rfl_jwt_sign (key, claims, &error);
  g_assert_no_error (error);
  parts = g_strsplit (token, ".", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  g_assert_null (strchr (token, '='));

  back = rfl_jwt_verify (key, token, NOW + 60, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->user_id, ==, 42);
  g_assert_cmpint (back->tenant_id, ==, 9);
  g_assert_cmpstr (back->role, ==, "tenant_admin");
  g_assert_cmpstr (back->session_id, ==, "sid-abcdef");
  g_assert_cmpstr (back->jti, ==, claims->jti);
  g_assert_cmpint (back->issued_at, ==, NOW);
  g_assert_cmpint (back->not_before, ==, NOW);
  g_assert_cmpint (back->expires_at, ==, NOW + 900);

  /* Two tokens for the same user differ by their jti. */
  {
    g_autoptr(RflJwtClaims) other = rfl_jwt_claims_new (42, 9, "member", NULL,
                                                        NOW, 900);

    g_assert_cmpstr (other->jti, !=, claims->jti);
  }
}

static void
test_independent_token (void)
{
  g_autoptr(RflSigningKey) key = make_key (0x11);
  g_autofree char *payload = good_payload ();
  g_autofree char *token = craft_token (key, good_header, payload);
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autoptr(GError) error = NULL;

  /* A token made by another HS256 implementation verifies too, with the
   * members in any order and blanks in the JSON. */
  claims = rfl_jwt_verify (key, token, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (claims->user_id, ==, 7);
  g_assert_cmpint (claims->tenant_id, ==, 3);

  {
    g_autofree char *spaced = craft_token (key,
                                           "{ \"typ\" : \"JWT\", \"alg\" : \"HS256\" }",
                                           payload);
    g_autoptr(RflJwtClaims) again = rfl_jwt_verify (key, spaced, NOW, &error);

    g_assert_no_error (error);
    g_assert_nonnull (again);
  }
}

static void
test_sign_refuses_bad_claims (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  claims = rfl_jwt_claims_new (1, 1, "root", NULL, NOW, 900);
  token = rfl_jwt_sign (key, claims, &error);
  g_assert_null (token);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_clear_pointer (&claims, rfl_jwt_claims_free);
  claims = rfl_jwt_claims_new (1, 0, "member", NULL, NOW, 900);
  token = rfl_jwt_sign (key, claims, &error);
  g_assert_null (token);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_clear_pointer (&claims, rfl_jwt_claims_free);
  claims = rfl_jwt_claims_new (1, 1, "member", NULL, NOW, 0);
  token = rfl_jwt_sign (key, claims, &error);
  g_assert_null (token);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

static void
test_tampered_payload (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = rfl_jwt_claims_new (5, 2, "member", "s-1234567890",
                                                       NOW, 900);
  g_autofree char *token = rfl_jwt_sign (key, claims, NULL);
  g_auto(GStrv) parts = g_strsplit (token, ".", 3);
  g_autofree char *evil_payload = NULL;
  g_autofree char *evil64 = NULL;
  g_autofree char *forged = NULL;

  /* Another tenant and role in the payload, the original signature kept. */
  evil_payload = g_strdup_printf ("{\"sub\":\"5\",\"tid\":1,"
                                  "\"role\":\"system_admin\","
                                  "\"sid\":\"s-1234567890\",\"jti\":\"%s\","
                                  "\"iat\":%" G_GINT64_FORMAT ",\"nbf\":%"
                                  G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT
                                  "}",
                                  claims->jti, NOW, NOW, NOW + 900);
  evil64 = b64url (evil_payload);
  forged = g_strjoin (".", parts[0], evil64, parts[2], NULL);
  assert_refused (key, forged, NOW, "signature does not match");

  /* One character of the payload changed. */
  {
    g_autofree char *flipped = g_strdup (token);
    char *payload = strchr (flipped, '.') + 1;

    payload[3] = payload[3] == 'A' ? 'B' : 'A';
    assert_refused (key, flipped, NOW, "");
  }
}

static void
test_tampered_signature (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = rfl_jwt_claims_new (5, 2, "member", NULL,
                                                       NOW, 900);
  g_autofree char *token = rfl_jwt_sign (key, claims, NULL);
  g_autofree char *flipped = g_strdup (token);
  g_autofree char *truncated = NULL;
  char *sig = strrchr (flipped, '.') + 1;

  sig[5] = sig[5] == 'x' ? 'y' : 'x';
  assert_refused (key, flipped, NOW, "signature does not match");

  /* A shorter signature is not a prefix match. */
  truncated = g_strndup (token, strlen (token) - 4);
  assert_refused (key, truncated, NOW, "");

  /* An HS256 signature of the right length made of zeros. */
  {
    g_autofree char *zeros = NULL;
    g_autofree char *zero_token = NULL;
    guint8 nothing[32] = { 0 };
    g_autofree char *input = g_strndup (token, strrchr (token, '.') - token);

    zeros = rfl_jwt_base64url_encode (nothing, sizeof nothing);
    zero_token = g_strconcat (input, ".", zeros, NULL);
    assert_refused (key, zero_token, NOW, "signature does not match");
  }
}

static void
test_wrong_key (void)
{
  g_autoptr(RflSigningKey) key = make_key (0x01);
  g_autoptr(RflSigningKey) other = make_key (0x02);
  g_autoptr(RflJwtClaims) claims = rfl_jwt_claims_new (5, 2, "member", NULL,
                                                       NOW, 900);
  g_autofree char *token = rfl_jwt_sign (other, claims, NULL);

  g_assert_false (rfl_signing_key_equal (key, other));
  assert_refused (key, token, NOW, "signature does not match");
}

static void
test_alg_none (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autofree char *payload = good_payload ();
  const char * const headers[] = {
    "{\"alg\":\"none\",\"typ\":\"JWT\"}",
    "{\"alg\":\"None\",\"typ\":\"JWT\"}",
    "{\"alg\":\"NONE\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      /* Without a signature, as "none" tokens come. */
      g_autofree char *unsigned_token = craft_token (NULL, headers[i], payload);
      /* With a signature that is even right for the key: the header alone
       * decides, before the signature is looked at. */
      g_autofree char *signed_token = craft_token (key, headers[i], payload);

      g_assert_true (g_str_has_suffix (unsigned_token, "."));
      assert_refused (key, unsigned_token, NOW, "“none”");
      assert_refused (key, signed_token, NOW, "“none”");
    }
}

static void
test_other_algorithms (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autofree char *payload = good_payload ();
  g_autofree char *hs512 = NULL;
  g_autofree char *rs256 = NULL;
  g_autofree char *lower = NULL;
  g_autofree char *no_alg = NULL;
  g_autofree char *number_alg = NULL;

  /* Rightly signed with HMAC-SHA512 and the right key. */
  hs512 = craft_token_with (key, G_CHECKSUM_SHA512,
                            "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload);
  assert_refused (key, hs512, NOW, "“HS512”");

  /* The classic confusion: RS256 with the HMAC key as "public key". */
  rs256 = craft_token (key, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload);
  assert_refused (key, rs256, NOW, "“RS256”");

  lower = craft_token (key, "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", payload);
  assert_refused (key, lower, NOW, "“hs256”");

  no_alg = craft_token (key, "{\"typ\":\"JWT\"}", payload);
  assert_refused (key, no_alg, NOW, "no signing algorithm");

  number_alg = craft_token (key, "{\"alg\":256,\"typ\":\"JWT\"}", payload);
  assert_refused (key, number_alg, NOW, "not text");
}

static void
test_header_strict (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autofree char *payload = good_payload ();
  g_autofree char *no_typ = NULL;
  g_autofree char *other_typ = NULL;
  g_autofree char *kid = NULL;
  g_autofree char *array = NULL;

  no_typ = craft_token (key, "{\"alg\":\"HS256\"}", payload);
  assert_refused (key, no_typ, NOW, "“JWT”");

  other_typ = craft_token (key, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
                           payload);
  assert_refused (key, other_typ, NOW, "“JWT”");

  kid = craft_token (key, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}",
                     payload);
  assert_refused (key, kid, NOW, "“kid”");

  array = craft_token (key, "[\"HS256\"]", payload);
  assert_refused (key, array, NOW, "header");
}

static void
test_expired (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = rfl_jwt_claims_new (5, 2, "member", NULL,
                                                       NOW, 900);
  g_autofree char *token = rfl_jwt_sign (key, claims, NULL);
  g_autoptr(RflJwtClaims) within = NULL;

  /* Within the leeway it still passes; after it, it does not. */
  within = rfl_jwt_verify (key, token, NOW + 900 + RFL_JWT_LEEWAY - 1, NULL);
  g_assert_nonnull (within);
  assert_refused (key, token, NOW + 900 + RFL_JWT_LEEWAY, "expired");
  assert_refused (key, token, NOW + 86400, "expired at 2026-01-01 00:15:00");
}

static void
test_not_yet_valid (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autofree char *nbf = NULL;
  g_autofree char *iat = NULL;
  g_autofree char *nbf_token = NULL;
  g_autofree char *iat_token = NULL;

  nbf = g_strdup_printf ("{\"sub\":\"7\",\"tid\":3,\"role\":\"member\","
                         "\"jti\":\"j1\",\"iat\":%" G_GINT64_FORMAT
                         ",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%"
                         G_GINT64_FORMAT "}",
                         NOW, NOW + 600, NOW + 900);
  nbf_token = craft_token (key, good_header, nbf);
  assert_refused (key, nbf_token, NOW, "not valid before");

  /* Small clock skew is forgiven. */
  {
    g_autoptr(RflJwtClaims) skewed = rfl_jwt_verify (key, nbf_token,
                                                     NOW + 600 - RFL_JWT_LEEWAY,
                                                     NULL);
    g_assert_nonnull (skewed);
  }

  iat = g_strdup_printf ("{\"sub\":\"7\",\"tid\":3,\"role\":\"member\","
                         "\"jti\":\"j1\",\"iat\":%" G_GINT64_FORMAT
                         ",\"exp\":%" G_GINT64_FORMAT "}",
                         NOW + 3600, NOW + 7200);
  iat_token = craft_token (key, good_header, iat);
  assert_refused (key, iat_token, NOW, "issued in the future");
}

static void
test_malformed (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflJwtClaims) claims = rfl_jwt_claims_new (5, 2, "member", NULL,
                                                       NOW, 900);
  g_autofree char *token = rfl_jwt_sign (key, claims, NULL);
  g_auto(GStrv) parts = g_strsplit (token, ".", 3);
  g_autofree char *four = g_strconcat (token, ".", parts[2], NULL);
  g_autofree char *two = g_strjoin (".", parts[0], parts[1], NULL);
  g_autofree char *padded = g_strconcat (token, "=", NULL);
  g_autofree char *std_chars = g_strdup (token);
  g_autofree char *bad_header = g_strjoin (".", "!!!!", parts[1], parts[2], NULL);
  g_autofree char *bad_payload = g_strjoin (".", parts[0], "a*b", parts[2], NULL);
  g_autofree char *not_json = NULL;
  g_autofree char *not_json_token = NULL;

  assert_refused (key, NULL, NOW, "No access token");
  assert_refused (key, "", NOW, "No access token");
  assert_refused (key, "abc", NOW, "three parts");
  assert_refused (key, two, NOW, "three parts");
  assert_refused (key, four, NOW, "three parts");
  assert_refused (key, "..", NOW, "header");
  assert_refused (key, padded, NOW, "base64url");
  assert_refused (key, bad_header, NOW, "header");
  /* The signature is checked before the payload is read. */
  assert_refused (key, bad_payload, NOW, "signature does not match");

  /* "+" and "/" belong to base64, not base64url. */
  for (char *p = std_chars; *p != '\0'; p++)
    {
      if (*p == '-')
        *p = '+';
      else if (*p == '_')
        *p = '/';
    }
  if (!g_str_equal (std_chars, token))
    assert_refused (key, std_chars, NOW, "");

  /* A payload that is base64url but not JSON, rightly signed. */
  not_json = g_strdup ("this is not json");
  not_json_token = craft_token (key, good_header, not_json);
  assert_refused (key, not_json_token, NOW, "payload");

  /* A token with a non-canonical last character in the signature: the
   * same bytes spelled differently are refused. */
  {
    static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    g_autofree char *odd = g_strdup (token);
    char *last = odd + strlen (odd) - 1;
    const char *sig = strrchr (odd, '.') + 1;
    g_autofree guint8 *bytes_before = NULL;
    g_autofree guint8 *bytes_after = NULL;
    gsize size;

    /* 32 bytes take 43 characters; the last one has 2 unused bits. */
    bytes_before = rfl_jwt_base64url_decode (sig, strlen (sig), &size);
    g_assert_nonnull (bytes_before);
    g_assert_cmpuint (size, ==, 32);
    *last = alphabet[(strchr (alphabet, *last) - alphabet) ^ 1];
    g_assert_cmpstr (odd, !=, token);
    bytes_after = rfl_jwt_base64url_decode (sig, strlen (sig), &size);
    g_assert_null (bytes_after);
    assert_refused (key, odd, NOW, "base64url");
  }
}

static void
test_base64url (void)
{
  gsize size = 99;
  g_autofree guint8 *empty = NULL;
  g_autofree guint8 *decoded = NULL;
  g_autofree char *encoded = NULL;
  const guint8 bytes[] = { 0xfb, 0xff, 0xfe };

  encoded = rfl_jwt_base64url_encode (bytes, sizeof bytes);
  g_assert_cmpstr (encoded, ==, "-__-");
  decoded = rfl_jwt_base64url_decode (encoded, strlen (encoded), &size);
  g_assert_cmpuint (size, ==, 3);
  g_assert_cmpmem (decoded, size, bytes, sizeof bytes);

  g_assert_null (rfl_jwt_base64url_decode ("+//+", 4, &size));
  g_assert_null (rfl_jwt_base64url_decode ("QQ==", 4, &size));
  g_assert_null (rfl_jwt_base64url_decode ("Q", 1, &size));
  /* "QR" has stray bits; "QQ" is the canonical spelling of "A". */
  g_assert_null (rfl_jwt_base64url_decode ("QR", 2, &size));
  g_clear_pointer (&decoded, g_free);
  decoded = rfl_jwt_base64url_decode ("QQ", 2, &size);
  g_assert_nonnull (decoded);
  g_assert_cmpmem (decoded, size, "A", 1);

  empty = rfl_jwt_base64url_decode ("", 0, &size);
  g_assert_nonnull (empty);
  g_assert_cmpuint (size, ==, 0);
}

static void
test_missing_claims (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  const char * const claims[] = { "sub", "tid", "role", "jti", "iat", "exp" };
  const char * const values[] = {
    "\"sub\":\"7\"", "\"tid\":3", "\"role\":\"member\"", "\"jti\":\"j-1\"",
    "\"iat\":1767225600", "\"exp\":1767226500",
  };

  for (guint skip = 0; skip < G_N_ELEMENTS (claims); skip++)
    {
      g_autoptr(GString) payload = g_string_new ("{");
      g_autofree char *token = NULL;
      g_autofree char *expected = NULL;

      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        {
          if (i == skip)
            continue;
          if (payload->len > 1)
            g_string_append_c (payload, ',');
          g_string_append (payload, values[i]);
        }
      g_string_append_c (payload, '}');

      token = craft_token (key, good_header, payload->str);
      expected = g_strdup_printf ("claim “%s”", claims[skip]);
      assert_refused (key, token, NOW, expected);
    }
}

/* The members of a good payload, with @name's value replaced by @value
 * (or added when it is not one of them). */
static char *
payload_with (const char *name,
              const char *value)
{
  const char * const names[] = { "sub", "tid", "role", "jti", "iat", "exp" };
  const char * const values[] = {
    "\"7\"", "3", "\"member\"", "\"j\"", "1767225600", "1767226500",
  };
  GString *payload = g_string_new ("{");
  gboolean replaced = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      gboolean match = g_str_equal (names[i], name);

      replaced |= match;
      g_string_append_printf (payload, "%s\"%s\":%s", i > 0 ? "," : "",
                              names[i], match ? value : values[i]);
    }
  if (!replaced)
    g_string_append_printf (payload, ",\"%s\":%s", name, value);
  g_string_append_c (payload, '}');

  return g_string_free (payload, FALSE);
}

static void
test_invalid_claims (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  const struct {
    const char *name;
    const char *value;
  } cases[] = {
    { "sub", "7" },
    { "sub", "\"-7\"" },
    { "sub", "\"seven\"" },
    { "tid", "\"3\"" },
    { "tid", "0" },
    { "role", "\"root\"" },
    { "jti", "\"\"" },
    { "exp", "\"soon\"" },
    { "iat", "null" },
    { "sid", "5" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *payload = payload_with (cases[i].name, cases[i].value);
      g_autofree char *token = craft_token (key, good_header, payload);
      g_autofree char *fragment = g_strdup_printf ("“%s”", cases[i].name);

      assert_refused (key, token, NOW, fragment);
    }

  /* Fractional times are NumericDates too. */
  {
    g_autofree char *token = craft_token (key, good_header,
                                          "{\"sub\":\"7\",\"tid\":3,"
                                          "\"role\":\"member\",\"jti\":\"j\","
                                          "\"iat\":1767225600.5,"
                                          "\"exp\":1767226500.25}");
    g_autoptr(RflJwtClaims) claims = rfl_jwt_verify (key, token, NOW, NULL);

    g_assert_nonnull (claims);
    g_assert_cmpint (claims->expires_at, ==, NOW + 900);
    g_assert_null (claims->session_id);
  }
}

static void
test_huge_token (void)
{
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(GString) payload = g_string_new (NULL);
  g_autofree char *filler = g_strnfill (7000, 'x');
  g_autofree char *token = NULL;
  g_autofree char *garbage = g_strnfill (1 << 20, 'a');

  /* Rightly signed, but longer than 8 KiB once encoded. */
  g_string_printf (payload, "{\"sub\":\"7\",\"tid\":3,\"role\":\"member\","
                   "\"jti\":\"j\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%"
                   G_GINT64_FORMAT ",\"pad\":\"%s\"}",
                   NOW, NOW + 900, filler);
  token = craft_token (key, good_header, payload->str);
  g_assert_cmpuint (strlen (token), >, 8192);
  assert_refused (key, token, NOW, "longer than the 8192 bytes");

  /* A megabyte without a dot is refused on its length alone. */
  assert_refused (key, garbage, NOW, "8192");
}

/* Signing key */

static char *
key_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "reflection",
                           "signing-key", NULL);
}

static void
test_key_file_create (void)
{
  g_autofree char *path = key_path ();
  g_autoptr(RflSigningKey) created = NULL;
  g_autoptr(RflSigningKey) loaded = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;
  mode_t old_mask;

  /* Even with a permissive umask the file is created 0600. */
  old_mask = umask (0);
  created = rfl_signing_key_load_or_create_file (path, &error);
  umask (old_mask);
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The second call reads the same key; it does not make a new one. */
  loaded = rfl_signing_key_load_or_create_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_signing_key_equal (created, loaded));

  g_clear_pointer (&loaded, rfl_signing_key_unref);
  loaded = rfl_signing_key_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_signing_key_equal (created, loaded));
}

static void
test_key_file_refused (void)
{
  g_autofree char *path = key_path ();
  g_autofree char *link = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(RflSigningKey) key = NULL;
  g_autoptr(GError) error = NULL;

  key = rfl_signing_key_load_file (path, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  key = rfl_signing_key_load_or_create_file (path, &error);
  g_assert_no_error (error);
  g_clear_pointer (&key, rfl_signing_key_unref);
  g_file_get_contents (path, &before, NULL, NULL);

  /* Readable by the group: refused, and left as it is. */
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  key = rfl_signing_key_load_or_create_file (path, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_SECRET);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_assert_nonnull (strstr (error->message, "640"));
  g_clear_error (&error);
  g_file_get_contents (path, &after, NULL, NULL);
  g_assert_cmpstr (before, ==, after);

  g_assert_cmpint (g_chmod (path, 0604), ==, 0);
  key = rfl_signing_key_load_file (path, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_SECRET);
  g_clear_error (&error);

  /* A symbolic link to a good file is refused too. */
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  link = g_strconcat (path, "-link", NULL);
  g_assert_cmpint (symlink (path, link), ==, 0);
  key = rfl_signing_key_load_file (link, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_SECRET);
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);

  /* Garbage in a private file is not a key, and is not replaced. */
  g_assert_true (g_file_set_contents (path, "not a key\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  key = rfl_signing_key_load_or_create_file (path, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* 24 bytes in base64 are not a key either. */
  g_assert_true (g_file_set_contents (path,
                                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                                      -1, NULL));
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  key = rfl_signing_key_load_file (path, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

static void
test_key_from_data (void)
{
  guint8 short_data[16] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSigningKey) key = NULL;
  g_autoptr(RflSigningKey) a = rfl_signing_key_new_random ();
  g_autoptr(RflSigningKey) b = rfl_signing_key_new_random ();

  key = rfl_signing_key_new_from_data (short_data, sizeof short_data, &error);
  g_assert_null (key);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);

  g_assert_false (rfl_signing_key_equal (a, b));
  g_assert_true (rfl_signing_key_equal (a, a));
}

/* The runner gives the suite an unlocked keyring; without one this test
 * is skipped, unless the runner demands it. */
static void
test_key_keyring (void)
{
  g_autoptr(RflSigningKey) first = NULL;
  g_autoptr(RflSigningKey) second = NULL;
  g_autoptr(GError) error = NULL;

  first = rfl_signing_key_load_or_create_keyring_sync (NULL, &error);
  if (first == NULL)
    {
      g_assert_error (error, RFL_ERROR, RFL_ERROR_NO_SECRET_SERVICE);
      if (g_strcmp0 (g_getenv ("RFL_TEST_REQUIRE_KEYRING"), "1") == 0)
        g_test_fail_printf ("No Secret Service, but RFL_TEST_REQUIRE_KEYRING=1: "
                            "%s", error->message);
      else
        g_test_skip_printf ("No Secret Service: %s", error->message);
      return;
    }

  second = rfl_signing_key_load_or_create_keyring_sync (NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_signing_key_equal (first, second));

  /* A value that is not a key is reported, not silently replaced. */
  g_assert_true (rfl_secrets_store_named_sync (RFL_SIGNING_KEY_SECRET_NAME,
                                               "test", "garbage", NULL,
                                               &error));
  g_clear_pointer (&second, rfl_signing_key_unref);
  second = rfl_signing_key_load_or_create_keyring_sync (NULL, &error);
  g_assert_null (second);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_SECRET);
  g_clear_error (&error);

  g_assert_true (rfl_secrets_clear_named_sync (RFL_SIGNING_KEY_SECRET_NAME,
                                               NULL, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/jwt/round-trip", test_round_trip);
  g_test_add_func ("/rfl/jwt/independent-token", test_independent_token);
  g_test_add_func ("/rfl/jwt/sign-refuses-bad-claims",
                   test_sign_refuses_bad_claims);
  g_test_add_func ("/rfl/jwt/tampered-payload", test_tampered_payload);
  g_test_add_func ("/rfl/jwt/tampered-signature", test_tampered_signature);
  g_test_add_func ("/rfl/jwt/wrong-key", test_wrong_key);
  g_test_add_func ("/rfl/jwt/alg-none", test_alg_none);
  g_test_add_func ("/rfl/jwt/other-algorithms", test_other_algorithms);
  g_test_add_func ("/rfl/jwt/header-strict", test_header_strict);
  g_test_add_func ("/rfl/jwt/expired", test_expired);
  g_test_add_func ("/rfl/jwt/not-yet-valid", test_not_yet_valid);
  g_test_add_func ("/rfl/jwt/malformed", test_malformed);
  g_test_add_func ("/rfl/jwt/base64url", test_base64url);
  g_test_add_func ("/rfl/jwt/missing-claims", test_missing_claims);
  g_test_add_func ("/rfl/jwt/invalid-claims", test_invalid_claims);
  g_test_add_func ("/rfl/jwt/huge-token", test_huge_token);
  g_test_add_func ("/rfl/jwt/key-file-create", test_key_file_create);
  g_test_add_func ("/rfl/jwt/key-file-refused", test_key_file_refused);
  g_test_add_func ("/rfl/jwt/key-from-data", test_key_from_data);
  g_test_add_func ("/rfl/jwt/key-keyring", test_key_keyring);

  return g_test_run ();
}
