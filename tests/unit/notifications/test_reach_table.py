"""The service's ``case_facts`` table is the backbone's case-reach table, word for word."""

from __future__ import annotations

from importlib.resources import files

from passend_backbone.auth import case_reach
from passend_notifications import reach


def test_case_facts_is_created_as_case_reach_defines_it() -> None:
    migration = files("passend_notifications.migrations").joinpath("003_reach_and_erasure.sql")
    assert case_reach.table_sql(reach.TABLE).strip() in migration.read_text()
