/* test-json-writer.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <float.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "server/rfl-json-writer.h"

#define REPLACEMENT "\xef\xbf\xbd"

/* Parses @text with json-glib, which must accept it. json-glib lets raw
 * control characters through in strings, RFC 8259 does not: the writer
 * puts no whitespace between tokens, so there must be none at all. */
static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      g_error ("Raw control character 0x%02x at %ld in %s", *p, (long) (p - text), text);
  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_error ("json-glib refused %s: %s", text, error->message);

  return json_node_copy (json_parser_get_root (parser));
}

/* The text of one string value. */
static char *
write_string_len (const char *value,
                  gsize       length)
{
  GString *out = g_string_new (NULL);
  RflJsonWriter writer;

  rfl_json_writer_init (&writer, out);
  rfl_json_writer_string_len (&writer, value, length);
  g_assert_true (rfl_json_writer_is_complete (&writer));

  return g_string_free (out, FALSE);
}

static char *
write_string (const char *value)
{
  return write_string_len (value, strlen (value));
}

static char *
write_double (double value)
{
  GString *out = g_string_new (NULL);
  RflJsonWriter writer;

  rfl_json_writer_init (&writer, out);
  rfl_json_writer_double (&writer, value);

  return g_string_free (out, FALSE);
}

/* Writes @value, checks the text and that json-glib reads @value back. */
static void
check_string (const char *value,
              const char *expected)
{
  g_autofree char *text = write_string (value);
  g_autoptr(JsonNode) node = NULL;

  g_assert_cmpstr (text, ==, expected);
  node = parse (text);
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  g_assert_cmpstr (json_node_get_string (node), ==, value);
}

/* Every control character, each alone and between plain bytes. */
static void
test_controls (void)
{
  const char *short_escapes[0x20] = {
    ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
  };

  for (guint c = 1; c < 0x20; c++)
    {
      g_autofree char *escape = short_escapes[c] != NULL
                                ? g_strdup (short_escapes[c])
                                : g_strdup_printf ("\\u%04x", c);
      g_autofree char *alone = g_strdup_printf ("%c", c);
      g_autofree char *alone_expected = g_strdup_printf ("\"%s\"", escape);
      g_autofree char *mixed = g_strdup_printf ("ab%ccd%c", c, c);
      g_autofree char *mixed_expected = g_strdup_printf ("\"ab%scd%s\"", escape, escape);

      check_string (alone, alone_expected);
      check_string (mixed, mixed_expected);

      /* At each place of a run long enough to be scanned by words. */
      for (guint at = 0; at <= 16; at++)
        {
          g_autofree char *before = g_strndup ("abcdefghijklmnop", at);
          const char *after = "ABCDEFGHIJKLMNOP" + at;
          g_autofree char *input = g_strdup_printf ("%s%c%s", before, c, after);
          g_autofree char *expected = g_strdup_printf ("\"%s%s%s\"", before, escape, after);

          check_string (input, expected);
        }
    }

  /* U+0000 inside a counted string; no bytes at all. */
  {
    g_autofree char *text = write_string_len ("a\0b", 3);
    g_autofree char *empty = write_string_len (NULL, 0);

    g_assert_cmpstr (text, ==, "\"a\\u0000b\"");
    g_assert_cmpstr (empty, ==, "\"\"");
  }

  /* DEL is no control character for JSON. */
  check_string ("\x7f", "\"\x7f\"");
}

