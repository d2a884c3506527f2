"""No log line carries a full ID number, a password, a token or a secret."""

from __future__ import annotations

import logging

from idsvc.logs import redact


def test_request_lines_lose_hints_codes_and_tokens(app, caplog) -> None:
    line = ('127.0.0.1 - - "GET /authorize?client_id=demo&login_hint=001080012345&state=abc&nonce=n1'
            '&code_challenge=x HTTP/1.1" 302 -')
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s', line)
        logging.getLogger("werkzeug").info('"GET /logout?id_token_hint=eyJhbGciOi.eyJzdWIi.sig HTTP/1.1" 302 -')
    text = caplog.text
    assert "001080012345" not in text and "login_hint=[redacted]" in text
    assert "eyJhbGciOi" not in text and "id_token_hint=[redacted]" in text
    assert "client_id=demo" in text and "code_challenge=x" in text  # the rest stays readable


def test_our_own_log_lines_mask_id_numbers(app, caplog) -> None:
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        app.logger.info("looked up %s for %s", "079172000666", "password=hunter2-hunter2")
    assert "079172000666" not in caplog.text and "*********666" in caplog.text
    assert "hunter2" not in caplog.text


def test_redact_leaves_longer_numbers_and_plain_text_alone() -> None:
    assert redact("batch 1700000000123 took 12 s") == "batch 1700000000123 took 12 s"
    assert redact("token=abc&scope=openid") == "token=[redacted]&scope=openid"


def test_parameters_nested_in_a_next_url_are_redacted_too() -> None:
    line = "GET /login?next=/authorize?client_id%3Ddemo%26state%3Ds1%26login_hint%3D001080012345%26scope%3Dopenid"
    assert redact(line) == ("GET /login?next=/authorize?client_id%3Ddemo%26state%3D[redacted]"
                            "%26login_hint%3D[redacted]%26scope%3Dopenid")


def test_a_traceback_in_the_log_does_not_quote_an_id_number(app, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        try:
            raise ValueError("duplicate key: id_number=001185004321")
        except ValueError:
            app.logger.exception("unhandled error")
    assert "001185004321" not in caplog.text and "*********321" in caplog.text


def test_database_errors_do_not_carry_the_values(app_ctx) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from idsvc import db

    with pytest.raises(DBAPIError) as failed:
        db.session().execute(text("SELECT * FROM no_such_table WHERE id_number = :n"), {"n": "001185004321"})
    assert "001185004321" not in str(failed.value)
