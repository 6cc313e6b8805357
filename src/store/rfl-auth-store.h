/* rfl-auth-store.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "core/rfl-signing-key.h"
#include "rfl-audit-log.h"
#include "rfl-database.h"

G_BEGIN_DECLS

/* Authentication: API keys of tenants, sign-in with e-mail and password,
 * access tokens (JWT, 15 minutes) with refresh tokens (30 days) that
 * rotate, and sign-out. Every authentication event and key change is
 * written to the audit log in the same transaction as the change.
 *
 * Secrets are shown once and stored only as SHA-256. Every refusal of a
 * credential is RFL_ERROR_UNAUTHORIZED with a translated, specific message
 * and changes nothing (beyond the audit entry that records it). Times are
 * Unix milliseconds unless said otherwise. Use the object on the thread
 * that opened the database. */

#define RFL_REFRESH_TOKEN_LIFETIME_MS   (30 * G_GINT64_CONSTANT (86400000))
/* last_used_at of an API key is written at most this often. */
#define RFL_API_KEY_TOUCH_INTERVAL_MS   60000
#define RFL_API_KEY_PREFIX              "rfl_"
/* What rfl_api_key.prefix keeps of a key for display. */
#define RFL_API_KEY_DISPLAY_PREFIX_LENGTH 8

typedef enum /*< flags >*/
{
  RFL_API_SCOPE_CHAT    = 1 << 0,
  RFL_API_SCOPE_PUBLISH = 1 << 1,
  RFL_API_SCOPE_READ    = 1 << 2,
  RFL_API_SCOPE_ADMIN   = 1 << 3,
} RflApiScopes;

#define RFL_API_SCOPES_ALL (RFL_API_SCOPE_CHAT | RFL_API_SCOPE_PUBLISH \
                            | RFL_API_SCOPE_READ | RFL_API_SCOPE_ADMIN)

/* Reads scope names ("chat", "publish", "read", "admin") separated by
 * commas and/or blanks. At least one is needed; an unknown name fails with
 * RFL_ERROR_INVALID_INPUT naming it. */
gboolean      rfl_api_scopes_parse       (const char    *text,
                                          RflApiScopes  *out_scopes,
                                          GError       **error);
/* "chat,publish": the names in the order above. */
char         *rfl_api_scopes_to_string   (RflApiScopes   scopes);

/* "system_admin", "tenant_admin", "member" (the RFL_JWT_ROLE_* names). */
const char   *rfl_role_to_string         (RflRole        role);
gboolean      rfl_role_from_string       (const char    *text,
                                          RflRole       *out_role);

#define RFL_TYPE_API_KEY (rfl_api_key_get_type ())

/* An API key as listed: never its secret, never its hash. */
typedef struct
{
  gint64        id;
  gint64        tenant_id;
  char         *name;
  char         *prefix;         /* the first 8 characters, "rfl_AbCd" */
  RflApiScopes  scopes;
  gint64        created_by;     /* user id, 0 when unknown */
  gint64        created_at;
  gint64        last_used_at;   /* 0 when never used */
  gint64        revoked_at;     /* 0 while valid */
  gint64        revoked_by;     /* user id, 0 when none or unknown */
} RflApiKey;

GType         rfl_api_key_get_type       (void) G_GNUC_CONST;
RflApiKey    *rfl_api_key_copy           (const RflApiKey *key);
void          rfl_api_key_free           (RflApiKey       *key);

#define RFL_TYPE_AUTH_TOKENS (rfl_auth_tokens_get_type ())

/* What a sign-in or a refresh gives the client. */
typedef struct
{
  char    *access_token;        /* a JWT */
  gint64   access_expires_at;   /* Unix SECONDS, the token's "exp" */
  char    *refresh_token;       /* shown once; stored only as SHA-256 */
  gint64   refresh_expires_at;  /* Unix milliseconds */
  char    *session_id;          /* the "sid" of the access token */
  gint64   tenant_id;
  gint64   user_id;
  RflRole  role;
} RflAuthTokens;

