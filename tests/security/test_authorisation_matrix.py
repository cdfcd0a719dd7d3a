"""Every role against every endpoint of every service: within reach, out of it, another tenant.

The matrix runs three times, with each kind of token the services accept: the test
issuer's (``dev``), a person's token after signing in at the dev OpenID provider and the
portal's signer (``user``), and a machine client's client-credentials token from the same
provider (``machine``). Tokens of an untrusted issuer, for another audience, expired or
signed by a key the issuer doesn't publish get 401 from every endpoint.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from passend_backbone.auth import Role
from passend_backbone.auth.policy import WHOLE_SWV
from passend_contracts.events.intake import DocumentKind
from passend_devstack.infra import Broker, Database
from passend_devstack.oidc_provider import DevClient, OidcProvider
from tests.security.matrix import DOCUMENT_READERS, MATRIX, Kind, Rule, from_schema, rules_of
from tests.security.provider_tokens import (
    ProviderTokens,
    machine_client_id,
    provider_tokens,
)
from tests.security.stack import (
    COACH,
    COLLEAGUE,
    IB,
    OTHER_REGION,
    OTHER_SCHOOL,
    OTHER_UNIT,
    PARENT,
    REGION,
    SCHOOL,
    STRANGER,
    SWV_A,
    SWV_B,
    UNIT,
    WORKER,
    Stack,
    auth_header,
    running_stack,
    seed_tenant,
)

pytestmark = pytest.mark.integration

SERVICES = list(MATRIX)
# Where the callers' tokens come from (module docstring).
SOURCES = ("dev", "user", "machine")


@dataclass(frozen=True)
class Caller:
    role: Role
    scope: str  # "own" (within reach), "out" (own SWV, out of reach), "foreign" (other SWV)
    claims: dict[str, Any]
    swv: str

    @property
    def key(self) -> str:
        return f"{self.role.value}-{self.scope}-{self.swv}"

    def directory_claims(self) -> dict[str, Any]:
        """What the directory says this caller is (the portal signs these)."""
        claims: dict[str, Any] = {"sub": self.claims["subject"], "role": self.role.value}
        claims["swv"] = self.swv
        for name in ("school_id", "work_unit_id", "region"):
            claims[name] = self.claims.get(name)
        if self.claims.get("pupil_refs"):
            claims["pupil_refs"] = list(self.claims["pupil_refs"])
        return claims

    def machine_claims(self) -> dict[str, Any]:
        """What this caller is as a machine client, in the services' configuration."""
        claims = {k: v for k, v in self.directory_claims().items() if v is not None}
        claims["actor"] = claims.pop("sub")
        return claims

    def headers(self, tokens: ProviderTokens | None = None, source: str = "dev") -> dict[str, str]:
        if source == "dev" or tokens is None:
            return auth_header(self.role, self.swv, **self.claims)
        if source == "user":
            token = tokens.user(self.key, self.directory_claims())
        else:
            token = tokens.machine(self.key)
        return {"Authorization": f"Bearer {token}", "X-Purpose": "security test"}


def _claims(role: Role, pupil_ref: str, *, reach: bool) -> dict[str, Any]:
    """Claims that put the seeded case within (or out of) the role's reach."""
    match role:
        case Role.IB:
            return {"subject": IB, "school_id": SCHOOL if reach else OTHER_SCHOOL}
        case Role.TEACHER:
            return {
                "subject": "t-1",
                "school_id": SCHOOL,
                "pupil_refs": (pupil_ref,) if reach else ("p-someone-else",),
            }
        case Role.SUPPORT_WORKER:
            if reach:
                return {"subject": COLLEAGUE, "work_unit_id": UNIT}
            return {"subject": STRANGER, "work_unit_id": OTHER_UNIT}
        case Role.COORDINATOR:
            return {"subject": "co-1", "work_unit_id": UNIT if reach else OTHER_UNIT}
        case Role.TEAM_NO_MEMBER:
            return {"subject": "tn-1", "region": REGION if reach else OTHER_REGION}
        case Role.ROUTE_COACH:
            return {"subject": COACH if reach else "rc-9"}
        case _:
            return {"subject": f"{role.value}-1"}


