/* test-calculator.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "service/rfl-calculator.h"

static void
assert_value (const char *expression,
              double      expected)
{
  g_autoptr(GError) error = NULL;
  double value = NAN;

  if (!rfl_calculator_evaluate (expression, &value, &error))
    g_error ("“%s” failed: %s", expression, error->message);

  if (fabs (value - expected) > 1e-9 * MAX (1.0, fabs (expected)))
    g_error ("“%s” gave %.17g, expected %.17g", expression, value, expected);
}

static void
assert_error (const char *expression,
              const char *fragment)
{
  g_autoptr(GError) error = NULL;
  double value = 12345;

  g_assert_false (rfl_calculator_evaluate (expression, &value, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_assert_cmpfloat (value, ==, 12345);
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s”: the error “%s” does not mention “%s”",
             expression != NULL ? expression : "(null)", error->message,
             fragment);
}

static void
test_arithmetic (void)
{
  assert_value ("1 + 2", 3);
  assert_value ("2 + 3 * 4", 14);
  assert_value ("(2 + 3) * 4", 20);
  assert_value ("10 - 4 - 3", 3);
  assert_value ("100 / 10 / 5", 2);
  assert_value ("7 % 3", 1);
  assert_value ("-7 % 3", -1);
  assert_value ("7.5 % 2", 1.5);
  assert_value ("1.5e3 + .5", 1500.5);
  assert_value ("2E-2", 0.02);
  assert_value ("  42  ", 42);
  assert_value ("6 × 7", 42);
  assert_value ("84 ÷ 2", 42);
  assert_value ("50 − 8", 42);
}

static void
test_precedence (void)
{
  assert_value ("2 ^ 10", 1024);
  assert_value ("2 ^ 3 ^ 2", 512);
  assert_value ("-2 ^ 2", -4);
  assert_value ("(-2) ^ 2", 4);
  assert_value ("2 ^ -1", 0.5);
  assert_value ("--3", 3);
  assert_value ("-+-3", 3);
  assert_value ("2 * -3", -6);
  assert_value ("2 ^ 0.5", sqrt (2));
  assert_value ("1 - -1", 2);
  assert_value ("((((1))))", 1);
}

static void
test_functions (void)
{
  assert_value ("sqrt(16)", 4);
  assert_value ("abs(-3.5)", 3.5);
  assert_value ("ln(e)", 1);
  assert_value ("log10(1000)", 3);
  assert_value ("sin(0)", 0);
  assert_value ("cos(pi)", -1);
  assert_value ("tan(pi / 4)", 1);
  assert_value ("min(3, 1, 2)", 1);
  assert_value ("max(3, 1, 2)", 3);
  assert_value ("max(-1)", -1);
  assert_value ("SQRT(4) + PI - pi", 2);
  assert_value ("sqrt(max(9, 4)) * 2", 6);
  assert_value ("2 * pi", 2 * G_PI);
}

static void
test_errors (void)
{
  assert_error ("1 / 0", "Division by zero at position 3");
  assert_error ("5 % 0", "Division by zero");
  assert_error ("0 ^ -1", "Division by zero");
  assert_error ("sqrt(-1)", "square root");
  assert_error ("ln(0)", "logarithm");
  assert_error ("log10(-5)", "logarithm");
  assert_error ("(-8) ^ 0.5", "fractional exponent");
  assert_error ("", "empty");
  assert_error ("   ", "empty");
  assert_error (NULL, "not valid text");
  assert_error ("\xff", "not valid text");
  assert_error ("1 +", "ends too early");
  assert_error ("(1 + 2", "never closed");
  assert_error ("1 + 2)", "Unexpected “)” at position 6");
  assert_error ("2 $ 3", "Unexpected “$” at position 3");
  assert_error ("foo(1)", "Unknown function “foo”");
  assert_error ("x + 1", "Unknown name “x” at position 1");
  assert_error ("sqrt 4", "must be followed by “(”");
  assert_error ("sqrt()", "needs an argument");
  assert_error ("sqrt(1, 2)", "one argument");
  assert_error ("max(1,)", "Unexpected “)”");
  assert_error ("10 ^ 400", "not a finite number");
  assert_error ("1e999", "not a finite number");
  assert_error (".", "incomplete");
  assert_error ("2pi", "Unexpected “p”");
  assert_error ("system(\"rm -rf /\")", "Unknown function “system”");
}

static void
test_limits (void)
{
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) long_sum = g_string_new ("1");

  for (guint i = 0; i < 200; i++)
    g_string_append_c (deep, '(');
  g_string_append_c (deep, '1');
  for (guint i = 0; i < 200; i++)
    g_string_append_c (deep, ')');
  assert_error (deep->str, "nested too deeply");

  g_string_truncate (deep, 0);
  for (guint i = 0; i < 200; i++)
    g_string_append_c (deep, '-');
  g_string_append_c (deep, '1');
  assert_error (deep->str, "nested too deeply");

  while (long_sum->len <= RFL_CALCULATOR_MAX_LENGTH)
    g_string_append (long_sum, "+1");
  assert_error (long_sum->str, "too long");

  /* Just below the limits works. */
  g_string_truncate (deep, 0);
  for (guint i = 0; i < 30; i++)
    g_string_append_c (deep, '(');
  g_string_append_c (deep, '1');
  for (guint i = 0; i < 30; i++)
    g_string_append_c (deep, ')');
  assert_value (deep->str, 1);
}

static void
test_format (void)
{
  static const struct { double value; const char *text; } cases[] = {
    { 0, "0" },
    { -0.0, "0" },
    { 42, "42" },
    { -7, "-7" },
    { 1e14, "100000000000000" },
    { 0.5, "0.5" },
    { 1.0 / 3, "0.333333333333" },
    { 1e20, "1e+20" },
    { -2.25, "-2.25" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = rfl_calculator_format (cases[i].value);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/calculator/arithmetic", test_arithmetic);
  g_test_add_func ("/rfl/calculator/precedence", test_precedence);
  g_test_add_func ("/rfl/calculator/functions", test_functions);
  g_test_add_func ("/rfl/calculator/errors", test_errors);
  g_test_add_func ("/rfl/calculator/limits", test_limits);
  g_test_add_func ("/rfl/calculator/format", test_format);

  return g_test_run ();
}
