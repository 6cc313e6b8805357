/* test-rate-limiter.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "core/rfl-rate-limiter.h"

#define T0          G_GINT64_CONSTANT (1767225600000000)   /* 2026-01-01 00:00 UTC */
#define SECOND      G_GINT64_CONSTANT (1000000)
#define N_THREADS   200

static void
test_burst (void)
{
  RflTokenBucket bucket;
  gint64 retry = -1;

  rfl_token_bucket_init (&bucket, 60, T0);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0), ==, 60);

  for (guint i = 0; i < 60; i++)
    {
      g_assert_true (rfl_token_bucket_try_take (&bucket, T0, &retry));
      g_assert_cmpint (retry, ==, 0);
    }

  /* Empty: one request per second comes back, exactly. */
  g_assert_false (rfl_token_bucket_try_take (&bucket, T0, &retry));
  g_assert_cmpint (retry, ==, SECOND);
  g_assert_false (rfl_token_bucket_peek (&bucket, T0, &retry));
  g_assert_cmpint (retry, ==, SECOND);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0), ==, 0);
}

static void
test_refill (void)
{
  RflTokenBucket bucket;
  gint64 retry = -1;

  rfl_token_bucket_init (&bucket, 60, T0);
  for (guint i = 0; i < 60; i++)
    g_assert_true (rfl_token_bucket_try_take (&bucket, T0, NULL));

  g_assert_false (rfl_token_bucket_try_take (&bucket, T0 + 250000, &retry));
  g_assert_cmpint (retry, ==, 750000);
  g_assert_false (rfl_token_bucket_try_take (&bucket, T0 + SECOND - 1, &retry));
  g_assert_cmpint (retry, ==, 1);
  g_assert_true (rfl_token_bucket_try_take (&bucket, T0 + SECOND, &retry));
  g_assert_false (rfl_token_bucket_try_take (&bucket, T0 + SECOND, &retry));
  g_assert_cmpint (retry, ==, SECOND);

  /* Continuous refill: 30 s give 30 requests; a long pause fills the
   * bucket to its capacity and no further. */
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + 31 * SECOND), ==, 30);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + 600 * SECOND), ==, 60);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + 6000 * SECOND), ==, 60);
}

static void
test_retry_exact (void)
{
  RflTokenBucket bucket;
  gint64 retry = -1;
  gint64 period;

  /* 7 per minute: one every 8.571428571… s, which is not a whole number of
   * microseconds. The retry-after is rounded up and is then exactly
   * enough. */
  rfl_token_bucket_init (&bucket, 7, T0);
  for (guint i = 0; i < 7; i++)
    g_assert_true (rfl_token_bucket_try_take (&bucket, T0, NULL));

  g_assert_false (rfl_token_bucket_try_take (&bucket, T0, &retry));
  period = (60 * SECOND + 6) / 7;
  g_assert_cmpint (retry, ==, period);
  g_assert_cmpint (retry, ==, 8571429);

  g_assert_false (rfl_token_bucket_try_take (&bucket, T0 + period - 1, &retry));
  g_assert_cmpint (retry, ==, 1);
  g_assert_true (rfl_token_bucket_try_take (&bucket, T0 + period, &retry));

  /* The rounding is not lost: seven periods later exactly seven more
   * requests have come back (60 s refill 7 whole requests). */
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + 60 * SECOND), ==, 6);

  /* One per minute waits the full minute. */
  rfl_token_bucket_init (&bucket, 1, T0);
  g_assert_true (rfl_token_bucket_try_take (&bucket, T0, NULL));
  g_assert_false (rfl_token_bucket_try_take (&bucket, T0, &retry));
  g_assert_cmpint (retry, ==, 60 * SECOND);
}

static void
test_capacity_change (void)
{
  RflTokenBucket bucket;
  gint64 retry = -1;

  rfl_token_bucket_init (&bucket, 60, T0);
  for (guint i = 0; i < 20; i++)
    g_assert_true (rfl_token_bucket_try_take (&bucket, T0, NULL));

  /* Lowered: the level is cut to the new capacity. */
  rfl_token_bucket_set_capacity (&bucket, 30, T0);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0), ==, 30);

  /* Raised: no free burst, the level carries over. */
  rfl_token_bucket_set_capacity (&bucket, 120, T0);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0), ==, 30);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + SECOND), ==, 32);

  /* Unlimited admits anything; a limit set again starts full. */
  rfl_token_bucket_set_capacity (&bucket, 0, T0 + SECOND);
  for (guint i = 0; i < 1000; i++)
    g_assert_true (rfl_token_bucket_try_take (&bucket, T0 + SECOND, &retry));
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + SECOND), ==, G_MAXUINT);
  rfl_token_bucket_set_capacity (&bucket, 5, T0 + SECOND);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + SECOND), ==, 5);
}

