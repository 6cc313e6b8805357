/* rfl-login-throttle.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-login-throttle.h"

#include <string.h>

#define THROTTLE_DATA_KEY "rfl-login-throttle"

/* The table is swept of stale entries when it holds more than this, at
 * most once a minute, so that a spray of addresses cannot grow it without
 * bound for longer than a window. */
#define SWEEP_THRESHOLD   1024
#define SWEEP_INTERVAL_US (60 * G_USEC_PER_SEC)

/* The last failures of a client or account, oldest first. */
typedef struct
{
  guint  n_times;
  gint64 times[];        /* max_failures of them */
} Failures;

struct _RflLoginThrottle
{
  gatomicrefcount        ref_count;
  guint                  max_failures;
  guint                  window_s;
  RflLoginThrottleClock  clock;
  gpointer               clock_data;
  GHashTable            *entries;      /* owned: key → Failures* */
  gint64                 last_sweep_us;
  GMutex                 verify_lock;
  RflLoginVerifyFunc     verify_func;  /* guarded by verify_lock */
  gpointer               verify_data;
};

RflLoginThrottle *
rfl_login_throttle_new (guint max_failures,
                        guint window_s)
{
  RflLoginThrottle *self;

  g_return_val_if_fail (max_failures > 0, NULL);
  g_return_val_if_fail (window_s > 0, NULL);

  self = g_new0 (RflLoginThrottle, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->max_failures = max_failures;
  self->window_s = window_s;
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&self->verify_lock);

  return self;
}

