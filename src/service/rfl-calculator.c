/* rfl-calculator.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-calculator.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rfl-error.h"

typedef struct
{
  const char  *start;
  const char  *p;
  guint        depth;
  GError     **error;
} Parser;

typedef double (*UnaryFunc) (double x);

static const struct
{
  const char *name;
  UnaryFunc   func;
} unary_functions[] = {
  { "sqrt", sqrt },
  { "abs", fabs },
  { "ln", log },
  { "log10", log10 },
  { "sin", sin },
  { "cos", cos },
  { "tan", tan },
};

static gboolean parse_expression (Parser *parser,
                                  double *out);
static gboolean parse_unary      (Parser *parser,
                                  double *out);

/* The 1-based character position of @at, for messages. */
static long
position_of (Parser     *parser,
             const char *at)
{
  return g_utf8_pointer_to_offset (parser->start, at) + 1;
}

static gboolean
fail_at (Parser     *parser,
         const char *at,
         const char *message)
{
  g_set_error (parser->error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               /* Translators: "%s at position %ld": what is wrong with the
                * expression, and where. */
               _("%s at position %ld"), message, position_of (parser, at));
  return FALSE;
}

static void
skip_blanks (Parser *parser)
{
  while (*parser->p != '\0' && g_ascii_isspace (*parser->p))
    parser->p++;
}

/* Reads the operator at the current position, mapping "×", "÷" and "−" to
 * their ASCII forms; returns 0 at the end. Does not advance. */
static char
peek_operator (Parser *parser,
               gsize  *length)
{
  static const struct { const char *utf8; char op; } aliases[] = {
    { "\xc3\x97", '*' },       /* × */
    { "\xc3\xb7", '/' },       /* ÷ */
    { "\xe2\x88\x92", '-' },   /* − */
  };

  skip_blanks (parser);
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      gsize n = strlen (aliases[i].utf8);

      if (strncmp (parser->p, aliases[i].utf8, n) == 0)
        {
          *length = n;
          return aliases[i].op;
        }
    }

  *length = 1;
  return *parser->p;
}

static gboolean
accept_operator (Parser *parser,
                 char    op)
{
  gsize length;

  if (peek_operator (parser, &length) != op)
    return FALSE;

  parser->p += length;
  return TRUE;
}

static gboolean
fail_unexpected (Parser *parser)
{
  g_autofree char *what = NULL;
  gunichar c;

  skip_blanks (parser);
  if (*parser->p == '\0')
    return fail_at (parser, parser->p, _("The expression ends too early"));

  c = g_utf8_get_char_validated (parser->p, -1);
  if (c == (gunichar) -1 || c == (gunichar) -2)
    return fail_at (parser, parser->p, _("Unexpected byte"));

  what = g_ucs4_to_utf8 (&c, 1, NULL, NULL, NULL);
  g_set_error (parser->error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               _("Unexpected “%s” at position %ld"), what,
               position_of (parser, parser->p));
  return FALSE;
}

static gboolean
check_finite (Parser     *parser,
              const char *at,
              double      value)
{
  if (isfinite (value))
    return TRUE;

  return fail_at (parser, at, _("The result is not a finite number"));
}

static gboolean
parse_number (Parser *parser,
              double *out)
{
  const char *begin = parser->p;
  const char *q = parser->p;
  g_autofree char *text = NULL;
  char *end = NULL;

  while (g_ascii_isdigit (*q))
    q++;
  if (*q == '.')
    {
      q++;
      while (g_ascii_isdigit (*q))
        q++;
    }
  if (q == begin + 1 && *begin == '.')
    return fail_at (parser, begin, _("A number is incomplete"));

  if (*q == 'e' || *q == 'E')
    {
      const char *exp = q + 1;

      if (*exp == '+' || *exp == '-')
        exp++;
      if (g_ascii_isdigit (*exp))
        {
          q = exp;
          while (g_ascii_isdigit (*q))
            q++;
        }
    }

  text = g_strndup (begin, q - begin);
  *out = g_ascii_strtod (text, &end);
  if (end == NULL || *end != '\0')
    return fail_at (parser, begin, _("A number is not valid"));

  parser->p = q;
  return check_finite (parser, begin, *out);
}

/* Arguments of a function call, after its "(": one or more expressions
 * separated by commas, then ")". */
