"""Pure trajectory rules: state, ``decide`` per rule family, and ``evolve``."""
