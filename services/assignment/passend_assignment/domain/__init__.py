"""Pure assignment rules: state, decisions and the working-day calendar; no I/O."""
