/* rfl-memory-extractor.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-memory-extractor.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "rfl-assistant.h"
#include "store/rfl-memory-store.h"

/* How much of each side of the exchange the model reads. */
#define MAX_EXCHANGE_CHARS 6000

static char *
excerpt (const char *text)
{
  glong n;

  if (text == NULL)
    return g_strdup ("");

  n = g_utf8_strlen (text, -1);
  if (n <= MAX_EXCHANGE_CHARS)
    return g_strdup (text);

  return g_utf8_substring (text, 0, MAX_EXCHANGE_CHARS);
}

RflChatRequest *
rfl_memory_extractor_build_request (const char  *model,
                                    GPtrArray   *known,
                                    const char  *user_text,
                                    const char  *assistant_text,
                                    GError     **error)
{
  g_autoptr(RflChatRequest) request = NULL;
  g_autofree char *instructions = NULL;
  g_autofree char *input = NULL;
  g_autofree char *schema = NULL;
  g_autofree char *system = NULL;
  g_autofree char *message = NULL;
  g_autofree char *user_part = excerpt (user_text);
  g_autofree char *assistant_part = excerpt (assistant_text);
  GString *lines = g_string_new (NULL);

  instructions = rfl_assistant_load_prompt ("extract-memories.txt");
  input = rfl_assistant_load_prompt ("extract-memories-input.txt");
  schema = rfl_assistant_load_prompt ("extract-memories.schema.json");
  if (instructions == NULL || input == NULL || schema == NULL)
    {
      g_string_free (lines, TRUE);
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The memory extraction prompt is missing"));
      return NULL;
    }

  for (guint i = 0; known != NULL && i < known->len
                    && i < RFL_MEMORY_EXTRACTOR_MAX_KNOWN; i++)
    {
      const RflMemory *memory = g_ptr_array_index (known, i);

      g_string_append_printf (lines, "- %s | %s: %s\n",
                              rfl_memory_kind_to_string (memory->kind),
                              memory->key, memory->value);
    }
  if (lines->len == 0)
    g_string_append (lines, "(nothing yet)\n");

  system = rfl_assistant_render (instructions,
                                 (const char *[]) { "known", NULL },
                                 (const char *[]) { lines->str, NULL });
  g_string_free (lines, TRUE);
  message = rfl_assistant_render (input,
                                  (const char *[]) { "user", "assistant",
                                                     NULL },
                                  (const char *[]) { user_part,
                                                     assistant_part, NULL });

  request = rfl_chat_request_new (model);
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_SYSTEM, g_strchomp (system));
  rfl_chat_request_add_text (request, RFL_CHAT_ROLE_USER, g_strchomp (message));
  rfl_chat_request_set_stream (request, FALSE);
  rfl_chat_request_set_temperature (request, 0);
  rfl_chat_request_set_max_tokens (request, 1024);
  if (!rfl_chat_request_set_json_schema (request, "memories", schema, TRUE,
                                         error))
    return NULL;

  return g_steal_pointer (&request);
}

/* The JSON object in @answer: the whole text, or what a Markdown code
 * fence holds, or the outermost braces. */
static JsonObject *
find_object (const char *answer)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *start;
  const char *end;
  JsonNode *root;

  start = strchr (answer, '{');
  end = strrchr (answer, '}');
  if (start == NULL || end == NULL || end < start)
    return NULL;

  if (!json_parser_load_from_data (parser, start, end - start + 1, NULL))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  return json_object_ref (json_node_get_object (root));
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static double
member_importance (JsonObject *object)
{
  JsonNode *node = json_object_get_member (object, "importance");
  double value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return 0.5;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      value = (double) json_node_get_int (node);
      break;
    case G_TYPE_DOUBLE:
      value = json_node_get_double (node);
      break;
    default:
      return 0.5;
    }

  if (!isfinite (value))
    return 0.5;

  /* Some models answer on a scale of 1 to 10. */
  if (value > 1 && value <= 10)
    value /= 10;

  return CLAMP (value, 0.0, 1.0);
}

/* One item of the answer as a memory, or NULL when it is not usable. */
static RflMemory *
parse_item (JsonNode *node)
{
  g_autofree char *key = NULL;
  g_autofree char *value = NULL;
  g_autofree char *norm = NULL;
  RflMemoryKind kind;
  RflMemory *memory;
  JsonObject *object;
  const char *kind_name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;

  object = json_node_get_object (node);
  kind_name = member_string (object, "kind");
  if (kind_name == NULL || !rfl_memory_kind_from_string (kind_name, &kind))
    kind = RFL_MEMORY_KIND_OTHER;

  key = g_strdup (member_string (object, "key"));
  value = g_strdup (member_string (object, "value"));
  if (key == NULL || value == NULL)
    return NULL;

  g_strstrip (key);
  g_strstrip (value);
  norm = rfl_memory_normalize_key (key);
  if (norm == NULL || *value == '\0'
      || g_utf8_strlen (key, -1) > RFL_MEMORY_STORE_MAX_KEY
      || g_utf8_strlen (value, -1) > RFL_MEMORY_STORE_MAX_VALUE)
    return NULL;

  memory = rfl_memory_new (kind, key, value);
  memory->importance = member_importance (object);
  memory->confidence = 0.8;
  return memory;
}

GPtrArray *
rfl_memory_extractor_parse (const char  *answer,
                            GError     **error)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GPtrArray) memories = NULL;
  JsonNode *items;
  JsonArray *array;

  if (answer == NULL || !g_utf8_validate (answer, -1, NULL)
      || (object = find_object (answer)) == NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                           _("The model did not answer with the JSON object "
                             "asked for"));
      return NULL;
    }

  items = json_object_get_member (object, "memories");
  if (items == NULL || !JSON_NODE_HOLDS_ARRAY (items))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                           _("The model’s answer has no list of memories"));
      return NULL;
    }

  memories = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
  array = json_node_get_array (items);

  for (guint i = 0; i < json_array_get_length (array)
                    && memories->len < RFL_MEMORY_EXTRACTOR_MAX_RESULTS; i++)
    {
      RflMemory *memory = parse_item (json_array_get_element (array, i));

      if (memory != NULL)
        g_ptr_array_add (memories, memory);
    }

  return g_steal_pointer (&memories);
}
