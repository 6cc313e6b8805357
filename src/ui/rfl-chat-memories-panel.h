/* rfl-chat-memories-panel.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "service/rfl-service.h"

G_BEGIN_DECLS

/* What the assistant remembers about the user, from the service, with
 * Edit (a popover) and Delete (undone from a toast until it goes). */

#define RFL_TYPE_CHAT_MEMORIES_PANEL (rfl_chat_memories_panel_get_type ())
G_DECLARE_FINAL_TYPE (RflChatMemoriesPanel, rfl_chat_memories_panel,
                      RFL, CHAT_MEMORIES_PANEL, AdwBin)

GtkWidget *rfl_chat_memories_panel_new             (void);

/* @service may be NULL. Loads the memories of @identity. */
void       rfl_chat_memories_panel_set_service     (RflChatMemoriesPanel *self,
                                                    RflService           *service,
                                                    RflIdentity           identity);
void       rfl_chat_memories_panel_reload          (RflChatMemoriesPanel *self);

/* The memories shown now (a deletion waiting for its toast is left out). */
guint      rfl_chat_memories_panel_get_n_memories  (RflChatMemoriesPanel *self);
/* Whether a load is under way. */
gboolean   rfl_chat_memories_panel_get_loading     (RflChatMemoriesPanel *self);

G_END_DECLS
