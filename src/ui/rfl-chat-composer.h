/* rfl-chat-composer.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* The message field under the chat. Enter sends (the "send" signal with
 * the text, trimmed), Shift+Enter starts a new line. While "streaming" is
 * TRUE the button is Stop (the "stop" signal) and Enter does not send. */

#define RFL_TYPE_CHAT_COMPOSER (rfl_chat_composer_get_type ())
G_DECLARE_FINAL_TYPE (RflChatComposer, rfl_chat_composer, RFL, CHAT_COMPOSER, AdwBin)

GtkWidget *rfl_chat_composer_new           (void);

/* The text as typed. */
char      *rfl_chat_composer_dup_text      (RflChatComposer *self);
void       rfl_chat_composer_set_text      (RflChatComposer *self,
                                            const char      *text);

gboolean   rfl_chat_composer_get_streaming (RflChatComposer *self);
void       rfl_chat_composer_set_streaming (RflChatComposer *self,
                                            gboolean         streaming);

/* Sends the text as Enter would; FALSE when there is nothing to send or
 * an answer is streaming. */
gboolean   rfl_chat_composer_send          (RflChatComposer *self);

void       rfl_chat_composer_focus         (RflChatComposer *self);

G_END_DECLS
