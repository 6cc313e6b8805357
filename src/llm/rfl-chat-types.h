/* rfl-chat-types.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The values a chat with an LLM is made of, independent of the wire
 * protocol: messages, tool definitions and calls, the request options and
 * the result. Messages, tools and tool calls never change once made and may
 * be shared between threads. */

typedef enum
{
  RFL_CHAT_ROLE_SYSTEM,
  RFL_CHAT_ROLE_USER,
  RFL_CHAT_ROLE_ASSISTANT,
  RFL_CHAT_ROLE_TOOL,        /* the result of a tool call */
} RflChatRole;

/* Why the model stopped. NONE: it did not (cut off, cancelled). */
typedef enum
{
  RFL_FINISH_REASON_NONE,
  RFL_FINISH_REASON_STOP,
  RFL_FINISH_REASON_LENGTH,          /* max_tokens reached */
  RFL_FINISH_REASON_TOOL_CALLS,      /* it wants tool results */
  RFL_FINISH_REASON_CONTENT_FILTER,  /* refused or filtered */
  RFL_FINISH_REASON_OTHER,
} RflFinishReason;

typedef enum
{
  RFL_TOOL_CHOICE_AUTO,      /* the model decides (the default) */
  RFL_TOOL_CHOICE_NONE,      /* no tool may be called */
  RFL_TOOL_CHOICE_REQUIRED,  /* some tool must be called */
} RflToolChoice;

typedef enum
{
  RFL_JSON_OUTPUT_NONE,      /* free text (the default) */
  RFL_JSON_OUTPUT_OBJECT,    /* any JSON object */
  RFL_JSON_OUTPUT_SCHEMA,    /* a JSON object matching a JSON Schema */
} RflJsonOutput;

/* "system", "user", "assistant", "tool". */
const char *rfl_chat_role_to_string      (RflChatRole       role);
gboolean    rfl_chat_role_from_string    (const char       *str,
                                          RflChatRole      *out);
/* "none", "stop", "length", "tool_calls", "content_filter", "other"
 * (the OpenAI names). */
const char *rfl_finish_reason_to_string  (RflFinishReason   reason);

/* ------------------------------------------------------------ tool call */

/* A call of a tool by the model. */
typedef struct
{
  char *id;          /* the provider's id ("call_…", "toolu_…"); made up
                      * ("call_0", …) when the provider gives none */
  char *name;
  char *arguments;   /* JSON text, an object when the model behaved */
} RflToolCall;

#define RFL_TYPE_TOOL_CALL (rfl_tool_call_get_type ())

GType        rfl_tool_call_get_type        (void) G_GNUC_CONST;
/* NULL or empty @arguments become "{}". */
RflToolCall *rfl_tool_call_new             (const char        *id,
                                            const char        *name,
                                            const char        *arguments);
RflToolCall *rfl_tool_call_copy            (const RflToolCall *call);
void         rfl_tool_call_free            (RflToolCall       *call);
/* Adds the member "tool_calls" of an OpenAI message to the object being
 * built: id, type "function", and the function's name and arguments as
 * JSON text. @calls holds RflToolCall. */
void         rfl_tool_calls_add_openai     (JsonBuilder       *builder,
                                            GPtrArray         *calls);
/* The arguments as a new JSON object; RFL_ERROR_PROTOCOL naming the tool
 * when they are not one. */
JsonObject  *rfl_tool_call_parse_arguments (const RflToolCall *call,
                                            GError           **error);

/* ----------------------------------------------------------------- tool */

/* A tool the model may call. */
typedef struct
{
  char *name;
  char *description;   /* may be NULL */
  char *parameters;    /* JSON Schema text of the arguments object */
} RflChatTool;

#define RFL_TYPE_CHAT_TOOL (rfl_chat_tool_get_type ())

GType        rfl_chat_tool_get_type        (void) G_GNUC_CONST;
/* @name: 1 to 64 letters, digits, "_" or "-". @parameters: a JSON Schema
 * object as text; NULL means no arguments. RFL_ERROR_INVALID_INPUT saying
 * what is wrong otherwise. */
RflChatTool *rfl_chat_tool_new             (const char        *name,
                                            const char        *description,
                                            const char        *parameters,
                                            GError           **error);
RflChatTool *rfl_chat_tool_copy            (const RflChatTool *tool);
void         rfl_chat_tool_free            (RflChatTool       *tool);

/* -------------------------------------------------------------- message */

typedef struct _RflChatMessage RflChatMessage;

#define RFL_TYPE_CHAT_MESSAGE (rfl_chat_message_get_type ())

