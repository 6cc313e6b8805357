/* rfl-wizard-database-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-wizard-database-page.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-password.h"
#include "core/rfl-paths.h"

#define TENANT_NAME_MAX 80
#define PASSWORD_MIN 8

typedef enum
{
  FOLDER_UNCHECKED,
  FOLDER_CHECKING,
  FOLDER_WRITABLE,
  FOLDER_FAILED,
} FolderState;

struct _RflWizardDatabasePage
{
  AdwBin          parent_instance;

  /* Template children */
  AdwEntryRow    *tenant_row;
  GtkLabel       *tenant_error_label;
  AdwEntryRow    *admin_name_row;
  AdwEntryRow    *email_row;
  AdwEntryRow    *password_row;
  AdwEntryRow    *confirm_row;
  GtkBox         *strength_box;
  GtkLevelBar    *strength_bar;
  GtkLabel       *strength_label;
  GtkLabel       *admin_error_label;
  AdwActionRow   *folder_row;
  GtkStack       *folder_icon_stack;
  GtkImage       *folder_icon;
  GtkSpinner     *folder_spinner;
  GtkButton      *folder_button;
  GtkLabel       *folder_error_label;

  /* Owned */
  GCancellable   *cancellable;
  GtkFileChooserNative *chooser;
  char           *data_dir;
  char           *folder_error;
  FolderState     folder_state;
};

G_DEFINE_FINAL_TYPE (RflWizardDatabasePage, rfl_wizard_database_page, ADW_TYPE_BIN)

enum {
  DATA_DIR_CHECKED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static char *
dup_trimmed_text (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

/* Errors: each row keeps its message; the label under its group shows the
 * messages of the group's rows, one a line. */
static void
refresh_error_label (GtkLabel  *label,
                     GtkWidget *rows[],
                     guint      n_rows)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < n_rows; i++)
    {
      const char *message = g_object_get_data (G_OBJECT (rows[i]), "error-message");

      if (message == NULL)
        continue;
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, message);
    }

  gtk_label_set_label (label, text->str);
  gtk_widget_set_visible (GTK_WIDGET (label), text->len > 0);
}

static void
refresh_errors (RflWizardDatabasePage *self)
{
  GtkWidget *tenant_rows[] = { GTK_WIDGET (self->tenant_row) };
  GtkWidget *admin_rows[] = {
    GTK_WIDGET (self->admin_name_row), GTK_WIDGET (self->email_row),
    GTK_WIDGET (self->password_row), GTK_WIDGET (self->confirm_row),
  };

  refresh_error_label (self->tenant_error_label, tenant_rows, G_N_ELEMENTS (tenant_rows));
  refresh_error_label (self->admin_error_label, admin_rows, G_N_ELEMENTS (admin_rows));
}

static void
set_row_error (gpointer    row,
               const char *message)
{
  g_object_set_data_full (G_OBJECT (row), "error-message", g_strdup (message), g_free);
  if (message != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (row), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
}

static void
update_strength (RflWizardDatabasePage *self)
{
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
  RflPasswordStrength strength;

  gtk_widget_set_visible (GTK_WIDGET (self->strength_box), *password != '\0');
  if (*password == '\0')
    return;

  strength = rfl_password_get_strength (password);
  gtk_level_bar_set_value (self->strength_bar, (double) strength);
  gtk_label_set_label (self->strength_label, rfl_password_strength_get_hint (strength));
}

static void
field_changed_cb (GtkEditable           *row,
                  RflWizardDatabasePage *self)
{
  set_row_error (row, NULL);
  /* A new password makes the confirmation's complaint stale. */
  if (row == GTK_EDITABLE (self->password_row))
    {
      set_row_error (self->confirm_row, NULL);
      update_strength (self);
    }
  refresh_errors (self);
}

static void
field_activated_cb (GtkEditable           *row,
                    RflWizardDatabasePage *self)
{
  GtkWidget *order[] = {
    GTK_WIDGET (self->tenant_row), GTK_WIDGET (self->admin_name_row),
    GTK_WIDGET (self->email_row), GTK_WIDGET (self->password_row),
    GTK_WIDGET (self->confirm_row),
  };

  for (guint i = 0; i + 1 < G_N_ELEMENTS (order); i++)
    {
      if (order[i] == GTK_WIDGET (row))
        {
          gtk_widget_grab_focus (order[i + 1]);
          return;
        }
    }

  gtk_widget_activate_action (GTK_WIDGET (self), "wizard.next", NULL);
}

static void
update_folder_row (RflWizardDatabasePage *self)
{
  const char *subtitle = "";

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->folder_row),
                                 self->data_dir ? self->data_dir : "");
  gtk_widget_remove_css_class (GTK_WIDGET (self->folder_icon), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->folder_icon), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->folder_row), "error");

  switch (self->folder_state)
    {
    case FOLDER_UNCHECKED:
      gtk_image_set_from_icon_name (self->folder_icon, "folder-symbolic");
      break;
    case FOLDER_CHECKING:
      subtitle = _("Checking that the folder can be written…");
      break;
    case FOLDER_WRITABLE:
      subtitle = _("The folder can be written");
      gtk_image_set_from_icon_name (self->folder_icon, "emblem-ok-symbolic");
      gtk_widget_add_css_class (GTK_WIDGET (self->folder_icon), "success");
      break;
    case FOLDER_FAILED:
      gtk_image_set_from_icon_name (self->folder_icon, "dialog-error-symbolic");
      gtk_widget_add_css_class (GTK_WIDGET (self->folder_icon), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->folder_row), "error");
      break;
    default:
      g_assert_not_reached ();
    }

  adw_action_row_set_subtitle (self->folder_row, subtitle);
  gtk_spinner_set_spinning (self->folder_spinner, self->folder_state == FOLDER_CHECKING);
  gtk_stack_set_visible_child_name (self->folder_icon_stack,
                                    self->folder_state == FOLDER_CHECKING ? "spinner" : "icon");
  gtk_widget_set_sensitive (GTK_WIDGET (self->folder_button),
                            self->folder_state != FOLDER_CHECKING);
  gtk_label_set_label (self->folder_error_label,
                       self->folder_error ? self->folder_error : "");
  gtk_widget_set_visible (GTK_WIDGET (self->folder_error_label),
                          self->folder_state == FOLDER_FAILED);
}

