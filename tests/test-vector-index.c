/* test-vector-index.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "store/rfl-vector-index.h"
#include "store/rfl-vector-index-private.h"

/* Helpers */

static float *
random_vectors (GRand *rand,
                gsize  n,
                guint  dims)
{
  float *data = g_new (float, n * dims);

  for (gsize i = 0; i < n * dims; i++)
    data[i] = (float) g_rand_double_range (rand, -1.0, 1.0);

  return data;
}

static double
gaussian (GRand *rand)
{
  double u = g_rand_double_range (rand, 1e-12, 1.0);
  double v = g_rand_double (rand);

  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

/* @n vectors around @n_clusters random centres; the centres go to
 * @centres_out when it is not NULL. */
static float *
clustered_vectors (GRand   *rand,
                   gsize    n,
                   guint    dims,
                   guint    n_clusters,
                   double   spread,
                   float  **centres_out)
{
  g_autofree float *centres = g_new (float, (gsize) n_clusters * dims);
  float *data = g_new (float, n * dims);

  for (gsize i = 0; i < (gsize) n_clusters * dims; i++)
    centres[i] = (float) gaussian (rand);
  for (gsize i = 0; i < n; i++)
    {
      const float *centre = centres + (i % n_clusters) * dims;

      for (guint j = 0; j < dims; j++)
        data[i * dims + j] = centre[j] + (float) (spread * gaussian (rand));
    }

  if (centres_out != NULL)
    *centres_out = g_steal_pointer (&centres);

  return data;
}

static double
cosine (const float *a,
        const float *b,
        guint        dims)
{
  double dot = 0, na = 0, nb = 0;

  for (guint i = 0; i < dims; i++)
    {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }

  return dot / sqrt (na * nb);
}

typedef struct
{
  gint64 id;
  double score;
} Truth;

static int
compare_truth (gconstpointer a,
               gconstpointer b)
{
  const Truth *ta = a;
  const Truth *tb = b;

  if (ta->score != tb->score)
    return ta->score > tb->score ? -1 : 1;
  return ta->id < tb->id ? -1 : ta->id > tb->id;
}

/* Brute force in double precision over the vectors whose ids are listed
 * (row i has id ids[i]); returns the @n_ids scores sorted best first. */
static Truth *
brute_force (const float  *data,
             const gint64 *ids,
             gsize         n_ids,
             guint         dims,
             const float  *query)
{
  Truth *truth = g_new (Truth, n_ids);

  for (gsize i = 0; i < n_ids; i++)
    {
      truth[i].id = ids[i];
      truth[i].score = cosine (data + i * dims, query, dims);
    }
  qsort (truth, n_ids, sizeof (Truth), compare_truth);

  return truth;
}

static RflVectorIndex *
index_with (const float *data,
            gsize        n,
            guint        dims,
            gint64      *ids_out)
{
  RflVectorIndex *index = rfl_vector_index_new (dims, "test");

  rfl_vector_index_set_approximate_threshold (index, 0);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 id = (gint64) (i * 7 + 3);

      rfl_vector_index_insert (index, id, data + i * dims, dims, &error);
      g_assert_no_error (error);
      if (ids_out != NULL)
        ids_out[i] = id;
    }

  return index;
}

static void
search (RflVectorIndex      *index,
        const float         *query,
        guint                k,
        RflVectorSearchMode  mode,
        RflVectorHit        *hits,
        guint               *n_hits)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rfl_vector_index_search (index, query,
                                          rfl_vector_index_get_dims (index),
                                          k, mode, hits, n_hits, &error));
  g_assert_no_error (error);
}

/* Asserts that @hits are a correct top @k: sorted, with true scores, and
 * none worse than the k-th true score (ties within float rounding). */
static void
assert_exact_top (const RflVectorHit *hits,
                  guint               n_hits,
                  const Truth        *truth,
                  gsize               n_truth,
                  guint               k)
{
  guint expected = (guint) MIN (k, n_truth);

  g_assert_cmpuint (n_hits, ==, expected);
  for (guint i = 0; i < n_hits; i++)
    {
      double true_score = NAN;

      for (gsize t = 0; t < n_truth; t++)
        if (truth[t].id == hits[i].id)
          true_score = truth[t].score;

      g_assert_false (isnan (true_score));
      g_assert_cmpfloat_with_epsilon (hits[i].score, true_score, 1e-4);
      g_assert_cmpfloat (true_score, >=, truth[expected - 1].score - 1e-5);
      if (i > 0)
        g_assert_cmpfloat (hits[i - 1].score, >=, hits[i].score);
      for (guint j = 0; j < i; j++)
        g_assert_cmpint (hits[j].id, !=, hits[i].id);
    }
}

/* Kernels and building blocks */

