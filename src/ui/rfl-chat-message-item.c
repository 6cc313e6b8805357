/* rfl-chat-message-item.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-message-item.h"

#include <json-glib/json-glib.h>
#include <string.h>

struct _RflChatMessageItem
{
  GObject           parent_instance;

  gint64            id;
  RflMessageRole    role;
  RflMessageStatus  status;
  gboolean          greeting;
  gboolean          last_answer;
  GString          *text;            /* owned */
  char             *error;           /* owned */
  char             *activity;        /* owned */
  char             *model;           /* owned */
  guint             tokens_in;
  guint             tokens_out;
  GPtrArray        *used_memories;   /* owned, of RflMemory */
};

G_DEFINE_FINAL_TYPE (RflChatMessageItem, rfl_chat_message_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_STATUS,
  PROP_TEXT,
  PROP_ERROR,
  PROP_ACTIVITY,
  PROP_USAGE,
  PROP_USED_MEMORIES,
  PROP_LAST_ANSWER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
rfl_chat_message_item_finalize (GObject *object)
{
  RflChatMessageItem *self = RFL_CHAT_MESSAGE_ITEM (object);

  g_string_free (self->text, TRUE);
  g_free (self->error);
  g_free (self->activity);
  g_free (self->model);
  g_ptr_array_unref (self->used_memories);

  G_OBJECT_CLASS (rfl_chat_message_item_parent_class)->finalize (object);
}

static void
rfl_chat_message_item_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  RflChatMessageItem *self = RFL_CHAT_MESSAGE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;

    case PROP_STATUS:
      g_value_set_int (value, self->status);
      break;

    case PROP_TEXT:
      g_value_set_string (value, self->text->str);
      break;

    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;

    case PROP_ACTIVITY:
      g_value_set_string (value, self->activity);
      break;

    case PROP_USAGE:
      g_value_set_uint (value, self->tokens_in + self->tokens_out);
      break;

    case PROP_USED_MEMORIES:
      g_value_set_uint (value, self->used_memories->len);
      break;

    case PROP_LAST_ANSWER:
      g_value_set_boolean (value, self->last_answer);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_chat_message_item_class_init (RflChatMessageItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_chat_message_item_finalize;
  object_class->get_property = rfl_chat_message_item_get_property;

  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATUS] =
    g_param_spec_int ("status", NULL, NULL,
                      RFL_MESSAGE_STATUS_COMPLETE, RFL_MESSAGE_STATUS_ERROR,
                      RFL_MESSAGE_STATUS_COMPLETE,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ACTIVITY] =
    g_param_spec_string ("activity", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /* The total of tokens read and written; notified when the model or the
   * counts change. */
  properties[PROP_USAGE] =
    g_param_spec_uint ("usage", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /* The number of memories used; notified when they change. */
  properties[PROP_USED_MEMORIES] =
    g_param_spec_uint ("used-memories", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LAST_ANSWER] =
    g_param_spec_boolean ("last-answer", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_chat_message_item_init (RflChatMessageItem *self)
{
  self->text = g_string_new (NULL);
  self->used_memories = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
}

RflChatMessageItem *
rfl_chat_message_item_new (RflMessageRole  role,
                           const char     *text)
{
  RflChatMessageItem *self = g_object_new (RFL_TYPE_CHAT_MESSAGE_ITEM, NULL);

  self->role = role;
  if (text != NULL)
    g_string_assign (self->text, text);

  return self;
}

RflChatMessageItem *
rfl_chat_message_item_new_from_message (const RflMessage *message)
{
  RflChatMessageItem *self;

  g_return_val_if_fail (message != NULL, NULL);

  self = rfl_chat_message_item_new (message->role, message->content);
  self->id = message->id;
  self->status = message->status;
  self->error = g_strdup (message->error);
  self->model = g_strdup (message->model);
  self->tokens_in = message->tokens_in;
  self->tokens_out = message->tokens_out;

  if (message->metadata != NULL)
    {
      g_ptr_array_unref (self->used_memories);
      self->used_memories = rfl_chat_message_item_parse_memories (message->metadata);
    }

  return self;
}

RflChatMessageItem *
rfl_chat_message_item_new_greeting (const char *text)
{
  RflChatMessageItem *self = rfl_chat_message_item_new (RFL_MESSAGE_ROLE_ASSISTANT, text);

  self->greeting = TRUE;

  return self;
}

GPtrArray *
rfl_chat_message_item_parse_memories (const char *metadata)
{
  GPtrArray *memories = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonArray *array;

  if (metadata == NULL || !json_parser_load_from_data (parser, metadata, -1, NULL))
    return memories;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return memories;

  if (!json_object_has_member (json_node_get_object (root), "memories"))
    return memories;
  root = json_object_get_member (json_node_get_object (root), "memories");
  if (!JSON_NODE_HOLDS_ARRAY (root))
    return memories;

  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *object;
      RflMemory *memory;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;

      object = json_node_get_object (node);
      memory = rfl_memory_new (RFL_MEMORY_KIND_OTHER,
                               json_object_get_string_member_with_default (object, "key", ""),
                               json_object_get_string_member_with_default (object, "value", ""));
      memory->id = json_object_get_int_member_with_default (object, "id", 0);
      g_ptr_array_add (memories, memory);
    }

  return memories;
}

gint64
rfl_chat_message_item_get_id (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), 0);

  return self->id;
}

void
rfl_chat_message_item_set_id (RflChatMessageItem *self,
                              gint64              id)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  if (self->id == id)
    return;

  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

RflMessageRole
rfl_chat_message_item_get_role (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), RFL_MESSAGE_ROLE_USER);

  return self->role;
}

