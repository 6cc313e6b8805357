/* test-openai-tools.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "core/rfl-signing-key.h"
#include "service/rfl-service-http.h"
#include "service/rfl-service.h"
#include "store/rfl-auth-store.h"
#include "store/rfl-database.h"
#include "rfl-fake-llm.h"

/* Client-defined function tools through the OpenAI-compatible gateway,
 * against the fake LLM server speaking each upstream protocol. */

#define FAKE_API_KEY "sk-fake-provider-key"

#define WEATHER_TOOL \
  "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"," \
  " \"description\": \"The weather in a city\", \"parameters\": {\"type\": \"object\"," \
  " \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}"
#define TIME_TOOL \
  "{\"type\": \"function\", \"function\": {\"name\": \"get_time\"," \
  " \"parameters\": {\"type\": \"object\", \"properties\": {\"zone\": {\"type\": \"string\"}}}}}"
#define USER_ASKS "{\"role\": \"user\", \"content\": \"Weather and time in Paris?\"}"
#define LONG_CITY "Saint-Rémy-de-Provence, Bouches-du-Rhône, Provence-Alpes-Côte d’Azur"

typedef struct
{
  RflFakeLlmProtocol  protocol;
  RflProviderKind     kind;
  const char         *model;
} Upstream;

static const Upstream upstreams[] = {
  { RFL_FAKE_LLM_OPENAI, RFL_PROVIDER_OPENAI_COMPATIBLE, "gpt-4o-mini" },
  { RFL_FAKE_LLM_OLLAMA, RFL_PROVIDER_OLLAMA, "llama3.2:3b" },
  { RFL_FAKE_LLM_ANTHROPIC, RFL_PROVIDER_ANTHROPIC, "claude-3-5-haiku-20241022" },
};

typedef struct
{
  RflDatabase   *db;
  RflSigningKey *key;
  RflService    *service;
  RflFakeLlm    *fake;
  SoupSession   *session;
  char          *url;
  char          *api_key;
  const Upstream *upstream;
} Fixture;

typedef struct
{
  guint     status;
  char     *body;
  JsonNode *json;
} Response;

static void
response_clear (Response *response)
{
  g_clear_pointer (&response->body, g_free);
  g_clear_pointer (&response->json, json_node_unref);
  response->status = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "reflection",
                                            "reflection.db", NULL);
  g_autoptr(RflAuthStore) auth = NULL;
  g_autoptr(GError) error = NULL;
  RflProviderConfig config = { 0 };
  gint64 tenant;

  f->upstream = data;
  f->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  f->key = rfl_signing_key_new_random ();
  auth = rfl_auth_store_new (f->db, f->key);
  tenant = rfl_database_create_tenant (f->db, "Alpha", "business", &error);
  g_assert_no_error (error);
  f->api_key = rfl_auth_store_create_api_key (auth, tenant, "Alpha key",
                                              RFL_API_SCOPE_CHAT, NULL, NULL, &error);
  g_assert_no_error (error);

  f->service = rfl_service_new_sync (path, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_service_start_http (f->service, "127.0.0.1", 0, f->key,
                                         NULL, NULL, &error));
  g_assert_no_error (error);
  f->url = rfl_service_dup_http_url (f->service);

  f->fake = rfl_fake_llm_new ();
  g_assert_true (rfl_fake_llm_start (f->fake, &error));
  g_assert_no_error (error);
  rfl_fake_llm_set_api_key (f->fake, FAKE_API_KEY);
  config.kind = f->upstream->kind;
  config.url = rfl_fake_llm_get_url (f->fake);
  config.api_key = FAKE_API_KEY;
  config.model = f->upstream->model;
  rfl_service_set_provider (f->service, &config);

  f->session = soup_session_new ();
  soup_session_set_proxy_resolver (f->session, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  rfl_service_stop_http (f->service);
  g_clear_object (&f->session);
  g_clear_object (&f->service);
  g_clear_pointer (&f->fake, rfl_fake_llm_free);
  g_clear_pointer (&f->key, rfl_signing_key_unref);
  g_clear_object (&f->db);
  g_clear_pointer (&f->url, g_free);
  g_clear_pointer (&f->api_key, g_free);
}

