/* rfl-wizard-provider-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-wizard-provider-page.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-secrets.h"
#include "llm/rfl-ollama-pull.h"
#include "rfl-wizard-private.h"

typedef enum
{
  CONNECTION_IDLE,
  CONNECTION_TESTING,
  CONNECTION_OK,
  CONNECTION_FAILED,
} ConnectionState;

typedef enum
{
  KEYRING_UNKNOWN,
  KEYRING_CHECKING,
  KEYRING_AVAILABLE,
  KEYRING_MISSING,
} KeyringState;

/* The cloud providers, in the order of the provider combo row. */
static const RflProviderKind cloud_kinds[] = {
  RFL_PROVIDER_OPENAI,
  RFL_PROVIDER_ANTHROPIC,
  RFL_PROVIDER_OPENAI_COMPATIBLE,
};

struct _RflWizardProviderPage
{
  AdwBin           parent_instance;

  /* Template children */
  AdwActionRow    *local_row;
  GtkCheckButton  *local_check;
  AdwActionRow    *cloud_row;
  GtkCheckButton  *cloud_check;
  GtkStack        *mode_stack;
  AdwEntryRow     *ollama_url_row;
  AdwActionRow    *ollama_status_row;
  GtkStack        *ollama_status_icon_stack;
  GtkImage        *ollama_status_icon;
  GtkSpinner      *ollama_spinner;
  GtkButton       *ollama_test_button;
  GtkLabel        *ollama_error_label;
  AdwPreferencesGroup *models_group;
  GtkListBox      *models_list;
  AdwEntryRow     *pull_entry_row;
  GtkButton       *pull_button;
  AdwPreferencesRow *pull_progress_row;
  GtkLabel        *pull_title_label;
  GtkProgressBar  *pull_progress_bar;
  GtkLabel        *pull_detail_label;
  GtkButton       *pull_cancel_button;
  AdwActionRow    *pull_result_row;
  GtkImage        *pull_result_icon;
  GtkButton       *pull_retry_button;
  AdwComboRow     *cloud_kind_row;
  AdwEntryRow     *cloud_url_row;
  AdwEntryRow     *cloud_key_row;
  AdwActionRow    *cloud_status_row;
  GtkStack        *cloud_status_icon_stack;
  GtkImage        *cloud_status_icon;
  GtkSpinner      *cloud_spinner;
  GtkButton       *cloud_test_button;
  AdwComboRow     *cloud_model_row;
  GtkLabel        *cloud_error_label;
  GtkBox          *keyring_box;
  AdwActionRow    *keyring_warning_row;
  GtkSwitch       *session_switch;
  GtkLabel        *keyring_error_label;

  /* Owned */
  GCancellable    *cancellable;          /* page lifetime: keyring */
  GCancellable    *ollama_cancellable;
  GCancellable    *pull_cancellable;
  GCancellable    *cloud_cancellable;
  GPtrArray       *ollama_models;        /* of RflModelInfo* */
  GtkStringList   *cloud_models;
  char            *ollama_model;
  char            *cloud_model;
  char            *preferred_model;      /* from settings */
  char            *recommended;
  char            *select_after_list;    /* a model just downloaded */
  char            *pulling_model;

  ConnectionState  ollama_state;
  ConnectionState  cloud_state;
  KeyringState     keyring_state;
  RflProviderKind  cloud_kind;
  gboolean         local_only;
  gboolean         pulling;
  gboolean         pull_name_edited;
  gboolean         loading;
  gboolean         disposed;
};

G_DEFINE_FINAL_TYPE (RflWizardProviderPage, rfl_wizard_provider_page, ADW_TYPE_BIN)

static void ollama_test (RflWizardProviderPage *self);
static void cloud_test  (RflWizardProviderPage *self);

static char *
dup_trimmed_text (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

static void
show_error (GtkLabel   *label,
            GtkWidget  *row,
            const char *message)
{
  if (row != NULL)
    gtk_widget_add_css_class (row, "error");
  gtk_label_set_label (label, message);
  gtk_widget_set_visible (GTK_WIDGET (label), TRUE);
}

static void
clear_errors (RflWizardProviderPage *self)
{
  GtkWidget *rows[] = {
    GTK_WIDGET (self->ollama_url_row), GTK_WIDGET (self->pull_entry_row),
    GTK_WIDGET (self->cloud_url_row), GTK_WIDGET (self->cloud_key_row),
    GTK_WIDGET (self->cloud_model_row), GTK_WIDGET (self->session_switch),
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    gtk_widget_remove_css_class (rows[i], "error");
  gtk_widget_set_visible (GTK_WIDGET (self->ollama_error_label), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->cloud_error_label), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->keyring_error_label), FALSE);
}

static gboolean
is_local (RflWizardProviderPage *self)
{
  return gtk_check_button_get_active (self->local_check);
}

static void
activate_next (RflWizardProviderPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "wizard.next", NULL);
}

