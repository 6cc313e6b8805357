/* rfl-vector-index.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-vector-index.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "rfl-ivf-index.h"
#include "rfl-vector-index-private.h"
#include "rfl-vector-kernels.h"

#define MAX_DIMS 65536
/* Candidates kept by the int8 pass: max (k × CANDIDATE_FACTOR,
 * CANDIDATE_MIN). */
#define CANDIDATE_FACTOR 2
#define CANDIDATE_MIN 20
/* Training rows per list and the rows copied per lock while building. */
#define SAMPLE_PER_LIST 32
#define BUILD_CHUNK 4096
/* Writes made during a build are replayed under the write lock once fewer
 * than this many are left; larger backlogs are replayed without it. */
#define CATCH_UP_LIMIT 1024
#define SAMPLE_SEED 0x5eed1e55u

/* The index */

struct _RflVectorIndex
{
  gint           ref_count;          /* atomic */
  guint          dims;
  guint          f32_stride;
  guint          i8_stride;
  char          *embedder_id;        /* owned */

  /* Guards every field below but the build mutex. */
  GRWLock        lock;
  gsize          count;
  gsize          capacity;
  gint64        *ids;                /* owned: slot → id */
  float         *rows;               /* owned: normalised, padded floats */
  gint8         *codes;              /* owned: padded int8 rows, blocked */
  guint          block_rows;         /* of @codes: MIN (capacity, the most) */
  float         *scales;             /* owned: a scale per int8 row */
  RflIdMap       slots;              /* id → slot */

  RflIvfIndex   *ivf;                /* owned, nullable */
  gsize          ivf_built_count;
  gsize          threshold;
  guint          n_probe;
  gboolean       building;
  GArray        *touched;            /* owned while building: ids written */
  GCancellable  *build_cancellable;  /* owned while building */
  GCancellable  *auto_cancellable;   /* owned while an automatic build runs */

  GMutex         build_mutex;        /* one build at a time */

  RflVectorIndexBuildHook build_hook;
  gpointer                build_hook_data;
};

G_DEFINE_BOXED_TYPE (RflVectorIndex, rfl_vector_index,
                     rfl_vector_index_ref, rfl_vector_index_unref)

RflVectorIndex *
rfl_vector_index_new (guint       dims,
                      const char *embedder_id)
{
  RflVectorIndex *self;

  g_return_val_if_fail (dims >= 1 && dims <= MAX_DIMS, NULL);
  g_return_val_if_fail (embedder_id != NULL, NULL);

  _rfl_vector_kernels_init ();

  self = g_new0 (RflVectorIndex, 1);
  self->ref_count = 1;
  self->dims = dims;
  self->f32_stride = _rfl_vector_f32_stride (dims);
  self->i8_stride = _rfl_vector_i8_stride (dims);
  self->embedder_id = g_strdup (embedder_id);
  self->threshold = RFL_VECTOR_INDEX_DEFAULT_THRESHOLD;
  g_rw_lock_init (&self->lock);
  g_mutex_init (&self->build_mutex);
  _rfl_id_map_init (&self->slots, 0);

  return self;
}

RflVectorIndex *
rfl_vector_index_ref (RflVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);

  return self;
}

void
rfl_vector_index_unref (RflVectorIndex *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;

  /* Builds hold a reference, so none is running now. */
  g_assert (!self->building);
  g_clear_pointer (&self->ivf, rfl_ivf_index_free);
  g_clear_object (&self->auto_cancellable);
  _rfl_id_map_clear (&self->slots);
  g_free (self->ids);
  g_free (self->rows);
  g_free (self->codes);
  g_free (self->scales);
  g_free (self->embedder_id);
  g_rw_lock_clear (&self->lock);
  g_mutex_clear (&self->build_mutex);
  g_free (self);
}

guint
rfl_vector_index_get_dims (RflVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->dims;
}

const char *
rfl_vector_index_get_embedder_id (RflVectorIndex *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->embedder_id;
}

gsize
rfl_vector_index_get_count (RflVectorIndex *self)
{
  gsize count;

  g_return_val_if_fail (self != NULL, 0);

  g_rw_lock_reader_lock (&self->lock);
  count = self->count;
  g_rw_lock_reader_unlock (&self->lock);

  return count;
}

