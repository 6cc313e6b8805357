/* test-quota.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <stdatomic.h>

#include "core/rfl-error.h"
#include "core/rfl-quota.h"

#define SECOND     G_GINT64_CONSTANT (1000000)
#define MINUTE     (60 * SECOND)
#define HOUR       (60 * MINUTE)
#define N_THREADS  200
#define TENANT     7

static gint64
utc (int    year,
     int    month,
     int    day,
     int    hour,
     int    minute,
     double seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, 0);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) * SECOND + (gint64) (seconds * SECOND);
}

static RflQuotaManager *
manager_with (guint   per_minute,
              guint64 per_day,
              guint64 per_month,
              guint   concurrent)
{
  RflQuotaManager *quota = rfl_quota_manager_new ();
  RflQuotaLimits limits = { per_minute, per_day, per_month, concurrent };

  rfl_quota_manager_set_limits (quota, TENANT, &limits);
  return quota;
}

/* Admits and expects a refusal; returns its message. */
static char *
expect_refusal (RflQuotaManager   *quota,
                guint64            estimate,
                gint64             now,
                RflQuotaRejection *rejection)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflQuotaTicket) ticket = NULL;

  ticket = rfl_quota_manager_admit (quota, TENANT, estimate, now, rejection, &error);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_QUOTA_EXCEEDED);
  g_assert_null (ticket);

  return g_strdup (error->message);
}

static RflQuotaTicket *
expect_admit (RflQuotaManager *quota,
              guint64          estimate,
              gint64           now)
{
  g_autoptr(GError) error = NULL;
  RflQuotaTicket *ticket;
  RflQuotaRejection rejection = { RFL_QUOTA_LIMIT_TOKENS_PER_DAY, };

  ticket = rfl_quota_manager_admit (quota, TENANT, estimate, now, &rejection, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ticket);
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_NONE);
  g_assert_true (rfl_quota_ticket_is_open (ticket));
  g_assert_cmpint (rfl_quota_ticket_get_tenant_id (ticket), ==, TENANT);
  g_assert_cmpuint (rfl_quota_ticket_get_estimate (ticket), ==, estimate);

  return ticket;
}

static void
test_validate (void)
{
  g_autoptr(GError) error = NULL;
  RflQuotaLimits good = { 60, 100000, 2000000, 4 };
  RflQuotaLimits unlimited = { 0, };
  RflQuotaLimits day_only = { 0, 100000, 0, 0 };
  RflQuotaLimits bad = { 60, 3000000, 2000000, 4 };

  g_assert_true (rfl_quota_limits_validate (&good, NULL));
  g_assert_true (rfl_quota_limits_validate (&unlimited, NULL));
  g_assert_true (rfl_quota_limits_validate (&day_only, NULL));
  g_assert_false (rfl_quota_limits_validate (&bad, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "3,000,000 tokens per day"));
  g_assert_nonnull (strstr (error->message, "2,000,000 tokens per month"));

  g_assert_cmpstr (rfl_quota_limit_to_string (RFL_QUOTA_LIMIT_TOKENS_PER_DAY), ==,
                   "tokens_per_day");
  g_assert_cmpstr (rfl_quota_limit_to_string (RFL_QUOTA_LIMIT_CONCURRENT), ==,
                   "max_concurrent");
  g_assert_null (rfl_quota_limit_to_string (RFL_QUOTA_LIMIT_NONE));
}

static void
test_unlimited (void)
{
  g_autoptr(RflQuotaManager) quota = rfl_quota_manager_new ();
  gint64 now = utc (2026, 3, 10, 12, 0, 0);
  RflQuotaUsage usage;

  /* No limits: everything is admitted and still counted. */
  for (guint i = 0; i < 1000; i++)
    {
      g_autoptr(RflQuotaTicket) ticket = expect_admit (quota, 1000000, now);

      rfl_quota_manager_settle (quota, ticket, 5, now);
      g_assert_false (rfl_quota_ticket_is_open (ticket));
    }

  rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
  g_assert_cmpuint (usage.day_used, ==, 5000);
  g_assert_cmpuint (usage.month_used, ==, 5000);
  g_assert_cmpuint (usage.day_reserved, ==, 0);
  g_assert_cmpuint (usage.in_flight, ==, 0);
  g_assert_cmpuint (usage.requests_available, ==, G_MAXUINT);

  /* Absurd estimates saturate the counters instead of wrapping them. */
  {
    g_autoptr(RflQuotaTicket) a = expect_admit (quota, G_MAXUINT64, now);
    g_autoptr(RflQuotaTicket) b = expect_admit (quota, G_MAXUINT64, now);

    rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
    g_assert_cmpuint (usage.day_reserved, ==, G_MAXUINT64);
    rfl_quota_manager_settle (quota, a, G_MAXUINT64, now);
    rfl_quota_manager_settle (quota, b, G_MAXUINT64, now);
    rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
    g_assert_cmpuint (usage.day_reserved, ==, 0);
    g_assert_cmpuint (usage.day_used, ==, G_MAXUINT64);
    g_assert_cmpuint (usage.in_flight, ==, 0);
  }
}

