-- Issue 17. Recipients belong to a case, and people come from the directory:
--
-- * A parent is reached through intake, which owns the parents' details: the delivery
--   worker asks intake for (case, parent) when it sends (passend_notifications.parents).
--   Nothing of a parent is kept here, so the personal links go, and no contact entry
--   can ever stand for a parent (the contacts API takes functional mailboxes only).
-- * IBs, teachers and SWV staff are the directory's people (assignment's PersonRegistered
--   and PersonDeactivated): their work address is kept by person id.
DROP TABLE personal_links;

CREATE TABLE people (
    swv           text        NOT NULL,
    person_id     text        NOT NULL,
    email         text,
    display_name  text        NOT NULL,
    registered_at timestamptz NOT NULL,
    PRIMARY KEY (swv, person_id)
);
SELECT passend_protect_tenant_table('people');

-- The teacher the request names (W18): signals for the teacher reach that person.
ALTER TABLE case_people ADD COLUMN teacher_id text;

-- One delivery loop owns a message at a time (passend_notifications.worker):
--   owner          the loop holding the message while it is 'attempting'; each loop holds
--                  a session advisory lock on its id, so when its process dies the lock
--                  goes with the connection and another loop takes the message over at
--                  once instead of after the lease;
--   maybe_copies   attempts that entered the SMTP data phase without a known outcome, or
--                  whose connection broke in it: each may have delivered one copy. A new
--                  data phase starts only while it is below 2 (the bound on copies);
--   content_sha256 what the last data phase handed over, for the record of an attempt
--                  whose outcome stayed unknown.
ALTER TABLE deliveries
    ADD COLUMN owner          uuid,
    ADD COLUMN maybe_copies   integer NOT NULL DEFAULT 0,
    ADD COLUMN content_sha256 text,
    ADD COLUMN reason_code    text;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'attempting', 'sent', 'parked', 'cancelled'));