gboolean
rfl_vector_index_contains (RflVectorIndex *self,
                           gint64          id)
{
  gboolean found;

  g_return_val_if_fail (self != NULL, FALSE);

  g_rw_lock_reader_lock (&self->lock);
  found = _rfl_id_map_lookup (&self->slots, id, NULL);
  g_rw_lock_reader_unlock (&self->lock);

  return found;
}

static inline float *
row_at (RflVectorIndex *self,
        gsize           slot)
{
  return self->rows + slot * self->f32_stride;
}

/* A copy of @slot's int8 row, which the blocked layout scatters. */
static gint8 *
code_dup (RflVectorIndex *self,
          gsize           slot)
{
  gint8 *code = g_new (gint8, self->i8_stride);

  _rfl_vector_block_get (self->codes, self->i8_stride, self->block_rows, slot,
                         code);
  return code;
}

static void
ensure_capacity_locked (RflVectorIndex *self,
                        gsize           needed)
{
  gsize capacity = MAX (self->capacity, RFL_VECTOR_LANES);
  guint block_rows;

  if (needed <= self->capacity)
    return;

  while (capacity < needed)
    capacity *= 2;
  /* Capacities are RFL_VECTOR_LANES × a power of two, so a block is the
   * whole capacity or the largest block, which the capacity is a
   * multiple of. */
  block_rows = (guint) MIN (capacity, RFL_VECTOR_BLOCK_ROWS_MAX);

  self->ids = g_renew (gint64, self->ids, capacity);
  self->scales = g_renew (float, self->scales, capacity);
  self->rows = g_realloc_n (self->rows, capacity,
                            self->f32_stride * sizeof (float));
  if (block_rows == self->block_rows)
    {
      /* Whole blocks are added; the rows in place stay where they are. */
      self->codes = g_realloc_n (self->codes, capacity, self->i8_stride);
      memset (self->codes + self->capacity * self->i8_stride, 0,
              (capacity - self->capacity) * self->i8_stride);
    }
  else
    {
      /* A larger block lays the rows out anew. */
      gint8 *codes = g_malloc0_n (capacity, self->i8_stride);
      g_autofree gint8 *code = g_new (gint8, self->i8_stride);

      for (gsize slot = 0; slot < self->count; slot++)
        {
          _rfl_vector_block_get (self->codes, self->i8_stride,
                                 self->block_rows, slot, code);
          _rfl_vector_block_put (codes, self->i8_stride, block_rows, slot,
                                 code);
        }
      g_free (self->codes);
      self->codes = codes;
      self->block_rows = block_rows;
    }
  self->capacity = capacity;
}

void
rfl_vector_index_reserve (RflVectorIndex *self,
                          gsize           count)
{
  g_return_if_fail (self != NULL);

  g_rw_lock_writer_lock (&self->lock);
  ensure_capacity_locked (self, count);
  g_rw_lock_writer_unlock (&self->lock);
}

static char *
format_id (gint64 id)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, id);
}

/* Checks @vector and returns 1 / ‖vector‖ through @inv_norm. */
static gboolean
check_vector (RflVectorIndex  *self,
              const float     *vector,
              guint            n_dims,
              double          *inv_norm,
              GError         **error)
{
  double norm2;

  if (n_dims != self->dims)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The vector has %u dimensions but this index holds "
                     "vectors of %u dimensions"), n_dims, self->dims);
      return FALSE;
    }

  norm2 = _rfl_vector_norm2 (vector, n_dims);
  if (norm2 < 0.0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The vector holds a value that is not a "
                             "finite number"));
      return FALSE;
    }
  if (norm2 == 0.0 || !isfinite (norm2))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The vector is all zeros, so it points nowhere "
                             "and cannot be compared"));
      return FALSE;
    }

  *inv_norm = 1.0 / sqrt (norm2);
  return TRUE;
}

static void
write_slot_locked (RflVectorIndex *self,
                   gsize           slot,
                   const float    *vector,
                   double          inv_norm)
{
  float *row = row_at (self, slot);
  g_autofree gint8 *code = g_new (gint8, self->i8_stride);

  _rfl_vector_scale_into (vector, self->dims, inv_norm, self->f32_stride, row);
  self->scales[slot] = _rfl_vector_quantize (row, self->dims, self->i8_stride,
                                             code);
  _rfl_vector_block_put (self->codes, self->i8_stride, self->block_rows, slot,
                         code);
}