static void
test_quotes (void)
{
  check_string ("", "\"\"");
  check_string ("plain text", "\"plain text\"");
  check_string ("\"", "\"\\\"\"");
  check_string ("\\", "\"\\\\\"");
  check_string ("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");
  check_string ("\\\"\\\"", "\"\\\\\\\"\\\\\\\"\"");
  check_string ("C:\\path\\n", "\"C:\\\\path\\\\n\"");

  /* At each place of a run long enough to be scanned by words. */
  for (guint at = 0; at <= 16; at++)
    {
      g_autofree char *before = g_strndup ("abcdefghijklmnop", at);
      const char *after = "ABCDEFGHIJKLMNOP" + at;
      g_autofree char *quote = g_strdup_printf ("%s\"%s", before, after);
      g_autofree char *quote_expected = g_strdup_printf ("\"%s\\\"%s\"", before, after);
      g_autofree char *backslash = g_strdup_printf ("%s\\%s", before, after);
      g_autofree char *backslash_expected = g_strdup_printf ("\"%s\\\\%s\"", before, after);
      g_autofree char *high = g_strdup_printf ("%s\xc3\xa9%s", before, after);
      g_autofree char *high_expected = g_strdup_printf ("\"%s\xc3\xa9%s\"", before, after);
      g_autofree char *bad = g_strdup_printf ("%s\xff%s", before, after);
      g_autofree char *bad_expected = g_strdup_printf ("\"%s" REPLACEMENT "%s\"", before, after);
      g_autofree char *bad_text = write_string (bad);

      check_string (quote, quote_expected);
      check_string (backslash, backslash_expected);
      check_string (high, high_expected);
      g_assert_cmpstr (bad_text, ==, bad_expected);
    }
}

/* Multi-byte UTF-8 is copied as it is, boundaries of each length included. */
static void
test_utf8_kept (void)
{
  const char *texts[] = {
    "\xc2\x80",                 /* U+0080 */
    "\xdf\xbf",                 /* U+07FF */
    "\xe0\xa0\x80",             /* U+0800 */
    "\xed\x9f\xbf",             /* U+D7FF */
    "\xee\x80\x80",             /* U+E000 */
    "\xef\xbf\xbd",             /* U+FFFD */
    "\xef\xbf\xbf",             /* U+FFFF */
    "\xf0\x90\x80\x80",         /* U+10000 */
    "\xf4\x8f\xbf\xbf",         /* U+10FFFF */
    "Zürich, café, Ελληνικά, 日本語, 😀 and \xe2\x80\xa8",
    "é\"\n€\\😀",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree char *text = write_string (texts[i]);
      g_autoptr(JsonNode) node = parse (text);
      g_autoptr(GString) expected = g_string_new ("\"");

      if (strpbrk (texts[i], "\"\n\\") == NULL)
        {
          g_string_append (expected, texts[i]);
          g_string_append_c (expected, '"');
          g_assert_cmpstr (text, ==, expected->str);
        }
      else
        {
          g_assert_cmpstr (text, ==, "\"é\\\"\\n€\\\\😀\"");
        }
      g_assert_cmpstr (json_node_get_string (node), ==, texts[i]);
    }
}

