/* test-login-throttle.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "service/rfl-login-throttle.h"

#define MINUTE_US (60 * G_USEC_PER_SEC)

typedef struct
{
  RflLoginThrottle *throttle;
  gint64            now;       /* the throttle's clock, in µs */
} Fixture;

static gint64
clock_cb (gpointer user_data)
{
  Fixture *f = user_data;

  return f->now;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->now = 1000 * G_USEC_PER_SEC;
  f->throttle = rfl_login_throttle_new (RFL_LOGIN_THROTTLE_MAX_FAILURES,
                                        RFL_LOGIN_THROTTLE_WINDOW_S);
  rfl_login_throttle_set_clock (f->throttle, clock_cb, f);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->throttle, rfl_login_throttle_unref);
}

static RflLoginLimit
check (Fixture    *f,
       const char *client,
       gint64      tenant_id,
       const char *email,
       guint      *retry_after)
{
  return rfl_login_throttle_check (f->throttle, client, tenant_id, email, retry_after);
}

/* Five failures within the window lock the account out; the fifth says
 * so, once; the lockout ends when the oldest failure leaves the window. */
static void
test_account_lockout (Fixture       *f,
                      gconstpointer  data)
{
  guint retry_after = 99;

  g_assert_cmpuint (check (f, "10.0.0.1", 1, "ann@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_NONE);
  g_assert_cmpuint (retry_after, ==, 0);

  /* From different clients, so that only the account counts. */
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *client = g_strdup_printf ("10.0.0.%u", i + 1);

      g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, client, 1,
                                                        "ann@example.org"),
                        ==, RFL_LOGIN_LIMIT_NONE);
      g_assert_cmpuint (check (f, "10.0.0.9", 1, "ann@example.org", NULL), ==,
                        RFL_LOGIN_LIMIT_NONE);
      f->now += MINUTE_US;
    }

  /* The fifth, 4 minutes after the first. Case and blanks do not matter. */
  g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, "10.0.0.5", 1,
                                                    " Ann@Example.org "),
                    ==, RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (check (f, "10.0.0.9", 1, "ann@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (retry_after, ==, 11 * 60);

  /* Other accounts, and the same address at another tenant, go on. */
  g_assert_cmpuint (check (f, "10.0.0.9", 1, "bob@example.org", NULL), ==,
                    RFL_LOGIN_LIMIT_NONE);
  g_assert_cmpuint (check (f, "10.0.0.9", 2, "ann@example.org", NULL), ==,
                    RFL_LOGIN_LIMIT_NONE);

  /* A failure while locked out begins nothing new. */
  g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, "10.0.0.6", 1,
                                                    "ann@example.org"),
                    ==, RFL_LOGIN_LIMIT_NONE);

  /* One second before the first failure leaves the window… */
  f->now = 1000 * G_USEC_PER_SEC + 15 * MINUTE_US - G_USEC_PER_SEC;
  g_assert_cmpuint (check (f, "10.0.0.9", 1, "ann@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (retry_after, ==, 1);
  /* …and when it has. */
  f->now += G_USEC_PER_SEC;
  g_assert_cmpuint (check (f, "10.0.0.9", 1, "ann@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_NONE);
  g_assert_cmpuint (retry_after, ==, 0);
}

/* A client failing on many accounts is locked out everywhere; a success
 * does not free it. */
static void
test_client_lockout (Fixture       *f,
                     gconstpointer  data)
{
  guint retry_after = 0;
  RflLoginLimit began = RFL_LOGIN_LIMIT_NONE;

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *email = g_strdup_printf ("user%u@example.org", i);

      g_assert_cmpuint (began, ==, RFL_LOGIN_LIMIT_NONE);
      began = rfl_login_throttle_add_failure (f->throttle, "192.0.2.7", 0, email);
    }
  g_assert_cmpuint (began, ==, RFL_LOGIN_LIMIT_CLIENT);

  g_assert_cmpuint (check (f, "192.0.2.7", 0, "someone@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_CLIENT);
  g_assert_cmpuint (retry_after, ==, 15 * 60);
  g_assert_cmpuint (check (f, "192.0.2.8", 0, "someone@example.org", NULL), ==,
                    RFL_LOGIN_LIMIT_NONE);

  rfl_login_throttle_add_success (f->throttle, 0, "user0@example.org");
  g_assert_cmpuint (check (f, "192.0.2.7", 0, "user0@example.org", NULL), ==,
                    RFL_LOGIN_LIMIT_CLIENT);

  f->now += 15 * MINUTE_US;
  g_assert_cmpuint (check (f, "192.0.2.7", 0, "user0@example.org", NULL), ==,
                    RFL_LOGIN_LIMIT_NONE);
}

/* Both limits at once: the wait is the longer one. */
static void
test_both (Fixture       *f,
           gconstpointer  data)
{
  guint retry_after = 0;

  for (guint i = 0; i < 4; i++)
    rfl_login_throttle_add_failure (f->throttle, "192.0.2.1", 0, "other@example.org");
  f->now += 2 * MINUTE_US;
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *client = g_strdup_printf ("198.51.100.%u", i);

      rfl_login_throttle_add_failure (f->throttle, client, 3, "ann@example.org");
    }
  g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, "192.0.2.1", 3,
                                                    "ann@example.org"),
                    ==, RFL_LOGIN_LIMIT_CLIENT | RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (check (f, "192.0.2.1", 3, "ann@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_CLIENT | RFL_LOGIN_LIMIT_ACCOUNT);
  /* The client's oldest failure is 2 minutes older than the account's. */
  g_assert_cmpuint (retry_after, ==, 15 * 60);
  f->now += 13 * MINUTE_US;
  g_assert_cmpuint (check (f, "192.0.2.1", 3, "ann@example.org", &retry_after), ==,
                    RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (retry_after, ==, 2 * 60);
}

/* A success forgets the account's failures: five more are needed. */
static void
test_success_resets (Fixture       *f,
                     gconstpointer  data)
{
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *client = g_strdup_printf ("10.1.0.%u", i);

      rfl_login_throttle_add_failure (f->throttle, client, 1, "ann@example.org");
    }
  rfl_login_throttle_add_success (f->throttle, 1, "ANN@example.org");

  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *client = g_strdup_printf ("10.2.0.%u", i);

      g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, client, 1,
                                                        "ann@example.org"),
                        ==, RFL_LOGIN_LIMIT_NONE);
    }
  g_assert_cmpuint (check (f, "10.3.0.1", 1, "ann@example.org", NULL), ==,
                    RFL_LOGIN_LIMIT_NONE);
  g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, "10.3.0.1", 1,
                                                    "ann@example.org"),
                    ==, RFL_LOGIN_LIMIT_ACCOUNT);
}

