-- 005-rejections.sql: requests refused by a tenant's quota, for the usage
-- report of the administration console. Applied once under PRAGMA
-- user_version; never edited after release.
--
-- limit_name is one of "requests_per_minute", "tokens_per_day",
-- "tokens_per_month", "max_concurrent"; times are Unix milliseconds.
CREATE TABLE quota_rejections (
  id          INTEGER PRIMARY KEY,
  tenant_id   INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
  limit_name  TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);

CREATE INDEX quota_rejections_tenant_time
  ON quota_rejections (tenant_id, created_at);
