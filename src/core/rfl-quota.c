/* rfl-quota.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-quota.h"

#include <glib/gi18n.h>

#include "rfl-error.h"
#include "rfl-rate-limiter.h"

#define USEC_PER_DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

/* The concurrency limit has no reset time: a request ends when it ends.
 * Clients are told to come back after a second. */
#define CONCURRENCY_RETRY_US G_USEC_PER_SEC

/* ------------------------------------------------------------ calendar */

static gint64
floor_div (gint64 a,
           gint64 b)
{
  gint64 q = a / b;

  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (after
 * Howard Hinnant's chrono algorithms): integer only, valid for any date. */
static gint64
days_from_civil (gint64 year,
                 guint  month,
                 guint  day)
{
  gint64 era;
  guint yoe, doy, doe;

  year -= month <= 2;
  era = floor_div (year, 400);
  yoe = (guint) (year - era * 400);
  doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

  return era * 146097 + (gint64) doe - 719468;
}

static void
civil_from_days (gint64  days,
                 gint64 *year,
                 guint  *month)
{
  gint64 z = days + 719468;
  gint64 era = floor_div (z, 146097);
  guint doe = (guint) (z - era * 146097);
  guint yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  guint doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  guint mp = (5 * doy + 2) / 153;

  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = (gint64) yoe + era * 400 + (*month <= 2);
}

static gint64
day_of (gint64 now_us)
{
  return floor_div (now_us, USEC_PER_DAY);
}

/* Months since January 1970. */
static gint64
month_of_day (gint64 day)
{
  gint64 year;
  guint month;

  civil_from_days (day, &year, &month);
  return (year - 1970) * 12 + (gint64) (month - 1);
}

static gint64
day_end_us (gint64 now_us)
{
  return (day_of (now_us) + 1) * USEC_PER_DAY;
}

static gint64
month_end_us (gint64 now_us)
{
  gint64 year;
  guint month;

  civil_from_days (day_of (now_us), &year, &month);
  if (month == 12)
    return days_from_civil (year + 1, 1, 1) * USEC_PER_DAY;

  return days_from_civil (year, month + 1, 1) * USEC_PER_DAY;
}

static guint64
saturating_add (guint64 a,
                guint64 b)
{
  return a > G_MAXUINT64 - b ? G_MAXUINT64 : a + b;
}

static guint64
saturating_sub (guint64 a,
                guint64 b)
{
  return a > b ? a - b : 0;
}

/* ---------------------------------------------------------------- limits */

static gulong
plural_n (guint64 n)
{
  return n > G_MAXULONG ? G_MAXULONG : (gulong) n;
}

/* "100,000": groups of three digits with the separator of the
 * translation. */
static char *
format_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  gsize len = strlen (digits);
  GString *out = g_string_new (NULL);
  const char *separator;

  /* Translators: the separator between groups of three digits in large
   * numbers such as 100,000 (for example "." in German). */
  separator = C_("digit group separator", ",");

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append (out, separator);
      g_string_append_c (out, digits[i]);
    }

  return g_string_free (out, FALSE);
}

/* A wait for a message, rounded up to the smallest unit shown so that it
 * never promises less than the real wait. */
static char *
format_wait (gint64 wait_us)
{
  guint64 minutes, hours, seconds = 1;

  if (wait_us > 0)
    seconds = ((guint64) wait_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;

  if (seconds < 60)
    return g_strdup_printf (C_("duration", "%u s"), (guint) seconds);

  if (seconds < 3600)
    {
      if (seconds % 60 == 0)
        return g_strdup_printf (C_("duration", "%u min"), (guint) (seconds / 60));
      return g_strdup_printf (C_("duration", "%u min %u s"),
                              (guint) (seconds / 60), (guint) (seconds % 60));
    }

  minutes = (seconds + 59) / 60;
  if (minutes < 24 * 60)
    {
      if (minutes % 60 == 0)
        return g_strdup_printf (C_("duration", "%u h"), (guint) (minutes / 60));
      return g_strdup_printf (C_("duration", "%u h %u min"),
                              (guint) (minutes / 60), (guint) (minutes % 60));
    }

  /* Days are abbreviated like the other units: a word would have to take
   * the case that "in" asks for in some languages. */
  hours = (minutes + 59) / 60;
  if (hours % 24 == 0)
    return g_strdup_printf (C_("duration", "%u d"), (guint) (hours / 24));

  return g_strdup_printf (C_("duration", "%u d %u h"),
                          (guint) (hours / 24), (guint) (hours % 24));
}

gboolean
rfl_quota_limits_validate (const RflQuotaLimits *limits,
                           GError              **error)
{
  g_return_val_if_fail (limits != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (limits->tokens_per_day != 0 && limits->tokens_per_month != 0 &&
      limits->tokens_per_day > limits->tokens_per_month)
    {
      g_autofree char *day = format_count (limits->tokens_per_day);
      g_autofree char *month = format_count (limits->tokens_per_month);

      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The limit of %s tokens per day is larger than the limit of "
                     "%s tokens per month, so a day could never use it; lower "
                     "the daily limit or raise the monthly one"),
                   day, month);
      return FALSE;
    }

  return TRUE;
}