/* Failures spread over more than the window never lock anyone out. */
static void
test_sliding_window (Fixture       *f,
                     gconstpointer  data)
{
  for (guint i = 0; i < 20; i++)
    {
      g_assert_cmpuint (rfl_login_throttle_add_failure (f->throttle, "10.0.0.1", 1,
                                                        "ann@example.org"),
                        ==, RFL_LOGIN_LIMIT_NONE);
      g_assert_cmpuint (check (f, "10.0.0.1", 1, "ann@example.org", NULL), ==,
                        RFL_LOGIN_LIMIT_NONE);
      f->now += 4 * MINUTE_US;
    }
}

/* Entries without recent failures are swept away as the table grows. */
static void
test_sweep (Fixture       *f,
            gconstpointer  data)
{
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *client = g_strdup_printf ("10.9.%u.%u", i / 256, i % 256);

      rfl_login_throttle_add_failure (f->throttle, client, 1, "ann@example.org");
    }
  /* 2000 clients and the account. */
  g_assert_cmpuint (rfl_login_throttle_get_size (f->throttle), ==, 2001);

  f->now += 16 * MINUTE_US;
  rfl_login_throttle_add_failure (f->throttle, "10.10.0.1", 1, "bob@example.org");
  g_assert_cmpuint (rfl_login_throttle_get_size (f->throttle), ==, 2);
}

static void
test_default_clock (void)
{
  g_autoptr(RflLoginThrottle) throttle = rfl_login_throttle_new (2, 60);
  guint retry_after = 0;

  g_assert_cmpuint (rfl_login_throttle_get_max_failures (throttle), ==, 2);
  g_assert_cmpuint (rfl_login_throttle_get_window (throttle), ==, 60);
  rfl_login_throttle_add_failure (throttle, "::1", 0, "a@example.org");
  g_assert_cmpuint (rfl_login_throttle_add_failure (throttle, "::1", 0, "a@example.org"),
                    ==, RFL_LOGIN_LIMIT_CLIENT | RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (rfl_login_throttle_check (throttle, "::1", 0, "a@example.org",
                                              &retry_after),
                    ==, RFL_LOGIN_LIMIT_CLIENT | RFL_LOGIN_LIMIT_ACCOUNT);
  g_assert_cmpuint (retry_after, >=, 59);
  g_assert_cmpuint (retry_after, <=, 60);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(name, func) \
  g_test_add ("/rfl/login-throttle/" name, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("account-lockout", test_account_lockout);
  ADD ("client-lockout", test_client_lockout);
  ADD ("both", test_both);
  ADD ("success-resets", test_success_resets);
  ADD ("sliding-window", test_sliding_window);
  ADD ("sweep", test_sweep);
  g_test_add_func ("/rfl/login-throttle/default-clock", test_default_clock);

#undef ADD

  return g_test_run ();
}
