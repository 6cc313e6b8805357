/* test-wizard.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <adwaita.h>
#include <gio/gsettingsbackend.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "core/rfl-paths.h"
#include "core/rfl-secrets.h"
#include "llm/rfl-provider.h"
#include "rfl-fake-llm.h"
#include "store/rfl-database.h"
#include "ui/rfl-wizard-private.h"
#include "ui/rfl-wizard.h"

#define TIMEOUT_MS 20000

#define TENANT "Riverside Clinic"
#define ADMIN_NAME "Ada Admin"
#define ADMIN_EMAIL "ada@example.com"
#define ADMIN_PASSWORD "correct horse battery"

typedef struct
{
  RflFakeLlm *fake;
  GSettings  *settings;
  char       *data_dir;
  RflWizard  *wizard;          /* a reference of our own */
  guint       finished;
} Fixture;

/* Helpers */

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GSettingsBackend) backend = g_memory_settings_backend_new ();
  g_autoptr (GError) error = NULL;

  f->fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (f->fake, &error));
  g_assert_no_error (error);

  /* A fresh memory backend: every test starts from the schema defaults. */
  f->settings = g_settings_new_with_backend ("org.reflection.Reflection", backend);
  f->data_dir = rfl_paths_dup_data_dir (NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->wizard != NULL)
    gtk_window_destroy (GTK_WINDOW (f->wizard));
  g_clear_object (&f->wizard);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->fake, rfl_fake_llm_free);
  g_free (f->data_dir);
}

typedef gboolean (*Condition) (Fixture *f);

static gboolean
wait_for (Fixture   *f,
          Condition  condition)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;

  while (!condition (f))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }

  return TRUE;
}

static void
spin (guint milliseconds)
{
  gint64 end = g_get_monotonic_time () + milliseconds * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static gpointer
page_child (Fixture       *f,
            RflWizardPage  page,
            const char    *name)
{
  GtkWidget *widget = _rfl_wizard_get_page_widget (f->wizard, page);
  GObject *child = gtk_widget_get_template_child (widget, G_OBJECT_TYPE (widget), name);

  g_assert_nonnull (child);
  return child;
}

static void
set_text (Fixture       *f,
          RflWizardPage  page,
          const char    *name,
          const char    *text)
{
  gtk_editable_set_text (GTK_EDITABLE (page_child (f, page, name)), text);
}

static void
click (Fixture       *f,
       RflWizardPage  page,
       const char    *name)
{
  GtkWidget *button = page_child (f, page, name);

  g_assert_true (gtk_widget_is_sensitive (button));
  /* gtk_widget_activate() would click only after the press animation. */
  g_signal_emit_by_name (button, "clicked");
}

static const char *
row_title (Fixture       *f,
           RflWizardPage  page,
           const char    *name)
{
  return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (page_child (f, page, name)));
}

static const char *
row_subtitle (Fixture       *f,
              RflWizardPage  page,
              const char    *name)
{
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (page_child (f, page, name)));
}

static gboolean
is_shown (Fixture       *f,
          RflWizardPage  page,
          const char    *name)
{
  return gtk_widget_get_visible (page_child (f, page, name));
}

static void
activate_next (Fixture *f)
{
  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "wizard.next", NULL);
}

static void
finished_cb (RflWizard *wizard,
             Fixture   *f)
{
  f->finished++;
}

/* Closed: no longer one of the application's windows (our reference
 * keeps the object itself alive). */
static gboolean
was_closed (Fixture *f)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GObject) window = g_list_model_get_item (toplevels, i);

      if (window == G_OBJECT (f->wizard))
        return FALSE;
    }

  return TRUE;
}

static void
open_wizard (Fixture *f)
{
  g_autofree char *root = g_test_build_filename (G_TEST_DIST, "sysinfo", "nvidia", NULL);

  if (f->wizard != NULL)
    gtk_window_destroy (GTK_WINDOW (f->wizard));
  g_clear_object (&f->wizard);
  f->finished = 0;

  f->wizard = g_object_ref_sink (rfl_wizard_new (NULL, f->settings, root));
  g_signal_connect (f->wizard, "finished", G_CALLBACK (finished_cb), f);
  gtk_window_present (GTK_WINDOW (f->wizard));
}

