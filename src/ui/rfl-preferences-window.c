/* rfl-preferences-window.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-preferences-window.h"

#include <glib/gi18n.h>

#include "core/rfl-error.h"
#include "core/rfl-paths.h"
#include "core/rfl-use-case.h"
#include "llm/rfl-provider.h"
#include "rfl-application.h"

struct _RflPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;          /* owned */

  /* Template children */
  AdwActionRow         *data_dir_row;
  AdwComboRow          *use_case_row;
  GtkSwitch            *local_only_switch;
  AdwComboRow          *redaction_row;
  GtkSpinButton        *retention_spin;
  AdwComboRow          *provider_row;
  AdwEntryRow          *ollama_url_row;
  AdwEntryRow          *provider_url_row;
  GtkLabel             *url_error_label;
  AdwEntryRow          *model_row;
  GtkLabel             *model_error_label;
  GtkSwitch            *server_switch;
  AdwActionRow         *server_status_row;
  GtkSpinButton        *port_spin;
  AdwEntryRow          *bind_row;
  GtkLabel             *bind_error_label;
};

G_DEFINE_FINAL_TYPE (RflPreferencesWindow, rfl_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Sets the text of an entry row without offering to apply it: the apply
 * button of AdwEntryRow appears on any change of the text. */
static void
set_entry_text (AdwEntryRow *row,
                const char  *text)
{
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (row)), text) == 0)
    return;

  adw_entry_row_set_show_apply_button (row, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  adw_entry_row_set_show_apply_button (row, TRUE);
}

static void
show_error (GtkWidget  *row,
            GtkLabel   *label,
            const char *message)
{
  gtk_widget_add_css_class (row, "error");
  gtk_label_set_text (label, message);
  gtk_widget_set_visible (GTK_WIDGET (label), TRUE);
  gtk_accessible_update_state (GTK_ACCESSIBLE (row),
                               GTK_ACCESSIBLE_STATE_INVALID,
                               GTK_ACCESSIBLE_INVALID_TRUE,
                               -1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (row),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY,
                                  label, NULL,
                                  -1);
}

static void
clear_error (GtkWidget *row,
             GtkLabel  *label)
{
  gtk_widget_remove_css_class (row, "error");
  gtk_widget_set_visible (GTK_WIDGET (label), FALSE);
  gtk_accessible_reset_state (GTK_ACCESSIBLE (row),
                              GTK_ACCESSIBLE_STATE_INVALID);
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (row),
                                 GTK_ACCESSIBLE_RELATION_DESCRIBED_BY);
}

/* Enum keys are bound to the "selected" position of a combo row through
 * the list of their nicks, in the order of the row's model. */
static gboolean
nick_to_position (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  const char * const *nicks = user_data;
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; nicks[i] != NULL; i++)
    {
      if (g_str_equal (nicks[i], nick))
        {
          g_value_set_uint (value, i);
          return TRUE;
        }
    }

  return FALSE;
}

static GVariant *
position_to_nick (const GValue       *value,
                  const GVariantType *expected_type,
                  gpointer            user_data)
{
  const char * const *nicks = user_data;
  guint position = g_value_get_uint (value);

  if (position >= g_strv_length ((char **) nicks))
    return NULL;

  return g_variant_new_string (nicks[position]);
}

/* Fills @row with @titles and binds its selection to the enum @key whose
 * nicks are listed, in the same order, in @nicks (taken). */
static void
bind_combo_row (RflPreferencesWindow  *self,
                AdwComboRow           *row,
                const char            *key,
                const char           **titles,
                char                 **nicks)
{
  g_autoptr(GtkStringList) model = gtk_string_list_new (titles);

  adw_combo_row_set_model (row, G_LIST_MODEL (model));
  g_settings_bind_with_mapping (self->settings, key,
                                row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                nick_to_position, position_to_nick,
                                nicks, (GDestroyNotify) g_strfreev);
}

static void
bind_use_case_row (RflPreferencesWindow *self)
{
  const char *titles[RFL_N_USE_CASES + 1] = { NULL };
  char **nicks = g_new0 (char *, RFL_N_USE_CASES + 1);

  for (guint i = 0; i < RFL_N_USE_CASES; i++)
    {
      titles[i] = rfl_use_case_get_title ((RflUseCase) i);
      nicks[i] = g_strdup (rfl_use_case_to_string ((RflUseCase) i));
    }

  bind_combo_row (self, self->use_case_row, "use-case", titles, nicks);
}

