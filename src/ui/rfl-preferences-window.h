/* rfl-preferences-window.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RFL_TYPE_PREFERENCES_WINDOW (rfl_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (RflPreferencesWindow, rfl_preferences_window,
                      RFL, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* Edits @settings (org.reflection.Reflection) directly; values the user
 * types are validated before they are stored. Pages: "general",
 * "provider", "service". */
RflPreferencesWindow *rfl_preferences_window_new (GSettings *settings);

G_END_DECLS
