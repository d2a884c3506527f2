"""Domain errors and their one translation into HTTP: RFC 9457 ``application/problem+json``.

Services raise :class:`DomainError` subclasses; views never build error responses by hand.
OAuth endpoints keep their RFC 6749 bodies (Authlib renders those itself).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import Response
from flask import json
from flask import render_template
from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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

    def headers(self) -> dict[str, str]:
        """Response headers the problem carries besides its body (none, but for a few statuses)."""
        return {}


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    title = "The data is not valid / Dữ liệu không hợp lệ"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found / Không tìm thấy"


class Gone(DomainError):
    """It was here and was deleted on purpose (after a retention period): 410."""

    status = 410
    code = "gone"
    title = "Deleted / Đã xoá"


class UnsupportedType(DomainError):
    """A body in a format the endpoint does not read: 415."""

    status = 415
    code = "unsupported-media-type"
    title = "Format not supported / Định dạng không được hỗ trợ"


class TooLarge(DomainError):
    """More data than one request or list may carry: 413."""

    status = 413
    code = "too-large"
    title = "Too much data / Dữ liệu quá lớn"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state / Xung đột với dữ liệu hiện có"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Not allowed / Không được phép"


class PreconditionFailed(DomainError):
    """The version the client sent (``If-Match``) is no longer the current one: 412 (RFC 9110 §13.1.1).

    The answer carries the current version in its body (``current_version``) and as ``ETag``, so
    the client can read the record again, show what changed and retry.
    """

    status = 412
    code = "precondition-failed"
    title = "The record has changed / Hồ sơ đã thay đổi"

    def __init__(self, detail: str, *, etag: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.etag = etag

    def headers(self) -> dict[str, str]:
        return {"ETag": self.etag}


class PreconditionRequired(DomainError):
    """A change that must name the version it was made against came without ``If-Match``: 428 (RFC 6585)."""

    status = 428
    code = "precondition-required"
    title = "The record's version is needed / Cần phiên bản của hồ sơ"


#: Vietnamese titles for the HTTP errors Werkzeug raises itself.
_VI_TITLES = {
    500: "Lỗi hệ thống",
    400: "Yêu cầu không hợp lệ", 401: "Chưa xác thực", 403: "Không được phép", 404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ", 409: "Xung đột dữ liệu", 413: "Dữ liệu quá lớn",
    415: "Định dạng không được hỗ trợ", 412: "Điều kiện không thoả", 422: "Dữ liệu không hợp lệ",
    428: "Cần điều kiện", 429: "Quá nhiều yêu cầu",
}


#: What a person reads on a page (not an API) for these errors: title, message (English msgids).
_PAGE_TITLES = {
    400: _l("Invalid request"), 401: _l("Not logged in"), 403: _l("Not allowed"), 404: _l("Page not found"),
    405: _l("Not accepted here"), 409: _l("Conflict with the current data"), 413: _l("Too much data"),
    415: _l("Format not supported"), 422: _l("The data is not valid"), 429: _l("Too many attempts"),
    500: _l("System error"),
}
_PAGE_MESSAGES = {
    404: _l("There is no such page. Check the address."),
    405: _l("This page does not accept that kind of request."),
    429: _l("Too many attempts from your address. Wait a minute and try again."),
    500: _l("Something went wrong on our side; nothing was saved. Try again later."),
}
_OTHER_MESSAGE = _l("The request was not valid. Go back to the previous page and try again.")
_CSRF_MESSAGE = _l("The form has expired or is not valid. Reload the page and submit it again.")


def wants_page() -> bool:
    """A browser asking for a page (not an API client): errors are rendered as HTML."""
    if request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(["application/problem+json", "application/json", "text/html"])
    return best == "text/html"


def error_page(status: int, title: str, message: str, code: str | None = None) -> Response:
    """The one HTML error page: ``title`` and ``message`` already in the page's language."""
    body = render_template("error.html", title=title, message=message, code=code)
    return Response(body, status=status, mimetype="text/html")


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        response = problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
        response.headers.update(exc.headers())
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | Any:
        if getattr(exc, "body", None) is not None:  # an OAuth error Authlib already rendered (RFC 6750)
            return exc.get_response()
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "-")
        if wants_page():
            message = _CSRF_MESSAGE if isinstance(exc, CSRFError) else _PAGE_MESSAGES.get(status, _OTHER_MESSAGE)
            response = error_page(status, str(_PAGE_TITLES.get(status, _PAGE_TITLES[400])), str(message), code)
        else:
            title = f"{exc.name} / {_VI_TITLES[status]}" if status in _VI_TITLES else exc.name
            response = problem(status, code, title, exc.description or exc.name)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int):
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        if wants_page():
            return error_page(500, str(_PAGE_TITLES[500]), str(_PAGE_MESSAGES[500]), "internal-error")
        return problem(500, "internal-error", "Internal error / Lỗi hệ thống",
                       "Something went wrong on our side; nothing was saved. Try again later.")