static void
post (Fixture    *f,
      const char *body,
      Response   *response)
{
  g_autofree char *uri = g_strconcat (f->url, "/v1/chat/completions", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GBytes) request_body = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *header = g_strconcat ("Bearer ", f->api_key, NULL);
  const char *content_type;

  response_clear (response);
  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                "Authorization", header);
  soup_message_set_request_body_from_bytes (msg, "application/json", request_body);
  bytes = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);

  response->status = soup_message_get_status (msg);
  response->body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  content_type = soup_message_headers_get_content_type (
    soup_message_get_response_headers (msg), NULL);
  if (g_strcmp0 (content_type, "application/json") == 0)
    {
      response->json = json_from_string (response->body, &error);
      g_assert_no_error (error);
    }
  if (response->status != 200)
    g_test_message ("%u: %s", response->status, response->body);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
get_choice (Response *response)
{
  JsonArray *choices;

  g_assert_nonnull (response->json);
  choices = json_object_get_array_member (json_node_get_object (response->json), "choices");
  g_assert_cmpuint (json_array_get_length (choices), ==, 1);
  return json_array_get_object_element (choices, 0);
}

/* The body the provider got last. */
static JsonObject *
dup_upstream_body (Fixture *f)
{
  g_autofree char *body = rfl_fake_llm_dup_last_request_body (f->fake);

  return parse_object (body);
}

static void
queue_calls (Fixture *f)
{
  static const char * const names[] = { "get_weather", "get_time", NULL };
  static const char * const arguments[] = {
    "{\"city\": \"" LONG_CITY "\"}", "{\"zone\": \"Europe/Paris\"}", NULL,
  };

  rfl_fake_llm_queue_tool_call_reply (f->fake, names, arguments);
}

/* The upstream request offers exactly the client's two tools, in the
 * protocol's own format: no tool of the tenant joined them. */
static void
assert_upstream_tools (Fixture *f)
{
  g_autoptr(JsonObject) sent = dup_upstream_body (f);
  JsonArray *tools = json_object_get_array_member (sent, "tools");
  JsonObject *first;
  JsonObject *schema;

  g_assert_nonnull (tools);
  g_assert_cmpuint (json_array_get_length (tools), ==, 2);
  first = json_array_get_object_element (tools, 0);
  if (f->upstream->protocol == RFL_FAKE_LLM_ANTHROPIC)
    {
      g_assert_cmpstr (json_object_get_string_member (first, "name"), ==, "get_weather");
      schema = json_object_get_object_member (first, "input_schema");
    }
  else
    {
      JsonObject *function = json_object_get_object_member (first, "function");

      g_assert_cmpstr (json_object_get_string_member (first, "type"), ==, "function");
      g_assert_cmpstr (json_object_get_string_member (function, "name"), ==, "get_weather");
      g_assert_cmpstr (json_object_get_string_member (function, "description"), ==,
                       "The weather in a city");
      schema = json_object_get_object_member (function, "parameters");
    }
  g_assert_nonnull (schema);
  g_assert_true (json_object_has_member (json_object_get_object_member (schema,
                                                                        "properties"),
                                         "city"));
}

static void
assert_call (JsonObject *call,
             const char *name,
             const char *member,
             const char *value)
{
  JsonObject *function = json_object_get_object_member (call, "function");
  g_autoptr(JsonObject) arguments = NULL;

  g_assert_nonnull (json_object_get_string_member (call, "id"));
  g_assert_cmpstr (json_object_get_string_member (call, "id"), !=, "");
  g_assert_cmpstr (json_object_get_string_member (call, "type"), ==, "function");
  g_assert_cmpstr (json_object_get_string_member (function, "name"), ==, name);
  /* Arguments are JSON text, as in the OpenAI API. */
  arguments = parse_object (json_object_get_string_member (function, "arguments"));
  g_assert_cmpstr (json_object_get_string_member (arguments, member), ==, value);
}

