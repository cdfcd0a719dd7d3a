"""Passend's shared machinery: event store, outbox relay, consumer runner, settings, logging."""
