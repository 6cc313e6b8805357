/* rfl-screenshots.c: renders every window and page of Reflection into PNG
 * files and checks that none of them is blank.
 *
 *   rfl-screenshots [--dark | --all-styles] [--output DIR]
 *
 * Files are named window-<page>.png, preferences-<page>.png, about.png,
 * shortcuts.png, wizard-<page>.png and chat-<scene>.png, with a -dark
 * suffix in the dark style. The settings live in memory and the data in a
 * temporary folder, so that the user's own are never touched; the chat
 * talks to the fake LLM server on loopback.
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "rfl-fake-llm.h"
#include "service/rfl-service-admin.h"
#include "store/rfl-database-private.h"

#include "store/rfl-database.h"
#include "store/rfl-memory-store.h"
#include "store/rfl-vector-store.h"
#include "ui/rfl-admin-page.h"
#include "ui/rfl-prices-window.h"
#include "ui/rfl-application.h"
#include "ui/rfl-chat-composer.h"
#include "ui/rfl-chat-conversation-item.h"
#include "ui/rfl-chat-message-item.h"
#include "ui/rfl-chat-page.h"
#include "ui/rfl-chat-sidebar.h"
#include "ui/rfl-preferences-window.h"
#include "ui/rfl-screenshot.h"
#include "ui/rfl-window.h"
#include "ui/rfl-wizard.h"

/* Below this standard deviation of the luminance (0–255) an image is
 * taken as blank: a window that failed to draw is one flat colour. */
#define MIN_STDDEV 4.0

typedef struct
{
  RflApplication *app;
  GSettings      *settings;
  RflFakeLlm     *fake;
  gint64          tenant_id;
  gint64          user_id;
  gint64          new_user_id;
  gboolean        chats_seeded;
  const char     *output_dir;
  const char     *suffix;        /* "" or "-dark" */
  guint           failures;
  guint           saved;
} Shots;

static void
spin_main_loop (guint milliseconds)
{
  gint64 end = g_get_monotonic_time () + milliseconds * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2 * G_TIME_SPAN_MILLISECOND);
    }
}

static void
after_paint_cb (GdkFrameClock *clock,
                gboolean      *painted)
{
  *painted = TRUE;
}

/* Runs the main loop until @window is mapped and has painted a frame
 * after the last change, then a little longer for icons and async work. */
static gboolean
wait_for_draw (GtkWidget *window)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  GdkFrameClock *clock;
  gboolean painted = FALSE;
  gulong handler;

  while (!gtk_widget_get_mapped (window))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
    }

  spin_main_loop (100);

  clock = gtk_widget_get_frame_clock (window);
  handler = g_signal_connect (clock, "after-paint",
                              G_CALLBACK (after_paint_cb), &painted);
  gtk_widget_queue_draw (window);
  while (!painted && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_signal_handler_disconnect (clock, handler);

  spin_main_loop (200);

  return painted;
}

/* Loads @path back and measures how much its pixels vary. */
static gboolean
check_not_blank (const char  *path,
                 int          expected_width,
                 int          expected_height,
                 double      *stddev_out,
                 GError     **error)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  double sum = 0, sum_sq = 0, mean, n;
  int width, height;

  texture = gdk_texture_new_from_filename (path, error);
  if (texture == NULL)
    return FALSE;

  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  if (width != expected_width || height != expected_height)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s is %d×%d, expected %d×%d",
                   path, width, height, expected_width, expected_height);
      return FALSE;
    }

  pixels = g_malloc ((gsize) width * height * 4);
  gdk_texture_download (texture, pixels, (gsize) width * 4);

  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      const guchar *p = pixels + i * 4;
      double luminance = 0.2126 * p[2] + 0.7152 * p[1] + 0.0722 * p[0];

      sum += luminance;
      sum_sq += luminance * luminance;
    }

  n = (double) width * height;
  mean = sum / n;
  *stddev_out = sqrt (MAX (0.0, sum_sq / n - mean * mean));

  if (*stddev_out < MIN_STDDEV)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s looks blank (standard deviation %.2f)",
                   path, *stddev_out);
      return FALSE;
    }

  return TRUE;
}

typedef struct
{
  GtkWidget  *window;
  const char *path;
  gboolean    done;
  gboolean    ok;
  GError     *error;
} Capture;

/* Runs right after a frame is painted: the layout is fresh and no event
 * (a streamed token, say) can have queued a resize since, so the window
 * always has something to draw. */
static void
capture_after_paint_cb (GdkFrameClock *clock,
                        Capture       *capture)
{
  if (capture->done)
    return;

  g_clear_error (&capture->error);
  capture->ok = rfl_screenshot_save_png (capture->window, capture->path,
                                         &capture->error);
  capture->done = TRUE;
}

static gboolean
capture_png (GtkWidget   *window,
             const char  *path,
             GError     **error)
{
  Capture capture = { window, path, FALSE, FALSE, NULL };
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);
  gulong handler;

  for (guint attempt = 0; attempt < 5 && !capture.ok; attempt++)
    {
      gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;

      capture.done = FALSE;
      handler = g_signal_connect (clock, "after-paint",
                                  G_CALLBACK (capture_after_paint_cb),
                                  &capture);
      gtk_widget_queue_draw (window);
      while (!capture.done && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, FALSE);
      g_signal_handler_disconnect (clock, handler);
    }

  if (!capture.ok)
    {
      if (capture.error == NULL)
        g_set_error (&capture.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                     "no frame was painted");
      g_propagate_error (error, capture.error);
      return FALSE;
    }

  return TRUE;
}

