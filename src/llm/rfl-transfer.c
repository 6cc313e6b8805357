/* rfl-transfer.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-transfer.h"

#include <curl/curl.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/rfl-error.h"
#include "llm/rfl-provider.h"

#define MAX_BODY (32 * 1024 * 1024)
#define MAX_MESSAGE 300
#define POLL_MS 1000

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURLM, curl_multi_cleanup)

struct _RflTransfer
{
  CURL                 *easy;          /* owned */
  struct curl_slist    *headers;       /* owned */
  char                 *base_url;      /* owned, as shown to the user */
  char                 *url;           /* owned, the request URL */
  char                 *post;          /* owned, NULL for a GET */
  char                 *no_proxy;      /* owned */
  GByteArray           *body;          /* owned */
  RflTransferWriteFunc  write_func;
  gpointer              write_data;
  GError               *write_error;   /* owned */
  GCancellable         *cancellable;   /* borrowed during perform */
  long                  status;
  char                  error_buffer[CURL_ERROR_SIZE];
};

static void
ensure_curl (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&initialized, 1);
    }
}

static char *
strip_base (const char *base_url)
{
  char *base = g_strstrip (g_strdup (base_url));
  gsize len = strlen (base);

  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';

  return base;
}

static gboolean
is_version_segment (const char *segment)
{
  return segment[0] == 'v' && g_ascii_isdigit (segment[1]);
}

/* Joins @base (no trailing slash) and @path (leading slash) without
 * doubling a segment the user already typed: "…/v1" + "/v1/models" gives
 * "…/v1/models", "…/api" + "/api/tags" gives "…/api/tags". */
static char *
join_url (const char *base,
          const char *path)
{
  const char *authority = strstr (base, "://");
  const char *base_path = authority != NULL ? strchr (authority + 3, '/') : NULL;
  const char *first_end = strchr (path + 1, '/');

  if (base_path != NULL && first_end != NULL)
    {
      const char *last = strrchr (base_path, '/') + 1;
      g_autofree char *first = g_strndup (path + 1, first_end - (path + 1));

      if (g_str_equal (last, first)
          || (g_str_equal (first, "v1") && is_version_segment (last)))
        path = first_end;
    }

  return g_strconcat (base, path, NULL);
}

static size_t
write_cb (char   *ptr,
          size_t  size,
          size_t  nmemb,
          void   *user_data)
{
  RflTransfer *self = user_data;
  gsize len = size * nmemb;
  long status = 0;

  curl_easy_getinfo (self->easy, CURLINFO_RESPONSE_CODE, &status);

  if (self->write_func != NULL && status >= 200 && status < 300)
    {
      if (!self->write_func (ptr, len, self->write_data, &self->write_error))
        {
          g_assert (self->write_error != NULL);
          return 0;
        }
      return len;
    }

  if (self->body->len + len > MAX_BODY)
    {
      g_set_error (&self->write_error, RFL_ERROR, RFL_ERROR_PROTOCOL,
                   _("The answer from %s is larger than %d MiB."),
                   self->url, MAX_BODY / (1024 * 1024));
      return 0;
    }

  g_byte_array_append (self->body, (const guint8 *) ptr, len);
  return len;
}

static int
xferinfo_cb (void       *user_data,
             curl_off_t  dltotal,
             curl_off_t  dlnow,
             curl_off_t  ultotal,
             curl_off_t  ulnow)
{
  RflTransfer *self = user_data;

  return g_cancellable_is_cancelled (self->cancellable) ? 1 : 0;
}

static char *
build_no_proxy (void)
{
  const char *env = g_getenv ("no_proxy");

  if (env == NULL)
    env = g_getenv ("NO_PROXY");

  /* A local server is never reached through a proxy. */
  if (env == NULL || *env == '\0')
    return g_strdup ("localhost,127.0.0.1,::1");

  return g_strconcat (env, ",localhost,127.0.0.1,::1", NULL);
}

