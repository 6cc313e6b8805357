/* rfl-wizard-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "rfl-wizard.h"

#include "core/rfl-use-case.h"
#include "llm/rfl-provider.h"
#include "rfl-wizard-database-page.h"
#include "rfl-wizard-hardware-page.h"
#include "rfl-wizard-provider-page.h"
#include "rfl-wizard-summary-page.h"
#include "rfl-wizard-use-case-page.h"

G_BEGIN_DECLS

/* Everything the pages collected, as the summary shows it and Finish
 * applies it. All strings owned. */
struct _RflWizardChoices
{
  gboolean            has_recommendation;
  RflModelClass       model_class;
  char               *recommendation_reason;

  RflUseCase          use_case;
  gboolean            local_only;
  RflRedaction        redaction;
  guint               retention_days;

  RflProviderKind     provider;
  char               *url;
  char               *model;
  char               *api_key;
  RflWizardKeyStorage key_storage;

  char               *data_dir;
  char               *tenant_name;
  char               *admin_name;
  char               *admin_email;
  char               *admin_password;
};

void       _rfl_wizard_choices_free        (RflWizardChoices *choices);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflWizardChoices, _rfl_wizard_choices_free)

/* For tests: the page widgets, and whether Finish is running. */
GtkWidget *_rfl_wizard_get_page_widget     (RflWizard        *self,
                                            RflWizardPage     page);
gboolean   _rfl_wizard_get_finishing       (RflWizard        *self);
/* The names of the Ollama models listed on the provider page. */
GStrv      _rfl_wizard_provider_page_dup_listed_models (RflWizardProviderPage *self);
gboolean   _rfl_wizard_provider_page_get_busy          (RflWizardProviderPage *self);
void       _rfl_wizard_provider_page_select_model      (RflWizardProviderPage *self,
                                                        const char            *model);

G_END_DECLS
