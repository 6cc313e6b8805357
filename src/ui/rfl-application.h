/* rfl-application.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RFL_TYPE_APPLICATION (rfl_application_get_type ())
G_DECLARE_FINAL_TYPE (RflApplication, rfl_application, RFL, APPLICATION, AdwApplication)

RflApplication *rfl_application_new          (void);
GSettings      *rfl_application_get_settings (RflApplication *self);

/* The "http-status" property: "Running at http://127.0.0.1:8470",
 * "Stopped", or why the HTTP service is not running. The service runs
 * while the server-enabled setting is on and the database is open. */
const char     *rfl_application_get_http_status (RflApplication *self);

/* Opens the setup wizard, modal over the main window when there is one. */
void            rfl_application_show_wizard  (RflApplication *self);

/* The About window of Reflection, transient for @parent when not NULL. */
GtkWindow      *rfl_application_new_about_window (GtkWindow  *parent);

G_END_DECLS