RflTransfer *
rfl_transfer_new (const char  *base_url,
                  const char  *path,
                  GError     **error)
{
  g_autoptr(CURL) easy = NULL;
  RflTransfer *self;

  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);

  if (!rfl_provider_validate_url (base_url, error))
    return NULL;

  ensure_curl ();
  easy = curl_easy_init ();
  if (easy == NULL)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_FAILED,
                           _("Could not prepare a network request."));
      return NULL;
    }

  self = g_new0 (RflTransfer, 1);
  self->easy = g_steal_pointer (&easy);
  self->base_url = strip_base (base_url);
  self->url = join_url (self->base_url, path);
  self->body = g_byte_array_new ();
  self->no_proxy = build_no_proxy ();

  curl_easy_setopt (self->easy, CURLOPT_URL, self->url);
  curl_easy_setopt (self->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (self->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (self->easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (self->easy, CURLOPT_USERAGENT,
                    PACKAGE_NAME "/" PACKAGE_VERSION);
  curl_easy_setopt (self->easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt (self->easy, CURLOPT_NOPROXY, self->no_proxy);
  curl_easy_setopt (self->easy, CURLOPT_ERRORBUFFER, self->error_buffer);
  curl_easy_setopt (self->easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (self->easy, CURLOPT_WRITEDATA, self);
  curl_easy_setopt (self->easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (self->easy, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
  curl_easy_setopt (self->easy, CURLOPT_XFERINFODATA, self);
  curl_easy_setopt (self->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);

  return self;
}

void
rfl_transfer_free (RflTransfer *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->easy, curl_easy_cleanup);
  g_clear_pointer (&self->headers, curl_slist_free_all);
  g_free (self->base_url);
  g_free (self->url);
  g_free (self->post);
  g_free (self->no_proxy);
  g_byte_array_unref (self->body);
  g_clear_error (&self->write_error);
  g_free (self);
}

const char *
rfl_transfer_get_url (RflTransfer *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->url;
}

void
rfl_transfer_add_header (RflTransfer *self,
                         const char  *name,
                         const char  *value)
{
  g_autofree char *line = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && value != NULL);
  g_return_if_fail (strpbrk (value, "\r\n") == NULL);

  line = g_strdup_printf ("%s: %s", name, value);
  self->headers = curl_slist_append (self->headers, line);
  curl_easy_setopt (self->easy, CURLOPT_HTTPHEADER, self->headers);
}

void
rfl_transfer_set_json_body (RflTransfer *self,
                            const char  *json)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (json != NULL);

  g_free (self->post);
  self->post = g_strdup (json);
  curl_easy_setopt (self->easy, CURLOPT_POSTFIELDS, self->post);
  curl_easy_setopt (self->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                    (curl_off_t) strlen (self->post));
  rfl_transfer_add_header (self, "Content-Type", "application/json");
}

void
rfl_transfer_set_timeouts (RflTransfer *self,
                           guint        connect_ms,
                           guint        total_ms)
{
  g_return_if_fail (self != NULL);

  curl_easy_setopt (self->easy, CURLOPT_CONNECTTIMEOUT_MS, (long) connect_ms);
  curl_easy_setopt (self->easy, CURLOPT_TIMEOUT_MS, (long) total_ms);
}

void
rfl_transfer_set_stall_timeout (RflTransfer *self,
                                guint        seconds)
{
  g_return_if_fail (self != NULL);

  curl_easy_setopt (self->easy, CURLOPT_LOW_SPEED_LIMIT, seconds > 0 ? 1L : 0L);
  curl_easy_setopt (self->easy, CURLOPT_LOW_SPEED_TIME, (long) seconds);
}

void
rfl_transfer_set_write_func (RflTransfer          *self,
                             RflTransferWriteFunc  func,
                             gpointer              user_data)
{
  g_return_if_fail (self != NULL);

  self->write_func = func;
  self->write_data = user_data;
}

/* Plain words for what failed underneath, for "Cannot reach URL: …". */
static char *
describe_failure (RflTransfer *self,
                  CURLcode     result)
{
  long os_errno = 0;

  switch ((int) result)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
      return g_strdup (_("Host not found"));

    case CURLE_COULDNT_RESOLVE_PROXY:
      return g_strdup (_("Proxy not found"));

    case CURLE_COULDNT_CONNECT:
      curl_easy_getinfo (self->easy, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED)
        return g_strdup (_("Connection refused"));
      if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
        return g_strdup (_("No route to the host"));
      if (os_errno == ETIMEDOUT)
        return g_strdup (_("Timed out"));
      return g_strdup (_("Could not connect"));

    case CURLE_OPERATION_TIMEDOUT:
      return g_strdup (_("Timed out"));

    case CURLE_PEER_FAILED_VERIFICATION:
      return g_strdup (_("TLS failure: the server’s certificate is not trusted"));

    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_USE_SSL_FAILED:
      return g_strdup (_("TLS failure"));

    case CURLE_GOT_NOTHING:
      return g_strdup (_("The server closed the connection without answering"));

    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return g_strdup (_("The connection was lost"));

    case CURLE_TOO_MANY_REDIRECTS:
      return g_strdup (_("Too many redirects"));

    default:
      if (self->error_buffer[0] != '\0')
        return g_strdup (self->error_buffer);
      return g_strdup (curl_easy_strerror (result));
    }
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer      multi)
{
  curl_multi_wakeup (multi);
}

/* Runs the easy handle in a private multi handle so that a cancellation
 * from another thread wakes the wait at once instead of at the next
 * progress callback, which curl calls only about once a second when
 * nothing arrives. */
static CURLcode
run_transfer (RflTransfer  *self,
              GCancellable *cancellable)
{
  g_autoptr(CURLM) multi = curl_multi_init ();
  CURLcode result = CURLE_OK;
  gulong handler = 0;
  gboolean done = FALSE;

  if (multi == NULL)
    return CURLE_OUT_OF_MEMORY;

  curl_multi_add_handle (multi, self->easy);
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable,
                                     G_CALLBACK (cancelled_cb),
                                     multi, NULL);

  while (!done)
    {
      int running = 0;
      CURLMcode code = curl_multi_perform (multi, &running);

      if (code != CURLM_OK)
        {
          result = CURLE_OUT_OF_MEMORY;
          break;
        }

      if (running == 0)
        {
          CURLMsg *message;
          int queued;

          while ((message = curl_multi_info_read (multi, &queued)) != NULL)
            if (message->msg == CURLMSG_DONE)
              result = message->data.result;
          done = TRUE;
        }
      else if (g_cancellable_is_cancelled (cancellable))
        {
          result = CURLE_ABORTED_BY_CALLBACK;
          done = TRUE;
        }
      else
        {
          curl_multi_poll (multi, NULL, 0, POLL_MS, NULL);
        }
    }

  /* Disconnecting waits for a handler running on another thread. */
  g_cancellable_disconnect (cancellable, handler);
  curl_multi_remove_handle (multi, self->easy);

  return result;
}

gboolean
rfl_transfer_perform (RflTransfer   *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autofree char *reason = NULL;
  CURLcode result;

  g_return_val_if_fail (self != NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  self->cancellable = cancellable;
  self->error_buffer[0] = '\0';
  g_byte_array_set_size (self->body, 0);
  g_clear_error (&self->write_error);

  result = run_transfer (self, cancellable);
  self->cancellable = NULL;
  curl_easy_getinfo (self->easy, CURLINFO_RESPONSE_CODE, &self->status);

  if (result == CURLE_OK)
    return TRUE;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (self->write_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->write_error));
      return FALSE;
    }

  g_debug ("Transfer of %s failed: %s (%s)", self->url,
           curl_easy_strerror (result), self->error_buffer);

  if (result == CURLE_URL_MALFORMAT || result == CURLE_UNSUPPORTED_PROTOCOL)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("“%s” is not a valid URL."), self->base_url);
      return FALSE;
    }

  reason = describe_failure (self, result);
  g_set_error (error, RFL_ERROR, RFL_ERROR_UNREACHABLE,
               _("Cannot reach %s: %s"), self->base_url, reason);
  return FALSE;
}