static GArray *
parse_arguments (Parser *parser)
{
  g_autoptr(GArray) args = g_array_new (FALSE, FALSE, sizeof (double));

  skip_blanks (parser);
  if (*parser->p == ')')
    {
      fail_at (parser, parser->p, _("A function needs an argument"));
      return NULL;
    }

  for (;;)
    {
      double value;

      if (!parse_expression (parser, &value))
        return NULL;
      g_array_append_val (args, value);

      if (accept_operator (parser, ','))
        continue;
      if (accept_operator (parser, ')'))
        return g_steal_pointer (&args);

      fail_unexpected (parser);
      return NULL;
    }
}

static gboolean
apply_function (Parser     *parser,
                const char *name,
                const char *at,
                GArray     *args,
                double     *out)
{
  const double *v = (const double *) args->data;

  if (g_ascii_strcasecmp (name, "min") == 0
      || g_ascii_strcasecmp (name, "max") == 0)
    {
      gboolean is_min = g_ascii_tolower (name[1]) == 'i';

      *out = v[0];
      for (guint i = 1; i < args->len; i++)
        *out = is_min ? MIN (*out, v[i]) : MAX (*out, v[i]);
      return TRUE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (unary_functions); i++)
    {
      if (g_ascii_strcasecmp (name, unary_functions[i].name) != 0)
        continue;

      if (args->len != 1)
        {
          g_set_error (parser->error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("%s takes one argument (position %ld)"),
                       unary_functions[i].name, position_of (parser, at));
          return FALSE;
        }

      if (unary_functions[i].func == sqrt && v[0] < 0)
        return fail_at (parser, at,
                        _("The square root of a negative number is not "
                          "defined"));
      if ((unary_functions[i].func == log || unary_functions[i].func == log10)
          && v[0] <= 0)
        return fail_at (parser, at,
                        _("The logarithm is defined only for positive "
                          "numbers"));

      *out = unary_functions[i].func (v[0]);
      return check_finite (parser, at, *out);
    }

  g_set_error (parser->error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               _("Unknown function “%s” at position %ld"), name,
               position_of (parser, at));
  return FALSE;
}

static gboolean
is_function_name (const char *name)
{
  if (g_ascii_strcasecmp (name, "min") == 0
      || g_ascii_strcasecmp (name, "max") == 0)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (unary_functions); i++)
    if (g_ascii_strcasecmp (name, unary_functions[i].name) == 0)
      return TRUE;

  return FALSE;
}

static gboolean
parse_name (Parser *parser,
            double *out)
{
  const char *begin = parser->p;
  g_autofree char *name = NULL;
  g_autoptr(GArray) args = NULL;

  while (g_ascii_isalnum (*parser->p) || *parser->p == '_')
    parser->p++;
  name = g_strndup (begin, parser->p - begin);

  if (!accept_operator (parser, '('))
    {
      if (g_ascii_strcasecmp (name, "pi") == 0)
        *out = G_PI;
      else if (g_ascii_strcasecmp (name, "e") == 0)
        *out = G_E;
      else if (is_function_name (name))
        return fail_at (parser, parser->p,
                        _("A function name must be followed by “(”"));
      else
        {
          g_set_error (parser->error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("Unknown name “%s” at position %ld"), name,
                       position_of (parser, begin));
          return FALSE;
        }
      return TRUE;
    }

  if (!is_function_name (name))
    {
      g_set_error (parser->error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Unknown function “%s” at position %ld"), name,
                   position_of (parser, begin));
      return FALSE;
    }

  if (++parser->depth > RFL_CALCULATOR_MAX_DEPTH)
    return fail_at (parser, begin, _("The expression is nested too deeply"));

  args = parse_arguments (parser);
  parser->depth--;
  if (args == NULL)
    return FALSE;

  return apply_function (parser, name, begin, args, out);
}

static gboolean
parse_primary (Parser *parser,
               double *out)
{
  skip_blanks (parser);

  if (g_ascii_isdigit (*parser->p) || *parser->p == '.')
    return parse_number (parser, out);

  if (g_ascii_isalpha (*parser->p))
    return parse_name (parser, out);

  if (*parser->p == '(')
    {
      const char *open = parser->p;

      parser->p++;
      if (++parser->depth > RFL_CALCULATOR_MAX_DEPTH)
        return fail_at (parser, open, _("The expression is nested too "
                                        "deeply"));
      if (!parse_expression (parser, out))
        return FALSE;
      parser->depth--;

      if (!accept_operator (parser, ')'))
        {
          skip_blanks (parser);
          if (*parser->p == '\0')
            return fail_at (parser, open, _("A “(” is never closed"));
          return fail_unexpected (parser);
        }
      return TRUE;
    }

  return fail_unexpected (parser);
}

