/* rfl-wizard.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-wizard.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-paths.h"
#include "core/rfl-secrets.h"
#include "rfl-wizard-private.h"
#include "store/rfl-database.h"

struct _RflWizard
{
  AdwWindow              parent_instance;

  /* Template children */
  AdwWindowTitle        *window_title;
  GtkButton             *back_button;
  GtkButton             *next_button;
  GtkStack              *stack;
  RflWizardHardwarePage *hardware_page;
  RflWizardUseCasePage  *use_case_page;
  RflWizardProviderPage *provider_page;
  RflWizardDatabasePage *database_page;
  RflWizardSummaryPage  *summary_page;

  /* Owned */
  GSettings             *settings;
  char                  *sysinfo_root;
  char                  *initial_data_dir;
  GCancellable          *cancellable;
  RflWizardChoices      *finishing;      /* non-NULL while Finish runs */
  RflSetupResult        *setup_result;

  RflWizardPage          page;
  gboolean               advance_when_checked;
  gboolean               done;           /* settings written */
  gboolean               finished_emitted;
};

G_DEFINE_FINAL_TYPE (RflWizard, rfl_wizard, ADW_TYPE_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  PROP_SYSINFO_ROOT,
  N_PROPS
};

enum {
  FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char * const page_names[RFL_WIZARD_N_PAGES] = {
  "hardware", "use-case", "provider", "database", "summary",
};

const char *
rfl_wizard_page_get_name (RflWizardPage page)
{
  g_return_val_if_fail (page < RFL_WIZARD_N_PAGES, NULL);

  return page_names[page];
}

static const char *
page_get_title (RflWizardPage page)
{
  switch (page)
    {
    case RFL_WIZARD_PAGE_HARDWARE:
      /* Translators: title of a setup wizard page */
      return _("Your Computer");
    case RFL_WIZARD_PAGE_USE_CASE:
      /* Translators: title of a setup wizard page */
      return _("Use Case");
    case RFL_WIZARD_PAGE_PROVIDER:
      /* Translators: title of a setup wizard page */
      return _("Language Model");
    case RFL_WIZARD_PAGE_DATABASE:
      /* Translators: title of a setup wizard page */
      return _("Tenant and Administrator");
    case RFL_WIZARD_PAGE_SUMMARY:
      /* Translators: title of a setup wizard page */
      return _("Summary");
    default:
      g_return_val_if_reached (NULL);
    }
}

void
_rfl_wizard_choices_free (RflWizardChoices *choices)
{
  if (choices == NULL)
    return;

  g_free (choices->recommendation_reason);
  g_free (choices->url);
  g_free (choices->model);
  if (choices->api_key != NULL)
    memset (choices->api_key, 0, strlen (choices->api_key));
  g_free (choices->api_key);
  g_free (choices->data_dir);
  g_free (choices->tenant_name);
  g_free (choices->admin_name);
  g_free (choices->admin_email);
  if (choices->admin_password != NULL)
    memset (choices->admin_password, 0, strlen (choices->admin_password));
  g_free (choices->admin_password);
  g_free (choices);
}

static RflWizardChoices *
collect_choices (RflWizard *self)
{
  RflWizardChoices *choices = g_new0 (RflWizardChoices, 1);
  const char *reason = NULL;

  choices->has_recommendation =
    rfl_wizard_hardware_page_get_recommendation (self->hardware_page,
                                                 &choices->model_class, &reason);
  choices->recommendation_reason = g_strdup (reason);

  choices->use_case = rfl_wizard_use_case_page_get_use_case (self->use_case_page);
  choices->local_only = rfl_wizard_use_case_page_get_local_only (self->use_case_page);
  choices->redaction = rfl_wizard_use_case_page_get_redaction (self->use_case_page);
  choices->retention_days = rfl_wizard_use_case_page_get_retention_days (self->use_case_page);

  choices->provider = rfl_wizard_provider_page_get_kind (self->provider_page);
  choices->url = rfl_wizard_provider_page_dup_url (self->provider_page);
  choices->model = g_strdup (rfl_wizard_provider_page_get_model (self->provider_page));
  choices->api_key = rfl_wizard_provider_page_dup_api_key (self->provider_page);
  choices->key_storage = rfl_wizard_provider_page_get_key_storage (self->provider_page);

  choices->data_dir = g_strdup (rfl_wizard_database_page_get_data_dir (self->database_page));
  choices->tenant_name = rfl_wizard_database_page_dup_tenant_name (self->database_page);
  choices->admin_name = rfl_wizard_database_page_dup_admin_name (self->database_page);
  choices->admin_email = rfl_wizard_database_page_dup_admin_email (self->database_page);
  choices->admin_password = rfl_wizard_database_page_dup_admin_password (self->database_page);

  return choices;
}

static void
update_actions (RflWizard *self)
{
  gboolean busy = self->finishing != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "wizard.back",
                                 self->page > 0 && !busy && !self->done);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "wizard.next", !busy);
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), self->page > 0);

  if (self->done)
    gtk_button_set_label (self->next_button, _("_Done"));
  else if (self->page == RFL_WIZARD_PAGE_SUMMARY)
    gtk_button_set_label (self->next_button, _("_Finish"));
  else
    gtk_button_set_label (self->next_button, _("_Next"));

  if (self->page == RFL_WIZARD_PAGE_SUMMARY)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->next_button), NULL);
  else
    /* Translators: tooltip of the Next button, with its shortcut */
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->next_button), _("Next Page (Alt+Right)"));
}