/* Connection rows: the same four states for Ollama and the cloud. */
static void
update_status_row (AdwActionRow    *row,
                   GtkStack        *icon_stack,
                   GtkImage        *icon,
                   GtkSpinner      *spinner,
                   GtkButton       *button,
                   ConnectionState  state,
                   const char      *title,
                   const char      *subtitle)
{
  const char *icon_name = "network-server-symbolic";

  gtk_widget_remove_css_class (GTK_WIDGET (icon), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (icon), "error");

  if (state == CONNECTION_OK)
    {
      icon_name = "emblem-ok-symbolic";
      gtk_widget_add_css_class (GTK_WIDGET (icon), "success");
    }
  else if (state == CONNECTION_FAILED)
    {
      icon_name = "dialog-error-symbolic";
      gtk_widget_add_css_class (GTK_WIDGET (icon), "error");
    }

  gtk_image_set_from_icon_name (icon, icon_name);
  gtk_spinner_set_spinning (spinner, state == CONNECTION_TESTING);
  gtk_stack_set_visible_child_name (icon_stack,
                                    state == CONNECTION_TESTING ? "spinner" : "icon");
  gtk_widget_set_sensitive (GTK_WIDGET (button), state != CONNECTION_TESTING);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (row, subtitle ? subtitle : "");
}

static void
update_sensitivity (RflWizardProviderPage *self)
{
  gboolean testing = self->ollama_state == CONNECTION_TESTING;

  gtk_widget_set_sensitive (GTK_WIDGET (self->ollama_url_row), !self->pulling);
  gtk_widget_set_sensitive (GTK_WIDGET (self->ollama_test_button),
                            !self->pulling && !testing);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pull_entry_row), !self->pulling);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pull_button), !self->pulling);
  gtk_widget_set_visible (GTK_WIDGET (self->pull_progress_row), self->pulling);
}

/* Ollama */

static void
clear_models_list (RflWizardProviderPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->models_list))))
    gtk_list_box_remove (self->models_list, child);
}

static void
model_check_toggled_cb (GtkCheckButton        *check,
                        RflWizardProviderPage *self)
{
  if (!gtk_check_button_get_active (check))
    return;

  g_free (self->ollama_model);
  self->ollama_model = g_strdup (g_object_get_data (G_OBJECT (check), "model"));
  clear_errors (self);
}

static gboolean
ollama_has_model (RflWizardProviderPage *self,
                  const char            *name)
{
  for (guint i = 0; name != NULL && self->ollama_models && i < self->ollama_models->len; i++)
    {
      const RflModelInfo *info = g_ptr_array_index (self->ollama_models, i);

      if (g_str_equal (info->name, name))
        return TRUE;
    }

  return FALSE;
}

/* Ollama lists "llama3.2" as "llama3.2:latest". */
static char *
dup_listed_name (RflWizardProviderPage *self,
                 const char            *name)
{
  g_autofree char *latest = NULL;

  if (name == NULL || *name == '\0')
    return NULL;
  if (ollama_has_model (self, name))
    return g_strdup (name);

  latest = g_strconcat (name, ":latest", NULL);
  if (strchr (name, ':') == NULL && ollama_has_model (self, latest))
    return g_steal_pointer (&latest);

  return NULL;
}

static void
select_ollama_model (RflWizardProviderPage *self,
                     const char            *name)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->models_list));
       row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkCheckButton *check = g_object_get_data (G_OBJECT (row), "check");

      if (check != NULL && g_strcmp0 (g_object_get_data (G_OBJECT (check), "model"), name) == 0)
        gtk_check_button_set_active (check, TRUE);
    }
}

static void
fill_models_list (RflWizardProviderPage *self)
{
  const char *candidates[4];
  GtkCheckButton *group = NULL;
  g_autofree char *chosen = NULL;

  clear_models_list (self);
  g_clear_pointer (&self->ollama_model, g_free);

  if (self->ollama_models->len == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     _("No models are installed yet"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                   _("Download one below"));
      gtk_widget_add_css_class (row, "dim-label");
      gtk_list_box_append (self->models_list, row);
    }

  for (guint i = 0; i < self->ollama_models->len; i++)
    {
      const RflModelInfo *info = g_ptr_array_index (self->ollama_models, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();

      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      if (group == NULL)
        group = GTK_CHECK_BUTTON (check);
      else
        gtk_check_button_set_group (GTK_CHECK_BUTTON (check), group);
      g_object_set_data_full (G_OBJECT (check), "model", g_strdup (info->name), g_free);
      g_signal_connect (check, "toggled", G_CALLBACK (model_check_toggled_cb), self);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), info->name);
      if (info->size_bytes > 0)
        {
          g_autofree char *size = g_format_size (info->size_bytes);

          adw_action_row_set_subtitle (ADW_ACTION_ROW (row), size);
        }
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      g_object_set_data (G_OBJECT (row), "check", check);
      gtk_list_box_append (self->models_list, row);
    }

  /* Keep what the user chose, else what was configured, else the
   * recommendation, else the first model. */
  candidates[0] = self->select_after_list;
  candidates[1] = self->preferred_model;
  candidates[2] = self->recommended;
  candidates[3] = NULL;
  for (guint i = 0; chosen == NULL && i < G_N_ELEMENTS (candidates); i++)
    chosen = dup_listed_name (self, candidates[i]);
  if (chosen == NULL && self->ollama_models->len > 0)
    chosen = g_strdup (((RflModelInfo *) g_ptr_array_index (self->ollama_models, 0))->name);

  g_clear_pointer (&self->select_after_list, g_free);
  if (chosen != NULL)
    select_ollama_model (self, chosen);

  gtk_widget_set_visible (GTK_WIDGET (self->models_group), TRUE);
}

