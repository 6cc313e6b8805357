/* test-markdown.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <adwaita.h>

#include "ui/rfl-markdown.h"

static void
spin (guint milliseconds)
{
  gint64 end = g_get_monotonic_time () + milliseconds * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (G_TIME_SPAN_MILLISECOND);
    }
}

/* GtkLabel parses links itself and hands the rest to Pango; warnings are
 * fatal here, so markup it refuses fails the test. */
static void
assert_valid_markup (const char *markup)
{
  GtkWidget *label = g_object_ref_sink (gtk_label_new (NULL));

  gtk_label_set_markup (GTK_LABEL (label), markup);
  g_object_unref (label);
}

static void
assert_inline (const char *markdown,
               const char *expected)
{
  g_autofree char *markup = rfl_markdown_inline_to_markup (markdown);

  g_assert_cmpstr (markup, ==, expected);
  assert_valid_markup (markup);
}

static void
test_inline_markup (void)
{
  assert_inline ("plain words", "plain words");
  assert_inline ("**bold** and *italic*", "<b>bold</b> and <i>italic</i>");
  assert_inline ("use `g_free ()` here", "use <tt>g_free ()</tt> here");
  assert_inline ("***both***", "<i><b>both</b></i>");
  assert_inline ("line one\nline two", "line one\nline two");
  assert_inline ("# A heading", "A heading");
  assert_inline ("[GNOME](https://gnome.org \"Home\")",
                 "<a href=\"https://gnome.org\" title=\"Home\">GNOME</a>");
  assert_inline ("<mail@example.org>",
                 "<a href=\"mailto:mail@example.org\">mail@example.org</a>");
}

/* Everything the text says reaches the label as text, never as markup. */
static void
test_inline_escapes (void)
{
  assert_inline ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d");
  assert_inline ("<b>not bold</b>", "&lt;b&gt;not bold&lt;/b&gt;");
  assert_inline ("<span foreground='red'>x</span>",
                 "&lt;span foreground=&apos;red&apos;&gt;x&lt;/span&gt;");
  assert_inline ("`<tt>` & \"quotes\"",
                 "<tt>&lt;tt&gt;</tt> &amp; &quot;quotes&quot;");
  assert_inline ("[x](https://example.org/?a=1&b=\"2\")",
                 "<a href=\"https://example.org/?a=1&amp;b=&quot;2&quot;\">x</a>");
  assert_inline ("&lt;entity&gt;", "&lt;entity&gt;");
  /* Control characters are replaced, not passed on. */
  assert_inline ("bell \a and escape \x1b", "bell \xef\xbf\xbd and escape \xef\xbf\xbd");
}

static void
test_plain_text (void)
{
  const struct { const char *markdown; const char *plain; } cases[] = {
    { "The new protocol has **three** changes:\n\n1. Every *walk-in*",
      "The new protocol has three changes: Every walk-in" },
    { "Use `g_free ()`, not <b>free</b>.", "Use g_free (), not <b>free</b>." },
    { "# Title\n\n```c\nint x;\n```", "Title int x;" },
    { "  \n\n  ", "" },
    { "[a link](https://gnome.org) and > quote", "a link and > quote" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *plain = rfl_markdown_to_plain_text (cases[i].markdown);

      g_assert_cmpstr (plain, ==, cases[i].plain);
    }
}

static void
test_unsafe_links (void)
{
  g_assert_true (rfl_markdown_uri_is_safe ("https://gnome.org"));
  g_assert_true (rfl_markdown_uri_is_safe ("HTTP://gnome.org"));
  g_assert_true (rfl_markdown_uri_is_safe ("mailto:a@b.org"));
  g_assert_false (rfl_markdown_uri_is_safe ("javascript:alert(1)"));
  g_assert_false (rfl_markdown_uri_is_safe ("file:///etc/passwd"));
  g_assert_false (rfl_markdown_uri_is_safe ("relative/path"));
  g_assert_false (rfl_markdown_uri_is_safe (""));
  g_assert_false (rfl_markdown_uri_is_safe (NULL));

  /* The text stays; the link goes. */
  assert_inline ("[click](javascript:alert(1))", "click");
  assert_inline ("[open](file:///etc/passwd)", "open");
  assert_inline ("![a cat](https://example.org/cat.png)",
                 "<a href=\"https://example.org/cat.png\">a cat</a>");
}

/* Invalid UTF-8 and control bytes give valid markup, not a warning. */
static void
test_malformed_input (void)
{
  const char *inputs[] = {
    "broken \xff\xfe utf-8",
    "half a character \xe2\x82",
    "**unclosed bold",
    "[unclosed link(",
    "```\nunclosed fence",
    "> > > nested *quotes",
    "1. one\n   - two\n     > three `code",
    "<div>raw html</div>",
    "\x01\x02\x03\x1f",
  };
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autofree char *markup = rfl_markdown_inline_to_markup (inputs[i]);

      g_assert_true (g_utf8_validate (markup, -1, NULL));
      assert_valid_markup (markup);
      rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), inputs[i]);
      g_assert_cmpuint (rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (view)), >, 0);
    }

  g_object_unref (view);
}

