/* rfl-json-writer.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-json-writer.h"

#include <math.h>
#include <string.h>

/* The state of one nesting level, frames[0] being the top level. */
enum
{
  FRAME_OBJECT    = 1 << 0,  /* an object, else an array or the top level */
  FRAME_HAS_ITEMS = 1 << 1,  /* a value (or member) was written */
  FRAME_KEY_DUE   = 1 << 2,  /* an object whose key waits for its value */
};

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define REPLACEMENT "\xef\xbf\xbd"

/* An answer is made of many short pieces: appending them without a call
 * into GLib while the string has room keeps the writer cheap. */
static inline void
put_len (GString    *out,
         const char *data,
         gsize       length)
{
  if (G_LIKELY (out->len + length < out->allocated_len))
    {
      memcpy (out->str + out->len, data, length);
      out->len += length;
      out->str[out->len] = '\0';
    }
  else
    {
      g_string_append_len (out, data, length);
    }
}

#define put_literal(out, literal) put_len ((out), "" literal, sizeof (literal) - 1)

/* 1 for the ASCII bytes a JSON string cannot hold as they are. */
static const guint8 needs_escape[128] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* '"' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,   /* '\\' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

#define ONES  G_GUINT64_CONSTANT (0x0101010101010101)
#define HIGHS G_GUINT64_CONSTANT (0x8080808080808080)

/* Whether the 8 bytes at @p are all plain ASCII: no byte of 0x80 or more,
 * below 0x20, '"' or '\\' (the classic "has a byte less than / equal to"
 * word tricks, exact for the question "is there one"). */
static inline gboolean
plain_word (const guchar *p)
{
  guint64 v, quote, backslash;

  memcpy (&v, p, sizeof v);
  quote = v ^ (ONES * '"');
  backslash = v ^ (ONES * '\\');

  return ((v | ((v - ONES * 0x20) & ~v)
           | ((quote - ONES) & ~quote)
           | ((backslash - ONES) & ~backslash)) & HIGHS) == 0;
}

/* The length of the well-formed UTF-8 sequence at @p (Unicode table 3-7:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or 0 with
 * *@skip set to the length of its maximal ill-formed prefix, which is
 * replaced by one U+FFFD. */
static inline gsize
utf8_sequence (const guchar *p,
               const guchar *end,
               gsize        *skip)
{
  guchar lo = 0x80, hi = 0xbf;
  gsize n;

  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    n = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef)
    {
      n = 3;
      if (p[0] == 0xe0)
        lo = 0xa0;
      else if (p[0] == 0xed)
        hi = 0x9f;
    }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4)
    {
      n = 4;
      if (p[0] == 0xf0)
        lo = 0x90;
      else if (p[0] == 0xf4)
        hi = 0x8f;
    }
  else
    {
      *skip = 1;
      return 0;
    }

  for (gsize i = 1; i < n; i++)
    {
      if (p + i >= end || p[i] < lo || p[i] > hi)
        {
          *skip = i;
          return 0;
        }
      lo = 0x80;
      hi = 0xbf;
    }

  return n;
}

static void
put_escape (GString *out,
            guchar   c)
{
  static const char hex[] = "0123456789abcdef";
  char buf[6] = { '\\', 'u', '0', '0', 0, 0 };

  switch (c)
    {
    case '"':
      put_literal (out, "\\\"");
      break;
    case '\\':
      put_literal (out, "\\\\");
      break;
    case '\b':
      put_literal (out, "\\b");
      break;
    case '\f':
      put_literal (out, "\\f");
      break;
    case '\n':
      put_literal (out, "\\n");
      break;
    case '\r':
      put_literal (out, "\\r");
      break;
    case '\t':
      put_literal (out, "\\t");
      break;
    default:
      g_assert (c < 0x20);
      buf[4] = hex[c >> 4];
      buf[5] = hex[c & 0xf];
      put_len (out, buf, sizeof buf);
      break;
    }
}

