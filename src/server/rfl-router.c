/* rfl-router.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-router.h"

#include <glib/gi18n.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "core/rfl-error.h"
#include "rfl-http-error.h"

#define OPENAPI_PATH       RESOURCE_PREFIX "/openapi/"
#define MAX_SEGMENTS       32
#define OPENAPI_VERSION    "3.1.0"

struct _RflRoute
{
  char            *method;       /* owned, upper case */
  char            *pattern;      /* owned */
  char           **segments;     /* owned: the pattern split at '/' */
  guint            n_segments;
  guint32          param_mask;   /* bit i: segment i is a {parameter} */
  RflRouteAuth     auth;
  gsize            body_limit;
  RflRouteHandler  handler;
  gpointer         user_data;
  GDestroyNotify   destroy;
};

struct _RflRouter
{
  GObject    parent_instance;

  GPtrArray *routes;        /* owned, of RflRoute */
  guint      generation;
};

struct _RflRequest
{
  SoupServerMessage *msg;      /* borrowed: the request lives as long as it */
  RflRoute          *route;    /* borrowed from the router */
  GHashTable        *params;   /* owned, nullable */
  GHashTable        *query;    /* owned reference, nullable */
  gboolean           held;     /* its socket is corked until it is sent */
};

G_DEFINE_FINAL_TYPE (RflRouter, rfl_router, G_TYPE_OBJECT)

/* The OpenAPI names of the operations a path item can hold. */
static const char * const operation_names[] = {
  "get", "put", "post", "delete", "options", "head", "patch", "trace", NULL,
};

static void
route_free (gpointer data)
{
  RflRoute *route = data;

  if (route->destroy != NULL)
    route->destroy (route->user_data);
  g_free (route->method);
  g_free (route->pattern);
  g_strfreev (route->segments);
  g_free (route);
}

static void
rfl_router_finalize (GObject *object)
{
  RflRouter *self = (RflRouter *)object;

  g_clear_pointer (&self->routes, g_ptr_array_unref);

  G_OBJECT_CLASS (rfl_router_parent_class)->finalize (object);
}

static void
rfl_router_class_init (RflRouterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_router_finalize;
}

static void
rfl_router_init (RflRouter *self)
{
  self->routes = g_ptr_array_new_with_free_func (route_free);
}

RflRouter *
rfl_router_new (void)
{
  return g_object_new (RFL_TYPE_ROUTER, NULL);
}

/* Patterns */

static gboolean
segment_is_param (const char *segment)
{
  gsize len = strlen (segment);

  return len > 2 && segment[0] == '{' && segment[len - 1] == '}';
}

static gboolean
param_name_is_valid (const char *segment)
{
  gsize len = strlen (segment);

  for (gsize i = 1; i + 1 < len; i++)
    if (!g_ascii_isalnum (segment[i]) && segment[i] != '_')
      return FALSE;

  return TRUE;
}

static gboolean
pattern_is_valid (const char *pattern,
                  char     ***segments)
{
  g_auto(GStrv) parts = NULL;

  if (pattern[0] != '/')
    return FALSE;

  /* "/" is one empty segment, as split_path() sees it. */
  if (pattern[1] == '\0')
    {
      parts = g_new0 (char *, 2);
      parts[0] = g_strdup ("");
    }
  else
    parts = g_strsplit (pattern + 1, "/", -1);
  if (g_strv_length (parts) > MAX_SEGMENTS)
    return FALSE;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (segment_is_param (parts[i]) && !param_name_is_valid (parts[i]))
        return FALSE;
      if (!segment_is_param (parts[i])
          && (strchr (parts[i], '{') != NULL || strchr (parts[i], '}') != NULL))
        return FALSE;
    }

  *segments = g_steal_pointer (&parts);

  return TRUE;
}

static RflRoute *
find_route (RflRouter  *self,
            const char *method,
            const char *pattern)
{
  for (guint i = 0; i < self->routes->len; i++)
    {
      RflRoute *route = g_ptr_array_index (self->routes, i);

      if (g_str_equal (route->method, method) && g_str_equal (route->pattern, pattern))
        return route;
    }

  return NULL;
}