static gboolean
parse_power (Parser *parser,
             double *out)
{
  const char *at;
  double exponent;

  if (!parse_primary (parser, out))
    return FALSE;

  skip_blanks (parser);
  at = parser->p;
  if (!accept_operator (parser, '^'))
    return TRUE;

  /* The exponent is a unary: 2^-1 is 0.5, and 2^3^2 is 2^(3^2). */
  if (++parser->depth > RFL_CALCULATOR_MAX_DEPTH)
    return fail_at (parser, at, _("The expression is nested too deeply"));
  if (!parse_unary (parser, &exponent))
    return FALSE;
  parser->depth--;

  if (*out == 0 && exponent < 0)
    return fail_at (parser, at, _("Division by zero"));
  if (*out < 0 && exponent != floor (exponent))
    return fail_at (parser, at,
                    _("A negative number has no real power with a "
                      "fractional exponent"));

  *out = pow (*out, exponent);
  return check_finite (parser, at, *out);
}

static gboolean
parse_unary (Parser *parser,
             double *out)
{
  if (accept_operator (parser, '-'))
    {
      if (++parser->depth > RFL_CALCULATOR_MAX_DEPTH)
        return fail_at (parser, parser->p,
                        _("The expression is nested too deeply"));
      if (!parse_unary (parser, out))
        return FALSE;
      parser->depth--;
      *out = -*out;
      return TRUE;
    }

  if (accept_operator (parser, '+'))
    {
      if (++parser->depth > RFL_CALCULATOR_MAX_DEPTH)
        return fail_at (parser, parser->p,
                        _("The expression is nested too deeply"));
      if (!parse_unary (parser, out))
        return FALSE;
      parser->depth--;
      return TRUE;
    }

  return parse_power (parser, out);
}

static gboolean
parse_term (Parser *parser,
            double *out)
{
  if (!parse_unary (parser, out))
    return FALSE;

  for (;;)
    {
      const char *at;
      double rhs;
      gsize length;
      char op;

      op = peek_operator (parser, &length);
      if (op != '*' && op != '/' && op != '%')
        return TRUE;

      at = parser->p;
      parser->p += length;
      if (!parse_unary (parser, &rhs))
        return FALSE;

      if (op == '*')
        *out *= rhs;
      else if (rhs == 0)
        return fail_at (parser, at, _("Division by zero"));
      else if (op == '/')
        *out /= rhs;
      else
        *out = fmod (*out, rhs);

      if (!check_finite (parser, at, *out))
        return FALSE;
    }
}

static gboolean
parse_expression (Parser *parser,
                  double *out)
{
  if (!parse_term (parser, out))
    return FALSE;

  for (;;)
    {
      const char *at;
      double rhs;
      gsize length;
      char op;

      op = peek_operator (parser, &length);
      if (op != '+' && op != '-')
        return TRUE;

      at = parser->p;
      parser->p += length;
      if (!parse_term (parser, &rhs))
        return FALSE;

      *out = op == '+' ? *out + rhs : *out - rhs;
      if (!check_finite (parser, at, *out))
        return FALSE;
    }
}

gboolean
rfl_calculator_evaluate (const char  *expression,
                         double      *result,
                         GError     **error)
{
  Parser parser = { 0 };
  double value = 0;

  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (expression == NULL || !g_utf8_validate (expression, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The expression is not valid text"));
      return FALSE;
    }

  if (strlen (expression) > RFL_CALCULATOR_MAX_LENGTH)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The expression is too long: the limit is %d "
                     "characters"), RFL_CALCULATOR_MAX_LENGTH);
      return FALSE;
    }

  parser.start = expression;
  parser.p = expression;
  parser.error = error;

  skip_blanks (&parser);
  if (*parser.p == '\0')
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The expression is empty"));
      return FALSE;
    }

  if (!parse_expression (&parser, &value))
    return FALSE;

  skip_blanks (&parser);
  if (*parser.p != '\0')
    return fail_unexpected (&parser);

  *result = value;
  return TRUE;
}

char *
rfl_calculator_format (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (value == 0)
    return g_strdup ("0");

  if (value == floor (value) && fabs (value) < 1e15)
    return g_strdup_printf ("%.0f", value);

  g_ascii_formatd (buffer, sizeof buffer, "%.12g", value);
  return g_strdup (buffer);
}
