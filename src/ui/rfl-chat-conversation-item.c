/* rfl-chat-conversation-item.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-conversation-item.h"

#include <glib/gi18n.h>

struct _RflChatConversationItem
{
  GObject  parent_instance;

  gint64   id;
  char    *title;        /* owned; "" when it has none */
  char    *preview;      /* owned */
  gint64   updated_at;
};

G_DEFINE_FINAL_TYPE (RflChatConversationItem, rfl_chat_conversation_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TITLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
rfl_chat_conversation_item_finalize (GObject *object)
{
  RflChatConversationItem *self = RFL_CHAT_CONVERSATION_ITEM (object);

  g_free (self->title);
  g_free (self->preview);

  G_OBJECT_CLASS (rfl_chat_conversation_item_parent_class)->finalize (object);
}

static void
rfl_chat_conversation_item_get_property (GObject    *object,
                                         guint       prop_id,
                                         GValue     *value,
                                         GParamSpec *pspec)
{
  RflChatConversationItem *self = RFL_CHAT_CONVERSATION_ITEM (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, rfl_chat_conversation_item_get_title (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_chat_conversation_item_class_init (RflChatConversationItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_chat_conversation_item_finalize;
  object_class->get_property = rfl_chat_conversation_item_get_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_chat_conversation_item_init (RflChatConversationItem *self)
{
}

RflChatConversationItem *
rfl_chat_conversation_item_new (const RflConversation *conversation)
{
  RflChatConversationItem *self;

  g_return_val_if_fail (conversation != NULL, NULL);

  self = g_object_new (RFL_TYPE_CHAT_CONVERSATION_ITEM, NULL);
  self->id = conversation->id;
  self->title = g_strdup (conversation->title != NULL ? conversation->title : "");
  self->preview = g_strdup (conversation->preview != NULL ? conversation->preview : "");
  self->updated_at = conversation->updated_at;

  return self;
}

gint64
rfl_chat_conversation_item_get_id (RflChatConversationItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_CONVERSATION_ITEM (self), 0);

  return self->id;
}

const char *
rfl_chat_conversation_item_get_title (RflChatConversationItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_CONVERSATION_ITEM (self), NULL);

  if (*self->title == '\0')
    return _("New Chat");

  return self->title;
}

void
rfl_chat_conversation_item_set_title (RflChatConversationItem *self,
                                      const char              *title)
{
  g_return_if_fail (RFL_IS_CHAT_CONVERSATION_ITEM (self));

  if (title == NULL)
    title = "";
  if (g_str_equal (self->title, title))
    return;

  g_free (self->title);
  self->title = g_strdup (title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

const char *
rfl_chat_conversation_item_get_preview (RflChatConversationItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_CONVERSATION_ITEM (self), NULL);

  return self->preview;
}

gint64
rfl_chat_conversation_item_get_updated_at (RflChatConversationItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_CONVERSATION_ITEM (self), 0);

  return self->updated_at;
}

char *
rfl_chat_conversation_item_format_time (gint64 time_ms,
                                        gint64 now_ms)
{
  g_autoptr(GDateTime) time = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GDateTime) time_day = NULL;
  g_autoptr(GDateTime) today = NULL;
  GTimeSpan days;

  time = g_date_time_new_from_unix_local (time_ms / 1000);
  now = g_date_time_new_from_unix_local (now_ms / 1000);
  if (time == NULL || now == NULL)
    return g_strdup ("");

  time_day = g_date_time_new_local (g_date_time_get_year (time),
                                    g_date_time_get_month (time),
                                    g_date_time_get_day_of_month (time), 0, 0, 0);
  today = g_date_time_new_local (g_date_time_get_year (now),
                                 g_date_time_get_month (now),
                                 g_date_time_get_day_of_month (now), 0, 0, 0);
  /* Rounded: a day with a clock change is 23 or 25 hours long. */
  days = (g_date_time_difference (today, time_day) + G_TIME_SPAN_DAY / 2) / G_TIME_SPAN_DAY;

  if (days <= 0)
    /* Translators: the time of a conversation today, see g_date_time_format() */
    return g_date_time_format (time, _("%H:%M"));
  if (days == 1)
    return g_strdup (_("Yesterday"));
  if (days < 7)
    /* Translators: the weekday of a conversation this week */
    return g_date_time_format (time, _("%A"));
  if (g_date_time_get_year (time) == g_date_time_get_year (now))
    /* Translators: the day of a conversation this year */
    return g_date_time_format (time, _("%-d %B"));

  /* Translators: the day of a conversation in another year */
  return g_date_time_format (time, _("%-d %B %Y"));
}
