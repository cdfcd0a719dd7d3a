"""The assignment service: who picks up a request, and when (W24-W29)."""
