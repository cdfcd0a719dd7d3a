"""Naming a school's pupils the way Passend does (issue 20).

A case names its pupil by intake's pseudonym, never by the school's own reference (that
stays beside the pupil's key and is erased with it). A teacher's token lists the pupils
they teach by pseudonym; whoever mints the token (the portal, at sign-in) asks here which
pseudonyms the school's references stand for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from passend_backbone.auth import CurrentPrincipal, Role
from passend_backbone.service import ServiceContext
from passend_intake import queries
from passend_intake.access import require_role
from passend_intake.api_errors import READ_ERRORS


class SchoolPupil(BaseModel):
    school_ref: str = Field(description="The school's own reference of the pupil")
    pupil_ref: str = Field(description="Intake's pseudonym of the pupil, as cases name it")


class SchoolPupils(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"pupils": [{"school_ref": "leerling-043", "pupil_ref": "lln-3f2c8a4e9b1d"}]}
            ]
        }
    )

    pupils: list[SchoolPupil]


def pupils_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(tags=["services"])

    @router.get(
        "/internal/schools/{school_id}/pupils",
        response_model=SchoolPupils,
        summary="The pseudonyms of a school's pupils (for a teacher's token)",
        description="Which of intake's pseudonyms the school's own references `ref` stand "
        "for, and the pupils whose latest request names `teacher` as their teacher (W16): "
        "only this school's pupils, and not erased (an erased pupil's reference names nobody "
        "any more). Asked by the portal when a teacher signs in (and when the session is "
        "renewed), so the teacher's token lists the pupils as every service knows them. "
        "Role: `service`.",
        responses=READ_ERRORS,
    )
    async def school_pupils(
        principal: CurrentPrincipal,
        school_id: Annotated[str, Path(min_length=1, max_length=64)],
        ref: Annotated[
            list[str] | None, Query(max_length=200, description="The school's references")
        ] = None,
        teacher: Annotated[
            str | None,
            Query(min_length=1, max_length=64, description="A teacher's id in the directory"),
        ] = None,
    ) -> SchoolPupils:
        require_role(principal, frozenset({Role.SERVICE}))
        found = await queries.school_pupils(ctx.pool, principal.swv, school_id, ref or [])
        if teacher is not None:
            found |= await queries.teacher_pupils(ctx.pool, principal.swv, school_id, teacher)
        return SchoolPupils(
            pupils=[SchoolPupil(school_ref=s, pupil_ref=p) for s, p in found.items()]
        )

    return router
