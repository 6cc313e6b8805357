/* rfl-serve.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The port `reflection serve` listens on unless told (the same default as
 * the application's server-port setting). */
#define RFL_SERVE_DEFAULT_PORT 8470

/* `reflection serve [--port N] [--bind ADDR] [--data-dir DIR] [--provider
 * KIND] [--provider-url URL] [--model NAME] [--embedding-model NAME]`: the
 * HTTP service with no display; the provider's API key comes from the
 * environment variable REFLECTION_PROVIDER_API_KEY. @argv[0] is "serve". Prints "listening on URL"
 * as its first line, then one line per request; SIGINT or SIGTERM stops it
 * gracefully (a second one stops it at once). Returns the exit status: 0
 * after a clean stop, 1 when it cannot listen, 2 for a bad command line. */
int rfl_serve_main (int    argc,
                    char **argv);

G_END_DECLS
