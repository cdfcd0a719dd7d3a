-- Who may see a case's messages (issue 9): the case's scoping facts, learnt from the
-- consumed events and merged by passend_backbone.auth.case_reach, so any event order gives
-- one result. The table is case_reach.table_sql('case_facts'), word for word (a unit test
-- holds the two together).
CREATE TABLE case_facts (
    swv              text NOT NULL,
    case_id          uuid NOT NULL,
    school_id        text,
    pupil_ref        text,
    work_unit_ids    text[] NOT NULL DEFAULT '{}',
    workers          text[] NOT NULL DEFAULT '{}',
    route_coaches    text[] NOT NULL DEFAULT '{}',
    escalated_region text,
    escalated_at     timestamptz,
    PRIMARY KEY (swv, case_id)
);

SELECT passend_protect_tenant_table('case_facts');
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