static void
test_rate (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (60, 0, 0, 0);
  gint64 now = utc (2026, 3, 10, 12, 0, 0);
  RflQuotaRejection rejection;
  g_autofree char *message = NULL;
  g_autofree char *later = NULL;

  for (guint i = 0; i < 60; i++)
    {
      g_autoptr(RflQuotaTicket) ticket = expect_admit (quota, 10, now);

      rfl_quota_manager_release (quota, ticket);
    }

  message = expect_refusal (quota, 10, now, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 60 requests per minute is reached; try again in 1 s.");
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE);
  g_assert_cmpuint (rejection.limit_value, ==, 60);
  g_assert_cmpint (rejection.retry_after_us, ==, SECOND);
  g_assert_cmpint (rejection.resets_at_us, ==, now + SECOND);
  g_assert_false (rejection.too_large);
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==, 1);

  /* A refused request takes nothing: exactly one second later one more. */
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 10, now + SECOND - 1, &rejection);
  g_assert_cmpint (rejection.retry_after_us, ==, 1);
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==, 1);
  g_clear_pointer (&message, g_free);
  rfl_quota_ticket_free (expect_admit (quota, 10, now + SECOND));

  /* 15 per minute: one every 4 s. */
  rfl_quota_manager_set_limits (quota, TENANT, &(RflQuotaLimits) { 15, 0, 0, 0 });
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(RflQuotaTicket) ticket = NULL;
      g_autoptr(GError) error = NULL;

      ticket = rfl_quota_manager_admit (quota, TENANT, 1, now + 2 * SECOND, NULL, &error);
    }
  later = expect_refusal (quota, 1, now + 2 * SECOND, &rejection);
  g_assert_cmpstr (later, ==,
                   "The tenant’s limit of 15 requests per minute is reached; try again in 4 s.");
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==, 4);

  rfl_quota_manager_set_limits (quota, TENANT, &(RflQuotaLimits) { 1, 0, 0, 0 });
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, now + 2 * SECOND, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 1 request per minute is reached; try again in 1 min.");
}

static void
test_concurrent (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 0, 0, 4);
  gint64 now = utc (2026, 3, 10, 12, 0, 0);
  RflQuotaTicket *tickets[4];
  RflQuotaRejection rejection;
  g_autofree char *message = NULL;
  g_autofree char *single = NULL;
  RflQuotaUsage usage;

  for (guint i = 0; i < 4; i++)
    tickets[i] = expect_admit (quota, 100, now);

  message = expect_refusal (quota, 100, now, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 4 requests at a time is reached; "
                   "try again when one of them has finished.");
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_CONCURRENT);
  g_assert_cmpuint (rejection.limit_value, ==, 4);
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==, 1);

  rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
  g_assert_cmpuint (usage.in_flight, ==, 4);
  g_assert_cmpuint (usage.day_reserved, ==, 400);

  /* Settling, releasing or freeing a ticket each end its request. */
  rfl_quota_manager_settle (quota, tickets[0], 50, now);
  rfl_quota_ticket_free (tickets[0]);
  tickets[0] = expect_admit (quota, 100, now);
  rfl_quota_manager_release (quota, tickets[1]);
  rfl_quota_ticket_free (tickets[1]);
  tickets[1] = expect_admit (quota, 100, now);
  rfl_quota_ticket_free (tickets[2]);
  tickets[2] = expect_admit (quota, 100, now);
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 100, now, NULL);

  for (guint i = 0; i < 4; i++)
    rfl_quota_ticket_free (tickets[i]);

  rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
  g_assert_cmpuint (usage.in_flight, ==, 0);
  g_assert_cmpuint (usage.day_reserved, ==, 0);
  g_assert_cmpuint (usage.day_used, ==, 50);

  rfl_quota_manager_set_limits (quota, TENANT, &(RflQuotaLimits) { 0, 0, 0, 1 });
  tickets[0] = expect_admit (quota, 1, now);
  single = expect_refusal (quota, 1, now, NULL);
  g_assert_cmpstr (single, ==,
                   "The tenant’s limit of 1 request at a time is reached; "
                   "try again when it has finished.");
  rfl_quota_ticket_free (tickets[0]);
}

