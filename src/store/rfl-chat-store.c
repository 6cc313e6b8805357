/* rfl-chat-store.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-store.h"
#include "rfl-store-private.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/rfl-error.h"

#define PREVIEW_CHARS  200
#define MAX_TOOL_NAME  64
#define MAX_PAGE       1000

/* SQL ------------------------------------------------------------------- */

#define CONVERSATION_COLUMNS \
  "c.id, c.tenant_id, c.user_id, c.title, c.created_at, c.updated_at," \
  " c.deleted_at," \
  " (SELECT count(*) FROM messages AS m" \
  "   WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id)," \
  " (SELECT substr (m.content, 1, 200) FROM messages AS m" \
  "   WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id" \
  "   ORDER BY m.id DESC LIMIT 1)"

#define CONVERSATION_LIST_WHERE \
  " WHERE c.tenant_id = ?1 AND c.user_id = ?2" \
  "   AND (CASE ?3 WHEN 0 THEN c.deleted_at IS NULL" \
  "        ELSE c.deleted_at IS NOT NULL END)"

#define CONVERSATION_LIST_ORDER \
  " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?4 OFFSET ?5"

static const char conversation_insert_sql[] =
  "INSERT INTO conversations (tenant_id, user_id, title, created_at,"
  "                           updated_at)"
  " VALUES (?1, ?2, ?3, ?4, ?4)";

static const char conversation_get_sql[] =
  "SELECT " CONVERSATION_COLUMNS " FROM conversations AS c"
  " WHERE c.tenant_id = ?1 AND c.id = ?2";

static const char conversation_list_sql[] =
  "SELECT " CONVERSATION_COLUMNS " FROM conversations AS c"
  CONVERSATION_LIST_WHERE CONVERSATION_LIST_ORDER;

static const char conversation_search_sql[] =
  "SELECT " CONVERSATION_COLUMNS " FROM conversations AS c"
  CONVERSATION_LIST_WHERE
  "   AND c.id IN (SELECT rowid FROM conversations_fts"
  "                WHERE conversations_fts MATCH ?6"
  "                UNION"
  "                SELECT m.conversation_id FROM messages_fts"
  "                JOIN messages AS m ON m.id = messages_fts.rowid"
  "                WHERE messages_fts MATCH ?6 AND m.tenant_id = ?1)"
  CONVERSATION_LIST_ORDER;

/* ?1 tenant, ?2 id: whether it exists and whether it is deleted. */
static const char conversation_state_sql[] =
  "SELECT deleted_at IS NOT NULL FROM conversations"
  " WHERE tenant_id = ?1 AND id = ?2";

static const char conversation_rename_sql[] =
  "UPDATE conversations SET title = ?3, updated_at = ?4"
  " WHERE tenant_id = ?1 AND id = ?2";

static const char conversation_touch_sql[] =
  "UPDATE conversations SET updated_at = ?3"
  " WHERE tenant_id = ?1 AND id = ?2";

static const char conversation_delete_sql[] =
  "UPDATE conversations SET deleted_at = ?3"
  " WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL";

static const char conversation_restore_sql[] =
  "UPDATE conversations SET deleted_at = NULL, updated_at = ?3"
  " WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NOT NULL";

static const char conversation_purge_sql[] =
  "DELETE FROM conversations WHERE tenant_id = ?1 AND id = ?2";

static const char conversation_purge_expired_sql[] =
  "DELETE FROM conversations"
  " WHERE tenant_id = ?1 AND deleted_at IS NOT NULL AND deleted_at < ?2";

#define MESSAGE_COLUMNS \
  "id, tenant_id, conversation_id, role, status, content, model," \
  " tokens_in, tokens_out, metadata, error, created_at, updated_at"

/* Rows are given their ids, after the largest one, so that a statement
 * can insert many (see _rfl_store_multi_row_sql()). */
#define MESSAGE_INSERT_HEAD \
  "INSERT INTO messages (id, tenant_id, conversation_id, role, status," \
  "                      content, model, tokens_in, tokens_out, metadata," \
  "                      error, created_at, updated_at) VALUES "
#define MESSAGE_INSERT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define MESSAGE_INSERT_COLUMNS 13

static const char message_max_id_sql[] =
  "SELECT coalesce (max (id), 0) FROM messages";

static const char message_get_sql[] =
  "SELECT " MESSAGE_COLUMNS " FROM messages"
  " WHERE tenant_id = ?1 AND id = ?2";

/* The page is read newest first and turned round. */
static const char message_list_sql[] =
  "SELECT " MESSAGE_COLUMNS " FROM messages"
  " WHERE tenant_id = ?1 AND conversation_id = ?2 AND id < ?3"
  " ORDER BY id DESC LIMIT ?4";

static const char message_delta_sql[] =
  "UPDATE messages SET content = content || ?3, updated_at = ?4"
  " WHERE tenant_id = ?1 AND id = ?2 AND status = 'streaming'";

static const char message_finish_sql[] =
  "UPDATE messages SET content = content || ?3, status = ?4,"
  "                    tokens_in = ?5, tokens_out = ?6, error = ?7,"
  "                    updated_at = ?8"
  " WHERE tenant_id = ?1 AND id = ?2 AND status = 'streaming'"
  " RETURNING conversation_id, role, content";

static const char message_streaming_sql[] =
  "SELECT id, tenant_id, role, content FROM messages"
  " WHERE status = 'streaming'";

static const char message_recover_sql[] =
  "UPDATE messages SET status = 'interrupted', updated_at = ?1"
  " WHERE status = 'streaming'";

static const char usage_insert_sql[] =
  "INSERT INTO usage (tenant_id, user_id, conversation_id, model, provider,"
  "                   tokens_in, tokens_out, latency_ms, created_at,"
  "                   api_key_id, cost_micro_usd)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

static const char api_key_of_tenant_sql[] =
  "SELECT 1 FROM api_keys WHERE id = ?1 AND tenant_id = ?2";

#define USAGE_SUMS \
  "count(*), sum (u.tokens_in), sum (u.tokens_out), sum (u.latency_ms)," \
  " coalesce (sum (u.cost_micro_usd), 0), sum (u.cost_micro_usd IS NULL)"
#define USAGE_RANGE \
  " WHERE u.tenant_id = ?1 AND u.created_at >= ?2 AND u.created_at < ?3"

/* Per RflUsageGroup: label, id, detail, then USAGE_SUMS. */
static const char * const usage_breakdown_sql[] = {
  [RFL_USAGE_BY_DAY] =
    "SELECT strftime ('%Y-%m-%d', u.created_at / 1000, 'unixepoch') AS day,"
    "       0, NULL, " USAGE_SUMS
    " FROM usage AS u" USAGE_RANGE
    " GROUP BY day ORDER BY day",
  [RFL_USAGE_BY_MODEL] =
    "SELECT u.model, 0, u.provider, " USAGE_SUMS
    " FROM usage AS u" USAGE_RANGE
    " GROUP BY u.provider, u.model"
    " ORDER BY sum (u.tokens_in + u.tokens_out) DESC, u.model, u.provider",
  [RFL_USAGE_BY_USER] =
    "SELECT coalesce (s.email, ''), coalesce (u.user_id, 0), NULL, " USAGE_SUMS
    " FROM usage AS u"
    " LEFT JOIN users AS s ON s.id = u.user_id AND s.tenant_id = u.tenant_id"
    USAGE_RANGE
    " GROUP BY u.user_id"
    " ORDER BY sum (u.tokens_in + u.tokens_out) DESC, u.user_id",
  [RFL_USAGE_BY_KEY] =
    "SELECT coalesce (k.name, ''), coalesce (u.api_key_id, 0), k.prefix, "
    USAGE_SUMS
    " FROM usage AS u"
    " LEFT JOIN api_keys AS k"
    "   ON k.id = u.api_key_id AND k.tenant_id = u.tenant_id"
    USAGE_RANGE
    " GROUP BY u.api_key_id"
    " ORDER BY sum (u.tokens_in + u.tokens_out) DESC, u.api_key_id",
};

