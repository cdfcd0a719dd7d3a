"""The outbox relay: every stored event published to the service's topic, in commit order."""

from passend_backbone.relay.relay import OutboxRelay

__all__ = ["OutboxRelay"]
