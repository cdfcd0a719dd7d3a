-- One round trip per append: the expected-version check, the duplicate check, the hash
-- chain links and one multi-row insert. The caller computes the canonical bytes from the
-- same values it stores; it chains a new stream itself (from 32 zero bytes, p_hashes) and
-- leaves an existing stream to this function (p_canonical), which alone knows its head.
-- p_event_types and p_occurred_at hold one element when every event shares it (the usual
-- case: one kind of event, all at the time of the append), or one per event.
-- p_recorded_at is the moment of the append, which the caller's canonical bytes cover.
-- One row back. Outcomes: 'appended' (out_version is the stream's new version, with the
-- events' positions, and their prev_hash and hash when this function chained them),
-- 'duplicate' (an event id is already stored: nothing written), 'conflict' (the stream is
-- not at the expected version: nothing written; out_version is its version). A lost race
-- ends in the same outcomes, never in an error, so a caller's transaction stays usable.
CREATE FUNCTION events_append(
    p_stream_id      text,
    p_expected       integer,
    p_event_ids      uuid[],
    p_event_types    text[],
    p_data           text[],
    p_occurred_at    timestamptz[],
    p_canonical      bytea[],
    p_hashes         bytea[],
    p_swv            text,
    p_actor          text,
    p_correlation_id text,
    p_causation_id   text,
    p_on_behalf_of   text,
    p_recorded_at    timestamptz
) RETURNS TABLE (out_outcome text, out_version integer, out_positions bigint[],
                 out_prev_hashes bytea[], out_hashes bytea[])
LANGUAGE plpgsql
-- Every lookup here is by key. Plans are cached per session, and one made while the
-- table looked empty (a new store, before ANALYZE) would scan the whole table on every
-- append from then on: the duplicate check for 100 ids did, at 1 ms per append and growing.
SET enable_seqscan = off
AS $$
DECLARE
    n integer := cardinality(p_event_ids);
    head_version integer;
    prev bytea;
    prevs bytea[];
    hashes bytea[];
    positions bigint[];
    violated text;
BEGIN
    -- Own a transaction id before taking positions: the outbox relay relies on it.
    PERFORM pg_current_xact_id();
    SELECT e.stream_version, e.hash INTO head_version, prev
    FROM events e WHERE e.stream_id = p_stream_id
    ORDER BY e.stream_version DESC LIMIT 1;
    head_version := coalesce(head_version, 0);
    IF head_version <> p_expected THEN
        -- A duplicate goes before a conflict: an append retried after it succeeded finds
        -- its stream moved on by its own events.
        IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
            RETURN QUERY SELECT 'duplicate'::text, NULL::integer, NULL::bigint[], NULL::bytea[], NULL::bytea[];
        ELSE
            RETURN QUERY SELECT 'conflict'::text, head_version, NULL::bigint[], NULL::bytea[], NULL::bytea[];
        END IF;
        RETURN;
    END IF;
    -- At the expected version, an event id already stored fails the insert below on
    -- events_event_id_key: the unique index checks each id once, as it must anyway.
    prev := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    IF p_hashes IS NOT NULL THEN
        -- Chained by the caller from the genesis hash, which the version check just
        -- proved is this stream's head.
        IF p_expected <> 0 OR cardinality(p_hashes) <> n THEN
            RAISE EXCEPTION 'events_append: caller-chained hashes only start a new stream';
        END IF;
        hashes := p_hashes;
        prevs := array_prepend(prev, p_hashes[1:n - 1]);
    ELSE
        prevs := array_fill(NULL::bytea, ARRAY[n]);
        hashes := prevs;
        FOR i IN 1 .. n LOOP
            prevs[i] := prev;
            prev := sha256(prev || p_canonical[i]);
            hashes[i] := prev;
        END LOOP;
    END IF;
    BEGIN
        WITH inserted AS (
            INSERT INTO events (event_id, stream_id, stream_version, event_type, data, swv,
                                actor, correlation_id, causation_id, on_behalf_of,
                                occurred_at, recorded_at, prev_hash, hash)
            SELECT u.event_id, p_stream_id, p_expected + u.ord::integer,
                   coalesce(u.event_type, p_event_types[1]),
                   u.data::json, p_swv, p_actor, p_correlation_id, p_causation_id,
                   p_on_behalf_of, coalesce(u.occurred_at, p_occurred_at[1]), p_recorded_at,
                   u.prev_hash, u.hash
            FROM unnest(p_event_ids, p_event_types, p_data, p_occurred_at, prevs, hashes)
                 WITH ORDINALITY AS u(event_id, event_type, data, occurred_at, prev_hash,
                                      hash, ord)
            ORDER BY u.ord
            RETURNING events.position
        )
        SELECT array_agg(inserted.position ORDER BY inserted.position) INTO positions
        FROM inserted;
    EXCEPTION WHEN unique_violation THEN
        -- A concurrent append committed first; the subtransaction undid our rows.
        GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
        IF violated = 'events_event_id_key' THEN
            RETURN QUERY SELECT 'duplicate'::text, NULL::integer, NULL::bigint[], NULL::bytea[], NULL::bytea[];
        ELSIF violated = 'events_stream_version_key' THEN
            RETURN QUERY SELECT 'conflict'::text,
                (SELECT coalesce(max(e.stream_version), 0) FROM events e
                 WHERE e.stream_id = p_stream_id),
                NULL::bigint[], NULL::bytea[], NULL::bytea[];
        ELSE
            RAISE;
        END IF;
        RETURN;
    END;
    IF p_hashes IS NOT NULL THEN
        -- The caller has them.
        prevs := NULL;
        hashes := NULL;
    END IF;
    RETURN QUERY SELECT 'appended'::text, p_expected + n, positions, prevs, hashes;
END
$$;
