/* rfl-wizard-hardware-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "sysinfo/rfl-sysinfo.h"

G_BEGIN_DECLS

#define RFL_TYPE_WIZARD_HARDWARE_PAGE (rfl_wizard_hardware_page_get_type ())
G_DECLARE_FINAL_TYPE (RflWizardHardwarePage, rfl_wizard_hardware_page,
                      RFL, WIZARD_HARDWARE_PAGE, AdwBin)

/* Reads the machine on a worker thread and checks whether Ollama answers
 * at @ollama_url; emits "probed" when both are known. */
void          rfl_wizard_hardware_page_probe              (RflWizardHardwarePage  *self,
                                                           const char             *root,
                                                           const char             *data_dir,
                                                           const char             *ollama_url);
gboolean      rfl_wizard_hardware_page_get_busy           (RflWizardHardwarePage  *self);
/* FALSE until a probe succeeded. @reason is borrowed. */
gboolean      rfl_wizard_hardware_page_get_recommendation (RflWizardHardwarePage  *self,
                                                           RflModelClass          *model_class,
                                                           const char            **reason);

G_END_DECLS
