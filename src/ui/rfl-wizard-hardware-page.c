/* rfl-wizard-hardware-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-wizard-hardware-page.h"

#include <glib/gi18n.h>
#include <string.h>

#include "llm/rfl-provider.h"

typedef enum
{
  ROW_STATUS_NONE,
  ROW_STATUS_GOOD,
  ROW_STATUS_WARNING,
} RowStatus;

typedef enum
{
  OLLAMA_CHECKING,
  OLLAMA_RUNNING,
  OLLAMA_NOT_RUNNING,
} OllamaState;

/* Below these the hardware row carries a warning. */
#define LOW_MEMORY_BYTES (G_GUINT64_CONSTANT (8) * 1000 * 1000 * 1000)
#define LOW_DISK_BYTES   (G_GUINT64_CONSTANT (10) * 1000 * 1000 * 1000)

struct _RflWizardHardwarePage
{
  AdwBin         parent_instance;

  /* Template children */
  GtkListBox    *hardware_list;
  AdwPreferencesGroup *recommendation_group;
  AdwActionRow  *recommendation_row;
  GtkLabel      *example_label;

  /* Owned */
  GCancellable  *cancellable;
  RflSysinfo    *info;
  GError        *probe_error;
  char          *root;
  char          *data_dir;
  char          *ollama_url;
  char          *reason;
  RflModelClass  model_class;
  OllamaState    ollama_state;
  guint          ollama_models;
  gboolean       probing;
};

G_DEFINE_FINAL_TYPE (RflWizardHardwarePage, rfl_wizard_hardware_page, ADW_TYPE_BIN)

enum {
  PROBED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
clear_list (RflWizardHardwarePage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->hardware_list))))
    gtk_list_box_remove (self->hardware_list, child);
}

static AdwActionRow *
add_row (RflWizardHardwarePage *self,
         const char            *icon_name,
         const char            *title,
         const char            *subtitle,
         RowStatus              status)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (row, subtitle);
  adw_action_row_set_subtitle_lines (row, 0);
  adw_action_row_set_icon_name (row, icon_name);

  if (status != ROW_STATUS_NONE)
    {
      gboolean good = status == ROW_STATUS_GOOD;
      GtkWidget *image;

      image = gtk_image_new_from_icon_name (good ? "emblem-ok-symbolic"
                                                 : "dialog-warning-symbolic");
      gtk_widget_add_css_class (image, good ? "success" : "warning");
      gtk_widget_set_tooltip_text (image, good ? _("Good") : _("Needs attention"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (image),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      good ? _("Good") : _("Needs attention"),
                                      -1);
      adw_action_row_add_suffix (row, image);
    }

  gtk_list_box_append (self->hardware_list, GTK_WIDGET (row));
  return row;
}

static void
add_spinner_row (RflWizardHardwarePage *self,
                 const char            *title)
{
  AdwActionRow *row = add_row (self, NULL, title, NULL, ROW_STATUS_NONE);
  GtkWidget *spinner = gtk_spinner_new ();

  gtk_spinner_start (GTK_SPINNER (spinner));
  adw_action_row_add_prefix (row, spinner);
}

static void
retry_clicked_cb (RflWizardHardwarePage *self)
{
  rfl_wizard_hardware_page_probe (self, self->root, self->data_dir,
                                  self->ollama_url);
}

static void
show_error (RflWizardHardwarePage *self)
{
  AdwActionRow *row;
  GtkWidget *button;

  row = add_row (self, "dialog-error-symbolic",
                 _("The hardware could not be read"),
                 self->probe_error->message, ROW_STATUS_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (row), "error");

  button = gtk_button_new_with_mnemonic (_("_Retry"));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect_object (button, "clicked", G_CALLBACK (retry_clicked_cb),
                           self, G_CONNECT_SWAPPED);
  adw_action_row_add_suffix (row, button);
}