static const char * const usage_group_names[] = {
  [RFL_USAGE_BY_DAY] = "day",
  [RFL_USAGE_BY_MODEL] = "model",
  [RFL_USAGE_BY_USER] = "user",
  [RFL_USAGE_BY_KEY] = "key",
};

static const char usage_sum_sql[] =
  "SELECT strftime ('%Y-%m-%d', created_at / 1000, 'unixepoch') AS day,"
  "       provider, model, count(*), sum (tokens_in), sum (tokens_out),"
  "       sum (latency_ms), coalesce (sum (cost_micro_usd), 0),"
  "       sum (cost_micro_usd IS NULL)"
  " FROM usage"
  " WHERE tenant_id = ?1 AND (?2 = 0 OR user_id = ?2)"
  "   AND created_at >= ?3 AND created_at < ?4"
  " GROUP BY day, provider, model ORDER BY day, provider, model";

static const char tool_set_sql[] =
  "INSERT INTO tool_permissions (tenant_id, tool, enabled, updated_at)"
  " VALUES (?1, ?2, ?3, ?4)"
  " ON CONFLICT (tenant_id, tool) DO UPDATE"
  " SET enabled = excluded.enabled, updated_at = excluded.updated_at";

static const char tool_reset_sql[] =
  "DELETE FROM tool_permissions WHERE tenant_id = ?1 AND tool = ?2";

static const char tool_get_sql[] =
  "SELECT enabled FROM tool_permissions WHERE tenant_id = ?1 AND tool = ?2";

static const char tool_list_sql[] =
  "SELECT tool, enabled FROM tool_permissions WHERE tenant_id = ?1"
  " ORDER BY tool";

static const char tenant_exists_sql[] =
  "SELECT 1 FROM tenants WHERE id = ?1";

/* Enumerations ---------------------------------------------------------- */

static const char * const role_names[] = {
  "system", "user", "assistant", "tool",
};

static const char * const status_names[] = {
  "complete", "streaming", "interrupted", "error",
};

static gboolean
lookup_name (const char * const *names,
             guint               n_names,
             const char         *str,
             guint              *out)
{
  for (guint i = 0; i < n_names; i++)
    {
      if (g_strcmp0 (names[i], str) == 0)
        {
          if (out != NULL)
            *out = i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_message_role_to_string (RflMessageRole role)
{
  g_return_val_if_fail ((guint) role < G_N_ELEMENTS (role_names), NULL);

  return role_names[role];
}

gboolean
rfl_message_role_from_string (const char     *str,
                              RflMessageRole *out)
{
  guint value;

  if (!lookup_name (role_names, G_N_ELEMENTS (role_names), str, &value))
    return FALSE;
  if (out != NULL)
    *out = value;
  return TRUE;
}

const char *
rfl_message_status_to_string (RflMessageStatus status)
{
  g_return_val_if_fail ((guint) status < G_N_ELEMENTS (status_names), NULL);

  return status_names[status];
}

gboolean
rfl_message_status_from_string (const char       *str,
                                RflMessageStatus *out)
{
  guint value;

  if (!lookup_name (status_names, G_N_ELEMENTS (status_names), str, &value))
    return FALSE;
  if (out != NULL)
    *out = value;
  return TRUE;
}

/* Records --------------------------------------------------------------- */

G_DEFINE_BOXED_TYPE (RflConversation, rfl_conversation,
                     rfl_conversation_copy, rfl_conversation_free)
G_DEFINE_BOXED_TYPE (RflMessage, rfl_message,
                     rfl_message_copy, rfl_message_free)
G_DEFINE_BOXED_TYPE (RflUsageSum, rfl_usage_sum,
                     rfl_usage_sum_copy, rfl_usage_sum_free)
G_DEFINE_BOXED_TYPE (RflToolPermission, rfl_tool_permission,
                     rfl_tool_permission_copy, rfl_tool_permission_free)

RflConversation *
rfl_conversation_copy (const RflConversation *self)
{
  RflConversation *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->title = g_strdup (self->title);
  copy->preview = g_strdup (self->preview);
  return copy;
}

void
rfl_conversation_free (RflConversation *self)
{
  if (self == NULL)
    return;

  g_free (self->title);
  g_free (self->preview);
  g_free (self);
}

RflMessage *
rfl_message_new (RflMessageRole  role,
                 const char     *content)
{
  RflMessage *self = g_new0 (RflMessage, 1);

  self->role = role;
  self->content = g_strdup (content != NULL ? content : "");
  return self;
}

RflMessage *
rfl_message_copy (const RflMessage *self)
{
  RflMessage *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->content = g_strdup (self->content);
  copy->model = g_strdup (self->model);
  copy->metadata = g_strdup (self->metadata);
  copy->error = g_strdup (self->error);
  return copy;
}

void
rfl_message_free (RflMessage *self)
{
  if (self == NULL)
    return;

  g_free (self->content);
  g_free (self->model);
  g_free (self->metadata);
  g_free (self->error);
  g_free (self);
}

RflUsageSum *
rfl_usage_sum_copy (const RflUsageSum *self)
{
  RflUsageSum *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->day = g_strdup (self->day);
  copy->provider = g_strdup (self->provider);
  copy->model = g_strdup (self->model);
  return copy;
}

void
rfl_usage_sum_free (RflUsageSum *self)
{
  if (self == NULL)
    return;

  g_free (self->day);
  g_free (self->provider);
  g_free (self->model);
  g_free (self);
}

RflToolPermission *
rfl_tool_permission_copy (const RflToolPermission *self)
{
  RflToolPermission *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->tool = g_strdup (self->tool);
  return copy;
}

void
rfl_tool_permission_free (RflToolPermission *self)
{
  if (self == NULL)
    return;

  g_free (self->tool);
  g_free (self);
}

/* The store ------------------------------------------------------------- */

struct _RflChatStore
{
  GObject          parent_instance;

  RflDatabase     *db;        /* owned */
  RflVectorStore  *vectors;   /* owned, may be NULL */
};

G_DEFINE_FINAL_TYPE (RflChatStore, rfl_chat_store, G_TYPE_OBJECT)

static void
rfl_chat_store_finalize (GObject *object)
{
  RflChatStore *self = (RflChatStore *)object;

  g_clear_object (&self->vectors);
  g_clear_object (&self->db);

  G_OBJECT_CLASS (rfl_chat_store_parent_class)->finalize (object);
}

static void
rfl_chat_store_class_init (RflChatStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_chat_store_finalize;
}

static void
rfl_chat_store_init (RflChatStore *self)
{
}

RflChatStore *
rfl_chat_store_new (RflDatabase    *db,
                    RflVectorStore *vectors)
{
  RflChatStore *self;

  g_return_val_if_fail (RFL_IS_DATABASE (db), NULL);
  g_return_val_if_fail (vectors == NULL || RFL_IS_VECTOR_STORE (vectors),
                        NULL);
  g_return_val_if_fail (vectors == NULL
                        || rfl_vector_store_get_database (vectors) == db,
                        NULL);

  _rfl_store_tune_allocator ();

  self = g_object_new (RFL_TYPE_CHAT_STORE, NULL);
  self->db = g_object_ref (db);
  self->vectors = vectors != NULL ? g_object_ref (vectors) : NULL;

  return self;
}

RflDatabase *
rfl_chat_store_get_database (RflChatStore *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);

  return self->db;
}

/* Helpers --------------------------------------------------------------- */

static sqlite3 *
handle (RflChatStore *self)
{
  return _rfl_database_get_handle (self->db);
}

static gboolean
set_not_found (GError **error)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The conversation does not exist"));
  return FALSE;
}

/* Only what people said and were answered gets a vector; see the
 * embeddable messages of the vector store. */
static gboolean
is_embeddable (RflMessageRole   role,
               RflMessageStatus status)
{
  return (role == RFL_MESSAGE_ROLE_USER || role == RFL_MESSAGE_ROLE_ASSISTANT)
         && (status == RFL_MESSAGE_STATUS_COMPLETE
             || status == RFL_MESSAGE_STATUS_INTERRUPTED);
}

static gboolean
check_title (const char  *title,
             GError     **error)
{
  switch (_rfl_store_check_text (title, RFL_CHAT_STORE_MAX_TITLE, FALSE))
    {
    case RFL_TEXT_OK:
    case RFL_TEXT_MISSING:
      return TRUE;
    case RFL_TEXT_NOT_UTF8:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The conversation title is not valid text"));
      return FALSE;
    case RFL_TEXT_TOO_LONG:
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The conversation title is too long: use at most %d "
                     "characters"),
                   RFL_CHAT_STORE_MAX_TITLE);
      return FALSE;
    case RFL_TEXT_CONTROL:
    default:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The conversation title must be one line "
                             "without control characters"));
      return FALSE;
    }
}

