/* rfl-ndjson.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-ndjson.h"

#include <glib/gi18n.h>
#include <string.h>

#include "core/rfl-error.h"

#define MAX_LINE (1024 * 1024)
#define QUOTE_MAX 80

struct _RflNdjson
{
  RflNdjsonObjectFunc  func;
  gpointer             user_data;
  GString             *pending;   /* owned: the start of an unfinished line */
  guint                n_objects;
  gboolean             failed;
};

RflNdjson *
rfl_ndjson_new (RflNdjsonObjectFunc func,
                gpointer            user_data)
{
  RflNdjson *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (RflNdjson, 1);
  self->func = func;
  self->user_data = user_data;
  self->pending = g_string_new (NULL);

  return self;
}

void
rfl_ndjson_free (RflNdjson *self)
{
  if (self == NULL)
    return;

  g_string_free (self->pending, TRUE);
  g_free (self);
}

guint
rfl_ndjson_get_n_objects (RflNdjson *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_objects;
}

static char *
quote_line (const char *line,
            gsize       len)
{
  g_autofree char *valid = g_utf8_make_valid (line, MIN (len, QUOTE_MAX));

  if (len > QUOTE_MAX)
    return g_strconcat (valid, "…", NULL);

  return g_steal_pointer (&valid);
}

static gboolean
parse_line (RflNdjson   *self,
            const char  *line,
            gsize        len,
            GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (len > 0 && line[len - 1] == '\r')
    len--;

  /* Blank lines carry nothing; some servers send them as keep-alives. */
  while (len > 0 && g_ascii_isspace (line[len - 1]))
    len--;
  if (len == 0)
    return TRUE;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, line, (gssize) len, &local_error)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *quoted = quote_line (line, len);

      g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("Expected a JSON object on each line, but received “%s”."),
                   quoted);
      return FALSE;
    }

  self->n_objects++;
  return self->func (json_node_get_object (root), self->user_data, error);
}

static gboolean
line_too_long (GError **error)
{
  g_set_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL,
               _("Expected short JSON lines, but a line is longer than %d KiB."),
               MAX_LINE / 1024);
  return FALSE;
}

gboolean
rfl_ndjson_feed (RflNdjson   *self,
                 const char  *data,
                 gsize        len,
                 GError     **error)
{
  const char *end = data + len;
  const char *p = data;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (!self->failed, FALSE);

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      gboolean ok;

      if (nl == NULL)
        {
          if (self->pending->len + (end - p) > MAX_LINE)
            {
              self->failed = TRUE;
              return line_too_long (error);
            }
          g_string_append_len (self->pending, p, end - p);
          break;
        }

      /* A line completed by this piece: parse it in place when nothing was
       * left over, otherwise glue it to what was. */
      if (self->pending->len == 0)
        {
          if (nl - p > MAX_LINE)
            ok = line_too_long (error);
          else
            ok = parse_line (self, p, nl - p, error);
        }
      else
        {
          g_string_append_len (self->pending, p, nl - p);
          if (self->pending->len > MAX_LINE)
            ok = line_too_long (error);
          else
            ok = parse_line (self, self->pending->str, self->pending->len,
                             error);
          g_string_truncate (self->pending, 0);
        }

      if (!ok)
        {
          self->failed = TRUE;
          return FALSE;
        }

      p = nl + 1;
    }

  return TRUE;
}

gboolean
rfl_ndjson_finish (RflNdjson  *self,
                   GError    **error)
{
  g_autofree char *rest = NULL;
  gsize len;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (!self->failed, FALSE);

  len = self->pending->len;
  rest = g_string_free (g_steal_pointer (&self->pending), FALSE);
  self->pending = g_string_new (NULL);

  if (!parse_line (self, rest, len, error))
    {
      self->failed = TRUE;
      return FALSE;
    }

  return TRUE;
}