/* Each maximal ill-formed prefix becomes one U+FFFD. */
static void
test_utf8_invalid (void)
{
  const struct
  {
    const char *input;
    const char *expected;   /* inside the quotes */
  } cases[] = {
    { "\x80", REPLACEMENT },
    { "a\xbf" "b", "a" REPLACEMENT "b" },
    { "\xc0\xaf", REPLACEMENT REPLACEMENT },                 /* overlong '/' */
    { "\xc1\xbf", REPLACEMENT REPLACEMENT },
    { "\xe0\x80\xaf", REPLACEMENT REPLACEMENT REPLACEMENT }, /* overlong */
    { "\xed\xa0\x80", REPLACEMENT REPLACEMENT REPLACEMENT }, /* surrogate */
    { "\xf0\x80\x80\xaf", REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT },
    { "\xf4\x90\x80\x80", REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT },
    { "\xf5\x80", REPLACEMENT REPLACEMENT },
    { "\xfe\xff", REPLACEMENT REPLACEMENT },
    { "\xe2\x82", REPLACEMENT },                             /* cut at the end */
    { "\xe2\x82" "A", REPLACEMENT "A" },
    { "\xf0\x9f\x98" "x", REPLACEMENT "x" },
    { "\xf0\x9f\x98\"", REPLACEMENT "\\\"" },
    { "\xc3\n", REPLACEMENT "\\n" },
    { "ok \xe2\x82\xac \xe2\x82 \xe2\x82\xac", "ok € " REPLACEMENT " €" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = write_string (cases[i].input);
      g_autofree char *expected = g_strdup_printf ("\"%s\"", cases[i].expected);
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(JsonNode) expected_node = NULL;

      g_assert_cmpstr (text, ==, expected);
      node = parse (text);
      expected_node = parse (expected);
      g_assert_cmpstr (json_node_get_string (node), ==,
                       json_node_get_string (expected_node));
    }
}

static void
test_nesting (void)
{
  g_autoptr(GString) out = g_string_new ("prefix:");
  g_autoptr(JsonNode) node = NULL;
  RflJsonWriter writer;
  JsonObject *object;
  JsonArray *array;

  rfl_json_writer_init (&writer, out);
  g_assert_false (rfl_json_writer_is_complete (&writer));
  rfl_json_writer_begin_object (&writer);
  rfl_json_writer_key (&writer, "a");
  rfl_json_writer_begin_array (&writer);
  rfl_json_writer_int64 (&writer, 1);
  rfl_json_writer_int64 (&writer, 2);
  rfl_json_writer_begin_object (&writer);
  rfl_json_writer_key (&writer, "b");
  rfl_json_writer_null (&writer);
  rfl_json_writer_key (&writer, "c");
  rfl_json_writer_boolean (&writer, TRUE);
  rfl_json_writer_key (&writer, "d");
  rfl_json_writer_boolean (&writer, FALSE);
  rfl_json_writer_key (&writer, "e");
  rfl_json_writer_string (&writer, NULL);
  rfl_json_writer_end_object (&writer);
  rfl_json_writer_string (&writer, "s");
  rfl_json_writer_end_array (&writer);
  rfl_json_writer_key (&writer, "empty object");
  rfl_json_writer_begin_object (&writer);
  rfl_json_writer_end_object (&writer);
  rfl_json_writer_key (&writer, "empty array");
  rfl_json_writer_begin_array (&writer);
  rfl_json_writer_end_array (&writer);
  rfl_json_writer_key (&writer, "k\"\n");
  rfl_json_writer_begin_array (&writer);
  rfl_json_writer_begin_array (&writer);
  rfl_json_writer_end_array (&writer);
  rfl_json_writer_begin_array (&writer);
  rfl_json_writer_double (&writer, 0.5);
  rfl_json_writer_end_array (&writer);
  rfl_json_writer_end_array (&writer);
  g_assert_false (rfl_json_writer_is_complete (&writer));
  rfl_json_writer_end_object (&writer);
  g_assert_true (rfl_json_writer_is_complete (&writer));

  /* The writer appends to what the string holds. */
  g_assert_cmpstr (out->str, ==,
                   "prefix:{\"a\":[1,2,{\"b\":null,\"c\":true,\"d\":false,\"e\":null},\"s\"],"
                   "\"empty object\":{},\"empty array\":[],\"k\\\"\\n\":[[],[0.5]]}");

  node = parse (out->str + strlen ("prefix:"));
  object = json_node_get_object (node);
  g_assert_cmpuint (json_object_get_size (object), ==, 4);
  array = json_object_get_array_member (object, "a");
  g_assert_cmpuint (json_array_get_length (array), ==, 4);
  g_assert_cmpint (json_array_get_int_element (array, 1), ==, 2);
  g_assert_true (json_object_get_null_member (json_array_get_object_element (array, 2), "b"));
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (array, 2),
                                                 "c"));
  g_assert_cmpstr (json_array_get_string_element (array, 3), ==, "s");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (object,
                                                                         "empty object")),
                    ==, 0);
  array = json_object_get_array_member (object, "k\"\n");
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpfloat (json_array_get_double_element (json_array_get_array_element (array, 1),
                                                    0), ==, 0.5);
}

