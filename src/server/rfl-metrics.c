/* rfl-metrics.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-metrics.h"

#include <string.h>

/* Upper bounds of the latency buckets, in seconds. Chat answers stream for
 * a long time, hence the long tail. */
static const struct
{
  double      bound;
  const char *label;
} buckets[] = {
  { 0.0005, "0.0005" },
  { 0.001,  "0.001" },
  { 0.0025, "0.0025" },
  { 0.005,  "0.005" },
  { 0.01,   "0.01" },
  { 0.025,  "0.025" },
  { 0.05,   "0.05" },
  { 0.1,    "0.1" },
  { 0.25,   "0.25" },
  { 0.5,    "0.5" },
  { 1.0,    "1" },
  { 2.5,    "2.5" },
  { 5.0,    "5" },
  { 10.0,   "10" },
  { 30.0,   "30" },
  { 60.0,   "60" },
};

#define N_BUCKETS G_N_ELEMENTS (buckets)

typedef struct
{
  guint   status;
  guint64 count;
} StatusCount;

typedef struct
{
  char    *method;                 /* owned */
  char    *route;                  /* owned */
  GArray  *statuses;               /* owned, of StatusCount */
  guint64  bucket_counts[N_BUCKETS + 1];  /* not cumulative; last is +Inf */
  guint64  count;
  double   sum;
} RouteStats;

struct _RflMetrics
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  gint             in_flight;      /* atomic */

  /* Under @lock: */
  GHashTable      *routes;         /* "METHOD route" → RouteStats */
  GHashTable      *rate_limits;    /* limit → guint64* */
  guint64          tokens_in;
  guint64          tokens_out;
};

static void
route_stats_free (gpointer data)
{
  RouteStats *stats = data;

  g_free (stats->method);
  g_free (stats->route);
  g_array_unref (stats->statuses);
  g_free (stats);
}

RflMetrics *
rfl_metrics_new (void)
{
  RflMetrics *self = g_new0 (RflMetrics, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->routes = g_hash_table_new_full (g_str_hash, g_str_equal,
                                        g_free, route_stats_free);
  self->rate_limits = g_hash_table_new_full (g_str_hash, g_str_equal,
                                             g_free, g_free);

  return self;
}

RflMetrics *
rfl_metrics_ref (RflMetrics *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

void
rfl_metrics_unref (RflMetrics *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_hash_table_unref (self->routes);
  g_hash_table_unref (self->rate_limits);
  g_mutex_clear (&self->lock);
  g_free (self);
}

void
rfl_metrics_request_started (RflMetrics *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_int_inc (&self->in_flight);
}

static RouteStats *
lookup_route (RflMetrics *self,
              const char *method,
              const char *route)
{
  char key[512];
  gsize method_len = strlen (method);
  gsize route_len = strlen (route);
  RouteStats *stats;

  /* This runs for every request: a formatted print only for the rare key
   * that has to be cut short. */
  if (method_len + 1 + route_len < sizeof key)
    {
      memcpy (key, method, method_len);
      key[method_len] = ' ';
      memcpy (key + method_len + 1, route, route_len + 1);
    }
  else
    {
      g_snprintf (key, sizeof key, "%s %s", method, route);
    }

  stats = g_hash_table_lookup (self->routes, key);
  if (stats == NULL)
    {
      stats = g_new0 (RouteStats, 1);
      stats->method = g_strdup (method);
      stats->route = g_strdup (route);
      stats->statuses = g_array_new (FALSE, FALSE, sizeof (StatusCount));
      g_hash_table_insert (self->routes, g_strdup (key), stats);
    }

  return stats;
}

static void
count_status (RouteStats *stats,
              guint       status)
{
  StatusCount added = { status, 1 };

  for (guint i = 0; i < stats->statuses->len; i++)
    {
      StatusCount *entry = &g_array_index (stats->statuses, StatusCount, i);

      if (entry->status == status)
        {
          entry->count++;
          return;
        }
    }

  g_array_append_val (stats->statuses, added);
}

void
rfl_metrics_request_finished (RflMetrics *self,
                              const char *method,
                              const char *route,
                              guint       status,
                              double      seconds)
{
  RouteStats *stats;
  guint bucket = N_BUCKETS;

  g_return_if_fail (self != NULL);
  g_return_if_fail (method != NULL);
  g_return_if_fail (route != NULL);

  if (seconds < 0)
    seconds = 0;
  for (guint i = 0; i < N_BUCKETS; i++)
    {
      if (seconds <= buckets[i].bound)
        {
          bucket = i;
          break;
        }
    }

  g_mutex_lock (&self->lock);
  stats = lookup_route (self, method, route);
  count_status (stats, status);
  stats->bucket_counts[bucket]++;
  stats->count++;
  stats->sum += seconds;
  g_mutex_unlock (&self->lock);

  /* Never below zero, even if a caller forgot the start. */
  if (g_atomic_int_get (&self->in_flight) > 0)
    g_atomic_int_add (&self->in_flight, -1);
}

void
rfl_metrics_add_tokens (RflMetrics *self,
                        guint64     tokens_in,
                        guint64     tokens_out)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->tokens_in += tokens_in;
  self->tokens_out += tokens_out;
  g_mutex_unlock (&self->lock);
}

void
rfl_metrics_add_rate_limit_rejection (RflMetrics *self,
                                      const char *limit)
{
  guint64 *count;

  g_return_if_fail (self != NULL);
  g_return_if_fail (limit != NULL);

  g_mutex_lock (&self->lock);
  count = g_hash_table_lookup (self->rate_limits, limit);
  if (count == NULL)
    {
      count = g_new0 (guint64, 1);
      g_hash_table_insert (self->rate_limits, g_strdup (limit), count);
    }
  (*count)++;
  g_mutex_unlock (&self->lock);
}

/* Exposition */

static void
append_label_value (GString    *out,
                    const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        default:
          g_string_append_c (out, *p);
          break;
        }
    }
}

