/* rfl-sysinfo.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-sysinfo.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>
#include <sys/statvfs.h>

#include "core/rfl-error.h"

#define GIB (G_GUINT64_CONSTANT (1024) * 1024 * 1024)

#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_VENDOR_AMD    0x1002
#define PCI_VENDOR_INTEL  0x8086

/* A few common GPUs, so that the wizard can name them without a copy of
 * pci.ids. vram_gib is the smallest memory size the model ships with: it is
 * used only when the driver reports nothing (the proprietary NVIDIA driver
 * exposes no VRAM in /sys or /proc), and an understated size leads to a
 * model that still fits. */
typedef struct
{
  guint16     vendor;
  guint16     device;
  const char *name;
  guint       vram_gib;
  gboolean    integrated;
} KnownGpu;

static const KnownGpu known_gpus[] = {
  { PCI_VENDOR_NVIDIA, 0x2204, "GeForce RTX 3090", 24, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2206, "GeForce RTX 3080", 10, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2216, "GeForce RTX 3080", 10, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2484, "GeForce RTX 3070", 8, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2488, "GeForce RTX 3070", 8, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2486, "GeForce RTX 3060 Ti", 8, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2503, "GeForce RTX 3060", 12, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2504, "GeForce RTX 3060", 8, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2684, "GeForce RTX 4090", 24, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2704, "GeForce RTX 4080", 16, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2782, "GeForce RTX 4070 Ti", 12, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2786, "GeForce RTX 4070", 12, FALSE },
  { PCI_VENDOR_NVIDIA, 0x2803, "GeForce RTX 4060 Ti", 8, FALSE },
  { PCI_VENDOR_AMD, 0x73a5, "Radeon RX 6950 XT", 16, FALSE },
  { PCI_VENDOR_AMD, 0x73bf, "Radeon RX 6800/6900 XT", 16, FALSE },
  { PCI_VENDOR_AMD, 0x73df, "Radeon RX 6700/6750 XT", 10, FALSE },
  { PCI_VENDOR_AMD, 0x73ff, "Radeon RX 6600/6600 XT", 8, FALSE },
  { PCI_VENDOR_AMD, 0x744c, "Radeon RX 7900 XT/XTX", 20, FALSE },
  { PCI_VENDOR_AMD, 0x7480, "Radeon RX 7600", 8, FALSE },
  { PCI_VENDOR_INTEL, 0x9a49, "Iris Xe Graphics", 0, TRUE },
  { PCI_VENDOR_INTEL, 0x46a8, "Iris Xe Graphics", 0, TRUE },
  { PCI_VENDOR_INTEL, 0xa7a0, "Iris Xe Graphics", 0, TRUE },
  { PCI_VENDOR_INTEL, 0x3ea0, "UHD Graphics 620", 0, TRUE },
  { PCI_VENDOR_INTEL, 0x5917, "UHD Graphics 620", 0, TRUE },
  { PCI_VENDOR_INTEL, 0x3e92, "UHD Graphics 630", 0, TRUE },
  { PCI_VENDOR_INTEL, 0xa780, "UHD Graphics 770", 0, TRUE },
  { PCI_VENDOR_INTEL, 0x56a0, "Arc A770", 8, FALSE },
  { PCI_VENDOR_INTEL, 0x56a1, "Arc A750", 8, FALSE },
};

static void
rfl_gpu_info_free (RflGpuInfo *gpu)
{
  g_free (gpu->vendor_name);
  g_free (gpu->model);
  g_free (gpu->pci_slot);
  g_free (gpu);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflGpuInfo, rfl_gpu_info_free)

void
rfl_sysinfo_free (RflSysinfo *info)
{
  if (info == NULL)
    return;

  g_free (info->cpu_model);
  g_clear_pointer (&info->gpus, g_ptr_array_unref);
  g_free (info->ollama_path);
  g_free (info);
}

/* Splits a "key : value" line in place; both halves come back stripped. */
static gboolean
split_field (char  *line,
             char **key,
             char **value)
{
  char *colon = strchr (line, ':');

  if (colon == NULL)
    return FALSE;

  *colon = '\0';
  *key = g_strstrip (line);
  *value = g_strstrip (colon + 1);
  return TRUE;
}