static void
test_kernels (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  guint dims = 100;
  guint stride = _rfl_vector_i8_stride (dims);
  guint f_stride = _rfl_vector_f32_stride (dims);
  g_autofree gint8 *codes = g_new0 (gint8, 64 * stride);
  g_autofree gint8 *query = g_new0 (gint8, stride);
  gint32 fast[64];
  gint32 generic[64];
  g_autofree float *a = g_new0 (float, f_stride);
  g_autofree float *b = g_new0 (float, f_stride);
  g_autofree gint8 *code = g_new (gint8, stride);
  double expected = 0;
  float scale;

  g_assert_cmpuint (stride % 32, ==, 0);
  g_assert_cmpuint (f_stride % 8, ==, 0);
  g_test_message ("kernels: %s", _rfl_vector_kernels_get_name ());

  /* The extremes ±127 are where a saturating kernel would go wrong. */
  for (guint i = 0; i < dims; i++)
    query[i] = (gint8) (i < 50 ? (i % 2 ? -127 : 127)
                        : g_rand_int_range (rand, -127, 128));
  for (guint v = 0; v < 64; v++)
    for (guint i = 0; i < dims; i++)
      codes[v * stride + i] = (gint8) (v == 0 ? -query[i]
                                       : v == 1 ? query[i]
                                       : g_rand_int_range (rand, -127, 128));

  _rfl_vector_dot_i8_many (codes, stride, 64, query, fast);
  _rfl_vector_dot_i8_many_generic (codes, stride, 64, query, generic);
  for (guint v = 0; v < 64; v++)
    {
      gint32 sum = 0;

      for (guint i = 0; i < dims; i++)
        sum += codes[v * stride + i] * query[i];
      g_assert_cmpint (generic[v], ==, sum);
      g_assert_cmpint (fast[v], ==, sum);
    }

  /* Strides with a half-width tail (96) and the embedder's (384). */
  for (guint d = 90; d <= 384; d += 294)
    {
      guint tail_stride = _rfl_vector_i8_stride (d);
      g_autofree gint8 *rows = g_new0 (gint8, 16 * tail_stride);
      g_autofree gint8 *probe = g_new0 (gint8, tail_stride);

      for (guint i = 0; i < d; i++)
        probe[i] = (gint8) g_rand_int_range (rand, -127, 128);
      for (guint v = 0; v < 16; v++)
        for (guint i = 0; i < d; i++)
          rows[v * tail_stride + i] = (gint8) (v == 0 ? 127 : v == 1 ? -127
                                               : g_rand_int_range (rand, -127, 128));

      _rfl_vector_dot_i8_many (rows, tail_stride, 16, probe, fast);
      _rfl_vector_dot_i8_many_generic (rows, tail_stride, 16, probe, generic);
      for (guint v = 0; v < 16; v++)
        g_assert_cmpint (fast[v], ==, generic[v]);
    }

  for (guint i = 0; i < dims; i++)
    {
      a[i] = (float) g_rand_double_range (rand, -1, 1);
      b[i] = (float) g_rand_double_range (rand, -1, 1);
      expected += (double) a[i] * b[i];
    }
  g_assert_cmpfloat_with_epsilon (_rfl_vector_dot_f32 (a, b, f_stride),
                                  expected, 1e-4);

  /* Quantisation: the largest value maps to ±127, the padding to 0. */
  scale = _rfl_vector_quantize (a, dims, stride, code);
  for (guint i = 0; i < dims; i++)
    {
      g_assert_cmpint (code[i], >=, -127);
      g_assert_cmpint (code[i], <=, 127);
      g_assert_cmpfloat (fabsf (code[i] * scale - a[i]), <=, scale / 2 + 1e-6);
    }
  for (guint i = dims; i < stride; i++)
    g_assert_cmpint (code[i], ==, 0);
}

/* The int8 pass keeps a row when its scaled dot product beats the worst
 * kept score: the fast kernel and the portable loop agree on every row,
 * on ties with the floor, on -inf (an empty heap) and on negative scores. */
static void
test_scaled_above (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);

  _rfl_vector_kernels_init ();
  for (guint round = 0; round < 2000; round++)
    {
      gint32 dots[RFL_VECTOR_LANES];
      float scales[RFL_VECTOR_LANES];
      float floor;
      guint32 expected = 0;

      for (guint i = 0; i < RFL_VECTOR_LANES; i++)
        {
          dots[i] = g_rand_int_range (rand, -300000, 300001);
          scales[i] = (float) g_rand_double_range (rand, 1e-6, 1e-3);
        }
      switch (round % 4)
        {
        case 0:
          floor = -INFINITY;
          break;
        case 1:   /* a tie: exactly one row's own score */
          floor = (float) dots[round % RFL_VECTOR_LANES] * scales[round % RFL_VECTOR_LANES];
          break;
        default:
          floor = (float) g_rand_double_range (rand, -100.0, 100.0);
          break;
        }
      for (guint i = 0; i < RFL_VECTOR_LANES; i++)
        if ((float) dots[i] * scales[i] > floor)
          expected |= 1u << i;

      g_assert_cmphex (_rfl_vector_scaled_above_generic (dots, scales, floor), ==, expected);
      g_assert_cmphex (_rfl_vector_scaled_above (dots, scales, floor), ==, expected);
      if (round % 4 == 0)
        g_assert_cmphex (expected, ==, (1u << RFL_VECTOR_LANES) - 1);
      if (round % 4 == 1)
        g_assert_false (expected & (1u << (round % RFL_VECTOR_LANES)));
    }
}