static void
focus_first (RflWizard *self)
{
  switch (self->page)
    {
    case RFL_WIZARD_PAGE_USE_CASE:
      rfl_wizard_use_case_page_focus_first (self->use_case_page);
      break;
    case RFL_WIZARD_PAGE_PROVIDER:
      rfl_wizard_provider_page_focus_first (self->provider_page);
      break;
    case RFL_WIZARD_PAGE_DATABASE:
      rfl_wizard_database_page_focus_first (self->database_page);
      break;
    case RFL_WIZARD_PAGE_HARDWARE:
    case RFL_WIZARD_PAGE_SUMMARY:
      gtk_widget_grab_focus (GTK_WIDGET (self->next_button));
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The provider page offers the cloud only when the use case allows it. */
static void
sync_local_only (RflWizard *self)
{
  gboolean local_only = rfl_wizard_use_case_page_get_local_only (self->use_case_page);

  rfl_wizard_provider_page_set_local_only (self->provider_page, local_only);
}

static void
show_page (RflWizard     *self,
           RflWizardPage  page)
{
  g_autofree char *step = NULL;

  self->page = page;
  self->advance_when_checked = FALSE;

  if (page == RFL_WIZARD_PAGE_PROVIDER)
    {
      sync_local_only (self);
      rfl_wizard_provider_page_enter (self->provider_page);
    }
  else if (page == RFL_WIZARD_PAGE_SUMMARY)
    {
      g_autoptr (RflWizardChoices) choices = collect_choices (self);

      rfl_wizard_summary_page_show_choices (self->summary_page, choices);
    }

  gtk_stack_set_visible_child_name (self->stack, page_names[page]);

  /* Translators: the setup wizard's progress, e.g. "Step 2 of 5" */
  step = g_strdup_printf (_("Step %u of %u"), page + 1, RFL_WIZARD_N_PAGES);
  adw_window_title_set_title (self->window_title, page_get_title (page));
  adw_window_title_set_subtitle (self->window_title, step);

  update_actions (self);
  focus_first (self);
}

/* Finish */

static void
emit_finished_and_close (RflWizard *self)
{
  if (!self->finished_emitted)
    {
      self->finished_emitted = TRUE;
      g_signal_emit (self, signals[FINISHED], 0);
    }
  gtk_window_close (GTK_WINDOW (self));
}

static void
finish_failed (RflWizard  *self,
               const char *message)
{
  g_clear_pointer (&self->finishing, _rfl_wizard_choices_free);
  g_clear_pointer (&self->setup_result, rfl_setup_result_free);
  rfl_wizard_summary_page_set_working (self->summary_page, FALSE);
  rfl_wizard_summary_page_set_error (self->summary_page, message);
  update_actions (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->back_button));
}

/* All keys in one batch, so that a failure leaves none of them written. */
static void
write_settings (RflWizard              *self,
                const RflWizardChoices *choices,
                const RflSetupResult   *result)
{
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettings) batch = NULL;
  g_autofree char *path = NULL;
  GObject *backend = NULL;
  gboolean local = choices->provider == RFL_PROVIDER_OLLAMA;

  g_object_get (self->settings,
                "settings-schema", &schema,
                "backend", &backend,
                "path", &path,
                NULL);
  batch = g_settings_new_full (schema, (GSettingsBackend *) backend, path);
  g_clear_object (&backend);
  g_settings_delay (batch);

  g_settings_set_string (batch, "use-case", rfl_use_case_to_string (choices->use_case));
  g_settings_set_boolean (batch, "local-only", choices->local_only);
  g_settings_set_string (batch, "pii-redaction", rfl_redaction_to_string (choices->redaction));
  g_settings_set_uint (batch, "audit-retention-days", choices->retention_days);
  g_settings_set_string (batch, "provider", rfl_provider_kind_to_string (choices->provider));
  g_settings_set_string (batch, local ? "ollama-url" : "provider-url", choices->url);
  g_settings_set_string (batch, "model", choices->model ? choices->model : "");
  if (g_strcmp0 (choices->data_dir, self->initial_data_dir) != 0)
    g_settings_set_string (batch, "data-dir", choices->data_dir);
  if (result->tenant_id > 0 && result->admin_user_id > 0)
    {
      g_settings_set_int64 (batch, "current-tenant-id", result->tenant_id);
      g_settings_set_int64 (batch, "current-user-id", result->admin_user_id);
    }
  g_settings_set_boolean (batch, "setup-complete", TRUE);

  g_settings_apply (batch);
}

