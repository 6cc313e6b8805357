/* rfl-vector-kernels.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-vector-kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
# define RFL_VECTOR_X86 1
# include <immintrin.h>
#endif

#define F32_ALIGN 8
#define I8_ALIGN 32

/* Kernels */

typedef float (*DotF32Func)   (const float *a,
                               const float *b,
                               guint        stride);
typedef void  (*DotI8ManyFunc) (const gint8 *codes,
                                guint        stride,
                                guint        n,
                                const gint8 *query,
                                gint32      *out);

typedef void  (*DotI8BlockFunc) (const gint8                *block,
                                 guint                       block_rows,
                                 const RflVectorQueryGroups *query,
                                 gint32                     *out);

static DotF32Func dot_f32_impl;
static DotI8ManyFunc dot_i8_many_impl;
typedef guint32 (*ScaledAboveFunc) (const gint32 *dots,
                                    const float  *scales,
                                    float         floor);

static DotI8BlockFunc dot_i8_block_impl;
static ScaledAboveFunc scaled_above_impl;
static const char *kernels_name;

static float
dot_f32_generic (const float *a,
                 const float *b,
                 guint        stride)
{
  float acc[F32_ALIGN] = { 0 };

  /* Eight independent sums let the compiler keep them in vector lanes. */
  for (guint i = 0; i < stride; i += F32_ALIGN)
    for (guint j = 0; j < F32_ALIGN; j++)
      acc[j] += a[i + j] * b[i + j];

  return ((acc[0] + acc[4]) + (acc[1] + acc[5]))
         + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

void
_rfl_vector_dot_i8_many_generic (const gint8 *codes,
                                 guint        stride,
                                 guint        n,
                                 const gint8 *query,
                                 gint32      *out)
{
  for (guint v = 0; v < n; v++)
    {
      const gint8 *row = codes + (gsize) v * stride;
      gint32 sum = 0;

      for (guint i = 0; i < stride; i++)
        sum += (gint32) row[i] * (gint32) query[i];
      out[v] = sum;
    }
}

/* The blocked layout: @slot's group @g is at its block
 * + g × block_rows × 4 + (slot mod block_rows) × 4. */
static inline gsize
block_offset (guint stride,
              guint block_rows,
              gsize slot)
{
  return (slot / block_rows) * block_rows * stride + (slot % block_rows) * 4;
}

void
_rfl_vector_block_put (gint8       *blocks,
                       guint        stride,
                       guint        block_rows,
                       gsize        slot,
                       const gint8 *code)
{
  gint8 *at = blocks + block_offset (stride, block_rows, slot);

  for (guint g = 0; g < stride / 4; g++)
    memcpy (at + (gsize) g * block_rows * 4, code + g * 4, 4);
}

void
_rfl_vector_block_get (const gint8 *blocks,
                       guint        stride,
                       guint        block_rows,
                       gsize        slot,
                       gint8       *code)
{
  const gint8 *at = blocks + block_offset (stride, block_rows, slot);

  for (guint g = 0; g < stride / 4; g++)
    memcpy (code + g * 4, at + (gsize) g * block_rows * 4, 4);
}

void
_rfl_vector_block_copy (gint8 *blocks,
                        guint  stride,
                        guint  block_rows,
                        gsize  to,
                        gsize  from)
{
  gint8 *dst = blocks + block_offset (stride, block_rows, to);
  const gint8 *src = blocks + block_offset (stride, block_rows, from);

  if (to == from)
    return;
  for (guint g = 0; g < stride / 4; g++)
    memcpy (dst + (gsize) g * block_rows * 4, src + (gsize) g * block_rows * 4,
            4);
}

void
_rfl_vector_query_groups_init (RflVectorQueryGroups *query,
                               const gint8          *code,
                               guint                 stride)
{
  guint n = stride / 4;

  query->groups = g_new (guint16, n);
  query->packed = g_new (guint32, n);
  query->n_groups = 0;
  query->sum = 0;
  for (guint g = 0; g < n; g++)
    {
      guint32 packed;

      memcpy (&packed, code + g * 4, 4);
      if (packed == 0)
        continue;
      query->groups[query->n_groups] = (guint16) g;
      query->packed[query->n_groups] = packed;
      query->n_groups++;
      for (guint j = 0; j < 4; j++)
        query->sum += code[g * 4 + j];
    }
}

void
_rfl_vector_query_groups_clear (RflVectorQueryGroups *query)
{
  g_clear_pointer (&query->groups, g_free);
  g_clear_pointer (&query->packed, g_free);
  query->n_groups = 0;
}

void
_rfl_vector_dot_i8_block_generic (const gint8                *block,
                                  guint                       block_rows,
                                  const RflVectorQueryGroups *query,
                                  gint32                     *out)
{
  for (guint row = 0; row < block_rows; row++)
    out[row] = 0;
  for (guint i = 0; i < query->n_groups; i++)
    {
      const gint8 *line = block + (gsize) query->groups[i] * block_rows * 4;
      gint8 q[4];

      memcpy (q, &query->packed[i], 4);
      for (guint row = 0; row < block_rows; row++)
        {
          const gint8 *x = line + row * 4;

          out[row] += (gint32) x[0] * q[0] + (gint32) x[1] * q[1]
                      + (gint32) x[2] * q[2] + (gint32) x[3] * q[3];
        }
    }
}

#ifdef RFL_VECTOR_X86
__attribute__((target ("avx2,fma")))
static float
dot_f32_avx2 (const float *a,
              const float *b,
              guint        stride)
{
  __m256 acc0 = _mm256_setzero_ps ();
  __m256 acc1 = _mm256_setzero_ps ();
  __m256 acc2 = _mm256_setzero_ps ();
  __m256 acc3 = _mm256_setzero_ps ();
  __m128 sum;
  guint i = 0;

  for (; i + 32 <= stride; i += 32)
    {
      acc0 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i),
                              _mm256_loadu_ps (b + i), acc0);
      acc1 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 8),
                              _mm256_loadu_ps (b + i + 8), acc1);
      acc2 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 16),
                              _mm256_loadu_ps (b + i + 16), acc2);
      acc3 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i + 24),
                              _mm256_loadu_ps (b + i + 24), acc3);
    }
  for (; i < stride; i += 8)
    acc0 = _mm256_fmadd_ps (_mm256_loadu_ps (a + i),
                            _mm256_loadu_ps (b + i), acc0);

  acc0 = _mm256_add_ps (_mm256_add_ps (acc0, acc1), _mm256_add_ps (acc2, acc3));
  sum = _mm_add_ps (_mm256_castps256_ps128 (acc0),
                    _mm256_extractf128_ps (acc0, 1));
  sum = _mm_add_ps (sum, _mm_movehl_ps (sum, sum));
  sum = _mm_add_ss (sum, _mm_movehdup_ps (sum));

  return _mm_cvtss_f32 (sum);
}