void
rfl_json_escape_append (GString    *out,
                        const char *text,
                        gsize       length)
{
  const guchar *p = (const guchar *) text;
  const guchar *end = p + length;
  const guchar *run = p;

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL || length == 0);

  if (length == 0)
    return;

  /* Plain bytes and valid UTF-8 accumulate in a run appended at once. */
  while (p < end)
    {
      gsize n, skip;

      if (end - p >= 8 && plain_word (p))
        {
          p += 8;
          continue;
        }

      if (G_LIKELY (*p < 0x80))
        {
          if (G_LIKELY (!needs_escape[*p]))
            {
              p++;
              continue;
            }
          put_len (out, (const char *) run, p - run);
          put_escape (out, *p);
          run = ++p;
          continue;
        }

      n = utf8_sequence (p, end, &skip);
      if (G_LIKELY (n > 0))
        {
          p += n;
          continue;
        }
      put_len (out, (const char *) run, p - run);
      put_literal (out, REPLACEMENT);
      p += skip;
      run = p;
    }

  put_len (out, (const char *) run, p - run);
}

void
rfl_json_writer_init (RflJsonWriter *self,
                      GString       *out)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out != NULL);

  memset (self, 0, sizeof *self);
  self->out = out;
}

/* Writes what goes before a value at the current level and records it;
 * FALSE when no value may come here. */
static inline gboolean
begin_value (RflJsonWriter *self)
{
  guint8 *frame = &self->frames[self->depth];

  if (*frame & FRAME_OBJECT)
    {
      g_return_val_if_fail (*frame & FRAME_KEY_DUE, FALSE);
      *frame &= ~FRAME_KEY_DUE;
    }
  else if (self->depth == 0)
    {
      g_return_val_if_fail (!(*frame & FRAME_HAS_ITEMS), FALSE);
      *frame |= FRAME_HAS_ITEMS;
    }
  else
    {
      if (*frame & FRAME_HAS_ITEMS)
        g_string_append_c (self->out, ',');
      *frame |= FRAME_HAS_ITEMS;
    }

  return TRUE;
}

static void
begin_container (RflJsonWriter *self,
                 guint8         kind,
                 char           open)
{
  g_return_if_fail (self != NULL && self->out != NULL);
  g_return_if_fail (self->depth < RFL_JSON_WRITER_MAX_DEPTH);

  if (!begin_value (self))
    return;

  g_string_append_c (self->out, open);
  self->frames[++self->depth] = kind;
}

static void
end_container (RflJsonWriter *self,
               guint8         kind,
               char           close)
{
  g_return_if_fail (self != NULL && self->out != NULL);
  g_return_if_fail (self->depth > 0);
  g_return_if_fail ((self->frames[self->depth] & FRAME_OBJECT) == kind);
  g_return_if_fail (!(self->frames[self->depth] & FRAME_KEY_DUE));

  g_string_append_c (self->out, close);
  self->depth--;
}

void
rfl_json_writer_begin_object (RflJsonWriter *self)
{
  begin_container (self, FRAME_OBJECT, '{');
}

void
rfl_json_writer_end_object (RflJsonWriter *self)
{
  end_container (self, FRAME_OBJECT, '}');
}

void
rfl_json_writer_begin_array (RflJsonWriter *self)
{
  begin_container (self, 0, '[');
}

void
rfl_json_writer_end_array (RflJsonWriter *self)
{
  end_container (self, 0, ']');
}

void
rfl_json_writer_key (RflJsonWriter *self,
                     const char    *name)
{
  guint8 *frame;

  g_return_if_fail (self != NULL && self->out != NULL);
  g_return_if_fail (name != NULL);

  frame = &self->frames[self->depth];
  g_return_if_fail (*frame & FRAME_OBJECT);
  g_return_if_fail (!(*frame & FRAME_KEY_DUE));

  if (*frame & FRAME_HAS_ITEMS)
    put_literal (self->out, ",\"");
  else
    g_string_append_c (self->out, '"');
  *frame |= FRAME_HAS_ITEMS | FRAME_KEY_DUE;

  rfl_json_escape_append (self->out, name, strlen (name));
  put_literal (self->out, "\":");
}

void
rfl_json_writer_string_len (RflJsonWriter *self,
                            const char    *value,
                            gsize          length)
{
  g_return_if_fail (self != NULL && self->out != NULL);
  g_return_if_fail (value != NULL || length == 0);

  if (!begin_value (self))
    return;

  g_string_append_c (self->out, '"');
  rfl_json_escape_append (self->out, value, length);
  g_string_append_c (self->out, '"');
}

