"""Personal-link tokens derived from the pupil's key: the same link every time it is asked for.

A parent's link is needed more than once: in the answer to the school's consent request,
in the e-mail notifications sends (and in the copy it may send again after a crash), and
on the IB's screen when the e-mail could not be delivered. So the token is not random but
derived: an HMAC, under a key derived from the pupil's own key, of what the link is for
(purpose), the tenant, the case, the parent and the event that made the link. Nobody
stores the token (only its SHA-256, in ``consent_links``); intake derives it again when it
is asked for, and only while the pupil's key exists: erasing the pupil makes every link of
theirs underivable, as it makes their identity unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import StrEnum
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from passend_intake.pupil_keys import PupilKey


class Purpose(StrEnum):
    """What a parent does with the link: answer the consent request, or withdraw consent."""

    CONSENT = "consent"
    WITHDRAWAL = "withdrawal"


def _link_key(pupil_key: PupilKey) -> bytes:
    # A key of its own for links: the pupil's key itself only ever encrypts the identity.
    derive = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"passend-intake|personal-link"
    )
    return derive.derive(pupil_key.key)


def derive(
    pupil_key: PupilKey,
    purpose: Purpose,
    swv: str,
    case_id: UUID,
    parent_ref: str,
    cause: UUID,
) -> str:
    """The token of one parent's link of one case, made by event ``cause`` (256 bits, URL-safe)."""
    message = f"{purpose.value}|{swv}|{case_id}|{parent_ref}|{cause}".encode()
    mac = hmac.new(_link_key(pupil_key), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
