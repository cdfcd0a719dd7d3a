"""What must hold once the faults healed and the system settled.

- every acknowledged command's effect is in its service's event store (exactly once) and
  in every read model that shows it: nothing lost, nothing doubled;
- one ``CaseClaimed`` per claimed case, one routing and one trajectory each;
- every notification scheduled once per event and recipient, each sent message in the
  mail sink once (more only for a message flagged ``possible_duplicate``, at most once per
  attempt), none left undelivered;
- every stream's hash chain verifies, every topic holds its whole store;
- each read model equals a rebuild of it from the topics;
- every instance answers ready, and none exited without being killed.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from passend_backbone.audit.chain import verify_chains
from passend_backbone.audit.kafka_check import topic_event_ids
from passend_backbone.consumer.kinds import Projection, Reactor
from passend_contracts import topics
from passend_notifications.domain.rules import RULES, recipients
from tests.nemesis.cluster import Cluster
from tests.nemesis.load import WORKER, Case, Ledger

TOPICS = {
    "intake": topics.INTAKE,
    "assignment": topics.ASSIGNMENT,
    "trajectory": topics.TRAJECTORY,
    "notifications": topics.NOTIFICATIONS,
}


def consumers() -> dict[str, dict[str, tuple[str, ...]]]:
    """Each service's projections and reactors (groups ``<service>.<name>``) and their topics."""
    from passend_assignment.service import SPEC as ASSIGNMENT
    from passend_intake.service import SPEC as INTAKE
    from passend_notifications.service import SPEC as NOTIFICATIONS
    from passend_trajectory.service import SPEC as TRAJECTORY

    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for spec in (INTAKE, ASSIGNMENT, TRAJECTORY, NOTIFICATIONS):
        parts: list[Projection | Reactor] = [*spec.projections, *spec.reactors]
        found[spec.name] = {part.name: tuple(part.topics) for part in parts}
    found["gateway"] = {"integration": topics.ALL}
    return found


# The event each command appends, and the payload field that names it (sessions, ...).
EFFECTS: dict[str, tuple[str, str, str | None]] = {
    "submit": ("intake", "RequestSubmitted", None),
    "consent_request": ("intake", "ConsentRequested", None),
    "consent_confirm": ("intake", "ConsentConfirmed", None),
    "claim": ("assignment", "CaseClaimed", None),
    "start_conversation": ("trajectory", "StartConversationRecorded", None),
    "plan": ("trajectory", "PlanRecorded", None),
    "support_start": ("trajectory", "SupportStarted", None),
    "session": ("trajectory", "SessionRecorded", "session_id"),
    "evaluation": ("trajectory", "EvaluationRecorded", "evaluation_id"),
}


def event_type(service: str, name: str) -> str:
    return f"nl.passend.{service}.{name}.v1"


@dataclass
class Verdict:
    """The checks' outcome: what was lost, doubled or wrong, and the figures."""

    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.doubled and not self.problems


# -- settling ----------------------------------------------------------------------------------


async def behind(cluster: Cluster) -> list[str]:
    """What is not done yet: unpublished events, unhandled events, undelivered messages.

    A consumer is done when it marked every event of its topics' stores handled (each
    projection generation and each reactor marks the events it applied, in the same
    transaction): exact, and independent of copies a relay's retry left on a topic.
    """
    waiting: list[str] = []
    stored: dict[str, int] = {}
    for service, pool in cluster.pools.items():
        head, done, count = await pool.fetchrow(
            "SELECT (SELECT coalesce(max(position), 0) FROM events), "
            "(SELECT coalesce(max(position), 0) FROM outbox_checkpoint), "
            "(SELECT count(*) FROM events)"
        )
        if head != done:
            waiting.append(f"{service} relay at {done} of {head}")
        stored[service] = count
    of_topic = {topic: stored.get(service, 0) for service, topic in TOPICS.items()}
    for service, groups in consumers().items():
        pool = cluster.pools.get(service)
        if pool is None:
            continue
        for name, read in groups.items():
            expected = sum(of_topic[topic] for topic in read)
            if await pool.fetchval(
                "SELECT 1 FROM projection_generations WHERE projection = $1", name
            ):
                handled = await pool.fetchval(
                    f"SELECT count(*) FROM {await schema(pool, name)}.handled"
                )
            else:
                handled = await pool.fetchval(
                    "SELECT count(*) FROM reactor_handled WHERE reactor = $1", name
                )
            if handled != expected:
                waiting.append(f"{service}.{name} handled {handled} of {expected}")
    undelivered = await cluster.pools["notifications"].fetchval(
        "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'attempting')"
    )
    if undelivered:
        waiting.append(f"{undelivered} messages still to deliver")
    return waiting