static void
save (Shots      *shots,
      GtkWidget  *window,
      const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s%s.png", name, shots->suffix);
  g_autofree char *path = g_build_filename (shots->output_dir, file, NULL);
  g_autoptr(GError) error = NULL;
  double stddev = 0;

  if (!wait_for_draw (window))
    {
      g_printerr ("FAIL %s: the window was never drawn\n", file);
      shots->failures++;
      return;
    }

  if (!capture_png (window, path, &error)
      || !check_not_blank (path,
                           gtk_widget_get_width (window),
                           gtk_widget_get_height (window),
                           &stddev, &error))
    {
      g_printerr ("FAIL %s: %s\n", file, error->message);
      shots->failures++;
      return;
    }

  g_print ("saved %s (%d×%d, deviation %.1f)\n", path,
           gtk_widget_get_width (window), gtk_widget_get_height (window),
           stddev);
  shots->saved++;
}

static void
save_window_pages (Shots     *shots,
                   RflWindow *window)
{
  const char *pages[] = { "chat", "administration", "preferences" };

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *name = g_strdup_printf ("window-%s", pages[i]);

      rfl_window_show_page (window, pages[i]);
      save (shots, GTK_WIDGET (window), name);
    }

  /* Narrow enough to fold the sidebar away. */
  rfl_window_show_page (window, "chat");
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 720);
  save (shots, GTK_WIDGET (window), "window-narrow");
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  wait_for_draw (GTK_WIDGET (window));
}

static void
save_preferences_pages (Shots     *shots,
                        GtkWindow *parent)
{
  const char *pages[] = { "general", "provider", "service" };
  RflPreferencesWindow *preferences;
  GtkEditable *url_row;

  preferences = rfl_preferences_window_new (shots->settings);
  gtk_window_set_transient_for (GTK_WINDOW (preferences), parent);
  gtk_window_set_modal (GTK_WINDOW (preferences), TRUE);
  gtk_window_present (GTK_WINDOW (preferences));

  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *name = g_strdup_printf ("preferences-%s", pages[i]);

      adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences),
                                                    pages[i]);
      save (shots, GTK_WIDGET (preferences), name);
    }

  /* How a refused value looks. */
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences),
                                                "provider");
  url_row = GTK_EDITABLE (gtk_widget_get_template_child (GTK_WIDGET (preferences),
                                                         RFL_TYPE_PREFERENCES_WINDOW,
                                                         "ollama_url_row"));
  gtk_editable_set_text (url_row, "ftp://localhost:11434");
  g_signal_emit_by_name (url_row, "apply");
  save (shots, GTK_WIDGET (preferences), "preferences-provider-error");

  gtk_window_destroy (GTK_WINDOW (preferences));
}

static void
save_about (Shots     *shots,
            GtkWindow *parent)
{
  GtkWindow *about = rfl_application_new_about_window (parent);

  gtk_window_present (about);
  save (shots, GTK_WIDGET (about), "about");
  gtk_window_destroy (about);
}

static void
save_shortcuts (Shots     *shots,
                GtkWindow *parent)
{
  GtkShortcutsWindow *overlay;

  overlay = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (parent));
  if (overlay == NULL)
    {
      g_printerr ("FAIL shortcuts: the main window has no help overlay\n");
      shots->failures++;
      return;
    }

  gtk_window_present (GTK_WINDOW (overlay));
  save (shots, GTK_WIDGET (overlay), "shortcuts");
  gtk_window_close (GTK_WINDOW (overlay));
}

/* Every page of the setup wizard, reached without validation. */
static void
save_wizard_pages (Shots     *shots,
                   GtkWindow *parent)
{
  const char *sysinfo_root = g_getenv ("RFL_SYSINFO_ROOT");
  RflWizard *wizard;

  if (sysinfo_root == NULL || *sysinfo_root == '\0')
    sysinfo_root = "/";

  wizard = rfl_wizard_new (GTK_APPLICATION (shots->app), shots->settings,
                           sysinfo_root);
  gtk_window_set_transient_for (GTK_WINDOW (wizard), parent);
  gtk_window_set_modal (GTK_WINDOW (wizard), TRUE);
  gtk_window_present (GTK_WINDOW (wizard));

  for (guint page = 0; page < RFL_WIZARD_N_PAGES; page++)
    {
      g_autofree char *name = NULL;

      name = g_strdup_printf ("wizard-%s",
                              rfl_wizard_page_get_name ((RflWizardPage) page));
      rfl_wizard_set_page (wizard, (RflWizardPage) page);
      save (shots, GTK_WIDGET (wizard), name);
    }

  gtk_window_destroy (GTK_WINDOW (wizard));
}

/* A database with one tenant and its administrator, who the assistant
 * already knows a little about. */
