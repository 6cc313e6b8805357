/* rfl-markdown.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-markdown.h"

#include <cmark.h>
#include <glib/gi18n.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (cmark_node, cmark_node_free)

#define PARSE_OPTIONS (CMARK_OPT_SOURCEPOS | CMARK_OPT_VALIDATE_UTF8)

/* One block of the syntax tree and the widgets showing it. Containers
 * (block quotes, lists and their items) keep their children as blocks too,
 * so that a growing list updates only its last item. */
typedef struct _Block Block;

struct _Block
{
  cmark_node_type  type;
  char            *source;     /* owned: the block's source lines */
  int              level;      /* heading level; list type */
  int              start;      /* list start */
  gboolean         tight;      /* list tightness */
  GtkWidget       *widget;     /* borrowed: a child of the parent block */
  GtkWidget       *label;      /* borrowed: the text label or item marker */
  GtkWidget       *language;   /* borrowed: a code block's language label */
  GtkWidget       *content;    /* borrowed: where children go */
  GPtrArray       *children;   /* owned, of Block; containers only */
};

/* What a render needs besides the tree: the text and where lines start. */
typedef struct
{
  const char *text;
  gsize       length;
  GArray     *line_starts;     /* of gsize */
  guint       n_built;
  guint       n_updated;
} RenderContext;

struct _RflMarkdownView
{
  GtkWidget  parent_instance;

  char      *markdown;          /* owned: the text last set or queued */
  gboolean   dirty;             /* @markdown is not rendered yet */
  GPtrArray *blocks;            /* owned, of Block: the top-level blocks */
  gint64     last_render_us;    /* monotonic time of the last render */
  guint      throttle_id;

  guint      n_renders;
  guint      n_built;
  guint      n_updated;
};

G_DEFINE_FINAL_TYPE (RflMarkdownView, rfl_markdown_view, GTK_TYPE_WIDGET)

static void block_free (Block *block);

static void
block_free (Block *block)
{
  g_free (block->source);
  g_clear_pointer (&block->children, g_ptr_array_unref);
  g_free (block);
}

gboolean
rfl_markdown_uri_is_safe (const char *uri)
{
  g_autofree char *scheme = NULL;

  if (uri == NULL)
    return FALSE;

  scheme = g_uri_parse_scheme (uri);
  if (scheme == NULL)
    return FALSE;

  return g_ascii_strcasecmp (scheme, "http") == 0
         || g_ascii_strcasecmp (scheme, "https") == 0
         || g_ascii_strcasecmp (scheme, "mailto") == 0;
}

/* Escapes @text for Pango markup. Control characters other than tab and
 * newline have no business in a label: each becomes U+FFFD. */
static void
append_escaped (GString    *markup,
                const char *text)
{
  if (text == NULL)
    return;

  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '&':
          g_string_append (markup, "&amp;");
          break;
        case '<':
          g_string_append (markup, "&lt;");
          break;
        case '>':
          g_string_append (markup, "&gt;");
          break;
        case '"':
          g_string_append (markup, "&quot;");
          break;
        case '\'':
          g_string_append (markup, "&apos;");
          break;
        case '\t':
        case '\n':
          g_string_append_c (markup, *p);
          break;
        default:
          if ((guchar) *p < 0x20 || *p == 0x7f)
            g_string_append (markup, "\xef\xbf\xbd");
          else
            g_string_append_c (markup, *p);
          break;
        }
    }
}

/* Links open only when their scheme is safe; the text of others shows
 * as plain text. */
static void
append_link (GString    *markup,
             cmark_node *node,
             gboolean    entering)
{
  const char *url = cmark_node_get_url (node);
  const char *title = cmark_node_get_title (node);

  if (!rfl_markdown_uri_is_safe (url))
    return;

  if (!entering)
    {
      g_string_append (markup, "</a>");
      return;
    }

  g_string_append (markup, "<a href=\"");
  append_escaped (markup, url);
  g_string_append_c (markup, '"');
  if (title != NULL && *title != '\0')
    {
      g_string_append (markup, " title=\"");
      append_escaped (markup, title);
      g_string_append_c (markup, '"');
    }
  g_string_append_c (markup, '>');
}

