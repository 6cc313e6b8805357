/* rfl-price-table.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-price-table.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>

#include "rfl-error.h"

#define DEFAULT_PRICES_PATH RESOURCE_PREFIX "/prices/default-prices.json"
#define MICRO_PER_UNIT      G_GUINT64_CONSTANT (1000000)
#define MAX_PATTERN_CHARS   200

struct _RflPriceTable
{
  gatomicrefcount  ref_count;
  GArray          *prices;     /* owned: RflPrice, patterns owned by the table */
  GHashTable      *exact;      /* owned: pattern (borrowed) → index + 1 */
};

/* ------------------------------------------------------------ arithmetic */

guint64
rfl_price_estimate_cost (const RflPrice *price,
                         guint64         tokens_in,
                         guint64         tokens_out)
{
  guint64 whole_in, whole_out, part_in, part_out, whole, part;

  g_return_val_if_fail (price != NULL, 0);

  /* cost = (tokens_in × input + tokens_out × output) / 10^6, split into
   * whole millions of tokens and the rest so that no product overflows for
   * any valid price. */
  if (!g_uint64_checked_mul (&whole_in, tokens_in / MICRO_PER_UNIT, price->input_micro_usd) ||
      !g_uint64_checked_mul (&whole_out, tokens_out / MICRO_PER_UNIT, price->output_micro_usd) ||
      !g_uint64_checked_mul (&part_in, tokens_in % MICRO_PER_UNIT, price->input_micro_usd) ||
      !g_uint64_checked_mul (&part_out, tokens_out % MICRO_PER_UNIT, price->output_micro_usd) ||
      !g_uint64_checked_add (&whole, whole_in, whole_out) ||
      !g_uint64_checked_add (&part, part_in, part_out) ||
      !g_uint64_checked_add (&part, part, MICRO_PER_UNIT / 2) ||
      !g_uint64_checked_add (&whole, whole, part / MICRO_PER_UNIT))
    return G_MAXUINT64;

  return whole;
}

char *
rfl_price_format_dollars (guint64 micro_usd)
{
  guint64 micro = micro_usd % MICRO_PER_UNIT;
  char fraction[8];
  int len;

  if (micro == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, micro_usd / MICRO_PER_UNIT);

  len = g_snprintf (fraction, sizeof fraction, "%06" G_GUINT64_FORMAT, micro);
  while (len > 0 && fraction[len - 1] == '0')
    fraction[--len] = '\0';

  return g_strdup_printf ("%" G_GUINT64_FORMAT ".%s", micro_usd / MICRO_PER_UNIT, fraction);
}

gboolean
rfl_price_parse_dollars (const char *text,
                         guint64    *micro_usd)
{
  guint64 whole = 0, fraction = 0;
  guint n_whole = 0, n_fraction = 0;
  const char *p = text;

  g_return_val_if_fail (micro_usd != NULL, FALSE);

  if (text == NULL)
    return FALSE;

  /* Beyond 13 digits any value is far above the largest price and is
   * saturated rather than computed. */
  for (; g_ascii_isdigit (*p); p++, n_whole++)
    {
      if (n_whole < 13)
        whole = whole * 10 + (guint64) (*p - '0');
    }

  if (n_whole == 0)
    return FALSE;

  if (*p == '.')
    {
      for (p++; g_ascii_isdigit (*p); p++, n_fraction++)
        {
          if (n_fraction >= 6)
            return FALSE;
          fraction = fraction * 10 + (guint64) (*p - '0');
        }
      if (n_fraction == 0)
        return FALSE;
    }

  if (*p != '\0')
    return FALSE;

  for (guint i = n_fraction; i < 6; i++)
    fraction *= 10;

  if (n_whole > 13)
    *micro_usd = G_MAXUINT64;
  else
    *micro_usd = whole * MICRO_PER_UNIT + fraction;
  return TRUE;
}

/* ----------------------------------------------------------------- table */

static gboolean
is_glob (const char *pattern)
{
  return strpbrk (pattern, "*?") != NULL;
}

static void
clear_price (gpointer data)
{
  RflPrice *price = data;

  g_free ((char *) price->pattern);
}

static RflPriceTable *
price_table_new (void)
{
  RflPriceTable *self = g_new0 (RflPriceTable, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->prices = g_array_new (FALSE, TRUE, sizeof (RflPrice));
  g_array_set_clear_func (self->prices, clear_price);
  self->exact = g_hash_table_new (g_str_hash, g_str_equal);

  return self;
}

RflPriceTable *
rfl_price_table_ref (RflPriceTable *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
rfl_price_table_unref (RflPriceTable *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_hash_table_unref (self->exact);
  g_array_unref (self->prices);
  g_free (self);
}

/* ---------------------------------------------------------------- parsing */

/* How a bad value looks in a message: a string as it is, a number in the
 * fewest digits that read back as the same number, anything else as
 * JSON. */
static char *
node_to_display (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (node);
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      for (guint precision = 15; precision < 17; precision++)
        {
          g_autofree char *format = g_strdup_printf ("%%.%ug", precision);

          g_ascii_formatd (buffer, sizeof buffer, format, value);
          if (g_ascii_strtod (buffer, NULL) == value)
            return g_strdup (buffer);
        }
      return g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value));
    }

  return json_to_string (node, FALSE);
}

