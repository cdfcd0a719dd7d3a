"""Intake's own tables: pupil keys, erasures, idempotency keys and consent links."""
