-- Personal links are derived from the pupil's key (passend_intake.link_tokens), so a link is
-- the same each time it is asked for: in the answer to the school, in the e-mail and in a
-- copy sent again. A link is for answering the consent request or for withdrawing consent,
-- and was made by one event (the request, or the confirmation it withdraws): together with
-- the case and the parent, that names the link.
ALTER TABLE consent_links
    ADD COLUMN purpose  text NOT NULL DEFAULT 'consent'
        CHECK (purpose IN ('consent', 'withdrawal')),
    ADD COLUMN cause_id uuid;
CREATE UNIQUE INDEX consent_links_by_cause
    ON consent_links (case_id, parent_ref, cause_id, purpose);