/* The Pango markup of the inline children of @parent. The tree is walked
 * with enter and exit events, so tags always balance. */
static void
append_inline_markup (GString    *markup,
                      cmark_node *parent)
{
  cmark_iter *iter = cmark_iter_new (parent);
  cmark_event_type event;

  while ((event = cmark_iter_next (iter)) != CMARK_EVENT_DONE)
    {
      cmark_node *node = cmark_iter_get_node (iter);
      gboolean entering = event == CMARK_EVENT_ENTER;

      if (node == parent)
        continue;

      switch ((int) cmark_node_get_type (node))
        {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_HTML_INLINE:
          append_escaped (markup, cmark_node_get_literal (node));
          break;

        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK:
          g_string_append_c (markup, '\n');
          break;

        case CMARK_NODE_CODE:
          g_string_append (markup, "<tt>");
          append_escaped (markup, cmark_node_get_literal (node));
          g_string_append (markup, "</tt>");
          break;

        case CMARK_NODE_EMPH:
          g_string_append (markup, entering ? "<i>" : "</i>");
          break;

        case CMARK_NODE_STRONG:
          g_string_append (markup, entering ? "<b>" : "</b>");
          break;

        case CMARK_NODE_LINK:
        case CMARK_NODE_IMAGE:
          append_link (markup, node, entering);
          break;

        default:
          break;
        }
    }

  cmark_iter_free (iter);
}

static char *
dup_inline_markup (cmark_node *node)
{
  GString *markup = g_string_new (NULL);

  append_inline_markup (markup, node);

  return g_string_free (markup, FALSE);
}

char *
rfl_markdown_inline_to_markup (const char *markdown)
{
  g_autoptr(cmark_node) document = NULL;
  cmark_iter *iter;
  cmark_event_type event;
  char *markup = NULL;

  g_return_val_if_fail (markdown != NULL, NULL);

  document = cmark_parse_document (markdown, strlen (markdown), PARSE_OPTIONS);
  iter = cmark_iter_new (document);

  while (markup == NULL && (event = cmark_iter_next (iter)) != CMARK_EVENT_DONE)
    {
      cmark_node *node = cmark_iter_get_node (iter);
      cmark_node_type type = cmark_node_get_type (node);

      if (event == CMARK_EVENT_ENTER
          && (type == CMARK_NODE_PARAGRAPH || type == CMARK_NODE_HEADING))
        markup = dup_inline_markup (node);
    }

  cmark_iter_free (iter);

  return markup != NULL ? markup : g_strdup ("");
}

