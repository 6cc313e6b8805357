/* rfl-sse-parser.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An incremental parser for server-sent events (text/event-stream), as the
 * WHATWG HTML standard defines them. Bytes arrive in arbitrary pieces:
 * lines end with LF, CR or CRLF (a CR ending one piece may be followed by
 * the LF starting the next), a leading byte order mark is dropped, lines
 * starting with ":" are comments, "data:" lines are joined with "\n", and
 * a blank line dispatches the event. An event without data is not
 * dispatched; an unfinished event at the end of the stream is discarded.
 * Lives on one thread. */
typedef struct _RflSseParser RflSseParser;

typedef struct
{
  const char *type;       /* the "event:" field, "message" when absent */
  const char *data;       /* the joined "data:" lines, NUL-terminated */
  gsize       data_len;
  const char *id;         /* the last "id:" seen in the stream, "" if none */
} RflSseEvent;

/* Return FALSE (with @error set) to stop the stream. */
typedef gboolean (*RflSseEventFunc) (const RflSseEvent  *event,
                                     gpointer            user_data,
                                     GError            **error);

RflSseParser *rfl_sse_parser_new          (RflSseEventFunc   func,
                                           gpointer          user_data);
void          rfl_sse_parser_free         (RflSseParser     *self);
/* Fails with RFL_ERROR_PROTOCOL for a line or an event larger than
 * 16 MiB, or with the callback's error; the parser then refuses more. */
gboolean      rfl_sse_parser_feed         (RflSseParser     *self,
                                           const char       *data,
                                           gsize             len,
                                           GError          **error);
/* The end of the stream: drops an unfinished event. TRUE when nothing was
 * left unfinished (the stream ended on an event boundary). */
gboolean      rfl_sse_parser_finish       (RflSseParser     *self);
guint         rfl_sse_parser_get_n_events (RflSseParser     *self);
/* The reconnection time from the last valid "retry:" field, or -1. */
gint64        rfl_sse_parser_get_retry    (RflSseParser     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSseParser, rfl_sse_parser_free)

G_END_DECLS
