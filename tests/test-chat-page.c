/* test-chat-page.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib/gstdio.h>

#include "rfl-fake-llm.h"

#include "core/rfl-paths.h"
#include "service/rfl-service.h"
#include "store/rfl-database.h"
#include "store/rfl-memory-store.h"
#include "store/rfl-vector-store.h"
#include "ui/rfl-application.h"
#include "ui/rfl-chat-composer.h"
#include "ui/rfl-chat-conversation-item.h"
#include "ui/rfl-chat-memories-panel.h"
#include "ui/rfl-chat-message-item.h"
#include "ui/rfl-chat-page.h"
#include "ui/rfl-chat-sidebar.h"
#include "ui/rfl-window.h"

#define MODEL "llama3.2:3b"
#define WAIT_MS 15000

typedef struct
{
  RflFakeLlm     *fake;
  GSettings      *settings;
  RflService     *service;
  RflWindow      *window;
  RflChatPage    *page;
  RflChatSidebar *sidebar;
  char           *database_path;
  gint64          tenant_id;
  gint64          admin_id;
  gint64          member_id;
  gint64          other_tenant_id;
  gint64          other_user_id;
} Fixture;

/* Helpers ---------------------------------------------------------------- */

typedef gboolean (*Condition) (Fixture *fixture);

static gboolean
wait_for (Fixture   *fixture,
          Condition  condition)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (!condition (fixture))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (G_TIME_SPAN_MILLISECOND);
    }

  return TRUE;
}

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

static gpointer
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);
  return child;
}

static guint
n_messages (Fixture *fixture)
{
  return g_list_model_get_n_items (rfl_chat_page_get_messages (fixture->page));
}

static RflChatMessageItem *
message (Fixture *fixture,
         guint    position)
{
  GListModel *messages = rfl_chat_page_get_messages (fixture->page);
  g_autoptr(RflChatMessageItem) item = g_list_model_get_item (messages, position);

  g_assert_nonnull (item);
  return item;   /* the model keeps its reference */
}

static RflChatMessageItem *
last_message (Fixture *fixture)
{
  g_assert_cmpuint (n_messages (fixture), >, 0);
  return message (fixture, n_messages (fixture) - 1);
}

static guint
n_conversations (Fixture *fixture)
{
  return g_list_model_get_n_items (rfl_chat_page_get_conversations (fixture->page));
}

static RflChatComposer *
composer (Fixture *fixture)
{
  return template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "composer");
}

static gboolean
page_ready (Fixture *fixture)
{
  return rfl_chat_page_get_ready (fixture->page);
}

static gboolean
not_streaming (Fixture *fixture)
{
  return !rfl_chat_page_get_streaming (fixture->page);
}

static gboolean
answer_has_text (Fixture *fixture)
{
  return n_messages (fixture) > 0
         && *rfl_chat_message_item_get_text (last_message (fixture)) != '\0';
}

static gboolean
has_one_conversation (Fixture *fixture)
{
  return n_conversations (fixture) == 1;
}

static gboolean
has_no_conversation (Fixture *fixture)
{
  return n_conversations (fixture) == 0;
}

static gboolean
has_two_conversations (Fixture *fixture)
{
  return n_conversations (fixture) == 2;
}

static gboolean
greeting_shown (Fixture *fixture)
{
  AdwStatusPage *empty = template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "empty_page");
  const char *description = adw_status_page_get_description (empty);

  return description != NULL && *description != '\0';
}

/* Sends @text as the user would: typed, then Enter. */
static void
type_and_send (Fixture    *fixture,
               const char *text)
{
  rfl_chat_composer_set_text (composer (fixture), text);
  g_assert_true (rfl_chat_composer_send (composer (fixture)));
}

/* Sends @text and waits for the answer to end. */
static void
chat (Fixture    *fixture,
      const char *text)
{
  type_and_send (fixture, text);
  g_assert_true (rfl_chat_page_get_streaming (fixture->page));
  g_assert_true (wait_for (fixture, not_streaming));
}

