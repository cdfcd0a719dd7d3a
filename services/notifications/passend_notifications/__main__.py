"""``python -m passend_notifications``: run the notifications service until SIGTERM/SIGINT."""

from passend_backbone import lifecycle
from passend_notifications.config import load_notification_settings
from passend_notifications.service import build_spec


def main() -> None:
    # A wrong NOTIFICATIONS_* value stops the process here, naming the variable, before
    # anything starts (the worker would otherwise find out only once running).
    lifecycle.main(build_spec(load_notification_settings()))


if __name__ == "__main__":
    main()
