/* rfl-llm-protocol-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <json-glib/json-glib.h>

#include "llm/rfl-chat-types.h"
#include "llm/rfl-ndjson.h"
#include "llm/rfl-provider.h"
#include "llm/rfl-sse-parser.h"

G_BEGIN_DECLS

/* What the three wire protocols have in common. Each protocol builds its
 * request bodies and turns its answers (streamed or whole) into a sequence
 * of RflLlmEvents; the client accumulates those into a result. */

typedef enum
{
  RFL_LLM_EVENT_TEXT,            /* text, text_len: a piece of the answer */
  RFL_LLM_EVENT_TOOL_CALL,       /* index, id, name: a tool call begins */
  RFL_LLM_EVENT_TOOL_ARGUMENTS,  /* index, text: a piece of its arguments */
  RFL_LLM_EVENT_USAGE,           /* input_tokens, output_tokens (-1: unsaid) */
  RFL_LLM_EVENT_FINISH,          /* finish */
  RFL_LLM_EVENT_MODEL,           /* text: the model that answers */
} RflLlmEventKind;

typedef struct
{
  RflLlmEventKind  kind;
  const char      *text;
  gsize            text_len;
  guint            index;
  const char      *id;
  const char      *name;
  gint64           input_tokens;
  gint64           output_tokens;
  RflFinishReason  finish;
} RflLlmEvent;

typedef gboolean (*RflLlmEventFunc) (const RflLlmEvent  *event,
                                     gpointer            user_data,
                                     GError            **error);

typedef enum
{
  RFL_LLM_WIRE_OLLAMA,
  RFL_LLM_WIRE_OPENAI,
  RFL_LLM_WIRE_ANTHROPIC,
} RflLlmWire;

/* The parser of one answer. Lives on one thread. */
typedef struct
{
  RflLlmWire       wire;
  RflLlmEventFunc  func;
  gpointer         user_data;
  RflSseParser    *sse;          /* owned, OpenAI and Anthropic */
  RflNdjson       *ndjson;       /* owned, Ollama */
  char            *json_tool;    /* owned: Anthropic's tool carrying JSON */
  GArray          *json_blocks;  /* gboolean by Anthropic block index */
  guint            n_tool_calls; /* Ollama: calls seen, for their indices */
  gboolean         done;         /* the protocol's end of answer arrived */
  gboolean         finished;     /* a finish reason arrived */
} RflLlmStream;

RflLlmWire     _rfl_llm_wire_for_kind          (RflProviderKind     kind);

/* @json_tool: the name of the tool Anthropic answers JSON through, or
 * NULL (see _rfl_anthropic_json_tool()). */
RflLlmStream  *_rfl_llm_stream_new             (RflLlmWire          wire,
                                                const char         *json_tool,
                                                RflLlmEventFunc     func,
                                                gpointer            user_data);
void           _rfl_llm_stream_free            (RflLlmStream       *self);
/* Streamed bytes, in pieces of any size. */
gboolean       _rfl_llm_stream_feed            (RflLlmStream       *self,
                                                const char         *data,
                                                gsize               len,
                                                GError            **error);
/* The end of a streamed body. FALSE (RFL_ERROR_PROTOCOL) when the answer
 * had not reached its end. */
gboolean       _rfl_llm_stream_end             (RflLlmStream       *self,
                                                GError            **error);
/* A whole (non-streamed) answer. */
gboolean       _rfl_llm_stream_parse_answer    (RflLlmStream       *self,
                                                const char         *body,
                                                gsize               len,
                                                GError            **error);

/* Emitting, for the protocols. */
gboolean       _rfl_llm_emit_text              (RflLlmStream       *self,
                                                const char         *text,
                                                GError            **error);
gboolean       _rfl_llm_emit_tool_call         (RflLlmStream       *self,
                                                guint               index,
                                                const char         *id,
                                                const char         *name,
                                                GError            **error);
gboolean       _rfl_llm_emit_tool_arguments    (RflLlmStream       *self,
                                                guint               index,
                                                const char         *arguments,
                                                GError            **error);
gboolean       _rfl_llm_emit_usage             (RflLlmStream       *self,
                                                gint64              input_tokens,
                                                gint64              output_tokens,
                                                GError            **error);
gboolean       _rfl_llm_emit_finish            (RflLlmStream       *self,
                                                RflFinishReason     finish,
                                                GError            **error);
