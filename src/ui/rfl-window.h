/* rfl-window.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "rfl-chat-page.h"
#include "service/rfl-service.h"

G_BEGIN_DECLS

#define RFL_TYPE_WINDOW (rfl_window_get_type ())
G_DECLARE_FINAL_TYPE (RflWindow, rfl_window, RFL, WINDOW, AdwApplicationWindow)

RflWindow   *rfl_window_new               (GtkApplication *application,
                                           GSettings      *settings);

/* The sidebar's pages: "chat", "administration", "preferences". */
void         rfl_window_show_page         (RflWindow      *self,
                                           const char     *name);
const char  *rfl_window_get_page          (RflWindow      *self);

/* The service the chat talks to; NULL while it opens. */
void         rfl_window_set_service       (RflWindow      *self,
                                           RflService     *service);
/* Why the service could not be opened: the chat says so, with Retry
 * (the action app.start-service). */
void         rfl_window_set_service_error (RflWindow      *self,
                                           const GError   *error);
RflChatPage *rfl_window_get_chat_page     (RflWindow      *self);

/* Shows @toast over the window's content. */
void         rfl_window_add_toast         (RflWindow      *self,
                                           AdwToast       *toast);

G_END_DECLS
