"""Sealing a document's content, file name and description with the pupil's key.

Each part gets its own random nonce and is bound (AES-GCM associated data) to its tenant,
pupil, document and part: a sealed content can't be passed off as another document's, or
as another pupil's. Deleting the pupil's key (erasure) leaves only ciphertext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passend_intake.pupil_keys import IdentityUnreadable, PupilKey

_NONCE_BYTES = 12
CONTENT = "content"
FILE_NAME = "file_name"
DESCRIPTION = "description"


def _aad(swv: str, pupil_ref: str, document_id: object, part: str) -> bytes:
    return f"passend-intake/document|{swv}|{pupil_ref}|{document_id}|{part}".encode()


def seal(
    plain: bytes, key: PupilKey, swv: str, pupil_ref: str, document_id: object, part: str
) -> bytes:
    """``nonce || ciphertext`` of ``plain`` under the pupil's key."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key.key).encrypt(nonce, plain, _aad(swv, pupil_ref, document_id, part))


def open_sealed(
    sealed: bytes, key: PupilKey, swv: str, pupil_ref: str, document_id: object, part: str
) -> bytes:
    """The plain bytes, or :class:`IdentityUnreadable` when they don't open (tampered)."""
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        return AESGCM(key.key).decrypt(nonce, ciphertext, _aad(swv, pupil_ref, document_id, part))
    except (InvalidTag, ValueError) as exc:
        raise IdentityUnreadable(f"document {document_id} ({part}) does not open") from exc