/* RFL_JSON_WRITER_MAX_DEPTH levels work; one more is refused. */
static void
test_depth (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(JsonNode) node = NULL;
  RflJsonWriter writer;
  JsonNode *inner;
  gsize length;

  rfl_json_writer_init (&writer, out);
  for (guint i = 0; i < RFL_JSON_WRITER_MAX_DEPTH; i++)
    {
      if (i % 2 == 0)
        rfl_json_writer_begin_array (&writer);
      else
        {
          rfl_json_writer_begin_object (&writer);
          rfl_json_writer_key (&writer, "x");
        }
    }

  length = out->len;
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
                         "*RFL_JSON_WRITER_MAX_DEPTH*");
  rfl_json_writer_begin_array (&writer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (out->len, ==, length);

  rfl_json_writer_int64 (&writer, 7);
  for (guint i = RFL_JSON_WRITER_MAX_DEPTH; i > 0; i--)
    {
      if ((i - 1) % 2 == 0)
        rfl_json_writer_end_array (&writer);
      else
        rfl_json_writer_end_object (&writer);
    }
  g_assert_true (rfl_json_writer_is_complete (&writer));

  for (guint i = 0; i < RFL_JSON_WRITER_MAX_DEPTH; i++)
    g_string_append (expected, i % 2 == 0 ? "[" : "{\"x\":");
  g_string_append (expected, "7");
  for (guint i = RFL_JSON_WRITER_MAX_DEPTH; i > 0; i--)
    g_string_append (expected, (i - 1) % 2 == 0 ? "]" : "}");
  g_assert_cmpstr (out->str, ==, expected->str);

  node = parse (out->str);
  inner = node;
  for (guint i = 0; i < RFL_JSON_WRITER_MAX_DEPTH; i++)
    inner = i % 2 == 0 ? json_array_get_element (json_node_get_array (inner), 0)
                       : json_object_get_member (json_node_get_object (inner), "x");
  g_assert_cmpint (json_node_get_int (inner), ==, 7);
}

/* Each misuse is refused with a critical and writes nothing. */
static void
test_misuse (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  RflJsonWriter writer;
  gsize length;

  rfl_json_writer_init (&writer, out);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*FRAME_OBJECT*");
  rfl_json_writer_key (&writer, "top");
  g_test_assert_expected_messages ();
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*depth > 0*");
  rfl_json_writer_end_array (&writer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (out->len, ==, 0);

  rfl_json_writer_begin_object (&writer);
  length = out->len;
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*FRAME_KEY_DUE*");
  rfl_json_writer_int64 (&writer, 1);
  g_test_assert_expected_messages ();
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*== kind*");
  rfl_json_writer_end_array (&writer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (out->len, ==, length);

  rfl_json_writer_key (&writer, "a");
  length = out->len;
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*FRAME_KEY_DUE*");
  rfl_json_writer_key (&writer, "b");
  g_test_assert_expected_messages ();
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*FRAME_KEY_DUE*");
  rfl_json_writer_end_object (&writer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (out->len, ==, length);

  rfl_json_writer_begin_array (&writer);
  length = out->len;
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*FRAME_OBJECT*");
  rfl_json_writer_key (&writer, "c");
  g_test_assert_expected_messages ();
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*== kind*");
  rfl_json_writer_end_object (&writer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (out->len, ==, length);
  rfl_json_writer_end_array (&writer);
  rfl_json_writer_end_object (&writer);
  g_assert_true (rfl_json_writer_is_complete (&writer));

  /* One value only at the top level. */
  length = out->len;
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*FRAME_HAS_ITEMS*");
  rfl_json_writer_null (&writer);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (out->len, ==, length);

  g_assert_cmpstr (out->str, ==, "{\"a\":[]}");
}

static void
test_int64 (void)
{
  const gint64 values[] = {
    0, 1, -1, 9, 10, -10, 42, 1000000007, G_MAXINT32, G_MININT32,
    (gint64) G_MAXINT32 + 1, G_GINT64_CONSTANT (1795767328895),
    G_MAXINT64 - 1, G_MAXINT64, G_MININT64 + 1, G_MININT64,
  };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) expected = g_string_new ("[");
  g_autoptr(JsonNode) node = NULL;
  RflJsonWriter writer;
  JsonArray *array;

  rfl_json_writer_init (&writer, out);
  rfl_json_writer_begin_array (&writer);
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      rfl_json_writer_int64 (&writer, values[i]);
      g_string_append_printf (expected, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "", values[i]);
    }
  rfl_json_writer_end_array (&writer);
  g_string_append_c (expected, ']');

  g_assert_cmpstr (out->str, ==, expected->str);
  g_assert_nonnull (strstr (out->str, ",9223372036854775807,"));
  g_assert_nonnull (strstr (out->str, ",-9223372036854775808]"));

  node = parse (out->str);
  array = json_node_get_array (node);
  g_assert_cmpuint (json_array_get_length (array), ==, G_N_ELEMENTS (values));
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      g_assert_cmpint (json_node_get_value_type (element), ==, G_TYPE_INT64);
      g_assert_cmpint (json_node_get_int (element), ==, values[i]);
    }
}

/* json-glib reads @text back as exactly @value, the sign of a zero
 * included. */
static void
assert_reads_back (const char *text,
                   double      value)
{
  g_autoptr(JsonNode) node = parse (text);
  double read = json_node_get_double (node);

  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_VALUE);
  if (memcmp (&read, &value, sizeof value) != 0)
    g_error ("%s was read back as %.17g, not %.17g", text, read, value);
}

