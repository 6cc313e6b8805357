/* rfl-json-body.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-json-body.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "rfl-http-error.h"

struct _RflJsonBody
{
  JsonNode *root;   /* owned, an object */
};

/* Syntax check
 *
 * The body is checked against RFC 8259 before json-glib builds the tree:
 * json-glib 1.6 is lenient about some errors and reports the rest by line
 * and column only, while a client needs to know which field of its request
 * broke. The checker keeps the path of members and elements it is inside
 * and reports it with the first error. */

typedef struct
{
  char     *key;        /* owned: the member being read, NULL between members */
  gint64    index;      /* the element being read, -1 between elements */
  gboolean  is_array;
} Frame;

typedef struct
{
  const char *data;
  gsize       length;
  gsize       pos;
  GArray     *frames;       /* owned, of Frame */
  const char *reason;       /* borrowed translation; set by the first error */
  gsize       error_pos;
  char       *error_field;  /* owned */
} Checker;

static void
frame_clear (gpointer data)
{
  Frame *frame = data;

  g_clear_pointer (&frame->key, g_free);
}

static char *
checker_dup_path (Checker *self)
{
  GString *path = g_string_new (NULL);

  for (guint i = 0; i < self->frames->len; i++)
    {
      Frame *frame = &g_array_index (self->frames, Frame, i);

      if (frame->is_array && frame->index >= 0)
        g_string_append_printf (path, "[%" G_GINT64_FORMAT "]", frame->index);
      else if (!frame->is_array && frame->key != NULL)
        {
          if (path->len > 0)
            g_string_append_c (path, '.');
          g_string_append (path, frame->key);
        }
      else
        break;
    }

  if (path->len == 0)
    {
      g_string_free (path, TRUE);
      return NULL;
    }

  return g_string_free (path, FALSE);
}

static gboolean
checker_fail (Checker    *self,
              const char *reason)
{
  if (self->reason == NULL)
    {
      self->reason = reason;
      self->error_pos = self->pos;
      self->error_field = checker_dup_path (self);
    }

  return FALSE;
}

static gboolean
checker_at_end (Checker *self)
{
  return self->pos >= self->length;
}

static char
checker_peek (Checker *self)
{
  return checker_at_end (self) ? '\0' : self->data[self->pos];
}

static void
checker_skip_space (Checker *self)
{
  while (!checker_at_end (self))
    {
      char c = self->data[self->pos];

      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      self->pos++;
    }
}

static gboolean
checker_fail_truncated (Checker *self)
{
  return checker_fail (self, _("the body ends too early"));
}

/* Reads a string starting at its opening quote. */
static gboolean
checker_string (Checker  *self,
                char    **contents)
{
  gsize start;

  self->pos++;
  start = self->pos;

  for (;;)
    {
      guchar c;

      if (checker_at_end (self))
        return checker_fail_truncated (self);

      c = (guchar) self->data[self->pos];
      if (c == '"')
        break;

      if (c < 0x20)
        return checker_fail (self, _("a string holds a control character"));

      if (c == '\\')
        {
          self->pos++;
          if (checker_at_end (self))
            return checker_fail_truncated (self);

          c = (guchar) self->data[self->pos];
          if (c == 'u')
            {
              for (int i = 0; i < 4; i++)
                {
                  self->pos++;
                  if (checker_at_end (self))
                    return checker_fail_truncated (self);
                  if (!g_ascii_isxdigit (self->data[self->pos]))
                    return checker_fail (self, _("a string holds an invalid escape sequence"));
                }
            }
          else if (strchr ("\"\\/bfnrt", c) == NULL || c == '\0')
            return checker_fail (self, _("a string holds an invalid escape sequence"));
        }

      self->pos++;
    }

  if (contents != NULL)
    *contents = g_strndup (self->data + start, self->pos - start);
  self->pos++;

  return TRUE;
}

static gboolean
checker_digits (Checker *self)
{
  gsize start = self->pos;

  while (!checker_at_end (self) && g_ascii_isdigit (self->data[self->pos]))
    self->pos++;

  if (self->pos == start)
    {
      if (checker_at_end (self))
        return checker_fail_truncated (self);
      return checker_fail (self, _("a number is not written correctly"));
    }

  return TRUE;
}

static gboolean
checker_number (Checker *self)
{
  if (checker_peek (self) == '-')
    self->pos++;

  if (checker_peek (self) == '0')
    self->pos++;
  else if (!checker_digits (self))
    return FALSE;

  if (checker_peek (self) == '.')
    {
      self->pos++;
      if (!checker_digits (self))
        return FALSE;
    }

  if (checker_peek (self) == 'e' || checker_peek (self) == 'E')
    {
      self->pos++;
      if (checker_peek (self) == '+' || checker_peek (self) == '-')
        self->pos++;
      if (!checker_digits (self))
        return FALSE;
    }

  return TRUE;
}