/* The blocked layout: rows put in and read back, moved, and scored alike
 * by the fast and the portable kernel, for sparse and dense queries, in
 * the smallest block, a middle one and the largest. */
static void
test_blocked_kernels (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  const guint sizes[] = { RFL_VECTOR_LANES, 64, RFL_VECTOR_BLOCK_ROWS_MAX };

  for (guint d = 90; d <= 384; d += 294)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        guint stride = _rfl_vector_i8_stride (d);
        guint block_rows = sizes[s];
        guint n_blocks = 3;
        guint n_rows = (n_blocks - 1) * block_rows + 5;
        g_autofree gint8 *rows = g_new0 (gint8, (gsize) n_rows * stride);
        g_autofree gint8 *blocks = g_new0 (gint8, (gsize) n_blocks * block_rows * stride);
        g_autofree gint8 *code = g_new0 (gint8, stride);
        g_autofree gint32 *fast = g_new (gint32, block_rows);
        g_autofree gint32 *generic = g_new (gint32, block_rows);

        for (guint v = 0; v < n_rows; v++)
          {
            for (guint i = 0; i < d; i++)
              rows[v * stride + i] = (gint8) (v == 0 ? 127 : v == 1 ? -127
                                              : g_rand_int_range (rand, -127, 128));
            _rfl_vector_block_put (blocks, stride, block_rows, v,
                                   rows + v * stride);
          }
        for (guint v = 0; v < n_rows; v++)
          {
            _rfl_vector_block_get (blocks, stride, block_rows, v, code);
            g_assert_cmpmem (code, stride, rows + v * stride, stride);
          }

        /* Every density from one group in sixteen to all of them. */
        for (guint density = 1; density <= 4; density++)
          {
            g_autofree gint8 *query = g_new0 (gint8, stride);
            RflVectorQueryGroups groups;

            for (guint i = 0; i < d; i++)
              if (density == 4 || g_rand_int_range (rand, 0, 16) < (gint32) density)
                query[i] = (gint8) (i % 7 == 0 ? (i % 2 ? -127 : 127)
                                    : g_rand_int_range (rand, -127, 128));
            _rfl_vector_query_groups_init (&groups, query, stride);
            g_assert_cmpuint (groups.n_groups, <=, stride / 4);

            for (guint b = 0; b < n_blocks; b++)
              {
                const gint8 *block = blocks + (gsize) b * block_rows * stride;

                _rfl_vector_dot_i8_block (block, block_rows, &groups, fast);
                _rfl_vector_dot_i8_block_generic (block, block_rows, &groups,
                                                  generic);
                for (guint r = 0; r < block_rows && b * block_rows + r < n_rows; r++)
                  {
                    const gint8 *row = rows + (gsize) (b * block_rows + r) * stride;
                    gint32 sum = 0;

                    for (guint i = 0; i < d; i++)
                      sum += row[i] * query[i];
                    g_assert_cmpint (generic[r], ==, sum);
                    g_assert_cmpint (fast[r], ==, sum);
                  }
              }
            _rfl_vector_query_groups_clear (&groups);
          }

        /* A copy moves one row and leaves its neighbours alone. */
        _rfl_vector_block_copy (blocks, stride, block_rows, 2, n_rows - 1);
        _rfl_vector_block_get (blocks, stride, block_rows, 2, code);
        g_assert_cmpmem (code, stride, rows + (n_rows - 1) * stride, stride);
        _rfl_vector_block_get (blocks, stride, block_rows, 3, code);
        g_assert_cmpmem (code, stride, rows + 3 * stride, stride);
      }
}

static void
test_id_map (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);
  g_autoptr(GHashTable) reference = g_hash_table_new_full (g_int64_hash,
                                                           g_int64_equal,
                                                           g_free, NULL);
  RflIdMap map;

  _rfl_id_map_init (&map, 0);

  /* A small key range makes long probe runs and many deletions in them. */
  for (guint op = 0; op < 20000; op++)
    {
      gint64 key = g_rand_int_range (rand, -500, 500) * G_GINT64_CONSTANT (1000003);
      guint64 value = g_rand_int (rand);

      if (g_rand_boolean (rand))
        {
          _rfl_id_map_set (&map, key, value);
          g_hash_table_insert (reference, g_memdup2 (&key, sizeof key),
                               GSIZE_TO_POINTER ((gsize) value + 1));
        }
      else
        {
          g_assert_cmpint (_rfl_id_map_remove (&map, key), ==,
                           g_hash_table_remove (reference, &key));
        }
    }

  g_assert_cmpuint (map.count, ==, g_hash_table_size (reference));
  for (gint64 k = -500; k < 500; k++)
    {
      gint64 key = k * G_GINT64_CONSTANT (1000003);
      gpointer expected = g_hash_table_lookup (reference, &key);
      guint64 value = 0;
      gboolean found = _rfl_id_map_lookup (&map, key, &value);

      g_assert_cmpint (found, ==, expected != NULL);
      if (found)
        g_assert_cmpuint (value + 1, ==, GPOINTER_TO_SIZE (expected));
    }

  _rfl_id_map_clear (&map);
}