static GtkWidget *
find_widget (GtkWidget  *root,
             GType       type,
             const char *css_class)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type)
          && (css_class == NULL || gtk_widget_has_css_class (child, css_class)))
        return child;

      found = find_widget (child, type, css_class);
      if (found != NULL)
        return found;
    }

  return NULL;
}

static guint
count_widgets (GtkWidget  *root,
               GType       type,
               const char *css_class)
{
  guint count = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type)
          && (css_class == NULL || gtk_widget_has_css_class (child, css_class)))
        count++;
      count += count_widgets (child, type, css_class);
    }

  return count;
}

static const char document[] =
  "# Plan\n"
  "\n"
  "First **do** this:\n"
  "\n"
  "1. Boil water\n"
  "2. Add *tea*\n"
  "\n"
  "> Patience is a virtue.\n"
  "\n"
  "```python\n"
  "print(\"<hello>\")\n"
  "x = 1 & 2\n"
  "```\n"
  "\n"
  "---\n"
  "\n"
  "- a\n"
  "- b\n";

static void
test_blocks (void)
{
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());
  GtkWidget *code, *heading, *quote, *list;
  GtkWidget *label;

  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), document);

  /* Heading, paragraph, list, quote, code, rule, list. */
  g_assert_cmpuint (rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (view)), ==, 7);

  heading = find_widget (view, GTK_TYPE_LABEL, "md-heading");
  g_assert_nonnull (heading);
  g_assert_true (gtk_widget_has_css_class (heading, "title-2"));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (heading)), ==, "Plan");

  code = find_widget (view, GTK_TYPE_BOX, "md-code-block");
  g_assert_nonnull (code);
  label = find_widget (code, GTK_TYPE_LABEL, "md-code");
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_has_css_class (label, "monospace"));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==,
                   "print(\"<hello>\")\nx = 1 & 2");
  g_assert_false (gtk_label_get_use_markup (GTK_LABEL (label)));
  label = find_widget (code, GTK_TYPE_LABEL, "caption");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "python");
  g_assert_nonnull (find_widget (code, GTK_TYPE_BUTTON, "md-copy-button"));

  quote = find_widget (view, GTK_TYPE_BOX, "md-blockquote");
  g_assert_nonnull (quote);
  label = find_widget (quote, GTK_TYPE_LABEL, "md-paragraph");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "Patience is a virtue.");

  list = find_widget (view, GTK_TYPE_BOX, "md-list");
  g_assert_nonnull (list);
  g_assert_cmpuint (count_widgets (list, GTK_TYPE_LABEL, "md-list-marker"), ==, 2);
  label = find_widget (list, GTK_TYPE_LABEL, "md-list-marker");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "1.");

  g_assert_cmpuint (count_widgets (view, GTK_TYPE_LABEL, "md-list-marker"), ==, 4);
  g_assert_cmpuint (count_widgets (view, GTK_TYPE_SEPARATOR, "md-rule"), ==, 1);

  /* Setting less text removes what is gone. */
  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), "Just this.");
  g_assert_cmpuint (rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (view)), ==, 1);
  g_assert_null (find_widget (view, GTK_TYPE_BOX, "md-code-block"));
  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), NULL);
  g_assert_cmpuint (rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (view)), ==, 0);
  g_assert_null (gtk_widget_get_first_child (view));

  g_object_unref (view);
}

static void
test_code_without_language (void)
{
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());
  GtkWidget *code, *label;

  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), "    indented code\n");
  code = find_widget (view, GTK_TYPE_BOX, "md-code-block");
  g_assert_nonnull (code);
  label = find_widget (code, GTK_TYPE_LABEL, "caption");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "Code");
  label = find_widget (code, GTK_TYPE_LABEL, "md-code");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "indented code");

  g_object_unref (view);
}

