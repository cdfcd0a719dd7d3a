"""Consume Passend's integration events with FastStream: validated, typed, upcast, at-least-once."""

from passend_consumerkit.broker import BrokerKind, consumer_settings
from passend_consumerkit.delivery import (
    DeliveryPolicy,
    Failure,
    RecordFailed,
    is_transient_kafka,
)
from passend_consumerkit.records import InvalidMessage, Position, Received
from passend_consumerkit.subscription import (
    InvalidEventError,
    Subscription,
    invalid_message,
    subscribe,
    subscribe_thin,
)
from passend_consumerkit.thin import ReceivedThin, ThinNotification

__all__ = [
    "BrokerKind",
    "DeliveryPolicy",
    "Failure",
    "InvalidEventError",
    "InvalidMessage",
    "Position",
    "Received",
    "ReceivedThin",
    "RecordFailed",
    "Subscription",
    "ThinNotification",
    "consumer_settings",
    "invalid_message",
    "is_transient_kafka",
    "subscribe",
    "subscribe_thin",
]