RflLoginThrottle *
rfl_login_throttle_ref (RflLoginThrottle *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
rfl_login_throttle_unref (RflLoginThrottle *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_hash_table_unref (self->entries);
  g_mutex_clear (&self->verify_lock);
  g_free (self);
}

guint
rfl_login_throttle_get_max_failures (RflLoginThrottle *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->max_failures;
}

guint
rfl_login_throttle_get_window (RflLoginThrottle *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->window_s;
}

void
rfl_login_throttle_set_clock (RflLoginThrottle      *self,
                              RflLoginThrottleClock  clock,
                              gpointer               user_data)
{
  g_return_if_fail (self != NULL);

  self->clock = clock;
  self->clock_data = user_data;
}

static gint64
now_us (RflLoginThrottle *self)
{
  if (self->clock != NULL)
    return self->clock (self->clock_data);

  return g_get_monotonic_time ();
}

static gint64
window_us (RflLoginThrottle *self)
{
  return (gint64) self->window_s * G_USEC_PER_SEC;
}

static char *
client_key (const char *client)
{
  return g_strconcat ("c\x1f", client != NULL ? client : "", NULL);
}

/* The address as accounts store it: valid, trimmed, lower case. */
static char *
account_key (gint64      tenant_id,
             const char *email)
{
  g_autofree char *valid = g_utf8_make_valid (email != NULL ? email : "", -1);
  g_autofree char *lower = g_utf8_strdown (g_strstrip (valid), -1);

  return g_strdup_printf ("a\x1f%" G_GINT64_FORMAT "\x1f%s", tenant_id, lower);
}

/* Drops the failures that left the window. */
static void
failures_expire (RflLoginThrottle *self,
                 Failures         *failures,
                 gint64            now)
{
  guint keep = 0;

  while (keep < failures->n_times && failures->times[keep] <= now - window_us (self))
    keep++;
  if (keep == 0)
    return;

  memmove (failures->times, failures->times + keep,
           (failures->n_times - keep) * sizeof (gint64));
  failures->n_times -= keep;
}

/* 0 when @failures lets a sign-in through, else the microseconds until it
 * does. */
static gint64
failures_wait_us (RflLoginThrottle *self,
                  Failures         *failures,
                  gint64            now)
{
  if (failures == NULL)
    return 0;

  failures_expire (self, failures, now);
  if (failures->n_times < self->max_failures)
    return 0;

  return failures->times[0] + window_us (self) - now;
}

RflLoginLimit
rfl_login_throttle_check (RflLoginThrottle *self,
                          const char       *client,
                          gint64            tenant_id,
                          const char       *email,
                          guint            *retry_after_s)
{
  g_autofree char *ckey = client_key (client);
  g_autofree char *akey = account_key (tenant_id, email);
  RflLoginLimit limits = RFL_LOGIN_LIMIT_NONE;
  gint64 now, wait_client, wait_account, wait;

  g_return_val_if_fail (self != NULL, RFL_LOGIN_LIMIT_NONE);

  now = now_us (self);
  wait_client = failures_wait_us (self, g_hash_table_lookup (self->entries, ckey), now);
  wait_account = failures_wait_us (self, g_hash_table_lookup (self->entries, akey), now);
  if (wait_client > 0)
    limits |= RFL_LOGIN_LIMIT_CLIENT;
  if (wait_account > 0)
    limits |= RFL_LOGIN_LIMIT_ACCOUNT;

  wait = MAX (wait_client, wait_account);
  if (retry_after_s != NULL)
    *retry_after_s = wait > 0 ? (guint) ((wait + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC) : 0;

  return limits;
}

static void
sweep (RflLoginThrottle *self,
       gint64            now)
{
  GHashTableIter iter;
  gpointer value;

  if (g_hash_table_size (self->entries) <= SWEEP_THRESHOLD
      || now - self->last_sweep_us < SWEEP_INTERVAL_US)
    return;

  self->last_sweep_us = now;
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      failures_expire (self, value, now);
      if (((Failures *) value)->n_times == 0)
        g_hash_table_iter_remove (&iter);
    }
}

/* TRUE when this failure made the entry refuse sign-ins. */
static gboolean
add_failure (RflLoginThrottle *self,
             const char       *key,
             gint64            now)
{
  Failures *failures = g_hash_table_lookup (self->entries, key);

  if (failures == NULL)
    {
      failures = g_malloc0 (sizeof (Failures) + self->max_failures * sizeof (gint64));
      g_hash_table_insert (self->entries, g_strdup (key), failures);
    }

  failures_expire (self, failures, now);
  /* Already refusing (the attempt began before the lockout): it neither
   * begins nor prolongs one. */
  if (failures->n_times == self->max_failures)
    return FALSE;

  failures->times[failures->n_times++] = now;
  return failures->n_times == self->max_failures;
}

RflLoginLimit
rfl_login_throttle_add_failure (RflLoginThrottle *self,
                                const char       *client,
                                gint64            tenant_id,
                                const char       *email)
{
  g_autofree char *ckey = client_key (client);
  g_autofree char *akey = account_key (tenant_id, email);
  RflLoginLimit began = RFL_LOGIN_LIMIT_NONE;
  gint64 now;

  g_return_val_if_fail (self != NULL, RFL_LOGIN_LIMIT_NONE);

  now = now_us (self);
  sweep (self, now);
  if (add_failure (self, ckey, now))
    began |= RFL_LOGIN_LIMIT_CLIENT;
  if (add_failure (self, akey, now))
    began |= RFL_LOGIN_LIMIT_ACCOUNT;

  return began;
}

void
rfl_login_throttle_add_success (RflLoginThrottle *self,
                                gint64            tenant_id,
                                const char       *email)
{
  g_autofree char *akey = account_key (tenant_id, email);

  g_return_if_fail (self != NULL);

  g_hash_table_remove (self->entries, akey);
}

guint
rfl_login_throttle_get_size (RflLoginThrottle *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return g_hash_table_size (self->entries);
}

void
rfl_login_throttle_set_verify_func (RflLoginThrottle   *self,
                                    RflLoginVerifyFunc  func,
                                    gpointer            user_data)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->verify_lock);
  self->verify_func = func;
  self->verify_data = user_data;
  g_mutex_unlock (&self->verify_lock);
}

void
rfl_login_throttle_call_verify_func (RflLoginThrottle *self)
{
  RflLoginVerifyFunc func;
  gpointer data;

  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->verify_lock);
  func = self->verify_func;
  data = self->verify_data;
  g_mutex_unlock (&self->verify_lock);

  if (func != NULL)
    func (data);
}

RflLoginThrottle *
rfl_login_throttle_get_for_server (RflServer *server)
{
  RflLoginThrottle *throttle;

  g_return_val_if_fail (RFL_IS_SERVER (server), NULL);

  throttle = g_object_get_data (G_OBJECT (server), THROTTLE_DATA_KEY);
  if (throttle == NULL)
    {
      throttle = rfl_login_throttle_new (RFL_LOGIN_THROTTLE_MAX_FAILURES,
                                         RFL_LOGIN_THROTTLE_WINDOW_S);
      rfl_login_throttle_install (server, throttle);
      rfl_login_throttle_unref (throttle);
    }

  return throttle;
}

void
rfl_login_throttle_install (RflServer        *server,
                            RflLoginThrottle *throttle)
{
  g_return_if_fail (RFL_IS_SERVER (server));
  g_return_if_fail (throttle != NULL);

  g_object_set_data_full (G_OBJECT (server), THROTTLE_DATA_KEY,
                          rfl_login_throttle_ref (throttle),
                          (GDestroyNotify) rfl_login_throttle_unref);
}