static void
ensure_writable_worker (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  GError *error = NULL;

  if (rfl_paths_ensure_writable (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
ensure_writable_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  RflWizardDatabasePage *self = RFL_WIZARD_DATABASE_PAGE (object);
  g_autoptr (GError) error = NULL;
  const char *checked = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* The folder changed while it was checked: that check will report. */
  if (g_strcmp0 (checked, self->data_dir) != 0)
    return;

  g_clear_pointer (&self->folder_error, g_free);
  if (error != NULL)
    {
      self->folder_state = FOLDER_FAILED;
      self->folder_error = g_strdup (error->message);
    }
  else
    self->folder_state = FOLDER_WRITABLE;

  update_folder_row (self);
  g_signal_emit (self, signals[DATA_DIR_CHECKED], 0, error == NULL);
}

static void
check_folder (RflWizardDatabasePage *self)
{
  g_autoptr (GTask) task = NULL;

  self->folder_state = FOLDER_CHECKING;
  g_clear_pointer (&self->folder_error, g_free);
  update_folder_row (self);

  task = g_task_new (self, self->cancellable, ensure_writable_cb, NULL);
  g_task_set_source_tag (task, check_folder);
  g_task_set_task_data (task, g_strdup (self->data_dir), g_free);
  g_task_run_in_thread (task, ensure_writable_worker);
}

static void
chooser_response_cb (RflWizardDatabasePage *self,
                     int                    response)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (self->chooser));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        rfl_wizard_database_page_set_data_dir (self, path);
    }

  g_clear_object (&self->chooser);
}

static void
folder_clicked_cb (RflWizardDatabasePage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr (GFile) current = NULL;

  if (self->chooser != NULL)
    return;

  self->chooser = gtk_file_chooser_native_new (_("Choose the Data Folder"),
                                               GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  if (self->data_dir != NULL)
    {
      g_autofree char *parent = g_path_get_dirname (self->data_dir);

      current = g_file_new_for_path (parent);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), current, NULL);
    }
  g_signal_connect_object (self->chooser, "response",
                           G_CALLBACK (chooser_response_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

void
rfl_wizard_database_page_set_data_dir (RflWizardDatabasePage *self,
                                       const char            *data_dir)
{
  g_return_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self));
  g_return_if_fail (data_dir != NULL);

  if (g_strcmp0 (self->data_dir, data_dir) == 0)
    return;

  g_free (self->data_dir);
  self->data_dir = g_strdup (data_dir);
  self->folder_state = FOLDER_UNCHECKED;
  g_clear_pointer (&self->folder_error, g_free);
  update_folder_row (self);
}

const char *
rfl_wizard_database_page_get_data_dir (RflWizardDatabasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), NULL);

  return self->data_dir;
}

