"""``python -m tests.integration.fake_service``: the fake service as a process."""

from passend_backbone import runtime
from tests.integration.fake_service import SPEC

if __name__ == "__main__":
    runtime.main(SPEC)
