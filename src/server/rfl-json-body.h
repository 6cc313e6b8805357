/* rfl-json-body.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A request body parsed as one JSON object. Every failure is an
 * RFL_HTTP_ERROR ready to answer with: a body over the limit is
 * PAYLOAD_TOO_LARGE (413); malformed or truncated JSON is INVALID_JSON
 * (400) with the line, the column and the field it broke in; a member of
 * the wrong type is INVALID_REQUEST (400) naming the field:
 * "Field “messages” must be an array". */
typedef struct _RflJsonBody RflJsonBody;

/* Nesting deeper than this is refused before the tree is built. */
#define RFL_JSON_BODY_MAX_DEPTH 64

typedef enum
{
  RFL_JSON_OPTIONAL = 0,
  RFL_JSON_REQUIRED = 1 << 0,   /* absent is an error */
  RFL_JSON_NULLABLE = 1 << 1,   /* null counts as absent */
} RflJsonFlags;

RflJsonBody *rfl_json_body_parse          (const char         *data,
                                           gsize               length,
                                           gsize               limit,
                                           GError            **error);
RflJsonBody *rfl_json_body_parse_message  (SoupServerMessage  *msg,
                                           gsize               limit,
                                           GError            **error);
void         rfl_json_body_free           (RflJsonBody        *self);

JsonObject  *rfl_json_body_get_root       (RflJsonBody        *self);

/* Typed getters. @field is a member name, or a dotted path through nested
 * objects ("options.temperature"). An absent optional field is not an
 * error: getters returning a pointer return NULL, the others return TRUE
 * and leave *@value as it was. A field present with the wrong type is an
 * error even when optional. */
const char  *rfl_json_body_get_string     (RflJsonBody        *self,
                                           const char         *field,
                                           RflJsonFlags        flags,
                                           GError            **error);
gboolean     rfl_json_body_get_int        (RflJsonBody        *self,
                                           const char         *field,
                                           RflJsonFlags        flags,
                                           gint64             *value,
                                           GError            **error);
gboolean     rfl_json_body_get_double     (RflJsonBody        *self,
                                           const char         *field,
                                           RflJsonFlags        flags,
                                           double             *value,
                                           GError            **error);
gboolean     rfl_json_body_get_boolean    (RflJsonBody        *self,
                                           const char         *field,
                                           RflJsonFlags        flags,
                                           gboolean           *value,
                                           GError            **error);
JsonArray   *rfl_json_body_get_array      (RflJsonBody        *self,
                                           const char         *field,
                                           RflJsonFlags        flags,
                                           GError            **error);
JsonObject  *rfl_json_body_get_object     (RflJsonBody        *self,
                                           const char         *field,
                                           RflJsonFlags        flags,
                                           GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflJsonBody, rfl_json_body_free)

G_END_DECLS
