/* rfl-calculator.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The assistant's calculator: arithmetic only, parsed by recursive descent
 * and never handed to anything that could run it.
 *
 *   expression := term (("+" | "-") term)*
 *   term       := unary (("*" | "/" | "%") unary)*
 *   unary      := ("-" | "+") unary | power
 *   power      := primary ("^" unary)?          right-associative
 *   primary    := number | constant | function "(" arguments ")"
 *               | "(" expression ")"
 *
 * Numbers are decimal with an optional exponent ("1.5e3"); "×", "÷" and
 * "−" are accepted for "*", "/" and "-". Constants: pi, e. Functions
 * (radians for the trigonometry): sqrt, abs, ln, log10, sin, cos, tan, and
 * min and max of one or more arguments. "%" is the remainder. Names are
 * not case-sensitive. "^" binds tighter than a sign (-2^2 is -4) and
 * groups to the right (2^3^2 is 512). */

#define RFL_CALCULATOR_MAX_LENGTH 1000   /* bytes of expression */
#define RFL_CALCULATOR_MAX_DEPTH  64     /* nested parentheses and calls */

/* Evaluates @expression. On failure returns FALSE with a translated
 * RFL_ERROR_INVALID_INPUT saying what is wrong and where (1-based
 * character position): an unexpected character, an unknown name, a
 * division by zero, a value outside a function's domain, a result that is
 * not a finite number. */
gboolean rfl_calculator_evaluate (const char  *expression,
                                  double      *result,
                                  GError     **error);

/* @value as text: integers without a decimal point ("42"), other values
 * with up to 12 significant digits ("0.333333333333"). */
char    *rfl_calculator_format   (double       value);

G_END_DECLS
