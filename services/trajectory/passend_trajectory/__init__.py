"""The trajectory service: what happens to a case after a support worker claimed it."""