static void
ollama_reset (RflWizardProviderPage *self)
{
  g_cancellable_cancel (self->ollama_cancellable);
  g_clear_object (&self->ollama_cancellable);
  g_clear_pointer (&self->ollama_models, g_ptr_array_unref);
  g_clear_pointer (&self->ollama_model, g_free);
  clear_models_list (self);
  gtk_widget_set_visible (GTK_WIDGET (self->models_group), FALSE);

  self->ollama_state = CONNECTION_IDLE;
  update_status_row (self->ollama_status_row, self->ollama_status_icon_stack,
                     self->ollama_status_icon, self->ollama_spinner,
                     self->ollama_test_button, CONNECTION_IDLE,
                     _("Not Tested Yet"),
                     _("Test the connection to see the installed models"));
  update_sensitivity (self);
}

static void
ollama_list_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (RflWizardProviderPage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) models = NULL;
  g_autofree char *title = NULL;

  models = rfl_provider_list_models_finish (result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (models == NULL)
    {
      self->ollama_state = CONNECTION_FAILED;
      update_status_row (self->ollama_status_row, self->ollama_status_icon_stack,
                         self->ollama_status_icon, self->ollama_spinner,
                         self->ollama_test_button, CONNECTION_FAILED,
                         _("Connection Failed"), error->message);
      update_sensitivity (self);
      return;
    }

  self->ollama_state = CONNECTION_OK;
  self->ollama_models = g_steal_pointer (&models);
  title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                        "Connected — %u model installed",
                                        "Connected — %u models installed",
                                        self->ollama_models->len),
                           self->ollama_models->len);
  update_status_row (self->ollama_status_row, self->ollama_status_icon_stack,
                     self->ollama_status_icon, self->ollama_spinner,
                     self->ollama_test_button, CONNECTION_OK, title, NULL);
  fill_models_list (self);
  update_sensitivity (self);
}

static gboolean
check_ollama_url (RflWizardProviderPage *self,
                  char                 **url_out)
{
  g_autofree char *url = dup_trimmed_text (self->ollama_url_row);
  g_autoptr (GError) error = NULL;

  if (!rfl_provider_validate_url (url, &error))
    {
      show_error (self->ollama_error_label, GTK_WIDGET (self->ollama_url_row),
                  error->message);
      return FALSE;
    }

  if (url_out != NULL)
    *url_out = g_steal_pointer (&url);
  return TRUE;
}

static void
ollama_test (RflWizardProviderPage *self)
{
  g_autofree char *url = NULL;
  g_autofree char *keep = NULL;

  clear_errors (self);
  if (!check_ollama_url (self, &url))
    return;

  /* Keep the chosen model chosen when it is still installed. */
  keep = g_strdup (self->ollama_model);
  ollama_reset (self);
  if (self->select_after_list == NULL)
    self->select_after_list = g_steal_pointer (&keep);

  self->ollama_cancellable = g_cancellable_new ();
  self->ollama_state = CONNECTION_TESTING;
  update_status_row (self->ollama_status_row, self->ollama_status_icon_stack,
                     self->ollama_status_icon, self->ollama_spinner,
                     self->ollama_test_button, CONNECTION_TESTING,
                     _("Connecting…"), url);
  update_sensitivity (self);

  rfl_provider_list_models_async (RFL_PROVIDER_OLLAMA, url, NULL,
                                  self->ollama_cancellable, ollama_list_cb,
                                  g_object_ref (self));
}

static void
ollama_test_clicked_cb (RflWizardProviderPage *self)
{
  ollama_test (self);
}

static void
ollama_url_changed_cb (RflWizardProviderPage *self)
{
  if (self->loading)
    return;

  clear_errors (self);
  ollama_reset (self);
}

static void
ollama_url_activated_cb (RflWizardProviderPage *self)
{
  if (self->ollama_state == CONNECTION_OK && self->ollama_model != NULL)
    activate_next (self);
  else
    ollama_test (self);
}

/* Downloads */

static void
show_pull_result (RflWizardProviderPage *self,
                  const char            *icon_name,
                  const char            *style,
                  const char            *title,
                  const char            *subtitle,
                  gboolean               can_retry)
{
  static const char * const styles[] = { "success", "error", "accent" };

  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->pull_result_icon), styles[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self->pull_result_icon), style);
  gtk_image_set_from_icon_name (self->pull_result_icon, icon_name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->pull_result_row), title);
  adw_action_row_set_subtitle (self->pull_result_row, subtitle ? subtitle : "");
  gtk_widget_set_visible (GTK_WIDGET (self->pull_retry_button), can_retry);
  gtk_widget_set_visible (GTK_WIDGET (self->pull_result_row), TRUE);
}