const char *
rfl_quota_limit_to_string (RflQuotaLimit limit)
{
  switch (limit)
    {
    case RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE:
      return "requests_per_minute";
    case RFL_QUOTA_LIMIT_TOKENS_PER_DAY:
      return "tokens_per_day";
    case RFL_QUOTA_LIMIT_TOKENS_PER_MONTH:
      return "tokens_per_month";
    case RFL_QUOTA_LIMIT_CONCURRENT:
      return "max_concurrent";
    case RFL_QUOTA_LIMIT_NONE:
    default:
      return NULL;
    }
}

guint
rfl_quota_rejection_get_retry_after_seconds (const RflQuotaRejection *rejection)
{
  guint64 seconds;

  g_return_val_if_fail (rejection != NULL, 0);

  if (rejection->too_large || rejection->limit == RFL_QUOTA_LIMIT_NONE)
    return 0;

  if (rejection->retry_after_us <= 0)
    return 1;

  seconds = ((guint64) rejection->retry_after_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
  return (guint) MIN (seconds, (guint64) G_MAXUINT);
}

/* ---------------------------------------------------------- tenant state */

typedef struct
{
  gatomicrefcount ref_count;
  GMutex          mutex;

  /* Everything below is guarded by @mutex. */
  gboolean        has_own_limits;
  RflQuotaLimits  own_limits;

  RflTokenBucket  bucket;
  gboolean        bucket_started;

  /* The UTC day and month the used counts belong to. Reservations are not
   * tied to a window: a request is charged when it is settled, in the
   * window of that moment, so its reservation carries over a rollover. */
  gint64          day;
  gint64          month;
  guint64         day_used;
  guint64         day_reserved;
  guint64         month_used;
  guint64         month_reserved;
  guint           in_flight;
} TenantState;

static TenantState *
tenant_state_new (void)
{
  TenantState *state = g_new0 (TenantState, 1);

  g_atomic_ref_count_init (&state->ref_count);
  g_mutex_init (&state->mutex);
  state->day = G_MININT64;
  state->month = G_MININT64;

  return state;
}

static TenantState *
tenant_state_ref (TenantState *state)
{
  g_atomic_ref_count_inc (&state->ref_count);
  return state;
}

static void
tenant_state_unref (TenantState *state)
{
  if (!g_atomic_ref_count_dec (&state->ref_count))
    return;

  g_mutex_clear (&state->mutex);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TenantState, tenant_state_unref)

/* Starts a new day or month when @now_us is past the current one. A reading
 * from before the current window (a thread that waited for the lock across
 * midnight) is counted in the current window: windows only move forward. */
static void
tenant_state_roll (TenantState *state,
                   gint64       now_us)
{
  gint64 day = day_of (now_us);
  gint64 month;

  if (day <= state->day)
    return;

  state->day = day;
  state->day_used = 0;

  month = month_of_day (day);
  if (month > state->month)
    {
      state->month = month;
      state->month_used = 0;
    }
}

static void
tenant_state_sync_bucket (TenantState          *state,
                          const RflQuotaLimits *limits,
                          gint64                now_us)
{
  if (!state->bucket_started)
    {
      rfl_token_bucket_init (&state->bucket, limits->requests_per_minute, now_us);
      state->bucket_started = TRUE;
    }
  else if (state->bucket.capacity != limits->requests_per_minute)
    {
      rfl_token_bucket_set_capacity (&state->bucket, limits->requests_per_minute, now_us);
    }
}

/* ---------------------------------------------------------------- ticket */

struct _RflQuotaTicket
{
  TenantState *state;      /* owned */
  gint64       tenant_id;
  guint64      estimate;
  gboolean     open;
};

gint64
rfl_quota_ticket_get_tenant_id (const RflQuotaTicket *ticket)
{
  g_return_val_if_fail (ticket != NULL, 0);

  return ticket->tenant_id;
}

guint64
rfl_quota_ticket_get_estimate (const RflQuotaTicket *ticket)
{
  g_return_val_if_fail (ticket != NULL, 0);

  return ticket->estimate;
}

gboolean
rfl_quota_ticket_is_open (const RflQuotaTicket *ticket)
{
  g_return_val_if_fail (ticket != NULL, FALSE);

  return ticket->open;
}

/* Ends the ticket's request: drops its reservation and charges @actual
 * tokens (none for a release). */
static void
ticket_close (RflQuotaTicket *ticket,
              gboolean        charge,
              guint64         actual,
              gint64          now_us)
{
  TenantState *state = ticket->state;

  g_mutex_lock (&state->mutex);

  g_assert (state->in_flight > 0);

  /* Reservations only fall short of the estimate when absurd estimates
   * saturated the sum (possible without a token limit). */
  state->day_reserved = saturating_sub (state->day_reserved, ticket->estimate);
  state->month_reserved = saturating_sub (state->month_reserved, ticket->estimate);
  state->in_flight--;

  if (charge)
    {
      tenant_state_roll (state, now_us);
      state->day_used = saturating_add (state->day_used, actual);
      state->month_used = saturating_add (state->month_used, actual);
    }

  g_mutex_unlock (&state->mutex);

  ticket->open = FALSE;
}

void
rfl_quota_ticket_free (RflQuotaTicket *ticket)
{
  if (ticket == NULL)
    return;

  if (ticket->open)
    ticket_close (ticket, FALSE, 0, 0);

  tenant_state_unref (ticket->state);
  g_free (ticket);
}

/* --------------------------------------------------------------- manager */

struct _RflQuotaManager
{
  GObject         parent_instance;

  GRWLock         lock;
  /* Guarded by @lock. */
  RflQuotaLimits  defaults;
  GHashTable     *tenants;    /* owned: gint64 * (owned) → TenantState * (ref) */
};

G_DEFINE_FINAL_TYPE (RflQuotaManager, rfl_quota_manager, G_TYPE_OBJECT)

static void
rfl_quota_manager_finalize (GObject *object)
{
  RflQuotaManager *self = RFL_QUOTA_MANAGER (object);

  g_clear_pointer (&self->tenants, g_hash_table_unref);
  g_rw_lock_clear (&self->lock);

  G_OBJECT_CLASS (rfl_quota_manager_parent_class)->finalize (object);
}

static void
rfl_quota_manager_class_init (RflQuotaManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_quota_manager_finalize;
}

static void
rfl_quota_manager_init (RflQuotaManager *self)
{
  g_rw_lock_init (&self->lock);
  self->tenants = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         (GDestroyNotify) tenant_state_unref);
}

