"""Intake's pure domain: case state, the rules of submission and consent, no I/O."""
