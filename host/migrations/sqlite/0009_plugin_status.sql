-- Whether a plugin's component is compiled and type-checked: large uploads
-- are compiled in the background, and a plugin runs only once `ready`.
-- A failed compile or type check is kept with the plugin, for its owner.

ALTER TABLE plugins ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE plugins ADD COLUMN compile_error TEXT;
