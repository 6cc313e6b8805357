/* bench-vector.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

/* Vector search at several sizes, all measured in the same run on the same
 * data and queries:
 *
 *   sql          the naive path: SQLite (in memory) computing the distance
 *                over every stored BLOB with a C function,
 *                SELECT id FROM v ORDER BY dot(vec, ?) DESC LIMIT k
 *   float scan   a plain exact scan of the float32 rows (the reference; its
 *                results are the ground truth for recall)
 *   exact        RflVectorIndex, RFL_VECTOR_SEARCH_EXACT: int8 pass over
 *                every row, exact re-rank of the best candidates
 *   approximate  RflVectorIndex with its IVF index, RFL_VECTOR_SEARCH_AUTO
 *
 *   bench-vector [OPTION…] [N…]        (default N: 10000 100000 1000000)
 *
 * The data are 384-dimensional vectors in 1000 Gaussian clusters whose
 * spreads differ, made from a fixed seed; queries are drawn near cluster
 * centres. Prints one table row per size and method: median and p99 time
 * per query, recall@k (k = 10 unless -k says) against the float scan, and the median as a
 * multiple of the float scan's. */

#include "config.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/rfl-ivf-index.h"
#include "store/rfl-vector-index.h"
#include "store/rfl-vector-index-private.h"

#define DIMS 384
#define N_CLUSTERS 1000
/* The number of neighbours asked for: -k. */
static int K = 10;
#define WARM_UP 5
#define SEED G_GUINT64_CONSTANT (0x7265666c656374)

static int n_queries = 200;
static gboolean skip_sql;
static gboolean sweep;

/* Data */

typedef struct
{
  guint64 state;
} Rng;

