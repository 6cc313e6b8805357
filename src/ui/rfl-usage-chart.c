/* rfl-usage-chart.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-usage-chart.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#define MARGIN_LEFT   56.0
#define MARGIN_RIGHT  8.0
#define MARGIN_TOP    8.0
#define MARGIN_BOTTOM 24.0   /* the days */

struct _RflUsageChart
{
  GtkDrawingArea parent_instance;

  GStrv      days;        /* owned */
  GStrv      series;      /* owned */
  double    *values;      /* owned: n_days × n_series */
  guint      n_days;
  guint      n_series;
  int        hover;       /* the bar under the pointer, -1 for none */
};

G_DEFINE_FINAL_TYPE (RflUsageChart, rfl_usage_chart, GTK_TYPE_DRAWING_AREA)

/* Colours of the GNOME palette that read on light and dark alike. */
static const GdkRGBA palette[] = {
  { 0.21, 0.52, 0.89, 1.0 },   /* blue 3 */
  { 0.18, 0.76, 0.49, 1.0 },   /* green 4 */
  { 0.96, 0.76, 0.07, 1.0 },   /* yellow 4 */
  { 0.88, 0.11, 0.14, 1.0 },   /* red 3 */
  { 0.57, 0.25, 0.67, 1.0 },   /* purple 3 */
  { 0.90, 0.38, 0.00, 1.0 },   /* orange 4 */
};

void
rfl_usage_chart_get_color (guint    series,
                           GdkRGBA *color)
{
  *color = palette[series % G_N_ELEMENTS (palette)];
}

double
rfl_usage_chart_get_total (RflUsageChart *self,
                           guint          day)
{
  double total = 0;

  g_return_val_if_fail (RFL_IS_USAGE_CHART (self), 0);
  g_return_val_if_fail (day < self->n_days, 0);

  for (guint s = 0; s < self->n_series; s++)
    total += self->values[day * self->n_series + s];
  return total;
}

guint
rfl_usage_chart_get_n_days (RflUsageChart *self)
{
  g_return_val_if_fail (RFL_IS_USAGE_CHART (self), 0);

  return self->n_days;
}

/* A round number at or above @max for the top of the axis. */
static double
nice_max (double max)
{
  double magnitude, step;

  if (max <= 0)
    return 1;

  magnitude = pow (10, floor (log10 (max)));
  step = max / magnitude;
  if (step <= 1)
    return magnitude;
  if (step <= 2)
    return 2 * magnitude;
  if (step <= 5)
    return 5 * magnitude;
  return 10 * magnitude;
}

static char *
format_number (double value)
{
  if (value >= 1e6)
    return g_strdup_printf ("%.1fM", value / 1e6);
  if (value >= 1e3)
    return g_strdup_printf ("%.0fk", value / 1e3);
  return g_strdup_printf ("%.0f", value);
}

static double
bar_width (RflUsageChart *self)
{
  double plot = gtk_widget_get_width (GTK_WIDGET (self)) - MARGIN_LEFT - MARGIN_RIGHT;

  return self->n_days > 0 ? plot / self->n_days : 0;
}

static int
bar_at (RflUsageChart *self,
        double         x)
{
  double width = bar_width (self);
  int index;

  if (width <= 0 || x < MARGIN_LEFT)
    return -1;

  index = (int) ((x - MARGIN_LEFT) / width);
  return index < (int) self->n_days ? index : -1;
}

char *
rfl_usage_chart_dup_bar_text (RflUsageChart *self,
                              double         x)
{
  GString *text;
  int day;

  g_return_val_if_fail (RFL_IS_USAGE_CHART (self), NULL);

  if ((day = bar_at (self, x)) < 0)
    return NULL;

  text = g_string_new (self->days[day]);
  for (guint s = 0; s < self->n_series; s++)
    g_string_append_printf (text, "\n%s: %.0f", self->series[s],
                            self->values[day * self->n_series + s]);
  g_string_append_printf (text, "\n%s %.0f", _("Total:"),
                          rfl_usage_chart_get_total (self, day));
  return g_string_free (text, FALSE);
}

static void
draw_text (cairo_t     *cr,
           GtkWidget   *widget,
           const char  *text,
           double       x,
           double       y,
           double       align)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);
  int width, height;

  pango_layout_get_pixel_size (layout, &width, &height);
  cairo_move_to (cr, x - width * align, y - height / 2.0);
  pango_cairo_show_layout (cr, layout);
  g_object_unref (layout);
}

