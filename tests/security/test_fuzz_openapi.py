"""Every service's OpenAPI document against the running service, with all of schemathesis' checks.

Each operation is called with generated input that fits its document (positive) and that
does not (negative), by callers of each role and by a caller without a token, with free
path ids and with ids that exist; then once more with schemathesis' coverage cases
(boundary values, missing and wrongly typed parameters, methods the path does not
have). Every answer goes through every check the installed schemathesis has: among them
no server error, every status declared (``status_code_conformance``), the declared
media type (``content_type_conformance``) and body (``response_schema_conformance``),
declared headers, invalid input refused and valid input taken, a missing token refused
(``ignored_auth``), an undeclared method answered 405. A check that cannot apply to
these calls is named in :data:`NOT_APPLICABLE` with the reason. On top of them: no
answer holds tenant B's data.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import UndefinedStatusCode

from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database
from tests.security.stack import (
    IB,
    SCHOOL,
    SWV_A,
    SWV_B,
    UNIT,
    WORKER,
    Stack,
    auth_header,
    running_stack,
    seed_tenant,
)

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use ``random``; not this suite's concern.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SERVICES = ["intake", "assignment", "trajectory", "notifications", "gateway"]
# Bounded for CI: a few examples per operation, caller and mode, the same ones every run.
EXAMPLES = 2

Headers = Callable[[], dict[str, str]]
CALLERS: dict[str, Headers] = {
    "nobody": dict,
    "ib": lambda: auth_header(Role.IB, SWV_A, subject=IB, school_id=SCHOOL),
    "support_worker": lambda: auth_header(
        Role.SUPPORT_WORKER, SWV_A, subject=WORKER, work_unit_id=UNIT
    ),
    "education_specialist": lambda: auth_header(Role.EDUCATION_SPECIALIST, SWV_A, subject="os-1"),
    "operator": lambda: auth_header(Role.OPERATOR, SWV_A, subject="op-1"),
}
# The coverage cases (a few hundred per service) are sent by one caller who reaches most
# operations; the generated ones above vary the caller.
COVERAGE_CALLER = "support_worker"

# Checks of the installed schemathesis that cannot find anything in these calls, and why.
# Every other check it has runs on every answer (see test_every_check_runs_or_says_why).
# Operations whose answer reports the system's state, not the request's: a readiness probe
# answers 503 while a check fails (under load, "no answer within 1s"), by design, for the
# orchestrator. Its answers are declared and tested in test_operations_readiness.py.
STATE_REPORTS = {"GET /health/ready"}

NOT_APPLICABLE: dict[str, str] = {
    # Both follow a resource from the operation that made it to the ones that read it,
    # which needs stateful runs along OpenAPI links; no service declares links (its
    # resources are made by events, not by the POST that the reads would follow), and no
    # service has a DELETE whose resource could be read after it is gone.
    "use_after_free": "needs a DELETE and links between operations; the APIs have neither",
    "ensure_resource_availability": "needs links from a creating POST; the APIs declare none",
    # It replays a read as other identities registered with schemathesis' own auth
    # configuration. The same question (one caller sees another's object) is asked here of
    # two seeded tenants with the same ids: tenant B's case, pupil and SWV never appear in
    # an answer to a tenant A caller, and tests/security/test_rls.py asks it of the database.
    "object_level_authorization": "needs schemathesis auth identities; the tenant check does it",
}


# A request that fits the document may still be refused by a domain rule that no schema
# can say (a date in the past, a step out of order, an id of the wrong shape for its kind):
# 422 with the rule (``Refusal.invalid``). So positive_data_acceptance takes 422 besides
# its defaults, and document_and_validation_agree (below) keeps the strict half of the
# question: 422 for a request that does not match the endpoint (``invalid-request``) to
# input the document calls valid means the document is wrong. Likewise 415: what an
# uploaded file is (a PDF, a DOCX, ...) is found in its bytes (issue 21), which a schema's
# ``format: binary`` can't say; the upload declares 415 for any other content.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "415", "422", "429"]
            }
        }
    }
)
INVALID_REQUEST = "urn:passend:problem:invalid-request"


def document_and_validation_agree(ctx: Any, response: Any, case: Any) -> bool | None:
    """Input the document calls valid passes the endpoint's request validation."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 422 and INVALID_REQUEST in response.text:
        raise Failure(
            operation=case.operation.label,
            title="Schema-valid request does not match the endpoint",
            message=response.text[:300],
        )
    return None


def all_checks() -> dict[str, Any]:
    """Every check the installed schemathesis has, by name."""
    load_all_checks()
    return {check.__name__: check for check in CHECKS.get_all()}


def checks_to_run() -> list[Any]:
    checks = [check for name, check in all_checks().items() if name not in NOT_APPLICABLE]
    return [*checks, document_and_validation_agree]


@pytest.fixture(scope="module")
async def stack(database: Database, broker: Broker) -> AsyncIterator[Stack]:
    async with running_stack(database, broker, SERVICES, lambda: datetime.now(UTC)) as s:
        await seed_tenant(s, SWV_A)
        await seed_tenant(s, SWV_B)
        yield s


