"""Telling a passing failure from a bad event: what is retried for as long as it lasts.

A deadlock, a serialization failure, a lost or refused database connection, a database
restarting, a broker that does not answer: none of these says anything about the event
being handled, and each passes by itself. Such failures are retried with back-off and
never count toward dead-lettering (under ``kill -9`` load a claims consumer met two
deadlocks in a row; three would have dead-lettered an acknowledged claim). Everything
else a handler raises is taken to be about the event, and counts.
"""

from __future__ import annotations

import asyncpg

from passend_consumerkit.delivery import causes, is_transient_kafka

_TRANSIENT_DATABASE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.LockNotAvailableError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionFailureError,
)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a failure that passes by itself."""
    return is_transient_kafka(exc) or any(isinstance(e, _TRANSIENT_DATABASE) for e in causes(exc))
