/* rfl-signing-key.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-signing-key.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rfl-error.h"
#include "rfl-secrets.h"

/* A key file holds the key in base64 and a newline; anything much longer
 * is not a key file. */
#define MAX_FILE_SIZE 1024

struct _RflSigningKey
{
  gatomicrefcount ref_count;
  guint8          data[RFL_SIGNING_KEY_SIZE];
};

G_DEFINE_BOXED_TYPE (RflSigningKey, rfl_signing_key,
                     rfl_signing_key_ref, rfl_signing_key_unref)

static gpointer
init_sodium_once (gpointer data)
{
  return GINT_TO_POINTER (sodium_init () >= 0);
}

static void
ensure_sodium (void)
{
  static GOnce once = G_ONCE_INIT;

  /* randombytes_buf() works without sodium_init(), which only picks the
   * fastest implementations; a failure there is not fatal. */
  g_once (&once, init_sodium_once, NULL);
}

static RflSigningKey *
signing_key_alloc (void)
{
  RflSigningKey *self = g_new0 (RflSigningKey, 1);

  g_atomic_ref_count_init (&self->ref_count);
  return self;
}

RflSigningKey *
rfl_signing_key_new_random (void)
{
  RflSigningKey *self = signing_key_alloc ();

  ensure_sodium ();
  randombytes_buf (self->data, sizeof self->data);
  return self;
}

RflSigningKey *
rfl_signing_key_new_from_data (const guint8  *data,
                               gsize          size,
                               GError       **error)
{
  RflSigningKey *self;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  if (size != RFL_SIGNING_KEY_SIZE)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("A signing key must be exactly %d bytes long"),
                   RFL_SIGNING_KEY_SIZE);
      return NULL;
    }

  self = signing_key_alloc ();
  memcpy (self->data, data, size);
  return self;
}

RflSigningKey *
rfl_signing_key_ref (RflSigningKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
rfl_signing_key_unref (RflSigningKey *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      sodium_memzero (self->data, sizeof self->data);
      g_free (self);
    }
}

const guint8 *
rfl_signing_key_get_data (RflSigningKey *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->data;
}

gboolean
rfl_signing_key_equal (RflSigningKey *a,
                       RflSigningKey *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return sodium_memcmp (a->data, b->data, sizeof a->data) == 0;
}

/* Text form: base64 and a newline, in the file and in the keyring. */

static char *
encode_key (RflSigningKey *self)
{
  g_autofree char *base64 = g_base64_encode (self->data, sizeof self->data);

  return g_strconcat (base64, "\n", NULL);
}

static gboolean
is_base64_text (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
      return FALSE;

  return TRUE;
}

/* NULL when @text does not hold exactly one key. */
static RflSigningKey *
decode_key (const char *text)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  g_autofree guint8 *data = NULL;
  RflSigningKey *self;
  gsize size = 0;

  if (*copy == '\0' || !is_base64_text (copy) || strlen (copy) % 4 != 0)
    return NULL;

  data = g_base64_decode (copy, &size);
  self = rfl_signing_key_new_from_data (data, size, NULL);
  if (data != NULL)
    sodium_memzero (data, size);

  return self;
}

/* File */

static gboolean
set_file_error (const char  *path,
                int          saved_errno,
                GError     **error)
{
  if (saved_errno == ENOENT)
    g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                 _("The signing key file “%s” does not exist"), path);
  else if (saved_errno == ELOOP)
    g_set_error (error, RFL_ERROR, RFL_ERROR_SECRET,
                 _("The signing key file “%s” is a symbolic link; it must be "
                   "a regular file"),
                 path);
  else
    g_set_error (error, RFL_ERROR, RFL_ERROR_SECRET,
                 _("The signing key file “%s” cannot be read: %s"),
                 path, g_strerror (saved_errno));
  return FALSE;
}

/* Refuses a file that anyone but its owner, the current user, could read
 * or change. */
static gboolean
check_file_safe (const char         *path,
                 const struct stat  *st,
                 GError            **error)
{
  if (!S_ISREG (st->st_mode))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_SECRET,
                   _("The signing key file “%s” is not a regular file"),
                   path);
      return FALSE;
    }

  if (st->st_uid != geteuid ())
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_SECRET,
                   _("The signing key file “%s” belongs to another user; it "
                     "must belong to the user that runs Reflection"),
                   path);
      return FALSE;
    }

  if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_SECRET,
                   _("The signing key file “%s” can be read or changed by "
                     "other users (permissions %03o). Only its owner may "
                     "have access: run “chmod 600 %s”, or remove the file "
                     "to make a new key."),
                   path, (guint) (st->st_mode & 0777), path);
      return FALSE;
    }

  if (st->st_size > MAX_FILE_SIZE)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The file “%s” does not hold a signing key"), path);
      return FALSE;
    }

  return TRUE;
}