static gboolean
seed_memories (RflDatabase  *database,
               gint64        tenant_id,
               gint64        user_id,
               GError      **error)
{
  g_autoptr(RflVectorEmbedder) embedder = rfl_vector_embedder_new_hash ();
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(RflMemoryStore) memories = NULL;
  const struct { RflMemoryKind kind; const char *key; const char *value; double importance; }
  facts[] = {
    { RFL_MEMORY_KIND_GOAL, "running goal", "A half marathon in Porto in April", 0.9 },
    { RFL_MEMORY_KIND_FACT, "role", "Head nurse at Riverside Clinic, mornings", 0.8 },
    { RFL_MEMORY_KIND_PREFERENCE, "code style", "Prefers Python with type hints", 0.6 },
    { RFL_MEMORY_KIND_PREFERENCE, "favourite tea", "Earl Grey, no milk", 0.4 },
    { RFL_MEMORY_KIND_RELATIONSHIP, "colleague", "Dr. Okafor runs the triage rota", 0.5 },
  };

  vectors = rfl_vector_store_new (database, embedder, error);
  if (vectors == NULL)
    return FALSE;
  memories = rfl_memory_store_new (database, vectors);

  for (guint i = 0; i < G_N_ELEMENTS (facts); i++)
    {
      g_autoptr(RflMemory) memory = rfl_memory_new (facts[i].kind, facts[i].key,
                                                    facts[i].value);

      memory->importance = facts[i].importance;
      if (rfl_memory_store_upsert (memories, tenant_id, user_id, memory, NULL, 0,
                                   NULL, error) == 0)
        return FALSE;
    }

  return TRUE;
}

static gboolean
create_example_database (Shots   *shots,
                         GError **error)
{
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (),
                                                "reflection", NULL);
  g_autofree char *path = g_build_filename (data_dir, "reflection.db", NULL);
  g_autoptr(RflDatabase) database = NULL;

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "cannot create %s", data_dir);
      return FALSE;
    }

  database = rfl_database_open (path, error);
  if (database == NULL)
    return FALSE;

  shots->tenant_id = rfl_database_create_tenant (database, "Riverside Clinic",
                                                 "healthcare", error);
  if (shots->tenant_id <= 0)
    return FALSE;

  shots->user_id = rfl_database_create_user (database, shots->tenant_id,
                                             "ana.ruiz@riverside.example", "Ana Ruiz",
                                             "a long example passphrase",
                                             RFL_ROLE_SYSTEM_ADMIN, error);
  if (shots->user_id <= 0)
    return FALSE;

  shots->new_user_id = rfl_database_create_user (database, shots->tenant_id,
                                                 "ben.okafor@riverside.example",
                                                 "Ben Okafor", "a long example passphrase",
                                                 RFL_ROLE_MEMBER, error);
  if (shots->new_user_id <= 0)
    return FALSE;

  return seed_memories (database, shots->tenant_id, shots->user_id, error);
}

/* The chat --------------------------------------------------------------- */

typedef gboolean (*PageCondition) (RflChatPage *page);

static gboolean
wait_for_page (RflChatPage   *page,
               PageCondition  condition)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (!condition (page))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (G_TIME_SPAN_MILLISECOND);
    }

  return TRUE;
}

static gboolean
page_ready (RflChatPage *page)
{
  return rfl_chat_page_get_ready (page);
}

static gboolean
page_idle (RflChatPage *page)
{
  return !rfl_chat_page_get_streaming (page);
}

static gboolean
greeting_shown (RflChatPage *page)
{
  AdwStatusPage *empty = ADW_STATUS_PAGE (gtk_widget_get_template_child (GTK_WIDGET (page),
                                                                         RFL_TYPE_CHAT_PAGE,
                                                                         "empty_page"));
  const char *description = adw_status_page_get_description (empty);

  return description != NULL && *description != '\0';
}

static gboolean
answer_streaming_long (RflChatPage *page)
{
  GListModel *messages = rfl_chat_page_get_messages (page);
  guint n = g_list_model_get_n_items (messages);
  g_autoptr(RflChatMessageItem) last = n > 0 ? g_list_model_get_item (messages, n - 1) : NULL;

  return last != NULL && strlen (rfl_chat_message_item_get_text (last)) > 260;
}

static gboolean
conversation_loaded (RflChatPage *page)
{
  GListModel *messages = rfl_chat_page_get_messages (page);

  return g_list_model_get_n_items (messages) >= 4;
}

static void
flush_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  gboolean *done = user_data;

  rfl_service_flush_finish (RFL_SERVICE (source), result, NULL);
  *done = TRUE;
}

/* Waits for the background work of the last turn (memory extraction),
 * which asks the fake server too, before the next answer is queued. */