async def settle(cluster: Cluster, timeout: float = 600.0) -> float:
    """Wait until everything is published, consumed and delivered; the seconds it took."""
    started = time.monotonic()
    last: list[str] = []
    while time.monotonic() - started < timeout:
        cluster.supervisor.check()
        try:
            last = await behind(cluster)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            last = [repr(exc)]
        if not last:
            return time.monotonic() - started
        cluster.say("settling: " + "; ".join(last[:6]))
        await asyncio.sleep(2.0)
    raise AssertionError(f"not settled within {timeout:g}s: {last}")


# -- read models ---------------------------------------------------------------------------------


async def schema(pool: asyncpg.Pool, projection: str) -> str:
    generation = await pool.fetchval(
        "SELECT active FROM projection_generations WHERE projection = $1", projection
    )
    return f"rm_{projection}_{generation}"


async def dump(pool: asyncpg.Pool, projection: str) -> dict[str, list[str]]:
    """Every table of the projection's active generation, rows as text, sorted."""
    name = await schema(pool, projection)
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", name
    )
    found: dict[str, list[str]] = {}
    for table in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM {name}."{table[0]}" t ORDER BY 1')
        found[table[0]] = [r["row"] for r in rows]
    return found


# -- the checks ----------------------------------------------------------------------------------


async def check_commands(cluster: Cluster, ledger: Ledger, verdict: Verdict) -> None:
    """Each command's event in its store once (none for one never acknowledged is fine,
    two for any is doubling), and each acknowledged one in the read models."""
    events: dict[str, dict[tuple[str, str], Counter[str | None]]] = {}
    for service in ("intake", "assignment", "trajectory"):
        rows = await cluster.pools[service].fetch(
            "SELECT stream_id, event_type, coalesce(data->>'session_id', "
            "data->>'evaluation_id') AS ref FROM events"
        )
        counted: dict[tuple[str, str], Counter[str | None]] = {}
        for row in rows:
            counted.setdefault((row["stream_id"], row["event_type"]), Counter())[row["ref"]] += 1
        events[service] = counted
    views = await _read_models(cluster)
    for case in ledger.cases:
        if case.case_id is None:
            continue
        for kind in {c.kind for c in case.commands}:
            _check_kind(case, kind, events, verdict)
        _check_reactions(case, events, verdict)
        _check_views(case, views, verdict)
    verdict.figures["commands acknowledged"] = ledger.acknowledged
    verdict.figures["commands given up (never acknowledged)"] = ledger.given_up


def _check_kind(
    case: Case,
    kind: str,
    events: dict[str, dict[tuple[str, str], Counter[str | None]]],
    verdict: Verdict,
) -> None:
    service, name, ref_field = EFFECTS[kind]
    assert case.case_id is not None
    found = events[service].get((case.case_id, event_type(service, name)), Counter())
    sent = [c for c in case.commands if c.kind == kind]
    if ref_field is None:
        total = sum(found.values())
        if total > len(sent):
            verdict.doubled.append(f"case {case.case_id}: {total} x {name} for {len(sent)} sent")
        if total == 0 and any(c.acknowledged for c in sent):
            verdict.lost.append(f"case {case.case_id}: acknowledged {kind}, no {name}")
        return
    for command in sent:
        count = found.get(command.ref, 0)
        if count > 1:
            verdict.doubled.append(f"case {case.case_id}: {count} x {name} {command.ref}")
        if count == 0 and command.acknowledged:
            verdict.lost.append(f"case {case.case_id}: acknowledged {kind} {command.ref} missing")


