"""``python -m tests.integration.fake_service``: the fake service as a process."""

from passend_backbone import lifecycle
from tests.integration.fake_service import SPEC

if __name__ == "__main__":
    lifecycle.main(SPEC)
