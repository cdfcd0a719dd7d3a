"""Ports handed to services that bind them later lie outside the kernel's ephemeral range.

A port chosen in the ephemeral range can be taken, before the service binds it, by any
process's outgoing connection; under a loaded parallel test run that made a service of
the dev stack fail to start with "address in use".
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from passend_devstack import infra


def test_the_range_ends_where_the_kernels_ephemeral_ports_begin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("40000\t60999\n")
    monkeypatch.setattr(infra, "EPHEMERAL_PORTS", ranges)
    assert infra.listening_port_range() == range(infra.LOWEST_PORT, 40000)


def test_an_unreadable_or_odd_range_falls_back_below_linuxs_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(infra, "EPHEMERAL_PORTS", tmp_path / "missing")
    assert infra.listening_port_range().stop == infra.DEFAULT_EPHEMERAL_LOW
    odd = tmp_path / "odd"
    odd.write_text("1024 65535\n")
    monkeypatch.setattr(infra, "EPHEMERAL_PORTS", odd)
    assert infra.listening_port_range().stop == infra.DEFAULT_EPHEMERAL_LOW


def test_consecutive_free_ports_can_be_bound_and_lie_in_the_range() -> None:
    base = infra.free_ports(12)
    allowed = infra.listening_port_range()
    assert base in allowed and base + 11 in allowed
    sockets = []
    try:
        for port in range(base, base + 12):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(s)
            s.bind(("127.0.0.1", port))
    finally:
        for s in sockets:
            s.close()


def test_a_port_something_listens_on_is_not_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", infra.free_port()))
        taken.listen()
        assert not infra.port_is_free(taken.getsockname()[1])