GType          rfl_auth_tokens_get_type  (void) G_GNUC_CONST;
RflAuthTokens *rfl_auth_tokens_copy      (const RflAuthTokens *tokens);
void           rfl_auth_tokens_free      (RflAuthTokens       *tokens);

typedef enum
{
  RFL_PRINCIPAL_USER,      /* an access token of a signed-in user */
  RFL_PRINCIPAL_API_KEY,
} RflPrincipalKind;

#define RFL_TYPE_AUTH_PRINCIPAL (rfl_auth_principal_get_type ())

/* Who a request comes from. */
typedef struct
{
  RflPrincipalKind  kind;
  gint64            tenant_id;
  gint64            user_id;      /* 0 for an API key */
  gint64            api_key_id;   /* 0 for a user */
  RflRole           role;         /* RFL_ROLE_MEMBER for an API key */
  RflApiScopes      scopes;       /* a user's follow from the role */
  char             *session_id;   /* users only */
} RflAuthPrincipal;

GType             rfl_auth_principal_get_type  (void) G_GNUC_CONST;
RflAuthPrincipal *rfl_auth_principal_copy      (const RflAuthPrincipal *principal);
void              rfl_auth_principal_free      (RflAuthPrincipal       *principal);
gboolean          rfl_auth_principal_has_scope (const RflAuthPrincipal *principal,
                                                RflApiScopes            scope);
/* The actor to write to the audit log for what the principal does. */
RflAuditActor     rfl_auth_principal_get_actor (const RflAuthPrincipal *principal);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflApiKey, rfl_api_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAuthTokens, rfl_auth_tokens_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAuthPrincipal, rfl_auth_principal_free)

#define RFL_TYPE_AUTH_STORE (rfl_auth_store_get_type ())
G_DECLARE_FINAL_TYPE (RflAuthStore, rfl_auth_store, RFL, AUTH_STORE, GObject)

RflAuthStore     *rfl_auth_store_new                 (RflDatabase          *db,
                                                      RflSigningKey        *key);
RflAuditLog      *rfl_auth_store_get_audit_log       (RflAuthStore         *self);

/* API keys */

/* Makes a key for @tenant_id and returns its plaintext, "rfl_" and 43
 * base64url characters: the only time it is ever available. @name is 1–80
 * characters; @scopes at least one. @out_key, when given, receives the key
 * as listed. Audited as api_key_created. */
char             *rfl_auth_store_create_api_key      (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      const char           *name,
                                                      RflApiScopes          scopes,
                                                      const RflAuditActor  *actor,
                                                      RflApiKey           **out_key,
                                                      GError              **error);

/* Checks a presented key: well-formed, known, not revoked, its tenant
 * active. Updates last_used_at at most once a minute. */
RflApiKey        *rfl_auth_store_authenticate_api_key (RflAuthStore        *self,
                                                       const char          *key,
                                                       GError             **error);

/* The tenant's keys, newest first, revoked ones included. */
GPtrArray        *rfl_auth_store_list_api_keys       (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      GError              **error);
/* RFL_ERROR_NOT_FOUND when @key_id is not a key of @tenant_id. */
RflApiKey        *rfl_auth_store_get_api_key         (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      gint64                key_id,
                                                      GError              **error);
/* Effective at once: the next authentication fails. Revoking a revoked key
 * succeeds and changes nothing. RFL_ERROR_NOT_FOUND when @key_id is not a
 * key of @tenant_id. Audited as api_key_revoked. */
gboolean          rfl_auth_store_revoke_api_key      (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      gint64                key_id,
                                                      const RflAuditActor  *actor,
                                                      GError              **error);

/* Sign-in and sessions */

/* Signs a user in: @tenant_id 0 looks for @email in every tenant. The user
 * and their tenant must be active. Every failure, whatever its cause, is
 * the same RFL_ERROR_UNAUTHORIZED "wrong e-mail or password" after the same
 * work, so that it does not tell which addresses exist; the cause is
 * audited as failed_login. Blocking for the time of one argon2id check. */
