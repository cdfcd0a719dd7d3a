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

-- A municipality's webhook: an integration channel like its topic, so it gets the cases
-- of its own municipality only (region = topics.region_key of the municipality) and only
-- the allow-listed fields. The secrets are sealed (passend_notifications.secret_box);
-- during a rotation the previous secret signs too, until previous_valid_until.
CREATE TABLE webhook_subscriptions (
    id                   uuid        PRIMARY KEY,
    swv                  text        NOT NULL,
    url                  text        NOT NULL,
    municipality         text        NOT NULL,
    region               text        NOT NULL,
    event_types          text[]      NOT NULL,
    secret_sealed        bytea       NOT NULL,
    previous_sealed      bytea,
    previous_valid_until timestamptz,
    secret_rotated_at    timestamptz,
    active               boolean     NOT NULL DEFAULT true,
    created_by           text        NOT NULL,
    created_at           timestamptz NOT NULL,
    CHECK ((previous_sealed IS NULL) = (previous_valid_until IS NULL))
);

CREATE INDEX webhook_subscriptions_region ON webhook_subscriptions (swv, region) WHERE active;

-- Which municipality a case's webhook deliveries go to: set by the events that name the
-- pupil's municipality (passend_contracts.integration.municipality_named), the latest by
-- event time winning, as the gateway's case_routes.
CREATE TABLE webhook_routes (
    swv          text        NOT NULL,
    case_id      uuid        NOT NULL,
    region       text        NOT NULL,
    municipality text        NOT NULL,
    set_at       timestamptz NOT NULL,
    PRIMARY KEY (swv, case_id)
);

-- Allow-listed events (already minimised) of a case whose municipality is not known yet;
-- delivered to that municipality's subscribers once it is, then deleted.
CREATE TABLE webhook_held (
    seq        bigserial   PRIMARY KEY,
    swv        text        NOT NULL,
    case_id    uuid        NOT NULL,
    event_id   uuid        NOT NULL UNIQUE,
    event      jsonb       NOT NULL,
    held_at    timestamptz NOT NULL
);

CREATE INDEX webhook_held_case ON webhook_held (swv, case_id);
