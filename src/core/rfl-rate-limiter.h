/* rfl-rate-limiter.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A token bucket that holds up to @capacity requests and refills
 * continuously at @capacity requests per minute: a full bucket allows a
 * burst of @capacity, after which one request is admitted every
 * 60 / @capacity seconds.
 *
 * The level is kept in integer units of 1/60,000,000 of a request, so that
 * one microsecond of refill adds exactly @capacity units and every
 * computation (refill, retry-after) is exact. Times are microseconds on any
 * clock that the caller uses consistently; a clock that goes back is
 * treated as standing still.
 *
 * A bucket is a plain value and is not thread-safe: RflRateLimiter and
 * RflQuotaManager guard theirs with a mutex. */
typedef struct
{
  guint   capacity;     /* requests per minute; 0: unlimited */
  guint64 level;        /* in units of 1/RFL_TOKEN_BUCKET_UNITS request */
  gint64  updated_us;   /* when @level was last refilled */
} RflTokenBucket;

/* Units per request: one minute in microseconds. */
#define RFL_TOKEN_BUCKET_UNITS G_GINT64_CONSTANT (60000000)

void     rfl_token_bucket_init          (RflTokenBucket *bucket,
                                         guint           capacity,
                                         gint64          now_us);
void     rfl_token_bucket_set_capacity  (RflTokenBucket *bucket,
                                         guint           capacity,
                                         gint64          now_us);
/* Whether a request could be taken now; when not, @retry_after_us (may be
 * NULL) receives the exact time until it can. Changes nothing but the
 * refill. */
gboolean rfl_token_bucket_peek          (RflTokenBucket *bucket,
                                         gint64          now_us,
                                         gint64         *retry_after_us);
/* Takes one request when the bucket holds one; otherwise takes nothing and
 * sets @retry_after_us as rfl_token_bucket_peek() does. */
gboolean rfl_token_bucket_try_take      (RflTokenBucket *bucket,
                                         gint64          now_us,
                                         gint64         *retry_after_us);
/* Whole requests available now. */
guint    rfl_token_bucket_get_available (RflTokenBucket *bucket,
                                         gint64          now_us);

/* A thread-safe set of token buckets, one per key (a tenant id, an API key
 * id, …). A key without a limit of its own uses the default limit; 0 means
 * unlimited. A key's bucket starts full when it is first used. */
typedef struct _RflRateLimiter RflRateLimiter;

RflRateLimiter *rfl_rate_limiter_new               (guint           default_per_minute);
RflRateLimiter *rfl_rate_limiter_ref               (RflRateLimiter *self);
void            rfl_rate_limiter_unref             (RflRateLimiter *self);

void            rfl_rate_limiter_set_default_limit (RflRateLimiter *self,
                                                    guint           per_minute);
guint           rfl_rate_limiter_get_default_limit (RflRateLimiter *self);
/* Gives @key a limit of its own (0: unlimited). A bucket in use keeps its
 * level, cut to the new capacity. */
void            rfl_rate_limiter_set_limit         (RflRateLimiter *self,
                                                    gint64          key,
                                                    guint           per_minute);
/* Makes @key use the default limit again. */
void            rfl_rate_limiter_unset_limit       (RflRateLimiter *self,
                                                    gint64          key);
guint           rfl_rate_limiter_get_limit         (RflRateLimiter *self,
                                                    gint64          key);
/* Admits one request of @key at @now_us, or returns FALSE and sets
 * @retry_after_us (may be NULL) to the exact wait until one is admitted. */
gboolean        rfl_rate_limiter_try_acquire       (RflRateLimiter *self,
                                                    gint64          key,
                                                    gint64          now_us,
                                                    gint64         *retry_after_us);
/* Whole requests @key could make at @now_us; G_MAXUINT when unlimited. */
guint           rfl_rate_limiter_get_available     (RflRateLimiter *self,
                                                    gint64          key,
                                                    gint64          now_us);
/* Drops the bucket and the limit of @key. */
void            rfl_rate_limiter_forget            (RflRateLimiter *self,
                                                    gint64          key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflRateLimiter, rfl_rate_limiter_unref)

G_END_DECLS