/* maddubs multiplies unsigned by signed bytes, so the signs move onto the
 * query: |x| × (y · sign x). With both sides in [-127, 127] a pair of
 * products stays below 32767 and nothing saturates. */
__attribute__((target ("avx2")))
static void
dot_i8_many_avx2 (const gint8 *codes,
                  guint        stride,
                  guint        n,
                  const gint8 *query,
                  gint32      *out)
{
  const __m256i ones = _mm256_set1_epi16 (1);

  for (guint v = 0; v < n; v++)
    {
      const gint8 *row = codes + (gsize) v * stride;
      __m256i acc = _mm256_setzero_si256 ();
      __m128i sum;

      for (guint i = 0; i < stride; i += I8_ALIGN)
        {
          __m256i x = _mm256_loadu_si256 ((const __m256i *) (row + i));
          __m256i y = _mm256_loadu_si256 ((const __m256i *) (query + i));
          __m256i pairs = _mm256_maddubs_epi16 (_mm256_sign_epi8 (x, x),
                                                _mm256_sign_epi8 (y, x));

          acc = _mm256_add_epi32 (acc, _mm256_madd_epi16 (pairs, ones));
        }

      sum = _mm_add_epi32 (_mm256_castsi256_si128 (acc),
                           _mm256_extracti128_si256 (acc, 1));
      sum = _mm_add_epi32 (sum, _mm_shuffle_epi32 (sum, 0x4e));
      sum = _mm_add_epi32 (sum, _mm_shuffle_epi32 (sum, 0xb1));
      out[v] = _mm_cvtsi128_si32 (sum);
    }
}