def callers(stack: Stack, source: str = "dev") -> list[Caller]:
    everyone = callers_of(stack.pseudonyms[SWV_A])
    if source == "machine":
        # A teacher's reach is the pupils the school's system names in a person's token:
        # no machine client is a teacher.
        return [c for c in everyone if c.role is not Role.TEACHER]
    return everyone


def callers_of(pupil_ref: str) -> list[Caller]:
    out = []
    for role in Role:
        own = _claims(role, pupil_ref, reach=True)
        out.append(Caller(role, "own", own, SWV_A))
        # The same claims in another SWV: ids repeat across tenants on purpose.
        out.append(Caller(role, "foreign", own, SWV_B))
        # The operator and the privacy officer have no case reach to be out of: one sees no
        # case content, the other reads any case of the SWV for a pupil's access request.
        if role not in WHOLE_SWV and role not in (Role.OPERATOR, Role.PRIVACY_OFFICER):
            out.append(Caller(role, "out", _claims(role, "", reach=False), SWV_A))
    return out


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderTokens]:
    with provider_tokens(tmp_path_factory.mktemp("oidc")) as found:
        yield found


@pytest.fixture(scope="module")
async def stack(database: Database, broker: Broker, tokens: ProviderTokens) -> AsyncIterator[Stack]:
    machines = {c.key: c.machine_claims() for c in callers_of("") if c.role is not Role.TEACHER}
    trusted = tokens.trusted_issuers(machines)
    async with running_stack(
        database, broker, SERVICES, lambda: datetime.now(UTC), trusted=trusted
    ) as s:
        await seed_tenant(s, SWV_A)
        await seed_tenant(s, SWV_B)
        yield s