gboolean
rfl_chat_message_item_get_greeting (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), FALSE);

  return self->greeting;
}

RflMessageStatus
rfl_chat_message_item_get_status (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), RFL_MESSAGE_STATUS_COMPLETE);

  return self->status;
}

void
rfl_chat_message_item_set_status (RflChatMessageItem *self,
                                  RflMessageStatus    status)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  if (self->status == status)
    return;

  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

const char *
rfl_chat_message_item_get_text (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), NULL);

  return self->text->str;
}

void
rfl_chat_message_item_set_text (RflChatMessageItem *self,
                                const char         *text,
                                gssize              length)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  if (text == NULL)
    text = "";
  if (length < 0)
    length = strlen (text);

  if (self->text->len == (gsize) length && memcmp (self->text->str, text, length) == 0)
    return;

  g_string_truncate (self->text, 0);
  g_string_append_len (self->text, text, length);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}

const char *
rfl_chat_message_item_get_error (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), NULL);

  return self->error;
}

void
rfl_chat_message_item_set_error (RflChatMessageItem *self,
                                 const char         *error)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  if (g_strcmp0 (self->error, error) == 0)
    return;

  g_free (self->error);
  self->error = g_strdup (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

const char *
rfl_chat_message_item_get_activity (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), NULL);

  return self->activity;
}

void
rfl_chat_message_item_set_activity (RflChatMessageItem *self,
                                    const char         *activity)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  if (g_strcmp0 (self->activity, activity) == 0)
    return;

  g_free (self->activity);
  self->activity = g_strdup (activity);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVITY]);
}

const char *
rfl_chat_message_item_get_model (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), NULL);

  return self->model;
}

guint
rfl_chat_message_item_get_tokens_in (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), 0);

  return self->tokens_in;
}

guint
rfl_chat_message_item_get_tokens_out (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), 0);

  return self->tokens_out;
}

void
rfl_chat_message_item_set_usage (RflChatMessageItem *self,
                                 const char         *model,
                                 guint               tokens_in,
                                 guint               tokens_out)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  if (g_strcmp0 (self->model, model) == 0
      && self->tokens_in == tokens_in && self->tokens_out == tokens_out)
    return;

  g_free (self->model);
  self->model = g_strdup (model);
  self->tokens_in = tokens_in;
  self->tokens_out = tokens_out;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USAGE]);
}

GPtrArray *
rfl_chat_message_item_get_used_memories (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), NULL);

  return self->used_memories;
}

void
rfl_chat_message_item_set_used_memories (RflChatMessageItem *self,
                                         GPtrArray          *memories)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  g_ptr_array_set_size (self->used_memories, 0);
  for (guint i = 0; memories != NULL && i < memories->len; i++)
    g_ptr_array_add (self->used_memories,
                     rfl_memory_copy (g_ptr_array_index (memories, i)));

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USED_MEMORIES]);
}

gboolean
rfl_chat_message_item_get_last_answer (RflChatMessageItem *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self), FALSE);

  return self->last_answer;
}

void
rfl_chat_message_item_set_last_answer (RflChatMessageItem *self,
                                       gboolean            last_answer)
{
  g_return_if_fail (RFL_IS_CHAT_MESSAGE_ITEM (self));

  last_answer = !!last_answer;
  if (self->last_answer == last_answer)
    return;

  self->last_answer = last_answer;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ANSWER]);
}
