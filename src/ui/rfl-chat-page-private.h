/* rfl-chat-page-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "rfl-chat-composer.h"
#include "rfl-chat-conversation-item.h"
#include "rfl-chat-memories-panel.h"
#include "rfl-chat-message-item.h"
#include "rfl-chat-page.h"

G_BEGIN_DECLS

/* The chat page is split by concern: rfl-chat-page.c (the page, its
 * states, the service, identities and models), rfl-chat-page-messages.c
 * (the open conversation: loading it, sending, streaming, stopping,
 * regenerating) and rfl-chat-page-conversations.c (the list, renaming,
 * deleting and restoring). */

typedef struct _RflChatTurn RflChatTurn;

struct _RflChatPage
{
  AdwBin                parent_instance;

  GSettings            *settings;              /* owned */
  RflService           *service;               /* owned */
  RflChatSidebar       *sidebar;               /* owned */
  GCancellable         *cancellable;           /* owned: the service's loads */
  GCancellable         *list_cancellable;      /* owned: the conversation list */
  GCancellable         *messages_cancellable;  /* owned: the open conversation */
  RflIdentity           identity;
  GPtrArray            *identities;            /* owned, of RflIdentityInfo */
  GListStore           *conversations;         /* owned, of RflChatConversationItem */
  GListStore           *messages;              /* owned, of RflChatMessageItem */
  GtkStringList        *models;                /* owned */
  char                 *model;                 /* owned: the model chosen */
  gboolean              filling_models;
  gint64                conversation_id;
  char                 *title;                 /* owned */
  char                 *greeting;              /* owned: the new chat's */
  GHashTable           *turns;                 /* conversation id → RflChatTurn */
  RflChatTurn          *new_chat_turn;         /* borrowed: awaits its conversation */
  gboolean              ready;
  gboolean              compact;
  gboolean              stick_to_bottom;
  double                last_upper;
  double                last_page_size;
  guint                 scroll_tick_id;
  gboolean              disposed;
  guint                 identity_idle_id;

  /* Template children */
  AdwToastOverlay      *toast_overlay;
  GtkStack             *state_stack;
  GtkSpinner           *loading_spinner;
  AdwStatusPage        *failed_page;
  AdwFlap              *flap;
  GtkStack             *conversation_stack;
  AdwStatusPage        *empty_page;
  GtkSpinner           *messages_spinner;
  GtkScrolledWindow    *message_scroller;
  GtkListView          *message_view;
  RflChatComposer      *composer;
  RflChatMemoriesPanel *memories_panel;
  GtkWidget            *header_box;            /* lives in the window's header */
  GtkDropDown          *model_dropdown;
  GtkWidget            *memories_button;
};

/* One question and its answer while it streams. */
struct _RflChatTurn
{
  RflChatPage        *page;            /* owned */
  gint64              conversation_id;
  char               *text;            /* owned: the question */
  RflChatMessageItem *user_item;       /* owned; NULL when regenerating */
  RflChatMessageItem *answer;          /* owned: the row being written */
  gint64              answer_id;
  gboolean            progressed;
  gboolean            created_conversation;
  GCancellable       *cancellable;     /* owned */
};

RflChatTurn             *_rfl_chat_turn_ref                  (RflChatTurn           *turn);
void                     _rfl_chat_turn_unref                (RflChatTurn           *turn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflChatTurn, _rfl_chat_turn_unref)

/* rfl-chat-page.c */
void                     _rfl_chat_page_show_toast           (RflChatPage           *self,
                                                              const char            *title);
/* NULL or "" is "New Chat". */
void                     _rfl_chat_page_set_title            (RflChatPage           *self,
                                                              const char            *title);
void                     _rfl_chat_page_set_conversation_id  (RflChatPage           *self,
                                                              gint64                 id);
void                     _rfl_chat_page_update_streaming     (RflChatPage           *self);
void                     _rfl_chat_page_scroll_to_bottom     (RflChatPage           *self);
RflChatConversationItem *_rfl_chat_page_find_conversation    (RflChatPage           *self,
                                                              gint64                 id);
/* The answer streaming in conversation @conversation_id (0: the new chat
 * being created), or NULL. */
RflChatTurn             *_rfl_chat_page_find_turn            (RflChatPage           *self,
                                                              gint64                 conversation_id);

/* rfl-chat-page-messages.c */
void                     _rfl_chat_page_send                 (RflChatPage           *self,
                                                              const char            *text);
void                     _rfl_chat_page_stop                 (RflChatPage           *self);
void                     _rfl_chat_page_regenerate           (RflChatPage           *self);

/* rfl-chat-page-conversations.c */
void                     _rfl_chat_page_load_conversations   (RflChatPage           *self);
/* @quiet: no toast (with Undo) for a deletion. */
void                     _rfl_chat_page_change_conversation  (RflChatPage           *self,
                                                              gint64                 id,
                                                              RflConversationChange  kind,
                                                              const char            *title,
                                                              gboolean               quiet);
void                     _rfl_chat_page_rename_conversation  (RflChatPage           *self,
                                                              gint64                 id);
void                     _rfl_chat_page_delete_conversation  (RflChatPage           *self,
                                                              gint64                 id);

G_END_DECLS
