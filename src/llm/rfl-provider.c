/* rfl-provider.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-provider.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-transfer.h"

#define LIST_CONNECT_MS 5000
#define LIST_TOTAL_MS 20000
#define ANTHROPIC_VERSION "2023-06-01"

static const struct
{
  const char *id;
  const char *title;
  const char *default_url;
  gboolean    needs_key;
} kinds[RFL_N_PROVIDERS] = {
  [RFL_PROVIDER_OLLAMA] =
    { "ollama", N_("Ollama"), "http://127.0.0.1:11434", FALSE },
  [RFL_PROVIDER_OPENAI] =
    { "openai", N_("OpenAI"), "https://api.openai.com", TRUE },
  [RFL_PROVIDER_ANTHROPIC] =
    { "anthropic", N_("Anthropic"), "https://api.anthropic.com", TRUE },
  [RFL_PROVIDER_OPENAI_COMPATIBLE] =
    { "openai-compatible", N_("OpenAI-compatible server"), NULL, FALSE },
};

const char *
rfl_provider_kind_to_string (RflProviderKind kind)
{
  g_return_val_if_fail (kind < RFL_N_PROVIDERS, NULL);

  return kinds[kind].id;
}

gboolean
rfl_provider_kind_from_string (const char      *str,
                               RflProviderKind *out)
{
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint i = 0; str != NULL && i < RFL_N_PROVIDERS; i++)
    {
      if (g_str_equal (kinds[i].id, str))
        {
          *out = (RflProviderKind) i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_provider_kind_get_title (RflProviderKind kind)
{
  g_return_val_if_fail (kind < RFL_N_PROVIDERS, NULL);

  return _(kinds[kind].title);
}

const char *
rfl_provider_kind_get_default_url (RflProviderKind kind)
{
  g_return_val_if_fail (kind < RFL_N_PROVIDERS, NULL);

  return kinds[kind].default_url;
}

gboolean
rfl_provider_kind_needs_key (RflProviderKind kind)
{
  g_return_val_if_fail (kind < RFL_N_PROVIDERS, FALSE);

  return kinds[kind].needs_key;
}

/* Letters, digits and the punctuation of names and IPv6 addresses;
 * anything beyond ASCII is left to IDN. */
static gboolean
is_valid_host (const char *host)
{
  for (const char *p = host; *p != '\0'; p++)
    {
      if ((guchar) *p >= 0x80)
        continue;
      if (!g_ascii_isalnum (*p) && strchr ("-._:%", *p) == NULL)
        return FALSE;
    }

  return TRUE;
}

static gboolean
has_http_scheme (const char *url)
{
  return g_ascii_strncasecmp (url, "http://", 7) == 0
         || g_ascii_strncasecmp (url, "https://", 8) == 0;
}

gboolean
rfl_provider_validate_url (const char  *url,
                           GError     **error)
{
  g_autofree char *trimmed = NULL;
  g_autoptr(GUri) uri = NULL;
  const char *rest;
  const char *host;

  trimmed = g_strstrip (g_strdup (url != NULL ? url : ""));
  if (!has_http_scheme (trimmed))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("Enter a URL starting with http:// or https://"));
      return FALSE;
    }

  rest = strstr (trimmed, "://") + 3;
  if (*rest == '\0' || *rest == '/' || *rest == ':' || *rest == '?'
      || *rest == '#')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The URL has no host name"));
      return FALSE;
    }

  uri = g_uri_parse (trimmed, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || strpbrk (trimmed, " \t\r\n") != NULL
      || (g_uri_get_host (uri) != NULL && !is_valid_host (g_uri_get_host (uri))))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not a valid URL"), trimmed);
      return FALSE;
    }

  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The URL has no host name"));
      return FALSE;
    }

  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The URL must not contain “?” or “#”"));
      return FALSE;
    }

  return TRUE;
}

void
rfl_model_info_free (RflModelInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->name);
  g_free (info);
}

static RflModelInfo *
model_info_new (const char *name,
                guint64     size_bytes)
{
  RflModelInfo *info = g_new0 (RflModelInfo, 1);

  info->name = g_strdup (name);
  info->size_bytes = size_bytes;

  return info;
}

static int
compare_models (gconstpointer a,
                gconstpointer b)
{
  const RflModelInfo *info_a = *(RflModelInfo * const *) a;
  const RflModelInfo *info_b = *(RflModelInfo * const *) b;

  return g_strcmp0 (info_a->name, info_b->name);
}

static const char *
entry_string (JsonObject *entry,
              const char *name)
{
  JsonNode *node = json_object_get_member (entry, name);

  if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);

  return NULL;
}

static guint64
entry_size (JsonObject *entry)
{
  JsonNode *node = json_object_get_member (entry, "size");

  if (node != NULL && json_node_get_value_type (node) == G_TYPE_INT64
      && json_node_get_int (node) > 0)
    return (guint64) json_node_get_int (node);

  return 0;
}