/* Reads "12288 MB", "24 GiB" or "16777216 kB". Without a unit the number is
 * taken as MiB, which is what the NVIDIA tools print. */
static guint64
parse_size (const char *text)
{
  char *end = NULL;
  double number = g_ascii_strtod (text, &end);
  double bytes;

  if (end == text || !(number > 0))
    return 0;

  while (*end == ' ' || *end == '\t')
    end++;

  switch (g_ascii_tolower (*end))
    {
    case 'b':
      bytes = number;
      break;
    case 'k':
      bytes = number * 1024;
      break;
    case 'g':
      bytes = number * GIB;
      break;
    case 't':
      bytes = number * GIB * 1024;
      break;
    default:
      bytes = number * 1024 * 1024;
      break;
    }

  /* Converting a double beyond the range of guint64 is undefined. */
  return bytes < 1.8e19 ? (guint64) bytes : 0;
}

static char *
read_text (const char *path)
{
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;

  return contents;
}

/* sysfs numbers: "0x10de\n" in vendor and device, plain decimal elsewhere. */
static gboolean
read_number (const char *path,
             guint64    *number)
{
  g_autofree char *text = read_text (path);
  char *end = NULL;

  if (text == NULL)
    return FALSE;

  g_strstrip (text);
  *number = g_ascii_strtoull (text, &end, g_str_has_prefix (text, "0x") ? 16 : 10);
  return end != text && *end == '\0';
}

/* /proc/cpuinfo and /proc/meminfo are required: without them there is
 * nothing to recommend from. */
static char *
read_proc_file (const char  *root,
                const char  *name,
                GError     **error)
{
  g_autofree char *path = g_build_filename (root, "proc", name, NULL);
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;

  if (g_file_get_contents (path, &contents, NULL, &local_error))
    return contents;

  if (strcmp (name, "cpuinfo") == 0)
    g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                 /* Translators: %s is GLib's message, which names the file
                  * and the cause: “Failed to open file “/proc/cpuinfo”:
                  * Permission denied”. */
                 _("Cannot read the processor information: %s"),
                 local_error->message);
  else
    g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                 /* Translators: %s is GLib's message, which names the file
                  * and the cause. */
                 _("Cannot read the memory information: %s"),
                 local_error->message);

  return NULL;
}

/* Tallies /proc/cpuinfo. The layout differs between architectures, so
 * every field is optional and the counts fall back on one another. */
typedef struct
{
  guint       processors;
  guint       cores_per_socket;
  GHashTable *sockets;      /* "physical id" values */
  GHashTable *cores;        /* "physical id:core id" pairs */
  char       *physical_id;  /* of the current processor block */
  char       *model;
  guint       model_rank;   /* index in model_keys of model's key */
} CpuScan;

/* Keys that name the processor, best first: x86 and most others use
 * "model name"; MIPS, Raspberry Pi, ARM boards and PowerPC use the rest. */
static const char * const model_keys[] = {
  "model name", "cpu model", "Model", "Hardware", "cpu",
};

static void
cpu_scan_model (CpuScan    *scan,
                const char *key,
                const char *value)
{
  for (guint i = 0; i < G_N_ELEMENTS (model_keys) && i < scan->model_rank; i++)
    {
      if (strcmp (key, model_keys[i]) == 0 && *value != '\0')
        {
          g_free (scan->model);
          scan->model = g_strdup (value);
          scan->model_rank = i;
          return;
        }
    }
}

static void
cpu_scan_field (CpuScan    *scan,
                const char *key,
                const char *value)
{
  if (strcmp (key, "processor") == 0)
    {
      scan->processors++;
      g_clear_pointer (&scan->physical_id, g_free);
    }
  else if (strcmp (key, "physical id") == 0)
    {
      g_free (scan->physical_id);
      scan->physical_id = g_strdup (value);
      g_hash_table_add (scan->sockets, g_strdup (value));
    }
  else if (strcmp (key, "core id") == 0)
    {
      g_hash_table_add (scan->cores,
                        g_strdup_printf ("%s:%s",
                                         scan->physical_id ? scan->physical_id : "0",
                                         value));
    }
  else if (strcmp (key, "cpu cores") == 0)
    {
      scan->cores_per_socket = (guint) g_ascii_strtoull (value, NULL, 10);
    }
  else
    {
      cpu_scan_model (scan, key, value);
    }
}

