/* rfl-text-index.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-text-index.h"

#include <math.h>
#include <string.h>

#define BM25_K1          1.2
#define BM25_B           0.75
#define MIN_IDF          1e-6
#define MAX_QUERY_WORDS  32   /* as the FTS5 queries the store builds */

typedef struct
{
  gint64  id;
  gint64  user_id;
  guint32 length;             /* in words */
} Doc;

typedef struct
{
  double  norm;               /* the length term of BM25's denominator */
  gint64  user_id;
} DocTerm;

typedef struct
{
  guint32 doc;                /* position in docs */
  guint32 count;              /* how often the word occurs in it */
  double  weight;             /* made by the first search: the part of the
                               * row's score that the IDF multiplies */
} Posting;

struct _RflTextIndex
{
  gint        ref_count;
  GArray     *docs;           /* Doc */
  GHashTable *positions;      /* gint64 id → position + 1 */
  GHashTable *words;          /* char * → GArray of Posting */
  GHashTable *per_user;       /* gint64 user id → row count */
  guint64     n_words;        /* over all rows */
  gsize       size;           /* bytes held, roughly */
  /* Made by the first search, with the postings' weights: per row, the
   * length term of BM25's denominator, k1 × (1 − b + b × length / average
   * length), and the user, side by side for the scoring loop. */
  DocTerm    *terms;

  /* Kept between searches, under scratch_lock: a score per row, all 0
   * between searches, and the rows a search scored. A search that finds
   * them taken uses its own. */
  GMutex      scratch_lock;
  double     *scores;
  guint32    *touched;
  guint       scratch_len;
};

static void
free_postings (gpointer data)
{
  g_array_unref (data);
}

RflTextIndex *
rfl_text_index_new (void)
{
  RflTextIndex *self = g_new0 (RflTextIndex, 1);

  self->ref_count = 1;
  g_mutex_init (&self->scratch_lock);
  self->docs = g_array_new (FALSE, FALSE, sizeof (Doc));
  self->positions = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                           g_free, NULL);
  self->words = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       free_postings);
  self->per_user = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                          g_free, NULL);

  return self;
}

RflTextIndex *
rfl_text_index_ref (RflTextIndex *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
rfl_text_index_unref (RflTextIndex *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;

  g_array_unref (self->docs);
  g_hash_table_unref (self->positions);
  g_hash_table_unref (self->words);
  g_hash_table_unref (self->per_user);
  g_free (self->scores);
  g_free (self->touched);
  g_free (self->terms);
  g_mutex_clear (&self->scratch_lock);
  g_free (self);
}

static gboolean
is_word_char (gunichar c)
{
  return g_unichar_isalnum (c) || g_unichar_ismark (c);
}

/* The form a word is indexed and looked up under: case-folded, without
 * diacritics. */
static char *
fold_word (const char *word,
           gsize       length)
{
  g_autofree char *decomposed = NULL;
  g_autoptr(GString) bare = NULL;
  gboolean ascii = TRUE;

  for (gsize i = 0; i < length && ascii; i++)
    ascii = (guchar) word[i] < 0x80;

  if (ascii)
    {
      char *folded = g_strndup (word, length);

      for (char *p = folded; *p != '\0'; p++)
        *p = g_ascii_tolower (*p);
      return folded;
    }

  decomposed = g_utf8_normalize (word, (gssize) length, G_NORMALIZE_NFKD);
  if (decomposed == NULL)
    return NULL;

  bare = g_string_sized_new (length);
  for (const char *p = decomposed; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_ismark (c))
        g_string_append_unichar (bare, c);
    }

  if (bare->len == 0)
    return NULL;

  return g_utf8_casefold (bare->str, (gssize) bare->len);
}

/* Calls @func with each folded word of @text, up to @max_words. */
static void
for_each_word (const char *text,
               guint       max_words,
               void      (*func) (char *word, gpointer user_data),
               gpointer    user_data)
{
  g_autofree char *valid = NULL;
  const char *word = NULL;
  guint n_words = 0;

  if (text == NULL)
    return;

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);

  for (const char *p = text; n_words < max_words; p = g_utf8_next_char (p))
    {
      gboolean in_word = *p != '\0'
                         && ((guchar) *p < 0x80
                             ? g_ascii_isalnum (*p)
                             : is_word_char (g_utf8_get_char (p)));

      if (in_word && word == NULL)
        {
          word = p;
        }
      else if (!in_word && word != NULL)
        {
          char *folded = fold_word (word, (gsize) (p - word));

          if (folded != NULL)
            {
              func (folded, user_data);
              n_words++;
            }
          word = NULL;
        }

      if (*p == '\0')
        break;
    }
}

