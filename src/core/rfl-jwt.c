/* rfl-jwt.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-jwt.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

#include "rfl-error.h"

#define SIGNATURE_SIZE  32       /* HMAC-SHA256 */
#define MAX_ID_LENGTH   128      /* jti and sid */
#define JTI_BYTES       16
/* Integers a JSON double holds exactly. */
#define MAX_EXACT_DOUBLE 9007199254740992.0

/* The only header this code writes and accepts. */
static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

G_DEFINE_BOXED_TYPE (RflJwtClaims, rfl_jwt_claims,
                     rfl_jwt_claims_copy, rfl_jwt_claims_free)

static const char * const role_names[] = {
  RFL_JWT_ROLE_SYSTEM_ADMIN,
  RFL_JWT_ROLE_TENANT_ADMIN,
  RFL_JWT_ROLE_MEMBER,
};

static gpointer
init_sodium_once (gpointer data)
{
  return GINT_TO_POINTER (sodium_init () >= 0);
}

/* libsodium is initialised once before its random generator is used. */
static void
ensure_sodium (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, init_sodium_once, NULL);
}

/* base64url */

char *
rfl_jwt_base64url_encode (const guint8 *data,
                          gsize         size)
{
  char *text = g_base64_encode (data, size);
  gsize len = strlen (text);

  while (len > 0 && text[len - 1] == '=')
    text[--len] = '\0';

  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
    }

  return text;
}

guint8 *
rfl_jwt_base64url_decode (const char *text,
                          gsize       length,
                          gsize      *out_size)
{
  g_autofree char *padded = NULL;
  g_autofree char *again = NULL;
  g_autofree guint8 *data = NULL;
  gsize size = 0;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (out_size != NULL, NULL);

  *out_size = 0;

  /* One character left over cannot be the end of any bytes. */
  if (length % 4 == 1)
    return NULL;

  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '-' && text[i] != '_')
      return NULL;

  padded = g_malloc (length + 4);
  for (gsize i = 0; i < length; i++)
    padded[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
  memset (padded + length, '=', (4 - length % 4) % 4);
  padded[length + (4 - length % 4) % 4] = '\0';

  if (length == 0)
    data = g_malloc0 (1);
  else
    data = g_base64_decode (padded, &size);

  /* The same bytes have other spellings that differ in the unused bits of
   * the last character; only the one this encoder writes is accepted. */
  again = rfl_jwt_base64url_encode (data, size);
  if (strlen (again) != length || memcmp (again, text, length) != 0)
    return NULL;

  *out_size = size;
  return g_steal_pointer (&data);
}

/* Claims */

RflJwtClaims *
rfl_jwt_claims_new (gint64      user_id,
                    gint64      tenant_id,
                    const char *role,
                    const char *session_id,
                    gint64      now,
                    gint64      lifetime)
{
  RflJwtClaims *claims = g_new0 (RflJwtClaims, 1);
  guint8 jti[JTI_BYTES];

  ensure_sodium ();
  randombytes_buf (jti, sizeof jti);

  claims->user_id = user_id;
  claims->tenant_id = tenant_id;
  claims->role = g_strdup (role);
  claims->jti = rfl_jwt_base64url_encode (jti, sizeof jti);
  claims->session_id = g_strdup (session_id);
  claims->issued_at = now;
  claims->not_before = now;
  claims->expires_at = now + lifetime;

  return claims;
}

RflJwtClaims *
rfl_jwt_claims_copy (const RflJwtClaims *claims)
{
  RflJwtClaims *copy;

  g_return_val_if_fail (claims != NULL, NULL);

  copy = g_memdup2 (claims, sizeof *claims);
  copy->role = g_strdup (claims->role);
  copy->jti = g_strdup (claims->jti);
  copy->session_id = g_strdup (claims->session_id);

  return copy;
}

void
rfl_jwt_claims_free (RflJwtClaims *claims)
{
  if (claims == NULL)
    return;

  g_free (claims->role);
  g_free (claims->jti);
  g_free (claims->session_id);
  g_free (claims);
}

gboolean
rfl_jwt_is_valid_role (const char *role)
{
  if (role == NULL)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (role_names); i++)
    if (g_str_equal (role, role_names[i]))
      return TRUE;

  return FALSE;
}

gint64
rfl_jwt_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static gboolean
is_valid_id (const char *id)
{
  gsize len;

  if (id == NULL)
    return FALSE;

  len = strlen (id);
  if (len == 0 || len > MAX_ID_LENGTH)
    return FALSE;

  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isgraph (*p))
      return FALSE;

  return TRUE;
}