/* Title without surrounding blanks; "" for NULL. */
static char *
normalize_title (const char *title)
{
  return g_strstrip (g_strdup (title != NULL ? title : ""));
}

/* RFL_TEXT_OK for a name that is absent and not @required. */
static RflTextProblem
check_name (const char *name,
            gboolean    required)
{
  RflTextProblem problem = _rfl_store_check_text (name,
                                                  RFL_CHAT_STORE_MAX_MODEL,
                                                  FALSE);

  if (problem == RFL_TEXT_MISSING && !required
      && (name == NULL || *name == '\0'))
    return RFL_TEXT_OK;

  return problem;
}

static gboolean
check_model (const char  *model,
             gboolean     required,
             GError     **error)
{
  switch (check_name (model, required))
    {
    case RFL_TEXT_OK:
      return TRUE;
    case RFL_TEXT_MISSING:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The model name must not be empty"));
      return FALSE;
    case RFL_TEXT_TOO_LONG:
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The model name is too long: use at most %d "
                     "characters"),
                   RFL_CHAT_STORE_MAX_MODEL);
      return FALSE;
    case RFL_TEXT_NOT_UTF8:
    case RFL_TEXT_CONTROL:
    default:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The model name is not valid: use one line of "
                             "text"));
      return FALSE;
    }
}

static gboolean
check_provider (const char  *provider,
                GError     **error)
{
  switch (check_name (provider, TRUE))
    {
    case RFL_TEXT_OK:
      return TRUE;
    case RFL_TEXT_MISSING:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The provider name must not be empty"));
      return FALSE;
    case RFL_TEXT_TOO_LONG:
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The provider name is too long: use at most %d "
                     "characters"),
                   RFL_CHAT_STORE_MAX_MODEL);
      return FALSE;
    case RFL_TEXT_NOT_UTF8:
    case RFL_TEXT_CONTROL:
    default:
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The provider name is not valid: use one line "
                             "of text"));
      return FALSE;
    }
}

static gboolean
check_content (const char  *content,
               GError     **error)
{
  if (content == NULL || !g_utf8_validate (content, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The message is not valid text"));
      return FALSE;
    }

  if (strlen (content) > RFL_CHAT_STORE_MAX_CONTENT_BYTES)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The message is too long: the limit is %d MiB"),
                   RFL_CHAT_STORE_MAX_CONTENT_BYTES / (1024 * 1024));
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_metadata (const char  *metadata,
                GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;

  if (metadata == NULL)
    return TRUE;

  parser = json_parser_new ();
  if (!g_utf8_validate (metadata, -1, NULL)
      || !json_parser_load_from_data (parser, metadata, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The message metadata must be a JSON object"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_message (const RflMessage  *message,
               GError           **error)
{
  if ((guint) message->role >= G_N_ELEMENTS (role_names))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The message role %d is unknown"), (int) message->role);
      return FALSE;
    }

  if ((guint) message->status >= G_N_ELEMENTS (status_names))
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The message status %d is unknown"),
                   (int) message->status);
      return FALSE;
    }

  if (message->error != NULL && !g_utf8_validate (message->error, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The error message is not valid text"));
      return FALSE;
    }

  return check_content (message->content, error)
         && check_model (message->model, FALSE, error)
         && check_metadata (message->metadata, error);
}

/* Fails with RFL_ERROR_NOT_FOUND unless the conversation is in @tenant_id
 * and, when @writable, not deleted. */
static gboolean
check_conversation (RflChatStore  *self,
                    gint64         tenant_id,
                    gint64         conversation_id,
                    gboolean       writable,
                    GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, conversation_state_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return set_not_found (error);
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (self->db, rc, error);

  if (writable && sqlite3_column_int (stmt, 0) != 0)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                           _("The conversation was deleted: restore it "
                             "first"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
touch_conversation (RflChatStore  *self,
                    gint64         tenant_id,
                    gint64         conversation_id,
                    GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db, conversation_touch_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);
  sqlite3_bind_int64 (stmt, 3, _rfl_store_now_ms ());

  return _rfl_store_step_done (self->db, stmt, error);
}

/* Runs a one-row UPDATE or DELETE of the tenant's row ?1/?2 (?3 and ?4
 * being optional); *changed tells whether it touched a row. */
static gboolean
run_update (RflChatStore  *self,
            const char    *sql,
            gint64         tenant_id,
            gint64         id,
            const char    *text,
            gint64         time,
            gboolean      *changed,
            GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db, sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, id);
  if (text != NULL)
    {
      sqlite3_bind_text (stmt, 3, text, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 4, time);
    }
  else if (time != 0)
    {
      sqlite3_bind_int64 (stmt, 3, time);
    }

  if (!_rfl_store_step_done (self->db, stmt, error))
    return FALSE;

  if (changed != NULL)
    *changed = sqlite3_changes (handle (self)) > 0;
  return TRUE;
}

static gint64
column_time (sqlite3_stmt *stmt,
             int           column)
{
  return sqlite3_column_type (stmt, column) == SQLITE_NULL
         ? 0 : sqlite3_column_int64 (stmt, column);
}

static RflConversation *
read_conversation (sqlite3_stmt *stmt)
{
  RflConversation *conversation = g_new0 (RflConversation, 1);

  conversation->id = sqlite3_column_int64 (stmt, 0);
  conversation->tenant_id = sqlite3_column_int64 (stmt, 1);
  conversation->user_id = sqlite3_column_int64 (stmt, 2);
  conversation->title = _rfl_store_dup_column_text (stmt, 3);
  conversation->created_at = sqlite3_column_int64 (stmt, 4);
  conversation->updated_at = sqlite3_column_int64 (stmt, 5);
  conversation->deleted_at = column_time (stmt, 6);
  conversation->n_messages = (guint) sqlite3_column_int64 (stmt, 7);
  conversation->preview = _rfl_store_dup_column_text (stmt, 8);
  if (conversation->preview == NULL)
    conversation->preview = g_strdup ("");

  return conversation;
}

static RflMessage *
read_message (sqlite3_stmt *stmt)
{
  RflMessage *message = g_new0 (RflMessage, 1);
  guint value = 0;

  message->id = sqlite3_column_int64 (stmt, 0);
  message->tenant_id = sqlite3_column_int64 (stmt, 1);
  message->conversation_id = sqlite3_column_int64 (stmt, 2);
  lookup_name (role_names, G_N_ELEMENTS (role_names),
               (const char *) sqlite3_column_text (stmt, 3), &value);
  message->role = value;
  value = 0;
  lookup_name (status_names, G_N_ELEMENTS (status_names),
               (const char *) sqlite3_column_text (stmt, 4), &value);
  message->status = value;
  message->content = _rfl_store_dup_column_text (stmt, 5);
  message->model = _rfl_store_dup_column_text (stmt, 6);
  message->tokens_in = (guint) sqlite3_column_int64 (stmt, 7);
  message->tokens_out = (guint) sqlite3_column_int64 (stmt, 8);
  message->metadata = _rfl_store_dup_column_text (stmt, 9);
  message->error = _rfl_store_dup_column_text (stmt, 10);
  message->created_at = sqlite3_column_int64 (stmt, 11);
  message->updated_at = sqlite3_column_int64 (stmt, 12);

  if (message->content == NULL)
    message->content = g_strdup ("");

  return message;
}

/* Recovery -------------------------------------------------------------- */

typedef struct
{
  gint64          id;
  gint64          tenant_id;
  RflMessageRole  role;
  char           *content;
} Streaming;

static void
streaming_clear (gpointer data)
{
  Streaming *streaming = data;

  g_free (streaming->content);
}

static gboolean
read_streaming (RflChatStore  *self,
                GArray        *out,
                GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, message_streaming_sql, error);
  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Streaming streaming = { 0 };
      guint role = 0;

      streaming.id = sqlite3_column_int64 (stmt, 0);
      streaming.tenant_id = sqlite3_column_int64 (stmt, 1);
      lookup_name (role_names, G_N_ELEMENTS (role_names),
                   (const char *) sqlite3_column_text (stmt, 2), &role);
      streaming.role = role;
      streaming.content = _rfl_store_dup_column_text (stmt, 3);
      g_array_append_val (out, streaming);
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  return TRUE;
}