static void
flush_service (RflChatPage *page)
{
  gboolean done = FALSE;

  rfl_service_flush_async (rfl_chat_page_get_service (page), NULL, flush_done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static RflChatComposer *
page_composer (RflChatPage *page)
{
  return RFL_CHAT_COMPOSER (gtk_widget_get_template_child (GTK_WIDGET (page),
                                                          RFL_TYPE_CHAT_PAGE, "composer"));
}

static char **
split_tokens (const char *text)
{
  g_autoptr(GPtrArray) tokens = g_ptr_array_new ();
  const char *start = text;

  /* Word by word, spaces kept, as a model streams. */
  for (const char *p = text; *p != '\0'; p++)
    {
      if ((*p == ' ' || *p == '\n') && p > start)
        {
          g_ptr_array_add (tokens, g_strndup (start, p - start));
          start = p;
        }
    }
  if (*start != '\0')
    g_ptr_array_add (tokens, g_strdup (start));
  g_ptr_array_add (tokens, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&tokens), FALSE);
}

/* Asks @question in the open chat and waits for @answer. */
static void
ask (Shots       *shots,
     RflChatPage *page,
     const char  *question,
     const char  *answer)
{
  g_auto(GStrv) tokens = split_tokens (answer);

  rfl_fake_llm_queue_reply (shots->fake, (const char * const *) tokens);
  rfl_chat_composer_set_text (page_composer (page), question);
  rfl_chat_composer_send (page_composer (page));
  wait_for_page (page, page_idle);
  flush_service (page);
}

static const char code_answer[] =
  "Sure. Here is a small function with no dependencies:\n"
  "\n"
  "```python\n"
  "import re\n"
  "\n"
  "def minutes_after_midnight(text: str) -> int:\n"
  "    match = re.fullmatch(r\"\\s*(\\d{1,2}):(\\d{2})\\s*([ap]m)\\s*\", text.lower())\n"
  "    if match is None:\n"
  "        raise ValueError(f\"not a time: {text!r}\")\n"
  "    hours, minutes = int(match[1]) % 12, int(match[2])\n"
  "    if match[3] == \"pm\":\n"
  "        hours += 12\n"
  "    return hours * 60 + minutes\n"
  "```\n"
  "\n"
  "**How it works**\n"
  "\n"
  "1. The pattern accepts `9:30am`, ` 12:05 PM ` and the like.\n"
  "2. `12` becomes `0`, so *12:10am* is ten past midnight.\n"
  "3. Anything else raises a `ValueError`: bad input never passes silently.\n"
  "\n"
  "> Store times as minutes in the database and format them only for display.\n";

static const char streaming_answer[] =
  "Three things help most in the last month before a half marathon:\n"
  "\n"
  "- **Keep the long run**, but cap it at 18 km two weeks out and 12 km in the final week.\n"
  "- **Practise race pace** once a week: 3 × 3 km at goal pace with 2 minutes of "
  "easy jogging between.\n"
  "- **Sleep and fuel**: the gains of this month come from recovery, not from extra kilometres.\n"
  "\n"
  "Given your early shifts at the clinic, the long run fits best on Sunday mornings. "
  "Do you want a day-by-day plan for the next four weeks?\n";

/* Conversations for the sidebar, the last one with markdown and code. */
static void
seed_conversations (Shots       *shots,
                    RflChatPage *page)
{
  ask (shots, page, "Summarise the new triage protocol for the morning team",
       "The new protocol has **three** changes:\n\n"
       "1. Every walk-in is scored within *10 minutes*.\n"
       "2. Scores 4 and 5 go straight to the nurse station.\n"
       "3. The rota lists who covers triage each hour.");
  rfl_chat_page_open_conversation (page, 0);
  wait_for_page (page, greeting_shown);
  ask (shots, page, "Which stretches help after a long run?",
       "Gentle ones, held for 30 seconds: calves, hamstrings, hip flexors and quads.");
  rfl_chat_page_open_conversation (page, 0);
  wait_for_page (page, greeting_shown);
  ask (shots, page,
       "Can you write a Python function that turns appointment times like “9:30am” "
       "into minutes after midnight?",
       code_answer);
  ask (shots, page, "Thanks! Does it accept “12:05 PM” with spaces?",
       "Yes: the pattern allows spaces around the time, and `text.lower()` makes "
       "*PM* and *pm* the same.");
}

static void
delete_conversation (RflWindow *window,
                     gint64     id)
{
  GObject *sidebar = gtk_widget_get_template_child (GTK_WIDGET (window), RFL_TYPE_WINDOW,
                                                    "chat_sidebar");

  if (id == 0)
    return;

  g_signal_emit_by_name (sidebar, "delete-conversation", id);
  spin_main_loop (300);
}

static gint64
find_conversation_with (RflChatPage *page,
                        const char  *needle)
{
  GListModel *conversations = rfl_chat_page_get_conversations (page);

  for (guint i = 0; i < g_list_model_get_n_items (conversations); i++)
    {
      g_autoptr(RflChatConversationItem) item = g_list_model_get_item (conversations, i);

      if (strstr (rfl_chat_conversation_item_get_title (item), needle) != NULL)
        return rfl_chat_conversation_item_get_id (item);
    }

  return 0;
}

static const char *wanted_name;

static gboolean
chatting_as_wanted (RflChatPage *page)
{
  GtkWidget *window = gtk_widget_get_ancestor (GTK_WIDGET (page), RFL_TYPE_WINDOW);
  GObject *sidebar = gtk_widget_get_template_child (window, RFL_TYPE_WINDOW, "chat_sidebar");
  GObject *name = gtk_widget_get_template_child (GTK_WIDGET (sidebar), RFL_TYPE_CHAT_SIDEBAR,
                                                 "identity_name");

  return rfl_chat_page_get_ready (page)
         && g_strcmp0 (gtk_label_get_text (GTK_LABEL (name)), wanted_name) == 0
         && greeting_shown (page);
}

static void
chat_as (Shots       *shots,
         RflChatPage *page,
         gint64       user_id,
         const char  *name)
{
  g_settings_delay (shots->settings);
  g_settings_set_int64 (shots->settings, "current-tenant-id", shots->tenant_id);
  g_settings_set_int64 (shots->settings, "current-user-id", user_id);
  g_settings_apply (shots->settings);

  wanted_name = name;
  wait_for_page (page, chatting_as_wanted);
}

static void
save_chat_scenes (Shots *shots)
{
  RflWindow *window;
  RflChatPage *page;
  AdwFlap *flap;
  gint64 code_id;
  gint64 scratch[2] = { 0, 0 };

  g_settings_set_boolean (shots->settings, "setup-complete", TRUE);

  window = rfl_window_new (GTK_APPLICATION (shots->app), shots->settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 1180, 760);
  gtk_window_present (GTK_WINDOW (window));
  page = rfl_window_get_chat_page (window);
  flap = ADW_FLAP (gtk_widget_get_template_child (GTK_WIDGET (page), RFL_TYPE_CHAT_PAGE,
                                                  "flap"));

  if (!wait_for_page (page, page_ready))
    {
      g_printerr ("FAIL chat: the chat never became ready\n");
      shots->failures++;
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }

  /* A new user: the welcome, and nothing in the list yet. */
  chat_as (shots, page, shots->new_user_id, "Ben Okafor");
  save (shots, GTK_WIDGET (window), "chat-empty");

  chat_as (shots, page, shots->user_id, "Ana Ruiz");
  if (!shots->chats_seeded)
    {
      seed_conversations (shots, page);
      shots->chats_seeded = TRUE;
    }

  /* A conversation with markdown and code. */
  code_id = find_conversation_with (page, "Python");
  rfl_chat_page_open_conversation (page, code_id);
  wait_for_page (page, conversation_loaded);
  save (shots, GTK_WIDGET (window), "chat-conversation");

  /* Renaming it. */
  gtk_widget_activate_action (GTK_WIDGET (page), "chat.rename", NULL);
  {
    GListModel *toplevels = gtk_window_get_toplevels ();
    GtkWindow *dialog = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GtkWindow) candidate = g_list_model_get_item (toplevels, i);

        if (ADW_IS_MESSAGE_DIALOG (candidate))
          dialog = candidate;
      }

    if (dialog != NULL)
      {
        save (shots, GTK_WIDGET (dialog), "chat-rename");
        gtk_window_destroy (dialog);
      }
    else
      {
        g_printerr ("FAIL chat-rename: no dialog\n");
        shots->failures++;
      }
  }

  /* What the assistant remembers, beside it. */
  adw_flap_set_reveal_flap (flap, TRUE);
  spin_main_loop (300);
  save (shots, GTK_WIDGET (window), "chat-memories");
  adw_flap_set_reveal_flap (flap, FALSE);

  /* An answer on its way. */
  rfl_chat_page_open_conversation (page, 0);
  wait_for_page (page, greeting_shown);
  {
    g_auto(GStrv) tokens = split_tokens (streaming_answer);

    rfl_fake_llm_set_token_delay (shots->fake, 40);
    rfl_fake_llm_queue_reply (shots->fake, (const char * const *) tokens);
    rfl_chat_composer_set_text (page_composer (page),
                                "I run the half marathon in four weeks. What should I focus on?");
    rfl_chat_composer_send (page_composer (page));
    wait_for_page (page, answer_streaming_long);
    save (shots, GTK_WIDGET (window), "chat-streaming");
    gtk_widget_activate_action (GTK_WIDGET (page), "chat.stop", NULL);
    wait_for_page (page, page_idle);
    rfl_fake_llm_set_token_delay (shots->fake, 0);
    flush_service (page);
    scratch[0] = rfl_chat_page_get_conversation_id (page);
  }

  /* The provider's answer broke off. */
  rfl_chat_page_open_conversation (page, 0);
  wait_for_page (page, greeting_shown);
  {
    g_auto(GStrv) tokens = split_tokens ("Tomorrow you are on the early shift, with triage "
                                         "from 7 to 11.");

    rfl_fake_llm_queue_reply (shots->fake, (const char * const *) tokens);
    rfl_fake_llm_set_fault_for_path (shots->fake, "/api/chat", RFL_FAKE_LLM_FAULT_MALFORMED,
                                     6, 0);
    rfl_chat_composer_set_text (page_composer (page), "What is on my rota tomorrow?");
    rfl_chat_composer_send (page_composer (page));
    wait_for_page (page, page_idle);
    save (shots, GTK_WIDGET (window), "chat-error");
    rfl_fake_llm_clear_fault (shots->fake);
    scratch[1] = rfl_chat_page_get_conversation_id (page);
  }

  /* Folded, on a narrow screen. */
  rfl_chat_page_open_conversation (page, code_id);
  wait_for_page (page, conversation_loaded);
  gtk_window_set_default_size (GTK_WINDOW (window), 400, 760);
  wait_for_draw (GTK_WIDGET (window));
  rfl_window_show_page (window, "chat");
  save (shots, GTK_WIDGET (window), "chat-narrow");

  /* The next style starts from the same conversations. */
  for (guint i = 0; i < G_N_ELEMENTS (scratch); i++)
    delete_conversation (window, scratch[i]);

  gtk_window_destroy (GTK_WINDOW (window));
  g_settings_set_boolean (shots->settings, "setup-complete", FALSE);
  spin_main_loop (50);
}

