/* rfl-wizard-summary-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RFL_TYPE_WIZARD_SUMMARY_PAGE (rfl_wizard_summary_page_get_type ())
G_DECLARE_FINAL_TYPE (RflWizardSummaryPage, rfl_wizard_summary_page,
                      RFL, WIZARD_SUMMARY_PAGE, AdwBin)

typedef struct _RflWizardChoices RflWizardChoices;

void rfl_wizard_summary_page_show_choices (RflWizardSummaryPage   *self,
                                           const RflWizardChoices *choices);
/* The state of Finish: working, failed with @message, or done (with
 * @message as a note, e.g. that an existing tenant was kept). */
void rfl_wizard_summary_page_set_working  (RflWizardSummaryPage   *self,
                                           gboolean                working);
void rfl_wizard_summary_page_set_error    (RflWizardSummaryPage   *self,
                                           const char             *message);
void rfl_wizard_summary_page_set_note     (RflWizardSummaryPage   *self,
                                           const char             *message);

G_END_DECLS
