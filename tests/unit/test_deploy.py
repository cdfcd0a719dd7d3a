"""The deployment files parse and reference only images, variables, ports and commands that exist.

No container engine runs here, so this checks what can be checked without one: every
variable the compose file or the manifests set is read by a settings class and documented
in README.md, every port and probe points at the configured HTTP port, every image is
pinned or built from the one Dockerfile, and the image's entrypoint is the command the
dev stack and the end-to-end tests start the services with.
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
from pydantic_settings import BaseSettings

from passend_assignment.directory_file import ENV_VAR as ASSIGNMENT_DIRECTORY_FILE
from passend_backbone import opscli
from passend_backbone.kafka_settings import KafkaSecuritySettings
from passend_backbone.settings import ServiceSettings
from passend_backbone.texts import keys as text_keys
from passend_backbone.topics import Durability, TopicSettings, load_catalogue
from passend_backbone.topics import plan as plan_topics
from passend_contracts import topics
from passend_devstack.catalog import default_services
from passend_gateway.config import GatewayConfig
from passend_notifications.config import NotificationSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "assignment", "trajectory", "notifications", "gateway")
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (
    ServiceSettings,
    TopicSettings,
    KafkaSecuritySettings,
    NotificationSettings,
    GatewayConfig,
)
# Variables read without a settings class (a file name, checked when loaded).


def _read_from_environ() -> set[str]:
    """Variables some modules read straight from the environment, not via a settings class."""
    from passend_intake import privacy, pupil_keys, retention

    portal = (ROOT / "services/portal/passend_portal/settings.py").read_text()
    services = ("intake", "assignment", "trajectory", "notifications")
    return (
        {ASSIGNMENT_DIRECTORY_FILE, retention.ENV_VAR, retention.POLL_ENV_VAR}
        | {pupil_keys.SEALING_SETTING, privacy.SECOND_OFFICER_SETTING, text_keys.SETTING}
        | set(re.findall(r'"(PORTAL_[A-Z_]+)"', portal))
        | {f"PORTAL_{name.upper()}_URL" for name in services}
    )


OTHER_VARIABLES = _read_from_environ()


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def k8s() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "k8s" / "passend.yaml").read_text()))


def k8s_by_kind() -> dict[str, list[dict[str, Any]]]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in k8s():
        by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


def known_variables() -> set[str]:
    """Every environment variable some settings class of a service reads."""
    names = set(OTHER_VARIABLES)
    for cls in SETTINGS_CLASSES:
        prefix = str(cls.model_config.get("env_prefix") or "")
        names |= {(prefix + field).upper() for field in cls.model_fields}
    return names


def documented_variables() -> set[str]:
    """The variables of the configuration tables in README.md."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    section = section[: section.index("`make up` and `make test` start their own")]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, re.MULTILINE))


def test_every_variable_read_is_documented_and_every_documented_one_is_read() -> None:
    assert known_variables() - documented_variables() == set(), "document them in README.md"
    assert documented_variables() - known_variables() == set(), "nothing reads these"


def test_compose_images_are_pinned_and_official() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{name}: image {image} is not pinned"
        if "build" not in service:
            assert repository in {"apache/kafka", "postgres"}, f"{name}: unexpected image {image}"
        else:
            svc = service["build"]["args"]["SERVICE"]
            assert repository == f"passend-{svc}", f"{name}: image named after another service"


def test_compose_builds_each_service_from_the_one_dockerfile() -> None:
    services = compose()["services"]
    for svc in SERVICES:
        for name in (svc, f"migrate-{svc}"):
            build = services[name]["build"]
            assert build["dockerfile"] == "deploy/Dockerfile"
            assert build["args"] == {"SERVICE": svc}
        assert (ROOT / "services" / svc / "pyproject.toml").exists()


def test_compose_service_variables_are_read_by_a_setting_and_documented() -> None:
    known, documented = known_variables(), documented_variables()
    for name, service in compose()["services"].items():
        if "build" not in service:
            continue
        env = service["environment"]
        assert set(env) - known == set(), f"{name} sets variables no setting reads"
        assert set(env) - documented == set(), f"{name} sets undocumented variables"
        if name in ("portal", "topics"):
            continue  # no database (test_the_portal_is_in_compose, ..._keep_events_forever)
        assert env["KAFKA_BROKER_KIND"] == "kafka"  # idempotent producer in production
        svc = service["build"]["args"]["SERVICE"]
        assert env["DATABASE_URL"].endswith(f"/passend_{svc}"), "each service its own database"


def test_compose_gives_notifications_its_mail_server_and_the_gateway_its_links() -> None:
    services = compose()["services"]
    for name in ("notifications", "migrate-notifications"):
        assert "NOTIFICATIONS_SMTP_HOST" in services[name]["environment"]
    gateway = services["gateway"]["environment"]
    for svc in ("intake", "assignment", "trajectory", "notifications"):
        assert f"GATEWAY_{svc.upper()}_URL" in gateway