static void
test_json (Fixture       *f,
           gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  JsonObject *choice;
  JsonObject *message;
  JsonArray *calls;
  JsonObject *usage;

  queue_calls (f);
  post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL ", " TIME_TOOL "],"
        " \"tool_choice\": \"auto\"}", &response);
  g_assert_cmpuint (response.status, ==, 200);

  choice = get_choice (&response);
  g_assert_cmpstr (json_object_get_string_member (choice, "finish_reason"), ==, "tool_calls");
  message = json_object_get_object_member (choice, "message");
  g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, "assistant");
  g_assert_true (json_object_get_null_member (message, "content"));
  calls = json_object_get_array_member (message, "tool_calls");
  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  assert_call (json_array_get_object_element (calls, 0), "get_weather", "city", LONG_CITY);
  assert_call (json_array_get_object_element (calls, 1), "get_time", "zone",
               "Europe/Paris");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (calls, 0),
                                                  "id"), !=,
                   json_object_get_string_member (json_array_get_object_element (calls, 1),
                                                  "id"));

  /* Metered as any completion. */
  usage = json_object_get_object_member (json_node_get_object (response.json), "usage");
  g_assert_cmpint (json_object_get_int_member (usage, "total_tokens"), >, 0);

  assert_upstream_tools (f);
}

static void
string_free (gpointer data)
{
  g_string_free (data, TRUE);
}

/* The SSE answer of @response: the tool calls put together from their
 * pieces, checking the order OpenAI clients rely on. */
static JsonArray *
collect_stream (Response  *response,
                char     **out_content)
{
  g_auto(GStrv) lines = g_strsplit (response->body, "\n", -1);
  g_autoptr(JsonArray) calls = json_array_new ();
  g_autoptr(GPtrArray) arguments = g_ptr_array_new_with_free_func (string_free);
  g_autoptr(GString) content = g_string_new (NULL);
  gboolean saw_finish = FALSE, saw_done = FALSE;

  g_assert_cmpuint (response->status, ==, 200);
  g_assert_null (response->json);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonObject) chunk = NULL;
      JsonObject *choice;
      JsonObject *delta;

      if (*lines[i] == '\0')
        continue;
      g_assert_true (g_str_has_prefix (lines[i], "data: "));
      g_assert_false (saw_done);
      if (g_str_equal (lines[i], "data: [DONE]"))
        {
          saw_done = TRUE;
          continue;
        }

      chunk = parse_object (lines[i] + 6);
      g_assert_false (json_object_has_member (chunk, "error"));
      choice = json_array_get_object_element (json_object_get_array_member (chunk,
                                                                            "choices"), 0);
      delta = json_object_get_object_member (choice, "delta");
      g_assert_false (saw_finish);
      if (!json_object_get_null_member (choice, "finish_reason"))
        {
          g_assert_cmpstr (json_object_get_string_member (choice, "finish_reason"), ==,
                           "tool_calls");
          saw_finish = TRUE;
        }
      if (json_object_has_member (delta, "content")
          && !json_object_get_null_member (delta, "content"))
        g_string_append (content, json_object_get_string_member (delta, "content"));
      if (json_object_has_member (delta, "tool_calls"))
        {
          JsonArray *pieces = json_object_get_array_member (delta, "tool_calls");
          JsonObject *piece = json_array_get_object_element (pieces, 0);
          JsonObject *function = json_object_get_object_member (piece, "function");
          guint index = json_object_get_int_member (piece, "index");

          g_assert_cmpuint (json_array_get_length (pieces), ==, 1);
          if (json_object_has_member (piece, "id"))
            {
              JsonObject *call = json_object_new ();

              /* A new call: the next index, with its name and no arguments
               * yet. */
              g_assert_cmpuint (index, ==, json_array_get_length (calls));
              g_assert_cmpstr (json_object_get_string_member (piece, "type"), ==,
                               "function");
              g_assert_nonnull (json_object_get_string_member (function, "name"));
              json_object_set_string_member (call, "id",
                                             json_object_get_string_member (piece, "id"));
              json_object_set_string_member (call, "name",
                                             json_object_get_string_member (function,
                                                                            "name"));
              json_array_add_object_element (calls, call);
              g_ptr_array_add (arguments, g_string_new (NULL));
            }
          else
            {
              /* A piece of the arguments of a call already begun. */
              g_assert_cmpuint (index + 1, ==, json_array_get_length (calls));
              g_assert_false (json_object_has_member (function, "name"));
            }
          g_string_append (g_ptr_array_index (arguments, index),
                           json_object_get_string_member (function, "arguments"));
        }
    }

  g_assert_true (saw_finish);
  g_assert_true (saw_done);
  for (guint i = 0; i < arguments->len; i++)
    json_object_set_string_member (json_array_get_object_element (calls, i), "arguments",
                                   ((GString *) g_ptr_array_index (arguments, i))->str);
  if (out_content != NULL)
    *out_content = g_strdup (content->str);
  return g_steal_pointer (&calls);
}