/* Signing */

static void
compute_signature (RflSigningKey *key,
                   const char    *input,
                   gsize          length,
                   guint8         out[SIGNATURE_SIZE])
{
  g_autoptr(GHmac) hmac = NULL;
  gsize size = SIGNATURE_SIZE;

  hmac = g_hmac_new (G_CHECKSUM_SHA256, rfl_signing_key_get_data (key),
                     RFL_SIGNING_KEY_SIZE);
  g_hmac_update (hmac, (const guchar *) input, (gssize) length);
  g_hmac_get_digest (hmac, out, &size);
  g_assert (size == SIGNATURE_SIZE);
}

static gboolean
check_claims_to_sign (const RflJwtClaims  *claims,
                      GError             **error)
{
  if (claims->user_id <= 0 || claims->tenant_id <= 0
      || !rfl_jwt_is_valid_role (claims->role)
      || !is_valid_id (claims->jti)
      || (claims->session_id != NULL && !is_valid_id (claims->session_id))
      || claims->expires_at <= claims->issued_at
      || claims->not_before >= claims->expires_at)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The access token cannot be made: its user, "
                             "tenant, role, identifier or lifetime is not "
                             "valid"));
      return FALSE;
    }

  return TRUE;
}

static char *
build_payload (const RflJwtClaims *claims)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *sub = g_strdup_printf ("%" G_GINT64_FORMAT,
                                          claims->user_id);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sub");
  json_builder_add_string_value (builder, sub);
  json_builder_set_member_name (builder, "tid");
  json_builder_add_int_value (builder, claims->tenant_id);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, claims->role);
  if (claims->session_id != NULL)
    {
      json_builder_set_member_name (builder, "sid");
      json_builder_add_string_value (builder, claims->session_id);
    }
  json_builder_set_member_name (builder, "jti");
  json_builder_add_string_value (builder, claims->jti);
  json_builder_set_member_name (builder, "iat");
  json_builder_add_int_value (builder, claims->issued_at);
  json_builder_set_member_name (builder, "nbf");
  json_builder_add_int_value (builder, claims->not_before);
  json_builder_set_member_name (builder, "exp");
  json_builder_add_int_value (builder, claims->expires_at);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

char *
rfl_jwt_sign (RflSigningKey       *key,
              const RflJwtClaims  *claims,
              GError             **error)
{
  g_autofree char *payload = NULL;
  g_autofree char *header64 = NULL;
  g_autofree char *payload64 = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature64 = NULL;
  guint8 signature[SIGNATURE_SIZE];

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (claims != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_claims_to_sign (claims, error))
    return NULL;

  payload = build_payload (claims);
  header64 = rfl_jwt_base64url_encode ((const guint8 *) header_json,
                                       strlen (header_json));
  payload64 = rfl_jwt_base64url_encode ((const guint8 *) payload,
                                        strlen (payload));
  input = g_strconcat (header64, ".", payload64, NULL);

  compute_signature (key, input, strlen (input), signature);
  signature64 = rfl_jwt_base64url_encode (signature, sizeof signature);

  return g_strconcat (input, ".", signature64, NULL);
}

/* Verification */

static gboolean
fail (GError     **error,
      const char  *message)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED, message);
  return FALSE;
}

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  if (time == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, unix_seconds);

  return g_date_time_format (time, "%Y-%m-%d %H:%M:%S UTC");
}

/* Decodes one part of the token into a JSON object. */
static JsonObject *
parse_part (const char *text,
            gsize       length)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autofree guint8 *data = NULL;
  JsonNode *root;
  gsize size;

  data = rfl_jwt_base64url_decode (text, length, &size);
  if (data == NULL || size == 0
      || !g_utf8_validate ((const char *) data, (gssize) size, NULL))
    return NULL;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) data,
                                   (gssize) size, NULL))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  return json_object_ref (json_node_get_object (root));
}

/* The string value of @name, or NULL when it is missing or not a string. */
static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* At most the first 32 characters of @text, which is valid UTF-8: what an
 * error message repeats of a value that came from outside. */
static char *
dup_shown (const char *text)
{
  return g_utf8_substring (text, 0, MIN (g_utf8_strlen (text, -1), 32));
}

typedef struct
{
  const char *name;
  gboolean    found;
} HeaderMemberCheck;

