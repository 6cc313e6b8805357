/* rfl-chat-conversation-item.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "store/rfl-chat-store.h"

G_BEGIN_DECLS

/* One conversation of the sidebar's list. */

#define RFL_TYPE_CHAT_CONVERSATION_ITEM (rfl_chat_conversation_item_get_type ())
G_DECLARE_FINAL_TYPE (RflChatConversationItem, rfl_chat_conversation_item,
                      RFL, CHAT_CONVERSATION_ITEM, GObject)

RflChatConversationItem *rfl_chat_conversation_item_new           (const RflConversation   *conversation);

gint64                   rfl_chat_conversation_item_get_id        (RflChatConversationItem *self);
/* The title, or "New Chat" when it has none yet. */
const char              *rfl_chat_conversation_item_get_title     (RflChatConversationItem *self);
void                     rfl_chat_conversation_item_set_title     (RflChatConversationItem *self,
                                                                   const char              *title);
const char              *rfl_chat_conversation_item_get_preview   (RflChatConversationItem *self);
/* Unix time in milliseconds. */
gint64                   rfl_chat_conversation_item_get_updated_at (RflChatConversationItem *self);

/* A short form of @time_ms relative to @now_ms: "14:05", "Yesterday",
 * "Monday", "12 March", "12 March 2024". */
char                    *rfl_chat_conversation_item_format_time   (gint64                   time_ms,
                                                                   gint64                   now_ms);

G_END_DECLS
