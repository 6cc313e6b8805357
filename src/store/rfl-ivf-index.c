/* rfl-ivf-index.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-ivf-index.h"

#include <math.h>
#include <string.h>

#define KMEANS_ITERATIONS 8
/* Centroids whose float rows settle the assignment after the int8 pass. */
#define ASSIGN_CANDIDATES 4
#define LIST_MIN_CAPACITY 16
#define SCAN_BLOCK 256
#define TRAIN_SEED 0x1f2e3d4cu

typedef struct
{
  gint64 *ids;       /* owned */
  gint8  *codes;     /* owned: capacity × i8_stride */
  float  *scales;    /* owned */
  guint   count;
  guint   capacity;
} IvfList;

struct _RflIvfIndex
{
  guint     dims;
  guint     f32_stride;
  guint     i8_stride;
  guint     n_lists;
  float    *centroids;       /* owned: n_lists normalised rows */
  gint8    *centroid_codes;  /* owned: their int8 rows */
  float    *centroid_scales; /* owned */

  IvfList  *lists;           /* owned: n_lists */
  RflIdMap  where;           /* id → list << 32 | position */
  gsize     count;
};

guint
rfl_ivf_index_suggest_n_lists (gsize count)
{
  double n = round (sqrt ((double) count));

  return (guint) CLAMP (n, 1.0, 65536.0);
}

guint
rfl_ivf_index_suggest_n_probe (guint n_lists)
{
  return MIN (n_lists, MAX (8, n_lists / 32));
}

static inline float *
centroid_at (RflIvfIndex *self,
             guint        list)
{
  return self->centroids + (gsize) list * self->f32_stride;
}

static RflIvfIndex *
ivf_new (guint dims,
         guint n_lists)
{
  RflIvfIndex *self = g_new0 (RflIvfIndex, 1);

  self->dims = dims;
  self->f32_stride = _rfl_vector_f32_stride (dims);
  self->i8_stride = _rfl_vector_i8_stride (dims);
  self->n_lists = n_lists;
  self->centroids = g_new0 (float, (gsize) n_lists * self->f32_stride);
  self->centroid_codes = g_new0 (gint8, (gsize) n_lists * self->i8_stride);
  self->centroid_scales = g_new0 (float, n_lists);
  self->lists = g_new0 (IvfList, n_lists);
  _rfl_id_map_init (&self->where, 0);

  return self;
}

void
rfl_ivf_index_free (RflIvfIndex *self)
{
  if (self == NULL)
    return;

  for (guint i = 0; i < self->n_lists; i++)
    {
      g_free (self->lists[i].ids);
      g_free (self->lists[i].codes);
      g_free (self->lists[i].scales);
    }
  g_free (self->lists);
  _rfl_id_map_clear (&self->where);
  g_free (self->centroid_codes);
  g_free (self->centroid_scales);
  g_free (self->centroids);
  g_free (self);
}

guint
rfl_ivf_index_get_n_lists (RflIvfIndex *self)
{
  return self->n_lists;
}

gsize
rfl_ivf_index_get_count (RflIvfIndex *self)
{
  return self->count;
}

gboolean
rfl_ivf_index_contains (RflIvfIndex *self,
                        gint64       id)
{
  return _rfl_id_map_lookup (&self->where, id, NULL);
}

/* Normalises a padded row in place; a zero row is left as it is. */
static void
normalize_row (float *row,
               guint  stride)
{
  double norm2 = _rfl_vector_norm2 (row, stride);

  if (norm2 > 0.0)
    _rfl_vector_scale_into (row, stride, 1.0 / sqrt (norm2), stride, row);
}

