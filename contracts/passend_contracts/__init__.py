"""Passend's public integration surface: envelope, events, topics and their schemas."""