static void
test_double (void)
{
  const struct
  {
    double      value;
    const char *expected;   /* NULL: only checked by reading back */
  } cases[] = {
    { 0.0, "0.0" },
    { -0.0, "-0.0" },
    { 1.0, "1.0" },
    { -3.0, "-3.0" },
    { 0.5, "0.5" },
    { 0.25, "0.25" },
    { 0.1, "0.1" },
    { 0.8, "0.8" },
    { 0.3, "0.3" },
    { -0.25, "-0.25" },
    { 0.05, "0.05" },
    { 12.5, "12.5" },
    { 1e-8, "0.00000001" },
    { 0.12345678, "0.12345678" },
    { 0.123456789, "0.123456789" },
    { 1e300, "1.0000000000000001e+300" },
    { 1e22, "1e+22" },
    { 1e16, "10000000000000000.0" },
    { 999999999999999.0, "999999999999999.0" },
    { 5e-324, "4.9406564584124654e-324" },
    { -1e-7, "-0.0000001" },
    { 1e-9, "1.0000000000000001e-09" },
    { 0.032266458495966696, "0.032266458495966696" },
    { DBL_MAX, NULL },
    { -DBL_MAX, NULL },
    { DBL_MIN, NULL },
    { DBL_EPSILON, NULL },
    { 123456789012345678.0, NULL },
    { 1.0 / 3.0, NULL },
  };
  const double non_finite[] = { NAN, -NAN, INFINITY, -INFINITY };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = write_double (cases[i].value);

      if (cases[i].expected != NULL)
        g_assert_cmpstr (text, ==, cases[i].expected);
      assert_reads_back (text, cases[i].value);
    }

  for (guint i = 0; i < G_N_ELEMENTS (non_finite); i++)
    {
      g_autofree char *text = write_double (non_finite[i]);
      g_autoptr(JsonNode) node = NULL;

      g_assert_cmpstr (text, ==, "null");
      node = parse (text);
      g_assert_true (JSON_NODE_HOLDS_NULL (node));
    }
}

/* Doubles are written the same whatever the locale's decimal mark. */
static void
test_double_locale (void)
{
  g_autofree char *text = NULL;
  g_autofree char *old = g_strdup (setlocale (LC_NUMERIC, NULL));

  if (setlocale (LC_NUMERIC, "de_DE.UTF-8") == NULL
      && setlocale (LC_NUMERIC, "fr_FR.UTF-8") == NULL)
    {
      g_test_skip ("No locale with a decimal comma is installed");
      return;
    }

  text = write_double (0.25);
  setlocale (LC_NUMERIC, old);
  g_assert_cmpstr (text, ==, "0.25");
}

