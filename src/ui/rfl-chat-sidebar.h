/* rfl-chat-sidebar.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* The Chat section of the window's sidebar: a search field, New Chat, the
 * conversations (a GListModel of RflChatConversationItem given by the chat
 * page) and who is chatting. It only shows and asks; its signals say what
 * the user wants:
 *
 *   "conversation-activated" (gint64 id)   a conversation was chosen
 *   "new-chat"                              New Chat was clicked
 *   "search-changed" (const char *text)     the search text changed
 *   "rename-conversation" (gint64 id)       Rename in a row's menu, or F2
 *   "delete-conversation" (gint64 id)       Delete in a row's menu, or Delete
 *   "identity-chosen" (gint64 tenant_id, gint64 user_id)
 */

#define RFL_TYPE_CHAT_SIDEBAR (rfl_chat_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (RflChatSidebar, rfl_chat_sidebar, RFL, CHAT_SIDEBAR, AdwBin)

GtkWidget  *rfl_chat_sidebar_new             (void);

void        rfl_chat_sidebar_set_model       (RflChatSidebar *self,
                                              GListModel     *conversations);
/* Highlights the conversation @id; 0 highlights none. Emits nothing. */
void        rfl_chat_sidebar_select          (RflChatSidebar *self,
                                              gint64          id);
gint64      rfl_chat_sidebar_get_selected    (RflChatSidebar *self);

const char *rfl_chat_sidebar_get_search_text (RflChatSidebar *self);
void        rfl_chat_sidebar_focus_search    (RflChatSidebar *self);

/* @identities: a GPtrArray of RflIdentityInfo (borrowed, copied what is
 * needed), or NULL. System administrators may chat as anyone, tenant
 * administrators as anyone of their tenant, members only as themselves. */
void        rfl_chat_sidebar_set_identities  (RflChatSidebar *self,
                                              GPtrArray      *identities,
                                              gint64          tenant_id,
                                              gint64          user_id);

G_END_DECLS
