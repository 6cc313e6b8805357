/* rfl-wizard-database-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RFL_TYPE_WIZARD_DATABASE_PAGE (rfl_wizard_database_page_get_type ())
G_DECLARE_FINAL_TYPE (RflWizardDatabasePage, rfl_wizard_database_page,
                      RFL, WIZARD_DATABASE_PAGE, AdwBin)

void        rfl_wizard_database_page_set_data_dir       (RflWizardDatabasePage *self,
                                                         const char            *data_dir);
const char *rfl_wizard_database_page_get_data_dir       (RflWizardDatabasePage *self);
/* Field checks; shows inline errors and focuses the first wrong field.
 * The data folder check runs on a worker thread: while it runs the page
 * is not yet valid and "data-dir-checked" is emitted when it ends. */
gboolean    rfl_wizard_database_page_validate           (RflWizardDatabasePage *self);
gboolean    rfl_wizard_database_page_get_checking       (RflWizardDatabasePage *self);
void        rfl_wizard_database_page_focus_first        (RflWizardDatabasePage *self);

/* Trimmed copies of the fields. */
char       *rfl_wizard_database_page_dup_tenant_name    (RflWizardDatabasePage *self);
char       *rfl_wizard_database_page_dup_admin_name     (RflWizardDatabasePage *self);
char       *rfl_wizard_database_page_dup_admin_email    (RflWizardDatabasePage *self);
char       *rfl_wizard_database_page_dup_admin_password (RflWizardDatabasePage *self);

G_END_DECLS