static void
test_day_budget (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 100000, 0, 0);
  gint64 now = utc (2026, 3, 10, 20, 48, 0);
  g_autoptr(RflQuotaTicket) first = NULL;
  g_autoptr(RflQuotaTicket) second = NULL;
  RflQuotaRejection rejection;
  g_autofree char *message = NULL;
  RflQuotaUsage usage;

  first = expect_admit (quota, 60000, now);
  message = expect_refusal (quota, 50000, now, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 100,000 tokens per day has 40,000 left, fewer than "
                   "the 50,000 this request may use; it resets at 00:00 UTC (in 3 h 12 min).");
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_TOKENS_PER_DAY);
  g_assert_cmpuint (rejection.limit_value, ==, 100000);
  g_assert_cmpint (rejection.retry_after_us, ==, 3 * HOUR + 12 * MINUTE);
  g_assert_cmpint (rejection.resets_at_us, ==, utc (2026, 3, 11, 0, 0, 0));
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==,
                    3 * 3600 + 12 * 60);

  /* Settled below its estimate, the first request frees the rest. */
  rfl_quota_manager_settle (quota, first, 30000, now);
  second = expect_admit (quota, 50000, now);
  rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
  g_assert_cmpuint (usage.day_used, ==, 30000);
  g_assert_cmpuint (usage.day_reserved, ==, 50000);
  g_assert_cmpuint (usage.limits.tokens_per_day, ==, 100000);

  /* Exactly what is left is admitted; one more is not. */
  rfl_quota_ticket_free (expect_admit (quota, 20000, now));
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 20001, now, NULL);

  rfl_quota_manager_settle (quota, second, 70000, now + MINUTE);
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, now + MINUTE, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 100,000 tokens per day is used up; "
                   "it resets at 00:00 UTC (in 3 h 11 min).");
}

static void
test_used_up_message (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 100000, 0, 0);
  gint64 now = utc (2026, 3, 10, 20, 48, 0);
  RflQuotaRejection rejection;
  g_autofree char *message = NULL;
  g_autofree char *seconds = NULL;

  rfl_quota_manager_seed_usage (quota, TENANT, 100000, 100000, now);
  message = expect_refusal (quota, 0, now, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 100,000 tokens per day is used up; "
                   "it resets at 00:00 UTC (in 3 h 12 min).");

  /* The wait is rounded up to the unit shown. */
  seconds = expect_refusal (quota, 0, utc (2026, 3, 10, 23, 58, 30.5), &rejection);
  g_assert_cmpstr (seconds, ==,
                   "The tenant’s limit of 100,000 tokens per day is used up; "
                   "it resets at 00:00 UTC (in 1 min 30 s).");
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==, 90);
}

static void
test_too_large (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (2, 100000, 1000000, 0);
  gint64 now = utc (2026, 3, 10, 12, 0, 0);
  RflQuotaRejection rejection;
  g_autofree char *day = NULL;
  g_autofree char *month = NULL;
  g_autofree char *rate = NULL;

  day = expect_refusal (quota, 150000, now, &rejection);
  g_assert_cmpstr (day, ==,
                   "This request may use 150,000 tokens, more than the tenant’s whole limit "
                   "of 100,000 tokens per day; shorten it or ask the administrator to raise "
                   "the limit.");
  g_assert_true (rejection.too_large);
  g_assert_cmpint (rejection.retry_after_us, ==, 0);
  g_assert_cmpuint (rfl_quota_rejection_get_retry_after_seconds (&rejection), ==, 0);

  rfl_quota_manager_set_limits (quota, TENANT, &(RflQuotaLimits) { 2, 0, 1000000, 0 });
  month = expect_refusal (quota, 1000001, now, &rejection);
  g_assert_cmpstr (month, ==,
                   "This request may use 1,000,001 tokens, more than the tenant’s whole limit "
                   "of 1,000,000 tokens per month; shorten it or ask the administrator to "
                   "raise the limit.");
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_TOKENS_PER_MONTH);

  /* Refusals took nothing from the rate bucket of two. */
  rfl_quota_ticket_free (expect_admit (quota, 1, now));
  rfl_quota_ticket_free (expect_admit (quota, 1, now));
  rate = expect_refusal (quota, 1, now, &rejection);
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE);
}