char *
rfl_markdown_to_plain_text (const char *markdown)
{
  g_autoptr(cmark_node) document = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  cmark_iter *iter;
  cmark_event_type event;
  gboolean space = FALSE;

  g_return_val_if_fail (markdown != NULL, NULL);

  document = cmark_parse_document (markdown, strlen (markdown), PARSE_OPTIONS);
  iter = cmark_iter_new (document);

  while ((event = cmark_iter_next (iter)) != CMARK_EVENT_DONE)
    {
      cmark_node *node = cmark_iter_get_node (iter);
      const char *literal = NULL;

      switch ((int) cmark_node_get_type (node))
        {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE:
        case CMARK_NODE_CODE_BLOCK:
        case CMARK_NODE_HTML_INLINE:
        case CMARK_NODE_HTML_BLOCK:
          literal = cmark_node_get_literal (node);
          break;

        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK:
        case CMARK_NODE_PARAGRAPH:
        case CMARK_NODE_HEADING:
        case CMARK_NODE_ITEM:
          space = TRUE;
          break;

        default:
          break;
        }

      if (literal == NULL || *literal == '\0')
        continue;

      /* Runs of blanks, new lines included, become one space. */
      for (const char *p = literal; *p != '\0'; p++)
        {
          if (g_ascii_isspace (*p))
            space = TRUE;
          else
            {
              if (space && text->len > 0)
                g_string_append_c (text, ' ');
              space = FALSE;
              g_string_append_c (text, *p);
            }
        }
    }

  cmark_iter_free (iter);

  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Rendering ---------------------------------------------------------- */

static GArray *
find_line_starts (const char *text,
                  gsize       length)
{
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize zero = 0;

  g_array_append_val (starts, zero);
  for (gsize i = 0; i < length; i++)
    {
      if (text[i] == '\n')
        {
          gsize next = i + 1;

          g_array_append_val (starts, next);
        }
    }

  return starts;
}

/* The source lines of @node: two blocks with the same lines render the
 * same, so they identify a block between renders. */
static char *
dup_block_source (RenderContext *context,
                  cmark_node    *node)
{
  int first = cmark_node_get_start_line (node);
  int last = cmark_node_get_end_line (node);
  guint n_lines = context->line_starts->len;
  gsize start, end;

  if (first < 1 || (guint) first > n_lines)
    return g_strdup ("");

  start = g_array_index (context->line_starts, gsize, first - 1);
  if (last >= first && (guint) last < n_lines)
    end = g_array_index (context->line_starts, gsize, last);
  else
    end = context->length;

  return g_strndup (context->text + start, end - start);
}

static gboolean
label_activate_link_cb (GtkLabel   *label,
                        const char *uri)
{
  /* TRUE stops the default handler from opening the link. */
  return !rfl_markdown_uri_is_safe (uri);
}

static GtkWidget *
new_text_label (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_widget_set_halign (label, GTK_ALIGN_FILL);
  g_signal_connect (label, "activate-link",
                    G_CALLBACK (label_activate_link_cb), NULL);

  return label;
}

static const char *
heading_style_class (int level)
{
  switch (level)
    {
    case 1:
      return "title-2";
    case 2:
      return "title-3";
    case 3:
      return "title-4";
    default:
      return "heading";
    }
}

static char *
dup_code_text (cmark_node *node)
{
  const char *literal = cmark_node_get_literal (node);
  gsize length = literal != NULL ? strlen (literal) : 0;

  /* The literal ends with the newline of its last line. */
  if (length > 0 && literal[length - 1] == '\n')
    length--;

  return g_strndup (literal != NULL ? literal : "", length);
}

static char *
dup_code_language (cmark_node *node)
{
  const char *info = cmark_node_get_fence_info (node);
  const char *end;

  if (info == NULL)
    return NULL;

  while (g_ascii_isspace (*info))
    info++;
  for (end = info; *end != '\0' && !g_ascii_isspace (*end); end++)
    ;

  if (end == info)
    return NULL;

  return g_strndup (info, end - info);
}

static gboolean
restore_copy_button_cb (gpointer user_data)
{
  GtkButton *button = user_data;

  gtk_button_set_icon_name (button, "edit-copy-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (button), _("Copy Code"));

  return G_SOURCE_REMOVE;
}

static void
copy_button_clicked_cb (GtkButton *button,
                        GtkLabel  *code_label)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (button));

  gdk_clipboard_set_text (clipboard, gtk_label_get_text (code_label));

  /* The button says it worked for a moment. */
  gtk_button_set_icon_name (button, "object-select-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (button), _("Copied"));
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, 2, restore_copy_button_cb,
                              g_object_ref (button), g_object_unref);
}

static void
update_code_block (Block      *block,
                   cmark_node *node)
{
  g_autofree char *code = dup_code_text (node);
  g_autofree char *language = dup_code_language (node);

  if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (block->label)), code) != 0)
    gtk_label_set_text (GTK_LABEL (block->label), code);

  gtk_label_set_text (GTK_LABEL (block->language),
                      language != NULL ? language : _("Code"));
}

static GtkWidget *
build_code_block (Block *block)
{
  GtkWidget *card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");

  gtk_widget_add_css_class (card, "md-code-block");
  gtk_widget_add_css_class (header, "md-code-header");

  block->language = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (block->language), 0);
  gtk_label_set_ellipsize (GTK_LABEL (block->language), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (block->language, TRUE);
  gtk_widget_add_css_class (block->language, "caption");
  gtk_widget_add_css_class (block->language, "dim-label");
  gtk_box_append (GTK_BOX (header), block->language);

  gtk_widget_set_tooltip_text (copy, _("Copy Code"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (copy),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy Code"),
                                  -1);
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_add_css_class (copy, "md-copy-button");
  gtk_box_append (GTK_BOX (header), copy);
  gtk_box_append (GTK_BOX (card), header);

  block->label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (block->label), 0);
  gtk_label_set_yalign (GTK_LABEL (block->label), 0);
  gtk_label_set_selectable (GTK_LABEL (block->label), TRUE);
  gtk_widget_add_css_class (block->label, "monospace");
  gtk_widget_add_css_class (block->label, "md-code");
  g_signal_connect (copy, "clicked", G_CALLBACK (copy_button_clicked_cb),
                    block->label);

  /* Long lines scroll sideways rather than wrap. */
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller),
                                  GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), block->label);
  gtk_box_append (GTK_BOX (card), scroller);

  return card;
}

