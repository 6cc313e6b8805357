/* rfl-service-http.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service-http.h"
#include "rfl-service-http-private.h"
#include "rfl-login-throttle.h"

#include <glib/gi18n.h>

#include "core/rfl-error.h"
#include "core/rfl-jwt.h"
#include "server/rfl-http-error.h"
#include "server/rfl-json-body.h"
#include "store/rfl-database-private.h"

/* Login bodies are small: a large one is refused before it is parsed. */
#define AUTH_BODY_LIMIT ((gsize) 16 * 1024)

#define HTTP_DATA_KEY      "rfl-service-http"
#define PRINCIPAL_DATA_KEY "rfl-principal"

/* Guards the RflServiceHttp attached to each RflService. */
static GMutex http_lock;

static void
http_free (RflServiceHttp *http)
{
  g_assert (http->server == NULL);
  g_assert (http->auth == NULL);

  g_clear_pointer (&http->key, rfl_signing_key_unref);
  g_clear_object (&http->quota);
  g_weak_ref_clear (&http->service);
  g_clear_pointer (&http->core, _rfl_service_core_unref);
  g_free (http->url);
  g_free (http);
}

/* A service finalized while still serving: its thread has ended, so the
 * server can only go here. */
static void
http_free_unstopped (RflServiceHttp *http)
{
  g_warning ("The service ended while serving HTTP; stop it first");
  g_clear_object (&http->server);
  g_clear_object (&http->auth);
  http_free (http);
}

/* Attaches @func to the service thread's context, unless the service has
 * stopped taking calls. */
static gboolean
schedule (RflServiceCore *core,
          GSourceFunc     func,
          gpointer        data,
          GError        **error)
{
  GSource *source;

  g_mutex_lock (&core->lock);
  if (!core->accepting)
    {
      g_mutex_unlock (&core->lock);
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The service has stopped"));
      return FALSE;
    }

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[rfl] service http");
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, core->context);
  g_source_unref (source);
  g_mutex_unlock (&core->lock);

  return TRUE;
}

/* Requests ------------------------------------------------------------- */

const RflAuthPrincipal *
_rfl_service_http_get_principal (RflRequest *request)
{
  return g_object_get_data (G_OBJECT (rfl_request_get_message (request)),
                            PRINCIPAL_DATA_KEY);
}

/* Refused credentials are RFL_ERROR_UNAUTHORIZED in the stores and 401
 * here; everything else keeps its usual mapping. */
void
_rfl_service_http_respond_error (RflRequest   *request,
                                 const GError *error)
{
  if (g_error_matches (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED))
    {
      g_autoptr(GError) http_error = g_error_new_literal (RFL_HTTP_ERROR,
                                                          RFL_HTTP_ERROR_UNAUTHORIZED,
                                                          error->message);
      rfl_request_respond_error (request, http_error);
      return;
    }

  rfl_request_respond_error (request, error);
}

gboolean
_rfl_service_http_check_available (RflRequest     *request,
                                   RflServiceHttp *http)
{
  g_autoptr(GError) error = NULL;

  if (http != NULL && http->auth != NULL && !http->core->stopping)
    return TRUE;

  g_set_error_literal (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_NOT_READY,
                       _("The service is not running"));
  rfl_request_respond_error (request, error);
  return FALSE;
}

