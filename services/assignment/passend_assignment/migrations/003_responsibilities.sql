-- W25: who is responsible for each case now, written in the transaction that appends the
-- case's events (routing, claims, hand-overs, withdrawals), and when trajectory closed it.
-- A directory change reads it in its own transaction: a worker still responsible for open
-- cases can't leave without handing them over (issue 24).
CREATE TABLE responsibilities (
    case_id      uuid        PRIMARY KEY,
    swv          text        NOT NULL,
    worker_id    text,                   -- null until routed (a closing may arrive first)
    withdrawn_at timestamptz,
    closed_at    timestamptz
);

CREATE INDEX responsibilities_open ON responsibilities (swv, worker_id)
    WHERE withdrawn_at IS NULL AND closed_at IS NULL;

SELECT passend_protect_tenant_table('responsibilities');