static void
show_cpu_and_memory (RflWizardHardwarePage *self)
{
  const RflSysinfo *info = self->info;
  g_autofree char *cpu = NULL;
  g_autofree char *total = rfl_sysinfo_format_memory (info->mem_total_bytes);
  /* Available memory is a reading, not a size that is sold: no rounding up. */
  /* Translators: free memory in gigabytes, e.g. "9.2 GB" */
  g_autofree char *available = g_strdup_printf (_("%.1f GB"),
                                                info->mem_available_bytes / 1073741824.0);
  g_autofree char *memory = NULL;
  const char *model = info->cpu_model ? info->cpu_model : _("Unknown processor");

  /* Translators: processor model, then the counts of cores and threads */
  cpu = g_strdup_printf (_("%s — %u cores, %u threads"), model,
                         info->cpu_cores, info->cpu_threads);
  add_row (self, "computer-symbolic", _("Processor"), cpu, ROW_STATUS_NONE);

  /* Translators: memory sizes, e.g. "16 GB total, 9.2 GB available" */
  memory = g_strdup_printf (_("%s total, %s available"), total, available);
  add_row (self, "media-flash-symbolic", _("Memory"), memory,
           info->mem_total_bytes < LOW_MEMORY_BYTES ? ROW_STATUS_WARNING
                                                    : ROW_STATUS_GOOD);
}

static void
show_gpus (RflWizardHardwarePage *self)
{
  const RflSysinfo *info = self->info;

  if (info->gpus == NULL || info->gpus->len == 0)
    {
      add_row (self, "video-display-symbolic", _("Graphics"),
               _("No graphics card found: models run on the processor"),
               ROW_STATUS_NONE);
      return;
    }

  for (guint i = 0; i < info->gpus->len; i++)
    {
      const RflGpuInfo *gpu = g_ptr_array_index (info->gpus, i);
      g_autofree char *name = NULL;
      g_autofree char *memory = NULL;
      g_autofree char *subtitle = NULL;

      if (gpu->vendor_name != NULL && gpu->model != NULL
          && !g_str_has_prefix (gpu->model, gpu->vendor_name))
        name = g_strdup_printf ("%s %s", gpu->vendor_name, gpu->model);
      else
        name = g_strdup (gpu->model ? gpu->model : gpu->vendor_name);

      if (gpu->vram_bytes > 0)
        {
          g_autofree char *size = rfl_sysinfo_format_memory (gpu->vram_bytes);

          /* Translators: the size of the graphics card's memory */
          memory = g_strdup_printf (_("%s of video memory"), size);
        }
      else if (gpu->integrated)
        memory = g_strdup (_("shares the system memory"));
      else
        memory = g_strdup (_("video memory not reported"));

      /* Translators: a graphics card's name, then its memory */
      subtitle = g_strdup_printf (_("%s — %s"),
                                  name ? name : _("Unknown graphics card"),
                                  memory);
      add_row (self, "video-display-symbolic", _("Graphics"), subtitle,
               gpu->vram_bytes > 0 ? ROW_STATUS_GOOD : ROW_STATUS_NONE);
    }
}

static void
show_disk (RflWizardHardwarePage *self)
{
  g_autofree char *subtitle = NULL;
  RowStatus status;

  if (self->info->disk_free_bytes > 0)
    {
      g_autofree char *size = g_format_size (self->info->disk_free_bytes);

      /* Translators: free disk space, then the folder it was measured at */
      subtitle = g_strdup_printf (_("%s free in %s"), size, self->data_dir);
      status = self->info->disk_free_bytes < LOW_DISK_BYTES
               ? ROW_STATUS_WARNING : ROW_STATUS_GOOD;
    }
  else
    {
      subtitle = g_strdup (_("The free space could not be measured"));
      status = ROW_STATUS_NONE;
    }

  add_row (self, "drive-harddisk-symbolic", _("Disk"), subtitle, status);
}

