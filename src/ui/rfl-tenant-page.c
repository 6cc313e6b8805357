/* rfl-tenant-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-tenant-page.h"

#include <glib/gi18n.h>
#include <string.h>

#include "rfl-usage-chart.h"

struct _RflTenantPage
{
  GtkWidget       parent_instance;

  RflService     *service;     /* owned */
  RflIdentity     identity;
  gint64          tenant_id;
  char           *name;        /* owned */
  char           *use_case;    /* owned */
  char           *status;      /* owned */
  guint           n_users;
  guint           period;      /* days of usage shown */
  RflUsageGroup   breakdown_by;
  gint64          usage_since; /* of the usage shown, Unix ms */
  GtkWidget      *breakdown_group; /* weak: the usage page's, while shown */
  /* Who the audit log's actors are, as far as this tenant's users and
   * keys tell: id → email or key name. */
  GHashTable     *user_names;  /* owned */
  GHashTable     *key_names;   /* owned */
  GPtrArray      *audit_entries; /* owned: RflAuditEntry*, as last listed */
  const char     *audit_action; /* static: the audit filter, NULL for all */
  char           *audit_search; /* owned: NULL for none */
  gint64          audit_since;  /* the range of the entries shown, Unix ms */
  gint64          audit_until;
  guint           audit_search_source;
  GCancellable   *cancellable; /* owned: cancelled with a new tenant */

  /* Template children. */
  AdwViewStack   *stack;
  AdwToastOverlay *toasts;
  AdwComboRow    *audit_action_row;
  AdwComboRow    *audit_range_row;
  AdwEntryRow    *audit_search_row;
  GtkButton      *audit_export_button;
  GtkListBox     *audit_list;
  AdwStatusPage  *audit_empty;
};

G_DEFINE_FINAL_TYPE (RflTenantPage, rfl_tenant_page, GTK_TYPE_WIDGET)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void reload (RflTenantPage *self);
static void show_audit (RflTenantPage *self);
static void load_audit (RflTenantPage *self);
/* Calls ------------------------------------------------------------------ */

typedef void (*DoneFunc) (RflTenantPage  *self,
                          RflAdminResult *result);

typedef struct
{
  GWeakRef  page;
  DoneFunc  done;
} Call;

static void
call_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(RflTenantPage) self = g_weak_ref_get (&call->page);
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_service_admin_finish (RFL_SERVICE (source), res, &error);
  /* A cancelled call belongs to a tenant no longer shown: nothing to say. */
  if (self != NULL && result == NULL
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    adw_toast_overlay_add_toast (self->toasts, adw_toast_new (error->message));
  else if (self != NULL && result != NULL && call->done != NULL)
    call->done (self, result);

  g_weak_ref_clear (&call->page);
  g_free (call);
}

static void
admin_call (RflTenantPage   *self,
            RflAdminRequest *request,
            DoneFunc         done)
{
  Call *call;

  if (self->service == NULL)
    return;

  call = g_new0 (Call, 1);
  g_weak_ref_init (&call->page, self);
  call->done = done;
  request->tenant_id = self->tenant_id;
  rfl_service_admin_async (self->service, self->identity, request,
                           self->cancellable, call_done_cb, call);
}

static void
changed_done (RflTenantPage  *self,
              RflAdminResult *result)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
reload_done (RflTenantPage  *self,
             RflAdminResult *result)
{
  reload (self);
}

/* Building blocks -------------------------------------------------------- */

/* Puts @group (and more) as the content of the view @name. */
static GtkBox *
replace_view (RflTenantPage *self,
              const char    *name)
{
  GtkWidget *scrolled = adw_view_stack_get_child_by_name (self->stack, name);
  GtkWidget *clamp = adw_clamp_new ();

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 860);
  adw_clamp_set_tightening_threshold (ADW_CLAMP (clamp), 600);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 24);

  gtk_widget_set_margin_top (box, 24);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  adw_clamp_set_child (ADW_CLAMP (clamp), box);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), clamp);
  return GTK_BOX (box);
}

static GtkWidget *
add_group (GtkBox     *box,
           const char *title,
           const char *description)
{
  GtkWidget *group = adw_preferences_group_new ();

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), title);
  if (description != NULL)
    adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                           description);
  gtk_box_append (box, group);
  return group;
}

static GtkWidget *
add_row (GtkWidget  *group,
         const char *title,
         const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  return row;
}

static GtkWidget *
new_button (const char *label,
            const char *style)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  if (style != NULL)
    gtk_widget_add_css_class (button, style);
  return button;
}

static char *
format_ms (gint64 ms)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (ms / 1000);

  return g_date_time_format (time, "%Y-%m-%d %H:%M");
}

/* Confirmation ----------------------------------------------------------- */

typedef struct
{
  RflTenantPage   *self;      /* a reference */
  RflAdminRequest  request;
  DoneFunc         done;
} Pending;

static void
confirm_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     Pending          *pending)
{
  if (g_str_equal (response, "confirm"))
    admin_call (pending->self, &pending->request, pending->done);

  g_object_unref (pending->self);
  g_free (pending);
}

/* Asks before a destructive change (suspend, delete, revoke). */
static void
confirm (RflTenantPage         *self,
         const char            *heading,
         const char            *body,
         const char            *action,
         const RflAdminRequest *request,
         DoneFunc               done)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;
  Pending *pending = g_new0 (Pending, 1);

  pending->self = g_object_ref (self);
  pending->request = *request;
  pending->done = done;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "confirm", action, NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                              "confirm",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (confirm_response_cb), pending);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Overview --------------------------------------------------------------- */

static void
suspend_clicked_cb (GtkButton     *button,
                    RflTenantPage *self)
{
  RflAdminRequest request = { 0 };
  g_autofree char *body = NULL;

  if (g_strcmp0 (self->status, "suspended") == 0)
    {
      request.op = RFL_ADMIN_RESUME_TENANT;
      admin_call (self, &request, changed_done);
      return;
    }

  request.op = RFL_ADMIN_SUSPEND_TENANT;
  body = g_strdup_printf (_("Its users can no longer sign in and its API keys "
                            "stop working until “%s” is resumed."), self->name);
  confirm (self, _("Suspend Tenant?"), body, _("_Suspend"), &request,
           changed_done);
}

static void
delete_clicked_cb (GtkButton     *button,
                   RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_DELETE_TENANT };
  g_autofree char *body = NULL;

  body = g_strdup_printf (_("“%s” stops working at once. Its data is kept "
                            "until it is purged."), self->name);
  confirm (self, _("Delete Tenant?"), body, _("_Delete"), &request,
           changed_done);
}

static const char *
status_label (const char *status)
{
  if (g_strcmp0 (status, "suspended") == 0)
    return _("Suspended");
  if (g_strcmp0 (status, "deleted") == 0)
    return _("Deleted, kept until purged");
  return _("Active");
}

static const char * const use_cases[] = {
  "healthcare", "business", "privacy", "custom",
};

static void
name_apply_cb (AdwEntryRow   *row,
               RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_UPDATE_TENANT };

  request.name = gtk_editable_get_text (GTK_EDITABLE (row));
  admin_call (self, &request, changed_done);
}

