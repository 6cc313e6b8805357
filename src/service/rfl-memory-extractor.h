/* rfl-memory-extractor.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

#include "llm/rfl-chat-types.h"

G_BEGIN_DECLS

/* Memory extraction: after a completed turn the model is asked, with the
 * prompt in resources/prompts/extract-memories.txt and a JSON Schema for
 * its answer, what the exchange tells about the user; the answer becomes
 * memories to upsert into the memory store (which merges what is already
 * known). */

/* How many known memories the prompt lists, so that the model reuses
 * their keys. */
#define RFL_MEMORY_EXTRACTOR_MAX_KNOWN   50
/* How many memories one exchange may yield. */
#define RFL_MEMORY_EXTRACTOR_MAX_RESULTS 10

/* The request for @model: the instructions with @known (RflMemory*, may be
 * NULL) listed, the exchange, and the schema of the answer. Not streamed;
 * temperature 0. */
RflChatRequest *rfl_memory_extractor_build_request (const char   *model,
                                                    GPtrArray    *known,
                                                    const char   *user_text,
                                                    const char   *assistant_text,
                                                    GError      **error);

/* The memories in the model's answer: a GPtrArray of RflMemory* (kind, key,
 * value and importance set; confidence 0.8), at most
 * RFL_MEMORY_EXTRACTOR_MAX_RESULTS. Items that are incomplete or unusable
 * are left out. RFL_ERROR_PROTOCOL when the answer is not the JSON object
 * asked for (a code fence around it is tolerated). */
GPtrArray      *rfl_memory_extractor_parse         (const char   *answer,
                                                    GError      **error);

G_END_DECLS
