/* rfl-wizard-summary-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-wizard-summary-page.h"

#include <glib/gi18n.h>

#include "rfl-wizard-private.h"

struct _RflWizardSummaryPage
{
  AdwBin             parent_instance;

  /* Template children */
  GtkListBox        *status_list;
  AdwActionRow      *progress_row;
  GtkSpinner        *progress_spinner;
  AdwActionRow      *error_row;
  AdwActionRow      *note_row;
  GtkBox            *groups_box;
};

G_DEFINE_FINAL_TYPE (RflWizardSummaryPage, rfl_wizard_summary_page, ADW_TYPE_BIN)

static AdwPreferencesGroup *
add_group (RflWizardSummaryPage *self,
           const char           *title)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  gtk_box_append (self->groups_box, group);
  return ADW_PREFERENCES_GROUP (group);
}

static AdwActionRow *
add_row (AdwPreferencesGroup *group,
         const char          *title,
         const char          *value)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (value);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);

  /* Short values stay on one line; long ones (paths) wrap. */
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_width_chars (GTK_LABEL (label), CLAMP (g_utf8_strlen (value, -1) + 1, 6, 24));
  gtk_label_set_max_width_chars (GTK_LABEL (label), 36);
  gtk_label_set_xalign (GTK_LABEL (label), 1.0);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_RIGHT);
  gtk_label_set_selectable (GTK_LABEL (label), FALSE);
  gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_top (label, 6);
  gtk_widget_set_margin_bottom (label, 6);
  gtk_widget_add_css_class (label, "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);

  adw_preferences_group_add (group, row);
  return ADW_ACTION_ROW (row);
}

static const char *
key_storage_title (RflWizardKeyStorage storage)
{
  switch (storage)
    {
    case RFL_WIZARD_KEY_NONE:
      return _("None");
    case RFL_WIZARD_KEY_KEYRING:
      return _("Stored in the keyring");
    case RFL_WIZARD_KEY_SESSION:
      return _("Kept for this session only");
    default:
      g_return_val_if_reached (NULL);
    }
}

static void
show_hardware (RflWizardSummaryPage   *self,
               const RflWizardChoices *choices)
{
  AdwPreferencesGroup *group = add_group (self, _("Hardware"));

  if (choices->has_recommendation)
    {
      AdwActionRow *row = add_row (group, _("Recommended Models"),
                                   rfl_model_class_get_title (choices->model_class));

      adw_action_row_set_subtitle (row, choices->recommendation_reason);
    }
  else
    add_row (group, _("Recommended Models"), _("Not known: the hardware could not be read"));
}

static void
show_use_case (RflWizardSummaryPage   *self,
               const RflWizardChoices *choices)
{
  AdwPreferencesGroup *group = add_group (self, _("Use Case"));
  g_autofree char *days = NULL;

  days = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u day", "%u days",
                                       choices->retention_days),
                          choices->retention_days);

  add_row (group, _("Use Case"), rfl_use_case_get_title (choices->use_case));
  add_row (group, _("Local Inference Only"), choices->local_only ? _("On") : _("Off"));
  add_row (group, _("Personal Data Redaction"), rfl_redaction_get_title (choices->redaction));
  add_row (group, _("Audit Log Retention"), days);
}

static void
show_provider (RflWizardSummaryPage   *self,
               const RflWizardChoices *choices)
{
  AdwPreferencesGroup *group = add_group (self, _("Language Model"));

  add_row (group, _("Provider"), rfl_provider_kind_get_title (choices->provider));
  add_row (group, _("Server Address"), choices->url ? choices->url : "");
  add_row (group, _("Model"), choices->model ? choices->model : _("None"));
  if (choices->provider != RFL_PROVIDER_OLLAMA)
    add_row (group, _("API Key"), key_storage_title (choices->key_storage));
}

static void
show_database (RflWizardSummaryPage   *self,
               const RflWizardChoices *choices)
{
  AdwPreferencesGroup *group = add_group (self, _("Tenant and Data"));

  add_row (group, _("Tenant"), choices->tenant_name);
  add_row (group, _("Administrator"), choices->admin_name);
  add_row (group, _("Email Address"), choices->admin_email);
  add_row (group, _("Data Folder"), choices->data_dir);
}

void
rfl_wizard_summary_page_show_choices (RflWizardSummaryPage   *self,
                                      const RflWizardChoices *choices)
{
  GtkWidget *child;

  g_return_if_fail (RFL_IS_WIZARD_SUMMARY_PAGE (self));
  g_return_if_fail (choices != NULL);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->groups_box))))
    gtk_box_remove (self->groups_box, child);

  show_hardware (self, choices);
  show_use_case (self, choices);
  show_provider (self, choices);
  show_database (self, choices);

  rfl_wizard_summary_page_set_error (self, NULL);
  rfl_wizard_summary_page_set_note (self, NULL);
}

static void
update_status_list (RflWizardSummaryPage *self)
{
  gboolean visible = gtk_widget_get_visible (GTK_WIDGET (self->progress_row))
                     || gtk_widget_get_visible (GTK_WIDGET (self->error_row))
                     || gtk_widget_get_visible (GTK_WIDGET (self->note_row));
  /* The template's direct child: not bound, so that disposing the
   * template leaves it to AdwBin. */
  GtkScrolledWindow *scrolled = GTK_SCROLLED_WINDOW (adw_bin_get_child (ADW_BIN (self)));
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (scrolled);

  gtk_widget_set_visible (GTK_WIDGET (self->status_list), visible);
  if (visible)
    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_lower (adjustment));
}

void
rfl_wizard_summary_page_set_working (RflWizardSummaryPage *self,
                                     gboolean              working)
{
  g_return_if_fail (RFL_IS_WIZARD_SUMMARY_PAGE (self));

  gtk_spinner_set_spinning (self->progress_spinner, working);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_row), working);
  if (working)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->error_row), FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->note_row), FALSE);
    }
  update_status_list (self);
}

void
rfl_wizard_summary_page_set_error (RflWizardSummaryPage *self,
                                   const char           *message)
{
  g_return_if_fail (RFL_IS_WIZARD_SUMMARY_PAGE (self));

  adw_action_row_set_subtitle (self->error_row, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_row), message != NULL);
  update_status_list (self);
}

void
rfl_wizard_summary_page_set_note (RflWizardSummaryPage *self,
                                  const char           *message)
{
  g_return_if_fail (RFL_IS_WIZARD_SUMMARY_PAGE (self));

  adw_action_row_set_subtitle (self->note_row, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->note_row), message != NULL);
  update_status_list (self);
}

static void
rfl_wizard_summary_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), RFL_TYPE_WIZARD_SUMMARY_PAGE);

  G_OBJECT_CLASS (rfl_wizard_summary_page_parent_class)->dispose (object);
}

static void
rfl_wizard_summary_page_class_init (RflWizardSummaryPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_wizard_summary_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-wizard-summary-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflWizardSummaryPage, status_list);
  gtk_widget_class_bind_template_child (widget_class, RflWizardSummaryPage, progress_row);
  gtk_widget_class_bind_template_child (widget_class, RflWizardSummaryPage, progress_spinner);
  gtk_widget_class_bind_template_child (widget_class, RflWizardSummaryPage, error_row);
  gtk_widget_class_bind_template_child (widget_class, RflWizardSummaryPage, note_row);
  gtk_widget_class_bind_template_child (widget_class, RflWizardSummaryPage, groups_box);
}

static void
rfl_wizard_summary_page_init (RflWizardSummaryPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
