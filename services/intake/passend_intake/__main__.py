"""Runs the intake service: ``python -m passend_intake`` (or ``passend-intake``)."""

from passend_backbone import runtime
from passend_intake.service import SPEC


def main() -> None:
    runtime.main(SPEC)


if __name__ == "__main__":
    main()
