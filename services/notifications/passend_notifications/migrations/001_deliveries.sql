-- The delivery queue: one row per message id, written in the same transaction as the
-- NotificationScheduled event, so the primary key is what makes scheduling happen once.
-- Status moves pending -> attempting -> sent | pending (retry) | parked; the events in the
-- store are the record of it, this table is the work list the delivery worker claims from.
CREATE TABLE deliveries (
    message_id         uuid        PRIMARY KEY,
    swv                text        NOT NULL,
    case_id            uuid        NOT NULL,
    channel            text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient_role     text        NOT NULL,
    recipient_id       text        NOT NULL,
    template           text        NOT NULL,
    -- E-mail: the event facts the template may show (already reduced to those).
    facts              jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- Webhook: the CloudEvent as it will be delivered, byte-stable across attempts.
    body               jsonb,
    caused_by_event    uuid        NOT NULL,
    correlation_id     text        NOT NULL,
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'attempting', 'sent', 'parked')),
    attempts           integer     NOT NULL DEFAULT 0,
    -- Attempts since the last operator replay; the retry policy counts these.
    round_attempts     integer     NOT NULL DEFAULT 0,
    due_at             timestamptz NOT NULL,
    -- While attempting: another worker may take the message over after this moment,
    -- treating the attempt in flight as "maybe sent".
    lease_until        timestamptz,
    -- A claim took the message over from an attempt whose outcome is unknown (the worker
    -- stopped mid-send): the recipient may already have it. Sticky for the audit record.
    maybe_delivered    boolean     NOT NULL DEFAULT false,
    last_error         text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'attempting';
CREATE INDEX deliveries_case ON deliveries (swv, case_id);

-- Where a recipient id is reached. Addresses are personal data: they live here, per SWV,
-- never in events, and an entry can be erased. Functional mailboxes
-- (education_specialist, team_no:<region>, route_coach) are entries like any other.
CREATE TABLE contacts (
    swv            text        NOT NULL,
    recipient_id   text        NOT NULL,
    email          text        NOT NULL,
    display_name   text,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (swv, recipient_id)
);

-- A parent's personal consent link for one case (W10), handed over by intake; never on
-- the bus.
CREATE TABLE personal_links (
    swv            text        NOT NULL,
    case_id        uuid        NOT NULL,
    recipient_id   text        NOT NULL,
    link           text        NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (swv, case_id, recipient_id)
);

-- The people of a case as learnt from consumed events (ids only): the IB and the parents,
-- for rules whose event doesn't name them. Merged, so any event order gives one result.
CREATE TABLE case_people (
    swv          text        NOT NULL,
    case_id      uuid        NOT NULL,
    ib_id        text,
    parent_refs  text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (swv, case_id)
);

-- An SWV's own wording of a template (validated against the template's placeholders).
CREATE TABLE template_overrides (
    swv         text        NOT NULL,
    template    text        NOT NULL,
    subject     text        NOT NULL,
    body        text        NOT NULL,
    updated_by  text        NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (swv, template)
);

CREATE TABLE webhook_subscriptions (
    id           uuid        PRIMARY KEY,
    swv          text        NOT NULL,
    url          text        NOT NULL,
    event_types  text[]      NOT NULL,
    secret       text        NOT NULL,
    active       boolean     NOT NULL DEFAULT true,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE INDEX webhook_subscriptions_swv ON webhook_subscriptions (swv) WHERE active;
