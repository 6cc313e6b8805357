/* rfl-wizard-use-case-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-wizard-use-case-page.h"

struct _RflWizardUseCasePage
{
  AdwBin           parent_instance;

  /* Template children */
  GtkGrid         *cards_grid;
  AdwActionRow    *local_only_row;
  GtkSwitch       *local_only_switch;
  AdwComboRow     *redaction_row;
  GtkSpinButton   *retention_spin;

  /* Borrowed: children of cards_grid, by RflUseCase */
  GtkToggleButton *cards[RFL_N_USE_CASES];

  RflUseCase       use_case;
  /* Set while a preset is applied, so the rows' handlers stay quiet. */
  gboolean         applying;
};

G_DEFINE_FINAL_TYPE (RflWizardUseCasePage, rfl_wizard_use_case_page, ADW_TYPE_BIN)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Used until the application's own use case icons are installed. */
static const char * const fallback_icons[RFL_N_USE_CASES] = {
  "emblem-favorite-symbolic",
  "system-users-symbolic",
  "channel-secure-symbolic",
  "preferences-system-symbolic",
};

static void
apply_values (RflWizardUseCasePage *self,
              gboolean              local_only,
              RflRedaction          redaction,
              guint                 retention_days)
{
  self->applying = TRUE;
  gtk_switch_set_active (self->local_only_switch, local_only);
  adw_combo_row_set_selected (self->redaction_row, redaction);
  gtk_spin_button_set_value (self->retention_spin, retention_days);
  self->applying = FALSE;
}

static void
value_changed_cb (RflWizardUseCasePage *self)
{
  if (!self->applying)
    g_signal_emit (self, signals[CHANGED], 0);
}

/* Enter in the page's last field goes on. */
static void
retention_activated_cb (RflWizardUseCasePage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "wizard.next", NULL);
}

static void
card_toggled_cb (GtkToggleButton      *button,
                 RflWizardUseCasePage *self)
{
  RflUseCase use_case;
  const RflUseCasePreset *preset;

  if (!gtk_toggle_button_get_active (button) || self->applying)
    return;

  use_case = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "use-case"));
  self->use_case = use_case;
  preset = rfl_use_case_get_preset (use_case);
  apply_values (self, preset->local_only, preset->redaction,
                preset->audit_retention_days);
  g_signal_emit (self, signals[CHANGED], 0);
}

static const char *
pick_icon (RflWizardUseCasePage *self,
           RflUseCase            use_case)
{
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (self)));
  const char *name = rfl_use_case_get_icon_name (use_case);

  return gtk_icon_theme_has_icon (theme, name) ? name : fallback_icons[use_case];
}

static GtkToggleButton *
create_card (RflWizardUseCasePage *self,
             RflUseCase            use_case)
{
  GtkWidget *button = gtk_toggle_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *image = gtk_image_new_from_icon_name (pick_icon (self, use_case));
  GtkWidget *title = gtk_label_new (rfl_use_case_get_title (use_case));
  GtkWidget *description = gtk_label_new (rfl_use_case_get_description (use_case));

  gtk_image_set_pixel_size (GTK_IMAGE (image), 32);
  gtk_widget_set_halign (image, GTK_ALIGN_START);
  gtk_widget_set_margin_bottom (image, 6);
  gtk_widget_add_css_class (image, "accent");

  gtk_label_set_xalign (GTK_LABEL (title), 0.0);
  gtk_widget_add_css_class (title, "heading");

  gtk_label_set_xalign (GTK_LABEL (description), 0.0);
  gtk_label_set_yalign (GTK_LABEL (description), 0.0);
  gtk_label_set_wrap (GTK_LABEL (description), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (description), 30);
  gtk_widget_add_css_class (description, "dim-label");
  gtk_widget_add_css_class (description, "caption");

  gtk_box_append (GTK_BOX (box), image);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), description);
  gtk_widget_set_valign (box, GTK_ALIGN_START);
  gtk_button_set_child (GTK_BUTTON (button), box);

  gtk_widget_add_css_class (button, "use-case-card");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  rfl_use_case_get_title (use_case),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  rfl_use_case_get_description (use_case),
                                  -1);
  g_object_set_data (G_OBJECT (button), "use-case", GUINT_TO_POINTER (use_case));
  g_signal_connect (button, "toggled", G_CALLBACK (card_toggled_cb), self);

  return GTK_TOGGLE_BUTTON (button);
}

void
rfl_wizard_use_case_page_set_use_case (RflWizardUseCasePage *self,
                                       RflUseCase            use_case)
{
  g_return_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self));
  g_return_if_fail (use_case < RFL_N_USE_CASES);

  if (gtk_toggle_button_get_active (self->cards[use_case]))
    card_toggled_cb (self->cards[use_case], self);
  else
    gtk_toggle_button_set_active (self->cards[use_case], TRUE);
}

