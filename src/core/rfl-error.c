/* rfl-error.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-error.h"

G_DEFINE_QUARK (rfl-error-quark, rfl_error)