/* Administration ---------------------------------------------------------- */

/* Three tenants with users, API keys, quotas, a month of usage of three
 * models and audit entries; returns the system administrator. */
static gboolean
create_admin_database (const char   *path,
                       RflIdentity  *admin,
                       GError      **error)
{
  g_autoptr(RflDatabase) db = NULL;
  g_autoptr(RflSigningKey) key = rfl_signing_key_new_random ();
  g_autoptr(RflAuthStore) auth = NULL;
  g_autoptr(RflAuditLog) audit = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GString) sql = g_string_new ("INSERT INTO usage (tenant_id, model, "
                                         "provider, tokens_in, tokens_out, "
                                         "latency_ms, created_at, user_id, "
                                         "api_key_id, cost_micro_usd) VALUES ");
  /* Two local models, free, and a cloud one at $0.15 and $0.60 per
   * million tokens in and out. */
  const struct { const char *name, *provider; double in, out; } models[] = {
    { "llama3.1:8b", "ollama", 0, 0 },
    { "gpt-4o-mini", "openai", 0.15, 0.6 },
    { "qwen2.5:7b-instruct", "ollama", 0, 0 },
  };
  const struct { const char *name, *use_case; } tenants[] = {
    { "Acme Logistics", "business" },
    { "Northwind Clinic", "healthcare" },
    { "Privacy Labs", "privacy" },
  };
  const struct { guint tenant; const char *email, *name; RflRole role; } users[] = {
    { 0, "ana.garcia@acme.example", "Ana García", RFL_ROLE_SYSTEM_ADMIN },
    { 0, "ben.okafor@acme.example", "Ben Okafor", RFL_ROLE_TENANT_ADMIN },
    { 0, "chen.li@acme.example", "Chen Li", RFL_ROLE_MEMBER },
    { 0, "dora.novak@acme.example", "Dora Novak", RFL_ROLE_MEMBER },
    { 1, "e.weber@northwind.example", "Dr. Eva Weber", RFL_ROLE_TENANT_ADMIN },
    { 1, "f.haddad@northwind.example", "Farid Haddad", RFL_ROLE_MEMBER },
    { 2, "gil@privacylabs.example", "Gil Sato", RFL_ROLE_TENANT_ADMIN },
  };
  gint64 ids[G_N_ELEMENTS (tenants)];
  gint64 user_ids[G_N_ELEMENTS (users)];
  gint64 today = g_get_real_time () / G_USEC_PER_SEC / 86400 * 86400;
  RflAuditActor actor = { 0 };
  gint64 portal_key = 0;
  g_autofree char *revoked = NULL;
  g_autoptr(RflApiKey) made = NULL;

  if (!(db = rfl_database_open (path, error)))
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (tenants); i++)
    if (!(ids[i] = rfl_database_create_tenant (db, tenants[i].name,
                                               tenants[i].use_case, error)))
      return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    {
      gint64 id = rfl_database_create_user (db, ids[users[i].tenant],
                                            users[i].email, users[i].name,
                                            "example-password", users[i].role,
                                            error);
      if (id == 0)
        return FALSE;
      user_ids[i] = id;
      if (i == 0)
        *admin = (RflIdentity) { ids[0], id };
    }

  actor.user_id = admin->user_id;
  audit = rfl_audit_log_new (db);
  for (guint i = 0; i < G_N_ELEMENTS (tenants); i++)
    if (!rfl_audit_log_append (audit, ids[i], &actor, "tenant_created",
                               tenants[i].name, NULL, error))
      return FALSE;

  auth = rfl_auth_store_new (db, key);
  {
    g_autoptr(RflApiKey) portal = NULL;

    g_free (rfl_auth_store_create_api_key (auth, ids[0], "Customer portal",
                                           RFL_API_SCOPE_CHAT, &actor, &portal,
                                           error));
    if (portal == NULL)
      return FALSE;
    portal_key = portal->id;
  }
  g_free (rfl_auth_store_create_api_key (auth, ids[0], "Analytics export",
                                         RFL_API_SCOPE_READ, &actor, NULL, error));
  revoked = rfl_auth_store_create_api_key (auth, ids[0], "Old website",
                                           RFL_API_SCOPE_CHAT, &actor, &made, error);
  if (revoked == NULL
      || !rfl_auth_store_revoke_api_key (auth, ids[0], made->id, &actor, error))
    return FALSE;

  /* Sign-ins, a mistyped password and a reset for the audit log. */
  {
    g_autoptr(RflAuthTokens) tokens = NULL;
    g_autoptr(GError) refused = NULL;
    g_autofree char *target = NULL;

    tokens = rfl_auth_store_login (auth, ids[0], "chen.li@acme.example",
                                   "example-password", error);
    if (tokens == NULL)
      return FALSE;
    g_clear_pointer (&tokens, rfl_auth_tokens_free);
    tokens = rfl_auth_store_login (auth, ids[0], "dora.novak@acme.example",
                                   "exmaple-password", &refused);
    target = g_strdup_printf ("user:%" G_GINT64_FORMAT, user_ids[2]);
    if (rfl_auth_store_revoke_user_sessions (auth, ids[0], user_ids[2],
                                             &actor, error) == 0
        || !rfl_audit_log_append (audit, ids[0], &actor,
                                  "user_password_reset", target,
                                  "{\"sessions_revoked\":1}", error))
      return FALSE;
    tokens = rfl_auth_store_login (auth, ids[0], "ben.okafor@acme.example",
                                   "example-password", error);
    if (tokens == NULL)
      return FALSE;
  }

  /* A month of usage: weekdays busier than weekends. */
  for (guint t = 0; t < G_N_ELEMENTS (tenants); t++)
    for (int d = 0; d < 30; d++)
      for (guint m = 0; m < G_N_ELEMENTS (models); m++)
        {
          gint64 day = today - d * 86400;
          gboolean weekend = ((day / 86400) + 4) % 7 >= 5;
          guint calls = g_rand_int_range (rand, 4, weekend ? 12 : 40) / (m + 1) + 1;

          for (guint c = 0; c < calls; c++)
            {
              int in = g_rand_int_range (rand, 300, 900);
              int out = g_rand_int_range (rand, 200, 600);
              /* Acme's portal calls the cloud model with its API key;
               * people chat from the desktop. */
              gboolean portal = t == 0 && m == 1 && c % 2 == 0;
              gint64 user = t == 0 ? user_ids[c % 4] : t == 1 ? user_ids[4 + c % 2]
                                                            : user_ids[6];
              g_autofree char *key_id = portal ? g_strdup_printf ("%" G_GINT64_FORMAT, portal_key)
                                               : g_strdup ("NULL");
              g_autofree char *who = portal ? g_strdup ("NULL")
                                            : g_strdup_printf ("%" G_GINT64_FORMAT, user);

              g_string_append_printf (sql, "%s(%" G_GINT64_FORMAT ", '%s', "
                                      "'%s', %d, %d, 800, %" G_GINT64_FORMAT
                                      ", %s, %s, %" G_GINT64_FORMAT ")",
                                      t + d + m + c == 0 ? "" : ", ", ids[t],
                                      models[m].name, models[m].provider, in, out,
                                      (day + 28800 + c * 600) * 1000, who, key_id,
                                      (gint64) (in * models[m].in + out * models[m].out + 0.5));
            }
        }

  return _rfl_database_exec (db, sql->str, error)
         && _rfl_database_exec (db, "INSERT INTO tenant_quotas VALUES "
                                "(1, 60, 200000, 4000000, 8, 0)", error)
         && rfl_audit_log_append (audit, ids[0], &actor, "quota_changed", NULL,
                                  "{\"tokens_per_day\":200000}", error)
         && rfl_audit_log_append (audit, ids[0], &actor, "tool_enabled",
                                  "web_fetch", NULL, error)
         && rfl_audit_log_append (audit, ids[1], &actor, "tenant_suspended",
                                  NULL, NULL, error)
         && _rfl_database_exec (db, "UPDATE tenants SET status = 'suspended' "
                                "WHERE name = 'Northwind Clinic'", error);
}

