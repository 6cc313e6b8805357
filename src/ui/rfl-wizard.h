/* rfl-wizard.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RFL_TYPE_WIZARD (rfl_wizard_get_type ())
G_DECLARE_FINAL_TYPE (RflWizard, rfl_wizard, RFL, WIZARD, AdwWindow)

typedef enum
{
  RFL_WIZARD_PAGE_HARDWARE,
  RFL_WIZARD_PAGE_USE_CASE,
  RFL_WIZARD_PAGE_PROVIDER,
  RFL_WIZARD_PAGE_DATABASE,
  RFL_WIZARD_PAGE_SUMMARY,
} RflWizardPage;

#define RFL_WIZARD_N_PAGES 5

/* @settings is the application's GSettings (org.reflection.Reflection);
 * the wizard writes it only on Finish. @sysinfo_root is "/" except in tests
 * (fake /proc and /sys trees). Emits "finished" after a successful Finish. */
RflWizard    *rfl_wizard_new            (GtkApplication *application,
                                         GSettings      *settings,
                                         const char     *sysinfo_root);

RflWizardPage rfl_wizard_get_page       (RflWizard      *self);
/* Jumps to a page without validation: for the screenshot tool and tests. */
void          rfl_wizard_set_page       (RflWizard      *self,
                                         RflWizardPage   page);
/* Stable names for screenshots: "hardware", "use-case", … */
const char   *rfl_wizard_page_get_name  (RflWizardPage   page);

G_END_DECLS
