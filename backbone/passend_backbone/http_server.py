"""Serving a service's app with uvicorn on a socket bound by the lifecycle.

Binding the socket here rather than in uvicorn is how the actual port is known when the
settings ask for port 0; uvicorn's own signal handling is off, because the lifecycle owns
SIGTERM and SIGINT and stops the parts in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port``; a clear error when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(
            f"can't listen on {host}:{port} ({exc.strerror}): set HTTP_PORT to a free port"
        ) from exc
    return sock


class Server(uvicorn.Server):
    """uvicorn without its own signal handling; ``listening`` is set once it accepts."""

    def __init__(self, app: FastAPI, *, graceful_seconds: int) -> None:
        super().__init__(
            uvicorn.Config(
                app, log_config=None, lifespan="on", timeout_graceful_shutdown=graceful_seconds
            )
        )
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.listening.set()


async def serve_http(server: Server, sock: socket.socket) -> None:
    """Serve on ``sock`` until ``server.should_exit``; a failed start is an error here."""
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        # uvicorn exits the process when the app's lifespan startup fails; here that is
        # an error of this task, handled like any other.
        raise RuntimeError(f"the HTTP server could not start (exit code {exc.code})") from None
    finally:
        sock.close()