gboolean
rfl_chat_store_recover_interrupted (RflChatStore  *self,
                                    guint         *n_recovered,
                                    GError       **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(GArray) streaming = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  streaming = g_array_new (FALSE, TRUE, sizeof (Streaming));
  g_array_set_clear_func (streaming, streaming_clear);

  if (!_rfl_store_txn_begin (&txn, self->db, error)
      || !read_streaming (self, streaming, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, message_recover_sql, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, _rfl_store_now_ms ());
  if (!_rfl_store_step_done (self->db, stmt, error))
    return FALSE;

  for (guint i = 0; self->vectors != NULL && i < streaming->len; i++)
    {
      const Streaming *row = &g_array_index (streaming, Streaming, i);

      if (is_embeddable (row->role, RFL_MESSAGE_STATUS_INTERRUPTED)
          && !_rfl_vector_store_put_text (self->vectors, row->tenant_id,
                                          RFL_VECTOR_KIND_MESSAGE, row->id,
                                          row->content, error))
        return FALSE;
    }

  if (!_rfl_store_txn_commit (&txn, error))
    return FALSE;

  _rfl_vector_store_after_write (self->vectors);

  if (streaming->len > 0)
    g_message ("%u answers were cut off by the end of the last run; they "
               "are kept as interrupted", streaming->len);

  if (n_recovered != NULL)
    *n_recovered = streaming->len;
  return TRUE;
}

/* Conversations --------------------------------------------------------- */

gint64
rfl_chat_store_create_conversation (RflChatStore  *self,
                                    gint64         tenant_id,
                                    gint64         user_id,
                                    const char    *title,
                                    GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *norm_title = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if ((title != NULL && !check_title (title, error))
      || !_rfl_store_check_user (self->db, tenant_id, user_id, error))
    return 0;

  norm_title = normalize_title (title);

  stmt = _rfl_database_prepare (self->db, conversation_insert_sql, error);
  if (stmt == NULL)
    return 0;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_text (stmt, 3, norm_title, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, _rfl_store_now_ms ());

  if (!_rfl_store_step_done (self->db, stmt, error))
    return 0;

  return sqlite3_last_insert_rowid (handle (self));
}

RflConversation *
rfl_chat_store_get_conversation (RflChatStore  *self,
                                 gint64         tenant_id,
                                 gint64         conversation_id,
                                 GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _rfl_database_prepare (self->db, conversation_get_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return read_conversation (stmt);

  if (rc == SQLITE_DONE)
    set_not_found (error);
  else
    _rfl_database_set_error (self->db, rc, error);
  return NULL;
}

static gboolean
check_page (guint    limit,
            GError **error)
{
  if (limit >= 1 && limit <= MAX_PAGE)
    return TRUE;

  g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               _("A page holds 1 to %d items"), MAX_PAGE);
  return FALSE;
}

GPtrArray *
rfl_chat_store_list_conversations (RflChatStore         *self,
                                   gint64                tenant_id,
                                   gint64                user_id,
                                   const char           *search,
                                   RflConversationList   which,
                                   guint                 offset,
                                   guint                 limit,
                                   GError              **error)
{
  g_autoptr(GPtrArray) conversations = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *query = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_page (limit, error))
    return NULL;

  query = _rfl_store_fts_query (search, RFL_FTS_MATCH_ALL);
  stmt = _rfl_database_prepare (self->db,
                                query != NULL ? conversation_search_sql
                                              : conversation_list_sql,
                                error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int (stmt, 3, which == RFL_CONVERSATION_LIST_DELETED);
  sqlite3_bind_int64 (stmt, 4, limit);
  sqlite3_bind_int64 (stmt, 5, offset);
  if (query != NULL)
    sqlite3_bind_text (stmt, 6, query, -1, SQLITE_STATIC);

  conversations = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_conversation_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (conversations, read_conversation (stmt));

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&conversations);
}

gboolean
rfl_chat_store_rename_conversation (RflChatStore  *self,
                                    gint64         tenant_id,
                                    gint64         conversation_id,
                                    const char    *title,
                                    GError       **error)
{
  g_autofree char *norm_title = NULL;
  gboolean changed;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (title != NULL && !check_title (title, error))
    return FALSE;

  norm_title = normalize_title (title);
  if (!run_update (self, conversation_rename_sql, tenant_id, conversation_id,
                   norm_title, _rfl_store_now_ms (), &changed, error))
    return FALSE;

  return changed || set_not_found (error);
}

gboolean
rfl_chat_store_delete_conversation (RflChatStore  *self,
                                    gint64         tenant_id,
                                    gint64         conversation_id,
                                    GError       **error)
{
  gboolean changed;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!run_update (self, conversation_delete_sql, tenant_id, conversation_id,
                   NULL, _rfl_store_now_ms (), &changed, error))
    return FALSE;

  /* Already deleted is fine; absent is not. */
  return changed
         || check_conversation (self, tenant_id, conversation_id, FALSE, error);
}