static void
test_underestimate (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 4000, 0, 0);
  gint64 now = utc (2026, 3, 10, 12, 0, 0);
  g_autoptr(RflQuotaTicket) ticket = NULL;
  g_autoptr(RflQuotaTicket) other = NULL;
  g_autofree char *message = NULL;
  RflQuotaUsage usage;

  /* Two requests reserve 1,000 each and one uses 5,000: the day is over its
   * budget by what was underestimated, never by more, and refuses all
   * further requests until midnight. */
  ticket = expect_admit (quota, 1000, now);
  other = expect_admit (quota, 1000, now);
  rfl_quota_manager_settle (quota, ticket, 5000, now);
  rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
  g_assert_cmpuint (usage.day_used, ==, 5000);
  g_assert_cmpuint (usage.day_reserved, ==, 1000);
  g_assert_cmpuint (usage.day_used - 4000, <=, 5000 - 1000);

  message = expect_refusal (quota, 0, now, NULL);
  g_assert_nonnull (strstr (message, "is used up"));

  rfl_quota_manager_settle (quota, other, 0, now);
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, now + HOUR, NULL);

  rfl_quota_ticket_free (expect_admit (quota, 4000, utc (2026, 3, 11, 0, 0, 0)));
}

static void
test_day_rollover (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 1000, 10000, 0);
  gint64 before = utc (2026, 12, 31, 23, 59, 59.5);
  gint64 midnight = utc (2027, 1, 1, 0, 0, 0);
  RflQuotaRejection rejection;
  g_autofree char *message = NULL;
  RflQuotaUsage usage;

  rfl_quota_manager_seed_usage (quota, TENANT, 1000, 5000, before);
  message = expect_refusal (quota, 1, before, &rejection);
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_TOKENS_PER_DAY);
  g_assert_cmpint (rejection.retry_after_us, ==, 500000);
  g_assert_cmpint (rejection.resets_at_us, ==, midnight);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 1,000 tokens per day is used up; "
                   "it resets at 00:00 UTC (in 1 s).");

  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, midnight - 1, NULL);

  /* 31 December → 1 January starts a new day, month and year. */
  rfl_quota_ticket_free (expect_admit (quota, 1000, midnight));
  rfl_quota_manager_get_usage (quota, TENANT, midnight, &usage);
  g_assert_cmpuint (usage.day_used, ==, 0);
  g_assert_cmpuint (usage.month_used, ==, 0);

  /* An ordinary midnight starts a new day in the same month. */
  rfl_quota_manager_seed_usage (quota, TENANT, 1000, 5000, utc (2027, 1, 14, 18, 0, 0));
  rfl_quota_manager_get_usage (quota, TENANT, utc (2027, 1, 15, 0, 0, 0), &usage);
  g_assert_cmpuint (usage.day_used, ==, 0);
  g_assert_cmpuint (usage.month_used, ==, 5000);

  /* A reading from before the current window (a thread that waited
   * across midnight) does not move the windows back. */
  rfl_quota_manager_seed_usage (quota, TENANT, 700, 5700, utc (2027, 1, 15, 0, 0, 1));
  rfl_quota_manager_get_usage (quota, TENANT, utc (2027, 1, 14, 23, 59, 59), &usage);
  g_assert_cmpuint (usage.day_used, ==, 700);
  g_assert_cmpuint (usage.month_used, ==, 5700);
}

