/* rfl-price-table.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Prices are integers in micro-dollars (millionths of a US dollar) per
 * million tokens, so that arithmetic on them is exact: $2.50 per million
 * tokens is 2500000. */
#define RFL_PRICE_MAX_MICRO_USD G_GUINT64_CONSTANT (1000000000000)   /* $1,000,000 */

/* One entry: the price of the models whose name matches @pattern, either
 * exactly or as a glob (`*` and `?`, g_pattern_match_simple()). */
typedef struct
{
  const char *pattern;
  guint64     input_micro_usd;    /* per million input (prompt) tokens */
  guint64     output_micro_usd;   /* per million output (answer) tokens */
} RflPrice;

/* The cost of @tokens_in and @tokens_out at @price, in micro-dollars,
 * computed exactly and rounded half up once; G_MAXUINT64 on overflow.
 * Cost is linear: summing the tokens of many requests of a model first and
 * pricing the sums rounds once instead of once per request. */
guint64 rfl_price_estimate_cost (const RflPrice *price,
                                 guint64         tokens_in,
                                 guint64         tokens_out);

/* Micro-dollars as a decimal number of dollars with no trailing zeros:
 * 2500000 → "2.5", 150000 → "0.15", 10000000 → "10", 1 → "0.000001". */
char   *rfl_price_format_dollars (guint64 micro_usd);

/* Parses a number of dollars with at most six decimal places, such as
 * "2.50", exactly. A number too large to hold gives G_MAXUINT64. */
gboolean rfl_price_parse_dollars (const char *text,
                                  guint64    *micro_usd);

/* The prices of models, as the administrator edits them:
 *
 *   { "models": [ { "model": "gpt-4o", "input": 2.5, "output": 10 },
 *                 { "model": "claude-sonnet-4*", "input": "3.00", "output": 15 } ] }
 *
 * "input" and "output" are dollars per million tokens, given as a JSON
 * number or a decimal string, with at most six decimal places. A model is
 * priced by the entry whose pattern equals its name, or else by the first
 * glob entry that matches it, in the order of the list.
 *
 * A table is immutable once made and may be shared between threads; to
 * change prices, parse the edited JSON into a new table and swap it in. */
typedef struct _RflPriceTable RflPriceTable;

/* The table shipped with Reflection (resources/prices/default-prices.json). */
RflPriceTable  *rfl_price_table_new_default   (void);
/* Fails with RFL_ERROR_INVALID_INPUT and a translated message that names
 * the bad entry (1-based) and what is wrong with it. */
RflPriceTable  *rfl_price_table_new_from_json (const char     *json,
                                               gssize          length,
                                               GError        **error);
RflPriceTable  *rfl_price_table_ref           (RflPriceTable  *self);
void            rfl_price_table_unref         (RflPriceTable  *self);

/* The table as JSON for the administrator to edit; parsing it gives the
 * same table. */
char           *rfl_price_table_to_json       (RflPriceTable  *self);

guint           rfl_price_table_get_n_prices  (RflPriceTable  *self);
/* Borrowed; valid as long as the table. */
const RflPrice *rfl_price_table_get_price     (RflPriceTable  *self,
                                               guint           index);
/* The price of @model, or NULL when no entry matches it. */
const RflPrice *rfl_price_table_lookup        (RflPriceTable  *self,
                                               const char     *model);
/* The estimated cost of a request to @model in micro-dollars; FALSE (and
 * 0) when the table has no price for @model. */
gboolean        rfl_price_table_estimate_cost (RflPriceTable  *self,
                                               const char     *model,
                                               guint64         tokens_in,
                                               guint64         tokens_out,
                                               guint64        *cost_micro_usd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflPriceTable, rfl_price_table_unref)

G_END_DECLS