static void
seed_database (Fixture *fixture)
{
  g_autoptr(RflDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = rfl_paths_dup_data_dir (NULL);

  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);
  fixture->database_path = rfl_paths_dup_database_path (data_dir);

  database = rfl_database_open (fixture->database_path, &error);
  g_assert_no_error (error);

  fixture->tenant_id = rfl_database_create_tenant (database, "Riverside Clinic",
                                                   "healthcare", &error);
  g_assert_no_error (error);
  fixture->admin_id = rfl_database_create_user (database, fixture->tenant_id,
                                                "ana@riverside.example", "Ana Ruiz",
                                                "correct horse battery",
                                                RFL_ROLE_SYSTEM_ADMIN, &error);
  g_assert_no_error (error);
  fixture->member_id = rfl_database_create_user (database, fixture->tenant_id,
                                                 "ben@riverside.example", "Ben Okafor",
                                                 "correct horse battery",
                                                 RFL_ROLE_MEMBER, &error);
  g_assert_no_error (error);
  fixture->other_tenant_id = rfl_database_create_tenant (database, "Harbour Logistics",
                                                         "business", &error);
  g_assert_no_error (error);
  fixture->other_user_id = rfl_database_create_user (database, fixture->other_tenant_id,
                                                     "cy@harbour.example", "Cy Lam",
                                                     "correct horse battery",
                                                     RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();
  g_autoptr(GError) error = NULL;
  gboolean with_provider = GPOINTER_TO_INT (data) == 0;

  seed_database (fixture);

  fixture->fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (fixture->fake, &error));
  g_assert_no_error (error);
  rfl_fake_llm_set_reply (fixture->fake, (const char *[]) {
    "Here", " is", " **bold**", " and", " `code`", ".", NULL });

  fixture->service = rfl_service_new_sync (fixture->database_path, &error);
  g_assert_no_error (error);
  if (with_provider)
    rfl_service_set_provider (fixture->service, &(RflProviderConfig) {
      RFL_PROVIDER_OLLAMA, rfl_fake_llm_get_url (fixture->fake), NULL, MODEL, NULL });

  fixture->settings = g_settings_new_with_backend (APP_ID, backend);
  g_settings_set_boolean (fixture->settings, "setup-complete", TRUE);
  g_settings_set_string (fixture->settings, "model", MODEL);
  g_settings_set_int64 (fixture->settings, "current-tenant-id", fixture->tenant_id);
  g_settings_set_int64 (fixture->settings, "current-user-id", fixture->admin_id);
  g_settings_set_int (fixture->settings, "window-width", 1100);
  g_settings_set_int (fixture->settings, "window-height", 760);

  fixture->window = rfl_window_new (NULL, fixture->settings);
  fixture->page = rfl_window_get_chat_page (fixture->window);
  fixture->sidebar = template_child (fixture->window, RFL_TYPE_WINDOW, "chat_sidebar");
  gtk_window_present (GTK_WINDOW (fixture->window));
  rfl_window_set_service (fixture->window, fixture->service);

  g_assert_true (wait_for (fixture, page_ready));
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->window != NULL)
    gtk_window_destroy (GTK_WINDOW (fixture->window));
  spin (20);
  rfl_service_shutdown (fixture->service);
  g_clear_object (&fixture->service);
  g_clear_object (&fixture->settings);
  g_clear_pointer (&fixture->fake, rfl_fake_llm_free);
  g_free (fixture->database_path);
}

/* Tests ------------------------------------------------------------------ */

static void
test_empty_state (Fixture       *fixture,
                  gconstpointer  data)
{
  GtkStack *stack = template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "conversation_stack");
  GtkLabel *empty_label = template_child (fixture->sidebar, RFL_TYPE_CHAT_SIDEBAR,
                                          "empty_label");
  GtkLabel *identity = template_child (fixture->sidebar, RFL_TYPE_CHAT_SIDEBAR,
                                       "identity_name");
  GtkWidget *send = template_child (composer (fixture), RFL_TYPE_CHAT_COMPOSER, "send_button");
  AdwWindowTitle *title = template_child (fixture->window, RFL_TYPE_WINDOW, "content_title");

  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (empty_label)));
  g_assert_nonnull (strstr (gtk_label_get_text (empty_label), "No conversations yet"));
  g_assert_cmpstr (gtk_label_get_text (identity), ==, "Ana Ruiz");
  g_assert_cmpstr (rfl_chat_page_get_title (fixture->page), ==, "New Chat");
  g_assert_cmpstr (adw_window_title_get_title (title), ==, "New Chat");
  g_assert_cmpint (rfl_chat_page_get_conversation_id (fixture->page), ==, 0);
  g_assert_false (gtk_widget_get_sensitive (send));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fixture->sidebar)));

  /* A new chat opens with the assistant's greeting. */
  g_assert_true (wait_for (fixture, greeting_shown));

  rfl_chat_composer_set_text (composer (fixture), "   \n ");
  g_assert_false (gtk_widget_get_sensitive (send));
  g_assert_false (rfl_chat_composer_send (composer (fixture)));
  rfl_chat_composer_set_text (composer (fixture), "Hello");
  g_assert_true (gtk_widget_get_sensitive (send));
}

