/* rfl-service-http.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "core/rfl-quota.h"
#include "core/rfl-signing-key.h"
#include "server/rfl-server.h"
#include "rfl-service.h"

G_BEGIN_DECLS

/* The HTTP API of the service. The server lives on the service thread:
 * it is created, answers and is stopped there, next to the database and
 * the stores its routes use. */

typedef struct _RflServiceHttp RflServiceHttp;

/* Runs on the service thread with the server: at start once it exists
 * and before it listens (for example to connect to its signals), and at
 * stop once it refuses new connections. */
typedef void (*RflServiceHttpFunc) (RflServer *server,
                                    gpointer   user_data);

/* Creates the server on the service thread, installs the authentication
 * of bearer credentials (API keys "rfl_…" and access tokens signed with
 * @key) and the API routes, and listens on @address and @port (0 picks a
 * free one). Blocks until it listens or fails. Fails with
 * RFL_ERROR_EXISTS while the service already serves HTTP. */
gboolean     rfl_service_start_http        (RflService              *self,
                                            const char              *address,
                                            guint16                  port,
                                            RflSigningKey           *key,
                                            RflServiceHttpFunc       setup,
                                            gpointer                 setup_data,
                                            GError                 **error);

/* "http://127.0.0.1:8470" while serving, NULL otherwise. */
char        *rfl_service_dup_http_url      (RflService              *self);

/* The quotas the API admits requests by, while serving (else NULL): set
 * the tenants' limits on it. */
RflQuotaManager *rfl_service_dup_http_quota (RflService             *self);

/* Stops gracefully: new connections are refused (then @stopping, may be
 * NULL, runs), requests in flight finish. Cancelling @cancellable stops
 * at once and fails with G_IO_ERROR_CANCELLED. Stop before the service
 * shuts down. Succeeds when nothing is served. */
void         rfl_service_stop_http_async   (RflService              *self,
                                            RflServiceHttpFunc       stopping,
                                            gpointer                 stopping_data,
                                            GCancellable            *cancellable,
                                            GAsyncReadyCallback      callback,
                                            gpointer                 user_data);
gboolean     rfl_service_stop_http_finish  (RflService              *self,
                                            GAsyncResult            *result,
                                            GError                 **error);
/* The same, blocking the caller (not the service thread). */
void         rfl_service_stop_http         (RflService              *self);

/* Adds the API routes to @router. With @http NULL they answer 503: that
 * is enough to describe them (GET /api/openapi.json). */
void         rfl_service_http_add_routes   (RflRouter               *router,
                                            RflServiceHttp          *http);

G_END_DECLS
