/* test-prices-window.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "core/rfl-price-table.h"
#include "service/rfl-service-admin.h"
#include "store/rfl-database.h"
#include "ui/rfl-prices-window.h"

typedef struct
{
  RflService  *service;
  RflIdentity  root;
  RflIdentity  tenant_admin;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "prices.db", NULL);
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(GError) error = NULL;

  db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->root.tenant_id = rfl_database_create_tenant (db, "Operations", NULL, &error);
  g_assert_no_error (error);
  fixture->root.user_id = rfl_database_create_user (db, fixture->root.tenant_id,
                                                    "root@ops.test", "Root",
                                                    "password-root",
                                                    RFL_ROLE_SYSTEM_ADMIN, &error);
  g_assert_no_error (error);
  fixture->tenant_admin.tenant_id = rfl_database_create_tenant (db, "Acme", "business", &error);
  g_assert_no_error (error);
  fixture->tenant_admin.user_id = rfl_database_create_user (db, fixture->tenant_admin.tenant_id,
                                                            "admin@acme.test", "Ada",
                                                            "password-ada",
                                                            RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
  g_clear_object (&db);

  fixture->service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
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

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* The price table the service meters at. */
static RflPriceTable *
service_prices (Fixture *fixture)
{
  RflAdminRequest request = { RFL_ADMIN_GET_PRICES };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(RflAdminResult) prices = NULL;
  g_autoptr(GError) error = NULL;
  RflPriceTable *table;

  rfl_service_admin_async (fixture->service, fixture->root, &request, NULL,
                           done_cb, &result);
  WAIT_FOR (result != NULL);
  prices = rfl_service_admin_finish (fixture->service, result, &error);
  g_assert_no_error (error);
  table = rfl_price_table_new_from_json (prices->text, -1, &error);
  g_assert_no_error (error);
  return table;
}

static void
saved_cb (RflPricesWindow *window,
          gboolean        *saved)
{
  *saved = TRUE;
}

static gboolean
is_editing (RflPricesWindow *window)
{
  return g_str_equal (rfl_prices_window_get_state (window), "editor");
}

/* The window shows the shipped prices, refuses bad rows with a reason
 * and saves the table the service then meters at. */
static void
test_edit_and_save (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflPriceTable) shipped = rfl_price_table_new_default ();
  g_autoptr(RflPriceTable) table = NULL;
  RflPricesWindow *window;
  gboolean saved = FALSE;
  const RflPrice *price;
  guint64 cost = 0;
  guint n;

  window = rfl_prices_window_new (NULL, fixture->service, fixture->root);
  g_signal_connect (window, "saved", G_CALLBACK (saved_cb), &saved);
  gtk_window_present (GTK_WINDOW (window));
  WAIT_FOR (is_editing (window));

  n = rfl_prices_window_get_n_rows (window);
  g_assert_cmpuint (n, ==, rfl_price_table_get_n_prices (shipped));
  g_assert_null (rfl_prices_window_get_problem (window));

  /* An empty model, a duplicate, a bad price: each named. */
  rfl_prices_window_add_row (window, NULL, "1", "2");
  g_assert_nonnull (strstr (rfl_prices_window_get_problem (window), "enter the name"));
  rfl_prices_window_set_field (window, n, 0, "gpt-4o");
  g_assert_nonnull (strstr (rfl_prices_window_get_problem (window), "already priced"));
  rfl_prices_window_set_field (window, n, 0, "house-model-*");
  g_assert_null (rfl_prices_window_get_problem (window));
  rfl_prices_window_set_field (window, n, 1, "1.0000001");
  g_assert_nonnull (strstr (rfl_prices_window_get_problem (window), "input price"));
  rfl_prices_window_set_field (window, n, 1, "-3");
  g_assert_nonnull (strstr (rfl_prices_window_get_problem (window), "input price"));
  rfl_prices_window_set_field (window, n, 1, "0.75");
  rfl_prices_window_set_field (window, n, 2, "ten");
  g_assert_nonnull (strstr (rfl_prices_window_get_problem (window), "output price"));

  /* Save does nothing while a row is wrong. */
  rfl_prices_window_save (window);
  g_assert_false (saved);
  table = service_prices (fixture);
  g_assert_cmpuint (rfl_price_table_get_n_prices (table), ==, n);
  g_clear_pointer (&table, rfl_price_table_unref);

  rfl_prices_window_set_field (window, n, 2, "3");
  rfl_prices_window_remove_row (window, 0);
  g_assert_null (rfl_prices_window_get_problem (window));
  rfl_prices_window_save (window);
  WAIT_FOR (saved);

  table = service_prices (fixture);
  g_assert_cmpuint (rfl_price_table_get_n_prices (table), ==, n);
  price = rfl_price_table_lookup (table, "house-model-7b");
  g_assert_nonnull (price);
  g_assert_cmpuint (price->input_micro_usd, ==, 750000);
  g_assert_cmpuint (price->output_micro_usd, ==, 3000000);
  /* The first shipped entry, gpt-4o, is gone. */
  g_assert_cmpstr (rfl_price_table_get_price (shipped, 0)->pattern, ==, "gpt-4o");
  g_assert_null (rfl_price_table_lookup (table, "gpt-4o"));
  g_assert_false (rfl_price_table_estimate_cost (table, "gpt-4o", 1, 1, &cost));
}

/* Prices are the installation's: a tenant administrator may read them
 * but not change them, and is told so. */
static void
test_tenant_admin_refused (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflPriceTable) table = NULL;
  RflPricesWindow *window;
  gboolean saved = FALSE;

  window = rfl_prices_window_new (NULL, fixture->service, fixture->tenant_admin);
  g_signal_connect (window, "saved", G_CALLBACK (saved_cb), &saved);
  gtk_window_present (GTK_WINDOW (window));
  WAIT_FOR (is_editing (window));

  rfl_prices_window_add_row (window, "mine", "0", "0");
  rfl_prices_window_save (window);
  WAIT_FOR (rfl_prices_window_get_problem (window) != NULL);
  g_assert_false (saved);

  table = service_prices (fixture);
  g_assert_null (rfl_price_table_lookup (table, "mine"));
  gtk_window_destroy (GTK_WINDOW (window));
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
  g_test_add ("/rfl/prices-window/" path, Fixture, NULL, fixture_set_up, \
              func, fixture_tear_down)
  ADD ("edit-and-save", test_edit_and_save);
  ADD ("tenant-admin-refused", test_tenant_admin_refused);
#undef ADD

  return g_test_run ();
}