long
rfl_transfer_get_status (RflTransfer *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->status;
}

char *
rfl_transfer_dup_header (RflTransfer *self,
                         const char  *name)
{
  struct curl_header *header = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (curl_easy_header (self->easy, name, 0, CURLH_HEADER, -1, &header)
      != CURLHE_OK || header == NULL)
    return NULL;

  return g_strdup (header->value);
}

const char *
rfl_transfer_get_body (RflTransfer *self,
                       gsize       *len)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (len != NULL)
    *len = self->body->len;

  /* Keep a NUL after the data without counting it. */
  g_byte_array_append (self->body, (const guint8 *) "", 1);
  g_byte_array_set_size (self->body, self->body->len - 1);

  return (const char *) self->body->data;
}

static char *
shorten (const char *text,
         gsize       len)
{
  g_autofree char *valid = g_utf8_make_valid (text, len);
  char *stripped = g_strstrip (valid);

  if (*stripped == '\0')
    return NULL;

  if (g_utf8_strlen (stripped, -1) > MAX_MESSAGE)
    {
      g_autofree char *head = g_utf8_substring (stripped, 0, MAX_MESSAGE);

      return g_strconcat (head, "…", NULL);
    }

  return g_strdup (stripped);
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);

  return NULL;
}

char *
rfl_transfer_dup_error_message (const char *body,
                                gsize       len)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  const char *message = NULL;
  JsonNode *root;

  if (body == NULL || len == 0)
    return NULL;

  if (json_parser_load_from_data (parser, body, (gssize) len, NULL)
      && (root = json_parser_get_root (parser)) != NULL
      && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonObject *object = json_node_get_object (root);
      JsonNode *inner = json_object_get_member (object, "error");

      if (inner != NULL && JSON_NODE_HOLDS_OBJECT (inner))
        message = member_string (json_node_get_object (inner), "message");
      if (message == NULL)
        message = member_string (object, "error");
      if (message == NULL)
        message = member_string (object, "message");
      if (message == NULL)
        message = member_string (object, "detail");

      return message != NULL ? shorten (message, strlen (message)) : NULL;
    }

  /* A short plain-text answer says something; an HTML page does not. */
  while (len > 0 && g_ascii_isspace (*body))
    body++, len--;
  if (len == 0 || *body == '<' || *body == '{' || *body == '[' || len > 1024)
    return NULL;

  return shorten (body, len);
}

