-- 004-quotas.sql: each tenant's own quota limits, set in the
-- administration console. Applied once under PRAGMA user_version; never
-- edited after release.
--
-- A tenant without a row uses the installation's defaults. 0 means
-- unlimited, as in RflQuotaLimits; times are Unix milliseconds.
CREATE TABLE tenant_quotas (
  tenant_id            INTEGER PRIMARY KEY REFERENCES tenants (id)
                       ON DELETE CASCADE,
  requests_per_minute  INTEGER NOT NULL DEFAULT 0
                       CHECK (requests_per_minute >= 0),
  tokens_per_day       INTEGER NOT NULL DEFAULT 0 CHECK (tokens_per_day >= 0),
  tokens_per_month     INTEGER NOT NULL DEFAULT 0
                       CHECK (tokens_per_month >= 0),
  max_concurrent       INTEGER NOT NULL DEFAULT 0 CHECK (max_concurrent >= 0),
  updated_at           INTEGER NOT NULL
);