RflRoute *
rfl_router_add (RflRouter       *self,
                const char      *method,
                const char      *pattern,
                RflRouteAuth     auth,
                RflRouteHandler  handler,
                gpointer         user_data,
                GDestroyNotify   destroy)
{
  g_autofree char *upper = NULL;
  char **segments = NULL;
  RflRoute *route;

  g_return_val_if_fail (RFL_IS_ROUTER (self), NULL);
  g_return_val_if_fail (method != NULL && *method != '\0', NULL);
  g_return_val_if_fail (pattern != NULL, NULL);
  g_return_val_if_fail (handler != NULL, NULL);

  upper = g_ascii_strup (method, -1);
  if (!pattern_is_valid (pattern, &segments))
    {
      g_critical ("Route pattern “%s” is not valid", pattern);
      return NULL;
    }
  if (find_route (self, upper, pattern) != NULL)
    {
      g_strfreev (segments);
      g_critical ("Route %s %s is registered twice", upper, pattern);
      return NULL;
    }

  route = g_new0 (RflRoute, 1);
  route->method = g_steal_pointer (&upper);
  route->pattern = g_strdup (pattern);
  route->segments = segments;
  route->n_segments = g_strv_length (segments);
  route->auth = auth;
  route->body_limit = RFL_ROUTER_DEFAULT_BODY_LIMIT;
  route->handler = handler;
  route->user_data = user_data;
  route->destroy = destroy;

  for (guint i = 0; i < route->n_segments; i++)
    if (segment_is_param (segments[i]))
      route->param_mask |= 1u << i;

  g_ptr_array_add (self->routes, route);
  self->generation++;

  return route;
}

guint
rfl_router_get_n_routes (RflRouter *self)
{
  g_return_val_if_fail (RFL_IS_ROUTER (self), 0);

  return self->routes->len;
}

RflRoute *
rfl_router_get_route (RflRouter *self,
                      guint      index)
{
  g_return_val_if_fail (RFL_IS_ROUTER (self), NULL);
  g_return_val_if_fail (index < self->routes->len, NULL);

  return g_ptr_array_index (self->routes, index);
}

guint
rfl_router_get_generation (RflRouter *self)
{
  g_return_val_if_fail (RFL_IS_ROUTER (self), 0);

  return self->generation;
}

/* Lookup */

typedef struct
{
  const char *start;
  gsize       length;
} Span;

/* Splits @path at '/' without copying; G_MAXUINT when it cannot match any
 * route. */
static guint
split_path (const char *path,
            Span       *spans)
{
  const char *p;
  guint n = 0;

  if (path == NULL || path[0] != '/')
    return G_MAXUINT;

  p = path + 1;
  for (;;)
    {
      const char *slash = strchr (p, '/');
      gsize length = slash != NULL ? (gsize) (slash - p) : strlen (p);

      if (n == MAX_SEGMENTS)
        return G_MAXUINT;
      spans[n].start = p;
      spans[n].length = length;
      n++;

      if (slash == NULL)
        break;
      p = slash + 1;
    }

  return n;
}

/* Returns the specificity of the match (higher is more specific: literal
 * segments count from the left), or -1. */
static gint64
route_match (RflRoute   *route,
             const Span *spans,
             guint       n_spans)
{
  gint64 score = 0;

  if (route->n_segments != n_spans)
    return -1;

  for (guint i = 0; i < n_spans; i++)
    {
      if (route->param_mask & (1u << i))
        {
          if (spans[i].length == 0)
            return -1;
          continue;
        }

      if (strlen (route->segments[i]) != spans[i].length
          || memcmp (route->segments[i], spans[i].start, spans[i].length) != 0)
        return -1;

      score |= (gint64) 1 << (MAX_SEGMENTS - 1 - i);
    }

  return score;
}