/* dpbusd multiplies unsigned by signed bytes and adds groups of four into
 * 32-bit lanes without saturating. The row byte x is read as x + 128
 * (its top bit flipped), which adds 128 × the sum of the query to every
 * dot product; that is taken off at the end. */
__attribute__((target ("avx512f,avx512bw,avx512vl,avx512vnni")))
static void
dot_i8_many_vnni (const gint8 *codes,
                  guint        stride,
                  guint        n,
                  const gint8 *query,
                  gint32      *out)
{
  const __m512i flip = _mm512_set1_epi8 ((char) 0x80);
  gint32 lanes[16];
  gint32 query_sum = 0;
  gint32 bias;

  for (guint i = 0; i < stride; i++)
    query_sum += query[i];
  bias = 128 * query_sum;

  for (guint v = 0; v < n; v++)
    {
      const gint8 *row = codes + (gsize) v * stride;
      __m512i acc = _mm512_setzero_si512 ();
      gint32 sum;
      guint i = 0;

      for (; i + 64 <= stride; i += 64)
        {
          __m512i x = _mm512_xor_si512 (_mm512_loadu_si512 (row + i), flip);
          __m512i y = _mm512_loadu_si512 (query + i);

          acc = _mm512_dpbusd_epi32 (acc, x, y);
        }
      /* Through memory: GCC 12's 512-bit reductions read undefined
       * registers and warn. */
      _mm512_storeu_si512 (lanes, acc);
      sum = 0;
      for (guint lane = 0; lane < 16; lane++)
        sum += lanes[lane];

      /* Strides are multiples of 32: at most one half-width step. */
      if (i < stride)
        {
          __m256i x = _mm256_xor_si256 (_mm256_loadu_si256 ((const __m256i *) (row + i)),
                                        _mm256_set1_epi8 ((char) 0x80));
          __m256i y = _mm256_loadu_si256 ((const __m256i *) (query + i));
          __m256i half = _mm256_dpbusd_epi32 (_mm256_setzero_si256 (), x, y);
          __m128i quarter = _mm_add_epi32 (_mm256_castsi256_si128 (half),
                                           _mm256_extracti128_si256 (half, 1));

          quarter = _mm_add_epi32 (quarter, _mm_shuffle_epi32 (quarter, 0x4e));
          quarter = _mm_add_epi32 (quarter, _mm_shuffle_epi32 (quarter, 0xb1));
          sum += _mm_cvtsi128_si32 (quarter);
        }

      out[v] = sum - bias;
    }
}

/* The blocked kernels: one register holds a group of four dimensions of
 * eight (AVX2) or sixteen (AVX-512) rows, and the query's four bytes of
 * that group are broadcast; no horizontal sums are needed. A group's line
 * of the block is read front to back while the sums wait in @out, which
 * stays in the first-level cache. */
