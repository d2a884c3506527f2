"""Account workflows: creation, activation, in-person verification, authentication, lockout,
second factor, login sessions and their revocation.

Plain functions that flush and never commit. Every security-relevant step goes through
``audit.record``; a full ID number, password, code or token never reaches the audit or the log.
A refused try still counts: the views that check passwords and codes commit their refusals
(``persist_on`` in ``idsvc.unit_of_work``), and those refusals write nothing but the count, the
lockout and their audit events.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import TypeVar

import pyotp
from cryptography.exceptions import InvalidTag
from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm import joinedload

from idsvc import crypto
from idsvc import db
from idsvc.audit import service as audit
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow
from idsvc.errors import Conflict
from idsvc.errors import Forbidden
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.identity import passwords
from idsvc.identity import signals
from idsvc.identity.models import STAFF_ROLES
from idsvc.identity.models import Account
from idsvc.identity.models import ActivationCode
from idsvc.identity.models import LoginSession
from idsvc.identity.models import OutboxMessage
from idsvc.identity.models import StaffRole
from idsvc.identity.passwords import PasswordRefusal
from idsvc.identity.passwords import PasswordRefused
from idsvc.logs import mask_id_number
from idsvc.registry import service as registry
from idsvc.registry.models import Citizen

#: Unambiguous characters for codes people type (no 0/O, 1/I/L).
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_ID_NUMBER = re.compile(r"[0-9]{12}")  # ASCII only: \d accepts every script's digits
TOTP_MAX_TRIES = 5
ISSUER_LABEL = "idsvc"


class ActivationFailed(ValidationFailed):
    """An activation refused: unknown ID number, or a wrong, used or expired code. One fact for
    all, so that a refusal does not tell which numbers have an account."""

    code = "activation-failed"

    def __init__(self) -> None:
        super().__init__("activation refused: the ID number or activation code is wrong, or the code has expired")


# --- accounts ---------------------------------------------------------------------------------

def account_for_citizen(citizen: Citizen) -> Account | None:
    return db.session().scalar(select(Account).where(Account.citizen_id == citizen.id))


def create_account(citizen: Citizen, *, actor: str) -> Account:
    """Open a pending e-ID account for a living citizen (activated later with a code).

    :raises Conflict: the person already has an account, or is not alive.
    """
    if not citizen.is_alive():
        raise Conflict("An e-ID account can only be opened for a living person.")
    if account_for_citizen(citizen) is not None:
        raise Conflict("This person already has an e-ID account.")
    account = Account(citizen=citizen, level=1, status="pending")
    db.session().add(account)
    db.session().flush()
    audit.record(AuditAction.IDENTITY_ACCOUNT_CREATE, actor=actor, subject_type="account",
                 subject_id=account.id)
    return account


def _new_code() -> str:
    return _normalise_code("".join(secrets.choice(_CODE_ALPHABET) for _ in range(12)))


def _normalise_code(code: str) -> str:
    """``XXXX-XXXX-XXXX`` whatever the case, spaces or dashes the person typed."""
    raw = re.sub(r"[\s-]", "", code.upper())
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def issue_activation_code(account: Account, *, actor: str, channel: str = "clerk") -> str:
    """Issue a single-use activation code (60 bits) and invalidate earlier ones.

    ``channel="clerk"``: the code is returned to be handed over at the counter.
    ``channel="sms"``: the code goes to the registered phone through the notifier.
    """
    if account.status == "disabled":
        raise Conflict("The account is disabled; it cannot be activated.")
    if channel not in ("clerk", "sms"):
        raise ValidationFailed("channel is 'clerk' or 'sms'")
    now = utcnow()
    s = db.session()
    s.execute(update(ActivationCode).where(ActivationCode.account_id == account.id,
                                           ActivationCode.used_at.is_(None)).values(used_at=now))
    code = _new_code()
    ttl = timedelta(hours=current_app.config["ACTIVATION_CODE_HOURS"])
    s.add(ActivationCode(account_id=account.id, code_hash=crypto.keyed_hash("activation", code),
                         issued_by=actor, channel=channel, expires_at=now + ttl))
    if channel == "sms":
        phone = account.citizen.phone
        if not phone:
            raise ValidationFailed("The registry has no phone number for this person; "
                                   "hand the code over at the counter instead.")
        notify(account, "sms", phone,
               f"Ma kich hoat tai khoan dinh danh dien tu: {code} (hieu luc "
               f"{current_app.config['ACTIVATION_CODE_HOURS']} gio). Khong chia se ma nay.")
    s.flush()
    audit.record(AuditAction.IDENTITY_ACTIVATION_ISSUE, actor=actor, subject_type="account",
                 subject_id=account.id, data={"channel": channel})
    return code


def notify(account: Account, channel: str, recipient: str, body: str) -> None:
    """The notifier: development writes to the outbox table (an SMS gateway replaces it).

    The body may hold an activation code, so it is stored encrypted (AES-GCM under a key derived
    from ``HASH_KEY``): whoever can read the database cannot take over accounts with it.
    """
    sealed = base64.b64encode(crypto.encrypt("outbox", body.encode())).decode()
    db.session().add(OutboxMessage(account_id=account.id, channel=channel,
                                   recipient=mask_id_number(recipient), body=sealed))


def outbox(account: Account | None = None, limit: int = 20) -> list[tuple[OutboxMessage, str]]:
    """The latest outbox messages (of one account), newest first, with their text (development)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if account is not None:
        query = query.where(OutboxMessage.account_id == account.id)
    return [(message, _opened(message.body)) for message in db.session().scalars(query)]


