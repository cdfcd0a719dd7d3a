"""Dead letters as an operator's worklist: list them per consumer with their reason, show
one, replay one or all after a fix, or acknowledge one as handled (see :mod:`.desk`)."""

from passend_backbone.deadletters.desk import DeadLetterDesk, NoSuchDeadLetter
from passend_backbone.deadletters.records import DeadLetter, DeadLetterKey, Resolution

__all__ = ["DeadLetter", "DeadLetterDesk", "DeadLetterKey", "NoSuchDeadLetter", "Resolution"]
