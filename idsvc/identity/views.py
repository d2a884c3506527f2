"""Citizen pages: login, second factor, activation, password change, sessions (thin views)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from idsvc import unit_of_work
from idsvc.errors import NotFound
from idsvc.errors import error_page
from idsvc.identity import service
from idsvc.identity import sessions
from idsvc.identity import signals
from idsvc.identity.passwords import PasswordRefusal
from idsvc.identity.passwords import PasswordRefused
from idsvc.logs import mask_id_number
from idsvc.web import per_source_limit

bp = Blueprint("identity", __name__)

LOGIN_FAILED = _l("The ID number or password is wrong, or the account is locked for a while. "
                  "Try again in a few minutes.")


@bp.get("/")
@unit_of_work.read_write  # reads the login session, and touches its idle time
def landing() -> ResponseReturnValue:
    return render_template("landing.html", login=sessions.current_login(),
                           discovery_url=current_app.config["ISSUER"] + "/.well-known/openid-configuration")


@bp.route("/login", methods=["GET", "POST"])
@unit_of_work.read_write(persist_on=(401,))  # a refused login counts
@per_source_limit("LOGIN_RATE_LIMIT")
def login() -> ResponseReturnValue:
    next_url = sessions.safe_next(request.values.get("next"))
    if request.method == "GET":
        hint = request.args.get("login_hint", "")
        return render_template("identity/login.html", next=next_url, error=None,
                               client_name=_asking(next_url),
                               id_number=hint if hint.isascii() and hint.isdigit() and len(hint) == 12 else "",
                               notice=request.args.get("notice") and _notice(request.args["notice"]))
    result = service.authenticate(request.form.get("id_number", ""), request.form.get("password", ""))
    if result.account is None:
        return render_template("identity/login.html", next=next_url, error=LOGIN_FAILED, notice=None,
                               client_name=_asking(next_url),
                               id_number=request.form.get("id_number", "")[:12]), 401
    previous = sessions.current_login()
    if previous is not None:
        service.end_session(previous)  # rotation: the old cookie stops working
    login_session, token = service.start_session(result.account, level=1, amr="pwd", **sessions.client_info())
    sessions.begin(login_session, token)
    if result.account.is_staff:  # staff always work at level 2
        return redirect(url_for("identity.second_factor", next=next_url))
    return redirect(next_url)


def _notice(key: str) -> str | None:
    return {
        "activated": _("Your account is active; please log in."),
        "logged-out": _("You are logged out."),
        "otp-limit": _("Too many wrong codes; please log in again."),
        "session-gone": _("That session had already ended."),
    }.get(key)


@bp.route("/login/otp", methods=["GET", "POST"])
@unit_of_work.read_write(persist_on=(401,))  # a wrong code counts
@sessions.login_required(level=1)
@per_source_limit("LOGIN_RATE_LIMIT")
def second_factor() -> ResponseReturnValue:
    login_session = sessions.current_login()
    assert login_session is not None
    next_url = sessions.safe_next(request.values.get("next"))
    account = login_session.account
    if account.level != 2 or account.totp_secret is None:
        return error_page(
            403, _("Level 2 needed"),
            _("Your account has not been verified in person for level 2. "
              "Visit your commune police to have it verified."), code="unmet_authentication_requirements")
    if login_session.level >= 2 and request.method == "GET":
        return redirect(next_url)
    if request.method == "GET":
        return render_template("identity/second_factor.html", next=next_url, error=None)
    if not service.verify_second_factor(login_session, request.form.get("code", "")):
        if login_session.revoked_at is not None:
            sessions.forget()
            return redirect(url_for("identity.login", next=next_url, notice="otp-limit"))
        left = service.TOTP_MAX_TRIES - login_session.totp_failures
        return render_template("identity/second_factor.html", next=next_url,
                               error=ngettext("Wrong code; %(num)d try left.", "Wrong code; %(num)d tries left.",
                                              left)), 401
    stepped, token = service.step_up(login_session, **sessions.client_info())
    sessions.begin(stepped, token)
    return redirect(next_url)


def _new_password(form: Any) -> str:
    """The new password typed twice; :raises PasswordRefused: the two differ."""
    if form.get("password", "") != form.get("password2", ""):
        raise PasswordRefused(PasswordRefusal.REPEAT_DIFFERS)
    return form.get("password", "")


def _refusal(refused: PasswordRefused | service.ActivationFailed) -> tuple[str, str]:
    """What the person reads for a refusal, in the page's language, and the form field it is about."""
    if isinstance(refused, service.ActivationFailed):
        return _("The ID number or activation code is wrong, or the code has expired."), "code"
    match refused.reason:
        case PasswordRefusal.LOCKED:  # the login's answer: a lock is not told apart from a wrong password
            return str(LOGIN_FAILED), "current"
        case PasswordRefusal.WRONG_CURRENT:
            return _("The current password is wrong."), "current"
        case PasswordRefusal.SAME_AS_CURRENT:
            return _("The new password must differ from the current one."), "password"
        case PasswordRefusal.REPEAT_DIFFERS:
            return _("The two passwords differ."), "password"
        case PasswordRefusal.TOO_SHORT:
            return _("The password needs at least %(min_length)d characters; a memorable phrase works well.",
                     min_length=refused.min_length), "password"
        case PasswordRefusal.TOO_LONG:
            return _("The password can have at most %(max_length)d characters.",
                     max_length=refused.max_length), "password"
        case PasswordRefusal.PERSONAL_DATA:
            return _("The password must not contain your ID number, full name or date of birth."), "password"
        case PasswordRefusal.TOO_GUESSABLE:
            return _("This password is easy to guess: a common password, a keyboard row, a sequence or a "
                     "repetition, even with digits or symbols added. Use a sentence of your own, of four words "
                     "or more."), "password"


