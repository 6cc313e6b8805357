/* rfl-audit-log.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-audit-log.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "core/rfl-error.h"
#include "rfl-store-private.h"

#define MAX_ACTION_LENGTH  64
#define MAX_TARGET_CHARS   1024
#define MAX_DETAIL_BYTES   (64 * 1024)
#define DEFAULT_LIMIT      100
#define MAX_LIMIT          1000
#define MAX_SEARCH_CHARS   200
/* Rows written to the output in one go by the export. */
#define EXPORT_CHUNK       (64 * 1024)

/* The hash the first entry follows. */
static const char genesis_hash[] =
  "0000000000000000000000000000000000000000000000000000000000000000";

static const char columns_sql[] =
  "id, created_at, tenant_id, actor_user_id, actor_api_key_id, action, "
  "target, detail, prev_hash, hash";

struct _RflAuditLog
{
  GObject      parent_instance;

  RflDatabase *db;    /* owned */
};

G_DEFINE_FINAL_TYPE (RflAuditLog, rfl_audit_log, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (RflAuditEntry, rfl_audit_entry,
                     rfl_audit_entry_copy, rfl_audit_entry_free)

/* Records */

RflAuditEntry *
rfl_audit_entry_copy (const RflAuditEntry *entry)
{
  RflAuditEntry *copy;

  g_return_val_if_fail (entry != NULL, NULL);

  copy = g_memdup2 (entry, sizeof *entry);
  copy->action = g_strdup (entry->action);
  copy->target = g_strdup (entry->target);
  copy->detail = g_strdup (entry->detail);
  copy->prev_hash = g_strdup (entry->prev_hash);
  copy->hash = g_strdup (entry->hash);

  return copy;
}

void
rfl_audit_entry_free (RflAuditEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->action);
  g_free (entry->target);
  g_free (entry->detail);
  g_free (entry->prev_hash);
  g_free (entry->hash);
  g_free (entry);
}

void
rfl_audit_verify_result_free (RflAuditVerifyResult *result)
{
  if (result == NULL)
    return;

  g_free (result->problem);
  g_free (result->last_hash);
  g_free (result);
}

/* Object */

static void
rfl_audit_log_finalize (GObject *object)
{
  RflAuditLog *self = (RflAuditLog *)object;

  g_clear_object (&self->db);

  G_OBJECT_CLASS (rfl_audit_log_parent_class)->finalize (object);
}

static void
rfl_audit_log_class_init (RflAuditLogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_audit_log_finalize;
}

static void
rfl_audit_log_init (RflAuditLog *self)
{
}

RflAuditLog *
rfl_audit_log_new (RflDatabase *db)
{
  RflAuditLog *self;

  g_return_val_if_fail (RFL_IS_DATABASE (db), NULL);

  self = g_object_new (RFL_TYPE_AUDIT_LOG, NULL);
  self->db = g_object_ref (db);

  return self;
}

/* The chain.
 *
 * An entry's hash is SHA-256 over the previous entry's hash (64 hex
 * characters) followed by the entry's canonical text:
 *
 *   "rfl-audit-v1\n" then one line per field in this order: id,
 *   created_at, tenant_id, actor_user_id, actor_api_key_id, action, target,
 *   detail; each "name=" and the value: a number in decimal, text as its
 *   length in bytes, ":" and the bytes; "~" for none.
 *
 * Text carries its length, so that no value can pass for another field, and
 * every byte of it counts, including any after a NUL. */

typedef struct
{
  gint64      id;
  gint64      created_at;
  gint64      tenant_id;          /* 0: none */
  gint64      actor_user_id;      /* 0: none */
  gint64      actor_api_key_id;   /* 0: none */
  const char *action;
  gsize       action_len;
  const char *target;             /* NULL: none */
  gsize       target_len;
  const char *detail;             /* NULL: none */
  gsize       detail_len;
} ChainRow;

static void
update_number (GChecksum  *checksum,
               const char *name,
               gint64      value,
               gboolean    present)
{
  char line[64];

  if (present)
    g_snprintf (line, sizeof line, "%s=%" G_GINT64_FORMAT "\n", name, value);
  else
    g_snprintf (line, sizeof line, "%s=~\n", name);

  g_checksum_update (checksum, (const guchar *) line, -1);
}

