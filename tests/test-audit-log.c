/* test-audit-log.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "core/rfl-error.h"
#include "store/rfl-audit-log.h"
#include "store/rfl-database.h"
#include "store/rfl-database-private.h"

typedef struct
{
  RflDatabase *db;
  RflAuditLog *log;
  gint64       tenant_a;
  gint64       tenant_b;
  gint64       user_a;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_data_dir (),
                                            "reflection", "reflection.db",
                                            NULL);
  g_autoptr(GError) error = NULL;

  fixture->db = rfl_database_open (path, &error);
  g_assert_no_error (error);
  fixture->log = rfl_audit_log_new (fixture->db);

  fixture->tenant_a = rfl_database_create_tenant (fixture->db, "Alpha",
                                                  "business", &error);
  g_assert_no_error (error);
  fixture->tenant_b = rfl_database_create_tenant (fixture->db, "Beta",
                                                  "business", &error);
  g_assert_no_error (error);
  fixture->user_a = rfl_database_create_user (fixture->db, fixture->tenant_a,
                                              "ann@example.org", "Ann",
                                              "correct horse battery",
                                              RFL_ROLE_TENANT_ADMIN, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->log);
  g_clear_object (&fixture->db);
}

static gint64
append (Fixture    *fixture,
        gint64      tenant_id,
        gint64      user_id,
        const char *action,
        const char *target,
        const char *detail)
{
  RflAuditActor actor = { user_id, 0 };
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = rfl_audit_log_append (fixture->log, tenant_id,
                             user_id != 0 ? &actor : NULL, action, target,
                             detail, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

static gint64
count_entries (Fixture *fixture)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (_rfl_database_get_handle (fixture->db),
                                       "SELECT count(*) FROM audit_log", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  return sqlite3_column_int64 (stmt, 0);
}

/* Runs @sql through a connection of its own, as someone with access to
 * the file would. */
