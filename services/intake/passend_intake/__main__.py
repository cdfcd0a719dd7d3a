"""Runs the intake service: ``python -m passend_intake`` (or ``passend-intake``)."""

from passend_backbone import lifecycle
from passend_intake.service import SPEC


def main() -> None:
    lifecycle.main(SPEC)


if __name__ == "__main__":
    main()
