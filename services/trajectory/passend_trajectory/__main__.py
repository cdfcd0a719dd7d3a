"""``python -m passend_trajectory``: run the trajectory service until SIGTERM or SIGINT."""

from passend_backbone import runtime
from passend_trajectory.service import SPEC


def main() -> None:
    runtime.main(SPEC)


if __name__ == "__main__":
    main()
