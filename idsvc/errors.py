"""Domain errors and their one translation into HTTP: RFC 9457 ``application/problem+json``.

Services raise :class:`DomainError` subclasses; views never build error responses by hand.
OAuth endpoints keep their RFC 6749 bodies (Authlib renders those itself).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import Response
from flask import json
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE_BASE = "https://idsvc.example/problems/"


class DomainError(Exception):
    """Base of errors a user can act on. ``code`` is stable and names the problem type."""

    status = 400
    code = "bad-request"
    title = "Bad request / Yêu cầu không hợp lệ"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    title = "The data is not valid / Dữ liệu không hợp lệ"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found / Không tìm thấy"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state / Xung đột với dữ liệu hiện có"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Not allowed / Không được phép"


#: Vietnamese titles for the HTTP errors Werkzeug raises itself.
_VI_TITLES = {
    400: "Yêu cầu không hợp lệ", 401: "Chưa xác thực", 403: "Không được phép", 404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ", 409: "Xung đột dữ liệu", 413: "Dữ liệu quá lớn",
    415: "Định dạng không được hỗ trợ", 422: "Dữ liệu không hợp lệ", 429: "Quá nhiều yêu cầu",
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "-")
        title = f"{exc.name} / {_VI_TITLES[status]}" if status in _VI_TITLES else exc.name
        return problem(status, code, title, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return problem(500, "internal-error", "Internal error / Lỗi hệ thống",
                       "Something went wrong on our side; nothing was saved. Try again later.")
