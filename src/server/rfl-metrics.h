/* rfl-metrics.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The Content-Type of rfl_metrics_dup_text(): the Prometheus text
 * exposition format 0.0.4. */
#define RFL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Counters and a latency histogram of the HTTP service. Every function may
 * be called from any thread. */
typedef struct _RflMetrics RflMetrics;

RflMetrics *rfl_metrics_new                      (void);
RflMetrics *rfl_metrics_ref                      (RflMetrics  *self);
void        rfl_metrics_unref                    (RflMetrics  *self);

/* A request began; pair with rfl_metrics_request_finished(). */
void        rfl_metrics_request_started          (RflMetrics  *self);

/* @route is the route pattern ("/api/v1/tenants/{id}"), never the raw
 * path, so that the number of series stays bounded. */
void        rfl_metrics_request_finished         (RflMetrics  *self,
                                                  const char  *method,
                                                  const char  *route,
                                                  guint        status,
                                                  double       seconds);

/* Language model tokens read (prompt) and generated (completion). */
void        rfl_metrics_add_tokens               (RflMetrics  *self,
                                                  guint64      tokens_in,
                                                  guint64      tokens_out);

/* A request refused by a rate limit or quota; @limit names which one
 * ("requests", "tokens", "concurrency"). */
void        rfl_metrics_add_rate_limit_rejection (RflMetrics  *self,
                                                  const char  *limit);

/* The exposition, with HELP and TYPE lines for every metric family. */
char       *rfl_metrics_dup_text                 (RflMetrics  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflMetrics, rfl_metrics_unref)

G_END_DECLS
