/* rfl-screenshot.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Renders @widget (usually a toplevel window) as it is drawn now into a PNG
 * at @path, with the widget's own renderer. */
gboolean rfl_screenshot_save_png (GtkWidget   *widget,
                                  const char  *path,
                                  GError     **error);

G_END_DECLS
