/* test-assistant.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "core/rfl-error.h"
#include "service/rfl-assistant.h"
#include "service/rfl-memory-extractor.h"
#include "service/rfl-tool-registry.h"
#include "store/rfl-chat-store.h"

#define DAY_MS (G_GINT64_CONSTANT (86400000))
#define NOW_MS (G_GINT64_CONSTANT (1767225600000))  /* 2026-01-01 */

static RflMemory *
make_memory (gint64      id,
             const char *key,
             const char *value,
             double      importance,
             gint64      updated_at,
             gint64      last_used_at)
{
  RflMemory *memory = rfl_memory_new (RFL_MEMORY_KIND_FACT, key, value);

  memory->id = id;
  memory->importance = importance;
  memory->updated_at = updated_at;
  memory->created_at = updated_at;
  memory->last_used_at = last_used_at;
  return memory;
}

static RflMemoryHit *
make_hit (RflMemory *memory,
          float      similarity,
          guint      vector_rank,
          guint      text_rank)
{
  RflMemoryHit *hit = g_new0 (RflMemoryHit, 1);

  hit->memory = memory;
  hit->similarity = similarity;
  hit->vector_rank = vector_rank;
  hit->text_rank = text_rank;
  return hit;
}

/* Scoring ------------------------------------------------------------- */

static void
test_score (void)
{
  double fresh, month, two_months, used;

  /* similarity × importance × 2^(−age / 30 days). */
  fresh = rfl_assistant_score_memory (0.8, FALSE, 0.5, NOW_MS, 0, NOW_MS);
  g_assert_cmpfloat_with_epsilon (fresh, 0.4, 1e-12);

  month = rfl_assistant_score_memory (0.8, FALSE, 0.5, NOW_MS - 30 * DAY_MS, 0,
                                      NOW_MS);
  g_assert_cmpfloat_with_epsilon (month, 0.2, 1e-12);

  two_months = rfl_assistant_score_memory (0.8, FALSE, 0.5,
                                           NOW_MS - 60 * DAY_MS, 0, NOW_MS);
  g_assert_cmpfloat_with_epsilon (two_months, 0.1, 1e-12);

  /* Being used counts as being recent. */
  used = rfl_assistant_score_memory (0.8, FALSE, 0.5, NOW_MS - 60 * DAY_MS,
                                     NOW_MS - 30 * DAY_MS, NOW_MS);
  g_assert_cmpfloat_with_epsilon (used, 0.2, 1e-12);

  /* A word match adds to the similarity, up to 1. */
  g_assert_cmpfloat_with_epsilon (rfl_assistant_score_memory (0.5, TRUE, 1,
                                                              NOW_MS, 0,
                                                              NOW_MS),
                                  0.5 + RFL_ASSISTANT_TEXT_MATCH_BONUS, 1e-12);
  g_assert_cmpfloat_with_epsilon (rfl_assistant_score_memory (0.9, TRUE, 1,
                                                              NOW_MS, 0,
                                                              NOW_MS),
                                  1.0, 1e-12);

  /* Out-of-range values are clamped; a future time does not grow. */
  g_assert_cmpfloat (rfl_assistant_score_memory (-0.3, FALSE, 1, NOW_MS, 0,
                                                 NOW_MS), ==, 0);
  g_assert_cmpfloat (rfl_assistant_score_memory (NAN, FALSE, 1, NOW_MS, 0,
                                                 NOW_MS), ==, 0);
  g_assert_cmpfloat_with_epsilon (rfl_assistant_score_memory (1.5, FALSE, 2,
                                                              NOW_MS + DAY_MS,
                                                              0, NOW_MS),
                                  1.0, 1e-12);
  g_assert_cmpfloat (rfl_assistant_score_memory (0.9, FALSE, 0, NOW_MS, 0,
                                                 NOW_MS), ==, 0);
}

