"""``python -m datastack.runner``: run the pipelines' jobs until SIGTERM. Exit codes: 0 after a drain, 78 for a
setting to fix (one line naming it), 70 for anything else."""

from __future__ import annotations

import errno
import logging
import os
import sys

EXIT_CONFIG = 78
EXIT_SOFTWARE = 70


def main() -> int:
    from ..errors import ConfigurationError
    from . import output, settings

    try:
        config = settings.resolve()
    except ConfigurationError as e:
        print(f"datastack runner: {e}", file=sys.stderr)
        return EXIT_CONFIG
    output.install(log_format="%(levelname)s %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("datastack").setLevel(config.log_level)
    # The runner's spans (and its jobs') carry this service name unless the deployment gives one (Aspire does).
    os.environ.setdefault("OTEL_SERVICE_NAME", "runner")
    from .service import Runner

    try:
        runner = Runner(config)
        return runner.run()
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            print(f"datastack runner: the health port {config.health_port} is taken: set {settings.HEALTH_PORT}", file=sys.stderr)
            return EXIT_CONFIG
        print(f"datastack runner could not run: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_SOFTWARE
    except Exception as e:  # noqa: BLE001 (one line and the exit code, not a traceback, for the platform's log)
        print(f"datastack runner stopped: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
