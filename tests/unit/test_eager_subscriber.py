"""A batch subscriber hands records over as soon as they are fetched: no pause after an empty fetch.

FastStream 0.7's ``BatchSubscriber`` sleeps ``batch_timeout_ms`` after every fetch that
found nothing, so a record arriving then waited up to that long before its handler ran,
on every hop between services. ``passend_consumerkit.delivery.eager`` removes the pause
and keeps everything else FastStream's.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faststream.kafka import KafkaRouter
from faststream.kafka.subscriber import usecase

from passend_consumerkit import delivery
from passend_consumerkit.delivery import EagerBatchSubscriber, eager

TIMEOUT_MS = 100


class Clock:
    """A clock that only moves when the fake consumer waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeConsumer:
    """``getmany`` answers from a script; an empty answer waits out its timeout (as aiokafka's
    does) unless it is marked early."""

    def __init__(self, clock: Clock, answers: list[Any]) -> None:
        self.clock = clock
        self.answers = answers

    async def getmany(self, *, timeout_ms: int, max_records: int | None) -> Any:
        answer = self.answers.pop(0)
        if answer == "early":
            return {}
        if not answer:
            self.clock.now += timeout_ms / 1000
        return answer


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> tuple[Clock, list[float]]:
    clock = Clock()
    slept: list[float] = []

    async def pause(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(delivery, "_clock", clock)
    monkeypatch.setattr(delivery, "_pause", pause)
    monkeypatch.setattr(usecase, "anyio", SimpleNamespace(sleep=pause))
    return clock, slept


def _subscriber() -> Any:
    router = KafkaRouter()
    return router.subscriber("t", batch=True, batch_timeout_ms=TIMEOUT_MS, group_id="g")


async def test_faststreams_own_batch_subscriber_pauses_after_an_empty_fetch(
    pauses: tuple[Clock, list[float]],
) -> None:
    # What eager() is for: the library waits a whole timeout more after the fetch's own.
    clock, slept = pauses
    assert await _subscriber().get_msg(FakeConsumer(clock, [{}])) == ()
    assert slept == [TIMEOUT_MS / 1000]


async def test_an_eager_subscriber_fetches_again_at_once_after_an_empty_fetch(
    pauses: tuple[Clock, list[float]],
) -> None:
    clock, slept = pauses
    subscriber = eager(_subscriber())
    assert isinstance(subscriber, EagerBatchSubscriber)
    records = {"tp": ["r1", "r2"]}
    consumer = FakeConsumer(clock, [{}, records])
    assert await subscriber.get_msg(consumer) == ()
    assert await subscriber.get_msg(consumer) == ("r1", "r2")
    assert slept == []
    assert clock.now == 1000.0 + TIMEOUT_MS / 1000  # only the fetch's own wait


async def test_an_early_empty_fetch_waits_out_its_timeout_so_the_loop_cannot_spin(
    pauses: tuple[Clock, list[float]],
) -> None:
    clock, slept = pauses
    subscriber = eager(_subscriber())
    assert await subscriber.get_msg(FakeConsumer(clock, ["early"])) == ()
    assert slept == [TIMEOUT_MS / 1000]


def test_eager_takes_only_batch_subscribers() -> None:
    router = KafkaRouter()
    with pytest.raises(TypeError):
        eager(router.subscriber("t", group_id="g"))