def _check_reactions(
    case: Case, events: dict[str, dict[tuple[str, str], Counter[str | None]]], verdict: Verdict
) -> None:
    """What the services do by themselves: route once, open one trajectory per claim."""
    assert case.case_id is not None

    def count(service: str, name: str) -> int:
        return sum(events[service].get((str(case.case_id), event_type(service, name)), {}).values())

    submitted = bool(case.acknowledged("submit"))
    claimed = bool(case.acknowledged("claim"))
    for service, name, expected in (
        ("assignment", "RequestRouted", submitted),
        ("assignment", "CaseClaimed", claimed),
        ("trajectory", "TrajectoryOpened", claimed),
    ):
        found = count(service, name)
        if found > 1:
            verdict.doubled.append(f"case {case.case_id}: {found} x {name}")
        if expected and found == 0:
            verdict.lost.append(f"case {case.case_id}: no {name}")


async def _read_models(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """The rows the checks look at, per read model, by case id."""
    found: dict[str, dict[str, Any]] = {}

    async def rows(service: str, projection: str, sql: str) -> dict[str, Any]:
        pool = cluster.pools[service]
        name = await schema(pool, projection)
        return {str(r[0]): r for r in await pool.fetch(sql.format(schema=name))}

    found["intake.requests"] = await rows(
        "intake", "requests", "SELECT case_id FROM {schema}.requests"
    )
    found["intake.consent"] = await rows(
        "intake", "requests", "SELECT case_id, status FROM {schema}.consent"
    )
    found["intake.case_progress"] = await rows(
        "intake",
        "requests",
        "SELECT case_id, claimed_by, trajectory_opened_at FROM {schema}.case_progress",
    )
    found["assignment.case_board"] = await rows(
        "assignment", "case_board", "SELECT case_id, routed_at, claimed_by FROM {schema}.cases"
    )
    found["assignment.case_consent"] = await rows(
        "assignment", "case_consent", "SELECT case_id, status FROM {schema}.consents"
    )
    found["trajectory.trajectories"] = await rows(
        "trajectory",
        "trajectories",
        "SELECT case_id, state::text AS state FROM {schema}.trajectories",
    )
    return found


def _check_views(case: Case, views: dict[str, dict[str, Any]], verdict: Verdict) -> None:
    case_id = str(case.case_id)

    def missing(what: str) -> None:
        verdict.lost.append(f"case {case_id}: not in {what}")

    if case.acknowledged("submit"):
        for view in ("intake.requests", "assignment.case_board"):
            if case_id not in views[view]:
                missing(view)
    if case.acknowledged("consent_confirm"):
        for view in ("intake.consent", "assignment.case_consent"):
            row = views[view].get(case_id)
            if row is None or row["status"] != "confirmed":
                missing(f"{view} as confirmed")
    if case.acknowledged("claim"):
        board = views["assignment.case_board"].get(case_id)
        if board is None or board["claimed_by"] != WORKER:
            missing("assignment.case_board as claimed")
        progress = views["intake.case_progress"].get(case_id)
        if progress is None or progress["claimed_by"] != WORKER:
            missing("intake.case_progress as claimed")
        if progress is None or progress["trajectory_opened_at"] is None:
            missing("intake.case_progress with its trajectory")
        if case_id not in views["trajectory.trajectories"]:
            missing("trajectory.trajectories")
    row = views["trajectory.trajectories"].get(case_id)
    state: dict[str, Any] = json.loads(row["state"]) if row is not None else {}
    singles = {
        "consent_confirm": ("consent", lambda s: (s.get("consent") or {}).get("status")),
        "start_conversation": ("start_conversation", lambda s: s.get("start_conversation")),
        "support_start": ("support", lambda s: s.get("support")),
    }
    for kind, (what, value) in singles.items():
        if case.acknowledged(kind) and not value(state):
            missing(f"trajectory.trajectories ({what})")
    if case.acknowledged("plan") and len(state.get("plans", ())) != 1:
        verdict.lost.append(f"case {case_id}: {len(state.get('plans', ()))} plans in the view")
    for kind, key, ref in (
        ("session", "sessions", "session_id"),
        ("evaluation", "evaluations", "evaluation_id"),
    ):
        shown = Counter(str(item[ref]) for item in state.get(key, ()))
        for command in case.acknowledged(kind):
            if shown[str(command.ref)] == 0:
                missing(f"trajectory.trajectories ({kind} {command.ref})")
        for ref_id, times in shown.items():
            if times > 1:
                verdict.doubled.append(f"case {case_id}: {kind} {ref_id} {times}x in the view")


async def check_notifications(cluster: Cluster, verdict: Verdict) -> None:
    """Scheduled once per event and recipient; sent within the bound; none left behind."""
    pool = cluster.pools["notifications"]
    scheduled = await pool.fetch(
        "SELECT data->>'message_id' AS message, data->>'caused_by_event' AS cause, "
        "data->>'recipient_id' AS recipient FROM events WHERE event_type = $1",
        event_type("notifications", "NotificationScheduled"),
    )
    per_message = Counter(r["message"] for r in scheduled)
    for message, times in per_message.items():
        if times > 1:
            verdict.doubled.append(f"message {message} scheduled {times}x")
    causes = {r["cause"] for r in scheduled}
    # Every event a rule names someone for caused at least one scheduled message. Whether a
    # rule fires is the rules' own answer for the event's data (a consent asked in person
    # is not mailed, W10); with nothing known of the case a rule for the case's people
    # still names its placeholder, so an event whose rules name nobody told nobody.
    ruled = {rule.event_type for rule in RULES}
    for service in ("intake", "assignment", "trajectory"):
        rows = await cluster.pools[service].fetch(
            "SELECT event_id::text, event_type, data FROM events "
            "WHERE event_type = ANY($1::text[])",
            sorted(ruled),
        )
        for row in rows:
            if row["event_id"] in causes:
                continue
            if recipients(row["event_type"], json.loads(row["data"])):
                verdict.lost.append(f"{row['event_type']} {row['event_id']}: nobody was told")
    sent = await pool.fetch(
        "SELECT data->>'message_id' AS message, (data->>'possible_duplicate')::boolean AS dup "
        "FROM events WHERE event_type = $1",
        event_type("notifications", "NotificationSent"),
    )
    sent_count = Counter(r["message"] for r in sent)
    flagged = {r["message"] for r in sent if r["dup"]}
    for message, times in sent_count.items():
        if times > 1:
            verdict.doubled.append(f"message {message}: NotificationSent {times}x")
    attempts = {
        str(r["message_id"]): r["attempts"]
        for r in await pool.fetch("SELECT message_id, attempts FROM deliveries")
    }
    copies = mail_copies(cluster.mail.folder)
    over = 0
    for message, times in copies.items():
        bound = attempts.get(message, 1) if message in flagged else 1
        if times > bound:
            over += 1
            verdict.doubled.append(f"message {message}: {times} copies in the mail (bound {bound})")
    for message in sent_count:
        if copies.get(message, 0) == 0:
            verdict.lost.append(f"message {message} recorded as sent, not in the mail sink")
    rows = await pool.fetch(
        "SELECT status, recipient_id, template FROM deliveries WHERE channel = 'email'"
    )
    statuses = Counter(r["status"] for r in rows)
    # Every recipient of the load has an address (the directory's people, the mailboxes,
    # the parent the request gives), so a parked message is one nobody received. A message
    # to the case's parents placeholder (the notice came before the request's parents: no
    # order across topics) is handed to the parents once they are known, not parked.
    for row in rows:
        if row["status"] == "parked":
            verdict.lost.append(f"a message to {row['recipient_id']} parked")
    per_recipient = Counter(r["recipient"] for r in scheduled)
    verdict.figures["messages scheduled"] = len(per_message)
    verdict.figures["messages by status"] = dict(statuses)
    verdict.figures["placeholders handed to the parents once known"] = sum(
        1 for r in rows if r["status"] == "cancelled" and r["recipient_id"].startswith("parents:")
    )
    parked = Counter(r["template"] for r in rows if r["status"] == "parked")
    verdict.figures["parked messages by template"] = dict(parked)
    verdict.figures["messages flagged possible_duplicate"] = len(flagged)
    verdict.figures["second copies in the mail sink"] = sum(max(t - 1, 0) for t in copies.values())
    verdict.figures["most messages for one recipient"] = max(per_recipient.values(), default=0)


def mail_copies(folder: Path) -> Counter[str]:
    """How many copies of each message (by its Message-ID) the mail sink received."""
    copies: Counter[str] = Counter()
    for path in folder.glob("*.eml"):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        header = str(parsed.get("Message-ID", "")).strip("<>")
        copies[header.split("@", 1)[0]] += 1
    return copies


async def check_chains(cluster: Cluster, verdict: Verdict) -> None:
    checked = 0
    for service, pool in cluster.pools.items():
        report = await verify_chains(pool, service)
        checked += report.events_checked
        if not report.ok:
            verdict.problems.append(f"{service}: hash chain broken: {report.first_break}")
    verdict.figures["events whose hash chain was verified"] = checked


async def check_topics(cluster: Cluster, verdict: Verdict) -> None:
    """Every stored event is on its topic (copies from a relay's retry are allowed)."""
    redelivered = 0
    for service, topic in TOPICS.items():
        stored = {
            r[0] for r in await cluster.pools[service].fetch("SELECT event_id::text FROM events")
        }
        ids, unreadable, _ = await topic_event_ids(cluster.broker.bootstrap_servers, topic)
        on_topic = Counter(ids)
        missing = stored - on_topic.keys()
        if missing:
            verdict.lost.append(f"{topic}: {len(missing)} stored events never published")
        if unreadable or on_topic.keys() - stored:
            verdict.problems.append(f"{topic}: records that are not in the store")
        redelivered += sum(n - 1 for n in on_topic.values())
    verdict.figures["records published more than once (relay retries)"] = redelivered


async def check_rebuilds(cluster: Cluster, verdict: Verdict) -> None:
    """Each read model equals what a rebuild from offset zero makes of the topics."""
    compared = 0
    for service in ("intake", "assignment", "trajectory", "notifications"):
        pool = cluster.pools[service]
        projections = [
            r[0] for r in await pool.fetch("SELECT projection FROM projection_generations")
        ]
        live = {p: await dump(pool, p) for p in projections}
        code, output = await asyncio.to_thread(_rebuild, cluster, service)
        if code != 0:
            verdict.problems.append(f"{service}: rebuild failed: {output[-500:]}")
            continue
        for projection in projections:
            rebuilt = await dump(pool, projection)
            if rebuilt != live[projection]:
                difference = _diff(live[projection], rebuilt)
                verdict.problems.append(
                    f"{service}.{projection} differs from its rebuild: {difference}"
                )
            compared += 1
    verdict.figures["read models equal to their rebuild"] = compared


def _rebuild(cluster: Cluster, service: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": cluster.database.url_for(f"passend_{service}"),
        "KAFKA_BOOTSTRAP_SERVERS": cluster.broker.bootstrap_servers,
        "KAFKA_BROKER_KIND": cluster.broker.kind,
    }
    env.pop("KAFKA_TOPIC_PREFIX", None)
    done = subprocess.run(
        [sys.executable, "-m", f"passend_{service}", "rebuild", "--all", "--fresh"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _diff(live: dict[str, list[str]], rebuilt: dict[str, list[str]]) -> str:
    for table in sorted(live.keys() | rebuilt.keys()):
        a, b = set(live.get(table, ())), set(rebuilt.get(table, ()))
        if a != b:
            return f"table {table}: only live {sorted(a - b)[:2]}, only rebuilt {sorted(b - a)[:2]}"
    return "row order"


async def check_ready(cluster: Cluster, verdict: Verdict, killed: Iterable[str]) -> None:
    """Every instance ready; exits the nemesis did not cause are named."""
    async with httpx.AsyncClient() as http:
        waiting = await cluster.not_ready(http)
    if waiting:
        verdict.problems.append(f"not ready after settling: {', '.join(waiting)}")
    exits = Counter({name: len(times) for name, times in cluster.exits.seen.items()})
    exits.subtract(Counter(killed))
    unexpected = {name: n for name, n in exits.items() if n > 0}
    verdict.figures["exits the nemesis did not cause"] = unexpected
    if unexpected:
        verdict.problems.append(f"instances exited by themselves: {unexpected}")