static JsonNode *
tokens_to_json (const RflAuthTokens *tokens)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  gint64 expires_in = tokens->access_expires_at - rfl_jwt_now ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "access_token");
  json_builder_add_string_value (builder, tokens->access_token);
  json_builder_set_member_name (builder, "token_type");
  json_builder_add_string_value (builder, "Bearer");
  json_builder_set_member_name (builder, "expires_in");
  json_builder_add_int_value (builder, MAX (expires_in, 0));
  json_builder_set_member_name (builder, "refresh_token");
  json_builder_add_string_value (builder, tokens->refresh_token);
  json_builder_set_member_name (builder, "refresh_expires_in");
  json_builder_add_int_value (builder,
                              MAX ((tokens->refresh_expires_at
                                    - g_get_real_time () / 1000) / 1000, 0));
  json_builder_set_member_name (builder, "tenant_id");
  json_builder_add_int_value (builder, tokens->tenant_id);
  json_builder_set_member_name (builder, "user_id");
  json_builder_add_int_value (builder, tokens->user_id);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, rfl_role_to_string (tokens->role));
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static void
respond_tokens (RflRequest          *request,
                const RflAuthTokens *tokens)
{
  g_autoptr(JsonNode) node = tokens_to_json (tokens);
  SoupServerMessage *msg = rfl_request_get_message (request);

  /* Tokens must not linger in caches along the way. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  rfl_request_respond_json (request, SOUP_STATUS_OK, node);
}

/* Sign-in --------------------------------------------------------------- */

/* A sign-in whose password is being checked on a worker. It may outlive
 * the server when a stop does not wait: it holds what it needs, and
 * answers only while its server runs and its client is still there. */
typedef struct
{
  RflRequest        *request;      /* borrowed: lives with msg */
  SoupServerMessage *msg;          /* owned */
  RflAuthStore      *auth;         /* owned */
  RflLoginThrottle  *throttle;     /* owned */
  GWeakRef           server;
  RflLoginAttempt   *attempt;      /* owned; the worker's while it runs */
  char              *client;       /* owned: the client's address */
  char              *email;        /* owned: as typed */
  gint64             tenant_id;
  gulong             finished_id;
  gboolean           gone;         /* the message ended */
} LoginCall;

static void
login_call_free (LoginCall *call)
{
  if (call->finished_id != 0)
    g_signal_handler_disconnect (call->msg, call->finished_id);
  g_clear_object (&call->msg);
  g_clear_object (&call->auth);
  g_clear_pointer (&call->throttle, rfl_login_throttle_unref);
  g_weak_ref_clear (&call->server);
  g_clear_pointer (&call->attempt, rfl_login_attempt_free);
  g_free (call->client);
  g_free (call->email);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoginCall, login_call_free)

static void
login_msg_finished_cb (SoupServerMessage *msg,
                       gpointer           user_data)
{
  LoginCall *call = user_data;

  call->gone = TRUE;
}

static void
respond_login_throttled (RflRequest       *request,
                         RflLoginThrottle *throttle,
                         RflLoginLimit     limits,
                         guint             retry_after)
{
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;
  char text[16];
  guint minutes = rfl_login_throttle_get_window (throttle) / 60;
  guint failures = rfl_login_throttle_get_max_failures (throttle);

  g_snprintf (text, sizeof text, "%u", MAX (retry_after, 1));
  headers = soup_server_message_get_response_headers (rfl_request_get_message (request));
  soup_message_headers_replace (headers, "Retry-After", text);

  if (limits & RFL_LOGIN_LIMIT_ACCOUNT)
    g_set_error (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_QUOTA_EXCEEDED,
                 _("Too many failed sign-ins for this account: after %u failures "
                   "within %u minutes, sign-in is paused. Try again in %s seconds."),
                 failures, minutes, text);
  else
    g_set_error (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_QUOTA_EXCEEDED,
                 _("Too many failed sign-ins from this address: after %u failures "
                   "within %u minutes, sign-in is paused. Try again in %s seconds."),
                 failures, minutes, text);
  rfl_request_respond_error (request, error);
}

static void
login_verify_worker (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LoginCall *call = task_data;

  rfl_login_throttle_call_verify_func (call->throttle);
  rfl_login_attempt_verify (call->attempt);
  g_task_return_boolean (task, TRUE);
}

/* Counts a refused sign-in; audits the lockout it begins, once. */
static void
login_failed (LoginCall *call)
{
  RflLoginLimit began;
  const char *limit;

  began = rfl_login_throttle_add_failure (call->throttle, call->client,
                                          call->tenant_id, call->email);
  if (began == RFL_LOGIN_LIMIT_NONE)
    return;

  if (began == (RFL_LOGIN_LIMIT_ACCOUNT | RFL_LOGIN_LIMIT_CLIENT))
    limit = "account,client";
  else if (began & RFL_LOGIN_LIMIT_ACCOUNT)
    limit = "account";
  else
    limit = "client";

  rfl_auth_store_audit_login_locked (call->auth, call->attempt, limit, call->client,
                                     rfl_login_throttle_get_max_failures (call->throttle),
                                     rfl_login_throttle_get_window (call->throttle));
}

/* Back on the service thread with the password checked. */
static void
login_verified_cb (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(LoginCall) call = user_data;
  g_autoptr(RflServer) server = g_weak_ref_get (&call->server);
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;

  /* A stop that did not wait ended the message: nobody is left to tell. */
  if (call->gone || server == NULL || rfl_server_get_state (server) == RFL_SERVER_STOPPED)
    return;

  tokens = rfl_auth_store_finish_login (call->auth, call->attempt, &error);
  if (tokens != NULL)
    {
      /* The account's failures are forgotten whether they named its
       * tenant or not. */
      rfl_login_throttle_add_success (call->throttle, call->tenant_id, call->email);
      rfl_login_throttle_add_success (call->throttle, tokens->tenant_id, call->email);
      respond_tokens (call->request, tokens);
    }
  else
    {
      if (g_error_matches (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED))
        login_failed (call);
      _rfl_service_http_respond_error (call->request, error);
    }

  soup_server_message_unpause (call->msg);
}

/* The throttle: refuses at once, without looking at the password. */
static gboolean
login_admitted (RflRequest       *request,
                RflServiceHttp   *http,
                RflLoginThrottle *throttle,
                const char       *client,
                gint64            tenant_id,
                const char       *email)
{
  RflLoginLimit limits;
  guint retry_after = 0;

  limits = rfl_login_throttle_check (throttle, client, tenant_id, email, &retry_after);
  if (limits == RFL_LOGIN_LIMIT_NONE)
    return TRUE;

  rfl_metrics_add_rate_limit_rejection (rfl_server_get_metrics (http->server), "login");
  respond_login_throttled (request, throttle, limits, retry_after);
  return FALSE;
}

/* POST /api/v1/auth/login {email, password, tenant_id?}: the accounts are
 * looked up here, the argon2id check runs on a worker while the message
 * waits, paused, and the session starts back here. */
static void
login_cb (RflRequest *request,
          gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  SoupServerMessage *msg = rfl_request_get_message (request);
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflLoginAttempt) attempt = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  RflLoginThrottle *throttle;
  LoginCall *call;
  const char *client;
  const char *email;
  const char *password;
  gint64 tenant_id = 0;

  if (!_rfl_service_http_check_available (request, http))
    return;

  body = rfl_json_body_parse_message (msg, AUTH_BODY_LIMIT, &error);
  if (body == NULL
      || (email = rfl_json_body_get_string (body, "email", RFL_JSON_REQUIRED,
                                            &error)) == NULL
      || (password = rfl_json_body_get_string (body, "password", RFL_JSON_REQUIRED,
                                               &error)) == NULL
      || !rfl_json_body_get_int (body, "tenant_id", RFL_JSON_NULLABLE,
                                 &tenant_id, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }

  if (tenant_id < 0)
    {
      rfl_http_error_set_field (&error, RFL_HTTP_ERROR_INVALID_REQUEST, "tenant_id",
                                _("Field “%s” must be a positive integer"),
                                "tenant_id");
      rfl_request_respond_error (request, error);
      return;
    }

  throttle = rfl_login_throttle_get_for_server (http->server);
  client = soup_server_message_get_remote_host (msg);
  if (!login_admitted (request, http, throttle, client, tenant_id, email))
    return;

  attempt = rfl_auth_store_begin_login (http->auth, tenant_id, email, password, &error);
  if (attempt == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  call = g_new0 (LoginCall, 1);
  call->request = request;
  call->msg = g_object_ref (msg);
  call->auth = g_object_ref (http->auth);
  call->throttle = rfl_login_throttle_ref (throttle);
  g_weak_ref_init (&call->server, http->server);
  call->attempt = g_steal_pointer (&attempt);
  call->client = g_strdup (client);
  call->email = g_strdup (email);
  call->tenant_id = tenant_id;
  call->finished_id = g_signal_connect (msg, "finished",
                                        G_CALLBACK (login_msg_finished_cb), call);

  soup_server_message_pause (msg);
  /* The call is the worker's until it returns, then the callback's, which
   * frees it here on the service thread: the task may be let go on the
   * worker. */
  task = g_task_new (NULL, NULL, login_verified_cb, call);
  g_task_set_source_tag (task, login_cb);
  g_task_set_task_data (task, call, NULL);
  g_task_run_in_thread (task, login_verify_worker);
}

static const char *
get_refresh_token (RflRequest   *request,
                   RflJsonBody **out_body,
                   GError      **error)
{
  RflJsonBody *body;

  body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                      AUTH_BODY_LIMIT, error);
  if (body == NULL)
    return NULL;
  *out_body = body;

  return rfl_json_body_get_string (body, "refresh_token", RFL_JSON_REQUIRED, error);
}

/* POST /api/v1/auth/refresh {refresh_token} */
static void
refresh_cb (RflRequest *request,
            gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflAuthTokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  const char *refresh_token;

  if (!_rfl_service_http_check_available (request, http))
    return;

  refresh_token = get_refresh_token (request, &body, &error);
  if (refresh_token == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  tokens = rfl_auth_store_refresh (http->auth, refresh_token, &error);
  if (tokens == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  respond_tokens (request, tokens);
}

/* POST /api/v1/auth/logout {refresh_token} */
static void
logout_cb (RflRequest *request,
           gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  const char *refresh_token;

  if (!_rfl_service_http_check_available (request, http))
    return;

  refresh_token = get_refresh_token (request, &body, &error);
  if (refresh_token == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  if (!rfl_auth_store_logout (http->auth, refresh_token, &error))
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  soup_server_message_set_status (rfl_request_get_message (request),
                                  SOUP_STATUS_NO_CONTENT, NULL);
}

/* GET /api/v1/me: who the credential belongs to. */
static void
me_cb (RflRequest *request,
       gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  const RflAuthPrincipal *principal;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *scopes = NULL;

  if (!_rfl_service_http_check_available (request, http))
    return;

  principal = _rfl_service_http_get_principal (request);
  g_assert (principal != NULL);

  scopes = rfl_api_scopes_to_string (principal->scopes);
  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder,
                                 principal->kind == RFL_PRINCIPAL_API_KEY
                                 ? "api_key" : "user");
  json_builder_set_member_name (builder, "tenant_id");
  json_builder_add_int_value (builder, principal->tenant_id);
  json_builder_set_member_name (builder, "user_id");
  if (principal->user_id != 0)
    json_builder_add_int_value (builder, principal->user_id);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "api_key_id");
  if (principal->api_key_id != 0)
    json_builder_add_int_value (builder, principal->api_key_id);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, rfl_role_to_string (principal->role));
  json_builder_set_member_name (builder, "scopes");
  json_builder_add_string_value (builder, scopes);
  json_builder_end_object (builder);

  node = json_builder_get_root (builder);
  rfl_request_respond_json (request, SOUP_STATUS_OK, node);
}

void
rfl_service_http_add_routes (RflRouter      *router,
                             RflServiceHttp *http)
{
  RflRoute *route;

  g_return_if_fail (RFL_IS_ROUTER (router));

  route = rfl_router_add (router, "POST", "/api/v1/auth/login",
                          RFL_ROUTE_AUTH_NONE, login_cb, http, NULL);
  rfl_route_set_body_limit (route, AUTH_BODY_LIMIT);
  route = rfl_router_add (router, "POST", "/api/v1/auth/refresh",
                          RFL_ROUTE_AUTH_NONE, refresh_cb, http, NULL);
  rfl_route_set_body_limit (route, AUTH_BODY_LIMIT);
  route = rfl_router_add (router, "POST", "/api/v1/auth/logout",
                          RFL_ROUTE_AUTH_NONE, logout_cb, http, NULL);
  rfl_route_set_body_limit (route, AUTH_BODY_LIMIT);
  rfl_router_add (router, "GET", "/api/v1/me",
                  RFL_ROUTE_AUTH_USER, me_cb, http, NULL);
  _rfl_service_http_add_data_routes (router, http);
  _rfl_service_http_add_openai_routes (router, http);
  _rfl_service_http_add_chat_routes (router, http);
  _rfl_service_http_add_admin_routes (router, http);
}

/* Authentication and readiness (service thread) ------------------------ */

static gboolean
auth_cb (RflRequest    *request,
         RflRouteAuth   required,
         gpointer       user_data,
         GError       **error)
{
  RflServiceHttp *http = user_data;
  SoupServerMessage *msg = rfl_request_get_message (request);
  g_autoptr(RflAuthPrincipal) principal = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *header;
  const char *credential;

  header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                         "Authorization");
  if (header == NULL || g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    {
      g_set_error_literal (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_UNAUTHORIZED,
                           _("This request needs an API key or an access token"));
      return FALSE;
    }

  credential = header + 7;
  while (*credential == ' ')
    credential++;

  if (http->auth == NULL)
    {
      g_set_error_literal (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_NOT_READY,
                           _("The service is not running"));
      return FALSE;
    }

  principal = rfl_auth_store_authenticate (http->auth, credential, &local_error);
  if (principal == NULL)
    {
      g_set_error_literal (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_UNAUTHORIZED,
                           local_error->message);
      return FALSE;
    }

  if (required == RFL_ROUTE_AUTH_ADMIN
      && (principal->role == RFL_ROLE_MEMBER
          || !rfl_auth_principal_has_scope (principal, RFL_API_SCOPE_ADMIN)))
    {
      g_set_error_literal (error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_FORBIDDEN,
                           _("Only an administrator may do this"));
      return FALSE;
    }

  g_object_set_data_full (G_OBJECT (msg), PRINCIPAL_DATA_KEY,
                          g_steal_pointer (&principal),
                          (GDestroyNotify) rfl_auth_principal_free);
  return TRUE;
}

static gboolean
ready_cb (gpointer   user_data,
          GError   **error)
{
  RflServiceHttp *http = user_data;
  g_autoptr(GError) local_error = NULL;

  if (http->core->stopping || http->core->db == NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The service is stopping"));
      return FALSE;
    }

  if (!_rfl_database_exec (http->core->db, "SELECT 1", &local_error))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_DATABASE,
                   _("The database “%s” does not answer: %s"),
                   http->core->database_path, local_error->message);
      return FALSE;
    }

  return TRUE;
}