static void
use_case_changed_cb (AdwComboRow   *row,
                     GParamSpec    *pspec,
                     RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_UPDATE_TENANT };
  guint selected = adw_combo_row_get_selected (row);

  if (selected >= G_N_ELEMENTS (use_cases)
      || g_strcmp0 (use_cases[selected], self->use_case) == 0)
    return;

  request.use_case = use_cases[selected];
  admin_call (self, &request, changed_done);
}

static void
show_overview (RflTenantPage *self)
{
  GtkBox *box = replace_view (self, "overview");
  GtkWidget *group = add_group (box, self->name, NULL);
  g_autofree char *users = g_strdup_printf ("%u", self->n_users);
  const char * const use_case_titles[] = { _("Healthcare"), _("Business"),
                                           _("Privacy"), _("Custom"), NULL };
  GtkWidget *row, *button;

  row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Name"));
  gtk_editable_set_text (GTK_EDITABLE (row), self->name);
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (row), TRUE);
  gtk_widget_set_name (row, "tenant-name");
  g_signal_connect (row, "apply", G_CALLBACK (name_apply_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);

  row = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Use case"));
  adw_combo_row_set_model (ADW_COMBO_ROW (row),
                           G_LIST_MODEL (gtk_string_list_new (use_case_titles)));
  for (guint i = 0; i < G_N_ELEMENTS (use_cases); i++)
    if (g_strcmp0 (self->use_case, use_cases[i]) == 0)
      adw_combo_row_set_selected (ADW_COMBO_ROW (row), i);
  g_signal_connect (row, "notify::selected", G_CALLBACK (use_case_changed_cb), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);

  add_row (group, _("Status"), status_label (self->status));
  add_row (group, _("Users"), users);

  if (g_strcmp0 (self->status, "deleted") == 0)
    return;

  group = add_group (box, _("Access"), NULL);
  if (g_strcmp0 (self->status, "suspended") == 0)
    {
      row = add_row (group, _("Resume Tenant"),
                     _("Its users and API keys work again."));
      button = new_button (_("_Resume"), NULL);
    }
  else
    {
      row = add_row (group, _("Suspend Tenant"),
                     _("Its users and API keys stop working until resumed."));
      button = new_button (_("_Suspend…"), "destructive-action");
    }
  gtk_widget_set_name (button, "suspend-button");
  g_signal_connect (button, "clicked", G_CALLBACK (suspend_clicked_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);

  row = add_row (group, _("Delete Tenant"),
                 _("Its data is kept until it is purged."));
  button = new_button (_("_Delete…"), "destructive-action");
  gtk_widget_set_name (button, "delete-button");
  g_signal_connect (button, "clicked", G_CALLBACK (delete_clicked_cb), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
}

/* Users ------------------------------------------------------------------ */

static const char *
role_label (RflRole role)
{
  switch (role)
    {
    case RFL_ROLE_SYSTEM_ADMIN:
      return _("System administrator");
    case RFL_ROLE_TENANT_ADMIN:
      return _("Administrator");
    case RFL_ROLE_MEMBER:
    default:
      return _("Member");
    }
}

static void
add_user_clicked_cb (GtkButton     *button,
                     RflTenantPage *self)
{
  GtkWidget **fields = g_object_get_data (G_OBJECT (button), "fields");
  RflAdminRequest request = { RFL_ADMIN_CREATE_USER };

  request.email = gtk_editable_get_text (GTK_EDITABLE (fields[0]));
  request.name = gtk_editable_get_text (GTK_EDITABLE (fields[1]));
  request.password = gtk_editable_get_text (GTK_EDITABLE (fields[2]));
  request.role = adw_combo_row_get_selected (ADW_COMBO_ROW (fields[3])) == 1
                 ? RFL_ROLE_TENANT_ADMIN : RFL_ROLE_MEMBER;
  admin_call (self, &request, reload_done);
}

static void
role_changed_cb (GtkDropDown   *dropdown,
                 GParamSpec    *pspec,
                 RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_SET_ROLE };

  request.target_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dropdown),
                                                           "user-id"));
  request.role = gtk_drop_down_get_selected (dropdown) == 1
                 ? RFL_ROLE_TENANT_ADMIN : RFL_ROLE_MEMBER;
  admin_call (self, &request, reload_done);
}

static void
reset_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   RflTenantPage    *self)
{
  RflAdminRequest request = { RFL_ADMIN_RESET_PASSWORD };
  GtkWidget *entry = adw_message_dialog_get_extra_child (dialog);

  if (!g_str_equal (response, "reset"))
    return;

  request.target_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog),
                                                           "user-id"));
  request.password = gtk_editable_get_text (GTK_EDITABLE (entry));
  admin_call (self, &request, reload_done);
}

static void
reset_clicked_cb (GtkButton     *button,
                  RflTenantPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog, *entry;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Reset Password?"),
                                   _("The user is signed out everywhere and "
                                     "signs in with the new password from now "
                                     "on. Use at least 8 characters."));
  entry = gtk_password_entry_new ();
  gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (entry), TRUE);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "reset", _("_Reset Password"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                              "reset", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "user-id",
                     g_object_get_data (G_OBJECT (button), "user-id"));
  g_signal_connect_object (dialog, "response", G_CALLBACK (reset_response_cb),
                           self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
add_user_form (RflTenantPage *self,
               GtkBox        *box)
{
  GtkWidget *group = add_group (box, _("New User"), NULL);
  GtkWidget **fields = g_new0 (GtkWidget *, 4);
  const char * const roles[] = { _("Member"), _("Administrator"), NULL };
  GtkWidget *button;

  fields[0] = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (fields[0]), _("E-mail"));
  fields[1] = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (fields[1]), _("Name"));
  fields[2] = adw_password_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (fields[2]), _("Password"));
  fields[3] = adw_combo_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (fields[3]), _("Role"));
  adw_combo_row_set_model (ADW_COMBO_ROW (fields[3]),
                           G_LIST_MODEL (gtk_string_list_new (roles)));
  for (guint i = 0; i < 4; i++)
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), fields[i]);

  button = new_button (_("_Add User"), "suggested-action");
  gtk_widget_set_name (button, "add-user-button");
  gtk_widget_set_halign (button, GTK_ALIGN_END);
  g_object_set_data_full (G_OBJECT (button), "fields", fields, g_free);
  g_signal_connect (button, "clicked", G_CALLBACK (add_user_clicked_cb), self);
  gtk_box_append (box, button);
}

