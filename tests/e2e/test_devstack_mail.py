"""In `make up` a claim mails the IB: the dev mail sink writes it as a .eml file in var/dev/mail."""

from __future__ import annotations

import email
import email.policy
import tempfile
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from passend_backbone.auth.keys import IssuerKey
from passend_backbone.auth.principal import Principal, Role
from passend_backbone.auth.tokens import mint
from passend_devstack.stack import DEV_AUDIENCE, DEV_ISSUER, issuer_dir
from passend_devstack.waiting import eventually
from tests.e2e.test_devstack import stack_up
from tests.e2e.test_intake_consent_link import _submission

pytestmark = pytest.mark.e2e

SWV = "swv-waterweg"
IB_ADDRESS = "marieke.devries@waterweg.passend.test"  # the directory (dev_directory.yaml)


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """A fresh data directory outside pytest's tmp_path (see test_devstack's ``data_dir``)."""
    with tempfile.TemporaryDirectory(prefix="passend-mail-", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp) / "dev"


def _header(data_dir: Path, principal: Principal) -> dict[str, str]:
    key = IssuerKey(issuer_dir(data_dir))
    return {
        "Authorization": f"Bearer {mint(key, principal, issuer=DEV_ISSUER, audience=DEV_AUDIENCE)}"
    }


def _mails(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


async def test_a_claim_in_the_dev_stack_leaves_the_ibs_mail_in_the_mail_folder(
    stack_dir: Path,
) -> None:
    data_dir = stack_dir
    with stack_up(data_dir, services=0, timeout=150) as stack:
        folder = data_dir / "mail"
        assert "Mail:" in stack.output and "mail" in stack.output
        intake, assignment = stack.url("intake"), stack.url("assignment")
        ib = _header(
            data_dir, Principal(subject="ib-marieke", role=Role.IB, swv=SWV, school_id="brin-11aa")
        )
        anouk = _header(
            data_dir,
            Principal(
                subject="ow-anouk", role=Role.SUPPORT_WORKER, swv=SWV, work_unit_id="wu-vlaardingen"
            ),
        )
        async with httpx.AsyncClient(timeout=10) as http:
            submitted = await http.post(
                f"{intake}/requests",
                headers={**ib, "Idempotency-Key": str(uuid.uuid4())},
                json=_submission(),
            )
            assert submitted.status_code == 201, submitted.text
            case_id = submitted.json()["case_id"]

            async def routed() -> bool:
                r = await http.get(f"{assignment}/cases/{case_id}", headers=anouk)
                return r.status_code == 200

            await eventually(routed, timeout=60, what="request routed to ow-anouk")
            claimed = await http.post(f"{assignment}/cases/{case_id}/claim", headers=anouk)
            assert claimed.status_code == 200, claimed.text

            async def ib_mail() -> list[EmailMessage] | None:
                mails = [m for m in _mails(folder) if m["To"] == IB_ADDRESS]
                return mails or None

            [mail] = await eventually(ib_mail, timeout=60, what="the IB's .eml in the mail folder")
        assert mail["Subject"].startswith("Hulpvraag ") and mail["Subject"].endswith(" is opgepakt")
        assert mail.get_content().startswith("Beste Marieke de Vries,")  # the directory's name
        assert case_id in mail.get_content()  # the link to the case
        assert not list(folder.glob(".*.partial")), "only whole messages are left in the folder"
    assert stack.process.returncode == 0, stack.output
