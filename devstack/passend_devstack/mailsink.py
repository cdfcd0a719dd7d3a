"""The dev stack's SMTP sink: every message the services send lands as a ``.eml`` file.

A real SMTP server (aiosmtpd, in a thread of ``passend-dev``) on 127.0.0.1 that accepts
every message and writes it to ``<data dir>/mail/`` as ``<UTC time>-<n>-<recipient>.eml``;
open one with any mail client, or read it with ``less``. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passend_devstack.infra import free_port, port_is_free

# The port a local mail catcher usually listens on; another one when it is taken.
PREFERRED_PORT = 1025
HOST = "127.0.0.1"


class MailFolder:
    """aiosmtpd handler: each accepted message becomes one file in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def file_name(self, recipients: list[str]) -> str:
        """``20261127T101502Z-0003-ib-marieke@example.test.eml``: sorted by arrival."""
        with self._lock:
            number = next(self._numbers)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        who = re.sub(r"[^A-Za-z0-9@._-]+", "_", recipients[0] if recipients else "nobody")
        return f"{stamp}-{number:04d}-{who[:80]}.eml"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        name = self.file_name(list(envelope.rcpt_tos))
        # Written aside and renamed, so a reader never sees half a message.
        partial = self.folder / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(self.folder / name)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class MailSink:
    """Where the sink listens and where its files go."""

    host: str
    port: int
    folder: Path

    def env(self) -> Mapping[str, str]:
        """The settings that point the notifications service at this sink (plain SMTP)."""
        return {
            "NOTIFICATIONS_SMTP_HOST": self.host,
            "NOTIFICATIONS_SMTP_PORT": str(self.port),
            "NOTIFICATIONS_SMTP_STARTTLS": "false",
            "NOTIFICATIONS_SMTP_TLS": "false",
        }


@contextlib.contextmanager
def mail_sink(folder: Path, port: int | None = None, host: str = HOST) -> Iterator[MailSink]:
    """An SMTP server writing every message into ``folder`` until the block ends."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise RuntimeError(
            "the dev mail sink needs aiosmtpd: run `make install` (or pip install passend-devstack)"
        ) from exc
    folder.mkdir(parents=True, exist_ok=True)
    if port is None:
        port = PREFERRED_PORT if port_is_free(PREFERRED_PORT, host) else free_port()
    controller = Controller(MailFolder(folder), hostname=host, port=port)
    controller.start()
    try:
        yield MailSink(host, port, folder)
    finally:
        controller.stop()
