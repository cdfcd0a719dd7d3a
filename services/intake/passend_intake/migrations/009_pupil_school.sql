-- A school's pupil reference is the school's own numbering: two schools of one SWV may
-- both have a pupil "12345". The reference names a pupil only together with its school,
-- so two children are never one pupil (one key, one pseudonym, one erasure).
ALTER TABLE pupil_keys ADD COLUMN IF NOT EXISTS school_id text;
-- Rows from before: the school of the pupil's first request (every key is made by one).
UPDATE pupil_keys k SET school_id = first.school_id
FROM (
    SELECT DISTINCT ON (swv, data->>'pupil_ref')
           swv, data->>'pupil_ref' AS pupil_ref, data->>'school_id' AS school_id
    FROM events
    WHERE event_type = 'nl.passend.intake.RequestSubmitted.v1'
    ORDER BY swv, data->>'pupil_ref', position
) AS first
WHERE k.school_id IS NULL AND first.swv = k.swv AND first.pupil_ref = k.pupil_ref;
-- A key no request was stored with (none is made that way) keeps an empty school.
UPDATE pupil_keys SET school_id = '' WHERE school_id IS NULL;
ALTER TABLE pupil_keys ALTER COLUMN school_id SET NOT NULL;
DROP INDEX IF EXISTS pupil_keys_school_ref;
CREATE UNIQUE INDEX IF NOT EXISTS pupil_keys_school_ref ON pupil_keys (swv, school_id, school_ref);