static void
update_text (GChecksum  *checksum,
             const char *name,
             const char *text,
             gsize       length)
{
  char head[64];

  if (text == NULL)
    {
      g_snprintf (head, sizeof head, "%s=~\n", name);
      g_checksum_update (checksum, (const guchar *) head, -1);
      return;
    }

  g_snprintf (head, sizeof head, "%s=%" G_GSIZE_FORMAT ":", name, length);
  g_checksum_update (checksum, (const guchar *) head, -1);
  g_checksum_update (checksum, (const guchar *) text, (gssize) length);
  g_checksum_update (checksum, (const guchar *) "\n", 1);
}

static char *
compute_hash (const char     *prev_hash,
              const ChainRow *row)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (checksum, (const guchar *) prev_hash, -1);
  g_checksum_update (checksum, (const guchar *) "rfl-audit-v1\n", -1);
  update_number (checksum, "id", row->id, TRUE);
  update_number (checksum, "created_at", row->created_at, TRUE);
  update_number (checksum, "tenant_id", row->tenant_id, row->tenant_id != 0);
  update_number (checksum, "actor_user_id", row->actor_user_id,
                 row->actor_user_id != 0);
  update_number (checksum, "actor_api_key_id", row->actor_api_key_id,
                 row->actor_api_key_id != 0);
  update_text (checksum, "action", row->action, row->action_len);
  update_text (checksum, "target", row->target, row->target_len);
  update_text (checksum, "detail", row->detail, row->detail_len);

  return g_strdup (g_checksum_get_string (checksum));
}

/* Appending */

static gboolean
invalid (GError     **error,
         const char  *message)
{
  g_set_error_literal (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT, message);
  return FALSE;
}

static gboolean
validate_action (const char  *action,
                 GError     **error)
{
  gsize len = action != NULL ? strlen (action) : 0;

  if (len == 0 || len > MAX_ACTION_LENGTH || !g_ascii_islower (action[0]))
    return invalid (error, _("The audit action must be 1 to 64 characters "
                             "and start with a lower-case letter"));

  for (const char *p = action; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_'
        && *p != '.')
      return invalid (error, _("The audit action may hold only lower-case "
                               "letters, digits, “_” and “.”"));

  return TRUE;
}

static gboolean
validate_detail (const char  *detail,
                 GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  gsize len;

  if (detail == NULL)
    return TRUE;

  len = strlen (detail);
  if (len > MAX_DETAIL_BYTES)
    return invalid (error, _("The audit detail is longer than 64 KiB"));

  parser = json_parser_new ();
  if (!g_utf8_validate (detail, (gssize) len, NULL)
      || !json_parser_load_from_data (parser, detail, (gssize) len, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, _("The audit detail must be a JSON object"));

  return TRUE;
}

static gboolean
validate_entry (gint64                tenant_id,
                const RflAuditActor  *actor,
                const char           *action,
                const char           *target,
                const char           *detail,
                GError              **error)
{
  if (tenant_id < 0
      || (actor != NULL && (actor->user_id < 0 || actor->api_key_id < 0)))
    return invalid (error, _("The audit entry names a tenant, user or key "
                             "that is not valid"));

  if (!validate_action (action, error))
    return FALSE;

  if (target != NULL
      && (!g_utf8_validate (target, -1, NULL)
          || g_utf8_strlen (target, -1) > MAX_TARGET_CHARS))
    return invalid (error, _("The audit target must be text of at most "
                             "1024 characters"));

  return validate_detail (detail, error);
}

/* The last entry's id, time and hash; the genesis hash when there is none. */
static gboolean
read_head (RflAuditLog  *self,
           gint64       *out_id,
           gint64       *out_created_at,
           char        **out_hash,
           GError      **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;
  int rc;

  stmt = _rfl_database_prepare (self->db,
                                "SELECT id, created_at, hash FROM audit_log "
                                "ORDER BY id DESC LIMIT 1",
                                error);
  if (stmt == NULL)
    return FALSE;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *out_id = sqlite3_column_int64 (stmt, 0);
      *out_created_at = sqlite3_column_int64 (stmt, 1);
      *out_hash = _rfl_store_dup_column_text (stmt, 2);
      if (*out_hash == NULL)
        *out_hash = g_strdup ("");
      return TRUE;
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  *out_id = 0;
  *out_created_at = 0;
  *out_hash = g_strdup (genesis_hash);
  return TRUE;
}

static void
bind_id (sqlite3_stmt *stmt,
         int           index,
         gint64        id)
{
  if (id == 0)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_int64 (stmt, index, id);
}

static gboolean
insert_row (RflAuditLog     *self,
            const ChainRow  *row,
            const char      *prev_hash,
            const char      *hash,
            GError         **error)
{
  g_autoptr(RflCachedStmt) stmt = NULL;

  stmt = _rfl_database_prepare (self->db,
                                "INSERT INTO audit_log (id, created_at, "
                                "tenant_id, actor_user_id, actor_api_key_id, "
                                "action, target, detail, prev_hash, hash) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                                "?10)",
                                error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, row->id);
  sqlite3_bind_int64 (stmt, 2, row->created_at);
  bind_id (stmt, 3, row->tenant_id);
  bind_id (stmt, 4, row->actor_user_id);
  bind_id (stmt, 5, row->actor_api_key_id);
  _rfl_store_bind_text (stmt, 6, row->action);
  _rfl_store_bind_text (stmt, 7, row->target);
  _rfl_store_bind_text (stmt, 8, row->detail);
  _rfl_store_bind_text (stmt, 9, prev_hash);
  _rfl_store_bind_text (stmt, 10, hash);

  return _rfl_store_step_done (self->db, stmt, error);
}