static void
test_stream (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autoptr(JsonArray) calls = NULL;
  g_autoptr(JsonObject) weather = NULL;
  g_autoptr(JsonObject) time = NULL;
  JsonObject *first;
  JsonObject *second;
  g_autofree char *content = NULL;
  g_autofree char *body = NULL;
  guint n_pieces = 0;

  queue_calls (f);
  post (f, "{\"stream\": true, \"messages\": [" USER_ASKS "],"
        " \"tools\": [" WEATHER_TOOL ", " TIME_TOOL "]}", &response);
  calls = collect_stream (&response, &content);

  g_assert_cmpuint (json_array_get_length (calls), ==, 2);
  first = json_array_get_object_element (calls, 0);
  second = json_array_get_object_element (calls, 1);
  g_assert_cmpstr (json_object_get_string_member (first, "name"), ==, "get_weather");
  g_assert_cmpstr (json_object_get_string_member (second, "name"), ==, "get_time");
  g_assert_cmpstr (json_object_get_string_member (first, "id"), !=,
                   json_object_get_string_member (second, "id"));
  weather = parse_object (json_object_get_string_member (first, "arguments"));
  time = parse_object (json_object_get_string_member (second, "arguments"));
  g_assert_cmpstr (json_object_get_string_member (weather, "city"), ==, LONG_CITY);
  g_assert_cmpstr (json_object_get_string_member (time, "zone"), ==, "Europe/Paris");

  /* The long arguments came in several pieces, each valid UTF-8. */
  body = g_strdup (response.body);
  for (const char *p = body; (p = strstr (p, "\"arguments\":\"")) != NULL; p++)
    n_pieces++;
  g_assert_cmpuint (n_pieces, >=, 4);
  g_assert_true (g_utf8_validate (response.body, -1, NULL));
  g_assert_cmpstr (content, ==, "");

  assert_upstream_tools (f);
}