gboolean
rfl_chat_store_restore_conversation (RflChatStore  *self,
                                     gint64         tenant_id,
                                     gint64         conversation_id,
                                     GError       **error)
{
  gboolean changed;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!run_update (self, conversation_restore_sql, tenant_id, conversation_id,
                   NULL, _rfl_store_now_ms (), &changed, error))
    return FALSE;

  return changed
         || check_conversation (self, tenant_id, conversation_id, FALSE, error);
}

gboolean
rfl_chat_store_purge_conversation (RflChatStore  *self,
                                   gint64         tenant_id,
                                   gint64         conversation_id,
                                   GError       **error)
{
  gboolean changed;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!run_update (self, conversation_purge_sql, tenant_id, conversation_id,
                   NULL, 0, &changed, error))
    return FALSE;

  _rfl_vector_store_after_write (self->vectors);

  return changed || set_not_found (error);
}

gboolean
rfl_chat_store_purge_expired (RflChatStore  *self,
                              gint64         tenant_id,
                              gint64         deleted_before,
                              guint         *n_purged,
                              GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stmt = _rfl_database_prepare (self->db, conversation_purge_expired_sql,
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, deleted_before);

  if (!_rfl_store_step_done (self->db, stmt, error))
    return FALSE;

  if (n_purged != NULL)
    *n_purged = (guint) sqlite3_changes (handle (self));

  _rfl_vector_store_after_write (self->vectors);
  return TRUE;
}

/* Messages -------------------------------------------------------------- */

static void
bind_message (sqlite3_stmt      *stmt,
              int                first,
              gint64             id,
              gint64             tenant_id,
              gint64             conversation_id,
              const RflMessage  *message,
              gint64             now)
{
  g_autofree char *model = NULL;

  if (message->model != NULL && *message->model != '\0')
    model = g_strstrip (g_strdup (message->model));

  sqlite3_bind_int64 (stmt, first, id);
  sqlite3_bind_int64 (stmt, first + 1, tenant_id);
  sqlite3_bind_int64 (stmt, first + 2, conversation_id);
  sqlite3_bind_text (stmt, first + 3, role_names[message->role], -1,
                     SQLITE_STATIC);
  sqlite3_bind_text (stmt, first + 4, status_names[message->status], -1,
                     SQLITE_STATIC);
  sqlite3_bind_text (stmt, first + 5, message->content, -1, SQLITE_STATIC);
  _rfl_store_bind_text (stmt, first + 6, model);
  sqlite3_bind_int64 (stmt, first + 7, message->tokens_in);
  sqlite3_bind_int64 (stmt, first + 8, message->tokens_out);
  _rfl_store_bind_text (stmt, first + 9, message->metadata);
  _rfl_store_bind_text (stmt, first + 10, message->error);
  sqlite3_bind_int64 (stmt, first + 11, message->created_at > 0
                                        ? message->created_at : now);
  sqlite3_bind_int64 (stmt, first + 12, now);
}

static gboolean
query_max_id (RflChatStore  *self,
              gint64        *out,
              GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  *out = 0;
  stmt = _rfl_database_prepare (self->db, message_max_id_sql, error);
  if (stmt == NULL)
    return FALSE;

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (self->db, rc, error);

  *out = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* Inserts @messages in statements of many rows and fills @ids. Part of
 * the caller's transaction, which holds the write lock. */
static gboolean
insert_messages (RflChatStore        *self,
                 gint64               tenant_id,
                 gint64               conversation_id,
                 RflMessage * const  *messages,
                 guint                n,
                 gint64               now,
                 gint64              *ids,
                 GError             **error)
{
  gint64 max_id;

  if (!query_max_id (self, &max_id, error))
    return FALSE;

  for (guint done = 0, rows; done < n; done += rows)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;
      g_autofree char *sql = NULL;

      rows = _rfl_store_chunk_rows (n - done);
      sql = _rfl_store_multi_row_sql (MESSAGE_INSERT_HEAD, MESSAGE_INSERT_ROW,
                                      "", rows);
      stmt = _rfl_database_prepare (self->db, sql, error);
      if (stmt == NULL)
        return FALSE;

      for (guint r = 0; r < rows; r++)
        {
          ids[done + r] = max_id + done + r + 1;
          bind_message (stmt, r * MESSAGE_INSERT_COLUMNS + 1, ids[done + r],
                        tenant_id, conversation_id, messages[done + r], now);
        }

      if (!_rfl_store_step_done (self->db, stmt, error))
        return FALSE;
    }

  return TRUE;
}

/* The embeddable ones of @messages: their positions and texts. */
static void
collect_embeddable (RflMessage * const *messages,
                    guint               n,
                    GArray             *positions,
                    GPtrArray          *texts)
{
  for (guint i = 0; i < n; i++)
    {
      if (!is_embeddable (messages[i]->role, messages[i]->status))
        continue;
      g_array_append_val (positions, i);
      g_ptr_array_add (texts, messages[i]->content);
    }
}

/* Stores the vectors of the embeddable messages, now that they have ids;
 * @task is NULL with a remote embedder. */
static gboolean
store_vectors (RflChatStore   *self,
               gint64          tenant_id,
               RflEmbedTask   *task,
               const GArray   *positions,
               const gint64   *ids,
               GError        **error)
{
  g_autofree gint64 *owner_ids = NULL;

  if (task == NULL)
    return TRUE;

  owner_ids = g_new (gint64, MAX (positions->len, 1));
  for (guint i = 0; i < positions->len; i++)
    owner_ids[i] = ids[g_array_index (positions, guint, i)];

  return _rfl_vector_store_embed_finish (self->vectors, task, tenant_id,
                                         RFL_VECTOR_KIND_MESSAGE, owner_ids,
                                         error);
}

gboolean
rfl_chat_store_append_messages (RflChatStore        *self,
                                gint64               tenant_id,
                                gint64               conversation_id,
                                RflMessage * const  *messages,
                                guint                n,
                                gint64              *out_ids,
                                GError             **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflEmbedTask) task = NULL;
  g_autoptr(GArray) positions = NULL;
  g_autoptr(GPtrArray) texts = NULL;
  g_autofree gint64 *ids = NULL;
  gint64 now;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (messages != NULL || n == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n > RFL_CHAT_STORE_MAX_BATCH)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("At most %d messages can be added at once"),
                   RFL_CHAT_STORE_MAX_BATCH);
      return FALSE;
    }

  /* Everything is checked before anything is written. */
  for (guint i = 0; i < n; i++)
    {
      g_return_val_if_fail (messages[i] != NULL, FALSE);
      if (!check_message (messages[i], error))
        return FALSE;
    }

  if (!_rfl_store_txn_begin (&txn, self->db, error)
      || !check_conversation (self, tenant_id, conversation_id, TRUE, error))
    return FALSE;

  /* The vectors are made while the rows are written. */
  positions = g_array_new (FALSE, FALSE, sizeof (guint));
  texts = g_ptr_array_new ();
  if (self->vectors != NULL)
    {
      collect_embeddable (messages, n, positions, texts);
      task = _rfl_vector_store_embed_start (self->vectors,
                                            (const char * const *) texts->pdata,
                                            texts->len);
    }

  ids = g_new0 (gint64, MAX (n, 1));
  now = _rfl_store_now_ms ();

  if (!insert_messages (self, tenant_id, conversation_id, messages, n, now,
                        ids, error))
    return FALSE;

  if (!store_vectors (self, tenant_id, g_steal_pointer (&task), positions,
                      ids, error)
      || (n > 0 && !touch_conversation (self, tenant_id, conversation_id,
                                        error))
      || !_rfl_store_txn_commit (&txn, error))
    return FALSE;

  _rfl_vector_store_after_write (self->vectors);

  if (out_ids != NULL && n > 0)
    memcpy (out_ids, ids, n * sizeof (gint64));
  return TRUE;
}