static gboolean
checker_literal (Checker    *self,
                 const char *word)
{
  gsize len = strlen (word);
  gsize available = self->length - self->pos;

  if (available < len && memcmp (self->data + self->pos, word, available) == 0)
    {
      self->pos = self->length;
      return checker_fail_truncated (self);
    }

  if (available < len || memcmp (self->data + self->pos, word, len) != 0)
    return checker_fail (self, _("expected a value"));

  self->pos += len;

  return TRUE;
}

static gboolean checker_value (Checker *self,
                               guint    depth);

static Frame *
checker_push (Checker  *self,
              gboolean  is_array)
{
  Frame frame = { NULL, -1, is_array };

  g_array_append_val (self->frames, frame);

  return &g_array_index (self->frames, Frame, self->frames->len - 1);
}

static void
checker_pop (Checker *self)
{
  g_array_set_size (self->frames, self->frames->len - 1);
}

static gboolean
checker_object (Checker *self,
                guint    depth)
{
  guint frame_index;

  self->pos++;
  checker_skip_space (self);
  if (checker_peek (self) == '}')
    {
      self->pos++;
      return TRUE;
    }

  checker_push (self, FALSE);
  frame_index = self->frames->len - 1;

  for (;;)
    {
      Frame *frame;
      char *key = NULL;

      checker_skip_space (self);
      if (checker_at_end (self))
        return checker_fail_truncated (self);
      if (checker_peek (self) != '"')
        return checker_fail (self, _("expected a member name in double quotes"));
      if (!checker_string (self, &key))
        return FALSE;

      frame = &g_array_index (self->frames, Frame, frame_index);
      g_free (frame->key);
      frame->key = key;

      checker_skip_space (self);
      if (checker_at_end (self))
        return checker_fail_truncated (self);
      if (checker_peek (self) != ':')
        return checker_fail (self, _("expected “:” after the member name"));
      self->pos++;

      if (!checker_value (self, depth + 1))
        return FALSE;

      frame = &g_array_index (self->frames, Frame, frame_index);
      g_clear_pointer (&frame->key, g_free);

      checker_skip_space (self);
      if (checker_at_end (self))
        return checker_fail_truncated (self);
      if (checker_peek (self) == '}')
        break;
      if (checker_peek (self) != ',')
        return checker_fail (self, _("expected “,” or “}”"));
      self->pos++;
    }

  self->pos++;
  checker_pop (self);

  return TRUE;
}

static gboolean
checker_array (Checker *self,
               guint    depth)
{
  guint frame_index;
  gint64 index = 0;

  self->pos++;
  checker_skip_space (self);
  if (checker_peek (self) == ']')
    {
      self->pos++;
      return TRUE;
    }

  checker_push (self, TRUE);
  frame_index = self->frames->len - 1;

  for (;;)
    {
      g_array_index (self->frames, Frame, frame_index).index = index++;

      if (!checker_value (self, depth + 1))
        return FALSE;

      g_array_index (self->frames, Frame, frame_index).index = -1;

      checker_skip_space (self);
      if (checker_at_end (self))
        return checker_fail_truncated (self);
      if (checker_peek (self) == ']')
        break;
      if (checker_peek (self) != ',')
        return checker_fail (self, _("expected “,” or “]”"));
      self->pos++;
    }

  self->pos++;
  checker_pop (self);

  return TRUE;
}

static gboolean
checker_value (Checker *self,
               guint    depth)
{
  char c;

  if (depth > RFL_JSON_BODY_MAX_DEPTH)
    return checker_fail (self, _("values are nested too deeply"));

  checker_skip_space (self);
  if (checker_at_end (self))
    return checker_fail_truncated (self);

  c = checker_peek (self);
  switch (c)
    {
    case '{':
      return checker_object (self, depth);
    case '[':
      return checker_array (self, depth);
    case '"':
      return checker_string (self, NULL);
    case 't':
      return checker_literal (self, "true");
    case 'f':
      return checker_literal (self, "false");
    case 'n':
      return checker_literal (self, "null");
    default:
      if (c == '-' || g_ascii_isdigit (c))
        return checker_number (self);
      return checker_fail (self, _("expected a value"));
    }
}

static void
checker_position (Checker *self,
                  guint   *line,
                  guint   *column)
{
  gsize line_start = 0;

  *line = 1;
  for (gsize i = 0; i < self->error_pos && i < self->length; i++)
    {
      if (self->data[i] == '\n')
        {
          (*line)++;
          line_start = i + 1;
        }
    }

  *column = 1 + (guint) g_utf8_strlen (self->data + line_start,
                                       self->error_pos - line_start);
}