/* Keeps the approximate index, and a build in progress, in step with a
 * write to @id (now at @slot, or gone when @slot is G_MAXSIZE). */
static void
track_write_locked (RflVectorIndex *self,
                    gint64          id,
                    gsize           slot)
{
  if (self->ivf != NULL)
    {
      if (slot == G_MAXSIZE)
        {
          rfl_ivf_index_remove (self->ivf, id);
        }
      else
        {
          g_autofree gint8 *code = code_dup (self, slot);

          rfl_ivf_index_add (self->ivf,
                             rfl_ivf_index_assign (self->ivf,
                                                   row_at (self, slot), code),
                             id, code, self->scales[slot]);
        }
    }

  if (self->building)
    g_array_append_val (self->touched, id);
}

static gboolean
should_build_locked (RflVectorIndex *self)
{
  if (self->threshold == 0 || self->building || self->auto_cancellable != NULL)
    return FALSE;
  if (self->count < self->threshold)
    return FALSE;

  return self->ivf == NULL || self->count >= 2 * self->ivf_built_count;
}

static void start_auto_build (RflVectorIndex *self);

gboolean
rfl_vector_index_insert (RflVectorIndex  *self,
                         gint64           id,
                         const float     *vector,
                         guint            n_dims,
                         GError         **error)
{
  double inv_norm;
  gboolean build;
  gsize slot;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (vector != NULL || n_dims == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_vector (self, vector, n_dims, &inv_norm, error))
    return FALSE;

  g_rw_lock_writer_lock (&self->lock);

  if (_rfl_id_map_lookup (&self->slots, id, NULL))
    {
      g_autofree char *id_str = format_id (id);

      g_rw_lock_writer_unlock (&self->lock);
      g_set_error (error, RFL_ERROR, RFL_ERROR_EXISTS,
                   _("Vector %s is already in the index"), id_str);
      return FALSE;
    }

  ensure_capacity_locked (self, self->count + 1);
  slot = self->count++;
  self->ids[slot] = id;
  write_slot_locked (self, slot, vector, inv_norm);
  _rfl_id_map_set (&self->slots, id, slot);
  track_write_locked (self, id, slot);

  build = should_build_locked (self);
  if (build)
    self->auto_cancellable = g_cancellable_new ();

  g_rw_lock_writer_unlock (&self->lock);

  if (build)
    start_auto_build (self);

  return TRUE;
}

gboolean
rfl_vector_index_update (RflVectorIndex  *self,
                         gint64           id,
                         const float     *vector,
                         guint            n_dims,
                         GError         **error)
{
  double inv_norm;
  guint64 slot;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (vector != NULL || n_dims == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_vector (self, vector, n_dims, &inv_norm, error))
    return FALSE;

  g_rw_lock_writer_lock (&self->lock);

  if (!_rfl_id_map_lookup (&self->slots, id, &slot))
    {
      g_autofree char *id_str = format_id (id);

      g_rw_lock_writer_unlock (&self->lock);
      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                   _("Vector %s is not in the index"), id_str);
      return FALSE;
    }

  write_slot_locked (self, slot, vector, inv_norm);
  track_write_locked (self, id, slot);

  g_rw_lock_writer_unlock (&self->lock);

  return TRUE;
}

gboolean
rfl_vector_index_remove (RflVectorIndex *self,
                         gint64          id)
{
  guint64 slot;
  gsize last;

  g_return_val_if_fail (self != NULL, FALSE);

  g_rw_lock_writer_lock (&self->lock);

  if (!_rfl_id_map_lookup (&self->slots, id, &slot))
    {
      g_rw_lock_writer_unlock (&self->lock);
      return FALSE;
    }

  /* The last row moves into the hole, so the arrays stay dense. */
  last = self->count - 1;
  if (slot != last)
    {
      gint64 moved = self->ids[last];

      self->ids[slot] = moved;
      self->scales[slot] = self->scales[last];
      memcpy (row_at (self, slot), row_at (self, last),
              self->f32_stride * sizeof (float));
      _rfl_vector_block_copy (self->codes, self->i8_stride, self->block_rows,
                              slot, last);
      _rfl_id_map_set (&self->slots, moved, slot);

      /* A build copying rows in order may have passed this slot already
       * and not yet reached the last one. */
      if (self->building)
        g_array_append_val (self->touched, moved);
    }
  self->count--;
  _rfl_id_map_remove (&self->slots, id);
  track_write_locked (self, id, G_MAXSIZE);

  g_rw_lock_writer_unlock (&self->lock);

  return TRUE;
}