RflQuotaManager *
rfl_quota_manager_new (void)
{
  return g_object_new (RFL_TYPE_QUOTA_MANAGER, NULL);
}

/* A new reference to the tenant's state, created when missing; @defaults
 * (may be NULL) receives the default limits read under the same lock. */
static TenantState *
lookup_state (RflQuotaManager *self,
              gint64           tenant_id,
              RflQuotaLimits  *defaults)
{
  TenantState *state;

  g_rw_lock_reader_lock (&self->lock);
  state = g_hash_table_lookup (self->tenants, &tenant_id);
  if (state != NULL)
    {
      tenant_state_ref (state);
      if (defaults != NULL)
        *defaults = self->defaults;
    }
  g_rw_lock_reader_unlock (&self->lock);

  if (state != NULL)
    return state;

  g_rw_lock_writer_lock (&self->lock);
  state = g_hash_table_lookup (self->tenants, &tenant_id);
  if (state == NULL)
    {
      state = tenant_state_new ();
      g_hash_table_insert (self->tenants, g_memdup2 (&tenant_id, sizeof tenant_id), state);
    }
  tenant_state_ref (state);
  if (defaults != NULL)
    *defaults = self->defaults;
  g_rw_lock_writer_unlock (&self->lock);

  return state;
}

void
rfl_quota_manager_set_default_limits (RflQuotaManager      *self,
                                      const RflQuotaLimits *limits)
{
  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));
  g_return_if_fail (limits != NULL);

  g_rw_lock_writer_lock (&self->lock);
  self->defaults = *limits;
  g_rw_lock_writer_unlock (&self->lock);
}

