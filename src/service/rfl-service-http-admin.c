/* rfl-service-http-admin.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-service-http-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"
#include "rfl-service-admin.h"
#include "server/rfl-http-error.h"
#include "server/rfl-json-body.h"
#include "store/rfl-audit-log.h"

/* Administration over HTTP: the calls of rfl-service-admin.c, made as the
 * signed-in administrator (the route needs an admin role and the admin
 * scope). A tenant administrator sees only their own tenant: another
 * tenant is answered like one that does not exist, 404. Every change is
 * audited by those calls. */

#define ADMIN_BODY_LIMIT  ((gsize) 64 * 1024)

typedef void (*AdminRespond) (SoupServerMessage *msg,
                              RflAdminResult    *result,
                              gpointer           data);

typedef struct
{
  SoupServerMessage *msg;         /* owned */
  RflServiceHttp    *http;
  AdminRespond       respond;
  gint64             id;          /* what the response names */
  RflAuditFilter     filter;      /* GET /audit?format=csv */
  gboolean           csv;
} AdminCall;

static void
admin_call_free (AdminCall *call)
{
  g_object_unref (call->msg);
  g_free ((char *) call->filter.action);
  g_free ((char *) call->filter.search);
  g_free (call);
}

static void
respond_node (SoupServerMessage *msg,
              guint              status,
              JsonNode          *node)
{
  char *body = json_to_string (node, FALSE);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    body, strlen (body));
}

static void
respond_admin_error (SoupServerMessage *msg,
                     const GError      *error)
{
  /* A member asking is refused like any non-administrator. */
  if (error->domain == RFL_ERROR && error->code == RFL_ERROR_UNAUTHORIZED)
    rfl_http_error_respond (msg, RFL_HTTP_ERROR_FORBIDDEN, error->message);
  else
    rfl_http_error_respond_error (msg, error);
}

static void
admin_done_cb (GObject      *source,
               GAsyncResult *async_result,
               gpointer      user_data)
{
  AdminCall *call = user_data;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_service_admin_finish (RFL_SERVICE (source), async_result, &error);
  if (result == NULL)
    respond_admin_error (call->msg, error);
  else
    call->respond (call->msg, result, call);

  soup_server_message_unpause (call->msg);
  admin_call_free (call);
}

/* Starts @admin for the request's administrator; @respond answers with
 * its result. */
static void
run_admin (RflRequest            *request,
           RflServiceHttp        *http,
           const RflAdminRequest *admin,
           AdminRespond           respond,
           AdminCall             *call)
{
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);
  g_autoptr(RflService) service = NULL;
  g_autoptr(GError) error = NULL;
  RflIdentity identity;

  g_assert (principal != NULL);

  if (call == NULL)
    call = g_new0 (AdminCall, 1);
  call->msg = g_object_ref (rfl_request_get_message (request));
  call->http = http;
  call->respond = respond;

  service = g_weak_ref_get (&http->service);
  if (service == NULL)
    {
      g_set_error_literal (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_NOT_READY,
                           _("The service is not running"));
      rfl_request_respond_error (request, error);
      admin_call_free (call);
      return;
    }

  identity.tenant_id = principal->tenant_id;
  identity.user_id = principal->user_id;
  soup_server_message_pause (call->msg);
  rfl_service_admin_async (service, identity, admin, NULL, admin_done_cb, call);
}

/* Reading the request ------------------------------------------------- */

static gboolean
parse_id (const char *text,
          gint64     *out)
{
  guint64 value = 0;

  if (text == NULL
      || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &value, NULL))
    return FALSE;

  *out = (gint64) value;
  return TRUE;
}

/* The {id} of the path; an id that cannot exist, or another tenant for a
 * tenant administrator, is answered 404 before the body is looked at. */
static gboolean
get_path_id (RflRequest *request,
             const char *name,
             gint64     *out)
{
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);
  g_autoptr(GError) error = NULL;

  if (parse_id (rfl_request_get_param (request, name), out)
      && (!g_str_equal (name, "id") || principal->role == RFL_ROLE_SYSTEM_ADMIN
          || *out == principal->tenant_id))
    return TRUE;

  g_set_error_literal (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_NOT_FOUND,
                       name[0] == 'k' ? _("This API key does not exist")
                                      : _("This tenant does not exist"));
  rfl_request_respond_error (request, error);
  return FALSE;
}

