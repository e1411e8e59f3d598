-- Whether the tenant's integrators may see personal data in what plugins
-- produce from real leads (call records, errors, score reasons). Off until
-- an admin grants it.

ALTER TABLE tenants ADD COLUMN integrators_see_personal_data INTEGER NOT NULL DEFAULT 0;