gint64
rfl_audit_log_append (RflAuditLog          *self,
                      gint64                tenant_id,
                      const RflAuditActor  *actor,
                      const char           *action,
                      const char           *target,
                      const char           *detail,
                      GError              **error)
{
  g_auto(RflStoreTxn) txn = { 0 };
  g_autofree char *prev_hash = NULL;
  g_autofree char *hash = NULL;
  ChainRow row = { 0 };
  gint64 last_id = 0, last_created_at = 0;

  g_return_val_if_fail (RFL_IS_AUDIT_LOG (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!validate_entry (tenant_id, actor, action, target, detail, error))
    return 0;

  if (!_rfl_store_txn_begin (&txn, self->db, error)
      || !read_head (self, &last_id, &last_created_at, &prev_hash, error))
    return 0;

  row.id = last_id + 1;
  /* Time never runs backwards along the chain, even when the clock does. */
  row.created_at = MAX (_rfl_store_now_ms (), last_created_at);
  row.tenant_id = tenant_id;
  row.actor_user_id = actor != NULL ? actor->user_id : 0;
  row.actor_api_key_id = actor != NULL ? actor->api_key_id : 0;
  row.action = action;
  row.action_len = strlen (action);
  row.target = target;
  row.target_len = target != NULL ? strlen (target) : 0;
  row.detail = detail;
  row.detail_len = detail != NULL ? strlen (detail) : 0;

  hash = compute_hash (prev_hash, &row);

  if (!insert_row (self, &row, prev_hash, hash, error)
      || !_rfl_store_txn_commit (&txn, error))
    return 0;

  return row.id;
}

/* Listing */

static gboolean
check_filter (const RflAuditFilter  *filter,
              gboolean               export,
              GError               **error)
{
  if (filter == NULL)
    return TRUE;

  if (filter->tenant_id < 0 || filter->actor_user_id < 0
      || filter->actor_api_key_id < 0 || filter->since < 0
      || filter->until < 0)
    return invalid (error, _("The audit filter holds a negative id or "
                             "time"));

  if (filter->since != 0 && filter->until != 0
      && filter->until <= filter->since)
    return invalid (error, _("The end of the time range must come after its "
                             "start"));

  if (filter->action != NULL && !validate_action (filter->action, error))
    return FALSE;

  if (filter->search != NULL
      && (!g_utf8_validate (filter->search, -1, NULL)
          || g_utf8_strlen (filter->search, -1) > MAX_SEARCH_CHARS))
    return invalid (error, _("The audit search must be text of at most 200 "
                             "characters"));

  if (!export && filter->limit > MAX_LIMIT)
    return invalid (error, _("At most 1000 audit entries can be listed at "
                             "once"));

  return TRUE;
}

static gboolean
has_search (const RflAuditFilter *filter)
{
  return filter->search != NULL && *filter->search != '\0';
}

/* "%text%" for LIKE, with "%", "_" and the backslash taken literally. */
static char *
like_pattern (const char *text)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');

  return g_string_free (pattern, FALSE);
}

