/* test-admin-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <adwaita.h>

#include "service/rfl-service-admin.h"
#include "store/rfl-database.h"
#include "ui/rfl-admin-page.h"

typedef struct
{
  RflService   *service;
  RflIdentity   root;
  GtkWindow    *window;
  RflAdminPage *page;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "ui.db", NULL);
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;

  db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->root.tenant_id = rfl_database_create_tenant (db, "Operations", NULL, &error);
  g_assert_no_error (error);
  rfl_database_create_tenant (db, "Acme", "business", &error);
  g_assert_no_error (error);
  rfl_database_create_tenant (db, "Beta Clinic", "healthcare", &error);
  g_assert_no_error (error);
  fixture->root.user_id = rfl_database_create_user (db, fixture->root.tenant_id,
                                                    "root@ops.test", "Root",
                                                    "password-root",
                                                    RFL_ROLE_SYSTEM_ADMIN, &error);
  g_assert_no_error (error);
  g_clear_object (&db);

  fixture->service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);

  fixture->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (fixture->window, 1000, 700);
  fixture->page = RFL_ADMIN_PAGE (rfl_admin_page_new ());
  gtk_window_set_child (fixture->window, GTK_WIDGET (fixture->page));
  gtk_window_present (fixture->window);
  rfl_admin_page_set_service (fixture->page, fixture->service, fixture->root);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  gtk_window_destroy (fixture->window);
  rfl_service_shutdown (fixture->service);
  g_clear_object (&fixture->service);
}

static gboolean
timeout_cb (gpointer data)
{
  g_error ("Timed out waiting for %s", (const char *) data);
  return G_SOURCE_REMOVE;
}

#define WAIT_FOR(cond) \
  G_STMT_START { \
    guint id_ = g_timeout_add_seconds (10, timeout_cb, (gpointer) #cond); \
    while (!(cond)) \
      g_main_context_iteration (NULL, TRUE); \
    g_source_remove (id_); \
  } G_STMT_END

static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_named (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static AdwMessageDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* The tenant's status as the service has it. */
static char *
dup_status (Fixture    *fixture,
            const char *name)
{
  RflAdminRequest request = { RFL_ADMIN_LIST_TENANTS };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RflAdminResult) tenants = NULL;
  g_autoptr(GError) error = NULL;

  rfl_service_admin_async (fixture->service, fixture->root, &request, NULL,
                           done_cb, &result);
  WAIT_FOR (result != NULL);
  tenants = rfl_service_admin_finish (fixture->service, result, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < tenants->items->len; i++)
    {
      RflAdminTenant *tenant = g_ptr_array_index (tenants->items, i);

      if (g_str_equal (tenant->name, name))
        return g_strdup (tenant->status);
    }
  return NULL;
}

static void
test_lists_and_searches (Fixture       *fixture,
                         gconstpointer  data)
{
  GtkWidget *search = find_named (GTK_WIDGET (fixture->page), "GtkSearchEntry");

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  g_assert_nonnull (search);

  gtk_editable_set_text (GTK_EDITABLE (search), "CLINIC");
  g_assert_cmpuint (rfl_admin_page_get_n_visible (fixture->page), ==, 1);
  gtk_editable_set_text (GTK_EDITABLE (search), "nothing like it");
  g_assert_cmpuint (rfl_admin_page_get_n_visible (fixture->page), ==, 0);
  gtk_editable_set_text (GTK_EDITABLE (search), "");
  g_assert_cmpuint (rfl_admin_page_get_n_visible (fixture->page), ==, 3);
}

static void
test_create_through_dialog (Fixture       *fixture,
                            gconstpointer  data)
{
  GtkWidget *button = find_named (GTK_WIDGET (fixture->page), "new-tenant-button");
  AdwMessageDialog *dialog;
  GtkWidget *entry;
  g_autofree char *status = NULL;

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  dialog = find_dialog ();
  g_assert_nonnull (dialog);

  entry = adw_message_dialog_get_extra_child (dialog);
  gtk_editable_set_text (GTK_EDITABLE (entry), "Gamma Labs");
  adw_message_dialog_response (dialog, "create");

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 4);
  status = dup_status (fixture, "Gamma Labs");
  g_assert_cmpstr (status, ==, "active");
}

