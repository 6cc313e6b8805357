/* main.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

#include "rfl-fake-llm.h"

static const struct
{
  const char      *name;
  RflFakeLlmFault  fault;
} faults[] = {
  { "disconnect", RFL_FAKE_LLM_FAULT_DISCONNECT },
  { "429", RFL_FAKE_LLM_FAULT_HTTP_429 },
  { "500", RFL_FAKE_LLM_FAULT_HTTP_500 },
  { "slow", RFL_FAKE_LLM_FAULT_SLOW },
  { "malformed", RFL_FAKE_LLM_FAULT_MALFORMED },
  { "wrong-shape", RFL_FAKE_LLM_FAULT_WRONG_SHAPE },
  { "huge", RFL_FAKE_LLM_FAULT_HUGE },
};

/* "NAME[:PARAM[:COUNT]]", e.g. "disconnect:3" or "429:5:1". */
static gboolean
parse_fault (const char      *spec,
             RflFakeLlmFault *fault,
             guint           *param,
             guint           *count)
{
  g_auto(GStrv) parts = g_strsplit (spec, ":", 3);
  guint64 value;

  *param = 0;
  *count = 0;
  if (parts[0] == NULL)
    return FALSE;
  if (parts[1] != NULL)
    {
      if (!g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT, &value, NULL))
        return FALSE;
      *param = (guint) value;
    }
  if (parts[1] != NULL && parts[2] != NULL)
    {
      if (!g_ascii_string_to_unsigned (parts[2], 10, 0, G_MAXUINT, &value, NULL))
        return FALSE;
      *count = (guint) value;
    }

  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      if (g_str_equal (faults[i].name, parts[0]))
        {
          *fault = faults[i].fault;
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(RflFakeLlm) fake = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *api_key = NULL;
  g_auto(GStrv) reply = NULL;
  g_autofree char *fault_spec = NULL;
  RflFakeLlmFault fault = RFL_FAKE_LLM_FAULT_NONE;
  guint fault_param = 0;
  guint fault_count = 0;
  int port = 0;
  int token_delay = 0;
  int pull_delay = 10;
  int pull_steps = 10;
  gint64 pull_total = 100000000;
  const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port,
      "Port to listen on (0 picks a free one)", "N" },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &bind,
      "Address to listen on (only 127.0.0.1)", "ADDR" },
    { "api-key", 'k', 0, G_OPTION_ARG_STRING, &api_key,
      "Demand this key on the OpenAI and Anthropic endpoints", "KEY" },
    { "reply", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &reply,
      "A token of the chat answer (repeat for more)", "TOKEN" },
    { "token-delay", 0, 0, G_OPTION_ARG_INT, &token_delay,
      "Milliseconds between streamed tokens", "MS" },
    { "pull-total", 0, 0, G_OPTION_ARG_INT64, &pull_total,
      "Size of a pulled model in bytes", "BYTES" },
    { "pull-steps", 0, 0, G_OPTION_ARG_INT, &pull_steps,
      "Progress lines per pull", "N" },
    { "pull-delay", 0, 0, G_OPTION_ARG_INT, &pull_delay,
      "Milliseconds between pull progress lines", "MS" },
    { "fault", 'f', 0, G_OPTION_ARG_STRING, &fault_spec,
      "disconnect, 429, 500, slow, malformed, wrong-shape or huge, with an "
      "optional parameter and request count", "NAME[:PARAM[:COUNT]]" },
    { NULL }
  };

  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new ("- fake LLM server for tests");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }

  if (bind != NULL && g_strcmp0 (bind, "127.0.0.1") != 0)
    {
      g_printerr ("Only 127.0.0.1 is supported, not %s\n", bind);
      return EXIT_FAILURE;
    }
  if (port < 0 || port > 65535 || token_delay < 0 || pull_delay < 0
      || pull_steps < 1 || pull_total < 0)
    {
      g_printerr ("Invalid numeric option\n");
      return EXIT_FAILURE;
    }

  if (fault_spec != NULL
      && !parse_fault (fault_spec, &fault, &fault_param, &fault_count))
    {
      g_printerr ("Invalid fault “%s”\n", fault_spec);
      return EXIT_FAILURE;
    }

  fake = rfl_fake_llm_new ();
  rfl_fake_llm_set_fault (fake, fault, fault_param, fault_count);
  rfl_fake_llm_set_port (fake, (guint16) port);
  rfl_fake_llm_set_log_requests (fake, TRUE);
  rfl_fake_llm_set_api_key (fake, api_key);
  rfl_fake_llm_set_token_delay (fake, (guint) token_delay);
  rfl_fake_llm_set_pull (fake, (guint64) pull_total, (guint) pull_steps,
                         (guint) pull_delay);
  if (reply != NULL)
    rfl_fake_llm_set_reply (fake, (const char * const *) reply);

  if (!rfl_fake_llm_start (fake, &error))
    {
      g_printerr ("Cannot listen: %s\n", error->message);
      return EXIT_FAILURE;
    }

  g_print ("listening on %s\n", rfl_fake_llm_get_url (fake));

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_main_loop_run (loop);

  rfl_fake_llm_stop (fake);
  return EXIT_SUCCESS;
}