static gboolean
hardware_done (Fixture *f)
{
  return !rfl_wizard_hardware_page_get_busy (
    RFL_WIZARD_HARDWARE_PAGE (_rfl_wizard_get_page_widget (f->wizard, RFL_WIZARD_PAGE_HARDWARE)));
}

static RflWizardProviderPage *
provider_page (Fixture *f)
{
  return RFL_WIZARD_PROVIDER_PAGE (_rfl_wizard_get_page_widget (f->wizard,
                                                                RFL_WIZARD_PAGE_PROVIDER));
}

static gboolean
provider_idle (Fixture *f)
{
  return !_rfl_wizard_provider_page_get_busy (provider_page (f));
}

static gboolean
on_summary (Fixture *f)
{
  return rfl_wizard_get_page (f->wizard) == RFL_WIZARD_PAGE_SUMMARY;
}

static gboolean
finish_ended (Fixture *f)
{
  return was_closed (f) || !_rfl_wizard_get_finishing (f->wizard);
}

static gboolean
strv_has (GStrv       strv,
          const char *item)
{
  return strv != NULL && g_strv_contains ((const char * const *) strv, item);
}

static void
choose_use_case (Fixture    *f,
                 RflUseCase  use_case)
{
  GtkGrid *grid = page_child (f, RFL_WIZARD_PAGE_USE_CASE, "cards_grid");
  GtkWidget *card = gtk_grid_get_child_at (grid, use_case % 2, use_case / 2);

  g_assert_true (GTK_IS_TOGGLE_BUTTON (card));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (card), TRUE);
}

/* Hardware → use case → provider. */
static void
walk_to_provider (Fixture    *f,
                  RflUseCase  use_case)
{
  g_assert_true (wait_for (f, hardware_done));
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_HARDWARE);
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_USE_CASE);
  choose_use_case (f, use_case);
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
}

static void
test_ollama_connection (Fixture *f)
{
  g_auto (GStrv) models = NULL;

  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_url_row", rfl_fake_llm_get_url (f->fake));
  click (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_test_button");
  g_assert_true (wait_for (f, provider_idle));

  models = _rfl_wizard_provider_page_dup_listed_models (provider_page (f));
  g_assert_true (strv_has (models, "llama3.2:3b"));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_status_row"), ==,
                   "Connected — 2 models installed");
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "models_group"));
}

static void
fill_database_page (Fixture    *f,
                    const char *tenant,
                    const char *email)
{
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "tenant_row", tenant);
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "admin_name_row", ADMIN_NAME);
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "email_row", email);
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "password_row", ADMIN_PASSWORD);
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "confirm_row", ADMIN_PASSWORD);
}

static gboolean
pull_progress_seen (Fixture *f)
{
  GtkProgressBar *bar = page_child (f, RFL_WIZARD_PAGE_PROVIDER, "pull_progress_bar");
  GtkLabel *detail = page_child (f, RFL_WIZARD_PAGE_PROVIDER, "pull_detail_label");

  return gtk_progress_bar_get_fraction (bar) > 0.0
         && strstr (gtk_label_get_label (detail), " of ") != NULL;
}

/* The whole local path: Healthcare, Ollama at the fake server, a model
 * pulled, a tenant created. */