__attribute__((target ("avx2")))
static void
dot_i8_block_avx2 (const gint8                *block,
                   guint                       block_rows,
                   const RflVectorQueryGroups *query,
                   gint32                     *out)
{
  const __m256i ones = _mm256_set1_epi16 (1);
  guint i = 0;

  memset (out, 0, block_rows * sizeof (gint32));

  /* Two groups a pass: half the trips of the sums through the cache. */
  for (; i + 2 <= query->n_groups; i += 2)
    {
      const gint8 *l0 = block + (gsize) query->groups[i] * block_rows * 4;
      const gint8 *l1 = block + (gsize) query->groups[i + 1] * block_rows * 4;
      __m256i y0 = _mm256_set1_epi32 ((int) query->packed[i]);
      __m256i y1 = _mm256_set1_epi32 ((int) query->packed[i + 1]);

      for (guint row = 0; row < block_rows; row += 8)
        {
          __m256i x0 = _mm256_loadu_si256 ((const __m256i *) (l0 + row * 4));
          __m256i x1 = _mm256_loadu_si256 ((const __m256i *) (l1 + row * 4));
          __m256i sums = _mm256_loadu_si256 ((const __m256i *) (out + row));
          __m256i p0 = _mm256_maddubs_epi16 (_mm256_sign_epi8 (x0, x0),
                                             _mm256_sign_epi8 (y0, x0));
          __m256i p1 = _mm256_maddubs_epi16 (_mm256_sign_epi8 (x1, x1),
                                             _mm256_sign_epi8 (y1, x1));

          sums = _mm256_add_epi32 (sums, _mm256_madd_epi16 (p0, ones));
          sums = _mm256_add_epi32 (sums, _mm256_madd_epi16 (p1, ones));
          _mm256_storeu_si256 ((__m256i *) (out + row), sums);
        }
    }
  for (; i < query->n_groups; i++)
    {
      const gint8 *line = block + (gsize) query->groups[i] * block_rows * 4;
      __m256i y = _mm256_set1_epi32 ((int) query->packed[i]);

      for (guint row = 0; row < block_rows; row += 8)
        {
          __m256i x = _mm256_loadu_si256 ((const __m256i *) (line + row * 4));
          __m256i sums = _mm256_loadu_si256 ((const __m256i *) (out + row));
          __m256i pairs = _mm256_maddubs_epi16 (_mm256_sign_epi8 (x, x),
                                                _mm256_sign_epi8 (y, x));

          sums = _mm256_add_epi32 (sums, _mm256_madd_epi16 (pairs, ones));
          _mm256_storeu_si256 ((__m256i *) (out + row), sums);
        }
    }
}

__attribute__((target ("avx512f,avx512bw,avx512vl,avx512vnni")))
static void
dot_i8_block_vnni (const gint8                *block,
                   guint                       block_rows,
                   const RflVectorQueryGroups *query,
                   gint32                     *out)
{
  const __m512i flip = _mm512_set1_epi8 ((char) 0x80);
  const __m512i bias = _mm512_set1_epi32 (128 * query->sum);
  guint i = 0;

  for (guint row = 0; row < block_rows; row += RFL_VECTOR_LANES)
    _mm512_storeu_si512 (out + row, _mm512_sub_epi32 (_mm512_setzero_si512 (),
                                                      bias));

  /* Four groups a pass: a quarter of the trips of the sums through the
   * cache, and four lines streaming at once. */
  for (; i + 4 <= query->n_groups; i += 4)
    {
      const gint8 *l0 = block + (gsize) query->groups[i] * block_rows * 4;
      const gint8 *l1 = block + (gsize) query->groups[i + 1] * block_rows * 4;
      const gint8 *l2 = block + (gsize) query->groups[i + 2] * block_rows * 4;
      const gint8 *l3 = block + (gsize) query->groups[i + 3] * block_rows * 4;
      __m512i y0 = _mm512_set1_epi32 ((int) query->packed[i]);
      __m512i y1 = _mm512_set1_epi32 ((int) query->packed[i + 1]);
      __m512i y2 = _mm512_set1_epi32 ((int) query->packed[i + 2]);
      __m512i y3 = _mm512_set1_epi32 ((int) query->packed[i + 3]);

      for (guint row = 0; row < block_rows; row += RFL_VECTOR_LANES)
        {
          gsize at = (gsize) row * 4;
          __m512i acc = _mm512_loadu_si512 (out + row);

          acc = _mm512_dpbusd_epi32 (acc, _mm512_xor_si512 (_mm512_loadu_si512 (l0 + at), flip), y0);
          acc = _mm512_dpbusd_epi32 (acc, _mm512_xor_si512 (_mm512_loadu_si512 (l1 + at), flip), y1);
          acc = _mm512_dpbusd_epi32 (acc, _mm512_xor_si512 (_mm512_loadu_si512 (l2 + at), flip), y2);
          acc = _mm512_dpbusd_epi32 (acc, _mm512_xor_si512 (_mm512_loadu_si512 (l3 + at), flip), y3);
          _mm512_storeu_si512 (out + row, acc);
        }
    }
  for (; i < query->n_groups; i++)
    {
      const gint8 *line = block + (gsize) query->groups[i] * block_rows * 4;
      __m512i y = _mm512_set1_epi32 ((int) query->packed[i]);

      for (guint row = 0; row < block_rows; row += RFL_VECTOR_LANES)
        {
          __m512i x = _mm512_xor_si512 (_mm512_loadu_si512 (line + row * 4),
                                        flip);

          _mm512_storeu_si512 (out + row,
                               _mm512_dpbusd_epi32 (_mm512_loadu_si512 (out + row),
                                                    x, y));
        }
    }
}
#endif

