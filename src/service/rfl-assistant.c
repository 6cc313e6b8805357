/* rfl-assistant.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-assistant.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "core/rfl-use-case.h"
#include "store/rfl-chat-store.h"

#define PROMPTS_PATH "/org/reflection/Reflection/prompts/"

/* How much of each message the greeting prompt quotes. */
#define GREETING_MESSAGE_CHARS 400

void
rfl_assistant_profile_free (RflAssistantProfile *profile)
{
  if (profile == NULL)
    return;

  g_free (profile->tenant_name);
  g_free (profile->agent_name);
  g_free (profile->persona);
  g_free (profile);
}

char *
rfl_assistant_dup_setting_key (gint64      tenant_id,
                               const char *what)
{
  return g_strdup_printf ("tenant.%" G_GINT64_FORMAT ".%s", tenant_id, what);
}

char *
rfl_assistant_load_prompt (const char *name)
{
  g_autofree char *path = g_strconcat (PROMPTS_PATH, name, NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data;

  bytes = g_resources_lookup_data (path, 0, &error);
  if (bytes == NULL)
    {
      g_critical ("The prompt %s is missing: %s", name, error->message);
      return NULL;
    }

  data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}

static gboolean
is_blank (const char *text)
{
  if (text == NULL)
    return TRUE;

  for (; *text != '\0'; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;

  return TRUE;
}

RflAssistantProfile *
rfl_assistant_profile_new (const char *tenant_name,
                           const char *use_case,
                           const char *agent_name,
                           const char *persona)
{
  RflAssistantProfile *profile = g_new0 (RflAssistantProfile, 1);
  RflUseCase kind = RFL_USE_CASE_CUSTOM;

  profile->tenant_name = g_strdup (tenant_name != NULL ? tenant_name : "");
  profile->agent_name = is_blank (agent_name)
                          ? g_strdup (RFL_ASSISTANT_DEFAULT_NAME)
                          : g_strstrip (g_strdup (agent_name));

  if (!is_blank (persona))
    profile->persona = g_strstrip (g_strdup (persona));
  else
    {
      g_autofree char *name = NULL;

      if (use_case == NULL || !rfl_use_case_from_string (use_case, &kind))
        kind = RFL_USE_CASE_CUSTOM;
      name = g_strdup_printf ("persona-%s.txt", rfl_use_case_to_string (kind));
      profile->persona = rfl_assistant_load_prompt (name);
      if (profile->persona == NULL)
        profile->persona = g_strdup ("");
      g_strstrip (profile->persona);
    }

  return profile;
}

char *
rfl_assistant_render (const char         *template_text,
                      const char * const *keys,
                      const char * const *values)
{
  GString *out;
  const char *p;

  g_return_val_if_fail (template_text != NULL, NULL);

  out = g_string_sized_new (strlen (template_text) + 256);
  p = template_text;

  for (;;)
    {
      const char *open = strstr (p, "{{");
      const char *close;
      gboolean replaced = FALSE;

      if (open == NULL || (close = strstr (open + 2, "}}")) == NULL)
        break;

      g_string_append_len (out, p, open - p);
      for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
        {
          gsize n = strlen (keys[i]);

          if ((gsize) (close - open - 2) == n
              && strncmp (open + 2, keys[i], n) == 0)
            {
              g_string_append (out, values[i] != NULL ? values[i] : "");
              replaced = TRUE;
              break;
            }
        }
      if (!replaced)
        g_string_append_len (out, open, close + 2 - open);

      p = close + 2;
    }

  g_string_append (out, p);
  return g_string_free (out, FALSE);
}

char *
rfl_assistant_format_memories (GPtrArray *memories)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; memories != NULL && i < memories->len; i++)
    {
      const RflMemory *memory = g_ptr_array_index (memories, i);

      g_string_append_printf (out, "- %s: %s\n", memory->key, memory->value);
    }

  return g_string_free (out, FALSE);
}

char *
rfl_assistant_build_system_prompt (const RflAssistantProfile *profile,
                                   GPtrArray                 *memories,
                                   GDateTime                 *now)
{
  g_autofree char *system = rfl_assistant_load_prompt ("system.txt");
  g_autofree char *date = NULL;
  g_autofree char *block = NULL;
  char *result;

  g_return_val_if_fail (profile != NULL, NULL);

  if (system == NULL)
    return g_strdup ("");

  /* An unambiguous date for any language: ISO, with the weekday. */
  date = g_date_time_format (now, "%Y-%m-%d (%A), %H:%M %Z");

  if (memories != NULL && memories->len > 0)
    {
      g_autofree char *template_text = rfl_assistant_load_prompt ("memories.txt");
      g_autofree char *lines = rfl_assistant_format_memories (memories);

      block = rfl_assistant_render (template_text != NULL ? template_text : "",
                                    (const char *[]) { "memories", NULL },
                                    (const char *[]) { lines, NULL });
    }

  result = rfl_assistant_render (system,
                                 (const char *[]) {
                                   "agent_name", "tenant_name", "persona",
                                   "date", "memories", NULL },
                                 (const char *[]) {
                                   profile->agent_name, profile->tenant_name,
                                   profile->persona, date,
                                   block != NULL ? block : "", NULL });
  return g_strchomp (result);
}

