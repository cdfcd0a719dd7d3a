"""Write the topic catalogue and the ACL files from the services' own declarations (run
after adding a service, a projection or a reactor).

``backbone/passend_backbone/topic_catalogue.json`` is what ``passend-ops topics apply``
creates topics from (every image carries it); ``deploy/kafka/acls/*.txt`` are the ACLs of
each principal, from the same catalogue. Both are committed and checked current by the
tests (``python deploy/kafka/generate.py --check``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from passend_backbone import kafka_acls, topics
from passend_backbone.settings import ServiceSettings
from passend_contracts import municipalities

ROOT = Path(__file__).resolve().parents[2]
ACLS = Path(__file__).with_name("acls")


def service_topics() -> list[topics.ServiceTopics]:
    """Every service's topics, from the specs the services run with."""
    from passend_assignment.service import SPEC as ASSIGNMENT
    from passend_gateway.config import GatewayConfig
    from passend_gateway.service import build_spec as gateway_spec
    from passend_intake.service import SPEC as INTAKE
    from passend_notifications.service import SPEC as NOTIFICATIONS
    from passend_trajectory.service import SPEC as TRAJECTORY

    # The gateway's spec is built from settings; only its names matter here.
    settings = ServiceSettings(
        database_url="postgresql://catalogue", kafka_bootstrap_servers="catalogue", auth_jwks="-"
    )
    gateway = gateway_spec(settings, GatewayConfig())
    return [
        topics.ServiceTopics.of_spec(INTAKE),
        topics.ServiceTopics.of_spec(ASSIGNMENT),
        topics.ServiceTopics.of_spec(TRAJECTORY),
        topics.ServiceTopics.of_spec(NOTIFICATIONS),
        topics.ServiceTopics.of_spec(gateway, writes_integration=True),
    ]


def outputs() -> dict[Path, str]:
    """Every generated file and its content."""
    services = service_topics()
    files = {topics.CATALOGUE: topics.catalogue_json(services)}
    for name, text in kafka_acls.acl_files(services, sorted(municipalities.NAMES)).items():
        files[ACLS / name] = text
    return files


def stale() -> list[str]:
    """Generated files that differ from what they would be now, or are left over."""
    wanted = outputs()
    found = [
        str(p.relative_to(ROOT)) for p, t in wanted.items() if not p.exists() or p.read_text() != t
    ]
    found += [str(p.relative_to(ROOT)) for p in ACLS.glob("*.txt") if p not in wanted]
    return found


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        out_of_date = stale()
        sys.exit(
            f"stale (run python deploy/kafka/generate.py): {out_of_date}" if out_of_date else 0
        )
    for old in ACLS.glob("*.txt"):
        old.unlink()
    ACLS.mkdir(parents=True, exist_ok=True)
    for path, text in outputs().items():
        path.write_text(text)
