"""Numbered SQL migrations of the trajectory service's own tables."""