static void
show_ollama (RflWizardHardwarePage *self)
{
  const char *path = self->info->ollama_path;
  g_autofree char *subtitle = NULL;
  RowStatus status = ROW_STATUS_WARNING;

  if (self->ollama_state == OLLAMA_CHECKING)
    {
      add_spinner_row (self, _("Checking whether Ollama is running…"));
      return;
    }

  if (self->ollama_state == OLLAMA_RUNNING)
    {
      status = ROW_STATUS_GOOD;
      subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                               "Running at %s, %u model installed",
                                               "Running at %s, %u models installed",
                                               self->ollama_models),
                                  self->ollama_url, self->ollama_models);
    }
  else if (path != NULL)
    subtitle = g_strdup_printf (_("Installed at %s, but not running at %s"),
                                path, self->ollama_url);
  else
    subtitle = g_strdup (_("Not installed: it runs models on this computer "
                           "and is available from ollama.com"));

  add_row (self, "system-software-install-symbolic", _("Ollama"), subtitle,
           status);
}

static void
update_rows (RflWizardHardwarePage *self)
{
  clear_list (self);

  if (self->probing)
    {
      add_spinner_row (self, _("Checking this computer…"));
      gtk_widget_set_visible (GTK_WIDGET (self->recommendation_group), FALSE);
      return;
    }

  if (self->probe_error != NULL)
    {
      show_error (self);
      gtk_widget_set_visible (GTK_WIDGET (self->recommendation_group), FALSE);
      return;
    }

  show_cpu_and_memory (self);
  show_gpus (self);
  show_disk (self);
  show_ollama (self);

  {
    g_autofree char *title = NULL;

    /* Translators: the recommended model size, e.g. "Recommended: 7–8B models" */
    title = g_strdup_printf (_("Recommended: %s"),
                             rfl_model_class_get_title (self->model_class));
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->recommendation_row),
                                   title);
    adw_action_row_set_subtitle (self->recommendation_row, self->reason);
    gtk_label_set_label (self->example_label,
                         rfl_model_class_get_example (self->model_class));
    gtk_widget_set_visible (GTK_WIDGET (self->recommendation_group), TRUE);
  }
}

static void
maybe_emit_probed (RflWizardHardwarePage *self)
{
  if (!rfl_wizard_hardware_page_get_busy (self))
    g_signal_emit (self, signals[PROBED], 0);
}

/* The reason usually repeats the class ("7–8B models: 16 GB …"), which
 * the row's title already says. */
static char *
dup_reason_without_title (RflModelClass  model_class,
                          const char    *reason)
{
  const char *title = rfl_model_class_get_title (model_class);
  gsize len = strlen (title);
  const char *rest;

  if (reason == NULL)
    return NULL;
  if (!g_str_has_prefix (reason, title) || strncmp (reason + len, ": ", 2) != 0)
    return g_strdup (reason);

  rest = reason + len + 2;
  if (*rest == '\0')
    return g_strdup (reason);

  {
    gunichar first = g_unichar_toupper (g_utf8_get_char (rest));
    char buf[8] = { 0 };

    g_unichar_to_utf8 (first, buf);
    return g_strconcat (buf, g_utf8_next_char (rest), NULL);
  }
}

static void
probe_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr (RflWizardHardwarePage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (RflSysinfo) info = NULL;

  info = rfl_sysinfo_probe_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_cancellable_is_cancelled (self->cancellable))
    return;

  self->probing = FALSE;
  if (info == NULL)
    {
      g_debug ("Reading the hardware failed: %s", error->message);
      self->probe_error = g_steal_pointer (&error);
    }
  else
    {
      g_autofree char *reason = NULL;

      self->info = g_steal_pointer (&info);
      self->model_class = rfl_sysinfo_recommend (self->info, &reason);
      g_free (self->reason);
      self->reason = dup_reason_without_title (self->model_class, reason);
    }

  update_rows (self);
  maybe_emit_probed (self);
}

static void
list_models_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (RflWizardHardwarePage) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) models = NULL;

  models = rfl_provider_list_models_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_cancellable_is_cancelled (self->cancellable))
    return;

  self->ollama_state = models != NULL ? OLLAMA_RUNNING : OLLAMA_NOT_RUNNING;
  self->ollama_models = models != NULL ? models->len : 0;
  if (error != NULL)
    g_debug ("Ollama is not answering: %s", error->message);

  if (!self->probing)
    update_rows (self);
  maybe_emit_probed (self);
}