static void
users_done (RflTenantPage  *self,
            RflAdminResult *result)
{
  GtkBox *box = replace_view (self, "users");
  const char * const roles[] = { _("Member"), _("Administrator"), NULL };
  GtkWidget *group = add_group (box, _("Users"), NULL);

  g_hash_table_remove_all (self->user_names);
  for (guint i = 0; i < result->items->len; i++)
    {
      RflAdminUser *user = g_ptr_array_index (result->items, i);

      g_hash_table_insert (self->user_names, g_memdup2 (&user->id, sizeof user->id),
                           g_strdup (user->email));
    }
  /* The audit log names them now. */
  show_audit (self);

  for (guint i = 0; i < result->items->len; i++)
    {
      RflAdminUser *user = g_ptr_array_index (result->items, i);
      gpointer id = GSIZE_TO_POINTER ((gsize) user->id);
      GtkWidget *row, *button;

      row = add_row (group, *user->display_name != '\0' ? user->display_name
                                                        : user->email,
                     user->email);
      if (user->role == RFL_ROLE_SYSTEM_ADMIN || user->id == self->identity.user_id)
        {
          GtkWidget *label = gtk_label_new (role_label (user->role));

          gtk_widget_add_css_class (label, "dim-label");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
        }
      else
        {
          GtkWidget *dropdown = gtk_drop_down_new_from_strings (roles);

          gtk_widget_set_valign (dropdown, GTK_ALIGN_CENTER);
          gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown),
                                      user->role == RFL_ROLE_TENANT_ADMIN ? 1 : 0);
          g_object_set_data (G_OBJECT (dropdown), "user-id", id);
          g_signal_connect (dropdown, "notify::selected",
                            G_CALLBACK (role_changed_cb), self);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), dropdown);
        }

      button = gtk_button_new_from_icon_name ("dialog-password-symbolic");
      gtk_widget_set_tooltip_text (button, _("Reset Password…"));
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "flat");
      g_object_set_data (G_OBJECT (button), "user-id", id);
      g_signal_connect (button, "clicked", G_CALLBACK (reset_clicked_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }

  add_user_form (self, box);
}

/* API keys --------------------------------------------------------------- */

static void
copy_key_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      gpointer          user_data)
{
  const char *secret = g_object_get_data (G_OBJECT (dialog), "secret");

  if (g_str_equal (response, "copy"))
    gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (dialog)),
                            secret);
}

static void
key_created_done (RflTenantPage  *self,
                  RflAdminResult *result)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog, *label;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("API Key Created"),
                                   _("Copy the key now: it is shown only "
                                     "once and cannot be seen again."));
  label = gtk_label_new (result->secret);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_CHAR);
  gtk_widget_add_css_class (label, "monospace");
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), label);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "copy", _("_Copy"),
                                    "close", _("_Done"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                              "copy", ADW_RESPONSE_SUGGESTED);
  g_object_set_data_full (G_OBJECT (dialog), "secret",
                          g_strdup (result->secret), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (copy_key_response_cb), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
  reload (self);
}

static const struct
{
  RflApiScopes  scope;
  const char   *name;
  const char   *description;
} key_scopes[] = {
  { RFL_API_SCOPE_CHAT, "chat",
    N_("Chat with the assistant, also through the OpenAI-compatible API") },
  { RFL_API_SCOPE_PUBLISH, "publish",
    N_("Publish interactions for profiles and feedback") },
  { RFL_API_SCOPE_READ, "read",
    N_("Read conversations, memories, profiles and feedback") },
  { RFL_API_SCOPE_ADMIN, "admin",
    N_("Manage this tenant: users, keys, quotas and the audit log") },
};

/* The scopes ticked in the form of @button. */
static RflApiScopes
checked_scopes (GtkWidget *button)
{
  GtkCheckButton **checks = g_object_get_data (G_OBJECT (button), "scopes");
  RflApiScopes scopes = 0;

  for (guint i = 0; i < G_N_ELEMENTS (key_scopes); i++)
    if (gtk_check_button_get_active (checks[i]))
      scopes |= key_scopes[i].scope;

  return scopes;
}

/* A key needs at least one scope. */
static void
scope_toggled_cb (GtkCheckButton *check,
                  GtkWidget      *button)
{
  gtk_widget_set_sensitive (button, checked_scopes (button) != 0);
}

static void
new_key_clicked_cb (GtkButton     *button,
                    RflTenantPage *self)
{
  GtkEntry *entry = g_object_get_data (G_OBJECT (button), "entry");
  RflAdminRequest request = { RFL_ADMIN_CREATE_API_KEY };

  request.name = gtk_editable_get_text (GTK_EDITABLE (entry));
  request.scopes = checked_scopes (GTK_WIDGET (button));
  if (request.scopes == 0)
    return;
  admin_call (self, &request, key_created_done);
}

static void
revoke_clicked_cb (GtkButton     *button,
                   RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_REVOKE_API_KEY };

  request.target_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (button),
                                                           "key-id"));
  confirm (self, _("Revoke API Key?"),
           _("Programs using this key are refused from now on."),
           _("_Revoke"), &request, reload_done);
}

static void
keys_done (RflTenantPage  *self,
           RflAdminResult *result)
{
  GtkBox *box = replace_view (self, "api-keys");
  GtkWidget *group, *row, *entry, *button;
  GtkCheckButton **checks;

  g_hash_table_remove_all (self->key_names);
  for (guint i = 0; i < result->items->len; i++)
    {
      RflApiKey *key = g_ptr_array_index (result->items, i);

      g_hash_table_insert (self->key_names, g_memdup2 (&key->id, sizeof key->id),
                           g_strdup (key->name));
    }
  show_audit (self);

  group = add_group (box, _("New API Key"),
                     _("A key lets a program use this tenant, as far as its "
                       "scopes allow. Choose at least one."));
  entry = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (entry), _("Name"));
  gtk_editable_set_text (GTK_EDITABLE (entry), _("Website"));
  gtk_widget_set_name (entry, "key-name");
  button = new_button (_("C_reate"), "suggested-action");
  gtk_widget_set_name (button, "create-key-button");
  g_object_set_data (G_OBJECT (button), "entry", entry);
  g_signal_connect (button, "clicked", G_CALLBACK (new_key_clicked_cb), self);
  adw_entry_row_add_suffix (ADW_ENTRY_ROW (entry), button);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), entry);

  checks = g_new0 (GtkCheckButton *, G_N_ELEMENTS (key_scopes));
  g_object_set_data_full (G_OBJECT (button), "scopes", checks, g_free);
  for (guint i = 0; i < G_N_ELEMENTS (key_scopes); i++)
    {
      g_autofree char *name = g_strconcat ("scope-", key_scopes[i].name, NULL);
      GtkWidget *check = gtk_check_button_new ();

      row = add_row (group, key_scopes[i].name, _(key_scopes[i].description));
      gtk_widget_set_name (check, name);
      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                   key_scopes[i].scope == RFL_API_SCOPE_CHAT);
      g_signal_connect (check, "toggled", G_CALLBACK (scope_toggled_cb), button);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      checks[i] = GTK_CHECK_BUTTON (check);
    }

  group = add_group (box, _("API Keys"), NULL);
  if (result->items->len == 0)
    add_row (group, _("No API keys yet"), NULL);
  for (guint i = 0; i < result->items->len; i++)
    {
      RflApiKey *key = g_ptr_array_index (result->items, i);
      g_autofree char *created = format_ms (key->created_at);
      g_autofree char *scopes = rfl_api_scopes_to_string (key->scopes);
      g_autofree char *subtitle = NULL;

      if (key->revoked_at != 0)
        {
          g_autofree char *revoked = format_ms (key->revoked_at);

          subtitle = g_strdup_printf (_("%s… · %s · revoked %s"), key->prefix,
                                      scopes, revoked);
        }
      else
        subtitle = g_strdup_printf (_("%s… · %s · created %s"), key->prefix,
                                    scopes, created);
      row = add_row (group, key->name, subtitle);
      if (key->revoked_at == 0)
        {
          button = new_button (_("_Revoke…"), NULL);
          g_object_set_data (G_OBJECT (button), "key-id",
                             GSIZE_TO_POINTER ((gsize) key->id));
          g_signal_connect (button, "clicked", G_CALLBACK (revoke_clicked_cb), self);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
        }
    }
}