def operations(openapi: dict[str, Any]) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in openapi["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def url_of(template: str, case_id: str) -> str:
    return template.format(
        case_id=case_id,
        school_id=SCHOOL,
        worker_id=WORKER,
        work_unit_id=UNIT,
        region=REGION,
        recipient_id=IB,
        name="zaak_geclaimd",  # a template that exists
        token=secrets.token_urlsafe(32),
        signal_id=uuid4(),
        message_id=uuid4(),
        subscription_id=uuid4(),
        person_id=WORKER,
        parent_ref=PARENT,
        dead_letter_id="nobody:nowhere:0:0",
        pupil_ref="p-matrix-nobody",
        request_id=uuid4(),
        document_id=uuid4(),
    )


def bodies(openapi: dict[str, Any], rules: dict[str, Rule]) -> dict[str, Rule]:
    """The rules with a body made from the schema where the rule asks for one."""
    return {
        op: replace(rule, body=from_schema(openapi, op)) if rule.synthetic else rule
        for op, rule in rules.items()
    }


def domain_rule(text: str) -> bool:
    """Whether a refusal names a working agreement (W1-W29, R, TNO): a rule about this case."""
    try:
        problem = json.loads(text)
    except ValueError:
        return False
    rule = problem.get("rule") if isinstance(problem, dict) else None
    return isinstance(rule, str) and re.fullmatch(r"W\d+|R|TNO", rule) is not None


def judge(rule: Rule, caller: Caller, status: int, text: str, case_a: str) -> str | None:
    """Why this answer breaks the policy, or None when it keeps to it."""
    if status >= 500:
        return f"server error {status}"
    if status == 401:
        return "401 with a valid token"
    if status == 422 and rule.synthetic:
        return None  # validation answered before anyone's role was looked at
    if caller.role not in rule.roles:
        return None if status == 403 else f"{status}, expected 403 (role may never)"
    if caller.scope == "own":
        # Within reach the role is allowed; a domain rule may still refuse this case.
        if status == 404 and rule.missing is not None and rule.missing in text:
            return None  # the case is seen; the named sub-resource doesn't exist
        if status == 404 or (status == 403 and not domain_rule(text)):
            return f"{status} within reach"
        return None
    if rule.kind is Kind.CASE:
        # The answer of an unknown case, whatever it echoes of the request.
        return None if status == 404 else f"{status}, expected 404 (as if it did not exist)"
    if case_a in text:
        return "another tenant's or out-of-reach case in the answer"
    return None


@pytest.mark.parametrize("service", SERVICES)
async def test_every_endpoint_has_a_policy(stack: Stack, service: str) -> None:
    openapi = (await stack[service].http.get("/openapi.json")).json()
    found = operations(openapi)
    assert found == set(rules_of(service, found)), (
        "add the new endpoint to tests/security/matrix.py with the roles that may call it"
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_no_endpoint_answers_without_a_token(stack: Stack, service: str) -> None:
    wrong = []
    openapi = (await stack[service].http.get("/openapi.json")).json()
    rules = rules_of(service, operations(openapi))
    for operation, rule in bodies(openapi, rules).items():
        method, template = operation.split(" ", 1)
        answer = await stack[service].http.request(
            method, url_of(template, stack.cases[SWV_A]), **rule.payload(SWV_A)
        )
        if rule.kind is Kind.PUBLIC:
            if answer.status_code in (401, 403) or answer.status_code >= 500:
                wrong.append(f"{operation}: public but {answer.status_code}")
        elif answer.status_code != 401:
            wrong.append(f"{operation}: {answer.status_code} without a token")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("service", SERVICES)
async def test_each_role_in_its_reach_out_of_it_and_in_another_tenant(
    stack: Stack, tokens: ProviderTokens, service: str, source: str
) -> None:
    case_a = stack.cases[SWV_A]
    wrong = []
    calls = 0
    openapi = (await stack[service].http.get("/openapi.json")).json()
    rules = rules_of(service, operations(openapi))
    for operation, rule in bodies(openapi, rules).items():
        if rule.kind is Kind.PUBLIC:
            continue
        method, template = operation.split(" ", 1)
        for caller in callers(stack, source):
            headers = caller.headers(tokens, source)
            for name in rule.headers:
                headers[name] = str(uuid4())
            answer = await stack[service].http.request(
                method, url_of(template, case_a), headers=headers, **rule.payload(caller.swv)
            )
            calls += 1
            problem = judge(rule, caller, answer.status_code, answer.text, case_a)
            if problem:
                wrong.append(
                    f"{operation} as {caller.role.value} ({caller.scope}, {source}): {problem}: "
                    f"{answer.text[:160]}"
                )
    assert calls > 0 or all(r.kind is Kind.PUBLIC for r in rules.values())
    report = f"{len(wrong)} of {calls} answers break the policy:\n" + "\n".join(wrong)
    assert not wrong, report


def document_answer_breaks_the_rule(
    readers: frozenset[Role], caller: Caller, status: int, listed: bool | None, text: str
) -> str | None:
    """Why an answer about a document of a kind ``readers`` may read breaks the rule, or
    None (``listed``: whether the list showed it; None for a download)."""
    if caller.role not in MATRIX["intake"]["GET /requests/{case_id}/documents"].roles:
        return None if status == 403 else f"{status}, expected 403 (reads no case)"
    if caller.scope != "own":
        return None if status == 404 else f"{status}, expected 404 (case out of reach)"
    if listed is None:  # the download
        if caller.role in readers:
            return None if status == 200 else f"{status}, expected 200"
        if status == 404 and "no such document" in text:
            return None
        return f"{status}, expected 404 (the kind is not for this role)"
    if status != 200:
        return f"list answered {status}, expected 200"
    if listed != (caller.role in readers):
        return "listed, but not for this role" if listed else "not listed, but for this role"
    return None


def test_every_document_kind_has_its_readers() -> None:
    """W22: a new kind of document needs a decision on who reads it."""
    assert set(DOCUMENT_READERS) == {k.value for k in DocumentKind}


@pytest.mark.parametrize("source", SOURCES)
async def test_documents_by_kind(stack: Stack, tokens: ProviderTokens, source: str) -> None:
    """W22 (issue 21): each role against a document of every kind, its download and the
    list: a report is not for the teacher or the route coach, every other kind is for
    every reader of the case (matrix.DOCUMENT_READERS)."""
    case_a, documents = stack.cases[SWV_A], stack.documents[SWV_A]
    intake = stack["intake"].http
    wrong, calls = [], 0
    for caller in callers(stack, source):
        headers = caller.headers(tokens, source)
        listing = await intake.get(f"/requests/{case_a}/documents", headers=headers)
        shown = (
            {str(d["document_id"]) for d in listing.json()} if listing.status_code == 200 else set()
        )
        for kind, document_id in documents.items():
            readers = DOCUMENT_READERS[kind]
            download = await intake.get(
                f"/requests/{case_a}/documents/{document_id}", headers=headers
            )
            calls += 2
            for what, status, listed, text in (
                ("list", listing.status_code, document_id in shown, listing.text),
                ("download", download.status_code, None, download.text),
            ):
                problem = document_answer_breaks_the_rule(readers, caller, status, listed, text)
                if problem:
                    wrong.append(
                        f"{kind} {what} as {caller.role.value} ({caller.scope}, {source}): "
                        f"{problem}: {text[:120]}"
                    )
    assert calls > 0
    assert not wrong, f"{len(wrong)} of {calls} answers break the rule:\n" + "\n".join(wrong)


def refused_tokens(tokens: ProviderTokens, elsewhere: OidcProvider) -> dict[str, str]:
    """Tokens every endpoint must answer 401, each wrong in one way only (the claims are
    those of a trusted machine client that may do a lot: the SWV's operator)."""
    provider = tokens.provider
    client_id = machine_client_id(f"{Role.OPERATOR.value}-own-{SWV_A}")
    good = provider.machine_claims(client_id)
    expired = provider.machine_claims(client_id, lifetime_seconds=-3600)
    expired["iat"] -= 7200
    untrusted = httpx.post(
        f"{elsewhere.url}/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, "elsewhere"),
    )
    untrusted.raise_for_status()
    return {
        "untrusted issuer": untrusted.json()["access_token"],
        "the trusted issuer's name, another key": elsewhere.sign(good),
        "another audience": provider.sign({**good, "aud": "another-api"}),
        "expired": provider.sign(expired),
        "unknown kid": provider.sign(good, published=False),
        "a person's token of the provider": provider.sign({**good, "sub": IB, "role": "ib"}),
        "a client Passend doesn't know": provider.sign(
            {**good, "sub": "m-unknown", "client_id": "m-unknown"}
        ),
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_tokens_of_an_untrusted_issuer_audience_expiry_or_key_get_401(
    stack: Stack, tokens: ProviderTokens, service: str, tmp_path: Path
) -> None:
    client_id = machine_client_id(f"{Role.OPERATOR.value}-own-{SWV_A}")
    operator = DevClient(client_id, "elsewhere", claims={"role": "operator", "swv": SWV_A})
    with OidcProvider(tmp_path / "elsewhere", [], [operator]) as elsewhere:
        bad = refused_tokens(tokens, elsewhere)
    openapi = (await stack[service].http.get("/openapi.json")).json()
    rules = rules_of(service, operations(openapi))
    wrong, calls = [], 0
    for operation, rule in bodies(openapi, rules).items():
        if rule.kind is Kind.PUBLIC:
            continue
        method, template = operation.split(" ", 1)
        for what, token in bad.items():
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": "security test"}
            for name in rule.headers:
                headers[name] = str(uuid4())
            answer = await stack[service].http.request(
                method,
                url_of(template, stack.cases[SWV_A]),
                headers=headers,
                **rule.payload(SWV_A),
            )
            calls += 1
            if answer.status_code != 401 or "Bearer" not in answer.headers.get(
                "WWW-Authenticate", ""
            ):
                wrong.append(f"{operation} with {what}: {answer.status_code}")
    assert calls > 0 or all(r.kind is Kind.PUBLIC for r in rules.values())
    assert not wrong, f"{len(wrong)} of {calls} answers were not 401:\n" + "\n".join(wrong)