static gboolean
method_matches (RflRoute   *route,
                const char *method)
{
  if (g_str_equal (route->method, method))
    return TRUE;

  return g_str_equal (method, "HEAD") && g_str_equal (route->method, "GET");
}

static GHashTable *
decode_params (RflRoute   *route,
               const Span *spans,
               gboolean   *ok)
{
  GHashTable *params;

  *ok = TRUE;
  if (route->param_mask == 0)
    return NULL;

  params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < route->n_segments; i++)
    {
      const char *segment = route->segments[i];
      char *value;

      if (!(route->param_mask & (1u << i)))
        continue;

      value = g_uri_unescape_segment (spans[i].start,
                                      spans[i].start + spans[i].length, "/");
      if (value == NULL || !g_utf8_validate (value, -1, NULL))
        {
          g_free (value);
          g_hash_table_unref (params);
          *ok = FALSE;
          return NULL;
        }

      g_hash_table_insert (params,
                           g_strndup (segment + 1, strlen (segment) - 2),
                           value);
    }

  return params;
}

static int
compare_string_ptrs (gconstpointer a,
                     gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static int
compare_string_ptrs_with_data (gconstpointer a,
                               gconstpointer b,
                               gpointer      user_data)
{
  return compare_string_ptrs (a, b);
}

static char *
dup_allow (GPtrArray *methods)
{
  g_autoptr(GString) allow = g_string_new (NULL);

  for (guint i = 0; i < methods->len; i++)
    if (g_str_equal (g_ptr_array_index (methods, i), "GET"))
      {
        g_ptr_array_add (methods, (gpointer) "HEAD");
        break;
      }

  g_ptr_array_sort (methods, compare_string_ptrs);
  for (guint i = 0; i < methods->len; i++)
    {
      const char *method = g_ptr_array_index (methods, i);

      if (i > 0 && g_str_equal (method, g_ptr_array_index (methods, i - 1)))
        continue;
      if (allow->len > 0)
        g_string_append (allow, ", ");
      g_string_append (allow, method);
    }

  return g_string_free (g_steal_pointer (&allow), FALSE);
}

RflRouteLookup
rfl_router_lookup (RflRouter   *self,
                   const char  *method,
                   const char  *path,
                   RflRoute   **route,
                   GHashTable **params,
                   char       **allow)
{
  Span spans[MAX_SEGMENTS];
  g_autoptr(GPtrArray) path_methods = NULL;
  RflRoute *best = NULL;
  gint64 best_score = -1;
  GHashTable *decoded;
  gboolean ok;
  guint n_spans;

  g_return_val_if_fail (RFL_IS_ROUTER (self), RFL_ROUTE_NOT_FOUND);
  g_return_val_if_fail (method != NULL, RFL_ROUTE_NOT_FOUND);

  if (route != NULL)
    *route = NULL;
  if (params != NULL)
    *params = NULL;
  if (allow != NULL)
    *allow = NULL;

  n_spans = split_path (path, spans);
  if (n_spans == G_MAXUINT)
    return RFL_ROUTE_NOT_FOUND;

  for (guint i = 0; i < self->routes->len; i++)
    {
      RflRoute *candidate = g_ptr_array_index (self->routes, i);
      gint64 score = route_match (candidate, spans, n_spans);

      if (score < 0)
        continue;

      if (method_matches (candidate, method))
        {
          if (score > best_score)
            {
              best = candidate;
              best_score = score;
            }
          continue;
        }

      if (path_methods == NULL)
        path_methods = g_ptr_array_new ();
      g_ptr_array_add (path_methods, candidate->method);
    }

  if (best == NULL)
    {
      if (path_methods == NULL)
        return RFL_ROUTE_NOT_FOUND;
      if (allow != NULL)
        *allow = dup_allow (path_methods);
      return RFL_ROUTE_METHOD_NOT_ALLOWED;
    }

  decoded = decode_params (best, spans, &ok);
  if (!ok)
    return RFL_ROUTE_NOT_FOUND;

  if (route != NULL)
    *route = best;
  if (params != NULL)
    *params = decoded;
  else if (decoded != NULL)
    g_hash_table_unref (decoded);

  return RFL_ROUTE_FOUND;
}

/* Routes */

const char *
rfl_route_get_method (RflRoute *route)
{
  g_return_val_if_fail (route != NULL, NULL);

  return route->method;
}

const char *
rfl_route_get_pattern (RflRoute *route)
{
  g_return_val_if_fail (route != NULL, NULL);

  return route->pattern;
}

RflRouteAuth
rfl_route_get_auth (RflRoute *route)
{
  g_return_val_if_fail (route != NULL, RFL_ROUTE_AUTH_ADMIN);

  return route->auth;
}

gsize
rfl_route_get_body_limit (RflRoute *route)
{
  g_return_val_if_fail (route != NULL, RFL_ROUTER_DEFAULT_BODY_LIMIT);

  return route->body_limit;
}

void
rfl_route_set_body_limit (RflRoute *route,
                          gsize     limit)
{
  g_return_if_fail (route != NULL);

  route->body_limit = limit;
}

void
rfl_route_invoke (RflRoute   *route,
                  RflRequest *request)
{
  g_return_if_fail (route != NULL);
  g_return_if_fail (request != NULL);

  route->handler (request, route->user_data);
}

/* OpenAPI */

static JsonNode *
load_json_resource (const char  *path,
                    GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  const char *data;
  gsize length;

  bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
  if (bytes == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description “%s” is missing: %s"),
                   path, local_error->message);
      return NULL;
    }

  data = g_bytes_get_data (bytes, &length);
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description “%s” is not valid JSON: %s"),
                   path, local_error->message);
      return NULL;
    }

  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description “%s” must be a JSON object"), path);
      return NULL;
    }

  return json_node_ref (json_parser_get_root (parser));
}