static void
find_unknown_member_cb (JsonObject  *object,
                        const char  *name,
                        JsonNode    *node,
                        gpointer     user_data)
{
  HeaderMemberCheck *check = user_data;

  if (!check->found && !g_str_equal (name, "alg") && !g_str_equal (name, "typ"))
    {
      check->name = name;
      check->found = TRUE;
    }
}

static gboolean
check_header (const char  *text,
              gsize        length,
              GError     **error)
{
  g_autoptr(JsonObject) header = NULL;
  HeaderMemberCheck check = { NULL, FALSE };
  const char *alg;
  const char *typ;

  header = parse_part (text, length);
  if (header == NULL)
    return fail (error, _("The access token is malformed: its header is not "
                          "a JSON object in base64url"));

  if (!json_object_has_member (header, "alg"))
    return fail (error, _("The access token header names no signing "
                          "algorithm"));

  alg = get_string_member (header, "alg");
  if (alg == NULL)
    return fail (error, _("The access token header names its signing "
                          "algorithm with a value that is not text"));

  if (g_ascii_strcasecmp (alg, "none") == 0)
    return fail (error, _("The access token is refused: it claims to be "
                          "unsigned (algorithm “none”)"));

  if (!g_str_equal (alg, "HS256"))
    {
      g_autofree char *shown = dup_shown (alg);

      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The access token uses the signing algorithm “%s”; only "
                     "HS256 is accepted"),
                   shown);
      return FALSE;
    }

  typ = get_string_member (header, "typ");
  if (typ == NULL || !g_str_equal (typ, "JWT"))
    return fail (error, _("The access token header does not give the type "
                          "“JWT”"));

  json_object_foreach_member (header, find_unknown_member_cb, &check);
  if (check.found)
    {
      g_autofree char *shown = dup_shown (check.name);

      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The access token header has the unexpected member "
                     "“%s”"),
                   shown);
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_signature (RflSigningKey  *key,
                 const char     *token,
                 gsize           signed_length,
                 const char     *signature64,
                 gsize           signature64_length,
                 GError        **error)
{
  g_autofree guint8 *signature = NULL;
  guint8 expected[SIGNATURE_SIZE];
  gsize size;
  gboolean matches;

  if (signature64_length == 0)
    return fail (error, _("The access token is refused: it has no "
                          "signature"));

  signature = rfl_jwt_base64url_decode (signature64, signature64_length,
                                        &size);
  if (signature == NULL)
    return fail (error, _("The access token is malformed: its signature is "
                          "not base64url"));

  if (size != SIGNATURE_SIZE)
    return fail (error, _("The access token signature has the wrong length "
                          "for HS256"));

  compute_signature (key, token, signed_length, expected);
  matches = sodium_memcmp (expected, signature, SIGNATURE_SIZE) == 0;
  sodium_memzero (expected, sizeof expected);

  if (!matches)
    return fail (error, _("The access token signature does not match: the "
                          "token was changed or signed with another key"));

  return TRUE;
}

static gboolean
set_claim_error (const char  *claim,
                 gboolean     missing,
                 GError     **error)
{
  if (missing)
    g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                 _("The access token lacks the required claim “%s”"), claim);
  else
    g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                 _("The access token claim “%s” is not valid"), claim);
  return FALSE;
}

/* A NumericDate: an integer, or a number with a fraction that is cut off. */
static gboolean
get_time_claim (JsonObject  *payload,
                const char  *claim,
                gboolean     required,
                gint64      *out,
                GError     **error)
{
  JsonNode *node = json_object_get_member (payload, claim);
  GType type;

  if (node == NULL)
    {
      if (required)
        return set_claim_error (claim, TRUE, error);
      return TRUE;
    }

  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                      : G_TYPE_INVALID;
  if (type == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      return TRUE;
    }

  if (type == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (node);

      if (isfinite (value) && fabs (value) < MAX_EXACT_DOUBLE)
        {
          *out = (gint64) floor (value);
          return TRUE;
        }
    }

  return set_claim_error (claim, FALSE, error);
}

static gboolean
get_id_claim (JsonObject  *payload,
              const char  *claim,
              gboolean     required,
              char       **out,
              GError     **error)
{
  const char *value;

  if (!json_object_has_member (payload, claim))
    {
      if (required)
        return set_claim_error (claim, TRUE, error);
      return TRUE;
    }

  value = get_string_member (payload, claim);
  if (!is_valid_id (value))
    return set_claim_error (claim, FALSE, error);

  *out = g_strdup (value);
  return TRUE;
}