static gboolean
parse_price (JsonObject  *entry,
             const char  *field,
             guint        index,
             const char  *model,
             guint64     *micro_usd,
             GError     **error)
{
  JsonNode *node = json_object_get_member (entry, field);
  g_autofree char *shown = NULL;
  gboolean negative = FALSE;
  gboolean parsed = FALSE;

  if (node == NULL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u (“%s”) of the price table has no “%s” price"),
                   index, model, field);
      return FALSE;
    }

  if (JSON_NODE_HOLDS_VALUE (node))
    {
      GType type = json_node_get_value_type (node);

      if (type == G_TYPE_STRING)
        {
          const char *text = json_node_get_string (node);

          negative = text[0] == '-' && rfl_price_parse_dollars (text + 1, micro_usd);
          parsed = rfl_price_parse_dollars (text, micro_usd);
        }
      else if (type == G_TYPE_INT64)
        {
          gint64 value = json_node_get_int (node);

          negative = value < 0;
          parsed = !negative;
          /* Too large to hold is above the largest price all the same. */
          if (parsed)
            *micro_usd = value > 10000000 ? G_MAXUINT64 : (guint64) value * MICRO_PER_UNIT;
        }
      else if (type == G_TYPE_DOUBLE)
        {
          double scaled = json_node_get_double (node) * (double) MICRO_PER_UNIT;

          /* A decimal number of dollars read as a double lands within a
           * rounding error of its micro-dollars; a seventh decimal place
           * lands at least 0.1 away. */
          negative = scaled < 0;
          if (isfinite (scaled) && scaled > 1e13)
            {
              *micro_usd = G_MAXUINT64;
              parsed = TRUE;
            }
          else if (isfinite (scaled) && !negative && fabs (scaled - round (scaled)) <= 0.01)
            {
              *micro_usd = (guint64) llround (scaled);
              parsed = TRUE;
            }
        }
    }

  if (negative)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u (“%s”) of the price table has a negative “%s” price"),
                   index, model, field);
      return FALSE;
    }

  if (!parsed)
    {
      shown = node_to_display (node);
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u (“%s”) of the price table: the “%s” price “%s” is not "
                     "a number of dollars with at most six decimal places"),
                   index, model, field, shown);
      return FALSE;
    }

  if (*micro_usd > RFL_PRICE_MAX_MICRO_USD)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u (“%s”) of the price table: the “%s” price is above "
                     "the largest accepted price of $1,000,000 per million tokens"),
                   index, model, field);
      return FALSE;
    }

  return TRUE;
}

static const char *
entry_model (JsonObject  *entry,
             guint        index,
             GError     **error)
{
  JsonNode *node = json_object_get_member (entry, "model");
  const char *model = NULL;

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING)
    model = json_node_get_string (node);

  if (model == NULL || model[0] == '\0')
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u of the price table needs the model’s name as text "
                     "in “model”"),
                   index);
      return NULL;
    }

  if (!g_utf8_validate (model, -1, NULL) || g_utf8_strlen (model, -1) > MAX_PATTERN_CHARS)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u of the price table has a model name longer than "
                     "%u characters"),
                   index, MAX_PATTERN_CHARS);
      return NULL;
    }

  return model;
}

static gboolean
parse_entry (RflPriceTable  *self,
             JsonNode       *node,
             guint           index,
             GError        **error)
{
  JsonObject *entry;
  const char *model;
  RflPrice price = { NULL, };
  g_autoptr(GList) members = NULL;
  gpointer previous;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("Entry %u of the price table is not an object with “model”, "
                     "“input” and “output”"),
                   index);
      return FALSE;
    }

  entry = json_node_get_object (node);
  if ((model = entry_model (entry, index, error)) == NULL)
    return FALSE;

  members = json_object_get_members (entry);
  for (const GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;

      if (!g_str_equal (name, "model") && !g_str_equal (name, "input") &&
          !g_str_equal (name, "output"))
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("Entry %u (“%s”) of the price table has an unknown field "
                         "“%s”; an entry has only “model”, “input” and “output”"),
                       index, model, name);
          return FALSE;
        }
    }

  if (!parse_price (entry, "input", index, model, &price.input_micro_usd, error) ||
      !parse_price (entry, "output", index, model, &price.output_micro_usd, error))
    return FALSE;

  for (guint i = 0; i < self->prices->len; i++)
    {
      const RflPrice *other = &g_array_index (self->prices, RflPrice, i);

      if (g_str_equal (other->pattern, model))
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("Entries %u and %u of the price table both price “%s”"),
                       i + 1, index, model);
          return FALSE;
        }
    }

  price.pattern = g_strdup (model);
  g_array_append_val (self->prices, price);

  previous = GUINT_TO_POINTER (self->prices->len);
  if (!is_glob (price.pattern))
    g_hash_table_insert (self->exact, (gpointer) price.pattern, previous);

  return TRUE;
}

