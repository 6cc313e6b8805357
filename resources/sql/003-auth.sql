-- 003-auth.sql: API keys, login sessions with rotating refresh tokens, and
-- the audit log. Applied once under PRAGMA user_version; never edited after
-- release.
--
-- Times are Unix time in MILLISECONDS, as in 002-chat.sql. Secrets are
-- never stored: API keys and refresh tokens are kept as the lower-case hex
-- SHA-256 of the text the client holds.

-- Sign-in looks an address up in every tenant.
CREATE INDEX users_email ON users (email);

-- API keys of a tenant. The plaintext ("rfl_" + 43 base64url characters)
-- is shown once when the key is made; "prefix" keeps its first characters
-- so that people can tell their keys apart.
CREATE TABLE api_keys (
  id            INTEGER PRIMARY KEY,
  tenant_id     INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name          TEXT NOT NULL CHECK (name <> ''),
  prefix        TEXT NOT NULL CHECK (length (prefix) = 8),
  key_hash      TEXT NOT NULL UNIQUE CHECK (length (key_hash) = 64),
  -- chat = 1, publish = 2, read = 4, admin = 8.
  scopes        INTEGER NOT NULL CHECK (scopes > 0 AND scopes < 16),
  -- Kept when the user goes: who made a key stays in the audit log.
  created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  revoked_at    INTEGER,
  revoked_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
  UNIQUE (tenant_id, id)
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

-- One login: the family of refresh tokens that rotate from one sign-in.
-- "public_id" is the "sid" claim of its access tokens, so that signing out
-- ends the access tokens of the login too.
CREATE TABLE auth_sessions (
  id              INTEGER PRIMARY KEY,
  public_id       TEXT NOT NULL UNIQUE CHECK (length (public_id) >= 16),
  tenant_id       INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id         INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  last_used_at    INTEGER NOT NULL,
  revoked_at      INTEGER,
  revoked_reason  TEXT CHECK (revoked_reason IS NULL
                              OR revoked_reason IN ('logout', 'reuse',
                                                    'inactive', 'admin')),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
    ON DELETE CASCADE
);

CREATE INDEX auth_sessions_user ON auth_sessions (tenant_id, user_id);

-- Every refresh token a session was given. A token is used once: using it
-- marks it used and gives the next one; presenting a used token again
-- revokes the whole session.
CREATE TABLE refresh_tokens (
  id          INTEGER PRIMARY KEY,
  session_id  INTEGER NOT NULL REFERENCES auth_sessions (id)
              ON DELETE CASCADE,
  token_hash  TEXT NOT NULL UNIQUE CHECK (length (token_hash) = 64),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL CHECK (expires_at > created_at),
  used_at     INTEGER
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- The audit log: append-only, and chained. Each entry holds the SHA-256 of
-- the entry before it (64 zeros for the first) and its own hash over that
-- and its content, so that a changed, removed or reordered entry breaks
-- the chain. It has no foreign keys: entries outlive the tenants, users
-- and keys they name.
CREATE TABLE audit_log (
  id                INTEGER PRIMARY KEY,
  created_at        INTEGER NOT NULL,
  tenant_id         INTEGER,
  actor_user_id     INTEGER,
  actor_api_key_id  INTEGER,
  action            TEXT NOT NULL CHECK (action <> ''),
  target            TEXT,
  detail            TEXT CHECK (detail IS NULL OR json_valid (detail)),
  prev_hash         TEXT NOT NULL CHECK (length (prev_hash) = 64),
  hash              TEXT NOT NULL CHECK (length (hash) = 64)
);

CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, created_at);
CREATE INDEX audit_log_action ON audit_log (action, created_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE (ABORT, 'the audit log is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE (ABORT, 'the audit log is append-only: entries cannot be deleted');
END;
