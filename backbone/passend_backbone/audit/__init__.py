"""Auditing: case history and state as of a moment, chain verification, and the read log."""

from passend_backbone.audit.chain import ChainBreak, ChainReport, verify_chains
from passend_backbone.audit.descriptions import describe
from passend_backbone.audit.readlog import (
    CaseRead,
    ensure_read_log,
    reads_of,
    record_case_read,
    record_read,
)
from passend_backbone.audit.router import audit_router
from passend_backbone.audit.state import fold_with, summary_state

__all__ = [
    "CaseRead",
    "ChainBreak",
    "ChainReport",
    "audit_router",
    "describe",
    "ensure_read_log",
    "fold_with",
    "reads_of",
    "record_case_read",
    "record_read",
    "summary_state",
    "verify_chains",
]
