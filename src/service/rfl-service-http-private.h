/* rfl-service-http-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "rfl-service-http.h"

#include "core/rfl-quota.h"
#include "server/rfl-json-body.h"
#include "store/rfl-auth-store.h"
#include "rfl-service-private.h"

G_BEGIN_DECLS

/* The server and what its handlers use. Created by the caller of
 * rfl_service_start_http(); everything but @url is touched only on the
 * service thread once the server exists. */
struct _RflServiceHttp
{
  RflServiceCore *core;     /* owned reference */
  RflSigningKey  *key;      /* owned */
  RflServer      *server;   /* owned, service thread */
  RflAuthStore   *auth;     /* owned, service thread */
  RflQuotaManager *quota;   /* owned, thread-safe */
  GWeakRef        service;  /* the RflService serving */
  char           *url;      /* owned, immutable once listening */
};

/* Who a request comes from; NULL on routes without authentication. */
const RflAuthPrincipal *_rfl_service_http_get_principal   (RflRequest      *request);

/* TRUE when the service can answer; otherwise answers 503 and returns
 * FALSE. */
gboolean                _rfl_service_http_check_available (RflRequest      *request,
                                                           RflServiceHttp  *http);

/* Answers with @error, a refused credential as 401. */
void                    _rfl_service_http_respond_error   (RflRequest      *request,
                                                           const GError    *error);

/* The tenant and user a request acts for: a signed-in user acts for
 * themself; an API key names a user of its tenant with "user_id" (in
 * @body, may be NULL, or the query). Checks @scope. Otherwise answers
 * (400, 403, 404) and returns FALSE. */
gboolean                _rfl_service_http_resolve_identity (RflRequest     *request,
                                                            RflServiceHttp *http,
                                                            RflJsonBody    *body,
                                                            RflApiScopes    scope,
                                                            RflIdentity    *out);

/* rfl-service-http-admin.c: /api/v1/admin/… (tenants, users, API keys,
 * quotas, usage, audit log). */
void                    _rfl_service_http_add_admin_routes (RflRouter      *router,
                                                            RflServiceHttp *http);

/* rfl-service-http-chat.c: POST /api/v1/chat/completions. */
void                    _rfl_service_http_add_chat_routes (RflRouter       *router,
                                                           RflServiceHttp  *http);

/* rfl-service-http-data.c: conversations and memories. */
void                    _rfl_service_http_add_data_routes (RflRouter       *router,
                                                           RflServiceHttp  *http);

/* Admits a request of @tenant_id estimated at @estimated_tokens, or
 * answers 429 (with Retry-After when waiting helps), counts the refusal
 * in the metrics and returns NULL. */
RflQuotaTicket         *_rfl_service_http_admit           (RflRequest      *request,
                                                           RflServiceHttp  *http,
                                                           gint64           tenant_id,
                                                           guint64          estimated_tokens);

/* rfl-service-http-openai.c: /v1/chat/completions, /v1/models,
 * /v1/embeddings. */
void                    _rfl_service_http_add_openai_routes (RflRouter     *router,
                                                             RflServiceHttp *http);

G_END_DECLS
