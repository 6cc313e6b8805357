-- 006-usage-keys-cost.sql: which API key made a metered call, and what it
-- cost at the prices of the moment it was made. Applied once under PRAGMA
-- user_version; never edited after release.
--
-- api_key_id is NULL for calls from the desktop and from signed-in users.
-- cost_micro_usd is in millionths of a US dollar; NULL when the price
-- table had no price for the model (calls made before this version, too).
ALTER TABLE usage ADD COLUMN api_key_id INTEGER
  REFERENCES api_keys (id) ON DELETE SET NULL;
ALTER TABLE usage ADD COLUMN cost_micro_usd INTEGER
  CHECK (cost_micro_usd IS NULL OR cost_micro_usd >= 0);

CREATE INDEX usage_tenant_key ON usage (tenant_id, api_key_id);