static void
test_month_rollover (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 0, 2000000, 0);
  gint64 now = utc (2026, 3, 10, 20, 48, 0);
  RflQuotaRejection rejection;
  g_autofree char *message = NULL;
  g_autofree char *left = NULL;
  g_autofree char *tie = NULL;
  RflQuotaUsage usage;

  rfl_quota_manager_seed_usage (quota, TENANT, 0, 2000000, now);
  message = expect_refusal (quota, 10, now, &rejection);
  g_assert_cmpstr (message, ==,
                   "The tenant’s limit of 2,000,000 tokens per month is used up; it resets on "
                   "April 1, 2026 at 00:00 UTC (in 21 d 4 h).");
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_TOKENS_PER_MONTH);
  g_assert_cmpint (rejection.resets_at_us, ==, utc (2026, 4, 1, 0, 0, 0));

  rfl_quota_manager_seed_usage (quota, TENANT, 0, 1999000, now);
  left = expect_refusal (quota, 1001, now, &rejection);
  g_assert_cmpstr (left, ==,
                   "The tenant’s limit of 2,000,000 tokens per month has 1,000 left, fewer "
                   "than the 1,001 this request may use; it resets on April 1, 2026 at "
                   "00:00 UTC (in 21 d 4 h).");

  /* The last day of a month: the day and the month end together, and the
   * month is named. February of a leap year has 29 days. */
  rfl_quota_manager_set_limits (quota, TENANT, &(RflQuotaLimits) { 0, 1000, 2000, 0 });
  now = utc (2028, 2, 29, 22, 0, 0);
  rfl_quota_manager_seed_usage (quota, TENANT, 1000, 2000, now);
  tie = expect_refusal (quota, 1, now, &rejection);
  g_assert_cmpstr (tie, ==,
                   "The tenant’s limit of 2,000 tokens per month is used up; it resets on "
                   "March 1, 2028 at 00:00 UTC (in 2 h).");
  g_assert_cmpint (rejection.resets_at_us, ==, utc (2028, 3, 1, 0, 0, 0));
  rfl_quota_ticket_free (expect_admit (quota, 1000, utc (2028, 3, 1, 0, 0, 0)));

  /* 2100 is not a leap year; 28 February is its month's last day. */
  now = utc (2100, 2, 28, 12, 0, 0);
  rfl_quota_manager_seed_usage (quota, TENANT, 0, 2000, now);
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, now, &rejection);
  g_assert_cmpint (rejection.resets_at_us, ==, utc (2100, 3, 1, 0, 0, 0));

  /* 31 January → 1 February. */
  now = utc (2026, 1, 31, 23, 59, 59);
  rfl_quota_manager_seed_usage (quota, TENANT, 10, 2000, now);
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, now, &rejection);
  g_assert_cmpint (rejection.limit, ==, RFL_QUOTA_LIMIT_TOKENS_PER_MONTH);
  g_assert_cmpint (rejection.resets_at_us, ==, utc (2026, 2, 1, 0, 0, 0));
  rfl_quota_manager_get_usage (quota, TENANT, utc (2026, 2, 1, 0, 0, 0), &usage);
  g_assert_cmpuint (usage.month_used, ==, 0);
  g_assert_cmpuint (usage.day_used, ==, 0);
}

static void
test_rollover_in_flight (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 1000, 0, 0);
  gint64 evening = utc (2026, 6, 30, 23, 59, 0);
  gint64 morning = utc (2026, 7, 1, 0, 1, 0);
  g_autoptr(RflQuotaTicket) ticket = NULL;
  g_autofree char *message = NULL;
  RflQuotaUsage usage;

  /* A request admitted before midnight keeps its reservation after it and
   * is charged to the day it is settled in. */
  ticket = expect_admit (quota, 800, evening);
  rfl_quota_manager_get_usage (quota, TENANT, morning, &usage);
  g_assert_cmpuint (usage.day_used, ==, 0);
  g_assert_cmpuint (usage.day_reserved, ==, 800);
  message = expect_refusal (quota, 201, morning, NULL);

  rfl_quota_manager_settle (quota, ticket, 300, morning);
  rfl_quota_manager_get_usage (quota, TENANT, morning, &usage);
  g_assert_cmpuint (usage.day_used, ==, 300);
  g_assert_cmpuint (usage.day_reserved, ==, 0);
  g_assert_cmpuint (usage.month_used, ==, 300);
}

static void
assert_limits_equal (const RflQuotaLimits *a,
                     const RflQuotaLimits *b)
{
  g_assert_cmpuint (a->requests_per_minute, ==, b->requests_per_minute);
  g_assert_cmpuint (a->tokens_per_day, ==, b->tokens_per_day);
  g_assert_cmpuint (a->tokens_per_month, ==, b->tokens_per_month);
  g_assert_cmpuint (a->max_concurrent, ==, b->max_concurrent);
}