static void
run_ollama_wizard (Fixture *f)
{
  g_autofree char *model = NULL;
  GtkLabel *detail;

  rfl_fake_llm_set_pull (f->fake, 4700000000, 10, 60);
  open_wizard (f);

  g_assert_true (wait_for (f, hardware_done));
  g_assert_true (rfl_wizard_hardware_page_get_recommendation (
    RFL_WIZARD_HARDWARE_PAGE (_rfl_wizard_get_page_widget (f->wizard, RFL_WIZARD_PAGE_HARDWARE)),
    NULL, NULL));
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_HARDWARE, "recommendation_group"));

  walk_to_provider (f, RFL_USE_CASE_HEALTHCARE);

  /* Healthcare keeps inference local: the cloud choice is locked. */
  g_assert_false (gtk_widget_get_sensitive (page_child (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_row")));
  g_assert_nonnull (strstr (row_subtitle (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_row"),
                            "Local Inference Only"));

  g_assert_true (wait_for (f, provider_idle));
  test_ollama_connection (f);

  /* Pull a model, watching the progress. */
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "pull_entry_row", "qwen2.5:7b");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "pull_button");
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "pull_progress_row"));
  g_assert_true (wait_for (f, pull_progress_seen));
  detail = page_child (f, RFL_WIZARD_PAGE_PROVIDER, "pull_detail_label");
  /* g_format_size() puts a no-break space before the unit. */
  g_assert_nonnull (strstr (gtk_label_get_label (detail), " of 4.7\u00a0GB — "));
  g_assert_nonnull (strstr (gtk_label_get_label (detail), "/s"));

  /* Next waits for the download. */
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);

  g_assert_true (wait_for (f, provider_idle));
  g_assert_false (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "pull_progress_row"));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "pull_result_row"), ==,
                   "“qwen2.5:7b” is ready");
  g_assert_cmpstr (rfl_wizard_provider_page_get_model (provider_page (f)), ==, "qwen2.5:7b");

  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);
  fill_database_page (f, TENANT, ADMIN_EMAIL);
  activate_next (f);
  g_assert_true (wait_for (f, on_summary));

  activate_next (f);
  g_assert_true (wait_for (f, finish_ended));
}

static void
assert_database (Fixture    *f,
                 guint       n_tenants,
                 guint       n_users)
{
  g_autofree char *path = rfl_paths_dup_database_path (f->data_dir);
  g_autoptr (RflDatabase) db = NULL;
  g_autoptr (GError) error = NULL;
  gint64 tenant;

  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rfl_database_count_tenants (db, &error), ==, n_tenants);
  tenant = rfl_database_find_tenant (db, TENANT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tenant, >, 0);
  g_assert_cmpuint (rfl_database_count_users (db, tenant, &error), ==, n_users);
  if (g_settings_get_boolean (f->settings, "setup-complete"))
    {
      /* The chat window speaks for the administrator setup created. */
      g_assert_cmpint (g_settings_get_int64 (f->settings, "current-tenant-id"), ==, tenant);
      g_assert_cmpint (g_settings_get_int64 (f->settings, "current-user-id"), >, 0);
    }
  g_assert_true (rfl_database_check_password (db, tenant, ADMIN_EMAIL, ADMIN_PASSWORD, &error));
  g_assert_no_error (error);
  g_assert_false (rfl_database_check_password (db, tenant, ADMIN_EMAIL, "wrong password", &error));
  g_assert_no_error (error);
}

static void
assert_setting (Fixture    *f,
                const char *key,
                const char *expected)
{
  g_autofree char *value = g_settings_get_string (f->settings, key);

  g_assert_cmpstr (value, ==, expected);
}

static void
test_ollama (Fixture       *f,
             gconstpointer  data)
{
  run_ollama_wizard (f);

  g_assert_cmpuint (f->finished, ==, 1);
  g_assert_true (was_closed (f));
  assert_database (f, 1, 1);

  g_assert_true (g_settings_get_boolean (f->settings, "setup-complete"));
  assert_setting (f, "provider", "ollama");
  assert_setting (f, "ollama-url", rfl_fake_llm_get_url (f->fake));
  assert_setting (f, "model", "qwen2.5:7b");
  assert_setting (f, "use-case", "healthcare");
  assert_setting (f, "pii-redaction", "strict");
  assert_setting (f, "data-dir", "");
  g_assert_true (g_settings_get_boolean (f->settings, "local-only"));
  g_assert_cmpuint (g_settings_get_uint (f->settings, "audit-retention-days"), ==, 2190);
}