static void
test_suspend_asks (Fixture       *fixture,
                   gconstpointer  data)
{
  GtkWidget *button = NULL;
  AdwMessageDialog *dialog;
  g_autofree char *before = NULL;
  char *after = NULL;

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Acme"));
  WAIT_FOR ((button = find_named (GTK_WIDGET (fixture->page), "suspend-button")) != NULL);

  g_signal_emit_by_name (button, "clicked");
  dialog = find_dialog ();
  g_assert_nonnull (dialog);

  /* Nothing happens before the answer. */
  before = dup_status (fixture, "Acme");
  g_assert_cmpstr (before, ==, "active");

  adw_message_dialog_response (dialog, "confirm");
  while (g_strcmp0 (after, "suspended") != 0)
    {
      g_free (after);
      g_main_context_iteration (NULL, FALSE);
      after = dup_status (fixture, "Acme");
    }
  g_free (after);
}

static void
test_rename (Fixture       *fixture,
             gconstpointer  data)
{
  GtkWidget *entry = NULL;
  char *status = NULL;

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Acme"));
  WAIT_FOR ((entry = find_named (GTK_WIDGET (fixture->page), "tenant-name")) != NULL);

  gtk_editable_set_text (GTK_EDITABLE (entry), "Acme Corporation");
  g_signal_emit_by_name (entry, "apply");
  while (status == NULL)
    {
      g_main_context_iteration (NULL, FALSE);
      status = dup_status (fixture, "Acme Corporation");
    }
  g_free (status);

  /* The list follows. */
  WAIT_FOR (rfl_admin_page_select_tenant (fixture->page, "Acme Corporation"));
}

static gboolean
tool_enabled (Fixture    *fixture,
              gint64      tenant_id,
              const char *name)
{
  RflAdminRequest request = { RFL_ADMIN_LIST_TOOLS, tenant_id };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RflAdminResult) tools = NULL;
  g_autoptr(GError) error = NULL;

  rfl_service_admin_async (fixture->service, fixture->root, &request, NULL,
                           done_cb, &result);
  WAIT_FOR (result != NULL);
  tools = rfl_service_admin_finish (fixture->service, result, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < tools->items->len; i++)
    {
      RflToolPermission *tool = g_ptr_array_index (tools->items, i);

      if (g_str_equal (tool->tool, name))
        return tool->enabled;
    }
  g_assert_not_reached ();
}

static void
test_tool_switch (Fixture       *fixture,
                  gconstpointer  data)
{
  GtkWidget *sw = NULL;

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Operations"));
  WAIT_FOR ((sw = find_named (GTK_WIDGET (fixture->page), "web_fetch")) != NULL);
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (sw)));
  g_assert_false (tool_enabled (fixture, fixture->root.tenant_id, "web_fetch"));

  gtk_switch_set_active (GTK_SWITCH (sw), TRUE);
  WAIT_FOR (tool_enabled (fixture, fixture->root.tenant_id, "web_fetch"));
}

int
main (int   argc,
      char *argv[])
{
  gboolean uncertain;

  gtk_init ();
  adw_init ();
  g_free (g_content_type_guess ("icon.svg", (const guchar *) "<svg", 4, &uncertain));
  gtk_icon_theme_get_for_display (gdk_display_get_default ());

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/rfl/admin-page/" path, Fixture, NULL, fixture_set_up, \
              func, fixture_tear_down)
  ADD ("lists-and-searches", test_lists_and_searches);
  ADD ("create-through-dialog", test_create_through_dialog);
  ADD ("suspend-asks", test_suspend_asks);
  ADD ("tool-switch", test_tool_switch);
  ADD ("rename", test_rename);
#undef ADD

  return g_test_run ();
}
