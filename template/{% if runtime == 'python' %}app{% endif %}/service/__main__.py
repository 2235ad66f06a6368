"""Entry point: `python -m service`. uvicorn drains in-flight requests on SIGTERM, then exits."""

from __future__ import annotations

import logging
import signal
import sys

import uvicorn

from . import logs
from .config import ConfigError, Settings
from .main import create_app

SHUTDOWN_GRACE_SECONDS = 20  # below Kubernetes' default terminationGracePeriodSeconds (30)


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        logs.configure("info", "service")
        logging.getLogger("service").error("invalid configuration", extra={"error": str(exc)})
        return 2
    logs.configure(settings.log_level, settings.service_name)
    # uvicorn drains on SIGTERM, then re-raises it to the previous handler: exit 0 instead.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",  # noqa: S104 - inside a container the port is the boundary
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
