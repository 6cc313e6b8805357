-- 002-chat.sql: conversations, messages, memories, embeddings, usage and
-- tool permissions. Applied once under PRAGMA user_version; never edited
-- after release.
--
-- Every time in the tables of this migration is Unix time in MILLISECONDS
-- (the first migration's are seconds), so that conversations touched in
-- the same second still sort in the order they were touched.
--
-- Rows that belong to a tenant carry tenant_id, and a row that points at
-- another tenant-owned row does so through (tenant_id, id), so that the
-- database itself refuses a message in another tenant's conversation.

-- The parent key of the (tenant_id, user_id) references below.
CREATE UNIQUE INDEX users_tenant_id ON users (tenant_id, id);

CREATE TABLE conversations (
  id          INTEGER PRIMARY KEY,
  tenant_id   INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL,
  title       TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  -- Set by a soft delete; the conversation can be restored until it is
  -- purged.
  deleted_at  INTEGER,
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
    ON DELETE CASCADE
);

CREATE INDEX conversations_user
  ON conversations (tenant_id, user_id, updated_at DESC);
CREATE INDEX conversations_deleted
  ON conversations (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE messages (
  id               INTEGER PRIMARY KEY,
  tenant_id        INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  conversation_id  INTEGER NOT NULL,
  role             TEXT NOT NULL
                   CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  -- 'streaming' while an answer arrives: its content is flushed in small
  -- transactions, and a start after a crash turns it into 'interrupted'.
  status           TEXT NOT NULL DEFAULT 'complete'
                   CHECK (status IN ('complete', 'streaming', 'interrupted',
                                     'error')),
  content          TEXT NOT NULL DEFAULT '',
  model            TEXT,
  tokens_in        INTEGER NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
  tokens_out       INTEGER NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
  -- Tool calls, tool call ids and the like, as a JSON object.
  metadata         TEXT CHECK (metadata IS NULL OR json_valid (metadata)),
  error            TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  FOREIGN KEY (tenant_id, conversation_id)
    REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX messages_conversation
  ON messages (tenant_id, conversation_id, id);
CREATE INDEX messages_streaming
  ON messages (status) WHERE status = 'streaming';

CREATE TABLE memories (
  id                 INTEGER PRIMARY KEY,
  tenant_id          INTEGER NOT NULL REFERENCES tenants (id)
                     ON DELETE CASCADE,
  user_id            INTEGER NOT NULL,
  kind               TEXT NOT NULL CHECK (kind <> ''),
  key                TEXT NOT NULL CHECK (key <> ''),
  -- The key case-folded, NFKC-normalised and with its blanks and
  -- punctuation collapsed by the application: what deduplication compares.
  key_norm           TEXT NOT NULL CHECK (key_norm <> ''),
  value              TEXT NOT NULL CHECK (value <> ''),
  importance         REAL NOT NULL DEFAULT 0.5
                     CHECK (importance >= 0 AND importance <= 1),
  confidence         REAL NOT NULL DEFAULT 1
                     CHECK (confidence >= 0 AND confidence <= 1),
  -- How many times it was stated: merges count up.
  mentions           INTEGER NOT NULL DEFAULT 1 CHECK (mentions >= 1),
  source_message_id  INTEGER REFERENCES messages (id) ON DELETE SET NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  last_used_at       INTEGER,
  UNIQUE (tenant_id, user_id, kind, key_norm),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
    ON DELETE CASCADE
);

CREATE INDEX memories_source
  ON memories (source_message_id) WHERE source_message_id IS NOT NULL;

-- One vector per owner row; embedder_id names what made it. A NULL vector
-- records that the embedder found nothing to embed (a text without words).
CREATE TABLE embeddings (
  id           INTEGER PRIMARY KEY,
  tenant_id    INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind         TEXT NOT NULL CHECK (kind <> ''),
  owner_id     INTEGER NOT NULL,
  embedder_id  TEXT NOT NULL CHECK (embedder_id <> ''),
  dims         INTEGER NOT NULL CHECK (dims > 0),
  -- float32, native byte order, dims values.
  vector       BLOB CHECK (vector IS NULL OR length (vector) = dims * 4),
  updated_at   INTEGER NOT NULL,
  UNIQUE (tenant_id, kind, owner_id)
);

CREATE TABLE usage (
  id               INTEGER PRIMARY KEY,
  tenant_id        INTEGER NOT NULL REFERENCES tenants (id)
                   ON DELETE CASCADE,
  -- Kept when the user or the conversation goes: usage is billed.
  user_id          INTEGER REFERENCES users (id) ON DELETE SET NULL,
  conversation_id  INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
  model            TEXT NOT NULL,
  provider         TEXT NOT NULL,
  tokens_in        INTEGER NOT NULL CHECK (tokens_in >= 0),
  tokens_out       INTEGER NOT NULL CHECK (tokens_out >= 0),
  latency_ms       INTEGER NOT NULL CHECK (latency_ms >= 0),
  created_at       INTEGER NOT NULL
);

CREATE INDEX usage_tenant_time ON usage (tenant_id, created_at);
CREATE INDEX usage_user ON usage (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX usage_conversation
  ON usage (conversation_id) WHERE conversation_id IS NOT NULL;

-- Only the tenant's choices; a tool without a row has its default.
CREATE TABLE tool_permissions (
  tenant_id   INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  tool        TEXT NOT NULL CHECK (tool <> ''),
  enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, tool)
) WITHOUT ROWID;

-- Full-text search. The tables hold only the index; the text stays in its
-- table, and the triggers below keep both in step. A streaming answer is
-- indexed once it stops streaming, not at every flush.

CREATE VIRTUAL TABLE conversations_fts USING fts5 (
  title,
  content = 'conversations',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations
BEGIN
  INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations
BEGIN
  INSERT INTO conversations_fts (conversations_fts, rowid, title)
    VALUES ('delete', old.id, old.title);
END;

CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations
BEGIN
  INSERT INTO conversations_fts (conversations_fts, rowid, title)
    VALUES ('delete', old.id, old.title);
  INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
  content,
  content = 'messages',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming'
BEGIN
  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.status <> 'streaming'
BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content)
    VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages
WHEN (old.status <> 'streaming' OR new.status <> 'streaming')
  AND (old.content IS NOT new.content OR old.status <> new.status)
BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content)
    SELECT 'delete', old.id, old.content WHERE old.status <> 'streaming';
  INSERT INTO messages_fts (rowid, content)
    SELECT new.id, new.content WHERE new.status <> 'streaming';
END;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
  key,
  value,
  content = 'memories',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories
BEGIN
  INSERT INTO memories_fts (rowid, key, value)
    VALUES (new.id, new.key, new.value);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories
BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, key, value)
    VALUES ('delete', old.id, old.key, old.value);
END;

CREATE TRIGGER memories_fts_update AFTER UPDATE OF key, value ON memories
BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, key, value)
    VALUES ('delete', old.id, old.key, old.value);
  INSERT INTO memories_fts (rowid, key, value)
    VALUES (new.id, new.key, new.value);
END;

-- A vector goes with the row it was made from, also when the row goes
-- through a cascade.

CREATE TRIGGER messages_embeddings_delete AFTER DELETE ON messages
BEGIN
  DELETE FROM embeddings
    WHERE tenant_id = old.tenant_id AND kind = 'message'
      AND owner_id = old.id;
END;

CREATE TRIGGER memories_embeddings_delete AFTER DELETE ON memories
BEGIN
  DELETE FROM embeddings
    WHERE tenant_id = old.tenant_id AND kind = 'memory'
      AND owner_id = old.id;
END;
