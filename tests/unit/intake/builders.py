"""Builders for intake's unit tests: commands and states with sensible defaults."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from passend_backbone.commands import Refusal, RefusalKind
from passend_contracts.events.intake import (
    AgreedBy,
    ConsentMethod,
    EncryptedIdentity,
    ProcessingBasis,
)
from passend_intake.domain import consent
from passend_intake.domain.identity import ParentContact, PupilIdentity
from passend_intake.domain.request import Reformulate, RequestedLevel, SubmitRequest, submit
from passend_intake.domain.state import CaseState, fold

CASE = UUID("3f2c8a4e-9b1d-4e6f-a7c5-2d8b0e4f6a13")
NOW = datetime(2026, 9, 14, 8, 30, tzinfo=UTC)
PARENT = "guardian-1f4e"
OTHER_PARENT = "guardian-2a9c"
SEALED = EncryptedIdentity(ciphertext="Y2lwaGVy", nonce="bm9uY2U=", key_id="k-1")


def submission(**changes: Any) -> SubmitRequest:
    base = SubmitRequest(
        case_id=CASE,
        school_id="school-04ab",
        ib_id="ib-7731",
        addressed_worker_id="worker-0192",
        pupil_ref="pupil-5e81c2",
        parent_refs=(PARENT, OTHER_PARENT),
        levels=(RequestedLevel.PUPIL,),
        educational_need="Needs a clear day structure.",
        tried_in_basic_support="Visual timetable for 8 weeks.",
        why_stuck="Outbursts continue.",
        multiple_problems=False,
        specialist_advised=True,
        processing_basis=ProcessingBasis.PUBLIC_TASK,
        encrypted_identity=SEALED,
    )
    return replace(base, **changes)


def submitted() -> CaseState:
    return fold(submit(CaseState(), submission(), NOW))


def consent_requested(method: ConsentMethod = ConsentMethod.START_CONVERSATION) -> CaseState:
    state = submitted()
    return fold(
        consent.request_consent(state, CASE, "ib-7731", (PARENT,), method, None, NOW), state
    )


def reformulation(**changes: Any) -> Reformulate:
    base = Reformulate(
        levels=(RequestedLevel.PUPIL, RequestedLevel.TEACHER),
        educational_need="Needs predictable transitions.",
        tried_in_basic_support="Visual timetable for 8 weeks.",
        why_stuck="The teacher lacks a way to prepare transitions.",
        agreed_by=(
            AgreedBy(role="ib", party_id="ib-7731"),
            AgreedBy(role="support_worker", party_id="worker-0192"),
        ),
        reason="The start conversation showed the question behind the question.",
    )
    return replace(base, **changes)


def identity(born: date = date(2016, 4, 12), **changes: Any) -> PupilIdentity:
    data: dict[str, Any] = {
        "name": "Sam Jansen",
        "date_of_birth": born,
        "parents": [
            ParentContact(parent_ref=PARENT, name="J. Jansen", email="j.jansen@example.nl")
        ],
    }
    data.update(changes)
    return PupilIdentity(**data)


@contextmanager
def refused_as(kind: RefusalKind) -> Iterator[pytest.ExceptionInfo[Refusal]]:
    """The block must raise a :class:`Refusal` of ``kind``."""
    with pytest.raises(Refusal) as info:
        yield info
    assert info.value.kind is kind, info.value


def invalid() -> AbstractContextManager[pytest.ExceptionInfo[Refusal]]:
    """The command itself is wrong, whatever the state (422)."""
    return refused_as(RefusalKind.INVALID)


def conflict() -> AbstractContextManager[pytest.ExceptionInfo[Refusal]]:
    """The command does not fit the case's state (409)."""
    return refused_as(RefusalKind.CONFLICT)
