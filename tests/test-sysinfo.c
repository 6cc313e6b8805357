/* test-sysinfo.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "core/rfl-error.h"
#include "sysinfo/rfl-sysinfo.h"

#define GIB (G_GUINT64_CONSTANT (1024) * 1024 * 1024)
#define KIB G_GUINT64_CONSTANT (1024)

static char *
tree_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "sysinfo", name, NULL);
}

static RflSysinfo *
probe_tree (const char *name)
{
  g_autofree char *root = tree_path (name);
  g_autoptr(GError) error = NULL;
  RflSysinfo *info;

  info = rfl_sysinfo_probe (root, g_get_tmp_dir (), &error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_nonnull (info->gpus);
  return info;
}

static const RflGpuInfo *
get_gpu (const RflSysinfo *info,
         guint             index)
{
  g_assert_cmpuint (index, <, info->gpus->len);
  return g_ptr_array_index (info->gpus, index);
}

#define assert_contains(haystack, needle)                                \
  G_STMT_START {                                                         \
    if (strstr ((haystack), (needle)) == NULL)                           \
      g_error ("“%s” does not contain “%s”", (haystack), (needle));     \
  } G_STMT_END

static void
assert_recommends (const RflSysinfo *info,
                   RflModelClass     expected,
                   char            **reason)
{
  RflModelClass model_class = rfl_sysinfo_recommend (info, reason);

  g_assert_cmpint (model_class, ==, expected);
  g_assert_nonnull (*reason);
  g_assert_true (g_str_has_prefix (*reason, rfl_model_class_get_title (expected)));
}

static void
test_no_gpu (void)
{
  g_autoptr(RflSysinfo) info = probe_tree ("no-gpu");
  g_autofree char *reason = NULL;

  g_assert_cmpstr (info->cpu_model, ==, "AMD Ryzen 7 5800X 8-Core Processor");
  g_assert_cmpuint (info->cpu_cores, ==, 8);
  g_assert_cmpuint (info->cpu_threads, ==, 16);
  g_assert_cmpuint (info->mem_total_bytes, ==, 32795880 * KIB);
  g_assert_cmpuint (info->mem_available_bytes, ==, 28930140 * KIB);
  g_assert_cmpuint (info->gpus->len, ==, 0);
  g_assert_cmpuint (rfl_sysinfo_get_best_vram (info), ==, 0);
  g_assert_null (info->ollama_path);
  g_assert_cmpuint (info->disk_free_bytes, >, 0);

  /* 32 GB × 0.6 = 19.2 GB for the processor. */
  assert_recommends (info, RFL_MODEL_CLASS_MEDIUM, &reason);
  assert_contains (reason, "32 GB");
  assert_contains (reason, "no dedicated GPU");
}

static void
test_nvidia (void)
{
  g_autoptr(RflSysinfo) info = probe_tree ("nvidia");
  g_autofree char *reason = NULL;
  const RflGpuInfo *gpu;

  g_assert_cmpstr (info->cpu_model, ==, "12th Gen Intel(R) Core(TM) i5-12400F");
  g_assert_cmpuint (info->cpu_cores, ==, 6);
  g_assert_cmpuint (info->cpu_threads, ==, 12);
  g_assert_cmpuint (info->mem_total_bytes, ==, 16318412 * KIB);
  g_assert_cmpuint (info->mem_available_bytes, ==, 13107980 * KIB);
  g_assert_null (info->ollama_path);

  /* card0 and the driver's /proc entry name the same slot; renderD128 and
   * the connectors are not GPUs of their own. */
  g_assert_cmpuint (info->gpus->len, ==, 1);
  gpu = get_gpu (info, 0);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_NVIDIA);
  g_assert_cmpstr (gpu->vendor_name, ==, "NVIDIA");
  g_assert_cmpstr (gpu->model, ==, "GeForce RTX 3060");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:01:00.0");
  /* "Video Memory: 12288 MB" wins over the table's smaller variant. */
  g_assert_cmpuint (gpu->vram_bytes, ==, 12 * GIB);
  g_assert_false (gpu->integrated);
  g_assert_cmpuint (rfl_sysinfo_get_best_vram (info), ==, 12 * GIB);

  assert_recommends (info, RFL_MODEL_CLASS_MEDIUM, &reason);
  assert_contains (reason, "16 GB");
  assert_contains (reason, "12 GB");
  assert_contains (reason, "NVIDIA GeForce RTX 3060");
}