static void
test_send_and_stream (Fixture       *fixture,
                      gconstpointer  data)
{
  GtkStack *stack = template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "conversation_stack");
  RflChatMessageItem *user, *answer;
  g_autofree char *typed = NULL;
  gint64 id;

  g_assert_true (wait_for (fixture, greeting_shown));
  chat (fixture, "What should I remember about tea?");

  /* The greeting, the question and the answer. */
  g_assert_cmpuint (n_messages (fixture), ==, 3);
  g_assert_true (rfl_chat_message_item_get_greeting (message (fixture, 0)));
  user = message (fixture, 1);
  answer = message (fixture, 2);
  g_assert_cmpint (rfl_chat_message_item_get_role (user), ==, RFL_MESSAGE_ROLE_USER);
  g_assert_cmpstr (rfl_chat_message_item_get_text (user), ==,
                   "What should I remember about tea?");
  g_assert_cmpint (rfl_chat_message_item_get_role (answer), ==, RFL_MESSAGE_ROLE_ASSISTANT);
  g_assert_cmpstr (rfl_chat_message_item_get_text (answer), ==,
                   "Here is **bold** and `code`.");
  g_assert_cmpint (rfl_chat_message_item_get_status (answer), ==, RFL_MESSAGE_STATUS_COMPLETE);
  g_assert_cmpstr (rfl_chat_message_item_get_model (answer), ==, MODEL);
  g_assert_true (rfl_chat_message_item_get_last_answer (answer));
  g_assert_cmpint (rfl_chat_message_item_get_id (answer), >, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "messages");

  /* The composer was emptied and the conversation now exists. */
  typed = rfl_chat_composer_dup_text (composer (fixture));
  g_assert_cmpstr (typed, ==, "");
  id = rfl_chat_page_get_conversation_id (fixture->page);
  g_assert_cmpint (id, >, 0);
  g_assert_true (wait_for (fixture, has_one_conversation));
  g_assert_cmpint (rfl_chat_sidebar_get_selected (fixture->sidebar), ==, id);
  g_assert_cmpstr (rfl_chat_page_get_title (fixture->page), !=, "New Chat");

  /* Asking again in the same conversation. */
  chat (fixture, "And coffee?");
  g_assert_cmpuint (n_messages (fixture), ==, 5);
  g_assert_cmpint (rfl_chat_page_get_conversation_id (fixture->page), ==, id);
  g_assert_false (rfl_chat_message_item_get_last_answer (answer));
  g_assert_true (rfl_chat_message_item_get_last_answer (last_message (fixture)));
  g_assert_cmpuint (n_conversations (fixture), ==, 1);

  /* Opened again, it shows what the database kept. */
  rfl_chat_page_open_conversation (fixture->page, 0);
  g_assert_cmpuint (n_messages (fixture), ==, 0);
  rfl_chat_page_open_conversation (fixture->page, id);
  g_assert_true (wait_for (fixture, answer_has_text));
  g_assert_cmpuint (n_messages (fixture), ==, 4);
  g_assert_cmpstr (rfl_chat_message_item_get_text (last_message (fixture)), ==,
                   "Here is **bold** and `code`.");
}

static GtkEventController *
find_key_controller (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller)
          && gtk_event_controller_get_propagation_phase (controller) == GTK_PHASE_CAPTURE)
        return controller;
    }

  return NULL;
}

static gboolean
press_key (GtkEventController *controller,
           guint               keyval,
           GdkModifierType     state)
{
  gboolean handled = FALSE;

  g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);

  return handled;
}

static void
test_enter_sends (Fixture       *fixture,
                  gconstpointer  data)
{
  GtkWidget *text_view = template_child (composer (fixture), RFL_TYPE_CHAT_COMPOSER,
                                         "text_view");
  GtkEventController *keys = find_key_controller (text_view);

  g_assert_nonnull (keys);

  /* Shift+Enter is left to the text view: a new line. */
  rfl_chat_composer_set_text (composer (fixture), "First line");
  g_assert_false (press_key (keys, GDK_KEY_Return, GDK_SHIFT_MASK));
  g_assert_cmpuint (n_messages (fixture), ==, 0);

  /* Other keys type. */
  g_assert_false (press_key (keys, GDK_KEY_a, 0));

  /* Enter sends. */
  g_assert_true (press_key (keys, GDK_KEY_Return, 0));
  g_assert_true (rfl_chat_page_get_streaming (fixture->page));
  g_assert_cmpuint (n_messages (fixture), >=, 2);

  /* While the answer streams, Enter sends nothing more. */
  rfl_chat_composer_set_text (composer (fixture), "Second");
  g_assert_true (press_key (keys, GDK_KEY_KP_Enter, 0));
  g_assert_true (wait_for (fixture, not_streaming));
  g_assert_cmpstr (rfl_chat_message_item_get_text (message (fixture, n_messages (fixture) - 2)),
                   ==, "First line");
}

