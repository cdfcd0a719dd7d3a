"""``passend-portal``: serve the portal with settings from ``PORTAL_*`` variables."""

from __future__ import annotations

import uvicorn

from passend_portal.app import create_app
from passend_portal.settings import load_settings


def main() -> None:
    settings = load_settings()
    # No access log: the parent's personal link carries its token in the path.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, access_log=False)


if __name__ == "__main__":
    main()
