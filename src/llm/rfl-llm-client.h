/* rfl-llm-client.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

#include "llm/rfl-chat-types.h"
#include "llm/rfl-provider.h"

G_BEGIN_DECLS

/* The one interface to an LLM provider: chat (streamed or not, with tools
 * and JSON output) and embeddings, over the provider's own wire protocol:
 * Ollama (/api/chat NDJSON, /api/embed), OpenAI and OpenAI-compatible
 * servers (/v1/chat/completions SSE, /v1/embeddings) or Anthropic
 * (/v1/messages SSE; no embeddings).
 *
 * A client holds only its configuration and may be used from any thread,
 * by several calls at once; each call makes its own libcurl requests on
 * the thread that runs it (a worker for the _async calls).
 *
 * Failures and retries. A call is retried (up to 3 attempts in all, with
 * exponential backoff from 250 ms plus jitter) when the connection fails,
 * when the provider answers 429 (after its Retry-After, at most 30 s) or
 * 5xx, or when a stream breaks — but only while nothing of the answer was
 * delivered. Once text or a tool call was delivered, a failure ends the
 * call with an error saying "The answer was cut off: …" and what had
 * arrived stays available as a partial result.
 *
 * Errors: RFL_ERROR_INVALID_INPUT (a bad request or configuration),
 * RFL_ERROR_UNREACHABLE (no connection, naming the URL), RFL_ERROR_UNAUTHORIZED
 * (401/403 with the provider's message), RFL_ERROR_PROVIDER (other HTTP
 * errors, errors reported in a stream, timeouts, cut-off answers),
 * RFL_ERROR_PROTOCOL (an answer that cannot be read), G_IO_ERROR_CANCELLED.
 *
 * Timeouts: connecting (5 s), the first text or tool call (60 s, counted
 * from the start of each attempt) and silence between two pieces of the
 * answer once it has begun (30 s). Cancelling stops the request at once. */

#define RFL_TYPE_LLM_CLIENT (rfl_llm_client_get_type ())

G_DECLARE_FINAL_TYPE (RflLlmClient, rfl_llm_client, RFL, LLM_CLIENT, GObject)

#define RFL_LLM_DEFAULT_CONNECT_MS      5000
#define RFL_LLM_DEFAULT_FIRST_TOKEN_MS  60000
#define RFL_LLM_DEFAULT_IDLE_MS         30000
#define RFL_LLM_DEFAULT_MAX_ATTEMPTS    3
#define RFL_LLM_DEFAULT_BACKOFF_MS      250
#define RFL_LLM_DEFAULT_MAX_RETRY_AFTER_MS 30000

/* What arrived since the last call of the delta function. */
typedef struct
{
  const char *text;          /* new text, NUL-terminated; "" when none */
  gsize       text_len;
  guint       n_tool_calls;  /* tool calls begun so far, in all */
} RflChatDelta;

typedef void (*RflChatDeltaFunc) (const RflChatDelta *delta,
                                  gpointer            user_data);

/* Vectors for a list of texts, in order, in one contiguous array. */
typedef struct
{
  guint  n_vectors;
  guint  dims;
  float *data;               /* n_vectors × dims floats, row after row */
  guint  input_tokens;       /* as the provider counted them, 0 if unknown */
} RflEmbeddings;

/* @base_url NULL or "": the kind's default URL (none for
 * OpenAI-compatible servers: RFL_ERROR_INVALID_INPUT). @api_key may be
 * NULL; surrounding blanks are dropped, control characters refused. */
RflLlmClient    *rfl_llm_client_new                (RflProviderKind       kind,
                                                    const char           *base_url,
                                                    const char           *api_key,
                                                    GError              **error);
RflProviderKind  rfl_llm_client_get_kind           (RflLlmClient         *self);
const char      *rfl_llm_client_get_base_url       (RflLlmClient         *self);

/* In ms; 0 means no limit. For calls started afterwards. */
void             rfl_llm_client_set_timeouts       (RflLlmClient         *self,
                                                    guint                 connect_ms,
                                                    guint                 first_token_ms,
                                                    guint                 idle_ms);
/* @max_attempts ≥ 1 (1: no retry); @backoff_ms the first wait;
 * @max_retry_after_ms caps a provider's Retry-After. */
void             rfl_llm_client_set_retries        (RflLlmClient         *self,
                                                    guint                 max_attempts,
                                                    guint                 backoff_ms,
                                                    guint                 max_retry_after_ms);

/* Streams an answer. @delta_func runs on the thread-default main context of
 * the caller, coalesced (at most one call pending; text arriving meanwhile
 * is joined), never after @callback and never after cancellation;
 * @delta_destroy is called before @callback. */
void             rfl_llm_client_chat_stream_async  (RflLlmClient         *self,
                                                    RflChatRequest       *request,
                                                    RflChatDeltaFunc      delta_func,
                                                    gpointer              delta_data,
                                                    GDestroyNotify        delta_destroy,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
/* The result, or NULL with @error set. On failure, @partial (if not NULL)
 * receives what had arrived — text, tool calls, usage, timing, finish
 * reason NONE — or NULL when nothing had. */
RflChatResult   *rfl_llm_client_chat_stream_finish (RflLlmClient         *self,
                                                    GAsyncResult         *result,
                                                    RflChatResult       **partial,
                                                    GError              **error);
/* The same, blocking, for worker threads; @delta_func (may be NULL) runs on
 * the calling thread as pieces arrive, not coalesced. */
RflChatResult   *rfl_llm_client_chat               (RflLlmClient         *self,
                                                    RflChatRequest       *request,
                                                    RflChatDeltaFunc      delta_func,
                                                    gpointer              delta_data,
                                                    RflChatResult       **partial,
                                                    GCancellable         *cancellable,
                                                    GError              **error);

/* Embeds @texts (NULL-terminated) with the embedding @model, in batches.
 * Anthropic has no embedding endpoint: RFL_ERROR_INVALID_INPUT. Vectors are
 * returned as the provider made them (not normalised). */
RflEmbeddings   *rfl_llm_client_embed              (RflLlmClient         *self,
                                                    const char           *model,
                                                    const char * const   *texts,
                                                    GCancellable         *cancellable,
                                                    GError              **error);
void             rfl_llm_client_embed_async        (RflLlmClient         *self,
                                                    const char           *model,
                                                    const char * const   *texts,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
RflEmbeddings   *rfl_llm_client_embed_finish       (RflLlmClient         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* The id stored with vectors made by @model through this client, such as
 * "ollama:nomic-embed-text" or "openai:text-embedding-3-small". */
char            *rfl_llm_client_dup_embedder_id    (RflLlmClient         *self,
                                                    const char           *model);

/* The provider's models (see rfl_provider_list_models()). */
void             rfl_llm_client_list_models_async  (RflLlmClient         *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray       *rfl_llm_client_list_models_finish (RflLlmClient         *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

const float     *rfl_embeddings_get_vector         (const RflEmbeddings  *embeddings,
                                                    guint                 index);
void             rfl_embeddings_free               (RflEmbeddings        *embeddings);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflEmbeddings, rfl_embeddings_free)

G_END_DECLS