guint
rfl_ivf_index_assign (RflIvfIndex *self,
                      const float *row,
                      const gint8 *code)
{
  RflVectorHeap candidates;
  gint32 dots[SCAN_BLOCK];
  float best = -INFINITY;
  guint best_list = 0;

  /* The int8 pass over every centroid finds the few that can be nearest;
   * their float rows decide. */
  _rfl_vector_heap_init (&candidates, ASSIGN_CANDIDATES);
  for (guint start = 0; start < self->n_lists; start += SCAN_BLOCK)
    {
      guint n = MIN (SCAN_BLOCK, self->n_lists - start);
      const gint8 *codes = self->centroid_codes + (gsize) start * self->i8_stride;

      _rfl_vector_dot_i8_many (codes, self->i8_stride, n, code, dots);
      for (guint j = 0; j < n; j++)
        {
          float score = (float) dots[j] * self->centroid_scales[start + j];

          if (score >= candidates.floor)
            _rfl_vector_heap_offer (&candidates, score, start + j);
        }
    }

  for (guint i = 0; i < candidates.size; i++)
    {
      guint list = (guint) candidates.items[i].ref;
      float score = _rfl_vector_dot_f32 (centroid_at (self, list), row,
                                         self->f32_stride);

      if (score > best || (score == best && list < best_list))
        {
          best = score;
          best_list = list;
        }
    }
  _rfl_vector_heap_clear (&candidates);

  return best_list;
}

static void
quantize_centroids (RflIvfIndex *self)
{
  for (guint l = 0; l < self->n_lists; l++)
    self->centroid_scales[l] =
      _rfl_vector_quantize (centroid_at (self, l), self->f32_stride,
                            self->i8_stride,
                            self->centroid_codes + (gsize) l * self->i8_stride);
}

static void
update_centroids (RflIvfIndex *self,
                  const float *sample,
                  gsize        n_sample,
                  const guint *assignment,
                  GRand       *rand)
{
  guint stride = self->f32_stride;
  g_autofree guint *sizes = g_new0 (guint, self->n_lists);

  memset (self->centroids, 0, (gsize) self->n_lists * stride * sizeof (float));
  for (gsize i = 0; i < n_sample; i++)
    {
      const float *row = sample + i * stride;
      float *centroid = centroid_at (self, assignment[i]);

      sizes[assignment[i]]++;
      for (guint j = 0; j < stride; j++)
        centroid[j] += row[j];
    }

  for (guint l = 0; l < self->n_lists; l++)
    {
      float *centroid = centroid_at (self, l);

      /* An empty list restarts from a random sample row. */
      if (sizes[l] == 0)
        {
          gsize i = (gsize) g_rand_double_range (rand, 0, (double) n_sample);

          memcpy (centroid, sample + MIN (i, n_sample - 1) * stride,
                  stride * sizeof (float));
        }
      normalize_row (centroid, stride);
    }
}

RflIvfIndex *
rfl_ivf_index_train (guint         dims,
                     const float  *sample,
                     gsize         n_sample,
                     guint         n_lists,
                     GCancellable *cancellable)
{
  g_autoptr(RflIvfIndex) self = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (TRAIN_SEED);
  g_autofree gsize *order = NULL;
  g_autofree guint *assignment = NULL;
  g_autofree gint8 *codes = NULL;
  guint stride;

  g_return_val_if_fail (sample != NULL, NULL);
  g_return_val_if_fail (n_sample > 0, NULL);
  g_return_val_if_fail (n_lists > 0, NULL);

  _rfl_vector_kernels_init ();

  self = ivf_new (dims, (guint) MIN (n_lists, n_sample));
  stride = self->f32_stride;

  /* The first centroids are distinct sample rows in a seeded order. */
  order = g_new (gsize, n_sample);
  for (gsize i = 0; i < n_sample; i++)
    order[i] = i;
  for (guint l = 0; l < self->n_lists; l++)
    {
      gsize j = l + (gsize) g_rand_double_range (rand, 0, (double) (n_sample - l));
      gsize tmp;

      j = MIN (j, n_sample - 1);
      tmp = order[l];
      order[l] = order[j];
      order[j] = tmp;
      memcpy (centroid_at (self, l), sample + order[l] * stride,
              stride * sizeof (float));
    }
  g_clear_pointer (&order, g_free);
  quantize_centroids (self);

  codes = g_new (gint8, n_sample * self->i8_stride);
  for (gsize i = 0; i < n_sample; i++)
    _rfl_vector_quantize (sample + i * stride, stride, self->i8_stride,
                          codes + i * self->i8_stride);

  assignment = g_new (guint, n_sample);
  for (guint it = 0; it < KMEANS_ITERATIONS; it++)
    {
      if (g_cancellable_is_cancelled (cancellable))
        return NULL;

      for (gsize i = 0; i < n_sample; i++)
        assignment[i] = rfl_ivf_index_assign (self, sample + i * stride,
                                              codes + i * self->i8_stride);
      update_centroids (self, sample, n_sample, assignment, rand);
      quantize_centroids (self);
    }

  return g_steal_pointer (&self);
}