RflAuthTokens    *rfl_auth_store_login               (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      const char           *email,
                                                      const char           *password,
                                                      GError              **error);

/* The same sign-in in three steps, so that the argon2id check runs away
 * from the database thread: rfl_auth_store_begin_login() looks the
 * accounts up (on the database thread), rfl_login_attempt_verify() checks
 * the password (blocking, on any thread, touching no database) and
 * rfl_auth_store_finish_login() starts the session or audits the failure
 * (on the database thread again), with the same answers as
 * rfl_auth_store_login(). An attempt belongs to one thread at a time. */
typedef struct _RflLoginAttempt RflLoginAttempt;

/* When the login is refused because of too many failures. */
#define RFL_AUDIT_LOGIN_LOCKED        "login_locked"

RflLoginAttempt  *rfl_auth_store_begin_login         (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      const char           *email,
                                                      const char           *password,
                                                      GError              **error);
void              rfl_login_attempt_verify           (RflLoginAttempt      *attempt);
/* The tenant the attempt concerns: the matching or only account's, else
 * the one asked for (0 for any). */
gint64            rfl_login_attempt_get_tenant_id    (RflLoginAttempt      *attempt);
void              rfl_login_attempt_free             (RflLoginAttempt      *attempt);
/* After rfl_login_attempt_verify(). */
RflAuthTokens    *rfl_auth_store_finish_login        (RflAuthStore         *self,
                                                      RflLoginAttempt      *attempt,
                                                      GError              **error);
/* Audits that sign-ins are refused for a while after @failures failures
 * within @window_s seconds: @limit says whose ("account", "client"),
 * @client is the client's address. */
void              rfl_auth_store_audit_login_locked  (RflAuthStore         *self,
                                                      RflLoginAttempt      *attempt,
                                                      const char           *limit,
                                                      const char           *client,
                                                      guint                 failures,
                                                      guint                 window_s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflLoginAttempt, rfl_login_attempt_free)

/* Rotates a refresh token: the token is used up and a new access and
 * refresh token of the same session are returned. A token presented a
 * second time revokes the whole session, audited as refresh_token_reused,
 * and fails with its own message. Expired, unknown and revoked tokens, and
 * sessions whose user or tenant is no longer active, fail too. */
RflAuthTokens    *rfl_auth_store_refresh             (RflAuthStore         *self,
                                                      const char           *refresh_token,
                                                      GError              **error);

/* Signs out the session of @refresh_token: every refresh token and access
 * token of the session stops working. Audited as logout. Signing out a
 * session that is already signed out succeeds. */
gboolean          rfl_auth_store_logout              (RflAuthStore         *self,
                                                      const char           *refresh_token,
                                                      GError              **error);

/* The same for the session of an access token ("sid"). RFL_ERROR_NOT_FOUND
 * when it is not a session of @tenant_id. */
gboolean          rfl_auth_store_logout_session      (RflAuthStore         *self,
                                                      gint64                tenant_id,
                                                      const char           *session_id,
                                                      GError              **error);

/* Signs a user out everywhere, for example when the user is disabled.
 * Returns the number of sessions ended; audited as sessions_revoked when
 * there were any. */
guint             rfl_auth_store_revoke_user_sessions (RflAuthStore        *self,
                                                       gint64               tenant_id,
                                                       gint64               user_id,
                                                       const RflAuditActor *actor,
                                                       GError             **error);

/* Requests */

/* The principal of a request from its bearer credential: an API key
 * ("rfl_…") or an access token, which must verify (see rfl_jwt_verify())
 * and belong to a session that is still signed in, of a user and tenant
 * that are still active. */
RflAuthPrincipal *rfl_auth_store_authenticate        (RflAuthStore         *self,
                                                      const char           *credential,
                                                      GError              **error);

G_END_DECLS
