/* rfl-http-error.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-http-error.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/rfl-error.h"

typedef struct
{
  char *field;
} RflHttpErrorPrivate;

static void
rfl_http_error_private_init (RflHttpErrorPrivate *priv)
{
  priv->field = NULL;
}

static void
rfl_http_error_private_copy (const RflHttpErrorPrivate *src_priv,
                             RflHttpErrorPrivate       *dest_priv)
{
  dest_priv->field = g_strdup (src_priv->field);
}

static void
rfl_http_error_private_clear (RflHttpErrorPrivate *priv)
{
  g_clear_pointer (&priv->field, g_free);
}

/* An extended error domain: an RFL_HTTP_ERROR can carry the name of the
 * request field it is about, which the error body repeats as "field". */
G_DEFINE_EXTENDED_ERROR (RflHttpError, rfl_http_error)

typedef struct
{
  const char *name;
  guint       status;
} CodeInfo;

/* Indexed by RflHttpError. */
static const CodeInfo codes[] = {
  { "invalid_json",       SOUP_STATUS_BAD_REQUEST },
  { "invalid_request",    SOUP_STATUS_BAD_REQUEST },
  { "unauthorized",       SOUP_STATUS_UNAUTHORIZED },
  { "forbidden",          SOUP_STATUS_FORBIDDEN },
  { "not_found",          SOUP_STATUS_NOT_FOUND },
  { "method_not_allowed", SOUP_STATUS_METHOD_NOT_ALLOWED },
  { "conflict",           SOUP_STATUS_CONFLICT },
  { "payload_too_large",  SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE },
  { "quota_exceeded",     429 },
  { "internal",           SOUP_STATUS_INTERNAL_SERVER_ERROR },
  { "not_ready",          SOUP_STATUS_SERVICE_UNAVAILABLE },
};

G_STATIC_ASSERT (G_N_ELEMENTS (codes) == RFL_HTTP_ERROR_NOT_READY + 1);

static gboolean
code_is_valid (RflHttpError code)
{
  return (guint) code < G_N_ELEMENTS (codes);
}

const char *
rfl_http_error_get_code_name (RflHttpError code)
{
  if (!code_is_valid (code))
    code = RFL_HTTP_ERROR_INTERNAL;

  return codes[code].name;
}

guint
rfl_http_error_get_status (RflHttpError code)
{
  if (!code_is_valid (code))
    code = RFL_HTTP_ERROR_INTERNAL;

  return codes[code].status;
}

void
rfl_http_error_set_field (GError       **error,
                          RflHttpError   code,
                          const char    *field,
                          const char    *format,
                          ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (error == NULL)
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error_literal (error, RFL_HTTP_ERROR, code, message);
  if (*error != NULL && field != NULL)
    {
      RflHttpErrorPrivate *priv = rfl_http_error_get_private (*error);

      if (priv != NULL)
        priv->field = g_strdup (field);
    }
}

const char *
rfl_http_error_get_field (const GError *error)
{
  RflHttpErrorPrivate *priv;

  if (error == NULL || error->domain != RFL_HTTP_ERROR)
    return NULL;

  priv = rfl_http_error_get_private (error);

  return priv != NULL ? priv->field : NULL;
}

RflHttpError
rfl_http_error_from_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, RFL_HTTP_ERROR_INTERNAL);

  if (error->domain == RFL_HTTP_ERROR && code_is_valid (error->code))
    return error->code;

  if (error->domain == RFL_ERROR)
    {
      switch ((RflError) error->code)
        {
        case RFL_ERROR_INVALID_INPUT:
          return RFL_HTTP_ERROR_INVALID_REQUEST;
        case RFL_ERROR_NOT_FOUND:
          return RFL_HTTP_ERROR_NOT_FOUND;
        case RFL_ERROR_EXISTS:
          return RFL_HTTP_ERROR_CONFLICT;
        default:
          return RFL_HTTP_ERROR_INTERNAL;
        }
    }

  return RFL_HTTP_ERROR_INTERNAL;
}

char *
rfl_http_error_to_json (RflHttpError  code,
                        const char   *message,
                        const char   *field)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, rfl_http_error_get_code_name (code));
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message != NULL ? message : "");
  if (field != NULL)
    {
      json_builder_set_member_name (builder, "field");
      json_builder_add_string_value (builder, field);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

static void
respond (SoupServerMessage *msg,
         RflHttpError       code,
         const char        *message,
         const char        *field)
{
  char *body = rfl_http_error_to_json (code, message, field);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, rfl_http_error_get_status (code), NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_response (msg, "application/json",
                                    SOUP_MEMORY_TAKE, body, strlen (body));
}

void
rfl_http_error_respond (SoupServerMessage *msg,
                        RflHttpError       code,
                        const char        *message)
{
  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (msg));

  respond (msg, code, message, NULL);
}

void
rfl_http_error_respond_error (SoupServerMessage *msg,
                              const GError      *error)
{
  RflHttpError code;

  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (msg));
  g_return_if_fail (error != NULL);

  code = rfl_http_error_from_error (error);

  /* Messages of our own domains are written for people; anything else
   * (a GIO or SQLite detail) stays in the log. */
  if (error->domain == RFL_HTTP_ERROR || error->domain == RFL_ERROR)
    {
      respond (msg, code, error->message, rfl_http_error_get_field (error));
      return;
    }

  g_message ("Request failed with an internal error: %s (%s, %d)",
             error->message, g_quark_to_string (error->domain), error->code);
  respond (msg, code, _("The server could not complete the request"), NULL);
}
