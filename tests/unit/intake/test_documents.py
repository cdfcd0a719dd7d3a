"""A document's checks (size, type by content, readable PDF) and the rules of attaching (W22)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from passend_backbone.auth import Role
from passend_backbone.commands import Refusal
from passend_contracts.events.intake import (
    DocumentAttached,
    DocumentKind,
    DocumentRemovalReason,
    DocumentStage,
    DocumentStep,
)
from passend_intake import document_checks as checks
from passend_intake.domain.documents import (
    AttachDocument,
    DocumentsErased,
    RemoveDocument,
    attach,
    may_read_kind,
    remove,
    stage_of,
)
from passend_intake.domain.state import CaseState, RequestStatus, evolve
from tests import sample_documents as files

NOW = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (files.pdf(), checks.PDF),
        (files.docx(), checks.DOCX),
        (files.odt(), checks.ODT),
        (files.jpeg(), checks.JPEG),
        (files.png(), checks.PNG),
    ],
)
def test_each_allowed_type_is_found_in_the_content(content: bytes, media_type: str) -> None:
    assert checks.checked(content) == media_type


@pytest.mark.parametrize(
    "content",
    [b"MZ\x90\x00 an executable", b"plain text named .pdf", files.other_zip(), b"PK\x03\x04bad"],
)
def test_anything_else_is_415_whatever_its_name(content: bytes) -> None:
    with pytest.raises(checks.BadDocument) as refused:
        checks.checked(content)
    assert refused.value.status == 415 and "PDF, Word (DOCX)" in refused.value.message


def test_over_20_mb_is_413_and_empty_is_422() -> None:
    with pytest.raises(checks.BadDocument) as large:
        checks.checked(files.too_large())
    assert large.value.status == 413 and "20 MB" in large.value.message
    with pytest.raises(checks.BadDocument) as empty:
        checks.checked(b"")
    assert empty.value.status == 422


@pytest.mark.parametrize(
    ("content", "reason", "words"),
    [
        (files.encrypted_pdf(), "pdf_encrypted", "wachtwoord"),
        (files.damaged_pdf(), "pdf_damaged", "beschadigd"),
        (b"%PDF-1.4\n" + bytes(300), "pdf_damaged", "beschadigd"),
    ],
)
def test_an_encrypted_or_damaged_pdf_is_422_in_dutch(
    content: bytes, reason: str, words: str
) -> None:
    with pytest.raises(checks.BadDocument) as refused:
        checks.checked(content)
    assert (refused.value.status, refused.value.reason) == (422, reason)
    assert words in refused.value.message


def _case(**changes: object) -> CaseState:
    return CaseState(version=1, status=RequestStatus.SUBMITTED, pupil_ref="p-1").model_copy(
        update=changes
    )


def _attach(document_id: object = None, by: str = "ib-1") -> AttachDocument:
    return AttachDocument(
        case_id=uuid4(),
        document_id=document_id or uuid4(),  # type: ignore[arg-type]
        kind=DocumentKind.GROEIDOCUMENT,
        media_type=checks.PDF,
        size=10,
        sha256="0" * 64,
        attached_by=by,
        attached_by_role=Role.IB,
    )


def test_w22_a_document_is_attached_and_removed_by_who_attached_it_or_the_ib() -> None:
    command = _attach(by="ow-1")
    [attached] = attach(_case(), command, NOW)
    state = evolve(_case(), attached)
    assert state.documents == {command.document_id: "ow-1"}

    def removal(by: str, role: Role) -> RemoveDocument:
        return RemoveDocument(
            command.case_id, command.document_id, DocumentRemovalReason.REPLACED, by, role
        )

    with pytest.raises(Refusal) as refused:
        remove(state, removal("ow-2", Role.SUPPORT_WORKER), NOW)
    assert refused.value.status_code == 403
    assert remove(state, removal("ow-1", Role.SUPPORT_WORKER), NOW)
    [removed] = remove(state, removal("ib-9", Role.IB), NOW)
    gone = evolve(state, removed)
    with pytest.raises(Refusal) as again:
        remove(gone, removal("ib-9", Role.IB), NOW)
    assert again.value.status_code == 404


def test_w22_no_document_for_an_erased_pupil_or_a_withdrawn_request() -> None:
    with pytest.raises(DocumentsErased):
        attach(_case(erased_at=NOW), _attach(), NOW)
    with pytest.raises(Refusal) as refused:
        attach(_case(status=RequestStatus.WITHDRAWN), _attach(), NOW)
    assert refused.value.status_code == 409


def test_a_report_is_not_for_the_teacher_or_a_route_coach() -> None:
    assert not may_read_kind(Role.TEACHER, DocumentKind.REPORT)
    assert not may_read_kind(Role.ROUTE_COACH, DocumentKind.REPORT)
    assert may_read_kind(Role.TEACHER, DocumentKind.GROEIDOCUMENT)
    assert may_read_kind(Role.TEAM_NO_MEMBER, DocumentKind.REPORT)
    assert not may_read_kind(Role.OPERATOR, DocumentKind.OTHER)


def test_w22_a_document_is_attached_with_the_request_or_during_the_trajectory() -> None:
    request, trajectory = DocumentStage.REQUEST, DocumentStage.TRAJECTORY
    # Unsaid: as the case stands.
    assert stage_of(None, None, taken_up=False) is request
    assert stage_of(None, None, taken_up=True) is trajectory
    # A step of the trajectory implies the trajectory; the request stage stays possible
    # after the claim (the school adds what belonged with its request).
    assert stage_of(None, DocumentStep.START_CONVERSATION, taken_up=True) is trajectory
    assert stage_of(request, None, taken_up=True) is request
    with pytest.raises(Refusal) as mixed:
        stage_of(request, DocumentStep.SESSION, taken_up=True)
    assert mixed.value.status_code == 422 and mixed.value.field == "step"
    for given, step in ((trajectory, None), (None, DocumentStep.ESCALATION)):
        with pytest.raises(Refusal) as early:
            stage_of(given, step, taken_up=False)
        assert early.value.status_code == 409

    [attached] = attach(
        _case(),
        dataclasses.replace(_attach(), stage=trajectory, step=DocumentStep.START_CONVERSATION),
        NOW,
    )
    assert (attached.stage, attached.step) == (trajectory, DocumentStep.START_CONVERSATION)


def test_an_event_from_before_the_stage_reads_as_the_request_stage() -> None:
    """The field is additive: a v1 event without it was attached with the request."""
    old = dict(DocumentAttached.example or {})
    old.pop("stage"), old.pop("step")
    read = DocumentAttached.model_validate(old)
    assert read.stage is DocumentStage.REQUEST and read.step is None