void
rfl_quota_manager_get_default_limits (RflQuotaManager *self,
                                      RflQuotaLimits  *limits)
{
  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));
  g_return_if_fail (limits != NULL);

  g_rw_lock_reader_lock (&self->lock);
  *limits = self->defaults;
  g_rw_lock_reader_unlock (&self->lock);
}

void
rfl_quota_manager_set_limits (RflQuotaManager      *self,
                              gint64                tenant_id,
                              const RflQuotaLimits *limits)
{
  g_autoptr(TenantState) state = NULL;

  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));

  state = lookup_state (self, tenant_id, NULL);
  g_mutex_lock (&state->mutex);
  state->has_own_limits = limits != NULL;
  if (limits != NULL)
    state->own_limits = *limits;
  g_mutex_unlock (&state->mutex);
}

void
rfl_quota_manager_get_limits (RflQuotaManager *self,
                              gint64           tenant_id,
                              RflQuotaLimits  *limits)
{
  g_autoptr(TenantState) state = NULL;
  RflQuotaLimits defaults;

  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));
  g_return_if_fail (limits != NULL);

  state = lookup_state (self, tenant_id, &defaults);
  g_mutex_lock (&state->mutex);
  *limits = state->has_own_limits ? state->own_limits : defaults;
  g_mutex_unlock (&state->mutex);
}

void
rfl_quota_manager_seed_usage (RflQuotaManager *self,
                              gint64           tenant_id,
                              guint64          day_tokens,
                              guint64          month_tokens,
                              gint64           now_us)
{
  g_autoptr(TenantState) state = NULL;

  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));

  state = lookup_state (self, tenant_id, NULL);
  g_mutex_lock (&state->mutex);
  /* The sums are those of @now_us's day and month, even if the windows
   * had moved past them. */
  state->day = day_of (now_us);
  state->month = month_of_day (state->day);
  state->day_used = day_tokens;
  state->month_used = month_tokens;
  g_mutex_unlock (&state->mutex);
}

/* What a refused admission needs for its message, gathered under the lock
 * and formatted after it. */
typedef struct
{
  RflQuotaRejection rejection;
  guint64           remaining;   /* token limits: what is left to reserve */
  guint64           estimate;
} Refusal;

/* Keeps the refusal that takes longest to lift; one that waiting cannot
 * lift wins over all. Later checks win ties, so that a month that ends
 * with the day is named rather than the day. */
static void
refusal_consider (Refusal       *refusal,
                  RflQuotaLimit  limit,
                  guint64        limit_value,
                  gint64         retry_after_us,
                  gboolean       too_large,
                  guint64        remaining)
{
  if (refusal->rejection.too_large)
    return;

  if (!too_large &&
      refusal->rejection.limit != RFL_QUOTA_LIMIT_NONE &&
      retry_after_us < refusal->rejection.retry_after_us)
    return;

  refusal->rejection.limit = limit;
  refusal->rejection.limit_value = limit_value;
  refusal->rejection.retry_after_us = too_large ? 0 : retry_after_us;
  refusal->rejection.too_large = too_large;
  refusal->remaining = remaining;
}

static void
check_tokens (Refusal       *refusal,
              RflQuotaLimit  limit,
              guint64        limit_value,
              guint64        used,
              guint64        reserved,
              guint64        estimate,
              gint64         retry_after_us)
{
  guint64 taken = saturating_add (used, reserved);
  guint64 remaining = taken >= limit_value ? 0 : limit_value - taken;

  if (limit_value == 0)
    return;

  if (estimate > limit_value)
    refusal_consider (refusal, limit, limit_value, 0, TRUE, remaining);
  else if (estimate > remaining || remaining == 0)
    refusal_consider (refusal, limit, limit_value, retry_after_us, FALSE, remaining);
}

static char *
format_day_refusal (const Refusal *refusal,
                    const char    *value,
                    const char    *estimate,
                    const char    *remaining,
                    const char    *wait)
{
  gulong n = plural_n (refusal->rejection.limit_value);

  if (refusal->rejection.too_large)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "This request may use %s tokens, more than the "
                                         "tenant’s whole limit of %s token per day; "
                                         "shorten it or ask the administrator to raise "
                                         "the limit.",
                                         "This request may use %s tokens, more than the "
                                         "tenant’s whole limit of %s tokens per day; "
                                         "shorten it or ask the administrator to raise "
                                         "the limit.", n),
                            estimate, value);

  if (refusal->remaining == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "The tenant’s limit of %s token per day is used "
                                         "up; it resets at 00:00 UTC (in %s).",
                                         "The tenant’s limit of %s tokens per day is used "
                                         "up; it resets at 00:00 UTC (in %s).", n),
                            value, wait);

  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "The tenant’s limit of %s token per day has %s "
                                       "left, fewer than the %s this request may use; it "
                                       "resets at 00:00 UTC (in %s).",
                                       "The tenant’s limit of %s tokens per day has %s "
                                       "left, fewer than the %s this request may use; it "
                                       "resets at 00:00 UTC (in %s).", n),
                          value, remaining, estimate, wait);
}

