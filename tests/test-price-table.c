/* test-price-table.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "core/rfl-error.h"
#include "core/rfl-price-table.h"

#define NOT_A_TABLE "The price table must be a JSON object with a list of entries in “models”"

static RflPriceTable *
parse_ok (const char *json)
{
  g_autoptr(GError) error = NULL;
  RflPriceTable *table = rfl_price_table_new_from_json (json, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (table);
  return table;
}

static void
assert_price (RflPriceTable *table,
              const char    *model,
              const char    *pattern,
              guint64        input,
              guint64        output)
{
  const RflPrice *price = rfl_price_table_lookup (table, model);

  g_assert_nonnull (price);
  g_assert_cmpstr (price->pattern, ==, pattern);
  g_assert_cmpuint (price->input_micro_usd, ==, input);
  g_assert_cmpuint (price->output_micro_usd, ==, output);
}

static void
test_default (void)
{
  g_autoptr(RflPriceTable) table = rfl_price_table_new_default ();
  guint64 cost = 1;

  g_assert_cmpuint (rfl_price_table_get_n_prices (table), >=, 10);

  assert_price (table, "gpt-4o", "gpt-4o", 2500000, 10000000);
  assert_price (table, "gpt-4o-mini", "gpt-4o-mini", 150000, 600000);
  assert_price (table, "gpt-4o-2024-08-06", "gpt-4o-20*", 2500000, 10000000);
  assert_price (table, "gpt-4o-mini-2024-07-18", "gpt-4o-mini-20*", 150000, 600000);
  assert_price (table, "claude-sonnet-4-20250514", "claude-sonnet-4*", 3000000, 15000000);
  assert_price (table, "claude-3-5-haiku-20241022", "claude-3-5-haiku-*", 800000, 4000000);

  /* A local model is not in the table: no estimate, not a zero one. */
  g_assert_null (rfl_price_table_lookup (table, "llama3.2:3b"));
  g_assert_false (rfl_price_table_estimate_cost (table, "llama3.2:3b", 1000, 1000, &cost));
  g_assert_cmpuint (cost, ==, 0);
  g_assert_null (rfl_price_table_lookup (table, NULL));

  /* 1,000 tokens in and 500 out of gpt-4o: $0.0025 + $0.005. */
  g_assert_true (rfl_price_table_estimate_cost (table, "gpt-4o", 1000, 500, &cost));
  g_assert_cmpuint (cost, ==, 7500);
}

static void
test_cost (void)
{
  RflPrice price = { "m", 2500000, 10000000 };   /* $2.50 in, $10 out */
  RflPrice cheap = { "c", 150000, 600000 };      /* $0.15 in, $0.60 out */
  RflPrice dear = { "d", RFL_PRICE_MAX_MICRO_USD, RFL_PRICE_MAX_MICRO_USD };
  guint64 sum = 0;

  /* 1,234,567 × 2.5 + 89 × 10 = 3,086,417.5 + 890 micro-dollars: the half
   * rounds up, once. */
  g_assert_cmpuint (rfl_price_estimate_cost (&price, 1234567, 89), ==, 3087308);
  g_assert_cmpuint (rfl_price_estimate_cost (&price, 1, 0), ==, 3);   /* 2.5 */
  g_assert_cmpuint (rfl_price_estimate_cost (&price, 0, 0), ==, 0);
  g_assert_cmpuint (rfl_price_estimate_cost (&price, 1000000, 1000000), ==, 12500000);

  g_assert_cmpuint (rfl_price_estimate_cost (&cheap, 1, 0), ==, 0);   /* 0.15 */
  g_assert_cmpuint (rfl_price_estimate_cost (&cheap, 3, 0), ==, 0);   /* 0.45 */
  g_assert_cmpuint (rfl_price_estimate_cost (&cheap, 4, 0), ==, 1);   /* 0.6 */
  g_assert_cmpuint (rfl_price_estimate_cost (&cheap, 1, 1), ==, 1);   /* 0.75 */

  /* Summing tokens first prices them exactly: a million one-token
   * requests of 0.15 micro-dollars cost $0.15, not 0. */
  for (guint i = 0; i < 1000; i++)
    sum += rfl_price_estimate_cost (&cheap, 1, 0);
  g_assert_cmpuint (sum, ==, 0);
  g_assert_cmpuint (rfl_price_estimate_cost (&cheap, 1000000, 0), ==, 150000);

  /* No float: values where a double loses digits stay exact. */
  g_assert_cmpuint (rfl_price_estimate_cost (&dear, G_GUINT64_CONSTANT (18000000), 0), ==,
                    G_GUINT64_CONSTANT (18000000000000));
  g_assert_cmpuint (rfl_price_estimate_cost (&(RflPrice) { "x", 1, 0 },
                                             G_GUINT64_CONSTANT (9007199254740993), 0), ==,
                    G_GUINT64_CONSTANT (9007199255));
  g_assert_cmpuint (rfl_price_estimate_cost (&(RflPrice) { "x", 3, 7 },
                                             G_GUINT64_CONSTANT (123456789123), 999999), ==,
                    G_GUINT64_CONSTANT (370377));   /* 370,377.367362 */
  g_assert_cmpuint (rfl_price_estimate_cost (&dear, G_MAXUINT64, 0), ==, G_MAXUINT64);
  g_assert_cmpuint (rfl_price_estimate_cost (&dear, G_MAXUINT64 / 2, G_MAXUINT64 / 2), ==,
                    G_MAXUINT64);
}

