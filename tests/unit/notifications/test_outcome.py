"""Failure reasons go into events and logs, so the addresses mail servers quote are removed."""

from __future__ import annotations

from passend_notifications.channels.outcome import DeliveryFailed


def test_failure_reasons_lose_the_addresses_mail_servers_quote() -> None:
    failure = DeliveryFailed("550 5.1.1 <anna@school.test>: Recipient address rejected")
    assert failure.reason == "550 5.1.1 <<address>>: Recipient address rejected"
    assert "anna" not in str(failure)


def test_reasons_are_bounded_in_length() -> None:
    assert len(DeliveryFailed("x" * 5000).reason) == 500
