"""An SWV's directory as one document: what the dev file and ``PUT /directory`` hold."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from passend_contracts.events.assignment import CalendarPolicy, ExpertiseArea, HolidayPeriod


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkUnitDoc(_Doc):
    work_unit_id: str = Field(min_length=1)
    name: str
    coordinator_id: str | None = None


class WorkerDoc(_Doc):
    worker_id: str = Field(min_length=1)
    work_unit_id: str = Field(min_length=1)
    expertise: list[str] = Field(default_factory=list)
    weekly_case_hours: float = Field(ge=0)
    known_schools: list[str] = Field(default_factory=list)


class SchoolDoc(_Doc):
    school_id: str = Field(min_length=1)
    name: str
    municipality: str
    holiday_region: str | None = None


class SwvDoc(_Doc):
    """One SWV's directory as a document (the dev file and ``PUT /directory`` use this)."""

    swv_id: str = Field(min_length=1)
    name: str
    education_specialist_id: str | None = None
    route_coach_id: str | None = None
    case_hours_per_week: float = Field(default=2.0, gt=0)
    expertise_areas: list[ExpertiseArea] = Field(default_factory=list)
    work_units: list[WorkUnitDoc] = Field(default_factory=list)
    workers: list[WorkerDoc] = Field(default_factory=list)
    schools: list[SchoolDoc] = Field(default_factory=list)
    school_holidays: dict[str, list[HolidayPeriod]] = Field(default_factory=dict)
    calendar: CalendarPolicy | None = Field(
        default=None,
        description=(
            "W26: Good Friday, 5 May and the school holidays as working days or not; "
            "left out, the defaults of the calendar policy"
        ),
    )
