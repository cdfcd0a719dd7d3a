"""Integration tests of the notifications service against real PostgreSQL, broker, SMTP and HTTP."""
