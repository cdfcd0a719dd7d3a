"""W18, W19, W21 over real SMTP: a signal mails its teacher and IB, a due evaluation its worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from passend_contracts.events.intake import RequestSubmitted
from passend_contracts.events.trajectory import (
    EvaluationKind,
    EvaluationReminded,
    SignalRaised,
    SignalRecipient,
    SignalTopic,
    TrajectoryOpened,
)
from passend_devstack.infra import Broker
from passend_notifications.domain.messages import case_ref

from .kit import (
    MovableClock,
    Publisher,
    case_messages,
    fresh_topics,
    notification_settings,
    register_person,
    running,
    service_settings,
    smtp_server,
    spec_for,
    wait_for_status,
)

pytestmark = pytest.mark.integration


def submitted_naming_the_teacher(case_id: uuid.UUID, teacher_id: str) -> RequestSubmitted:
    example = RequestSubmitted.example or {}
    return RequestSubmitted.model_validate(
        {**example, "case_id": str(case_id), "ib_id": "ib-7", "teacher_id": teacher_id}
    )


NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
DESCRIPTION = "Leerling Noor krijgt te korte instructie bij rekenen"


async def test_w18_w19_a_signal_mails_teacher_and_ib_once_in_dutch(
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
            # IB, teacher and worker are the directory's people; the request named the
            # teacher (intake's RequestSubmitted), so the teacher's signal reaches her.
            await register_person(bus, db_url, "ib-7", "ib@school.test", "Anna de Vries")
            await register_person(bus, db_url, "lk-sanne", "juf@school.test", "Juf Sanne")
            await register_person(bus, db_url, "w-1", "ondersteuner@swv.test")
            await bus.send(submitted_naming_the_teacher(case_id, "lk-sanne"))
            # The trajectory's own opening names the IB before any signal of the case.
            await bus.send(
                TrajectoryOpened(case_id=case_id, worker_id="w-1", opened_at=NOW, ib_id="ib-7")
            )
            signal = await bus.send(
                SignalRaised(
                    case_id=case_id,
                    signal_id=uuid.uuid4(),
                    addressed_to=[SignalRecipient.TEACHER, SignalRecipient.IB],
                    about=SignalTopic.TEACHING_PRACTICE,
                    description=DESCRIPTION,
                    raised_by="w-1",
                    raised_at=NOW,
                )
            )
            await bus.send(
                EvaluationReminded(
                    case_id=case_id,
                    kind=EvaluationKind.PLAN,
                    due_on=NOW.date(),
                    worker_id="w-1",
                    reminded_at=NOW,
                )
            )
            await wait_for_status(http, case_id, "sent", count=3)

            ref = case_ref(case_id)
            [to_ib] = smtp.sink.to("ib@school.test")
            [to_teacher] = smtp.sink.to("juf@school.test")
            [reminder] = smtp.sink.to("ondersteuner@swv.test")
            assert to_ib["Subject"] == f"Signaal over de aanpak in de klas bij hulpvraag {ref}"
            assert to_teacher["Subject"] == to_ib["Subject"]
            assert to_teacher.get_content().startswith("Beste Juf Sanne,")
            assert "signaal voor u" in to_teacher.get_content()
            assert "bepaalt de school" in to_ib.get_content()
            assert (
                reminder["Subject"]
                == f"Herinnering: evaluatie hulpvraag {ref} uiterlijk 1 maart 2027"
            )
            for mail in (to_ib, to_teacher, reminder):
                assert mail["Content-Language"] == "nl"
                # The worker's own words stay behind the link, where access is checked.
                assert "Noor" not in mail.as_string()

            # The signal redelivered: nothing new is planned or sent.
            await bus.publish(signal, topics.trajectory)
            await bus.send(
                EvaluationReminded(
                    case_id=case_id,
                    kind=EvaluationKind.OPP,
                    due_on=NOW.date(),
                    worker_id="w-1",
                    reminded_at=NOW,
                )
            )
            await wait_for_status(http, case_id, "sent", count=4)
            assert len(await case_messages(http, case_id)) == 4
            assert len(smtp.sink.to("ib@school.test")) == 1
            assert len(smtp.sink.to("juf@school.test")) == 1
            assert len(smtp.sink.to("ondersteuner@swv.test")) == 2
