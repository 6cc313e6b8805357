/* rfl-markdown.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Renders CommonMark (libcmark) as widgets: paragraphs and headings as
 * labels with Pango markup built from the syntax tree (every piece of text
 * escaped), lists, block quotes, rules, and code blocks as monospace text
 * on a card with the language and a Copy button.
 *
 * An answer that is still streaming is re-rendered as it grows: the text
 * is parsed again (cheap), the top-level blocks whose source did not change
 * keep their widgets, and only the blocks from the first changed one on are
 * updated or built. rfl_markdown_view_queue_markdown() also throttles that
 * work to one render every RFL_MARKDOWN_VIEW_THROTTLE_MS. */

#define RFL_MARKDOWN_VIEW_THROTTLE_MS 50

#define RFL_TYPE_MARKDOWN_VIEW (rfl_markdown_view_get_type ())
G_DECLARE_FINAL_TYPE (RflMarkdownView, rfl_markdown_view, RFL, MARKDOWN_VIEW, GtkWidget)

GtkWidget  *rfl_markdown_view_new            (void);

/* Renders @markdown now (NULL is ""). */
void        rfl_markdown_view_set_markdown   (RflMarkdownView *self,
                                              const char      *markdown);
/* Renders @markdown soon: at once when the last render is older than the
 * throttle interval, otherwise when it has passed. Later calls replace
 * the text still waiting. */
void        rfl_markdown_view_queue_markdown (RflMarkdownView *self,
                                              const char      *markdown);
/* Renders the text still waiting, if any. */
void        rfl_markdown_view_flush          (RflMarkdownView *self);
/* The text as last set or queued. */
const char *rfl_markdown_view_get_markdown   (RflMarkdownView *self);

/* The number of top-level blocks shown. */
guint       rfl_markdown_view_get_n_blocks   (RflMarkdownView *self);
/* How much work rendering took so far: renders done, and blocks (at any
 * depth) whose widgets were built from scratch or updated in place. */
void        rfl_markdown_view_get_stats      (RflMarkdownView *self,
                                              guint           *n_renders,
                                              guint           *n_built,
                                              guint           *n_updated);

/* The Pango markup of the inline content of the first paragraph or
 * heading of @markdown: what a paragraph label shows. */
char       *rfl_markdown_inline_to_markup    (const char      *markdown);

/* The text of @markdown without its markup, on one line: for previews. */
char       *rfl_markdown_to_plain_text       (const char      *markdown);

/* Whether a link to @uri may be opened: http, https and mailto only. */
gboolean    rfl_markdown_uri_is_safe         (const char      *uri);

G_END_DECLS