static void
parse_cpuinfo (RflSysinfo *info,
               char       *text)
{
  CpuScan scan = { 0, };
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint sockets;

  scan.sockets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  scan.cores = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  scan.model_rank = G_N_ELEMENTS (model_keys);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *key, *value;

      if (split_field (lines[i], &key, &value))
        cpu_scan_field (&scan, key, value);
    }

  /* Distinct (socket, core) pairs are exact; "cpu cores" times sockets is
   * the next best; with neither, every logical processor counts as a core. */
  sockets = MAX (1, g_hash_table_size (scan.sockets));
  if (g_hash_table_size (scan.cores) > 0)
    info->cpu_cores = g_hash_table_size (scan.cores);
  else if (scan.cores_per_socket > 0)
    info->cpu_cores = scan.cores_per_socket * sockets;
  else
    info->cpu_cores = scan.processors;

  info->cpu_threads = scan.processors > 0 ? scan.processors : info->cpu_cores;
  info->cpu_model = g_steal_pointer (&scan.model);

  g_hash_table_unref (scan.sockets);
  g_hash_table_unref (scan.cores);
  g_free (scan.physical_id);
}

/* Returns FALSE when the total, the one figure that matters, is missing. */
static gboolean
parse_meminfo (RflSysinfo *info,
               char       *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  gboolean have_available = FALSE;
  guint64 reclaimable = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *key, *value;

      if (!split_field (lines[i], &key, &value))
        continue;

      if (strcmp (key, "MemTotal") == 0)
        info->mem_total_bytes = parse_size (value);
      else if (strcmp (key, "MemAvailable") == 0)
        {
          info->mem_available_bytes = parse_size (value);
          have_available = TRUE;
        }
      /* Kernels before 3.14 have no MemAvailable; free memory plus the
       * page cache is the usual estimate there. */
      else if (strcmp (key, "MemFree") == 0 || strcmp (key, "Buffers") == 0 ||
               strcmp (key, "Cached") == 0)
        reclaimable += parse_size (value);
    }

  if (!have_available)
    info->mem_available_bytes = MIN (reclaimable, info->mem_total_bytes);

  return info->mem_total_bytes > 0;
}

static const KnownGpu *
find_known_gpu (guint vendor,
                guint device)
{
  for (guint i = 0; i < G_N_ELEMENTS (known_gpus); i++)
    {
      if (known_gpus[i].vendor == vendor && known_gpus[i].device == device)
        return &known_gpus[i];
    }

  return NULL;
}

/* The PCI slot names the physical device however many DRM nodes point at
 * it. Real sysfs links device to "../../../0000:01:00.0"; trees without
 * links still have PCI_SLOT_NAME in uevent. */
static char *
find_pci_slot (const char *device_dir)
{
  g_autofree char *target = g_file_read_link (device_dir, NULL);
  g_autofree char *uevent_path = NULL;
  g_autofree char *uevent = NULL;
  g_auto(GStrv) lines = NULL;

  if (target != NULL)
    return g_path_get_basename (target);

  uevent_path = g_build_filename (device_dir, "uevent", NULL);
  uevent = read_text (uevent_path);
  if (uevent == NULL)
    return NULL;

  lines = g_strsplit (uevent, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "PCI_SLOT_NAME="))
        return g_strdup (g_strstrip (lines[i] + strlen ("PCI_SLOT_NAME=")));
    }

  return NULL;
}

/* What the NVIDIA driver says about one GPU: its marketing name and, with
 * some driver versions, its memory. */