gint64
rfl_chat_store_append_message (RflChatStore      *self,
                               gint64             tenant_id,
                               gint64             conversation_id,
                               const RflMessage  *message,
                               GError           **error)
{
  RflMessage *messages[1] = { (RflMessage *) message };
  gint64 id = 0;

  g_return_val_if_fail (message != NULL, 0);

  if (!rfl_chat_store_append_messages (self, tenant_id, conversation_id,
                                       messages, 1, &id, error))
    return 0;

  return id;
}

RflMessage *
rfl_chat_store_get_message (RflChatStore  *self,
                            gint64         tenant_id,
                            gint64         message_id,
                            GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _rfl_database_prepare (self->db, message_get_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, message_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return read_message (stmt);

  if (rc == SQLITE_DONE)
    g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                         _("The message does not exist"));
  else
    _rfl_database_set_error (self->db, rc, error);
  return NULL;
}

GPtrArray *
rfl_chat_store_list_messages (RflChatStore  *self,
                              gint64         tenant_id,
                              gint64         conversation_id,
                              gint64         before_id,
                              guint          limit,
                              GError       **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_page (limit, error)
      || !check_conversation (self, tenant_id, conversation_id, FALSE, error))
    return NULL;

  stmt = _rfl_database_prepare (self->db, message_list_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, conversation_id);
  sqlite3_bind_int64 (stmt, 3, before_id > 0 ? before_id : G_MAXINT64);
  sqlite3_bind_int64 (stmt, 4, limit);

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_message_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (messages, read_message (stmt));

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  /* Oldest first. */
  for (guint i = 0, j = messages->len; i + 1 < j; i++, j--)
    {
      gpointer swap = messages->pdata[i];

      messages->pdata[i] = messages->pdata[j - 1];
      messages->pdata[j - 1] = swap;
    }

  return g_steal_pointer (&messages);
}

static gboolean
set_not_streaming (GError **error)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The answer does not exist or has already "
                         "ended"));
  return FALSE;
}

gboolean
rfl_chat_store_append_delta (RflChatStore  *self,
                             gint64         tenant_id,
                             gint64         message_id,
                             const char    *delta,
                             GError       **error)
{
  gboolean changed;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_content (delta, error))
    return FALSE;

  if (*delta == '\0')
    return TRUE;

  if (!run_update (self, message_delta_sql, tenant_id, message_id, delta,
                   _rfl_store_now_ms (), &changed, error))
    return FALSE;

  return changed || set_not_streaming (error);
}

/* Ends a streaming message, appending @tail (may be "") to it. */
static gboolean
finish_message (RflChatStore      *self,
                gint64             tenant_id,
                gint64             message_id,
                const char        *tail,
                RflMessageStatus   status,
                guint              tokens_in,
                guint              tokens_out,
                const char        *error_message,
                GError           **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *content = NULL;
  gint64 conversation_id;
  guint role = 0;
  int rc;

  if (!_rfl_store_txn_begin (&txn, self->db, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, message_finish_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, message_id);
  sqlite3_bind_text (stmt, 3, tail, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, status_names[status], -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 5, tokens_in);
  sqlite3_bind_int64 (stmt, 6, tokens_out);
  _rfl_store_bind_text (stmt, 7, error_message);
  sqlite3_bind_int64 (stmt, 8, _rfl_store_now_ms ());

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return set_not_streaming (error);
  if (rc != SQLITE_ROW)
    return _rfl_database_set_error (self->db, rc, error);

  conversation_id = sqlite3_column_int64 (stmt, 0);
  lookup_name (role_names, G_N_ELEMENTS (role_names),
               (const char *) sqlite3_column_text (stmt, 1), &role);
  content = _rfl_store_dup_column_text (stmt, 2);

  /* RETURNING hands its rows out before the statement completes. */
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);
  _rfl_cached_stmt_release (g_steal_pointer (&stmt));

  if (self->vectors != NULL && is_embeddable (role, status)
      && !_rfl_vector_store_put_text (self->vectors, tenant_id,
                                      RFL_VECTOR_KIND_MESSAGE, message_id,
                                      content, error))
    return FALSE;

  if (!touch_conversation (self, tenant_id, conversation_id, error)
      || !_rfl_store_txn_commit (&txn, error))
    return FALSE;

  _rfl_vector_store_after_write (self->vectors);
  return TRUE;
}

gboolean
rfl_chat_store_finish_message (RflChatStore      *self,
                               gint64             tenant_id,
                               gint64             message_id,
                               RflMessageStatus   status,
                               guint              tokens_in,
                               guint              tokens_out,
                               const char        *error_message,
                               GError           **error)
{
  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (status == RFL_MESSAGE_STATUS_STREAMING
      || (guint) status >= G_N_ELEMENTS (status_names))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("An answer ends as complete, interrupted or "
                             "failed"));
      return FALSE;
    }

  if (error_message != NULL && !g_utf8_validate (error_message, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The error message is not valid text"));
      return FALSE;
    }

  return finish_message (self, tenant_id, message_id, "", status, tokens_in,
                         tokens_out, error_message, error);
}

/* Streaming answers ----------------------------------------------------- */

struct _RflChatStream
{
  RflChatStore *store;          /* owned */
  gint64        tenant_id;
  gint64        message_id;
  GString      *content;        /* owned: everything so far */
  gsize         flushed;        /* bytes of content in the database */
  gint64        last_flush;     /* monotonic µs */
  guint         interval_ms;
  gsize         max_pending;
  gboolean      ended;
};

RflChatStream *
rfl_chat_store_begin_stream (RflChatStore  *self,
                             gint64         tenant_id,
                             gint64         conversation_id,
                             const char    *model,
                             GError       **error)
{
  g_autoptr(RflMessage) message = NULL;
  RflChatStream *stream;
  gint64 id;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = rfl_message_new (RFL_MESSAGE_ROLE_ASSISTANT, "");
  message->status = RFL_MESSAGE_STATUS_STREAMING;
  message->model = g_strdup (model);

  /* The row exists, committed, before the first delta arrives. */
  id = rfl_chat_store_append_message (self, tenant_id, conversation_id,
                                      message, error);
  if (id == 0)
    return NULL;

  stream = g_new0 (RflChatStream, 1);
  stream->store = g_object_ref (self);
  stream->tenant_id = tenant_id;
  stream->message_id = id;
  stream->content = g_string_new (NULL);
  stream->last_flush = g_get_monotonic_time ();
  stream->interval_ms = RFL_CHAT_STREAM_DEFAULT_INTERVAL_MS;
  stream->max_pending = RFL_CHAT_STREAM_DEFAULT_PENDING_BYTES;

  return stream;
}

gint64
rfl_chat_stream_get_message_id (RflChatStream *stream)
{
  g_return_val_if_fail (stream != NULL, 0);

  return stream->message_id;
}

const char *
rfl_chat_stream_get_content (RflChatStream *stream)
{
  g_return_val_if_fail (stream != NULL, NULL);

  return stream->content->str;
}

void
rfl_chat_stream_set_flush_policy (RflChatStream *stream,
                                  guint          interval_ms,
                                  gsize          max_pending_bytes)
{
  g_return_if_fail (stream != NULL);

  stream->interval_ms = interval_ms;
  stream->max_pending = max_pending_bytes;
}

static gboolean
check_stream_open (RflChatStream  *stream,
                   GError        **error)
{
  if (!stream->ended)
    return TRUE;

  return set_not_streaming (error);
}

