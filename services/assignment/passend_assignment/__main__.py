"""``python -m passend_assignment``: run the assignment service until SIGTERM or SIGINT."""

from passend_assignment.service import SPEC
from passend_backbone import lifecycle


def main() -> None:
    lifecycle.main(SPEC)


if __name__ == "__main__":
    main()
