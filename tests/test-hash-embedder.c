/* test-hash-embedder.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "llm/rfl-hash-embedder.h"
#include "store/rfl-vector-index.h"

#define DIMS RFL_HASH_EMBEDDER_DIMS

/* Helpers */

static float *
embed (const char *text)
{
  float *vector = g_new (float, DIMS);

  g_assert_true (rfl_hash_embedder_embed (text, -1, vector));
  return vector;
}

static double
dot (const float *a,
     const float *b)
{
  double sum = 0;

  for (guint i = 0; i < DIMS; i++)
    sum += (double) a[i] * b[i];

  return sum;
}

static double
similarity (const char *a,
            const char *b)
{
  g_autofree float *va = embed (a);
  g_autofree float *vb = embed (b);

  return dot (va, vb);
}

static void
assert_same (const char *a,
             const char *b)
{
  g_autofree float *va = embed (a);
  g_autofree float *vb = embed (b);

  g_assert_cmpmem (va, DIMS * sizeof (float), vb, DIMS * sizeof (float));
}

static void
assert_zero (const float *vector)
{
  for (guint i = 0; i < DIMS; i++)
    g_assert_cmpfloat (vector[i], ==, 0.0f);
}

/* Tests */

static void
test_id (void)
{
  g_assert_cmpstr (RFL_HASH_EMBEDDER_ID, ==, "hash-384-v1");
  g_assert_cmpint (RFL_HASH_EMBEDDER_DIMS, ==, 384);
}

static void
test_deterministic (void)
{
  const char *text = "The quick brown fox jumps over the lazy dog";
  g_autofree float *first = embed (text);
  g_autofree float *second = embed (text);
  guint nonzero = 0;
  guint best = 0;

  g_assert_cmpmem (first, DIMS * sizeof (float), second, DIMS * sizeof (float));

  /* What "hash-384-v1" computes is fixed: vectors already stored under
   * that id must stay comparable with new ones. These values pin it. */
  for (guint i = 0; i < DIMS; i++)
    {
      nonzero += first[i] != 0.0f;
      if (fabsf (first[i]) > fabsf (first[best]))
        best = i;
    }
  g_test_message ("nonzero %u, largest %u = %.6f, [0..3] = %.6f %.6f %.6f %.6f",
                  nonzero, best, first[best], first[0], first[1], first[2],
                  first[3]);
  g_assert_cmpuint (nonzero, ==, 41);
  g_assert_cmpuint (best, ==, 47);
  g_assert_cmpfloat_with_epsilon (first[best], -0.432565, 1e-5);
}

static void
test_normalised (void)
{
  const char *texts[] = {
    "a",
    "Hello world",
    "Remember that Alice prefers tea over coffee in the morning.",
    "数据库连接失败",
    "x y z x y z x y z",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree float *vector = embed (texts[i]);

      g_assert_cmpfloat_with_epsilon (dot (vector, vector), 1.0, 1e-5);
    }
}

static void
test_similar_closer (void)
{
  double close = similarity ("The cat sat on the mat",
                             "A cat was sitting on the mat");
  double far = similarity ("The cat sat on the mat",
                           "Quarterly revenue grew by ten percent");
  double typo = similarity ("database connection refused",
                            "databse conection refused");
  double other = similarity ("database connection refused",
                             "the user likes hiking in the alps");

  g_test_message ("close %.3f, far %.3f, typo %.3f, other %.3f",
                  close, far, typo, other);
  g_assert_cmpfloat (close, >, far + 0.3);
  g_assert_cmpfloat (typo, >, other + 0.3);
  g_assert_cmpfloat (fabs (far), <, 0.2);

  /* Word order counts through the word pairs, but only a little. */
  g_assert_cmpfloat (similarity ("dog bites man", "man bites dog"), <, 0.999);
  g_assert_cmpfloat (similarity ("dog bites man", "man bites dog"), >, 0.7);
}

static void
test_normalisation (void)
{
  /* Case, punctuation and spacing do not matter. */
  assert_same ("Hello World", "hello world");
  assert_same ("hello, world!", "  hello   world ");
  /* Compatibility forms and decomposed accents are folded by NFKC. */
  assert_same ("ＨＥＬＬＯ", "hello");
  assert_same ("caf\xc3\xa9", "cafe\xcc\x81");
  /* Case folding is Unicode-aware: ß folds to ss, Σ to σ. */
  assert_same ("Grüße aus München", "GRÜSSE AUS MÜNCHEN");
  assert_same ("ΟΔΥΣΣΕΥΣ", "οδυσσευς");
}

