/* rfl-quota.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* What a tenant may use. 0 means unlimited. Days and months are UTC
 * calendar days and months. */
typedef struct
{
  guint   requests_per_minute;   /* a token bucket: bursts up to this many */
  guint64 tokens_per_day;
  guint64 tokens_per_month;
  guint   max_concurrent;        /* requests admitted and not yet settled */
} RflQuotaLimits;

/* Checks that the limits make sense together: RFL_ERROR_INVALID_INPUT with
 * a translated message when a day may use more than its month. */
gboolean    rfl_quota_limits_validate (const RflQuotaLimits *limits,
                                       GError              **error);

typedef enum
{
  RFL_QUOTA_LIMIT_NONE,
  RFL_QUOTA_LIMIT_REQUESTS_PER_MINUTE,
  RFL_QUOTA_LIMIT_TOKENS_PER_DAY,
  RFL_QUOTA_LIMIT_TOKENS_PER_MONTH,
  RFL_QUOTA_LIMIT_CONCURRENT,
} RflQuotaLimit;

/* Stable names for the HTTP API and logs: "requests_per_minute",
 * "tokens_per_day", "tokens_per_month", "max_concurrent"; NULL for NONE. */
const char *rfl_quota_limit_to_string (RflQuotaLimit limit);

/* Why a request was refused. When several limits refuse it, the one that
 * takes longest to allow it again is named. */
typedef struct
{
  RflQuotaLimit limit;
  guint64       limit_value;     /* the limit as configured */
  /* Exact time until the limit may allow the request: the bucket's refill,
   * the end of the day or month, or a one-second hint for the concurrency
   * limit. 0 when waiting does not help (@too_large). */
  gint64        retry_after_us;
  gint64        resets_at_us;    /* now + retry_after_us */
  /* The request's estimate alone exceeds the token limit. */
  gboolean      too_large;
} RflQuotaRejection;

/* For a Retry-After header: the wait in whole seconds, rounded up, at
 * least 1; 0 when waiting does not help. */
guint       rfl_quota_rejection_get_retry_after_seconds (const RflQuotaRejection *rejection);

/* A tenant's counters at a moment. */
typedef struct
{
  RflQuotaLimits limits;         /* the limits in effect for the tenant */
  guint64        day_used;       /* settled tokens of the current UTC day */
  guint64        day_reserved;   /* estimates of requests in flight */
  guint64        month_used;
  guint64        month_reserved;
  guint          in_flight;      /* admitted, not yet settled or released */
  guint          requests_available;   /* G_MAXUINT when unlimited */
} RflQuotaUsage;

/* An admitted request's reservation. Settle it with the tokens it used,
 * or release it when the request failed before using any; freeing a ticket
 * that is still open releases it. A ticket may be settled on another
 * thread than the one that admitted it. */
typedef struct _RflQuotaTicket RflQuotaTicket;

gint64      rfl_quota_ticket_get_tenant_id (const RflQuotaTicket *ticket);
guint64     rfl_quota_ticket_get_estimate  (const RflQuotaTicket *ticket);
gboolean    rfl_quota_ticket_is_open       (const RflQuotaTicket *ticket);
void        rfl_quota_ticket_free          (RflQuotaTicket       *ticket);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflQuotaTicket, rfl_quota_ticket_free)

/* Admission control for every request of every tenant, from the HTTP
 * server and the desktop chat alike. Thread-safe: each tenant's counters
 * have their own lock, and a request is checked against all limits and
 * reserved under it in one step, so that concurrent requests can never
 * together exceed a limit.
 *
 * Times are Unix time in microseconds (g_get_real_time()) and are passed
 * in, so that tests can fix the clock. */
#define RFL_TYPE_QUOTA_MANAGER (rfl_quota_manager_get_type ())
G_DECLARE_FINAL_TYPE (RflQuotaManager, rfl_quota_manager, RFL, QUOTA_MANAGER, GObject)

RflQuotaManager *rfl_quota_manager_new                (void);

/* Limits for tenants without limits of their own (all unlimited at
 * first). */
void             rfl_quota_manager_set_default_limits (RflQuotaManager      *self,
                                                       const RflQuotaLimits *limits);
void             rfl_quota_manager_get_default_limits (RflQuotaManager      *self,
                                                       RflQuotaLimits       *limits);
/* Sets @tenant_id's own limits, or with NULL returns it to the defaults.
 * Requests in flight keep their reservations; the next admission uses the
 * new limits. */
void             rfl_quota_manager_set_limits         (RflQuotaManager      *self,
                                                       gint64                tenant_id,
                                                       const RflQuotaLimits *limits);
void             rfl_quota_manager_get_limits         (RflQuotaManager      *self,
                                                       gint64                tenant_id,
                                                       RflQuotaLimits       *limits);

/* Sets the tokens @tenant_id has already used in the UTC day and month of
 * @now_us, as summed from the stored usage at start, and makes them the
 * current windows. Reservations of requests in flight are kept.
 *
 * Otherwise windows only move forward: a time before the current day (a
 * thread that read the clock before midnight and got the lock after it) is
 * counted in the current day. */
void             rfl_quota_manager_seed_usage         (RflQuotaManager      *self,
                                                       gint64                tenant_id,
                                                       guint64               day_tokens,
                                                       guint64               month_tokens,
                                                       gint64                now_us);

/* Admits a request that may use up to @estimated_tokens (prompt and
 * answer): it takes one request from the rate bucket, counts it against the
 * concurrency limit and reserves the estimate in the day and the month.
 *
 * Refused, it changes nothing and fails with RFL_ERROR_QUOTA_EXCEEDED and a
 * translated message naming the limit and when it resets; @rejection (may
 * be NULL) says which limit and how long to wait. */
RflQuotaTicket  *rfl_quota_manager_admit              (RflQuotaManager      *self,
                                                       gint64                tenant_id,
                                                       guint64               estimated_tokens,
                                                       gint64                now_us,
                                                       RflQuotaRejection    *rejection,
                                                       GError              **error);
/* Replaces the ticket's reservation by the @actual_tokens the request used,
 * counted in the UTC day and month of @now_us, and ends the request. An
 * actual count above the estimate is recorded in full: the budget can then
 * be exceeded, but only by the underestimate, and no further request is
 * admitted until the window resets. */
void             rfl_quota_manager_settle             (RflQuotaManager      *self,
                                                       RflQuotaTicket       *ticket,
                                                       guint64               actual_tokens,
                                                       gint64                now_us);
/* Drops the ticket's reservation without using any tokens and ends the
 * request. The request's place in the rate bucket is not given back. */
void             rfl_quota_manager_release            (RflQuotaManager      *self,
                                                       RflQuotaTicket       *ticket);

void             rfl_quota_manager_get_usage          (RflQuotaManager      *self,
                                                       gint64                tenant_id,
                                                       gint64                now_us,
                                                       RflQuotaUsage        *usage);
/* Forgets @tenant_id's limits and counters (a deleted tenant). Open tickets
 * stay valid. */
void             rfl_quota_manager_forget_tenant      (RflQuotaManager      *self,
                                                       gint64                tenant_id);

G_END_DECLS