class Findings:
    """What the checks found, per service, and the answers seen (by class of status)."""

    def __init__(self, secrets_of_b: list[str]) -> None:
        self.secrets_of_b = secrets_of_b
        self.failures: dict[str, dict[str, str]] = defaultdict(dict)
        self.undeclared: dict[str, set[tuple[str, int]]] = defaultdict(set)
        self.seen: Counter[int] = Counter()
        self.calls = 0

    def send(self, service: str, case: Any, label: str, headers: dict[str, str], url: str) -> None:
        """Call ``case`` and put the answer through every check."""
        self.calls += 1
        response = case.call(base_url=url, headers=headers, timeout=20)
        self.seen[response.status_code // 100] += 1
        try:
            case.validate_response(
                response,
                checks=checks_to_run(),
                headers=headers,
                transport_kwargs={"base_url": url, "headers": headers, "timeout": 20},
            )
        except FailureGroup as group:
            self.found(service, label, group.exceptions, response.text)
        except Failure as failure:
            self.found(service, label, [failure], response.text)
        asked = f"{case.formatted_path} {case.query} {case.body}"
        for secret in self.secrets_of_b:
            if secret in response.text and secret not in asked:
                self.failures[service][f"{label}: leak"] = f"tenant B's {secret!r} in the answer"

    def found(self, service: str, label: str, failures: Iterable[Failure], answer: str) -> None:
        for failure in failures:
            if isinstance(failure, UndefinedStatusCode):
                self.undeclared[service].add((str(failure.operation), failure.status_code))
            # One entry per operation and kind of failure (and status, for conformance).
            status = getattr(failure, "status_code", "")
            key = f"{failure.operation or label}: {failure.title} {status}".strip()
            self.failures[service].setdefault(
                key, f"({label}) {failure.message[:300]}\n    answer: {answer[:200]}"
            )

    def undeclared_counts(self) -> dict[str, int]:
        """How many (operation, status) answers each service gave without declaring them."""
        return {service: len(found) for service, found in self.undeclared.items()}


def fuzz_operation(
    findings: Findings, service: str, operation: Any, url: str, known: dict[str, str]
) -> None:
    """Generated calls of one operation, per caller, mode and kind of path id."""
    names = {p.name for p in operation.path_parameters}
    fixed = [None] + ([{n: known[n] for n in names if n in known}] if names else [])
    for caller, headers in CALLERS.items():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Invalid input is refused before any id is looked up: free ids will do.
            for path_parameters in fixed if mode is GenerationMode.POSITIVE else [None]:
                strategy = operation.as_strategy(mode, path_parameters=path_parameters)
                label = f"{operation.label} as {caller}, {mode.value}"
                try:
                    calls(findings, service, strategy, label, headers, url)()
                except Unsatisfiable:
                    # Nothing of this operation can be made invalid (it takes no input).
                    assert mode is GenerationMode.NEGATIVE, label


def calls(
    findings: Findings, service: str, strategy: Any, label: str, headers: Headers, url: str
) -> Callable[[], None]:
    """A few generated cases of ``strategy``, each sent and checked."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: Any) -> None:
        findings.send(service, case, label, headers(), url)

    return send


def run_service(
    findings: Findings, service: str, schema: Any, url: str, known: dict[str, str]
) -> None:
    """Every operation of ``schema``: generated calls, then the coverage cases."""
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in STATE_REPORTS:
            continue
        fuzz_operation(findings, service, operation, url, known)
        coverage = schema.iter_coverage_cases(
            operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
        )
        headers = CALLERS[COVERAGE_CALLER]()
        for case in coverage:
            findings.send(service, case, f"{operation.label} (coverage)", headers, url)


# Trajectory's API alone takes about 100 s on an idle 2-core machine; under the full
# suite's three workers, three times that. A hang still ends at this limit.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", SERVICES)
async def test_every_operation_passes_every_check_and_leaks_nothing(
    stack: Stack, name: str
) -> None:
    """One service at a time, so that each has the suite's time limit to itself."""
    findings = Findings([stack.cases[SWV_B], stack.pupil_refs[SWV_B], SWV_B])
    known = {
        "case_id": stack.cases[SWV_A],
        "school_id": SCHOOL,
        "worker_id": WORKER,
        "work_unit_id": UNIT,
    }
    service = stack[name]
    document = (await service.http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    # The services answer from this event loop: call them from a thread.
    await asyncio.to_thread(run_service, findings, name, schema, service.url, known)
    # It reached the service's code, not only its validation.
    assert findings.seen[2] >= 3 and findings.seen[4] >= 3, findings.seen
    report = [
        f"{service}: {key}\n    {message}"
        for service, found in findings.failures.items()
        for key, message in sorted(found.items())
    ]
    assert not report, (
        f"{findings.calls} calls; undeclared statuses: {findings.undeclared_counts()}\n"
        + "\n".join(report)
    )


def test_every_check_runs_or_says_why() -> None:
    """A check a newer schemathesis adds runs at once, unless it is added here with a reason."""
    names = set(all_checks())
    assert set(NOT_APPLICABLE) <= names, set(NOT_APPLICABLE) - names
    running = {check.__name__ for check in checks_to_run()}
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
    } <= running, running
    assert running | set(NOT_APPLICABLE) == names | {document_and_validation_agree.__name__}