static void
test_dollars (void)
{
  struct { guint64 micro; const char *text; } cases[] = {
    { 0, "0" },
    { 1, "0.000001" },
    { 150000, "0.15" },
    { 2500000, "2.5" },
    { 10000000, "10" },
    { 1234567, "1.234567" },
    { RFL_PRICE_MAX_MICRO_USD, "1000000" },
  };
  const char *bad[] = { "", "1.", ".5", "1e3", "1,5", " 1", "1 ", "-1", "0.1234567",
                        "+1", "0x10", "1.2.3", "abc" };
  guint64 micro = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = rfl_price_format_dollars (cases[i].micro);

      g_assert_cmpstr (text, ==, cases[i].text);
      g_assert_true (rfl_price_parse_dollars (text, &micro));
      g_assert_cmpuint (micro, ==, cases[i].micro);
    }

  g_assert_true (rfl_price_parse_dollars ("2.50", &micro));
  g_assert_cmpuint (micro, ==, 2500000);
  g_assert_true (rfl_price_parse_dollars ("007.000100", &micro));
  g_assert_cmpuint (micro, ==, 7000100);
  g_assert_true (rfl_price_parse_dollars ("99999999999999999999", &micro));
  g_assert_cmpuint (micro, ==, G_MAXUINT64);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      micro = 42;
      g_assert_false (rfl_price_parse_dollars (bad[i], &micro));
      g_assert_cmpuint (micro, ==, 42);
    }
  g_assert_false (rfl_price_parse_dollars (NULL, &micro));
}

static void
test_number_forms (void)
{
  g_autoptr(RflPriceTable) table = parse_ok (
    "{\"models\": ["
    " {\"model\": \"a\", \"input\": 0.15, \"output\": 10},"
    " {\"model\": \"b\", \"input\": \"0.15\", \"output\": \"10.00\"},"
    " {\"model\": \"c\", \"input\": 1.5e-1, \"output\": 1e1},"
    " {\"model\": \"d\", \"input\": 0, \"output\": 0.000001},"
    " {\"model\": \"e\", \"input\": 1000000, \"output\": 123456.654321}"
    "]}");

  assert_price (table, "a", "a", 150000, 10000000);
  assert_price (table, "b", "b", 150000, 10000000);
  assert_price (table, "c", "c", 150000, 10000000);
  assert_price (table, "d", "d", 0, 1);
  assert_price (table, "e", "e", RFL_PRICE_MAX_MICRO_USD, 123456654321);
}

