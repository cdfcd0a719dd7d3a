"""Test helpers shared by the project's suites: waiting on conditions, fresh databases."""