gboolean
rfl_vector_index_get_vector (RflVectorIndex *self,
                             gint64          id,
                             float          *out)
{
  guint64 slot;
  gboolean found;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  g_rw_lock_reader_lock (&self->lock);
  found = _rfl_id_map_lookup (&self->slots, id, &slot);
  if (found)
    memcpy (out, row_at (self, slot), self->dims * sizeof (float));
  g_rw_lock_reader_unlock (&self->lock);

  return found;
}

/* Searching */

static void
scan_float_locked (RflVectorIndex *self,
                   const float    *query,
                   RflVectorHeap  *best)
{
  for (gsize slot = 0; slot < self->count; slot++)
    {
      float score = _rfl_vector_dot_f32 (row_at (self, slot), query,
                                         self->f32_stride);

      if (score >= best->floor)
        _rfl_vector_heap_offer (best, score, self->ids[slot]);
    }
}

static void
scan_int8_locked (RflVectorIndex             *self,
                  const RflVectorQueryGroups *query_groups,
                  RflVectorHeap              *candidates)
{
  gint32 dots[RFL_VECTOR_BLOCK_ROWS_MAX];

  for (gsize start = 0; start < self->count; start += self->block_rows)
    {
      guint n = (guint) MIN (self->block_rows, self->count - start);
      const float *scales = self->scales + start;

      _rfl_vector_dot_i8_block (self->codes + start * self->i8_stride,
                                self->block_rows, query_groups, dots);
      /* Sixteen rows are compared with the worst kept score at once, and
       * only those above it are offered: few are, once the heap is full.
       * Slots come in increasing order and a tie goes to the smaller one,
       * so a row only as good as the worst kept one is not offered. */
      for (guint j = 0; j < n; j += RFL_VECTOR_LANES)
        {
          guint m = MIN (RFL_VECTOR_LANES, n - j);
          float floor = candidates->floor;
          guint32 above = 0;

          if (m == RFL_VECTOR_LANES)
            above = _rfl_vector_scaled_above (dots + j, scales + j, floor);
          else
            for (guint i = 0; i < m; i++)
              above |= (guint32) ((float) dots[j + i] * scales[j + i] > floor) << i;

          while (above != 0)
            {
              guint i = (guint) __builtin_ctz (above);

              _rfl_vector_heap_offer (candidates, (float) dots[j + i] * scales[j + i],
                                      (gint64) (start + j + i));
              above &= above - 1;
            }
        }
    }
}

/* Scores the candidates exactly; their refs are slots, or ids when
 * @refs_are_ids. */
static void
rerank_locked (RflVectorIndex *self,
               const float    *query,
               RflVectorHeap  *candidates,
               gboolean        refs_are_ids,
               RflVectorHeap  *best)
{
  /* The candidates' rows lie anywhere in the index: ask for the first
   * lines of all of them before reading any, so the misses overlap. */
  if (!refs_are_ids)
    for (guint i = 0; i < candidates->size; i++)
      {
        const char *row = (const char *) row_at (self, (gsize) candidates->items[i].ref);

        for (guint line = 0; line < MIN (self->f32_stride * sizeof (float), 512); line += 64)
          __builtin_prefetch (row + line);
      }

  for (guint i = 0; i < candidates->size; i++)
    {
      guint64 slot = (guint64) candidates->items[i].ref;
      float score;

      /* The write lock keeps the approximate index in step with the
       * rows, so every id it returns is present. */
      if (refs_are_ids
          && !_rfl_id_map_lookup (&self->slots, candidates->items[i].ref,
                                  &slot))
        continue;

      score = _rfl_vector_dot_f32 (row_at (self, slot), query,
                                   self->f32_stride);
      _rfl_vector_heap_offer (best, score, self->ids[slot]);
    }
}