gboolean
rfl_chat_stream_flush (RflChatStream  *stream,
                       GError        **error)
{
  const char *pending;

  g_return_val_if_fail (stream != NULL, FALSE);

  if (!check_stream_open (stream, error))
    return FALSE;

  stream->last_flush = g_get_monotonic_time ();
  if (stream->flushed == stream->content->len)
    return TRUE;

  pending = stream->content->str + stream->flushed;
  if (!rfl_chat_store_append_delta (stream->store, stream->tenant_id,
                                    stream->message_id, pending, error))
    return FALSE;

  stream->flushed = stream->content->len;
  return TRUE;
}

gboolean
rfl_chat_stream_append (RflChatStream  *stream,
                        const char     *delta,
                        GError        **error)
{
  gint64 elapsed_ms;

  g_return_val_if_fail (stream != NULL, FALSE);

  if (!check_stream_open (stream, error) || !check_content (delta, error))
    return FALSE;

  if (stream->content->len + strlen (delta) > RFL_CHAT_STORE_MAX_CONTENT_BYTES)
    {
      g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                   _("The message is too long: the limit is %d MiB"),
                   RFL_CHAT_STORE_MAX_CONTENT_BYTES / (1024 * 1024));
      return FALSE;
    }

  g_string_append (stream->content, delta);

  elapsed_ms = (g_get_monotonic_time () - stream->last_flush) / 1000;
  if (stream->content->len - stream->flushed >= stream->max_pending
      || elapsed_ms >= stream->interval_ms)
    return rfl_chat_stream_flush (stream, error);

  return TRUE;
}

static gboolean
end_stream (RflChatStream     *stream,
            RflMessageStatus   status,
            guint              tokens_in,
            guint              tokens_out,
            const char        *error_message,
            GError           **error)
{
  if (!check_stream_open (stream, error))
    return FALSE;

  if (!finish_message (stream->store, stream->tenant_id, stream->message_id,
                       stream->content->str + stream->flushed, status,
                       tokens_in, tokens_out, error_message, error))
    return FALSE;

  stream->flushed = stream->content->len;
  stream->ended = TRUE;
  return TRUE;
}

gboolean
rfl_chat_stream_finish (RflChatStream  *stream,
                        guint           tokens_in,
                        guint           tokens_out,
                        GError        **error)
{
  g_return_val_if_fail (stream != NULL, FALSE);

  return end_stream (stream, RFL_MESSAGE_STATUS_COMPLETE, tokens_in,
                     tokens_out, NULL, error);
}

gboolean
rfl_chat_stream_interrupt (RflChatStream  *stream,
                           GError        **error)
{
  g_return_val_if_fail (stream != NULL, FALSE);

  return end_stream (stream, RFL_MESSAGE_STATUS_INTERRUPTED, 0, 0, NULL,
                     error);
}

gboolean
rfl_chat_stream_fail (RflChatStream  *stream,
                      const char     *error_message,
                      GError        **error)
{
  g_return_val_if_fail (stream != NULL, FALSE);

  if (error_message != NULL && !g_utf8_validate (error_message, -1, NULL))
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The error message is not valid text"));
      return FALSE;
    }

  return end_stream (stream, RFL_MESSAGE_STATUS_ERROR, 0, 0, error_message,
                     error);
}

void
rfl_chat_stream_free (RflChatStream *stream)
{
  g_autoptr(GError) error = NULL;

  if (stream == NULL)
    return;

  if (!stream->ended && !rfl_chat_stream_interrupt (stream, &error))
    g_warning ("The answer %" G_GINT64_FORMAT " could not be marked "
               "interrupted: %s", stream->message_id, error->message);

  g_object_unref (stream->store);
  g_string_free (stream->content, TRUE);
  g_free (stream);
}

/* Usage ----------------------------------------------------------------- */