static gboolean
check_syntax (const char  *data,
              gsize        length,
              GError     **error)
{
  Checker checker = { data, length, 0, NULL, NULL, 0, NULL };
  gboolean ok;
  guint line, column;

  checker.frames = g_array_new (FALSE, TRUE, sizeof (Frame));
  g_array_set_clear_func (checker.frames, frame_clear);

  ok = checker_value (&checker, 0);
  if (ok)
    {
      checker_skip_space (&checker);
      if (!checker_at_end (&checker))
        ok = checker_fail (&checker, _("there is more data after the JSON value"));
    }

  if (!ok)
    {
      checker_position (&checker, &line, &column);
      if (checker.error_field != NULL)
        rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_JSON,
                                  checker.error_field,
                                  _("The request body is not valid JSON: %s in field “%s” "
                                    "(line %u, column %u)"),
                                  checker.reason, checker.error_field,
                                  line, column);
      else
        rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_JSON, NULL,
                                  _("The request body is not valid JSON: %s (line %u, column %u)"),
                                  checker.reason, line, column);
    }

  g_free (checker.error_field);
  g_array_unref (checker.frames);

  return ok;
}

/* Parsing */

static gboolean
is_blank (const char *data,
          gsize       length)
{
  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
        return FALSE;
    }

  return TRUE;
}

RflJsonBody *
rfl_json_body_parse (const char  *data,
                     gsize        length,
                     gsize        limit,
                     GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *invalid = NULL;
  RflJsonBody *self;
  JsonNode *root;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length > limit)
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_PAYLOAD_TOO_LARGE, NULL,
                                _("The request body has %lu bytes; the limit is %lu bytes"),
                                (gulong) length, (gulong) limit);
      return NULL;
    }

  if (length == 0 || is_blank (data, length))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_JSON, NULL,
                                _("The request body is empty; a JSON object is expected"));
      return NULL;
    }

  if (!g_utf8_validate_len (data, length, &invalid))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_JSON, NULL,
                                _("The request body is not valid UTF-8 (at byte %lu)"),
                                (gulong) (invalid - data));
      return NULL;
    }

  if (!check_syntax (data, length, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_JSON, NULL,
                                _("The request body is not valid JSON: %s"),
                                local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_JSON, NULL,
                                _("The request body must be a JSON object"));
      return NULL;
    }

  self = g_new0 (RflJsonBody, 1);
  self->root = json_node_ref (root);

  return self;
}

RflJsonBody *
rfl_json_body_parse_message (SoupServerMessage  *msg,
                             gsize               limit,
                             GError            **error)
{
  SoupMessageBody *body;
  g_autoptr(GBytes) bytes = NULL;
  gsize length = 0;
  const char *data;

  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), NULL);

  body = soup_server_message_get_request_body (msg);
  if (body->length > 0 && (guint64) body->length > limit)
    {
      rfl_http_error_set_field (error, RFL_HTTP_ERROR_PAYLOAD_TOO_LARGE, NULL,
                                _("The request body has %lu bytes; the limit is %lu bytes"),
                                (gulong) body->length, (gulong) limit);
      return NULL;
    }

  bytes = soup_message_body_flatten (body);
  data = g_bytes_get_data (bytes, &length);

  return rfl_json_body_parse (data != NULL ? data : "", length, limit, error);
}

void
rfl_json_body_free (RflJsonBody *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->root, json_node_unref);
  g_free (self);
}

JsonObject *
rfl_json_body_get_root (RflJsonBody *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return json_node_get_object (self->root);
}

/* Fields */

typedef enum
{
  EXPECT_STRING,
  EXPECT_INTEGER,
  EXPECT_NUMBER,
  EXPECT_BOOLEAN,
  EXPECT_ARRAY,
  EXPECT_OBJECT,
} Expect;

static void
set_type_error (GError     **error,
                const char  *field,
                Expect       expect)
{
  RflHttpError code = RFL_HTTP_ERROR_INVALID_REQUEST;

  switch (expect)
    {
    case EXPECT_STRING:
      rfl_http_error_set_field (error, code, field,
                                _("Field “%s” must be a string"), field);
      break;
    case EXPECT_INTEGER:
      rfl_http_error_set_field (error, code, field,
                                _("Field “%s” must be an integer"), field);
      break;
    case EXPECT_NUMBER:
      rfl_http_error_set_field (error, code, field,
                                _("Field “%s” must be a number"), field);
      break;
    case EXPECT_BOOLEAN:
      rfl_http_error_set_field (error, code, field,
                                _("Field “%s” must be true or false"), field);
      break;
    case EXPECT_ARRAY:
      rfl_http_error_set_field (error, code, field,
                                _("Field “%s” must be an array"), field);
      break;
    case EXPECT_OBJECT:
    default:
      rfl_http_error_set_field (error, code, field,
                                _("Field “%s” must be an object"), field);
      break;
    }
}