static char *
format_month_refusal (const Refusal *refusal,
                      const char    *value,
                      const char    *estimate,
                      const char    *remaining,
                      const char    *wait)
{
  const RflQuotaRejection *r = &refusal->rejection;
  g_autoptr(GDateTime) reset = NULL;
  g_autofree char *date = NULL;
  gulong n = plural_n (r->limit_value);

  if (r->too_large)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "This request may use %s tokens, more than the "
                                         "tenant’s whole limit of %s token per month; "
                                         "shorten it or ask the administrator to raise "
                                         "the limit.",
                                         "This request may use %s tokens, more than the "
                                         "tenant’s whole limit of %s tokens per month; "
                                         "shorten it or ask the administrator to raise "
                                         "the limit.", n),
                            estimate, value);

  reset = g_date_time_new_from_unix_utc (r->resets_at_us / G_USEC_PER_SEC);
  /* Translators: the day a monthly limit resets, in g_date_time_format()
   * notation; "%-d. %B %Y" gives "1. Februar 2026". */
  date = g_date_time_format (reset, C_("quota reset date", "%B %-d, %Y"));

  if (refusal->remaining == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "The tenant’s limit of %s token per month is "
                                         "used up; it resets on %s at 00:00 UTC (in %s).",
                                         "The tenant’s limit of %s tokens per month is "
                                         "used up; it resets on %s at 00:00 UTC (in %s).",
                                         n),
                            value, date, wait);

  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "The tenant’s limit of %s token per month has %s "
                                       "left, fewer than the %s this request may use; it "
                                       "resets on %s at 00:00 UTC (in %s).",
                                       "The tenant’s limit of %s tokens per month has %s "
                                       "left, fewer than the %s this request may use; it "
                                       "resets on %s at 00:00 UTC (in %s).", n),
                          value, remaining, estimate, date, wait);
}

static char *
format_refusal (const Refusal *refusal)
{
  const RflQuotaRejection *r = &refusal->rejection;
  g_autofree char *value = format_count (r->limit_value);
  g_autofree char *wait = format_wait (r->retry_after_us);
  g_autofree char *estimate = format_count (refusal->estimate);
  g_autofree char *remaining = format_count (refusal->remaining);
  gulong n = plural_n (r->limit_value);

  switch (r->limit)
    {
    case RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE:
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "The tenant’s limit of %s request per minute "
                                           "is reached; try again in %s.",
                                           "The tenant’s limit of %s requests per minute "
                                           "is reached; try again in %s.", n),
                              value, wait);

    case RFL_QUOTA_LIMIT_CONCURRENT:
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "The tenant’s limit of %s request at a time is "
                                           "reached; try again when it has finished.",
                                           "The tenant’s limit of %s requests at a time is "
                                           "reached; try again when one of them has "
                                           "finished.", n),
                              value);

    case RFL_QUOTA_LIMIT_TOKENS_PER_DAY:
      return format_day_refusal (refusal, value, estimate, remaining, wait);

    case RFL_QUOTA_LIMIT_TOKENS_PER_MONTH:
      return format_month_refusal (refusal, value, estimate, remaining, wait);

    case RFL_QUOTA_LIMIT_NONE:
    default:
      g_assert_not_reached ();
    }
}

