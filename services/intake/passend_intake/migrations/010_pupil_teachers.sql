-- W16: the teacher the pupil's latest request names, beside the pupil's key. A teacher's
-- sign-in (and every renewal of her session) asks which pupils are hers: this table's
-- index answers, where before every request event of the SWV was read. Erasing the pupil
-- (deleting the key's row) takes its row along.
CREATE TABLE IF NOT EXISTS pupil_teachers (
    swv        text NOT NULL,
    pupil_ref  text NOT NULL,
    teacher_id text NOT NULL,
    PRIMARY KEY (swv, pupil_ref),
    FOREIGN KEY (swv, pupil_ref) REFERENCES pupil_keys (swv, pupil_ref) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS pupil_teachers_by_teacher ON pupil_teachers (swv, teacher_id);
SELECT passend_protect_tenant_table('pupil_teachers');
-- A request that names no teacher leaves the pupil nobody's (passend_intake.pupil_teachers).
GRANT DELETE ON pupil_teachers TO passend_app;

-- Pupils from before: the teacher the latest request of the pupil's own school names.
INSERT INTO pupil_teachers (swv, pupil_ref, teacher_id)
SELECT latest.swv, latest.pupil_ref, latest.teacher_id
FROM (
    SELECT DISTINCT ON (swv, data->>'pupil_ref')
           swv, data->>'pupil_ref' AS pupil_ref, data->>'school_id' AS school_id,
           data->>'teacher_id' AS teacher_id
    FROM events
    WHERE event_type = 'nl.passend.intake.RequestSubmitted.v1'
    ORDER BY swv, data->>'pupil_ref', position DESC
) AS latest
JOIN pupil_keys k
  ON k.swv = latest.swv AND k.pupil_ref = latest.pupil_ref AND k.school_id = latest.school_id
WHERE latest.teacher_id IS NOT NULL
ON CONFLICT DO NOTHING;
