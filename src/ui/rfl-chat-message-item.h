/* rfl-chat-message-item.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "store/rfl-chat-store.h"
#include "store/rfl-memory-store.h"

G_BEGIN_DECLS

/* One message of the chat as the message list shows it: a stored message,
 * an answer still streaming, or the greeting of a new chat. Changes are
 * announced with property notifications, so a row bound to it follows. */

#define RFL_TYPE_CHAT_MESSAGE_ITEM (rfl_chat_message_item_get_type ())
G_DECLARE_FINAL_TYPE (RflChatMessageItem, rfl_chat_message_item, RFL, CHAT_MESSAGE_ITEM, GObject)

RflChatMessageItem *rfl_chat_message_item_new                (RflMessageRole      role,
                                                              const char         *text);
/* Takes the fields of @message, and the memories its metadata names. */
RflChatMessageItem *rfl_chat_message_item_new_from_message   (const RflMessage   *message);
RflChatMessageItem *rfl_chat_message_item_new_greeting       (const char         *text);

gint64              rfl_chat_message_item_get_id             (RflChatMessageItem *self);
void                rfl_chat_message_item_set_id             (RflChatMessageItem *self,
                                                              gint64              id);
RflMessageRole      rfl_chat_message_item_get_role           (RflChatMessageItem *self);
gboolean            rfl_chat_message_item_get_greeting       (RflChatMessageItem *self);

RflMessageStatus    rfl_chat_message_item_get_status         (RflChatMessageItem *self);
void                rfl_chat_message_item_set_status         (RflChatMessageItem *self,
                                                              RflMessageStatus    status);

const char         *rfl_chat_message_item_get_text           (RflChatMessageItem *self);
void                rfl_chat_message_item_set_text           (RflChatMessageItem *self,
                                                              const char         *text,
                                                              gssize              length);

/* Why the answer failed (status error), or NULL. */
const char         *rfl_chat_message_item_get_error          (RflChatMessageItem *self);
void                rfl_chat_message_item_set_error          (RflChatMessageItem *self,
                                                              const char         *error);

/* What the assistant is doing while it streams ("Searching memories…"),
 * or NULL. */
const char         *rfl_chat_message_item_get_activity       (RflChatMessageItem *self);
void                rfl_chat_message_item_set_activity       (RflChatMessageItem *self,
                                                              const char         *activity);

const char         *rfl_chat_message_item_get_model          (RflChatMessageItem *self);
guint               rfl_chat_message_item_get_tokens_in      (RflChatMessageItem *self);
guint               rfl_chat_message_item_get_tokens_out     (RflChatMessageItem *self);
/* Sets the model and token counts of a finished answer. */
void                rfl_chat_message_item_set_usage          (RflChatMessageItem *self,
                                                              const char         *model,
                                                              guint               tokens_in,
                                                              guint               tokens_out);

/* The memories the answer was given, of RflMemory (only id, key and
 * value are known for stored answers). Never NULL. */
GPtrArray          *rfl_chat_message_item_get_used_memories  (RflChatMessageItem *self);
/* Copies the memories of @memories (may be NULL). */
void                rfl_chat_message_item_set_used_memories  (RflChatMessageItem *self,
                                                              GPtrArray          *memories);

/* The last answer of a conversation can be regenerated. */
gboolean            rfl_chat_message_item_get_last_answer    (RflChatMessageItem *self);
void                rfl_chat_message_item_set_last_answer    (RflChatMessageItem *self,
                                                              gboolean            last_answer);

/* The memories named in an assistant message's metadata, of RflMemory. */
GPtrArray          *rfl_chat_message_item_parse_memories     (const char         *metadata);

G_END_DECLS