static void
read_nvidia_information (const char  *root,
                         const char  *slot,
                         char       **model,
                         guint64     *vram)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (slot == NULL)
    return;

  path = g_build_filename (root, "proc", "driver", "nvidia", "gpus", slot,
                           "information", NULL);
  text = read_text (path);
  if (text == NULL)
    return;

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *key, *value;

      if (!split_field (lines[i], &key, &value))
        continue;

      if (strcmp (key, "Model") == 0 && *value != '\0' && *model == NULL)
        *model = g_strdup (value);
      /* "FB Memory Usage" may also head a section with an empty value. */
      else if ((strcmp (key, "Video Memory") == 0 ||
                g_str_has_prefix (key, "FB Memory")) && parse_size (value) > 0)
        *vram = parse_size (value);
    }
}

/* Drivers spell the vendor into their names ("NVIDIA GeForce RTX 3060",
 * "AMD Radeon RX 7900 XTX"); the vendor is shown next to the model. */
static char *
strip_vendor (char       *model,
              const char *vendor_name)
{
  gsize len = strlen (vendor_name);

  if (g_ascii_strncasecmp (model, vendor_name, len) == 0 && model[len] == ' ')
    memmove (model, model + len + 1, strlen (model + len + 1) + 1);

  return g_strstrip (model);
}

static char *
read_model_file (const char *device_dir,
                 const char *name)
{
  g_autofree char *path = g_build_filename (device_dir, name, NULL);
  g_autofree char *text = read_text (path);

  if (text == NULL || *g_strstrip (text) == '\0')
    return NULL;

  return g_steal_pointer (&text);
}

/* Names, best first: what the NVIDIA driver says; amdgpu's product_name,
 * which comes from the board itself; our table; the firmware's slot label
 * ("Onboard IGD"), better than nothing; the bare PCI ids. */
static char *
find_model (const char     *device_dir,
            const KnownGpu *known,
            char           *nvidia_model,
            guint           vendor,
            guint           device)
{
  char *model = nvidia_model;

  if (model == NULL)
    model = read_model_file (device_dir, "product_name");
  if (model == NULL && known != NULL)
    model = g_strdup (known->name);
  if (model == NULL)
    model = read_model_file (device_dir, "label");
  if (model == NULL)
    model = g_strdup_printf ("PCI %04x:%04x", vendor, device);

  return model;
}

static void
set_vendor (RflGpuInfo *gpu,
            guint       vendor)
{
  switch (vendor)
    {
    case PCI_VENDOR_NVIDIA:
      gpu->vendor = RFL_GPU_VENDOR_NVIDIA;
      gpu->vendor_name = g_strdup ("NVIDIA");
      break;
    case PCI_VENDOR_AMD:
      gpu->vendor = RFL_GPU_VENDOR_AMD;
      gpu->vendor_name = g_strdup ("AMD");
      break;
    case PCI_VENDOR_INTEL:
      gpu->vendor = RFL_GPU_VENDOR_INTEL;
      gpu->vendor_name = g_strdup ("Intel");
      break;
    default:
      gpu->vendor = RFL_GPU_VENDOR_UNKNOWN;
      gpu->vendor_name = g_strdup_printf ("%04x", vendor);
      break;
    }
}

/* Reads one PCI display device, or NULL when @device_dir is not one (a
 * platform device, or no device at all). */
static RflGpuInfo *
probe_pci_gpu (const char *root,
               const char *device_dir)
{
  g_autoptr(RflGpuInfo) gpu = NULL;
  g_autofree char *vendor_path = g_build_filename (device_dir, "vendor", NULL);
  g_autofree char *device_path = g_build_filename (device_dir, "device", NULL);
  g_autofree char *vram_path = g_build_filename (device_dir, "mem_info_vram_total", NULL);
  const KnownGpu *known;
  char *nvidia_model = NULL;
  guint64 vendor, device = 0, vram = 0, reported = 0;

  if (!read_number (vendor_path, &vendor) || vendor > G_MAXUINT16)
    return NULL;
  read_number (device_path, &device);

  gpu = g_new0 (RflGpuInfo, 1);
  set_vendor (gpu, (guint) vendor);
  gpu->pci_slot = find_pci_slot (device_dir);
  known = find_known_gpu ((guint) vendor, (guint) device);
  gpu->integrated = known ? known->integrated : vendor == PCI_VENDOR_INTEL;

  if (vendor == PCI_VENDOR_NVIDIA)
    read_nvidia_information (root, gpu->pci_slot, &nvidia_model, &vram);
  gpu->model = strip_vendor (find_model (device_dir, known, nvidia_model,
                                         (guint) vendor, (guint) device),
                             gpu->vendor_name);

  /* amdgpu reports exact VRAM; the driver's own file comes first. */
  if (read_number (vram_path, &reported) && reported > 0)
    vram = reported;
  else if (vram == 0 && known != NULL)
    vram = known->vram_gib * GIB;
  /* An integrated GPU's carve-out is system memory, not memory of its own. */
  gpu->vram_bytes = gpu->integrated ? 0 : vram;

  return g_steal_pointer (&gpu);
}