static void
test_rank (void)
{
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GPtrArray) top = NULL;

  hits = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_hit_free);
  /* Most similar, but unimportant. */
  g_ptr_array_add (hits, make_hit (make_memory (1, "snack", "crisps", 0.1,
                                                NOW_MS, 0), 0.9, 1, 0));
  /* Less similar, important and fresh: wins. */
  g_ptr_array_add (hits, make_hit (make_memory (2, "name", "Ada", 0.9,
                                                NOW_MS, 0), 0.6, 2, 0));
  /* As similar and important, but 90 days old. */
  g_ptr_array_add (hits, make_hit (make_memory (3, "old job", "baker", 0.9,
                                                NOW_MS - 90 * DAY_MS, 0),
                                   0.6, 3, 0));
  /* Same, but used yesterday. */
  g_ptr_array_add (hits, make_hit (make_memory (4, "job", "nurse", 0.9,
                                                NOW_MS - 90 * DAY_MS,
                                                NOW_MS - DAY_MS),
                                   0.6, 4, 0));
  /* Matched by words only. */
  g_ptr_array_add (hits, make_hit (make_memory (5, "city", "Lyon", 0.5,
                                                NOW_MS, 0), 0, 0, 1));
  /* Not relevant enough to be given at all, however important. */
  g_ptr_array_add (hits, make_hit (make_memory (6, "pet", "cat", 1.0,
                                                NOW_MS, 0), 0.1, 5, 0));

  ranked = rfl_assistant_rank_memories (hits, NOW_MS, 10);
  g_assert_cmpuint (ranked->len, ==, 5);
  g_assert_cmpint (((RflMemory *) ranked->pdata[0])->id, ==, 2);
  g_assert_cmpint (((RflMemory *) ranked->pdata[1])->id, ==, 4);
  g_assert_cmpint (((RflMemory *) ranked->pdata[2])->id, ==, 5);
  g_assert_cmpint (((RflMemory *) ranked->pdata[3])->id, ==, 1);
  g_assert_cmpint (((RflMemory *) ranked->pdata[4])->id, ==, 3);

  /* Copies, not the hits' own. */
  g_assert_true (ranked->pdata[0] != ((RflMemoryHit *) hits->pdata[1])->memory);
  g_assert_cmpstr (((RflMemory *) ranked->pdata[0])->value, ==, "Ada");

  top = rfl_assistant_rank_memories (hits, NOW_MS, 2);
  g_assert_cmpuint (top->len, ==, 2);

  g_clear_pointer (&top, g_ptr_array_unref);
  top = rfl_assistant_rank_memories (NULL, NOW_MS, 5);
  g_assert_cmpuint (top->len, ==, 0);
}

/* Prompts --------------------------------------------------------------- */

static void
test_render (void)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;

  a = rfl_assistant_render ("Hi {{name}}, {{name}}! {{other}} {{ x",
                            (const char *[]) { "name", NULL },
                            (const char *[]) { "Ada", NULL });
  g_assert_cmpstr (a, ==, "Hi Ada, Ada! {{other}} {{ x");

  /* Values are not themselves templates. */
  b = rfl_assistant_render ("[{{a}}][{{b}}]",
                            (const char *[]) { "a", "b", NULL },
                            (const char *[]) { "{{b}}", NULL, NULL });
  g_assert_cmpstr (b, ==, "[{{b}}][]");

  c = rfl_assistant_render ("", NULL, NULL);
  g_assert_cmpstr (c, ==, "");
}

static void
test_profile (void)
{
  g_autoptr(RflAssistantProfile) health = NULL;
  g_autoptr(RflAssistantProfile) custom = NULL;
  g_autoptr(RflAssistantProfile) unknown = NULL;
  g_autofree char *key = NULL;

  health = rfl_assistant_profile_new ("Clinic", "healthcare", NULL, "  ");
  g_assert_cmpstr (health->agent_name, ==, RFL_ASSISTANT_DEFAULT_NAME);
  g_assert_nonnull (strstr (health->persona, "clinician"));
  g_assert_cmpstr (health->tenant_name, ==, "Clinic");

  custom = rfl_assistant_profile_new ("Acme", "business", "  Max ",
                                      "You are terse.");
  g_assert_cmpstr (custom->agent_name, ==, "Max");
  g_assert_cmpstr (custom->persona, ==, "You are terse.");

  unknown = rfl_assistant_profile_new (NULL, "astrology", NULL, NULL);
  g_assert_cmpstr (unknown->tenant_name, ==, "");
  g_assert_nonnull (strstr (unknown->persona, "companion"));

  key = rfl_assistant_dup_setting_key (42, "agent_name");
  g_assert_cmpstr (key, ==, "tenant.42.agent_name");
}