/* A ?name=N query value (ms or an id), or answers 400. */
static gboolean
get_query_int (RflRequest *request,
               const char *name,
               gint64     *out)
{
  const char *text = rfl_request_get_query (request, name);
  g_autoptr(GError) error = NULL;
  gint64 value;

  if (text == NULL)
    return TRUE;

  if (g_ascii_string_to_signed (text, 10, 0, G_MAXINT64, &value, NULL))
    {
      *out = value;
      return TRUE;
    }

  rfl_http_error_set_field (&error, RFL_HTTP_ERROR_INVALID_REQUEST, name,
                            _("“%s” must be a whole number that is not negative"),
                            name);
  rfl_request_respond_error (request, error);
  return FALSE;
}

static RflJsonBody *
parse_body (RflRequest *request)
{
  g_autoptr(GError) error = NULL;
  RflJsonBody *body;

  body = rfl_json_body_parse_message (rfl_request_get_message (request),
                                      ADMIN_BODY_LIMIT, &error);
  if (body == NULL)
    rfl_request_respond_error (request, error);
  return body;
}

static void
respond_bad_field (RflRequest *request,
                   const char *field,
                   const char *message)
{
  g_autoptr(GError) error = NULL;

  rfl_http_error_set_field (&error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                            "%s", message);
  rfl_request_respond_error (request, error);
}

/* Answers ------------------------------------------------------------ */

static void
respond_no_content (SoupServerMessage *msg,
                    RflAdminResult    *result,
                    gpointer           data)
{
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void
respond_created (SoupServerMessage *msg,
                 RflAdminResult    *result,
                 gpointer           data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, result->id);
  if (result->secret != NULL)
    {
      /* Shown once: the key is stored only as a hash. */
      json_builder_set_member_name (builder, "key");
      json_builder_add_string_value (builder, result->secret);
    }
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  respond_node (msg, SOUP_STATUS_CREATED, node);
}

static void
add_tenant (JsonBuilder          *builder,
            const RflAdminTenant *tenant)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, tenant->id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, tenant->name);
  json_builder_set_member_name (builder, "use_case");
  json_builder_add_string_value (builder, tenant->use_case);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, tenant->status);
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, tenant->created_at);
  json_builder_set_member_name (builder, "n_users");
  json_builder_add_int_value (builder, tenant->n_users);
  json_builder_end_object (builder);
}

static void
add_user (JsonBuilder        *builder,
          const RflAdminUser *user)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, user->id);
  json_builder_set_member_name (builder, "tenant_id");
  json_builder_add_int_value (builder, user->tenant_id);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, user->email);
  json_builder_set_member_name (builder, "display_name");
  json_builder_add_string_value (builder, user->display_name);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, rfl_role_to_string (user->role));
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, user->status);
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, user->created_at);
  json_builder_end_object (builder);
}

static void
add_key (JsonBuilder     *builder,
         const RflApiKey *key)
{
  g_autofree char *scopes = rfl_api_scopes_to_string (key->scopes);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, key->id);
  json_builder_set_member_name (builder, "tenant_id");
  json_builder_add_int_value (builder, key->tenant_id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, key->name);
  json_builder_set_member_name (builder, "prefix");
  json_builder_add_string_value (builder, key->prefix);
  json_builder_set_member_name (builder, "scopes");
  json_builder_add_string_value (builder, scopes);
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, key->created_at);
  json_builder_set_member_name (builder, "last_used_at");
  if (key->last_used_at != 0)
    json_builder_add_int_value (builder, key->last_used_at);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "revoked_at");
  if (key->revoked_at != 0)
    json_builder_add_int_value (builder, key->revoked_at);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
}

static void
add_audit_entry (JsonBuilder         *builder,
                 const RflAuditEntry *entry)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, entry->id);
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, entry->created_at);
  json_builder_set_member_name (builder, "tenant_id");
  json_builder_add_int_value (builder, entry->tenant_id);
  json_builder_set_member_name (builder, "actor_user_id");
  json_builder_add_int_value (builder, entry->actor_user_id);
  json_builder_set_member_name (builder, "actor_api_key_id");
  json_builder_add_int_value (builder, entry->actor_api_key_id);
  json_builder_set_member_name (builder, "action");
  json_builder_add_string_value (builder, entry->action);
  json_builder_set_member_name (builder, "target");
  if (entry->target != NULL)
    json_builder_add_string_value (builder, entry->target);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "detail");
  if (entry->detail != NULL)
    json_builder_add_string_value (builder, entry->detail);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "hash");
  json_builder_add_string_value (builder, entry->hash);
  json_builder_end_object (builder);
}

