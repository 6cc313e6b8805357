/* rfl-chat-message-row.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "rfl-chat-message-item.h"

G_BEGIN_DECLS

/* Shows one RflChatMessageItem and follows its changes: a streaming
 * answer's markdown is re-rendered at most every
 * RFL_MARKDOWN_VIEW_THROTTLE_MS. Its buttons activate the actions
 * "chat.retry" and "chat.regenerate" of an ancestor. */

#define RFL_TYPE_CHAT_MESSAGE_ROW (rfl_chat_message_row_get_type ())
G_DECLARE_FINAL_TYPE (RflChatMessageRow, rfl_chat_message_row, RFL, CHAT_MESSAGE_ROW, AdwBin)

GtkWidget          *rfl_chat_message_row_new      (void);

RflChatMessageItem *rfl_chat_message_row_get_item (RflChatMessageRow  *self);
/* @item may be NULL. */
void                rfl_chat_message_row_set_item (RflChatMessageRow  *self,
                                                   RflChatMessageItem *item);

G_END_DECLS