static void
append_route_labels (GString    *out,
                     RouteStats *stats)
{
  g_string_append (out, "method=\"");
  append_label_value (out, stats->method);
  g_string_append (out, "\",route=\"");
  append_label_value (out, stats->route);
  g_string_append_c (out, '"');
}

static void
append_family (GString    *out,
               const char *name,
               const char *type,
               const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n",
                          name, help, name, type);
}

static void
append_double (GString *out,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buffer, sizeof buffer, "%.9g", value));
}

static int
compare_route_stats (gconstpointer a,
                     gconstpointer b)
{
  const RouteStats *left = *(RouteStats * const *) a;
  const RouteStats *right = *(RouteStats * const *) b;
  int order = strcmp (left->route, right->route);

  return order != 0 ? order : strcmp (left->method, right->method);
}

static int
compare_status (gconstpointer a,
                gconstpointer b)
{
  const StatusCount *left = a;
  const StatusCount *right = b;

  return (left->status > right->status) - (left->status < right->status);
}

static GPtrArray *
sorted_routes (RflMetrics *self)
{
  GPtrArray *sorted = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->routes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RouteStats *stats = value;

      g_array_sort (stats->statuses, compare_status);
      g_ptr_array_add (sorted, stats);
    }
  g_ptr_array_sort (sorted, compare_route_stats);

  return sorted;
}

static void
append_requests (GString   *out,
                 GPtrArray *routes)
{
  append_family (out, "reflection_http_requests_total", "counter",
                 "HTTP requests answered, by method, route pattern and status.");
  for (guint i = 0; i < routes->len; i++)
    {
      RouteStats *stats = g_ptr_array_index (routes, i);

      for (guint j = 0; j < stats->statuses->len; j++)
        {
          StatusCount *entry = &g_array_index (stats->statuses, StatusCount, j);

          g_string_append (out, "reflection_http_requests_total{");
          append_route_labels (out, stats);
          g_string_append_printf (out, ",status=\"%u\"} %" G_GUINT64_FORMAT "\n",
                                  entry->status, entry->count);
        }
    }
}

static void
append_latency (GString   *out,
                GPtrArray *routes)
{
  const char *name = "reflection_http_request_duration_seconds";

  append_family (out, name, "histogram",
                 "Time from reading the request headers to the end of the response.");
  for (guint i = 0; i < routes->len; i++)
    {
      RouteStats *stats = g_ptr_array_index (routes, i);
      guint64 cumulative = 0;

      for (guint b = 0; b <= N_BUCKETS; b++)
        {
          cumulative += stats->bucket_counts[b];
          g_string_append_printf (out, "%s_bucket{", name);
          append_route_labels (out, stats);
          g_string_append_printf (out, ",le=\"%s\"} %" G_GUINT64_FORMAT "\n",
                                  b < N_BUCKETS ? buckets[b].label : "+Inf",
                                  cumulative);
        }

      g_string_append_printf (out, "%s_sum{", name);
      append_route_labels (out, stats);
      g_string_append (out, "} ");
      append_double (out, stats->sum);
      g_string_append_printf (out, "\n%s_count{", name);
      append_route_labels (out, stats);
      g_string_append_printf (out, "} %" G_GUINT64_FORMAT "\n", stats->count);
    }
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
append_rate_limits (RflMetrics *self,
                    GString    *out)
{
  g_autofree gpointer *limits = NULL;
  guint n_limits = 0;

  append_family (out, "reflection_rate_limit_rejections_total", "counter",
                 "Requests refused by a rate limit or quota, by limit.");

  limits = g_hash_table_get_keys_as_array (self->rate_limits, &n_limits);
  g_qsort_with_data (limits, n_limits, sizeof (gpointer),
                     compare_strings, NULL);
  for (guint i = 0; i < n_limits; i++)
    {
      guint64 *count = g_hash_table_lookup (self->rate_limits, limits[i]);

      g_string_append (out, "reflection_rate_limit_rejections_total{limit=\"");
      append_label_value (out, limits[i]);
      g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", *count);
    }
}

char *
rfl_metrics_dup_text (RflMetrics *self)
{
  GString *out = g_string_sized_new (4096);
  g_autoptr(GPtrArray) routes = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  g_mutex_lock (&self->lock);

  routes = sorted_routes (self);
  append_requests (out, routes);
  append_latency (out, routes);

  append_family (out, "reflection_http_requests_in_flight", "gauge",
                 "Requests being answered now.");
  g_string_append_printf (out, "reflection_http_requests_in_flight %d\n",
                          g_atomic_int_get (&self->in_flight));

  append_family (out, "reflection_llm_tokens_total", "counter",
                 "Language model tokens, read (in) and generated (out).");
  g_string_append_printf (out,
                          "reflection_llm_tokens_total{direction=\"in\"} %" G_GUINT64_FORMAT "\n"
                          "reflection_llm_tokens_total{direction=\"out\"} %" G_GUINT64_FORMAT "\n",
                          self->tokens_in, self->tokens_out);

  append_rate_limits (self, out);

  g_mutex_unlock (&self->lock);

  return g_string_free (out, FALSE);
}