/* Starting ------------------------------------------------------------- */

typedef struct
{
  GMutex                   lock;
  GCond                    cond;
  gboolean                 done;
  RflServiceHttp          *http;          /* borrowed */
  const char              *address;
  guint16                  port;
  RflServiceHttpFunc       setup;
  gpointer                 setup_data;
  GError                  *error;
} StartCall;

static gboolean
start_cb (gpointer data)
{
  StartCall *call = data;
  RflServiceHttp *http = call->http;
  RflServiceCore *core = http->core;
  GError *error = NULL;

  if (core->stopping || core->db == NULL)
    {
      g_set_error_literal (&error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The service has stopped"));
    }
  else
    {
      http->auth = rfl_auth_store_new (core->db, http->key);
      http->server = rfl_server_new (core->context);
      rfl_server_set_readiness_func (http->server, ready_cb, http, NULL);
      rfl_server_set_auth_func (http->server, auth_cb, http, NULL);
      rfl_service_http_add_routes (rfl_server_get_router (http->server), http);
      if (call->setup != NULL)
        call->setup (http->server, call->setup_data);

      if (rfl_server_listen (http->server, call->address, call->port, &error))
        {
          http->url = g_strdup (rfl_server_get_url (http->server));
        }
      else
        {
          g_clear_object (&http->server);
          g_clear_object (&http->auth);
        }
    }

  g_mutex_lock (&call->lock);
  call->error = error;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);

  return G_SOURCE_REMOVE;
}

