/* rfl-fake-llm.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A loopback HTTP server speaking the three LLM wire protocols Reflection
 * talks to (Ollama, OpenAI and Anthropic), for tests. It runs on its own
 * thread with its own GMainContext, so a test may block on a synchronous
 * call or run a GTK main loop while it answers. Every setter is
 * thread-safe and takes effect from the next request on. */
typedef struct _RflFakeLlm RflFakeLlm;

typedef enum
{
  RFL_FAKE_LLM_OLLAMA,
  RFL_FAKE_LLM_OPENAI,
  RFL_FAKE_LLM_ANTHROPIC,
} RflFakeLlmProtocol;

/* What goes wrong, and what the parameter means. */
typedef enum
{
  RFL_FAKE_LLM_FAULT_NONE,
  /* Streams: the connection is cut after @param lines (NDJSON) or events
   * (SSE) were sent. Other answers: cut before the status line. */
  RFL_FAKE_LLM_FAULT_DISCONNECT,
  /* HTTP 429 with "Retry-After: @param" and the protocol's error body. */
  RFL_FAKE_LLM_FAULT_HTTP_429,
  /* HTTP 500 with the protocol's error body. */
  RFL_FAKE_LLM_FAULT_HTTP_500,
  /* Streams: @param ms before every line or event. Other answers: @param
   * ms before the status line. */
  RFL_FAKE_LLM_FAULT_SLOW,
  /* Streams: line or event number @param (0-based) is replaced by broken
   * JSON. Other answers: the body is not JSON at all. */
  RFL_FAKE_LLM_FAULT_MALFORMED,
  /* Other answers: valid JSON of the wrong shape ({"unexpected": true}).
   * Streams: line number @param is valid JSON of the wrong shape. */
  RFL_FAKE_LLM_FAULT_WRONG_SHAPE,
  /* Chat only: the answer is @param bytes long (0 means 10 MB), sent as
   * tokens of 1 KiB. */
  RFL_FAKE_LLM_FAULT_HUGE,
} RflFakeLlmFault;

/* One recorded request. Headers are kept in full (names lower-case). */
typedef struct
{
  char       *method;
  char       *path;
  char       *query;        /* NULL when there is none */
  GHashTable *headers;      /* lower-case name → value */
  char       *body;         /* NUL-terminated; "" when empty */
  RflFakeLlmProtocol protocol;
  guint       status;       /* the status the server chose */
} RflFakeLlmRequest;

RflFakeLlm        *rfl_fake_llm_new                    (void);
/* Listens on 127.0.0.1 (port 0 unless rfl_fake_llm_set_port() was called)
 * and serves on a new thread until rfl_fake_llm_stop(). */
gboolean           rfl_fake_llm_start                  (RflFakeLlm         *self,
                                                        GError            **error);
/* "http://127.0.0.1:PORT", valid once started. */
const char        *rfl_fake_llm_get_url                (RflFakeLlm         *self);
guint16            rfl_fake_llm_get_port               (RflFakeLlm         *self);
/* Closes every connection and joins the thread. Safe to call twice. */
void               rfl_fake_llm_stop                   (RflFakeLlm         *self);
void               rfl_fake_llm_free                   (RflFakeLlm         *self);

/* Before start only. */
void               rfl_fake_llm_set_port               (RflFakeLlm         *self,
                                                        guint16             port);
/* Prints "METHOD PATH -> STATUS" to stdout for every request. */
void               rfl_fake_llm_set_log_requests       (RflFakeLlm         *self,
                                                        gboolean            log);

/* Models. Ollama names without a tag match "NAME:latest". Defaults:
 * Ollama "llama3.2:3b", "nomic-embed-text:latest"; OpenAI "gpt-4o-mini",
 * "text-embedding-3-small"; Anthropic "claude-3-5-haiku-20241022",
 * "claude-sonnet-4-20250514". Chat and embedding requests for a model that
 * is not listed get the protocol's 404 "model not found" answer. */
void               rfl_fake_llm_set_models             (RflFakeLlm         *self,
                                                        RflFakeLlmProtocol  protocol,
                                                        const char * const *names);
void               rfl_fake_llm_add_model              (RflFakeLlm         *self,
                                                        RflFakeLlmProtocol  protocol,
                                                        const char         *name,
                                                        guint64             size_bytes);
/* A copy of the current list of names. */
GStrv              rfl_fake_llm_dup_models             (RflFakeLlm         *self,
                                                        RflFakeLlmProtocol  protocol);

/* When set, OpenAI endpoints demand "Authorization: Bearer KEY" and
 * Anthropic endpoints "x-api-key: KEY" (401 with the provider's own error
 * body otherwise). Anthropic endpoints always demand an
 * "anthropic-version" header (400 otherwise), as the real API does.
 * Ollama endpoints never check a key. NULL turns the check off. */