static void
bind_redaction_row (RflPreferencesWindow *self)
{
  const RflRedaction levels[] = {
    RFL_REDACTION_OFF, RFL_REDACTION_STANDARD, RFL_REDACTION_STRICT,
  };
  const char *titles[G_N_ELEMENTS (levels) + 1] = { NULL };
  char **nicks = g_new0 (char *, G_N_ELEMENTS (levels) + 1);

  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    {
      titles[i] = rfl_redaction_get_title (levels[i]);
      nicks[i] = g_strdup (rfl_redaction_to_string (levels[i]));
    }

  bind_combo_row (self, self->redaction_row, "pii-redaction", titles, nicks);
}

static void
bind_provider_row (RflPreferencesWindow *self)
{
  const char *titles[RFL_N_PROVIDERS + 1] = { NULL };
  char **nicks = g_new0 (char *, RFL_N_PROVIDERS + 1);

  for (guint i = 0; i < RFL_N_PROVIDERS; i++)
    {
      titles[i] = rfl_provider_kind_get_title ((RflProviderKind) i);
      nicks[i] = g_strdup (rfl_provider_kind_to_string ((RflProviderKind) i));
    }

  bind_combo_row (self, self->provider_row, "provider", titles, nicks);
}

static void
update_data_dir_row (RflPreferencesWindow *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "data-dir");
  g_autofree char *data_dir = rfl_paths_dup_data_dir (setting);

  adw_action_row_set_subtitle (self->data_dir_row, data_dir);
}

static void
update_provider_rows (RflPreferencesWindow *self)
{
  g_autofree char *provider = g_settings_get_string (self->settings,
                                                     "provider");
  gboolean ollama = g_str_equal (provider, "ollama");

  gtk_widget_set_visible (GTK_WIDGET (self->ollama_url_row), ollama);
  gtk_widget_set_visible (GTK_WIDGET (self->provider_url_row), !ollama);
  clear_error (GTK_WIDGET (self->ollama_url_row), self->url_error_label);
  clear_error (GTK_WIDGET (self->provider_url_row), self->url_error_label);
}

static void
update_entry_from_settings (RflPreferencesWindow *self,
                            AdwEntryRow          *row,
                            const char           *key)
{
  g_autofree char *value = g_settings_get_string (self->settings, key);

  set_entry_text (row, value);
}

static void
settings_changed_cb (RflPreferencesWindow *self,
                     const char           *key)
{
  if (g_str_equal (key, "data-dir"))
    update_data_dir_row (self);
  else if (g_str_equal (key, "provider"))
    update_provider_rows (self);
  else if (g_str_equal (key, "ollama-url"))
    update_entry_from_settings (self, self->ollama_url_row, key);
  else if (g_str_equal (key, "provider-url"))
    update_entry_from_settings (self, self->provider_url_row, key);
  else if (g_str_equal (key, "model"))
    update_entry_from_settings (self, self->model_row, key);
  else if (g_str_equal (key, "server-bind"))
    update_entry_from_settings (self, self->bind_row, key);
}

/* Stores the URL typed in @row under @key when it is valid; otherwise
 * marks the row and says what is wrong, leaving the setting alone. An
 * empty provider URL means the provider's own address. */
static void
apply_url (RflPreferencesWindow *self,
           AdwEntryRow          *row,
           const char           *key,
           gboolean              allow_empty)
{
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  g_autoptr(GError) error = NULL;

  if (!(allow_empty && *url == '\0')
      && !rfl_provider_validate_url (url, &error))
    {
      show_error (GTK_WIDGET (row), self->url_error_label, error->message);
      return;
    }

  clear_error (GTK_WIDGET (row), self->url_error_label);
  g_settings_set_string (self->settings, key, url);
  set_entry_text (row, url);
}

static void
ollama_url_apply_cb (RflPreferencesWindow *self)
{
  apply_url (self, self->ollama_url_row, "ollama-url", FALSE);
}

static void
provider_url_apply_cb (RflPreferencesWindow *self)
{
  apply_url (self, self->provider_url_row, "provider-url", TRUE);
}

static void
url_changed_cb (RflPreferencesWindow *self,
                GtkEditable          *row)
{
  clear_error (GTK_WIDGET (row), self->url_error_label);
}

