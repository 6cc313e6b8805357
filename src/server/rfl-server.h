/* rfl-server.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "rfl-metrics.h"
#include "rfl-router.h"

G_BEGIN_DECLS

typedef enum
{
  RFL_SERVER_STOPPED,
  RFL_SERVER_RUNNING,
  RFL_SERVER_STOPPING,    /* refusing connections, finishing requests */
} RflServerState;

/* Whether the service can answer: TRUE, or FALSE with a translated reason
 * that /readyz answers with 503. */
typedef gboolean (*RflReadinessFunc) (gpointer   user_data,
                                      GError   **error);

/* Whether @request meets @required: TRUE, or FALSE with an RFL_HTTP_ERROR
 * (UNAUTHORIZED or FORBIDDEN) to answer with. */
typedef gboolean (*RflAuthFunc)      (RflRequest    *request,
                                      RflRouteAuth   required,
                                      gpointer       user_data,
                                      GError       **error);

#define RFL_TYPE_SERVER (rfl_server_get_type ())
G_DECLARE_FINAL_TYPE (RflServer, rfl_server, RFL, SERVER, GObject)

/* The HTTP server (libsoup-3). It runs on @context, which must be the
 * thread-default context of the calling thread: the server is created,
 * used and stopped on the thread that iterates @context. It comes with
 * GET /healthz, /readyz, /metrics and /api/openapi.json; more routes are
 * added through its router before or while it listens.
 *
 * Signals:
 *   request-finished (method, path, status, duration in µs): after every
 *   answered request, on @context. */
RflServer      *rfl_server_new                (GMainContext         *context);

RflRouter      *rfl_server_get_router         (RflServer            *self);
RflMetrics     *rfl_server_get_metrics        (RflServer            *self);

void            rfl_server_set_readiness_func (RflServer            *self,
                                               RflReadinessFunc      func,
                                               gpointer              user_data,
                                               GDestroyNotify        destroy);
/* Without one, routes that need authentication answer 401. */
void            rfl_server_set_auth_func      (RflServer            *self,
                                               RflAuthFunc           func,
                                               gpointer              user_data,
                                               GDestroyNotify        destroy);

/* Listens on @address (an IP address such as "127.0.0.1" or "::1") and
 * @port; port 0 picks a free one (see rfl_server_get_url()). Fails with
 * RFL_ERROR_INVALID_INPUT for an address that is not an IP address. */
gboolean        rfl_server_listen             (RflServer            *self,
                                               const char           *address,
                                               guint16               port,
                                               GError              **error);

/* "http://127.0.0.1:8470" while listening, NULL otherwise. */
const char     *rfl_server_get_url            (RflServer            *self);
guint16         rfl_server_get_port           (RflServer            *self);
RflServerState  rfl_server_get_state          (RflServer            *self);
guint           rfl_server_get_n_in_flight    (RflServer            *self);

/* Stops gracefully: new connections are refused at once, requests in
 * flight finish (answered with "Connection: close"), then every connection
 * is closed and the server is STOPPED; it may listen again. Cancelling
 * @cancellable stops at once without waiting (the result is then
 * G_IO_ERROR_CANCELLED, and the server is stopped all the same). */
void            rfl_server_stop_async         (RflServer            *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean        rfl_server_stop_finish        (RflServer            *self,
                                               GAsyncResult         *result,
                                               GError              **error);

G_END_DECLS