static gboolean
pull_running (Fixture *f)
{
  return is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "pull_progress_row") && pull_progress_seen (f);
}

static void
test_pull_cancel_and_failure (Fixture       *f,
                              gconstpointer  data)
{
  g_auto (GStrv) models = NULL;

  rfl_fake_llm_set_pull (f->fake, 1000000000, 50, 40);
  open_wizard (f);
  walk_to_provider (f, RFL_USE_CASE_PRIVACY);
  g_assert_true (wait_for (f, provider_idle));
  test_ollama_connection (f);

  /* Cancel halfway: a clear message, no model added, nothing stuck. */
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "pull_entry_row", "mistral:7b");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "pull_button");
  g_assert_true (wait_for (f, pull_running));
  click (f, RFL_WIZARD_PAGE_PROVIDER, "pull_cancel_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "pull_result_row"), ==,
                   "Download cancelled; pulling again resumes it");
  g_assert_false (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "pull_retry_button"));
  g_assert_true (gtk_widget_get_sensitive (page_child (f, RFL_WIZARD_PAGE_PROVIDER,
                                                      "pull_button")));
  models = _rfl_wizard_provider_page_dup_listed_models (provider_page (f));
  g_assert_false (strv_has (models, "mistral:7b"));
  /* The model chosen before stays chosen. */
  g_assert_nonnull (rfl_wizard_provider_page_get_model (provider_page (f)));

  /* An interrupted download shows the exact error and offers Retry. */
  rfl_fake_llm_set_pull (f->fake, 1000000, 10, 5);
  rfl_fake_llm_set_fault_for_path (f->fake, "/api/pull", RFL_FAKE_LLM_FAULT_DISCONNECT, 3, 1);
  click (f, RFL_WIZARD_PAGE_PROVIDER, "pull_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "pull_result_row"), ==,
                   "The Download Failed");
  g_assert_cmpstr (row_subtitle (f, RFL_WIZARD_PAGE_PROVIDER, "pull_result_row"), !=, "");
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "pull_retry_button"));

  /* Retry succeeds now that the fault is gone. */
  click (f, RFL_WIZARD_PAGE_PROVIDER, "pull_retry_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "pull_result_row"), ==,
                   "“mistral:7b” is ready");
  g_assert_cmpstr (rfl_wizard_provider_page_get_model (provider_page (f)), ==, "mistral:7b");

  /* An unknown model: Ollama's own message. */
  rfl_fake_llm_set_pullable (f->fake, (const char *[]) { "llama3.2:3b", NULL });
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "pull_entry_row", "no-such-model");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "pull_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_nonnull (strstr (row_subtitle (f, RFL_WIZARD_PAGE_PROVIDER, "pull_result_row"),
                            "file does not exist"));
}

static void
test_unreachable_ollama (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr (GError) expected = NULL;
  g_autoptr (GPtrArray) none = NULL;
  GtkLabel *error_label;

  /* The exact message the provider layer gives for a refused connection. */
  none = rfl_provider_list_models (RFL_PROVIDER_OLLAMA, "http://127.0.0.1:1", NULL, NULL,
                                   &expected);
  g_assert_null (none);
  g_assert_nonnull (expected);

  open_wizard (f);
  walk_to_provider (f, RFL_USE_CASE_HEALTHCARE);
  g_assert_true (wait_for (f, provider_idle));

  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_url_row", "http://127.0.0.1:1");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_test_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_status_row"), ==,
                   "Connection Failed");
  g_assert_cmpstr (row_subtitle (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_status_row"), ==,
                   expected->message);
  g_assert_false (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "models_group"));

  /* Next refuses with an inline error. */
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
  error_label = page_child (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_error_label");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (error_label)));
  g_assert_nonnull (strstr (gtk_label_get_label (error_label), "Connect to Ollama"));

  /* A malformed address is refused before any request. */
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_url_row", "not a url");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "ollama_test_button");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (error_label)));
  g_assert_true (gtk_widget_has_css_class (page_child (f, RFL_WIZARD_PAGE_PROVIDER,
                                                       "ollama_url_row"), "error"));
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
}