static gboolean
answer_interrupted (Fixture *fixture)
{
  return n_messages (fixture) > 0
         && rfl_chat_message_item_get_status (last_message (fixture))
            == RFL_MESSAGE_STATUS_INTERRUPTED;
}

static void
test_stop (Fixture       *fixture,
           gconstpointer  data)
{
  GtkWidget *send = template_child (composer (fixture), RFL_TYPE_CHAT_COMPOSER, "send_button");
  g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  RflChatMessageItem *answer;

  for (guint i = 0; i < 400; i++)
    g_ptr_array_add (tokens, g_strdup_printf ("word%u ", i));
  g_ptr_array_add (tokens, NULL);
  rfl_fake_llm_set_reply (fixture->fake, (const char * const *) tokens->pdata);
  rfl_fake_llm_set_token_delay (fixture->fake, 10);

  type_and_send (fixture, "Tell me a long story");
  g_assert_true (rfl_chat_composer_get_streaming (composer (fixture)));
  g_assert_cmpstr (gtk_button_get_icon_name (GTK_BUTTON (send)), ==,
                   "media-playback-stop-symbolic");
  g_assert_true (wait_for (fixture, answer_has_text));

  /* Escape runs chat.stop. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "chat.stop", NULL));
  g_assert_true (wait_for (fixture, answer_interrupted));
  g_assert_true (wait_for (fixture, not_streaming));

  answer = last_message (fixture);
  g_assert_cmpstr (rfl_chat_message_item_get_text (answer), !=, "");
  g_assert_null (strstr (rfl_chat_message_item_get_text (answer), "word399"));
  g_assert_false (rfl_chat_composer_get_streaming (composer (fixture)));
  g_assert_cmpstr (gtk_button_get_icon_name (GTK_BUTTON (send)), ==, "go-up-symbolic");
}

static gboolean
answer_failed (Fixture *fixture)
{
  return n_messages (fixture) > 0
         && rfl_chat_message_item_get_status (last_message (fixture))
            == RFL_MESSAGE_STATUS_ERROR;
}

static gboolean
answer_complete (Fixture *fixture)
{
  return n_messages (fixture) > 0
         && rfl_chat_message_item_get_status (last_message (fixture))
            == RFL_MESSAGE_STATUS_COMPLETE
         && !rfl_chat_page_get_streaming (fixture->page);
}

/* Malformed or cut-off provider output: a clear error with Retry, which
 * then answers. */
static void
check_error_and_retry (Fixture         *fixture,
                       RflFakeLlmFault  fault,
                       guint            param)
{
  RflChatMessageItem *answer;
  const char *error;

  /* Every try fails, retries included, until the fault is cleared. */
  rfl_fake_llm_set_fault_for_path (fixture->fake, "/api/chat", fault, param, 0);
  type_and_send (fixture, "Are you there?");
  g_assert_true (wait_for (fixture, answer_failed));
  g_assert_true (wait_for (fixture, not_streaming));

  answer = last_message (fixture);
  error = rfl_chat_message_item_get_error (answer);
  g_test_message ("error shown: %s", error);
  g_assert_nonnull (error);
  g_assert_cmpuint (strlen (error), >, 10);
  g_assert_true (rfl_chat_message_item_get_last_answer (answer));
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (fixture->page)));

  rfl_fake_llm_clear_fault (fixture->fake);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "chat.retry", NULL));
  g_assert_true (wait_for (fixture, answer_complete));
  g_assert_true (last_message (fixture) == answer);
  g_assert_cmpstr (rfl_chat_message_item_get_text (answer), ==,
                   "Here is **bold** and `code`.");
  g_assert_null (rfl_chat_message_item_get_error (answer));
}

static void
test_malformed_output (Fixture       *fixture,
                       gconstpointer  data)
{
  check_error_and_retry (fixture, RFL_FAKE_LLM_FAULT_MALFORMED, 2);
}

static void
test_truncated_output (Fixture       *fixture,
                       gconstpointer  data)
{
  check_error_and_retry (fixture, RFL_FAKE_LLM_FAULT_DISCONNECT, 3);
}

static void
test_provider_error (Fixture       *fixture,
                     gconstpointer  data)
{
  check_error_and_retry (fixture, RFL_FAKE_LLM_FAULT_HTTP_500, 0);
}

static void
test_regenerate (Fixture       *fixture,
                 gconstpointer  data)
{
  RflChatMessageItem *answer;

  chat (fixture, "Name a colour");
  answer = last_message (fixture);
  g_assert_cmpuint (n_messages (fixture), >=, 2);

  rfl_fake_llm_queue_reply (fixture->fake, (const char *[]) { "Teal", ".", NULL });
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page),
                                             "chat.regenerate", NULL));
  g_assert_true (rfl_chat_page_get_streaming (fixture->page));
  g_assert_true (wait_for (fixture, answer_complete));

  /* The same row shows the new answer; nothing else was added. */
  g_assert_true (last_message (fixture) == answer);
  g_assert_cmpstr (rfl_chat_message_item_get_text (answer), ==, "Teal.");
}

static AdwMessageDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window))
        return ADW_MESSAGE_DIALOG (window);
    }

  return NULL;
}

static gboolean
renamed (Fixture *fixture)
{
  return g_strcmp0 (rfl_chat_page_get_title (fixture->page), "Tea notes") == 0;
}

static void
test_rename (Fixture       *fixture,
             gconstpointer  data)
{
  AdwWindowTitle *title = template_child (fixture->window, RFL_TYPE_WINDOW, "content_title");
  g_autoptr(RflChatConversationItem) item = NULL;
  AdwMessageDialog *dialog;
  GtkWidget *entry;

  chat (fixture, "Tea");
  g_assert_true (wait_for (fixture, has_one_conversation));

  /* F2 (chat.rename) asks for the new title. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "chat.rename", NULL));
  dialog = find_dialog ();
  g_assert_nonnull (dialog);
  entry = adw_message_dialog_get_extra_child (dialog);

  /* An empty title cannot be chosen. */
  gtk_editable_set_text (GTK_EDITABLE (entry), "   ");
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "rename"));
  gtk_editable_set_text (GTK_EDITABLE (entry), "  Tea notes ");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "rename"));
  adw_message_dialog_response (dialog, "rename");
  gtk_window_destroy (GTK_WINDOW (dialog));

  g_assert_true (wait_for (fixture, renamed));
  g_assert_cmpstr (adw_window_title_get_title (title), ==, "Tea notes");
  item = g_list_model_get_item (rfl_chat_page_get_conversations (fixture->page), 0);
  g_assert_cmpstr (rfl_chat_conversation_item_get_title (item), ==, "Tea notes");
}

static gboolean
back_to_new_chat (Fixture *fixture)
{
  return n_conversations (fixture) == 0
         && rfl_chat_page_get_conversation_id (fixture->page) == 0;
}

static gint64 restored_id;

static gboolean
restored (Fixture *fixture)
{
  return n_conversations (fixture) == 1
         && rfl_chat_page_get_conversation_id (fixture->page) == restored_id
         && n_messages (fixture) == 2;
}

static void
test_delete_and_undo (Fixture       *fixture,
                      gconstpointer  data)
{
  gint64 id;

  chat (fixture, "Something to forget");
  g_assert_true (wait_for (fixture, has_one_conversation));
  id = rfl_chat_page_get_conversation_id (fixture->page);

  /* Delete from the row's menu. */
  g_signal_emit_by_name (fixture->sidebar, "delete-conversation", id);
  g_assert_true (wait_for (fixture, back_to_new_chat));
  g_assert_cmpuint (n_messages (fixture), ==, 0);

  /* The toast's Undo brings it back, and opens it. */
  restored_id = id;
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "chat.undo-delete",
                                             "x", id));
  g_assert_true (wait_for (fixture, restored));
  g_assert_cmpstr (rfl_chat_message_item_get_text (message (fixture, 0)), ==,
                   "Something to forget");
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  GtkEditable *search = template_child (fixture->sidebar, RFL_TYPE_CHAT_SIDEBAR, "search_entry");
  GtkLabel *empty_label = template_child (fixture->sidebar, RFL_TYPE_CHAT_SIDEBAR,
                                          "empty_label");
  g_autoptr(RflChatConversationItem) item = NULL;

  chat (fixture, "Bananas are yellow");
  rfl_chat_page_open_conversation (fixture->page, 0);
  chat (fixture, "Cherries are red");
  g_assert_true (wait_for (fixture, has_two_conversations));

  gtk_editable_set_text (search, "bananas");
  g_signal_emit_by_name (search, "search-changed");
  g_assert_true (wait_for (fixture, has_one_conversation));
  item = g_list_model_get_item (rfl_chat_page_get_conversations (fixture->page), 0);
  g_assert_nonnull (strstr (rfl_chat_conversation_item_get_preview (item), "") );

  gtk_editable_set_text (search, "durian");
  g_signal_emit_by_name (search, "search-changed");
  g_assert_true (wait_for (fixture, has_no_conversation));
  g_assert_nonnull (strstr (gtk_label_get_text (empty_label), "durian"));

  /* Escape in the field clears the search. */
  g_signal_emit_by_name (search, "stop-search");
  g_signal_emit_by_name (search, "search-changed");
  g_assert_true (wait_for (fixture, has_two_conversations));
}