static void
test_system_prompt (void)
{
  g_autoptr(RflAssistantProfile) profile = NULL;
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autofree char *with = NULL;
  g_autofree char *without = NULL;

  profile = rfl_assistant_profile_new ("Acme", "business", "Max", NULL);
  now = g_date_time_new (utc, 2026, 3, 14, 9, 26, 0);
  memories = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
  g_ptr_array_add (memories, make_memory (1, "favourite colour", "green", 0.5,
                                          NOW_MS, 0));

  with = rfl_assistant_build_system_prompt (profile, memories, now);
  g_assert_nonnull (strstr (with, "You are Max"));
  g_assert_nonnull (strstr (with, "Acme"));
  g_assert_nonnull (strstr (with, "2026-03-14"));
  g_assert_nonnull (strstr (with, "practical"));
  g_assert_nonnull (strstr (with, "- favourite colour: green"));
  g_assert_null (strstr (with, "{{"));

  without = rfl_assistant_build_system_prompt (profile, NULL, now);
  g_assert_null (strstr (without, "What you remember"));
  g_assert_null (strstr (without, "{{"));
}

static void
test_greeting (void)
{
  g_autoptr(RflAssistantProfile) profile = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) memories = NULL;
  g_autofree char *prompt = NULL;
  g_autofree char *welcome = NULL;
  g_autofree char *back = NULL;
  g_autofree char *untitled = NULL;
  RflMessage *message;

  profile = rfl_assistant_profile_new ("Acme", "custom", "Max", NULL);
  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_message_free);
  g_ptr_array_add (messages, rfl_message_new (RFL_MESSAGE_ROLE_USER,
                                              "My exam is on Friday."));
  g_ptr_array_add (messages, rfl_message_new (RFL_MESSAGE_ROLE_ASSISTANT,
                                              "Good luck with it!"));
  message = rfl_message_new (RFL_MESSAGE_ROLE_TOOL, "secret tool output");
  g_ptr_array_add (messages, message);
  memories = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
  g_ptr_array_add (memories, make_memory (1, "name", "Ada", 0.9, NOW_MS, 0));

  prompt = rfl_assistant_build_greeting_prompt (profile, "Exam worries",
                                                messages, memories);
  g_assert_nonnull (strstr (prompt, "You are Max"));
  g_assert_nonnull (strstr (prompt, "\"Exam worries\""));
  g_assert_nonnull (strstr (prompt, "User: My exam is on Friday."));
  g_assert_nonnull (strstr (prompt, "You: Good luck with it!"));
  g_assert_nonnull (strstr (prompt, "- name: Ada"));
  g_assert_null (strstr (prompt, "secret tool output"));
  g_assert_null (strstr (prompt, "{{"));

  welcome = rfl_assistant_fallback_greeting ("Max", NULL, FALSE);
  g_assert_nonnull (strstr (welcome, "Max"));
  back = rfl_assistant_fallback_greeting ("Max", "Exam worries", TRUE);
  g_assert_nonnull (strstr (back, "“Exam worries”"));
  untitled = rfl_assistant_fallback_greeting ("Max", "", TRUE);
  g_assert_nonnull (strstr (untitled, "Welcome back"));
}

/* Memory extraction ---------------------------------------------------------- */

static void
test_extractor_request (void)
{
  g_autoptr(RflChatRequest) request = NULL;
  g_autoptr(GPtrArray) known = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;
  const char *system;
  const char *user;

  known = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);
  g_ptr_array_add (known, make_memory (1, "name", "Ada", 0.9, NOW_MS, 0));

  request = rfl_memory_extractor_build_request ("llama3.2:3b", known,
                                                "I moved to Lyon.",
                                                "How exciting!", &error);
  g_assert_no_error (error);
  g_assert_nonnull (request);

  g_assert_cmpint (rfl_chat_request_get_json_output (request), ==,
                   RFL_JSON_OUTPUT_SCHEMA);
  g_assert_cmpstr (rfl_chat_request_get_json_schema_name (request), ==,
                   "memories");
  g_assert_nonnull (strstr (rfl_chat_request_get_json_schema (request),
                            "\"importance\""));
  g_assert_false (rfl_chat_request_get_stream (request));

  messages = rfl_chat_request_get_messages (request);
  g_assert_cmpuint (messages->len, ==, 2);
  system = rfl_chat_message_get_content (messages->pdata[0]);
  user = rfl_chat_message_get_content (messages->pdata[1]);
  g_assert_nonnull (strstr (system, "- fact | name: Ada"));
  g_assert_null (strstr (system, "{{"));
  g_assert_nonnull (strstr (user, "I moved to Lyon."));
  g_assert_nonnull (strstr (user, "How exciting!"));
}

