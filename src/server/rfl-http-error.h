/* rfl-http-error.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define RFL_HTTP_ERROR (rfl_http_error_quark ())

/* The errors the HTTP API answers with. Each has a stable machine-readable
 * name (the "code" member of the error body) and an HTTP status. Messages
 * carried with them are translated and safe to send to the client. */
typedef enum
{
  RFL_HTTP_ERROR_INVALID_JSON,        /* 400 invalid_json */
  RFL_HTTP_ERROR_INVALID_REQUEST,     /* 400 invalid_request: a field is wrong */
  RFL_HTTP_ERROR_UNAUTHORIZED,        /* 401 unauthorized */
  RFL_HTTP_ERROR_FORBIDDEN,           /* 403 forbidden */
  RFL_HTTP_ERROR_NOT_FOUND,           /* 404 not_found */
  RFL_HTTP_ERROR_METHOD_NOT_ALLOWED,  /* 405 method_not_allowed */
  RFL_HTTP_ERROR_CONFLICT,            /* 409 conflict */
  RFL_HTTP_ERROR_PAYLOAD_TOO_LARGE,   /* 413 payload_too_large */
  RFL_HTTP_ERROR_QUOTA_EXCEEDED,      /* 429 quota_exceeded */
  RFL_HTTP_ERROR_INTERNAL,            /* 500 internal */
  RFL_HTTP_ERROR_NOT_READY,           /* 503 not_ready */
} RflHttpError;

GQuark      rfl_http_error_quark          (void);

/* "invalid_json", "not_found", … */
const char *rfl_http_error_get_code_name  (RflHttpError        code);
guint       rfl_http_error_get_status     (RflHttpError        code);

/* Sets @error to an RFL_HTTP_ERROR that names the request field it is
 * about (a member name, or a path such as "messages[2].role"). */
void        rfl_http_error_set_field      (GError            **error,
                                           RflHttpError        code,
                                           const char         *field,
                                           const char         *format,
                                           ...) G_GNUC_PRINTF (4, 5);

/* The field an RFL_HTTP_ERROR names, or NULL. */
const char *rfl_http_error_get_field      (const GError       *error);

/* Maps any error to the HTTP error it is answered with: RFL_HTTP_ERROR
 * as it is, RFL_ERROR by meaning (invalid input 400, not found 404, …),
 * anything else 500 "internal" with a generic message. */
RflHttpError rfl_http_error_from_error    (const GError       *error);

/* The body {"error": {"code": "…", "message": "…"}}, with "field" when
 * the error names one. */
char       *rfl_http_error_to_json        (RflHttpError        code,
                                           const char         *message,
                                           const char         *field);

/* Answers @msg with the status and JSON body of the error. */
void        rfl_http_error_respond        (SoupServerMessage  *msg,
                                           RflHttpError        code,
                                           const char         *message);
void        rfl_http_error_respond_error  (SoupServerMessage  *msg,
                                           const GError       *error);

G_END_DECLS