/* Quotas ----------------------------------------------------------------- */

static GtkWidget *
add_spin_row (GtkWidget  *group,
              const char *title,
              const char *subtitle,
              guint64     value,
              const char *name)
{
  GtkWidget *row = add_row (group, title, subtitle);
  GtkWidget *spin = gtk_spin_button_new_with_range (0, 1e12, 1000);

  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), (double) value);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  gtk_widget_set_name (spin, name);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), spin);
  return spin;
}

static void
save_quotas_clicked_cb (GtkButton     *button,
                        RflTenantPage *self)
{
  GtkSpinButton **spins = g_object_get_data (G_OBJECT (button), "spins");
  RflAdminRequest request = { RFL_ADMIN_SET_QUOTAS };

  request.limits.requests_per_minute = gtk_spin_button_get_value_as_int (spins[0]);
  request.limits.tokens_per_day = (guint64) gtk_spin_button_get_value (spins[1]);
  request.limits.tokens_per_month = (guint64) gtk_spin_button_get_value (spins[2]);
  request.limits.max_concurrent = gtk_spin_button_get_value_as_int (spins[3]);
  admin_call (self, &request, reload_done);
}

static char *
used_line (guint64     used,
           guint64     limit,
           const char *resets)
{
  g_autofree char *used_text = g_strdup_printf ("%" G_GUINT64_FORMAT, used);
  g_autofree char *limit_text = g_strdup_printf ("%" G_GUINT64_FORMAT, limit);

  if (limit == 0)
    return g_strdup_printf (_("%s used, no limit"), used_text);
  /* Translators: tokens used / the limit, and when the count starts again */
  return g_strdup_printf (_("%s / %s used, resets %s"), used_text, limit_text,
                          resets);
}

static void
quotas_done (RflTenantPage  *self,
             RflAdminResult *result)
{
  GtkBox *box = replace_view (self, "quotas");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) today = g_date_time_new_utc (g_date_time_get_year (now),
                                                    g_date_time_get_month (now),
                                                    g_date_time_get_day_of_month (now),
                                                    0, 0, 0);
  g_autoptr(GDateTime) tomorrow = g_date_time_add_days (today, 1);
  g_autoptr(GDateTime) first = g_date_time_add_days (today,
                                                     1 - g_date_time_get_day_of_month (today));
  g_autoptr(GDateTime) month = g_date_time_add_months (first, 1);
  g_autofree char *day_reset = g_date_time_format (tomorrow, "%Y-%m-%d 00:00 UTC");
  g_autofree char *month_reset = g_date_time_format (month, "%Y-%m-%d 00:00 UTC");
  g_autofree char *day_line = used_line (result->day_used,
                                         result->limits.tokens_per_day, day_reset);
  g_autofree char *month_line = used_line (result->month_used,
                                           result->limits.tokens_per_month,
                                           month_reset);
  GtkSpinButton **spins = g_new0 (GtkSpinButton *, 4);
  GtkWidget *group, *button;

  group = add_group (box, _("Quotas"), _("0 means unlimited."));
  spins[0] = GTK_SPIN_BUTTON (add_spin_row (group, _("Requests per minute"), NULL,
                                            result->limits.requests_per_minute,
                                            "requests-per-minute"));
  gtk_spin_button_set_increments (spins[0], 1, 10);
  spins[1] = GTK_SPIN_BUTTON (add_spin_row (group, _("Tokens per day"), day_line,
                                            result->limits.tokens_per_day,
                                            "tokens-per-day"));
  spins[2] = GTK_SPIN_BUTTON (add_spin_row (group, _("Tokens per month"),
                                            month_line,
                                            result->limits.tokens_per_month,
                                            "tokens-per-month"));
  spins[3] = GTK_SPIN_BUTTON (add_spin_row (group, _("Concurrent requests"), NULL,
                                            result->limits.max_concurrent,
                                            "max-concurrent"));
  gtk_spin_button_set_increments (spins[3], 1, 10);

  button = new_button (_("_Save Quotas"), "suggested-action");
  gtk_widget_set_halign (button, GTK_ALIGN_END);
  g_object_set_data_full (G_OBJECT (button), "spins", spins, g_free);
  g_signal_connect (button, "clicked", G_CALLBACK (save_quotas_clicked_cb), self);
  gtk_box_append (box, button);
}

/* Tools ------------------------------------------------------------------ */

/* What each tool is called and does, for the administrator; the API and
 * the audit log know tools by name. */
static const struct
{
  const char *name;
  const char *title;
  const char *summary;
  gboolean    dangerous;  /* reaches files, programs or the internet */
} tool_texts[] = {
  { "calculator", N_("Calculator"), N_("Works out arithmetic exactly"), FALSE },
  { "current_time", N_("Current Time"), N_("Tells today’s date and the time"), FALSE },
  { "memory_search", N_("Search Memories"),
    N_("Looks up what it remembers about the person it talks to"), FALSE },
  { "memory_save", N_("Save Memories"),
    N_("Remembers what a person asks it to keep"), FALSE },
  { "file_read", N_("Read Files"), N_("Reads files on this computer"), TRUE },
  { "shell_run", N_("Run Commands"), N_("Runs programs on this computer"), TRUE },
  { "web_fetch", N_("Fetch Web Pages"), N_("Downloads pages from the internet"), TRUE },
  { "web_search", N_("Search the Web"), N_("Searches the internet"), TRUE },
};

/* The row of @tool: its title and what it does, with a warning for the
 * tools that reach outside the conversation. An unknown tool shows its
 * name, with the warning. */
static GtkWidget *
add_tool_row (GtkWidget  *group,
              const char *tool)
{
  const char *warning = _("⚠ Reaches files, programs or the internet: enable "
                          "only for trusted users");
  g_autofree char *subtitle = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (tool_texts); i++)
    if (g_str_equal (tool_texts[i].name, tool))
      {
        subtitle = tool_texts[i].dangerous
                   ? g_strdup_printf ("%s\n%s", _(tool_texts[i].summary), warning)
                   : g_strdup (_(tool_texts[i].summary));
        return add_row (group, _(tool_texts[i].title), subtitle);
      }

  return add_row (group, tool, warning);
}

static void
tool_switch_cb (GtkSwitch     *sw,
                GParamSpec    *pspec,
                RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_SET_TOOL };

  request.name = gtk_widget_get_name (GTK_WIDGET (sw));
  request.enabled = gtk_switch_get_active (sw);
  admin_call (self, &request, NULL);
}

static void
tools_done (RflTenantPage  *self,
            RflAdminResult *result)
{
  GtkBox *box = replace_view (self, "tools");
  GtkWidget *group = add_group (box, _("Tools"),
                                _("What the assistant may use for this tenant."));

  for (guint i = 0; i < result->items->len; i++)
    {
      RflToolPermission *tool = g_ptr_array_index (result->items, i);
      GtkWidget *row, *sw;

      row = add_tool_row (group, tool->tool);
      sw = gtk_switch_new ();
      gtk_widget_set_name (sw, tool->tool);
      gtk_widget_set_valign (sw, GTK_ALIGN_CENTER);
      gtk_switch_set_active (GTK_SWITCH (sw), tool->enabled);
      g_signal_connect (sw, "notify::active", G_CALLBACK (tool_switch_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), sw);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), sw);
    }
}

