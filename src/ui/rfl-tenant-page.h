/* rfl-tenant-page.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "service/rfl-service-admin.h"

G_BEGIN_DECLS

#define RFL_TYPE_TENANT_PAGE (rfl_tenant_page_get_type ())
G_DECLARE_FINAL_TYPE (RflTenantPage, rfl_tenant_page, RFL, TENANT_PAGE, GtkWidget)

/* One tenant: Overview, Users, API Keys, Quotas, Tools and Audit in an
 * AdwViewStack. Emits "changed" after a change to the tenant itself
 * (suspended, resumed, deleted). */
GtkWidget *rfl_tenant_page_new        (void);
void       rfl_tenant_page_set_tenant (RflTenantPage        *self,
                                       RflService           *service,
                                       RflIdentity           identity,
                                       const RflAdminTenant *tenant);
/* Shows the view named "overview", "users", "api-keys", "quotas", "tools"
 * or "audit". */
void       rfl_tenant_page_set_view   (RflTenantPage        *self,
                                       const char           *name);
/* Saves the audit entries of the current filter to @file as CSV, through
 * the service, and tells the result in a toast. Export CSV… asks for the
 * file and calls this. */
void       rfl_tenant_page_export_audit (RflTenantPage      *self,
                                         GFile              *file);

G_END_DECLS