static void
test_limits_runtime (void)
{
  g_autoptr(RflQuotaManager) quota = rfl_quota_manager_new ();
  RflQuotaLimits defaults = { 30, 5000, 100000, 2 };
  RflQuotaLimits own = { 60, 1000, 0, 0 };
  RflQuotaLimits got;
  gint64 now = utc (2026, 3, 10, 12, 0, 0);
  g_autofree char *message = NULL;

  rfl_quota_manager_get_default_limits (quota, &got);
  g_assert_cmpuint (got.requests_per_minute, ==, 0);
  g_assert_cmpuint (got.tokens_per_day, ==, 0);

  rfl_quota_manager_set_default_limits (quota, &defaults);
  rfl_quota_manager_get_limits (quota, TENANT, &got);
  assert_limits_equal (&got, &defaults);

  rfl_quota_manager_set_limits (quota, TENANT, &own);
  rfl_quota_manager_get_limits (quota, TENANT, &got);
  assert_limits_equal (&got, &own);
  rfl_quota_manager_get_limits (quota, TENANT + 1, &got);
  assert_limits_equal (&got, &defaults);

  message = expect_refusal (quota, 1001, now, NULL);
  rfl_quota_manager_set_limits (quota, TENANT, NULL);
  rfl_quota_ticket_free (expect_admit (quota, 1001, now));

  /* Tenants do not share counters. */
  rfl_quota_manager_seed_usage (quota, TENANT, 5000, 5000, now);
  g_clear_pointer (&message, g_free);
  message = expect_refusal (quota, 1, now, NULL);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(RflQuotaTicket) other = NULL;

    other = rfl_quota_manager_admit (quota, TENANT + 1, 5000, now, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (other);
  }

  /* A forgotten tenant starts over; its open tickets stay valid. */
  {
    g_autoptr(RflQuotaTicket) open = NULL;
    RflQuotaUsage usage;

    rfl_quota_manager_seed_usage (quota, TENANT, 0, 0, now);
    open = expect_admit (quota, 10, now);
    rfl_quota_manager_forget_tenant (quota, TENANT);
    rfl_quota_manager_get_usage (quota, TENANT, now, &usage);
    g_assert_cmpuint (usage.in_flight, ==, 0);
    g_assert_cmpuint (usage.day_used, ==, 0);
    rfl_quota_manager_settle (quota, open, 10, now);
  }
}

/* ------------------------------------------------------------------ races */

typedef struct _Race Race;

typedef struct
{
  Race           *race;
  guint           index;
  guint64         estimate;
  RflQuotaTicket *ticket;
  guint           n_admitted;
} Racer;

struct _Race
{
  RflQuotaManager *quota;
  gint64           now;
  GMutex           mutex;
  GCond            cond;
  gboolean         go;
  guint64          budget;
  _Atomic gint64   outside_total;  /* reservations and use seen from outside */
  gint             overshoot;      /* atomic: times the outside count went over */
  gint             in_flight;      /* atomic */
  gint             max_in_flight;  /* atomic */
  Racer            racers[N_THREADS];
};

static void
race_wait_start (Race *race)
{
  g_mutex_lock (&race->mutex);
  while (!race->go)
    g_cond_wait (&race->cond, &race->mutex);
  g_mutex_unlock (&race->mutex);
}

static void
run_race (Race        *race,
          GThreadFunc  worker)
{
  GThread *threads[N_THREADS];

  g_mutex_init (&race->mutex);
  g_cond_init (&race->cond);
  race->go = FALSE;

  for (guint i = 0; i < N_THREADS; i++)
    {
      race->racers[i].race = race;
      race->racers[i].index = i;
      threads[i] = g_thread_new ("racer", worker, &race->racers[i]);
    }

  g_mutex_lock (&race->mutex);
  race->go = TRUE;
  g_cond_broadcast (&race->cond);
  g_mutex_unlock (&race->mutex);

  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  g_cond_clear (&race->cond);
  g_mutex_clear (&race->mutex);
}

static gpointer
admit_and_hold_worker (gpointer data)
{
  Racer *racer = data;
  Race *race = racer->race;

  race_wait_start (race);
  racer->ticket = rfl_quota_manager_admit (race->quota, TENANT, racer->estimate,
                                           race->now, NULL, NULL);
  return NULL;
}

static gpointer
rate_worker (gpointer data)
{
  Racer *racer = data;
  Race *race = racer->race;

  race_wait_start (race);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(RflQuotaTicket) ticket = NULL;

      ticket = rfl_quota_manager_admit (race->quota, TENANT, 1, race->now, NULL, NULL);
      if (ticket != NULL)
        racer->n_admitted++;
    }

  return NULL;
}

static guint
count_tickets (Race *race)
{
  guint n = 0;

  for (guint i = 0; i < N_THREADS; i++)
    n += race->racers[i].ticket != NULL;

  return n;
}

