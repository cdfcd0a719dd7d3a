"""Projection ``people``: who is who in each SWV's directory, for the teacher's part (C).

Assignment's directory publishes every person who works with Passend
(``PersonRegistered``: roles, school, a teacher's groups) and who left
(``PersonDeactivated``). A teacher records measures and reflections only for a pupil of a
group the directory lists as theirs (:func:`passend_trajectory.domain.classroom.teaches_the_pupil`).
Each row keeps the latest change by its own timestamp, so redeliveries and any order of
arrival end in the same table.
"""

from __future__ import annotations

import asyncpg

from passend_backbone import tenancy
from passend_backbone.auth import Role
from passend_backbone.consumer.readmodel import tenant_read_model
from passend_contracts import topics
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.assignment import PersonDeactivated, PersonRegistered
from passend_contracts.events.base import EventPayload
from passend_trajectory.domain.classroom import Teacher

_TABLES = """
CREATE TABLE people (
    swv         text NOT NULL,
    person_id   text NOT NULL,
    login       text,
    school_id   text,
    roles       text[] NOT NULL DEFAULT '{}',
    groups      text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL,
    changed_at  timestamptz NOT NULL,
    PRIMARY KEY (swv, person_id)
);
CREATE INDEX people_login ON people (swv, login);
"""

# The teacher a token's subject is: by person id, else by the identity provider's login.
_TEACHER = """
SELECT person_id, school_id, groups, active FROM people
WHERE swv = $1 AND (person_id = $2 OR login = $2) AND $3 = ANY (roles)
ORDER BY person_id = $2 DESC LIMIT 1
"""


class People:
    """Projection ``people``: the directory's persons, their roles, school and groups."""

    name = "people"
    topics: tuple[str, ...] = (topics.ASSIGNMENT,)

    async def setup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_TABLES)
        await tenancy.protect(conn, "people")

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if isinstance(payload, PersonRegistered):
            await conn.execute(
                "INSERT INTO people AS p (swv, person_id, login, school_id, roles, groups, "
                "active, changed_at) VALUES ($1, $2, $3, $4, $5, $6, true, $7) "
                "ON CONFLICT (swv, person_id) DO UPDATE SET login = excluded.login, "
                "school_id = excluded.school_id, roles = excluded.roles, "
                "groups = excluded.groups, active = true, changed_at = excluded.changed_at "
                "WHERE excluded.changed_at >= p.changed_at",
                event.swv,
                payload.person_id,
                payload.login,
                payload.school_id,
                list(payload.roles),
                list(payload.groups),
                payload.registered_at,
            )
        elif isinstance(payload, PersonDeactivated):
            # Kept, inactive: a registration older than the departure arriving late
            # doesn't bring the person back.
            await conn.execute(
                "INSERT INTO people AS p (swv, person_id, active, changed_at) "
                "VALUES ($1, $2, false, $3) ON CONFLICT (swv, person_id) DO UPDATE "
                "SET active = false, changed_at = excluded.changed_at "
                "WHERE excluded.changed_at >= p.changed_at",
                event.swv,
                payload.person_id,
                payload.deactivated_at,
            )


async def teacher_of(pool: asyncpg.Pool, swv: str, subject: str) -> Teacher | None:
    """The teacher whose token names ``subject``, as the SWV's directory knows them."""
    async with tenant_read_model(pool, People.name, swv) as conn:
        row = await conn.fetchrow(_TEACHER, swv, subject, Role.TEACHER.value)
    if row is None:
        return None
    return Teacher(
        person_id=row["person_id"],
        school_id=row["school_id"],
        groups=frozenset(row["groups"]),
        active=row["active"],
    )
