"""The language of the pages: Vietnamese by default, English on request, one at a time (Flask-Babel).

The language is, in this order: the one the person chose with the switch on every page (a
cookie), the ``ui_locales`` of the authorization request (also read from the ``next`` that
carries it through login and second factor), then the browser's ``Accept-Language``.

Page strings are English msgids with a Vietnamese and an English catalogue in ``translations/``.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from urllib.parse import urlencode

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import Babel
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug import Response
from werkzeug.exceptions import HTTPException

from idsvc import unit_of_work
from idsvc import useragent
from idsvc.web import authorization_request_in
from idsvc.web import local_path

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "idsvc_lang"
#: How each language names itself, for the switch.
NAMES = {"vi": "Tiếng Việt", "en": "English"}

bp = Blueprint("i18n", __name__)


def _first_known(tags: str | None) -> str | None:
    """The first of space-separated language tags (``ui_locales``) that we speak."""
    for tag in (tags or "").split():
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return None


def _value(name: str) -> str | None:
    """A query or form value; None when the body cannot be read (an error page for a body too
    large must still render)."""
    try:
        return request.values.get(name)
    except HTTPException:
        return request.args.get(name)


def _ui_locales() -> str | None:
    asked = _value("ui_locales")
    if asked is None:
        asked = " ".join(authorization_request_in(_value("next")).get("ui_locales", []))
    return _first_known(asked)


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    # By quality, on the primary subtag ("en-US" is English; Werkzeug's best_match would take an
    # exact "vi;q=0.5" over it).
    browser = _first_known(" ".join(tag for tag, quality in request.accept_languages if quality > 0))
    return _ui_locales() or browser or DEFAULT


def current() -> str:
    """The language of this page ("vi" or "en")."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT


def _here() -> str:
    """This page, to come back to after switching: a POSTed form comes back as its page (its
    query, and the ``next`` it carried). ``next`` is kept only as the login would keep it."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "next"]
    nxt = _value("next")
    if nxt:
        args.append(("next", local_path(nxt)))  # the login checks it again against its own list
    return request.path + ("?" + urlencode(args) if args else "")


@bp.get("/language/<lang>")
@unit_of_work.read_only  # sets a cookie; the database is not asked
def switch(lang: str) -> Response:
    """Remember the language chosen and go back to the page it was chosen on."""
    if lang not in LANGUAGES:
        abort(404)
    response = redirect(local_path(request.args.get("next")))
    response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, secure=request.is_secure, httponly=True,
                        samesite="Lax")
    return response


#: Vietnam time (Asia/Ho_Chi_Minh): UTC+7 all year, no daylight saving since 1975.
VIETNAM = timezone(timedelta(hours=7), "ICT")


def _in_vietnam(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(VIETNAM)


def vietnam_time(moment: datetime | None) -> str:
    """A stored UTC time as people in Vietnam read it: "05/12/2026 18:10 (giờ Việt Nam)"."""
    if moment is None:
        return "—"
    local = _in_vietnam(moment)
    if current() == "en":
        return _("%(time)s (Vietnam time)", time=local.strftime("%d %b %Y, %H:%M"))
    return _("%(time)s (Vietnam time)", time=local.strftime("%d/%m/%Y %H:%M"))


def vietnam_date(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return _in_vietnam(moment).strftime("%d %b %Y" if current() == "en" else "%d/%m/%Y")


def device(user_agent: str | None) -> str:
    """The browser and system of a User-Agent ("Chrome on Android"), or what is known of them."""
    browser, system = useragent.describe(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown device")


def session_level(level: int) -> str:
    return _("level 2 (password + code)") if level >= 2 else _("level 1 (password)")


def account_level(level: int) -> str:
    return _("level 2 (verified in person)") if level >= 2 else _("level 1")


def _page_context() -> dict[str, object]:
    lang = current()
    other = "en" if lang == "vi" else "vi"
    return {"page_lang": lang, "other_lang": other, "other_lang_name": NAMES[other],
            "switch_url": url_for("i18n.switch", lang=other, next=_here())}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.context_processor(_page_context)
    app.add_template_filter(vietnam_time)
    app.add_template_filter(vietnam_date)
    app.add_template_filter(device)
    app.add_template_global(session_level)
    app.add_template_global(account_level)
