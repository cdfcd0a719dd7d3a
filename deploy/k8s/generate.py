"""Write passend.yaml: the Kubernetes manifests of the five services and the portal (run
after changing this).

Kept as code so the services' manifests can't drift apart; the output is committed and
checked current by the tests (``python deploy/k8s/generate.py --check``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

SERVICES = ("intake", "assignment", "trajectory", "notifications", "gateway")
# The portal: web pages, no database, no broker, no migrations (docs/sign-in.md).
PORTAL = "portal"
# The gateway runs as one replica: two would serialise on a per-case lock and could
# deadlock each other (services/gateway/README.md). The others scale out.
SINGLE_REPLICA = frozenset({"gateway"})
PARTITIONS = 4  # consumers in one group can't usefully outnumber a topic's partitions
NAMESPACE = "passend"
VERSION = "0.1.0"
HTTP_PORT = 8000
OUT = Path(__file__).with_name("passend.yaml")

# Settings shared by every service (README.md, "Configuration"). Secrets (DATABASE_URL,
# KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, NOTIFICATIONS_SMTP_PASSWORD) are in the Secret
# passend-<service>-secrets, never here.
SHARED_CONFIG = {
    "KAFKA_BOOTSTRAP_SERVERS": ",".join(f"kafka-{i}.kafka:9093" for i in range(3)),
    "KAFKA_BROKER_KIND": "kafka",
    "KAFKA_REPLICATION_FACTOR": "3",
    # Two in-sync copies before a write counts: one broker may fail without losing an event.
    "KAFKA_MIN_INSYNC_REPLICAS": "2",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "HTTP_HOST": "0.0.0.0",
    "HTTP_PORT": str(HTTP_PORT),
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "info",
    # The services take the tokens the portal signs for people as the directory knows
    # them (docs/sign-in.md); its JWKS is served inside the cluster.
    "AUTH_ISSUER": "https://passend.example-swv.nl",
    "AUTH_AUDIENCE": "passend",
    "AUTH_JWKS": "http://passend-portal.passend.svc/.well-known/jwks.json",
    # Machine clients (a municipality's system, an operator's script): their identity
    # provider, its client-credentials tokens and each client's role (docs/sign-in.md).
    "AUTH_TRUSTED_ISSUERS": "[]",
}

# The portal's settings. Its secrets (PORTAL_SESSION_SECRET, PORTAL_OIDC_CLIENT_SECRET) are
# in the Secret passend-portal-secrets; the key that signs the services' tokens is the file
# key.pem of the Secret passend-portal-token-key, mounted read-only.
KEY_MOUNT = "/etc/passend/token-key"
PORTAL_CONFIG = {
    "HTTP_HOST": "0.0.0.0",
    "HTTP_PORT": str(HTTP_PORT),
    "PORTAL_PUBLIC_URL": "https://passend.example-swv.nl",
    "PORTAL_SECURE_COOKIES": "true",
    "PORTAL_DEFAULT_SWV": "swv-waterweg",
    "PORTAL_INTAKE_URL": "http://passend-intake.passend.svc",
    "PORTAL_ASSIGNMENT_URL": "http://passend-assignment.passend.svc",
    "PORTAL_TRAJECTORY_URL": "http://passend-trajectory.passend.svc",
    "PORTAL_NOTIFICATIONS_URL": "http://passend-notifications.passend.svc",
    "PORTAL_OIDC_ISSUER": "https://login.example-swv.nl",
    "PORTAL_OIDC_CLIENT_ID": "passend-portal",
    "PORTAL_OIDC_SCOPES": "openid profile email offline_access",
    "PORTAL_OIDC_REDIRECT_URI": "https://passend.example-swv.nl/aanmelden/terug",
    "PORTAL_OIDC_POST_LOGOUT_REDIRECT_URI": "https://passend.example-swv.nl/afgemeld",
    "PORTAL_TOKEN_ISSUER": "https://passend.example-swv.nl",
    "PORTAL_TOKEN_AUDIENCE": "passend",
    "PORTAL_TOKEN_KEY_FILE": f"{KEY_MOUNT}/key.pem",
}

# Settings of one service only.
SERVICE_CONFIG: dict[str, dict[str, str]] = {
    "notifications": {
        "NOTIFICATIONS_SMTP_HOST": "smtp.example-swv.nl",
        "NOTIFICATIONS_SMTP_PORT": "587",
        "NOTIFICATIONS_SMTP_STARTTLS": "true",
        "NOTIFICATIONS_SMTP_USERNAME": "passend",
        "NOTIFICATIONS_MAIL_FROM": "Passend <noreply@example-swv.nl>",
        "NOTIFICATIONS_MESSAGE_ID_DOMAIN": "example-swv.nl",
        "NOTIFICATIONS_CASE_LINK_BASE": "https://passend.example-swv.nl/zaken",
    },
    "gateway": {
        "GATEWAY_THIN_NOTIFICATIONS": "true",
        "GATEWAY_INTAKE_URL": "https://passend.example-swv.nl/api/intake",
        "GATEWAY_ASSIGNMENT_URL": "https://passend.example-swv.nl/api/assignment",
        "GATEWAY_TRAJECTORY_URL": "https://passend.example-swv.nl/api/trajectory",
        "GATEWAY_NOTIFICATIONS_URL": "https://passend.example-swv.nl/api/notifications",
    },
}


def image(service: str) -> str:
    return f"passend-{service}:{VERSION}"


def _labels(service: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"passend-{service}", "app.kubernetes.io/part-of": "passend"}


def _env_from(service: str) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = [{"configMapRef": {"name": "passend-config"}}]
    if service in SERVICE_CONFIG:
        sources.append({"configMapRef": {"name": f"passend-{service}-config"}})
    sources.append({"secretRef": {"name": f"passend-{service}-secrets"}})
    return sources


def _deployment(service: str) -> dict[str, Any]:
    probe = {"httpGet": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}
    single = service in SINGLE_REPLICA
    strategy: dict[str, Any] = (
        # Never two at once, not even during a rollout.
        {"type": "Recreate"}
        if single
        else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    )
    container_security = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"passend-{service}",
            "namespace": NAMESPACE,
            "labels": _labels(service),
        },
        "spec": {
            "replicas": 1 if single else 2,
            "selector": {"matchLabels": _labels(service)},
            "strategy": strategy,
            "template": {
                "metadata": {
                    "labels": _labels(service),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(HTTP_PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    # Above the service's own bound (runtime.SHUTDOWN_SECONDS = 10 s).
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "initContainers": [
                        {
                            "name": "migrate",
                            "image": image(service),
                            "args": ["migrate"],
                            "envFrom": _env_from(service),
                            "securityContext": container_security,
                        }
                    ],
                    "containers": [
                        {
                            "name": service,
                            "image": image(service),
                            "ports": [{"name": "http", "containerPort": HTTP_PORT}],
                            "envFrom": _env_from(service),
                            "readinessProbe": {
                                **probe,
                                "httpGet": {"path": "/health/ready", "port": "http"},
                            },
                            "livenessProbe": {
                                **probe,
                                "httpGet": {"path": "/health/live", "port": "http"},
                                "failureThreshold": 6,
                            },
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "securityContext": container_security,
                        }
                    ],
                },
            },
        },
    }


def _portal_deployment() -> dict[str, Any]:
    """The portal like a service (image, probes, security), minus database and migrations,
    plus its signing key as a read-only file."""
    deployment = _deployment(PORTAL)
    # No /metrics: the services measure what matters; the portal only serves pages.
    del deployment["spec"]["template"]["metadata"]["annotations"]
    pod = deployment["spec"]["template"]["spec"]
    del pod["initContainers"]
    (container,) = pod["containers"]
    container["envFrom"] = [
        {"configMapRef": {"name": "passend-portal-config"}},
        {"secretRef": {"name": "passend-portal-secrets"}},
    ]
    container["volumeMounts"] = [{"name": "token-key", "mountPath": KEY_MOUNT, "readOnly": True}]
    container["resources"] = {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "256Mi"},
    }
    pod["volumes"] = [
        {
            "name": "token-key",
            "secret": {"secretName": "passend-portal-token-key", "defaultMode": 0o400},
        }
    ]
    return deployment


def _service(service: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": f"passend-{service}",
            "namespace": NAMESPACE,
            "labels": _labels(service),
        },
        "spec": {
            "selector": _labels(service),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def _pdb(service: str) -> dict[str, Any]:
    # One replica: allow its eviction (a drain would otherwise block); it restarts elsewhere.
    budget = {"maxUnavailable": 1} if service in SINGLE_REPLICA else {"minAvailable": 1}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"passend-{service}", "namespace": NAMESPACE},
        "spec": {**budget, "selector": {"matchLabels": _labels(service)}},
    }


def _hpa(service: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": f"passend-{service}", "namespace": NAMESPACE},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": f"passend-{service}",
            },
            "minReplicas": 2,
            "maxReplicas": PARTITIONS,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def _topics_job() -> dict[str, Any]:
    """The operator's topics step (``passend-ops topics apply``, deploy/README.md): run it
    before the services start and after adding a municipality; it is safe to run again.
    Its principal (Secret passend-ops-secrets: KAFKA_SASL_USERNAME/PASSWORD) may create
    topics and set their configuration (deploy/kafka/acls/ops.txt); services may not."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "passend-topics", "namespace": NAMESPACE, "labels": _labels("topics")},
        "spec": {
            "backoffLimit": 6,
            "template": {
                "metadata": {"labels": _labels("topics")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "containers": [
                        {
                            "name": "topics",
                            # Every service image carries passend-ops and the topic catalogue.
                            "image": image("intake"),
                            "command": ["passend-ops"],
                            "args": ["topics", "apply"],
                            "envFrom": [
                                {"configMapRef": {"name": "passend-config"}},
                                {"secretRef": {"name": "passend-ops-secrets"}},
                            ],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def _config_map(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": data,
    }


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        _config_map("passend-config", SHARED_CONFIG),
    ]
    for service, data in SERVICE_CONFIG.items():
        docs.append(_config_map(f"passend-{service}-config", data))
    docs.append(_topics_job())
    for service in SERVICES:
        docs += [_deployment(service), _service(service), _pdb(service)]
        if service not in SINGLE_REPLICA:
            docs.append(_hpa(service))
    docs.append(_config_map("passend-portal-config", PORTAL_CONFIG))
    docs += [_portal_deployment(), _service(PORTAL), _pdb(PORTAL), _hpa(PORTAL)]
    return docs


def render() -> str:
    header = (
        "# Generated by deploy/k8s/generate.py; edit that file, not this one.\n"
        "# Each service needs a Secret passend-<service>-secrets with DATABASE_URL,\n"
        "# KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and TEXT_KEY_ENCRYPTION_KEYS (intake:\n"
        "# also INTAKE_KEY_ENCRYPTION_KEYS; notifications: NOTIFICATIONS_SMTP_PASSWORD).\n"
        "# The portal needs the Secret passend-portal-secrets\n"
        "# (PORTAL_SESSION_SECRET, PORTAL_OIDC_CLIENT_SECRET) and passend-portal-token-key\n"
        "# (key.pem). The Job passend-topics (passend-ops topics apply) needs the Secret\n"
        "# passend-ops-secrets (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD of User:passend-ops).\n"
        "# See deploy/README.md and docs/sign-in.md.\n"
    )
    body: str = yaml.safe_dump_all(manifests(), sort_keys=False, width=100)
    return header + body


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if OUT.read_text() == render() else "deploy/k8s/passend.yaml is stale")
    OUT.write_text(render())