gboolean
rfl_service_start_http (RflService              *self,
                        const char              *address,
                        guint16                  port,
                        RflSigningKey           *key,
                        RflServiceHttpFunc       setup,
                        gpointer                 setup_data,
                        GError                 **error)
{
  RflServiceCore *core;
  RflServiceHttp *http;
  StartCall call = { 0 };
  gboolean ok;

  g_return_val_if_fail (RFL_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  core = _rfl_service_get_core (self);
  g_return_val_if_fail (!g_main_context_is_owner (core->context), FALSE);

  g_mutex_lock (&http_lock);
  if (g_object_get_data (G_OBJECT (self), HTTP_DATA_KEY) != NULL)
    {
      g_mutex_unlock (&http_lock);
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_EXISTS,
                           _("The service already serves HTTP"));
      return FALSE;
    }

  http = g_new0 (RflServiceHttp, 1);
  http->core = _rfl_service_core_ref (core);
  http->key = rfl_signing_key_ref (key);
  http->quota = g_object_ref (core->quota);
  g_weak_ref_init (&http->service, self);

  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  call.http = http;
  call.address = address;
  call.port = port;
  call.setup = setup;
  call.setup_data = setup_data;

  ok = schedule (core, start_cb, &call, error);
  if (ok)
    {
      g_mutex_lock (&call.lock);
      while (!call.done)
        g_cond_wait (&call.cond, &call.lock);
      g_mutex_unlock (&call.lock);

      if (call.error != NULL)
        {
          g_propagate_error (error, call.error);
          ok = FALSE;
        }
    }

  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);

  if (ok)
    g_object_set_data_full (G_OBJECT (self), HTTP_DATA_KEY, http,
                            (GDestroyNotify) http_free_unstopped);
  else
    http_free (http);
  g_mutex_unlock (&http_lock);

  return ok;
}