static void
raw_exec (Fixture    *fixture,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (rfl_database_get_path (fixture->db), &db),
                   ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static RflAuditVerifyResult *
verify (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  RflAuditVerifyResult *result;

  result = rfl_audit_log_verify (fixture->log, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

static void
add_five (Fixture *fixture)
{
  append (fixture, fixture->tenant_a, fixture->user_a, "login", "user:1",
          "{\"session\":\"s1\"}");
  append (fixture, fixture->tenant_a, fixture->user_a, "api_key_created",
          "api_key:1", "{\"name\":\"CI\"}");
  append (fixture, fixture->tenant_b, 0, "failed_login", "eve@example.org",
          "{\"reason\":\"unknown_email\"}");
  append (fixture, 0, 0, "tenant_created", "tenant:2", NULL);
  append (fixture, fixture->tenant_a, fixture->user_a, "logout", "user:1",
          NULL);
}

/* Tests */

static void
test_chain_verifies (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(RflAuditVerifyResult) empty = verify (fixture);
  g_autoptr(RflAuditVerifyResult) result = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  RflAuditEntry *first, *last;

  g_assert_cmpuint (empty->n_entries, ==, 0);
  g_assert_cmpint (empty->broken_id, ==, 0);
  g_assert_null (empty->last_hash);

  add_five (fixture);

  result = verify (fixture);
  g_assert_cmpuint (result->n_entries, ==, 5);
  g_assert_cmpint (result->broken_id, ==, 0);
  g_assert_null (result->problem);

  entries = rfl_audit_log_list (fixture->log, NULL, NULL);
  g_assert_cmpuint (entries->len, ==, 5);
  last = g_ptr_array_index (entries, 0);
  first = g_ptr_array_index (entries, 4);

  /* The first entry follows the all-zero hash; each follows the one
   * before it. */
  g_assert_cmpstr (first->prev_hash, ==,
                   "0000000000000000000000000000000000000000000000000000000000000000");
  for (guint i = 0; i + 1 < entries->len; i++)
    {
      RflAuditEntry *newer = g_ptr_array_index (entries, i);
      RflAuditEntry *older = g_ptr_array_index (entries, i + 1);

      g_assert_cmpstr (newer->prev_hash, ==, older->hash);
      g_assert_cmpint (newer->id, >, older->id);
      g_assert_cmpint (newer->created_at, >=, older->created_at);
      g_assert_cmpuint (strlen (newer->hash), ==, 64);
    }

  g_assert_cmpint (result->last_id, ==, last->id);
  g_assert_cmpstr (result->last_hash, ==, last->hash);
  g_assert_cmpstr (last->action, ==, "logout");
  g_assert_cmpint (last->actor_user_id, ==, fixture->user_a);
  g_assert_cmpint (last->tenant_id, ==, fixture->tenant_a);
  g_assert_null (last->detail);
}

static void
test_append_only (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAuditVerifyResult) result = NULL;

  add_five (fixture);

  g_assert_false (_rfl_database_exec (fixture->db,
                                      "UPDATE audit_log SET action = 'x' "
                                      "WHERE id = 2",
                                      &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  g_assert_nonnull (strstr (error->message, "append-only"));
  g_clear_error (&error);

  g_assert_false (_rfl_database_exec (fixture->db,
                                      "DELETE FROM audit_log WHERE id = 2",
                                      &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_DATABASE);
  g_clear_error (&error);

  /* A tenant can be removed from the database; its log stays. */
  g_assert_true (_rfl_database_exec (fixture->db,
                                     "DELETE FROM tenants WHERE name = 'Beta'",
                                     &error));
  g_assert_no_error (error);

  g_assert_cmpint (count_entries (fixture), ==, 5);
  result = verify (fixture);
  g_assert_cmpint (result->broken_id, ==, 0);
}

static void
test_tamper_update (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflAuditVerifyResult) result = NULL;

  add_five (fixture);

  /* Someone with the file drops the trigger and edits entry 3. */
  raw_exec (fixture,
            "DROP TRIGGER audit_log_no_update;"
            "UPDATE audit_log SET detail = '{\"reason\":\"wrong_password\"}' "
            "WHERE id = 3;");

  result = verify (fixture);
  g_assert_cmpuint (result->n_entries, ==, 5);
  g_assert_cmpint (result->broken_id, ==, 3);
  g_assert_nonnull (strstr (result->problem, "Entry 3"));
  g_assert_nonnull (strstr (result->problem, "changed"));
}

static void
test_tamper_rehash (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflAuditVerifyResult) result = NULL;

  add_five (fixture);

  /* Entry 2 edited and given a fresh, self-consistent hash: the entry
   * after it no longer follows it. */
  raw_exec (fixture,
            "DROP TRIGGER audit_log_no_update;"
            "UPDATE audit_log SET hash = "
            "'1111111111111111111111111111111111111111111111111111111111111111' "
            "WHERE id = 2;");

  result = verify (fixture);
  g_assert_cmpint (result->broken_id, ==, 2);

  g_clear_pointer (&result, rfl_audit_verify_result_free);
  raw_exec (fixture,
            "UPDATE audit_log SET prev_hash = "
            "'1111111111111111111111111111111111111111111111111111111111111111' "
            "WHERE id = 3;");
  result = verify (fixture);
  /* 2 stays broken: its hash no longer matches its content. */
  g_assert_cmpint (result->broken_id, ==, 2);
}

static void
test_tamper_delete (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(RflAuditVerifyResult) result = NULL;

  add_five (fixture);

  raw_exec (fixture,
            "DROP TRIGGER audit_log_no_delete;"
            "DELETE FROM audit_log WHERE id = 2;");

  result = verify (fixture);
  g_assert_cmpuint (result->n_entries, ==, 4);
  g_assert_cmpint (result->broken_id, ==, 3);
  g_assert_nonnull (strstr (result->problem, "does not follow"));
}

static void
test_tamper_hidden_bytes (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(RflAuditVerifyResult) result = NULL;

  add_five (fixture);

  /* "user:1" followed by a NUL and more: the same C string, other bytes. */
  raw_exec (fixture,
            "DROP TRIGGER audit_log_no_update;"
            "UPDATE audit_log SET target = CAST (x'757365723a310065766c' AS TEXT) "
            "WHERE id = 1;");

  result = verify (fixture);
  g_assert_cmpint (result->broken_id, ==, 1);
}

static void
test_tamper_null_vs_value (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(RflAuditVerifyResult) result = NULL;

  add_five (fixture);

  /* Entry 4 has no detail; an empty object is a change. */
  raw_exec (fixture,
            "DROP TRIGGER audit_log_no_update;"
            "UPDATE audit_log SET detail = '{}' WHERE id = 4;");

  result = verify (fixture);
  g_assert_cmpint (result->broken_id, ==, 4);
}

static void
test_bad_input (Fixture       *fixture,
                gconstpointer  data)
{
  const struct {
    const char *action;
    const char *target;
    const char *detail;
  } cases[] = {
    { NULL, NULL, NULL },
    { "", NULL, NULL },
    { "Login", NULL, NULL },
    { "1login", NULL, NULL },
    { "log in", NULL, NULL },
    { "login", "\xff\xfe", NULL },
    { "login", NULL, "not json" },
    { "login", NULL, "[1, 2]" },
    { "login", NULL, "\"text\"" },
    { "an_action_name_that_is_much_too_long_to_be_an_action_name_at_all_", NULL, NULL },
  };
  RflAuditActor negative = { -1, 0 };
  g_autofree char *long_target = g_strnfill (1025, 'x');
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 id = rfl_audit_log_append (fixture->log, fixture->tenant_a, NULL,
                                        cases[i].action, cases[i].target,
                                        cases[i].detail, &error);

      g_assert_cmpint (id, ==, 0);
      g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
      g_clear_error (&error);
    }

  g_assert_cmpint (rfl_audit_log_append (fixture->log, fixture->tenant_a,
                                         NULL, "login", long_target, NULL,
                                         &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_cmpint (rfl_audit_log_append (fixture->log, fixture->tenant_a,
                                         &negative, "login", NULL, NULL,
                                         &error), ==, 0);
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  g_assert_cmpint (count_entries (fixture), ==, 0);

  /* Names with digits, "_" and "." are fine. */
  append (fixture, 0, 0, "quota.tokens_v2", NULL, "{}");
}

static void
test_rolled_back_with_caller (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflAuditVerifyResult) result = NULL;

  append (fixture, fixture->tenant_a, 0, "tenant_created", "tenant:1", NULL);

  /* An entry written inside the caller's transaction goes with it. */
  g_assert_true (_rfl_database_exec (fixture->db, "BEGIN IMMEDIATE", &error));
  append (fixture, fixture->tenant_a, 0, "quota_changed", "tenant:1", NULL);
  g_assert_true (_rfl_database_exec (fixture->db, "ROLLBACK", &error));
  g_assert_no_error (error);

  g_assert_cmpint (count_entries (fixture), ==, 1);

  append (fixture, fixture->tenant_a, 0, "quota_changed", "tenant:1", NULL);
  result = verify (fixture);
  g_assert_cmpuint (result->n_entries, ==, 2);
  g_assert_cmpint (result->broken_id, ==, 0);
}

static guint
list_count (Fixture              *fixture,
            const RflAuditFilter *filter)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = rfl_audit_log_list (fixture->log, filter,
                                                     &error);

  g_assert_no_error (error);
  return entries->len;
}

static void
test_filters (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;
  RflAuditEntry *second, *fourth;
  gint64 key_id_entry;

  add_five (fixture);
  {
    RflAuditActor key_actor = { 0, 77 };

    key_id_entry = rfl_audit_log_append (fixture->log, fixture->tenant_a,
                                         &key_actor, "quota_changed",
                                         "tenant:1", NULL, &error);
    g_assert_no_error (error);
  }

  all = rfl_audit_log_list (fixture->log, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 6);
  g_assert_cmpint (((RflAuditEntry *) all->pdata[0])->id, ==, key_id_entry);

  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .tenant_id = fixture->tenant_a }), ==, 4);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .tenant_id = fixture->tenant_b }), ==, 1);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .action = "login" }), ==, 1);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .tenant_id = fixture->tenant_b,
                      .action = "login" }), ==, 0);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .actor_user_id = fixture->user_a }), ==, 3);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .actor_api_key_id = 77 }), ==, 1);

  /* Time range: [second, fourth). */
  second = g_ptr_array_index (all, 4);
  fourth = g_ptr_array_index (all, 2);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .since = second->created_at,
                      .until = fourth->created_at }), ==, 2);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .since = fourth->created_at }), ==, 3);

  /* Pages, newest first. */
  page = rfl_audit_log_list (fixture->log, &(RflAuditFilter) {
                               .limit = 2, .offset = 1 }, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpint (((RflAuditEntry *) page->pdata[0])->id, ==,
                   ((RflAuditEntry *) all->pdata[1])->id);
  g_assert_cmpint (((RflAuditEntry *) page->pdata[1])->id, ==,
                   ((RflAuditEntry *) all->pdata[2])->id);

  /* Bad filters are refused. */
  g_assert_null (rfl_audit_log_list (fixture->log, &(RflAuditFilter) {
                                       .limit = 1001 }, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_null (rfl_audit_log_list (fixture->log, &(RflAuditFilter) {
                                       .since = 20, .until = 10 }, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_null (rfl_audit_log_list (fixture->log, &(RflAuditFilter) {
                                       .action = "DROP TABLE" }, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

static char *
export (Fixture              *fixture,
        const RflAuditFilter *filter)
{
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  GMemoryOutputStream *memory = G_MEMORY_OUTPUT_STREAM (stream);

  g_assert_true (rfl_audit_log_export_csv (fixture->log, filter, stream, NULL,
                                           &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (stream, NULL, NULL));

  return g_strndup (g_memory_output_stream_get_data (memory),
                    g_memory_output_stream_get_data_size (memory));
}

static void
test_csv_export (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *filtered = NULL;
  g_auto(GStrv) lines = NULL;
  RflAuditEntry *entry;
  gint64 id;

  id = append (fixture, fixture->tenant_a, fixture->user_a, "user_created",
               "Smith, \"Jo\"\nline two",
               "{\"note\":\"a \\\"quoted\\\" word, and a comma\"}");

  entries = rfl_audit_log_list (fixture->log, NULL, NULL);
  entry = g_ptr_array_index (entries, 0);
  g_assert_cmpint (entry->id, ==, id);

  csv = export (fixture, NULL);

  /* CRLF line ends; quotes doubled; the line break stays inside quotes. */
  expected = g_strdup_printf ("id,time,tenant_id,actor_user_id,"
                              "actor_api_key_id,action,target,detail,"
                              "prev_hash,hash\r\n"
                              "%" G_GINT64_FORMAT ",%s,%" G_GINT64_FORMAT
                              ",%" G_GINT64_FORMAT ",,user_created,"
                              "\"Smith, \"\"Jo\"\"\nline two\","
                              "\"{\"\"note\"\":\"\"a \\\"\"quoted\\\"\" word, "
                              "and a comma\"\"}\",%s,%s\r\n",
                              id, "TIME", fixture->tenant_a, fixture->user_a,
                              entry->prev_hash, entry->hash);

  /* The time is ISO 8601 in UTC with milliseconds. */
  lines = g_strsplit (csv, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_assert_cmpstr (lines[2], ==, "");
  {
    g_autoptr(GDateTime) when = NULL;
    g_autofree char *time_text = NULL;
    g_autofree char *with_time = NULL;
    const char *start = strchr (lines[1], ',') + 1;
    const char *end = strchr (start, ',');
    GString *replaced;

    time_text = g_strndup (start, end - start);
    g_assert_true (g_str_has_suffix (time_text, "Z"));
    g_assert_cmpuint (strlen (time_text), ==, strlen ("2026-01-01T00:00:00.000Z"));
    when = g_date_time_new_from_iso8601 (time_text, NULL);
    g_assert_nonnull (when);
    g_assert_cmpint (g_date_time_to_unix (when), ==, entry->created_at / 1000);

    replaced = g_string_new (expected);
    g_string_replace (replaced, "TIME", time_text, 1);
    with_time = g_string_free (replaced, FALSE);
    g_assert_cmpstr (csv, ==, with_time);
  }

  /* A filter applies to the export too; only the header is left. */
  filtered = export (fixture, &(RflAuditFilter) { .action = "logout" });
  g_assert_cmpstr (filtered, ==,
                   "id,time,tenant_id,actor_user_id,actor_api_key_id,"
                   "action,target,detail,prev_hash,hash\r\n");
}

static void
test_export_oldest_first (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *csv = NULL;
  g_auto(GStrv) lines = NULL;

  add_five (fixture);
  csv = export (fixture, &(RflAuditFilter) { .tenant_id = fixture->tenant_a });
  lines = g_strsplit (csv, "\r\n", -1);

  /* Header, three entries of tenant A, and the empty end. */
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  g_assert_true (g_str_has_prefix (lines[1], "1,"));
  g_assert_true (g_str_has_prefix (lines[2], "2,"));
  g_assert_true (g_str_has_prefix (lines[3], "5,"));
  g_assert_nonnull (strstr (lines[1], ",login,user:1,"));
  g_assert_nonnull (strstr (lines[1], ",\"{\"\"session\"\":\"\"s1\"\"}\","));
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  g_autofree char *long_search = NULL;
  RflAuditActor key_actor = { 0, 77 };
  guint64 n_entries = 0;

  add_five (fixture);
  rfl_audit_log_append (fixture->log, fixture->tenant_a, &key_actor,
                        "quota_changed", "100%_sure\\", NULL, &error);
  g_assert_no_error (error);

  /* The target, ignoring ASCII case. */
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "EVE@" }), ==, 1);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "user:1" }), ==, 2);
  /* The acting user's e-mail. */
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "ann@example" }), ==, 3);
  /* The acting user's or key's id, whole. */
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "77" }), ==, 1);
  /* "%", "_" and the backslash are taken literally. */
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "%" }), ==, 1);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "0%_s" }), ==, 1);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "e\\" }), ==, 1);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "a_i" }), ==, 0);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "nobody" }), ==, 0);
  /* Empty searches everything; combined with other conditions. */
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "" }), ==, 6);
  g_assert_cmpuint (list_count (fixture, &(RflAuditFilter) {
                      .search = "user:1", .action = "logout" }), ==, 1);

  /* The export applies it too and counts what it wrote. */
  g_assert_true (rfl_audit_log_export_csv_full (fixture->log,
                                                &(RflAuditFilter) {
                                                  .search = "ann@" },
                                                stream, &n_entries, NULL,
                                                &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_entries, ==, 3);

  /* Too long a search is refused. */
  long_search = g_strnfill (201, 'x');
  g_assert_null (rfl_audit_log_list (fixture->log, &(RflAuditFilter) {
                                       .search = long_search }, &error));
  g_assert_error (error, RFL_ERROR, RFL_ERROR_INVALID_INPUT);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/rfl/audit-log/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("chain-verifies", test_chain_verifies);
  ADD ("append-only", test_append_only);
  ADD ("tamper-update", test_tamper_update);
  ADD ("tamper-rehash", test_tamper_rehash);
  ADD ("tamper-delete", test_tamper_delete);
  ADD ("tamper-hidden-bytes", test_tamper_hidden_bytes);
  ADD ("tamper-null-vs-value", test_tamper_null_vs_value);
  ADD ("bad-input", test_bad_input);
  ADD ("rolled-back-with-caller", test_rolled_back_with_caller);
  ADD ("filters", test_filters);
  ADD ("csv-export", test_csv_export);
  ADD ("export-oldest-first", test_export_oldest_first);
  ADD ("search", test_search);

#undef ADD

  return g_test_run ();
}
