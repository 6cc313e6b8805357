/* rfl-paths.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* $XDG_DATA_HOME/reflection unless @override is a non-empty path. */
char    *rfl_paths_dup_data_dir      (const char  *override);

/* The database file inside @data_dir. */
char    *rfl_paths_dup_database_path (const char  *data_dir);

/* Creates @data_dir (0700) when missing and proves it writable by creating
 * and removing a probe file. Fails with RFL_ERROR_NOT_WRITABLE and a message
 * naming the directory. */
gboolean rfl_paths_ensure_writable   (const char  *data_dir,
                                      GError     **error);

G_END_DECLS
