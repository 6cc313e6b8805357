/* rfl-router.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The body limit of a route unless rfl_route_set_body_limit() says
 * otherwise. */
#define RFL_ROUTER_DEFAULT_BODY_LIMIT ((gsize) 1024 * 1024)

/* Who may call a route. The server refuses a request that does not meet
 * it before the handler runs. */
typedef enum
{
  RFL_ROUTE_AUTH_NONE,    /* anyone who can connect */
  RFL_ROUTE_AUTH_USER,    /* any user with an API key or access token */
  RFL_ROUTE_AUTH_ADMIN,   /* a tenant or system administrator */
} RflRouteAuth;

typedef enum
{
  RFL_ROUTE_FOUND,
  RFL_ROUTE_NOT_FOUND,
  RFL_ROUTE_METHOD_NOT_ALLOWED,
} RflRouteLookup;

typedef struct _RflRoute RflRoute;
typedef struct _RflRequest RflRequest;

/* Runs on the server's thread. It answers through rfl_request_respond_*()
 * before returning, or pauses the message (soup_server_message_pause())
 * after taking a reference on it, and answers later on the same thread. */
typedef void (*RflRouteHandler) (RflRequest *request,
                                 gpointer    user_data);

#define RFL_TYPE_ROUTER (rfl_router_get_type ())
G_DECLARE_FINAL_TYPE (RflRouter, rfl_router, RFL, ROUTER, GObject)

/* The route table: a method and a path pattern whose segments are literal
 * or a {parameter} matching one whole segment ("/api/v1/tenants/{id}").
 * A literal segment wins over a parameter at the same place. HEAD is
 * answered by the GET route. The table belongs to the server's thread. */
RflRouter      *rfl_router_new             (void);

/* Adds a route; the (method, pattern) pair must be new. Every route must
 * be described in resources/openapi/paths/ (rfl_router_check_openapi()). */
RflRoute       *rfl_router_add             (RflRouter        *self,
                                            const char       *method,
                                            const char       *pattern,
                                            RflRouteAuth      auth,
                                            RflRouteHandler   handler,
                                            gpointer          user_data,
                                            GDestroyNotify    destroy);

guint           rfl_router_get_n_routes    (RflRouter        *self);
RflRoute       *rfl_router_get_route       (RflRouter        *self,
                                            guint             index);
/* Changes whenever a route is added. */
guint           rfl_router_get_generation  (RflRouter        *self);

/* Finds the route for a request. On FOUND, *@route is set and *@params
 * holds the decoded {parameters} (NULL when the pattern has none). On
 * METHOD_NOT_ALLOWED, *@allow lists the methods the path accepts, as the
 * Allow header wants them ("GET, HEAD, POST"). Out arguments may be NULL. */
RflRouteLookup  rfl_router_lookup          (RflRouter        *self,
                                            const char       *method,
                                            const char       *path,
                                            RflRoute        **route,
                                            GHashTable      **params,
                                            char            **allow);

/* The OpenAPI 3.1 document: resources/openapi/base.json with the path
 * items in resources/openapi/paths/, each operation completed from
 * its route (path parameters, security, the error response). */
JsonNode       *rfl_router_build_openapi   (RflRouter        *self,
                                            GError          **error);

/* Checks that the operations @document describes are exactly the routes
 * registered: fails naming every route without a description and every
 * description without a route. */
gboolean        rfl_router_check_openapi   (RflRouter        *self,
                                            JsonNode         *document,
                                            GError          **error);

const char     *rfl_route_get_method       (RflRoute         *route);
const char     *rfl_route_get_pattern      (RflRoute         *route);
RflRouteAuth    rfl_route_get_auth         (RflRoute         *route);
gsize           rfl_route_get_body_limit   (RflRoute         *route);
void            rfl_route_set_body_limit   (RflRoute         *route,
                                            gsize             limit);
void            rfl_route_invoke           (RflRoute         *route,
                                            RflRequest       *request);

/* A request on its way to a handler. It lives as long as its message:
 * a handler that answers later keeps a reference on the message. */
RflRequest        *rfl_request_new           (SoupServerMessage *msg,
                                              RflRoute          *route,
                                              GHashTable        *params,
                                              GHashTable        *query);
void               rfl_request_free          (RflRequest        *self);

SoupServerMessage *rfl_request_get_message   (RflRequest        *self);
RflRoute          *rfl_request_get_route     (RflRequest        *self);
/* A {parameter} of the route pattern, decoded. */
const char        *rfl_request_get_param     (RflRequest        *self,
                                              const char        *name);
/* A query parameter, decoded; NULL when absent. */
const char        *rfl_request_get_query     (RflRequest        *self,
                                              const char        *name);

void               rfl_request_respond_json  (RflRequest        *self,
                                              guint              status,
                                              JsonNode          *node);
/* Answers with JSON text already written (see RflJsonWriter), with the
 * headers of rfl_request_respond_json(). Takes @body and frees it; its
 * bytes become the response without a copy. */
void               rfl_request_respond_json_text (RflRequest    *self,
                                                  guint          status,
                                                  GString       *body);
/* Copies @body. */
void               rfl_request_respond_text  (RflRequest        *self,
                                              guint              status,
                                              const char        *content_type,
                                              const char        *body,
                                              gsize              length);
void               rfl_request_respond_bytes (RflRequest        *self,
                                              guint              status,
                                              const char        *content_type,
                                              GBytes            *body);
/* Sends what a rfl_request_respond_*() call kept back (see rfl-router.c);
 * the server calls it once libsoup has written the answer. */
void               rfl_request_release       (RflRequest        *self);
void               rfl_request_respond_error (RflRequest        *self,
                                              const GError      *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflRequest, rfl_request_free)

G_END_DECLS