static gboolean
member_is_chatting (Fixture *fixture)
{
  GtkLabel *identity = template_child (fixture->sidebar, RFL_TYPE_CHAT_SIDEBAR,
                                       "identity_name");

  return rfl_chat_page_get_ready (fixture->page)
         && g_strcmp0 (gtk_label_get_text (identity), "Cy Lam") == 0;
}

static void
test_identity_switch (Fixture       *fixture,
                      gconstpointer  data)
{
  GtkListBox *identities = template_child (fixture->sidebar, RFL_TYPE_CHAT_SIDEBAR,
                                           "identity_list");
  guint n_rows = 0;

  chat (fixture, "Admin's question");
  g_assert_true (wait_for (fixture, has_one_conversation));

  /* A system administrator may chat as anyone. */
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (identities));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    n_rows++;
  g_assert_cmpuint (n_rows, ==, 3);

  g_signal_emit_by_name (fixture->sidebar, "identity-chosen",
                         fixture->other_tenant_id, fixture->other_user_id);
  g_assert_cmpint (g_settings_get_int64 (fixture->settings, "current-user-id"), ==,
                   fixture->other_user_id);
  g_assert_true (wait_for (fixture, member_is_chatting));
  spin (200);

  /* Another tenant's user sees none of the administrator's chats. */
  g_assert_cmpuint (n_conversations (fixture), ==, 0);
  g_assert_cmpint (rfl_chat_page_get_conversation_id (fixture->page), ==, 0);

  /* A tenant administrator may chat only as users of that tenant. */
  n_rows = 0;
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (identities));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    n_rows++;
  g_assert_cmpuint (n_rows, ==, 1);
}

static void
test_without_provider (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *typed = NULL;

  /* Nothing is stored: the question goes back to the field. */
  type_and_send (fixture, "Is anyone configured?");
  g_assert_true (wait_for (fixture, not_streaming));
  spin (100);

  typed = rfl_chat_composer_dup_text (composer (fixture));
  g_assert_cmpstr (typed, ==, "Is anyone configured?");
  g_assert_cmpuint (n_messages (fixture), ==, 0);

  /* No empty conversation is left behind. */
  g_assert_true (wait_for (fixture, back_to_new_chat));
}

static void
test_new_chat_shortcut (Fixture       *fixture,
                        gconstpointer  data)
{
  GtkListBox *sections = template_child (fixture->window, RFL_TYPE_WINDOW, "sidebar");
  GtkListBoxRow *selected;

  chat (fixture, "First chat");
  g_assert_true (wait_for (fixture, has_one_conversation));
  g_assert_cmpint (rfl_chat_page_get_conversation_id (fixture->page), >, 0);
  /* The conversation is highlighted, not the section. */
  g_assert_null (gtk_list_box_get_selected_row (sections));

  rfl_window_show_page (fixture->window, "administration");
  g_assert_cmpint (rfl_chat_sidebar_get_selected (fixture->sidebar), ==, 0);

  /* Ctrl+N (win.new-chat) opens a new chat from anywhere. */
  g_action_group_activate_action (G_ACTION_GROUP (fixture->window), "new-chat", NULL);
  g_assert_cmpstr (rfl_window_get_page (fixture->window), ==, "chat");
  g_assert_cmpint (rfl_chat_page_get_conversation_id (fixture->page), ==, 0);
  g_assert_cmpuint (n_messages (fixture), ==, 0);
  selected = gtk_list_box_get_selected_row (sections);
  g_assert_nonnull (selected);
  g_assert_cmpstr (gtk_widget_get_name (GTK_WIDGET (selected)), ==, "chat");

  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (fixture->window),
                                            "search-conversations"));
}

/* Memories ----------------------------------------------------------- */

static void
seed_memories (Fixture *fixture)
{
  g_autoptr(RflDatabase) database = NULL;
  g_autoptr(RflVectorStore) vectors = NULL;
  g_autoptr(RflMemoryStore) memories = NULL;
  g_autoptr(GError) error = NULL;
  const char *facts[][2] = {
    { "favourite tea", "Earl Grey, no milk" },
    { "home town", "Porto" },
    { "running goal", "a half marathon in spring" },
  };

  g_autoptr(RflVectorEmbedder) embedder = rfl_vector_embedder_new_hash ();

  database = rfl_database_open (fixture->database_path, &error);
  g_assert_no_error (error);
  vectors = rfl_vector_store_new (database, embedder, &error);
  g_assert_no_error (error);
  memories = rfl_memory_store_new (database, vectors);

  for (guint i = 0; i < G_N_ELEMENTS (facts); i++)
    {
      g_autoptr(RflMemory) memory = rfl_memory_new (RFL_MEMORY_KIND_FACT,
                                                    facts[i][0], facts[i][1]);

      memory->importance = 0.9 - i * 0.2;
      g_assert_cmpint (rfl_memory_store_upsert (memories, fixture->tenant_id,
                                                fixture->admin_id, memory, NULL, 0,
                                                NULL, &error), >, 0);
      g_assert_no_error (error);
    }
}

