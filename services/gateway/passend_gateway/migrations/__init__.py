"""The gateway's numbered SQL migrations."""
