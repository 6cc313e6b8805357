/* rfl-rate-limiter.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-rate-limiter.h"

/* A reading up to this far behind the bucket's last refill is a stale
 * reading of a thread that waited for the lock: it must not refill the same
 * interval twice. Further back, the clock was set back and the bucket
 * resumes from the new time. */
#define STALE_READING_US G_GINT64_CONSTANT (1000000)

#define N_SHARDS 16

/* ---------------------------------------------------------- token bucket */

static guint64
bucket_full_level (const RflTokenBucket *bucket)
{
  return (guint64) bucket->capacity * (guint64) RFL_TOKEN_BUCKET_UNITS;
}

static void
bucket_refill (RflTokenBucket *bucket,
               gint64          now_us)
{
  gint64 elapsed;

  if (now_us < bucket->updated_us)
    {
      if (bucket->updated_us - now_us > STALE_READING_US)
        bucket->updated_us = now_us;
      return;
    }

  elapsed = now_us - bucket->updated_us;
  bucket->updated_us = now_us;

  if (bucket->capacity == 0)
    return;

  /* Any bucket fills from empty in exactly one minute; below that the
   * product stays far from overflowing (capacity < 2^32, elapsed < 2^26). */
  if (elapsed >= RFL_TOKEN_BUCKET_UNITS)
    bucket->level = bucket_full_level (bucket);
  else
    bucket->level = MIN (bucket_full_level (bucket),
                         bucket->level + (guint64) elapsed * bucket->capacity);
}

void
rfl_token_bucket_init (RflTokenBucket *bucket,
                       guint           capacity,
                       gint64          now_us)
{
  g_return_if_fail (bucket != NULL);

  bucket->capacity = capacity;
  bucket->level = bucket_full_level (bucket);
  bucket->updated_us = now_us;
}

void
rfl_token_bucket_set_capacity (RflTokenBucket *bucket,
                               guint           capacity,
                               gint64          now_us)
{
  gboolean was_unlimited;

  g_return_if_fail (bucket != NULL);

  bucket_refill (bucket, now_us);
  was_unlimited = bucket->capacity == 0;
  bucket->capacity = capacity;

  /* A limit on a key that had none starts with a full bucket, as a new key
   * would; otherwise the level carries over, cut to the new capacity. */
  if (was_unlimited)
    bucket->level = bucket_full_level (bucket);
  else
    bucket->level = MIN (bucket->level, bucket_full_level (bucket));
}

gboolean
rfl_token_bucket_peek (RflTokenBucket *bucket,
                       gint64          now_us,
                       gint64         *retry_after_us)
{
  guint64 missing;

  g_return_val_if_fail (bucket != NULL, FALSE);

  bucket_refill (bucket, now_us);

  if (bucket->capacity == 0 || bucket->level >= (guint64) RFL_TOKEN_BUCKET_UNITS)
    {
      if (retry_after_us != NULL)
        *retry_after_us = 0;
      return TRUE;
    }

  /* Each microsecond adds @capacity units: round the wait up so that the
   * request is admitted exactly when it has elapsed. */
  missing = (guint64) RFL_TOKEN_BUCKET_UNITS - bucket->level;
  if (retry_after_us != NULL)
    *retry_after_us = (gint64) ((missing + bucket->capacity - 1) / bucket->capacity);

  return FALSE;
}

gboolean
rfl_token_bucket_try_take (RflTokenBucket *bucket,
                           gint64          now_us,
                           gint64         *retry_after_us)
{
  g_return_val_if_fail (bucket != NULL, FALSE);

  if (!rfl_token_bucket_peek (bucket, now_us, retry_after_us))
    return FALSE;

  if (bucket->capacity != 0)
    bucket->level -= (guint64) RFL_TOKEN_BUCKET_UNITS;

  return TRUE;
}

guint
rfl_token_bucket_get_available (RflTokenBucket *bucket,
                                gint64          now_us)
{
  g_return_val_if_fail (bucket != NULL, 0);

  bucket_refill (bucket, now_us);

  if (bucket->capacity == 0)
    return G_MAXUINT;

  return (guint) (bucket->level / (guint64) RFL_TOKEN_BUCKET_UNITS);
}

/* ---------------------------------------------------------- rate limiter */

typedef struct
{
  RflTokenBucket bucket;
  gboolean       started;    /* the bucket has been used */
  gboolean       has_own;    /* @own_limit applies, not the default */
  guint          own_limit;
} Entry;

typedef struct
{
  GMutex      mutex;
  GHashTable *entries;       /* owned: gint64 * (owned) → Entry * (owned) */
} Shard;

struct _RflRateLimiter
{
  gatomicrefcount ref_count;
  guint           default_limit;   /* atomic */
  Shard           shards[N_SHARDS];
};

static Shard *
shard_for_key (RflRateLimiter *self,
               gint64          key)
{
  /* Fibonacci hashing spreads consecutive ids over the shards. */
  guint64 mixed = (guint64) key * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  return &self->shards[mixed >> 60];
}

static Entry *
shard_lookup (Shard    *shard,
              gint64    key,
              gboolean  create)
{
  Entry *entry = g_hash_table_lookup (shard->entries, &key);

  if (entry == NULL && create)
    {
      entry = g_new0 (Entry, 1);
      g_hash_table_insert (shard->entries, g_memdup2 (&key, sizeof key), entry);
    }

  return entry;
}

