"""Kafka ACLs per principal, least privilege, from the same topic catalogue as ``topics apply``.

One principal per service (``User:passend-<service>``): it writes its own event topic and
its consumers' dead-letter topics, reads the topics its consumers read (and its own, for
``verify --kafka``), joins its own consumer groups, and may describe its topics' settings
(the readiness check). The gateway also writes every integration topic. The operator's
principal (``User:passend-ops``) creates topics and sets their configuration; a
municipality's principal reads its own integration topics with groups of its own prefix.

Each ACL is one line ``<principal> <operation> <resource type> <pattern type> <name>``;
``deploy/kafka/acls/apply.sh`` turns the lines into ``kafka-acls.sh --add`` calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from passend_backbone.consumer.loops import LIVE, OWN, loop_group
from passend_backbone.topics import ServiceTopics
from passend_contracts import topics as contract_topics

# Every Passend topic starts with this; the operator's principal manages these only.
TOPIC_ROOT = "passend."


@dataclass(frozen=True, order=True)
class Acl:
    """One allowed operation of a principal on one resource (topic, group or cluster)."""

    principal: str
    operation: str  # READ, WRITE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE
    resource: str  # TOPIC, GROUP, CLUSTER
    pattern: str  # LITERAL or PREFIXED
    name: str

    def line(self) -> str:
        return f"{self.principal} {self.operation} {self.resource} {self.pattern} {self.name}"


def service_principal(service: str) -> str:
    return f"User:passend-{service}"


def integrator_principal(code: str) -> str:
    return f"User:{contract_topics.region_key(code)}"


def service_acls(service: ServiceTopics, prefix: str = "") -> list[Acl]:
    """What ``service`` may do, and nothing more."""
    who = service_principal(service.service)
    own = prefix + service.topic
    acls = {
        Acl(who, "WRITE", "TOPIC", "LITERAL", own),
        Acl(who, "READ", "TOPIC", "LITERAL", own),
        Acl(who, "DESCRIBE_CONFIGS", "TOPIC", "LITERAL", own),
    }
    for name in service.reads:
        acls.add(Acl(who, "READ", "TOPIC", "LITERAL", prefix + name))
        acls.add(Acl(who, "DESCRIBE_CONFIGS", "TOPIC", "LITERAL", prefix + name))
    for name in service.dead_letter_topics(prefix):
        # Written by the consumers; read by the dead-letter commands of the service.
        acls.add(Acl(who, "WRITE", "TOPIC", "LITERAL", name))
        acls.add(Acl(who, "READ", "TOPIC", "LITERAL", name))
        acls.add(Acl(who, "DESCRIBE_CONFIGS", "TOPIC", "LITERAL", name))
    for group in service_groups(service):
        acls.add(Acl(who, "READ", "GROUP", "LITERAL", group))
    if service.writes_integration:
        integration = prefix + contract_topics.INTEGRATION_PREFIX
        acls.add(Acl(who, "WRITE", "TOPIC", "PREFIXED", integration))
        acls.add(Acl(who, "DESCRIBE", "TOPIC", "PREFIXED", integration))
    return sorted(acls)


def service_groups(service: ServiceTopics) -> list[str]:
    """The consumer groups ``service`` joins: its fetch loops (``passend_backbone.consumer.
    loops``), the lazy one only when a consumer reads its own topic."""
    if not service.consumers:
        return []
    loops = [LIVE, OWN] if service.topic in service.reads else [LIVE]
    return [loop_group(service.service, loop) for loop in loops]


def ops_acls(prefix: str = "") -> list[Acl]:
    """The operator's topics step: create Passend topics, read and set their configuration."""
    who = "User:passend-ops"
    root = prefix + TOPIC_ROOT
    return sorted(
        Acl(who, op, "TOPIC", "PREFIXED", root)
        for op in ("CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS")
    )


def integrator_acls(code: str, prefix: str = "") -> list[Acl]:
    """A municipality reads its own integration topics, in groups named ``<key>.*``."""
    who = integrator_principal(code)
    return sorted(
        [
            Acl(who, "READ", "TOPIC", "LITERAL", prefix + contract_topics.integration(code)),
            Acl(who, "READ", "TOPIC", "LITERAL", prefix + contract_topics.integration_thin(code)),
            Acl(who, "READ", "GROUP", "PREFIXED", f"{contract_topics.region_key(code)}."),
        ]
    )


def acl_files(
    services: Sequence[ServiceTopics], municipality_codes: Iterable[str], prefix: str = ""
) -> dict[str, str]:
    """File name -> content: one file per principal, one ACL per line."""

    def text(acls: Sequence[Acl], what: str) -> str:
        head = (
            f"# {what}\n# principal operation resource pattern name (deploy/kafka/acls/apply.sh)\n"
        )
        return head + "".join(a.line() + "\n" for a in acls)

    files = {
        f"{s.service}.txt": text(service_acls(s, prefix), f"The {s.service} service.")
        for s in services
    }
    files["ops.txt"] = text(
        ops_acls(prefix), "The operator's topics step (passend-ops topics apply)."
    )
    for code in sorted(set(municipality_codes)):
        key = contract_topics.region_key(code)
        files[f"integrator-{key}.txt"] = text(
            integrator_acls(code, prefix), f"The integrator of municipality {code}."
        )
    return files
