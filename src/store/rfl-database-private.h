/* rfl-database-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <sqlite3.h>

#include "rfl-database.h"

G_BEGIN_DECLS

/* The application_id written by the first migration ("RFL1"). */
#define RFL_DATABASE_APPLICATION_ID 1380338737

/* A statement from the connection's cache: release it (reset and clear its
 * bindings) instead of finalizing it, most easily through
 * g_autoptr(RflCachedStmt). */
typedef sqlite3_stmt RflCachedStmt;

void           _rfl_cached_stmt_release         (RflCachedStmt *stmt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflCachedStmt, _rfl_cached_stmt_release)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* The connection, for repositories of the store layer. It belongs to the
 * thread that opened the database. */
sqlite3       *_rfl_database_get_handle         (RflDatabase   *self);

/* Returns a cached prepared statement for @sql, or NULL with
 * RFL_ERROR_DATABASE. */
RflCachedStmt *_rfl_database_prepare            (RflDatabase   *self,
                                                 const char    *sql,
                                                 GError       **error);

/* Runs @sql (one or more statements without results). */
gboolean       _rfl_database_exec               (RflDatabase   *self,
                                                 const char    *sql,
                                                 GError       **error);

/* Sets @error from the connection's last error; always returns FALSE. */
gboolean       _rfl_database_set_error          (RflDatabase   *self,
                                                 int            rc,
                                                 GError       **error);

/* The highest migration number in the resources. */
int            _rfl_database_get_latest_version (void);

/* Applies one migration in its own BEGIN IMMEDIATE transaction that also
 * sets PRAGMA user_version to @version; rolls back on failure. */
gboolean       _rfl_database_apply_migration    (RflDatabase   *self,
                                                 int            version,
                                                 const char    *name,
                                                 const char    *sql,
                                                 GError       **error);

G_END_DECLS