/* Audit ------------------------------------------------------------------ */

/* The actions a tenant's log holds, as the filter offers them, and what
 * they are called; the log and its export keep the names. */
static const struct
{
  const char *name;
  const char *label;
} audit_actions[] = {
  { "tenant_created", N_("Tenant created") },
  { "tenant_updated", N_("Tenant changed") },
  { "tenant_suspended", N_("Tenant suspended") },
  { "tenant_resumed", N_("Tenant resumed") },
  { "tenant_deleted", N_("Tenant deleted") },
  { "user_created", N_("User created") },
  { "user_role_changed", N_("Role changed") },
  { "user_password_reset", N_("Password reset") },
  { "sessions_revoked", N_("Sessions revoked") },
  { "api_key_created", N_("API key created") },
  { "api_key_revoked", N_("API key revoked") },
  { "quota_changed", N_("Quotas changed") },
  { "tool_enabled", N_("Tool enabled") },
  { "tool_disabled", N_("Tool disabled") },
  { "login", N_("Logged in") },
  { "failed_login", N_("Failed login") },
  { "login_locked", N_("Login locked") },
  { "refresh_token_reused", N_("Refresh token reused") },
  { "logout", N_("Logged out") },
};

/* What an entry's action is called; a name Reflection does not write
 * itself is shown as it is. */
static const char *
audit_action_label (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (audit_actions); i++)
    if (g_strcmp0 (audit_actions[i].name, name) == 0)
      return _(audit_actions[i].label);

  return name;
}

/* The time ranges of the filter, in hours; 0 for all time. */
static const guint audit_ranges[] = { 24, 7 * 24, 30 * 24, 0 };

static void
audit_action_cb (AdwComboRow   *row,
                 GParamSpec    *pspec,
                 RflTenantPage *self)
{
  guint selected = adw_combo_row_get_selected (row);

  self->audit_action = selected == 0 || selected > G_N_ELEMENTS (audit_actions)
                       ? NULL : audit_actions[selected - 1].name;
  load_audit (self);
}

static void
audit_range_cb (AdwComboRow   *row,
                GParamSpec    *pspec,
                RflTenantPage *self)
{
  load_audit (self);
}

static gboolean
audit_search_timeout_cb (gpointer user_data)
{
  RflTenantPage *self = user_data;

  self->audit_search_source = 0;
  load_audit (self);
  return G_SOURCE_REMOVE;
}

/* Typing searches once the user pauses. */
static void
audit_search_changed_cb (GtkEditable   *editable,
                         RflTenantPage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (editable)));

  g_free (self->audit_search);
  self->audit_search = *text != '\0' ? g_steal_pointer (&text) : NULL;
  g_clear_handle_id (&self->audit_search_source, g_source_remove);
  self->audit_search_source = g_timeout_add (300, audit_search_timeout_cb, self);
}

static gboolean
audit_is_filtered (RflTenantPage *self)
{
  return self->audit_action != NULL || self->audit_search != NULL
         || self->audit_since != 0;
}

static void
clear_audit_list (RflTenantPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->audit_list))))
    gtk_list_box_remove (self->audit_list, child);
}

/* "user:7" and "api_key:3", as the log writes its targets, by email or
 * key name when the tenant knows them; anything else as it is. */
static char *
describe_target (RflTenantPage *self,
                 const char    *target)
{
  const char *prefixes[] = { "user:", "api_key:" };
  GHashTable *names[] = { self->user_names, self->key_names };

  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      guint64 id = 0;
      const char *name;

      if (!g_str_has_prefix (target, prefixes[i])
          || !g_ascii_string_to_unsigned (target + strlen (prefixes[i]), 10, 1,
                                          G_MAXINT64, &id, NULL))
        continue;

      name = g_hash_table_lookup (names[i], &(gint64) { (gint64) id });
      if (name != NULL)
        return i == 0 ? g_strdup (name) : g_strdup_printf (_("API key “%s”"), name);
    }

  return g_strdup (target);
}

static GtkWidget *
new_audit_row (RflTenantPage       *self,
               const RflAuditEntry *entry)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *time = format_ms (entry->created_at);
  g_autoptr(GString) subtitle = g_string_new (time);

  if (entry->actor_user_id != 0 || entry->actor_api_key_id != 0)
    {
      gboolean user = entry->actor_user_id != 0;
      gint64 actor = user ? entry->actor_user_id : entry->actor_api_key_id;
      const char *name = g_hash_table_lookup (user ? self->user_names
                                                   : self->key_names, &actor);
      g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, actor);

      g_string_append (subtitle, " · ");
      /* An administrator of another tenant is known by number only. */
      if (name != NULL)
        g_string_append_printf (subtitle, user ? _("by %s")
                                               : _("by API key “%s”"), name);
      else
        g_string_append_printf (subtitle, user ? _("by user %s")
                                               : _("by API key %s"), id);
    }
  if (entry->target != NULL)
    {
      g_autofree char *target = describe_target (self, entry->target);

      g_string_append_printf (subtitle, " · %s", target);
    }

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 audit_action_label (entry->action));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle->str);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
  return row;
}

/* The entries last listed, with the names known now. */
static void
show_audit (RflTenantPage *self)
{
  gboolean empty;

  if (self->audit_entries == NULL)
    return;

  empty = self->audit_entries->len == 0;
  clear_audit_list (self);
  for (guint i = 0; i < self->audit_entries->len; i++)
    gtk_list_box_append (self->audit_list,
                         new_audit_row (self, g_ptr_array_index (self->audit_entries, i)));

  gtk_widget_set_visible (GTK_WIDGET (self->audit_list), !empty);
  gtk_widget_set_visible (GTK_WIDGET (self->audit_empty), empty);
  gtk_widget_set_sensitive (GTK_WIDGET (self->audit_export_button), !empty);
  adw_status_page_set_icon_name (self->audit_empty,
                                 audit_is_filtered (self)
                                 ? "edit-find-symbolic"
                                 : "document-open-recent-symbolic");
  adw_status_page_set_description (self->audit_empty,
                                   audit_is_filtered (self)
                                   ? _("No entry matches this filter. Choose "
                                       "another action or time range, or "
                                       "change the search.")
                                   : _("Changes to this tenant and its "
                                       "sign-ins are recorded here."));
}

static void
audit_done (RflTenantPage  *self,
            RflAdminResult *result)
{
  g_clear_pointer (&self->audit_entries, g_ptr_array_unref);
  self->audit_entries = g_steal_pointer (&result->items);
  show_audit (self);
}