static void
test_amd (void)
{
  g_autoptr(RflSysinfo) info = probe_tree ("amd");
  g_autofree char *reason = NULL;
  const RflGpuInfo *gpu;

  g_assert_cmpstr (info->cpu_model, ==, "AMD Ryzen 9 7950X 16-Core Processor");
  g_assert_cmpuint (info->cpu_cores, ==, 16);
  g_assert_cmpuint (info->cpu_threads, ==, 32);
  g_assert_cmpuint (info->mem_total_bytes, ==, 65763124 * KIB);

  g_assert_cmpuint (info->gpus->len, ==, 1);
  gpu = get_gpu (info, 0);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_AMD);
  g_assert_cmpstr (gpu->vendor_name, ==, "AMD");
  /* product_name ("AMD Radeon RX 7900 XTX") beats the table and the slot
   * label, and loses its vendor prefix. */
  g_assert_cmpstr (gpu->model, ==, "Radeon RX 7900 XTX");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:03:00.0");
  g_assert_cmpuint (gpu->vram_bytes, ==, G_GUINT64_CONSTANT (25753026560));
  g_assert_false (gpu->integrated);

  /* The driver reports 23.98 GiB: that is the 24 GB card. */
  assert_recommends (info, RFL_MODEL_CLASS_LARGE, &reason);
  assert_contains (reason, "64 GB");
  assert_contains (reason, "24 GB");
  assert_contains (reason, "AMD Radeon RX 7900 XTX");
}

static void
test_intel (void)
{
  g_autoptr(RflSysinfo) info = probe_tree ("intel");
  g_autofree char *reason = NULL;
  const RflGpuInfo *gpu;

  g_assert_cmpstr (info->cpu_model, ==, "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz");
  g_assert_cmpuint (info->cpu_cores, ==, 4);
  g_assert_cmpuint (info->cpu_threads, ==, 8);
  g_assert_cmpuint (info->mem_total_bytes, ==, 16091816 * KIB);

  g_assert_cmpuint (info->gpus->len, ==, 1);
  gpu = get_gpu (info, 0);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_INTEL);
  g_assert_cmpstr (gpu->vendor_name, ==, "Intel");
  g_assert_cmpstr (gpu->model, ==, "Iris Xe Graphics");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:00:02.0");
  g_assert_cmpuint (gpu->vram_bytes, ==, 0);
  g_assert_true (gpu->integrated);
  g_assert_cmpuint (rfl_sysinfo_get_best_vram (info), ==, 0);
  g_assert_null (info->ollama_path);

  /* 16 GB × 0.6 = 9.6 GB: the integrated GPU adds nothing. */
  assert_recommends (info, RFL_MODEL_CLASS_SMALL, &reason);
  assert_contains (reason, "16 GB");
  assert_contains (reason, "no dedicated GPU");
}

static void
test_laptop_4g (void)
{
  g_autoptr(RflSysinfo) info = probe_tree ("laptop-4g");
  g_autofree char *root = tree_path ("laptop-4g");
  g_autofree char *ollama = g_build_filename (root, "usr", "bin", "ollama", NULL);
  g_autofree char *reason = NULL;
  const RflGpuInfo *gpu;

  g_assert_cmpstr (info->cpu_model, ==, "Intel(R) Core(TM) i3-8145U CPU @ 2.10GHz");
  g_assert_cmpuint (info->cpu_cores, ==, 2);
  g_assert_cmpuint (info->cpu_threads, ==, 4);
  g_assert_cmpuint (info->mem_total_bytes, ==, 3880404 * KIB);
  g_assert_cmpuint (info->mem_available_bytes, ==, 1638400 * KIB);

  g_assert_cmpuint (info->gpus->len, ==, 1);
  gpu = get_gpu (info, 0);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_INTEL);
  g_assert_cmpstr (gpu->model, ==, "UHD Graphics 620");
  g_assert_cmpuint (gpu->vram_bytes, ==, 0);
  g_assert_true (gpu->integrated);

  g_assert_cmpstr (info->ollama_path, ==, ollama);

  assert_recommends (info, RFL_MODEL_CLASS_TINY, &reason);
  assert_contains (reason, "only 4 GB");
  assert_contains (reason, "no dedicated GPU");
  g_assert_cmpstr (rfl_model_class_get_example (RFL_MODEL_CLASS_TINY), ==, "llama3.2:3b");
}