static void sync_blocks (RenderContext *context,
                         GPtrArray     *blocks,
                         GtkWidget     *parent,
                         cmark_node    *first_child);

static char *
dup_item_marker (Block *list,
                 guint  index)
{
  if (list->level == CMARK_ORDERED_LIST)
    return g_strdup_printf ("%d.", list->start + (int) index);

  return g_strdup ("•");
}

/* List markers follow the items' positions. */
static void
update_item_markers (Block *list)
{
  for (guint i = 0; i < list->children->len; i++)
    {
      Block *item = g_ptr_array_index (list->children, i);
      g_autofree char *marker = dup_item_marker (list, i);

      if (item->label == NULL)
        continue;
      if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (item->label)), marker) != 0)
        gtk_label_set_text (GTK_LABEL (item->label), marker);
    }
}

/* Fills @block's widgets from @node, which has the same type and the
 * attributes that decide the widgets' shape. */
static void
update_block (RenderContext *context,
              Block         *block,
              cmark_node    *node)
{
  switch ((int) block->type)
    {
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_HEADING:
      {
        g_autofree char *markup = dup_inline_markup (node);

        if (g_strcmp0 (gtk_label_get_label (GTK_LABEL (block->label)), markup) != 0)
          gtk_label_set_markup (GTK_LABEL (block->label), markup);
      }
      break;

    case CMARK_NODE_HTML_BLOCK:
      {
        g_autofree char *text = g_strdup (cmark_node_get_literal (node));

        g_strchomp (text);
        gtk_label_set_text (GTK_LABEL (block->label), text);
      }
      break;

    case CMARK_NODE_CODE_BLOCK:
      update_code_block (block, node);
      break;

    case CMARK_NODE_BLOCK_QUOTE:
    case CMARK_NODE_ITEM:
      sync_blocks (context, block->children, block->content,
                   cmark_node_first_child (node));
      break;

    case CMARK_NODE_LIST:
      sync_blocks (context, block->children, block->content,
                   cmark_node_first_child (node));
      update_item_markers (block);
      break;

    default:
      break;
    }
}

static void
read_attributes (Block      *block,
                 cmark_node *node)
{
  if (block->type == CMARK_NODE_HEADING)
    block->level = cmark_node_get_heading_level (node);
  else if (block->type == CMARK_NODE_LIST)
    {
      block->level = cmark_node_get_list_type (node);
      block->start = cmark_node_get_list_start (node);
      block->tight = cmark_node_get_list_tight (node);
    }
}

/* Whether @block's widgets can show @node by updating their contents. */
static gboolean
block_can_show (Block      *block,
                cmark_node *node)
{
  Block probe = { .type = cmark_node_get_type (node) };

  if (probe.type != block->type)
    return FALSE;

  read_attributes (&probe, node);

  return probe.level == block->level
         && probe.start == block->start
         && probe.tight == block->tight;
}