static void
pull_progress_cb (const RflPullProgress *progress,
                  gpointer               user_data)
{
  RflWizardProviderPage *self = user_data;
  g_autofree char *detail = NULL;

  if (self->disposed || !self->pulling)
    return;

  if (progress->total > 0)
    {
      g_autofree char *done = g_format_size (progress->completed);
      g_autofree char *total = g_format_size (progress->total);
      g_autofree char *speed = g_format_size ((guint64) MAX (progress->bytes_per_second, 0.0));

      double fraction = (double) progress->completed / progress->total;

      gtk_progress_bar_set_fraction (self->pull_progress_bar, CLAMP (fraction, 0.0, 1.0));
      /* Translators: download progress, e.g. "1.2 GB of 4.7 GB — 35 MB/s" */
      detail = g_strdup_printf (_("%s of %s — %s/s"), done, total, speed);
    }
  else
    {
      gtk_progress_bar_pulse (self->pull_progress_bar);
      detail = g_strdup (progress->status ? progress->status : "");
    }

  gtk_label_set_label (self->pull_detail_label, detail);
}

static void
pull_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (RflWizardProviderPage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *model = NULL;
  gboolean ok;

  ok = rfl_ollama_pull_finish (result, &error);
  if (self->disposed)
    return;

  model = g_steal_pointer (&self->pulling_model);
  self->pulling = FALSE;
  update_sensitivity (self);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      show_pull_result (self, "dialog-information-symbolic", "accent",
                        _("Download cancelled; pulling again resumes it"),
                        NULL, FALSE);
      return;
    }

  if (!ok)
    {
      show_pull_result (self, "dialog-error-symbolic", "error",
                        _("The Download Failed"), error->message, TRUE);
      return;
    }

  {
    g_autofree char *title = NULL;

    /* Translators: a model finished downloading */
    title = g_strdup_printf (_("“%s” is ready"), model);
    show_pull_result (self, "emblem-ok-symbolic", "success", title, NULL, FALSE);
  }

  /* List the models again and choose the new one. */
  ollama_test (self);
  g_free (self->select_after_list);
  self->select_after_list = g_steal_pointer (&model);
}

static void
pull_clicked_cb (RflWizardProviderPage *self)
{
  g_autofree char *url = NULL;
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;

  if (self->pulling)
    return;

  clear_errors (self);
  if (!check_ollama_url (self, &url))
    return;

  name = dup_trimmed_text (self->pull_entry_row);
  if (*name == '\0' || strchr (name, ' ') != NULL)
    {
      show_error (self->ollama_error_label, GTK_WIDGET (self->pull_entry_row),
                  _("Enter the name of a model to download, like “llama3.2:3b”"));
      gtk_widget_grab_focus (GTK_WIDGET (self->pull_entry_row));
      return;
    }

  g_clear_object (&self->pull_cancellable);
  self->pull_cancellable = g_cancellable_new ();
  self->pulling = TRUE;
  self->pulling_model = g_strdup (name);

  /* Translators: a model is being downloaded */
  title = g_strdup_printf (_("Downloading “%s”"), name);
  gtk_label_set_label (self->pull_title_label, title);
  gtk_label_set_label (self->pull_detail_label, _("Starting…"));
  gtk_progress_bar_set_fraction (self->pull_progress_bar, 0.0);
  gtk_widget_set_visible (GTK_WIDGET (self->pull_result_row), FALSE);
  update_sensitivity (self);

  rfl_ollama_pull_async (url, name,
                         pull_progress_cb, g_object_ref (self), g_object_unref,
                         self->pull_cancellable, pull_cb, g_object_ref (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->pull_cancel_button));
}

static void
pull_cancel_clicked_cb (RflWizardProviderPage *self)
{
  g_cancellable_cancel (self->pull_cancellable);
}

static void
pull_entry_changed_cb (RflWizardProviderPage *self)
{
  if (!self->loading)
    self->pull_name_edited = TRUE;
}

/* Cloud */

static RflProviderKind
selected_cloud_kind (RflWizardProviderPage *self)
{
  guint selected = adw_combo_row_get_selected (self->cloud_kind_row);

  return selected < G_N_ELEMENTS (cloud_kinds) ? cloud_kinds[selected]
                                               : RFL_PROVIDER_OPENAI;
}

static void
cloud_reset (RflWizardProviderPage *self)
{
  g_cancellable_cancel (self->cloud_cancellable);
  g_clear_object (&self->cloud_cancellable);
  g_clear_pointer (&self->cloud_model, g_free);

  self->loading = TRUE;
  gtk_string_list_splice (self->cloud_models, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->cloud_models)),
                          NULL);
  self->loading = FALSE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->cloud_model_row), FALSE);

  self->cloud_state = CONNECTION_IDLE;
  update_status_row (self->cloud_status_row, self->cloud_status_icon_stack,
                     self->cloud_status_icon, self->cloud_spinner,
                     self->cloud_test_button, CONNECTION_IDLE,
                     _("Not Tested Yet"),
                     _("Test the connection to see the available models"));
}

static void
cloud_model_changed_cb (RflWizardProviderPage *self)
{
  GtkStringObject *item;

  if (self->loading)
    return;

  item = adw_combo_row_get_selected_item (self->cloud_model_row);
  g_free (self->cloud_model);
  self->cloud_model = item ? g_strdup (gtk_string_object_get_string (item)) : NULL;
}

