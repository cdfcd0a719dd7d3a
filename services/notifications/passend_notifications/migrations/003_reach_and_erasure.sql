-- Who may see a case's messages (issue 9): the case's scoping facts, learnt from the
-- consumed events like its people, merged so any event order gives one result.
ALTER TABLE case_facts
    ADD COLUMN school_id        text,
    ADD COLUMN pupil_ref        text,
    ADD COLUMN work_unit_ids    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN workers          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN route_coaches    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN escalated_region text,
    ADD COLUMN escalated_at     timestamptz;

CREATE INDEX case_facts_pupil ON case_facts (swv, pupil_ref);

-- Pupils erased by intake (PupilErased): their parents' contact details are deleted, and
-- stay deleted when a case of theirs is learnt or a contact is offered again afterwards.
CREATE TABLE erased_pupils (
    swv        text        NOT NULL,
    pupil_ref  text        NOT NULL,
    erased_at  timestamptz NOT NULL,
    PRIMARY KEY (swv, pupil_ref)
);
SELECT passend_protect_tenant_table('erased_pupils');
