/* rfl-prices-window.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-prices-window.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "core/rfl-price-table.h"
#include "service/rfl-service-admin.h"

#define N_FIELDS 3
/* The width of the price fields, and of their headings in the .ui file. */
#define PRICE_WIDTH 110

struct _RflPricesWindow
{
  AdwWindow        parent_instance;

  RflService      *service;       /* owned */
  RflIdentity      identity;
  GCancellable    *cancellable;   /* owned */
  char            *problem;       /* owned; NULL: the rows can be saved */
  gboolean         saving;

  /* Template children. */
  AdwToastOverlay *toasts;
  GtkStack        *stack;
  AdwStatusPage   *error_page;
  GtkListBox      *price_list;
  GtkLabel        *problem_label;
  GtkButton       *save_button;
  GtkButton       *add_button;
  GtkButton       *defaults_button;
};

G_DEFINE_FINAL_TYPE (RflPricesWindow, rfl_prices_window, ADW_TYPE_WINDOW)

enum {
  SIGNAL_SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char * const field_keys[N_FIELDS] = {
  "rfl-model", "rfl-input", "rfl-output",
};

/* Rows ------------------------------------------------------------------- */

static GtkEditable *
row_field (GtkWidget *row,
           guint      field)
{
  return g_object_get_data (G_OBJECT (row), field_keys[field]);
}

static GtkWidget *
nth_row (RflPricesWindow *self,
         guint            index)
{
  return GTK_WIDGET (gtk_list_box_get_row_at_index (self->price_list, (int) index));
}

guint
rfl_prices_window_get_n_rows (RflPricesWindow *self)
{
  guint n = 0;

  g_return_val_if_fail (RFL_IS_PRICES_WINDOW (self), 0);

  while (nth_row (self, n) != NULL)
    n++;
  return n;
}

static void
set_problem (RflPricesWindow *self,
             char            *problem)
{
  g_free (self->problem);
  self->problem = problem;
  gtk_label_set_text (self->problem_label, problem != NULL ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (self->problem_label), problem != NULL);
}

static void
mark (GtkEditable *field,
      gboolean     bad)
{
  if (bad)
    gtk_widget_add_css_class (GTK_WIDGET (field), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (field), "error");
}

/* Checks every row, marks the fields in error and names the first
 * problem. */
static void
validate (RflPricesWindow *self)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                      g_free, NULL);
  char *problem = NULL;
  GtkWidget *row;

  for (guint i = 0; (row = nth_row (self, i)) != NULL; i++)
    {
      g_autofree char *model = g_strstrip (g_strdup (gtk_editable_get_text (row_field (row, 0))));
      gboolean bad_model = *model == '\0' || g_hash_table_contains (seen, model);

      mark (row_field (row, 0), bad_model);
      if (bad_model && problem == NULL)
        problem = *model == '\0'
                  ? g_strdup_printf (_("Row %u: enter the name of a model or a pattern"), i + 1)
                  : g_strdup_printf (_("Row %u: “%s” is already priced above"), i + 1, model);
      if (*model != '\0')
        g_hash_table_add (seen, g_steal_pointer (&model));

      for (guint field = 1; field < N_FIELDS; field++)
        {
          g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (row_field (row, field))));
          guint64 micro_usd = 0;
          gboolean bad = !rfl_price_parse_dollars (text, &micro_usd)
                         || micro_usd > RFL_PRICE_MAX_MICRO_USD;

          mark (row_field (row, field), bad);
          if (bad && problem == NULL)
            problem = field == 1
                      ? g_strdup_printf (_("Row %u: the input price must be a number of dollars such as 2.50, with at most six decimals"), i + 1)
                      : g_strdup_printf (_("Row %u: the output price must be a number of dollars such as 10, with at most six decimals"), i + 1);
        }
    }

  set_problem (self, problem);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button),
                            problem == NULL && !self->saving
                            && g_str_equal (gtk_stack_get_visible_child_name (self->stack),
                                            "editor"));
}

static void
field_changed_cb (RflPricesWindow *self)
{
  validate (self);
}

static void
remove_clicked_cb (GtkButton       *button,
                   RflPricesWindow *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);

  if (row != NULL)
    gtk_list_box_remove (self->price_list, row);
  validate (self);
}