gboolean
rfl_transfer_check_status (RflTransfer  *self,
                           GError      **error)
{
  g_autofree char *message = NULL;
  const char *body;
  gsize len;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->status >= 200 && self->status < 300)
    return TRUE;

  body = rfl_transfer_get_body (self, &len);
  message = rfl_transfer_dup_error_message (body, len);

  if (self->status == 401 || self->status == 403)
    {
      if (message != NULL)
        g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                     _("The provider refused the API key: %s"), message);
      else
        g_set_error (error, RFL_ERROR, RFL_ERROR_UNAUTHORIZED,
                     _("The provider refused the API key (HTTP %ld)."),
                     self->status);
      return FALSE;
    }

  if (self->status >= 300 && self->status < 400)
    {
      char *location = NULL;

      curl_easy_getinfo (self->easy, CURLINFO_REDIRECT_URL, &location);
      if (location != NULL)
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                       _("The provider answered HTTP %ld: it moved to %s; "
                         "use that address instead."),
                       self->status, location);
          return FALSE;
        }
    }

  if (message != NULL)
    g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                 _("The provider answered HTTP %ld: %s"), self->status, message);
  else
    g_set_error (error, RFL_ERROR, RFL_ERROR_PROVIDER,
                 _("The provider answered HTTP %ld."), self->status);

  return FALSE;
}