/* Finds @field, walking dotted paths through objects. Returns FALSE with
 * @error set when the field is missing but required, or when a step of the
 * path is not an object; TRUE otherwise, with *@node NULL when the field is
 * absent (or null and @flags allow it). */
static gboolean
lookup (RflJsonBody   *self,
        const char    *field,
        RflJsonFlags   flags,
        JsonNode     **node,
        GError       **error)
{
  g_auto(GStrv) steps = NULL;
  JsonObject *object;
  JsonNode *found = NULL;
  g_autoptr(GString) walked = g_string_new (NULL);

  *node = NULL;
  object = json_node_get_object (self->root);
  steps = g_strsplit (field, ".", -1);

  for (guint i = 0; steps[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (walked, '.');
      g_string_append (walked, steps[i]);

      found = json_object_get_member (object, steps[i]);
      if (found == NULL || (JSON_NODE_HOLDS_NULL (found) && steps[i + 1] != NULL))
        {
          found = NULL;
          break;
        }

      if (steps[i + 1] != NULL)
        {
          if (!JSON_NODE_HOLDS_OBJECT (found))
            {
              set_type_error (error, walked->str, EXPECT_OBJECT);
              return FALSE;
            }
          object = json_node_get_object (found);
        }
    }

  if (found != NULL && JSON_NODE_HOLDS_NULL (found) && (flags & RFL_JSON_NULLABLE))
    return TRUE;

  if (found == NULL)
    {
      if (flags & RFL_JSON_REQUIRED)
        {
          rfl_http_error_set_field (error, RFL_HTTP_ERROR_INVALID_REQUEST, field,
                                    _("Field “%s” is required"), field);
          return FALSE;
        }
      return TRUE;
    }

  *node = found;

  return TRUE;
}

static gboolean
holds_value_of (JsonNode *node,
                GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

const char *
rfl_json_body_get_string (RflJsonBody   *self,
                          const char    *field,
                          RflJsonFlags   flags,
                          GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (field != NULL, NULL);

  if (!lookup (self, field, flags, &node, error) || node == NULL)
    return NULL;

  if (!holds_value_of (node, G_TYPE_STRING))
    {
      set_type_error (error, field, EXPECT_STRING);
      return NULL;
    }

  return json_node_get_string (node);
}

gboolean
rfl_json_body_get_int (RflJsonBody   *self,
                       const char    *field,
                       RflJsonFlags   flags,
                       gint64        *value,
                       GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (!lookup (self, field, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;

  if (holds_value_of (node, G_TYPE_INT64))
    {
      *value = json_node_get_int (node);
      return TRUE;
    }

  /* 3.0 is an integer too; 3.5 or 1e300 are not. */
  if (holds_value_of (node, G_TYPE_DOUBLE))
    {
      double number = json_node_get_double (node);

      if (isfinite (number) && number == floor (number)
          && number >= -9007199254740992.0 && number <= 9007199254740992.0)
        {
          *value = (gint64) number;
          return TRUE;
        }
    }

  set_type_error (error, field, EXPECT_INTEGER);

  return FALSE;
}

gboolean
rfl_json_body_get_double (RflJsonBody   *self,
                          const char    *field,
                          RflJsonFlags   flags,
                          double        *value,
                          GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (!lookup (self, field, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;

  if (holds_value_of (node, G_TYPE_INT64))
    {
      *value = (double) json_node_get_int (node);
      return TRUE;
    }

  if (holds_value_of (node, G_TYPE_DOUBLE) && isfinite (json_node_get_double (node)))
    {
      *value = json_node_get_double (node);
      return TRUE;
    }

  set_type_error (error, field, EXPECT_NUMBER);

  return FALSE;
}

gboolean
rfl_json_body_get_boolean (RflJsonBody   *self,
                           const char    *field,
                           RflJsonFlags   flags,
                           gboolean      *value,
                           GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (!lookup (self, field, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;

  if (!holds_value_of (node, G_TYPE_BOOLEAN))
    {
      set_type_error (error, field, EXPECT_BOOLEAN);
      return FALSE;
    }

  *value = json_node_get_boolean (node);

  return TRUE;
}

JsonArray *
rfl_json_body_get_array (RflJsonBody   *self,
                         const char    *field,
                         RflJsonFlags   flags,
                         GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (field != NULL, NULL);

  if (!lookup (self, field, flags, &node, error) || node == NULL)
    return NULL;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      set_type_error (error, field, EXPECT_ARRAY);
      return NULL;
    }

  return json_node_get_array (node);
}

JsonObject *
rfl_json_body_get_object (RflJsonBody   *self,
                          const char    *field,
                          RflJsonFlags   flags,
                          GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (field != NULL, NULL);

  if (!lookup (self, field, flags, &node, error) || node == NULL)
    return NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      set_type_error (error, field, EXPECT_OBJECT);
      return NULL;
    }

  return json_node_get_object (node);
}