static void
finish_succeeded (RflWizard *self)
{
  g_autoptr (RflWizardChoices) choices = g_steal_pointer (&self->finishing);
  g_autoptr (RflSetupResult) result = g_steal_pointer (&self->setup_result);

  write_settings (self, choices, result);
  self->done = TRUE;
  rfl_wizard_summary_page_set_working (self->summary_page, FALSE);

  if (result->tenant_existed)
    {
      g_autofree char *note = NULL;

      /* Translators: a re-run of the setup found the tenant it would create */
      note = g_strdup_printf (_("Tenant “%s” already exists and was kept. "
                                "Existing accounts keep their passwords."),
                              choices->tenant_name);
      rfl_wizard_summary_page_set_note (self->summary_page, note);
      update_actions (self);
      gtk_widget_grab_focus (GTK_WIDGET (self->next_button));
      return;
    }

  emit_finished_and_close (self);
}

static void
store_key_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (RflWizard) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!rfl_secrets_store_finish (result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          || g_cancellable_is_cancelled (self->cancellable))
        return;

      finish_failed (self, error->message);
      return;
    }

  if (!g_cancellable_is_cancelled (self->cancellable))
    finish_succeeded (self);
}

static void
setup_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr (RflWizard) self = user_data;
  g_autoptr (GError) error = NULL;
  const RflWizardChoices *choices;

  self->setup_result = rfl_database_setup_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_cancellable_is_cancelled (self->cancellable))
    return;

  if (self->setup_result == NULL)
    {
      finish_failed (self, error->message);
      return;
    }

  choices = self->finishing;
  if (choices->api_key != NULL && choices->key_storage == RFL_WIZARD_KEY_KEYRING)
    {
      rfl_secrets_store_async (rfl_provider_kind_to_string (choices->provider),
                               choices->url, choices->api_key,
                               self->cancellable, store_key_cb, g_object_ref (self));
      return;
    }

  if (choices->api_key != NULL && choices->key_storage == RFL_WIZARD_KEY_SESSION)
    rfl_secrets_set_session_key (rfl_provider_kind_to_string (choices->provider),
                                 choices->url, choices->api_key);

  finish_succeeded (self);
}

static void
finish (RflWizard *self)
{
  RflSetupRequest request = { NULL };
  RflWizardChoices *choices;
  g_autofree char *use_case = NULL;

  if (self->done)
    {
      emit_finished_and_close (self);
      return;
    }

  if (self->finishing != NULL)
    return;

  choices = self->finishing = collect_choices (self);
  rfl_wizard_summary_page_show_choices (self->summary_page, choices);
  rfl_wizard_summary_page_set_working (self->summary_page, TRUE);
  update_actions (self);

  use_case = g_strdup (rfl_use_case_to_string (choices->use_case));
  request.data_dir = choices->data_dir;
  request.tenant_name = choices->tenant_name;
  request.use_case = use_case;
  request.admin_email = choices->admin_email;
  request.admin_name = choices->admin_name;
  request.admin_password = choices->admin_password;

  rfl_database_setup_async (&request, self->cancellable, setup_cb, g_object_ref (self));
}

