/* rfl-screenshot.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-screenshot.h"

#include <glib/gi18n.h>

#include "core/rfl-error.h"

gboolean
rfl_screenshot_save_png (GtkWidget   *widget,
                         const char  *path,
                         GError     **error)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkNative *native;
  GskRenderer *renderer;
  graphene_rect_t viewport;
  int width, height;

  g_return_val_if_fail (GTK_IS_WIDGET (widget), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  native = gtk_widget_get_native (widget);

  if (width <= 0 || height <= 0 || native == NULL
      || !gtk_widget_get_mapped (widget))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("Cannot take a screenshot of “%s”: it is not shown"),
                   G_OBJECT_TYPE_NAME (widget));
      return FALSE;
    }

  renderer = gtk_native_get_renderer (native);
  if (renderer == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("Cannot take a screenshot of “%s”: it has no renderer"),
                   G_OBJECT_TYPE_NAME (widget));
      return FALSE;
    }

  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("Cannot take a screenshot of “%s”: nothing is drawn"),
                   G_OBJECT_TYPE_NAME (widget));
      return FALSE;
    }

  /* The widget's own bounds: window shadows drawn outside are left out. */
  graphene_rect_init (&viewport, 0, 0, width, height);
  texture = gsk_renderer_render_texture (renderer, node, &viewport);

  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("Cannot write the screenshot “%s”"), path);
      return FALSE;
    }

  return TRUE;
}