/* What the provider got as the tool result of @call_id. */
static void
assert_upstream_result (Fixture    *f,
                        const char *call_id)
{
  g_autoptr(JsonObject) sent = dup_upstream_body (f);
  JsonArray *messages = json_object_get_array_member (sent, "messages");
  gboolean found_call = FALSE, found_result = FALSE;

  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);
      g_autofree char *text = json_to_string (json_array_get_element (messages, i), FALSE);

      if (strstr (text, "get_weather") != NULL
          && g_strcmp0 (json_object_get_string_member (message, "role"), "assistant") == 0)
        found_call = TRUE;
      if (strstr (text, "Sunny, 24") == NULL)
        continue;
      found_result = TRUE;
      switch (f->upstream->protocol)
        {
        case RFL_FAKE_LLM_OPENAI:
          g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, "tool");
          g_assert_cmpstr (json_object_get_string_member (message, "tool_call_id"), ==,
                           call_id);
          break;
        case RFL_FAKE_LLM_OLLAMA:
          g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, "tool");
          g_assert_cmpstr (json_object_get_string_member (message, "tool_name"), ==,
                           "get_weather");
          break;
        case RFL_FAKE_LLM_ANTHROPIC:
        default:
          g_assert_cmpstr (json_object_get_string_member (message, "role"), ==, "user");
          g_assert_nonnull (strstr (text, "\"tool_result\""));
          g_assert_nonnull (strstr (text, call_id));
          break;
        }
    }

  g_assert_true (found_call);
  g_assert_true (found_result);
}

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  static const char * const names[] = { "get_weather", NULL };
  static const char * const arguments[] = { "{\"city\": \"Paris\"}", NULL };
  static const char * const answer[] = { "It is", " sunny", " in Paris.", NULL };
  g_auto(Response) response = { 0 };
  g_autoptr(JsonNode) assistant = NULL;
  g_autofree char *assistant_text = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *body = NULL;
  JsonObject *message;
  JsonObject *choice;

  rfl_fake_llm_queue_tool_call_reply (f->fake, names, arguments);
  rfl_fake_llm_queue_reply (f->fake, answer);

  post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "]}", &response);
  g_assert_cmpuint (response.status, ==, 200);
  message = json_object_get_object_member (get_choice (&response), "message");
  call_id = g_strdup (json_object_get_string_member (
    json_array_get_object_element (json_object_get_array_member (message, "tool_calls"), 0),
    "id"));
  assistant = json_node_copy (json_object_get_member (get_choice (&response), "message"));
  assistant_text = json_to_string (assistant, FALSE);

  /* The client ran the tool and sends its result back, with the
   * assistant's turn as it came. */
  body = g_strdup_printf ("{\"messages\": [" USER_ASKS ", %s,"
                          " {\"role\": \"tool\", \"tool_call_id\": \"%s\","
                          " \"content\": \"Sunny, 24 °C\"}],"
                          " \"tools\": [" WEATHER_TOOL "]}",
                          assistant_text, call_id);
  post (f, body, &response);
  g_assert_cmpuint (response.status, ==, 200);
  choice = get_choice (&response);
  g_assert_cmpstr (json_object_get_string_member (choice, "finish_reason"), ==, "stop");
  message = json_object_get_object_member (choice, "message");
  g_assert_cmpstr (json_object_get_string_member (message, "content"), ==,
                   "It is sunny in Paris.");
  g_assert_false (json_object_has_member (message, "tool_calls"));

  assert_upstream_result (f, call_id);
}

/* How each tool choice reaches the provider, or is refused when the
 * provider cannot honour it. */
