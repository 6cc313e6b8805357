/* rfl-tool-registry.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "llm/rfl-chat-types.h"

G_BEGIN_DECLS

/* The tools the assistant can be given. Their descriptions and argument
 * schemas, which the model reads, are in resources/prompts/tools.json;
 * whether a tenant allows each one is in its tool permissions (see
 * rfl_chat_store_get_tool_enabled()): calculator, current_time,
 * memory_search and memory_save are on by default, the tools that reach
 * files, programs or the network are off until an administrator turns them
 * on. */
typedef enum
{
  RFL_TOOL_CALCULATOR,
  RFL_TOOL_CURRENT_TIME,
  RFL_TOOL_MEMORY_SEARCH,
  RFL_TOOL_MEMORY_SAVE,
  RFL_TOOL_FILE_READ,
  RFL_TOOL_SHELL_RUN,
  RFL_TOOL_WEB_FETCH,
} RflToolId;

#define RFL_N_TOOLS (RFL_TOOL_WEB_FETCH + 1)

/* Limits of the tools that reach outside. */
#define RFL_TOOL_FILE_READ_MAX_BYTES   (64 * 1024)
#define RFL_TOOL_SHELL_RUN_TIMEOUT_MS  5000
#define RFL_TOOL_SHELL_RUN_MAX_BYTES   (64 * 1024)
#define RFL_TOOL_WEB_FETCH_MAX_BYTES   (256 * 1024)
#define RFL_TOOL_WEB_FETCH_TIMEOUT_MS  15000

/* "calculator", "current_time", "memory_search", "memory_save",
 * "file_read", "shell_run", "web_fetch". */
const char  *rfl_tool_id_to_string         (RflToolId     id);
gboolean     rfl_tool_id_from_string       (const char   *name,
                                            RflToolId    *out);
/* What the chat shows while the tool runs ("Calculating…"), translated. */
const char  *rfl_tool_id_get_activity      (RflToolId     id);

/* The argument @name of a tool call when it is a string, else NULL. */
const char  *rfl_tool_arguments_get_string (JsonObject   *arguments,
                                            const char   *name);
/* The argument @name when it is a finite number (or a string holding
 * one). */
gboolean     rfl_tool_arguments_get_number (JsonObject   *arguments,
                                            const char   *name,
                                            double       *out);

/* The definition the model is given, owned by the registry and valid for
 * the life of the process, or NULL when the definitions in the resources
 * cannot be read (a build defect; logged). */
const RflChatTool *rfl_tool_registry_get_definition (RflToolId  id);

/* Runs one of the tools that need no store: calculator, current_time,
 * file_read, shell_run and web_fetch, with the arguments the model gave.
 * What goes wrong with the tool itself (a bad expression, a missing file,
 * a failing command) is part of the result text the model reads; the call
 * fails only when cancelled. Blocking work runs on a worker thread; the
 * callback runs on the caller's thread-default main context. */
void         rfl_tool_registry_run_async   (RflToolId            id,
                                            JsonObject          *arguments,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
/* The result text for the model; NULL with @error set when cancelled. */
char        *rfl_tool_registry_run_finish  (GAsyncResult        *result,
                                            GError             **error);

/* The calculator tool alone, synchronously: the result or the error as
 * text. */
char        *rfl_tool_registry_calculate   (JsonObject          *arguments);
/* The current_time tool at @now (a time zone from the arguments, else
 * @now's own). */
char        *rfl_tool_registry_describe_time (JsonObject        *arguments,
                                              GDateTime         *now);

G_END_DECLS