typedef void (*AddItem) (JsonBuilder *builder,
                         gconstpointer item);

static void
respond_list (SoupServerMessage *msg,
              GPtrArray         *items,
              AddItem            add)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "data");
  json_builder_begin_array (builder);
  for (guint i = 0; items != NULL && i < items->len; i++)
    add (builder, g_ptr_array_index (items, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  respond_node (msg, SOUP_STATUS_OK, node);
}

static void
respond_tenants (SoupServerMessage *msg,
                 RflAdminResult    *result,
                 gpointer           data)
{
  respond_list (msg, result->items, (AddItem) add_tenant);
}

static void
respond_tenant (SoupServerMessage *msg,
                RflAdminResult    *result,
                gpointer           data)
{
  AdminCall *call = data;

  for (guint i = 0; i < result->items->len; i++)
    {
      const RflAdminTenant *tenant = g_ptr_array_index (result->items, i);

      if (tenant->id == call->id)
        {
          g_autoptr(JsonBuilder) builder = json_builder_new ();
          g_autoptr(JsonNode) node = NULL;

          add_tenant (builder, tenant);
          node = json_builder_get_root (builder);
          respond_node (msg, SOUP_STATUS_OK, node);
          return;
        }
    }

  rfl_http_error_respond (msg, RFL_HTTP_ERROR_NOT_FOUND,
                          _("This tenant does not exist"));
}

static void
respond_users (SoupServerMessage *msg,
               RflAdminResult    *result,
               gpointer           data)
{
  respond_list (msg, result->items, (AddItem) add_user);
}

static void
respond_keys (SoupServerMessage *msg,
              RflAdminResult    *result,
              gpointer           data)
{
  respond_list (msg, result->items, (AddItem) add_key);
}

static void
respond_quotas (SoupServerMessage *msg,
                RflAdminResult    *result,
                gpointer           data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "requests_per_minute");
  json_builder_add_int_value (builder, result->limits.requests_per_minute);
  json_builder_set_member_name (builder, "tokens_per_day");
  json_builder_add_int_value (builder, (gint64) result->limits.tokens_per_day);
  json_builder_set_member_name (builder, "tokens_per_month");
  json_builder_add_int_value (builder, (gint64) result->limits.tokens_per_month);
  json_builder_set_member_name (builder, "max_concurrent");
  json_builder_add_int_value (builder, result->limits.max_concurrent);
  json_builder_set_member_name (builder, "day_used");
  json_builder_add_int_value (builder, (gint64) result->day_used);
  json_builder_set_member_name (builder, "month_used");
  json_builder_add_int_value (builder, (gint64) result->month_used);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  respond_node (msg, SOUP_STATUS_OK, node);
}

/* The numbers of a usage row, the same in every report. */
static void
add_usage_numbers (JsonBuilder *builder,
                   guint64      n_calls,
                   guint64      tokens_in,
                   guint64      tokens_out,
                   guint64      latency_ms,
                   guint64      cost_micro_usd,
                   guint64      n_unpriced)
{
  const struct { const char *name; guint64 value; } numbers[] = {
    { "calls", n_calls },
    { "tokens_in", tokens_in },
    { "tokens_out", tokens_out },
    { "latency_ms", latency_ms },
    { "cost_micro_usd", cost_micro_usd },
    { "unpriced_calls", n_unpriced },
  };

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      json_builder_set_member_name (builder, numbers[i].name);
      json_builder_add_int_value (builder, (gint64) numbers[i].value);
    }
}

static void
respond_usage (SoupServerMessage *msg,
               RflAdminResult    *result,
               gpointer           data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "data");
  json_builder_begin_array (builder);
  for (guint i = 0; i < result->items->len; i++)
    {
      const RflUsageSum *sum = g_ptr_array_index (result->items, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "day");
      json_builder_add_string_value (builder, sum->day);
      json_builder_set_member_name (builder, "provider");
      json_builder_add_string_value (builder, sum->provider);
      json_builder_set_member_name (builder, "model");
      json_builder_add_string_value (builder, sum->model);
      add_usage_numbers (builder, sum->n_calls, sum->tokens_in, sum->tokens_out,
                         sum->latency_ms, sum->cost_micro_usd, sum->n_unpriced);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "rejections");
  json_builder_begin_array (builder);
  for (guint i = 0; result->rejections != NULL && i < result->rejections->len; i++)
    {
      const RflAdminRejections *sum = g_ptr_array_index (result->rejections, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "day");
      json_builder_add_string_value (builder, sum->day);
      json_builder_set_member_name (builder, "limit");
      json_builder_add_string_value (builder, sum->limit);
      json_builder_set_member_name (builder, "count");
      json_builder_add_int_value (builder, (gint64) sum->count);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  respond_node (msg, SOUP_STATUS_OK, node);
}