/* Exact search */

static void
test_exact_brute_force (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  guint dims = 48;
  gsize n = 3000;
  g_autofree float *data = random_vectors (rand, n, dims);
  g_autofree gint64 *ids = g_new (gint64, n);
  g_autoptr(RflVectorIndex) index = index_with (data, n, dims, ids);

  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, n);
  g_assert_true (_rfl_vector_index_check (index));

  for (guint q = 0; q < 40; q++)
    {
      g_autofree float *query = random_vectors (rand, 1, dims);
      g_autofree Truth *truth = brute_force (data, ids, n, dims, query);
      RflVectorHit hits[10];
      guint n_hits;

      search (index, query, 10, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
      assert_exact_top (hits, n_hits, truth, n, 10);
      g_assert_cmpint (hits[0].id, ==, truth[0].id);

      /* With no approximate index AUTO is the same search. */
      search (index, query, 10, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
      assert_exact_top (hits, n_hits, truth, n, 10);
    }
}

static void
test_small_index (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  guint dims = 5;
  gsize n = 60;
  g_autofree float *data = random_vectors (rand, n, dims);
  g_autofree gint64 *ids = g_new (gint64, n);
  g_autoptr(RflVectorIndex) index = index_with (data, n, dims, ids);

  for (guint q = 0; q < 20; q++)
    {
      g_autofree float *query = random_vectors (rand, 1, dims);
      g_autofree Truth *truth = brute_force (data, ids, n, dims, query);
      RflVectorHit hits[7];
      guint n_hits;

      search (index, query, 7, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
      assert_exact_top (hits, n_hits, truth, n, 7);
    }
}

static void
test_k_beyond_count (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  guint dims = 16;
  g_autofree float *data = random_vectors (rand, 7, dims);
  g_autofree gint64 *ids = g_new (gint64, 7);
  g_autoptr(RflVectorIndex) index = index_with (data, 7, dims, ids);
  g_autoptr(RflVectorIndex) empty = rfl_vector_index_new (dims, "test");
  g_autofree Truth *truth = brute_force (data, ids, 7, dims, data);
  RflVectorHit hits[20];
  guint n_hits = 99;

  search (index, data, 20, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
  assert_exact_top (hits, n_hits, truth, 7, 20);
  g_assert_cmpint (hits[0].id, ==, ids[0]);
  g_assert_cmpfloat_with_epsilon (hits[0].score, 1.0, 1e-5);

  search (index, data, 0, RFL_VECTOR_SEARCH_EXACT, NULL, &n_hits);
  g_assert_cmpuint (n_hits, ==, 0);

  search (empty, data, 5, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
  g_assert_cmpuint (n_hits, ==, 0);
}

/* Writes */

static void
test_swap_remove (void)
{
  guint dims = 3;
  float rows[6][3] = {
    { 1, 0, 0 }, { 0, 2, 0 }, { 0, 0, 3 }, { 1, 1, 0 }, { 0, 1, 1 }, { 4, 0, 4 },
  };
  gboolean present[6] = { TRUE, TRUE, TRUE, TRUE, TRUE, TRUE };
  g_autoptr(RflVectorIndex) index = index_with (&rows[0][0], 6, dims, NULL);
  gint64 order[] = { 3, 38, 17, 24 }; /* first slot, last slot, middle, … */
  float out[3];

  for (guint step = 0; step < G_N_ELEMENTS (order); step++)
    {
      g_assert_true (rfl_vector_index_remove (index, order[step]));
      g_assert_false (rfl_vector_index_remove (index, order[step]));
      present[(order[step] - 3) / 7] = FALSE;

      g_assert_true (_rfl_vector_index_check (index));
      for (guint i = 0; i < 6; i++)
        {
          gint64 id = (gint64) i * 7 + 3;

          g_assert_cmpint (rfl_vector_index_contains (index, id), ==, present[i]);
          g_assert_cmpint (rfl_vector_index_get_vector (index, id, out), ==,
                           present[i]);
          if (present[i])
            g_assert_cmpfloat_with_epsilon (cosine (out, rows[i], dims), 1.0, 1e-6);
        }
    }
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, 2);

  /* A removed id can come back. */
  {
    g_autoptr(GError) error = NULL;

    rfl_vector_index_insert (index, 3, rows[0], dims, &error);
    g_assert_no_error (error);
    g_assert_true (_rfl_vector_index_check (index));
    g_assert_true (rfl_vector_index_get_vector (index, 3, out));
    g_assert_cmpfloat_with_epsilon (out[0], 1.0, 1e-6);
  }

  g_assert_true (rfl_vector_index_remove (index, 3));
  g_assert_true (rfl_vector_index_remove (index, 10));
  g_assert_true (rfl_vector_index_remove (index, 31));
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, 0);
  g_assert_true (_rfl_vector_index_check (index));
}

static void
test_delete_update (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  guint dims = 24;
  gsize n = 800;
  g_autofree float *data = random_vectors (rand, n, dims);
  g_autofree gint64 *ids = g_new (gint64, n);
  g_autoptr(RflVectorIndex) index = index_with (data, n, dims, ids);
  g_autofree float *moved = random_vectors (rand, 1, dims);
  g_autoptr(GError) error = NULL;
  RflVectorHit hits[10];
  guint n_hits;

  /* Every vector is its own best match; after removal it never shows. */
  for (gsize i = 0; i < n; i += 4)
    g_assert_true (rfl_vector_index_remove (index, ids[i]));
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, n - n / 4);
  g_assert_true (_rfl_vector_index_check (index));

  for (gsize i = 0; i < n; i++)
    {
      search (index, data + i * dims, 10, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
      g_assert_cmpuint (n_hits, ==, 10);
      if (i % 4 == 0)
        {
          for (guint h = 0; h < n_hits; h++)
            g_assert_cmpint (hits[h].id, !=, ids[i]);
        }
      else
        {
          g_assert_cmpint (hits[0].id, ==, ids[i]);
        }
    }

  /* An updated vector is found at its new place only. */
  rfl_vector_index_update (index, ids[1], moved, dims, &error);
  g_assert_no_error (error);
  g_assert_true (_rfl_vector_index_check (index));
  search (index, moved, 1, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
  g_assert_cmpint (hits[0].id, ==, ids[1]);
  g_assert_cmpfloat_with_epsilon (hits[0].score, 1.0, 1e-5);
  search (index, data + dims, 1, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
  if (hits[0].id == ids[1])
    g_assert_cmpfloat_with_epsilon (hits[0].score,
                                    cosine (moved, data + dims, dims), 1e-4);

  /* Updating a missing id changes nothing. */
  rfl_vector_index_update (index, ids[0], moved, dims, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND);
  g_assert_false (rfl_vector_index_contains (index, ids[0]));
}

static void
test_invalid_vectors (void)
{
  g_autoptr(RflVectorIndex) index = rfl_vector_index_new (4, "hash-384-v1");
  float ok[4] = { 1, 2, 3, 4 };
  float zero[4] = { 0, 0, 0, 0 };
  float nan_vec[4] = { 1, NAN, 0, 0 };
  float inf_vec[4] = { 1, 0, INFINITY, 0 };
  RflVectorHit hits[3];
  guint n_hits = 42;
  GError *error = NULL;

  g_assert_cmpstr (rfl_vector_index_get_embedder_id (index), ==, "hash-384-v1");
  g_assert_cmpuint (rfl_vector_index_get_dims (index), ==, 4);

  g_assert_false (rfl_vector_index_insert (index, 1, zero, 4, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_vector_index_insert (index, 1, nan_vec, 4, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_vector_index_insert (index, 1, inf_vec, 4, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_vector_index_insert (index, 1, ok, 3, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "3"));
  g_clear_error (&error);
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, 0);

  g_assert_true (rfl_vector_index_insert (index, 1, ok, 4, &error));
  g_assert_no_error (error);
  g_assert_false (rfl_vector_index_insert (index, 1, ok, 4, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (rfl_vector_index_update (index, 1, zero, 4, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, 1);

  /* A zero query matches nothing; a malformed one is an error. */
  g_assert_true (rfl_vector_index_search (index, zero, 4, 3,
                                          RFL_VECTOR_SEARCH_AUTO, hits,
                                          &n_hits, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_hits, ==, 0);
  g_assert_false (rfl_vector_index_search (index, ok, 5, 3,
                                           RFL_VECTOR_SEARCH_AUTO, hits,
                                           &n_hits, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_vector_index_search (index, nan_vec, 4, 3,
                                           RFL_VECTOR_SEARCH_AUTO, hits,
                                           &n_hits, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  search (index, ok, 3, RFL_VECTOR_SEARCH_EXACT, hits, &n_hits);
  g_assert_cmpuint (n_hits, ==, 1);
  g_assert_cmpint (hits[0].id, ==, 1);
}

/* The approximate index */

static double
recall_at_10 (RflVectorIndex *index,
              const float    *data,
              const gint64   *ids,
              gsize           n,
              guint           dims,
              const float    *queries,
              guint           n_queries)
{
  guint found = 0;

  for (guint q = 0; q < n_queries; q++)
    {
      g_autofree Truth *truth = brute_force (data, ids, n, dims,
                                             queries + (gsize) q * dims);
      RflVectorHit hits[10];
      guint n_hits;

      search (index, queries + (gsize) q * dims, 10, RFL_VECTOR_SEARCH_AUTO,
              hits, &n_hits);
      for (guint h = 0; h < n_hits; h++)
        for (guint t = 0; t < 10; t++)
          if (truth[t].id == hits[h].id)
            found++;
    }

  return found / (10.0 * n_queries);
}

static void
test_approximate_recall (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint dims = 32;
  gsize n = 6000;
  g_autofree float *centres = NULL;
  g_autofree float *data = clustered_vectors (rand, n, dims, 60, 0.6, &centres);
  g_autofree float *queries = g_new (float, 50 * dims);
  g_autofree gint64 *ids = g_new (gint64, n);
  g_autoptr(RflVectorIndex) index = index_with (data, n, dims, ids);
  g_autoptr(GError) error = NULL;
  g_autofree float *extra = NULL;
  RflVectorHit hits[10];
  guint n_hits;
  double recall;

  for (guint q = 0; q < 50; q++)
    for (guint j = 0; j < dims; j++)
      queries[q * dims + j] = centres[(q % 60) * dims + j]
                              + (float) (0.3 * gaussian (rand));

  g_assert_false (rfl_vector_index_has_approximate (index));
  g_assert_true (rfl_vector_index_build_approximate (index, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_vector_index_has_approximate (index));
  g_assert_false (rfl_vector_index_is_building (index));
  g_assert_cmpuint (rfl_vector_index_get_n_lists (index), >, 1);
  g_assert_true (_rfl_vector_index_check (index));

  recall = recall_at_10 (index, data, ids, n, dims, queries, 50);
  g_test_message ("recall@10 with %u lists: %.3f",
                  rfl_vector_index_get_n_lists (index), recall);
  g_assert_cmpfloat (recall, >=, 0.9);

  /* Probing every list is the exact answer; probing one list misses
   * neighbours of queries that fall between clusters. */
  rfl_vector_index_set_n_probe (index, rfl_vector_index_get_n_lists (index));
  recall = recall_at_10 (index, data, ids, n, dims, queries, 50);
  g_assert_cmpfloat (recall, >=, 0.999);
  {
    g_autofree float *between = random_vectors (rand, 50, dims);

    rfl_vector_index_set_n_probe (index, 1);
    recall = recall_at_10 (index, data, ids, n, dims, between, 50);
    g_test_message ("recall@10 probing one list: %.3f", recall);
    g_assert_cmpfloat (recall, <, 0.95);
    rfl_vector_index_set_n_probe (index, 0);
  }

  /* Writes after the build reach the approximate index. */
  extra = clustered_vectors (rand, 1, dims, 1, 0.0, NULL);
  g_assert_true (rfl_vector_index_insert (index, -5, extra, dims, &error));
  search (index, extra, 1, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
  g_assert_cmpint (hits[0].id, ==, -5);
  g_assert_true (rfl_vector_index_update (index, -5, data, dims, &error));
  search (index, extra, 1, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
  g_assert_cmpint (hits[0].id, !=, -5);
  g_assert_true (rfl_vector_index_remove (index, ids[0]));
  search (index, data, 10, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
  g_assert_cmpint (hits[0].id, ==, -5);
  for (guint h = 0; h < n_hits; h++)
    g_assert_cmpint (hits[h].id, !=, ids[0]);
  g_assert_true (_rfl_vector_index_check (index));
}

static void
wait_for_build (RflVectorIndex *index)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (rfl_vector_index_is_building (index))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (2000);
    }
}

static void
test_automatic_build (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  guint dims = 16;
  gsize n = 5000;
  g_autofree float *data = clustered_vectors (rand, n, dims, 40, 0.5, NULL);
  g_autoptr(RflVectorIndex) index = rfl_vector_index_new (dims, "test");
  guint removed = 0;
  guint checked = 0;
  guint missed = 0;

  g_assert_cmpuint (rfl_vector_index_get_approximate_threshold (index), ==,
                    RFL_VECTOR_INDEX_DEFAULT_THRESHOLD);
  rfl_vector_index_set_approximate_threshold (index, 1000);

  /* Writes go on while the build runs; they are replayed into it. */
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      rfl_vector_index_insert (index, (gint64) i, data + i * dims, dims, &error);
      g_assert_no_error (error);
      if (i % 3 == 0 && i > 0 && rfl_vector_index_remove (index, (gint64) i / 2))
        removed++;
      if (i % 5 == 0)
        {
          rfl_vector_index_update (index, (gint64) i, data + (n - 1 - i) * dims,
                                   dims, &error);
          g_assert_no_error (error);
        }
    }

  wait_for_build (index);
  g_assert_true (rfl_vector_index_has_approximate (index));
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, n - removed);
  g_assert_true (_rfl_vector_index_check (index));

  /* Vectors are found through the approximate index by themselves. The
   * lists depend on when the build sampled the rows, so one miss in a
   * hundred is tolerated. */
  for (gint64 id = 1; id < (gint64) n; id += 25)
    {
      float vector[16];
      RflVectorHit hits[10];
      guint n_hits;
      gboolean found = FALSE;

      if (!rfl_vector_index_get_vector (index, id, vector))
        continue;
      search (index, vector, 10, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
      for (guint h = 0; h < n_hits; h++)
        found |= hits[h].id == id;
      checked++;
      missed += !found;
    }
  g_assert_cmpuint (checked, >, 100);
  g_assert_cmpuint (missed, <=, checked / 100);
}

static void
test_threshold_starts_build (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  guint dims = 12;
  g_autofree float *data = clustered_vectors (rand, 3000, dims, 30, 0.5, NULL);
  g_autoptr(RflVectorIndex) index = index_with (data, 3000, dims, NULL);

  /* A load with automatic builds off, then the threshold set. */
  g_assert_false (rfl_vector_index_is_building (index));
  g_assert_false (rfl_vector_index_has_approximate (index));
  rfl_vector_index_set_approximate_threshold (index, 1000);
  g_assert_true (rfl_vector_index_is_building (index)
                 || rfl_vector_index_has_approximate (index));
  wait_for_build (index);
  g_assert_true (rfl_vector_index_has_approximate (index));
  g_assert_true (_rfl_vector_index_check (index));
}

typedef struct
{
  RflVectorIndex *index;
  gboolean        done;
  gboolean        ok;
  GError         *error;
} BuildResult;

static void
build_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  BuildResult *build = user_data;

  g_assert_null (source);
  build->ok = rfl_vector_index_build_approximate_finish (build->index, result,
                                                         &build->error);
  build->done = TRUE;
}

static void
build_async_and_wait (RflVectorIndex *index,
                      GCancellable   *cancellable,
                      BuildResult    *build)
{
  build->index = index;
  build->done = FALSE;
  build->error = NULL;
  rfl_vector_index_build_approximate_async (index, cancellable, build_done_cb,
                                            build);
  while (!build->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_build_async (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  guint dims = 8;
  g_autofree float *data = clustered_vectors (rand, 2000, dims, 10, 0.4, NULL);
  g_autoptr(RflVectorIndex) index = index_with (data, 2000, dims, NULL);
  g_autoptr(RflVectorIndex) empty = rfl_vector_index_new (dims, "test");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  BuildResult build;
  GError *error = NULL;

  /* Succeeds, with the result on the calling thread's context. */
  build_async_and_wait (index, NULL, &build);
  g_assert_no_error (build.error);
  g_assert_true (build.ok);
  g_assert_true (rfl_vector_index_has_approximate (index));

  /* Cancelled: the previous approximate index stays. */
  g_cancellable_cancel (cancellable);
  build_async_and_wait (index, cancellable, &build);
  g_assert_error (build.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (build.ok);
  g_clear_error (&build.error);
  g_assert_true (rfl_vector_index_has_approximate (index));
  g_assert_false (rfl_vector_index_is_building (index));
  g_assert_true (_rfl_vector_index_check (index));

  g_assert_false (rfl_vector_index_build_approximate (empty, NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (rfl_vector_index_has_approximate (empty));
}

typedef struct
{
  const float  *data;
  const gint64 *ids;
  gsize         n;
  guint         n_writes;
  gboolean      when_done;   /* else after the first chunk */
  gboolean      written;
} WriteJob;

/* Writes while the build runs, after it has put some rows or every row
 * into lists: it must replay them before it puts its index in place. */
static void
write_during_build_cb (RflVectorIndex *index,
                       gsize           n_assigned,
                       gboolean        done,
                       gpointer        user_data)
{
  WriteJob *job = user_data;
  guint dims = rfl_vector_index_get_dims (index);

  if (job->written || done != job->when_done)
    return;
  job->written = TRUE;

  g_assert_cmpuint (n_assigned, <, rfl_vector_index_get_count (index) + done);
  g_assert_true (rfl_vector_index_is_building (index));
  g_assert_false (rfl_vector_index_has_approximate (index));

  /* Removals first: they move rows from the end, which the build has not
   * copied yet, into slots it has. */
  for (gsize i = 0; i < job->n_writes; i++)
    g_assert_true (rfl_vector_index_remove (index, job->ids[i]));

  for (gsize i = 0; i < job->n_writes; i++)
    {
      g_autoptr(GError) error = NULL;

      rfl_vector_index_update (index, job->ids[job->n / 2 - 1 - i],
                               job->data + i * dims, dims, &error);
      g_assert_no_error (error);
      rfl_vector_index_insert (index, -1 - (gint64) i,
                               job->data + (job->n / 2 + i) * dims, dims, &error);
      g_assert_no_error (error);
    }
}

static void
check_writes_during_build (guint    n_writes,
                           gboolean when_done)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  guint dims = 32;
  gsize n = 8000;
  g_autofree float *data = clustered_vectors (rand, n, dims, 100, 0.5, NULL);
  g_autofree gint64 *ids = g_new (gint64, n);
  g_autoptr(RflVectorIndex) index = index_with (data, n, dims, ids);
  WriteJob job = { data, ids, n, n_writes, when_done, FALSE };
  g_autoptr(GError) error = NULL;

  _rfl_vector_index_set_build_hook (index, write_during_build_cb, &job);
  g_assert_true (rfl_vector_index_build_approximate (index, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (job.written);
  g_assert_true (rfl_vector_index_has_approximate (index));
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, n);
  g_assert_true (_rfl_vector_index_check (index));

  /* Removed ids are gone from the approximate index too; moved vectors
   * are found under their new ids. */
  for (gsize i = 0; i < n_writes; i += MAX (1, n_writes / 40))
    {
      RflVectorHit hits[10];
      guint n_hits;
      gboolean moved_found = FALSE;

      search (index, data + i * dims, 10, RFL_VECTOR_SEARCH_AUTO, hits, &n_hits);
      for (guint h = 0; h < n_hits; h++)
        {
          g_assert_cmpint (hits[h].id, !=, ids[i]);
          moved_found |= hits[h].id == ids[n / 2 - 1 - i];
        }
      g_assert_true (moved_found);
    }
}

static void
test_writes_during_build (void)
{
  /* A few writes are replayed under the write lock; a backlog of
   * thousands first under the read lock. Rows moved by a removal while
   * the build copies rows may be skipped by the copy. */
  check_writes_during_build (50, TRUE);
  check_writes_during_build (1500, TRUE);
  check_writes_during_build (50, FALSE);
  check_writes_during_build (1500, FALSE);
}

/* Concurrency */

typedef struct
{
  RflVectorIndex *index;
  const float    *queries;
  guint           n_queries;
} SearchJob;

static gpointer
search_worker (gpointer data)
{
  SearchJob *job = data;
  guint dims = rfl_vector_index_get_dims (job->index);

  for (guint round = 0; round < 3; round++)
    for (guint q = 0; q < job->n_queries; q++)
      {
        RflVectorHit hits[5];
        guint n_hits;

        search (job->index, job->queries + (gsize) q * dims, 5,
                q % 2 ? RFL_VECTOR_SEARCH_AUTO : RFL_VECTOR_SEARCH_EXACT,
                hits, &n_hits);
        g_assert_cmpuint (n_hits, ==, 5);
      }

  return NULL;
}

static void
test_concurrent (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (10);
  guint dims = 32;
  gsize n = 3000;
  g_autofree float *data = clustered_vectors (rand, n, dims, 20, 0.5, NULL);
  g_autofree float *queries = random_vectors (rand, 100, dims);
  g_autoptr(RflVectorIndex) index = index_with (data, n, dims, NULL);
  SearchJob job = { index, queries, 100 };
  GThread *threads[2];
  BuildResult build = { index, FALSE, FALSE, NULL };

  /* A build, searches on two threads and writes, all at once. */
  rfl_vector_index_build_approximate_async (index, NULL, build_done_cb, &build);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("search", search_worker, &job);

  for (gsize i = 0; i < 2000; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 id = (gint64) (i % 500) * 7 + 3;

      if (rfl_vector_index_remove (index, id))
        {
          rfl_vector_index_insert (index, id, data + (i % n) * dims, dims, &error);
          g_assert_no_error (error);
        }
    }

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
  while (!build.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (build.error);
  g_assert_true (rfl_vector_index_has_approximate (index));
  g_assert_cmpuint (rfl_vector_index_get_count (index), ==, n);
  g_assert_true (_rfl_vector_index_check (index));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/vector-index/kernels", test_kernels);
  g_test_add_func ("/rfl/vector-index/blocked-kernels", test_blocked_kernels);
  g_test_add_func ("/rfl/vector-index/scaled-above", test_scaled_above);
  g_test_add_func ("/rfl/vector-index/id-map", test_id_map);
  g_test_add_func ("/rfl/vector-index/exact-brute-force", test_exact_brute_force);
  g_test_add_func ("/rfl/vector-index/small-index", test_small_index);
  g_test_add_func ("/rfl/vector-index/k-beyond-count", test_k_beyond_count);
  g_test_add_func ("/rfl/vector-index/swap-remove", test_swap_remove);
  g_test_add_func ("/rfl/vector-index/delete-update", test_delete_update);
  g_test_add_func ("/rfl/vector-index/invalid-vectors", test_invalid_vectors);
  g_test_add_func ("/rfl/vector-index/approximate-recall", test_approximate_recall);
  g_test_add_func ("/rfl/vector-index/automatic-build", test_automatic_build);
  g_test_add_func ("/rfl/vector-index/threshold-starts-build",
                   test_threshold_starts_build);
  g_test_add_func ("/rfl/vector-index/build-async", test_build_async);
  g_test_add_func ("/rfl/vector-index/writes-during-build",
                   test_writes_during_build);
  g_test_add_func ("/rfl/vector-index/concurrent", test_concurrent);

  return g_test_run ();
}
