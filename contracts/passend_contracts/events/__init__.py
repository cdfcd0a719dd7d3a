"""Event payloads per producing service. Every type name carries its version."""