/* A query for @filter: only the conditions in use are part of it, so that
 * SQLite can pick an index for them. Parameters are numbered by kind; the
 * same text is built for the same kind of filter and the statement cache
 * keeps it. */
static char *
build_query (const RflAuditFilter *filter,
             gboolean              newest_first)
{
  GString *sql = g_string_new (NULL);
  const char *joiner = " WHERE ";

  g_string_append_printf (sql, "SELECT %s FROM audit_log", columns_sql);

#define ADD_CONDITION(test, text) \
  G_STMT_START { \
    if (test) \
      { \
        g_string_append (sql, joiner); \
        g_string_append (sql, text); \
        joiner = " AND "; \
      } \
  } G_STMT_END

  ADD_CONDITION (filter->tenant_id != 0, "tenant_id = ?1");
  ADD_CONDITION (filter->action != NULL, "action = ?2");
  ADD_CONDITION (filter->actor_user_id != 0, "actor_user_id = ?3");
  ADD_CONDITION (filter->actor_api_key_id != 0, "actor_api_key_id = ?4");
  ADD_CONDITION (filter->since != 0, "created_at >= ?5");
  ADD_CONDITION (filter->until != 0, "created_at < ?6");
  ADD_CONDITION (has_search (filter),
                 "(target LIKE ?9 ESCAPE '\\' "
                 "OR actor_user_id IN (SELECT id FROM users "
                 "WHERE email LIKE ?9 ESCAPE '\\') "
                 "OR CAST (actor_user_id AS TEXT) = ?10 "
                 "OR CAST (actor_api_key_id AS TEXT) = ?10)");

#undef ADD_CONDITION

  g_string_append (sql, newest_first ? " ORDER BY id DESC"
                                     : " ORDER BY id ASC");
  g_string_append (sql, " LIMIT ?7 OFFSET ?8");

  return g_string_free (sql, FALSE);
}

static void
bind_filter (sqlite3_stmt         *stmt,
             const RflAuditFilter *filter,
             gint64                limit)
{
  if (filter->tenant_id != 0)
    sqlite3_bind_int64 (stmt, 1, filter->tenant_id);
  if (filter->action != NULL)
    _rfl_store_bind_text (stmt, 2, filter->action);
  if (filter->actor_user_id != 0)
    sqlite3_bind_int64 (stmt, 3, filter->actor_user_id);
  if (filter->actor_api_key_id != 0)
    sqlite3_bind_int64 (stmt, 4, filter->actor_api_key_id);
  if (filter->since != 0)
    sqlite3_bind_int64 (stmt, 5, filter->since);
  if (filter->until != 0)
    sqlite3_bind_int64 (stmt, 6, filter->until);
  if (has_search (filter))
    {
      sqlite3_bind_text (stmt, 9, like_pattern (filter->search), -1, g_free);
      _rfl_store_bind_text (stmt, 10, filter->search);
    }
  sqlite3_bind_int64 (stmt, 7, limit);
  sqlite3_bind_int64 (stmt, 8, filter->offset);
}

static RflAuditEntry *
read_entry (sqlite3_stmt *stmt)
{
  RflAuditEntry *entry = g_new0 (RflAuditEntry, 1);

  entry->id = sqlite3_column_int64 (stmt, 0);
  entry->created_at = sqlite3_column_int64 (stmt, 1);
  entry->tenant_id = sqlite3_column_int64 (stmt, 2);
  entry->actor_user_id = sqlite3_column_int64 (stmt, 3);
  entry->actor_api_key_id = sqlite3_column_int64 (stmt, 4);
  entry->action = _rfl_store_dup_column_text (stmt, 5);
  entry->target = _rfl_store_dup_column_text (stmt, 6);
  entry->detail = _rfl_store_dup_column_text (stmt, 7);
  entry->prev_hash = _rfl_store_dup_column_text (stmt, 8);
  entry->hash = _rfl_store_dup_column_text (stmt, 9);

  return entry;
}

/* Prepares the query for @filter; the caller steps it. */
static RflCachedStmt *
prepare_filtered (RflAuditLog           *self,
                  const RflAuditFilter  *filter,
                  gboolean               newest_first,
                  gint64                 limit,
                  GError               **error)
{
  g_autofree char *sql = build_query (filter, newest_first);
  RflCachedStmt *stmt;

  stmt = _rfl_database_prepare (self->db, sql, error);
  if (stmt != NULL)
    bind_filter (stmt, filter, limit);

  return stmt;
}