char *
rfl_service_dup_http_url (RflService *self)
{
  RflServiceHttp *http;
  char *url = NULL;

  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);

  g_mutex_lock (&http_lock);
  http = g_object_get_data (G_OBJECT (self), HTTP_DATA_KEY);
  if (http != NULL)
    url = g_strdup (http->url);
  g_mutex_unlock (&http_lock);

  return url;
}

RflQuotaManager *
rfl_service_dup_http_quota (RflService *self)
{
  RflServiceHttp *http;
  RflQuotaManager *quota = NULL;

  g_return_val_if_fail (RFL_IS_SERVICE (self), NULL);

  g_mutex_lock (&http_lock);
  http = g_object_get_data (G_OBJECT (self), HTTP_DATA_KEY);
  if (http != NULL)
    quota = g_object_ref (http->quota);
  g_mutex_unlock (&http_lock);

  return quota;
}

/* Stopping ------------------------------------------------------------- */

typedef struct
{
  RflServiceHttp     *http;            /* owned */
  RflServiceHttpFunc  stopping;
  gpointer            stopping_data;
  GCancellable       *inner;           /* owned: cancelled on the service thread */
  GCancellable       *outer;           /* owned, nullable: the caller's */
  gulong              cancelled_id;
} StopCall;

static void
stop_call_free (StopCall *call)
{
  if (call->outer != NULL)
    g_cancellable_disconnect (call->outer, call->cancelled_id);
  g_clear_object (&call->outer);
  g_clear_object (&call->inner);
  g_clear_pointer (&call->http, http_free);
  g_free (call);
}