static guint64
rng_next (Rng *rng)
{
  guint64 z = (rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double
rng_uniform (Rng *rng)
{
  return ((rng_next (rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Box–Muller, both values of the pair. */
static void
rng_gaussian_fill (Rng   *rng,
                   float *out,
                   gsize  n)
{
  for (gsize i = 0; i < n; i += 2)
    {
      double r = sqrt (-2.0 * log (rng_uniform (rng)));
      double t = 2.0 * G_PI * rng_uniform (rng);

      out[i] = (float) (r * cos (t));
      if (i + 1 < n)
        out[i + 1] = (float) (r * sin (t));
    }
}

static void
normalize (float *v)
{
  double sum = 0;

  for (guint i = 0; i < DIMS; i++)
    sum += (double) v[i] * v[i];
  for (guint i = 0; i < DIMS; i++)
    v[i] = (float) (v[i] / sqrt (sum));
}

typedef struct
{
  float *centres;    /* N_CLUSTERS unit rows */
  float *spreads;    /* per cluster: noise norm relative to the centre's */
  float *rows;       /* n normalised rows */
  gsize  n;
  float *queries;    /* n_queries normalised rows */
} Data;

/* Each point picks a cluster at random, so any prefix of the rows is a fair
 * sample of the whole: the smaller sizes use prefixes of the largest. Rows
 * and queries have generators of their own, so neither depends on how many
 * of the other there are. */
static void
data_generate (Data  *data,
               gsize  n)
{
  Rng rng = { SEED };
  Rng query_rng = { SEED + 1 };
  Rng row_rng = { SEED + 2 };
  float noise[DIMS];

  data->n = n;
  data->centres = g_new (float, (gsize) N_CLUSTERS * DIMS);
  data->spreads = g_new (float, N_CLUSTERS);
  data->rows = g_new (float, n * DIMS);
  data->queries = g_new (float, (gsize) n_queries * DIMS);

  for (guint c = 0; c < N_CLUSTERS; c++)
    {
      rng_gaussian_fill (&rng, data->centres + (gsize) c * DIMS, DIMS);
      normalize (data->centres + (gsize) c * DIMS);
      data->spreads[c] = (float) (0.6 + 0.6 * rng_uniform (&rng));
    }

  for (int q = 0; q < n_queries; q++)
    {
      guint c = (guint) (rng_next (&query_rng) % N_CLUSTERS);
      const float *centre = data->centres + (gsize) c * DIMS;
      float *query = data->queries + (gsize) q * DIMS;
      float sigma = 0.5f * data->spreads[c] / sqrtf (DIMS);

      rng_gaussian_fill (&query_rng, noise, DIMS);
      for (guint j = 0; j < DIMS; j++)
        query[j] = centre[j] + sigma * noise[j];
      normalize (query);
    }

  for (gsize i = 0; i < n; i++)
    {
      guint c = (guint) (rng_next (&row_rng) % N_CLUSTERS);
      const float *centre = data->centres + (gsize) c * DIMS;
      float *row = data->rows + i * DIMS;
      float sigma = data->spreads[c] / sqrtf (DIMS);

      rng_gaussian_fill (&row_rng, noise, DIMS);
      for (guint j = 0; j < DIMS; j++)
        row[j] = centre[j] + sigma * noise[j];
      normalize (row);
    }
}

/* Measuring */

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
compare_double (const void *a,
                const void *b)
{
  double da = *(const double *) a;
  double db = *(const double *) b;

  return (da > db) - (da < db);
}

typedef struct
{
  double median;
  double p99;
  double recall;
  int    n;
} Stats;

static Stats
stats_of (double       *times,
          int           n,
          const gint64 *found,
          const gint64 *truth)
{
  Stats stats = { 0 };
  int hits = 0;

  qsort (times, n, sizeof (double), compare_double);
  stats.n = n;
  stats.median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  stats.p99 = times[MAX (0, (int) ceil (0.99 * n) - 1)];

  for (int q = 0; q < n; q++)
    for (int i = 0; i < K; i++)
      for (int j = 0; j < K; j++)
        hits += found[q * K + i] == truth[q * K + j] && found[q * K + i] >= 0;
  stats.recall = hits / (double) (n * K);

  return stats;
}

static void
print_header (void)
{
  g_autofree char *recall = g_strdup_printf ("recall@%d", K);

  printf ("\n%9s  %-22s %7s %11s %11s %10s %10s\n", "N", "method", "queries",
          "median ms", "p99 ms", recall, "× float");
  printf ("%9s  %-22s %7s %11s %11s %10s %10s\n", "---------",
          "----------------------", "-------", "-----------", "-----------",
          "----------", "----------");
}

static void
print_row (gsize        n,
           const char  *method,
           const Stats *stats,
           double       float_median)
{
  printf ("%9zu  %-22s %7d %11.3f %11.3f %10.4f %10.3f\n", n, method, stats->n,
          stats->median, stats->p99, stats->recall,
          stats->median / float_median);
  fflush (stdout);
}

/* The plain float scan: every row, a dot product each, a top-k heap. */
static void
float_scan (const Data  *data,
            gsize        n,
            const float *query,
            gint64      *out)
{
  RflVectorHeap heap;

  _rfl_vector_heap_init (&heap, K);
  for (gsize i = 0; i < n; i++)
    {
      float score = _rfl_vector_dot_f32 (data->rows + i * DIMS, query, DIMS);

      if (score >= heap.floor)
        _rfl_vector_heap_offer (&heap, score, (gint64) i);
    }
  _rfl_vector_heap_sort (&heap);
  for (int i = 0; i < K; i++)
    out[i] = i < (int) heap.size ? heap.items[i].ref : -1;
  _rfl_vector_heap_clear (&heap);
}

static Stats
run_float_scan (const Data *data,
                gsize       n,
                gint64     *truth)
{
  g_autofree double *times = g_new (double, n_queries);

  for (int q = 0; q < WARM_UP; q++)
    float_scan (data, n, data->queries + (gsize) q * DIMS, truth);

  for (int q = 0; q < n_queries; q++)
    {
      double start = now_ms ();

      float_scan (data, n, data->queries + (gsize) q * DIMS, truth + q * K);
      times[q] = now_ms () - start;
    }

  return stats_of (times, n_queries, truth, truth);
}

static Stats
run_index (RflVectorIndex      *index,
           const Data          *data,
           RflVectorSearchMode  mode,
           const gint64        *truth)
{
  g_autofree double *times = g_new (double, n_queries);
  g_autofree gint64 *found = g_new (gint64, (gsize) n_queries * K);
  g_autofree RflVectorHit *hits = g_new (RflVectorHit, K);
  guint n_hits;

  for (int q = 0; q < WARM_UP; q++)
    rfl_vector_index_search (index, data->queries + (gsize) q * DIMS, DIMS, K,
                             mode, hits, &n_hits, NULL);

  for (int q = 0; q < n_queries; q++)
    {
      double start = now_ms ();

      rfl_vector_index_search (index, data->queries + (gsize) q * DIMS, DIMS,
                               K, mode, hits, &n_hits, NULL);
      times[q] = now_ms () - start;
      for (int i = 0; i < K; i++)
        found[q * K + i] = i < (int) n_hits ? hits[i].id : -1;
    }

  return stats_of (times, n_queries, found, truth);
}

/* The naive path */

static void
sql_dot (sqlite3_context  *context,
         int               argc,
         sqlite3_value   **argv)
{
  int bytes = sqlite3_value_bytes (argv[0]);
  float a[DIMS];
  float b[DIMS];
  float sum = 0;

  if (bytes != DIMS * (int) sizeof (float)
      || sqlite3_value_bytes (argv[1]) != bytes)
    {
      sqlite3_result_error (context, "dot: wrong blob size", -1);
      return;
    }

  /* BLOB pointers carry no alignment promise. */
  memcpy (a, sqlite3_value_blob (argv[0]), bytes);
  memcpy (b, sqlite3_value_blob (argv[1]), bytes);
  for (int i = 0; i < DIMS; i++)
    sum += a[i] * b[i];

  sqlite3_result_double (context, sum);
}

static void
sql_check (sqlite3 *db,
           int      rc,
           int      expected)
{
  if (rc != expected)
    g_error ("SQLite: %s", sqlite3_errmsg (db));
}

static Stats
run_sql (const Data   *data,
         gsize         n,
         int           n_sql,
         const gint64 *truth,
         double       *insert_rate)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autofree double *times = g_new (double, n_sql);
  g_autofree gint64 *found = g_new (gint64, (gsize) n_sql * K);
  double start;

  sql_check (db, sqlite3_open (":memory:", &db), SQLITE_OK);
  sql_check (db, sqlite3_create_function (db, "dot", 2,
                                          SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                          NULL, sql_dot, NULL, NULL),
             SQLITE_OK);
  sql_check (db, sqlite3_exec (db, "CREATE TABLE v (id INTEGER PRIMARY KEY, "
                                   "vec BLOB NOT NULL)", NULL, NULL, NULL),
             SQLITE_OK);

  start = now_ms ();
  sql_check (db, sqlite3_exec (db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  sql_check (db, sqlite3_prepare_v2 (db, "INSERT INTO v (id, vec) VALUES (?, ?)",
                                     -1, &stmt, NULL), SQLITE_OK);
  for (gsize i = 0; i < n; i++)
    {
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) i);
      sqlite3_bind_blob (stmt, 2, data->rows + i * DIMS, DIMS * sizeof (float),
                         SQLITE_STATIC);
      sql_check (db, sqlite3_step (stmt), SQLITE_DONE);
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);
  sql_check (db, sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  *insert_rate = n / ((now_ms () - start) / 1e3);

  sql_check (db, sqlite3_prepare_v2 (db, "SELECT id FROM v "
                                         "ORDER BY dot(vec, ?) DESC LIMIT ?",
                                     -1, &stmt, NULL), SQLITE_OK);
  for (int q = 0; q < n_sql; q++)
    {
      int i = 0;
      int rc;

      start = now_ms ();
      sqlite3_bind_blob (stmt, 1, data->queries + (gsize) q * DIMS,
                         DIMS * sizeof (float), SQLITE_STATIC);
      sqlite3_bind_int (stmt, 2, K);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        found[q * K + i++] = sqlite3_column_int64 (stmt, 0);
      sql_check (db, rc, SQLITE_DONE);
      sqlite3_reset (stmt);
      times[q] = now_ms () - start;
      for (; i < K; i++)
        found[q * K + i] = -1;
    }
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return stats_of (times, n_sql, found, truth);
}

/* One size */

static int
sql_queries_for (gsize n)
{
  if (n <= 20000)
    return MIN (n_queries, 100);
  if (n <= 200000)
    return MIN (n_queries, 30);
  return MIN (n_queries, 10);
}

static void
bench_size (const Data *data,
            gsize       n,
            GString    *notes)
{
  g_autofree gint64 *truth = g_new (gint64, (gsize) n_queries * K);
  g_autoptr(RflVectorIndex) index = NULL;
  g_autoptr(GError) error = NULL;
  Stats flt, exact, approx, sql;
  double start, ingest, build_ms;
  gboolean with_approximate = n >= 50000;

  flt = run_float_scan (data, n, truth);
  print_row (n, "float32 scan", &flt, flt.median);

  index = rfl_vector_index_new (DIMS, "bench");
  rfl_vector_index_set_approximate_threshold (index, 0);
  start = now_ms ();
  for (gsize i = 0; i < n; i++)
    if (!rfl_vector_index_insert (index, (gint64) i, data->rows + i * DIMS,
                                  DIMS, &error))
      g_error ("insert: %s", error->message);
  ingest = n / ((now_ms () - start) / 1e3);

  exact = run_index (index, data, RFL_VECTOR_SEARCH_EXACT, truth);
  print_row (n, "exact (int8 + rerank)", &exact, flt.median);

  if (with_approximate)
    {
      start = now_ms ();
      if (!rfl_vector_index_build_approximate (index, NULL, &error))
        g_error ("build: %s", error->message);
      build_ms = now_ms () - start;

      approx = run_index (index, data, RFL_VECTOR_SEARCH_AUTO, truth);
      {
        guint n_lists = rfl_vector_index_get_n_lists (index);
        g_autofree char *label = g_strdup_printf ("approximate (IVF %u/%u)",
                                                  rfl_ivf_index_suggest_n_probe (n_lists),
                                                  n_lists);

        print_row (n, label, &approx, flt.median);
      }

      if (sweep)
        {
          guint n_lists = rfl_vector_index_get_n_lists (index);

          for (guint p = 1; p <= n_lists; p *= 2)
            {
              g_autofree char *label = g_strdup_printf ("  IVF probe %u/%u", p,
                                                        n_lists);

              rfl_vector_index_set_n_probe (index, p);
              approx = run_index (index, data, RFL_VECTOR_SEARCH_AUTO, truth);
              print_row (n, label, &approx, flt.median);
            }
          rfl_vector_index_set_n_probe (index, 0);
        }

      g_string_append_printf (notes, "N=%zu: approximate index built in %.2f s "
                              "(%u lists, on one thread)\n", n, build_ms / 1e3,
                              rfl_vector_index_get_n_lists (index));
    }

  g_string_append_printf (notes, "N=%zu: index ingest %.0f vectors/s\n", n,
                          ingest);
  g_clear_pointer (&index, rfl_vector_index_unref);

  if (!skip_sql)
    {
      double rate;

      sql = run_sql (data, n, sql_queries_for (n), truth, &rate);
      print_row (n, "sql (dot over BLOBs)", &sql, flt.median);
      g_string_append_printf (notes, "N=%zu: SQLite insert %.0f rows/s\n", n,
                              rate);
    }
}

int
main (int   argc,
      char *argv[])
{
  GOptionEntry entries[] = {
    { "queries", 'q', 0, G_OPTION_ARG_INT, &n_queries,
      "Queries per method (default 200; SQL runs fewer)", "Q" },
    { "no-sql", 0, 0, G_OPTION_ARG_NONE, &skip_sql,
      "Skip the SQLite path", NULL },
    { "sweep", 0, 0, G_OPTION_ARG_NONE, &sweep,
      "Also try every power-of-two probe count", NULL },
    { "k", 'k', 0, G_OPTION_ARG_INT, &K,
      "Neighbours per query (default 10)", "K" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[N…]");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GString) notes = g_string_new (NULL);
  Data data = { 0 };
  gsize largest = 0;
  double start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  n_queries = CLAMP (n_queries, WARM_UP, 100000);
  K = CLAMP (K, 1, 1000);

  for (int i = 1; i < argc; i++)
    {
      guint64 n;

      if (!g_ascii_string_to_unsigned (argv[i], 10, 1, 100000000, &n, &error))
        {
          g_printerr ("%s: %s\n", argv[i], error->message);
          return 1;
        }
      g_array_append_val (sizes, n);
    }
  if (sizes->len == 0)
    {
      gsize defaults[] = { 10000, 100000, 1000000 };

      g_array_append_vals (sizes, defaults, G_N_ELEMENTS (defaults));
    }
  for (guint i = 0; i < sizes->len; i++)
    largest = MAX (largest, g_array_index (sizes, gsize, i));

  _rfl_vector_kernels_init ();
  printf ("bench-vector: %u dims, %d clusters, %d queries, k=%d, kernels %s, "
          "%u processors\n", DIMS, N_CLUSTERS, n_queries, K,
          _rfl_vector_kernels_get_name (), g_get_num_processors ());

  start = now_ms ();
  data_generate (&data, largest);
  printf ("generated %zu vectors in %.1f s\n", largest, (now_ms () - start) / 1e3);

  print_header ();
  for (guint i = 0; i < sizes->len; i++)
    bench_size (&data, g_array_index (sizes, gsize, i), notes);

  printf ("\n%s", notes->str);

  g_free (data.centres);
  g_free (data.spreads);
  g_free (data.rows);
  g_free (data.queries);

  return 0;
}