static void
assert_field_error (Fixture    *f,
                    const char *row,
                    const char *label,
                    const char *message)
{
  GtkLabel *error_label = page_child (f, RFL_WIZARD_PAGE_DATABASE, label);

  activate_next (f);
  spin (50);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);
  g_assert_true (gtk_widget_has_css_class (page_child (f, RFL_WIZARD_PAGE_DATABASE, row),
                                           "error"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (error_label)));
  g_assert_nonnull (strstr (gtk_label_get_label (error_label), message));
}

static void
test_validation (Fixture       *f,
                 gconstpointer  data)
{
  open_wizard (f);
  walk_to_provider (f, RFL_USE_CASE_HEALTHCARE);
  g_assert_true (wait_for (f, provider_idle));
  test_ollama_connection (f);
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);

  /* Everything empty: every field complains. */
  assert_field_error (f, "tenant_row", "tenant_error_label", "Enter a name for the tenant");
  assert_field_error (f, "email_row", "admin_error_label", "email address");

  fill_database_page (f, TENANT, "ada@example");
  assert_field_error (f, "email_row", "admin_error_label",
                      "Enter a valid email address");
  /* Editing the field clears its error. */
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "email_row", ADMIN_EMAIL);
  g_assert_false (gtk_widget_has_css_class (page_child (f, RFL_WIZARD_PAGE_DATABASE,
                                                        "email_row"), "error"));
  g_assert_false (is_shown (f, RFL_WIZARD_PAGE_DATABASE, "admin_error_label"));

  set_text (f, RFL_WIZARD_PAGE_DATABASE, "password_row", "short");
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "confirm_row", "short");
  assert_field_error (f, "password_row", "admin_error_label", "at least 8 characters");

  set_text (f, RFL_WIZARD_PAGE_DATABASE, "password_row", ADMIN_PASSWORD);
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "confirm_row", "correct horse battery!");
  assert_field_error (f, "confirm_row", "admin_error_label", "do not match");

  /* Fixed: the page is left once the data folder proved writable. */
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "confirm_row", ADMIN_PASSWORD);
  activate_next (f);
  g_assert_true (wait_for (f, on_summary));

  /* Back and forth keeps what was typed. */
  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "wizard.back", NULL);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);
  g_assert_cmpstr (gtk_editable_get_text (page_child (f, RFL_WIZARD_PAGE_DATABASE, "tenant_row")),
                   ==, TENANT);
  g_assert_false (g_settings_get_boolean (f->settings, "setup-complete"));
}

static gboolean
cloud_idle_with_keyring_known (Fixture *f)
{
  return provider_idle (f);
}