static void
search_locked (RflVectorIndex      *self,
               const float         *query,
               const gint8         *query_code,
               guint                k,
               RflVectorSearchMode  mode,
               RflVectorHeap       *best)
{
  guint n_best = (guint) MIN (k, self->count);
  gsize n_candidates = MAX ((gsize) n_best * CANDIDATE_FACTOR, CANDIDATE_MIN);
  RflVectorHeap candidates;
  gboolean refs_are_ids = FALSE;

  _rfl_vector_heap_init (best, n_best);
  if (n_best == 0)
    return;

  /* Re-ranking every row costs no more than the int8 pass would. */
  if (n_candidates >= self->count)
    {
      scan_float_locked (self, query, best);
      return;
    }

  _rfl_vector_heap_init (&candidates, (guint) n_candidates);
  if (mode == RFL_VECTOR_SEARCH_AUTO && self->ivf != NULL)
    {
      guint n_lists = rfl_ivf_index_get_n_lists (self->ivf);
      guint n_probe = self->n_probe;

      if (n_probe == 0)
        n_probe = rfl_ivf_index_suggest_n_probe (n_lists);
      rfl_ivf_index_search (self->ivf, query, query_code, n_probe, &candidates);
      refs_are_ids = TRUE;
    }
  else
    {
      RflVectorQueryGroups query_groups;

      _rfl_vector_query_groups_init (&query_groups, query_code,
                                     self->i8_stride);
      scan_int8_locked (self, &query_groups, &candidates);
      _rfl_vector_query_groups_clear (&query_groups);
    }

  rerank_locked (self, query, &candidates, refs_are_ids, best);
  _rfl_vector_heap_clear (&candidates);
}

gboolean
rfl_vector_index_search (RflVectorIndex       *self,
                         const float          *query,
                         guint                 n_dims,
                         guint                 k,
                         RflVectorSearchMode   mode,
                         RflVectorHit         *hits,
                         guint                *n_hits,
                         GError              **error)
{
  g_autofree float *row = NULL;
  g_autofree gint8 *code = NULL;
  RflVectorHeap best;
  double norm2;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (query != NULL || n_dims == 0, FALSE);
  g_return_val_if_fail (hits != NULL || k == 0, FALSE);
  g_return_val_if_fail (n_hits != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *n_hits = 0;

  if (n_dims != self->dims)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The query has %u dimensions but this index holds "
                     "vectors of %u dimensions"), n_dims, self->dims);
      return FALSE;
    }

  norm2 = _rfl_vector_norm2 (query, n_dims);
  if (norm2 < 0.0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The query holds a value that is not a finite "
                             "number"));
      return FALSE;
    }
  if (norm2 == 0.0 || !isfinite (norm2) || k == 0)
    return TRUE;

  row = g_new (float, self->f32_stride);
  code = g_new (gint8, self->i8_stride);
  _rfl_vector_scale_into (query, n_dims, 1.0 / sqrt (norm2), self->f32_stride,
                          row);
  _rfl_vector_quantize (row, n_dims, self->i8_stride, code);

  g_rw_lock_reader_lock (&self->lock);
  search_locked (self, row, code, k, mode, &best);
  g_rw_lock_reader_unlock (&self->lock);

  _rfl_vector_heap_sort (&best);
  for (guint i = 0; i < best.size; i++)
    {
      hits[i].id = best.items[i].ref;
      hits[i].score = best.items[i].score;
    }
  *n_hits = best.size;
  _rfl_vector_heap_clear (&best);

  return TRUE;
}

/* The approximate index */

void
rfl_vector_index_set_n_probe (RflVectorIndex *self,
                              guint           n_probe)
{
  g_return_if_fail (self != NULL);

  g_rw_lock_writer_lock (&self->lock);
  self->n_probe = n_probe;
  g_rw_lock_writer_unlock (&self->lock);
}

guint
rfl_vector_index_get_n_probe (RflVectorIndex *self)
{
  guint n_probe;

  g_return_val_if_fail (self != NULL, 0);

  g_rw_lock_reader_lock (&self->lock);
  n_probe = self->n_probe;
  g_rw_lock_reader_unlock (&self->lock);

  return n_probe;
}