static void
test_clock_back (void)
{
  RflTokenBucket bucket;

  rfl_token_bucket_init (&bucket, 60, T0);
  for (guint i = 0; i < 60; i++)
    g_assert_true (rfl_token_bucket_try_take (&bucket, T0 + 10 * SECOND, NULL));

  /* A stale reading refills nothing, and does not make the next reading
   * refill the same interval twice. */
  g_assert_false (rfl_token_bucket_try_take (&bucket, T0 + 10 * SECOND - 500000, NULL));
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 + 11 * SECOND), ==, 1);

  /* A clock set back by an hour resumes from there. */
  g_assert_true (rfl_token_bucket_try_take (&bucket, T0 + 11 * SECOND, NULL));
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 - 3600 * SECOND), ==, 0);
  g_assert_cmpuint (rfl_token_bucket_get_available (&bucket, T0 - 3598 * SECOND), ==, 2);
}

static void
test_keys (void)
{
  g_autoptr(RflRateLimiter) limiter = rfl_rate_limiter_new (3);
  gint64 retry = -1;

  g_assert_cmpuint (rfl_rate_limiter_get_default_limit (limiter), ==, 3);
  rfl_rate_limiter_set_limit (limiter, 2, 5);
  rfl_rate_limiter_set_limit (limiter, 3, 0);
  g_assert_cmpuint (rfl_rate_limiter_get_limit (limiter, 1), ==, 3);
  g_assert_cmpuint (rfl_rate_limiter_get_limit (limiter, 2), ==, 5);
  g_assert_cmpuint (rfl_rate_limiter_get_limit (limiter, 3), ==, 0);

  /* Each key has its own bucket. */
  for (guint i = 0; i < 3; i++)
    g_assert_true (rfl_rate_limiter_try_acquire (limiter, 1, T0, &retry));
  g_assert_false (rfl_rate_limiter_try_acquire (limiter, 1, T0, &retry));
  g_assert_cmpint (retry, ==, 20 * SECOND);

  for (guint i = 0; i < 5; i++)
    g_assert_true (rfl_rate_limiter_try_acquire (limiter, 2, T0, NULL));
  g_assert_false (rfl_rate_limiter_try_acquire (limiter, 2, T0, &retry));
  g_assert_cmpint (retry, ==, 12 * SECOND);

  for (guint i = 0; i < 100; i++)
    g_assert_true (rfl_rate_limiter_try_acquire (limiter, 3, T0, &retry));
  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, 3, T0), ==, G_MAXUINT);

  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, G_MININT64, T0), ==, 3);
  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, 1, T0 + 20 * SECOND), ==, 1);

  /* Back to the default; a changed default applies to keys without their
   * own limit, from their current level. */
  rfl_rate_limiter_unset_limit (limiter, 2);
  g_assert_cmpuint (rfl_rate_limiter_get_limit (limiter, 2), ==, 3);
  rfl_rate_limiter_set_default_limit (limiter, 120);
  g_assert_cmpuint (rfl_rate_limiter_get_limit (limiter, 1), ==, 120);
  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, 1, T0 + 20 * SECOND), ==, 1);
  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, 1, T0 + 21 * SECOND), ==, 3);

  /* Forgotten, a key starts over with a full bucket. */
  rfl_rate_limiter_forget (limiter, 1);
  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, 1, T0 + 21 * SECOND), ==, 120);

  rfl_rate_limiter_set_default_limit (limiter, 0);
  g_assert_true (rfl_rate_limiter_try_acquire (limiter, 99, T0, &retry));
  g_assert_cmpint (retry, ==, 0);
}

/* ------------------------------------------------------------------ races */

typedef struct
{
  RflRateLimiter *limiter;
  GMutex          mutex;
  GCond           cond;
  gboolean        go;
  gint            admitted;     /* atomic */
  gboolean        wall_clock;
  gint64          deadline;
} Race;