static void
load_audit (RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_LIST_AUDIT };
  guint range = adw_combo_row_get_selected (self->audit_range_row);
  gint64 now = g_get_real_time () / 1000;
  guint hours = audit_ranges[MIN (range, G_N_ELEMENTS (audit_ranges) - 1)];

  /* The export writes what was listed: the same range, fixed now. */
  self->audit_since = hours != 0 ? now - (gint64) hours * 3600 * 1000 : 0;
  self->audit_until = now + 1;

  request.name = self->audit_action;
  request.search = self->audit_search;
  request.since = self->audit_since;
  request.until = self->audit_until;
  admin_call (self, &request, audit_done);
}

static void
export_done (RflTenantPage  *self,
             RflAdminResult *result)
{
  GFile *file = g_object_get_data (G_OBJECT (self), "audit-export-file");
  g_autofree char *name = file != NULL ? g_file_get_basename (file) : NULL;
  g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                            result->n_entries);
  g_autofree char *message = NULL;

  message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          /* Translators: a number, then a
                                           * file name */
                                          "Exported %s entry to “%s”",
                                          "Exported %s entries to “%s”",
                                          (gulong) MIN (result->n_entries,
                                                        G_MAXULONG)),
                             count, name != NULL ? name : "");
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
}

void
rfl_tenant_page_export_audit (RflTenantPage *self,
                              GFile         *file)
{
  RflAdminRequest request = { RFL_ADMIN_EXPORT_AUDIT };
  g_autofree char *path = NULL;

  g_return_if_fail (RFL_IS_TENANT_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      adw_toast_overlay_add_toast (self->toasts,
                                   adw_toast_new (_("The audit log can only "
                                                    "be saved to a local "
                                                    "file")));
      return;
    }

  g_object_set_data_full (G_OBJECT (self), "audit-export-file",
                          g_object_ref (file), g_object_unref);
  request.name = self->audit_action;
  request.search = self->audit_search;
  request.since = self->audit_since;
  request.until = self->audit_until;
  request.path = path;
  admin_call (self, &request, export_done);
}

static void
export_response_cb (GtkNativeDialog *chooser,
                    int              response,
                    RflTenantPage   *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        rfl_tenant_page_export_audit (self, file);
    }

  g_object_unref (chooser);
}

static void
export_clicked_cb (GtkButton     *button,
                   RflTenantPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *day = g_date_time_format (now, "%Y-%m-%d");
  g_autofree char *name = NULL;
  g_autofree char *safe = NULL;
  GtkFileChooserNative *chooser;

  /* The tenant's name without characters file systems refuse. */
  safe = g_strdelimit (g_strdup (self->name != NULL ? self->name : ""),
                       "/\\:*?\"<>|", '-');
  /* Translators: the name of the exported file: a tenant, then a date */
  name = g_strdup_printf (_("audit-log-%s-%s.csv"), safe, day);

  chooser = gtk_file_chooser_native_new (_("Export Audit Log"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root)
                                                              : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_file_filter_set_name (filter, _("CSV files"));
  gtk_file_filter_add_mime_type (filter, "text/csv");
  gtk_file_filter_add_suffix (filter, "csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_signal_connect_object (chooser, "response",
                           G_CALLBACK (export_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
setup_audit (RflTenantPage *self)
{
  g_autoptr(GtkStringList) actions = gtk_string_list_new (NULL);

  gtk_string_list_append (actions, _("All actions"));
  for (guint i = 0; i < G_N_ELEMENTS (audit_actions); i++)
    gtk_string_list_append (actions, _(audit_actions[i].label));
  adw_combo_row_set_model (self->audit_action_row, G_LIST_MODEL (actions));

  g_signal_connect (self->audit_action_row, "notify::selected",
                    G_CALLBACK (audit_action_cb), self);
  g_signal_connect (self->audit_range_row, "notify::selected",
                    G_CALLBACK (audit_range_cb), self);
  g_signal_connect (self->audit_search_row, "changed",
                    G_CALLBACK (audit_search_changed_cb), self);
  g_signal_connect (self->audit_export_button, "clicked",
                    G_CALLBACK (export_clicked_cb), self);
}

/* Usage ------------------------------------------------------------------ */

static const guint periods[] = { 7, 30, 90 };

/* Turns the sums into one value per day and model, for the charts. */
static void
fill_chart (RflUsageChart *chart,
            GPtrArray     *sums,
            GStrv          days,
            GStrv          models,
            gboolean       calls,
            GString       *summary)
{
  guint n_days = g_strv_length (days);
  guint n_models = g_strv_length (models);
  g_autofree double *values = g_new0 (double, MAX (1, n_days * n_models));
  double total = 0;

  for (guint i = 0; i < sums->len; i++)
    {
      RflUsageSum *sum = g_ptr_array_index (sums, i);
      int d = -1, m = -1;

      for (guint j = 0; j < n_days && d < 0; j++)
        if (g_str_equal (days[j], sum->day))
          d = j;
      for (guint j = 0; j < n_models && m < 0; j++)
        if (g_str_equal (models[j], sum->model))
          m = j;
      if (d >= 0 && m >= 0)
        {
          double value = calls ? sum->n_calls : sum->tokens_in + sum->tokens_out;

          values[d * n_models + m] += value;
          total += value;
        }
    }

  rfl_usage_chart_set_data (chart, (const char * const *) days,
                            (const char * const *) models, values);
  for (guint m = 0; m < n_models; m++)
    {
      double model_total = 0;

      for (guint d = 0; d < n_days; d++)
        model_total += values[d * n_models + m];
      GdkRGBA color;
      g_autofree char *hex = NULL;
      g_autofree char *escaped = g_markup_escape_text (models[m], -1);

      rfl_usage_chart_get_color (m, &color);
      hex = g_strdup_printf ("#%02x%02x%02x", (int) (color.red * 255),
                             (int) (color.green * 255), (int) (color.blue * 255));
      g_string_append_printf (summary, "<span foreground=\"%s\">■</span> %s\n"
                              "    %.0f\n", hex, escaped, model_total);
    }
  g_string_append_printf (summary, "<b>%s</b> %.0f", _("Total:"), total);
}

/* The numbers beside a chart are what a screen reader says for it. */
static void
set_accessible_summary (GtkWidget  *chart,
                        const char *markup)
{
  g_autofree char *plain = NULL;

  if (!pango_parse_markup (markup, -1, 0, NULL, &plain, NULL, NULL))
    return;
  gtk_accessible_update_property (GTK_ACCESSIBLE (chart),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, plain, -1);
}

static GtkWidget *
add_chart (GtkBox     *box,
           const char *title,
           GtkWidget **out_summary)
{
  GtkWidget *group = add_group (box, title, NULL);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *chart = rfl_usage_chart_new ();
  GtkWidget *summary = gtk_label_new (NULL);

  gtk_widget_set_hexpand (chart, TRUE);
  gtk_widget_set_size_request (chart, -1, 220);
  gtk_label_set_xalign (GTK_LABEL (summary), 0);
  gtk_label_set_yalign (GTK_LABEL (summary), 0);
  gtk_label_set_selectable (GTK_LABEL (summary), TRUE);
  gtk_widget_add_css_class (summary, "numeric");
  gtk_widget_set_size_request (summary, 170, -1);
  gtk_box_append (GTK_BOX (row), chart);
  gtk_box_append (GTK_BOX (row), summary);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
  *out_summary = summary;
  return chart;
}

static void load_usage (RflTenantPage *self);

static void
period_changed_cb (GtkDropDown   *dropdown,
                   GParamSpec    *pspec,
                   RflTenantPage *self)
{
  self->period = periods[MIN (gtk_drop_down_get_selected (dropdown),
                              G_N_ELEMENTS (periods) - 1)];
  load_usage (self);
}

/* The period's refusals, totalled by the limit that refused them. */
static void
add_rejections (GtkBox    *box,
                GPtrArray *rejections)
{
  static const char * const limits[] = {
    "requests_per_minute", "tokens_per_day", "tokens_per_month",
    "max_concurrent",
  };
  const char * const titles[] = {
    _("Requests per minute"), _("Tokens per day"), _("Tokens per month"),
    _("Concurrent requests"),
  };
  guint64 counts[G_N_ELEMENTS (limits)] = { 0 };
  guint64 total = 0;
  GtkWidget *group;

  for (guint i = 0; rejections != NULL && i < rejections->len; i++)
    {
      const RflAdminRejections *day = g_ptr_array_index (rejections, i);

      for (guint j = 0; j < G_N_ELEMENTS (limits); j++)
        if (g_strcmp0 (day->limit, limits[j]) == 0)
          counts[j] += day->count;
      total += day->count;
    }

  if (total == 0)
    {
      add_group (box, _("Rejections"),
                 _("No request was refused by a quota in this period."));
      return;
    }

  group = add_group (box, _("Rejections"),
                     _("Requests refused by a quota in this period, by the "
                       "limit that refused them."));
  for (guint j = 0; j < G_N_ELEMENTS (limits); j++)
    {
      g_autofree char *count = NULL;

      if (counts[j] == 0)
        continue;
      count = g_strdup_printf ("%" G_GUINT64_FORMAT, counts[j]);
      add_row (group, titles[j], count);
    }
}

/* Money as people read it: cents from a cent up, finer below. */
static char *
format_cost (guint64 micro_usd)
{
  if (micro_usd == 0)
    return g_strdup ("$0.00");
  if (micro_usd < 100)
    return g_strdup ("< $0.0001");
  if (micro_usd < 10000)
    return g_strdup_printf ("$%.4f", micro_usd / 1e6);
  return g_strdup_printf ("$%.2f", micro_usd / 1e6);
}

static char *
format_tokens (guint64 tokens)
{
  if (tokens >= 10000000)
    return g_strdup_printf (_("%.0fM tokens"), tokens / 1e6);
  if (tokens >= 10000)
    return g_strdup_printf (_("%.0fK tokens"), tokens / 1e3);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u token", "%u tokens",
                                       (gulong) tokens), (guint) tokens);
}

static void load_breakdown (RflTenantPage *self);

static void
breakdown_done (RflTenantPage  *self,
                RflAdminResult *result)
{
  GtkWidget *group = self->breakdown_group;
  GtkWidget *list;

  if (group == NULL)
    return;

  list = g_object_get_data (G_OBJECT (group), "rfl-list");
  if (list != NULL)
    adw_preferences_group_remove (ADW_PREFERENCES_GROUP (group), list);

  list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_widget_set_name (list, "usage-breakdown");
  g_object_set_data (G_OBJECT (group), "rfl-list", list);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), list);

  if (result->items->len == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     _("No calls in this period"));
      gtk_list_box_append (GTK_LIST_BOX (list), row);
      return;
    }

  for (guint i = 0; i < result->items->len; i++)
    {
      const RflUsageBreakdown *item = g_ptr_array_index (result->items, i);
      g_autofree char *tokens = format_tokens (item->tokens_in + item->tokens_out);
      g_autofree char *subtitle = NULL;
      g_autofree char *cost = format_cost (item->cost_micro_usd);
      g_autofree char *title = NULL;
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *suffix;

      if (*item->label == '\0')
        title = g_strdup (self->breakdown_by == RFL_USAGE_BY_KEY
                          ? _("Without an API key (desktop and signed-in users)")
                          : _("Without a user (API keys)"));
      else if (item->detail != NULL && self->breakdown_by == RFL_USAGE_BY_KEY)
        title = g_strdup_printf ("%s (%s…)", item->label, item->detail);
      else if (item->detail != NULL)
        title = g_strdup_printf ("%s · %s", item->label, item->detail);
      else
        title = g_strdup (item->label);

      subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s in %u call",
                                               "%s in %u calls",
                                               (gulong) item->n_calls),
                                  tokens, (guint) item->n_calls);
      if (item->n_unpriced > 0)
        {
          g_autofree char *plain = g_steal_pointer (&subtitle);

          subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                   "%s, %u without a price",
                                                   "%s, %u without a price",
                                                   (gulong) item->n_unpriced),
                                      plain, (guint) item->n_unpriced);
        }

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      suffix = gtk_label_new (cost);
      gtk_widget_add_css_class (suffix, "numeric");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), suffix);
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
}