static void
cloud_list_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (RflWizardProviderPage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) models = NULL;
  g_autofree char *title = NULL;
  guint chosen = 0;

  models = rfl_provider_list_models_finish (result, &error);
  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (models == NULL)
    {
      self->cloud_state = CONNECTION_FAILED;
      update_status_row (self->cloud_status_row, self->cloud_status_icon_stack,
                         self->cloud_status_icon, self->cloud_spinner,
                         self->cloud_test_button, CONNECTION_FAILED,
                         _("Connection Failed"), error->message);
      return;
    }

  self->cloud_state = CONNECTION_OK;
  title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                        "Connected — %u model available",
                                        "Connected — %u models available",
                                        models->len),
                           models->len);
  update_status_row (self->cloud_status_row, self->cloud_status_icon_stack,
                     self->cloud_status_icon, self->cloud_spinner,
                     self->cloud_test_button, CONNECTION_OK, title, NULL);

  self->loading = TRUE;
  for (guint i = 0; i < models->len; i++)
    {
      const RflModelInfo *info = g_ptr_array_index (models, i);

      gtk_string_list_append (self->cloud_models, info->name);
      if (g_strcmp0 (info->name, self->preferred_model) == 0)
        chosen = i;
    }
  self->loading = FALSE;

  gtk_widget_set_sensitive (GTK_WIDGET (self->cloud_model_row), models->len > 0);
  if (models->len > 0)
    {
      adw_combo_row_set_selected (self->cloud_model_row, chosen);
      cloud_model_changed_cb (self);
    }
}

static gboolean
check_cloud_inputs (RflWizardProviderPage *self,
                    char                 **url_out,
                    char                 **key_out)
{
  g_autofree char *url = dup_trimmed_text (self->cloud_url_row);
  g_autofree char *key = dup_trimmed_text (self->cloud_key_row);
  g_autoptr (GError) error = NULL;

  if (!rfl_provider_validate_url (url, &error))
    {
      show_error (self->cloud_error_label, GTK_WIDGET (self->cloud_url_row),
                  error->message);
      gtk_widget_grab_focus (GTK_WIDGET (self->cloud_url_row));
      return FALSE;
    }

  if (*key == '\0' && rfl_provider_kind_needs_key (selected_cloud_kind (self)))
    {
      g_autofree char *message = NULL;

      /* Translators: %s is a provider such as "OpenAI" */
      message = g_strdup_printf (_("Enter the API key from your %s account"),
                                 rfl_provider_kind_get_title (selected_cloud_kind (self)));
      show_error (self->cloud_error_label, GTK_WIDGET (self->cloud_key_row), message);
      gtk_widget_grab_focus (GTK_WIDGET (self->cloud_key_row));
      return FALSE;
    }

  if (url_out != NULL)
    *url_out = g_steal_pointer (&url);
  if (key_out != NULL)
    *key_out = g_steal_pointer (&key);
  return TRUE;
}

static void
cloud_test (RflWizardProviderPage *self)
{
  g_autofree char *url = NULL;
  g_autofree char *key = NULL;

  clear_errors (self);
  if (!check_cloud_inputs (self, &url, &key))
    return;

  cloud_reset (self);
  self->cloud_cancellable = g_cancellable_new ();
  self->cloud_state = CONNECTION_TESTING;
  update_status_row (self->cloud_status_row, self->cloud_status_icon_stack,
                     self->cloud_status_icon, self->cloud_spinner,
                     self->cloud_test_button, CONNECTION_TESTING,
                     _("Connecting…"), url);

  rfl_provider_list_models_async (selected_cloud_kind (self), url,
                                  *key != '\0' ? key : NULL,
                                  self->cloud_cancellable, cloud_list_cb,
                                  g_object_ref (self));
}

static void
cloud_test_clicked_cb (RflWizardProviderPage *self)
{
  cloud_test (self);
}

static void
cloud_input_changed_cb (RflWizardProviderPage *self)
{
  if (self->loading)
    return;

  clear_errors (self);
  cloud_reset (self);
}

static void
cloud_entry_activated_cb (RflWizardProviderPage *self)
{
  if (self->cloud_state == CONNECTION_OK && self->cloud_model != NULL)
    activate_next (self);
  else
    cloud_test (self);
}

static void
cloud_kind_changed_cb (RflWizardProviderPage *self)
{
  RflProviderKind kind = selected_cloud_kind (self);
  const char *old_default = rfl_provider_kind_get_default_url (self->cloud_kind);
  const char *url = gtk_editable_get_text (GTK_EDITABLE (self->cloud_url_row));

  /* Replace the address only when the user did not type their own. */
  if (*url == '\0' || g_strcmp0 (url, old_default) == 0)
    {
      const char *new_default = rfl_provider_kind_get_default_url (kind);

      gtk_editable_set_text (GTK_EDITABLE (self->cloud_url_row),
                             new_default ? new_default : "");
    }

  self->cloud_kind = kind;
  if (!self->loading)
    {
      clear_errors (self);
      cloud_reset (self);
    }
}

static void
session_changed_cb (RflWizardProviderPage *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->session_switch), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->keyring_error_label), FALSE);
}

/* Keyring */

static void
keyring_check_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (RflWizardProviderPage) self = user_data;
  g_autoptr (GError) error = NULL;

  if (rfl_secrets_check_finish (result, &error))
    {
      if (!self->disposed)
        self->keyring_state = KEYRING_AVAILABLE;
      return;
    }

  if (self->disposed || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_debug ("No keyring: %s", error->message);
  self->keyring_state = KEYRING_MISSING;
  adw_action_row_set_subtitle (self->keyring_warning_row, error->message);
  gtk_widget_set_visible (GTK_WIDGET (self->keyring_box), TRUE);
}