guint32
_rfl_vector_scaled_above_generic (const gint32 *dots,
                                  const float  *scales,
                                  float         floor)
{
  guint32 above = 0;

  for (guint i = 0; i < RFL_VECTOR_LANES; i++)
    above |= (guint32) ((float) dots[i] * scales[i] > floor) << i;

  return above;
}

#ifdef RFL_VECTOR_X86
/* The same products as the portable loop (a conversion and one rounded
 * multiplication each), so both keep the same rows. */
__attribute__((target ("avx2")))
static guint32
scaled_above_avx2 (const gint32 *dots,
                   const float  *scales,
                   float         floor)
{
  __m256 limit = _mm256_set1_ps (floor);
  guint32 above = 0;

  for (guint i = 0; i < RFL_VECTOR_LANES; i += 8)
    {
      __m256 score = _mm256_mul_ps (_mm256_cvtepi32_ps (_mm256_loadu_si256 ((const __m256i *) (dots + i))),
                                    _mm256_loadu_ps (scales + i));

      above |= (guint32) _mm256_movemask_ps (_mm256_cmp_ps (score, limit, _CMP_GT_OQ)) << i;
    }

  return above;
}

__attribute__((target ("avx512f")))
static guint32
scaled_above_avx512 (const gint32 *dots,
                     const float  *scales,
                     float         floor)
{
  /* The masked form: the plain one trips GCC 12's -Wuninitialized. */
  __m512 score = _mm512_mul_ps (_mm512_maskz_cvtepi32_ps (0xffff, _mm512_loadu_si512 (dots)),
                                _mm512_loadu_ps (scales));

  return _mm512_cmp_ps_mask (score, _mm512_set1_ps (floor), _CMP_GT_OQ);
}
#endif

void
_rfl_vector_kernels_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      dot_f32_impl = dot_f32_generic;
      dot_i8_many_impl = _rfl_vector_dot_i8_many_generic;
      dot_i8_block_impl = _rfl_vector_dot_i8_block_generic;
      scaled_above_impl = _rfl_vector_scaled_above_generic;
      kernels_name = "generic";
#ifdef RFL_VECTOR_X86
      __builtin_cpu_init ();
      if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
        {
          dot_f32_impl = dot_f32_avx2;
          dot_i8_many_impl = dot_i8_many_avx2;
          dot_i8_block_impl = dot_i8_block_avx2;
          scaled_above_impl = scaled_above_avx2;
          kernels_name = "avx2";
        }
      if (__builtin_cpu_supports ("avx512f")
          && __builtin_cpu_supports ("avx512bw")
          && __builtin_cpu_supports ("avx512vl")
          && __builtin_cpu_supports ("avx512vnni")
          && g_getenv ("RFL_VECTOR_NO_AVX512") == NULL)
        {
          dot_i8_many_impl = dot_i8_many_vnni;
          dot_i8_block_impl = dot_i8_block_vnni;
          scaled_above_impl = scaled_above_avx512;
          kernels_name = "avx2 + avx512-vnni";
        }
#endif
      g_once_init_leave (&initialized, 1);
    }
}

const char *
_rfl_vector_kernels_get_name (void)
{
  _rfl_vector_kernels_init ();

  return kernels_name;
}

guint
_rfl_vector_f32_stride (guint dims)
{
  return (dims + F32_ALIGN - 1) / F32_ALIGN * F32_ALIGN;
}

guint
_rfl_vector_i8_stride (guint dims)
{
  return (dims + I8_ALIGN - 1) / I8_ALIGN * I8_ALIGN;
}

float
_rfl_vector_dot_f32 (const float *a,
                     const float *b,
                     guint        stride)
{
  return dot_f32_impl (a, b, stride);
}