static GtkWidget *
new_field (const char *text,
           const char *placeholder,
           int         width)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_editable_set_text (GTK_EDITABLE (entry), text != NULL ? text : "");
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), placeholder);
  if (width > 0)
    {
      /* As wide as the column heading above it, no wider. */
      gtk_widget_set_size_request (entry, width, -1);
      gtk_editable_set_width_chars (GTK_EDITABLE (entry), 4);
      gtk_editable_set_max_width_chars (GTK_EDITABLE (entry), 4);
      gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_NUMBER);
    }
  else
    {
      gtk_editable_set_width_chars (GTK_EDITABLE (entry), 12);
      gtk_widget_set_hexpand (entry, TRUE);
    }
  return entry;
}

static GtkWidget *
append_row (RflPricesWindow *self,
            const char      *model,
            const char      *input,
            const char      *output)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *fields[N_FIELDS];
  GtkWidget *remove;

  fields[0] = new_field (model, _("e.g. gpt-4o or claude-sonnet-4*"), 0);
  fields[1] = new_field (input, _("$ per M"), PRICE_WIDTH);
  fields[2] = new_field (output, _("$ per M"), PRICE_WIDTH);
  gtk_accessible_update_property (GTK_ACCESSIBLE (fields[0]),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Model or pattern"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (fields[1]),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Input price, dollars per million tokens"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (fields[2]),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Output price, dollars per million tokens"), -1);

  remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_tooltip_text (remove, _("Remove"));
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  g_signal_connect (remove, "clicked", G_CALLBACK (remove_clicked_cb), self);

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 6);
  for (guint i = 0; i < N_FIELDS; i++)
    {
      gtk_box_append (GTK_BOX (box), fields[i]);
      g_object_set_data (G_OBJECT (row), field_keys[i], fields[i]);
      g_signal_connect_swapped (fields[i], "changed",
                                G_CALLBACK (field_changed_cb), self);
    }
  gtk_box_append (GTK_BOX (box), remove);

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_append (self->price_list, row);

  return row;
}

static void
show_table (RflPricesWindow *self,
            RflPriceTable   *table)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->price_list))))
    gtk_list_box_remove (self->price_list, child);

  for (guint i = 0; i < rfl_price_table_get_n_prices (table); i++)
    {
      const RflPrice *price = rfl_price_table_get_price (table, i);
      g_autofree char *input = rfl_price_format_dollars (price->input_micro_usd);
      g_autofree char *output = rfl_price_format_dollars (price->output_micro_usd);

      append_row (self, price->pattern, input, output);
    }

  gtk_stack_set_visible_child_name (self->stack, "editor");
  validate (self);
}

/* The service ------------------------------------------------------------ */

static void
show_error (RflPricesWindow *self,
            const char      *message)
{
  adw_status_page_set_description (self->error_page, message);
  gtk_stack_set_visible_child_name (self->stack, "error");
  validate (self);
}

static void
load_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  g_autoptr(RflPricesWindow) self = user_data;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(RflPriceTable) table = NULL;
  g_autoptr(GError) error = NULL;

  result = rfl_service_admin_finish (RFL_SERVICE (source), res, &error);
  if (result != NULL)
    table = rfl_price_table_new_from_json (result->text, -1, &error);

  if (table == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      return;
    }

  show_table (self, table);
}

static void
load (RflPricesWindow *self)
{
  RflAdminRequest request = { RFL_ADMIN_GET_PRICES };

  gtk_stack_set_visible_child_name (self->stack, "loading");
  rfl_service_admin_async (self->service, self->identity, &request,
                           self->cancellable, load_done_cb, g_object_ref (self));
}

static char *
rows_to_json (RflPricesWindow *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  GtkWidget *row;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "models");
  json_builder_begin_array (builder);
  for (guint i = 0; (row = nth_row (self, i)) != NULL; i++)
    {
      g_autofree char *model = g_strstrip (g_strdup (gtk_editable_get_text (row_field (row, 0))));
      g_autofree char *input = g_strstrip (g_strdup (gtk_editable_get_text (row_field (row, 1))));
      g_autofree char *output = g_strstrip (g_strdup (gtk_editable_get_text (row_field (row, 2))));

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "model");
      json_builder_add_string_value (builder, model);
      /* As decimal strings: exact, as typed. */
      json_builder_set_member_name (builder, "input");
      json_builder_add_string_value (builder, input);
      json_builder_set_member_name (builder, "output");
      json_builder_add_string_value (builder, output);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static void
