"""``idsvc identity``: e-ID accounts at the counter (open, activation codes, in-person level 2, roles)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idsvc.clitools import actor_option
from idsvc.clitools import in_transaction
from idsvc.identity import service
from idsvc.identity.models import STAFF_ROLES
from idsvc.identity.models import Account
from idsvc.registry import service as registry


@click.group("identity", help="E-ID accounts / Tài khoản định danh điện tử.")
def identity_cli() -> None:
    pass


def _account(id_number: str) -> Account:
    account = service.account_for_citizen(registry.get_citizen_by_number(id_number))
    if account is None:
        raise click.UsageError("This person has no e-ID account yet: run `idsvc identity create-account`.")
    return account


def _hand_over(code: str, sms: bool) -> None:
    click.echo("activation code sent by SMS" if sms else f"activation code (hand it over): {code}")


@identity_cli.command("create-account")
@click.argument("id_number")
@click.option("--sms", is_flag=True, help="Send the activation code to the registered phone.")
@actor_option
@with_appcontext
def create_account(id_number: str, sms: bool, actor: str) -> None:
    """Open an account for ID_NUMBER and issue its activation code."""
    def action() -> str:
        account = service.create_account(registry.get_citizen_by_number(id_number), actor=actor)
        return service.issue_activation_code(account, actor=actor, channel="sms" if sms else "clerk")
    _hand_over(in_transaction(action), sms)


@identity_cli.command("issue-code")
@click.argument("id_number")
@click.option("--sms", is_flag=True, help="Send it to the registered phone.")
@actor_option
@with_appcontext
def issue_code(id_number: str, sms: bool, actor: str) -> None:
    """Issue a new activation code (earlier ones stop working)."""
    _hand_over(in_transaction(lambda: service.issue_activation_code(_account(id_number), actor=actor,
                                                                    channel="sms" if sms else "clerk")), sms)


@identity_cli.command("outbox")
@click.argument("id_number", required=False)
@click.option("--limit", default=20, show_default=True, help="How many messages, newest first.")
@with_appcontext
def show_outbox(id_number: str | None, limit: int) -> None:
    """Development: the messages the notifier would have sent (of ID_NUMBER's account)."""
    for message, text in service.outbox(_account(id_number) if id_number else None, limit):
        click.echo(f"{message.created_at:%Y-%m-%d %H:%M} {message.channel} {message.recipient}: {text}")


@identity_cli.command("verify-in-person")
@click.argument("id_number")
@actor_option
@with_appcontext
def verify_in_person(id_number: str, actor: str) -> None:
    """Mark the account level 2 and print the authenticator URI to scan at the counter."""
    uri = in_transaction(lambda: service.verify_in_person(_account(id_number), actor=actor))
    click.echo(f"level 2; scan this in an authenticator app now: {uri}")


@identity_cli.command("grant-role")
@click.argument("id_number")
@click.argument("role", type=click.Choice(STAFF_ROLES))
@click.argument("unit_code")
@actor_option
@with_appcontext
def grant_role(id_number: str, role: str, unit_code: str, actor: str) -> None:
    """Give a level-2 account a staff ROLE over UNIT_CODE (province, commune or *)."""
    in_transaction(lambda: service.grant_role(_account(id_number), role, unit_code, actor=actor))
    click.echo(f"{role} over {unit_code}")


@identity_cli.command("disable")
@click.argument("id_number")
@click.option("--reason", required=True)
@actor_option
@with_appcontext
def disable(id_number: str, reason: str, actor: str) -> None:
    """Disable the account, end its sessions and revoke its tokens."""
    in_transaction(lambda: service.disable_account(_account(id_number), actor=actor, reason=reason))
    click.echo("disabled")
