"""The intake service's composition: its topic, migrations, app and read models."""

from __future__ import annotations

from passend_backbone.service import ServiceSpec
from passend_contracts import topics
from passend_intake import erasure_ledger, pupil_keys
from passend_intake.api import create_app
from passend_intake.api_documents import UPLOADS
from passend_intake.projections import RequestsProjection
from passend_intake.retention import retention_job

SPEC = ServiceSpec(
    name="intake",
    topic=topics.INTAKE,
    migrations="passend_intake.migrations",
    create_app=create_app,
    projections=(RequestsProjection(),),
    # Erases pupils whose retention period after closure passed (INTAKE_RETENTION).
    background=(retention_job(),),
    # No start without the key-encryption keys the pupils' keys are sealed with.
    config=(pupil_keys.check_key_ring,),
    # After a restore from a backup: the erasures recorded since, applied before serving.
    before_serving=(erasure_ledger.reapply_before_serving,),
    # Documents of up to 20 MB are attached to a request (issue 21).
    large_bodies=(UPLOADS,),
)