static void
add_breakdown_row (JsonBuilder             *builder,
                   const RflUsageBreakdown *row)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "label");
  json_builder_add_string_value (builder, row->label);
  json_builder_set_member_name (builder, "id");
  if (row->id != 0)
    json_builder_add_int_value (builder, row->id);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "detail");
  if (row->detail != NULL)
    json_builder_add_string_value (builder, row->detail);
  else
    json_builder_add_null_value (builder);
  add_usage_numbers (builder, row->n_calls, row->tokens_in, row->tokens_out,
                     row->latency_ms, row->cost_micro_usd, row->n_unpriced);
  json_builder_end_object (builder);
}

static void
respond_breakdown (SoupServerMessage *msg,
                   RflAdminResult    *result,
                   gpointer           data)
{
  respond_list (msg, result->items, (AddItem) add_breakdown_row);
}

static void
respond_prices (SoupServerMessage *msg,
                RflAdminResult    *result,
                gpointer           data)
{
  g_autoptr(JsonNode) node = json_from_string (result->text, NULL);

  if (node == NULL)
    rfl_http_error_respond (msg, RFL_HTTP_ERROR_INTERNAL,
                            _("The price table cannot be read"));
  else
    respond_node (msg, SOUP_STATUS_OK, node);
}

static void
add_tool (JsonBuilder             *builder,
          const RflToolPermission *tool)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "tool");
  json_builder_add_string_value (builder, tool->tool);
  json_builder_set_member_name (builder, "enabled");
  json_builder_add_boolean_value (builder, tool->enabled);
  json_builder_set_member_name (builder, "default");
  json_builder_add_boolean_value (builder, tool->is_default);
  json_builder_end_object (builder);
}

static void
respond_tools (SoupServerMessage *msg,
               RflAdminResult    *result,
               gpointer           data)
{
  respond_list (msg, result->items, (AddItem) add_tool);
}

static void
respond_audit (SoupServerMessage *msg,
               RflAdminResult    *result,
               gpointer           data)
{
  AdminCall *call = data;
  g_autoptr(RflAuditLog) log = NULL;
  g_autoptr(GOutputStream) output = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (!call->csv)
    {
      respond_list (msg, result->items, (AddItem) add_audit_entry);
      return;
    }

  /* The call above checked who may read which tenant's entries; the
   * export runs on the service thread too. */
  log = rfl_audit_log_new (call->http->core->db);
  output = g_memory_output_stream_new_resizable ();
  if (!rfl_audit_log_export_csv (log, &call->filter, output, NULL, &error)
      || !g_output_stream_close (output, NULL, &error))
    {
      rfl_http_error_respond_error (msg, error);
      return;
    }

  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/csv; charset=utf-8",
                                    SOUP_MEMORY_COPY,
                                    g_bytes_get_data (bytes, NULL),
                                    g_bytes_get_size (bytes));
}

/* Handlers ----------------------------------------------------------- */

static void
tenants_list_cb (RflRequest *request,
                 gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_LIST_TENANTS };

  if (_rfl_service_http_check_available (request, user_data))
    run_admin (request, user_data, &admin, respond_tenants, NULL);
}

static void
tenants_create_cb (RflRequest *request,
                   gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_CREATE_TENANT };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;

  if (!_rfl_service_http_check_available (request, user_data)
      || (body = parse_body (request)) == NULL)
    return;

  if ((admin.name = rfl_json_body_get_string (body, "name", RFL_JSON_REQUIRED,
                                              &error)) == NULL
      || (admin.use_case = rfl_json_body_get_string (body, "use_case",
                                                     RFL_JSON_REQUIRED,
                                                     &error)) == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  run_admin (request, user_data, &admin, respond_created, NULL);
}