/* A plain check that catches typing mistakes; the database does its own. */
static gboolean
email_looks_valid (const char *email)
{
  const char *at = strchr (email, '@');
  const char *dot;

  if (at == NULL || at == email || strchr (at + 1, '@') != NULL)
    return FALSE;
  for (const char *p = email; *p; p++)
    if (g_ascii_isspace (*p) || *p == ',' || *p == ';' || *p == '<' || *p == '>')
      return FALSE;

  dot = strrchr (at + 1, '.');
  return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

static void
fail_field (GtkWidget  **first_wrong,
            gpointer     row,
            const char  *message)
{
  set_row_error (row, message);
  if (*first_wrong == NULL)
    *first_wrong = GTK_WIDGET (row);
}

/* Marks every wrong field; returns the first one, or NULL. */
static GtkWidget *
check_fields (RflWizardDatabasePage *self)
{
  g_autofree char *tenant = dup_trimmed_text (self->tenant_row);
  g_autofree char *name = dup_trimmed_text (self->admin_name_row);
  g_autofree char *email = dup_trimmed_text (self->email_row);
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
  const char *confirm = gtk_editable_get_text (GTK_EDITABLE (self->confirm_row));
  GtkWidget *first_wrong = NULL;

  if (*tenant == '\0')
    fail_field (&first_wrong, self->tenant_row,
                _("Enter a name for the tenant"));
  else if (g_utf8_strlen (tenant, -1) > TENANT_NAME_MAX)
    fail_field (&first_wrong, self->tenant_row,
                _("The tenant name can have at most 80 characters"));

  if (*name == '\0')
    fail_field (&first_wrong, self->admin_name_row,
                _("Enter the administrator’s name"));

  if (*email == '\0')
    fail_field (&first_wrong, self->email_row,
                _("Enter the administrator’s email address"));
  else if (!email_looks_valid (email))
    fail_field (&first_wrong, self->email_row,
                _("Enter a valid email address, like name@example.com"));

  if (g_utf8_strlen (password, -1) < PASSWORD_MIN)
    fail_field (&first_wrong, self->password_row,
                _("The password needs at least 8 characters"));
  else if (g_strcmp0 (password, confirm) != 0)
    fail_field (&first_wrong, self->confirm_row,
                _("The passwords do not match"));

  refresh_errors (self);
  return first_wrong;
}

gboolean
rfl_wizard_database_page_validate (RflWizardDatabasePage *self)
{
  GtkWidget *first_wrong;

  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), FALSE);

  first_wrong = check_fields (self);
  if (first_wrong != NULL)
    {
      gtk_widget_grab_focus (first_wrong);
      return FALSE;
    }

  switch (self->folder_state)
    {
    case FOLDER_WRITABLE:
      return TRUE;
    case FOLDER_CHECKING:
      return FALSE;
    case FOLDER_UNCHECKED:
    case FOLDER_FAILED:
      check_folder (self);
      return FALSE;
    default:
      g_assert_not_reached ();
    }
}

gboolean
rfl_wizard_database_page_get_checking (RflWizardDatabasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), FALSE);

  return self->folder_state == FOLDER_CHECKING;
}

void
rfl_wizard_database_page_focus_first (RflWizardDatabasePage *self)
{
  g_return_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->tenant_row));
}

char *
rfl_wizard_database_page_dup_tenant_name (RflWizardDatabasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), NULL);

  return dup_trimmed_text (self->tenant_row);
}

char *
rfl_wizard_database_page_dup_admin_name (RflWizardDatabasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), NULL);

  return dup_trimmed_text (self->admin_name_row);
}

char *
rfl_wizard_database_page_dup_admin_email (RflWizardDatabasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), NULL);

  return dup_trimmed_text (self->email_row);
}

char *
rfl_wizard_database_page_dup_admin_password (RflWizardDatabasePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_DATABASE_PAGE (self), NULL);

  /* Passwords are taken as typed: spaces may be part of them. */
  return g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->password_row)));
}

static void
rfl_wizard_database_page_unroot (GtkWidget *widget)
{
  RflWizardDatabasePage *self = RFL_WIZARD_DATABASE_PAGE (widget);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);

  GTK_WIDGET_CLASS (rfl_wizard_database_page_parent_class)->unroot (widget);
}

static void
rfl_wizard_database_page_dispose (GObject *object)
{
  RflWizardDatabasePage *self = RFL_WIZARD_DATABASE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_WIZARD_DATABASE_PAGE);

  G_OBJECT_CLASS (rfl_wizard_database_page_parent_class)->dispose (object);
}

static void
rfl_wizard_database_page_finalize (GObject *object)
{
  RflWizardDatabasePage *self = RFL_WIZARD_DATABASE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_free (self->data_dir);
  g_free (self->folder_error);

  G_OBJECT_CLASS (rfl_wizard_database_page_parent_class)->finalize (object);
}

static void
rfl_wizard_database_page_class_init (RflWizardDatabasePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_wizard_database_page_dispose;
  object_class->finalize = rfl_wizard_database_page_finalize;
  widget_class->unroot = rfl_wizard_database_page_unroot;

  /* Emitted when the data folder check ends; the argument says whether
   * the folder can be written. */
  signals[DATA_DIR_CHECKED] = g_signal_new ("data-dir-checked",
                                            G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST,
                                            0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-wizard-database-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, RflWizardDatabasePage, name)
  BIND (tenant_row);
  BIND (tenant_error_label);
  BIND (admin_name_row);
  BIND (email_row);
  BIND (password_row);
  BIND (confirm_row);
  BIND (strength_box);
  BIND (strength_bar);
  BIND (strength_label);
  BIND (admin_error_label);
  BIND (folder_row);
  BIND (folder_icon_stack);
  BIND (folder_icon);
  BIND (folder_spinner);
  BIND (folder_button);
  BIND (folder_error_label);
#undef BIND

  gtk_widget_class_bind_template_callback (widget_class, field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, field_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, folder_clicked_cb);
}

static void
rfl_wizard_database_page_init (RflWizardDatabasePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  gtk_level_bar_add_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_LOW, 1.0);
  gtk_level_bar_add_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_HIGH, 2.0);
  gtk_level_bar_add_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_FULL, 3.0);
  update_folder_row (self);
}
