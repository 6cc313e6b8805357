/* rfl-ndjson.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* An incremental parser for newline-delimited JSON (Ollama's streams).
 * Bytes arrive in arbitrary pieces; every complete line that holds a JSON
 * object is handed to the callback. Blank lines and "\r\n" endings are
 * accepted. Lives on one thread. */
typedef struct _RflNdjson RflNdjson;

/* Return FALSE (with @error set) to stop the stream. */
typedef gboolean (*RflNdjsonObjectFunc) (JsonObject  *object,
                                         gpointer     user_data,
                                         GError     **error);

RflNdjson *rfl_ndjson_new    (RflNdjsonObjectFunc   func,
                              gpointer              user_data);
void       rfl_ndjson_free   (RflNdjson            *self);
/* Fails with RFL_ERROR_PROTOCOL for a line that is not a JSON object or is
 * longer than 1 MiB, or with the callback's error. */
gboolean   rfl_ndjson_feed   (RflNdjson            *self,
                              const char           *data,
                              gsize                 len,
                              GError              **error);
/* Parses a last line left without its newline. */
gboolean   rfl_ndjson_finish (RflNdjson            *self,
                              GError              **error);
/* Number of objects handed to the callback so far. */
guint      rfl_ndjson_get_n_objects (RflNdjson     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflNdjson, rfl_ndjson_free)

G_END_DECLS