void
rfl_vector_index_set_approximate_threshold (RflVectorIndex *self,
                                            gsize           threshold)
{
  gboolean build;

  g_return_if_fail (self != NULL);

  g_rw_lock_writer_lock (&self->lock);
  self->threshold = threshold;
  build = should_build_locked (self);
  if (build)
    self->auto_cancellable = g_cancellable_new ();
  g_rw_lock_writer_unlock (&self->lock);

  if (build)
    start_auto_build (self);
}

gsize
rfl_vector_index_get_approximate_threshold (RflVectorIndex *self)
{
  gsize threshold;

  g_return_val_if_fail (self != NULL, 0);

  g_rw_lock_reader_lock (&self->lock);
  threshold = self->threshold;
  g_rw_lock_reader_unlock (&self->lock);

  return threshold;
}

gboolean
rfl_vector_index_has_approximate (RflVectorIndex *self)
{
  gboolean has;

  g_return_val_if_fail (self != NULL, FALSE);

  g_rw_lock_reader_lock (&self->lock);
  has = self->ivf != NULL;
  g_rw_lock_reader_unlock (&self->lock);

  return has;
}

gboolean
rfl_vector_index_is_building (RflVectorIndex *self)
{
  gboolean building;

  g_return_val_if_fail (self != NULL, FALSE);

  g_rw_lock_reader_lock (&self->lock);
  building = self->building || self->auto_cancellable != NULL;
  g_rw_lock_reader_unlock (&self->lock);

  return building;
}

guint
rfl_vector_index_get_n_lists (RflVectorIndex *self)
{
  guint n_lists;

  g_return_val_if_fail (self != NULL, 0);

  g_rw_lock_reader_lock (&self->lock);
  n_lists = self->ivf != NULL ? rfl_ivf_index_get_n_lists (self->ivf) : 0;
  g_rw_lock_reader_unlock (&self->lock);

  return n_lists;
}

void
rfl_vector_index_cancel_build (RflVectorIndex *self)
{
  g_return_if_fail (self != NULL);

  g_rw_lock_reader_lock (&self->lock);
  if (self->build_cancellable != NULL)
    g_cancellable_cancel (self->build_cancellable);
  if (self->auto_cancellable != NULL)
    g_cancellable_cancel (self->auto_cancellable);
  g_rw_lock_reader_unlock (&self->lock);
}

/* Copies an evenly spread, jittered sample of the rows for training. */
static float *
copy_sample (RflVectorIndex *self,
             guint           n_lists,
             gsize          *n_sample)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (SAMPLE_SEED);
  float *sample;
  gsize count;
  gsize n;

  g_rw_lock_reader_lock (&self->lock);
  count = self->count;
  n = MIN (count, (gsize) n_lists * SAMPLE_PER_LIST);
  sample = g_new (float, MAX (n, 1) * self->f32_stride);
  for (gsize i = 0; i < n; i++)
    {
      gsize lo = i * count / n;
      gsize hi = (i + 1) * count / n;
      gsize slot = lo + (gsize) g_rand_double_range (rand, 0, (double) (hi - lo));

      memcpy (sample + i * self->f32_stride, row_at (self, MIN (slot, hi - 1)),
              self->f32_stride * sizeof (float));
    }
  g_rw_lock_reader_unlock (&self->lock);

  *n_sample = n;
  return sample;
}

/* Puts every row into its list, copying a chunk of rows per read lock so
 * that writers wait at most for one chunk. */
