-- Why a pupil was erased: on request (right to erasure), or by the retention job once
-- the retention period of the data category had passed after the case closed.
ALTER TABLE pupil_erasures
    ADD COLUMN reason   text NOT NULL DEFAULT 'request'
        CHECK (reason IN ('request', 'retention')),
    ADD COLUMN category text;