static gboolean
read_all (int     fd,
          char   *buffer,
          gsize   size,
          gsize  *out_len)
{
  gsize len = 0;

  while (len < size)
    {
      ssize_t n = read (fd, buffer + len, size - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      len += (gsize) n;
    }

  *out_len = len;
  return TRUE;
}

RflSigningKey *
rfl_signing_key_load_file (const char  *path,
                           GError     **error)
{
  char buffer[MAX_FILE_SIZE + 1];
  RflSigningKey *self;
  struct stat st;
  gsize len = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0);
  if (fd < 0)
    {
      set_file_error (path, errno, error);
      return NULL;
    }

  /* The checks look at the file that was opened, not at the name. */
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      g_close (fd, NULL);
      set_file_error (path, saved_errno, error);
      return NULL;
    }

  if (!check_file_safe (path, &st, error))
    {
      g_close (fd, NULL);
      return NULL;
    }

  if (!read_all (fd, buffer, MAX_FILE_SIZE, &len))
    {
      int saved_errno = errno;

      g_close (fd, NULL);
      set_file_error (path, saved_errno, error);
      return NULL;
    }

  g_close (fd, NULL);
  buffer[len] = '\0';

  self = decode_key (buffer);
  sodium_memzero (buffer, sizeof buffer);

  if (self == NULL)
    g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                 _("The file “%s” does not hold a signing key"), path);

  return self;
}

static gboolean
write_all (int         fd,
           const char *data,
           gsize       size)
{
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      size -= (gsize) n;
    }

  return TRUE;
}

/* Creates @path with a new key. NULL with *exists set when another
 * process created it first. */
static RflSigningKey *
create_key_file (const char  *path,
                 gboolean    *exists,
                 GError     **error)
{
  g_autoptr(RflSigningKey) self = rfl_signing_key_new_random ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = NULL;
  int saved_errno = 0;
  int fd;

  *exists = FALSE;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      saved_errno = errno;
      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   _("The folder “%s” for the signing key cannot be created: "
                     "%s"),
                   dir, g_strerror (saved_errno));
      return NULL;
    }

  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW
               | O_NOCTTY, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      if (saved_errno == EEXIST)
        {
          *exists = TRUE;
          return NULL;
        }

      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   _("The signing key file “%s” cannot be created: %s"),
                   path, g_strerror (saved_errno));
      return NULL;
    }

  text = encode_key (self);

  /* The mode given to open() is already 0600 or less after the umask;
   * fchmod() makes it exactly 0600 so the owner can read it back. */
  if (fchmod (fd, 0600) != 0
      || !write_all (fd, text, strlen (text))
      || fsync (fd) != 0)
    saved_errno = errno;

  sodium_memzero (text, strlen (text));

  if (!g_close (fd, NULL) && saved_errno == 0)
    saved_errno = errno;

  if (saved_errno != 0)
    {
      g_unlink (path);
      g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                   _("The signing key file “%s” cannot be written: %s"),
                   path, g_strerror (saved_errno));
      return NULL;
    }

  g_debug ("Created a new signing key in %s", path);
  return g_steal_pointer (&self);
}

RflSigningKey *
rfl_signing_key_load_or_create_file (const char  *path,
                                     GError     **error)
{
  GError *local_error = NULL;
  RflSigningKey *self;
  gboolean exists;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = rfl_signing_key_load_file (path, &local_error);
  if (self != NULL)
    return self;

  if (!g_error_matches (local_error, RFL_ERROR, RFL_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  g_clear_error (&local_error);

  self = create_key_file (path, &exists, error);
  if (self == NULL && exists)
    return rfl_signing_key_load_file (path, error);

  return self;
}

/* Keyring */

RflSigningKey *
rfl_signing_key_load_or_create_keyring_sync (GCancellable  *cancellable,
                                             GError       **error)
{
  g_autoptr(RflSigningKey) self = NULL;
  g_autofree char *text = NULL;
  g_autofree char *label = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text = rfl_secrets_lookup_named_sync (RFL_SIGNING_KEY_SECRET_NAME,
                                        cancellable, &local_error);
  if (text != NULL)
    {
      self = decode_key (text);
      sodium_memzero (text, strlen (text));
      if (self == NULL)
        g_set_error_literal (error, RFL_ERROR, RFL_ERROR_SECRET,
                             _("The keyring holds a signing key for access "
                               "tokens that is not valid"));
      return g_steal_pointer (&self);
    }

  /* A keyring that cannot be read must not get a new key: it would
   * replace the one that signed the tokens in use. */
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  self = rfl_signing_key_new_random ();
  text = encode_key (self);
  /* Translators: the label of the keyring entry. */
  label = g_strdup (_("Reflection key that signs access tokens"));

  if (!rfl_secrets_store_named_sync (RFL_SIGNING_KEY_SECRET_NAME, label,
                                     text, cancellable, error))
    {
      sodium_memzero (text, strlen (text));
      return NULL;
    }

  sodium_memzero (text, strlen (text));
  return g_steal_pointer (&self);
}
