"""Consume Passend's integration events: validated, typed, upcast, at-least-once."""

from passend_consumerkit.broker import BrokerKind, consumer_settings
from passend_consumerkit.records import InvalidMessage, Position, Received
from passend_consumerkit.subscription import (
    InvalidEventError,
    Subscription,
    subscribe,
    subscribe_thin,
)
from passend_consumerkit.thin import ReceivedThin, ThinNotification

__all__ = [
    "BrokerKind",
    "InvalidEventError",
    "InvalidMessage",
    "Position",
    "Received",
    "ReceivedThin",
    "Subscription",
    "ThinNotification",
    "consumer_settings",
    "subscribe",
    "subscribe_thin",
]