gboolean       _rfl_llm_emit_model             (RflLlmStream       *self,
                                                const char         *model,
                                                GError            **error);

/* JSON helpers: NULL or FALSE when the member is missing or of another
 * type. */
const char    *_rfl_json_get_string            (JsonObject         *object,
                                                const char         *name);
gboolean       _rfl_json_get_int               (JsonObject         *object,
                                                const char         *name,
                                                gint64             *out);
JsonObject    *_rfl_json_get_object            (JsonObject         *object,
                                                const char         *name);
JsonArray     *_rfl_json_get_array             (JsonObject         *object,
                                                const char         *name);
/* @text as a new node holding an object, or NULL. */
JsonNode      *_rfl_json_parse_object          (const char         *text,
                                                gssize              len);
char          *_rfl_json_to_string             (JsonNode           *node);
/* Sets RFL_ERROR_PROTOCOL: "Expected …, but …" with a short quote. */
gboolean       _rfl_llm_protocol_error         (GError            **error,
                                                const char         *what,
                                                const char         *data,
                                                gsize               len);
/* Sets RFL_ERROR_PROVIDER with the provider's message from an error
 * object ({"message": …} or a string). */
gboolean       _rfl_llm_provider_error         (GError            **error,
                                                JsonNode           *error_node);
/* The arguments of a tool call, parsed for protocols that send objects;
 * RFL_ERROR_INVALID_INPUT naming the tool when they are not an object. */
JsonNode      *_rfl_llm_tool_call_arguments    (const RflToolCall  *call,
                                                GError            **error);
/* A JSON Schema text (checked when set) as a new node. */
JsonNode      *_rfl_llm_schema_node            (const char         *schema);
/* Appends the numbers of @vector to @out (floats); the first vector sets
 * @dims, later ones must match it. RFL_ERROR_PROTOCOL otherwise. */
gboolean       _rfl_llm_append_vector          (JsonArray          *vector,
                                                GArray             *out,
                                                guint              *dims,
                                                GError            **error);
/* RFL_ERROR_INVALID_INPUT when the model or the messages are missing. */
gboolean       _rfl_llm_check_request          (RflChatRequest     *request,
                                                GError            **error);

/* Ollama: POST /api/chat, /api/embed. */
char          *_rfl_ollama_build_chat          (RflChatRequest     *request,
                                                GError            **error);
gboolean       _rfl_ollama_handle_object       (RflLlmStream       *stream,
                                                JsonObject         *object,
                                                GError            **error);
char          *_rfl_ollama_build_embed         (const char         *model,
                                                const char * const *texts,
                                                guint               n_texts);
/* Appends n_texts vectors to @out (floats); sets or checks @dims. */
gboolean       _rfl_ollama_parse_embed         (JsonObject         *object,
                                                guint               n_texts,
                                                GArray             *out,
                                                guint              *dims,
                                                guint              *tokens,
                                                GError            **error);

/* OpenAI and compatible: POST /v1/chat/completions, /v1/embeddings. */
char          *_rfl_openai_build_chat          (RflChatRequest     *request,
                                                RflProviderKind     kind,
                                                GError            **error);
gboolean       _rfl_openai_handle_event        (RflLlmStream       *stream,
                                                const RflSseEvent  *event,
                                                GError            **error);
gboolean       _rfl_openai_handle_answer       (RflLlmStream       *stream,
                                                JsonObject         *object,
                                                GError            **error);
char          *_rfl_openai_build_embed         (const char         *model,
                                                const char * const *texts,
                                                guint               n_texts);
gboolean       _rfl_openai_parse_embed         (JsonObject         *object,
                                                guint               n_texts,
                                                GArray             *out,
                                                guint              *dims,
                                                guint              *tokens,
                                                GError            **error);

/* Anthropic: POST /v1/messages. JSON output goes through a forced tool
 * whose input is the answer. */
char          *_rfl_anthropic_json_tool        (RflChatRequest     *request);
char          *_rfl_anthropic_build_chat       (RflChatRequest     *request,
                                                GError            **error);
gboolean       _rfl_anthropic_handle_event     (RflLlmStream       *stream,
                                                const RflSseEvent  *event,
                                                GError            **error);
gboolean       _rfl_anthropic_handle_answer    (RflLlmStream       *stream,
                                                JsonObject         *object,
                                                GError            **error);

#define RFL_ANTHROPIC_VERSION "2023-06-01"

G_END_DECLS