void
rfl_wizard_hardware_page_probe (RflWizardHardwarePage *self,
                                const char            *root,
                                const char            *data_dir,
                                const char            *ollama_url)
{
  g_return_if_fail (RFL_IS_WIZARD_HARDWARE_PAGE (self));
  g_return_if_fail (root != NULL && data_dir != NULL && ollama_url != NULL);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  /* The arguments may be our own fields (Retry). */
  {
    char *r = g_strdup (root), *d = g_strdup (data_dir), *u = g_strdup (ollama_url);

    g_free (self->root);
    g_free (self->data_dir);
    g_free (self->ollama_url);
    self->root = r;
    self->data_dir = d;
    self->ollama_url = u;
  }

  g_clear_pointer (&self->info, rfl_sysinfo_free);
  g_clear_error (&self->probe_error);
  self->probing = TRUE;
  self->ollama_state = OLLAMA_CHECKING;
  update_rows (self);

  rfl_sysinfo_probe_async (self->root, self->data_dir, self->cancellable,
                           probe_cb, g_object_ref (self));
  rfl_provider_list_models_async (RFL_PROVIDER_OLLAMA, self->ollama_url, NULL,
                                  self->cancellable, list_models_cb,
                                  g_object_ref (self));
}

gboolean
rfl_wizard_hardware_page_get_busy (RflWizardHardwarePage *self)
{
  g_return_val_if_fail (RFL_IS_WIZARD_HARDWARE_PAGE (self), FALSE);

  return self->probing || self->ollama_state == OLLAMA_CHECKING;
}

gboolean
rfl_wizard_hardware_page_get_recommendation (RflWizardHardwarePage  *self,
                                             RflModelClass          *model_class,
                                             const char            **reason)
{
  g_return_val_if_fail (RFL_IS_WIZARD_HARDWARE_PAGE (self), FALSE);

  if (self->info == NULL)
    return FALSE;

  if (model_class != NULL)
    *model_class = self->model_class;
  if (reason != NULL)
    *reason = self->reason;
  return TRUE;
}

/* Out of the window, nothing is left running for a page nobody sees. */
static void
rfl_wizard_hardware_page_unroot (GtkWidget *widget)
{
  RflWizardHardwarePage *self = RFL_WIZARD_HARDWARE_PAGE (widget);

  g_cancellable_cancel (self->cancellable);

  GTK_WIDGET_CLASS (rfl_wizard_hardware_page_parent_class)->unroot (widget);
}

static void
rfl_wizard_hardware_page_dispose (GObject *object)
{
  RflWizardHardwarePage *self = RFL_WIZARD_HARDWARE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_WIZARD_HARDWARE_PAGE);

  G_OBJECT_CLASS (rfl_wizard_hardware_page_parent_class)->dispose (object);
}

static void
rfl_wizard_hardware_page_finalize (GObject *object)
{
  RflWizardHardwarePage *self = RFL_WIZARD_HARDWARE_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->info, rfl_sysinfo_free);
  g_clear_error (&self->probe_error);
  g_free (self->root);
  g_free (self->data_dir);
  g_free (self->ollama_url);
  g_free (self->reason);

  G_OBJECT_CLASS (rfl_wizard_hardware_page_parent_class)->finalize (object);
}

static void
rfl_wizard_hardware_page_class_init (RflWizardHardwarePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_wizard_hardware_page_dispose;
  object_class->finalize = rfl_wizard_hardware_page_finalize;
  widget_class->unroot = rfl_wizard_hardware_page_unroot;

  /* Emitted when the hardware and Ollama checks have both ended. */
  signals[PROBED] = g_signal_new ("probed",
                                  G_TYPE_FROM_CLASS (klass),
                                  G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-wizard-hardware-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflWizardHardwarePage, hardware_list);
  gtk_widget_class_bind_template_child (widget_class, RflWizardHardwarePage, recommendation_group);
  gtk_widget_class_bind_template_child (widget_class, RflWizardHardwarePage, recommendation_row);
  gtk_widget_class_bind_template_child (widget_class, RflWizardHardwarePage, example_label);
}

static void
rfl_wizard_hardware_page_init (RflWizardHardwarePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->probing = FALSE;
  self->ollama_state = OLLAMA_NOT_RUNNING;
}