save_done_cb (GObject      *source,
              GAsyncResult *res,
              gpointer      user_data)
{
  g_autoptr(RflPricesWindow) self = user_data;
  g_autoptr(RflAdminResult) result = NULL;
  g_autoptr(GError) error = NULL;

  self->saving = FALSE;
  result = rfl_service_admin_finish (RFL_SERVICE (source), res, &error);
  if (result == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      validate (self);
      set_problem (self, g_strdup (error->message));
      gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), TRUE);
      return;
    }

  g_signal_emit (self, signals[SIGNAL_SAVED], 0);
  gtk_window_close (GTK_WINDOW (self));
}

void
rfl_prices_window_save (RflPricesWindow *self)
{
  RflAdminRequest request = { RFL_ADMIN_SET_PRICES };
  g_autofree char *json = NULL;

  g_return_if_fail (RFL_IS_PRICES_WINDOW (self));

  validate (self);
  if (self->problem != NULL || self->saving)
    return;

  json = rows_to_json (self);
  request.text = json;
  self->saving = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), FALSE);
  rfl_service_admin_async (self->service, self->identity, &request,
                           self->cancellable, save_done_cb, g_object_ref (self));
}

/* Buttons ---------------------------------------------------------------- */

static void
save_clicked_cb (RflPricesWindow *self)
{
  rfl_prices_window_save (self);
}

static void
cancel_clicked_cb (RflPricesWindow *self)
{
  gtk_window_close (GTK_WINDOW (self));
}

static void
add_clicked_cb (RflPricesWindow *self)
{
  GtkWidget *row = append_row (self, NULL, NULL, NULL);

  validate (self);
  gtk_widget_grab_focus (GTK_WIDGET (row_field (row, 0)));
}

static void
defaults_clicked_cb (RflPricesWindow *self)
{
  g_autoptr(RflPriceTable) table = rfl_price_table_new_default ();

  show_table (self, table);
  adw_toast_overlay_add_toast (self->toasts,
                               adw_toast_new (_("The shipped prices are shown; save to use them")));
}

/* Public ----------------------------------------------------------------- */

RflPricesWindow *
rfl_prices_window_new (GtkWindow   *parent,
                       RflService  *service,
                       RflIdentity  identity)
{
  RflPricesWindow *self;

  g_return_val_if_fail (RFL_IS_SERVICE (service), NULL);

  self = g_object_new (RFL_TYPE_PRICES_WINDOW,
                       "transient-for", parent,
                       NULL);
  self->service = g_object_ref (service);
  self->identity = identity;
  load (self);

  return self;
}

const char *
rfl_prices_window_get_state (RflPricesWindow *self)
{
  g_return_val_if_fail (RFL_IS_PRICES_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

void
rfl_prices_window_add_row (RflPricesWindow *self,
                           const char      *model,
                           const char      *input,
                           const char      *output)
{
  g_return_if_fail (RFL_IS_PRICES_WINDOW (self));

  append_row (self, model, input, output);
  validate (self);
}

void
rfl_prices_window_set_field (RflPricesWindow *self,
                             guint            row,
                             guint            field,
                             const char      *text)
{
  GtkWidget *widget;

  g_return_if_fail (RFL_IS_PRICES_WINDOW (self));
  g_return_if_fail (field < N_FIELDS);

  widget = nth_row (self, row);
  g_return_if_fail (widget != NULL);
  gtk_editable_set_text (row_field (widget, field), text);
}

void
rfl_prices_window_remove_row (RflPricesWindow *self,
                              guint            row)
{
  GtkWidget *widget;

  g_return_if_fail (RFL_IS_PRICES_WINDOW (self));

  widget = nth_row (self, row);
  g_return_if_fail (widget != NULL);
  gtk_list_box_remove (self->price_list, widget);
  validate (self);
}

const char *
rfl_prices_window_get_problem (RflPricesWindow *self)
{
  g_return_val_if_fail (RFL_IS_PRICES_WINDOW (self), NULL);

  return self->problem;
}

static void
rfl_prices_window_dispose (GObject *object)
{
  RflPricesWindow *self = RFL_PRICES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_PRICES_WINDOW);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->service);
  g_clear_pointer (&self->problem, g_free);

  G_OBJECT_CLASS (rfl_prices_window_parent_class)->dispose (object);
}

static void
rfl_prices_window_class_init (RflPricesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_prices_window_dispose;

  signals[SIGNAL_SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/reflection/Reflection/ui/rfl-prices-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, toasts);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, price_list);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, problem_label);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, save_button);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, add_button);
  gtk_widget_class_bind_template_child (widget_class, RflPricesWindow, defaults_button);
  gtk_widget_class_bind_template_callback (widget_class, save_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, defaults_clicked_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0,
                                       "window.close", NULL);
}

static void
rfl_prices_window_init (RflPricesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}
