"""Events the trajectory service publishes: trajectories, evaluations and Team NO."""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts import topics
from passend_contracts.events.base import EventPayload


class TrajectoryOpened(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.TrajectoryOpened.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "A trajectory was opened for a claimed case (W15)."

    case_id: UUID
    worker_id: str
    opened_at: datetime


class EvaluationOutcome(StrEnum):
    """What an evaluation decides (W21, S)."""

    CLOSE = "close"
    CONTINUE = "continue"
    REVISE_PLAN = "revise_plan"
    CHANGE_CARE_LEVEL = "change_care_level"
    ESCALATE = "escalate"


class GoalResult(BaseModel):
    """How far one plan goal was reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal_id: str
    result: str


class EvaluationRecorded(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.EvaluationRecorded.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = "A trajectory was evaluated, as every trajectory always is (W21, S)."

    case_id: UUID
    participants: list[str] = Field(min_length=1)
    goal_results: list[GoalResult]
    outcome: EvaluationOutcome
    care_level: int | None = Field(default=None, ge=1, le=4)
    reason: str | None = None
    evaluated_at: datetime


class StagnationReason(StrEnum):
    """Why a route stagnates (R)."""

    NO_AGREEMENT = "no_agreement"
    WAITING_LIST = "waiting_list"
    NO_BRIDGING_CARE = "no_bridging_care"
    BUDGET_DISPUTE = "budget_dispute"
    EXTREMELY_COMPLEX = "extremely_complex"


class EscalatedToTeamNO(EventPayload):
    event_type: ClassVar[str] = "nl.passend.trajectory.EscalatedToTeamNO.v1"
    topic: ClassVar[str] = topics.TRAJECTORY
    meaning: ClassVar[str] = (
        "The route stagnated and the case went to the Team NO of the pupil's municipality (R)."
    )

    case_id: UUID
    municipality: str
    reasons: list[StagnationReason] = Field(min_length=1)
    draft_plan: str
    escalated_at: datetime
