/* rfl-audit-cli.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* `reflection audit verify [--data-dir DIR]`: recomputes the audit log's
 * hash chain and prints "audit log: N entries, chain intact" (exit 0) or
 * names the first entry that does not match (exit 1).
 *
 * `reflection audit export --csv [--data-dir DIR] [--tenant ID]`: writes
 * the audit log (of one tenant, or all) as CSV to standard output, oldest
 * first (exit 0).
 *
 * @argv[0] is "audit". A database that cannot be opened or read is exit
 * status 1; a bad command line is 2. Never creates a database. */
int rfl_audit_cli_main (int    argc,
                        char **argv);

G_END_DECLS
