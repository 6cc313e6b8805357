/* rfl-vector-index-private.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include "rfl-vector-index.h"
#include "rfl-vector-kernels.h"

G_BEGIN_DECLS

/* For the tests: TRUE when the id map, the rows and the approximate index
 * (if any) agree with each other. */
gboolean _rfl_vector_index_check           (RflVectorIndex *self);

/* For the tests: runs on the building thread, without a lock, after each
 * chunk of rows has been put into its list (with the count done so far)
 * and once more, with @done set, before the writes made meanwhile are
 * replayed; a test writes at those moments. */
typedef void (*RflVectorIndexBuildHook)    (RflVectorIndex *self,
                                            gsize           n_assigned,
                                            gboolean        done,
                                            gpointer        user_data);
void     _rfl_vector_index_set_build_hook  (RflVectorIndex *self,
                                            RflVectorIndexBuildHook hook,
                                            gpointer        user_data);

G_END_DECLS