static gboolean
check_usage_record (RflChatStore          *self,
                    gint64                 tenant_id,
                    const RflUsageRecord  *record,
                    GError               **error)
{
  if (!check_model (record->model, TRUE, error)
      || !check_provider (record->provider, error))
    return FALSE;

  if (record->user_id != 0
      && !_rfl_store_check_user (self->db, tenant_id, record->user_id, error))
    return FALSE;

  if (record->conversation_id != 0
      && !check_conversation (self, tenant_id, record->conversation_id, FALSE,
                              error))
    return FALSE;

  if (record->api_key_id != 0)
    {
      g_autoptr(RflCachedStmt) stmt = NULL;
      int rc;

      stmt = _rfl_database_prepare (self->db, api_key_of_tenant_sql, error);
      if (stmt == NULL)
        return FALSE;

      sqlite3_bind_int64 (stmt, 1, record->api_key_id);
      sqlite3_bind_int64 (stmt, 2, tenant_id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        {
          g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                               _("The API key does not exist"));
          return FALSE;
        }
      if (rc != SQLITE_ROW)
        return _rfl_database_set_error (self->db, rc, error);
    }

  if (record->priced && record->cost_micro_usd > G_MAXINT64)
    {
      g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
                           _("The cost of the call is too large"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_tenant (RflChatStore  *self,
              gint64         tenant_id,
              GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db, tenant_exists_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return TRUE;
  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_NOT_FOUND,
                       _("The tenant does not exist"));
  return FALSE;
}

gboolean
rfl_chat_store_record_usage (RflChatStore          *self,
                             gint64                 tenant_id,
                             const RflUsageRecord  *record,
                             GError               **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autofree char *model = NULL;
  g_autofree char *provider = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (record != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tenant (self, tenant_id, error)
      || !check_usage_record (self, tenant_id, record, error))
    return FALSE;

  model = g_strstrip (g_strdup (record->model));
  provider = g_strstrip (g_strdup (record->provider));

  stmt = _rfl_database_prepare (self->db, usage_insert_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  if (record->user_id != 0)
    sqlite3_bind_int64 (stmt, 2, record->user_id);
  if (record->conversation_id != 0)
    sqlite3_bind_int64 (stmt, 3, record->conversation_id);
  sqlite3_bind_text (stmt, 4, model, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, provider, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 6, record->tokens_in);
  sqlite3_bind_int64 (stmt, 7, record->tokens_out);
  sqlite3_bind_int64 (stmt, 8, record->latency_ms);
  sqlite3_bind_int64 (stmt, 9, record->created_at > 0 ? record->created_at
                                                      : _rfl_store_now_ms ());
  if (record->api_key_id != 0)
    sqlite3_bind_int64 (stmt, 10, record->api_key_id);
  if (record->priced)
    sqlite3_bind_int64 (stmt, 11, (gint64) record->cost_micro_usd);

  return _rfl_store_step_done (self->db, stmt, error);
}

/* Columns 3 to 8 of both usage reports: count, tokens in and out,
 * latency, cost and calls without a price. */
static void
read_usage_numbers (sqlite3_stmt *stmt,
                    guint64      *n_calls,
                    guint64      *tokens_in,
                    guint64      *tokens_out,
                    guint64      *latency_ms,
                    guint64      *cost_micro_usd,
                    guint64      *n_unpriced)
{
  guint64 *numbers[] = {
    n_calls, tokens_in, tokens_out, latency_ms, cost_micro_usd, n_unpriced,
  };

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    *numbers[i] = (guint64) sqlite3_column_int64 (stmt, 3 + (int) i);
}

GPtrArray *
rfl_chat_store_sum_usage (RflChatStore  *self,
                          gint64         tenant_id,
                          gint64         user_id,
                          gint64         since,
                          gint64         until,
                          GError       **error)
{
  g_autoptr(GPtrArray) sums = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _rfl_database_prepare (self->db, usage_sum_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, since);
  sqlite3_bind_int64 (stmt, 4, until);

  sums = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_usage_sum_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflUsageSum *sum = g_new0 (RflUsageSum, 1);

      sum->day = _rfl_store_dup_column_text (stmt, 0);
      sum->provider = _rfl_store_dup_column_text (stmt, 1);
      sum->model = _rfl_store_dup_column_text (stmt, 2);
      read_usage_numbers (stmt, &sum->n_calls, &sum->tokens_in,
                          &sum->tokens_out, &sum->latency_ms,
                          &sum->cost_micro_usd, &sum->n_unpriced);
      g_ptr_array_add (sums, sum);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&sums);
}

void
rfl_usage_breakdown_free (RflUsageBreakdown *self)
{
  if (self == NULL)
    return;

  g_free (self->label);
  g_free (self->detail);
  g_free (self);
}

gboolean
rfl_usage_group_from_string (const char    *str,
                             RflUsageGroup *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (usage_group_names); i++)
    {
      if (g_strcmp0 (str, usage_group_names[i]) == 0)
        {
          *out = (RflUsageGroup) i;
          return TRUE;
        }
    }

  return FALSE;
}

const char *
rfl_usage_group_to_string (RflUsageGroup group)
{
  g_return_val_if_fail (group < G_N_ELEMENTS (usage_group_names), NULL);

  return usage_group_names[group];
}

GPtrArray *
rfl_chat_store_usage_breakdown (RflChatStore   *self,
                                gint64          tenant_id,
                                RflUsageGroup   group,
                                gint64          since,
                                gint64          until,
                                GError        **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (group < G_N_ELEMENTS (usage_breakdown_sql), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _rfl_database_prepare (self->db, usage_breakdown_sql[group], error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_int64 (stmt, 2, since);
  sqlite3_bind_int64 (stmt, 3, until);

  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_usage_breakdown_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RflUsageBreakdown *row = g_new0 (RflUsageBreakdown, 1);

      row->label = _rfl_store_dup_column_text (stmt, 0);
      row->id = sqlite3_column_int64 (stmt, 1);
      if (sqlite3_column_type (stmt, 2) != SQLITE_NULL)
        row->detail = _rfl_store_dup_column_text (stmt, 2);
      read_usage_numbers (stmt, &row->n_calls, &row->tokens_in,
                          &row->tokens_out, &row->latency_ms,
                          &row->cost_micro_usd, &row->n_unpriced);
      g_ptr_array_add (rows, row);
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&rows);
}

/* Tool permissions ------------------------------------------------------ */

/* Reading and computing are safe; reaching out of the machine is the
 * tenant's decision. */
static const char * const tool_names[] = {
  "calculator", "current_time", "memory_save", "memory_search",
  "web_fetch", "web_search", NULL,
};

static const gboolean tool_enabled[] = {
  TRUE, TRUE, TRUE, TRUE,
  FALSE, FALSE,
};

#define N_KNOWN_TOOLS G_N_ELEMENTS (tool_enabled)

G_STATIC_ASSERT (G_N_ELEMENTS (tool_names) == N_KNOWN_TOOLS + 1);

const char * const *
rfl_chat_store_get_known_tools (void)
{
  return tool_names;
}

gboolean
rfl_chat_store_get_tool_default (const char *tool)
{
  guint i;

  return lookup_name (tool_names, N_KNOWN_TOOLS, tool, &i) && tool_enabled[i];
}

static gboolean
check_tool_name (const char  *tool,
                 GError     **error)
{
  gsize len = tool != NULL ? strlen (tool) : 0;
  gboolean valid = len >= 1 && len <= MAX_TOOL_NAME
                   && g_ascii_islower (tool[0]);

  for (gsize i = 0; valid && i < len; i++)
    {
      char c = tool[i];

      valid = g_ascii_islower (c) || g_ascii_isdigit (c)
              || c == '_' || c == '.' || c == '-';
    }

  if (valid)
    return TRUE;

  g_set_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT,
               _("The tool name is not valid: use 1 to %d characters of "
                 "a–z, 0–9, “_”, “.” and “-”, starting with a letter"),
               MAX_TOOL_NAME);
  return FALSE;
}

gboolean
rfl_chat_store_set_tool_enabled (RflChatStore  *self,
                                 gint64         tenant_id,
                                 const char    *tool,
                                 gboolean       enabled,
                                 GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tool_name (tool, error) || !check_tenant (self, tenant_id, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, tool_set_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, tool, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 3, !!enabled);
  sqlite3_bind_int64 (stmt, 4, _rfl_store_now_ms ());

  return _rfl_store_step_done (self->db, stmt, error);
}

gboolean
rfl_chat_store_reset_tool (RflChatStore  *self,
                           gint64         tenant_id,
                           const char    *tool,
                           GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tool_name (tool, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, tool_reset_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, tool, -1, SQLITE_STATIC);

  return _rfl_store_step_done (self->db, stmt, error);
}

gboolean
rfl_chat_store_get_tool_enabled (RflChatStore  *self,
                                 gint64         tenant_id,
                                 const char    *tool,
                                 gboolean      *out_enabled,
                                 GError       **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  gboolean enabled;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), FALSE);
  g_return_val_if_fail (out_enabled != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out_enabled = FALSE;
  if (!check_tool_name (tool, error))
    return FALSE;

  stmt = _rfl_database_prepare (self->db, tool_get_sql, error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  sqlite3_bind_text (stmt, 2, tool, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    enabled = sqlite3_column_int (stmt, 0) != 0;
  else if (rc == SQLITE_DONE)
    enabled = rfl_chat_store_get_tool_default (tool);
  else
    return _rfl_database_set_error (self->db, rc, error);

  *out_enabled = enabled;
  return TRUE;
}

static RflToolPermission *
tool_permission_new (const char *tool,
                     gboolean    enabled,
                     gboolean    is_default)
{
  RflToolPermission *permission = g_new0 (RflToolPermission, 1);

  permission->tool = g_strdup (tool);
  permission->enabled = enabled;
  permission->is_default = is_default;
  return permission;
}

GPtrArray *
rfl_chat_store_list_tool_permissions (RflChatStore  *self,
                                      gint64         tenant_id,
                                      GError       **error)
{
  g_autoptr(GPtrArray) permissions = NULL;
  g_autoptr(GPtrArray) others = NULL;
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_CHAT_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  permissions = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_tool_permission_free);
  others = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_tool_permission_free);

  for (guint i = 0; i < N_KNOWN_TOOLS; i++)
    g_ptr_array_add (permissions,
                     tool_permission_new (tool_names[i], tool_enabled[i],
                                          TRUE));

  stmt = _rfl_database_prepare (self->db, tool_list_sql, error);
  if (stmt == NULL)
    return NULL;

  sqlite3_bind_int64 (stmt, 1, tenant_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *tool = (const char *) sqlite3_column_text (stmt, 0);
      gboolean enabled = sqlite3_column_int (stmt, 1) != 0;
      guint i;

      if (lookup_name (tool_names, N_KNOWN_TOOLS, tool, &i))
        {
          RflToolPermission *permission = g_ptr_array_index (permissions, i);

          permission->enabled = enabled;
          permission->is_default = FALSE;
        }
      else
        {
          g_ptr_array_add (others, tool_permission_new (tool, enabled, FALSE));
        }
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  g_ptr_array_extend_and_steal (permissions, g_steal_pointer (&others));
  return g_steal_pointer (&permissions);
}