static Block *
build_block (RenderContext *context,
             cmark_node    *node)
{
  Block *block = g_new0 (Block, 1);

  block->type = cmark_node_get_type (node);
  block->source = dup_block_source (context, node);
  read_attributes (block, node);

  switch ((int) block->type)
    {
    case CMARK_NODE_PARAGRAPH:
    case CMARK_NODE_HTML_BLOCK:
      block->label = block->widget = new_text_label ();
      gtk_widget_add_css_class (block->widget, "md-paragraph");
      break;

    case CMARK_NODE_HEADING:
      block->label = block->widget = new_text_label ();
      gtk_widget_add_css_class (block->widget, "md-heading");
      gtk_widget_add_css_class (block->widget, heading_style_class (block->level));
      gtk_accessible_update_property (GTK_ACCESSIBLE (block->widget),
                                      GTK_ACCESSIBLE_PROPERTY_LEVEL, block->level,
                                      -1);
      break;

    case CMARK_NODE_CODE_BLOCK:
      block->widget = build_code_block (block);
      break;

    case CMARK_NODE_THEMATIC_BREAK:
      block->widget = gtk_separator_new (GTK_ORIENTATION_HORIZONTAL);
      gtk_widget_add_css_class (block->widget, "md-rule");
      break;

    case CMARK_NODE_BLOCK_QUOTE:
      block->widget = block->content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
      gtk_widget_add_css_class (block->widget, "md-blockquote");
      break;

    case CMARK_NODE_LIST:
      block->widget = block->content = gtk_box_new (GTK_ORIENTATION_VERTICAL,
                                                    block->tight ? 4 : 10);
      gtk_widget_add_css_class (block->widget, "md-list");
      break;

    case CMARK_NODE_ITEM:
      block->widget = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
      block->label = gtk_label_new (NULL);
      gtk_label_set_yalign (GTK_LABEL (block->label), 0);
      gtk_label_set_xalign (GTK_LABEL (block->label), 1);
      gtk_widget_set_valign (block->label, GTK_ALIGN_START);
      gtk_widget_add_css_class (block->label, "md-list-marker");
      gtk_widget_add_css_class (block->label, "dim-label");
      gtk_box_append (GTK_BOX (block->widget), block->label);
      block->content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
      gtk_widget_set_hexpand (block->content, TRUE);
      gtk_box_append (GTK_BOX (block->widget), block->content);
      break;

    default:
      /* Custom blocks have nothing to show. */
      block->widget = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
      break;
    }

  if (block->content != NULL)
    block->children = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);

  update_block (context, block, node);
  context->n_built++;

  return block;
}

/* Makes @blocks (the children of @parent) show the siblings starting at
 * @first_child: blocks whose source did not change are left alone, blocks
 * of the same shape are updated in place, the others are built again. */
static void
sync_blocks (RenderContext *context,
             GPtrArray     *blocks,
             GtkWidget     *parent,
             cmark_node    *first_child)
{
  GtkWidget *previous = NULL;
  cmark_node *node;
  guint i = 0;

  for (node = first_child; node != NULL; node = cmark_node_next (node), i++)
    {
      g_autofree char *source = dup_block_source (context, node);
      Block *old = i < blocks->len ? g_ptr_array_index (blocks, i) : NULL;

      if (old != NULL && old->type == cmark_node_get_type (node)
          && g_str_equal (old->source, source))
        {
          previous = old->widget;
          continue;
        }

      if (old != NULL && block_can_show (old, node))
        {
          g_free (old->source);
          old->source = g_steal_pointer (&source);
          update_block (context, old, node);
          context->n_updated++;
          previous = old->widget;
          continue;
        }

      {
        Block *block = build_block (context, node);

        gtk_widget_insert_after (block->widget, parent, previous);
        previous = block->widget;

        if (old != NULL)
          {
            gtk_widget_unparent (old->widget);
            blocks->pdata[i] = block;
            block_free (old);
          }
        else
          g_ptr_array_add (blocks, block);
      }
    }

  while (blocks->len > i)
    {
      Block *old = g_ptr_array_index (blocks, blocks->len - 1);

      gtk_widget_unparent (old->widget);
      g_ptr_array_remove_index (blocks, blocks->len - 1);
    }
}

static void
render (RflMarkdownView *self)
{
  g_autoptr(cmark_node) document = NULL;
  RenderContext context = { 0 };
  const char *text = self->markdown != NULL ? self->markdown : "";

  g_clear_handle_id (&self->throttle_id, g_source_remove);

  context.text = text;
  context.length = strlen (text);
  context.line_starts = find_line_starts (text, context.length);

  document = cmark_parse_document (text, context.length, PARSE_OPTIONS);
  sync_blocks (&context, self->blocks, GTK_WIDGET (self),
               cmark_node_first_child (document));

  g_array_unref (context.line_starts);

  self->dirty = FALSE;
  self->last_render_us = g_get_monotonic_time ();
  self->n_renders++;
  self->n_built += context.n_built;
  self->n_updated += context.n_updated;
}