static void
test_tool_choice (Fixture       *f,
                  gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  g_autoptr(JsonObject) sent = NULL;
  JsonNode *choice;
  RflFakeLlmProtocol protocol = f->upstream->protocol;
  guint before;

  /* "none": allowed everywhere. */
  post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
        " \"tool_choice\": \"none\"}", &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_choice (&response), "finish_reason"),
                   ==, "stop");
  sent = dup_upstream_body (f);
  if (protocol == RFL_FAKE_LLM_OLLAMA)
    g_assert_false (json_object_has_member (sent, "tools"));
  else if (protocol == RFL_FAKE_LLM_OPENAI)
    g_assert_cmpstr (json_object_get_string_member (sent, "tool_choice"), ==, "none");
  else
    g_assert_cmpstr (json_object_get_string_member (
      json_object_get_object_member (sent, "tool_choice"), "type"), ==, "none");
  g_clear_pointer (&sent, json_object_unref);

  if (protocol == RFL_FAKE_LLM_OLLAMA)
    {
      /* Ollama cannot be made to call a tool: refused, nothing sent. */
      before = rfl_fake_llm_get_request_count (f->fake);
      post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
            " \"tool_choice\": \"required\"}", &response);
      g_assert_cmpuint (response.status, ==, 400);
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
        json_node_get_object (response.json), "error"), "field"), ==, "tool_choice");
      post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
            " \"tool_choice\": {\"type\": \"function\","
            " \"function\": {\"name\": \"get_weather\"}}}", &response);
      g_assert_cmpuint (response.status, ==, 400);
      g_assert_nonnull (strstr (response.body, "Ollama"));
      g_assert_cmpuint (rfl_fake_llm_get_request_count (f->fake), ==, before);
      return;
    }

  /* "required". */
  queue_calls (f);
  post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL ", " TIME_TOOL "],"
        " \"tool_choice\": \"required\"}", &response);
  g_assert_cmpuint (response.status, ==, 200);
  sent = dup_upstream_body (f);
  choice = json_object_get_member (sent, "tool_choice");
  if (protocol == RFL_FAKE_LLM_OPENAI)
    g_assert_cmpstr (json_node_get_string (choice), ==, "required");
  else
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (choice), "type"),
                     ==, "any");
  g_clear_pointer (&sent, json_object_unref);

  /* A named function. Anthropic's fake calls a forced tool by itself. */
  if (protocol == RFL_FAKE_LLM_OPENAI)
    queue_calls (f);
  post (f, "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL ", " TIME_TOOL "],"
        " \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}}",
        &response);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (get_choice (&response), "finish_reason"),
                   ==, "tool_calls");
  sent = dup_upstream_body (f);
  choice = json_object_get_member (sent, "tool_choice");
  if (protocol == RFL_FAKE_LLM_OPENAI)
    {
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (choice), "type"),
                       ==, "function");
      g_assert_cmpstr (json_object_get_string_member (
        json_object_get_object_member (json_node_get_object (choice), "function"), "name"),
        ==, "get_time");
    }
  else
    {
      JsonArray *calls;

      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (choice), "type"),
                       ==, "tool");
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (choice), "name"),
                       ==, "get_time");
      calls = json_object_get_array_member (json_object_get_object_member (
        get_choice (&response), "message"), "tool_calls");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
        json_array_get_object_element (calls, 0), "function"), "name"), ==, "get_time");
    }
}

typedef struct
{
  const char *body;
  const char *field;
} BadBody;

#define MESSAGES(...) "{\"messages\": [" USER_ASKS ", " __VA_ARGS__ "]}"
#define CALLED(calls) "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": " calls "}"
#define GOOD_CALL \
  "[{\"id\": \"call_1\", \"type\": \"function\"," \
  " \"function\": {\"name\": \"get_weather\", \"arguments\": \"{}\"}}]"

