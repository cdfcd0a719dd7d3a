"""Thin notifications for one minimised event: which case changed and where to fetch it (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from passend_consumerkit.thin import CHANNEL, Action, ThinNotification
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.trajectory import (
    EscalatedToTeamNO,
    TeamNODecisionRecorded,
    TrajectoryClosed,
    YouthCareNoted,
)

# Where each service answers for one case; the receiver fetches with its own token.
CASE_PATHS: dict[str, str] = {
    "intake": "/requests/{case_id}",
    "assignment": "/cases/{case_id}",
    "trajectory": "/cases/{case_id}/trajectory",
    "notifications": "/cases/{case_id}/notifications",
}

# What changed, in the ZGW style of a resource name and an action.
RESOURCES: dict[str, tuple[str, Action]] = {
    EscalatedToTeamNO.event_type: ("escalation", "create"),
    TeamNODecisionRecorded.event_type: ("team_no_decision", "create"),
    YouthCareNoted.event_type: ("youth_care", "create"),
    TrajectoryClosed.event_type: ("trajectory", "update"),
}


@dataclass(frozen=True)
class ApiUrls:
    """The base URL of each service's HTTP API, as outside receivers reach it."""

    intake: str
    assignment: str
    trajectory: str
    notifications: str

    def case_url(self, event_type: str, case_id: str) -> str:
        """The case's URL in the service that published ``event_type``."""
        service = event_type.split(".")[2]  # nl.passend.<service>.<Name>.v<N>
        base = getattr(self, service, None)
        path = CASE_PATHS.get(service)
        if not isinstance(base, str) or path is None:
            raise ValueError(f"no API known for the service of {event_type!r}")
        return base.rstrip("/") + path.format(case_id=case_id)


def notification_for(event: CloudEvent, urls: ApiUrls) -> ThinNotification:
    """The thin notification of ``event``: the case, what changed, when, for which SWV.

    The services keep no separate resource per escalation or decision, so the resource
    URL is the case's URL in the owning service, which shows them.
    """
    case_url = urls.case_url(event.type, event.subject)
    resource, action = RESOURCES.get(event.type, ("case", "update"))
    return ThinNotification(
        kanaal=CHANNEL,
        hoofd_object=case_url,
        resource=resource,
        resource_url=case_url,
        actie=action,
        aanmaakdatum=event.time,
        kenmerken={"swv": event.swv},
    )