GType           rfl_chat_message_get_type         (void) G_GNUC_CONST;
RflChatMessage *rfl_chat_message_new              (RflChatRole      role,
                                                   const char      *content);
/* An assistant turn that called tools: @tool_calls holds RflToolCall*
 * (copied), @content may be NULL. */
RflChatMessage *rfl_chat_message_new_assistant    (const char      *content,
                                                   GPtrArray       *tool_calls);
/* The answer to the tool call @tool_call_id of tool @tool_name. */
RflChatMessage *rfl_chat_message_new_tool_result  (const char      *tool_call_id,
                                                   const char      *tool_name,
                                                   const char      *content);
RflChatMessage *rfl_chat_message_ref              (RflChatMessage  *self);
void            rfl_chat_message_unref            (RflChatMessage  *self);

RflChatRole     rfl_chat_message_get_role         (RflChatMessage  *self);
/* Never NULL ("" when there is none). */
const char     *rfl_chat_message_get_content      (RflChatMessage  *self);
/* RflToolCall*, never NULL, empty unless an assistant called tools. */
GPtrArray      *rfl_chat_message_get_tool_calls   (RflChatMessage  *self);
const char     *rfl_chat_message_get_tool_call_id (RflChatMessage  *self);
const char     *rfl_chat_message_get_tool_name    (RflChatMessage  *self);

/* -------------------------------------------------------------- request */

/* What to ask: the model, the conversation and the options. The client
 * turns it into the request body when a call starts, so a request may be
 * changed or reused afterwards. Belongs to one thread. */
typedef struct _RflChatRequest RflChatRequest;

#define RFL_TYPE_CHAT_REQUEST (rfl_chat_request_get_type ())

GType           rfl_chat_request_get_type            (void) G_GNUC_CONST;
RflChatRequest *rfl_chat_request_new                 (const char       *model);
RflChatRequest *rfl_chat_request_ref                 (RflChatRequest   *self);
void            rfl_chat_request_unref               (RflChatRequest   *self);

const char     *rfl_chat_request_get_model           (RflChatRequest   *self);
void            rfl_chat_request_set_model           (RflChatRequest   *self,
                                                      const char       *model);
/* Adds a reference to @message. */
void            rfl_chat_request_add_message         (RflChatRequest   *self,
                                                      RflChatMessage   *message);
void            rfl_chat_request_add_text            (RflChatRequest   *self,
                                                      RflChatRole       role,
                                                      const char       *content);
/* RflChatMessage*, in order. */
GPtrArray      *rfl_chat_request_get_messages        (RflChatRequest   *self);

/* Clamped to 0 … 2. Unset, the provider's default applies. */
void            rfl_chat_request_set_temperature     (RflChatRequest   *self,
                                                      double            temperature);
gboolean        rfl_chat_request_get_temperature     (RflChatRequest   *self,
                                                      double           *temperature);
/* 0 (the default): the provider's limit; Anthropic, which demands one,
 * gets RFL_CHAT_DEFAULT_MAX_TOKENS. */
void            rfl_chat_request_set_max_tokens      (RflChatRequest   *self,
                                                      guint             max_tokens);
guint           rfl_chat_request_get_max_tokens      (RflChatRequest   *self);
/* TRUE (the default): the answer streams. FALSE: it arrives whole (the
 * delta function then sees it once, at the end). */
void            rfl_chat_request_set_stream          (RflChatRequest   *self,
                                                      gboolean          stream);
gboolean        rfl_chat_request_get_stream          (RflChatRequest   *self);

/* Copies @tool. */
void            rfl_chat_request_add_tool            (RflChatRequest   *self,
                                                      const RflChatTool *tool);
/* RflChatTool*, in order. */
GPtrArray      *rfl_chat_request_get_tools           (RflChatRequest   *self);
void            rfl_chat_request_set_tool_choice     (RflChatRequest   *self,
                                                      RflToolChoice     choice);
RflToolChoice   rfl_chat_request_get_tool_choice     (RflChatRequest   *self);
/* Forces a call of the tool @name, one of the request's tools (NULL or ""
 * undoes it); it then wins over the tool choice. OpenAI and Anthropic
 * honour it; Ollama, which has no tool choice, offers the tools and lets
 * the model decide. */
void            rfl_chat_request_set_tool_choice_function (RflChatRequest *self,
                                                           const char     *name);
const char     *rfl_chat_request_get_tool_choice_function (RflChatRequest *self);

