/* rfl-use-case.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  RFL_USE_CASE_HEALTHCARE,
  RFL_USE_CASE_BUSINESS,
  RFL_USE_CASE_PRIVACY,
  RFL_USE_CASE_CUSTOM,
} RflUseCase;

#define RFL_N_USE_CASES 4

typedef enum
{
  RFL_REDACTION_OFF,
  RFL_REDACTION_STANDARD,
  RFL_REDACTION_STRICT,
} RflRedaction;

/* What a use case sets by default; the wizard shows these and the user may
 * still change each of them. */
typedef struct
{
  RflUseCase   use_case;
  gboolean     local_only;            /* inference never leaves the machine */
  RflRedaction redaction;             /* PII redaction before storage/logs */
  guint        audit_retention_days;
} RflUseCasePreset;

const RflUseCasePreset *rfl_use_case_get_preset   (RflUseCase     use_case);

/* Stable identifiers for settings and the database: "healthcare", … */
const char             *rfl_use_case_to_string    (RflUseCase     use_case);
gboolean                rfl_use_case_from_string  (const char    *str,
                                                   RflUseCase    *out);

/* Translated names and one-line descriptions for the UI. */
const char             *rfl_use_case_get_title       (RflUseCase  use_case);
const char             *rfl_use_case_get_description (RflUseCase  use_case);
const char             *rfl_use_case_get_icon_name   (RflUseCase  use_case);

const char             *rfl_redaction_to_string   (RflRedaction   redaction);
gboolean                rfl_redaction_from_string (const char    *str,
                                                   RflRedaction  *out);
const char             *rfl_redaction_get_title   (RflRedaction   redaction);

G_END_DECLS
