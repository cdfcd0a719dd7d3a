"""The deployment files parse and reference only images, variables, ports and commands that exist.

No container engine runs here, so this checks what can be checked without one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from passend_backbone.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "assignment", "trajectory", "notifications")


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "k8s" / "passend.yaml").read_text()))


def known_variables() -> set[str]:
    return {name.upper() for name in ServiceSettings.model_fields}


def test_compose_images_are_pinned_and_official() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{name}: image {image} is not pinned"
        if "build" not in service:
            assert repository in {"apache/kafka", "postgres"}, f"{name}: unexpected image {image}"


def test_compose_builds_each_service_from_the_one_dockerfile() -> None:
    services = compose()["services"]
    for svc in SERVICES:
        build = services[svc]["build"]
        assert build["dockerfile"] == "deploy/Dockerfile"
        assert build["args"] == {"SERVICE": svc}
        assert (ROOT / "services" / svc / "pyproject.toml").exists()


def test_compose_service_variables_are_documented_settings() -> None:
    known = known_variables()
    for svc in SERVICES:
        env = compose()["services"][svc]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{svc} sets variables no setting reads: {unknown}"
        assert env["KAFKA_BROKER_KIND"] == "kafka"  # idempotent producer in production


def test_compose_ports_point_at_the_configured_http_port() -> None:
    for svc in SERVICES:
        service = compose()["services"][svc]
        http_port = service["environment"]["HTTP_PORT"]
        (mapping,) = service["ports"]
        assert mapping.split(":")[1] == http_port
        assert f"127.0.0.1:{http_port}/health/ready" in " ".join(service["healthcheck"]["test"])


def test_compose_start_order_waits_for_health_topics_and_migrations() -> None:
    services = compose()["services"]
    for svc in SERVICES:
        depends = services[svc]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["topics"]["condition"] == "service_completed_successfully"
        assert depends[f"migrate-{svc}"]["condition"] == "service_completed_successfully"
        assert services[f"migrate-{svc}"]["command"] == ["migrate"]


def test_compose_event_topics_keep_events_forever() -> None:
    script = " ".join(compose()["services"]["topics"]["command"])
    assert "retention.ms=-1" in script
    assert "min.insync.replicas" in script
    from passend_contracts import topics

    for topic in topics.ALL:
        assert topic in script


def test_dockerfile_entrypoint_is_the_service_console_script() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["passend-service"]' in dockerfile
    assert (
        'ln -s "/opt/passend/bin/passend-${SERVICE}" /opt/passend/bin/passend-service' in dockerfile
    )
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE), "runs as a non-root user"
    bases = re.findall(r"^ARG PYTHON_BASE=(\S+)", dockerfile, re.MULTILINE)
    assert bases and ":" in bases[0] and "latest" not in bases[0]
    for svc in SERVICES:
        scripts = tomllib.loads((ROOT / "services" / svc / "pyproject.toml").read_text())
        target = scripts["project"]["scripts"][f"passend-{svc}"]
        assert target == f"passend_{svc}.__main__:main"


def test_kubernetes_manifests_are_consistent() -> None:
    docs = k8s()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    assert set(deployments) == {f"passend-{s}" for s in SERVICES}
    for pdb in by_kind["PodDisruptionBudget"]:
        labels = pdb["spec"]["selector"]["matchLabels"]
        assert labels == deployments[pdb["metadata"]["name"]]["spec"]["selector"]["matchLabels"]
    for hpa in by_kind["HorizontalPodAutoscaler"]:
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert hpa["spec"]["maxReplicas"] <= 4  # no more consumers than partitions
    config = by_kind["ConfigMap"][0]["data"]
    assert set(config) <= known_variables()
    for deployment in deployments.values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["requests"]


@pytest.mark.parametrize("script", ["deploy/k8s/generate.py"])
def test_generated_manifests_are_current(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / script), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
