/* test-use-case.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "core/rfl-use-case.h"

static void
test_presets (void)
{
  const RflUseCasePreset *health = rfl_use_case_get_preset (RFL_USE_CASE_HEALTHCARE);
  const RflUseCasePreset *privacy = rfl_use_case_get_preset (RFL_USE_CASE_PRIVACY);
  const RflUseCasePreset *business = rfl_use_case_get_preset (RFL_USE_CASE_BUSINESS);

  g_assert_true (health->local_only);
  g_assert_cmpint (health->redaction, ==, RFL_REDACTION_STRICT);
  g_assert_true (privacy->local_only);
  g_assert_cmpint (privacy->redaction, ==, RFL_REDACTION_STRICT);
  g_assert_false (business->local_only);
  g_assert_cmpuint (health->audit_retention_days, >, business->audit_retention_days);
}

static void
test_round_trip (void)
{
  for (guint i = 0; i < RFL_N_USE_CASES; i++)
    {
      RflUseCase parsed;

      g_assert_true (rfl_use_case_from_string (rfl_use_case_to_string (i), &parsed));
      g_assert_cmpuint (parsed, ==, i);
      g_assert_nonnull (rfl_use_case_get_title (i));
      g_assert_nonnull (rfl_use_case_get_description (i));
    }

  for (guint i = RFL_REDACTION_OFF; i <= RFL_REDACTION_STRICT; i++)
    {
      RflRedaction parsed;

      g_assert_true (rfl_redaction_from_string (rfl_redaction_to_string (i), &parsed));
      g_assert_cmpuint (parsed, ==, i);
    }
}

static void
test_unknown (void)
{
  RflUseCase use_case = RFL_USE_CASE_BUSINESS;
  RflRedaction redaction = RFL_REDACTION_OFF;

  g_assert_false (rfl_use_case_from_string ("Healthcare", &use_case));
  g_assert_false (rfl_use_case_from_string (NULL, &use_case));
  g_assert_false (rfl_redaction_from_string ("maximum", &redaction));
  g_assert_cmpint (use_case, ==, RFL_USE_CASE_BUSINESS);
  g_assert_cmpint (redaction, ==, RFL_REDACTION_OFF);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/use-case/presets", test_presets);
  g_test_add_func ("/rfl/use-case/round-trip", test_round_trip);
  g_test_add_func ("/rfl/use-case/unknown", test_unknown);

  return g_test_run ();
}