/* A string of @length characters drawn from a mix of plain, escaped and
 * multi-byte ones: always valid UTF-8. */
static char *
random_string (GRand *rand,
               guint  length)
{
  static const char *pieces[] = {
    "a", "Z", "0", " ", "/", "~", "\"", "\\", "\n", "\r", "\t", "\b", "\f",
    "\x01", "\x1f", "\x7f", "é", "ß", "€", "日", "😀", "\xf4\x8f\xbf\xbf",
    "\xef\xbf\xbd", "\xe2\x80\xa8", "plain run of text ",
  };
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < length; i++)
    g_string_append (out, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);

  return g_string_free (out, FALSE);
}

/* A double from random bits, a fraction, a whole number, a value of any
 * magnitude, a short decimal, or a NaN or infinity. */
static double
random_double (GRand *rand)
{
  const double non_finite[] = { NAN, INFINITY, -INFINITY };
  guint64 bits;
  double value;

  switch (g_rand_int_range (rand, 0, 7))
    {
    case 6:
      return g_rand_int_range (rand, -1000000, 1000000)
             / pow (10.0, g_rand_int_range (rand, 1, 10));
    case 5:
      return non_finite[g_rand_int_range (rand, 0, G_N_ELEMENTS (non_finite))];
    case 0:
      bits = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
      memcpy (&value, &bits, sizeof value);
      return value;
    case 1:
      return g_rand_double (rand);
    case 2:
      return (double) g_rand_int_range (rand, -1000000, 1000000);
    case 3:
      return g_rand_double_range (rand, -1e20, 1e20);
    default:
      return ldexp (g_rand_double_range (rand, -1.0, 1.0),
                    g_rand_int_range (rand, -1074, 1024));
    }
}

/* A table of random strings and doubles, written as one array and read
 * back by json-glib. */
static void
test_round_trip (void)
{
  const guint n_rows = 2000;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20260401);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  g_autofree double *doubles = g_new (double, n_rows);
  g_autofree gint64 *ints = g_new (gint64, n_rows);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonNode) node = NULL;
  RflJsonWriter writer;
  JsonArray *array;
  guint n_null = 0;

  rfl_json_writer_init (&writer, out);
  rfl_json_writer_begin_array (&writer);
  for (guint i = 0; i < n_rows; i++)
    {
      char *text = random_string (rand, g_rand_int_range (rand, 0, 24));

      g_ptr_array_add (strings, text);
      doubles[i] = random_double (rand);
      ints[i] = (gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand));

      rfl_json_writer_begin_object (&writer);
      rfl_json_writer_key (&writer, text);
      rfl_json_writer_string (&writer, text);
      rfl_json_writer_key (&writer, "d");
      rfl_json_writer_double (&writer, doubles[i]);
      rfl_json_writer_key (&writer, "i");
      rfl_json_writer_int64 (&writer, ints[i]);
      rfl_json_writer_end_object (&writer);
    }
  rfl_json_writer_end_array (&writer);
  g_assert_true (rfl_json_writer_is_complete (&writer));

  node = parse (out->str);
  array = json_node_get_array (node);
  g_assert_cmpuint (json_array_get_length (array), ==, n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);
      const char *text = g_ptr_array_index (strings, i);
      JsonNode *d = json_object_get_member (row, "d");

      /* A key may repeat "d" or "i"; then json-glib keeps the last. */
      if (strcmp (text, "d") != 0 && strcmp (text, "i") != 0)
        g_assert_cmpstr (json_object_get_string_member (row, text), ==, text);
      g_assert_cmpint (json_object_get_int_member (row, "i"), ==, ints[i]);
      if (!isfinite (doubles[i]))
        {
          g_assert_true (JSON_NODE_HOLDS_NULL (d));
          n_null++;
        }
      else
        {
          double read = json_node_get_double (d);

          if (memcmp (&read, &doubles[i], sizeof read) != 0)
            g_error ("row %u: %.17g was read back as %.17g", i, doubles[i], read);
        }
    }

  g_assert_cmpuint (n_null, >, 0);
}