static void
test_extractor_parse (void)
{
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GPtrArray) fenced = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GError) error = NULL;
  RflMemory *memory;

  memories = rfl_memory_extractor_parse (
    "{\"memories\": ["
    " {\"kind\": \"fact\", \"key\": \" home town \", \"value\": \"Lyon\","
    "  \"importance\": 0.8},"
    " {\"kind\": \"preference\", \"key\": \"drink\", \"value\": \"tea\","
    "  \"importance\": 7},"
    " {\"kind\": \"mystery\", \"key\": \"odd\", \"value\": \"x\"},"
    " {\"kind\": \"fact\", \"key\": \"\", \"value\": \"no key\"},"
    " {\"kind\": \"fact\", \"key\": \"no value\", \"value\": \"  \"},"
    " {\"kind\": \"fact\", \"key\": 3, \"value\": \"number key\"},"
    " \"not an object\","
    " {\"kind\": \"goal\", \"key\": \"run\", \"value\": \"a marathon\","
    "  \"importance\": -2}"
    "]}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (memories->len, ==, 4);

  memory = memories->pdata[0];
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_FACT);
  g_assert_cmpstr (memory->key, ==, "home town");
  g_assert_cmpstr (memory->value, ==, "Lyon");
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.8, 1e-9);

  memory = memories->pdata[1];
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_PREFERENCE);
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.7, 1e-9);

  memory = memories->pdata[2];
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_OTHER);
  g_assert_cmpfloat_with_epsilon (memory->importance, 0.5, 1e-9);

  memory = memories->pdata[3];
  g_assert_cmpint (memory->kind, ==, RFL_MEMORY_KIND_GOAL);
  g_assert_cmpfloat (memory->importance, ==, 0);

  fenced = rfl_memory_extractor_parse ("Here you go:\n```json\n{\"memories\": "
                                       "[{\"kind\": \"fact\", \"key\": "
                                       "\"name\", \"value\": \"Ada\", "
                                       "\"importance\": 0.9}]}\n```", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fenced->len, ==, 1);

  none = rfl_memory_extractor_parse ("{\"memories\": []}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);

  g_assert_null (rfl_memory_extractor_parse ("Hello! How can I help?",
                                             &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_null (rfl_memory_extractor_parse ("{\"memories\": {}}", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_null (rfl_memory_extractor_parse ("{\"memories\": [", &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_null (rfl_memory_extractor_parse (NULL, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_PROTOCOL);
}

static void
test_extractor_limit (void)
{
  g_autoptr(GString) answer = g_string_new ("{\"memories\": [");
  g_autoptr(GPtrArray) memories = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 25; i++)
    g_string_append_printf (answer, "%s{\"kind\": \"fact\", \"key\": "
                            "\"k%u\", \"value\": \"v\", \"importance\": 0.5}",
                            i > 0 ? "," : "", i);
  g_string_append (answer, "]}");

  memories = rfl_memory_extractor_parse (answer->str, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (memories->len, ==, RFL_MEMORY_EXTRACTOR_MAX_RESULTS);
}

/* Tools ------------------------------------------------------------------- */

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static void
test_tool_definitions (void)
{
  for (guint i = 0; i < RFL_N_TOOLS; i++)
    {
      const RflChatTool *tool = rfl_tool_registry_get_definition (i);
      RflToolId id;

      g_assert_nonnull (tool);
      g_assert_cmpstr (tool->name, ==, rfl_tool_id_to_string (i));
      g_assert_nonnull (tool->description);
      g_assert_nonnull (strstr (tool->parameters, "\"object\""));
      g_assert_true (rfl_tool_id_from_string (tool->name, &id));
      g_assert_cmpint (id, ==, i);
      g_assert_nonnull (rfl_tool_id_get_activity (i));
    }

  g_assert_false (rfl_tool_id_from_string ("rm", NULL));
  g_assert_false (rfl_tool_id_from_string (NULL, NULL));
}

static void
test_tool_calculate (void)
{
  g_autoptr(JsonObject) good = parse_object ("{\"expression\": \"(1 + 2) ^ 2\"}");
  g_autoptr(JsonObject) bad = parse_object ("{\"expression\": \"1 / 0\"}");
  g_autoptr(JsonObject) wrong = parse_object ("{\"expression\": [1]}");
  g_autofree char *a = rfl_tool_registry_calculate (good);
  g_autofree char *b = rfl_tool_registry_calculate (bad);
  g_autofree char *c = rfl_tool_registry_calculate (wrong);

  g_assert_cmpstr (a, ==, "9");
  g_assert_true (g_str_has_prefix (b, "Error: Division by zero"));
  g_assert_true (g_str_has_prefix (c, "Error:"));
}

static void
test_tool_time (void)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) now = g_date_time_new (utc, 2026, 7, 1, 12, 0, 0);
  g_autoptr(JsonObject) berlin = parse_object ("{\"timezone\": \"Europe/Berlin\"}");
  g_autoptr(JsonObject) none = parse_object ("{}");
  g_autoptr(JsonObject) bogus = parse_object ("{\"timezone\": \"Mars/Base\"}");
  g_autofree char *a = rfl_tool_registry_describe_time (berlin, now);
  g_autofree char *b = rfl_tool_registry_describe_time (none, now);
  g_autofree char *c = rfl_tool_registry_describe_time (bogus, now);

  g_assert_nonnull (strstr (a, "2026-07-01T14:00:00+02"));
  g_assert_nonnull (strstr (a, "Europe/Berlin"));
  g_assert_nonnull (strstr (b, "2026-07-01T12:00:00Z"));
  g_assert_true (g_str_has_prefix (c, "Error:"));
}

static void
test_tool_arguments (void)
{
  g_autoptr(JsonObject) args = parse_object ("{\"s\": \"x\", \"i\": 3, \"d\": 0.5,"
                                             " \"t\": \"2.5\", \"b\": true,"
                                             " \"o\": {}, \"n\": null,"
                                             " \"bad\": \"2x\"}");
  double value = 0;

  g_assert_cmpstr (rfl_tool_arguments_get_string (args, "s"), ==, "x");
  g_assert_null (rfl_tool_arguments_get_string (args, "i"));
  g_assert_null (rfl_tool_arguments_get_string (args, "o"));
  g_assert_null (rfl_tool_arguments_get_string (args, "n"));
  g_assert_null (rfl_tool_arguments_get_string (args, "missing"));

  g_assert_true (rfl_tool_arguments_get_number (args, "i", &value));
  g_assert_cmpfloat (value, ==, 3);
  g_assert_true (rfl_tool_arguments_get_number (args, "d", &value));
  g_assert_cmpfloat (value, ==, 0.5);
  g_assert_true (rfl_tool_arguments_get_number (args, "t", &value));
  g_assert_cmpfloat (value, ==, 2.5);
  g_assert_false (rfl_tool_arguments_get_number (args, "b", &value));
  g_assert_false (rfl_tool_arguments_get_number (args, "o", &value));
  g_assert_false (rfl_tool_arguments_get_number (args, "bad", &value));
  g_assert_false (rfl_tool_arguments_get_number (args, "missing", &value));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/assistant/score", test_score);
  g_test_add_func ("/rfl/assistant/rank", test_rank);
  g_test_add_func ("/rfl/assistant/render", test_render);
  g_test_add_func ("/rfl/assistant/profile", test_profile);
  g_test_add_func ("/rfl/assistant/system-prompt", test_system_prompt);
  g_test_add_func ("/rfl/assistant/greeting", test_greeting);
  g_test_add_func ("/rfl/assistant/extractor-request", test_extractor_request);
  g_test_add_func ("/rfl/assistant/extractor-parse", test_extractor_parse);
  g_test_add_func ("/rfl/assistant/extractor-limit", test_extractor_limit);
  g_test_add_func ("/rfl/assistant/tool-definitions", test_tool_definitions);
  g_test_add_func ("/rfl/assistant/tool-calculate", test_tool_calculate);
  g_test_add_func ("/rfl/assistant/tool-time", test_tool_time);
  g_test_add_func ("/rfl/assistant/tool-arguments", test_tool_arguments);

  return g_test_run ();
}
