"""The authorisation matrix: for every endpoint of every service, which roles may call it.

Each entry is the intended policy (issue 9); the test checks the running services against
it and checks that every operation in each service's OpenAPI has an entry here, so a new
endpoint without a decided policy fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from passend_backbone.auth import Role
from passend_backbone.auth.policy import CASE_ROLES
from tests import sample_documents
from tests.security.stack import PARENT, directory, request_body


class Kind(StrEnum):
    CASE = "case"  # about one case (``{case_id}``): out of reach answers 404
    LIST = "list"  # lists cases: out of reach, the case is simply not listed
    TENANT = "tenant"  # the caller's own SWV, no case: must show nothing of another tenant
    PUBLIC = "public"  # no bearer token (health, the parent's consent link)


Body = Callable[[str], Any]  # the caller's SWV -> the JSON body


@dataclass(frozen=True)
class Rule:
    kind: Kind
    roles: frozenset[Role] = frozenset()
    body: Body | None = None
    headers: tuple[str, ...] = ()  # headers that need a fresh value ("Idempotency-Key")
    # The body is made from the operation's schema (see ``minimal``): a rule the schema
    # doesn't show may still refuse it with 422 before anyone's role is looked at.
    synthetic: bool = False
    # The path names a sub-resource the seed doesn't make (a signal, a message): within
    # reach, a 404 whose answer holds this text is about it, not about the case.
    missing: str | None = None
    # A ``multipart/form-data`` endpoint: the form's files (``body`` gives its other fields).
    files: Callable[[], dict[str, Any]] | None = None
    # Query parameters the endpoint requires.
    query: tuple[tuple[str, str], ...] = ()

    def payload(self, swv: str) -> dict[str, Any]:
        """The request's content as httpx takes it: a JSON body, or a form with files, and
        the query's parameters."""
        body = self.body(swv) if self.body else None
        params = {"params": dict(self.query)} if self.query else {}
        if self.files is not None:
            return {"data": body or {}, "files": self.files(), **params}
        return {"json": body, **params}


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