static gboolean
read_identity_claims (JsonObject    *payload,
                      RflJwtClaims  *claims,
                      GError       **error)
{
  const char *sub;
  const char *role;
  JsonNode *tid;
  guint64 user_id;

  if (!json_object_has_member (payload, "sub"))
    return set_claim_error ("sub", TRUE, error);
  sub = get_string_member (payload, "sub");
  if (sub == NULL
      || !g_ascii_string_to_unsigned (sub, 10, 1, G_MAXINT64, &user_id, NULL))
    return set_claim_error ("sub", FALSE, error);
  claims->user_id = (gint64) user_id;

  tid = json_object_get_member (payload, "tid");
  if (tid == NULL)
    return set_claim_error ("tid", TRUE, error);
  if (!JSON_NODE_HOLDS_VALUE (tid)
      || json_node_get_value_type (tid) != G_TYPE_INT64
      || json_node_get_int (tid) <= 0)
    return set_claim_error ("tid", FALSE, error);
  claims->tenant_id = json_node_get_int (tid);

  if (!json_object_has_member (payload, "role"))
    return set_claim_error ("role", TRUE, error);
  role = get_string_member (payload, "role");
  if (!rfl_jwt_is_valid_role (role))
    return set_claim_error ("role", FALSE, error);
  claims->role = g_strdup (role);

  return get_id_claim (payload, "jti", TRUE, &claims->jti, error)
         && get_id_claim (payload, "sid", FALSE, &claims->session_id, error);
}

static gboolean
check_times (const RflJwtClaims  *claims,
             gint64               now,
             GError             **error)
{
  g_autofree char *when = NULL;

  if (now >= claims->expires_at + RFL_JWT_LEEWAY)
    {
      when = format_time (claims->expires_at);
      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The access token expired at %s"), when);
      return FALSE;
    }

  if (now + RFL_JWT_LEEWAY < claims->issued_at)
    {
      when = format_time (claims->issued_at);
      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The access token claims to be issued in the future, "
                     "at %s"),
                   when);
      return FALSE;
    }

  if (now + RFL_JWT_LEEWAY < claims->not_before)
    {
      when = format_time (claims->not_before);
      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The access token is not valid before %s"), when);
      return FALSE;
    }

  return TRUE;
}

static RflJwtClaims *
read_claims (const char  *text,
             gsize        length,
             gint64       now,
             GError     **error)
{
  g_autoptr(JsonObject) payload = NULL;
  g_autoptr(RflJwtClaims) claims = g_new0 (RflJwtClaims, 1);

  payload = parse_part (text, length);
  if (payload == NULL)
    {
      fail (error, _("The access token is malformed: its payload is not a "
                     "JSON object in base64url"));
      return NULL;
    }

  if (!read_identity_claims (payload, claims, error)
      || !get_time_claim (payload, "iat", TRUE, &claims->issued_at, error)
      || !get_time_claim (payload, "exp", TRUE, &claims->expires_at, error))
    return NULL;

  claims->not_before = claims->issued_at;
  if (!get_time_claim (payload, "nbf", FALSE, &claims->not_before, error)
      || !check_times (claims, now, error))
    return NULL;

  return g_steal_pointer (&claims);
}

RflJwtClaims *
rfl_jwt_verify (RflSigningKey  *key,
                const char     *token,
                gint64          now,
                GError        **error)
{
  const char *dot1, *dot2;
  gsize length;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  length = token != NULL ? strnlen (token, RFL_JWT_MAX_LENGTH + 1) : 0;
  if (length == 0)
    {
      fail (error, _("No access token was given"));
      return NULL;
    }

  if (length > RFL_JWT_MAX_LENGTH)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                   _("The access token is longer than the %d bytes accepted"),
                   RFL_JWT_MAX_LENGTH);
      return NULL;
    }

  dot1 = memchr (token, '.', length);
  dot2 = dot1 != NULL ? memchr (dot1 + 1, '.', length - (dot1 + 1 - token))
                      : NULL;
  if (dot2 == NULL || memchr (dot2 + 1, '.', length - (dot2 + 1 - token)))
    {
      fail (error, _("The access token is malformed: it must have three "
                     "parts separated by dots"));
      return NULL;
    }

  /* The header first: a token that names another algorithm is refused
   * before its signature is looked at. */
  if (!check_header (token, dot1 - token, error)
      || !check_signature (key, token, dot2 - token, dot2 + 1,
                           length - (dot2 + 1 - token), error))
    return NULL;

  return read_claims (dot1 + 1, dot2 - (dot1 + 1), now, error);
}