static void
test_cloud (Fixture       *f,
            gconstpointer  data)
{
  const char *url = rfl_fake_llm_get_url (f->fake);
  const char *require = g_getenv ("RFL_TEST_REQUIRE_KEYRING");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autofree char *stored = NULL;
  g_auto (GStrv) keys = NULL;
  gboolean keyring;
  AdwComboRow *model_row;

  rfl_fake_llm_set_api_key (f->fake, "sk-right-1234");
  open_wizard (f);
  walk_to_provider (f, RFL_USE_CASE_BUSINESS);

  g_assert_true (gtk_widget_get_sensitive (page_child (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_row")));
  gtk_check_button_set_active (page_child (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_check"), TRUE);
  g_assert_true (wait_for (f, cloud_idle_with_keyring_known));

  /* OpenAI-compatible has no default address: it must be typed. */
  adw_combo_row_set_selected (page_child (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_kind_row"), 2);
  g_assert_cmpstr (gtk_editable_get_text (page_child (f, RFL_WIZARD_PAGE_PROVIDER,
                                                      "cloud_url_row")), ==, "");
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_error_label"));

  /* A wrong key: the provider's own message, and no way on. */
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_url_row", url);
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_key_row", "sk-wrong-9999");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_test_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_status_row"), ==,
                   "Connection Failed");
  g_assert_nonnull (strstr (row_subtitle (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_status_row"),
                            "Incorrect API key provided"));
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_error_label"));

  /* The right key lists the models. */
  set_text (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_key_row", "sk-right-1234");
  click (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_test_button");
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (row_title (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_status_row"), ==,
                   "Connected — 2 models available");
  model_row = page_child (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_model_row");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (model_row)));
  _rfl_wizard_provider_page_select_model (provider_page (f), "gpt-4o-mini");
  g_assert_cmpstr (rfl_wizard_provider_page_get_model (provider_page (f)), ==, "gpt-4o-mini");

  keyring = !is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "keyring_box");
  if (!keyring)
    {
      if (g_strcmp0 (require, "1") == 0)
        g_error ("RFL_TEST_REQUIRE_KEYRING=1 but the wizard found no keyring: %s",
                 row_subtitle (f, RFL_WIZARD_PAGE_PROVIDER, "keyring_warning_row"));

      /* Without a keyring the session-only choice must be accepted. */
      activate_next (f);
      g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
      g_assert_true (is_shown (f, RFL_WIZARD_PAGE_PROVIDER, "keyring_error_label"));
      gtk_switch_set_active (page_child (f, RFL_WIZARD_PAGE_PROVIDER, "session_switch"), TRUE);
    }

  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);
  fill_database_page (f, TENANT, ADMIN_EMAIL);
  activate_next (f);
  g_assert_true (wait_for (f, on_summary));
  activate_next (f);
  g_assert_true (wait_for (f, finish_ended));
  g_assert_cmpuint (f->finished, ==, 1);
  g_assert_true (was_closed (f));

  assert_database (f, 1, 1);
  assert_setting (f, "provider", "openai-compatible");
  assert_setting (f, "provider-url", url);
  assert_setting (f, "model", "gpt-4o-mini");
  assert_setting (f, "use-case", "business");
  g_assert_false (g_settings_get_boolean (f->settings, "local-only"));

  /* The key is nowhere in the settings. */
  g_object_get (f->settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr (GVariant) value = g_settings_get_value (f->settings, keys[i]);
      g_autofree char *text = g_variant_print (value, FALSE);

      g_assert_null (strstr (text, "sk-right"));
    }

  stored = rfl_secrets_lookup_sync ("openai-compatible", url, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stored, ==, "sk-right-1234");
  if (keyring)
    rfl_secrets_clear_sync ("openai-compatible", url, NULL, NULL);
  else
    g_test_skip ("No Secret Service: the key was kept for the session only");
}

static gboolean
note_shown (Fixture *f)
{
  return !_rfl_wizard_get_finishing (f->wizard)
         && is_shown (f, RFL_WIZARD_PAGE_SUMMARY, "note_row");
}

static void
test_rerun (Fixture       *f,
            gconstpointer  data)
{
  RflWizardUseCasePage *use_case_page;
  g_autoptr (GPtrArray) none = NULL;

  run_ollama_wizard (f);
  g_assert_true (was_closed (f));
  assert_database (f, 1, 1);

  /* A second run starts from what the first one chose. */
  open_wizard (f);
  g_assert_true (wait_for (f, hardware_done));
  use_case_page = RFL_WIZARD_USE_CASE_PAGE (_rfl_wizard_get_page_widget (f->wizard,
                                                                        RFL_WIZARD_PAGE_USE_CASE));
  g_assert_cmpint (rfl_wizard_use_case_page_get_use_case (use_case_page), ==,
                   RFL_USE_CASE_HEALTHCARE);
  g_assert_cmpuint (rfl_wizard_use_case_page_get_retention_days (use_case_page), ==, 2190);
  g_assert_cmpstr (gtk_editable_get_text (page_child (f, RFL_WIZARD_PAGE_PROVIDER,
                                                      "ollama_url_row")),
                   ==, rfl_fake_llm_get_url (f->fake));

  activate_next (f);
  activate_next (f);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_PROVIDER);
  /* The connection is tested on arrival and the configured model chosen. */
  g_assert_true (wait_for (f, provider_idle));
  g_assert_cmpstr (rfl_wizard_provider_page_get_model (provider_page (f)), ==, "qwen2.5:7b");
  activate_next (f);

  /* The same tenant and administrator with another password: the tenant is
   * kept and the password stays what it was. */
  fill_database_page (f, TENANT, ADMIN_EMAIL);
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "password_row", "a different password");
  set_text (f, RFL_WIZARD_PAGE_DATABASE, "confirm_row", "a different password");
  activate_next (f);
  g_assert_true (wait_for (f, on_summary));
  activate_next (f);
  g_assert_true (wait_for (f, note_shown));
  g_assert_true (g_str_has_prefix (row_subtitle (f, RFL_WIZARD_PAGE_SUMMARY, "note_row"),
                                   "Tenant “" TENANT "” already exists and was kept"));
  g_assert_false (was_closed (f));
  g_assert_cmpuint (f->finished, ==, 0);
  assert_database (f, 1, 1);

  /* Done closes. */
  activate_next (f);
  g_assert_true (wait_for (f, was_closed));
  g_assert_cmpuint (f->finished, ==, 1);
}

static void
test_escape_writes_nothing (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *path = rfl_paths_dup_database_path (f->data_dir);

  open_wizard (f);
  g_assert_true (wait_for (f, hardware_done));
  activate_next (f);
  choose_use_case (f, RFL_USE_CASE_PRIVACY);

  /* Alt+Left and Alt+Right are bound to the navigation actions. */
  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "wizard.back", NULL);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_HARDWARE);
  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "wizard.back", NULL);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_HARDWARE);

  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "window.close", NULL);
  g_assert_true (wait_for (f, was_closed));
  g_assert_cmpuint (f->finished, ==, 0);

  g_assert_false (g_settings_get_boolean (f->settings, "setup-complete"));
  assert_setting (f, "use-case", "custom");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
walk_to_summary (Fixture *f)
{
  open_wizard (f);
  walk_to_provider (f, RFL_USE_CASE_HEALTHCARE);
  g_assert_true (wait_for (f, provider_idle));
  test_ollama_connection (f);
  activate_next (f);
  fill_database_page (f, TENANT, ADMIN_EMAIL);
  activate_next (f);
  g_assert_true (wait_for (f, on_summary));
}

static void
test_setup_errors (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *file = g_build_filename (g_get_user_data_dir (), "not-a-folder", NULL);
  g_autofree char *bad_dir = g_build_filename (file, "reflection", NULL);
  g_autofree char *db_path = rfl_paths_dup_database_path (f->data_dir);
  g_autofree char *contents = NULL;
  GtkLabel *folder_error;

  /* An unwritable data folder is caught on the database page. */
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_data_dir (), 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  g_settings_set_string (f->settings, "data-dir", bad_dir);
  open_wizard (f);
  walk_to_provider (f, RFL_USE_CASE_HEALTHCARE);
  g_assert_true (wait_for (f, provider_idle));
  test_ollama_connection (f);
  activate_next (f);
  fill_database_page (f, TENANT, ADMIN_EMAIL);
  activate_next (f);
  folder_error = page_child (f, RFL_WIZARD_PAGE_DATABASE, "folder_error_label");
  spin (300);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (folder_error)));
  g_assert_nonnull (strstr (gtk_label_get_label (folder_error), bad_dir));
  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "window.close", NULL);
  g_assert_true (wait_for (f, was_closed));
  g_settings_reset (f->settings, "data-dir");

  /* A corrupt database fails on Finish, on the summary, writing nothing. */
  g_assert_true (g_mkdir_with_parents (f->data_dir, 0700) == 0);
  g_assert_true (g_file_set_contents (db_path, "this is not a database, but it is "
                                      "long enough to look like a file with a header",
                                      -1, NULL));
  walk_to_summary (f);
  activate_next (f);
  g_assert_true (wait_for (f, finish_ended));
  g_assert_false (was_closed (f));
  g_assert_cmpuint (f->finished, ==, 0);
  g_assert_true (is_shown (f, RFL_WIZARD_PAGE_SUMMARY, "error_row"));
  g_assert_cmpstr (row_subtitle (f, RFL_WIZARD_PAGE_SUMMARY, "error_row"), !=, "");
  g_assert_false (g_settings_get_boolean (f->settings, "setup-complete"));
  assert_setting (f, "model", "");
  assert_setting (f, "use-case", "custom");

  /* The file was left alone and the user can go back. */
  g_assert_true (g_file_get_contents (db_path, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "this is not a database"));
  gtk_widget_activate_action (GTK_WIDGET (f->wizard), "wizard.back", NULL);
  g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, RFL_WIZARD_PAGE_DATABASE);
}