static void
tenant_get_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_LIST_TENANTS };
  AdminCall *call;
  gint64 id;

  if (!_rfl_service_http_check_available (request, user_data)
      || !get_path_id (request, "id", &id))
    return;

  call = g_new0 (AdminCall, 1);
  call->id = id;
  run_admin (request, user_data, &admin, respond_tenant, call);
}

static void
tenant_update_cb (RflRequest *request,
                  gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_UPDATE_TENANT };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;

  if (!_rfl_service_http_check_available (request, user_data)
      || !get_path_id (request, "id", &admin.tenant_id)
      || (body = parse_body (request)) == NULL)
    return;

  admin.name = rfl_json_body_get_string (body, "name", RFL_JSON_NULLABLE, &error);
  if (error == NULL)
    admin.use_case = rfl_json_body_get_string (body, "use_case",
                                               RFL_JSON_NULLABLE, &error);
  if (error != NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  run_admin (request, user_data, &admin, respond_no_content, NULL);
}

static void
tenant_status_cb (RflRequest *request,
                  RflAdminOp  op,
                  gpointer    user_data)
{
  RflAdminRequest admin = { .op = op };

  if (_rfl_service_http_check_available (request, user_data)
      && get_path_id (request, "id", &admin.tenant_id))
    run_admin (request, user_data, &admin, respond_no_content, NULL);
}

static void
tenant_delete_cb (RflRequest *request,
                  gpointer    user_data)
{
  tenant_status_cb (request, RFL_ADMIN_DELETE_TENANT, user_data);
}

static void
tenant_suspend_cb (RflRequest *request,
                   gpointer    user_data)
{
  tenant_status_cb (request, RFL_ADMIN_SUSPEND_TENANT, user_data);
}

static void
users_list_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_LIST_USERS };

  if (_rfl_service_http_check_available (request, user_data)
      && get_path_id (request, "id", &admin.tenant_id))
    run_admin (request, user_data, &admin, respond_users, NULL);
}

static void
users_create_cb (RflRequest *request,
                 gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_CREATE_USER };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  const char *role = NULL;

  if (!_rfl_service_http_check_available (request, user_data)
      || !get_path_id (request, "id", &admin.tenant_id)
      || (body = parse_body (request)) == NULL)
    return;

  if ((admin.email = rfl_json_body_get_string (body, "email", RFL_JSON_REQUIRED,
                                               &error)) == NULL
      || (admin.password = rfl_json_body_get_string (body, "password",
                                                     RFL_JSON_REQUIRED,
                                                     &error)) == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  admin.name = rfl_json_body_get_string (body, "display_name",
                                         RFL_JSON_NULLABLE, &error);
  if (error == NULL)
    role = rfl_json_body_get_string (body, "role", RFL_JSON_NULLABLE, &error);
  if (error != NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  admin.role = RFL_ROLE_MEMBER;
  if (role != NULL && !rfl_role_from_string (role, &admin.role))
    {
      respond_bad_field (request, "role",
                         _("The role must be member, tenant_admin or "
                           "system_admin"));
      return;
    }

  run_admin (request, user_data, &admin, respond_created, NULL);
}

static void
keys_list_cb (RflRequest *request,
              gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_LIST_API_KEYS };

  if (_rfl_service_http_check_available (request, user_data)
      && get_path_id (request, "id", &admin.tenant_id))
    run_admin (request, user_data, &admin, respond_keys, NULL);
}

static void
keys_create_cb (RflRequest *request,
                gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_CREATE_API_KEY };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  const char *scopes;

  if (!_rfl_service_http_check_available (request, user_data)
      || !get_path_id (request, "id", &admin.tenant_id)
      || (body = parse_body (request)) == NULL)
    return;

  if ((admin.name = rfl_json_body_get_string (body, "name", RFL_JSON_REQUIRED,
                                              &error)) == NULL
      || (scopes = rfl_json_body_get_string (body, "scopes", RFL_JSON_REQUIRED,
                                             &error)) == NULL)
    {
      rfl_request_respond_error (request, error);
      return;
    }

  if (!rfl_api_scopes_parse (scopes, &admin.scopes, &error))
    {
      respond_bad_field (request, "scopes", error->message);
      return;
    }

  run_admin (request, user_data, &admin, respond_created, NULL);
}

static void
key_revoke_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_REVOKE_API_KEY };

  if (_rfl_service_http_check_available (request, user_data)
      && get_path_id (request, "id", &admin.tenant_id)
      && get_path_id (request, "key_id", &admin.target_id))
    run_admin (request, user_data, &admin, respond_no_content, NULL);
}