void
rfl_json_writer_string (RflJsonWriter *self,
                        const char    *value)
{
  if (value == NULL)
    rfl_json_writer_null (self);
  else
    rfl_json_writer_string_len (self, value, strlen (value));
}

/* The decimal digits of @magnitude ending at @buf_end, at least
 * @min_digits of them; returns the first. */
static char *
format_digits (char    *buf_end,
               guint64  magnitude,
               guint    min_digits)
{
  char *p = buf_end;

  do
    {
      *--p = (char) ('0' + magnitude % 10);
      magnitude /= 10;
    }
  while (magnitude != 0 || buf_end - p < (gssize) min_digits);

  return p;
}

/* Negated in unsigned arithmetic, G_MININT64 included. */
static inline guint64
magnitude_of (gint64 value)
{
  return value < 0 ? -(guint64) value : (guint64) value;
}

void
rfl_json_writer_int64 (RflJsonWriter *self,
                       gint64         value)
{
  char buf[24];
  char *start;

  g_return_if_fail (self != NULL && self->out != NULL);

  if (!begin_value (self))
    return;

  start = format_digits (buf + sizeof buf, magnitude_of (value), 1);
  if (value < 0)
    *--start = '-';
  put_len (self->out, start, buf + sizeof buf - start);
}

/* Writes @value when a decimal with at most 8 fractional digits reads
 * back as it exactly ("0.8", "-12.5", "1.0"): a correctly rounded quotient
 * of an integer by a power of ten is what strtod() makes of that decimal.
 * FALSE for the others. */
static gboolean
put_short_decimal (GString *out,
                   double   value)
{
  static const double powers[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8 };
  char buf[32];

  for (guint k = 0; k < G_N_ELEMENTS (powers); k++)
    {
      double scaled = value * powers[k];
      gint64 n;
      char *start;

      if (fabs (scaled) >= 1e15)
        return FALSE;
      n = (gint64) nearbyint (scaled);
      if ((double) n / powers[k] != value)
        continue;

      /* n holds the digits; the point goes k from the end, and a whole
       * number gets ".0" as json-glib writes it. */
      if (k == 0)
        {
          buf[sizeof buf - 2] = '.';
          buf[sizeof buf - 1] = '0';
          start = format_digits (buf + sizeof buf - 2, magnitude_of (n), 1);
        }
      else
        {
          char *point;

          start = format_digits (buf + sizeof buf, magnitude_of (n), k + 1);
          point = buf + sizeof buf - k;
          memmove (start - 1, start, point - start);
          start--;
          point[-1] = '.';
        }
      if (signbit (value))
        *--start = '-';
      put_len (out, start, buf + sizeof buf - start);
      return TRUE;
    }

  return FALSE;
}

void
rfl_json_writer_double (RflJsonWriter *self,
                        double         value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_if_fail (self != NULL && self->out != NULL);

  if (!begin_value (self))
    return;

  /* JSON has no NaN or infinity. */
  if (!isfinite (value))
    {
      put_literal (self->out, "null");
      return;
    }

  if (put_short_decimal (self->out, value))
    return;

  /* 17 significant digits make every double round-trip; a number without
   * a fraction or an exponent gets ".0", as json-glib writes it. */
  g_ascii_formatd (buf, sizeof buf, "%.17g", value);
  put_len (self->out, buf, strlen (buf));
  if (strpbrk (buf, ".e") == NULL)
    put_literal (self->out, ".0");
}

void
rfl_json_writer_boolean (RflJsonWriter *self,
                         gboolean       value)
{
  g_return_if_fail (self != NULL && self->out != NULL);

  if (!begin_value (self))
    return;

  if (value)
    put_literal (self->out, "true");
  else
    put_literal (self->out, "false");
}

void
rfl_json_writer_null (RflJsonWriter *self)
{
  g_return_if_fail (self != NULL && self->out != NULL);

  if (!begin_value (self))
    return;

  put_literal (self->out, "null");
}

gboolean
rfl_json_writer_is_complete (const RflJsonWriter *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->depth == 0 && (self->frames[0] & FRAME_HAS_ITEMS) != 0;
}