void
_rfl_vector_dot_i8_many (const gint8 *codes,
                         guint        stride,
                         guint        n,
                         const gint8 *query,
                         gint32      *out)
{
  dot_i8_many_impl (codes, stride, n, query, out);
}

void
_rfl_vector_dot_i8_block (const gint8                *block,
                          guint                       block_rows,
                          const RflVectorQueryGroups *query,
                          gint32                     *out)
{
  dot_i8_block_impl (block, block_rows, query, out);
}

guint32
_rfl_vector_scaled_above (const gint32 *dots,
                          const float  *scales,
                          float         floor)
{
  return scaled_above_impl (dots, scales, floor);
}

double
_rfl_vector_norm2 (const float *vector,
                   guint        dims)
{
  double sum = 0.0;

  for (guint i = 0; i < dims; i++)
    {
      if (!isfinite (vector[i]))
        return -1.0;
      sum += (double) vector[i] * (double) vector[i];
    }

  return sum;
}

void
_rfl_vector_scale_into (const float *vector,
                        guint        dims,
                        double       inv_norm,
                        guint        stride,
                        float       *out)
{
  for (guint i = 0; i < dims; i++)
    out[i] = (float) (vector[i] * inv_norm);
  for (guint i = dims; i < stride; i++)
    out[i] = 0.0f;
}

float
_rfl_vector_quantize (const float *row,
                      guint        n,
                      guint        code_stride,
                      gint8       *code)
{
  float max = 0.0f;
  float inv;

  for (guint i = 0; i < n; i++)
    max = MAX (max, fabsf (row[i]));

  memset (code, 0, code_stride);
  if (max == 0.0f)
    return 0.0f;

  inv = 127.0f / max;
  for (guint i = 0; i < n; i++)
    {
      float x = row[i] * inv;
      int q = (int) (x >= 0.0f ? x + 0.5f : x - 0.5f);

      code[i] = (gint8) CLAMP (q, -127, 127);
    }

  return max / 127.0f;
}

/* The id map */

#define ID_MAP_EMPTY G_MAXUINT64

static inline gsize
id_map_home (const RflIdMap *map,
             gint64          key)
{
  /* The finaliser of splitmix64: store ids are consecutive, and a plain
   * modulo would pile them into runs. */
  guint64 x = (guint64) key;

  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT (0x94d049bb133111eb);
  x ^= x >> 31;

  return (gsize) x & map->mask;
}

static void
id_map_alloc (RflIdMap *map,
              gsize     n_buckets)
{
  map->keys = g_new (gint64, n_buckets);
  map->values = g_new (guint64, n_buckets);
  map->mask = n_buckets - 1;
  map->count = 0;
  for (gsize i = 0; i < n_buckets; i++)
    map->values[i] = ID_MAP_EMPTY;
}

void
_rfl_id_map_init (RflIdMap *map,
                  gsize     expected)
{
  gsize n_buckets = 16;

  while (n_buckets < expected + expected / 2 + 1)
    n_buckets *= 2;
  id_map_alloc (map, n_buckets);
}

void
_rfl_id_map_clear (RflIdMap *map)
{
  g_clear_pointer (&map->keys, g_free);
  g_clear_pointer (&map->values, g_free);
  map->mask = 0;
  map->count = 0;
}

static gsize
id_map_find (const RflIdMap *map,
             gint64          key,
             gboolean       *found)
{
  gsize i = id_map_home (map, key);

  while (map->values[i] != ID_MAP_EMPTY)
    {
      if (map->keys[i] == key)
        {
          *found = TRUE;
          return i;
        }
      i = (i + 1) & map->mask;
    }

  *found = FALSE;
  return i;
}

gboolean
_rfl_id_map_lookup (const RflIdMap *map,
                    gint64          key,
                    guint64        *value)
{
  gboolean found;
  gsize i = id_map_find (map, key, &found);

  if (found && value != NULL)
    *value = map->values[i];

  return found;
}