/* Random bytes: the text is always valid UTF-8 and JSON; a valid input
 * reads back as it is, and an invalid one keeps every character that
 * g_utf8_make_valid() keeps, with fewer or as many U+FFFD. */
static void
test_random_bytes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < 3000; i++)
    {
      guint length = g_rand_int_range (rand, 0, 16);
      g_autofree char *bytes = g_malloc (length + 1);
      g_autofree char *text = NULL;
      g_autofree char *made_valid = NULL;
      g_auto(GStrv) ours = NULL;
      g_auto(GStrv) glibs = NULL;
      g_autofree char *ours_kept = NULL;
      g_autofree char *glibs_kept = NULL;
      g_autoptr(JsonNode) node = NULL;
      const char *read;

      for (guint j = 0; j < length; j++)
        {
          /* Mostly high bytes, where UTF-8 goes wrong; never NUL. */
          guint byte = g_rand_boolean (rand) ? (guint) g_rand_int_range (rand, 0x80, 0x100)
                                             : (guint) g_rand_int_range (rand, 1, 0x80);
          bytes[j] = (char) byte;
        }
      bytes[length] = '\0';

      text = write_string (bytes);
      node = parse (text);
      read = json_node_get_string (node);
      g_assert_true (g_utf8_validate (read, -1, NULL));

      if (g_utf8_validate (bytes, length, NULL))
        {
          g_assert_cmpstr (read, ==, bytes);
          continue;
        }

      made_valid = g_utf8_make_valid (bytes, length);
      ours = g_strsplit (read, REPLACEMENT, -1);
      glibs = g_strsplit (made_valid, REPLACEMENT, -1);
      ours_kept = g_strjoinv ("", ours);
      glibs_kept = g_strjoinv ("", glibs);
      g_assert_cmpstr (ours_kept, ==, glibs_kept);
      g_assert_cmpuint (g_strv_length (ours), >, 1);
      g_assert_cmpuint (g_strv_length (ours), <=, g_strv_length (glibs));
    }
}

/* A long plain run with escapes at both ends and in the middle. */
static void
test_long_runs (void)
{
  g_autoptr(GString) input = g_string_new ("\n");
  g_autoptr(GString) expected = g_string_new ("\"\\n");
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;

  for (guint i = 0; i < 5000; i++)
    {
      g_string_append (input, "abcdé");
      g_string_append (expected, "abcdé");
      if (i == 2500)
        {
          g_string_append_c (input, '"');
          g_string_append (expected, "\\\"");
        }
    }
  g_string_append_c (input, '\t');
  g_string_append (expected, "\\t\"");

  text = write_string (input->str);
  g_assert_cmpstr (text, ==, expected->str);
  node = parse (text);
  g_assert_cmpstr (json_node_get_string (node), ==, input->str);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/json-writer/controls", test_controls);
  g_test_add_func ("/rfl/json-writer/quotes", test_quotes);
  g_test_add_func ("/rfl/json-writer/utf8-kept", test_utf8_kept);
  g_test_add_func ("/rfl/json-writer/utf8-invalid", test_utf8_invalid);
  g_test_add_func ("/rfl/json-writer/nesting", test_nesting);
  g_test_add_func ("/rfl/json-writer/depth", test_depth);
  g_test_add_func ("/rfl/json-writer/misuse", test_misuse);
  g_test_add_func ("/rfl/json-writer/int64", test_int64);
  g_test_add_func ("/rfl/json-writer/double", test_double);
  g_test_add_func ("/rfl/json-writer/double-locale", test_double_locale);
  g_test_add_func ("/rfl/json-writer/round-trip", test_round_trip);
  g_test_add_func ("/rfl/json-writer/random-bytes", test_random_bytes);
  g_test_add_func ("/rfl/json-writer/long-runs", test_long_runs);

  return g_test_run ();
}
