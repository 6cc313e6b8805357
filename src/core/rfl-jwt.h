/* rfl-jwt.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib-object.h>

#include "rfl-signing-key.h"

G_BEGIN_DECLS

/* Access tokens: JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, JWS
 * compact form). Only the header {"alg":"HS256","typ":"JWT"} is accepted;
 * every other algorithm, "none" above all, is refused before the signature
 * is looked at. */

#define RFL_JWT_ACCESS_LIFETIME  (15 * 60)  /* seconds */
#define RFL_JWT_LEEWAY           30         /* seconds of clock skew allowed */
#define RFL_JWT_MAX_LENGTH       8192       /* bytes; longer tokens are refused */

/* The role names of the "role" claim. */
#define RFL_JWT_ROLE_SYSTEM_ADMIN "system_admin"
#define RFL_JWT_ROLE_TENANT_ADMIN "tenant_admin"
#define RFL_JWT_ROLE_MEMBER       "member"

#define RFL_TYPE_JWT_CLAIMS (rfl_jwt_claims_get_type ())

typedef struct
{
  gint64  user_id;     /* "sub", a decimal string in the token */
  gint64  tenant_id;   /* "tid" */
  char   *role;        /* "role": one of the RFL_JWT_ROLE_* names */
  char   *jti;         /* "jti": unique per token */
  char   *session_id;  /* "sid": the login session, or NULL */
  gint64  issued_at;   /* "iat", Unix seconds */
  gint64  not_before;  /* "nbf", Unix seconds; equal to iat when absent */
  gint64  expires_at;  /* "exp", Unix seconds */
} RflJwtClaims;

GType         rfl_jwt_claims_get_type (void) G_GNUC_CONST;

/* Claims for an access token issued at @now (Unix seconds) that lives
 * @lifetime seconds, with a random jti. */
RflJwtClaims *rfl_jwt_claims_new      (gint64               user_id,
                                       gint64               tenant_id,
                                       const char          *role,
                                       const char          *session_id,
                                       gint64               now,
                                       gint64               lifetime);
RflJwtClaims *rfl_jwt_claims_copy     (const RflJwtClaims  *claims);
void          rfl_jwt_claims_free     (RflJwtClaims        *claims);

/* TRUE for the names of RFL_JWT_ROLE_*. */
gboolean      rfl_jwt_is_valid_role   (const char          *role);

/* The current time in Unix seconds. */
gint64        rfl_jwt_now             (void);

/* The compact token "header.payload.signature". Fails with
 * RFL_ERROR_INVALID_INPUT for claims that rfl_jwt_verify() would refuse
 * (no user, tenant, role or jti, or an expiry before the issue time). */
char         *rfl_jwt_sign            (RflSigningKey       *key,
                                       const RflJwtClaims  *claims,
                                       GError             **error);

/* Checks @token at @now (Unix seconds): size, form, header, signature (in
 * constant time), the claims sub, tid, role and jti, then exp, nbf and iat
 * with RFL_JWT_LEEWAY. Every failure is RFL_ERROR_UNAUTHORIZED with a
 * message naming what failed. */
RflJwtClaims *rfl_jwt_verify          (RflSigningKey       *key,
                                       const char          *token,
                                       gint64               now,
                                       GError             **error);

/* base64url without padding (RFC 4648 §5), as JWTs, API keys and refresh
 * tokens use it. Decoding accepts only the canonical form of some bytes:
 * no padding, no other characters, no stray bits; NULL otherwise. */
char         *rfl_jwt_base64url_encode (const guint8       *data,
                                        gsize               size);
guint8       *rfl_jwt_base64url_decode (const char         *text,
                                        gsize               length,
                                        gsize              *out_size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflJwtClaims, rfl_jwt_claims_free)

G_END_DECLS
