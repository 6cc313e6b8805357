/* rfl-sse-parser.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-sse-parser.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"

#define MAX_SIZE (16 * 1024 * 1024)

static const char bom[] = "\xEF\xBB\xBF";

struct _RflSseParser
{
  RflSseEventFunc  func;
  gpointer         user_data;
  GString         *line;        /* owned: the start of an unfinished line */
  GString         *data;        /* owned: the data buffer */
  GString         *type;        /* owned: the event type buffer */
  char            *last_id;     /* owned */
  gint64           retry;
  guint            n_events;
  guint            bom_matched; /* bytes of a leading BOM seen so far */
  gboolean         bom_done;
  gboolean         skip_lf;     /* the last piece ended with a CR */
  gboolean         failed;
};

RflSseParser *
rfl_sse_parser_new (RflSseEventFunc func,
                    gpointer        user_data)
{
  RflSseParser *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (RflSseParser, 1);
  self->func = func;
  self->user_data = user_data;
  self->line = g_string_new (NULL);
  self->data = g_string_new (NULL);
  self->type = g_string_new (NULL);
  self->last_id = g_strdup ("");
  self->retry = -1;

  return self;
}

void
rfl_sse_parser_free (RflSseParser *self)
{
  if (self == NULL)
    return;

  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_string_free (self->type, TRUE);
  g_free (self->last_id);
  g_free (self);
}

guint
rfl_sse_parser_get_n_events (RflSseParser *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_events;
}

gint64
rfl_sse_parser_get_retry (RflSseParser *self)
{
  g_return_val_if_fail (self != NULL, -1);

  return self->retry;
}

static gboolean
too_large (GError **error)
{
  g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
               _("Expected server-sent events of reasonable size, but one "
                 "is larger than %d MiB."), MAX_SIZE / (1024 * 1024));
  return FALSE;
}

static gboolean
dispatch (RflSseParser  *self,
          GError       **error)
{
  RflSseEvent event;
  gboolean ok;

  /* No data, no event: the type is forgotten too. */
  if (self->data->len == 0)
    {
      g_string_truncate (self->type, 0);
      return TRUE;
    }

  g_string_truncate (self->data, self->data->len - 1);
  event.type = self->type->len > 0 ? self->type->str : "message";
  event.data = self->data->str;
  event.data_len = self->data->len;
  event.id = self->last_id;

  self->n_events++;
  ok = self->func (&event, self->user_data, error);

  g_string_truncate (self->data, 0);
  g_string_truncate (self->type, 0);
  return ok;
}

static gboolean
field_is (const char *field,
          gsize       len,
          const char *name)
{
  return len == strlen (name) && memcmp (field, name, len) == 0;
}

static gboolean
all_digits (const char *value,
            gsize       len)
{
  if (len == 0)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (value[i]))
      return FALSE;

  return TRUE;
}

static gboolean
process_line (RflSseParser  *self,
              const char    *line,
              gsize          len,
              GError       **error)
{
  const char *colon;
  const char *value;
  gsize field_len;
  gsize value_len;

  if (len == 0)
    return dispatch (self, error);

  if (line[0] == ':')
    return TRUE;

  colon = memchr (line, ':', len);
  if (colon != NULL)
    {
      field_len = colon - line;
      value = colon + 1;
      value_len = len - field_len - 1;
      if (value_len > 0 && *value == ' ')
        value++, value_len--;
    }
  else
    {
      field_len = len;
      value = line + len;
      value_len = 0;
    }

  if (field_is (line, field_len, "data"))
    {
      if (self->data->len + value_len + 1 > MAX_SIZE)
        return too_large (error);
      g_string_append_len (self->data, value, value_len);
      g_string_append_c (self->data, '\n');
    }
  else if (field_is (line, field_len, "event"))
    {
      g_string_truncate (self->type, 0);
      g_string_append_len (self->type, value, value_len);
    }
  else if (field_is (line, field_len, "id"))
    {
      if (memchr (value, '\0', value_len) == NULL)
        {
          g_free (self->last_id);
          self->last_id = g_strndup (value, value_len);
        }
    }
  else if (field_is (line, field_len, "retry"))
    {
      if (all_digits (value, value_len) && value_len < 16)
        {
          g_autofree char *digits = g_strndup (value, value_len);

          self->retry = g_ascii_strtoll (digits, NULL, 10);
        }
    }

  /* Other fields are ignored, as the standard says. */
  return TRUE;
}

static const char *
find_eol (const char *p,
          const char *end)
{
  for (; p < end; p++)
    if (*p == '\n' || *p == '\r')
      return p;

  return NULL;
}

static gboolean
process_bytes (RflSseParser  *self,
               const char    *data,
               gsize          len,
               GError       **error)
{
  const char *end = data + len;
  const char *p = data;

  if (self->skip_lf && p < end)
    {
      if (*p == '\n')
        p++;
      self->skip_lf = FALSE;
    }

  while (p < end)
    {
      const char *eol = find_eol (p, end);
      gboolean ok;

      if (eol == NULL)
        {
          if (self->line->len + (end - p) > MAX_SIZE)
            return too_large (error);
          g_string_append_len (self->line, p, end - p);
          break;
        }

      if (self->line->len == 0)
        {
          ok = process_line (self, p, eol - p, error);
        }
      else
        {
          if (self->line->len + (eol - p) > MAX_SIZE)
            return too_large (error);
          g_string_append_len (self->line, p, eol - p);
          ok = process_line (self, self->line->str, self->line->len, error);
          g_string_truncate (self->line, 0);
        }

      if (!ok)
        return FALSE;

      p = eol + 1;
      if (*eol == '\r')
        {
          if (p == end)
            self->skip_lf = TRUE;
          else if (*p == '\n')
            p++;
        }
    }

  return TRUE;
}

gboolean
rfl_sse_parser_feed (RflSseParser  *self,
                     const char    *data,
                     gsize          len,
                     GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (!self->failed, FALSE);

  /* A byte order mark may itself arrive in pieces. */
  while (!self->bom_done && len > 0)
    {
      if (*data == bom[self->bom_matched])
        {
          data++, len--;
          if (++self->bom_matched == 3)
            self->bom_done = TRUE;
          continue;
        }

      self->bom_done = TRUE;
      if (self->bom_matched > 0
          && !process_bytes (self, bom, self->bom_matched, error))
        {
          self->failed = TRUE;
          return FALSE;
        }
    }

  if (!process_bytes (self, data, len, error))
    {
      self->failed = TRUE;
      return FALSE;
    }

  return TRUE;
}

gboolean
rfl_sse_parser_finish (RflSseParser *self)
{
  gboolean clean;

  g_return_val_if_fail (self != NULL, FALSE);

  clean = self->line->len == 0 && self->data->len == 0
          && (self->bom_done || self->bom_matched == 0);

  g_string_truncate (self->line, 0);
  g_string_truncate (self->data, 0);
  g_string_truncate (self->type, 0);
  self->skip_lf = FALSE;

  return clean;
}
