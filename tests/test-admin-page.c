/* test-admin-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "service/rfl-service-admin.h"
#include "store/rfl-database.h"
#include "ui/rfl-admin-page.h"
#include "ui/rfl-tenant-page.h"

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

  /* Its row says what the tool does, and warns. */
  {
    GtkWidget *row = gtk_widget_get_ancestor (sw, ADW_TYPE_ACTION_ROW);

    g_assert_nonnull (row);
    g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                     ==, "Fetch Web Pages");
    g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                              "trusted users"));
  }
  g_assert_false (tool_enabled (fixture, fixture->root.tenant_id, "web_fetch"));

  gtk_switch_set_active (GTK_SWITCH (sw), TRUE);
  WAIT_FOR (tool_enabled (fixture, fixture->root.tenant_id, "web_fetch"));
}

/* Runs one administration call as the system administrator. */
static RflAdminResult *
admin (Fixture         *fixture,
       RflAdminRequest *request)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  RflAdminResult *answer;

  rfl_service_admin_async (fixture->service, fixture->root, request, NULL,
                           done_cb, &result);
  WAIT_FOR (result != NULL);
  answer = rfl_service_admin_finish (fixture->service, result, &error);
  g_assert_no_error (error);
  return answer;
}

static gint64
tenant_id (Fixture    *fixture,
           const char *name)
{
  RflAdminRequest request = { RFL_ADMIN_LIST_TENANTS };
  g_autoptr(RflAdminResult) tenants = admin (fixture, &request);

  for (guint i = 0; i < tenants->items->len; i++)
    {
      RflAdminTenant *tenant = g_ptr_array_index (tenants->items, i);

      if (g_str_equal (tenant->name, name))
        return tenant->id;
    }
  g_assert_not_reached ();
}

static guint
count_children (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

/* The audit rows shown, or 0 while the empty state is. */
static guint
audit_rows (Fixture *fixture)
{
  GtkWidget *list = find_named (GTK_WIDGET (fixture->page), "audit-entries");
  GtkWidget *empty = find_named (GTK_WIDGET (fixture->page), "audit-empty");

  g_assert_nonnull (list);
  g_assert_nonnull (empty);
  g_assert_true (gtk_widget_get_visible (list) != gtk_widget_get_visible (empty));
  return gtk_widget_get_visible (list) ? count_children (list) : 0;
}

/* The audit log names actors of the tenant by email. */
static gboolean
first_audit_row_says (Fixture    *fixture,
                      const char *text)
{
  GtkWidget *list = find_named (GTK_WIDGET (fixture->page), "audit-entries");
  GtkWidget *row;

  if (list == NULL || !gtk_widget_get_visible (list)
      || (row = gtk_widget_get_first_child (list)) == NULL
      || !ADW_IS_ACTION_ROW (row))
    return FALSE;
  return strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), text) != NULL;
}

static void
test_audit_names_actors (Fixture       *fixture,
                         gconstpointer  data)
{
  RflAdminRequest request = { RFL_ADMIN_CREATE_USER, fixture->root.tenant_id };

  request.email = "erin@ops.test";
  request.password = "password-erin";
  rfl_admin_result_free (admin (fixture, &request));

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Operations"));
  WAIT_FOR (first_audit_row_says (fixture, "by root@ops.test"));
  /* The target "user:N" by email too. */
  WAIT_FOR (first_audit_row_says (fixture, "· erin@ops.test"));
  g_assert_false (first_audit_row_says (fixture, "user:"));
}

