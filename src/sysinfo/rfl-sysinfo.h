/* rfl-sysinfo.h
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  RFL_GPU_VENDOR_UNKNOWN,
  RFL_GPU_VENDOR_NVIDIA,
  RFL_GPU_VENDOR_AMD,
  RFL_GPU_VENDOR_INTEL,
} RflGpuVendor;

typedef struct
{
  RflGpuVendor vendor;
  char        *vendor_name;   /* "NVIDIA", "AMD", "Intel" or the PCI id */
  char        *model;         /* "GeForce RTX 3060", or "PCI 10de:2504" */
  char        *pci_slot;      /* "0000:01:00.0", may be NULL */
  guint64      vram_bytes;    /* 0 when the system does not report it */
  gboolean     integrated;    /* shares system memory */
} RflGpuInfo;

/* The model size classes the wizard recommends. */
typedef enum
{
  RFL_MODEL_CLASS_TINY,    /* 1–3B */
  RFL_MODEL_CLASS_SMALL,   /* 7–8B */
  RFL_MODEL_CLASS_MEDIUM,  /* 13–14B */
  RFL_MODEL_CLASS_LARGE,   /* 30–34B */
  RFL_MODEL_CLASS_XLARGE,  /* 70B */
} RflModelClass;

typedef struct
{
  char      *cpu_model;
  guint      cpu_cores;        /* physical cores */
  guint      cpu_threads;      /* logical processors */
  guint64    mem_total_bytes;
  guint64    mem_available_bytes;
  GPtrArray *gpus;             /* of RflGpuInfo*, owned */
  guint64    disk_free_bytes;  /* at the data directory; 0 if unknown */
  char      *ollama_path;      /* absolute path of `ollama` on PATH, or NULL */
} RflSysinfo;

/* Reads the machine. @root is "/" on a real system; tests pass a directory
 * holding fake proc/ and sys/ trees (and optionally a fake PATH dir). Files
 * the system does not provide leave their fields at 0/NULL; only a missing
 * or unreadable /proc/cpuinfo and /proc/meminfo is an error. @data_dir is
 * where free disk is measured (its nearest existing ancestor). */
RflSysinfo   *rfl_sysinfo_probe            (const char    *root,
                                            const char    *data_dir,
                                            GError       **error);
void          rfl_sysinfo_probe_async      (const char          *root,
                                            const char          *data_dir,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
RflSysinfo   *rfl_sysinfo_probe_finish     (GAsyncResult  *result,
                                            GError       **error);
void          rfl_sysinfo_free             (RflSysinfo    *info);

/* The largest GPU memory, or 0 when no discrete GPU reports VRAM. */
guint64       rfl_sysinfo_get_best_vram    (const RflSysinfo *info);

/* Memory as it is sold ("16 GB" for the 15.6 GiB a 16 GiB machine
 * reports), the way the recommendation's reason names it. */
char         *rfl_sysinfo_format_memory    (guint64           bytes);

/* A recommendation with its reason in words (translated), for example
 * "7–8B models: 16 GB of memory and a GPU with 8 GB". */
RflModelClass rfl_sysinfo_recommend        (const RflSysinfo *info,
                                            char            **reason);
const char   *rfl_model_class_get_title    (RflModelClass     model_class);
/* An Ollama model tag that fits the class, e.g. "llama3.1:8b". */
const char   *rfl_model_class_get_example  (RflModelClass     model_class);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSysinfo, rfl_sysinfo_free)

G_END_DECLS
