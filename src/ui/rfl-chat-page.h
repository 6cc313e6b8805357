/* rfl-chat-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "rfl-chat-sidebar.h"
#include "service/rfl-service.h"

G_BEGIN_DECLS

/* The chat: conversations (shown by an RflChatSidebar the page drives),
 * the messages of the open one with answers streaming in, the composer,
 * the model picker and the memories panel. It speaks for the tenant and
 * user of the settings "current-tenant-id" and "current-user-id", through
 * an RflService.
 *
 * Actions: chat.new-chat, chat.rename, chat.stop (Escape), chat.retry,
 * chat.regenerate, chat.undo-delete (x), chat.toggle-memories and
 * chat.retry-service, which emits "retry-service" for whoever makes the
 * service. */

#define RFL_TYPE_CHAT_PAGE (rfl_chat_page_get_type ())
G_DECLARE_FINAL_TYPE (RflChatPage, rfl_chat_page, RFL, CHAT_PAGE, AdwBin)

GtkWidget   *rfl_chat_page_new                  (GSettings      *settings);

void         rfl_chat_page_set_settings         (RflChatPage    *self,
                                                 GSettings      *settings);

/* NULL shows that the service is being opened. Setting the same service
 * again reloads the models, for a provider that changed. */
void         rfl_chat_page_set_service          (RflChatPage    *self,
                                                 RflService     *service);
RflService  *rfl_chat_page_get_service          (RflChatPage    *self);
/* Shows why the service could not be opened, with Retry. */
void         rfl_chat_page_set_service_error    (RflChatPage    *self,
                                                 const GError   *error);

/* The sidebar that lists the page's conversations. */
void         rfl_chat_page_set_sidebar          (RflChatPage    *self,
                                                 RflChatSidebar *sidebar);
/* The model picker and the memories button, for the window's header. */
GtkWidget   *rfl_chat_page_get_header_widget    (RflChatPage    *self);

/* A narrow window leaves the model picker out of the header. */
void         rfl_chat_page_set_compact          (RflChatPage    *self,
                                                 gboolean        compact);

/* Whether the page can chat: a service and someone to chat as. */
gboolean     rfl_chat_page_get_ready            (RflChatPage    *self);
/* The open conversation's title, or "New Chat". */
const char  *rfl_chat_page_get_title            (RflChatPage    *self);
/* 0 for a new chat. */
gint64       rfl_chat_page_get_conversation_id  (RflChatPage    *self);
/* Whether an answer of the open conversation is streaming. */
gboolean     rfl_chat_page_get_streaming        (RflChatPage    *self);

/* Opens conversation @id (0: a new chat, with its greeting). */
void         rfl_chat_page_open_conversation    (RflChatPage    *self,
                                                 gint64          id);
void         rfl_chat_page_focus_search         (RflChatPage    *self);

/* The models the page shows: RflChatMessageItem and
 * RflChatConversationItem. */
GListModel  *rfl_chat_page_get_messages         (RflChatPage    *self);
GListModel  *rfl_chat_page_get_conversations    (RflChatPage    *self);

G_END_DECLS