typedef struct
{
  RflTextIndex *self;
  guint32       doc;
  guint32       length;
} AddContext;

static void
add_word (char     *word,
          gpointer  user_data)
{
  AddContext *context = user_data;
  RflTextIndex *self = context->self;
  GArray *postings = g_hash_table_lookup (self->words, word);
  Posting *last;

  context->length++;

  if (postings == NULL)
    {
      postings = g_array_sized_new (FALSE, FALSE, sizeof (Posting), 4);
      self->size += strlen (word) + 64;
      g_hash_table_insert (self->words, word, postings);
    }
  else
    {
      g_free (word);
    }

  /* Words of one row arrive together, so its posting is the last one. */
  last = postings->len > 0
         ? &g_array_index (postings, Posting, postings->len - 1) : NULL;
  if (last != NULL && last->doc == context->doc)
    {
      last->count++;
    }
  else
    {
      Posting posting = { context->doc, 1 };

      g_array_append_val (postings, posting);
      self->size += sizeof posting;
    }
}

void
rfl_text_index_add (RflTextIndex *self,
                    gint64        id,
                    gint64        user_id,
                    const char   *text)
{
  AddContext context = { self, self->docs->len, 0 };
  Doc doc = { id, user_id, 0 };
  guint n_owned;

  g_return_if_fail (self != NULL);
  g_return_if_fail (!g_hash_table_contains (self->positions, &id));
  g_return_if_fail (self->terms == NULL);

  g_array_append_val (self->docs, doc);
  g_hash_table_insert (self->positions, g_memdup2 (&id, sizeof id),
                       GUINT_TO_POINTER (context.doc + 1));
  for_each_word (text, G_MAXUINT, add_word, &context);

  n_owned = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_user, &user_id));
  g_hash_table_insert (self->per_user, g_memdup2 (&user_id, sizeof user_id),
                       GUINT_TO_POINTER (n_owned + 1));

  g_array_index (self->docs, Doc, context.doc).length = context.length;
  self->n_words += context.length;
  self->size += sizeof doc + sizeof (DocTerm) + 48;
}

guint
rfl_text_index_get_count (RflTextIndex *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->docs->len;
}

gsize
rfl_text_index_get_size (RflTextIndex *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->size;
}

guint
rfl_text_index_count_user (RflTextIndex *self,
                           gint64        user_id)
{
  g_return_val_if_fail (self != NULL, 0);

  if (user_id == 0)
    return self->docs->len;

  return GPOINTER_TO_UINT (g_hash_table_lookup (self->per_user, &user_id));
}

gboolean
rfl_text_index_lookup (RflTextIndex *self,
                       gint64        id,
                       gint64       *user_id)
{
  guint position;

  g_return_val_if_fail (self != NULL, FALSE);

  position = GPOINTER_TO_UINT (g_hash_table_lookup (self->positions, &id));
  if (position == 0)
    return FALSE;

  if (user_id != NULL)
    *user_id = g_array_index (self->docs, Doc, position - 1).user_id;

  return TRUE;
}

static void
collect_word (char     *word,
              gpointer  user_data)
{
  g_ptr_array_add (user_data, word);
}

typedef struct
{
  double score;
  gint64 id;
} Ranked;

/* The rows' length terms and the postings' weights, made once: the index
 * no longer changes once it is searched. */
static const DocTerm *
ensure_prepared (RflTextIndex *self)
{
  if (g_once_init_enter (&self->terms))
    {
      guint n_docs = self->docs->len;
      double average = (double) self->n_words / n_docs;
      DocTerm *terms = g_new (DocTerm, n_docs);
      GHashTableIter iter;
      gpointer value;

      for (guint i = 0; i < n_docs; i++)
        {
          const Doc *doc = &g_array_index (self->docs, Doc, i);

          /* Evaluated as FTS5 does, so that equal scores tie alike. */
          terms[i].norm = BM25_K1 * (1 - BM25_B + BM25_B * doc->length
                                                  / average);
          terms[i].user_id = doc->user_id;
        }

      g_hash_table_iter_init (&iter, self->words);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          GArray *postings = value;

          for (guint i = 0; i < postings->len; i++)
            {
              Posting *posting = &g_array_index (postings, Posting, i);
              double f = posting->count;

              /* The part of FTS5's expression that IDF multiplies. */
              posting->weight = (f * (BM25_K1 + 1.0))
                                / (f + terms[posting->doc].norm);
            }
        }

      g_once_init_leave (&self->terms, terms);
    }

  return self->terms;
}