static JsonObject *
ensure_object_member (JsonObject *object,
                      const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_object_set_object_member (object, name, json_object_new ());
      node = json_object_get_member (object, name);
    }

  return json_node_get_object (node);
}

/* Merges one file of path items into @paths; an operation described twice
 * is an error. */
static gboolean
merge_path_items (JsonObject  *paths,
                  const char  *file,
                  JsonObject  *items,
                  GError     **error)
{
  g_autoptr(GList) names = json_object_get_members (items);

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *path = l->data;
      JsonNode *item_node = json_object_get_member (items, path);
      g_autoptr(GList) members = NULL;
      JsonObject *target;
      JsonObject *item;

      if (!JSON_NODE_HOLDS_OBJECT (item_node))
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                       _("The API description “%s” describes “%s” "
                         "with something other than an object"),
                       file, path);
          return FALSE;
        }

      item = json_node_get_object (item_node);
      target = ensure_object_member (paths, path);
      members = json_object_get_members (item);
      for (GList *m = members; m != NULL; m = m->next)
        {
          const char *member = m->data;

          if (json_object_has_member (target, member))
            {
              if (!g_strv_contains (operation_names, member))
                continue;
              g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("The API description “%s” describes “%s %s” a second time"),
                           file, member, path);
              return FALSE;
            }

          json_object_set_member (target, member,
                                  json_node_copy (json_object_get_member (item, member)));
        }
    }

  return TRUE;
}

static gboolean
load_paths (JsonObject  *paths,
            GError     **error)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GError) local_error = NULL;

  names = g_resources_enumerate_children (OPENAPI_PATH "paths/",
                                          G_RESOURCE_LOOKUP_FLAGS_NONE,
                                          &local_error);
  if (names == NULL)
    return TRUE;

  g_qsort_with_data (names, g_strv_length (names), sizeof (char *),
                     compare_string_ptrs_with_data, NULL);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      g_autoptr(JsonNode) items = NULL;

      if (!g_str_has_suffix (names[i], ".json"))
        continue;

      path = g_strconcat (OPENAPI_PATH "paths/", names[i], NULL);
      items = load_json_resource (path, error);
      if (items == NULL)
        return FALSE;
      if (!merge_path_items (paths, names[i], json_node_get_object (items), error))
        return FALSE;
    }

  return TRUE;
}

