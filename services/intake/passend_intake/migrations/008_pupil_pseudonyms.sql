-- Issue 20: the school's own reference of a pupil stays here, beside the pupil's key, and
-- nowhere else. Events, read models and other services carry intake's pseudonym (the
-- ``pupil_ref`` column), so deleting this row on erasure leaves no link between a case and
-- the school's records. Rows from before keep their reference as their pseudonym.
ALTER TABLE pupil_keys ADD COLUMN IF NOT EXISTS school_ref text;
UPDATE pupil_keys SET school_ref = pupil_ref WHERE school_ref IS NULL;
ALTER TABLE pupil_keys ALTER COLUMN school_ref SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS pupil_keys_school_ref ON pupil_keys (swv, school_ref);
