/* rfl-vector-kernels.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the vector index, its approximate index, the tests and the benchmark
 * share: the scan kernels, the id map and the candidate heap.
 *
 * Rows are padded with zeros to a multiple of the kernels' width so that no
 * kernel needs a tail loop: float rows to 8 values, int8 rows to 32 bytes.
 * Int8 codes lie in [-127, 127]; -128 never occurs, which the AVX2 kernel
 * relies on. */

/* Picks the kernels for this processor (AVX2 when present). Idempotent and
 * thread-safe; every entry point that scans calls it first. */
void     _rfl_vector_kernels_init          (void);
/* "avx2" or "generic". */
const char *_rfl_vector_kernels_get_name   (void);

guint    _rfl_vector_f32_stride            (guint         dims);
guint    _rfl_vector_i8_stride             (guint         dims);

/* Dot product of two padded float rows. */
float    _rfl_vector_dot_f32               (const float  *a,
                                            const float  *b,
                                            guint         stride);
/* out[v] = Σ codes[v][i] × query[i] for @n consecutive rows of @stride
 * bytes. */
void     _rfl_vector_dot_i8_many           (const gint8  *codes,
                                            guint         stride,
                                            guint         n,
                                            const gint8  *query,
                                            gint32       *out);
/* The portable kernel, always available; the tests compare the two. */
void     _rfl_vector_dot_i8_many_generic   (const gint8  *codes,
                                            guint         stride,
                                            guint         n,
                                            const gint8  *query,
                                            gint32       *out);

/* Sum of squares in double precision; -1 when a value is not finite. */
double   _rfl_vector_norm2                 (const float  *vector,
                                            guint         dims);
/* Writes @vector scaled by @inv_norm into the padded row @out. */
void     _rfl_vector_scale_into            (const float  *vector,
                                            guint         dims,
                                            double        inv_norm,
                                            guint         stride,
                                            float        *out);
/* Symmetric quantisation of the first @n values of a float row:
 * code = round (x / scale) with scale = max |x| / 127, written into a row of
 * @code_stride bytes padded with zeros. Returns the scale (0 for a zero
 * row). */
float    _rfl_vector_quantize              (const float  *row,
                                            guint         n,
                                            guint         code_stride,
                                            gint8        *code);

/* An open-addressing hash map from gint64 ids to 64-bit values, without an
 * allocation per entry. G_MAXUINT64 is reserved (it marks empty buckets). */
typedef struct
{
  gint64  *keys;      /* owned */
  guint64 *values;    /* owned; G_MAXUINT64 in an empty bucket */
  gsize    mask;      /* number of buckets − 1 (a power of two) */
  gsize    count;
} RflIdMap;

void     _rfl_id_map_init                  (RflIdMap     *map,
                                            gsize         expected);
void     _rfl_id_map_clear                 (RflIdMap     *map);
gboolean _rfl_id_map_lookup                (const RflIdMap *map,
                                            gint64        key,
                                            guint64      *value);
/* Adds or replaces. */
void     _rfl_id_map_set                   (RflIdMap     *map,
                                            gint64        key,
                                            guint64       value);
gboolean _rfl_id_map_remove                (RflIdMap     *map,
                                            gint64        key);

/* The best @capacity candidates seen so far: a min-heap on the score, ties
 * broken towards the smaller ref so that results are deterministic. Scans
 * test `score >= heap->floor` before offering, which rejects most rows
 * without a call. */
typedef struct
{
  float  score;
  gint64 ref;
} RflVectorCandidate;

typedef struct
{
  RflVectorCandidate *items;     /* owned */
  guint               size;
  guint               capacity;
  float               floor;     /* -inf until full, then the worst score */
} RflVectorHeap;

void     _rfl_vector_heap_init             (RflVectorHeap *heap,
                                            guint          capacity);
void     _rfl_vector_heap_clear            (RflVectorHeap *heap);
void     _rfl_vector_heap_offer            (RflVectorHeap *heap,
                                            float          score,
                                            gint64         ref);
/* Orders the items best first; the heap is no longer a heap afterwards. */
void     _rfl_vector_heap_sort             (RflVectorHeap *heap);

G_END_DECLS
