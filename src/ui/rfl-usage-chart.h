/* rfl-usage-chart.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RFL_TYPE_USAGE_CHART (rfl_usage_chart_get_type ())
G_DECLARE_FINAL_TYPE (RflUsageChart, rfl_usage_chart, RFL, USAGE_CHART, GtkDrawingArea)

/* A GtkDrawingArea with a bar chart drawn with cairo: one bar per day, stacked by series (the
 * models), and the values of the bar under the pointer as a
 * tooltip. */
GtkWidget *rfl_usage_chart_new         (void);
/* @values holds n_days × n_series numbers, day by day. */
void       rfl_usage_chart_set_data    (RflUsageChart      *self,
                                        const char * const *days,
                                        const char * const *series,
                                        const double       *values);
guint      rfl_usage_chart_get_n_days  (RflUsageChart      *self);
/* The total of @day over every series. */
double     rfl_usage_chart_get_total   (RflUsageChart      *self,
                                        guint               day);
/* The colour of a series, for a legend beside the chart. */
void       rfl_usage_chart_get_color   (guint               series,
                                        GdkRGBA            *color);
/* What the bar at @x (widget coordinates) shows, or NULL. */
char      *rfl_usage_chart_dup_bar_text (RflUsageChart     *self,
                                         double             x);

G_END_DECLS
