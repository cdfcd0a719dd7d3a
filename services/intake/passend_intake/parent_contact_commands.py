"""W10: correcting how a parent is reached, sealed again with the pupil's key.

The school gave the parent's e-mail address or phone number with the request; when the
consent link did not arrive because it was wrong, the IB or the support worker corrects
it. The identity is opened, the one parent's contact replaced, and the whole sealed again
inside the command's transaction; the decider (``domain.parent_contact``) says whether the
case takes it. From then on every message to the parent goes to the corrected contact
(``parent_facts`` reads the latest sealed identity of the case).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from passend_backbone.auth import Principal
from passend_backbone.commands import IdempotencyKey, Refusal, StoredAnswer
from passend_backbone.service import ServiceContext
from passend_intake import pupil_keys
from passend_intake.access import WORKERS, case_facts, command_check, require_role
from passend_intake.case_commands import accepted, run_command
from passend_intake.domain.identity import ParentContact
from passend_intake.domain.parent_contact import CorrectParentContact, require_correctable
from passend_intake.domain.state import CaseState
from passend_intake.schemas import ParentContactBody


async def correct_contact(
    ctx: ServiceContext,
    principal: Principal,
    case_id: UUID,
    parent_ref: str,
    body: ParentContactBody,
    key: IdempotencyKey | None,
    correlation_id: str,
) -> StoredAnswer:
    """W10: ``parent_ref`` is reached at ``body``'s e-mail address and phone number."""
    require_role(principal, WORKERS)
    if not body.email and not body.phone:
        raise Refusal.invalid(
            "W10",
            "a parent needs an email address or a phone number: the school must be able to "
            "ask for consent",
            field="email",
        )
    known = await case_facts(ctx.pool, principal.swv, case_id)
    swv = principal.swv

    async def prepare(tx: Any, state: CaseState) -> CorrectParentContact:
        # The case's rule first: only then is there an identity to open.
        require_correctable(state, parent_ref)
        sealed = state.encrypted_identity
        assert sealed is not None  # require_correctable: not erased
        pupil_key = await pupil_keys.key_by_id(tx, sealed.key_id)
        if pupil_key is None:  # erased a moment ago, the case not told yet
            raise Refusal.conflict("erasure", "the pupil was erased: the parents' details are gone")
        identity = pupil_keys.decrypt(sealed, pupil_key, swv, state.pupil_ref)
        # The request named this parent (require_correctable), so its identity holds them.
        before = {p.parent_ref: p for p in identity.parents}[parent_ref]
        after = ParentContact(
            parent_ref=parent_ref, name=before.name, email=body.email, phone=body.phone
        )
        if after == before:
            raise Refusal.invalid(
                "W10",
                "the parent is already reached at this contact: nothing to correct",
                field="email",
            )
        parents = [after if p.parent_ref == parent_ref else p for p in identity.parents]
        corrected = identity.model_copy(update={"parents": parents})
        return CorrectParentContact(
            case_id=case_id,
            parent_ref=parent_ref,
            corrected_by=principal.subject,
            encrypted_identity=pupil_keys.encrypt(corrected, pupil_key, swv, state.pupil_ref),
        )

    return await run_command(
        ctx.commands,
        case_id,
        prepare=prepare,
        tenant=swv,
        actor=principal.subject,
        correlation_id=correlation_id,
        now=ctx.clock(),
        key=key,
        check=command_check(principal, known),
        answer=accepted(200),
    )
