/* rfl-service-http-data.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service-http-private.h"

#include <glib/gi18n.h>

#include "core/rfl-error.h"
#include "server/rfl-http-error.h"
#include "server/rfl-json-body.h"
#include "server/rfl-json-writer.h"

/* Conversations and memories over HTTP. Every handler runs on the service
 * thread and works on the stores there. An object of another tenant, or
 * of another user of the same tenant, is answered exactly like one that
 * does not exist: 404. */

#define DATA_BODY_LIMIT     ((gsize) 64 * 1024)
#define LIST_DEFAULT_LIMIT  50
#define LIST_MAX_LIMIT      200
#define SEARCH_DEFAULT_K    10
#define SEARCH_MAX_K        50

static void
respond_http_error (RflRequest   *request,
                    RflHttpError  code,
                    const char   *field,
                    const char   *message)
{
  g_autoptr(GError) error = NULL;

  if (field != NULL)
    rfl_http_error_set_field (&error, code, field, "%s", message);
  else
    error = g_error_new_literal (RFL_HTTP_ERROR, code, message);
  rfl_request_respond_error (request, error);
}

static const char *
scope_name (RflApiScopes scope)
{
  switch (scope)
    {
    case RFL_API_SCOPE_CHAT:
      return "chat";
    case RFL_API_SCOPE_PUBLISH:
      return "publish";
    case RFL_API_SCOPE_READ:
      return "read";
    case RFL_API_SCOPE_ADMIN:
    default:
      return "admin";
    }
}

/* The tenant and user a request acts for. A signed-in user acts for
 * themself. An API key belongs to a tenant, not a user: the request names
 * the user with "user_id" (query or body), who must be an active user of
 * the key's tenant. */
gboolean
_rfl_service_http_resolve_identity (RflRequest     *request,
                                    RflServiceHttp *http,
                                    RflJsonBody    *body,
                                    RflApiScopes    scope,
                                    RflIdentity    *out)
{
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);
  g_auto(RflIdentityCheck) check = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  gint64 user_id = 0;

  g_assert (principal != NULL);

  if (!rfl_auth_principal_has_scope (principal, scope))
    {
      message = g_strdup_printf (_("This credential lacks the “%s” scope"),
                                 scope_name (scope));
      respond_http_error (request, RFL_HTTP_ERROR_FORBIDDEN, NULL, message);
      return FALSE;
    }

  if (principal->user_id != 0)
    {
      out->tenant_id = principal->tenant_id;
      out->user_id = principal->user_id;
      out->api_key_id = 0;
      return TRUE;
    }

  if (body != NULL)
    {
      if (!rfl_json_body_get_int (body, "user_id", RFL_JSON_NULLABLE, &user_id, &error))
        {
          rfl_request_respond_error (request, error);
          return FALSE;
        }
    }
  if (user_id == 0 && rfl_request_get_query (request, "user_id") != NULL)
    {
      guint64 value = 0;

      if (!g_ascii_string_to_unsigned (rfl_request_get_query (request, "user_id"),
                                       10, 1, G_MAXINT64, &value, NULL))
        {
          message = g_strdup_printf (_("Field “%s” must be a positive integer"), "user_id");
          respond_http_error (request, RFL_HTTP_ERROR_INVALID_REQUEST, "user_id", message);
          return FALSE;
        }
      user_id = (gint64) value;
    }
  if (user_id <= 0)
    {
      respond_http_error (request, RFL_HTTP_ERROR_INVALID_REQUEST, "user_id",
                          _("With an API key, name the user with “user_id”"));
      return FALSE;
    }

  out->tenant_id = principal->tenant_id;
  out->user_id = user_id;
  out->api_key_id = principal->api_key_id;
  if (!_rfl_service_check_identity (http->core, *out, &check, &error))
    {
      _rfl_service_http_respond_error (request, error);
      return FALSE;
    }

  return TRUE;
}

