/* rfl-login-throttle.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

#include "server/rfl-server.h"

G_BEGIN_DECLS

/* The memory of failed sign-ins of the HTTP service, per client address
 * and per account (tenant and e-mail address): after @max_failures
 * failures within @window_s seconds, further sign-ins of that client or
 * account are refused until the oldest of those failures leaves the
 * window. A success forgets the failures of its account (not those of its
 * client). Refused attempts are not failures: they do not prolong a
 * lockout. The state lives in memory; entries without recent failures are
 * swept away as the table grows. Belongs to the server's thread, except
 * the verify function, which runs on workers. */
typedef struct _RflLoginThrottle RflLoginThrottle;

#define RFL_LOGIN_THROTTLE_MAX_FAILURES 5
#define RFL_LOGIN_THROTTLE_WINDOW_S     (15 * 60)

typedef enum /*< flags >*/
{
  RFL_LOGIN_LIMIT_NONE    = 0,
  RFL_LOGIN_LIMIT_CLIENT  = 1 << 0,   /* the client's address */
  RFL_LOGIN_LIMIT_ACCOUNT = 1 << 1,   /* the tenant and e-mail address */
} RflLoginLimit;

/* Monotonic time in microseconds. */
typedef gint64 (*RflLoginThrottleClock) (gpointer user_data);

/* Runs on the worker thread before a password is checked. */
typedef void (*RflLoginVerifyFunc) (gpointer user_data);

RflLoginThrottle *rfl_login_throttle_new              (guint                  max_failures,
                                                       guint                  window_s);
RflLoginThrottle *rfl_login_throttle_ref              (RflLoginThrottle      *self);
void              rfl_login_throttle_unref            (RflLoginThrottle      *self);

guint             rfl_login_throttle_get_max_failures (RflLoginThrottle      *self);
guint             rfl_login_throttle_get_window       (RflLoginThrottle      *self);

/* NULL: g_get_monotonic_time(). */
void              rfl_login_throttle_set_clock        (RflLoginThrottle      *self,
                                                       RflLoginThrottleClock  clock,
                                                       gpointer               user_data);

/* Which limits refuse a sign-in of @email (as typed: case and blanks do
 * not matter) at @tenant_id (0: any tenant) from @client now; with
 * *@retry_after_s the whole seconds until all of them let it through. */
RflLoginLimit     rfl_login_throttle_check            (RflLoginThrottle      *self,
                                                       const char            *client,
                                                       gint64                 tenant_id,
                                                       const char            *email,
                                                       guint                 *retry_after_s);
/* Counts a failure; returns the limits it made refuse sign-ins, that is
 * the lockouts it began. */
RflLoginLimit     rfl_login_throttle_add_failure      (RflLoginThrottle      *self,
                                                       const char            *client,
                                                       gint64                 tenant_id,
                                                       const char            *email);
void              rfl_login_throttle_add_success      (RflLoginThrottle      *self,
                                                       gint64                 tenant_id,
                                                       const char            *email);
/* Clients and accounts remembered. */
guint             rfl_login_throttle_get_size         (RflLoginThrottle      *self);

/* A function run before every password check, such as a test holding a
 * sign-in while it checks that others go on. NULL removes it. */
void              rfl_login_throttle_set_verify_func  (RflLoginThrottle      *self,
                                                       RflLoginVerifyFunc     func,
                                                       gpointer               user_data);
void              rfl_login_throttle_call_verify_func (RflLoginThrottle      *self);

/* The throttle of @server's sign-ins, made with the defaults on first
 * use; rfl_login_throttle_install() sets another one before that. */
RflLoginThrottle *rfl_login_throttle_get_for_server   (RflServer             *server);
void              rfl_login_throttle_install          (RflServer             *server,
                                                       RflLoginThrottle      *throttle);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflLoginThrottle, rfl_login_throttle_unref)

G_END_DECLS
