-- Which region (municipality) each case belongs to, learnt from the events that name it.
-- set_at is the naming event's time: a later naming wins, whatever order topics arrive in.
CREATE TABLE case_routes (
    case_id        uuid        PRIMARY KEY,
    region         text        NOT NULL,
    municipality   text        NOT NULL,
    set_by_event   uuid        NOT NULL,
    set_at         timestamptz NOT NULL
);

-- Minimised events of cases whose region is not known yet: held, never published to a
-- guess, and released in this order once an event names the case's region.
CREATE TABLE held_events (
    seq        bigserial   PRIMARY KEY,
    event_id   uuid        NOT NULL UNIQUE,
    case_id    uuid        NOT NULL,
    event      jsonb       NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_events_case ON held_events (case_id, seq);

-- Minimised events whose region's integration topic does not exist (yet): the gateway never
-- creates a topic (an operator's `passend-ops topics apply` does), and one region's missing
-- topic must not stall every other region. Sent in this order once the topic is there
-- (passend_gateway.unpublished), counted by a gauge and alerted on until then.
CREATE TABLE unpublished_events (
    seq        bigserial   PRIMARY KEY,
    event_id   uuid        NOT NULL,
    region     text        NOT NULL,
    event      jsonb       NOT NULL,
    held_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, region)
);
CREATE INDEX unpublished_events_region ON unpublished_events (region, seq);