static void
key_lookup_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (RflWizardProviderPage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;

  key = rfl_secrets_lookup_finish (result, &error);
  if (self->disposed || key == NULL)
    return;

  if (*gtk_editable_get_text (GTK_EDITABLE (self->cloud_key_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->cloud_key_row), key);
}

/* Mode and local-only */

static void
mode_toggled_cb (RflWizardProviderPage *self)
{
  clear_errors (self);
  gtk_stack_set_visible_child_name (self->mode_stack,
                                    is_local (self) ? "ollama" : "cloud");
  if (!self->loading && gtk_widget_get_mapped (GTK_WIDGET (self)))
    rfl_wizard_provider_page_enter (self);
}

void
rfl_wizard_provider_page_set_local_only (RflWizardProviderPage *self,
                                         gboolean               local_only)
{
  g_return_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self));

  self->local_only = !!local_only;
  gtk_widget_set_sensitive (GTK_WIDGET (self->cloud_row), !local_only);
  if (local_only)
    {
      adw_action_row_set_subtitle (self->cloud_row,
                                   _("Not available while “Local Inference Only” "
                                     "is on. Turn it off on the Use Case page to "
                                     "use a cloud provider."));
      gtk_check_button_set_active (self->local_check, TRUE);
    }
  else
    adw_action_row_set_subtitle (self->cloud_row,
                                 _("OpenAI, Anthropic or a server with an "
                                   "OpenAI-compatible API"));
}

void
rfl_wizard_provider_page_set_recommended (RflWizardProviderPage *self,
                                          const char            *model)
{
  g_return_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self));

  g_free (self->recommended);
  self->recommended = g_strdup (model);

  if (!self->pull_name_edited && !self->pulling && model != NULL)
    {
      self->loading = TRUE;
      gtk_editable_set_text (GTK_EDITABLE (self->pull_entry_row), model);
      self->loading = FALSE;
    }
}

void
rfl_wizard_provider_page_load (RflWizardProviderPage *self,
                               GSettings             *settings)
{
  g_autofree char *provider = NULL;
  g_autofree char *ollama_url = NULL;
  g_autofree char *provider_url = NULL;
  RflProviderKind kind = RFL_PROVIDER_OLLAMA;

  g_return_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self));
  g_return_if_fail (G_IS_SETTINGS (settings));

  provider = g_settings_get_string (settings, "provider");
  ollama_url = g_settings_get_string (settings, "ollama-url");
  provider_url = g_settings_get_string (settings, "provider-url");
  if (!rfl_provider_kind_from_string (provider, &kind))
    kind = RFL_PROVIDER_OLLAMA;

  g_free (self->preferred_model);
  self->preferred_model = g_settings_get_string (settings, "model");
  if (*self->preferred_model == '\0')
    g_clear_pointer (&self->preferred_model, g_free);

  self->loading = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->ollama_url_row), ollama_url);

  if (kind != RFL_PROVIDER_OLLAMA)
    {
      for (guint i = 0; i < G_N_ELEMENTS (cloud_kinds); i++)
        if (cloud_kinds[i] == kind)
          adw_combo_row_set_selected (self->cloud_kind_row, i);
      self->cloud_kind = kind;
      if (*provider_url != '\0')
        gtk_editable_set_text (GTK_EDITABLE (self->cloud_url_row), provider_url);
      if (!self->local_only)
        gtk_check_button_set_active (self->cloud_check, TRUE);

      rfl_secrets_lookup_async (rfl_provider_kind_to_string (kind),
                                gtk_editable_get_text (GTK_EDITABLE (self->cloud_url_row)),
                                self->cancellable, key_lookup_cb,
                                g_object_ref (self));
    }
  else
    gtk_check_button_set_active (self->local_check, TRUE);
  self->loading = FALSE;

  ollama_reset (self);
  cloud_reset (self);
}

void
rfl_wizard_provider_page_enter (RflWizardProviderPage *self)
{
  g_return_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self));

  if (self->keyring_state == KEYRING_UNKNOWN)
    {
      self->keyring_state = KEYRING_CHECKING;
      rfl_secrets_check_async (self->cancellable, keyring_check_cb,
                               g_object_ref (self));
    }

  if (is_local (self))
    {
      g_autofree char *url = dup_trimmed_text (self->ollama_url_row);

      if (self->ollama_state == CONNECTION_IDLE && !self->pulling
          && rfl_provider_validate_url (url, NULL))
        ollama_test (self);
    }
  else
    {
      g_autofree char *url = dup_trimmed_text (self->cloud_url_row);
      g_autofree char *key = dup_trimmed_text (self->cloud_key_row);

      if (self->cloud_state == CONNECTION_IDLE
          && rfl_provider_validate_url (url, NULL)
          && (*key != '\0' || !rfl_provider_kind_needs_key (selected_cloud_kind (self))))
        cloud_test (self);
    }
}