typedef struct
{
  Race   *race;
  gint64  first_now;
  gint64  last_now;
} Racer;

static void
race_wait_start (Race *race)
{
  g_mutex_lock (&race->mutex);
  while (!race->go)
    g_cond_wait (&race->cond, &race->mutex);
  g_mutex_unlock (&race->mutex);
}

static gpointer
race_worker (gpointer data)
{
  Racer *racer = data;
  Race *race = racer->race;

  race_wait_start (race);

  if (!race->wall_clock)
    {
      /* Every client tries three times at the same frozen instant. */
      for (guint i = 0; i < 3; i++)
        if (rfl_rate_limiter_try_acquire (race->limiter, 42, T0, NULL))
          g_atomic_int_inc (&race->admitted);
      return NULL;
    }

  racer->first_now = G_MAXINT64;
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();

      racer->first_now = MIN (racer->first_now, now);
      racer->last_now = MAX (racer->last_now, now);
      if (rfl_rate_limiter_try_acquire (race->limiter, 42, now, NULL))
        g_atomic_int_inc (&race->admitted);
      if (now >= race->deadline)
        break;
      g_thread_yield ();
    }

  return NULL;
}

static guint
run_race (Race  *race,
          Racer *racers)
{
  GThread *threads[N_THREADS];

  g_mutex_init (&race->mutex);
  g_cond_init (&race->cond);

  for (guint i = 0; i < N_THREADS; i++)
    {
      racers[i].race = race;
      threads[i] = g_thread_new ("racer", race_worker, &racers[i]);
    }

  g_mutex_lock (&race->mutex);
  race->go = TRUE;
  race->deadline = g_get_monotonic_time () + SECOND;
  g_cond_broadcast (&race->cond);
  g_mutex_unlock (&race->mutex);

  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  g_cond_clear (&race->cond);
  g_mutex_clear (&race->mutex);

  return (guint) g_atomic_int_get (&race->admitted);
}

static void
test_race_frozen_clock (void)
{
  g_autoptr(RflRateLimiter) limiter = rfl_rate_limiter_new (60);
  Race race = { limiter, };
  g_autofree Racer *racers = g_new0 (Racer, N_THREADS);

  /* 200 clients, 600 attempts, one instant: exactly the capacity. */
  g_assert_cmpuint (run_race (&race, racers), ==, 60);
  g_assert_cmpuint (rfl_rate_limiter_get_available (limiter, 42, T0), ==, 0);
}

static void
test_race_wall_clock (void)
{
  g_autoptr(RflRateLimiter) limiter = rfl_rate_limiter_new (600);
  Race race = { limiter, };
  g_autofree Racer *racers = g_new0 (Racer, N_THREADS);
  gint64 first = G_MAXINT64, last = 0;
  guint admitted;
  double expected;

  race.wall_clock = TRUE;
  admitted = run_race (&race, racers);

  for (guint i = 0; i < N_THREADS; i++)
    {
      first = MIN (first, racers[i].first_now);
      last = MAX (last, racers[i].last_now);
    }

  /* The burst plus what refilled, at 10 per second, between the first and
   * the last reading of the clock: within one request. */
  expected = 600.0 + (double) (last - first) * 600.0 / (60.0 * SECOND);
  g_test_message ("admitted %u in %.3f s, expected %.2f", admitted,
                  (double) (last - first) / SECOND, expected);
  g_assert_cmpfloat (admitted, >=, expected - 1.0);
  g_assert_cmpfloat (admitted, <=, expected + 1.0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/rate-limiter/burst", test_burst);
  g_test_add_func ("/rfl/rate-limiter/refill", test_refill);
  g_test_add_func ("/rfl/rate-limiter/retry-exact", test_retry_exact);
  g_test_add_func ("/rfl/rate-limiter/capacity-change", test_capacity_change);
  g_test_add_func ("/rfl/rate-limiter/clock-back", test_clock_back);
  g_test_add_func ("/rfl/rate-limiter/keys", test_keys);
  g_test_add_func ("/rfl/rate-limiter/race-frozen-clock", test_race_frozen_clock);
  g_test_add_func ("/rfl/rate-limiter/race-wall-clock", test_race_wall_clock);

  return g_test_run ();
}
