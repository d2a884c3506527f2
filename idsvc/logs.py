"""Logging set-up and the masking helpers every log line with personal data goes through."""

from __future__ import annotations

import logging

from flask import Flask


def mask_id_number(number: str | None) -> str:
    """Show only the last 3 digits of a personal ID number: ``*********123``.

    The full number reveals birth province, sex and birth year (Decree 13/2023 basic data),
    so it never appears in logs.
    """
    if not number:
        return "-"
    return "*" * max(len(number) - 3, 0) + number[-3:]


def init_app(app: Flask) -> None:
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    app.logger.setLevel(level)
    logging.getLogger("idsvc").setLevel(level)