static gboolean
validate_ollama (RflWizardProviderPage *self)
{
  if (!check_ollama_url (self, NULL))
    {
      gtk_widget_grab_focus (GTK_WIDGET (self->ollama_url_row));
      return FALSE;
    }

  if (self->pulling)
    {
      show_error (self->ollama_error_label, NULL,
                  _("Wait for the download to finish, or cancel it"));
      return FALSE;
    }

  if (self->ollama_state == CONNECTION_TESTING)
    {
      show_error (self->ollama_error_label, NULL,
                  _("Wait for the connection test to finish"));
      return FALSE;
    }

  if (self->ollama_state != CONNECTION_OK)
    {
      show_error (self->ollama_error_label, GTK_WIDGET (self->ollama_url_row),
                  _("Connect to Ollama to choose a model: start Ollama, check the "
                    "address and test the connection"));
      gtk_widget_grab_focus (GTK_WIDGET (self->ollama_test_button));
      return FALSE;
    }

  if (self->ollama_model == NULL)
    {
      show_error (self->ollama_error_label, GTK_WIDGET (self->pull_entry_row),
                  _("Download a model first: no model is installed yet"));
      gtk_widget_grab_focus (GTK_WIDGET (self->pull_entry_row));
      return FALSE;
    }

  return TRUE;
}

static gboolean
validate_cloud (RflWizardProviderPage *self)
{
  g_autofree char *key = NULL;

  if (!check_cloud_inputs (self, NULL, &key))
    return FALSE;

  if (self->cloud_state == CONNECTION_TESTING)
    {
      show_error (self->cloud_error_label, NULL,
                  _("Wait for the connection test to finish"));
      return FALSE;
    }

  if (self->cloud_state != CONNECTION_OK || self->cloud_model == NULL)
    {
      show_error (self->cloud_error_label, NULL,
                  _("Test the connection successfully to choose a model"));
      gtk_widget_grab_focus (GTK_WIDGET (self->cloud_test_button));
      return FALSE;
    }

  if (*key == '\0')
    return TRUE;

  if (self->keyring_state == KEYRING_CHECKING)
    {
      show_error (self->cloud_error_label, NULL,
                  _("Still looking for the keyring; try again in a moment"));
      return FALSE;
    }

  if (self->keyring_state == KEYRING_MISSING
      && !gtk_switch_get_active (self->session_switch))
    {
      show_error (self->keyring_error_label, GTK_WIDGET (self->session_switch),
                  _("Without a keyring the key cannot be saved. Turn on "
                    "“Use the Key for This Session Only” to continue."));
      gtk_widget_grab_focus (GTK_WIDGET (self->session_switch));
      return FALSE;
    }

  return TRUE;
}

gboolean
rfl_wizard_provider_page_validate (RflWizardProviderPage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self), FALSE);

  clear_errors (self);
  return is_local (self) ? validate_ollama (self) : validate_cloud (self);
}

void
rfl_wizard_provider_page_focus_first (RflWizardProviderPage *self)
{
  g_return_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self));

  gtk_widget_grab_focus (GTK_WIDGET (is_local (self) ? self->local_check
                                                     : self->cloud_check));
}

RflProviderKind
rfl_wizard_provider_page_get_kind (RflWizardProviderPage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self), RFL_PROVIDER_OLLAMA);

  return is_local (self) ? RFL_PROVIDER_OLLAMA : selected_cloud_kind (self);
}

char *
rfl_wizard_provider_page_dup_url (RflWizardProviderPage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self), NULL);

  return dup_trimmed_text (is_local (self) ? self->ollama_url_row
                                           : self->cloud_url_row);
}

const char *
rfl_wizard_provider_page_get_model (RflWizardProviderPage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self), NULL);

  return is_local (self) ? self->ollama_model : self->cloud_model;
}

char *
rfl_wizard_provider_page_dup_api_key (RflWizardProviderPage *self)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self), NULL);

  if (is_local (self))
    return NULL;

  key = dup_trimmed_text (self->cloud_key_row);
  return *key != '\0' ? g_steal_pointer (&key) : NULL;
}

RflWizardKeyStorage
rfl_wizard_provider_page_get_key_storage (RflWizardProviderPage *self)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (RFL_IS_WIZARD_PROVIDER_PAGE (self), RFL_WIZARD_KEY_NONE);

  key = rfl_wizard_provider_page_dup_api_key (self);
  if (key == NULL)
    return RFL_WIZARD_KEY_NONE;

  return self->keyring_state == KEYRING_MISSING ? RFL_WIZARD_KEY_SESSION
                                                : RFL_WIZARD_KEY_KEYRING;
}

GStrv
_rfl_wizard_provider_page_dup_listed_models (RflWizardProviderPage *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; self->ollama_models && i < self->ollama_models->len; i++)
    {
      const RflModelInfo *info = g_ptr_array_index (self->ollama_models, i);

      g_strv_builder_add (builder, info->name);
    }

  return g_strv_builder_end (builder);
}

gboolean
_rfl_wizard_provider_page_get_busy (RflWizardProviderPage *self)
{
  return self->pulling
         || self->ollama_state == CONNECTION_TESTING
         || self->cloud_state == CONNECTION_TESTING
         || self->keyring_state == KEYRING_CHECKING;
}