static gboolean
has_slot (GPtrArray  *gpus,
          const char *slot)
{
  if (slot == NULL)
    return FALSE;

  for (guint i = 0; i < gpus->len; i++)
    {
      const RflGpuInfo *gpu = g_ptr_array_index (gpus, i);

      if (g_strcmp0 (gpu->pci_slot, slot) == 0)
        return TRUE;
    }

  return FALSE;
}

static void
add_gpu (GPtrArray  *gpus,
         RflGpuInfo *gpu)
{
  if (gpu == NULL)
    return;

  if (has_slot (gpus, gpu->pci_slot))
    rfl_gpu_info_free (gpu);
  else
    g_ptr_array_add (gpus, gpu);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Entries of @path, sorted so that card0 comes before card1 whatever order
 * the file system keeps. */
static GPtrArray *
list_dir_sorted (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return names;

  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));

  g_ptr_array_sort (names, compare_names);
  return names;
}

/* "card0" is a GPU; "card0-HDMI-A-1" is one of its connectors and
 * "renderD128" another node of the same GPU. */
static gboolean
is_card_name (const char *name)
{
  if (!g_str_has_prefix (name, "card") || name[4] == '\0')
    return FALSE;

  for (const char *p = name + 4; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
    }

  return TRUE;
}

static void
probe_drm_gpus (const char *root,
                GPtrArray  *gpus)
{
  g_autofree char *drm = g_build_filename (root, "sys", "class", "drm", NULL);
  g_autoptr(GPtrArray) names = list_dir_sorted (drm);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *device_dir = NULL;

      if (!is_card_name (name))
        continue;

      device_dir = g_build_filename (drm, name, "device", NULL);
      add_gpu (gpus, probe_pci_gpu (root, device_dir));
    }
}

/* Without nvidia-drm the proprietary driver creates no DRM card; its own
 * /proc directory still lists every GPU by slot. */
static void
probe_nvidia_gpus (const char *root,
                   GPtrArray  *gpus)
{
  g_autofree char *dir = g_build_filename (root, "proc", "driver", "nvidia",
                                           "gpus", NULL);
  g_autoptr(GPtrArray) slots = list_dir_sorted (dir);

  for (guint i = 0; i < slots->len; i++)
    {
      const char *slot = g_ptr_array_index (slots, i);
      g_autofree char *device_dir = NULL;
      RflGpuInfo *gpu;

      if (has_slot (gpus, slot))
        continue;

      device_dir = g_build_filename (root, "sys", "bus", "pci", "devices", slot, NULL);
      gpu = probe_pci_gpu (root, device_dir);
      if (gpu == NULL)
        {
          gpu = g_new0 (RflGpuInfo, 1);
          set_vendor (gpu, PCI_VENDOR_NVIDIA);
          read_nvidia_information (root, slot, &gpu->model, &gpu->vram_bytes);
          if (gpu->model == NULL)
            gpu->model = g_strdup ("GPU");
          strip_vendor (gpu->model, gpu->vendor_name);
        }
      g_free (gpu->pci_slot);
      gpu->pci_slot = g_strdup (slot);
      add_gpu (gpus, gpu);
    }
}

/* Free space where the data will live. The directory may not exist yet
 * (first run), so the nearest existing ancestor stands in for it. */
