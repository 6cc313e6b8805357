-- 001-initial.sql: tenants, their users and installation settings.
-- Applied once under PRAGMA user_version; never edited after release.

-- "RFL1": marks the file as a Reflection database, so that a database of
-- another program is recognised and left alone.
PRAGMA application_id = 1380338737;

CREATE TABLE tenants (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  -- The name case-folded and normalised (NFKC) by the application, so that
  -- "Ärzte" and "ärzte" are the same tenant; NOCASE folds ASCII only.
  name_key    TEXT NOT NULL UNIQUE,
  slug        TEXT NOT NULL UNIQUE,
  use_case    TEXT NOT NULL DEFAULT 'custom'
              CHECK (use_case IN ('healthcare', 'business', 'privacy', 'custom')),
  status      TEXT NOT NULL DEFAULT 'active'
              CHECK (status IN ('active', 'suspended', 'deleted')),
  created_at  INTEGER NOT NULL DEFAULT (unixepoch ()),
  updated_at  INTEGER NOT NULL DEFAULT (unixepoch ())
);

CREATE TABLE users (
  id             INTEGER PRIMARY KEY,
  tenant_id      INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  email          TEXT NOT NULL COLLATE NOCASE,
  display_name   TEXT NOT NULL DEFAULT '',
  password_hash  TEXT NOT NULL,
  role           TEXT NOT NULL DEFAULT 'member'
                 CHECK (role IN ('system_admin', 'tenant_admin', 'member')),
  status         TEXT NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'disabled')),
  created_at     INTEGER NOT NULL DEFAULT (unixepoch ()),
  updated_at     INTEGER NOT NULL DEFAULT (unixepoch ()),
  UNIQUE (tenant_id, email)
);

CREATE INDEX users_tenant ON users (tenant_id);

CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL DEFAULT (unixepoch ())
);