void               rfl_fake_llm_set_api_key            (RflFakeLlm         *self,
                                                        const char         *api_key);

/* The tokens of every chat answer (default: "Hello", "!", " How", " can",
 * " I", " help", "?"). */
void               rfl_fake_llm_set_reply              (RflFakeLlm         *self,
                                                        const char * const *tokens);
/* A one-off answer for the next chat request; queued answers are used in
 * order before falling back to the default reply. */
void               rfl_fake_llm_queue_reply            (RflFakeLlm         *self,
                                                        const char * const *tokens);
/* A one-off answer for the next chat request (/api/chat,
 * /v1/chat/completions, /v1/messages): the model calls the tools @names
 * with @arguments (JSON object text, one per name) in the protocol's own
 * format, streamed as small pieces of the arguments. Queued tool calls are
 * used in order, before any queued or default text reply. An Anthropic
 * request that forces a tool ({"tool_choice": {"type": "tool", ...}}) and
 * finds nothing queued gets a call of that tool whose input is the reply
 * text when it is a JSON object, else {"answer": text}. */
void               rfl_fake_llm_queue_tool_call_reply  (RflFakeLlm         *self,
                                                        const char * const *names,
                                                        const char * const *arguments);
/* Delay between streamed tokens, in ms (default 0). */
void               rfl_fake_llm_set_token_delay        (RflFakeLlm         *self,
                                                        guint               delay_ms);

/* Length of embedding vectors (default 64). */
void               rfl_fake_llm_set_embedding_dim      (RflFakeLlm         *self,
                                                        guint               dim);
/* The vector the server returns for @text: a bag-of-words hashing
 * embedding, L2-normalised, so texts sharing words are similar. */
void               rfl_fake_llm_embed_text             (const char         *text,
                                                        guint               dim,
                                                        float              *out);

/* /api/pull: one layer of @total_bytes reported in @steps progress lines
 * with @delay_ms between lines (defaults 100000000, 10, 10). */
void               rfl_fake_llm_set_pull               (RflFakeLlm         *self,
                                                        guint64             total_bytes,
                                                        guint               steps,
                                                        guint               delay_ms);
/* Names /api/pull knows. NULL (the default) means any name; a name not in
 * the list fails as Ollama does ("pull model manifest: file does not
 * exist"). */
void               rfl_fake_llm_set_pullable           (RflFakeLlm         *self,
                                                        const char * const *names);

/* Applies @fault to the next @n_requests requests (0: until cleared).
 * Replaces any fault set before. */
void               rfl_fake_llm_set_fault              (RflFakeLlm         *self,
                                                        RflFakeLlmFault     fault,
                                                        guint               param,
                                                        guint               n_requests);
/* The same, counting and affecting only requests to @path. */
void               rfl_fake_llm_set_fault_for_path     (RflFakeLlm         *self,
                                                        const char         *path,
                                                        RflFakeLlmFault     fault,
                                                        guint               param,
                                                        guint               n_requests);
void               rfl_fake_llm_clear_fault            (RflFakeLlm         *self);

/* Recorded requests, oldest first. */
guint              rfl_fake_llm_get_request_count      (RflFakeLlm         *self);
guint              rfl_fake_llm_count_requests_for_path (RflFakeLlm        *self,
                                                        const char         *path);
RflFakeLlmRequest *rfl_fake_llm_dup_request            (RflFakeLlm         *self,
                                                        guint               index);
RflFakeLlmRequest *rfl_fake_llm_dup_last_request       (RflFakeLlm         *self);
char              *rfl_fake_llm_dup_last_request_body  (RflFakeLlm         *self);
char              *rfl_fake_llm_dup_last_request_path  (RflFakeLlm         *self);
/* @name is case-insensitive. */
char              *rfl_fake_llm_dup_last_request_header (RflFakeLlm        *self,
                                                        const char         *name);
void               rfl_fake_llm_clear_requests         (RflFakeLlm         *self);
/* Blocks until at least @count requests were recorded; FALSE on timeout. */
gboolean           rfl_fake_llm_wait_for_requests      (RflFakeLlm         *self,
                                                        guint               count,
                                                        guint               timeout_ms);
/* Streams whose client left before the end. */
guint              rfl_fake_llm_get_aborted_count      (RflFakeLlm         *self);

void               rfl_fake_llm_request_free           (RflFakeLlmRequest  *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflFakeLlm, rfl_fake_llm_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflFakeLlmRequest, rfl_fake_llm_request_free)

G_END_DECLS