static void
test_audit_filter_and_export (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (),
                                            "export.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  const char * const emails[] = { "carol@acme.test", "dave@acme.test" };
  GtkWidget *search, *range, *action, *export, *page, *empty;
  g_autofree char *csv = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 acme;

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  acme = tenant_id (fixture, "Acme");

  /* Before anything happened: the empty state, and nothing to export. */
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Acme"));
  export = find_named (GTK_WIDGET (fixture->page), "audit-export-button");
  empty = find_named (GTK_WIDGET (fixture->page), "audit-empty");
  WAIT_FOR (gtk_widget_get_visible (empty)
            && adw_status_page_get_description (ADW_STATUS_PAGE (empty)) != NULL);
  g_assert_false (gtk_widget_get_sensitive (export));

  for (guint i = 0; i < G_N_ELEMENTS (emails); i++)
    {
      RflAdminRequest request = { RFL_ADMIN_CREATE_USER, acme };

      request.email = emails[i];
      request.password = "password-someone";
      rfl_admin_result_free (admin (fixture, &request));
    }
  {
    RflAdminRequest request = { RFL_ADMIN_SET_TOOL, acme };

    request.name = "calculator";
    request.enabled = FALSE;
    rfl_admin_result_free (admin (fixture, &request));
  }

  /* The page lists them once it reloads. */
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Operations"));
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Acme"));
  WAIT_FOR (audit_rows (fixture) == 3);
  g_assert_true (gtk_widget_get_sensitive (export));

  search = find_named (GTK_WIDGET (fixture->page), "audit-search");
  range = find_named (GTK_WIDGET (fixture->page), "audit-range");
  action = find_named (GTK_WIDGET (fixture->page), "audit-filter");
  page = find_named (GTK_WIDGET (fixture->page), "RflTenantPage");
  g_assert_nonnull (search);
  g_assert_nonnull (range);
  g_assert_nonnull (action);
  g_assert_nonnull (page);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (range)), ==, 3);

  /* Searching the target. */
  gtk_editable_set_text (GTK_EDITABLE (search), "CAROL");
  WAIT_FOR (audit_rows (fixture) == 1);
  gtk_editable_set_text (GTK_EDITABLE (search), "no such thing");
  WAIT_FOR (audit_rows (fixture) == 0);
  g_assert_false (gtk_widget_get_sensitive (export));
  g_assert_true (gtk_widget_get_visible (empty));
  gtk_editable_set_text (GTK_EDITABLE (search), "");
  WAIT_FOR (audit_rows (fixture) == 3);

  /* By action and time range: everything happened in the last day. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (range), 0);
  WAIT_FOR (audit_rows (fixture) == 3);
  for (guint i = 0; ; i++)
    {
      GListModel *model = adw_combo_row_get_model (ADW_COMBO_ROW (action));
      const char *text;

      g_assert_cmpuint (i, <, g_list_model_get_n_items (model));
      text = gtk_string_list_get_string (GTK_STRING_LIST (model), i);
      if (g_str_equal (text, "User created"))
        {
          adw_combo_row_set_selected (ADW_COMBO_ROW (action), i);
          break;
        }
    }
  WAIT_FOR (audit_rows (fixture) == 2);
  /* Rows say what happened in words; the export keeps the names. */
  {
    GtkWidget *list = find_named (GTK_WIDGET (fixture->page), "audit-entries");

    for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL;
         row = gtk_widget_get_next_sibling (row))
      g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                       ==, "User created");
  }

  /* The export holds exactly what is shown. */
  rfl_tenant_page_export_audit (RFL_TENANT_PAGE (page), file);
  WAIT_FOR (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (path, &csv, NULL, NULL));
  lines = g_strsplit (csv, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_nonnull (strstr (lines[1], ",user_created,carol@acme.test,"));
  g_assert_nonnull (strstr (lines[2], ",user_created,dave@acme.test,"));
}

static RflApiScopes
last_key_scopes (Fixture *fixture,
                 gint64   tenant)
{
  RflAdminRequest request = { RFL_ADMIN_LIST_API_KEYS, tenant };
  g_autoptr(RflAdminResult) keys = admin (fixture, &request);

  if (keys->items->len == 0)
    return 0;
  return ((RflApiKey *) g_ptr_array_index (keys->items, 0))->scopes;
}

static void
test_key_scopes (Fixture       *fixture,
                 gconstpointer  data)
{
  GtkWidget *chat = NULL, *read, *admin_scope, *create;
  AdwMessageDialog *dialog = NULL;
  gint64 acme;

  WAIT_FOR (rfl_admin_page_get_n_visible (fixture->page) == 3);
  acme = tenant_id (fixture, "Acme");
  g_assert_true (rfl_admin_page_select_tenant (fixture->page, "Acme"));
  WAIT_FOR ((chat = find_named (GTK_WIDGET (fixture->page), "scope-chat")) != NULL);
  read = find_named (GTK_WIDGET (fixture->page), "scope-read");
  admin_scope = find_named (GTK_WIDGET (fixture->page), "scope-admin");
  create = find_named (GTK_WIDGET (fixture->page), "create-key-button");
  g_assert_nonnull (find_named (GTK_WIDGET (fixture->page), "scope-publish"));

  /* Chat is preselected; without any scope nothing can be created. */
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (chat)));
  g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (read)));
  g_assert_true (gtk_widget_get_sensitive (create));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (chat), FALSE);
  g_assert_false (gtk_widget_get_sensitive (create));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (read), TRUE);
  g_assert_true (gtk_widget_get_sensitive (create));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (admin_scope), TRUE);

  g_signal_emit_by_name (create, "clicked");
  WAIT_FOR ((dialog = find_dialog ()) != NULL);
  g_assert_cmpint (last_key_scopes (fixture, acme), ==,
                   RFL_API_SCOPE_READ | RFL_API_SCOPE_ADMIN);
  adw_message_dialog_response (dialog, "close");
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
  ADD ("audit-filter-and-export", test_audit_filter_and_export);
  ADD ("audit-names-actors", test_audit_names_actors);
  ADD ("key-scopes", test_key_scopes);
#undef ADD

  return g_test_run ();
}
