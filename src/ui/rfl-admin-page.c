/* rfl-admin-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-admin-page.h"

#include <glib/gi18n.h>
#include <string.h>

#include "rfl-prices-window.h"
#include "rfl-tenant-page.h"
#include "service/rfl-service-admin.h"

struct _RflAdminPage
{
  GtkWidget        parent_instance;

  RflService      *service;       /* owned */
  RflIdentity      identity;
  GPtrArray       *tenants;       /* owned: RflAdminTenant*, as listed */
  gint64           selected_id;
  GCancellable    *cancellable;   /* owned */

  /* Template children. */
  AdwToastOverlay *toasts;
  AdwLeaflet      *leaflet;
  GtkSearchEntry  *search_entry;
  GtkListBox      *tenant_list;
  GtkStack        *content_stack;
  AdwStatusPage   *empty_page;
  RflTenantPage   *tenant_page;
};

G_DEFINE_FINAL_TYPE (RflAdminPage, rfl_admin_page, GTK_TYPE_WIDGET)

static gboolean
tenant_matches (RflAdminPage         *self,
                const RflAdminTenant *tenant)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autofree char *needle = NULL;
  g_autofree char *haystack = NULL;

  if (text == NULL || *text == '\0')
    return TRUE;

  needle = g_utf8_casefold (text, -1);
  haystack = g_utf8_casefold (tenant->name, -1);
  return strstr (haystack, needle) != NULL;
}

static gboolean
filter_func (GtkListBoxRow *row,
             gpointer       user_data)
{
  RflAdminPage *self = user_data;
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "index"));

  if (self->tenants == NULL || index >= self->tenants->len)
    return FALSE;
  return tenant_matches (self, g_ptr_array_index (self->tenants, index));
}

static void
search_changed_cb (RflAdminPage *self)
{
  gtk_list_box_invalidate_filter (self->tenant_list);
}

static char *
tenant_subtitle (const RflAdminTenant *tenant)
{
  const char *status = _("Active");

  if (g_str_equal (tenant->status, "suspended"))
    status = _("Suspended");
  else if (g_str_equal (tenant->status, "deleted"))
    status = _("Deleted");

  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · %u user",
                                       "%s · %u users", tenant->n_users),
                          status, tenant->n_users);
}

static void
show_tenants (RflAdminPage *self)
{
  GtkWidget *child;
  GtkListBoxRow *select = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->tenant_list))))
    gtk_list_box_remove (self->tenant_list, child);

  for (guint i = 0; i < self->tenants->len; i++)
    {
      RflAdminTenant *tenant = g_ptr_array_index (self->tenants, i);
      g_autofree char *subtitle = tenant_subtitle (tenant);
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), tenant->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      g_object_set_data (G_OBJECT (row), "index", GUINT_TO_POINTER (i));
      gtk_list_box_append (self->tenant_list, row);
      if (tenant->id == self->selected_id)
        select = GTK_LIST_BOX_ROW (row);
    }

  if (select != NULL)
    gtk_list_box_select_row (self->tenant_list, select);
}

static void
list_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  g_autoptr(RflAdminPage) self = user_data;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_service_admin_finish (RFL_SERVICE (source), res, &error);
  if (result == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          adw_status_page_set_icon_name (self->empty_page,
                                         "dialog-warning-symbolic");
          adw_status_page_set_title (self->empty_page,
                                     _("Administration Is Not Available"));
          adw_status_page_set_description (self->empty_page, error->message);
          gtk_stack_set_visible_child_name (self->content_stack, "empty");
        }
      return;
    }

  g_clear_pointer (&self->tenants, g_ptr_array_unref);
  self->tenants = g_steal_pointer (&result->items);
  show_tenants (self);
}

void
rfl_admin_page_reload (RflAdminPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_LIST_TENANTS };

  g_return_if_fail (RFL_IS_ADMIN_PAGE (self));

  if (self->service == NULL)
    return;

  rfl_service_admin_async (self->service, self->identity, &request,
                           self->cancellable, list_done_cb, g_object_ref (self));
}

static void
row_selected_cb (RflAdminPage  *self,
                 GtkListBoxRow *row)
{
  RflAdminTenant *tenant;
  guint index;

  if (row == NULL || self->tenants == NULL)
    return;

  index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "index"));
  tenant = g_ptr_array_index (self->tenants, index);
  self->selected_id = tenant->id;
  rfl_tenant_page_set_tenant (self->tenant_page, self->service, self->identity,
                              tenant);
  gtk_stack_set_visible_child_name (self->content_stack, "tenant");
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
}

static void
tenant_changed_cb (RflAdminPage *self)
{
  rfl_admin_page_reload (self);
}