static GtkWidget *
find_widget_named (GtkWidget  *widget,
                   const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget_named (child, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
save_admin_scenes (Shots *shots)
{
  const char *views[] = { "overview", "users", "api-keys", "quotas", "tools",
                          "usage", "audit" };
  g_autofree char *path = g_build_filename (g_get_user_data_dir (),
                                            "admin-example.db", NULL);
  g_autoptr(RflService) service = NULL;
  g_autoptr(GError) error = NULL;
  static RflIdentity admin;   /* made in the first style's run */
  GtkWidget *search;
  GtkWindow *window;
  RflAdminPage *page;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)
      && !create_admin_database (path, &admin, &error))
    g_error ("Cannot create the administration example: %s", error->message);

  if (!(service = rfl_service_new_sync (path, &error)))
    g_error ("Cannot start the service: %s", error->message);

  window = GTK_WINDOW (adw_window_new ());
  gtk_window_set_default_size (window, 1100, 720);
  page = RFL_ADMIN_PAGE (rfl_admin_page_new ());
  adw_window_set_content (ADW_WINDOW (window), GTK_WIDGET (page));
  gtk_window_present (window);
  rfl_admin_page_set_service (page, service, admin);
  spin_main_loop (300);
  save (shots, GTK_WIDGET (window), "admin-tenants");

  rfl_admin_page_select_tenant (page, "Acme Logistics");
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      g_autofree char *name = g_strdup_printf ("admin-%s", views[i]);
      spin_main_loop (300);
      rfl_admin_page_show_view (page, views[i]);
      save (shots, GTK_WIDGET (window), name);
    }

  /* The usage page scrolled down to the costs by user. */
  rfl_admin_page_show_view (page, "usage");
  spin_main_loop (300);
  {
    GtkWidget *by = find_widget_named (GTK_WIDGET (page), "usage-breakdown-by");
    GtkWidget *scrolled;
    GtkAdjustment *adjustment;

    g_assert (by != NULL);
    gtk_drop_down_set_selected (GTK_DROP_DOWN (by), 1);
    spin_main_loop (400);
    scrolled = gtk_widget_get_ancestor (by, GTK_TYPE_SCROLLED_WINDOW);
    adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
    gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
    save (shots, GTK_WIDGET (window), "admin-usage-cost");
    gtk_drop_down_set_selected (GTK_DROP_DOWN (by), 0);
  }

  /* The price table. */
  {
    RflPricesWindow *prices = rfl_prices_window_new (window, service, admin);

    gtk_window_present (GTK_WINDOW (prices));
    spin_main_loop (400);
    save (shots, GTK_WIDGET (prices), "admin-prices");
    gtk_window_destroy (GTK_WINDOW (prices));
  }

  /* The audit log searched for what is not there. */
  search = find_widget_named (GTK_WIDGET (page), "audit-search");
  g_assert (search != NULL);
  gtk_editable_set_text (GTK_EDITABLE (search), "frank@");
  spin_main_loop (800);
  save (shots, GTK_WIDGET (window), "admin-audit-empty");

  gtk_window_destroy (window);
  rfl_service_shutdown (service);
  spin_main_loop (50);
}

