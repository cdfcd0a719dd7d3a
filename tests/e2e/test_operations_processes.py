"""All five services run as the image runs them, configured only by the documented variables.

Each service starts as its console script ``passend-<service>`` (the image's entrypoint,
the dev stack's command) with an environment holding nothing but variables from the
README's configuration table: no inherited ``PATH``, ``HOME`` or test switches. Its
migrations are applied first with ``passend-<service> migrate``, as the compose job and
the Kubernetes init container do. Then every service must become ready, serve
``/metrics``, log its delivery settings as JSON, and stop on SIGTERM with exit code 0
within the shutdown bound.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.lifecycle import SHUTDOWN_SECONDS
from passend_backbone.texts.keys import SETTING as TEXT_SETTING
from passend_devstack.catalog import ServiceEntry, default_services
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env
from passend_devstack.waiting import eventually
from passend_intake.pupil_keys import SEALING_SETTING
from tests.conftest import create_database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
METRICS = (
    "passend_events_appended_total",
    "passend_outbox_backlog_events",
    "passend_outbox_backlog_age_seconds",
    "passend_http_request_duration_seconds",
    "passend_metrics_source_up",
)


def documented_variables() -> set[str]:
    """The variables of the configuration tables in README.md."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    section = section[: section.index("`make up` and `make test` start their own")]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, re.MULTILINE))


async def environments(
    database: Database, broker: Broker, entries: list[ServiceEntry]
) -> dict[str, dict[str, str]]:
    ports = {entry.name: free_port() for entry in entries}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    envs: dict[str, dict[str, str]] = {}
    for entry in entries:
        env = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, f"ops_{entry.name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            # This module's topics, as the operator's topics step made them (tests/conftest.py).
            "KAFKA_TOPIC_PREFIX": os.environ.get("KAFKA_TOPIC_PREFIX", ""),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(ports[entry.name]),
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
        }
        if entry.name != "portal":
            # Every service seals the free texts about a pupil (documented: required).
            env[TEXT_SETTING] = f"ops:{base64.b64encode(os.urandom(32)).decode()}"
        if entry.name == "assignment":
            env[ENV_VAR] = str(DEV_FILE)
        if entry.name == "intake":
            env[SEALING_SETTING] = f"ops:{base64.b64encode(os.urandom(32)).decode()}"
        if entry.name == "notifications":
            env["NOTIFICATIONS_SMTP_HOST"] = "127.0.0.1"
            env["NOTIFICATIONS_SMTP_PORT"] = str(free_port())
            env["NOTIFICATIONS_CASE_LINK_BASE"] = "http://127.0.0.1:8080/zaken"
        if entry.name == "gateway":
            for target in ("intake", "assignment", "trajectory", "notifications"):
                env[f"GATEWAY_{target.upper()}_URL"] = urls[target]
        envs[entry.name] = env
    return envs


@contextmanager
def started(
    entries: list[ServiceEntry], envs: dict[str, dict[str, str]], logs: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for entry in entries:
            with (logs / f"{entry.name}.log").open("wb") as out:
                running[entry.name] = subprocess.Popen(
                    entry.command(), cwd=ROOT, env=envs[entry.name], stdout=out, stderr=out
                )
        yield running
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{")]


async def test_services_run_as_the_image_runs_them_from_the_documented_variables(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    # The portal owns no data and is no service image of its own kind; it has its own test.
    entries = [e for e in default_services() if e.owns_data]
    assert {e.name for e in entries} == {
        "intake",
        "assignment",
        "trajectory",
        "notifications",
        "gateway",
    }
    envs = await environments(database, broker, entries)
    documented = documented_variables()
    for name, env in envs.items():
        assert set(env) <= documented, f"{name} is given undocumented variables"

    # The migrate job / init container first, with the same command and environment.
    for entry in entries:
        migrate = await asyncio.to_thread(
            subprocess.run,
            [*entry.command(), "migrate"],
            env=envs[entry.name],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, f"{entry.name} migrate: {migrate.stderr}"
        assert "applied" in migrate.stdout

    with started(entries, envs, tmp_path) as running:
        async with httpx.AsyncClient(timeout=5) as http:
            not_ready: dict[str, str] = {}

            async def all_ready() -> bool:
                for name, process in running.items():
                    if process.poll() is not None:
                        tail = (tmp_path / f"{name}.log").read_text()[-3000:]
                        raise AssertionError(f"{name} exited with {process.returncode}:\n{tail}")
                    url = f"http://127.0.0.1:{envs[name]['HTTP_PORT']}/health/ready"
                    try:
                        answer = await http.get(url)
                    except httpx.TransportError as exc:
                        not_ready[name] = repr(exc)
                        return False
                    if answer.status_code != 200:
                        not_ready[name] = answer.text[:500]
                        return False
                return True

            try:
                await eventually(all_ready, timeout=120, interval=0.25, what="all services ready")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; not ready: {not_ready}") from None
            for name in running:
                base = f"http://127.0.0.1:{envs[name]['HTTP_PORT']}"
                ready = (await http.get(f"{base}/health/ready")).json()
                assert ready["checks"] == {
                    "database": "ok",
                    "migrations": "ok",
                    "broker": "ok",
                    "topics": "ok",
                }
                text = (await http.get(f"{base}/metrics")).text
                for metric in METRICS:
                    assert metric in text, f"{name} /metrics lacks {metric}"
                assert f'service="{name}"' in text

        for process in running.values():
            process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        for name, process in running.items():
            code = await asyncio.to_thread(process.wait, SHUTDOWN_SECONDS + 10)
            assert code == 0, f"{name} exited with {code}"
        assert time.monotonic() - began < SHUTDOWN_SECONDS + 2, "each stops within the bound"

    for entry in entries:
        lines = json_lines(tmp_path / f"{entry.name}.log")
        events = [line["event"] for line in lines]
        delivery = next(line for line in lines if line["event"] == "delivery_settings")
        assert delivery["producer_acks"] == "all"
        assert delivery["producer"]["acks"] == "all"
        assert delivery["consumer"]["enable_auto_commit"] is False
        assert delivery["kafka_security_protocol"] == "PLAINTEXT"
        assert "service_stopped" in events and "shutdown_step_cancelled" not in events
        assert all("timestamp" in line and "level" in line for line in lines)