void
rfl_wizard_use_case_page_load (RflWizardUseCasePage *self,
                               GSettings            *settings,
                               gboolean              keep_values)
{
  g_autofree char *use_case_id = NULL;
  g_autofree char *redaction_id = NULL;
  RflUseCase use_case = RFL_USE_CASE_CUSTOM;
  RflRedaction redaction = RFL_REDACTION_STANDARD;

  g_return_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self));
  g_return_if_fail (G_IS_SETTINGS (settings));

  use_case_id = g_settings_get_string (settings, "use-case");
  if (!rfl_use_case_from_string (use_case_id, &use_case))
    use_case = RFL_USE_CASE_CUSTOM;

  rfl_wizard_use_case_page_set_use_case (self, use_case);
  if (!keep_values)
    return;

  redaction_id = g_settings_get_string (settings, "pii-redaction");
  if (!rfl_redaction_from_string (redaction_id, &redaction))
    redaction = RFL_REDACTION_STANDARD;

  apply_values (self,
                g_settings_get_boolean (settings, "local-only"),
                redaction,
                g_settings_get_uint (settings, "audit-retention-days"));
  g_signal_emit (self, signals[CHANGED], 0);
}

RflUseCase
rfl_wizard_use_case_page_get_use_case (RflWizardUseCasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self), RFL_USE_CASE_CUSTOM);

  return self->use_case;
}

gboolean
rfl_wizard_use_case_page_get_local_only (RflWizardUseCasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self), FALSE);

  return gtk_switch_get_active (self->local_only_switch);
}

void
rfl_wizard_use_case_page_set_local_only (RflWizardUseCasePage *self,
                                         gboolean              local_only)
{
  g_return_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self));

  gtk_switch_set_active (self->local_only_switch, local_only);
}

RflRedaction
rfl_wizard_use_case_page_get_redaction (RflWizardUseCasePage *self)
{
  guint selected;

  g_return_val_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self), RFL_REDACTION_STANDARD);

  selected = adw_combo_row_get_selected (self->redaction_row);
  return selected <= RFL_REDACTION_STRICT ? (RflRedaction) selected
                                          : RFL_REDACTION_STANDARD;
}

guint
rfl_wizard_use_case_page_get_retention_days (RflWizardUseCasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self), 0);

  return (guint) gtk_spin_button_get_value_as_int (self->retention_spin);
}

void
rfl_wizard_use_case_page_focus_first (RflWizardUseCasePage *self)
{
  g_return_if_fail (RFL_IS_WIZARD_USE_CASE_PAGE (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->cards[self->use_case]));
}

static void
rfl_wizard_use_case_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), RFL_TYPE_WIZARD_USE_CASE_PAGE);

  G_OBJECT_CLASS (rfl_wizard_use_case_page_parent_class)->dispose (object);
}

static void
rfl_wizard_use_case_page_class_init (RflWizardUseCasePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_wizard_use_case_page_dispose;

  /* Emitted when the use case or one of its settings changed. */
  signals[CHANGED] = g_signal_new ("changed",
                                   G_TYPE_FROM_CLASS (klass),
                                   G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-wizard-use-case-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflWizardUseCasePage, cards_grid);
  gtk_widget_class_bind_template_child (widget_class, RflWizardUseCasePage, local_only_row);
  gtk_widget_class_bind_template_child (widget_class, RflWizardUseCasePage, local_only_switch);
  gtk_widget_class_bind_template_child (widget_class, RflWizardUseCasePage, redaction_row);
  gtk_widget_class_bind_template_child (widget_class, RflWizardUseCasePage, retention_spin);
  gtk_widget_class_bind_template_callback (widget_class, value_changed_cb);
}

static void
rfl_wizard_use_case_page_init (RflWizardUseCasePage *self)
{
  g_autoptr (GtkStringList) redactions = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));

  self->applying = TRUE;
  for (guint i = RFL_REDACTION_OFF; i <= RFL_REDACTION_STRICT; i++)
    gtk_string_list_append (redactions, rfl_redaction_get_title (i));
  adw_combo_row_set_model (self->redaction_row, G_LIST_MODEL (redactions));

  for (guint i = 0; i < RFL_N_USE_CASES; i++)
    {
      self->cards[i] = create_card (self, i);
      if (i > 0)
        gtk_toggle_button_set_group (self->cards[i], self->cards[0]);
      gtk_grid_attach (self->cards_grid, GTK_WIDGET (self->cards[i]),
                       i % 2, i / 2, 1, 1);
    }
  self->applying = FALSE;

  /* GtkSpinButton has no "activate" of its own in GTK 4.8: its text has. */
  g_signal_connect_object (gtk_editable_get_delegate (GTK_EDITABLE (self->retention_spin)),
                           "activate", G_CALLBACK (retention_activated_cb), self,
                           G_CONNECT_SWAPPED);

  self->use_case = RFL_USE_CASE_CUSTOM;
  rfl_wizard_use_case_page_set_use_case (self, RFL_USE_CASE_CUSTOM);
}
