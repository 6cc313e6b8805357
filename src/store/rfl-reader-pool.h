/* rfl-reader-pool.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <sqlite3.h>

#include <glib.h>

G_BEGIN_DECLS

/* Read-only connections to the database file, for threads other than the
 * one that owns the database's connection: a worker takes one, reads, and
 * gives it back. A connection sees what was committed when its statement
 * started (the database is in WAL mode, so readers never wait for the
 * writer), never the writer's open transaction. Connections are opened
 * when needed and kept for the next worker; the pool is thread-safe.
 *
 * A reader belongs to one thread between acquire and release. */

typedef struct _RflReaderPool RflReaderPool;
typedef struct _RflReader     RflReader;

RflReaderPool *rfl_reader_pool_new      (const char     *path);
/* Closes the idle connections; none may be out. */
void           rfl_reader_pool_free     (RflReaderPool  *self);

/* A reader, or NULL with RFL_ERROR_DATABASE when the file cannot be
 * opened. */
RflReader     *rfl_reader_pool_acquire  (RflReaderPool  *self,
                                         GError        **error);
void           rfl_reader_pool_release  (RflReaderPool  *self,
                                         RflReader      *reader);
/* How many connections are open, idle or out. */
guint          rfl_reader_pool_get_size (RflReaderPool  *self);

/* A prepared statement for @sql, kept by the reader under the address of
 * @sql, which must stay valid as long as the pool (a constant, or text
 * made once). Reset it (and clear its bindings) after use rather than
 * finalizing it. NULL with RFL_ERROR_DATABASE when @sql does not
 * prepare. */
sqlite3_stmt  *rfl_reader_prepare       (RflReader      *reader,
                                         const char     *sql,
                                         GError        **error);
/* Sets @error from the reader's last error and @rc; returns FALSE. */
gboolean       rfl_reader_set_error     (RflReader      *reader,
                                         int             rc,
                                         GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflReaderPool, rfl_reader_pool_free)

G_END_DECLS
