/* rfl-ollama-pull.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* One model download through Ollama's POST /api/pull (NDJSON progress).
 * Progress is delivered on the thread-default main context of the caller
 * of rfl_ollama_pull_async(), coalesced so at most one update is pending.
 * Cancelling stops the transfer within 100 ms and finishes with
 * G_IO_ERROR_CANCELLED; Ollama keeps the partial layers so a later pull
 * resumes. A stream that ends before {"status":"success"} fails with
 * RFL_ERROR_PROTOCOL ("The download was interrupted…"); an {"error":…}
 * line fails with RFL_ERROR_PROVIDER carrying Ollama's message. */

typedef struct
{
  const char *status;        /* Ollama's status line, e.g. "pulling abc…" */
  guint64     completed;     /* bytes of the current layer */
  guint64     total;         /* 0 when unknown */
  double      bytes_per_second;
} RflPullProgress;

typedef void (*RflPullProgressFunc) (const RflPullProgress *progress,
                                     gpointer               user_data);

void     rfl_ollama_pull_async  (const char           *base_url,
                                 const char           *model,
                                 RflPullProgressFunc   progress_func,
                                 gpointer              progress_data,
                                 GDestroyNotify        progress_destroy,
                                 GCancellable         *cancellable,
                                 GAsyncReadyCallback   callback,
                                 gpointer              user_data);
gboolean rfl_ollama_pull_finish (GAsyncResult         *result,
                                 GError              **error);

G_END_DECLS
