/* rfl-wizard-provider-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "llm/rfl-provider.h"

G_BEGIN_DECLS

#define RFL_TYPE_WIZARD_PROVIDER_PAGE (rfl_wizard_provider_page_get_type ())
G_DECLARE_FINAL_TYPE (RflWizardProviderPage, rfl_wizard_provider_page,
                      RFL, WIZARD_PROVIDER_PAGE, AdwBin)

/* How the API key will be kept once the wizard finishes. */
typedef enum
{
  RFL_WIZARD_KEY_NONE,
  RFL_WIZARD_KEY_KEYRING,
  RFL_WIZARD_KEY_SESSION,
} RflWizardKeyStorage;

void                rfl_wizard_provider_page_load             (RflWizardProviderPage *self,
                                                               GSettings             *settings);
/* Called each time the page is shown: checks the keyring once and tests
 * the connection when it was not tested yet. */
void                rfl_wizard_provider_page_enter            (RflWizardProviderPage *self);
void                rfl_wizard_provider_page_set_local_only   (RflWizardProviderPage *self,
                                                               gboolean               local_only);
/* The model offered for download, e.g. "llama3.1:8b". */
void                rfl_wizard_provider_page_set_recommended  (RflWizardProviderPage *self,
                                                               const char            *model);
/* Shows inline errors and returns FALSE when the page cannot be left. */
gboolean            rfl_wizard_provider_page_validate         (RflWizardProviderPage *self);
void                rfl_wizard_provider_page_focus_first      (RflWizardProviderPage *self);

RflProviderKind     rfl_wizard_provider_page_get_kind         (RflWizardProviderPage *self);
/* The URL as typed, trimmed; newly allocated. */
char               *rfl_wizard_provider_page_dup_url          (RflWizardProviderPage *self);
const char         *rfl_wizard_provider_page_get_model        (RflWizardProviderPage *self);
/* NULL for Ollama or when no key was entered; newly allocated. */
char               *rfl_wizard_provider_page_dup_api_key      (RflWizardProviderPage *self);
RflWizardKeyStorage rfl_wizard_provider_page_get_key_storage  (RflWizardProviderPage *self);

G_END_DECLS