def _opened(sealed: str) -> str:
    try:
        return crypto.decrypt("outbox", base64.b64decode(sealed, validate=True)).decode()
    except (ValueError, InvalidTag):  # written before the outbox was encrypted
        return f"(stored in clear) {sealed}"


#: Built once: every login runs it.
_ACCOUNT_BY_NUMBER = (select(Account).join(Account.citizen).where(Citizen.id_number == bindparam("id_number"))
                      .options(contains_eager(Account.citizen), joinedload(Account.roles)))


def _account_by_number(id_number: str) -> Account | None:
    if not _ID_NUMBER.fullmatch(id_number):
        return None
    # One round trip: the account with its citizen and roles (authentication reads all three).
    return db.session().execute(_ACCOUNT_BY_NUMBER, {"id_number": id_number}).unique().scalar_one_or_none()


_Row = TypeVar("_Row", Account, LoginSession)


def _may_try(account: Account, now: datetime) -> bool:
    """Claim a try at the account's password or codes: False while it is locked.

    A try holds the account's row until the transaction ends (:func:`_lock`): tries at one
    account run one after the other, each seeing the failures counted before it, so no number of
    parallel guesses gets more checks than the lockout allows. A guess at an account already
    locked is answered at once, without queueing.
    """
    if account.is_locked(now):
        return False
    return not _lock(account).is_locked(now)  # the try queued ahead may have locked it