static gboolean
throttle_cb (gpointer user_data)
{
  RflMarkdownView *self = user_data;

  self->throttle_id = 0;
  if (self->dirty)
    render (self);

  return G_SOURCE_REMOVE;
}

static void
rfl_markdown_view_dispose (GObject *object)
{
  RflMarkdownView *self = RFL_MARKDOWN_VIEW (object);
  GtkWidget *child;

  g_clear_handle_id (&self->throttle_id, g_source_remove);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  if (self->blocks != NULL)
    g_ptr_array_set_size (self->blocks, 0);

  G_OBJECT_CLASS (rfl_markdown_view_parent_class)->dispose (object);
}

static void
rfl_markdown_view_finalize (GObject *object)
{
  RflMarkdownView *self = RFL_MARKDOWN_VIEW (object);

  g_clear_pointer (&self->blocks, g_ptr_array_unref);
  g_free (self->markdown);

  G_OBJECT_CLASS (rfl_markdown_view_parent_class)->finalize (object);
}

static void
rfl_markdown_view_class_init (RflMarkdownViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_markdown_view_dispose;
  object_class->finalize = rfl_markdown_view_finalize;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "markdown");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
rfl_markdown_view_init (RflMarkdownView *self)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (GTK_WIDGET (self));

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout),
                                  GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 12);

  self->blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
}

GtkWidget *
rfl_markdown_view_new (void)
{
  return g_object_new (RFL_TYPE_MARKDOWN_VIEW, NULL);
}

static gboolean
set_text (RflMarkdownView *self,
          const char      *markdown)
{
  if (markdown == NULL)
    markdown = "";

  if (self->markdown != NULL && g_str_equal (self->markdown, markdown))
    return FALSE;

  g_free (self->markdown);
  self->markdown = g_strdup (markdown);
  self->dirty = TRUE;

  return TRUE;
}

void
rfl_markdown_view_set_markdown (RflMarkdownView *self,
                                const char      *markdown)
{
  g_return_if_fail (RFL_IS_MARKDOWN_VIEW (self));

  set_text (self, markdown);
  if (self->dirty)
    render (self);
}

void
rfl_markdown_view_queue_markdown (RflMarkdownView *self,
                                  const char      *markdown)
{
  gint64 elapsed_us;

  g_return_if_fail (RFL_IS_MARKDOWN_VIEW (self));

  if (!set_text (self, markdown) || self->throttle_id != 0)
    return;

  elapsed_us = g_get_monotonic_time () - self->last_render_us;
  if (elapsed_us >= RFL_MARKDOWN_VIEW_THROTTLE_MS * G_TIME_SPAN_MILLISECOND)
    {
      render (self);
      return;
    }

  self->throttle_id =
    g_timeout_add (RFL_MARKDOWN_VIEW_THROTTLE_MS - elapsed_us / G_TIME_SPAN_MILLISECOND,
                   throttle_cb, self);
}

void
rfl_markdown_view_flush (RflMarkdownView *self)
{
  g_return_if_fail (RFL_IS_MARKDOWN_VIEW (self));

  if (self->dirty)
    render (self);
}

const char *
rfl_markdown_view_get_markdown (RflMarkdownView *self)
{
  g_return_val_if_fail (RFL_IS_MARKDOWN_VIEW (self), NULL);

  return self->markdown != NULL ? self->markdown : "";
}

guint
rfl_markdown_view_get_n_blocks (RflMarkdownView *self)
{
  g_return_val_if_fail (RFL_IS_MARKDOWN_VIEW (self), 0);

  return self->blocks->len;
}

void
rfl_markdown_view_get_stats (RflMarkdownView *self,
                             guint           *n_renders,
                             guint           *n_built,
                             guint           *n_updated)
{
  g_return_if_fail (RFL_IS_MARKDOWN_VIEW (self));

  if (n_renders != NULL)
    *n_renders = self->n_renders;
  if (n_built != NULL)
    *n_built = self->n_built;
  if (n_updated != NULL)
    *n_updated = self->n_updated;
}
