"""The intake service: what a school asks for a pupil, and what the parents agreed to."""