static void
breakdown_by_cb (GtkDropDown   *dropdown,
                 GParamSpec    *pspec,
                 RflTenantPage *self)
{
  static const RflUsageGroup groups[] = {
    RFL_USAGE_BY_MODEL, RFL_USAGE_BY_USER, RFL_USAGE_BY_KEY,
  };

  self->breakdown_by = groups[MIN (gtk_drop_down_get_selected (dropdown),
                                   G_N_ELEMENTS (groups) - 1)];
  load_breakdown (self);
}

static void
add_breakdown (RflTenantPage *self,
               GtkBox        *box)
{
  const char * const labels[] = { _("By model"), _("By user"), _("By API key"),
                                  NULL };
  GtkWidget *group = add_group (box, _("Usage and Cost"),
                                _("Estimated at the model prices in force when "
                                  "each call was made."));
  GtkWidget *dropdown = gtk_drop_down_new_from_strings (labels);

  gtk_widget_set_name (dropdown, "usage-breakdown-by");
  gtk_widget_set_valign (dropdown, GTK_ALIGN_CENTER);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown),
                              self->breakdown_by == RFL_USAGE_BY_USER ? 1
                              : self->breakdown_by == RFL_USAGE_BY_KEY ? 2 : 0);
  g_signal_connect (dropdown, "notify::selected", G_CALLBACK (breakdown_by_cb), self);
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (group), dropdown);

  if (self->breakdown_group != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->breakdown_group),
                                  (gpointer *) &self->breakdown_group);
  self->breakdown_group = group;
  g_object_add_weak_pointer (G_OBJECT (group), (gpointer *) &self->breakdown_group);
  load_breakdown (self);
}

static void
load_breakdown (RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_USAGE_BREAKDOWN };

  request.group = self->breakdown_by;
  request.since = self->usage_since;
  admin_call (self, &request, breakdown_done);
}

