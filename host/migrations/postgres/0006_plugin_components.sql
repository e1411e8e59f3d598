-- A plugin's component lives apart from its row. The row's counters change
-- with every call, and SQLite rewrites a whole row on update: with the
-- component (100 KB and more of overflow pages) inside it, counting two calls
-- per lead rewrote a quarter of a megabyte per lead.

CREATE TABLE plugin_components (
    plugin_id TEXT PRIMARY KEY REFERENCES plugins(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    component BYTEA NOT NULL
);

INSERT INTO plugin_components (plugin_id, tenant_id, component)
SELECT id, tenant_id, component FROM plugins;

ALTER TABLE plugins DROP COLUMN component;