static void
test_arm_server (void)
{
  g_autoptr(RflSysinfo) info = probe_tree ("arm-server");
  g_autofree char *reason = NULL;
  const RflGpuInfo *gpu;

  /* arm64 names no model and no cores: each processor counts as a core. */
  g_assert_null (info->cpu_model);
  g_assert_cmpuint (info->cpu_cores, ==, 16);
  g_assert_cmpuint (info->cpu_threads, ==, 16);
  g_assert_cmpuint (info->mem_total_bytes, ==, 131450776 * KIB);

  g_assert_cmpuint (info->gpus->len, ==, 2);
  gpu = get_gpu (info, 0);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_UNKNOWN);
  g_assert_cmpstr (gpu->vendor_name, ==, "1a03");
  g_assert_cmpstr (gpu->model, ==, "PCI 1a03:2000");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:04:00.0");
  g_assert_cmpuint (gpu->vram_bytes, ==, 0);
  g_assert_false (gpu->integrated);

  /* No DRM card and no memory in the driver's file: found through
   * /proc/driver/nvidia, its memory from the table of known GPUs. */
  gpu = get_gpu (info, 1);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_NVIDIA);
  g_assert_cmpstr (gpu->model, ==, "GeForce RTX 4090");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:01:00.0");
  g_assert_cmpuint (gpu->vram_bytes, ==, 24 * GIB);
  g_assert_cmpuint (rfl_sysinfo_get_best_vram (info), ==, 24 * GIB);

  assert_recommends (info, RFL_MODEL_CLASS_LARGE, &reason);
  assert_contains (reason, "128 GB");
  assert_contains (reason, "24 GB");
  assert_contains (reason, "NVIDIA GeForce RTX 4090");
}

/* Writes @contents to @relative under @root, creating what is missing. */
static void
write_file (const char *root,
            const char *relative,
            const char *contents)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* A root in the test's own cache directory, which GLib removes after the
 * run, holding only the given proc files. */
