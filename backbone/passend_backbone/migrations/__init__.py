"""The backbone's own tables: events, outbox checkpoints, reactor marks, projection generations."""