static void
id_map_grow (RflIdMap *map)
{
  RflIdMap bigger;

  id_map_alloc (&bigger, (map->mask + 1) * 2);
  for (gsize i = 0; i <= map->mask; i++)
    if (map->values[i] != ID_MAP_EMPTY)
      _rfl_id_map_set (&bigger, map->keys[i], map->values[i]);

  _rfl_id_map_clear (map);
  *map = bigger;
}

void
_rfl_id_map_set (RflIdMap *map,
                 gint64    key,
                 guint64   value)
{
  gboolean found;
  gsize i;

  g_assert (value != ID_MAP_EMPTY);

  /* At most two thirds full, so that probe runs stay short. */
  if ((map->count + 1) * 3 > (map->mask + 1) * 2)
    id_map_grow (map);

  i = id_map_find (map, key, &found);
  if (!found)
    {
      map->keys[i] = key;
      map->count++;
    }
  map->values[i] = value;
}

gboolean
_rfl_id_map_remove (RflIdMap *map,
                    gint64    key)
{
  gboolean found;
  gsize hole = id_map_find (map, key, &found);
  gsize j = hole;

  if (!found)
    return FALSE;

  /* Backward-shift deletion: pull later members of the probe run into the
   * hole unless their home lies cyclically after the hole. */
  for (;;)
    {
      gsize home;

      j = (j + 1) & map->mask;
      if (map->values[j] == ID_MAP_EMPTY)
        break;

      home = id_map_home (map, map->keys[j]);
      if (((j - home) & map->mask) >= ((j - hole) & map->mask))
        {
          map->keys[hole] = map->keys[j];
          map->values[hole] = map->values[j];
          hole = j;
        }
    }

  map->values[hole] = ID_MAP_EMPTY;
  map->count--;

  return TRUE;
}

/* The candidate heap */

static inline gboolean
candidate_worse (const RflVectorCandidate *a,
                 const RflVectorCandidate *b)
{
  return a->score < b->score || (a->score == b->score && a->ref > b->ref);
}

void
_rfl_vector_heap_init (RflVectorHeap *heap,
                       guint          capacity)
{
  heap->items = g_new (RflVectorCandidate, MAX (capacity, 1));
  heap->size = 0;
  heap->capacity = capacity;
  heap->floor = capacity > 0 ? -INFINITY : INFINITY;
}

void
_rfl_vector_heap_clear (RflVectorHeap *heap)
{
  g_clear_pointer (&heap->items, g_free);
  heap->size = 0;
  heap->capacity = 0;
}

static void
heap_sift_down (RflVectorHeap *heap,
                guint          i)
{
  RflVectorCandidate *items = heap->items;

  for (;;)
    {
      guint child = 2 * i + 1;
      RflVectorCandidate tmp;

      if (child >= heap->size)
        break;
      if (child + 1 < heap->size
          && candidate_worse (&items[child + 1], &items[child]))
        child++;
      if (!candidate_worse (&items[child], &items[i]))
        break;

      tmp = items[i];
      items[i] = items[child];
      items[child] = tmp;
      i = child;
    }
}

void
_rfl_vector_heap_offer (RflVectorHeap *heap,
                        float          score,
                        gint64         ref)
{
  RflVectorCandidate candidate = { score, ref };
  RflVectorCandidate *items = heap->items;

  if (heap->size < heap->capacity)
    {
      guint i = heap->size++;

      while (i > 0 && candidate_worse (&candidate, &items[(i - 1) / 2]))
        {
          items[i] = items[(i - 1) / 2];
          i = (i - 1) / 2;
        }
      items[i] = candidate;
    }
  else if (heap->capacity > 0 && candidate_worse (&items[0], &candidate))
    {
      items[0] = candidate;
      heap_sift_down (heap, 0);
    }
  else
    return;

  if (heap->size == heap->capacity)
    heap->floor = items[0].score;
}

static int
compare_best_first (gconstpointer a,
                    gconstpointer b)
{
  const RflVectorCandidate *ca = a;
  const RflVectorCandidate *cb = b;

  if (candidate_worse (cb, ca))
    return -1;
  if (candidate_worse (ca, cb))
    return 1;
  return 0;
}

void
_rfl_vector_heap_sort (RflVectorHeap *heap)
{
  qsort (heap->items, heap->size, sizeof (RflVectorCandidate),
         compare_best_first);
}