/* Reads the array @list_name of objects named by @name_member. */
static GPtrArray *
parse_models (RflProviderKind   kind,
              const char       *url,
              const char       *body,
              gsize             len,
              GError          **error)
{
  const char *list_name = kind == RFL_PROVIDER_OLLAMA ? "models" : "data";
  const char *name_member = kind == RFL_PROVIDER_OLLAMA ? "name" : "id";
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GPtrArray) models = NULL;
  JsonNode *root;
  JsonNode *list;
  JsonArray *array;

  if (!json_parser_load_from_data (parser, body, (gssize) len, NULL)
      || (root = json_parser_get_root (parser)) == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("Expected a JSON list of models from %s, but the answer "
                     "is not JSON."), url);
      return NULL;
    }

  if (!JSON_NODE_HOLDS_OBJECT (root)
      || (list = json_object_get_member (json_node_get_object (root),
                                         list_name)) == NULL
      || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("Expected a JSON object with a “%s” list of models from "
                     "%s, but the answer has none."), list_name, url);
      return NULL;
    }

  array = json_node_get_array (list);
  models = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_model_info_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *name = NULL;

      if (JSON_NODE_HOLDS_OBJECT (element))
        {
          JsonObject *entry = json_node_get_object (element);

          name = entry_string (entry, name_member);
          if (name == NULL && kind == RFL_PROVIDER_OLLAMA)
            name = entry_string (entry, "model");
          if (name != NULL && *name != '\0')
            g_ptr_array_add (models, model_info_new (name, entry_size (entry)));
        }

      if (name == NULL || *name == '\0')
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                       _("Expected every model in the list from %s to have "
                         "a “%s”, but one has none."), url, name_member);
          return NULL;
        }
    }

  g_ptr_array_sort (models, compare_models);
  return g_steal_pointer (&models);
}

/* Keys are pasted: surrounding blanks are dropped, control characters
 * (which would end the HTTP header) refused. */
static char *
clean_key (const char  *api_key,
           GError     **error)
{
  g_autofree char *key = g_strstrip (g_strdup (api_key != NULL ? api_key : ""));

  for (const char *p = key; *p != '\0'; p++)
    {
      if (g_ascii_iscntrl (*p))
        {
          g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                               _("The API key contains characters that are "
                                 "not allowed, such as a line break."));
          return NULL;
        }
    }

  return g_steal_pointer (&key);
}

GPtrArray *
rfl_provider_list_models (RflProviderKind   kind,
                          const char       *url,
                          const char       *api_key,
                          GCancellable     *cancellable,
                          GError          **error)
{
  g_autoptr(RflTransfer) transfer = NULL;
  g_autofree char *key = NULL;
  const char *path;
  const char *body;
  gsize len;

  g_return_val_if_fail (kind < RFL_N_PROVIDERS, NULL);
  g_return_val_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable), NULL);

  if ((key = clean_key (api_key, error)) == NULL)
    return NULL;

  path = kind == RFL_PROVIDER_OLLAMA ? "/api/tags" : "/v1/models";
  if ((transfer = rfl_transfer_new (url, path, error)) == NULL)
    return NULL;

  rfl_transfer_set_timeouts (transfer, LIST_CONNECT_MS, LIST_TOTAL_MS);
  rfl_transfer_add_header (transfer, "Accept", "application/json");
  if (kind == RFL_PROVIDER_ANTHROPIC)
    {
      rfl_transfer_add_header (transfer, "anthropic-version", ANTHROPIC_VERSION);
      if (*key != '\0')
        rfl_transfer_add_header (transfer, "x-api-key", key);
    }
  else if (kind != RFL_PROVIDER_OLLAMA && *key != '\0')
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", key, NULL);

      rfl_transfer_add_header (transfer, "Authorization", bearer);
    }

  if (!rfl_transfer_perform (transfer, cancellable, error)
      || !rfl_transfer_check_status (transfer, error))
    return NULL;

  body = rfl_transfer_get_body (transfer, &len);
  return parse_models (kind, rfl_transfer_get_url (transfer), body, len, error);
}

typedef struct
{
  RflProviderKind  kind;
  char            *url;
  char            *api_key;
} ListModels;

static void
list_models_free (gpointer data)
{
  ListModels *state = data;

  g_free (state->url);
  if (state->api_key != NULL)
    {
      memset (state->api_key, 0, strlen (state->api_key));
      g_free (state->api_key);
    }
  g_free (state);
}

static void
list_models_worker (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  ListModels *state = task_data;
  GError *error = NULL;
  GPtrArray *models;

  models = rfl_provider_list_models (state->kind, state->url, state->api_key,
                                     cancellable, &error);
  if (models == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, models, (GDestroyNotify) g_ptr_array_unref);
}

void
rfl_provider_list_models_async (RflProviderKind      kind,
                                const char          *url,
                                const char          *api_key,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ListModels *state;

  g_return_if_fail (kind < RFL_N_PROVIDERS);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_provider_list_models_async);
  g_task_set_name (task, "rfl_provider_list_models");

  state = g_new0 (ListModels, 1);
  state->kind = kind;
  state->url = g_strdup (url);
  state->api_key = g_strdup (api_key);
  g_task_set_task_data (task, state, list_models_free);

  g_task_run_in_thread (task, list_models_worker);
}

GPtrArray *
rfl_provider_list_models_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                        == rfl_provider_list_models_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
rfl_provider_ollama_installed (void)
{
  g_autofree char *path = g_find_program_in_path ("ollama");

  return path != NULL;
}
