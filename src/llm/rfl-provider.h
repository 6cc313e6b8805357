/* rfl-provider.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  RFL_PROVIDER_OLLAMA,
  RFL_PROVIDER_OPENAI,
  RFL_PROVIDER_ANTHROPIC,
  RFL_PROVIDER_OPENAI_COMPATIBLE,
} RflProviderKind;

#define RFL_N_PROVIDERS 4

/* Stable ids for settings and the keyring: "ollama", "openai", … */
const char *rfl_provider_kind_to_string       (RflProviderKind  kind);
gboolean    rfl_provider_kind_from_string     (const char      *str,
                                               RflProviderKind *out);
const char *rfl_provider_kind_get_title       (RflProviderKind  kind);
/* "http://127.0.0.1:11434", "https://api.openai.com",
 * "https://api.anthropic.com", or NULL for OpenAI-compatible. */
const char *rfl_provider_kind_get_default_url (RflProviderKind  kind);
gboolean    rfl_provider_kind_needs_key       (RflProviderKind  kind);

/* Checks that @url is an http(s) URL with a host; the error names what is
 * wrong (RFL_ERROR_INVALID_INPUT). */
gboolean    rfl_provider_validate_url         (const char      *url,
                                               GError         **error);

typedef struct
{
  char   *name;         /* "llama3.1:8b", "gpt-4o-mini", … */
  guint64 size_bytes;   /* 0 when the provider does not say */
} RflModelInfo;

void        rfl_model_info_free               (RflModelInfo    *info);

/* Lists the provider's models: GET /api/tags (Ollama), /v1/models
 * (OpenAI and compatible, Bearer key), /v1/models (Anthropic, x-api-key
 * and anthropic-version). This is the wizard's "Test connection". Errors
 * are specific and translated: RFL_ERROR_UNREACHABLE naming the URL and the
 * transport failure, RFL_ERROR_UNAUTHORIZED for 401/403 with the
 * provider's own message, RFL_ERROR_PROVIDER for other HTTP statuses,
 * RFL_ERROR_PROTOCOL for an answer that is not what the protocol says.
 * Runs on a worker thread; cancellable. Connect timeout 5 s, total 20 s. */
void        rfl_provider_list_models_async    (RflProviderKind      kind,
                                               const char          *url,
                                               const char          *api_key,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
/* A GPtrArray of RflModelInfo*, owned, sorted by name. */
GPtrArray  *rfl_provider_list_models_finish   (GAsyncResult        *result,
                                               GError             **error);
GPtrArray  *rfl_provider_list_models          (RflProviderKind      kind,
                                               const char          *url,
                                               const char          *api_key,
                                               GCancellable        *cancellable,
                                               GError             **error);

/* TRUE when `ollama` is found on PATH. */
gboolean    rfl_provider_ollama_installed     (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflModelInfo, rfl_model_info_free)

G_END_DECLS
