/* rfl-transfer.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* One HTTP request to an LLM provider over libcurl, made on the thread that
 * created it (a worker), never shared. Cancelling the GCancellable from any
 * thread stops the transfer at once. Transport failures become translated
 * RFL_ERROR_UNREACHABLE errors naming the URL and what went wrong. */
typedef struct _RflTransfer RflTransfer;

/* Called on the transfer's thread with pieces of a 2xx answer's body.
 * Return FALSE with @error set to stop the transfer with that error. */
typedef gboolean (*RflTransferWriteFunc) (const char  *data,
                                          gsize        len,
                                          gpointer     user_data,
                                          GError     **error);

/* @path ("/api/tags", "/v1/models") is appended to @base_url; a base that
 * already ends with the path's first segment ("…/api", "…/v1", "…/v2") is
 * not doubled. Fails with RFL_ERROR_INVALID_INPUT for a bad URL. */
RflTransfer *rfl_transfer_new             (const char            *base_url,
                                           const char            *path,
                                           GError               **error);
void         rfl_transfer_free            (RflTransfer           *self);

const char  *rfl_transfer_get_url         (RflTransfer           *self);
void         rfl_transfer_add_header      (RflTransfer           *self,
                                           const char            *name,
                                           const char            *value);
/* Makes the request a POST of @json (copied). */
void         rfl_transfer_set_json_body   (RflTransfer           *self,
                                           const char            *json);
/* 0 means no limit. Defaults: 5000 ms to connect, no total limit. */
void         rfl_transfer_set_timeouts    (RflTransfer           *self,
                                           guint                  connect_ms,
                                           guint                  total_ms);
/* Gives up when less than one byte arrives in @seconds (0: never). */
void         rfl_transfer_set_stall_timeout (RflTransfer         *self,
                                             guint                seconds);
/* Streams a 2xx body to @func instead of keeping it. */
void         rfl_transfer_set_write_func  (RflTransfer           *self,
                                           RflTransferWriteFunc   func,
                                           gpointer               user_data);

/* TRUE when a complete answer arrived, whatever its status. */
gboolean     rfl_transfer_perform         (RflTransfer           *self,
                                           GCancellable          *cancellable,
                                           GError               **error);
/* The HTTP status, 0 before the headers arrived. */
long         rfl_transfer_get_status      (RflTransfer           *self);
/* The value of the response header @name (case-insensitive) of the last
 * answer, or NULL when it has none. */
char        *rfl_transfer_dup_header      (RflTransfer           *self,
                                           const char            *name);
/* The kept body (always kept for non-2xx answers), NUL-terminated. */
const char  *rfl_transfer_get_body        (RflTransfer           *self,
                                           gsize                 *len);
/* TRUE for a 2xx status; otherwise RFL_ERROR_UNAUTHORIZED (401, 403) or
 * RFL_ERROR_PROVIDER carrying the provider's own message. */
gboolean     rfl_transfer_check_status    (RflTransfer           *self,
                                           GError               **error);
/* The message in an error body: {"error": "…"}, {"error": {"message": …}},
 * {"message": …}, {"detail": …} or short plain text; NULL if none. */
char        *rfl_transfer_dup_error_message (const char          *body,
                                             gsize                 len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflTransfer, rfl_transfer_free)

G_END_DECLS
