"""The command on an SWV's directory stream and the decider that answers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from passend_assignment.domain.directory import DirectoryState, configure, evolve
from passend_assignment.domain.directory_doc import SwvDoc
from passend_backbone.commands import Decider, Refusal
from passend_contracts.events.base import EventPayload


@dataclass(frozen=True)
class ConfigureDirectory:
    """Make the directory say what ``doc`` says (the dev file at start, ``PUT /directory``)."""

    doc: SwvDoc


def decide(
    state: DirectoryState, command: ConfigureDirectory, now: datetime
) -> list[EventPayload] | Refusal:
    """Only what changed becomes events: the same document twice appends nothing."""
    match command:
        case ConfigureDirectory():
            return configure(state, command.doc, now)


# The rules of an SWV's directory stream (``directory:<swv_id>``).
DIRECTORY_DECIDER: Decider[DirectoryState, ConfigureDirectory] = Decider(
    initial=DirectoryState(), evolve=evolve, decide=decide
)