static guint64
measure_disk_free (const char *data_dir)
{
  g_autofree char *path = NULL;
  struct statvfs st;

  if (data_dir == NULL || *data_dir == '\0')
    return 0;

  path = g_canonicalize_filename (data_dir, NULL);
  while (statvfs (path, &st) != 0)
    {
      g_autofree char *parent = NULL;

      if ((errno != ENOENT && errno != ENOTDIR) || strcmp (path, "/") == 0)
        return 0;

      parent = g_path_get_dirname (path);
      g_free (path);
      path = g_steal_pointer (&parent);
    }

  return (guint64) st.f_bavail * st.f_frsize;
}

/* On a real system `ollama` is wherever PATH finds it; a test tree keeps a
 * fake one in its own usr/bin so the user's PATH plays no part. */
static char *
find_ollama (const char *root)
{
  g_autofree char *path = NULL;

  if (strcmp (root, "/") == 0)
    return g_find_program_in_path ("ollama");

  path = g_build_filename (root, "usr", "bin", "ollama", NULL);
  if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) &&
      !g_file_test (path, G_FILE_TEST_IS_DIR))
    return g_steal_pointer (&path);

  return NULL;
}

RflSysinfo *
rfl_sysinfo_probe (const char  *root,
                   const char  *data_dir,
                   GError     **error)
{
  g_autoptr(RflSysinfo) info = NULL;
  g_autofree char *cpuinfo = NULL;
  g_autofree char *meminfo = NULL;

  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  cpuinfo = read_proc_file (root, "cpuinfo", error);
  if (cpuinfo == NULL)
    return NULL;
  meminfo = read_proc_file (root, "meminfo", error);
  if (meminfo == NULL)
    return NULL;

  info = g_new0 (RflSysinfo, 1);
  info->gpus = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_gpu_info_free);
  parse_cpuinfo (info, cpuinfo);
  if (!parse_meminfo (info, meminfo))
    {
      g_autofree char *path = g_build_filename (root, "proc", "meminfo", NULL);

      g_set_error (error, RFL_ERROR, RFL_ERROR_FAILED,
                   /* Translators: %s is a file name, normally /proc/meminfo. */
                   _("The memory information in “%s” does not give the total memory"),
                   path);
      return NULL;
    }

  probe_drm_gpus (root, info->gpus);
  probe_nvidia_gpus (root, info->gpus);
  info->disk_free_bytes = measure_disk_free (data_dir);
  info->ollama_path = find_ollama (root);

  return g_steal_pointer (&info);
}

typedef struct
{
  char *root;
  char *data_dir;
} ProbeData;

static void
probe_data_free (ProbeData *data)
{
  g_free (data->root);
  g_free (data->data_dir);
  g_free (data);
}

static void
probe_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  ProbeData *data = task_data;
  GError *error = NULL;
  RflSysinfo *info;

  if (g_task_return_error_if_cancelled (task))
    return;

  info = rfl_sysinfo_probe (data->root, data->data_dir, &error);
  if (info == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, info, (GDestroyNotify) rfl_sysinfo_free);
}

void
rfl_sysinfo_probe_async (const char          *root,
                         const char          *data_dir,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ProbeData *data;

  g_return_if_fail (root != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (ProbeData, 1);
  data->root = g_strdup (root);
  data->data_dir = g_strdup (data_dir);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_sysinfo_probe_async);
  g_task_set_task_data (task, data, (GDestroyNotify) probe_data_free);
  g_task_run_in_thread (task, probe_worker);
}

RflSysinfo *
rfl_sysinfo_probe_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rfl_sysinfo_probe_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The dedicated GPU with the most memory; the first dedicated one when
 * none reports its memory; NULL when there is no dedicated GPU. */
static const RflGpuInfo *
find_best_gpu (const RflSysinfo *info)
{
  const RflGpuInfo *best = NULL;

  if (info->gpus == NULL)
    return NULL;

  for (guint i = 0; i < info->gpus->len; i++)
    {
      const RflGpuInfo *gpu = g_ptr_array_index (info->gpus, i);

      if (gpu->integrated)
        continue;
      if (best == NULL || gpu->vram_bytes > best->vram_bytes)
        best = gpu;
    }

  return best;
}

guint64
rfl_sysinfo_get_best_vram (const RflSysinfo *info)
{
  const RflGpuInfo *best;

  g_return_val_if_fail (info != NULL, 0);

  best = find_best_gpu (info);
  return best != NULL ? best->vram_bytes : 0;
}