static void
list_reserve (RflIvfIndex *self,
              IvfList     *list,
              guint        needed)
{
  guint capacity = MAX (list->capacity, LIST_MIN_CAPACITY);

  if (needed <= list->capacity)
    return;

  while (capacity < needed)
    capacity *= 2;

  list->ids = g_renew (gint64, list->ids, capacity);
  list->scales = g_renew (float, list->scales, capacity);
  list->codes = g_realloc_n (list->codes, capacity, self->i8_stride);
  list->capacity = capacity;
}

static void
remove_at (RflIvfIndex *self,
           guint        l,
           guint        pos)
{
  IvfList *list = &self->lists[l];
  guint last = list->count - 1;
  gint64 id = list->ids[pos];

  if (pos != last)
    {
      list->ids[pos] = list->ids[last];
      list->scales[pos] = list->scales[last];
      memcpy (list->codes + (gsize) pos * self->i8_stride,
              list->codes + (gsize) last * self->i8_stride, self->i8_stride);
      _rfl_id_map_set (&self->where, list->ids[pos],
                       ((guint64) l << 32) | pos);
    }
  list->count--;
  _rfl_id_map_remove (&self->where, id);
  self->count--;
}

void
rfl_ivf_index_add (RflIvfIndex *self,
                   guint        l,
                   gint64       id,
                   const gint8 *code,
                   float        scale)
{
  IvfList *list;
  guint64 where;
  guint pos;

  g_return_if_fail (l < self->n_lists);

  if (_rfl_id_map_lookup (&self->where, id, &where))
    {
      if ((guint) (where >> 32) == l)
        {
          pos = (guint) (where & G_MAXUINT32);
          self->lists[l].scales[pos] = scale;
          memcpy (self->lists[l].codes + (gsize) pos * self->i8_stride, code,
                  self->i8_stride);
          return;
        }
      remove_at (self, (guint) (where >> 32), (guint) (where & G_MAXUINT32));
    }

  list = &self->lists[l];
  list_reserve (self, list, list->count + 1);
  pos = list->count++;
  list->ids[pos] = id;
  list->scales[pos] = scale;
  memcpy (list->codes + (gsize) pos * self->i8_stride, code, self->i8_stride);
  _rfl_id_map_set (&self->where, id, ((guint64) l << 32) | pos);
  self->count++;
}

gboolean
rfl_ivf_index_remove (RflIvfIndex *self,
                      gint64       id)
{
  guint64 where;

  if (!_rfl_id_map_lookup (&self->where, id, &where))
    return FALSE;

  remove_at (self, (guint) (where >> 32), (guint) (where & G_MAXUINT32));
  return TRUE;
}

gsize
rfl_ivf_index_search (RflIvfIndex   *self,
                      const float   *query,
                      const gint8   *query_code,
                      guint          n_probe,
                      RflVectorHeap *heap)
{
  RflVectorHeap probes;
  gint32 dots[SCAN_BLOCK];
  gsize scanned = 0;

  _rfl_vector_heap_init (&probes, CLAMP (n_probe, 1, self->n_lists));
  for (guint l = 0; l < self->n_lists; l++)
    {
      float score = _rfl_vector_dot_f32 (centroid_at (self, l), query,
                                         self->f32_stride);

      if (score >= probes.floor)
        _rfl_vector_heap_offer (&probes, score, l);
    }

  for (guint p = 0; p < probes.size; p++)
    {
      const IvfList *list = &self->lists[probes.items[p].ref];

      for (guint start = 0; start < list->count; start += SCAN_BLOCK)
        {
          guint n = MIN (SCAN_BLOCK, list->count - start);

          _rfl_vector_dot_i8_many (list->codes + (gsize) start * self->i8_stride,
                                   self->i8_stride, n, query_code, dots);
          for (guint j = 0; j < n; j++)
            {
              float score = (float) dots[j] * list->scales[start + j];

              if (score >= heap->floor)
                _rfl_vector_heap_offer (heap, score, list->ids[start + j]);
            }
        }
      scanned += list->count;
    }

  _rfl_vector_heap_clear (&probes);

  return scanned;
}