static void
quotas_get_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_GET_QUOTAS };

  if (_rfl_service_http_check_available (request, user_data)
      && get_path_id (request, "id", &admin.tenant_id))
    run_admin (request, user_data, &admin, respond_quotas, NULL);
}

static gboolean
get_limit (RflJsonBody  *body,
           const char   *field,
           guint64       max,
           guint64      *out,
           GError      **error)
{
  gint64 value = 0;

  if (!rfl_json_body_get_int (body, field, RFL_JSON_REQUIRED, &value, error))
    return FALSE;

  if (value < 0 || (guint64) value > max)
    {
      g_autofree char *highest = g_strdup_printf ("%" G_GUINT64_FORMAT, max);

      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                _("“%s” must be a whole number from 0 (unlimited) "
                                  "to %s"), field, highest);
      return FALSE;
    }

  *out = (guint64) value;
  return TRUE;
}

static void
quotas_set_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_SET_QUOTAS };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;
  guint64 rpm = 0, day = 0, month = 0, concurrent = 0;

  if (!_rfl_service_http_check_available (request, user_data)
      || !get_path_id (request, "id", &admin.tenant_id)
      || (body = parse_body (request)) == NULL)
    return;

  if (!get_limit (body, "requests_per_minute", G_MAXUINT, &rpm, &error)
      || !get_limit (body, "tokens_per_day", G_MAXINT64, &day, &error)
      || !get_limit (body, "tokens_per_month", G_MAXINT64, &month, &error)
      || !get_limit (body, "max_concurrent", G_MAXUINT, &concurrent, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }

  admin.limits.requests_per_minute = (guint) rpm;
  admin.limits.tokens_per_day = day;
  admin.limits.tokens_per_month = month;
  admin.limits.max_concurrent = (guint) concurrent;
  run_admin (request, user_data, &admin, respond_no_content, NULL);
}

/* ?tenant_id= (default: the administrator's own; 0: every tenant, for a
 * system administrator's audit log), ?since=, ?until=. */
static gboolean
read_range (RflRequest      *request,
            RflAdminRequest *admin)
{
  const RflAuthPrincipal *principal = _rfl_service_http_get_principal (request);

  g_autoptr(GError) error = NULL;

  admin->tenant_id = principal->tenant_id;
  if (!get_query_int (request, "tenant_id", &admin->tenant_id)
      || !get_query_int (request, "since", &admin->since)
      || !get_query_int (request, "until", &admin->until))
    return FALSE;

  /* A tenant administrator reads only their own tenant's usage and log. */
  if (principal->role != RFL_ROLE_SYSTEM_ADMIN
      && admin->tenant_id != principal->tenant_id)
    {
      g_set_error_literal (&error, RFL_HTTP_ERROR, RFL_HTTP_ERROR_NOT_FOUND,
                           _("This tenant does not exist"));
      rfl_request_respond_error (request, error);
      return FALSE;
    }

  return TRUE;
}

static void
usage_cb (RflRequest *request,
          gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_SUM_USAGE };

  if (_rfl_service_http_check_available (request, user_data)
      && read_range (request, &admin))
    run_admin (request, user_data, &admin, respond_usage, NULL);
}

static void
breakdown_cb (RflRequest *request,
              gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_USAGE_BREAKDOWN };
  const char *group = rfl_request_get_query (request, "group_by");

  if (!_rfl_service_http_check_available (request, user_data)
      || !read_range (request, &admin))
    return;

  if (!rfl_usage_group_from_string (group, &admin.group))
    {
      respond_bad_field (request, "group_by",
                         _("“group_by” must be day, model, user or key"));
      return;
    }

  run_admin (request, user_data, &admin, respond_breakdown, NULL);
}

static void
prices_get_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_GET_PRICES };

  if (_rfl_service_http_check_available (request, user_data))
    run_admin (request, user_data, &admin, respond_prices, NULL);
}

static void
prices_set_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_SET_PRICES };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  if (!_rfl_service_http_check_available (request, user_data)
      || (body = parse_body (request)) == NULL)
    return;

  /* The table checks itself and names the entry that is wrong. */
  root = json_node_init_object (json_node_alloc (), rfl_json_body_get_root (body));
  text = json_to_string (root, FALSE);
  admin.text = text;
  run_admin (request, user_data, &admin, respond_prices, NULL);
}

