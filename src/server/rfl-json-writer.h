/* rfl-json-writer.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes one JSON value (RFC 8259) into a GString as it goes, without a
 * tree: the hot answers of the HTTP API are written this way. The writer
 * puts the commas and colons itself; a member of an object is a
 * rfl_json_writer_key() followed by one value. Strings are escaped: '"',
 * '\\' and every control character below U+0020, and each byte that is not
 * part of valid UTF-8 becomes U+FFFD, so the text is always valid JSON.
 * A double is written as the shortest decimal with at most 8 fractional
 * digits that reads back as it ("0.8", "1.0"), else with 17 significant
 * digits as json-glib does; either way it round-trips exactly. A NaN or an
 * infinity is written as null.
 *
 * The writer lives on the stack and owns nothing; misuse (a value where a
 * key is due, an end that does not match, nesting deeper than
 * RFL_JSON_WRITER_MAX_DEPTH) is refused with a critical warning. */

#define RFL_JSON_WRITER_MAX_DEPTH 32

typedef struct
{
  /*< private >*/
  GString *out;                                  /* borrowed */
  guint    depth;
  guint8   frames[RFL_JSON_WRITER_MAX_DEPTH + 1]; /* frames[0]: the top level */
} RflJsonWriter;

void     rfl_json_writer_init         (RflJsonWriter       *self,
                                       GString             *out);

void     rfl_json_writer_begin_object (RflJsonWriter       *self);
void     rfl_json_writer_end_object   (RflJsonWriter       *self);
void     rfl_json_writer_begin_array  (RflJsonWriter       *self);
void     rfl_json_writer_end_array    (RflJsonWriter       *self);

/* The name of the next member of the current object. */
void     rfl_json_writer_key          (RflJsonWriter       *self,
                                       const char          *name);

/* A NULL @value is written as null. */
void     rfl_json_writer_string       (RflJsonWriter       *self,
                                       const char          *value);
/* @length bytes of @value, which may hold NUL bytes (written \u0000). */
void     rfl_json_writer_string_len   (RflJsonWriter       *self,
                                       const char          *value,
                                       gsize                length);
void     rfl_json_writer_int64        (RflJsonWriter       *self,
                                       gint64               value);
void     rfl_json_writer_double       (RflJsonWriter       *self,
                                       double               value);
void     rfl_json_writer_boolean      (RflJsonWriter       *self,
                                       gboolean             value);
void     rfl_json_writer_null         (RflJsonWriter       *self);

/* TRUE once one whole value has been written at the top level. */
gboolean rfl_json_writer_is_complete  (const RflJsonWriter *self);

/* Appends @length bytes of @text to @out as the inside of a JSON string,
 * escaped as the writer does, without the quotes. */
void     rfl_json_escape_append       (GString             *out,
                                       const char          *text,
                                       gsize                length);

G_END_DECLS