/* Memory as it is sold. The kernel and firmware keep up to a few percent
 * of the RAM (a 64 GiB machine reports 62.7 GiB) and drivers report VRAM a
 * few MiB short, so sizes round up to a step of about a tenth of their
 * value: whole GiB below 16, then 2, 4, 8 GiB and so on. */
static double
installed_gib (guint64 bytes)
{
  double gib = (double) bytes / GIB;
  double step = 1;

  if (gib < 1.0)
    return gib;

  while (step * 16 <= gib)
    step *= 2;

  return ceil (gib / step - 0.001) * step;
}

char *
rfl_sysinfo_format_memory (guint64 bytes)
{
  double gib = installed_gib (bytes);

  if (gib < 1.0)
    /* Translators: a memory size in megabytes. */
    return g_strdup_printf (_("%u MB"), (guint) (bytes / (1024 * 1024)));

  /* Translators: a memory size in gigabytes, e.g. "16 GB". */
  return g_strdup_printf (_("%u GB"), (guint) gib);
}

static char *
dup_gpu_name (const RflGpuInfo *gpu)
{
  /* An unknown vendor's name is a bare PCI id, which the model repeats. */
  if (gpu->vendor == RFL_GPU_VENDOR_UNKNOWN)
    return g_strdup (gpu->model);

  return g_strdup_printf ("%s %s", gpu->vendor_name, gpu->model);
}

/* How the class was reached, for the reason text. */
typedef enum
{
  BASIS_GPU,           /* the model runs in a dedicated GPU's memory */
  BASIS_NO_GPU,        /* no dedicated GPU: system memory */
  BASIS_GPU_UNKNOWN,   /* a dedicated GPU that does not report its memory */
  BASIS_GPU_TOO_SMALL, /* a dedicated GPU with less than 4 GiB */
  BASIS_FEW_CORES,     /* system memory, capped by the processor */
} Basis;

static RflModelClass
class_for_memory (double gib)
{
  if (gib < 6)
    return RFL_MODEL_CLASS_TINY;
  if (gib < 12)
    return RFL_MODEL_CLASS_SMALL;
  if (gib < 24)
    return RFL_MODEL_CLASS_MEDIUM;
  if (gib < 48)
    return RFL_MODEL_CLASS_LARGE;
  return RFL_MODEL_CLASS_XLARGE;
}

static char *
format_reason (const RflSysinfo *info,
               RflModelClass     model_class,
               Basis             basis,
               const RflGpuInfo *gpu)
{
  const char *title = rfl_model_class_get_title (model_class);
  g_autofree char *memory = rfl_sysinfo_format_memory (info->mem_total_bytes);
  g_autofree char *gpu_name = gpu ? dup_gpu_name (gpu) : NULL;
  g_autofree char *vram = gpu ? rfl_sysinfo_format_memory (gpu->vram_bytes) : NULL;
  guint cores = info->cpu_cores > 0 ? info->cpu_cores : info->cpu_threads;

  switch (basis)
    {
    case BASIS_GPU:
      /* Translators: "7–8B models: 16 GB of memory and 8 GB of video memory
       * on the NVIDIA GeForce RTX 3070". */
      return g_strdup_printf (_("%s: %s of memory and %s of video memory on the %s"),
                              title, memory, vram, gpu_name);
    case BASIS_GPU_UNKNOWN:
      /* Translators: the model class, the system memory, the GPU's name. */
      return g_strdup_printf (_("%s: %s of memory; the %s does not report its video memory"),
                              title, memory, gpu_name);
    case BASIS_GPU_TOO_SMALL:
      /* Translators: the model class, the system memory, the GPU's name
       * and its memory: "…; the NVIDIA GeForce GTX 1050 has only 2 GB of
       * video memory". */
      return g_strdup_printf (_("%s: %s of memory; the %s has only %s of video memory"),
                              title, memory, gpu_name, vram);
    case BASIS_FEW_CORES:
      /* Translators: the model class, the system memory, a core count. */
      return g_strdup_printf (ngettext ("%s: %s of memory, but only %u processor core",
                                        "%s: %s of memory, but only %u processor cores",
                                        cores),
                              title, memory, cores);
    case BASIS_NO_GPU:
    default:
      if (model_class == RFL_MODEL_CLASS_TINY)
        /* Translators: the model class and the system memory: "1–3B
         * models: only 4 GB of memory and no dedicated GPU". */
        return g_strdup_printf (_("%s: only %s of memory and no dedicated GPU"),
                                title, memory);
      /* Translators: the model class and the system memory. */
      return g_strdup_printf (_("%s: %s of memory and no dedicated GPU"), title, memory);
    }
}

