"""Logging set-up and the masking helpers every log line with personal data goes through."""

from __future__ import annotations

import logging
import re

from flask import Flask

#: Query or form parameters whose values never reach a log (request lines of the dev server or
#: of gunicorn's access log carry them: ``/authorize?login_hint=…``, ``/logout?id_token_hint=…``).
_SECRET_PARAMS = re.compile(
    r"(?<![A-Za-z_])(login_hint|id_token_hint|code|code_verifier|access_token|refresh_token|token|client_secret|"
    r"client_assertion|password|state|nonce)(=|%3[dD])(?:(?!%26)[^&\s\"'])*")
_ID_NUMBER = re.compile(r"(?<!\d)(\d{9})(\d{3})(?!\d)")
#: Loggers whose lines may carry request data: the dev server, gunicorn, SQL echo, ours.
REDACTED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "sqlalchemy.engine.Engine", "idsvc", "flask.app")


def mask_id_number(number: str | None) -> str:
    """Show only the last 3 digits of a personal ID number: ``*********123``.

    The full number reveals birth province, sex and birth year (Decree 13/2023 basic data),
    so it never appears in logs.
    """
    if not number:
        return "-"
    return "*" * max(len(number) - 3, 0) + number[-3:]


def redact(text: str) -> str:
    """A log line without secret parameters and with every 12-digit number masked."""
    return _ID_NUMBER.sub(lambda m: "*" * 9 + m.group(2), _SECRET_PARAMS.sub(r"\1\2[redacted]", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through :func:`redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:  # a traceback may quote the failing values
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()
_FORMATTER = logging.Formatter()


def init_app(app: Flask) -> None:
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    app.logger.setLevel(level)
    logging.getLogger("idsvc").setLevel(level)
    for name in (*REDACTED_LOGGERS, app.logger.name):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