static const BadBody bad_bodies[] = {
  { "{\"messages\": [" USER_ASKS "], \"tools\": \"get_weather\"}", "tools" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": {}}", "tools" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [1]}", "tools[0]" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"retrieval\"}]}",
    "tools[0].type" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"function\": {\"name\": \"x\"}}]}",
    "tools[0].type" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"function\"}]}",
    "tools[0].function" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL ","
    " {\"type\": \"function\", \"function\": {\"description\": \"nameless\"}}]}",
    "tools[1].function.name" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"function\","
    " \"function\": {\"name\": 7}}]}", "tools[0].function.name" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"function\","
    " \"function\": {\"name\": \"no spaces allowed\"}}]}", "tools[0].function.name" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"function\","
    " \"function\": {\"name\": \"f\", \"parameters\": \"{}\"}}]}",
    "tools[0].function.parameters" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"function\","
    " \"function\": {\"name\": \"f\", \"parameters\": [1]}}]}",
    "tools[0].function.parameters" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [{\"type\": \"function\","
    " \"function\": {\"name\": \"f\", \"description\": 3}}]}",
    "tools[0].function.description" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL ", " WEATHER_TOOL "]}",
    "tools[1].function.name" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
    " \"tool_choice\": \"sometimes\"}", "tool_choice" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "], \"tool_choice\": 1}",
    "tool_choice" },
  { "{\"messages\": [" USER_ASKS "], \"tool_choice\": \"auto\"}", "tool_choice" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
    " \"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"get_time\"}}}",
    "tool_choice.function.name" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
    " \"tool_choice\": {\"type\": \"function\"}}", "tool_choice.function" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
    " \"tool_choice\": {\"type\": \"tool\", \"function\": {\"name\": \"get_weather\"}}}",
    "tool_choice.type" },
  { "{\"messages\": [" USER_ASKS "], \"tools\": [" WEATHER_TOOL "],"
    " \"parallel_tool_calls\": false}", "parallel_tool_calls" },
  { MESSAGES ("{\"role\": \"tool\", \"content\": \"Sunny\"}"), "messages[1].tool_call_id" },
  { MESSAGES (CALLED (GOOD_CALL) ", {\"role\": \"tool\", \"tool_call_id\": \"call_2\","
              " \"content\": \"Sunny\"}"), "messages[2].tool_call_id" },
  { MESSAGES (CALLED (GOOD_CALL) ", {\"role\": \"tool\", \"tool_call_id\": 1,"
              " \"content\": \"Sunny\"}"), "messages[2].tool_call_id" },
  { MESSAGES (CALLED ("{}")), "messages[1].tool_calls" },
  { MESSAGES (CALLED ("[\"call\"]")), "messages[1].tool_calls[0]" },
  { MESSAGES (CALLED ("[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]")),
    "messages[1].tool_calls[0].id" },
  { MESSAGES (CALLED ("[{\"id\": \"c\", \"type\": \"function\"}]")),
    "messages[1].tool_calls[0].function" },
  { MESSAGES (CALLED ("[{\"id\": \"c\", \"function\": {\"arguments\": \"{}\"}}]")),
    "messages[1].tool_calls[0].function.name" },
  { MESSAGES (CALLED ("[{\"id\": \"c\", \"function\": {\"name\": \"f\","
                      " \"arguments\": \"[1, 2]\"}}]")),
    "messages[1].tool_calls[0].function.arguments" },
  { MESSAGES (CALLED ("[{\"id\": \"c\", \"function\": {\"name\": \"f\","
                      " \"arguments\": {\"a\": 1}}}]")),
    "messages[1].tool_calls[0].function.arguments" },
  { MESSAGES ("{\"role\": \"function\", \"content\": \"x\"}"), "messages[1].role" },
};

/* Bad tool input is refused naming the field; nothing reaches the
 * provider. */
static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  g_auto(Response) response = { 0 };
  guint before = rfl_fake_llm_get_request_count (f->fake);

  for (guint i = 0; i < G_N_ELEMENTS (bad_bodies); i++)
    {
      JsonObject *error;

      g_test_message ("%s", bad_bodies[i].body);
      post (f, bad_bodies[i].body, &response);
      g_assert_cmpuint (response.status, ==, 400);
      error = json_object_get_object_member (json_node_get_object (response.json), "error");
      g_assert_cmpstr (json_object_get_string_member (error, "code"), ==,
                       "invalid_request");
      g_assert_cmpstr (json_object_get_string_member (error, "field"), ==,
                       bad_bodies[i].field);
      g_assert_nonnull (strstr (json_object_get_string_member (error, "message"),
                                bad_bodies[i].field));
    }

  g_assert_cmpuint (rfl_fake_llm_get_request_count (f->fake), ==, before);

  /* The good history those bodies spoil goes through. */
  post (f, MESSAGES (CALLED (GOOD_CALL) ", {\"role\": \"tool\", \"tool_call_id\": \"call_1\","
                     " \"content\": \"Sunny\"}"), &response);
  g_assert_cmpuint (response.status, ==, 200);
}

int
main (int   argc,
      char *argv[])
{
  static const char * const names[] = { "openai", "ollama", "anthropic" };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (upstreams); i++)
    {
      static const struct
      {
        const char *name;
        void (*func) (Fixture *, gconstpointer);
      } cases[] = {
        { "json", test_json },
        { "stream", test_stream },
        { "round-trip", test_round_trip },
        { "tool-choice", test_tool_choice },
      };

      for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          g_autofree char *path = g_strdup_printf ("/rfl/openai-tools/%s/%s",
                                                   cases[c].name, names[i]);

          g_test_add (path, Fixture, &upstreams[i], fixture_set_up, cases[c].func,
                      fixture_tear_down);
        }
    }
  g_test_add ("/rfl/openai-tools/bad-input", Fixture, &upstreams[0], fixture_set_up,
              test_bad_input, fixture_tear_down);

  return g_test_run ();
}