static void
test_copy_button (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = rfl_markdown_view_new ();
  GtkWidget *button;
  GdkClipboard *clipboard;
  GdkContentProvider *content;
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;

  gtk_window_set_child (GTK_WINDOW (window), view);
  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view),
                                  "Run:\n\n```sh\nmeson test -C build\n```\n");
  gtk_window_present (GTK_WINDOW (window));

  button = find_widget (view, GTK_TYPE_BUTTON, "md-copy-button");
  g_assert_nonnull (button);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (button), ==, "Copy Code");
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (button), ==, "Copied");

  clipboard = gtk_widget_get_clipboard (button);
  content = gdk_clipboard_get_content (clipboard);
  g_assert_nonnull (content);
  g_value_init (&value, G_TYPE_STRING);
  g_assert_true (gdk_content_provider_get_value (content, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (g_value_get_string (&value), ==, "meson test -C build");

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_links_activate_safely (void)
{
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());
  GtkWidget *label;
  gboolean handled = FALSE;

  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view),
                                  "[safe](https://gnome.org)");
  label = find_widget (view, GTK_TYPE_LABEL, "md-paragraph");
  g_assert_nonnull (label);
  g_assert_true (gtk_label_get_use_markup (GTK_LABEL (label)));

  /* An unsafe link that reached a label anyway is never opened. */
  g_signal_emit_by_name (label, "activate-link", "file:///etc/passwd", &handled);
  g_assert_true (handled);

  g_object_unref (view);
}

/* Streaming: each render keeps the blocks that did not change, so the
 * work per render stays small however long the answer grows. */
static void
test_incremental (void)
{
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *first_block = NULL;
  guint n_renders, n_built, n_updated;
  guint n_steps = 0;

  for (guint paragraph = 0; paragraph < 20; paragraph++)
    {
      for (guint word = 0; word < 30; word++)
        {
          g_string_append_printf (text, "word%u ", word);
          rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), text->str);
          n_steps++;

          if (first_block == NULL)
            first_block = gtk_widget_get_first_child (view);
          g_assert_true (gtk_widget_get_first_child (view) == first_block);
        }
      g_string_append (text, "\n\n");
    }

  g_assert_cmpuint (rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (view)), ==, 20);
  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), &n_renders, &n_built, &n_updated);
  g_assert_cmpuint (n_renders, ==, n_steps);
  /* One label per paragraph, each then updated in place as it grows (and
   * once more when the blank line after it arrives). */
  g_assert_cmpuint (n_built, ==, 20);
  g_assert_cmpuint (n_updated, <=, n_steps);
  g_assert_cmpuint (n_updated, >=, n_steps - 20);

  g_object_unref (view);
}

/* A list or code block that grows updates its last item or its text. */
static void
test_incremental_containers (void)
{
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());
  g_autoptr(GString) text = g_string_new ("Steps:\n\n");
  GtkWidget *code_block;
  guint n_built_before, n_built_after;

  for (guint i = 1; i <= 30; i++)
    {
      g_string_append_printf (text, "- step %u", i);
      rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), text->str);
      g_string_append (text, " done\n");
      rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), text->str);
    }

  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), NULL, &n_built_before, NULL);
  /* Paragraph, list, then an item and its paragraph per step. */
  g_assert_cmpuint (n_built_before, ==, 2 + 30 * 2);
  g_assert_cmpuint (count_widgets (view, GTK_TYPE_LABEL, "md-list-marker"), ==, 30);

  g_string_append (text, "\n```c\n");
  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), text->str);
  code_block = find_widget (view, GTK_TYPE_BOX, "md-code-block");
  g_assert_nonnull (code_block);
  for (guint i = 0; i < 50; i++)
    {
      g_string_append_printf (text, "int x%u = %u;\n", i, i);
      rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), text->str);
      g_assert_true (find_widget (view, GTK_TYPE_BOX, "md-code-block") == code_block);
    }
  g_string_append (text, "```\n");
  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (view), text->str);
  g_assert_true (find_widget (view, GTK_TYPE_BOX, "md-code-block") == code_block);

  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), NULL, &n_built_after, NULL);
  g_assert_cmpuint (n_built_after, ==, n_built_before + 1);

  g_object_unref (view);
}