def test_each_service_has_its_database() -> None:
    init = (DEPLOY / "postgres-init.sql").read_text()
    for svc in SERVICES:
        assert f"CREATE DATABASE passend_{svc};" in init


def test_compose_ports_point_at_the_configured_http_port() -> None:
    published = []
    for svc in SERVICES:
        service = compose()["services"][svc]
        http_port = service["environment"]["HTTP_PORT"]
        (mapping,) = service["ports"]
        host, container = mapping.split(":")
        assert container == http_port
        published.append(host)
        assert f"127.0.0.1:{http_port}/health/ready" in " ".join(service["healthcheck"]["test"])
    assert len(set(published)) == len(published), "each service on a port of its own"


def test_compose_start_order_waits_for_health_topics_and_migrations() -> None:
    services = compose()["services"]
    for svc in SERVICES:
        depends = services[svc]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["topics"]["condition"] == "service_completed_successfully"
        assert depends[f"migrate-{svc}"]["condition"] == "service_completed_successfully"
        command = services[f"migrate-{svc}"]["command"]
        assert command == ["migrate"] and opscli.is_ops_command(command)
        assert "command" not in services[svc], "no arguments: the entrypoint serves"


def test_compose_event_topics_keep_events_forever() -> None:
    """The topics step is the one operator command, with the plan every image carries."""
    step = compose()["services"]["topics"]
    assert step["entrypoint"] == ["passend-ops"] and step["command"] == ["topics", "apply"]
    assert step["restart"] == "no"
    assert {"KAFKA_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS"} <= set(step["environment"])
    scripts = tomllib.loads((ROOT / "backbone/pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["passend-ops"] == "passend_backbone.ops:main"
    configs = Durability().configs()
    assert configs["retention.ms"] == "-1" and "min.insync.replicas" in configs
    plan = {t.name: t for t in plan_topics(load_catalogue())}
    for topic in topics.ALL:
        assert plan[topic].partitions == topics.PARTITIONS


def test_kubernetes_runs_the_topics_step_as_a_job() -> None:
    (job,) = k8s_by_kind()["Job"]
    assert job["metadata"]["name"] == "passend-topics"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["passend-ops"] and container["args"] == ["topics", "apply"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    config = {c["metadata"]["name"]: c["data"] for c in k8s_by_kind()["ConfigMap"]}
    shared = config["passend-config"]
    assert int(shared["KAFKA_MIN_INSYNC_REPLICAS"]) >= 2, "production: two in-sync copies"
    assert int(shared["KAFKA_REPLICATION_FACTOR"]) > int(shared["KAFKA_MIN_INSYNC_REPLICAS"])


def test_dockerfile_entrypoint_is_the_service_console_script() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["passend-service"]' in dockerfile
    assert (
        'ln -s "/opt/passend/bin/passend-${SERVICE}" /opt/passend/bin/passend-service' in dockerfile
    )
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE), "runs as a non-root user"
    bases = re.findall(r"^ARG PYTHON_BASE=(\S+)", dockerfile, re.MULTILINE)
    assert bases and ":" in bases[0] and "latest" not in bases[0]
    assert dockerfile.count("FROM ${PYTHON_BASE}") == 2, "multi-stage: build, then runtime"
    for svc in SERVICES:
        scripts = tomllib.loads((ROOT / "services" / svc / "pyproject.toml").read_text())
        target = scripts["project"]["scripts"][f"passend-{svc}"]
        assert target == f"passend_{svc}.__main__:main"


def test_the_dev_stack_starts_the_same_console_script_as_the_image() -> None:
    # The image runs passend-service = passend-<service>; so does the dev stack.
    bin_dir = Path(sys.executable).parent
    for entry in default_services():
        assert entry.command() == [str(bin_dir / f"passend-{entry.name}")]


def test_the_dockerfile_installs_the_local_packages_a_service_needs() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    local = {"passend-contracts", "passend-backbone", "passend-consumerkit"}
    for svc in SERVICES:
        project = tomllib.loads((ROOT / "services" / svc / "pyproject.toml").read_text())
        needs = {d for d in project["project"]["dependencies"] if d in local}
        if "passend-consumerkit" in needs:
            assert "COPY consumerkit ./consumerkit" in dockerfile
            assert '"passend-consumerkit"' in dockerfile, "installed when a service needs it"


def test_kubernetes_manifests_are_consistent() -> None:
    by_kind = k8s_by_kind()
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    assert set(deployments) == {f"passend-{s}" for s in (*SERVICES, "portal")}
    for pdb in by_kind["PodDisruptionBudget"]:
        labels = pdb["spec"]["selector"]["matchLabels"]
        assert labels == deployments[pdb["metadata"]["name"]]["spec"]["selector"]["matchLabels"]
    for hpa in by_kind["HorizontalPodAutoscaler"]:
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert hpa["spec"]["maxReplicas"] <= topics.PARTITIONS  # consumers <= partitions
    scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in by_kind["HorizontalPodAutoscaler"]}
    assert "passend-gateway" not in scaled, "the gateway runs as one replica"
    assert deployments["passend-gateway"]["spec"]["replicas"] == 1
    assert deployments["passend-gateway"]["spec"]["strategy"]["type"] == "Recreate"

    config_maps = {c["metadata"]["name"]: c["data"] for c in by_kind["ConfigMap"]}
    known, documented = known_variables(), documented_variables()
    for name, data in config_maps.items():
        assert set(data) - known == set(), f"{name} sets variables no setting reads"
        assert set(data) - documented == set(), f"{name} sets undocumented variables"
        assert not {k for k in data if "PASSWORD" in k or k == "DATABASE_URL"}, "secrets"

    for name, deployment in deployments.items():
        svc = name.removeprefix("passend-")
        if svc == "portal":
            continue  # test_the_portal_is_in_the_kubernetes_manifests
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        (init,) = pod["initContainers"]
        assert container["image"] == init["image"]
        assert container["image"].startswith(f"passend-{svc}:")
        assert "args" not in container and "command" not in container, "the entrypoint serves"
        assert opscli.is_ops_command(init["args"]) and init["args"] == ["migrate"]
        for source in container["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        (port,) = container["ports"]
        assert str(port["containerPort"]) == config_maps["passend-config"]["HTTP_PORT"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == str(port["containerPort"])
        assert container["resources"]["requests"]
        assert pod["securityContext"]["runAsUser"] == 10001
    for svc in ("notifications", "gateway"):
        assert f"passend-{svc}-config" in config_maps


def test_the_portal_is_in_compose_with_its_sign_in_settings() -> None:
    services = compose()["services"]
    portal = services["portal"]
    assert portal["build"] == {
        "context": "..",
        "dockerfile": "deploy/Dockerfile",
        "args": {"SERVICE": "portal"},
    }
    env = portal["environment"]
    (mapping,) = portal["ports"]
    assert mapping.split(":")[1] == env["HTTP_PORT"]
    assert f"127.0.0.1:{env['HTTP_PORT']}/health/ready" in " ".join(portal["healthcheck"]["test"])
    for name in (
        "PORTAL_OIDC_ISSUER",
        "PORTAL_OIDC_CLIENT_ID",
        "PORTAL_OIDC_CLIENT_SECRET",
        "PORTAL_SESSION_SECRET",
        "PORTAL_TOKEN_KEY_FILE",
    ):
        assert name in env, name
    assert "PORTAL_DEV_ISSUER_DIR" not in env, "no persona picker outside the dev stack"
    for svc in ("intake", "assignment", "trajectory", "notifications"):
        assert env[f"PORTAL_{svc.upper()}_URL"] == f"http://{svc}:8000"
    # The services trust the tokens the portal signs.
    assert (
        "http://portal:8000/.well-known/jwks.json" in services["intake"]["environment"]["AUTH_JWKS"]
    )
    project = tomllib.loads((ROOT / "services/portal/pyproject.toml").read_text())
    assert project["project"]["scripts"]["passend-portal"] == "passend_portal.__main__:main"


def test_the_portal_is_in_the_kubernetes_manifests() -> None:
    by_kind = k8s_by_kind()
    (deployment,) = [d for d in by_kind["Deployment"] if d["metadata"]["name"] == "passend-portal"]
    assert "passend-portal" in {s["metadata"]["name"] for s in by_kind["Service"]}
    pod = deployment["spec"]["template"]["spec"]
    assert "initContainers" not in pod, "no database: nothing to migrate"
    (container,) = pod["containers"]
    assert container["image"].startswith("passend-portal:")
    assert "args" not in container and "command" not in container
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert pod["securityContext"]["runAsUser"] == 10001
    sources = container["envFrom"]
    assert {"secretRef": {"name": "passend-portal-secrets"}} in sources
    config_maps = {c["metadata"]["name"]: c["data"] for c in by_kind["ConfigMap"]}
    config = config_maps["passend-portal-config"]
    assert {"configMapRef": {"name": "passend-portal-config"}} in sources
    for name in ("PORTAL_OIDC_ISSUER", "PORTAL_OIDC_CLIENT_ID", "PORTAL_OIDC_REDIRECT_URI"):
        assert config[name].startswith("http") or name == "PORTAL_OIDC_CLIENT_ID"
    assert "PORTAL_OIDC_CLIENT_SECRET" not in config and "PORTAL_SESSION_SECRET" not in config
    assert config["PORTAL_SECURE_COOKIES"] == "true"
    (mount,) = container["volumeMounts"]
    assert mount["readOnly"] is True
    assert config["PORTAL_TOKEN_KEY_FILE"].startswith(mount["mountPath"] + "/")
    (volume,) = pod["volumes"]
    assert volume["secret"]["secretName"] == "passend-portal-token-key"
    shared = config_maps["passend-config"]
    assert shared["AUTH_ISSUER"] == config["PORTAL_TOKEN_ISSUER"]
    assert shared["AUTH_JWKS"].startswith("http://passend-portal.")


@pytest.mark.parametrize("script", ["deploy/k8s/generate.py", "deploy/kafka/generate.py"])
def test_generated_manifests_are_current(script: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / script), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