void
_rfl_wizard_provider_page_select_model (RflWizardProviderPage *self,
                                        const char            *model)
{
  if (is_local (self))
    {
      select_ollama_model (self, model);
      return;
    }

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->cloud_models)); i++)
    if (g_strcmp0 (gtk_string_list_get_string (self->cloud_models, i), model) == 0)
      adw_combo_row_set_selected (self->cloud_model_row, i);
}

static void
cancel_all (RflWizardProviderPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->ollama_cancellable);
  g_cancellable_cancel (self->pull_cancellable);
  g_cancellable_cancel (self->cloud_cancellable);
}

/* Out of the window, nothing is left running for a page nobody sees: a
 * download stops (Ollama keeps what it has). */
static void
rfl_wizard_provider_page_unroot (GtkWidget *widget)
{
  RflWizardProviderPage *self = RFL_WIZARD_PROVIDER_PAGE (widget);

  self->disposed = TRUE;
  cancel_all (self);

  GTK_WIDGET_CLASS (rfl_wizard_provider_page_parent_class)->unroot (widget);
}

static void
rfl_wizard_provider_page_dispose (GObject *object)
{
  RflWizardProviderPage *self = RFL_WIZARD_PROVIDER_PAGE (object);

  self->disposed = TRUE;
  cancel_all (self);

  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_WIZARD_PROVIDER_PAGE);

  G_OBJECT_CLASS (rfl_wizard_provider_page_parent_class)->dispose (object);
}

static void
rfl_wizard_provider_page_finalize (GObject *object)
{
  RflWizardProviderPage *self = RFL_WIZARD_PROVIDER_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->ollama_cancellable);
  g_clear_object (&self->pull_cancellable);
  g_clear_object (&self->cloud_cancellable);
  g_clear_pointer (&self->ollama_models, g_ptr_array_unref);
  g_clear_object (&self->cloud_models);
  g_free (self->ollama_model);
  g_free (self->cloud_model);
  g_free (self->preferred_model);
  g_free (self->recommended);
  g_free (self->select_after_list);
  g_free (self->pulling_model);

  G_OBJECT_CLASS (rfl_wizard_provider_page_parent_class)->finalize (object);
}

static void
rfl_wizard_provider_page_class_init (RflWizardProviderPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_wizard_provider_page_dispose;
  object_class->finalize = rfl_wizard_provider_page_finalize;
  widget_class->unroot = rfl_wizard_provider_page_unroot;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-wizard-provider-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, RflWizardProviderPage, name)
  BIND (local_row);
  BIND (local_check);
  BIND (cloud_row);
  BIND (cloud_check);
  BIND (mode_stack);
  BIND (ollama_url_row);
  BIND (ollama_status_row);
  BIND (ollama_status_icon_stack);
  BIND (ollama_status_icon);
  BIND (ollama_spinner);
  BIND (ollama_test_button);
  BIND (ollama_error_label);
  BIND (models_group);
  BIND (models_list);
  BIND (pull_entry_row);
  BIND (pull_button);
  BIND (pull_progress_row);
  BIND (pull_title_label);
  BIND (pull_progress_bar);
  BIND (pull_detail_label);
  BIND (pull_cancel_button);
  BIND (pull_result_row);
  BIND (pull_result_icon);
  BIND (pull_retry_button);
  BIND (cloud_kind_row);
  BIND (cloud_url_row);
  BIND (cloud_key_row);
  BIND (cloud_status_row);
  BIND (cloud_status_icon_stack);
  BIND (cloud_status_icon);
  BIND (cloud_spinner);
  BIND (cloud_test_button);
  BIND (cloud_model_row);
  BIND (cloud_error_label);
  BIND (keyring_box);
  BIND (keyring_warning_row);
  BIND (session_switch);
  BIND (keyring_error_label);
#undef BIND

  gtk_widget_class_bind_template_callback (widget_class, mode_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, ollama_url_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, ollama_url_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, ollama_test_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, pull_entry_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, pull_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, pull_cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloud_kind_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloud_input_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloud_entry_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloud_test_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloud_model_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, session_changed_cb);
}

static void
rfl_wizard_provider_page_init (RflWizardProviderPage *self)
{
  g_autoptr (GtkStringList) kinds = gtk_string_list_new (NULL);

  self->loading = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->cloud_models = gtk_string_list_new (NULL);
  adw_combo_row_set_model (self->cloud_model_row, G_LIST_MODEL (self->cloud_models));

  for (guint i = 0; i < G_N_ELEMENTS (cloud_kinds); i++)
    gtk_string_list_append (kinds, rfl_provider_kind_get_title (cloud_kinds[i]));
  self->cloud_kind = RFL_PROVIDER_OPENAI;
  adw_combo_row_set_model (self->cloud_kind_row, G_LIST_MODEL (kinds));
  adw_combo_row_set_selected (self->cloud_kind_row, 0);
  gtk_editable_set_text (GTK_EDITABLE (self->cloud_url_row),
                         rfl_provider_kind_get_default_url (RFL_PROVIDER_OPENAI));
  gtk_editable_set_text (GTK_EDITABLE (self->ollama_url_row),
                         rfl_provider_kind_get_default_url (RFL_PROVIDER_OLLAMA));
  self->loading = FALSE;

  rfl_wizard_provider_page_set_local_only (self, FALSE);
  ollama_reset (self);
  cloud_reset (self);
}
