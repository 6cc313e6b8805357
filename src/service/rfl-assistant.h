/* rfl-assistant.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

#include "store/rfl-memory-store.h"

G_BEGIN_DECLS

/* The tenant's assistant: who it is (name and persona), the prompts it is
 * given, and which of the user's memories it sees for a turn.
 *
 * Prompts live in resources/prompts/ and are templates in which
 * "{{name}}" is replaced by a value. The agent name and persona are kept
 * per tenant in the settings table under "tenant.<id>.agent_name" and
 * "tenant.<id>.persona"; without them the name is "Reflection" and the
 * persona is the tenant's use case's (persona-<use case>.txt). */

#define RFL_ASSISTANT_DEFAULT_NAME "Reflection"

/* Memory retrieval. The hybrid search (vector and full-text) of the user's
 * memories gives candidates; each is scored
 *
 *   score = relevance × importance × decay
 *   relevance = cosine similarity (0 … 1; 0 without a vector match)
 *               + RFL_ASSISTANT_TEXT_MATCH_BONUS when the words matched,
 *               at most 1
 *   decay = 2^(−age / RFL_ASSISTANT_MEMORY_HALF_LIFE_MS)
 *   age = now − the later of updated_at and last_used_at (≥ 0)
 *
 * and the best RFL_ASSISTANT_MAX_MEMORIES with a relevance of at least
 * RFL_ASSISTANT_MIN_RELEVANCE are given to the model. */
#define RFL_ASSISTANT_MEMORY_HALF_LIFE_MS (30 * G_GINT64_CONSTANT (86400000))
#define RFL_ASSISTANT_TEXT_MATCH_BONUS    0.25
#define RFL_ASSISTANT_MIN_RELEVANCE       0.2
#define RFL_ASSISTANT_MAX_MEMORIES        6
/* Candidates fetched from the hybrid search before re-ranking. */
#define RFL_ASSISTANT_MEMORY_CANDIDATES   24

typedef struct
{
  char *tenant_name;
  char *agent_name;
  char *persona;
} RflAssistantProfile;

void                 rfl_assistant_profile_free (RflAssistantProfile *profile);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflAssistantProfile, rfl_assistant_profile_free)

/* The settings keys of a tenant's agent name and persona. */
char                *rfl_assistant_dup_setting_key (gint64      tenant_id,
                                                    const char *what);

/* The profile of a tenant: @agent_name and @persona as stored (NULL or
 * blank: the defaults for @use_case, "custom" when unknown). */
RflAssistantProfile *rfl_assistant_profile_new  (const char *tenant_name,
                                                 const char *use_case,
                                                 const char *agent_name,
                                                 const char *persona);

/* The text of resources/prompts/@name, or NULL with a critical when it is
 * missing (a build defect). */
char                *rfl_assistant_load_prompt  (const char *name);

/* @template with every "{{key}}" of @keys replaced by the value at the
 * same index of @values (NULL-terminated arrays of the same length);
 * unknown placeholders are left as they are. */
char                *rfl_assistant_render       (const char         *template_text,
                                                 const char * const *keys,
                                                 const char * const *values);

/* The system prompt of a turn: the profile, the date of @now and the
 * memories (RflMemory*, may be NULL or empty). */
char                *rfl_assistant_build_system_prompt (const RflAssistantProfile *profile,
                                                        GPtrArray                 *memories,
                                                        GDateTime                 *now);

/* "- key: value" lines, one per memory (RflMemory*); "" when none. */
char                *rfl_assistant_format_memories (GPtrArray  *memories);

/* The score above, for one memory. Times in Unix milliseconds. */
double               rfl_assistant_score_memory (double      similarity,
                                                 gboolean    text_match,
                                                 double      importance,
                                                 gint64      updated_at,
                                                 gint64      last_used_at,
                                                 gint64      now);

/* Re-ranks @hits (RflMemoryHit*, as the memory store's search returns
 * them) at @now and keeps the best @limit whose relevance is high enough.
 * Returns a new GPtrArray of RflMemory* (copies), best first. */
GPtrArray           *rfl_assistant_rank_memories (GPtrArray  *hits,
                                                  gint64      now,
                                                  guint       limit);

/* The prompt that asks for a greeting picking up the last conversation
 * titled @title, which ended with @messages (RflMessage*, oldest first),
 * for a user of whom @memories (RflMemory*) are known. */
char                *rfl_assistant_build_greeting_prompt (const RflAssistantProfile *profile,
                                                          const char                *title,
                                                          GPtrArray                 *messages,
                                                          GPtrArray                 *memories);

/* The greeting when the model cannot write one, translated: it names the
 * last conversation's @title when there is one (NULL or "" for a user
 * with no conversation yet, who is welcomed by @agent_name instead). */
char                *rfl_assistant_fallback_greeting (const char *agent_name,
                                                      const char *title,
                                                      gboolean    has_history);

G_END_DECLS