static void
test_precedence (void)
{
  g_autoptr(RflPriceTable) table = parse_ok (
    "{\"models\": ["
    " {\"model\": \"gpt-*\", \"input\": 1, \"output\": 1},"
    " {\"model\": \"gpt-4o*\", \"input\": 2, \"output\": 2},"
    " {\"model\": \"gpt-4o\", \"input\": 3, \"output\": 3},"
    " {\"model\": \"qwen?\", \"input\": 4, \"output\": 4}"
    "]}");

  /* An exact name wins over any glob; among globs the first listed. */
  assert_price (table, "gpt-4o", "gpt-4o", 3000000, 3000000);
  assert_price (table, "gpt-4o-mini", "gpt-*", 1000000, 1000000);
  assert_price (table, "qwen3", "qwen?", 4000000, 4000000);
  g_assert_null (rfl_price_table_lookup (table, "qwen32"));
  g_assert_null (rfl_price_table_lookup (table, "GPT-4o"));

  g_assert_cmpuint (rfl_price_table_get_n_prices (table), ==, 4);
  g_assert_cmpstr (rfl_price_table_get_price (table, 1)->pattern, ==, "gpt-4o*");
}

static void
test_round_trip (void)
{
  g_autoptr(RflPriceTable) table = rfl_price_table_new_default ();
  g_autoptr(RflPriceTable) again = NULL;
  g_autoptr(RflPriceTable) empty = NULL;
  g_autoptr(RflPriceTable) odd = NULL;
  g_autoptr(RflPriceTable) odd_again = NULL;
  g_autofree char *json = rfl_price_table_to_json (table);
  g_autofree char *json_again = NULL;
  g_autofree char *empty_json = NULL;
  g_autofree char *odd_json = NULL;

  g_assert_nonnull (strstr (json, "\"input\": 0.15,"));
  g_assert_null (strstr (json, "0.1499"));

  again = parse_ok (json);
  json_again = rfl_price_table_to_json (again);
  g_assert_cmpstr (json, ==, json_again);
  g_assert_cmpuint (rfl_price_table_get_n_prices (again), ==,
                    rfl_price_table_get_n_prices (table));
  for (guint i = 0; i < rfl_price_table_get_n_prices (table); i++)
    {
      const RflPrice *a = rfl_price_table_get_price (table, i);
      const RflPrice *b = rfl_price_table_get_price (again, i);

      g_assert_cmpstr (a->pattern, ==, b->pattern);
      g_assert_cmpuint (a->input_micro_usd, ==, b->input_micro_usd);
      g_assert_cmpuint (a->output_micro_usd, ==, b->output_micro_usd);
    }

  empty = parse_ok ("{\"models\": []}");
  empty_json = rfl_price_table_to_json (empty);
  g_clear_pointer (&empty, rfl_price_table_unref);
  empty = parse_ok (empty_json);
  g_assert_cmpuint (rfl_price_table_get_n_prices (empty), ==, 0);

  /* Names that need escaping survive. */
  odd = parse_ok ("{\"models\": [{\"model\": \"a \\\"quoted\\\" \\\\ name\\n\", "
                  "\"input\": 0.000001, \"output\": 999999.999999}]}");
  odd_json = rfl_price_table_to_json (odd);
  odd_again = parse_ok (odd_json);
  assert_price (odd_again, "a \"quoted\" \\ name\n", "a \"quoted\" \\ name\n", 1,
                RFL_PRICE_MAX_MICRO_USD - 1);
}