/* Creating a tenant ------------------------------------------------------ */

static void
create_done_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  g_autoptr(RflAdminPage) self = user_data;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_service_admin_finish (RFL_SERVICE (source), res, &error);
  if (result == NULL)
    {
      adw_toast_overlay_add_toast (self->toasts, adw_toast_new (error->message));
      return;
    }

  self->selected_id = result->id;
  rfl_admin_page_reload (self);
}

static void
new_tenant_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        RflAdminPage     *self)
{
  GtkWidget *entry = adw_message_dialog_get_extra_child (dialog);
  RflAdminRequest request = { RFL_ADMIN_CREATE_TENANT };

  if (!g_str_equal (response, "create") || self->service == NULL)
    return;

  request.name = gtk_editable_get_text (GTK_EDITABLE (entry));
  request.use_case = "custom";
  rfl_service_admin_async (self->service, self->identity, &request,
                           self->cancellable, create_done_cb,
                           g_object_ref (self));
}

static void
new_tenant_clicked_cb (RflAdminPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog, *entry;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("New Tenant"),
                                   _("A tenant is an organisation with its own "
                                     "users, assistant and data."));
  entry = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("Name"));
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "create", _("C_reate"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                              "create", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "create");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response",
                           G_CALLBACK (new_tenant_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Prices ------------------------------------------------------------------ */

static void
prices_saved_cb (RflAdminPage *self)
{
  adw_toast_overlay_add_toast (self->toasts,
                               adw_toast_new (_("Prices saved: calls from now on are metered at them")));
}

static void
prices_clicked_cb (RflAdminPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  RflPricesWindow *window;

  if (self->service == NULL)
    return;

  window = rfl_prices_window_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                  self->service, self->identity);
  g_signal_connect_object (window, "saved", G_CALLBACK (prices_saved_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (window));
}

/* Public ----------------------------------------------------------------- */

void
rfl_admin_page_set_service (RflAdminPage *self,
                            RflService   *service,
                            RflIdentity   identity)
{
  g_return_if_fail (RFL_IS_ADMIN_PAGE (self));
  g_return_if_fail (service == NULL || RFL_IS_SERVICE (service));

  g_set_object (&self->service, service);
  self->identity = identity;
  rfl_admin_page_reload (self);
}

guint
rfl_admin_page_get_n_visible (RflAdminPage *self)
{
  guint n = 0;

  g_return_val_if_fail (RFL_IS_ADMIN_PAGE (self), 0);

  for (guint i = 0; self->tenants != NULL && i < self->tenants->len; i++)
    if (tenant_matches (self, g_ptr_array_index (self->tenants, i)))
      n++;
  return n;
}

gboolean
rfl_admin_page_select_tenant (RflAdminPage *self,
                              const char   *name)
{
  g_return_val_if_fail (RFL_IS_ADMIN_PAGE (self), FALSE);

  for (guint i = 0; self->tenants != NULL && i < self->tenants->len; i++)
    {
      RflAdminTenant *tenant = g_ptr_array_index (self->tenants, i);

      if (g_str_equal (tenant->name, name))
        {
          gtk_list_box_select_row (self->tenant_list,
                                   gtk_list_box_get_row_at_index (self->tenant_list, i));
          return TRUE;
        }
    }
  return FALSE;
}

void
rfl_admin_page_show_view (RflAdminPage *self,
                          const char   *name)
{
  g_return_if_fail (RFL_IS_ADMIN_PAGE (self));

  rfl_tenant_page_set_view (self->tenant_page, name);
}

GtkWidget *
rfl_admin_page_new (void)
{
  return g_object_new (RFL_TYPE_ADMIN_PAGE, NULL);
}

static void
rfl_admin_page_dispose (GObject *object)
{
  RflAdminPage *self = RFL_ADMIN_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_ADMIN_PAGE);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->service);
  g_clear_pointer (&self->tenants, g_ptr_array_unref);

  G_OBJECT_CLASS (rfl_admin_page_parent_class)->dispose (object);
}

static void
rfl_admin_page_class_init (RflAdminPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_admin_page_dispose;

  g_type_ensure (RFL_TYPE_TENANT_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/reflection/Reflection/ui/rfl-admin-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, toasts);
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, leaflet);
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, tenant_list);
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, content_stack);
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, empty_page);
  gtk_widget_class_bind_template_child (widget_class, RflAdminPage, tenant_page);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, new_tenant_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, tenant_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, prices_clicked_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
rfl_admin_page_init (RflAdminPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  gtk_list_box_set_filter_func (self->tenant_list, filter_func, self, NULL);
}