static void
free_tickets (Race *race)
{
  for (guint i = 0; i < N_THREADS; i++)
    g_clear_pointer (&race->racers[i].ticket, rfl_quota_ticket_free);
}

static void
test_race_rate (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (60, 0, 0, 0);
  g_autofree Race *race = g_new0 (Race, 1);
  guint admitted = 0;

  race->quota = quota;
  race->now = utc (2026, 3, 10, 12, 0, 0);
  run_race (race, rate_worker);

  for (guint i = 0; i < N_THREADS; i++)
    admitted += race->racers[i].n_admitted;
  g_assert_cmpuint (admitted, ==, 60);
}

static gpointer
churn_worker (gpointer data)
{
  Racer *racer = data;
  Race *race = racer->race;

  race_wait_start (race);
  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(RflQuotaTicket) ticket = NULL;
      gint now_in_flight;

      ticket = rfl_quota_manager_admit (race->quota, TENANT, 1, race->now, NULL, NULL);
      if (ticket == NULL)
        {
          g_thread_yield ();
          continue;
        }

      /* Counted after admission and uncounted before the release, the
       * outside count can only lag the manager's: it must never pass the
       * limit either. */
      now_in_flight = g_atomic_int_add (&race->in_flight, 1) + 1;
      for (;;)
        {
          gint seen = g_atomic_int_get (&race->max_in_flight);

          if (now_in_flight <= seen ||
              g_atomic_int_compare_and_exchange (&race->max_in_flight, seen, now_in_flight))
            break;
        }
      racer->n_admitted++;
      g_thread_yield ();
      g_atomic_int_add (&race->in_flight, -1);
      rfl_quota_manager_release (race->quota, ticket);
    }

  return NULL;
}

static void
test_race_concurrent (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 0, 0, 4);
  g_autofree Race *race = g_new0 (Race, 1);
  RflQuotaUsage usage;
  guint admitted = 0;

  race->quota = quota;
  race->now = utc (2026, 3, 10, 12, 0, 0);

  /* 200 at once, none finishing: exactly four get in. */
  run_race (race, admit_and_hold_worker);
  g_assert_cmpuint (count_tickets (race), ==, 4);
  rfl_quota_manager_get_usage (quota, TENANT, race->now, &usage);
  g_assert_cmpuint (usage.in_flight, ==, 4);
  free_tickets (race);

  /* 200 coming and going: never more than four at a time. */
  run_race (race, churn_worker);
  for (guint i = 0; i < N_THREADS; i++)
    admitted += race->racers[i].n_admitted;
  g_test_message ("%u requests admitted, at most %d at a time", admitted,
                  g_atomic_int_get (&race->max_in_flight));
  g_assert_cmpint (g_atomic_int_get (&race->max_in_flight), <=, 4);
  g_assert_cmpint (g_atomic_int_get (&race->max_in_flight), >=, 1);
  g_assert_cmpuint (admitted, >=, 4);
  rfl_quota_manager_get_usage (quota, TENANT, race->now, &usage);
  g_assert_cmpuint (usage.in_flight, ==, 0);
}

static void
test_race_token_budget (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 100000, 0, 0);
  g_autofree Race *race = g_new0 (Race, 1);
  g_autoptr(RflQuotaTicket) rest = NULL;
  g_autofree char *message = NULL;
  guint64 reserved = 0, used = 0;
  RflQuotaUsage usage;

  race->quota = quota;
  race->now = utc (2026, 3, 10, 12, 0, 0);
  for (guint i = 0; i < N_THREADS; i++)
    race->racers[i].estimate = (guint64) g_test_rand_int_range (1, 2001);

  run_race (race, admit_and_hold_worker);

  for (guint i = 0; i < N_THREADS; i++)
    if (race->racers[i].ticket != NULL)
      reserved += race->racers[i].estimate;
  g_test_message ("%u of %u requests admitted, reserving %" G_GUINT64_FORMAT " tokens",
                  count_tickets (race), N_THREADS, reserved);

  /* Never beyond the budget, and no refused request would have fitted in
   * what is left: reservations only grew, so each was refused for want of
   * room. */
  g_assert_cmpuint (reserved, <=, 100000);
  g_assert_cmpuint (count_tickets (race), <, N_THREADS);
  for (guint i = 0; i < N_THREADS; i++)
    if (race->racers[i].ticket == NULL)
      g_assert_cmpuint (race->racers[i].estimate, >, 100000 - reserved);

  rfl_quota_manager_get_usage (quota, TENANT, race->now, &usage);
  g_assert_cmpuint (usage.day_reserved, ==, reserved);

  /* Settled at half their estimates, the rest comes back, exactly. */
  for (guint i = 0; i < N_THREADS; i++)
    if (race->racers[i].ticket != NULL)
      {
        rfl_quota_manager_settle (quota, race->racers[i].ticket,
                                  race->racers[i].estimate / 2, race->now);
        used += race->racers[i].estimate / 2;
      }
  free_tickets (race);

  rfl_quota_manager_get_usage (quota, TENANT, race->now, &usage);
  g_assert_cmpuint (usage.day_used, ==, used);
  g_assert_cmpuint (usage.day_reserved, ==, 0);
  message = expect_refusal (quota, 100000 - used + 1, race->now, NULL);
  rest = expect_admit (quota, 100000 - used, race->now);
}

