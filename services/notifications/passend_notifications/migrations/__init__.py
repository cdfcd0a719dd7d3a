"""Numbered SQL migrations of the notifications service's own tables."""