RflPriceTable *
rfl_price_table_new_from_json (const char  *json,
                               gssize       length,
                               GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(RflPriceTable) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GList) members = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonNode *models;
  JsonArray *array;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!json_parser_load_from_data (parser, json, length, &local_error))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The price table is not valid JSON: %s"), local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  models = NULL;
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    models = json_object_get_member (json_node_get_object (root), "models");

  if (models == NULL || !JSON_NODE_HOLDS_ARRAY (models))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The price table must be a JSON object with a list of "
                             "entries in “models”"));
      return NULL;
    }

  object = json_node_get_object (root);
  members = json_object_get_members (object);
  for (const GList *l = members; l != NULL; l = l->next)
    {
      if (!g_str_equal (l->data, "models"))
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                       _("The price table has an unknown field “%s”; it has only "
                         "“models”"),
                       (const char *) l->data);
          return NULL;
        }
    }

  self = price_table_new ();
  array = json_node_get_array (models);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      if (!parse_entry (self, json_array_get_element (array, i), i + 1, error))
        return NULL;
    }

  return g_steal_pointer (&self);
}

RflPriceTable *
rfl_price_table_new_default (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  RflPriceTable *self;
  gsize size;
  const char *data;

  bytes = g_resources_lookup_data (DEFAULT_PRICES_PATH, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (bytes == NULL)
    {
      g_critical ("Cannot load the default prices: %s", error->message);
      return price_table_new ();
    }

  data = g_bytes_get_data (bytes, &size);
  self = rfl_price_table_new_from_json (data, (gssize) size, &error);
  if (self == NULL)
    {
      g_critical ("The default prices are not valid: %s", error->message);
      return price_table_new ();
    }

  return self;
}

/* ------------------------------------------------------------ serialising */

static char *
json_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);

  return json_to_string (node, FALSE);
}

char *
rfl_price_table_to_json (RflPriceTable *self)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_new ("{\n  \"models\": [");
  for (guint i = 0; i < self->prices->len; i++)
    {
      const RflPrice *price = &g_array_index (self->prices, RflPrice, i);
      g_autofree char *model = json_quote (price->pattern);
      g_autofree char *input = rfl_price_format_dollars (price->input_micro_usd);
      g_autofree char *output = rfl_price_format_dollars (price->output_micro_usd);

      /* The numbers are written as their exact decimal text; a double
       * would print 0.15 as 0.14999999999999999. */
      g_string_append_printf (out, "%s\n    { \"model\": %s, \"input\": %s, \"output\": %s }",
                              i > 0 ? "," : "", model, input, output);
    }
  g_string_append (out, self->prices->len > 0 ? "\n  ]\n}\n" : "]\n}\n");

  return g_string_free (out, FALSE);
}

/* ---------------------------------------------------------------- lookup */

guint
rfl_price_table_get_n_prices (RflPriceTable *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->prices->len;
}

const RflPrice *
rfl_price_table_get_price (RflPriceTable *self,
                           guint          index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->prices->len, NULL);

  return &g_array_index (self->prices, RflPrice, index);
}

const RflPrice *
rfl_price_table_lookup (RflPriceTable *self,
                        const char    *model)
{
  guint position;

  g_return_val_if_fail (self != NULL, NULL);

  if (model == NULL)
    return NULL;

  position = GPOINTER_TO_UINT (g_hash_table_lookup (self->exact, model));
  if (position != 0)
    return &g_array_index (self->prices, RflPrice, position - 1);

  for (guint i = 0; i < self->prices->len; i++)
    {
      const RflPrice *price = &g_array_index (self->prices, RflPrice, i);

      if (is_glob (price->pattern) && g_pattern_match_simple (price->pattern, model))
        return price;
    }

  return NULL;
}

gboolean
rfl_price_table_estimate_cost (RflPriceTable *self,
                               const char    *model,
                               guint64        tokens_in,
                               guint64        tokens_out,
                               guint64       *cost_micro_usd)
{
  const RflPrice *price;

  g_return_val_if_fail (self != NULL, FALSE);

  price = rfl_price_table_lookup (self, model);
  if (cost_micro_usd != NULL)
    *cost_micro_usd = price != NULL ? rfl_price_estimate_cost (price, tokens_in, tokens_out) : 0;

  return price != NULL;
}