static gboolean
assign_all (RflVectorIndex *self,
            RflIvfIndex    *ivf,
            GCancellable   *cancellable)
{
  g_autofree gint64 *ids = g_new (gint64, BUILD_CHUNK);
  g_autofree float *rows = g_new (float, (gsize) BUILD_CHUNK * self->f32_stride);
  g_autofree gint8 *codes = g_new (gint8, (gsize) BUILD_CHUNK * self->i8_stride);
  g_autofree float *scales = g_new (float, BUILD_CHUNK);

  for (gsize start = 0; ; start += BUILD_CHUNK)
    {
      gsize n;

      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;

      g_rw_lock_reader_lock (&self->lock);
      if (start >= self->count)
        {
          g_rw_lock_reader_unlock (&self->lock);
          return TRUE;
        }
      n = MIN (BUILD_CHUNK, self->count - start);
      memcpy (ids, self->ids + start, n * sizeof (gint64));
      memcpy (scales, self->scales + start, n * sizeof (float));
      memcpy (rows, row_at (self, start), n * self->f32_stride * sizeof (float));
      for (gsize j = 0; j < n; j++)
        _rfl_vector_block_get (self->codes, self->i8_stride, self->block_rows,
                               start + j, codes + j * self->i8_stride);
      g_rw_lock_reader_unlock (&self->lock);

      for (gsize j = 0; j < n; j++)
        {
          const float *row = rows + j * self->f32_stride;
          const gint8 *code = codes + j * self->i8_stride;

          rfl_ivf_index_add (ivf, rfl_ivf_index_assign (ivf, row, code), ids[j],
                             code, scales[j]);
        }

      if (self->build_hook != NULL)
        self->build_hook (self, start + n, FALSE, self->build_hook_data);
    }
}

/* Brings @id in @ivf up to date with the index, whose lock the caller
 * holds (either way). */
static void
replay_locked (RflVectorIndex *self,
               RflIvfIndex    *ivf,
               gint64          id)
{
  guint64 slot;

  if (_rfl_id_map_lookup (&self->slots, id, &slot))
    {
      g_autofree gint8 *code = code_dup (self, slot);

      rfl_ivf_index_add (ivf, rfl_ivf_index_assign (ivf, row_at (self, slot),
                                                    code),
                         id, code, self->scales[slot]);
    }
  else
    {
      rfl_ivf_index_remove (ivf, id);
    }
}

/* Replays the writes made during the build. Returns with the write lock
 * held and nothing left to replay, or FALSE (unlocked) when cancelled. */
static gboolean
catch_up (RflVectorIndex *self,
          RflIvfIndex    *ivf,
          GCancellable   *cancellable)
{
  for (;;)
    {
      g_autoptr(GArray) batch = NULL;

      if (g_cancellable_is_cancelled (cancellable))
        return FALSE;

      g_rw_lock_writer_lock (&self->lock);
      if (self->touched->len <= CATCH_UP_LIMIT)
        {
          for (guint i = 0; i < self->touched->len; i++)
            replay_locked (self, ivf, g_array_index (self->touched, gint64, i));
          g_array_set_size (self->touched, 0);
          return TRUE;
        }
      batch = g_steal_pointer (&self->touched);
      self->touched = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_rw_lock_writer_unlock (&self->lock);

      /* A large backlog: the read lock lets searches and the next writes
       * through while it is replayed. */
      g_rw_lock_reader_lock (&self->lock);
      for (guint i = 0; i < batch->len; i++)
        replay_locked (self, ivf, g_array_index (batch, gint64, i));
      g_rw_lock_reader_unlock (&self->lock);
    }
}

static void
cancel_internal_cb (GCancellable *cancellable,
                    gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static gboolean
build_stages (RflVectorIndex *self,
              GCancellable   *cancellable,
              GError        **error)
{
  g_autoptr(RflIvfIndex) ivf = NULL;
  g_autofree float *sample = NULL;
  gboolean assigned;
  gsize n_sample;
  guint n_lists;

  n_lists = rfl_ivf_index_suggest_n_lists (rfl_vector_index_get_count (self));
  sample = copy_sample (self, n_lists, &n_sample);
  if (n_sample == 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The index is empty, so there is nothing to "
                             "build an approximate index from"));
      return FALSE;
    }

  ivf = rfl_ivf_index_train (self->dims, sample, n_sample, n_lists,
                             cancellable);
  g_clear_pointer (&sample, g_free);

  assigned = ivf != NULL && assign_all (self, ivf, cancellable);
  if (assigned && self->build_hook != NULL)
    self->build_hook (self, rfl_ivf_index_get_count (ivf), TRUE,
                      self->build_hook_data);

  if (!assigned || !catch_up (self, ivf, cancellable))
    {
      g_cancellable_set_error_if_cancelled (cancellable, error);
      return FALSE;
    }

  /* catch_up() left the write lock held. */
  g_clear_pointer (&self->ivf, rfl_ivf_index_free);
  self->ivf = g_steal_pointer (&ivf);
  self->ivf_built_count = self->count;
  g_debug ("Approximate index built: %zu vectors in %u lists",
           rfl_ivf_index_get_count (self->ivf), n_lists);
  g_rw_lock_writer_unlock (&self->lock);

  return TRUE;
}