static RflChatMemoriesPanel *
memories_panel (Fixture *fixture)
{
  return template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "memories_panel");
}

static gboolean
memories_loaded (Fixture *fixture)
{
  return !rfl_chat_memories_panel_get_loading (memories_panel (fixture))
         && rfl_chat_memories_panel_get_n_memories (memories_panel (fixture)) == 3;
}

static void
collect_descendants (GtkWidget *root,
                     GType      type,
                     GPtrArray *found)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        g_ptr_array_add (found, child);
      collect_descendants (child, type, found);
    }
}

/* The @index-th descendant of @root of @type, depth first. */
static GtkWidget *
find_descendant (GtkWidget *root,
                 GType      type,
                 guint      index)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new ();

  collect_descendants (root, type, found);

  return index < found->len ? g_ptr_array_index (found, index) : NULL;
}

static GtkWidget *
find_with_class (GtkWidget  *root,
                 const char *css_class)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (gtk_widget_has_css_class (child, css_class))
        return child;

      found = find_with_class (child, css_class);
      if (found != NULL)
        return found;
    }

  return NULL;
}

static gboolean
memory_edited (Fixture *fixture)
{
  GtkListBox *list = template_child (memories_panel (fixture), RFL_TYPE_CHAT_MEMORIES_PANEL,
                                     "memory_list");
  GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (list));

  return row != NULL
         && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                       "Darjeeling") == 0;
}

static gboolean
memory_gone (Fixture *fixture)
{
  return rfl_chat_memories_panel_get_n_memories (memories_panel (fixture)) == 2;
}

typedef struct
{
  GPtrArray *memories;
  gboolean   done;
} ListResult;

static void
list_memories_done_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  ListResult *list = user_data;
  g_autoptr(GError) error = NULL;

  list->memories = rfl_service_list_memories_finish (RFL_SERVICE (source), result, &error);
  g_assert_no_error (error);
  list->done = TRUE;
}

static void
test_memories (Fixture       *fixture,
               gconstpointer  data)
{
  AdwFlap *flap = template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "flap");
  GtkWidget *button = template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "memories_button");
  GtkListBox *list = template_child (memories_panel (fixture), RFL_TYPE_CHAT_MEMORIES_PANEL,
                                     "memory_list");
  GtkWidget *row, *edit, *delete, *popover, *value_entry, *save;
  ListResult result = { 0 };

  seed_memories (fixture);

  /* The memories button opens the panel, which lists them. */
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button), TRUE);
  g_assert_true (adw_flap_get_reveal_flap (flap));
  g_assert_true (wait_for (fixture, memories_loaded));
  row = gtk_widget_get_first_child (GTK_WIDGET (list));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Earl Grey, no milk");

  /* Edit: a popover with the memory's key and value. */
  edit = find_descendant (row, GTK_TYPE_MENU_BUTTON, 0);
  g_assert_nonnull (edit);
  gtk_menu_button_popup (GTK_MENU_BUTTON (edit));
  popover = GTK_WIDGET (gtk_menu_button_get_popover (GTK_MENU_BUTTON (edit)));
  g_assert_nonnull (popover);
  value_entry = find_descendant (popover, GTK_TYPE_ENTRY, 1);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (value_entry)), ==,
                   "Earl Grey, no milk");
  gtk_editable_set_text (GTK_EDITABLE (value_entry), "");
  save = find_with_class (popover, "suggested-action");
  g_assert_false (gtk_widget_get_sensitive (save));
  gtk_editable_set_text (GTK_EDITABLE (value_entry), "Darjeeling");
  g_assert_true (gtk_widget_get_sensitive (save));
  g_signal_emit_by_name (save, "clicked");
  g_assert_true (wait_for (fixture, memory_edited));

  /* Delete hides it at once, and it is gone for good once its toast
   * is. */
  row = gtk_widget_get_first_child (GTK_WIDGET (list));
  delete = NULL;
  for (guint i = 0; (edit = find_descendant (row, GTK_TYPE_BUTTON, i)) != NULL; i++)
    {
      if (g_strcmp0 (gtk_widget_get_tooltip_text (edit), "Forget") == 0)
        delete = edit;
    }
  g_assert_nonnull (delete);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (delete), ==, "Forget");
  g_signal_emit_by_name (delete, "clicked");
  g_assert_true (memory_gone (fixture));

  /* Closing the window ends the toast's chance to undo. */
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  fixture->window = NULL;
  spin (300);

  rfl_service_list_memories_async (fixture->service,
                                   (RflIdentity) { fixture->tenant_id, fixture->admin_id },
                                   NULL, list_memories_done_cb, &result);
  while (!result.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (result.memories->len, ==, 2);
  g_ptr_array_unref (result.memories);
}