RflRateLimiter *
rfl_rate_limiter_new (guint default_per_minute)
{
  RflRateLimiter *self = g_new0 (RflRateLimiter, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->default_limit = default_per_minute;

  for (guint i = 0; i < N_SHARDS; i++)
    {
      g_mutex_init (&self->shards[i].mutex);
      self->shards[i].entries = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                       g_free, g_free);
    }

  return self;
}

RflRateLimiter *
rfl_rate_limiter_ref (RflRateLimiter *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
rfl_rate_limiter_unref (RflRateLimiter *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  for (guint i = 0; i < N_SHARDS; i++)
    {
      g_hash_table_unref (self->shards[i].entries);
      g_mutex_clear (&self->shards[i].mutex);
    }
  g_free (self);
}

void
rfl_rate_limiter_set_default_limit (RflRateLimiter *self,
                                    guint           per_minute)
{
  g_return_if_fail (self != NULL);

  g_atomic_int_set (&self->default_limit, per_minute);
}

guint
rfl_rate_limiter_get_default_limit (RflRateLimiter *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return g_atomic_int_get (&self->default_limit);
}

void
rfl_rate_limiter_set_limit (RflRateLimiter *self,
                            gint64          key,
                            guint           per_minute)
{
  Shard *shard;
  Entry *entry;

  g_return_if_fail (self != NULL);

  shard = shard_for_key (self, key);
  g_mutex_lock (&shard->mutex);
  entry = shard_lookup (shard, key, TRUE);
  entry->has_own = TRUE;
  entry->own_limit = per_minute;
  g_mutex_unlock (&shard->mutex);
}

void
rfl_rate_limiter_unset_limit (RflRateLimiter *self,
                              gint64          key)
{
  Shard *shard;
  Entry *entry;

  g_return_if_fail (self != NULL);

  shard = shard_for_key (self, key);
  g_mutex_lock (&shard->mutex);
  entry = shard_lookup (shard, key, FALSE);
  if (entry != NULL)
    entry->has_own = FALSE;
  g_mutex_unlock (&shard->mutex);
}

guint
rfl_rate_limiter_get_limit (RflRateLimiter *self,
                            gint64          key)
{
  Shard *shard;
  Entry *entry;
  guint limit;

  g_return_val_if_fail (self != NULL, 0);

  shard = shard_for_key (self, key);
  g_mutex_lock (&shard->mutex);
  entry = shard_lookup (shard, key, FALSE);
  if (entry != NULL && entry->has_own)
    limit = entry->own_limit;
  else
    limit = g_atomic_int_get (&self->default_limit);
  g_mutex_unlock (&shard->mutex);

  return limit;
}

/* The key's bucket, brought to its current limit; NULL when the key is
 * unlimited and has no bucket. Called with the shard locked. */
static RflTokenBucket *
shard_bucket (RflRateLimiter *self,
              Shard          *shard,
              gint64          key,
              gint64          now_us)
{
  Entry *entry = shard_lookup (shard, key, FALSE);
  guint limit;

  if (entry != NULL && entry->has_own)
    limit = entry->own_limit;
  else
    limit = g_atomic_int_get (&self->default_limit);

  if (entry == NULL && limit == 0)
    return NULL;

  if (entry == NULL)
    entry = shard_lookup (shard, key, TRUE);

  if (!entry->started)
    {
      rfl_token_bucket_init (&entry->bucket, limit, now_us);
      entry->started = TRUE;
    }
  else if (entry->bucket.capacity != limit)
    {
      rfl_token_bucket_set_capacity (&entry->bucket, limit, now_us);
    }

  return &entry->bucket;
}

gboolean
rfl_rate_limiter_try_acquire (RflRateLimiter *self,
                              gint64          key,
                              gint64          now_us,
                              gint64         *retry_after_us)
{
  RflTokenBucket *bucket;
  Shard *shard;
  gboolean admitted = TRUE;

  g_return_val_if_fail (self != NULL, FALSE);

  if (retry_after_us != NULL)
    *retry_after_us = 0;

  shard = shard_for_key (self, key);
  g_mutex_lock (&shard->mutex);
  bucket = shard_bucket (self, shard, key, now_us);
  if (bucket != NULL)
    admitted = rfl_token_bucket_try_take (bucket, now_us, retry_after_us);
  g_mutex_unlock (&shard->mutex);

  return admitted;
}

guint
rfl_rate_limiter_get_available (RflRateLimiter *self,
                                gint64          key,
                                gint64          now_us)
{
  RflTokenBucket *bucket;
  Shard *shard;
  guint available = G_MAXUINT;

  g_return_val_if_fail (self != NULL, 0);

  shard = shard_for_key (self, key);
  g_mutex_lock (&shard->mutex);
  bucket = shard_bucket (self, shard, key, now_us);
  if (bucket != NULL)
    available = rfl_token_bucket_get_available (bucket, now_us);
  g_mutex_unlock (&shard->mutex);

  return available;
}

void
rfl_rate_limiter_forget (RflRateLimiter *self,
                         gint64          key)
{
  Shard *shard;

  g_return_if_fail (self != NULL);

  shard = shard_for_key (self, key);
  g_mutex_lock (&shard->mutex);
  g_hash_table_remove (shard->entries, &key);
  g_mutex_unlock (&shard->mutex);
}