static void
test_pages (Fixture       *f,
            gconstpointer  data)
{
  open_wizard (f);
  g_assert_true (wait_for (f, hardware_done));

  for (guint i = 0; i < RFL_WIZARD_N_PAGES; i++)
    {
      rfl_wizard_set_page (f->wizard, i);
      g_assert_cmpint (rfl_wizard_get_page (f->wizard), ==, i);
      g_assert_nonnull (rfl_wizard_page_get_name (i));
      gtk_test_widget_wait_for_draw (GTK_WIDGET (f->wizard));
    }

  g_assert_cmpstr (rfl_wizard_page_get_name (RFL_WIZARD_PAGE_USE_CASE), ==, "use-case");

  /* Presets apply to the rows, which stay editable. */
  rfl_wizard_set_page (f->wizard, RFL_WIZARD_PAGE_USE_CASE);
  choose_use_case (f, RFL_USE_CASE_BUSINESS);
  g_assert_false (gtk_switch_get_active (page_child (f, RFL_WIZARD_PAGE_USE_CASE,
                                                     "local_only_switch")));
  choose_use_case (f, RFL_USE_CASE_PRIVACY);
  g_assert_true (gtk_switch_get_active (page_child (f, RFL_WIZARD_PAGE_USE_CASE,
                                                    "local_only_switch")));
  g_assert_cmpuint (adw_combo_row_get_selected (page_child (f, RFL_WIZARD_PAGE_USE_CASE,
                                                            "redaction_row")),
                    ==, RFL_REDACTION_STRICT);
  gtk_switch_set_active (page_child (f, RFL_WIZARD_PAGE_USE_CASE, "local_only_switch"), FALSE);
  rfl_wizard_set_page (f->wizard, RFL_WIZARD_PAGE_PROVIDER);
  g_assert_true (gtk_widget_get_sensitive (page_child (f, RFL_WIZARD_PAGE_PROVIDER, "cloud_row")));
}

int
main (int   argc,
      char *argv[])
{
  /* What gtk_test_init() does, but with isolated XDG directories, which
   * it does not pass on to g_test_init(). */
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  gtk_disable_setlocale ();
  setlocale (LC_ALL, "C.UTF-8");
  gtk_init ();
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/rfl/wizard/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("pages", test_pages);
  ADD ("ollama", test_ollama);
  ADD ("pull-cancel-and-failure", test_pull_cancel_and_failure);
  ADD ("unreachable-ollama", test_unreachable_ollama);
  ADD ("validation", test_validation);
  ADD ("cloud", test_cloud);
  ADD ("rerun", test_rerun);
  ADD ("escape-writes-nothing", test_escape_writes_nothing);
  ADD ("setup-errors", test_setup_errors);
#undef ADD

  return g_test_run ();
}