/* The fake Ollama server's two models. */
static gboolean
models_listed (Fixture *fixture)
{
  GtkDropDown *models = template_child (fixture->page, RFL_TYPE_CHAT_PAGE, "model_dropdown");

  return g_list_model_get_n_items (gtk_drop_down_get_model (models)) == 2;
}

/* The application opens the service from the data folder once setup is
 * complete, configures the provider from the settings, and gives it to
 * its windows. */
static void
test_application_opens_service (void)
{
  Fixture fixture = { 0 };
  g_autoptr(RflApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  GtkDropDown *models;

  seed_database (&fixture);
  fixture.fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (fixture.fake, &error));
  g_assert_no_error (error);
  rfl_fake_llm_set_reply (fixture.fake, (const char *[]) { "Hello", " from", " settings", NULL });

  app = g_object_new (RFL_TYPE_APPLICATION,
                      "application-id", APP_ID,
                      "flags", G_APPLICATION_NON_UNIQUE,
                      "resource-base-path", RESOURCE_PREFIX,
                      NULL);
  fixture.settings = g_object_ref (rfl_application_get_settings (app));
  g_settings_set_string (fixture.settings, "provider", "ollama");
  g_settings_set_string (fixture.settings, "ollama-url", rfl_fake_llm_get_url (fixture.fake));
  g_settings_set_string (fixture.settings, "model", MODEL);
  g_settings_set_int64 (fixture.settings, "current-tenant-id", fixture.tenant_id);
  g_settings_set_int64 (fixture.settings, "current-user-id", fixture.admin_id);
  g_settings_set_boolean (fixture.settings, "setup-complete", TRUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  fixture.window = rfl_window_new (GTK_APPLICATION (app), fixture.settings);
  fixture.page = rfl_window_get_chat_page (fixture.window);
  fixture.sidebar = template_child (fixture.window, RFL_TYPE_WINDOW, "chat_sidebar");
  gtk_window_present (GTK_WINDOW (fixture.window));
  g_assert_true (wait_for (&fixture, page_ready));
  g_assert_nonnull (rfl_chat_page_get_service (fixture.page));

  /* The model picker lists what the configured provider has. */
  models = template_child (fixture.page, RFL_TYPE_CHAT_PAGE, "model_dropdown");
  chat (&fixture, "Who configured you?");
  g_assert_cmpstr (rfl_chat_message_item_get_text (last_message (&fixture)), ==,
                   "Hello from settings");
  g_assert_true (wait_for (&fixture, models_listed));
  g_assert_cmpstr (gtk_string_object_get_string (gtk_drop_down_get_selected_item (models)), ==,
                   MODEL);

  gtk_window_destroy (GTK_WINDOW (fixture.window));
  spin (20);
  g_clear_object (&app);
  g_clear_object (&fixture.settings);
  g_clear_pointer (&fixture.fake, rfl_fake_llm_free);
  g_free (fixture.database_path);
}

int
main (int   argc,
      char *argv[])
{
  gboolean uncertain;

  gtk_init ();
  adw_init ();
  g_free (g_content_type_guess ("icon.svg", (const guchar *) "<svg", 4, &uncertain));
  gtk_icon_theme_get_for_display (gdk_display_get_default ());

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func, data) \
  g_test_add ("/rfl/chat-page/" path, Fixture, GINT_TO_POINTER (data), \
              fixture_set_up, func, fixture_tear_down)

  ADD ("empty-state", test_empty_state, 0);
  ADD ("send-and-stream", test_send_and_stream, 0);
  ADD ("enter-sends", test_enter_sends, 0);
  ADD ("stop", test_stop, 0);
  ADD ("malformed-output", test_malformed_output, 0);
  ADD ("truncated-output", test_truncated_output, 0);
  ADD ("provider-error", test_provider_error, 0);
  ADD ("regenerate", test_regenerate, 0);
  ADD ("rename", test_rename, 0);
  ADD ("delete-and-undo", test_delete_and_undo, 0);
  ADD ("search", test_search, 0);
  ADD ("identity-switch", test_identity_switch, 0);
  ADD ("without-provider", test_without_provider, 1);
  ADD ("new-chat-shortcut", test_new_chat_shortcut, 0);
  ADD ("memories", test_memories, 0);

#undef ADD

  g_test_add_func ("/rfl/chat-page/application-opens-service", test_application_opens_service);

  return g_test_run ();
}
