"""Starting a process: the app to serve (gunicorn, ``idsvc run``) or the app of a command.

A refusal (:class:`~idsvc.config.ConfigError`) ends the process with its message and no
traceback: the message says what to set, a traceback would only hide it. Under gunicorn the
master refuses before forking (:func:`on_starting`, read from ``gunicorn.conf.py``); each worker
checks again when it builds the app, for a gunicorn started with another configuration.
"""

from __future__ import annotations

import logging
import sys
from typing import Any
from typing import NoReturn

from flask import Flask

from idsvc.config import PROJECT_ROOT
from idsvc.config import ConfigError
from idsvc.config import check_production
from idsvc.config import load_config

#: gunicorn's exit status for "the application failed to load": a worker exiting with it makes the
#: arbiter stop, where any other status would have it start the worker again, forever.
APP_LOAD_ERROR = 4


def refuse(exc: ConfigError, status: int) -> NoReturn:
    """Print the refusal — through gunicorn's error log when there is one — and exit."""
    log = logging.getLogger("gunicorn.error")
    if log.handlers:
        log.error("%s", exc)
    else:
        sys.stderr.write(f"Error: {exc}\n")
        sys.stderr.flush()
    raise SystemExit(status)


def app_or_exit(*, serving: bool, status: int = 1) -> Flask:
    """``create_app()`` from the environment; a refusal exits with ``status``."""
    from idsvc import create_app

    try:
        return create_app(serving=serving)
    except ConfigError as exc:
        refuse(exc, status)


def serving_app() -> Flask:
    """The application gunicorn serves (``wsgi:app``), with every production check."""
    return app_or_exit(serving=True, status=APP_LOAD_ERROR)


def on_starting(server: Any) -> None:
    """gunicorn's master hook: refuse before any worker is forked.

    Refused workers alone would do, but several of them exiting together can make gunicorn's
    arbiter fail with a traceback of its own while it stops; the master's refusal is one log line.
    """
    if getattr(server.app, "app_uri", None) not in ("wsgi", "wsgi:app"):
        return  # another application served from this directory (the benchmarks' baselines)
    try:
        check_production(load_config(PROJECT_ROOT / "instance"), serving=True)
    except ConfigError as exc:
        refuse(exc, APP_LOAD_ERROR)
