"""A lean HTTP/1.1 client for the latency stage: JSON POSTs over kept-alive connections.

The benchmark shares the machine's cores with the services it measures, so its own cost
per command is taken out of theirs. httpx spent several milliseconds of CPU per POST
there; this client writes the request bytes and reads one ``Content-Length`` answer,
which is all the stage needs from intake. It speaks to one server and knows nothing of
redirects, chunked bodies or TLS.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class DroppedConnection(Exception):
    """The server closed a connection before its answer was complete (send again)."""


class Answer:
    """A status code and the body of one answer."""

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class JsonPoster:
    """POSTs JSON to one server; each connection carries one request at a time."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"need http://host:port, got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self._idle: list[_Connection] = []

    async def post(self, path: str, headers: dict[str, str], body: Any) -> Answer:
        """One POST; :class:`DroppedConnection` when the connection went away meanwhile."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        reader, writer = await self._connection()
        try:
            writer.write(request)
            status, body_bytes, keep = await asyncio.wait_for(_answer(reader), self.timeout)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise DroppedConnection(repr(exc)) from exc
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return Answer(status, body_bytes)

    async def _connection(self) -> _Connection:
        """An idle connection the server has not closed meanwhile, or a new one."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()  # the server's keep-alive timeout ended it
        return await asyncio.open_connection(self.host, self.port)

    async def aclose(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection stays open, from one HTTP/1.1 answer."""
    status_line = await reader.readuntil(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    keep = True
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep = False
        elif name == b"transfer-encoding":
            raise ValueError("chunked answers are not supported here")
    return status, await reader.readexactly(length), keep