static void
draw_func (GtkDrawingArea *area,
           cairo_t        *cr,
           int             width,
           int             height,
           gpointer        user_data)
{
  RflUsageChart *self = RFL_USAGE_CHART (area);
  GtkWidget *widget = GTK_WIDGET (area);
  double plot_height = height - MARGIN_TOP - MARGIN_BOTTOM;
  double bar = bar_width (self);
  double max = 0, top;
  GdkRGBA fg;

  if (plot_height <= 0 || width <= MARGIN_LEFT + MARGIN_RIGHT)
    return;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);

  for (guint d = 0; d < self->n_days; d++)
    max = MAX (max, rfl_usage_chart_get_total (self, d));
  top = nice_max (max);

  /* Grid lines and their values. */
  cairo_set_line_width (cr, 1);
  for (int i = 0; i <= 4; i++)
    {
      double y = MARGIN_TOP + plot_height * (1 - i / 4.0);
      g_autofree char *label = format_number (top * i / 4.0);

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, i == 0 ? 0.4 : 0.12);
      cairo_move_to (cr, MARGIN_LEFT, floor (y) + 0.5);
      cairo_line_to (cr, width - MARGIN_RIGHT, floor (y) + 0.5);
      cairo_stroke (cr);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
      draw_text (cr, widget, label, MARGIN_LEFT - 6, y, 1.0);
    }

  /* The bars, stacked from the first series up. */
  for (guint d = 0; d < self->n_days; d++)
    {
      double y = MARGIN_TOP + plot_height;
      double x = MARGIN_LEFT + d * bar + MAX (1, bar * 0.15);
      double w = MAX (1, bar * 0.7);

      for (guint s = 0; s < self->n_series; s++)
        {
          double h = plot_height * self->values[d * self->n_series + s] / top;
          const GdkRGBA *c = &palette[s % G_N_ELEMENTS (palette)];

          cairo_set_source_rgba (cr, c->red, c->green, c->blue,
                                 self->hover < 0 || self->hover == (int) d ? 1 : 0.55);
          cairo_rectangle (cr, x, y - h, w, h);
          cairo_fill (cr);
          y -= h;
        }

      /* The first day of the period, then every seventh. */
      if (d % 7 == 0 && self->days[d] != NULL && strlen (self->days[d]) >= 10)
        {
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
          draw_text (cr, widget, self->days[d] + 5, d == 0 ? x : x + w / 2,
                     MARGIN_TOP + plot_height + 10, d == 0 ? 0.0 : 0.5);
        }
    }
}

static gboolean
query_tooltip_cb (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard,
                  GtkTooltip *tooltip,
                  gpointer    user_data)
{
  g_autofree char *text = rfl_usage_chart_dup_bar_text (RFL_USAGE_CHART (widget), x);

  if (text == NULL)
    return FALSE;

  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *motion,
           double                    x,
           double                    y,
           RflUsageChart            *self)
{
  int hover = bar_at (self, x);

  if (hover != self->hover)
    {
      self->hover = hover;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
leave_cb (GtkEventControllerMotion *motion,
          RflUsageChart            *self)
{
  self->hover = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
rfl_usage_chart_set_data (RflUsageChart      *self,
                          const char * const *days,
                          const char * const *series,
                          const double       *values)
{
  g_return_if_fail (RFL_IS_USAGE_CHART (self));

  g_strfreev (self->days);
  g_strfreev (self->series);
  g_free (self->values);
  self->days = g_strdupv ((char **) days);
  self->series = g_strdupv ((char **) series);
  self->n_days = days != NULL ? g_strv_length (self->days) : 0;
  self->n_series = series != NULL ? g_strv_length (self->series) : 0;
  self->values = g_memdup2 (values, sizeof (double) * self->n_days * self->n_series);
  self->hover = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

GtkWidget *
rfl_usage_chart_new (void)
{
  return g_object_new (RFL_TYPE_USAGE_CHART, NULL);
}

static void
rfl_usage_chart_finalize (GObject *object)
{
  RflUsageChart *self = RFL_USAGE_CHART (object);

  g_strfreev (self->days);
  g_strfreev (self->series);
  g_free (self->values);

  G_OBJECT_CLASS (rfl_usage_chart_parent_class)->finalize (object);
}

static void
rfl_usage_chart_class_init (RflUsageChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = rfl_usage_chart_finalize;
  gtk_widget_class_set_css_name (widget_class, "usagechart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
rfl_usage_chart_init (RflUsageChart *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->hover = -1;
  gtk_widget_set_size_request (GTK_WIDGET (self), 320, 200);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (query_tooltip_cb), NULL);
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self), draw_func, NULL, NULL);
}
