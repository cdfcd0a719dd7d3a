"""E-mail via a real SMTP server: right recipients, Dutch text, one per rule, none on redelivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from passend_backbone.consumer.rebuild import rebuild
from passend_contracts.events.assignment import (
    CaseClaimed,
    ContactDeadlineApproaching,
    ContactDeadlineMissed,
)
from passend_contracts.events.intake import (
    ConsentMethod,
    ConsentRequested,
    RequestSubmitted,
    SupportLevel,
)
from passend_contracts.events.trajectory import SupportStarted
from passend_devstack.infra import Broker
from passend_devstack.waiting import eventually
from passend_notifications.domain.messages import case_ref, message_id

from .kit import (
    OPERATOR,
    FakeParents,
    MovableClock,
    Publisher,
    case_messages,
    fresh_topics,
    notification_settings,
    register_person,
    running,
    self_signed_tls,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def claimed(case_id: uuid.UUID, ib: str = "ib-7") -> CaseClaimed:
    return CaseClaimed(case_id=case_id, school_id="s-1", ib_id=ib, worker_id="w-1", claimed_at=NOW)


async def test_w26_claim_mails_the_ib_once_in_dutch_even_when_redelivered(
    db_url: str, broker: Broker, pool: asyncpg.Pool
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        settings = notification_settings(smtp.port)
        spec = spec_for(topics, settings, clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await register_person(bus, db_url, "ib-7", "ib@school.test", "Anna de Vries")
            event = await bus.send(claimed(case_id))
            [sent] = await wait_for_status(http, case_id, "sent")

            [mail] = smtp.sink.to("ib@school.test")
            expected_id = message_id(event.id, "ib", "ib-7")
            assert sent["message_id"] == str(expected_id)
            assert (sent["recipient_role"], sent["recipient_id"]) == ("ib", "ib-7")
            assert mail["Message-ID"] == f"<{expected_id}@test.passend>"
            assert mail["Subject"] == f"Hulpvraag {case_ref(case_id)} is opgepakt"
            text = mail.get_content()
            assert text.startswith("Beste Anna de Vries,")
            assert "Binnen één werkweek neemt de onderwijsondersteuner contact met u op" in text
            assert f"https://passend.test/zaken/{case_id}" in text
            assert mail["Content-Language"] == "nl"

            # The same event again (a redelivery, a republish after a broker loss), then a
            # later event of the same case: it is on the same partition, so once its mail
            # is there the repeated claim has been handled too.
            await bus.publish(event, topics.assignment)
            await bus.send(
                ContactDeadlineApproaching(
                    case_id=case_id, responsible_worker_id="w-1", due_at=NOW, raised_at=NOW
                )
            )
            await eventually(
                lambda: _async(len(smtp.sink.to("ib@school.test")) == 2),
                what="the deadline mail to the IB",
            )
            subjects = [m["Subject"] for m in smtp.sink.to("ib@school.test")]
            assert subjects == [
                f"Hulpvraag {case_ref(case_id)} is opgepakt",
                f"Eerste contact over hulpvraag {case_ref(case_id)}",
            ]
            assert len(set(smtp.sink.message_ids())) == len(smtp.sink.messages)

            # A projection rebuild reads every event again; it shows the same, sends nothing.
            # (The worker's reminder has no address yet: it waits for its retry.)
            await wait_for_status(http, case_id, "retrying")
            before = await wait_for_status(http, case_id, "sent", count=2)
            report = await rebuild(
                service=spec.name,
                projection=spec.projections[0],
                pool=pool,
                bootstrap=broker.bootstrap_servers,
                kind=broker.kind,  # type: ignore[arg-type]
            )
            assert report.new_generation == report.old_generation + 1
            assert await case_messages(http, case_id) == before
            assert len(smtp.sink.messages) == 2


async def test_one_message_per_rule_and_recipient_with_the_parents_personal_link(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    parents = FakeParents()
    parents.add(case_id, "p-1", "ouder1@thuis.test", "M. Visser")
    parents.add(case_id, "p-2", "ouder2@thuis.test", "K. Visser")
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock, parents=parents)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await register_person(bus, db_url, "w-recv", "recv@swv.test")
            await register_person(bus, db_url, "co-1", "coordinator@swv.test")

            # W25/W26: the lapsed deadline goes to two roles, one message each.
            await bus.send(
                ContactDeadlineMissed(
                    case_id=case_id,
                    receiving_worker_id="w-recv",
                    coordinator_id="co-1",
                    due_at=NOW,
                    missed_at=NOW,
                )
            )
            # W10: each parent is asked with the link the request made for them (intake).
            request_id = uuid.uuid4()
            parents.link(case_id, "p-1", request_id, "token-of-p1-abc123")
            parents.link(case_id, "p-2", request_id, "token-of-p2-def456")
            await bus.send(
                ConsentRequested(
                    case_id=case_id,
                    requested_by="ib-7",
                    requested_at=NOW,
                    parent_refs=["p-1", "p-2"],
                    method=ConsentMethod.PERSONAL_LINK,
                    link_expires_at=NOW + timedelta(days=7),
                ),
                event_id=request_id,
            )
            await wait_for_status(http, case_id, "sent", count=4)

            assert len(smtp.sink.to("recv@swv.test")) == 1
            assert len(smtp.sink.to("coordinator@swv.test")) == 1
            [first] = smtp.sink.to("ouder1@thuis.test")
            [second] = smtp.sink.to("ouder2@thuis.test")
            assert "https://passend.test/toestemming/token-of-p1-abc123" in first.get_content()
            assert "https://passend.test/toestemming/token-of-p2-def456" in second.get_content()
            assert "def456" not in first.get_content() and "abc123" not in second.get_content()
            assert first.get_content().startswith("Beste M. Visser,")
            assert first["Subject"] == "Uw toestemming gevraagd: begeleiding van Noor"
            assert "De Havenmeester vraagt uw toestemming" in first.get_content()
            assert len(smtp.sink.messages) == 4
            # Each parent was asked of intake as the pair (case, parent), with the event.
            assert {(c, p, cause) for _, c, p, cause in parents.asked} == {
                (case_id, "p-1", request_id),
                (case_id, "p-2", request_id),
            }


async def test_r_parents_learnt_from_the_request_hear_that_support_started(
    db_url: str, broker: Broker
) -> None:
    """The start event names no parents; the request did, on another topic, earlier."""
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    parents = FakeParents()
    parents.add(case_id, "p-9", "ouder@thuis.test")
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock, parents=parents)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await bus.send(
                RequestSubmitted(
                    case_id=case_id,
                    school_id="s-1",
                    ib_id="ib-7",
                    addressed_worker_id="w-1",
                    pupil_ref="pupil-secret-ref",
                    levels=[SupportLevel.PUPIL],
                    educational_need="n",
                    tried_in_basic_support="t",
                    why_stuck="w",
                    multiple_problems=False,
                    specialist_advised=False,
                    submitted_at=NOW,
                    parent_refs=["p-9"],
                )
            )

            async def learnt() -> bool:
                row = await _fetchval(
                    db_url, "SELECT parent_refs FROM case_people WHERE case_id = $1", case_id
                )
                return row == ["p-9"]

            await eventually(learnt, what="parents learnt from the request")
            await bus.send(
                SupportStarted(case_id=case_id, individual=True, started_by="w-1", started_at=NOW)
            )
            await wait_for_status(http, case_id, "sent")
            [mail] = smtp.sink.to("ouder@thuis.test")
            assert mail["Subject"] == "De ondersteuning voor uw kind is gestart"
            assert "pupil-secret-ref" not in mail.as_string()


async def test_missing_address_is_retried_with_backoff_until_the_directory_has_it(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await bus.send(claimed(case_id, ib="ib-late"))
            [waiting] = await wait_for_status(http, case_id, "retrying")
            assert "no e-mail address for ib ib-late" in waiting["last_reason"]
            assert waiting["reason_code"] == "no_address"
            assert waiting["attempts"] == 1
            assert smtp.sink.messages == []

            await register_person(bus, db_url, "ib-late", "late@school.test")
            clock.advance(timedelta(minutes=2))  # past the first backoff step (30-60 s)
            [sent] = await wait_for_status(http, case_id, "sent")
            assert sent["attempts"] == 2
            assert len(smtp.sink.to("late@school.test")) == 1


async def test_refused_address_parks_at_once_and_an_operator_replay_delivers_it(
    db_url: str, broker: Broker
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server() as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            smtp.sink.refuse["typo@school.test"] = "550 5.1.1 no such user"
            await register_person(bus, db_url, "ib-7", "typo@school.test")
            await bus.send(claimed(case_id))
            [parked] = await wait_for_status(http, case_id, "parked")
            assert "550" in parked["last_reason"]
            assert parked["reason_code"] == "refused"
            assert parked["attempts"] == 1

            await register_person(bus, db_url, "ib-7", "ib@school.test")
            replay = await http.post(f"/messages/{parked['message_id']}/replay", headers=OPERATOR)
            assert replay.status_code == 202, replay.text
            again = await http.post(f"/messages/{parked['message_id']}/replay", headers=OPERATOR)
            assert again.status_code == 409
            await wait_for_status(http, case_id, "sent")
            assert len(smtp.sink.to("ib@school.test")) == 1
            assert all(m["status"] == "sent" for m in await case_messages(http, case_id))


async def test_smtp_authentication_is_used_when_configured(db_url: str, broker: Broker) -> None:
    clock, topics = MovableClock(), fresh_topics()
    case_id = uuid.uuid4()
    with smtp_server(login=("passend", "geheim")) as smtp:
        settings = notification_settings(smtp.port, smtp_username="passend", smtp_password="geheim")
        spec = spec_for(topics, settings, clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await register_person(bus, db_url, "ib-7", "ib@school.test")
            await bus.send(claimed(case_id))
            await wait_for_status(http, case_id, "sent")
            assert len(smtp.sink.messages) == 1


async def test_starttls_and_authentication_against_a_server_that_requires_both(
    db_url: str, broker: Broker, tmp_path: Path
) -> None:
    """STARTTLS with the server's CA configured; without STARTTLS the server refuses (530)."""
    clock, topics = MovableClock(), fresh_topics()
    tls, ca_file = self_signed_tls(tmp_path)
    case_id = uuid.uuid4()
    with smtp_server(login=("passend", "geheim"), tls=tls) as smtp:
        settings = notification_settings(
            smtp.port,
            smtp_starttls=True,
            smtp_ca_file=str(ca_file),
            smtp_username="passend",
            smtp_password="geheim",
        )
        spec = spec_for(topics, settings, clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await register_person(bus, db_url, "ib-7", "ib@school.test")
            await bus.send(claimed(case_id))
            await wait_for_status(http, case_id, "sent")
            assert len(smtp.sink.messages) == 1


async def test_plain_smtp_to_a_server_requiring_starttls_parks_with_the_reason(
    db_url: str, broker: Broker, tmp_path: Path
) -> None:
    clock, topics = MovableClock(), fresh_topics()
    tls, _ca_file = self_signed_tls(tmp_path)
    case_id = uuid.uuid4()
    with smtp_server(tls=tls) as smtp:
        spec = spec_for(topics, notification_settings(smtp.port), clock)
        async with (
            running(spec, service_settings(db_url, broker), clock) as http,
            Publisher(broker, topics) as bus,
        ):
            await register_person(bus, db_url, "ib-7", "ib@school.test")
            await bus.send(claimed(case_id))
            [parked] = await wait_for_status(http, case_id, "parked")
            assert "530" in parked["last_reason"]
            assert smtp.sink.messages == []


async def _async(value: bool) -> bool:
    return value


async def _fetchval(db_url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