READERS = frozenset(CASE_ROLES)
IB_ONLY = _roles(Role.IB)
IB_AND_WORKER = _roles(Role.IB, Role.SUPPORT_WORKER)
WORKER = _roles(Role.SUPPORT_WORKER)
STAFF = _roles(
    Role.SUPPORT_WORKER, Role.COORDINATOR, Role.EDUCATION_SPECIALIST, Role.AUDITOR, Role.SERVICE
)
PRIVACY = _roles(Role.PRIVACY_OFFICER)
DOCUMENT_ATTACHERS = _roles(
    Role.IB, Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST, Role.TEAM_NO_MEMBER
)
DIRECTORY_KEEPERS = _roles(Role.OPERATOR, Role.SWV_ADMIN, Role.COORDINATOR)
HEALTH = {
    "GET /health/live": Rule(Kind.PUBLIC),
    "GET /health/ready": Rule(Kind.PUBLIC),
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


INTAKE: dict[str, Rule] = {
    **HEALTH,
    "POST /requests": Rule(
        Kind.TENANT, IB_ONLY, body=lambda _: request_body("p-matrix"), headers=("Idempotency-Key",)
    ),
    "GET /schools/{school_id}/requests": Rule(Kind.LIST, READERS),
    # Finding a case by its number or pupil reference: only those within reach are listed.
    "GET /requests": Rule(Kind.LIST, READERS),
    "GET /requests/{case_id}": Rule(Kind.CASE, READERS),
    "POST /requests/{case_id}/reformulations": Rule(
        Kind.CASE,
        IB_AND_WORKER,
        body=lambda _: {
            "levels": ["pupil"],
            "educational_need": "Needs predictable transitions.",
            "tried_in_basic_support": "A visual timetable.",
            "why_stuck": "Transitions still go wrong.",
            "agreed_by": [
                {"role": "ib", "party_id": "ib-1"},
                {"role": "support_worker", "party_id": "w-1"},
            ],
            "reason": "Agreed in the start conversation.",
        },
    ),
    "POST /requests/{case_id}/withdrawal": Rule(
        Kind.CASE, IB_ONLY, body=lambda _: {"reason": "Solved within basic support."}
    ),
    "POST /requests/{case_id}/consent/requests": Rule(
        Kind.CASE,
        IB_ONLY,
        body=lambda _: {"method": "start_conversation", "parent_refs": [PARENT]},
    ),
    "POST /requests/{case_id}/consent/confirmations": Rule(
        Kind.CASE,
        IB_AND_WORKER,
        body=lambda _: {"parent_ref": PARENT, "method": "start_conversation"},
    ),
    "POST /requests/{case_id}/consent/refusals": Rule(
        Kind.CASE,
        IB_AND_WORKER,
        body=lambda _: {"parent_ref": PARENT, "method": "start_conversation"},
    ),
    "POST /requests/{case_id}/consent/withdrawals": Rule(
        Kind.CASE, IB_AND_WORKER, body=lambda _: {"parent_ref": PARENT}
    ),
    "POST /requests/{case_id}/pupil-hearings": Rule(
        Kind.CASE, IB_AND_WORKER, body=lambda _: {"view": "agrees"}
    ),
    "PUT /requests/{case_id}/parents/{parent_ref}/contact": Rule(
        Kind.CASE, IB_AND_WORKER, body=lambda _: {"email": "par-1.matrix@example.org"}
    ),
    "GET /requests/{case_id}/consent": Rule(Kind.CASE, READERS),
    # The privacy officer's desk (issue 20): erasure and access on request. The matrix
    # names a pupil nobody has and a request nobody made, so nothing is ever erased here.
    "GET /privacy/pupils": Rule(Kind.TENANT, PRIVACY, query=(("ref", "p-matrix-nobody"),)),
    "GET /privacy/pupils/{pupil_ref}": Rule(
        Kind.TENANT, PRIVACY, missing="no pupil with this reference"
    ),
    "GET /privacy/pupils/{pupil_ref}/export": Rule(
        Kind.TENANT, PRIVACY, missing="no pupil with this reference"
    ),
    "GET /privacy/erasure-requests": Rule(Kind.TENANT, PRIVACY),
    "POST /privacy/pupils/{pupil_ref}/erasure": Rule(
        Kind.TENANT,
        PRIVACY,
        body=lambda _: {
            "requested_by": "de moeder",
            "received_on": "2026-01-05",
            "grounds": "AVG art. 17",
        },
        missing="no pupil with this reference",
    ),
    "POST /privacy/erasure-requests/{request_id}/confirmation": Rule(
        Kind.TENANT, PRIVACY, missing="no such erasure request"
    ),
    "POST /privacy/erasure-requests/{request_id}/rejection": Rule(
        Kind.TENANT,
        PRIVACY,
        body=lambda _: {"reason": "niet van toepassing"},
        missing="no such erasure request",
    ),
    # Documents of a case (issue 21, W22), with the request or during the trajectory:
    # attached by the IB, the support worker, the education specialist and Team NO (once
    # escalated to its region); read by every reader of the case, except a `report`: see
    # DOCUMENT_READERS, which test_documents_by_kind checks on a document of every kind.
    # Here the matrix names a document nobody attached for reading and removing one.
    "POST /requests/{case_id}/documents": Rule(
        Kind.CASE,
        DOCUMENT_ATTACHERS,
        body=lambda _: {"kind": "groeidocument", "description": "Groeidocument"},
        files=lambda: {"file": ("groeidocument.pdf", sample_documents.pdf(), "application/pdf")},
    ),
    "GET /requests/{case_id}/documents": Rule(Kind.CASE, READERS),
    "GET /requests/{case_id}/documents/{document_id}": Rule(
        Kind.CASE, READERS, missing="no such document"
    ),
    "POST /requests/{case_id}/documents/{document_id}/removal": Rule(
        Kind.CASE,
        DOCUMENT_ATTACHERS,
        body=lambda _: {"reason": "replaced"},
        missing="no such document",
    ),
    "GET /cases/{case_id}/integrity": Rule(Kind.CASE, READERS),
    # The links to hand over in person when a parent's e-mail did not arrive.
    "GET /requests/{case_id}/consent/links": Rule(Kind.CASE, IB_AND_WORKER),
    # A parent's address and link, for the message being delivered: notifications only.
    "GET /internal/cases/{case_id}/parents/{parent_ref}": Rule(
        Kind.CASE, _roles(Role.SERVICE), missing="no such case or parent"
    ),
    # Issue 20: which pseudonyms a school's references stand for (the portal, signing a
    # teacher in); only the caller's own SWV's pupils are ever named.
    "GET /internal/schools/{school_id}/pupils": Rule(Kind.TENANT, _roles(Role.SERVICE)),
    # The parent's personal link: the link's token is the credential (W10).
    "GET /consent/{token}": Rule(Kind.PUBLIC),
    "POST /consent/{token}/confirm": Rule(Kind.PUBLIC),
    "POST /consent/{token}/refuse": Rule(Kind.PUBLIC),
    "POST /consent/{token}/withdraw": Rule(Kind.PUBLIC),
}

# Who reads a document of each kind (issue 21, W22), among the readers of its case (each
# within reach, as ``GET /requests/{case_id}``): every reader reads every kind, except a
# `report` (a psychologist's or other specialist's): not for the teacher or the route coach,
# who need less of the child for their part. To them a report does not exist: the list
# leaves it out and its download answers 404 like an unknown document (403 stays the
# answer to a role that reads no case at all). Enforced in intake by
# ``passend_intake.domain.documents.may_read_kind``; docs/security.md says it in words.
NOT_FOR_TEACHER_OR_COACH = READERS - {Role.TEACHER, Role.ROUTE_COACH}
DOCUMENT_READERS: dict[str, frozenset[Role]] = {
    "groeidocument": READERS,
    "opp": READERS,
    "test_result": READERS,
    "report": NOT_FOR_TEACHER_OR_COACH,
    "consent_form": READERS,
    "minutes": READERS,
    "other": READERS,
}

ASSIGNMENT: dict[str, Rule] = {
    **HEALTH,
    "POST /cases/{case_id}/claim": Rule(Kind.CASE, WORKER),
    "POST /cases/{case_id}/offer": Rule(Kind.CASE, WORKER, body=lambda _: {}),
    "POST /cases/{case_id}/first-contact": Rule(
        Kind.CASE, WORKER, body=lambda _: {"contacted_at": _now()}
    ),
    "POST /cases/{case_id}/route-coach": Rule(
        Kind.CASE, IB_AND_WORKER, body=lambda _: {"reason": "cooperation stalls"}
    ),
    # Team NO works from trajectory's escalations and a teacher from intake's request;
    # assignment's routing is none of theirs.
    "GET /cases/{case_id}": Rule(Kind.CASE, READERS - {Role.TEAM_NO_MEMBER, Role.TEACHER}),
    "GET /cases/{case_id}/suggestions": Rule(
        Kind.CASE, _roles(Role.SUPPORT_WORKER, Role.COORDINATOR)
    ),
    "GET /workers/{worker_id}/inbox": Rule(Kind.LIST, STAFF),
    "GET /workers/{worker_id}/cases": Rule(Kind.LIST, STAFF),
    "GET /work-units/{work_unit_id}/queue": Rule(Kind.LIST, STAFF),
    "GET /caseloads": Rule(Kind.TENANT, STAFF),
    "GET /deadlines": Rule(Kind.LIST, STAFF),
    "GET /lead-times": Rule(Kind.TENANT, STAFF | {Role.OPERATOR}),
    # Expertise and work units are public within the SWV (W27); no pupil data.
    "GET /directory": Rule(Kind.TENANT, frozenset(Role)),
    # Issue 24: the SWV's administrator and the operator change it all, a coordinator their
    # own unit (the seeded document changes nothing, so each may send it).
    "PUT /directory": Rule(Kind.TENANT, DIRECTORY_KEEPERS, body=lambda swv: directory(swv)),
    # Everyone in the directory, with work addresses: for those who keep it.
    "GET /directory/people": Rule(Kind.TENANT, DIRECTORY_KEEPERS),
    # Names for screens: anyone signed in (the seeded directory lists no people).
    "GET /directory/people/{person_id}": Rule(
        Kind.TENANT, frozenset(Role), missing="is not in the SWV's directory"
    ),
    "GET /directory/names": Rule(Kind.TENANT, frozenset(Role)),
    # The hash-chain heads of the case's stream here: as reading the case here.
    "GET /cases/{case_id}/integrity": Rule(
        Kind.CASE, READERS - {Role.TEAM_NO_MEMBER, Role.TEACHER}
    ),
}

GATEWAY: dict[str, Rule] = {**HEALTH}

AUDITOR = _roles(Role.AUDITOR)
# The audit API the runtime may mount in any service (passend_backbone.audit.router).
AUDIT: dict[str, Rule] = {
    # The privacy officer reads a case's events for a pupil's access request (GDPR art. 15).
    "GET /audit/cases/{case_id}/events": Rule(
        Kind.CASE, _roles(Role.AUDITOR, Role.PRIVACY_OFFICER)
    ),
    "GET /audit/cases/{case_id}/state": Rule(Kind.CASE, AUDITOR),
    "GET /audit/verify": Rule(Kind.TENANT, AUDITOR),
    "GET /audit/event-ids": Rule(Kind.TENANT, AUDITOR),
    # What one person read (issue 20).
    "GET /audit/reads": Rule(Kind.TENANT, AUDITOR),
}
# The gateway keeps no case history of its own: its audit API knows no case (issue 20).
GATEWAY_AUDIT: dict[str, Rule] = {
    op: replace(rule, missing="Not found") if rule.kind is Kind.CASE else rule
    for op, rule in AUDIT.items()
}


OPERATOR = _roles(Role.OPERATOR)
# The dead-letter worklist every service with consumers mounts (passend_backbone.deadletters):
# the operator's only. The seed sets nothing aside, so a named one is missing.
NO_DEAD_LETTER = "no dead letter"
DEAD_LETTERS: dict[str, Rule] = {
    "GET /operator/dead-letters": Rule(Kind.TENANT, OPERATOR),
    "POST /operator/dead-letters/replay": Rule(Kind.TENANT, OPERATOR, missing=NO_DEAD_LETTER),
    "GET /operator/dead-letters/{dead_letter_id}": Rule(
        Kind.TENANT, OPERATOR, missing=NO_DEAD_LETTER
    ),
    "POST /operator/dead-letters/{dead_letter_id}/acknowledge": Rule(
        Kind.TENANT, OPERATOR, body=lambda swv: {"reason": "test"}, missing=NO_DEAD_LETTER
    ),
    "POST /operator/dead-letters/{dead_letter_id}/replay": Rule(
        Kind.TENANT, OPERATOR, missing=NO_DEAD_LETTER
    ),
}


def rules_of(service: str, operations: set[str]) -> dict[str, Rule]:
    """The service's rules, with the audit API's and the dead letters' where it mounts them."""
    paths = [op.split(" ", 1)[1] for op in operations]
    audit = any(p.startswith("/audit/") for p in paths)
    dead_letters = any(p.startswith("/operator/dead-letters") for p in paths)
    audit_rules = GATEWAY_AUDIT if service == "gateway" else AUDIT
    return {
        **MATRIX[service],
        **(audit_rules if audit else {}),
        **(DEAD_LETTERS if dead_letters else {}),
    }


MATRIX: dict[str, dict[str, Rule]] = {
    "intake": INTAKE,
    "assignment": ASSIGNMENT,
    "gateway": GATEWAY,
}


def minimal(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A small instance of a JSON schema from an OpenAPI document (its example if it has one)."""
    if "$ref" in schema:
        return minimal(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("example", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return minimal(options[0], components)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: minimal(props[name], components) for name in schema.get("required", [])}
    if kind == "array":
        item = minimal(schema.get("items", {}), components)
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1.0, schema.get("minimum", 1.0))
    if kind == "boolean":
        return False
    formats = {
        "date": datetime.now(UTC).date().isoformat(),
        "date-time": datetime.now(UTC).isoformat(),
        "uuid": "00000000-0000-4000-8000-000000000001",
        "email": "someone@example.org",
    }
    if schema.get("format") in formats:
        return formats[schema["format"]]
    return "x" * max(3, schema.get("minLength", 3))


def from_schema(openapi: dict[str, Any], operation: str) -> Body:
    """A body for ``operation`` ("POST /path") made from its request schema."""
    method, path = operation.split(" ", 1)
    request = openapi["paths"][path][method.lower()].get("requestBody")
    if request is None:
        return lambda _: None
    schema = request["content"]["application/json"]["schema"]
    body = minimal(schema, openapi.get("components", {}).get("schemas", {}))
    return lambda _: body


SUPPORT = _roles(Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST)
REGION_OVERSIGHT = _roles(Role.EDUCATION_SPECIALIST, Role.COORDINATOR, Role.AUDITOR)
PARTNERS = _roles(Role.IB, Role.TEACHER, Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST)


def _synthetic(kind: Kind, roles: frozenset[Role]) -> Rule:
    return Rule(kind, roles, synthetic=True)


TRAJECTORY: dict[str, Rule] = {
    **HEALTH,
    "POST /cases/{case_id}/start-conversation": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/specialist-analysis": _synthetic(
        Kind.CASE, _roles(Role.EDUCATION_SPECIALIST)
    ),
    "POST /cases/{case_id}/plans": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/support/start": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/sessions": _synthetic(Kind.CASE, WORKER),
    "POST /cases/{case_id}/signals": _synthetic(Kind.CASE, SUPPORT),
    # A teacher reads only: the IB acknowledges for the school.
    "POST /cases/{case_id}/signals/{signal_id}/acknowledgement": Rule(
        Kind.CASE, IB_ONLY, synthetic=True, missing='"detail":"no signal'
    ),
    "POST /cases/{case_id}/evaluations": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/close": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/opp": _synthetic(Kind.CASE, SUPPORT | IB_ONLY),
    "POST /cases/{case_id}/opp/evaluations": _synthetic(Kind.CASE, SUPPORT | IB_ONLY),
    "POST /cases/{case_id}/youth-care": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/case-director": _synthetic(
        Kind.CASE, SUPPORT | _roles(Role.COORDINATOR)
    ),
    "POST /cases/{case_id}/escalations": _synthetic(Kind.CASE, SUPPORT),
    "POST /cases/{case_id}/team-no-decision": _synthetic(Kind.CASE, _roles(Role.TEAM_NO_MEMBER)),
    # The teacher's part (C, docs/roles.md): a teacher of the pupil's group records measures
    # and reflections; the IB or the support side notes the group; any partner invites an
    # adviser, who lists their own invitations.
    "POST /cases/{case_id}/measures": _synthetic(Kind.CASE, _roles(Role.TEACHER)),
    "POST /cases/{case_id}/reflections": _synthetic(Kind.CASE, _roles(Role.TEACHER)),
    "POST /cases/{case_id}/group": _synthetic(Kind.CASE, SUPPORT | IB_ONLY),
    "POST /cases/{case_id}/invitations": _synthetic(Kind.CASE, PARTNERS),
    "GET /invitations": Rule(Kind.TENANT, READERS),
    "GET /cases/{case_id}/trajectory": Rule(Kind.CASE, READERS),
    "GET /cases/{case_id}/integrity": Rule(Kind.CASE, READERS),
    "GET /workers/{worker_id}/evaluations-due": Rule(
        Kind.LIST, _roles(Role.SUPPORT_WORKER) | REGION_OVERSIGHT
    ),
    # TNO, issue 25: the SWV's Team NO regions (configuration, no case content): those who
    # escalate to them and those who work in or oversee them.
    "GET /regions": Rule(
        Kind.TENANT,
        _roles(Role.TEAM_NO_MEMBER, Role.SUPPORT_WORKER, Role.EDUCATION_SPECIALIST)
        | REGION_OVERSIGHT,
    ),
    "GET /regions/{region}/team-no-agenda": Rule(
        Kind.LIST, _roles(Role.TEAM_NO_MEMBER) | REGION_OVERSIGHT
    ),
    "GET /regions/{region}/stagnations": Rule(
        Kind.TENANT, _roles(Role.TEAM_NO_MEMBER) | REGION_OVERSIGHT
    ),
    # Figures per phase, no case named: as assignment's lead times.
    "GET /lead-times": Rule(
        Kind.TENANT, _roles(Role.COORDINATOR, Role.EDUCATION_SPECIALIST, Role.OPERATOR)
    ),
}

OPERATOR = _roles(Role.OPERATOR)
NOTIFICATIONS: dict[str, Rule] = {
    **HEALTH,
    # Who was told what about a case is case content: never the operator's.
    "GET /cases/{case_id}/notifications": Rule(Kind.CASE, READERS),
    "GET /cases/{case_id}/integrity": Rule(Kind.CASE, READERS),
    "GET /messages/parked": Rule(Kind.TENANT, OPERATOR),
    "POST /messages/{message_id}/replay": Rule(
        Kind.TENANT, OPERATOR, synthetic=True, missing="no such message"
    ),
    # The operator's screens list the mailboxes and the messages' wording.
    "GET /contacts": Rule(Kind.TENANT, OPERATOR),
    "GET /templates": Rule(Kind.TENANT, OPERATOR),
    "PUT /contacts/{recipient_id}": _synthetic(Kind.TENANT, OPERATOR | {Role.SERVICE}),
    "DELETE /contacts/{recipient_id}": Rule(Kind.TENANT, OPERATOR | {Role.SERVICE}),
    "POST /messages/{message_id}/bounces": Rule(
        Kind.TENANT, OPERATOR | {Role.SERVICE}, synthetic=True, missing="no such message"
    ),
    # Which messages did not arrive (no addresses): the coordinator follows them up.
    "GET /messages/undeliverable": Rule(
        Kind.LIST,
        _roles(Role.COORDINATOR, Role.EDUCATION_SPECIALIST, Role.AUDITOR, Role.SERVICE),
    ),
    "GET /templates/{name}": Rule(Kind.TENANT, OPERATOR),
    "PUT /templates/{name}": _synthetic(Kind.TENANT, OPERATOR),
    "DELETE /templates/{name}": Rule(Kind.TENANT, OPERATOR),
    "POST /webhooks": _synthetic(Kind.TENANT, OPERATOR),
    "GET /webhooks": Rule(Kind.TENANT, OPERATOR),
    "DELETE /webhooks/{subscription_id}": Rule(
        Kind.TENANT, OPERATOR, missing="no such subscription"
    ),
    # A secret rotation with an overlap (issue 25); the matrix names no subscription.
    "POST /webhooks/{subscription_id}/secret": Rule(
        Kind.TENANT, OPERATOR, synthetic=True, missing="no such subscription"
    ),
}

MATRIX["trajectory"] = TRAJECTORY
MATRIX["notifications"] = NOTIFICATIONS