RflQuotaTicket *
rfl_quota_manager_admit (RflQuotaManager   *self,
                         gint64             tenant_id,
                         guint64            estimated_tokens,
                         gint64             now_us,
                         RflQuotaRejection *rejection,
                         GError           **error)
{
  g_autoptr(TenantState) state = NULL;
  RflQuotaLimits defaults, limits;
  Refusal refusal = { { RFL_QUOTA_LIMIT_NONE, }, };
  RflQuotaTicket *ticket;
  gint64 wait_us;

  g_return_val_if_fail (RFL_IS_QUOTA_MANAGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  refusal.estimate = estimated_tokens;
  state = lookup_state (self, tenant_id, &defaults);

  g_mutex_lock (&state->mutex);

  limits = state->has_own_limits ? state->own_limits : defaults;
  tenant_state_roll (state, now_us);
  tenant_state_sync_bucket (state, &limits, now_us);

  if (limits.max_concurrent != 0 && state->in_flight >= limits.max_concurrent)
    refusal_consider (&refusal, RFL_QUOTA_LIMIT_CONCURRENT, limits.max_concurrent,
                      CONCURRENCY_RETRY_US, FALSE, 0);

  if (!rfl_token_bucket_peek (&state->bucket, now_us, &wait_us))
    refusal_consider (&refusal, RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE,
                      limits.requests_per_minute, wait_us, FALSE, 0);

  check_tokens (&refusal, RFL_QUOTA_LIMIT_TOKENS_PER_DAY, limits.tokens_per_day,
                state->day_used, state->day_reserved, estimated_tokens,
                day_end_us (now_us) - now_us);
  check_tokens (&refusal, RFL_QUOTA_LIMIT_TOKENS_PER_MONTH, limits.tokens_per_month,
                state->month_used, state->month_reserved, estimated_tokens,
                month_end_us (now_us) - now_us);

  if (refusal.rejection.limit == RFL_QUOTA_LIMIT_NONE)
    {
      rfl_token_bucket_try_take (&state->bucket, now_us, NULL);
      state->in_flight++;
      state->day_reserved = saturating_add (state->day_reserved, estimated_tokens);
      state->month_reserved = saturating_add (state->month_reserved, estimated_tokens);
    }

  g_mutex_unlock (&state->mutex);

  if (refusal.rejection.limit != RFL_QUOTA_LIMIT_NONE)
    {
      g_autofree char *message = NULL;

      refusal.rejection.resets_at_us = now_us + refusal.rejection.retry_after_us;
      if (rejection != NULL)
        *rejection = refusal.rejection;
      message = format_refusal (&refusal);
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_QUOTA_EXCEEDED, message);
      return NULL;
    }

  if (rejection != NULL)
    *rejection = (RflQuotaRejection) { RFL_QUOTA_LIMIT_NONE, };

  ticket = g_new0 (RflQuotaTicket, 1);
  ticket->state = g_steal_pointer (&state);
  ticket->tenant_id = tenant_id;
  ticket->estimate = estimated_tokens;
  ticket->open = TRUE;

  return ticket;
}

void
rfl_quota_manager_settle (RflQuotaManager *self,
                          RflQuotaTicket  *ticket,
                          guint64          actual_tokens,
                          gint64           now_us)
{
  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));
  g_return_if_fail (ticket != NULL);
  g_return_if_fail (ticket->open);

  ticket_close (ticket, TRUE, actual_tokens, now_us);
}

void
rfl_quota_manager_release (RflQuotaManager *self,
                           RflQuotaTicket  *ticket)
{
  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));
  g_return_if_fail (ticket != NULL);
  g_return_if_fail (ticket->open);

  ticket_close (ticket, FALSE, 0, 0);
}

void
rfl_quota_manager_get_usage (RflQuotaManager *self,
                             gint64           tenant_id,
                             gint64           now_us,
                             RflQuotaUsage   *usage)
{
  g_autoptr(TenantState) state = NULL;
  RflQuotaLimits defaults;

  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));
  g_return_if_fail (usage != NULL);

  state = lookup_state (self, tenant_id, &defaults);
  g_mutex_lock (&state->mutex);

  usage->limits = state->has_own_limits ? state->own_limits : defaults;
  tenant_state_roll (state, now_us);
  tenant_state_sync_bucket (state, &usage->limits, now_us);

  usage->day_used = state->day_used;
  usage->day_reserved = state->day_reserved;
  usage->month_used = state->month_used;
  usage->month_reserved = state->month_reserved;
  usage->in_flight = state->in_flight;
  usage->requests_available = rfl_token_bucket_get_available (&state->bucket, now_us);

  g_mutex_unlock (&state->mutex);
}

void
rfl_quota_manager_forget_tenant (RflQuotaManager *self,
                                 gint64           tenant_id)
{
  g_return_if_fail (RFL_IS_QUOTA_MANAGER (self));

  g_rw_lock_writer_lock (&self->lock);
  g_hash_table_remove (self->tenants, &tenant_id);
  g_rw_lock_writer_unlock (&self->lock);
}
