"""Starting a process: the app to serve (gunicorn, ``idsvc run``), the app of a command, and the
``idsvc`` console command itself (:func:`main`).

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

import click
from flask import Flask
from flask.cli import FlaskGroup
from flask.cli import ScriptInfo
from flask.cli import run_command

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


# --- the idsvc console command -----------------------------------------------------------------

def _create_app() -> Flask:
    """The app of the commands: in production, the settings are checked but not what the set-up
    commands make (a first deployment runs ``db upgrade`` and ``keys generate`` before any key)."""
    return app_or_exit(serving=False)


def _create_serving_app() -> Flask:
    return app_or_exit(serving=True)


def _run(**params: object) -> None:
    """Flask's ``run``, on an app built with every production check (it serves)."""
    click.get_current_context().ensure_object(ScriptInfo).create_app = _create_serving_app
    assert run_command.callback is not None
    run_command.callback(**params)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """idsvc — population registry and e-identification service / CSDL dân cư và định danh điện tử."""


main.add_command(click.Command("run", callback=_run, params=run_command.params, help=run_command.help,
                               short_help=run_command.short_help))
