"""Numbered SQL migrations of the assignment service's own tables."""