double
rfl_assistant_score_memory (double    similarity,
                            gboolean  text_match,
                            double    importance,
                            gint64    updated_at,
                            gint64    last_used_at,
                            gint64    now)
{
  double relevance;
  double age;
  double decay;

  relevance = CLAMP (isfinite (similarity) ? similarity : 0, 0.0, 1.0);
  if (text_match)
    relevance = MIN (1.0, relevance + RFL_ASSISTANT_TEXT_MATCH_BONUS);

  age = (double) (now - MAX (updated_at, last_used_at));
  if (age < 0)
    age = 0;
  decay = exp2 (-age / (double) RFL_ASSISTANT_MEMORY_HALF_LIFE_MS);

  return relevance * CLAMP (importance, 0.0, 1.0) * decay;
}

typedef struct
{
  const RflMemory *memory;
  double           score;
} Ranked;

static int
compare_ranked (gconstpointer a,
                gconstpointer b)
{
  const Ranked *ra = a;
  const Ranked *rb = b;

  if (ra->score != rb->score)
    return ra->score > rb->score ? -1 : 1;
  /* Ties: the more recently updated first, then the lower id. */
  if (ra->memory->updated_at != rb->memory->updated_at)
    return ra->memory->updated_at > rb->memory->updated_at ? -1 : 1;
  return ra->memory->id < rb->memory->id ? -1
         : ra->memory->id > rb->memory->id;
}

GPtrArray *
rfl_assistant_rank_memories (GPtrArray *hits,
                             gint64     now,
                             guint      limit)
{
  g_autoptr(GArray) ranked = g_array_new (FALSE, FALSE, sizeof (Ranked));
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_memory_free);

  for (guint i = 0; hits != NULL && i < hits->len; i++)
    {
      const RflMemoryHit *hit = g_ptr_array_index (hits, i);
      double similarity = hit->vector_rank > 0 ? hit->similarity : 0;
      gboolean text_match = hit->text_rank > 0;
      double relevance;
      Ranked r;

      relevance = MIN (1.0, MAX (similarity, 0.0)
                            + (text_match ? RFL_ASSISTANT_TEXT_MATCH_BONUS : 0));
      if (relevance < RFL_ASSISTANT_MIN_RELEVANCE)
        continue;

      r.memory = hit->memory;
      r.score = rfl_assistant_score_memory (similarity, text_match,
                                            hit->memory->importance,
                                            hit->memory->updated_at,
                                            hit->memory->last_used_at, now);
      g_array_append_val (ranked, r);
    }

  g_array_sort (ranked, compare_ranked);

  for (guint i = 0; i < ranked->len && result->len < limit; i++)
    g_ptr_array_add (result,
                     rfl_memory_copy (g_array_index (ranked, Ranked, i).memory));

  return result;
}

char *
rfl_assistant_build_greeting_prompt (const RflAssistantProfile *profile,
                                     const char                *title,
                                     GPtrArray                 *messages,
                                     GPtrArray                 *memories)
{
  g_autofree char *template_text = rfl_assistant_load_prompt ("greeting.txt");
  g_autofree char *known = NULL;
  GString *lines = g_string_new (NULL);
  char *result;

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      const RflMessage *message = g_ptr_array_index (messages, i);
      g_autofree char *excerpt = NULL;
      const char *who;

      if (message->role == RFL_MESSAGE_ROLE_USER)
        who = "User";
      else if (message->role == RFL_MESSAGE_ROLE_ASSISTANT)
        who = "You";
      else
        continue;

      if (is_blank (message->content))
        continue;

      excerpt = g_utf8_substring (message->content, 0,
                                  MIN (g_utf8_strlen (message->content, -1),
                                       GREETING_MESSAGE_CHARS));
      g_string_append_printf (lines, "%s: %s\n", who, excerpt);
    }

  known = rfl_assistant_format_memories (memories);

  result = rfl_assistant_render (template_text != NULL ? template_text : "",
                                 (const char *[]) {
                                   "agent_name", "persona", "title",
                                   "messages", "memories", NULL },
                                 (const char *[]) {
                                   profile->agent_name, profile->persona,
                                   title != NULL ? title : "",
                                   lines->str,
                                   *known != '\0' ? known : "(nothing yet)\n",
                                   NULL });
  g_string_free (lines, TRUE);
  return g_strchomp (result);
}

char *
rfl_assistant_fallback_greeting (const char *agent_name,
                                 const char *title,
                                 gboolean    has_history)
{
  if (!has_history)
    return g_strdup_printf (_("Hello, I’m %s. What would you like to talk "
                              "about?"),
                            agent_name != NULL ? agent_name
                                               : RFL_ASSISTANT_DEFAULT_NAME);

  if (title == NULL || is_blank (title))
    return g_strdup (_("Welcome back! Shall we pick up where we left off?"));

  return g_strdup_printf (_("Welcome back! Last time we talked about “%s”. "
                            "Shall we pick up where we left off?"), title);
}