static void
model_apply_cb (RflPreferencesWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->model_row));
  g_autofree char *model = g_strstrip (g_strdup (text));

  for (const char *p = model; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c))
        {
          show_error (GTK_WIDGET (self->model_row), self->model_error_label,
                      _("A model name has no spaces, for example “llama3.1:8b”."));
          return;
        }
    }

  clear_error (GTK_WIDGET (self->model_row), self->model_error_label);
  g_settings_set_string (self->settings, "model", model);
  set_entry_text (self->model_row, model);
}

static void
model_changed_cb (RflPreferencesWindow *self)
{
  clear_error (GTK_WIDGET (self->model_row), self->model_error_label);
}

static void
bind_apply_cb (RflPreferencesWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->bind_row));
  g_autofree char *address = g_strstrip (g_strdup (text));
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

  if (inet == NULL)
    {
      g_autofree char *message = NULL;

      if (*address == '\0')
        message = g_strdup (_("Enter an IP address, for example 127.0.0.1."));
      else
        message = g_strdup_printf (_("“%s” is not an IP address; enter one "
                                     "such as 127.0.0.1 or ::1."), address);
      show_error (GTK_WIDGET (self->bind_row), self->bind_error_label,
                  message);
      return;
    }

  clear_error (GTK_WIDGET (self->bind_row), self->bind_error_label);
  g_settings_set_string (self->settings, "server-bind", address);
  set_entry_text (self->bind_row, address);
}

static void
bind_changed_cb (RflPreferencesWindow *self)
{
  clear_error (GTK_WIDGET (self->bind_row), self->bind_error_label);
}

/* The application runs the HTTP service; without one (a preferences
 * window on its own) nothing serves. */
static void
bind_server_status (RflPreferencesWindow *self)
{
  GApplication *app = g_application_get_default ();

  if (RFL_IS_APPLICATION (app))
    g_object_bind_property (app, "http-status",
                            self->server_status_row, "subtitle",
                            G_BINDING_SYNC_CREATE);
  else
    adw_action_row_set_subtitle (self->server_status_row, _("Stopped"));
}

static void
rfl_preferences_window_constructed (GObject *object)
{
  RflPreferencesWindow *self = RFL_PREFERENCES_WINDOW (object);

  G_OBJECT_CLASS (rfl_preferences_window_parent_class)->constructed (object);

  g_assert (G_IS_SETTINGS (self->settings));

  bind_use_case_row (self);
  bind_redaction_row (self);
  bind_provider_row (self);

  g_settings_bind (self->settings, "local-only",
                   self->local_only_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "audit-retention-days",
                   self->retention_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "server-enabled",
                   self->server_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "server-port",
                   self->port_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);

  update_data_dir_row (self);
  update_provider_rows (self);
  update_entry_from_settings (self, self->ollama_url_row, "ollama-url");
  update_entry_from_settings (self, self->provider_url_row, "provider-url");
  update_entry_from_settings (self, self->model_row, "model");
  update_entry_from_settings (self, self->bind_row, "server-bind");
  bind_server_status (self);

  g_signal_connect_object (self->settings, "changed",
                           G_CALLBACK (settings_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
rfl_preferences_window_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object),
                               RFL_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (rfl_preferences_window_parent_class)->dispose (object);
}

static void
rfl_preferences_window_finalize (GObject *object)
{
  RflPreferencesWindow *self = RFL_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (rfl_preferences_window_parent_class)->finalize (object);
}

static void
rfl_preferences_window_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  RflPreferencesWindow *self = RFL_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_preferences_window_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  RflPreferencesWindow *self = RFL_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_preferences_window_class_init (RflPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = rfl_preferences_window_constructed;
  object_class->dispose = rfl_preferences_window_dispose;
  object_class->finalize = rfl_preferences_window_finalize;
  object_class->get_property = rfl_preferences_window_get_property;
  object_class->set_property = rfl_preferences_window_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, data_dir_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, use_case_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, local_only_switch);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, redaction_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, retention_spin);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, provider_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, ollama_url_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, provider_url_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, url_error_label);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, model_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, model_error_label);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, server_switch);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, server_status_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, port_spin);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, bind_row);
  gtk_widget_class_bind_template_child (widget_class, RflPreferencesWindow, bind_error_label);
  gtk_widget_class_bind_template_callback (widget_class, ollama_url_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, provider_url_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, url_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, model_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, bind_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, bind_changed_cb);
}

static void
rfl_preferences_window_init (RflPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

RflPreferencesWindow *
rfl_preferences_window_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  return g_object_new (RFL_TYPE_PREFERENCES_WINDOW,
                       "settings", settings,
                       NULL);
}