static gboolean
has_path_parameter (JsonArray  *parameters,
                    const char *name)
{
  for (guint i = 0; i < json_array_get_length (parameters); i++)
    {
      JsonNode *node = json_array_get_element (parameters, i);
      JsonObject *parameter;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      parameter = json_node_get_object (node);
      if (g_strcmp0 (json_object_get_string_member_with_default (parameter, "in", ""),
                     "path") == 0
          && g_strcmp0 (json_object_get_string_member_with_default (parameter, "name", ""),
                        name) == 0)
        return TRUE;
    }

  return FALSE;
}

static void
complete_parameters (RflRoute   *route,
                     JsonObject *operation)
{
  JsonArray *parameters;

  if (route->param_mask == 0)
    return;

  if (!json_object_has_member (operation, "parameters"))
    json_object_set_array_member (operation, "parameters", json_array_new ());
  parameters = json_object_get_array_member (operation, "parameters");
  if (parameters == NULL)
    return;

  for (guint i = 0; i < route->n_segments; i++)
    {
      const char *segment = route->segments[i];
      g_autofree char *name = NULL;
      JsonObject *parameter;
      JsonObject *schema;

      if (!(route->param_mask & (1u << i)))
        continue;

      name = g_strndup (segment + 1, strlen (segment) - 2);
      if (has_path_parameter (parameters, name))
        continue;

      parameter = json_object_new ();
      json_object_set_string_member (parameter, "name", name);
      json_object_set_string_member (parameter, "in", "path");
      json_object_set_boolean_member (parameter, "required", TRUE);
      schema = json_object_new ();
      json_object_set_string_member (schema, "type", "string");
      json_object_set_object_member (parameter, "schema", schema);
      json_array_add_object_element (parameters, parameter);
    }
}

static void
complete_operation (RflRoute   *route,
                    JsonObject *operation)
{
  static const char * const auth_names[] = { "none", "user", "admin" };
  JsonObject *responses;

  complete_parameters (route, operation);

  if (route->auth != RFL_ROUTE_AUTH_NONE && !json_object_has_member (operation, "security"))
    {
      JsonArray *security = json_array_new ();
      JsonObject *requirement = json_object_new ();

      json_object_set_array_member (requirement, "bearerAuth", json_array_new ());
      json_array_add_object_element (security, requirement);
      json_object_set_array_member (operation, "security", security);
    }
  json_object_set_string_member (operation, "x-reflection-auth",
                                 auth_names[MIN ((guint) route->auth, 2u)]);

  responses = ensure_object_member (operation, "responses");
  if (!json_object_has_member (responses, "default"))
    {
      JsonObject *reference = json_object_new ();

      json_object_set_string_member (reference, "$ref", "#/components/responses/Error");
      json_object_set_object_member (responses, "default", reference);
    }
}

JsonNode *
rfl_router_build_openapi (RflRouter  *self,
                          GError    **error)
{
  g_autoptr(JsonNode) document = NULL;
  JsonObject *root;
  JsonObject *paths;

  g_return_val_if_fail (RFL_IS_ROUTER (self), NULL);

  document = load_json_resource (OPENAPI_PATH "base.json", error);
  if (document == NULL)
    return NULL;

  root = json_node_get_object (document);
  json_object_set_string_member (ensure_object_member (root, "info"),
                                 "version", PACKAGE_VERSION);
  paths = ensure_object_member (root, "paths");
  if (!load_paths (paths, error))
    return NULL;

  for (guint i = 0; i < self->routes->len; i++)
    {
      RflRoute *route = g_ptr_array_index (self->routes, i);
      g_autofree char *name = g_ascii_strdown (route->method, -1);
      JsonNode *item;
      JsonNode *operation;

      item = json_object_get_member (paths, route->pattern);
      if (item == NULL || !JSON_NODE_HOLDS_OBJECT (item))
        continue;
      operation = json_object_get_member (json_node_get_object (item), name);
      if (operation == NULL || !JSON_NODE_HOLDS_OBJECT (operation))
        continue;
      complete_operation (route, json_node_get_object (operation));
    }

  return g_steal_pointer (&document);
}

