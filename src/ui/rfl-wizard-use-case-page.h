/* rfl-wizard-use-case-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "core/rfl-use-case.h"

G_BEGIN_DECLS

#define RFL_TYPE_WIZARD_USE_CASE_PAGE (rfl_wizard_use_case_page_get_type ())
G_DECLARE_FINAL_TYPE (RflWizardUseCasePage, rfl_wizard_use_case_page,
                      RFL, WIZARD_USE_CASE_PAGE, AdwBin)

/* Shows the use case stored in @settings. When @keep_values is TRUE (a
 * re-run) the stored local-only, redaction and retention values are shown;
 * otherwise the use case's preset. */
void         rfl_wizard_use_case_page_load               (RflWizardUseCasePage *self,
                                                          GSettings            *settings,
                                                          gboolean              keep_values);
/* Selects a card and applies its preset to the rows below. */
void         rfl_wizard_use_case_page_set_use_case       (RflWizardUseCasePage *self,
                                                          RflUseCase            use_case);
RflUseCase   rfl_wizard_use_case_page_get_use_case       (RflWizardUseCasePage *self);
gboolean     rfl_wizard_use_case_page_get_local_only     (RflWizardUseCasePage *self);
void         rfl_wizard_use_case_page_set_local_only     (RflWizardUseCasePage *self,
                                                          gboolean              local_only);
RflRedaction rfl_wizard_use_case_page_get_redaction      (RflWizardUseCasePage *self);
guint        rfl_wizard_use_case_page_get_retention_days (RflWizardUseCasePage *self);
void         rfl_wizard_use_case_page_focus_first        (RflWizardUseCasePage *self);

G_END_DECLS