static gboolean
ranks_before (const Ranked *a,
              const Ranked *b)
{
  return a->score > b->score || (a->score == b->score && a->id < b->id);
}

guint
rfl_text_index_search (RflTextIndex *self,
                       const char   *query,
                       gint64        user_id,
                       guint         limit,
                       gint64       *ids)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_autofree Ranked *best = NULL;
  g_autofree double *own_scores = NULL;
  g_autofree guint32 *own_touched = NULL;
  gboolean shared;
  double *scores;
  guint32 *touched;
  const DocTerm *terms;
  guint n_docs, n_touched = 0, n_best = 0;
  gboolean everyone;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (ids != NULL || limit == 0, 0);

  n_docs = self->docs->len;
  if (limit == 0 || n_docs == 0)
    return 0;

  for_each_word (query, MAX_QUERY_WORDS, collect_word, words);
  if (words->len == 0)
    return 0;

  terms = ensure_prepared (self);
  everyone = user_id == 0 || rfl_text_index_count_user (self, user_id) == n_docs;
  shared = g_mutex_trylock (&self->scratch_lock);
  if (shared)
    {
      if (self->scratch_len < n_docs)
        {
          g_free (self->scores);
          g_free (self->touched);
          self->scores = g_new0 (double, n_docs);
          self->touched = g_new (guint32, n_docs + 1);  /* one spare slot */
          self->scratch_len = n_docs;
        }
      scores = self->scores;
      touched = self->touched;
    }
  else
    {
      scores = own_scores = g_new0 (double, n_docs);
      touched = own_touched = g_new (guint32, n_docs + 1);
    }

  /* Each word is a phrase of its own, repeated ones too, as in FTS5. */
  for (guint w = 0; w < words->len; w++)
    {
      GArray *postings = g_hash_table_lookup (self->words,
                                              g_ptr_array_index (words, w));
      double idf;

      if (postings == NULL)
        continue;

      idf = log ((n_docs - postings->len + 0.5) / (postings->len + 0.5));
      if (idf <= 0.0)
        idf = MIN_IDF;

      for (guint i = 0; i < postings->len; i++)
        {
          const Posting *posting = &g_array_index (postings, Posting, i);
          guint32 doc = posting->doc;

          if (!everyone && terms[doc].user_id != user_id)
            continue;
          /* Every contribution is positive, so a score of zero marks a
           * row not yet touched; counted without a branch, which would
           * be mispredicted about as often as taken. A row already
           * counted is written to the spare slot after the last. */
          touched[n_touched] = doc;
          n_touched += scores[doc] == 0.0;
          scores[doc] += idf * posting->weight;
        }
    }

  /* The best @limit, kept sorted by insertion: @limit is small. */
  best = g_new (Ranked, limit);
  for (guint i = 0; i < n_touched; i++)
    {
      Ranked candidate;
      guint at;

      /* Most rows lose on the score alone; the id is read for the rest. */
      candidate.score = scores[touched[i]];
      if (n_best == limit && candidate.score < best[n_best - 1].score)
        continue;
      candidate.id = g_array_index (self->docs, Doc, touched[i]).id;
      if (n_best == limit && !ranks_before (&candidate, &best[n_best - 1]))
        continue;

      at = n_best < limit ? n_best++ : n_best - 1;
      while (at > 0 && ranks_before (&candidate, &best[at - 1]))
        {
          best[at] = best[at - 1];
          at--;
        }
      best[at] = candidate;
    }

  for (guint i = 0; i < n_touched; i++)
    scores[touched[i]] = 0.0;
  if (shared)
    g_mutex_unlock (&self->scratch_lock);

  for (guint i = 0; i < n_best; i++)
    ids[i] = best[i].id;

  return n_best;
}
