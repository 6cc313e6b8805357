/* rfl-paths.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-paths.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "rfl-error.h"

char *
rfl_paths_dup_data_dir (const char *override)
{
  if (override != NULL && *override != '\0')
    return g_strdup (override);

  return g_build_filename (g_get_user_data_dir (), "reflection", NULL);
}

char *
rfl_paths_dup_database_path (const char *data_dir)
{
  g_return_val_if_fail (data_dir != NULL, NULL);

  return g_build_filename (data_dir, "reflection.db", NULL);
}

gboolean
rfl_paths_ensure_writable (const char  *data_dir,
                           GError     **error)
{
  g_autofree char *probe = NULL;
  int fd;

  g_return_val_if_fail (data_dir != NULL, FALSE);

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   _("Cannot create the data folder “%s”: %s"),
                   data_dir, g_strerror (saved));
      return FALSE;
    }

  probe = g_build_filename (data_dir, ".write-probe-XXXXXX", NULL);
  fd = g_mkstemp_full (probe, O_RDWR, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   _("The data folder “%s” is not writable: %s"),
                   data_dir, g_strerror (saved));
      return FALSE;
    }

  g_close (fd, NULL);
  g_unlink (probe);
  return TRUE;
}