static GPtrArray *
documented_operations (JsonObject *paths)
{
  GPtrArray *operations = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GList) names = json_object_get_members (paths);

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *item = json_object_get_member (paths, l->data);
      g_autoptr(GList) members = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (item))
        continue;

      members = json_object_get_members (json_node_get_object (item));
      for (GList *m = members; m != NULL; m = m->next)
        {
          g_autofree char *method = NULL;

          if (!g_strv_contains (operation_names, m->data))
            continue;
          method = g_ascii_strup (m->data, -1);
          g_ptr_array_add (operations,
                           g_strdup_printf ("%s %s", method, (const char *) l->data));
        }
    }

  return operations;
}

static gboolean
contains_string (GPtrArray  *array,
                 const char *value)
{
  return g_ptr_array_find_with_equal_func (array, value, g_str_equal, NULL);
}

gboolean
rfl_router_check_openapi (RflRouter  *self,
                          JsonNode   *document,
                          GError    **error)
{
  g_autoptr(GPtrArray) documented = NULL;
  g_autoptr(GPtrArray) registered = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) problems = g_string_new (NULL);
  JsonObject *root;
  JsonNode *paths;
  const char *version;

  g_return_val_if_fail (RFL_IS_ROUTER (self), FALSE);
  g_return_val_if_fail (document != NULL, FALSE);

  if (!JSON_NODE_HOLDS_OBJECT (document))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description must be a JSON object"));
      return FALSE;
    }

  root = json_node_get_object (document);
  version = json_object_get_string_member_with_default (root, "openapi", "");
  if (!g_str_equal (version, OPENAPI_VERSION))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description declares OpenAPI “%s” instead of “%s”"),
                   version, OPENAPI_VERSION);
      return FALSE;
    }

  paths = json_object_get_member (root, "paths");
  if (paths == NULL || !JSON_NODE_HOLDS_OBJECT (paths))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description has no “paths” object"));
      return FALSE;
    }

  documented = documented_operations (json_node_get_object (paths));
  for (guint i = 0; i < self->routes->len; i++)
    {
      RflRoute *route = g_ptr_array_index (self->routes, i);

      g_ptr_array_add (registered,
                       g_strdup_printf ("%s %s", route->method, route->pattern));
    }

  for (guint i = 0; i < registered->len; i++)
    {
      const char *operation = g_ptr_array_index (registered, i);

      if (contains_string (documented, operation))
        continue;
      if (problems->len > 0)
        g_string_append (problems, "; ");
      g_string_append_printf (problems, _("%s is registered but not documented"),
                              operation);
    }

  for (guint i = 0; i < documented->len; i++)
    {
      const char *operation = g_ptr_array_index (documented, i);

      if (contains_string (registered, operation))
        continue;
      if (problems->len > 0)
        g_string_append (problems, "; ");
      g_string_append_printf (problems, _("%s is documented but not registered"),
                              operation);
    }

  if (problems->len > 0)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   _("The API description does not match the routes: %s"),
                   problems->str);
      return FALSE;
    }

  return TRUE;
}

/* Requests */

RflRequest *
rfl_request_new (SoupServerMessage *msg,
                 RflRoute          *route,
                 GHashTable        *params,
                 GHashTable        *query)
{
  RflRequest *self;

  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), NULL);

  self = g_new0 (RflRequest, 1);
  self->msg = msg;
  self->route = route;
  self->params = params != NULL ? g_hash_table_ref (params) : NULL;
  self->query = query != NULL ? g_hash_table_ref (query) : NULL;

  return self;
}

