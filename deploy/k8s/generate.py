"""Write passend.yaml: the Kubernetes manifests of the four services (run after changing this file).

Kept as code so the four services' manifests can't drift apart; the output is committed
and checked current by the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

SERVICES = ("intake", "assignment", "trajectory", "notifications")
PARTITIONS = 4  # consumers in one group can't usefully outnumber a topic's partitions
NAMESPACE = "passend"
OUT = Path(__file__).with_name("passend.yaml")


def _labels(service: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"passend-{service}", "app.kubernetes.io/part-of": "passend"}


def _deployment(service: str) -> dict[str, Any]:
    probe = {"httpGet": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"passend-{service}",
            "namespace": NAMESPACE,
            "labels": _labels(service),
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": _labels(service)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": _labels(service),
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8000"},
                },
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "initContainers": [
                        {
                            "name": "migrate",
                            "image": f"passend-{service}:0.1.0",
                            "args": ["migrate"],
                            "envFrom": [
                                {"configMapRef": {"name": "passend-config"}},
                                {"secretRef": {"name": f"passend-{service}-secrets"}},
                            ],
                        }
                    ],
                    "containers": [
                        {
                            "name": service,
                            "image": f"passend-{service}:0.1.0",
                            "ports": [{"name": "http", "containerPort": 8000}],
                            "envFrom": [
                                {"configMapRef": {"name": "passend-config"}},
                                {"secretRef": {"name": f"passend-{service}-secrets"}},
                            ],
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
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"passend-{service}", "namespace": NAMESPACE},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _labels(service)}},
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


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "passend-config", "namespace": NAMESPACE},
            "data": {
                "KAFKA_BOOTSTRAP_SERVERS": ",".join(f"kafka-{i}.kafka:9092" for i in range(3)),
                "KAFKA_BROKER_KIND": "kafka",
                "HTTP_HOST": "0.0.0.0",
                "HTTP_PORT": "8000",
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "info",
                "AUTH_ISSUER": "https://login.example-swv.nl",
                "AUTH_AUDIENCE": "passend",
                "AUTH_JWKS": "https://login.example-swv.nl/.well-known/jwks.json",
            },
        },
    ]
    for service in SERVICES:
        docs += [_deployment(service), _service(service), _pdb(service), _hpa(service)]
    return docs


def render() -> str:
    header = "# Generated by deploy/k8s/generate.py; edit that file, not this one.\n"
    header += "# Each service needs a Secret passend-<service>-secrets with DATABASE_URL.\n"
    return header + yaml.safe_dump_all(manifests(), sort_keys=False, width=100)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if OUT.read_text() == render() else "deploy/k8s/passend.yaml is stale")
    OUT.write_text(render())