/* The {id} of the route. Something that is not an id names nothing. */
static gboolean
get_id_param (RflRequest *request,
              gint64     *out_id)
{
  const char *text = rfl_request_get_param (request, "id");
  guint64 value = 0;

  if (text == NULL
      || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &value, NULL))
    {
      respond_http_error (request, RFL_HTTP_ERROR_NOT_FOUND, NULL,
                          _("There is no such object"));
      return FALSE;
    }

  *out_id = (gint64) value;
  return TRUE;
}

static gboolean
get_paging (RflRequest *request,
            guint      *offset,
            guint      *limit)
{
  const char *names[] = { "offset", "limit" };
  guint64 values[] = { 0, LIST_DEFAULT_LIMIT };
  guint64 maxima[] = { G_MAXINT32, LIST_MAX_LIMIT };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *text = rfl_request_get_query (request, names[i]);

      if (text != NULL
          && !g_ascii_string_to_unsigned (text, 10, i, maxima[i], &values[i], NULL))
        {
          g_autofree char *message =
            g_strdup_printf (_("Field “%s” must be an integer from %u to %u"),
                             names[i], i, (guint) maxima[i]);
          respond_http_error (request, RFL_HTTP_ERROR_INVALID_REQUEST, names[i], message);
          return FALSE;
        }
    }

  *offset = (guint) values[0];
  *limit = (guint) values[1];
  return TRUE;
}

static RflJsonBody *
parse_body (RflRequest *request)
{
  g_autoptr(GError) error = NULL;
  RflJsonBody *body;

  body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                      DATA_BODY_LIMIT, &error);
  if (body == NULL)
    rfl_request_respond_error (request, error);

  return body;
}

static void
respond_list (RflRequest *request,
              JsonArray  *items)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  json_object_set_array_member (object, "data", items);
  json_node_take_object (node, object);
  rfl_request_respond_json (request, SOUP_STATUS_OK, node);
}

static void
respond_object (RflRequest *request,
                guint       status,
                JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  rfl_request_respond_json (request, status, node);
}

static void
respond_no_content (RflRequest *request)
{
  soup_server_message_set_status (rfl_request_get_message (request),
                                  SOUP_STATUS_NO_CONTENT, NULL);
}

/* Memories --------------------------------------------------------------- */

/* A memory, in every answer that holds one. The lists of memories are the
 * busiest answers: memories are written as text directly rather than
 * built as a tree first. */
static void
write_memory (RflJsonWriter   *writer,
              const RflMemory *memory)
{
  rfl_json_writer_begin_object (writer);
  rfl_json_writer_key (writer, "id");
  rfl_json_writer_int64 (writer, memory->id);
  rfl_json_writer_key (writer, "user_id");
  rfl_json_writer_int64 (writer, memory->user_id);
  rfl_json_writer_key (writer, "kind");
  rfl_json_writer_string (writer, rfl_memory_kind_to_string (memory->kind));
  rfl_json_writer_key (writer, "key");
  rfl_json_writer_string (writer, memory->key);
  rfl_json_writer_key (writer, "value");
  rfl_json_writer_string (writer, memory->value);
  rfl_json_writer_key (writer, "importance");
  rfl_json_writer_double (writer, memory->importance);
  rfl_json_writer_key (writer, "confidence");
  rfl_json_writer_double (writer, memory->confidence);
  rfl_json_writer_key (writer, "mentions");
  rfl_json_writer_int64 (writer, memory->mentions);
  rfl_json_writer_key (writer, "created_at");
  rfl_json_writer_int64 (writer, memory->created_at);
  rfl_json_writer_key (writer, "updated_at");
  rfl_json_writer_int64 (writer, memory->updated_at);
  rfl_json_writer_key (writer, "last_used_at");
  if (memory->last_used_at != 0)
    rfl_json_writer_int64 (writer, memory->last_used_at);
  else
    rfl_json_writer_null (writer);
  rfl_json_writer_end_object (writer);
}

/* Room for a typical memory, so that the answer grows once or never. */
#define MEMORY_TEXT_SIZE 320