def _lock(row: _Row) -> _Row:
    """Lock the row until the transaction ends and read it afresh (PostgreSQL ``FOR UPDATE``; a
    SQLite transaction holds the whole database already)."""
    model = type(row)
    return db.session().execute(select(model).where(model.id == row.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()


def activate(id_number: str, code: str, new_password: str) -> Account:
    """Set the first password with an activation code; the code is spent.

    :raises ActivationFailed: unknown number, wrong, used or expired code (one message for all).
    :raises PasswordRefused: the password breaks the policy (the code is not spent).
    """
    now = utcnow()
    account = _account_by_number(id_number.strip())
    if account is None or account.status == "disabled" or not _may_try(account, now):
        raise ActivationFailed()
    activation = db.session().scalar(select(ActivationCode).where(
        ActivationCode.account_id == account.id,
        ActivationCode.code_hash == crypto.keyed_hash("activation", _normalise_code(code)),
        ActivationCode.used_at.is_(None), ActivationCode.expires_at > now))
    if activation is None:
        _register_failure(account, now, reason="activation-code")
        raise ActivationFailed()
    passwords.check_policy(new_password, personal=_personal_values(account.citizen))
    activation.used_at = now
    resetting = account.status == "active"  # a new code for a forgotten password
    _set_password(account, new_password, now)
    account.status = "active"
    _reset_failures(account)
    audit.record(AuditAction.IDENTITY_ACCOUNT_ACTIVATE, actor=f"account:{account.id}",
                 subject_type="account", subject_id=account.id,
                 data={"channel": activation.channel, "reset": resetting})
    if resetting:  # whoever knew the old password is logged out
        revoke_sessions(account, actor=f"account:{account.id}", reason="password-reset")
    return account


def _personal_values(citizen: Citizen) -> tuple[str, ...]:
    """What a password must not contain: the ID number, the full name, the full date of birth."""
    dob = citizen.date_of_birth
    values = [citizen.id_number, citizen.name_folded.replace(" ", "")]
    if dob.month and dob.day:
        values += [f"{dob.day:02d}{dob.month:02d}{dob.year:04d}", f"{dob.year:04d}{dob.month:02d}{dob.day:02d}"]
    return tuple(values)


def _set_password(account: Account, password: str, now: datetime) -> None:
    account.password_hash = passwords.hash_password(password)
    account.password_changed_at = now


def change_password(account: Account, current: str, new: str, *, session: LoginSession | None) -> None:
    """Change the password; every other session of the account ends.

    The current password is checked like a login's: a wrong one counts towards the lockout, and
    while the account is locked it is not checked at all (the login's answer).

    :raises PasswordRefused: ``LOCKED``, ``WRONG_CURRENT``, ``SAME_AS_CURRENT``, or the policy's
        refusal of the new one (:func:`passwords.check_policy`).
    """
    now = utcnow()
    if not _may_try(account, now):
        audit.record(AuditAction.IDENTITY_LOGIN_FAILURE, actor=f"account:{account.id}", subject_type="account",
                     subject_id=account.id, data={"reason": "password-change-locked"})
        raise PasswordRefused(PasswordRefusal.LOCKED)
    if not passwords.verify(account.password_hash, current):
        _register_failure(account, now, reason="password-change")
        raise PasswordRefused(PasswordRefusal.WRONG_CURRENT)
    if new == current:
        raise PasswordRefused(PasswordRefusal.SAME_AS_CURRENT)
    passwords.check_policy(new, personal=_personal_values(account.citizen))
    _set_password(account, new, now)
    revoke_sessions(account, actor=f"account:{account.id}", reason="password-change",
                    keep=session.id if session else None)
    audit.record(AuditAction.IDENTITY_PASSWORD_CHANGE, actor=f"account:{account.id}",
                 subject_type="account", subject_id=account.id)


def verify_in_person(account: Account, *, actor: str) -> str:
    """A clerk verified the person at the counter: level 2, with a fresh TOTP seed.

    Returns the ``otpauth://`` URI the person scans there; the seed never travels otherwise.
    """
    if account.status == "disabled":
        raise Conflict("The account is disabled.")
    seed = pyotp.random_base32(32)
    account.level = 2
    account.totp_secret = crypto.encrypt("totp", seed.encode())
    account.totp_enrolled_at = utcnow()
    account.totp_last_step = None
    db.session().flush()
    audit.record(AuditAction.IDENTITY_LEVEL2_VERIFY, actor=actor, subject_type="account",
                 subject_id=account.id)
    return totp_uri(account)


def totp_uri(account: Account) -> str:
    """The provisioning URI of the account's TOTP seed (RFC 6238, SHA-1, 6 digits, 30 s)."""
    if account.totp_secret is None:
        raise Conflict("No second factor is enrolled for this account.")
    seed = crypto.decrypt("totp", account.totp_secret).decode()
    label = mask_id_number(account.citizen.id_number)
    return pyotp.TOTP(seed).provisioning_uri(name=label, issuer_name=ISSUER_LABEL)


def grant_role(account: Account, role: str, unit_code: str, *, actor: str) -> StaffRole:
    """Make the account staff; staff always need level 2, so the account must already have it."""
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"role is one of {', '.join(STAFF_ROLES)}")
    if account.level != 2:
        raise Conflict("Staff accounts need level 2: verify the person in person first.")
    if unit_code != "*" and not registry.unit_exists(unit_code):
        raise ValidationFailed(f"unit {unit_code!r} is neither '*' (everywhere) nor a province or commune code")
    if any(r.role == role and r.unit_code == unit_code for r in account.roles):
        raise Conflict(f"The account already has the role {role} over unit {unit_code}.")
    staff = StaffRole(account=account, role=role, unit_code=unit_code, granted_by=actor)
    db.session().add(staff)
    db.session().flush()
    audit.record(AuditAction.IDENTITY_ROLE_GRANT, actor=actor, subject_type="account",
                 subject_id=account.id, data={"role": role, "unit": unit_code})
    return staff


def disable_account(account: Account, *, actor: str, reason: str) -> None:
    """Disable the account, end its sessions and revoke what was issued from it."""
    if account.status == "disabled":
        return
    account.status, account.disabled_reason = "disabled", reason
    revoke_sessions(account, actor=actor, reason=reason)
    ended = signals.account_disabled.send(current_app._get_current_object(),  # type: ignore[attr-defined]  # current_app: a proxy
                                          account=account, reason=reason)
    audit.record(AuditAction.IDENTITY_ACCOUNT_DISABLE, actor=actor, subject_type="account",
                 subject_id=account.id, data={"reason": reason, "consents": sum(n for _, n in ended)})


def on_citizen_status(citizen: Citizen, *, actor: str) -> None:
    """What a death or a disappearance recorded in the registry does to the account
    (``registry.signals.death_recorded``, received in :mod:`idsvc.identity.receivers`).

    Deceased: the account is disabled. Missing: its sessions and tokens end (nobody can log in
    while the person is recorded missing; the account comes back if the record is corrected).
    """
    account = account_for_citizen(citizen)
    if account is None:
        return
    if citizen.status == "deceased":
        disable_account(account, actor=actor, reason="deceased")
    elif citizen.status == "missing":
        revoke_sessions(account, actor=actor, reason="missing")


def on_record_merged(duplicate: Citizen, *, actor: str) -> None:
    """A duplicate record was merged into another (``registry.signals.records_merged``): the
    duplicate's account, if any, is disabled, with its sessions, tokens and consents."""
    account = account_for_citizen(duplicate)
    if account is not None:
        disable_account(account, actor=actor, reason="merged")


# --- authentication ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginResult:
    account: Account | None

    @property
    def ok(self) -> bool:
        return self.account is not None


def authenticate(id_number: str, password: str) -> LoginResult:
    """Check an ID number and password; unknown, wrong and locked all answer the same, in the
    same time (one argon2 verification each).
    """
    now = utcnow()
    number = id_number.strip()
    account = _account_by_number(number)
    masked = mask_id_number(number)
    refused = None
    if account is None or account.status != "active" or not account.citizen.is_alive():
        refused = {"reason": "unknown-or-inactive", "id_number": masked}
    elif not _may_try(account, now):
        refused = {"reason": "locked"}
    if refused is not None:  # no verification to do, but the same time spent as one
        passwords.burn(password)
        audit.record(AuditAction.IDENTITY_LOGIN_FAILURE, actor="anonymous", subject_type="account",
                     subject_id=account.id if account else None, data=refused)
        return LoginResult(None)
    assert account is not None  # refused above otherwise
    if not passwords.verify(account.password_hash, password):
        _register_failure(account, now, reason="password")
        return LoginResult(None)
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    # The failures so far are forgiven only when the password is the whole proof. With a second
    # factor they count on until a right code (verify_second_factor): wrong codes count too, and
    # a right password between them must not start the count again.
    if account.totp_secret is None:
        _reset_failures(account)
    account.last_login_at = now
    return LoginResult(account)


def _register_failure(account: Account, now: datetime, *, reason: str,
                      action: AuditAction = AuditAction.IDENTITY_LOGIN_FAILURE,
                      actor: str = "anonymous", **extra: object) -> None:
    """Count a failure; at the threshold, lock the account for a time that doubles each lockout.

    One audit event (``action``, with ``extra`` in its data) tells of the failure and any lockout.
    """
    cfg = current_app.config
    window = timedelta(seconds=cfg["LOCKOUT_WINDOW_SECONDS"])
    if account.first_failure_at is None or now - account.first_failure_at > window:
        account.first_failure_at, account.failed_count = now, 0
    account.failed_count += 1
    data: dict[str, object] = {"reason": reason, "failures": account.failed_count, **extra}
    if account.failed_count >= cfg["LOCKOUT_THRESHOLD"]:
        seconds = min(cfg["LOCKOUT_BASE_SECONDS"] * 2 ** account.lockouts, cfg["LOCKOUT_MAX_SECONDS"])
        account.locked_until = now + timedelta(seconds=seconds)
        account.lockouts += 1
        account.failed_count, account.first_failure_at = 0, None
        data["locked_for_seconds"] = seconds
    audit.record(action, actor=actor, subject_type="account", subject_id=account.id, data=data)


def _reset_failures(account: Account) -> None:
    account.failed_count, account.first_failure_at = 0, None
    account.lockouts, account.locked_until = 0, None


def verify_second_factor(login: LoginSession, code: str) -> bool:
    """Check a TOTP code for the session's account; on success the session is rotated to level 2
    by the caller (:func:`step_up`). At most ``TOTP_MAX_TRIES`` wrong codes end the session.
    """
    account = login.account
    now = utcnow()
    if account.totp_secret is None or account.level != 2:
        raise Forbidden("This account has no second factor: it needs in-person verification.")
    if not _may_try(account, now) or _lock(login).totp_failures >= TOTP_MAX_TRIES:
        audit.record(AuditAction.IDENTITY_OTP_FAILURE, actor=f"account:{account.id}",
                     subject_type="account", subject_id=account.id, data={"reason": "locked"})
        return False
    totp = pyotp.TOTP(crypto.decrypt("totp", account.totp_secret).decode())
    step = None
    cleaned = re.sub(r"\s", "", code)
    if re.fullmatch(r"[0-9]{6}", cleaned):  # not \d: other digits would reach compare_digest, which refuses them
        # The current step and one either side (clock drift); a step already used is refused.
        for offset in (0, -1, 1):
            candidate = totp.timecode(now) + offset
            if secrets.compare_digest(totp.generate_otp(candidate), cleaned):
                step = candidate
                break
    if step is None or not _spend_step(account, step):
        login.totp_failures += 1
        if login.totp_failures >= TOTP_MAX_TRIES:
            login.revoked_at = now
        _register_failure(account, now, reason="reused" if step is not None else "wrong",
                          action=AuditAction.IDENTITY_OTP_FAILURE, actor=f"account:{account.id}",
                          tries=login.totp_failures, session_ended=login.revoked_at is not None)
        return False
    _reset_failures(account)
    return True


def _spend_step(account: Account, step: int) -> bool:
    """Record ``step`` as the account's last used TOTP step, unless it or a later one was used:
    one conditional UPDATE, so that of many logins sending one code only one gets it.
    """
    spent = db.session().execute(
        update(Account).where(Account.id == account.id,
                              or_(Account.totp_last_step.is_(None), Account.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session="fetch"))
    return spent.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult


# --- sessions ---------------------------------------------------------------------------------

def start_session(account: Account, *, level: int, amr: str, ip: str | None,
                  user_agent: str | None) -> tuple[LoginSession, str]:
    """Create a login session; returns it and the cookie token (only its HMAC is stored)."""
    now = utcnow()
    token = crypto.new_secret()
    login = LoginSession(
        token_hash=crypto.keyed_hash("session", token), account=account, level=level, amr=amr,
        auth_time=now, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=current_app.config["SESSION_MAX_HOURS"]),
        ip=ip, user_agent=(user_agent or "")[:200] or None)
    db.session().add(login)
    db.session().flush()
    action = AuditAction.IDENTITY_LOGIN_SUCCESS if level == 1 else AuditAction.IDENTITY_STEP_UP
    audit.record(action, actor=f"account:{account.id}", subject_type="account", subject_id=account.id,
                 data={"session": login.id, "level": level, "amr": amr})
    return login, token


def step_up(login: LoginSession, *, ip: str | None, user_agent: str | None) -> tuple[LoginSession, str]:
    """After a good second factor: end the level-1 session and start a level-2 one (new token)."""
    login.revoked_at = utcnow()
    return start_session(login.account, level=2, amr="pwd otp", ip=ip, user_agent=user_agent)


#: Every page request runs it: the session and its account in one round trip.
_SESSION_BY_TOKEN = select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash")).options(
    joinedload(LoginSession.account))


