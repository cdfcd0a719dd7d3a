"""``python -m passend_trajectory``: run the trajectory service until SIGTERM or SIGINT."""

from passend_backbone import lifecycle
from passend_trajectory.service import SPEC


def main() -> None:
    lifecycle.main(SPEC)


if __name__ == "__main__":
    main()
