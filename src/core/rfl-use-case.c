/* rfl-use-case.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-use-case.h"

#include <glib/gi18n.h>

/* Healthcare and Privacy keep everything local, redact strictly and keep
 * the audit trail long (six years covers HIPAA's retention rule); Business
 * may use cloud providers. Custom starts from the most permissive choice and
 * expects the user to decide. */
static const RflUseCasePreset presets[RFL_N_USE_CASES] = {
  { RFL_USE_CASE_HEALTHCARE, TRUE,  RFL_REDACTION_STRICT,   2190 },
  { RFL_USE_CASE_BUSINESS,   FALSE, RFL_REDACTION_STANDARD,  365 },
  { RFL_USE_CASE_PRIVACY,    TRUE,  RFL_REDACTION_STRICT,   2190 },
  { RFL_USE_CASE_CUSTOM,     FALSE, RFL_REDACTION_STANDARD,   90 },
};

static const char * const use_case_ids[RFL_N_USE_CASES] = {
  "healthcare", "business", "privacy", "custom",
};

static const char * const use_case_icons[RFL_N_USE_CASES] = {
  "rfl-healthcare-symbolic",
  "rfl-business-symbolic",
  "rfl-privacy-symbolic",
  "rfl-custom-symbolic",
};

static const char * const redaction_ids[] = { "off", "standard", "strict" };

const RflUseCasePreset *
rfl_use_case_get_preset (RflUseCase use_case)
{
  g_return_val_if_fail (use_case < RFL_N_USE_CASES, NULL);

  return &presets[use_case];
}

const char *
rfl_use_case_to_string (RflUseCase use_case)
{
  g_return_val_if_fail (use_case < RFL_N_USE_CASES, NULL);

  return use_case_ids[use_case];
}

gboolean
rfl_use_case_from_string (const char *str,
                          RflUseCase *out)
{
  for (guint i = 0; str != NULL && i < RFL_N_USE_CASES; i++)
    {
      if (g_str_equal (str, use_case_ids[i]))
        {
          *out = (RflUseCase) i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_use_case_get_title (RflUseCase use_case)
{
  switch (use_case)
    {
    case RFL_USE_CASE_HEALTHCARE:
      return _("Healthcare");
    case RFL_USE_CASE_BUSINESS:
      return _("Business");
    case RFL_USE_CASE_PRIVACY:
      return _("Privacy");
    case RFL_USE_CASE_CUSTOM:
      return _("Custom");
    default:
      g_return_val_if_reached (NULL);
    }
}

const char *
rfl_use_case_get_description (RflUseCase use_case)
{
  switch (use_case)
    {
    case RFL_USE_CASE_HEALTHCARE:
      return _("Patient data stays on this computer, with strict redaction");
    case RFL_USE_CASE_BUSINESS:
      return _("Teams and customers, with cloud models allowed");
    case RFL_USE_CASE_PRIVACY:
      return _("Nothing leaves this computer, nothing personal is logged");
    case RFL_USE_CASE_CUSTOM:
      return _("Choose every setting yourself");
    default:
      g_return_val_if_reached (NULL);
    }
}

const char *
rfl_use_case_get_icon_name (RflUseCase use_case)
{
  g_return_val_if_fail (use_case < RFL_N_USE_CASES, NULL);

  return use_case_icons[use_case];
}

const char *
rfl_redaction_to_string (RflRedaction redaction)
{
  g_return_val_if_fail (redaction <= RFL_REDACTION_STRICT, NULL);

  return redaction_ids[redaction];
}

gboolean
rfl_redaction_from_string (const char   *str,
                           RflRedaction *out)
{
  for (guint i = 0; str != NULL && i < G_N_ELEMENTS (redaction_ids); i++)
    {
      if (g_str_equal (str, redaction_ids[i]))
        {
          *out = (RflRedaction) i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_redaction_get_title (RflRedaction redaction)
{
  switch (redaction)
    {
    case RFL_REDACTION_OFF:
      return _("Off");
    case RFL_REDACTION_STANDARD:
      return _("Standard");
    case RFL_REDACTION_STRICT:
      return _("Strict");
    default:
      g_return_val_if_reached (NULL);
    }
}