static void
respond_memory (RflRequest      *request,
                guint            status,
                const RflMemory *memory)
{
  GString *body = g_string_sized_new (MEMORY_TEXT_SIZE);
  RflJsonWriter writer;

  rfl_json_writer_init (&writer, body);
  write_memory (&writer, memory);
  rfl_request_respond_json_text (request, status, body);
}

/* Opens {"data":[ in @body; list_text_end() closes it and answers. */
static void
list_text_begin (RflJsonWriter *writer,
                 GString       *body)
{
  rfl_json_writer_init (writer, body);
  rfl_json_writer_begin_object (writer);
  rfl_json_writer_key (writer, "data");
  rfl_json_writer_begin_array (writer);
}

static void
list_text_end (RflJsonWriter *writer,
               RflRequest    *request,
               GString       *body)
{
  rfl_json_writer_end_array (writer);
  rfl_json_writer_end_object (writer);
  g_assert (rfl_json_writer_is_complete (writer));
  rfl_request_respond_json_text (request, SOUP_STATUS_OK, body);
}

/* The memory of the identity's user; NOT_FOUND for anyone else's. */
static RflMemory *
get_memory (RflServiceHttp  *http,
            RflIdentity      identity,
            gint64           memory_id,
            GError         **error)
{
  g_autoptr(RflMemory) memory = NULL;

  memory = rfl_memory_store_get (http->core->memories, identity.tenant_id,
                                 memory_id, error);
  if (memory == NULL)
    return NULL;

  if (memory->user_id != identity.user_id)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The memory does not exist"));
      return NULL;
    }

  return g_steal_pointer (&memory);
}

/* Reads kind, key, value, importance and confidence of a body into
 * @memory: absent members keep what @memory holds. */
static gboolean
read_memory_fields (RflJsonBody  *body,
                    RflMemory    *memory,
                    gboolean      create,
                    GError      **error)
{
  RflJsonFlags text_flags = create ? RFL_JSON_REQUIRED : RFL_JSON_NULLABLE;
  const char *kind;
  double value;

  kind = rfl_json_body_get_string (body, "kind", RFL_JSON_NULLABLE, error);
  if (kind == NULL && *error != NULL)
    return FALSE;
  if (kind != NULL && !rfl_memory_kind_from_string (kind, &memory->kind))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, "kind",
                                _("Field “%s” must be one of: %s"), "kind",
                                "fact, preference, goal, event, relationship, other");
      return FALSE;
    }

  for (guint i = 0; i < 2; i++)
    {
      const char *field = i == 0 ? "key" : "value";
      char **target = i == 0 ? &memory->key : &memory->value;
      g_autofree char *stripped = NULL;

      const char *text = rfl_json_body_get_string (body, field, text_flags, error);

      if (text == NULL && *error != NULL)
        return FALSE;
      if (text == NULL)
        continue;
      stripped = g_strstrip (g_strdup (text));
      if (*stripped == '\0')
        {
          rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                    _("Field “%s” must not be empty"), field);
          return FALSE;
        }
      g_free (*target);
      *target = g_strdup (text);
    }

  for (guint i = 0; i < 2; i++)
    {
      const char *field = i == 0 ? "importance" : "confidence";
      double *target = i == 0 ? &memory->importance : &memory->confidence;

      value = *target;
      if (!rfl_json_body_get_double (body, field, RFL_JSON_NULLABLE, &value, error))
        return FALSE;
      if (value < 0.0 || value > 1.0)
        {
          rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                    _("Field “%s” must be a number from 0 to 1"), field);
          return FALSE;
        }
      *target = value;
    }

  return TRUE;
}