static void
test_throttle (void)
{
  GtkWidget *view = g_object_ref_sink (rfl_markdown_view_new ());
  guint n_renders;

  rfl_markdown_view_queue_markdown (RFL_MARKDOWN_VIEW (view), "one");
  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), &n_renders, NULL, NULL);
  g_assert_cmpuint (n_renders, ==, 1);

  /* Within the interval, text waits and the latest wins. */
  rfl_markdown_view_queue_markdown (RFL_MARKDOWN_VIEW (view), "one two");
  rfl_markdown_view_queue_markdown (RFL_MARKDOWN_VIEW (view), "one two three");
  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), &n_renders, NULL, NULL);
  g_assert_cmpuint (n_renders, ==, 1);
  g_assert_cmpstr (rfl_markdown_view_get_markdown (RFL_MARKDOWN_VIEW (view)), ==,
                   "one two three");

  spin (RFL_MARKDOWN_VIEW_THROTTLE_MS * 3);
  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), &n_renders, NULL, NULL);
  g_assert_cmpuint (n_renders, ==, 2);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_widget_get_first_child (view))), ==,
                   "one two three");

  /* Flushing renders what waits at once. */
  rfl_markdown_view_queue_markdown (RFL_MARKDOWN_VIEW (view), "four");
  rfl_markdown_view_queue_markdown (RFL_MARKDOWN_VIEW (view), "four five");
  rfl_markdown_view_flush (RFL_MARKDOWN_VIEW (view));
  rfl_markdown_view_get_stats (RFL_MARKDOWN_VIEW (view), &n_renders, NULL, NULL);
  g_assert_cmpuint (n_renders, ==, 4);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_widget_get_first_child (view))), ==,
                   "four five");

  g_object_unref (view);
}

/* The same text renders the same however it arrived. */
static void
test_streamed_equals_whole (void)
{
  GtkWidget *streamed = g_object_ref_sink (rfl_markdown_view_new ());
  GtkWidget *whole = g_object_ref_sink (rfl_markdown_view_new ());
  gsize length = strlen (document);

  for (gsize i = 1; i <= length; i++)
    {
      g_autofree char *prefix = g_strndup (document, i);

      rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (streamed), prefix);
    }
  rfl_markdown_view_set_markdown (RFL_MARKDOWN_VIEW (whole), document);

  g_assert_cmpuint (rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (streamed)), ==,
                    rfl_markdown_view_get_n_blocks (RFL_MARKDOWN_VIEW (whole)));

  {
    const GType types[] = { GTK_TYPE_LABEL, GTK_TYPE_BOX, GTK_TYPE_SEPARATOR };

    for (guint i = 0; i < G_N_ELEMENTS (types); i++)
      g_assert_cmpuint (count_widgets (streamed, types[i], NULL), ==,
                        count_widgets (whole, types[i], NULL));
  }

  for (GtkWidget *a = gtk_widget_get_first_child (streamed),
                 *b = gtk_widget_get_first_child (whole);
       a != NULL && b != NULL;
       a = gtk_widget_get_next_sibling (a), b = gtk_widget_get_next_sibling (b))
    {
      g_assert_cmpstr (G_OBJECT_TYPE_NAME (a), ==, G_OBJECT_TYPE_NAME (b));
      if (GTK_IS_LABEL (a))
        g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (a)), ==,
                         gtk_label_get_label (GTK_LABEL (b)));
    }

  g_object_unref (streamed);
  g_object_unref (whole);
}

int
main (int   argc,
      char *argv[])
{
  gtk_init ();
  adw_init ();
  gtk_icon_theme_get_for_display (gdk_display_get_default ());

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);

  g_test_add_func ("/rfl/markdown/inline-markup", test_inline_markup);
  g_test_add_func ("/rfl/markdown/inline-escapes", test_inline_escapes);
  g_test_add_func ("/rfl/markdown/plain-text", test_plain_text);
  g_test_add_func ("/rfl/markdown/unsafe-links", test_unsafe_links);
  g_test_add_func ("/rfl/markdown/malformed-input", test_malformed_input);
  g_test_add_func ("/rfl/markdown/blocks", test_blocks);
  g_test_add_func ("/rfl/markdown/code-without-language", test_code_without_language);
  g_test_add_func ("/rfl/markdown/copy-button", test_copy_button);
  g_test_add_func ("/rfl/markdown/links-activate-safely", test_links_activate_safely);
  g_test_add_func ("/rfl/markdown/incremental", test_incremental);
  g_test_add_func ("/rfl/markdown/incremental-containers", test_incremental_containers);
  g_test_add_func ("/rfl/markdown/throttle", test_throttle);
  g_test_add_func ("/rfl/markdown/streamed-equals-whole", test_streamed_equals_whole);

  return g_test_run ();
}