static char *
make_root (const char *name,
           const char *cpuinfo,
           const char *meminfo)
{
  char *root = g_build_filename (g_get_user_cache_dir (), name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  if (cpuinfo != NULL)
    write_file (root, "proc/cpuinfo", cpuinfo);
  if (meminfo != NULL)
    write_file (root, "proc/meminfo", meminfo);

  return root;
}

static const char two_sockets[] =
  "processor\t: 0\nmodel name\t: Test CPU\nphysical id\t: 0\ncpu cores\t: 2\n\n"
  "processor\t: 1\nmodel name\t: Test CPU\nphysical id\t: 0\ncpu cores\t: 2\n\n"
  "processor\t: 2\nmodel name\t: Test CPU\nphysical id\t: 1\ncpu cores\t: 2\n\n"
  "processor\t: 3\nmodel name\t: Test CPU\nphysical id\t: 1\ncpu cores\t: 2\n\n";

static void
test_missing_cpuinfo (void)
{
  g_autofree char *root = make_root ("no-cpuinfo", NULL, "MemTotal: 1024 kB\n");
  g_autoptr(GError) error = NULL;
  RflSysinfo *info = rfl_sysinfo_probe (root, NULL, &error);

  g_assert_null (info);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  assert_contains (error->message, "proc/cpuinfo");
  assert_contains (error->message, "processor");
}

static void
test_missing_meminfo (void)
{
  g_autofree char *root = make_root ("no-meminfo", two_sockets, NULL);
  g_autoptr(GError) error = NULL;
  RflSysinfo *info = rfl_sysinfo_probe (root, NULL, &error);

  g_assert_null (info);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  assert_contains (error->message, "proc/meminfo");
  g_clear_error (&error);

  /* A meminfo without its total is as useless as none. */
  g_free (root);
  root = make_root ("no-memtotal", two_sockets, "MemFree: 1024 kB\n");
  info = rfl_sysinfo_probe (root, NULL, &error);
  g_assert_null (info);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  assert_contains (error->message, "proc/meminfo");
}

static void
test_fallbacks (void)
{
  g_autofree char *root = make_root ("fallbacks", two_sockets,
                                     "MemTotal:  8000000 kB\n"
                                     "MemFree:   1000000 kB\n"
                                     "Buffers:    100000 kB\n"
                                     "Cached:    2000000 kB\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSysinfo) info = rfl_sysinfo_probe (root, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (info->cpu_model, ==, "Test CPU");
  /* No core ids: "cpu cores" times the two sockets. */
  g_assert_cmpuint (info->cpu_cores, ==, 4);
  g_assert_cmpuint (info->cpu_threads, ==, 4);
  g_assert_cmpuint (info->mem_total_bytes, ==, 8000000 * KIB);
  /* No MemAvailable (kernels before 3.14): free plus buffers and cache. */
  g_assert_cmpuint (info->mem_available_bytes, ==, 3100000 * KIB);
  /* No sys/, no data directory: nothing to report, and no error. */
  g_assert_cmpuint (info->gpus->len, ==, 0);
  g_assert_cmpuint (info->disk_free_bytes, ==, 0);
  g_assert_null (info->ollama_path);
}

/* DRM nodes as real sysfs has them: several cards, render nodes,
 * connectors, platform devices and device links. */
static void
write_pci_device (const char *root,
                  const char *dir,
                  const char *vendor,
                  const char *device,
                  const char *slot)
{
  g_autofree char *vendor_path = g_build_filename (dir, "vendor", NULL);
  g_autofree char *device_path = g_build_filename (dir, "device", NULL);

  write_file (root, vendor_path, vendor);
  write_file (root, device_path, device);
  if (slot != NULL)
    {
      g_autofree char *uevent_path = g_build_filename (dir, "uevent", NULL);
      g_autofree char *uevent = g_strdup_printf ("DRIVER=x\nPCI_SLOT_NAME=%s\n", slot);

      write_file (root, uevent_path, uevent);
    }
}

static void
link_device (const char *root,
             const char *card,
             const char *target)
{
  g_autofree char *dir = g_build_filename (root, "sys", "class", "drm", card, NULL);
  g_autofree char *link = g_build_filename (dir, "device", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);
}

static void
test_drm_nodes (void)
{
  g_autofree char *root = make_root ("drm", two_sockets, "MemTotal: 16318412 kB\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSysinfo) info = NULL;
  const RflGpuInfo *gpu;

  /* An iGPU whose driver reports its stolen memory as VRAM. */
  write_pci_device (root, "sys/class/drm/card0/device", "0x8086", "0x9a49", "0000:00:02.0");
  write_file (root, "sys/class/drm/card0/device/mem_info_vram_total", "134217728\n");
  /* Two cards on one slot count once. */
  write_pci_device (root, "sys/class/drm/card1/device", "0x10de", "0x2684", "0000:01:00.0");
  write_pci_device (root, "sys/class/drm/card2/device", "0x10de", "0x2684", "0000:01:00.0");
  /* The driver's figure beats the table; a section heading with no value
   * does not erase it. */
  write_file (root, "proc/driver/nvidia/gpus/0000:01:00.0/information",
              "Model: \t\t NVIDIA GeForce RTX 4090 D\n"
              "Video Memory: \t 24564 MiB\n"
              "FB Memory Usage:\n");
  /* Not cards, whatever their device says. */
  write_pci_device (root, "sys/class/drm/renderD128/device", "0x1002", "0x73ff", "0000:08:00.0");
  write_pci_device (root, "sys/class/drm/card1-DP-1/device", "0x1002", "0x73ff", "0000:09:00.0");
  write_pci_device (root, "sys/class/drm/card/device", "0x1002", "0x73ff", "0000:0a:00.0");
  /* A platform display (simpledrm) has no PCI ids. */
  write_file (root, "sys/class/drm/card3/device/uevent", "DRIVER=simple-framebuffer\n");
  /* Real sysfs: the slot is the name the device link points at. */
  write_pci_device (root, "sys/devices/pci0000:00/0000:05:00.0", "0x1002", "0x73bf", NULL);
  write_file (root, "sys/devices/pci0000:00/0000:05:00.0/mem_info_vram_total", "17163091968\n");
  link_device (root, "card4", "../../../devices/pci0000:00/0000:05:00.0");
  link_device (root, "card5", "../../../devices/pci0000:00/0000:05:00.0");

  info = rfl_sysinfo_probe (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info->gpus->len, ==, 3);

  gpu = get_gpu (info, 0);
  g_assert_cmpstr (gpu->model, ==, "Iris Xe Graphics");
  g_assert_true (gpu->integrated);
  g_assert_cmpuint (gpu->vram_bytes, ==, 0);

  gpu = get_gpu (info, 1);
  g_assert_cmpstr (gpu->model, ==, "GeForce RTX 4090 D");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:01:00.0");
  g_assert_cmpuint (gpu->vram_bytes, ==, G_GUINT64_CONSTANT (24564) * 1024 * 1024);

  gpu = get_gpu (info, 2);
  g_assert_cmpint (gpu->vendor, ==, RFL_GPU_VENDOR_AMD);
  g_assert_cmpstr (gpu->model, ==, "Radeon RX 6800/6900 XT");
  g_assert_cmpstr (gpu->pci_slot, ==, "0000:05:00.0");
  g_assert_cmpuint (gpu->vram_bytes, ==, G_GUINT64_CONSTANT (17163091968));
  g_assert_false (gpu->integrated);

  g_assert_cmpuint (rfl_sysinfo_get_best_vram (info), ==,
                    G_GUINT64_CONSTANT (24564) * 1024 * 1024);
}

static void
test_real_machine (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSysinfo) info = NULL;
  g_autofree char *reason = NULL;
  RflModelClass model_class;

  if (!g_file_test ("/proc/cpuinfo", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("No /proc on this system");
      return;
    }

  info = rfl_sysinfo_probe ("/", g_get_tmp_dir (), &error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_cmpuint (info->cpu_threads, >=, 1);
  g_assert_cmpuint (info->cpu_cores, >=, 1);
  g_assert_cmpuint (info->cpu_cores, <=, info->cpu_threads);
  g_assert_cmpuint (info->mem_total_bytes, >, 0);
  g_assert_cmpuint (info->mem_available_bytes, <=, info->mem_total_bytes);
  g_assert_cmpuint (info->disk_free_bytes, >, 0);
  if (info->ollama_path != NULL)
    g_assert_true (g_path_is_absolute (info->ollama_path));

  model_class = rfl_sysinfo_recommend (info, &reason);
  g_assert_cmpint (model_class, >=, RFL_MODEL_CLASS_TINY);
  g_assert_cmpint (model_class, <=, RFL_MODEL_CLASS_XLARGE);
  g_assert_true (g_str_has_prefix (reason, rfl_model_class_get_title (model_class)));
  g_test_message ("%s", reason);
}

static void
probe_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (source);
  *out = g_object_ref (result);
}

static RflSysinfo *
probe_and_wait (const char    *root,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  rfl_sysinfo_probe_async (root, g_get_tmp_dir (), cancellable, probe_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return rfl_sysinfo_probe_finish (result, error);
}

static void
test_async (void)
{
  g_autofree char *root = tree_path ("amd");
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSysinfo) expected = probe_tree ("amd");
  g_autoptr(RflSysinfo) info = probe_and_wait (root, NULL, &error);
  const RflGpuInfo *gpu;

  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->cpu_model, ==, expected->cpu_model);
  g_assert_cmpuint (info->cpu_cores, ==, expected->cpu_cores);
  g_assert_cmpuint (info->cpu_threads, ==, expected->cpu_threads);
  g_assert_cmpuint (info->mem_total_bytes, ==, expected->mem_total_bytes);
  g_assert_cmpuint (info->gpus->len, ==, 1);
  gpu = get_gpu (info, 0);
  g_assert_cmpstr (gpu->model, ==, "Radeon RX 7900 XTX");
  g_assert_cmpuint (info->disk_free_bytes, >, 0);
}

static void
test_async_error (void)
{
  g_autofree char *root = make_root ("empty", NULL, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  RflSysinfo *info;

  info = probe_and_wait (root, NULL, &error);
  g_assert_null (info);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_FAILED);
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  info = probe_and_wait (root, cancellable, &error);
  g_assert_null (info);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_disk_free (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = make_root ("disk", NULL, NULL);
  g_autofree char *missing = NULL;
  g_autofree char *root = tree_path ("no-gpu");
  g_autoptr(RflSysinfo) here = NULL;
  g_autoptr(RflSysinfo) later = NULL;

  g_assert_no_error (error);
  missing = g_build_filename (tmp, "not", "yet", "there", NULL);

  here = rfl_sysinfo_probe (root, tmp, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (here->disk_free_bytes, >, 0);

  later = rfl_sysinfo_probe (root, missing, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (later->disk_free_bytes, >, 0);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
}

static void
free_gpu (gpointer data)
{
  RflGpuInfo *gpu = data;

  g_free (gpu->vendor_name);
  g_free (gpu->model);
  g_free (gpu->pci_slot);
  g_free (gpu);
}

/* A machine made up for the recommendation rules alone. */
static RflSysinfo *
make_machine (guint   cores,
              guint64 ram_gib,
              guint64 vram_mib,
              gboolean with_gpu)
{
  RflSysinfo *info = g_new0 (RflSysinfo, 1);

  info->cpu_cores = cores;
  info->cpu_threads = cores * 2;
  info->mem_total_bytes = ram_gib * GIB;
  info->gpus = g_ptr_array_new_with_free_func (free_gpu);

  if (with_gpu)
    {
      RflGpuInfo *gpu = g_new0 (RflGpuInfo, 1);

      gpu->vendor = RFL_GPU_VENDOR_NVIDIA;
      gpu->vendor_name = g_strdup ("NVIDIA");
      gpu->model = g_strdup ("GeForce RTX 3070");
      gpu->vram_bytes = vram_mib * 1024 * 1024;
      g_ptr_array_add (info->gpus, gpu);
    }

  return info;
}

static void
test_recommend_rules (void)
{
  struct {
    guint cores;
    guint64 ram_gib;
    guint64 vram_mib;
    gboolean with_gpu;
    RflModelClass expected;
    const char *mentions;
  } cases[] = {
    /* The GPU alone decides once it has 4 GB, whatever the RAM. */
    { 8, 64, 8192, TRUE, RFL_MODEL_CLASS_SMALL,
      "64 GB of memory and 8 GB of video memory on the NVIDIA GeForce RTX 3070" },
    { 8, 8, 4096, TRUE, RFL_MODEL_CLASS_TINY, "and 4 GB of video memory on the" },
    { 8, 8, 6144, TRUE, RFL_MODEL_CLASS_SMALL, "6 GB" },
    { 8, 8, 24576, TRUE, RFL_MODEL_CLASS_LARGE, "24 GB" },
    { 8, 8, 49152, TRUE, RFL_MODEL_CLASS_XLARGE, "48 GB" },
    /* Too small or silent GPUs leave 60 % of the RAM. */
    { 8, 16, 2048, TRUE, RFL_MODEL_CLASS_SMALL, "only 2 GB of video memory" },
    { 8, 16, 0, TRUE, RFL_MODEL_CLASS_SMALL, "does not report its video memory" },
    { 8, 8, 0, FALSE, RFL_MODEL_CLASS_TINY, "only 8 GB of memory" },
    { 8, 20, 0, FALSE, RFL_MODEL_CLASS_MEDIUM, "20 GB of memory" },
    { 8, 80, 0, FALSE, RFL_MODEL_CLASS_XLARGE, "80 GB of memory" },
    /* Few cores cap the processor at 7–8B... */
    { 2, 32, 0, FALSE, RFL_MODEL_CLASS_SMALL, "only 2 processor cores" },
    { 1, 64, 0, FALSE, RFL_MODEL_CLASS_SMALL, "only 1 processor core" },
    /* ...but not a GPU that holds the model. */
    { 2, 32, 16384, TRUE, RFL_MODEL_CLASS_MEDIUM, "16 GB of video memory" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(RflSysinfo) info = make_machine (cases[i].cores, cases[i].ram_gib,
                                                 cases[i].vram_mib, cases[i].with_gpu);
      g_autofree char *reason = NULL;

      g_test_message ("case %u", i);
      assert_recommends (info, cases[i].expected, &reason);
      assert_contains (reason, cases[i].mentions);
    }

  /* The reason is optional. */
  {
    g_autoptr(RflSysinfo) info = make_machine (8, 32, 0, FALSE);

    g_assert_cmpint (rfl_sysinfo_recommend (info, NULL), ==, RFL_MODEL_CLASS_MEDIUM);
  }
}

static void
test_integrated_ignored (void)
{
  g_autoptr(RflSysinfo) info = make_machine (8, 16, 8192, TRUE);
  g_autofree char *reason = NULL;
  RflGpuInfo *gpu = g_ptr_array_index (info->gpus, 0);

  /* Whatever an integrated GPU reports, its memory is the system's. */
  gpu->integrated = TRUE;
  g_assert_cmpuint (rfl_sysinfo_get_best_vram (info), ==, 0);
  assert_recommends (info, RFL_MODEL_CLASS_SMALL, &reason);
  assert_contains (reason, "no dedicated GPU");
}

static void
test_titles (void)
{
  static const struct {
    RflModelClass model_class;
    const char *title;
    const char *example;
  } expected[] = {
    { RFL_MODEL_CLASS_TINY, "1–3B models", "llama3.2:3b" },
    { RFL_MODEL_CLASS_SMALL, "7–8B models", "llama3.1:8b" },
    { RFL_MODEL_CLASS_MEDIUM, "13–14B models", "qwen2.5:14b" },
    { RFL_MODEL_CLASS_LARGE, "30–34B models", "qwen2.5:32b" },
    { RFL_MODEL_CLASS_XLARGE, "70B models", "llama3.3:70b" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      RflModelClass model_class = expected[i].model_class;

      g_assert_cmpstr (rfl_model_class_get_title (model_class), ==, expected[i].title);
      g_assert_cmpstr (rfl_model_class_get_example (model_class), ==, expected[i].example);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/rfl/sysinfo/no-gpu", test_no_gpu);
  g_test_add_func ("/rfl/sysinfo/nvidia", test_nvidia);
  g_test_add_func ("/rfl/sysinfo/amd", test_amd);
  g_test_add_func ("/rfl/sysinfo/intel", test_intel);
  g_test_add_func ("/rfl/sysinfo/laptop-4g", test_laptop_4g);
  g_test_add_func ("/rfl/sysinfo/arm-server", test_arm_server);
  g_test_add_func ("/rfl/sysinfo/drm-nodes", test_drm_nodes);
  g_test_add_func ("/rfl/sysinfo/missing-cpuinfo", test_missing_cpuinfo);
  g_test_add_func ("/rfl/sysinfo/missing-meminfo", test_missing_meminfo);
  g_test_add_func ("/rfl/sysinfo/fallbacks", test_fallbacks);
  g_test_add_func ("/rfl/sysinfo/real-machine", test_real_machine);
  g_test_add_func ("/rfl/sysinfo/async", test_async);
  g_test_add_func ("/rfl/sysinfo/async-error", test_async_error);
  g_test_add_func ("/rfl/sysinfo/disk-free", test_disk_free);
  g_test_add_func ("/rfl/sysinfo/recommend-rules", test_recommend_rules);
  g_test_add_func ("/rfl/sysinfo/integrated-ignored", test_integrated_ignored);
  g_test_add_func ("/rfl/sysinfo/titles", test_titles);

  return g_test_run ();
}