/* JSON output. OpenAI gets it as "response_format", Ollama as "format";
 * Anthropic, which has no JSON mode, as a tool the model is forced to call
 * (named after the schema, "json_answer" for any object) whose input is
 * the answer: the client hands that input back as the text, streamed as
 * text deltas, with finish reason STOP. Such a request to Anthropic cannot
 * offer other tools (RFL_ERROR_INVALID_INPUT).
 *
 * Any JSON object as the answer. With OpenAI the messages must say "JSON"
 * somewhere, as that API demands. */
void            rfl_chat_request_set_json_object     (RflChatRequest   *self);
/* A JSON object matching @schema (JSON Schema text). @name: 1 to 64
 * letters, digits, "_" or "-". @strict asks OpenAI for strict adherence
 * (the schema must then meet its rules). RFL_ERROR_INVALID_INPUT when the
 * name or the schema is not acceptable; nothing changes then. */
gboolean        rfl_chat_request_set_json_schema     (RflChatRequest   *self,
                                                      const char       *name,
                                                      const char       *schema,
                                                      gboolean          strict,
                                                      GError          **error);
void            rfl_chat_request_clear_json_output   (RflChatRequest   *self);
RflJsonOutput   rfl_chat_request_get_json_output     (RflChatRequest   *self);
/* For RFL_JSON_OUTPUT_SCHEMA, else NULL / FALSE. */
const char     *rfl_chat_request_get_json_schema_name (RflChatRequest  *self);
const char     *rfl_chat_request_get_json_schema     (RflChatRequest   *self);
gboolean        rfl_chat_request_get_json_strict     (RflChatRequest   *self);

#define RFL_CHAT_DEFAULT_MAX_TOKENS 4096

/* --------------------------------------------------------------- result */

/* What came back: the text, the tool calls, why it stopped, the token
 * usage and the timing. Made by the client; read-only for everyone else
 * once handed over (the setters are for whoever builds one, such as a
 * cache). */
typedef struct _RflChatResult RflChatResult;

#define RFL_TYPE_CHAT_RESULT (rfl_chat_result_get_type ())

GType            rfl_chat_result_get_type            (void) G_GNUC_CONST;
RflChatResult   *rfl_chat_result_new                 (void);
RflChatResult   *rfl_chat_result_ref                 (RflChatResult   *self);
void             rfl_chat_result_unref               (RflChatResult   *self);

/* The whole text; "" when the model only called tools. */
const char      *rfl_chat_result_get_text            (RflChatResult   *self);
gsize            rfl_chat_result_get_text_length     (RflChatResult   *self);
/* RflToolCall*, in the order the model made them; never NULL. */
GPtrArray       *rfl_chat_result_get_tool_calls      (RflChatResult   *self);
RflFinishReason  rfl_chat_result_get_finish_reason   (RflChatResult   *self);
/* The model that answered, as the provider named it. */
const char      *rfl_chat_result_get_model           (RflChatResult   *self);
/* FALSE when the provider reported no usage; the counts are 0 then. */
gboolean         rfl_chat_result_has_usage           (RflChatResult   *self);
guint            rfl_chat_result_get_input_tokens    (RflChatResult   *self);
guint            rfl_chat_result_get_output_tokens   (RflChatResult   *self);
/* From the call to its end, retries and waits included. */
gint64           rfl_chat_result_get_latency_ms      (RflChatResult   *self);
/* From the call to the first text or tool call; -1 when none came. */
gint64           rfl_chat_result_get_first_token_ms  (RflChatResult   *self);
/* Requests made: 1, or more after retries. */
guint            rfl_chat_result_get_attempts        (RflChatResult   *self);

void             rfl_chat_result_set_text            (RflChatResult   *self,
                                                      const char      *text);
void             rfl_chat_result_append_text         (RflChatResult   *self,
                                                      const char      *text,
                                                      gssize           len);
/* Takes @call. */
void             rfl_chat_result_take_tool_call      (RflChatResult   *self,
                                                      RflToolCall     *call);
void             rfl_chat_result_set_finish_reason   (RflChatResult   *self,
                                                      RflFinishReason  reason);
void             rfl_chat_result_set_model           (RflChatResult   *self,
                                                      const char      *model);
void             rfl_chat_result_set_usage           (RflChatResult   *self,
                                                      guint            input_tokens,
                                                      guint            output_tokens);
void             rfl_chat_result_set_timing          (RflChatResult   *self,
                                                      gint64           latency_ms,
                                                      gint64           first_token_ms,
                                                      guint            attempts);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflToolCall, rfl_tool_call_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflChatTool, rfl_chat_tool_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflChatMessage, rfl_chat_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflChatRequest, rfl_chat_request_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflChatResult, rfl_chat_result_unref)

G_END_DECLS