@bp.route("/activate", methods=["GET", "POST"])
@unit_of_work.read_write(persist_on=(400,))  # a wrong code counts
@per_source_limit("LOGIN_RATE_LIMIT")
def activate() -> ResponseReturnValue:
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if request.method == "GET":
        return render_template("identity/activate.html", error=None, id_number="", min_length=min_length)
    form = request.form
    try:
        service.activate(form.get("id_number", ""), form.get("code", ""), _new_password(form))
    except (PasswordRefused, service.ActivationFailed) as refused:
        error, field = _refusal(refused)
        return render_template("identity/activate.html", error=error, error_field=field,
                               min_length=min_length, id_number=form.get("id_number", "")[:12]), 400
    return redirect(url_for("identity.login", notice="activated"))


@bp.route("/account")
@unit_of_work.read_write
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def account() -> ResponseReturnValue:
    login_session = sessions.current_login()
    assert login_session is not None
    return render_template("identity/account.html", account=login_session.account, login=login_session,
                           sessions=service.active_sessions(login_session.account),
                           masked_number=mask_id_number(login_session.account.citizen.id_number),
                           notice=request.args.get("notice") and _notice(request.args["notice"]))


@bp.route("/account/password", methods=["GET", "POST"])
@unit_of_work.read_write(persist_on=(400,))  # a wrong current password counts
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
@per_source_limit("LOGIN_RATE_LIMIT")
def change_password() -> ResponseReturnValue:
    login_session = sessions.current_login()
    assert login_session is not None
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if request.method == "GET":
        return render_template("identity/password.html", error=None, min_length=min_length)
    form = request.form
    try:
        service.change_password(login_session.account, form.get("current", ""), _new_password(form),
                                session=login_session)
    except PasswordRefused as refused:
        error, field = _refusal(refused)
        return render_template("identity/password.html", error=error, error_field=field,
                               min_length=min_length), 400
    return redirect(url_for("identity.account"))


@bp.post("/account/sessions/<int:session_id>/end")
@unit_of_work.read_write
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def end_other_session(session_id: int) -> ResponseReturnValue:
    login_session = sessions.current_login()
    assert login_session is not None
    try:
        service.end_session_of(login_session.account, session_id)
    except NotFound:  # ended meanwhile (a second tab, a double click), or not this person's: nothing to do
        return redirect(url_for("identity.account", notice="session-gone"))
    return redirect(url_for("identity.account"))


@bp.post("/account/logout-everywhere")
@unit_of_work.read_write
@sessions.login_required(level=sessions.ACCOUNT_LEVEL)
def logout_everywhere() -> ResponseReturnValue:
    login_session = sessions.current_login()
    assert login_session is not None
    service.revoke_sessions(login_session.account, actor=f"account:{login_session.account_id}",
                            reason="logout-everywhere")
    sessions.forget()
    return redirect(url_for("identity.login", notice="logged-out"))


def _asking(next_url: str) -> str | None:
    """The agency whose authorization request this login returns to (oidc answers the signal)."""
    answers = signals.login_asked.send(current_app._get_current_object(),  # type: ignore[attr-defined]  # current_app: a proxy
                                       next_url=next_url)
    return next((name for _, name in answers if name), None)