static void
usage_done (RflTenantPage  *self,
            RflAdminResult *result)
{
  GtkBox *box = replace_view (self, "usage");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GStrvBuilder) days_builder = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) models_builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) days = NULL;
  g_auto(GStrv) models = NULL;
  g_autoptr(GString) tokens_text = g_string_new (NULL);
  g_autoptr(GString) calls_text = g_string_new (NULL);
  const char * const labels[] = { _("Last 7 days"), _("Last 30 days"),
                                  _("Last 90 days"), NULL };
  GtkWidget *dropdown, *chart, *summary, *header, *cost_label;
  guint64 cost = 0, unpriced = 0;
  g_autofree char *cost_text = NULL;
  g_autofree char *cost_markup = NULL;
  guint selected = 0;

  for (int i = self->period - 1; i >= 0; i--)
    {
      g_autoptr(GDateTime) day = g_date_time_add_days (now, -i);
      g_autofree char *text = g_date_time_format (day, "%Y-%m-%d");

      g_strv_builder_add (days_builder, text);
    }
  days = g_strv_builder_end (days_builder);

  for (guint i = 0; i < result->items->len; i++)
    {
      RflUsageSum *sum = g_ptr_array_index (result->items, i);

      if (g_hash_table_add (seen, sum->model))
        g_strv_builder_add (models_builder, sum->model);
      cost += sum->cost_micro_usd;
      unpriced += sum->n_unpriced;
    }
  models = g_strv_builder_end (models_builder);

  header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_box_append (GTK_BOX (header), gtk_label_new (_("Period")));
  dropdown = gtk_drop_down_new_from_strings (labels);
  for (guint i = 0; i < G_N_ELEMENTS (periods); i++)
    if (periods[i] == self->period)
      selected = i;
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), selected);
  g_signal_connect (dropdown, "notify::selected", G_CALLBACK (period_changed_cb), self);
  gtk_box_append (GTK_BOX (header), dropdown);

  /* The period's estimated cost, beside the period. */
  cost_text = format_cost (cost);
  if (unpriced > 0)
    cost_markup = g_markup_printf_escaped (g_dngettext (GETTEXT_PACKAGE,
                                                        "Estimated cost <b>%s</b>, and %u call without a price",
                                                        "Estimated cost <b>%s</b>, and %u calls without a price",
                                                        (gulong) unpriced),
                                           cost_text, (guint) unpriced);
  else
    cost_markup = g_markup_printf_escaped (_("Estimated cost <b>%s</b>"), cost_text);
  cost_label = gtk_label_new (NULL);
  gtk_label_set_markup (GTK_LABEL (cost_label), cost_markup);
  gtk_widget_set_name (cost_label, "usage-cost");
  gtk_widget_set_hexpand (cost_label, TRUE);
  gtk_widget_set_halign (cost_label, GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (header), cost_label);
  gtk_box_append (box, header);

  chart = add_chart (box, _("Tokens per Day by Model"), &summary);
  fill_chart (RFL_USAGE_CHART (chart), result->items, days, models, FALSE,
              tokens_text);
  gtk_label_set_markup (GTK_LABEL (summary), tokens_text->str);
  set_accessible_summary (chart, tokens_text->str);

  chart = add_chart (box, _("Requests per Day"), &summary);
  fill_chart (RFL_USAGE_CHART (chart), result->items, days, models, TRUE,
              calls_text);
  gtk_label_set_markup (GTK_LABEL (summary), calls_text->str);
  set_accessible_summary (chart, calls_text->str);

  add_rejections (box, result->rejections);
  add_breakdown (self, box);
}

static void
load_usage (RflTenantPage *self)
{
  RflAdminRequest request = { RFL_ADMIN_SUM_USAGE };
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) today = g_date_time_new_utc (g_date_time_get_year (now),
                                                    g_date_time_get_month (now),
                                                    g_date_time_get_day_of_month (now),
                                                    0, 0, 0);
  g_autoptr(GDateTime) since = g_date_time_add_days (today, 1 - (int) self->period);

  request.since = self->usage_since = g_date_time_to_unix (since) * 1000;
  admin_call (self, &request, usage_done);
}

/* Loading ---------------------------------------------------------------- */

static void
reload (RflTenantPage *self)
{
  RflAdminRequest request = { 0 };

  show_overview (self);
  load_usage (self);

  request.op = RFL_ADMIN_LIST_USERS;
  admin_call (self, &request, users_done);
  request.op = RFL_ADMIN_LIST_API_KEYS;
  admin_call (self, &request, keys_done);
  request.op = RFL_ADMIN_GET_QUOTAS;
  admin_call (self, &request, quotas_done);
  request.op = RFL_ADMIN_LIST_TOOLS;
  admin_call (self, &request, tools_done);
  load_audit (self);
}

void
rfl_tenant_page_set_tenant (RflTenantPage        *self,
                            RflService           *service,
                            RflIdentity           identity,
                            const RflAdminTenant *tenant)
{
  g_return_if_fail (RFL_IS_TENANT_PAGE (self));
  g_return_if_fail (tenant != NULL);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  g_set_object (&self->service, service);
  self->identity = identity;
  self->tenant_id = tenant->id;
  g_free (self->name);
  self->name = g_strdup (tenant->name);
  g_free (self->use_case);
  self->use_case = g_strdup (tenant->use_case);
  g_free (self->status);
  self->status = g_strdup (tenant->status);
  self->n_users = tenant->n_users;
  /* Another tenant's entries and names are not shown meanwhile. */
  g_clear_pointer (&self->audit_entries, g_ptr_array_unref);
  g_hash_table_remove_all (self->user_names);
  g_hash_table_remove_all (self->key_names);
  reload (self);
}

void
rfl_tenant_page_set_view (RflTenantPage *self,
                          const char    *name)
{
  g_return_if_fail (RFL_IS_TENANT_PAGE (self));

  adw_view_stack_set_visible_child_name (self->stack, name);
}

GtkWidget *
rfl_tenant_page_new (void)
{
  return g_object_new (RFL_TYPE_TENANT_PAGE, NULL);
}

static void
rfl_tenant_page_dispose (GObject *object)
{
  RflTenantPage *self = RFL_TENANT_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->audit_search_source, g_source_remove);
  if (self->breakdown_group != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->breakdown_group),
                                  (gpointer *) &self->breakdown_group);
  self->breakdown_group = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_TENANT_PAGE);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->service);

  G_OBJECT_CLASS (rfl_tenant_page_parent_class)->dispose (object);
}

static void
rfl_tenant_page_finalize (GObject *object)
{
  RflTenantPage *self = RFL_TENANT_PAGE (object);

  g_free (self->name);
  g_free (self->use_case);
  g_free (self->status);
  g_free (self->audit_search);
  g_clear_pointer (&self->user_names, g_hash_table_unref);
  g_clear_pointer (&self->key_names, g_hash_table_unref);
  g_clear_pointer (&self->audit_entries, g_ptr_array_unref);

  G_OBJECT_CLASS (rfl_tenant_page_parent_class)->finalize (object);
}

static void
rfl_tenant_page_class_init (RflTenantPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_tenant_page_dispose;
  object_class->finalize = rfl_tenant_page_finalize;

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/reflection/Reflection/ui/rfl-tenant-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, stack);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, toasts);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, audit_action_row);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, audit_range_row);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, audit_search_row);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, audit_export_button);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, audit_list);
  gtk_widget_class_bind_template_child (widget_class, RflTenantPage, audit_empty);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
rfl_tenant_page_init (RflTenantPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->period = 30;
  self->breakdown_by = RFL_USAGE_BY_MODEL;
  self->user_names = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                            g_free, g_free);
  self->key_names = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                           g_free, g_free);
  setup_audit (self);
}
