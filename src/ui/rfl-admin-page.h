/* rfl-admin-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "service/rfl-service.h"

G_BEGIN_DECLS

#define RFL_TYPE_ADMIN_PAGE (rfl_admin_page_get_type ())
G_DECLARE_FINAL_TYPE (RflAdminPage, rfl_admin_page, RFL, ADMIN_PAGE, GtkWidget)

/* The administration console: a searchable list of tenants and, for the
 * one selected, its page. Every call is made as @identity. */
GtkWidget *rfl_admin_page_new          (void);
void       rfl_admin_page_set_service  (RflAdminPage *self,
                                        RflService   *service,
                                        RflIdentity   identity);
/* Reloads the tenants. */
void       rfl_admin_page_reload       (RflAdminPage *self);
/* The tenants shown after the search, for tests. */
guint      rfl_admin_page_get_n_visible (RflAdminPage *self);
/* Selects the tenant named @name; FALSE when there is none. */
gboolean   rfl_admin_page_select_tenant (RflAdminPage *self,
                                         const char   *name);

/* Shows a view of the selected tenant's page (see rfl_tenant_page_set_view()). */
void       rfl_admin_page_show_view     (RflAdminPage *self,
                                         const char   *name);

G_END_DECLS