static void
tools_list_cb (RflRequest *request,
               gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_LIST_TOOLS };

  if (_rfl_service_http_check_available (request, user_data)
      && get_path_id (request, "id", &admin.tenant_id))
    run_admin (request, user_data, &admin, respond_tools, NULL);
}

static void
tool_set_cb (RflRequest *request,
             gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_SET_TOOL };
  g_autoptr(RflJsonBody) body = NULL;
  g_autoptr(GError) error = NULL;

  if (!_rfl_service_http_check_available (request, user_data)
      || !get_path_id (request, "id", &admin.tenant_id)
      || (body = parse_body (request)) == NULL)
    return;

  if (!rfl_json_body_get_boolean (body, "enabled", RFL_JSON_REQUIRED,
                                  &admin.enabled, &error))
    {
      rfl_request_respond_error (request, error);
      return;
    }

  admin.name = rfl_request_get_param (request, "tool");
  run_admin (request, user_data, &admin, respond_no_content, NULL);
}

static void
audit_cb (RflRequest *request,
          gpointer    user_data)
{
  RflAdminRequest admin = { .op = RFL_ADMIN_LIST_AUDIT };
  const char *format = rfl_request_get_query (request, "format");
  AdminCall *call;

  if (!_rfl_service_http_check_available (request, user_data)
      || !read_range (request, &admin))
    return;

  if (format != NULL && !g_str_equal (format, "json")
      && !g_str_equal (format, "csv"))
    {
      respond_bad_field (request, "format", _("The format must be json or csv"));
      return;
    }

  admin.name = rfl_request_get_query (request, "action");
  admin.search = rfl_request_get_query (request, "q");
  call = g_new0 (AdminCall, 1);
  call->csv = g_strcmp0 (format, "csv") == 0;
  call->filter.tenant_id = admin.tenant_id;
  call->filter.action = g_strdup (admin.name);
  call->filter.since = admin.since;
  call->filter.until = admin.until;
  call->filter.search = g_strdup (admin.search);
  run_admin (request, user_data, &admin, respond_audit, call);
}

void
_rfl_service_http_add_admin_routes (RflRouter      *router,
                                    RflServiceHttp *http)
{
  static const struct
  {
    const char      *method;
    const char      *pattern;
    RflRouteHandler  handler;
  } routes[] = {
    { "GET", "/api/v1/admin/tenants", tenants_list_cb },
    { "POST", "/api/v1/admin/tenants", tenants_create_cb },
    { "GET", "/api/v1/admin/tenants/{id}", tenant_get_cb },
    { "PATCH", "/api/v1/admin/tenants/{id}", tenant_update_cb },
    { "DELETE", "/api/v1/admin/tenants/{id}", tenant_delete_cb },
    { "POST", "/api/v1/admin/tenants/{id}/suspend", tenant_suspend_cb },
    { "GET", "/api/v1/admin/tenants/{id}/users", users_list_cb },
    { "POST", "/api/v1/admin/tenants/{id}/users", users_create_cb },
    { "GET", "/api/v1/admin/tenants/{id}/keys", keys_list_cb },
    { "POST", "/api/v1/admin/tenants/{id}/keys", keys_create_cb },
    { "DELETE", "/api/v1/admin/tenants/{id}/keys/{key_id}", key_revoke_cb },
    { "GET", "/api/v1/admin/tenants/{id}/quotas", quotas_get_cb },
    { "PUT", "/api/v1/admin/tenants/{id}/quotas", quotas_set_cb },
    { "GET", "/api/v1/admin/tenants/{id}/tools", tools_list_cb },
    { "PUT", "/api/v1/admin/tenants/{id}/tools/{tool}", tool_set_cb },
    { "GET", "/api/v1/admin/usage", usage_cb },
    { "GET", "/api/v1/admin/usage/breakdown", breakdown_cb },
    { "GET", "/api/v1/admin/prices", prices_get_cb },
    { "PUT", "/api/v1/admin/prices", prices_set_cb },
    { "GET", "/api/v1/admin/audit", audit_cb },
  };

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      RflRoute *route = rfl_router_add (router, routes[i].method, routes[i].pattern,
                                        RFL_ROUTE_AUTH_ADMIN, routes[i].handler,
                                        http, NULL);

      rfl_route_set_body_limit (route, ADMIN_BODY_LIMIT);
    }
}