/* The rules:
 *
 * - A model runs fast only when it fits in one GPU's memory. A dedicated
 *   GPU with at least 4 GiB therefore sets the size on its own, even when
 *   the system has more RAM: a larger model spilling into RAM runs at CPU
 *   speed.
 * - Otherwise the model runs on the processor from system memory (an
 *   integrated GPU shares that memory too). The system, the desktop and
 *   the application need their part, so 60 % of the RAM is counted.
 * - By usable memory: under 6 GiB 1–3B, under 12 GiB 7–8B, under 24 GiB
 *   13–14B, under 48 GiB 30–34B, else 70B.
 * - On the processor with fewer than 4 cores, a model larger than 7–8B
 *   answers too slowly to be pleasant whatever the memory, so the class
 *   stops at 7–8B.
 */
RflModelClass
rfl_sysinfo_recommend (const RflSysinfo  *info,
                       char             **reason)
{
  const RflGpuInfo *gpu;
  RflModelClass model_class;
  Basis basis;
  guint cores;

  g_return_val_if_fail (info != NULL, RFL_MODEL_CLASS_TINY);

  gpu = find_best_gpu (info);
  cores = info->cpu_cores > 0 ? info->cpu_cores : info->cpu_threads;

  if (gpu != NULL && gpu->vram_bytes >= 4 * GIB)
    {
      basis = BASIS_GPU;
      model_class = class_for_memory (installed_gib (gpu->vram_bytes));
    }
  else
    {
      basis = gpu == NULL ? BASIS_NO_GPU
              : gpu->vram_bytes == 0 ? BASIS_GPU_UNKNOWN
              : BASIS_GPU_TOO_SMALL;
      model_class = class_for_memory (installed_gib (info->mem_total_bytes) * 0.6);
      if (cores < 4 && model_class > RFL_MODEL_CLASS_SMALL)
        {
          basis = BASIS_FEW_CORES;
          model_class = RFL_MODEL_CLASS_SMALL;
        }
    }

  if (reason != NULL)
    *reason = format_reason (info, model_class, basis, gpu);

  return model_class;
}

const char *
rfl_model_class_get_title (RflModelClass model_class)
{
  static const char * const titles[] = {
    /* Translators: model sizes in billions (B) of parameters. */
    [RFL_MODEL_CLASS_TINY] = N_("1–3B models"),
    [RFL_MODEL_CLASS_SMALL] = N_("7–8B models"),
    [RFL_MODEL_CLASS_MEDIUM] = N_("13–14B models"),
    [RFL_MODEL_CLASS_LARGE] = N_("30–34B models"),
    [RFL_MODEL_CLASS_XLARGE] = N_("70B models"),
  };

  g_return_val_if_fail ((guint) model_class < G_N_ELEMENTS (titles), NULL);

  return _(titles[model_class]);
}

const char *
rfl_model_class_get_example (RflModelClass model_class)
{
  static const char * const examples[] = {
    [RFL_MODEL_CLASS_TINY] = "llama3.2:3b",
    [RFL_MODEL_CLASS_SMALL] = "llama3.1:8b",
    [RFL_MODEL_CLASS_MEDIUM] = "qwen2.5:14b",
    [RFL_MODEL_CLASS_LARGE] = "qwen2.5:32b",
    [RFL_MODEL_CLASS_XLARGE] = "llama3.3:70b",
  };

  g_return_val_if_fail ((guint) model_class < G_N_ELEMENTS (examples), NULL);

  return examples[model_class];
}