void
rfl_request_free (RflRequest *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->params, g_hash_table_unref);
  g_clear_pointer (&self->query, g_hash_table_unref);
  g_free (self);
}

SoupServerMessage *
rfl_request_get_message (RflRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->msg;
}

RflRoute *
rfl_request_get_route (RflRequest *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->route;
}

const char *
rfl_request_get_param (RflRequest *self,
                       const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return self->params != NULL ? g_hash_table_lookup (self->params, name) : NULL;
}

const char *
rfl_request_get_query (RflRequest *self,
                       const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return self->query != NULL ? g_hash_table_lookup (self->query, name) : NULL;
}

/* A whole answer leaves in one segment: libsoup writes the headers and
 * then the body, and each write would otherwise be a packet of its own and
 * wake the client twice. The socket is corked once the answer is complete
 * and uncorked by rfl_request_release() when libsoup has written it. */
static void
hold_answer (RflRequest *self)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (self->msg);
  GSocket *socket;
  int on = 1;

  if (self->held
      || soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    return;

  socket = soup_server_message_get_socket (self->msg);
  if (socket == NULL
      || g_socket_get_family (socket) == G_SOCKET_FAMILY_UNIX
      || setsockopt (g_socket_get_fd (socket), IPPROTO_TCP, TCP_CORK,
                     &on, sizeof on) != 0)
    return;

  self->held = TRUE;
}

void
rfl_request_release (RflRequest *self)
{
  GSocket *socket;
  int off = 0;

  g_return_if_fail (self != NULL);

  if (!self->held)
    return;

  self->held = FALSE;
  socket = soup_server_message_get_socket (self->msg);
  if (socket != NULL)
    setsockopt (g_socket_get_fd (socket), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
}

void
rfl_request_respond_json (RflRequest *self,
                          guint       status,
                          JsonNode   *node)
{
  char *body;

  g_return_if_fail (self != NULL);
  g_return_if_fail (node != NULL);

  body = json_to_string (node, FALSE);
  soup_server_message_set_status (self->msg, status, NULL);
  soup_server_message_set_response (self->msg, "application/json",
                                    SOUP_MEMORY_TAKE, body, strlen (body));

  hold_answer (self);
}

void
rfl_request_respond_json_text (RflRequest *self,
                               guint       status,
                               GString    *body)
{
  gsize length;

  g_return_if_fail (self != NULL);
  g_return_if_fail (body != NULL);

  length = body->len;
  soup_server_message_set_status (self->msg, status, NULL);
  soup_server_message_set_response (self->msg, "application/json",
                                    SOUP_MEMORY_TAKE,
                                    g_string_free (body, FALSE), length);

  hold_answer (self);
}

void
rfl_request_respond_text (RflRequest *self,
                          guint       status,
                          const char *content_type,
                          const char *body,
                          gsize       length)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (content_type != NULL);
  g_return_if_fail (body != NULL || length == 0);

  soup_server_message_set_status (self->msg, status, NULL);
  soup_server_message_set_response (self->msg, content_type,
                                    SOUP_MEMORY_COPY, body, length);

  hold_answer (self);
}

void
rfl_request_respond_bytes (RflRequest *self,
                           guint       status,
                           const char *content_type,
                           GBytes     *body)
{
  SoupMessageHeaders *headers;
  SoupMessageBody *response;

  g_return_if_fail (self != NULL);
  g_return_if_fail (content_type != NULL);
  g_return_if_fail (body != NULL);

  headers = soup_server_message_get_response_headers (self->msg);
  response = soup_server_message_get_response_body (self->msg);

  soup_server_message_set_status (self->msg, status, NULL);
  soup_message_headers_set_content_type (headers, content_type, NULL);
  soup_message_body_truncate (response);
  soup_message_body_append_bytes (response, body);

  hold_answer (self);
}

void
rfl_request_respond_error (RflRequest   *self,
                           const GError *error)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (error != NULL);

  rfl_http_error_respond_error (self->msg, error);

  hold_answer (self);
}