static gpointer
budget_churn_worker (gpointer data)
{
  Racer *racer = data;
  Race *race = racer->race;
  guint64 estimate = 1 + racer->index % 97 * 13;

  race_wait_start (race);
  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(RflQuotaTicket) ticket = NULL;
      guint64 actual = estimate * (i % 4) / 3;
      gint64 total;

      ticket = rfl_quota_manager_admit (race->quota, TENANT, estimate, race->now, NULL, NULL);
      if (ticket == NULL)
        continue;

      /* Reserved and used as seen from outside: added after admission,
       * the unused part taken off before settling. It lags the manager's
       * count and so must stay within the budget too. */
      total = atomic_fetch_add (&race->outside_total, (gint64) estimate) + (gint64) estimate;
      if (total > (gint64) race->budget)
        g_atomic_int_inc (&race->overshoot);
      g_thread_yield ();
      atomic_fetch_sub (&race->outside_total, (gint64) (estimate - actual));
      rfl_quota_manager_settle (race->quota, ticket, actual, race->now);
    }

  return NULL;
}

static void
test_race_budget_churn (void)
{
  g_autoptr(RflQuotaManager) quota = manager_with (0, 200000, 400000, 0);
  g_autofree Race *race = g_new0 (Race, 1);
  RflQuotaUsage usage;

  race->quota = quota;
  race->now = utc (2026, 3, 10, 12, 0, 0);
  race->budget = 200000;
  run_race (race, budget_churn_worker);

  rfl_quota_manager_get_usage (quota, TENANT, race->now, &usage);
  g_test_message ("%" G_GUINT64_FORMAT " tokens used of 200000", usage.day_used);
  g_assert_cmpint (g_atomic_int_get (&race->overshoot), ==, 0);
  g_assert_cmpuint (usage.day_reserved, ==, 0);
  g_assert_cmpuint (usage.month_reserved, ==, 0);
  g_assert_cmpuint (usage.in_flight, ==, 0);
  g_assert_cmpuint (usage.day_used, ==, (guint64) atomic_load (&race->outside_total));
  g_assert_cmpuint (usage.day_used, <=, 200000);
  g_assert_cmpuint (usage.month_used, ==, usage.day_used);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/quota/validate", test_validate);
  g_test_add_func ("/rfl/quota/unlimited", test_unlimited);
  g_test_add_func ("/rfl/quota/rate", test_rate);
  g_test_add_func ("/rfl/quota/concurrent", test_concurrent);
  g_test_add_func ("/rfl/quota/day-budget", test_day_budget);
  g_test_add_func ("/rfl/quota/used-up-message", test_used_up_message);
  g_test_add_func ("/rfl/quota/too-large", test_too_large);
  g_test_add_func ("/rfl/quota/underestimate", test_underestimate);
  g_test_add_func ("/rfl/quota/day-rollover", test_day_rollover);
  g_test_add_func ("/rfl/quota/month-rollover", test_month_rollover);
  g_test_add_func ("/rfl/quota/rollover-in-flight", test_rollover_in_flight);
  g_test_add_func ("/rfl/quota/limits-runtime", test_limits_runtime);
  g_test_add_func ("/rfl/quota/race-rate", test_race_rate);
  g_test_add_func ("/rfl/quota/race-concurrent", test_race_concurrent);
  g_test_add_func ("/rfl/quota/race-token-budget", test_race_token_budget);
  g_test_add_func ("/rfl/quota/race-budget-churn", test_race_budget_churn);

  return g_test_run ();
}