static void
test_unicode (void)
{
  double related = similarity ("我喜欢猫", "我喜欢狗");
  double unrelated = similarity ("我喜欢猫", "今天天气很好");
  double cyrillic = similarity ("Привет, как дела?", "привет как твои дела");
  double mixed = similarity ("Привет, как дела?", "Quarterly revenue report");
  g_autofree float *emoji = g_new (float, DIMS);

  g_test_message ("han %.3f vs %.3f, cyrillic %.3f vs %.3f",
                  related, unrelated, cyrillic, mixed);
  g_assert_cmpfloat (related, >, unrelated + 0.3);
  g_assert_cmpfloat (cyrillic, >, mixed + 0.3);

  /* Symbols alone are not words. */
  g_assert_false (rfl_hash_embedder_embed ("🙂 🎉 → ✓", -1, emoji));
  assert_zero (emoji);
}

static void
test_empty_and_invalid (void)
{
  float vector[DIMS];
  const char invalid[] = "caf\xff\xfe latte";

  g_assert_false (rfl_hash_embedder_embed ("", -1, vector));
  assert_zero (vector);
  g_assert_false (rfl_hash_embedder_embed ("  \t\n ", -1, vector));
  assert_zero (vector);
  g_assert_false (rfl_hash_embedder_embed ("?!... ---", -1, vector));
  assert_zero (vector);
  g_assert_false (rfl_hash_embedder_embed (NULL, 0, vector));
  assert_zero (vector);

  /* An explicit length stops early, even inside the buffer. */
  g_assert_true (rfl_hash_embedder_embed ("hello world", 5, vector));
  {
    g_autofree float *hello = embed ("hello");

    g_assert_cmpmem (vector, sizeof vector, hello, DIMS * sizeof (float));
  }

  /* Invalid UTF-8 is repaired rather than refused. */
  g_assert_true (rfl_hash_embedder_embed (invalid, sizeof invalid - 1, vector));
  g_assert_cmpfloat_with_epsilon (dot (vector, vector), 1.0, 1e-5);
  g_assert_cmpfloat (similarity ("caf latte", invalid), >, 0.5);
}

/* The two together: memories found by meaning through the index. */
static void
test_search (void)
{
  const char *memories[] = {
    "Alice prefers green tea in the morning",
    "The quarterly report is due on Friday",
    "Bob is allergic to peanuts",
    "The staging server runs PostgreSQL 15",
    "Alice's daughter plays the violin",
  };
  g_autoptr(RflVectorIndex) index = rfl_vector_index_new (DIMS,
                                                          RFL_HASH_EMBEDDER_ID);
  g_autofree float *query = embed ("what tea does alice drink in the morning?");
  RflVectorHit hits[3];
  guint n_hits;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (memories); i++)
    {
      g_autofree float *vector = embed (memories[i]);

      g_assert_true (rfl_vector_index_insert (index, i + 1, vector, DIMS, &error));
      g_assert_no_error (error);
    }

  g_assert_true (rfl_vector_index_search (index, query, DIMS, 3,
                                          RFL_VECTOR_SEARCH_AUTO, hits,
                                          &n_hits, &error));
  g_assert_cmpuint (n_hits, ==, 3);
  g_assert_cmpint (hits[0].id, ==, 1);

  {
    g_autofree float *db = embed ("which postgresql version is on staging?");

    g_assert_true (rfl_vector_index_search (index, db, DIMS, 1,
                                            RFL_VECTOR_SEARCH_AUTO, hits,
                                            &n_hits, &error));
    g_assert_cmpint (hits[0].id, ==, 4);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/hash-embedder/id", test_id);
  g_test_add_func ("/rfl/hash-embedder/deterministic", test_deterministic);
  g_test_add_func ("/rfl/hash-embedder/normalised", test_normalised);
  g_test_add_func ("/rfl/hash-embedder/similar-closer", test_similar_closer);
  g_test_add_func ("/rfl/hash-embedder/normalisation", test_normalisation);
  g_test_add_func ("/rfl/hash-embedder/unicode", test_unicode);
  g_test_add_func ("/rfl/hash-embedder/empty-and-invalid", test_empty_and_invalid);
  g_test_add_func ("/rfl/hash-embedder/search", test_search);

  return g_test_run ();
}