/* Navigation */

static void
go_next (RflWizard *self)
{
  switch (self->page)
    {
    case RFL_WIZARD_PAGE_HARDWARE:
    case RFL_WIZARD_PAGE_USE_CASE:
      break;
    case RFL_WIZARD_PAGE_PROVIDER:
      if (!rfl_wizard_provider_page_validate (self->provider_page))
        return;
      break;
    case RFL_WIZARD_PAGE_DATABASE:
      if (!rfl_wizard_database_page_validate (self->database_page))
        {
          /* The data folder is being checked: go on once it passes. */
          self->advance_when_checked =
            rfl_wizard_database_page_get_checking (self->database_page);
          return;
        }
      break;
    case RFL_WIZARD_PAGE_SUMMARY:
      finish (self);
      return;
    default:
      g_assert_not_reached ();
    }

  show_page (self, self->page + 1);
}

static void
wizard_next_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  go_next (RFL_WIZARD (widget));
}

static void
wizard_back_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  RflWizard *self = RFL_WIZARD (widget);

  if (self->page > 0 && self->finishing == NULL && !self->done)
    show_page (self, self->page - 1);
}

static void
data_dir_checked_cb (RflWizard *self,
                     gboolean   writable)
{
  if (!self->advance_when_checked || self->page != RFL_WIZARD_PAGE_DATABASE)
    return;

  self->advance_when_checked = FALSE;
  if (writable)
    go_next (self);
}

static void
hardware_probed_cb (RflWizard *self)
{
  RflModelClass model_class;

  if (rfl_wizard_hardware_page_get_recommendation (self->hardware_page, &model_class, NULL))
    rfl_wizard_provider_page_set_recommended (self->provider_page,
                                              rfl_model_class_get_example (model_class));
}

static void
use_case_changed_cb (RflWizard *self)
{
  sync_local_only (self);
}

RflWizardPage
rfl_wizard_get_page (RflWizard *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD (self), RFL_WIZARD_PAGE_HARDWARE);

  return self->page;
}

void
rfl_wizard_set_page (RflWizard     *self,
                     RflWizardPage  page)
{
  g_return_if_fail (RFL_IS_WIZARD (self));
  g_return_if_fail (page < RFL_WIZARD_N_PAGES);

  show_page (self, page);
}

GtkWidget *
_rfl_wizard_get_page_widget (RflWizard     *self,
                             RflWizardPage  page)
{
  GtkWidget *pages[RFL_WIZARD_N_PAGES] = {
    GTK_WIDGET (self->hardware_page), GTK_WIDGET (self->use_case_page),
    GTK_WIDGET (self->provider_page), GTK_WIDGET (self->database_page),
    GTK_WIDGET (self->summary_page),
  };

  g_return_val_if_fail (RFL_IS_WIZARD (self), NULL);
  g_return_val_if_fail (page < RFL_WIZARD_N_PAGES, NULL);

  return pages[page];
}

gboolean
_rfl_wizard_get_finishing (RflWizard *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD (self), FALSE);

  return self->finishing != NULL;
}

RflWizard *
rfl_wizard_new (GtkApplication *application,
                GSettings      *settings,
                const char     *sysinfo_root)
{
  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (RFL_TYPE_WIZARD,
                       "application", application,
                       "settings", settings,
                       "sysinfo-root", sysinfo_root,
                       NULL);
}

static gboolean
rfl_wizard_close_request (GtkWindow *window)
{
  RflWizard *self = RFL_WIZARD (window);

  /* Closing before Finish writes nothing; work still running is dropped. */
  g_cancellable_cancel (self->cancellable);
  if (self->done && !self->finished_emitted)
    {
      self->finished_emitted = TRUE;
      g_signal_emit (self, signals[FINISHED], 0);
    }

  return GTK_WINDOW_CLASS (rfl_wizard_parent_class)->close_request (window);
}