def session_from_token(token: str | None) -> LoginSession | None:
    """The live session a cookie token names, or None (revoked, expired, idle, account off)."""
    if not token:
        return None
    login = db.session().scalar(_SESSION_BY_TOKEN, {"token_hash": crypto.keyed_hash("session", token)})
    now = utcnow()
    if login is None or login.revoked_at is not None or login.expires_at <= now:
        return None
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    if now - login.last_seen_at > idle:
        return None
    if login.account.status != "active":
        return None
    if now - login.last_seen_at > timedelta(seconds=60):
        login.last_seen_at = now
    return login


def end_session(login: LoginSession) -> None:
    login.revoked_at = utcnow()
    audit.record(AuditAction.IDENTITY_LOGOUT, actor=f"account:{login.account_id}", subject_type="account",
                 subject_id=login.account_id, data={"session": login.id})


def active_sessions(account: Account) -> list[LoginSession]:
    now = utcnow()
    return list(db.session().scalars(select(LoginSession).where(
        LoginSession.account_id == account.id, LoginSession.revoked_at.is_(None),
        LoginSession.expires_at > now).order_by(LoginSession.last_seen_at.desc())))


def revoke_sessions(account: Account, *, actor: str, reason: str, keep: int | None = None) -> int:
    """End every session of the account (but ``keep``) and revoke its OAuth grants and tokens
    (``signals.sessions_revoked``: oidc receives it)."""
    conditions = [LoginSession.account_id == account.id, LoginSession.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(LoginSession.id != keep)
    ended = db.session().execute(update(LoginSession).where(*conditions).values(revoked_at=utcnow())
                                 ).rowcount  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
    revoked = signals.sessions_revoked.send(current_app._get_current_object(),  # type: ignore[attr-defined]  # current_app: a proxy
                                            account=account)
    tokens = sum(count for _, count in revoked)
    audit.record(AuditAction.IDENTITY_SESSIONS_REVOKE, actor=actor, subject_type="account",
                 subject_id=account.id, data={"reason": reason, "sessions": ended, "tokens": tokens})
    return ended


def end_session_of(account: Account, session_id: int) -> None:
    """End one of the account's own sessions (from the sessions list).

    :raises NotFound: no live session of this account has that id.
    """
    login = db.session().get(LoginSession, session_id)
    if login is None or login.account_id != account.id or login.revoked_at is not None:
        raise NotFound("No such active session.")
    end_session(login)