/* GET /api/v1/memories */
static void
list_memories_cb (RflRequest *request,
                  gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GError) error = NULL;
  RflJsonWriter writer;
  RflIdentity identity;
  GString *body;
  guint offset, limit;

  if (!_rfl_service_http_check_available (request, http)
      || !_rfl_service_http_resolve_identity (request, http, NULL, RFL_API_SCOPE_READ, &identity)
      || !get_paging (request, &offset, &limit))
    return;

  memories = rfl_memory_store_list (http->core->memories, identity.tenant_id,
                                    identity.user_id, TRUE, RFL_MEMORY_KIND_FACT,
                                    offset, limit, &error);
  if (memories == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  body = g_string_sized_new (16 + memories->len * MEMORY_TEXT_SIZE);
  list_text_begin (&writer, body);
  for (guint i = 0; i < memories->len; i++)
    write_memory (&writer, g_ptr_array_index (memories, i));
  list_text_end (&writer, request, body);
}

/* POST /api/v1/memories */
static void
create_memory_cb (RflRequest *request,
                  gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(RflMemory) stored = NULL;
  g_autoptr(GError) error = NULL;
  RflMemoryUpsert outcome;
  RflIdentity identity;
  gint64 id;

  if (!_rfl_service_http_check_available (request, http)
      || (body = parse_body (request)) == NULL
      || !_rfl_service_http_resolve_identity (request, http, body, RFL_API_SCOPE_CHAT, &identity))
    return;

  memory = rfl_memory_new (RFL_MEMORY_KIND_FACT, "", "");
  memory->importance = 0.5;
  memory->confidence = 1.0;
  if (!read_memory_fields (body, memory, TRUE, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }

  id = rfl_memory_store_upsert (http->core->memories, identity.tenant_id,
                                identity.user_id, memory, NULL, 0, &outcome, &error);
  if (id == 0
      || (stored = get_memory (http, identity, id, &error)) == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  _rfl_service_queue_reembed (http->core);
  respond_memory (request, SOUP_STATUS_CREATED, stored);
}

/* PATCH /api/v1/memories/{id} */
static void
update_memory_cb (RflRequest *request,
                  gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  gint64 id;

  if (!_rfl_service_http_check_available (request, http)
      || !get_id_param (request, &id)
      || (body = parse_body (request)) == NULL
      || !_rfl_service_http_resolve_identity (request, http, body, RFL_API_SCOPE_CHAT, &identity))
    return;

  memory = get_memory (http, identity, id, &error);
  if (memory == NULL
      || !read_memory_fields (body, memory, FALSE, &error)
      || !rfl_memory_store_edit (http->core->memories, identity.tenant_id, memory,
                                 NULL, 0, &error))
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  g_clear_pointer (&memory, rfl_memory_free);
  memory = get_memory (http, identity, id, &error);
  if (memory == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  _rfl_service_queue_reembed (http->core);
  respond_memory (request, SOUP_STATUS_OK, memory);
}

/* DELETE /api/v1/memories/{id} */
static void
delete_memory_cb (RflRequest *request,
                  gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflMemory) memory = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  gint64 id;

  if (!_rfl_service_http_check_available (request, http)
      || !get_id_param (request, &id)
      || !_rfl_service_http_resolve_identity (request, http, NULL, RFL_API_SCOPE_CHAT, &identity))
    return;

  memory = get_memory (http, identity, id, &error);
  if (memory == NULL
      || !rfl_memory_store_delete (http->core->memories, identity.tenant_id, id, &error))
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  respond_no_content (request);
}

typedef struct
{
  SoupServerMessage *msg;        /* owned */
  RflRequest        *request;    /* the message's */
  RflServiceCore    *core;       /* held */
} SearchCall;

/* The answer of a search, written on the worker that read its rows:
 * {"data": [{"memory": {…}, "score": …}, …]}. */
static gpointer
format_hits (GPtrArray *hits,
             gpointer   user_data)
{
  GString *body = g_string_sized_new (16 + hits->len * (MEMORY_TEXT_SIZE + 48));
  RflJsonWriter writer;

  list_text_begin (&writer, body);
  for (guint i = 0; i < hits->len; i++)
    {
      RflMemoryHit *hit = g_ptr_array_index (hits, i);

      rfl_json_writer_begin_object (&writer);
      rfl_json_writer_key (&writer, "memory");
      write_memory (&writer, hit->memory);
      rfl_json_writer_key (&writer, "score");
      rfl_json_writer_double (&writer, hit->score);
      rfl_json_writer_end_object (&writer);
    }
  rfl_json_writer_end_array (&writer);
  rfl_json_writer_end_object (&writer);
  g_assert (rfl_json_writer_is_complete (&writer));

  return body;
}

static void
free_body (gpointer data)
{
  g_string_free (data, TRUE);
}

static void
search_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  SearchCall *call = user_data;
  g_autoptr(GError) error = NULL;
  GString *body;

  body = rfl_memory_store_search_format_finish (RFL_MEMORY_STORE (source),
                                                result, &error);
  if (body == NULL)
    _rfl_service_http_respond_error (call->request, error);
  else
    rfl_request_respond_json_text (call->request, SOUP_STATUS_OK, body);

  soup_server_message_unpause (call->msg);
  _rfl_service_release (call->core);
  g_object_unref (call->msg);
  g_free (call);
}

/* POST /api/v1/memories/search {query, k} */
static void
search_memories_cb (RflRequest *request,
                    gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  const char *query;
  SearchCall *call;
  gint64 k = SEARCH_DEFAULT_K;

  if (!_rfl_service_http_check_available (request, http)
      || (body = parse_body (request)) == NULL
      || !_rfl_service_http_resolve_identity (request, http, body, RFL_API_SCOPE_READ, &identity))
    return;

  query = rfl_json_body_get_string (body, "query", RFL_JSON_REQUIRED, &error);
  if (query == NULL
      || !rfl_json_body_get_int (body, "k", RFL_JSON_NULLABLE, &k, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }
  if (k < 1 || k > SEARCH_MAX_K)
    {
      g_autofree char *message =
        g_strdup_printf (_("Field “%s” must be an integer from %u to %u"),
                         "k", 1, SEARCH_MAX_K);
      respond_http_error (request, RFL_HTTP_ERROR_INVALID_REQUEST, "k", message);
      return;
    }

  /* The ranking runs on a worker; the answer is written when it is back.
   * The request lives as long as its message. */
  call = g_new0 (SearchCall, 1);
  call->msg = g_object_ref (rfl_request_get_message (request));
  call->request = request;
  call->core = http->core;
  soup_server_message_pause (call->msg);
  _rfl_service_hold (call->core);
  rfl_memory_store_search_format_async (http->core->memories, identity.tenant_id,
                                        identity.user_id, query, (guint) k,
                                        format_hits, NULL, free_body, NULL,
                                        search_done_cb, call);
}

/* Conversations ---------------------------------------------------------- */

static JsonObject *
conversation_to_json (const RflConversation *conversation)
{
  JsonObject *object = json_object_new ();

  json_object_set_int_member (object, "id", conversation->id);
  json_object_set_int_member (object, "user_id", conversation->user_id);
  json_object_set_string_member (object, "title", conversation->title);
  json_object_set_int_member (object, "created_at", conversation->created_at);
  json_object_set_int_member (object, "updated_at", conversation->updated_at);
  if (conversation->deleted_at != 0)
    json_object_set_int_member (object, "deleted_at", conversation->deleted_at);
  else
    json_object_set_null_member (object, "deleted_at");
  json_object_set_int_member (object, "n_messages", conversation->n_messages);
  json_object_set_string_member (object, "preview",
                                 conversation->preview != NULL ? conversation->preview : "");

  return object;
}

static JsonObject *
message_to_json (const RflMessage *message)
{
  JsonObject *object = json_object_new ();

  json_object_set_int_member (object, "id", message->id);
  json_object_set_string_member (object, "role", rfl_message_role_to_string (message->role));
  json_object_set_string_member (object, "status",
                                 rfl_message_status_to_string (message->status));
  json_object_set_string_member (object, "content", message->content);
  if (message->model != NULL)
    json_object_set_string_member (object, "model", message->model);
  else
    json_object_set_null_member (object, "model");
  json_object_set_int_member (object, "tokens_in", message->tokens_in);
  json_object_set_int_member (object, "tokens_out", message->tokens_out);
  if (message->error != NULL)
    json_object_set_string_member (object, "error", message->error);
  json_object_set_int_member (object, "created_at", message->created_at);

  return object;
}

/* GET /api/v1/conversations */
static void
list_conversations_cb (RflRequest *request,
                       gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  JsonArray *items;
  guint offset, limit;

  if (!_rfl_service_http_check_available (request, http)
      || !_rfl_service_http_resolve_identity (request, http, NULL, RFL_API_SCOPE_READ, &identity)
      || !get_paging (request, &offset, &limit))
    return;

  conversations = rfl_chat_store_list_conversations (http->core->chat, identity.tenant_id,
                                                     identity.user_id,
                                                     rfl_request_get_query (request, "search"),
                                                     RFL_CONVERSATION_LIST_ACTIVE,
                                                     offset, limit, &error);
  if (conversations == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  items = json_array_sized_new (conversations->len);
  for (guint i = 0; i < conversations->len; i++)
    json_array_add_object_element (items,
                                   conversation_to_json (g_ptr_array_index (conversations, i)));
  respond_list (request, items);
}

/* POST /api/v1/conversations {title?} */
static void
create_conversation_cb (RflRequest *request,
                        gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  const char *title;
  gint64 id;

  if (!_rfl_service_http_check_available (request, http)
      || (body = parse_body (request)) == NULL
      || !_rfl_service_http_resolve_identity (request, http, body, RFL_API_SCOPE_CHAT, &identity))
    return;

  title = rfl_json_body_get_string (body, "title", RFL_JSON_NULLABLE, &error);
  if (error != NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  id = rfl_chat_store_create_conversation (http->core->chat, identity.tenant_id,
                                           identity.user_id, title, &error);
  if (id == 0
      || (conversation = _rfl_service_get_conversation (http->core, identity, id,
                                                        &error)) == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  respond_object (request, SOUP_STATUS_CREATED, conversation_to_json (conversation));
}

/* The conversation of the route's {id}, or answers 404. */
static RflConversation *
get_route_conversation (RflRequest     *request,
                        RflServiceHttp *http,
                        RflJsonBody    *body,
                        RflApiScopes    scope,
                        RflIdentity    *identity)
{
  g_autoptr(GError) error = NULL;
  RflConversation *conversation;
  gint64 id;

  if (!get_id_param (request, &id)
      || !_rfl_service_http_resolve_identity (request, http, body, scope, identity))
    return NULL;

  conversation = _rfl_service_get_conversation (http->core, *identity, id, &error);
  if (conversation != NULL && conversation->deleted_at != 0)
    {
      g_clear_pointer (&conversation, rfl_conversation_free);
      g_set_error_literal (&error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The conversation does not exist"));
    }
  if (conversation == NULL)
    _rfl_service_http_respond_error (request, error);

  return conversation;
}

/* GET /api/v1/conversations/{id} */
static void
get_conversation_cb (RflRequest *request,
                     gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflConversation) conversation = NULL;
  RflIdentity identity;

  if (!_rfl_service_http_check_available (request, http)
      || (conversation = get_route_conversation (request, http, NULL, RFL_API_SCOPE_READ,
                                                 &identity)) == NULL)
    return;

  respond_object (request, SOUP_STATUS_OK, conversation_to_json (conversation));
}

/* PATCH /api/v1/conversations/{id} {title} */
static void
update_conversation_cb (RflRequest *request,
                        gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  const char *title;

  if (!_rfl_service_http_check_available (request, http)
      || (body = parse_body (request)) == NULL
      || (conversation = get_route_conversation (request, http, body, RFL_API_SCOPE_CHAT,
                                                 &identity)) == NULL)
    return;

  title = rfl_json_body_get_string (body, "title", RFL_JSON_REQUIRED, &error);
  if (title == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  if (!rfl_chat_store_rename_conversation (http->core->chat, identity.tenant_id,
                                           conversation->id, title, &error))
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  g_clear_pointer (&conversation, rfl_conversation_free);
  conversation = get_route_conversation (request, http, body, RFL_API_SCOPE_CHAT,
                                         &identity);
  if (conversation != NULL)
    respond_object (request, SOUP_STATUS_OK, conversation_to_json (conversation));
}

/* DELETE /api/v1/conversations/{id}: restorable in the application until
 * it is purged. */
static void
delete_conversation_cb (RflRequest *request,
                        gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;

  if (!_rfl_service_http_check_available (request, http)
      || (conversation = get_route_conversation (request, http, NULL, RFL_API_SCOPE_CHAT,
                                                 &identity)) == NULL)
    return;

  if (!rfl_chat_store_delete_conversation (http->core->chat, identity.tenant_id,
                                           conversation->id, &error))
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  respond_no_content (request);
}

/* GET /api/v1/conversations/{id}/messages: the latest @limit, oldest
 * first; ?before_id pages back. */
static void
list_messages_cb (RflRequest *request,
                  gpointer    user_data)
{
  RflServiceHttp *http = user_data;
  g_autoptr(RflConversation) conversation = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;
  const char *before_text;
  guint64 before_id = 0;
  guint offset, limit;
  JsonArray *items;

  if (!_rfl_service_http_check_available (request, http)
      || (conversation = get_route_conversation (request, http, NULL, RFL_API_SCOPE_READ,
                                                 &identity)) == NULL
      || !get_paging (request, &offset, &limit))
    return;

  before_text = rfl_request_get_query (request, "before_id");
  if (before_text != NULL
      && !g_ascii_string_to_unsigned (before_text, 10, 1, G_MAXINT64, &before_id, NULL))
    {
      g_autofree char *message =
        g_strdup_printf (_("Field “%s” must be a positive integer"), "before_id");
      respond_http_error (request, RFL_HTTP_ERROR_INVALID_REQUEST, "before_id", message);
      return;
    }

  messages = rfl_chat_store_list_messages (http->core->chat, identity.tenant_id,
                                           conversation->id, (gint64) before_id,
                                           limit, &error);
  if (messages == NULL)
    {
      _rfl_service_http_respond_error (request, error);
      return;
    }

  items = json_array_sized_new (messages->len);
  for (guint i = 0; i < messages->len; i++)
    {
      RflMessage *message = g_ptr_array_index (messages, i);

      if (message->role == RFL_MESSAGE_ROLE_USER
          || message->role == RFL_MESSAGE_ROLE_ASSISTANT)
        json_array_add_object_element (items, message_to_json (message));
    }
  respond_list (request, items);
}

void
_rfl_service_http_add_data_routes (RflRouter      *router,
                                   RflServiceHttp *http)
{
  static const struct
  {
    const char      *method;
    const char      *pattern;
    RflRouteHandler  handler;
  } routes[] = {
    { "GET", "/api/v1/memories", list_memories_cb },
    { "POST", "/api/v1/memories", create_memory_cb },
    { "POST", "/api/v1/memories/search", search_memories_cb },
    { "PATCH", "/api/v1/memories/{id}", update_memory_cb },
    { "DELETE", "/api/v1/memories/{id}", delete_memory_cb },
    { "GET", "/api/v1/conversations", list_conversations_cb },
    { "POST", "/api/v1/conversations", create_conversation_cb },
    { "GET", "/api/v1/conversations/{id}", get_conversation_cb },
    { "PATCH", "/api/v1/conversations/{id}", update_conversation_cb },
    { "DELETE", "/api/v1/conversations/{id}", delete_conversation_cb },
    { "GET", "/api/v1/conversations/{id}/messages", list_messages_cb },
  };

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      RflRoute *route = rfl_router_add (router, routes[i].method, routes[i].pattern,
                                        RFL_ROUTE_AUTH_USER, routes[i].handler, http, NULL);

      rfl_route_set_body_limit (route, DATA_BODY_LIMIT);
    }
}
