"""Benchmarks of the event backbone and the services: ``python -m benchmarks``."""