GPtrArray *
rfl_audit_log_list (RflAuditLog           *self,
                    const RflAuditFilter  *filter,
                    GError               **error)
{
  static const RflAuditFilter everything = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_AUDIT_LOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_filter (filter, FALSE, error))
    return NULL;
  if (filter == NULL)
    filter = &everything;

  stmt = prepare_filtered (self, filter, TRUE,
                           filter->limit != 0 ? (gint64) filter->limit
                                              : DEFAULT_LIMIT,
                           error);
  if (stmt == NULL)
    return NULL;

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_audit_entry_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (entries, read_entry (stmt));

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  return g_steal_pointer (&entries);
}

/* CSV */

static void
append_csv_field (GString    *out,
                  const char *text,
                  gboolean    first)
{
  if (!first)
    g_string_append_c (out, ',');

  if (text == NULL)
    return;

  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }

  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_csv_id (GString *out,
               gint64   id)
{
  g_string_append_c (out, ',');
  if (id != 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, id);
}

static char *
format_time_ms (gint64 unix_ms)
{
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *seconds = NULL;

  time = g_date_time_new_from_unix_utc (unix_ms / 1000);
  if (time == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, unix_ms);

  seconds = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", seconds, (int) (unix_ms % 1000));
}

static void
append_csv_row (GString      *out,
                sqlite3_stmt *stmt)
{
  g_autoptr(RflAuditEntry) entry = read_entry (stmt);
  g_autofree char *time = format_time_ms (entry->created_at);

  g_string_append_printf (out, "%" G_GINT64_FORMAT, entry->id);
  append_csv_field (out, time, FALSE);
  append_csv_id (out, entry->tenant_id);
  append_csv_id (out, entry->actor_user_id);
  append_csv_id (out, entry->actor_api_key_id);
  append_csv_field (out, entry->action, FALSE);
  append_csv_field (out, entry->target, FALSE);
  append_csv_field (out, entry->detail, FALSE);
  append_csv_field (out, entry->prev_hash, FALSE);
  append_csv_field (out, entry->hash, FALSE);
  g_string_append (out, "\r\n");
}

static gboolean
flush_csv (GString        *out,
           GOutputStream  *output,
           GCancellable   *cancellable,
           GError        **error)
{
  GError *local_error = NULL;

  if (out->len == 0)
    return TRUE;

  if (!g_output_stream_write_all (output, out->str, out->len, NULL,
                                  cancellable, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, local_error);
      else
        {
          g_set_error (error, RFL_ERROR, RFL_ERROR_NOT_WRITABLE,
                       _("The audit log cannot be exported: %s"),
                       local_error->message);
          g_error_free (local_error);
        }
      return FALSE;
    }

  g_string_truncate (out, 0);
  return TRUE;
}

gboolean
rfl_audit_log_export_csv (RflAuditLog           *self,
                          const RflAuditFilter  *filter,
                          GOutputStream         *output,
                          GCancellable          *cancellable,
                          GError               **error)
{
  return rfl_audit_log_export_csv_full (self, filter, output, NULL,
                                        cancellable, error);
}

gboolean
rfl_audit_log_export_csv_full (RflAuditLog           *self,
                               const RflAuditFilter  *filter,
                               GOutputStream         *output,
                               guint64               *out_n_entries,
                               GCancellable          *cancellable,
                               GError               **error)
{
  static const RflAuditFilter everything = { 0 };
  g_autoptr(RflCachedStmt) stmt = NULL;
  g_autoptr(GString) out = NULL;
  guint64 n_entries = 0;
  int rc;

  g_return_val_if_fail (RFL_IS_AUDIT_LOG (self), FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_filter (filter, TRUE, error))
    return FALSE;
  if (filter == NULL)
    filter = &everything;

  stmt = prepare_filtered (self, filter, FALSE,
                           filter->limit != 0 ? (gint64) filter->limit : -1,
                           error);
  if (stmt == NULL)
    return FALSE;

  out = g_string_sized_new (EXPORT_CHUNK + 4096);
  g_string_append (out, "id,time,tenant_id,actor_user_id,actor_api_key_id,"
                        "action,target,detail,prev_hash,hash\r\n");

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      append_csv_row (out, stmt);
      n_entries++;
      if (out->len >= EXPORT_CHUNK
          && !flush_csv (out, output, cancellable, error))
        return FALSE;
    }

  if (rc != SQLITE_DONE)
    return _rfl_database_set_error (self->db, rc, error);

  if (!flush_csv (out, output, cancellable, error))
    return FALSE;

  if (out_n_entries != NULL)
    *out_n_entries = n_entries;
  return TRUE;
}

