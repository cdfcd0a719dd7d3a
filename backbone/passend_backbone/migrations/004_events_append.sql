-- One round trip per append: the duplicate check, the expected-version check, the hash
-- chain link (sha256(prev_hash || canonical bytes), the canonical bytes computed by the
-- caller from the same values it stores) and one multi-row insert.
-- Outcomes: 'appended' (one row per event), 'duplicate' (an event id is already stored:
-- nothing written), 'conflict' (the stream is not at the expected version: nothing written;
-- out_version is its version). A lost race ends in the same outcomes, never in an error,
-- so a caller's transaction stays usable.
CREATE FUNCTION events_append(
    p_stream_id      text,
    p_expected       integer,
    p_event_ids      uuid[],
    p_event_types    text[],
    p_data           text[],
    p_occurred_at    timestamptz[],
    p_canonical      bytea[],
    p_swv            text,
    p_actor          text,
    p_correlation_id text,
    p_causation_id   text,
    p_on_behalf_of   text
) RETURNS TABLE (out_outcome text, out_version integer, out_position bigint,
                 out_prev_hash bytea, out_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
    head_version integer;
    prev bytea;
    prevs bytea[] := '{}';
    hashes bytea[] := '{}';
    positions bigint[];
    violated text;
BEGIN
    -- Own a transaction id before taking positions: the outbox relay relies on it.
    PERFORM pg_current_xact_id();
    IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_event_ids)) THEN
        RETURN QUERY SELECT 'duplicate'::text, NULL::integer, NULL::bigint, NULL::bytea, NULL::bytea;
        RETURN;
    END IF;
    SELECT e.stream_version, e.hash INTO head_version, prev
    FROM events e WHERE e.stream_id = p_stream_id
    ORDER BY e.stream_version DESC LIMIT 1;
    head_version := coalesce(head_version, 0);
    IF head_version <> p_expected THEN
        RETURN QUERY SELECT 'conflict'::text, head_version, NULL::bigint, NULL::bytea, NULL::bytea;
        RETURN;
    END IF;
    prev := coalesce(prev, decode(repeat('00', 32), 'hex'));
    FOR i IN 1 .. cardinality(p_event_ids) LOOP
        prevs := array_append(prevs, prev);
        prev := sha256(prev || p_canonical[i]);
        hashes := array_append(hashes, prev);
    END LOOP;
    BEGIN
        WITH inserted AS (
            INSERT INTO events (event_id, stream_id, stream_version, event_type, data, swv,
                                actor, correlation_id, causation_id, on_behalf_of,
                                occurred_at, prev_hash, hash)
            SELECT u.event_id, p_stream_id, p_expected + u.ord::integer, u.event_type,
                   u.data::jsonb, p_swv, p_actor, p_correlation_id, p_causation_id,
                   p_on_behalf_of, u.occurred_at, u.prev_hash, u.hash
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
            RETURN QUERY SELECT 'duplicate'::text, NULL::integer, NULL::bigint, NULL::bytea, NULL::bytea;
        ELSIF violated = 'events_stream_version_key' THEN
            RETURN QUERY SELECT 'conflict'::text,
                (SELECT coalesce(max(e.stream_version), 0) FROM events e
                 WHERE e.stream_id = p_stream_id),
                NULL::bigint, NULL::bytea, NULL::bytea;
        ELSE
            RAISE;
        END IF;
        RETURN;
    END;
    RETURN QUERY
    SELECT 'appended'::text, p_expected + u.ord::integer, u.position, u.prev_hash, u.hash
    FROM unnest(positions, prevs, hashes) WITH ORDINALITY AS u(position, prev_hash, hash, ord)
    ORDER BY u.ord;
END
$$;