static gboolean
cancel_inner_cb (gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));

  return G_SOURCE_REMOVE;
}

/* The caller's cancellable may fire on any thread: the server is told on
 * its own. */
static void
outer_cancelled_cb (GCancellable *outer,
                    gpointer      data)
{
  GTask *task = data;
  StopCall *call = g_task_get_task_data (task);
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, cancel_inner_cb, g_object_ref (call->inner),
                         g_object_unref);
  g_source_attach (source, call->http->core->context);
  g_source_unref (source);
}

static void
server_stopped_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  StopCall *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean graceful;

  graceful = rfl_server_stop_finish (RFL_SERVER (object), result, &error);
  g_clear_object (&call->http->server);
  g_clear_object (&call->http->auth);

  if (graceful)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static gboolean
stop_cb (gpointer data)
{
  GTask *task = data;
  StopCall *call = g_task_get_task_data (task);

  rfl_server_stop_async (call->http->server, call->inner, server_stopped_cb, task);
  if (call->stopping != NULL)
    call->stopping (call->http->server, call->stopping_data);

  return G_SOURCE_REMOVE;
}

void
rfl_service_stop_http_async (RflService          *self,
                             RflServiceHttpFunc   stopping,
                             gpointer             stopping_data,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  RflServiceHttp *http;
  StopCall *call;

  g_return_if_fail (RFL_IS_SERVICE (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, rfl_service_stop_http_async);

  g_mutex_lock (&http_lock);
  http = g_object_steal_data (G_OBJECT (self), HTTP_DATA_KEY);
  g_mutex_unlock (&http_lock);

  if (http == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  call = g_new0 (StopCall, 1);
  call->http = http;
  call->stopping = stopping;
  call->stopping_data = stopping_data;
  call->inner = g_cancellable_new ();
  g_task_set_task_data (task, call, (GDestroyNotify) stop_call_free);
  if (cancellable != NULL)
    {
      call->outer = g_object_ref (cancellable);
      call->cancelled_id = g_cancellable_connect (cancellable,
                                                  G_CALLBACK (outer_cancelled_cb),
                                                  task, NULL);
    }

  /* The task reference travels to the service thread and comes back with
   * the server's answer. */
  if (!schedule (http->core, stop_cb, g_object_ref (task), &error))
    {
      /* The thread has ended: nothing answers any more. */
      g_object_unref (task);
      g_clear_object (&http->server);
      g_clear_object (&http->auth);
      g_task_return_boolean (task, TRUE);
    }
}

gboolean
rfl_service_stop_http_finish (RflService    *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
stop_sync_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  gboolean *done = user_data;

  rfl_service_stop_http_finish (RFL_SERVICE (object), result, NULL);
  *done = TRUE;
}

void
rfl_service_stop_http (RflService *self)
{
  g_autoptr(GMainContext) context = NULL;
  gboolean done = FALSE;

  g_return_if_fail (RFL_IS_SERVICE (self));
  g_return_if_fail (!g_main_context_is_owner (_rfl_service_get_core (self)->context));

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  rfl_service_stop_http_async (self, NULL, NULL, NULL, stop_sync_cb, &done);
  while (!done)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
}