/* Verification */

/* Text of a column with its length in bytes; NULL for SQL NULL. */
static const char *
column_bytes (sqlite3_stmt *stmt,
              int           column,
              gsize        *length)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  *length = text != NULL ? (gsize) sqlite3_column_bytes (stmt, column) : 0;
  return text;
}

static void
read_chain_row (sqlite3_stmt *stmt,
                ChainRow     *row)
{
  row->id = sqlite3_column_int64 (stmt, 0);
  row->created_at = sqlite3_column_int64 (stmt, 1);
  row->tenant_id = sqlite3_column_int64 (stmt, 2);
  row->actor_user_id = sqlite3_column_int64 (stmt, 3);
  row->actor_api_key_id = sqlite3_column_int64 (stmt, 4);
  row->action = column_bytes (stmt, 5, &row->action_len);
  row->target = column_bytes (stmt, 6, &row->target_len);
  row->detail = column_bytes (stmt, 7, &row->detail_len);

  /* NOT NULL in the schema; an emptied value must still hash. */
  if (row->action == NULL)
    {
      row->action = "";
      row->action_len = 0;
    }
}

/* Checks one entry against the hash of the one before it. Returns a
 * translated problem, or NULL when the entry is sound. */
static char *
check_chain_row (sqlite3_stmt *stmt,
                 const char   *expected_prev)
{
  g_autofree char *computed = NULL;
  g_autofree char *id = NULL;
  const char *prev_hash = (const char *) sqlite3_column_text (stmt, 8);
  const char *hash = (const char *) sqlite3_column_text (stmt, 9);
  ChainRow row;

  read_chain_row (stmt, &row);
  id = g_strdup_printf ("%" G_GINT64_FORMAT, row.id);

  if (prev_hash == NULL || !g_str_equal (prev_hash, expected_prev))
    /* Translators: %s is the number of an entry of the audit log. */
    return g_strdup_printf (_("Entry %s does not follow the entry before "
                              "it: an entry before it was removed, added or "
                              "changed"),
                            id);

  computed = compute_hash (prev_hash, &row);
  if (hash == NULL || !g_str_equal (hash, computed))
    /* Translators: %s is the number of an entry of the audit log. */
    return g_strdup_printf (_("Entry %s does not match its hash: it was "
                              "changed after it was written"),
                            id);

  return NULL;
}

RflAuditVerifyResult *
rfl_audit_log_verify (RflAuditLog   *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(RflAuditVerifyResult) result = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *expected_prev = g_strdup (genesis_hash);
  int rc;

  g_return_val_if_fail (RFL_IS_AUDIT_LOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A statement of its own: the scan is rare and long. */
  sql = g_strdup_printf ("SELECT %s FROM audit_log ORDER BY id ASC",
                         columns_sql);
  rc = sqlite3_prepare_v2 (_rfl_database_get_handle (self->db), sql, -1,
                           &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  result = g_new0 (RflAuditVerifyResult, 1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *hash;

      result->n_entries++;
      result->last_id = sqlite3_column_int64 (stmt, 0);

      if (result->broken_id == 0)
        {
          result->problem = check_chain_row (stmt, expected_prev);
          if (result->problem != NULL)
            result->broken_id = result->last_id;
        }

      hash = (const char *) sqlite3_column_text (stmt, 9);
      g_free (expected_prev);
      expected_prev = g_strdup (hash != NULL ? hash : "");

      if (result->n_entries % 4096 == 0
          && g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
    }

  if (rc != SQLITE_DONE)
    {
      _rfl_database_set_error (self->db, rc, error);
      return NULL;
    }

  if (result->last_id != 0)
    result->last_hash = g_steal_pointer (&expected_prev);

  return g_steal_pointer (&result);
}