static void
run_style (Shots    *shots,
           gboolean  dark)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  RflWindow *window;

  adw_style_manager_set_color_scheme (style,
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                           : ADW_COLOR_SCHEME_FORCE_LIGHT);
  shots->suffix = dark ? "-dark" : "";

  window = rfl_window_new (GTK_APPLICATION (shots->app), shots->settings);
  save_window_pages (shots, window);
  save_preferences_pages (shots, GTK_WINDOW (window));
  save_about (shots, GTK_WINDOW (window));
  save_shortcuts (shots, GTK_WINDOW (window));
  save_wizard_pages (shots, GTK_WINDOW (window));
  gtk_window_destroy (GTK_WINDOW (window));
  spin_main_loop (50);

  save_chat_scenes (shots);
  save_admin_scenes (shots);
}

/* Keeps the run away from the user's settings and data. */
static char *
isolate_environment (void)
{
  g_autoptr(GError) error = NULL;
  char *tmp = g_dir_make_tmp ("rfl-screenshots-XXXXXX", &error);
  const char *dirs[] = { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME" };

  if (tmp == NULL)
    g_error ("Cannot create a temporary folder: %s", error->message);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (tmp, dirs[i], NULL);

      g_mkdir_with_parents (dir, 0700);
      g_setenv (dirs[i], dir, TRUE);
    }

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  return tmp;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                        NULL, NULL);
  while (children != NULL
         && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFileInfo) owned = info;
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        remove_tree (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *output_dir = NULL;
  gboolean dark = FALSE;
  gboolean all_styles = FALSE;
  Shots shots = { 0 };
  const GOptionEntry entries[] = {
    { "dark", 0, 0, G_OPTION_ARG_NONE, &dark,
      "Render in the dark style", NULL },
    { "all-styles", 0, 0, G_OPTION_ARG_NONE, &all_styles,
      "Render in the light and the dark style", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output_dir,
      "Folder for the PNG files", "DIR" },
    { NULL }
  };

  context = g_option_context_new ("- save screenshots of Reflection");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("rfl-screenshots: %s\n", error->message);
      return 2;
    }

  if (output_dir == NULL)
    output_dir = g_strdup ("screenshots");
  if (g_mkdir_with_parents (output_dir, 0755) != 0)
    {
      g_printerr ("rfl-screenshots: cannot create %s: %s\n",
                  output_dir, g_strerror (errno));
      return 1;
    }

  tmp = isolate_environment ();

  /* Criticals are bugs; a screenshot of a window that logged one would
   * hide it. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);

  gtk_init ();
  adw_init ();

  if (!create_example_database (&shots, &error))
    {
      g_printerr ("rfl-screenshots: cannot create the example database: %s\n",
                  error->message);
      return 1;
    }

  shots.app = g_object_new (RFL_TYPE_APPLICATION,
                            "application-id", APP_ID,
                            "flags", G_APPLICATION_NON_UNIQUE,
                            "resource-base-path", RESOURCE_PREFIX,
                            NULL);
  if (!g_application_register (G_APPLICATION (shots.app), NULL, &error))
    {
      g_printerr ("rfl-screenshots: %s\n", error->message);
      return 1;
    }

  /* The language model the chat talks to. */
  shots.fake = rfl_fake_llm_new ();
  if (!rfl_fake_llm_start (shots.fake, &error))
    {
      g_printerr ("rfl-screenshots: cannot start the fake LLM server: %s\n", error->message);
      return 1;
    }
  rfl_fake_llm_set_models (shots.fake, RFL_FAKE_LLM_OLLAMA, (const char *[]) {
    "llama3.1:8b", "qwen2.5:7b-instruct", "gemma2:9b", NULL });
  rfl_fake_llm_set_reply (shots.fake, (const char *[]) {
    "Welcome", " back,", " Ana!", " Last", " time", " we", " looked", " at", " your",
    " half", " marathon", " plan:", " how", " did", " Sunday's", " long", " run", " go?",
    NULL });

  shots.settings = rfl_application_get_settings (shots.app);
  shots.output_dir = output_dir;
  g_settings_set_string (shots.settings, "model", "llama3.1:8b");
  g_settings_set_string (shots.settings, "use-case", "healthcare");
  g_settings_set_string (shots.settings, "provider", "ollama");
  g_settings_set_string (shots.settings, "ollama-url", rfl_fake_llm_get_url (shots.fake));
  g_settings_set_int64 (shots.settings, "current-tenant-id", shots.tenant_id);
  g_settings_set_int64 (shots.settings, "current-user-id", shots.user_id);

  if (all_styles || !dark)
    run_style (&shots, FALSE);
  if (all_styles || dark)
    run_style (&shots, TRUE);

  g_clear_object (&shots.app);
  g_clear_pointer (&shots.fake, rfl_fake_llm_free);
  remove_tree (tmp);

  g_print ("%u screenshots saved, %u failed\n", shots.saved, shots.failures);

  return shots.failures == 0 ? 0 : 1;
}
