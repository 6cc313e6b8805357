/* rfl-hash-embedder.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-hash-embedder.h"

#include <math.h>
#include <string.h>

#define WORD_WEIGHT    1.0f
#define PAIR_WEIGHT    0.7f
#define TRIGRAM_WEIGHT 0.35f

/* Each kind of feature starts its hash from a different byte, so that a
 * word and a 3-gram with the same letters fall into unrelated buckets. */
#define KIND_WORD    'w'
#define KIND_PAIR    'p'
#define KIND_TRIGRAM 't'

#define FNV_OFFSET G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define FNV_PRIME  G_GUINT64_CONSTANT (0x100000001b3)

typedef struct
{
  gsize start;   /* byte offsets into the folded text */
  gsize end;
} Word;

static guint64
fnv1a (guint64     hash,
       const char *data,
       gsize       len)
{
  for (gsize i = 0; i < len; i++)
    {
      hash ^= (guchar) data[i];
      hash *= FNV_PRIME;
    }

  return hash;
}

static guint64
hash_start (char kind)
{
  return fnv1a (FNV_OFFSET, &kind, 1);
}

/* FNV-1a spreads its low bits poorly; the splitmix64 finaliser mixes them
 * before the bucket and the sign are taken. */
static void
add_feature (float   *out,
             guint64  hash,
             float    weight)
{
  guint64 x = hash;

  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT (0x94d049bb133111eb);
  x ^= x >> 31;

  out[(x >> 1) % RFL_HASH_EMBEDDER_DIMS] += (x & 1) ? -weight : weight;
}

static gboolean
is_word_char (gunichar c)
{
  return g_unichar_isalnum (c) || g_unichar_ismark (c);
}

/* Scripts written without spaces between words, where one character is
 * the closest thing to a word. */
static gboolean
is_ideograph (gunichar c)
{
  switch (g_unichar_get_script (c))
    {
    case G_UNICODE_SCRIPT_HAN:
    case G_UNICODE_SCRIPT_HIRAGANA:
    case G_UNICODE_SCRIPT_KATAKANA:
      return TRUE;
    default:
      return FALSE;
    }
}

static GArray *
split_words (const char *text)
{
  GArray *words = g_array_new (FALSE, FALSE, sizeof (Word));
  const char *p = text;
  const char *word_start = NULL;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (is_word_char (c) && !is_ideograph (c))
        {
          /* A combining mark only continues a word; it never starts one. */
          if (word_start == NULL && !g_unichar_ismark (c))
            word_start = p;
        }
      else
        {
          if (word_start != NULL)
            {
              Word word = { word_start - text, p - text };

              g_array_append_val (words, word);
              word_start = NULL;
            }
          if (is_ideograph (c))
            {
              Word word = { p - text, next - text };

              g_array_append_val (words, word);
            }
        }
      p = next;
    }

  if (word_start != NULL)
    {
      Word word = { word_start - text, p - text };

      g_array_append_val (words, word);
    }

  return words;
}

/* The 3-grams of "<word>", counted in characters. */
static void
add_trigrams (float      *out,
              const char *word,
              gsize       len)
{
  const char *end = word + len;
  const char *window[3] = { NULL, NULL, NULL };
  gsize window_len[3] = { 0, 0, 0 };
  const char *p = word;
  guint n_symbols = 0;
  gboolean closed = FALSE;

  /* Slides a window of three symbols along '<', the characters, '>'. */
  while (!closed)
    {
      const char *symbol;
      gsize symbol_len;

      if (n_symbols == 0)
        {
          symbol = "<";
          symbol_len = 1;
        }
      else if (p < end)
        {
          symbol = p;
          symbol_len = g_utf8_next_char (p) - p;
          p += symbol_len;
        }
      else
        {
          symbol = ">";
          symbol_len = 1;
          closed = TRUE;
        }

      window[0] = window[1];
      window_len[0] = window_len[1];
      window[1] = window[2];
      window_len[1] = window_len[2];
      window[2] = symbol;
      window_len[2] = symbol_len;

      if (++n_symbols >= 3)
        {
          guint64 hash = hash_start (KIND_TRIGRAM);

          for (guint i = 0; i < 3; i++)
            hash = fnv1a (hash, window[i], window_len[i]);
          add_feature (out, hash, TRIGRAM_WEIGHT);
        }
    }
}

gboolean
rfl_hash_embedder_embed (const char *text,
                         gssize      length,
                         float      *out)
{
  g_autofree char *valid = NULL;
  g_autofree char *normal = NULL;
  g_autofree char *folded = NULL;
  g_autoptr(GArray) words = NULL;
  double norm2 = 0.0;
  double inv_norm;

  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  memset (out, 0, RFL_HASH_EMBEDDER_DIMS * sizeof (float));
  if (text == NULL)
    return FALSE;

  valid = g_utf8_make_valid (text, length);
  normal = g_utf8_normalize (valid, -1, G_NORMALIZE_NFKC);
  folded = g_utf8_casefold (normal != NULL ? normal : valid, -1);
  words = split_words (folded);

  for (guint i = 0; i < words->len; i++)
    {
      const Word *word = &g_array_index (words, Word, i);
      const char *start = folded + word->start;
      gsize len = word->end - word->start;

      add_feature (out, fnv1a (hash_start (KIND_WORD), start, len), WORD_WEIGHT);

      if (i + 1 < words->len)
        {
          const Word *next = &g_array_index (words, Word, i + 1);
          guint64 hash = fnv1a (hash_start (KIND_PAIR), start, len);

          /* A separator that cannot occur in a word keeps "ab c" and
           * "a bc" apart. */
          hash = fnv1a (hash, " ", 1);
          hash = fnv1a (hash, folded + next->start, next->end - next->start);
          add_feature (out, hash, PAIR_WEIGHT);
        }

      /* A one-character word has no 3-gram that its own feature lacks. */
      if (g_utf8_strlen (start, len) > 1)
        add_trigrams (out, start, len);
    }

  for (guint i = 0; i < RFL_HASH_EMBEDDER_DIMS; i++)
    norm2 += (double) out[i] * out[i];

  if (norm2 == 0.0)
    return FALSE;

  inv_norm = 1.0 / sqrt (norm2);
  for (guint i = 0; i < RFL_HASH_EMBEDDER_DIMS; i++)
    out[i] = (float) (out[i] * inv_norm);

  return TRUE;
}