static void
test_parse_errors (void)
{
  struct { const char *json; const char *message; } cases[] = {
    { "{\"models\": [", "The price table is not valid JSON: " },
    { "[1, 2]", NOT_A_TABLE },
    { "{\"model\": []}", NOT_A_TABLE },
    { "{\"models\": {}}", NOT_A_TABLE },
    { "{\"models\": [], \"currency\": \"EUR\"}",
      "The price table has an unknown field “currency”; it has only “models”" },
    { "{\"models\": [{\"model\": \"a\", \"input\": 1, \"output\": 1}, 5]}",
      "Entry 2 of the price table is not an object with “model”, “input” and “output”" },
    { "{\"models\": [{\"input\": 1, \"output\": 1}]}",
      "Entry 1 of the price table needs the model’s name as text in “model”" },
    { "{\"models\": [{\"model\": \"\", \"input\": 1, \"output\": 1}]}",
      "Entry 1 of the price table needs the model’s name as text in “model”" },
    { "{\"models\": [{\"model\": 12, \"input\": 1, \"output\": 1}]}",
      "Entry 1 of the price table needs the model’s name as text in “model”" },
    { "{\"models\": [{\"model\": \"a\", \"input\": 1, \"output\": 1},"
      " {\"model\": \"b\", \"input\": 1, \"output\": 1},"
      " {\"model\": \"gpt-4o\", \"inptu\": 1, \"output\": 1}]}",
      "Entry 3 (“gpt-4o”) of the price table has an unknown field “inptu”; an entry has "
      "only “model”, “input” and “output”" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table has no “output” price" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": \"abc\", \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “input” price “abc” is not a number of "
      "dollars with at most six decimal places" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": 1, \"output\": 0.1234567}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “output” price “0.1234567” is not a "
      "number of dollars with at most six decimal places" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": \"0.1234567\", \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “input” price “0.1234567” is not a "
      "number of dollars with at most six decimal places" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": true, \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “input” price “true” is not a number of "
      "dollars with at most six decimal places" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": null, \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “input” price “null” is not a number of "
      "dollars with at most six decimal places" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": -2.5, \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table has a negative “input” price" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": -3, \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table has a negative “input” price" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": \"-2.50\", \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table has a negative “input” price" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": 1, \"output\": 1000000.000001}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “output” price is above the largest "
      "accepted price of $1,000,000 per million tokens" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": 1, \"output\": 1e300}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “output” price is above the largest "
      "accepted price of $1,000,000 per million tokens" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": 99999999999, \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “input” price is above the largest "
      "accepted price of $1,000,000 per million tokens" },
    { "{\"models\": [{\"model\": \"gpt-4o\", \"input\": \"123456789012345\", \"output\": 1}]}",
      "Entry 1 (“gpt-4o”) of the price table: the “input” price is above the largest "
      "accepted price of $1,000,000 per million tokens" },
    { "{\"models\": [{\"model\": \"a*\", \"input\": 1, \"output\": 1},"
      " {\"model\": \"b\", \"input\": 1, \"output\": 1},"
      " {\"model\": \"a*\", \"input\": 2, \"output\": 2}]}",
      "Entries 1 and 3 of the price table both price “a*”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RflPriceTable) table = NULL;

      table = rfl_price_table_new_from_json (cases[i].json, -1, &error);
      g_assert_null (table);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      if (!g_str_has_prefix (error->message, cases[i].message))
        g_error ("case %u: “%s” does not start with “%s”", i, error->message,
                 cases[i].message);
    }

  /* Too long a name, and a length that cuts the text. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *name = g_strnfill (201, 'x');
    g_autofree char *json = g_strdup_printf ("{\"models\": [{\"model\": \"%s\", "
                                             "\"input\": 1, \"output\": 1}]}", name);
    const char *valid = "{\"models\": []} trailing";
    g_autoptr(RflPriceTable) table = NULL;

    g_assert_null (rfl_price_table_new_from_json (json, -1, &error));
    g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
    g_assert_cmpstr (error->message, ==,
                     "Entry 1 of the price table has a model name longer than 200 characters");

    table = rfl_price_table_new_from_json (valid, 14, NULL);
    g_assert_nonnull (table);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/price-table/default", test_default);
  g_test_add_func ("/rfl/price-table/cost", test_cost);
  g_test_add_func ("/rfl/price-table/dollars", test_dollars);
  g_test_add_func ("/rfl/price-table/number-forms", test_number_forms);
  g_test_add_func ("/rfl/price-table/precedence", test_precedence);
  g_test_add_func ("/rfl/price-table/round-trip", test_round_trip);
  g_test_add_func ("/rfl/price-table/parse-errors", test_parse_errors);

  return g_test_run ();
}