gboolean
rfl_vector_index_build_approximate (RflVectorIndex  *self,
                                    GCancellable    *cancellable,
                                    GError         **error)
{
  g_autoptr(GCancellable) internal = g_cancellable_new ();
  gulong handler = 0;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable),
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->build_mutex);

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable,
                                     G_CALLBACK (cancel_internal_cb),
                                     internal, NULL);

  g_rw_lock_writer_lock (&self->lock);
  self->building = TRUE;
  self->touched = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->build_cancellable = g_object_ref (internal);
  g_rw_lock_writer_unlock (&self->lock);

  ok = build_stages (self, internal, error);

  g_rw_lock_writer_lock (&self->lock);
  self->building = FALSE;
  g_clear_pointer (&self->touched, g_array_unref);
  g_clear_object (&self->build_cancellable);
  g_rw_lock_writer_unlock (&self->lock);

  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);

  g_mutex_unlock (&self->build_mutex);

  return ok;
}

static void
build_thread_cb (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  RflVectorIndex *self = task_data;
  GError *error = NULL;

  if (rfl_vector_index_build_approximate (self, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
rfl_vector_index_build_approximate_async (RflVectorIndex      *self,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_vector_index_build_approximate_async);
  g_task_set_task_data (task, rfl_vector_index_ref (self),
                        (GDestroyNotify) rfl_vector_index_unref);
  g_task_run_in_thread (task, build_thread_cb);
}

gboolean
rfl_vector_index_build_approximate_finish (RflVectorIndex  *self,
                                           GAsyncResult    *result,
                                           GError         **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        rfl_vector_index_build_approximate_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* An automatic build runs on a thread of its own rather than a GTask: no
 * main context has to dispatch its end for the index to be released. */
static gpointer
auto_build_worker (gpointer data)
{
  RflVectorIndex *self = data;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GError) error = NULL;

  g_rw_lock_reader_lock (&self->lock);
  cancellable = g_object_ref (self->auto_cancellable);
  g_rw_lock_reader_unlock (&self->lock);

  if (!rfl_vector_index_build_approximate (self, cancellable, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Could not build the approximate vector index: %s",
               error->message);

  g_rw_lock_writer_lock (&self->lock);
  g_clear_object (&self->auto_cancellable);
  g_rw_lock_writer_unlock (&self->lock);

  rfl_vector_index_unref (self);

  return NULL;
}

static void
start_auto_build (RflVectorIndex *self)
{
  g_autoptr(GError) error = NULL;
  GThread *thread;

  thread = g_thread_try_new ("rfl-vector-build", auto_build_worker,
                             rfl_vector_index_ref (self), &error);
  if (thread != NULL)
    {
      g_thread_unref (thread);
      return;
    }

  g_warning ("Could not start the approximate vector index build: %s",
             error->message);
  g_rw_lock_writer_lock (&self->lock);
  g_clear_object (&self->auto_cancellable);
  g_rw_lock_writer_unlock (&self->lock);
  rfl_vector_index_unref (self);
}

gboolean
_rfl_vector_index_check (RflVectorIndex *self)
{
  gboolean ok = TRUE;

  g_rw_lock_reader_lock (&self->lock);

  ok = self->slots.count == self->count;
  for (gsize slot = 0; ok && slot < self->count; slot++)
    {
      guint64 found;

      ok = _rfl_id_map_lookup (&self->slots, self->ids[slot], &found)
           && found == slot
           && (self->ivf == NULL
               || rfl_ivf_index_contains (self->ivf, self->ids[slot]));
    }
  if (ok && self->ivf != NULL)
    ok = rfl_ivf_index_get_count (self->ivf) == self->count;

  g_rw_lock_reader_unlock (&self->lock);

  return ok;
}

void
_rfl_vector_index_set_build_hook (RflVectorIndex          *self,
                                  RflVectorIndexBuildHook  hook,
                                  gpointer                 user_data)
{
  g_mutex_lock (&self->build_mutex);
  self->build_hook = hook;
  self->build_hook_data = user_data;
  g_mutex_unlock (&self->build_mutex);
}