static void
rfl_wizard_constructed (GObject *object)
{
  RflWizard *self = RFL_WIZARD (object);
  g_autofree char *data_dir_setting = NULL;
  g_autofree char *ollama_url = NULL;
  const char *root = self->sysinfo_root;
  const char *env_root = g_getenv ("RFL_SYSINFO_ROOT");

  G_OBJECT_CLASS (rfl_wizard_parent_class)->constructed (object);

  g_assert (self->settings != NULL);

  if ((root == NULL || g_str_equal (root, "/")) && env_root != NULL && *env_root != '\0')
    root = env_root;
  if (root == NULL)
    root = "/";

  data_dir_setting = g_settings_get_string (self->settings, "data-dir");
  self->initial_data_dir = rfl_paths_dup_data_dir (data_dir_setting);
  ollama_url = g_settings_get_string (self->settings, "ollama-url");

  rfl_wizard_use_case_page_load (self->use_case_page, self->settings,
                                 g_settings_get_boolean (self->settings, "setup-complete"));
  sync_local_only (self);
  rfl_wizard_provider_page_load (self->provider_page, self->settings);
  rfl_wizard_database_page_set_data_dir (self->database_page, self->initial_data_dir);
  rfl_wizard_hardware_page_probe (self->hardware_page, root, self->initial_data_dir, ollama_url);

  show_page (self, RFL_WIZARD_PAGE_HARDWARE);
}

static void
rfl_wizard_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  RflWizard *self = RFL_WIZARD (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    case PROP_SYSINFO_ROOT:
      g_value_set_string (value, self->sysinfo_root);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_wizard_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  RflWizard *self = RFL_WIZARD (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_set_object (&self->settings, g_value_get_object (value));
      break;
    case PROP_SYSINFO_ROOT:
      g_free (self->sysinfo_root);
      self->sysinfo_root = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_wizard_dispose (GObject *object)
{
  RflWizard *self = RFL_WIZARD (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_WIZARD);

  G_OBJECT_CLASS (rfl_wizard_parent_class)->dispose (object);
}

static void
rfl_wizard_finalize (GObject *object)
{
  RflWizard *self = RFL_WIZARD (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->finishing, _rfl_wizard_choices_free);
  g_clear_pointer (&self->setup_result, rfl_setup_result_free);
  g_free (self->sysinfo_root);
  g_free (self->initial_data_dir);

  G_OBJECT_CLASS (rfl_wizard_parent_class)->finalize (object);
}

static void
rfl_wizard_class_init (RflWizardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = rfl_wizard_constructed;
  object_class->get_property = rfl_wizard_get_property;
  object_class->set_property = rfl_wizard_set_property;
  object_class->dispose = rfl_wizard_dispose;
  object_class->finalize = rfl_wizard_finalize;
  window_class->close_request = rfl_wizard_close_request;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SYSINFO_ROOT] =
    g_param_spec_string ("sysinfo-root", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted after Finish wrote the settings. */
  signals[FINISHED] = g_signal_new ("finished",
                                    G_TYPE_FROM_CLASS (klass),
                                    G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 0);

  g_type_ensure (RFL_TYPE_WIZARD_HARDWARE_PAGE);
  g_type_ensure (RFL_TYPE_WIZARD_USE_CASE_PAGE);
  g_type_ensure (RFL_TYPE_WIZARD_PROVIDER_PAGE);
  g_type_ensure (RFL_TYPE_WIZARD_DATABASE_PAGE);
  g_type_ensure (RFL_TYPE_WIZARD_SUMMARY_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-wizard.ui");
  gtk_widget_class_bind_template_child (widget_class, RflWizard, window_title);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, back_button);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, next_button);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, stack);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, hardware_page);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, use_case_page);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, provider_page);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, database_page);
  gtk_widget_class_bind_template_child (widget_class, RflWizard, summary_page);
  gtk_widget_class_bind_template_callback (widget_class, hardware_probed_cb);
  gtk_widget_class_bind_template_callback (widget_class, use_case_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, data_dir_checked_cb);

  gtk_widget_class_install_action (widget_class, "wizard.next", NULL, wizard_next_cb);
  gtk_widget_class_install_action (widget_class, "wizard.back", NULL, wizard_back_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK,
                                       "wizard.next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK,
                                       "wizard.back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "window.close", NULL);
}

static void
rfl_wizard_init (RflWizard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
}
