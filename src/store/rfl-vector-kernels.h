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

/* The blocked int8 layout of an index's rows: blocks of @block_rows rows
 * (a multiple of RFL_VECTOR_LANES), and in a block, for each group of
 * four dimensions, the four bytes of every row one after another. A block
 * takes @block_rows × stride bytes, so the rows of a growing array of
 * blocks never move. A query that is zero in a group skips its bytes, and
 * the bytes it reads are long runs that the hardware prefetches: the
 * hashing embedder's queries are zero in most groups. */
#define RFL_VECTOR_LANES          16
#define RFL_VECTOR_BLOCK_ROWS_MAX 1024

void     _rfl_vector_block_put             (gint8        *blocks,
                                            guint         stride,
                                            guint         block_rows,
                                            gsize         slot,
                                            const gint8  *code);
void     _rfl_vector_block_get             (const gint8  *blocks,
                                            guint         stride,
                                            guint         block_rows,
                                            gsize         slot,
                                            gint8        *code);
void     _rfl_vector_block_copy            (gint8        *blocks,
                                            guint         stride,
                                            guint         block_rows,
                                            gsize         to,
                                            gsize         from);

/* A query code prepared for blocked scans: the groups of four dimensions
 * where it is not zero, with their four bytes packed. */
typedef struct
{
  guint    n_groups;
  guint16 *groups;    /* owned */
  guint32 *packed;    /* owned */
  gint32   sum;       /* of every byte */
} RflVectorQueryGroups;

void     _rfl_vector_query_groups_init     (RflVectorQueryGroups *query,
                                            const gint8  *code,
                                            guint         stride);
void     _rfl_vector_query_groups_clear    (RflVectorQueryGroups *query);

/* Writes the dot products of the @block_rows rows of the block at @block
 * with @query to @out. */
void     _rfl_vector_dot_i8_block          (const gint8  *block,
                                            guint         block_rows,
                                            const RflVectorQueryGroups *query,
                                            gint32       *out);
void     _rfl_vector_dot_i8_block_generic  (const gint8  *block,
                                            guint         block_rows,
                                            const RflVectorQueryGroups *query,
                                            gint32       *out);

/* Bit i of the result is set when (float) dots[i] × scales[i] > @floor,
 * for the RFL_VECTOR_LANES rows from @dots and @scales: the int8 pass
 * keeps only the rows whose bit is set. */
guint32  _rfl_vector_scaled_above          (const gint32 *dots,
                                            const float  *scales,
                                            float         floor);
guint32  _rfl_vector_scaled_above_generic  (const gint32 *dots,
                                            const float  *scales,
                                            float         floor);

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
