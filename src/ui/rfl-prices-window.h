/* rfl-prices-window.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <adwaita.h>

#include "service/rfl-service.h"

G_BEGIN_DECLS

/* The administrator's editor of the price table calls are metered at:
 * one row per model or pattern with its input and output price in
 * dollars per million tokens. It loads the table through the service,
 * checks every row as it is typed, and saves the whole table at once;
 * "saved" is emitted after a save succeeded, just before it closes. */

#define RFL_TYPE_PRICES_WINDOW (rfl_prices_window_get_type ())
G_DECLARE_FINAL_TYPE (RflPricesWindow, rfl_prices_window, RFL, PRICES_WINDOW, AdwWindow)

RflPricesWindow *rfl_prices_window_new        (GtkWindow       *parent,
                                               RflService      *service,
                                               RflIdentity      identity);

/* What the window shows: "loading", "error" or "editor". */
const char      *rfl_prices_window_get_state  (RflPricesWindow *self);
guint            rfl_prices_window_get_n_rows (RflPricesWindow *self);
/* Adds a row as if typed; any field may be NULL (left empty). */
void             rfl_prices_window_add_row    (RflPricesWindow *self,
                                               const char      *model,
                                               const char      *input,
                                               const char      *output);
/* Replaces the text of a field (0 model, 1 input, 2 output) of row @row. */
void             rfl_prices_window_set_field  (RflPricesWindow *self,
                                               guint            row,
                                               guint            field,
                                               const char      *text);
void             rfl_prices_window_remove_row (RflPricesWindow *self,
                                               guint            row);
/* The first problem of the rows as shown, or NULL when they can be saved. */
const char      *rfl_prices_window_get_problem (RflPricesWindow *self);
/* Presses Save. */
void             rfl_prices_window_save       (RflPricesWindow *self);

G_END_DECLS
